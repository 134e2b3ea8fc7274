// Exit order: the default executor used from static destructors. One object is constructed before the
// default executor's first use (destroyed after it would be), one after; both use it when destroyed:
// a chunk loop, a deterministic sum and a task with a future. argv[1] = "first-use" makes the
// destructors the default executor's first use of all.
#include <parex/chunked_executor.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string_view>

namespace {

struct uses_default_at_exit {
    const char* name;
    ~uses_default_at_exit() {
        std::size_t count = 0;
        std::atomic<std::size_t> seen{0};
        parex::for_each(10'000, [&](std::size_t) { seen.fetch_add(1, std::memory_order_relaxed); });
        count = seen.load();
        const double sum = parex::map_reduce(
            parex::chunks(1000), [](parex::chunk c) { return static_cast<double>(c.size()); }, std::plus<>{}, 0.0);
        const int answer = parex::submit([] { return 42; }).get();
        if (count != 10'000 || sum != 1000.0 || answer != 42) std::abort();
        std::printf("%s: default executor used at exit\n", name);
    }
};

uses_default_at_exit before{"constructed before the default executor"};

}  // namespace

int main(int argc, char** argv) {
    const bool first_use_at_exit = argc > 1 && std::string_view(argv[1]) == "first-use";
    if (!first_use_at_exit) parex::for_each(100, [](std::size_t) {});
    static uses_default_at_exit after{"constructed after the default executor"};
    return 0;
}
