// Exit order: threads keep creating, using and destroying executors while the main thread returns
// from main and runs every static destructor, the default executor's among them. The threads are
// held by a static constructed before anything of parex's, so they are joined last of all.
#include <parex/chunked_executor.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

struct churners {
    std::vector<std::jthread> threads;
    ~churners() {
        for (auto& t : threads) t.request_stop();
        // joined by the jthreads' destructors, after every static constructed after this one is gone
    }
};
churners running;  // constructed first, destroyed last
std::atomic<std::size_t> made{0};

void churn(std::stop_token stop, std::size_t threads) {
    while (!stop.stop_requested()) {
        parex::chunked_executor executor({.max_concurrency = threads});
        std::atomic<std::size_t> sum{0};
        executor.for_each(parex::chunks(256), [&](parex::chunk c) { sum += c.size(); });
        if (sum != 256) std::abort();
        executor.submit([] { return 1; }).get();
        made.fetch_add(1);
    }
}

}  // namespace

int main() {
    for (std::size_t threads = 1; threads <= 3; ++threads) running.threads.emplace_back(churn, threads);
    parex::for_each(1000, [](std::size_t) {});  // the default executor exists, and is destroyed at exit
    while (made.load() < 30) std::this_thread::yield();
    std::puts("threads churning");
    return 0;
}
