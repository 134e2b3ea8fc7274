// Workers that build an expensive state once: each gets its own lookup table, every task uses it.
#include <parex/worker_pool.hpp>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <numeric>
#include <vector>

struct sine_table {  // built once per worker, on that worker's thread
    std::vector<double> values = std::vector<double>(1 << 16);
    sine_table() {
        for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::sin(2 * std::numbers::pi * i / values.size());
    }
};

int main() {
    parex::worker_pool<sine_table> pool({.max_concurrency = 2}, [](std::size_t) { return sine_table{}; });
    std::vector<std::size_t> phases(100000);
    std::iota(phases.begin(), phases.end(), std::size_t{0});
    const auto samples = pool.map(  // results in input order; 256 inputs per queue operation
        phases, [](sine_table& t, std::size_t k) { return t.values[k % t.values.size()]; }, {.batch = 256});
    auto size = pool.submit([](sine_table& t) { return t.values.size(); });  // one task, one future
    std::printf("%zu samples, table of %zu, sample[16384] = %.3f\n", samples.size(), size.get(), samples[16384]);
    for (const auto& w : pool.statistics()) std::printf("worker: %zu tasks\n", w.tasks);
}
