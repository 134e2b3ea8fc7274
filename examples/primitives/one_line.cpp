// The common cases in one line each, on parex's default executor (sized by the machine, or by
// PAREX_NUM_THREADS): a loop over indices, a loop over chunks, a deterministic sum, an async task.
#include <parex/chunked_executor.hpp>

#include <cstdio>
#include <functional>
#include <vector>

int main() {
    std::vector<double> x(1'000'000), y(x.size(), 1.0);
    parex::for_each(x.size(), [&](std::size_t i) { x[i] = 1.0 / static_cast<double>(i + 1); });

    const double a = 2.0;  // y = a x + y, a chunk at a time (the loop inside a chunk vectorises)
    parex::for_each(parex::chunks(x.size()), [&](parex::chunk c) {
        for (auto i = c.begin; i < c.end; ++i) y[i] = a * x[i] + y[i];
    });

    // The same bits on 1, 2 or 64 threads: the combine tree depends on the plan (chunks(n)) alone.
    const double sum = parex::map_reduce(
        parex::chunks(y.size()),
        [&](parex::chunk c) {
            double s = 0;
            for (auto i = c.begin; i < c.end; ++i) s += y[i];
            return s;
        },
        std::plus<>{}, 0.0);

    auto answer = parex::submit([] { return 6 * 7; });  // parex::task_future<int>
    std::printf("sum = %.17g, answer = %d, threads = %zu\n", sum, answer.get(),
                parex::default_executor().max_concurrency());
}
