// Single tasks on an executor: submit() with a future, run() and wait() without one. They share the
// executor's threads with its chunk plans and pipelines.
#include <parex/chunked_executor.hpp>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <vector>

int main() {
    parex::chunked_executor ex({.max_concurrency = 2});

    std::vector<parex::task_future<long>> squares;
    for (long k = 1; k <= 4; ++k) squares.push_back(ex.submit([k] { return k * k; }));
    long total = 0;
    for (auto& f : squares) total += f.get();  // 1 + 4 + 9 + 16

    std::atomic<int> done{0};
    for (int i = 0; i < 100; ++i) ex.run([&] { ++done; });  // fire and forget
    ex.wait();                                              // all 100 have run

    ex.run([] { throw std::runtime_error("task failed"); });
    try {
        ex.wait();  // rethrows the first exception; tasks not yet started were dropped
    } catch (const std::exception& e) {
        std::printf("wait: %s\n", e.what());
    }
    std::printf("sum of squares %ld, %d tasks run\n", total, done.load());
}
