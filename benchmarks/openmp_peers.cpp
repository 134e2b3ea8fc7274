// OpenMP peers of the executor benchmarks. A separate binary, run as its own process by the main job:
// OpenMP's idle threads spin after a parallel region and would slow the oneTBB runs beside them.
#include "kernels.hpp"

#include <benchmark/benchmark.h>
#include <omp.h>

#include <vector>

namespace pb = parex::bench;

namespace {

void overhead_openmp(benchmark::State& state) {
    std::vector<float> x(pb::overhead_n, 1.0f);
    const auto n = static_cast<std::int64_t>(x.size());
    const int t = static_cast<int>(pb::threads());
    for (auto _ : state) {
#pragma omp parallel for schedule(static) num_threads(t)
        for (std::int64_t i = 0; i < n; ++i)
            x[static_cast<std::size_t>(i)] = x[static_cast<std::size_t>(i)] * 0.5f + 1.0f;
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pb::overhead_n));
}

void sum_openmp(benchmark::State& state) {
    std::vector<double> x(pb::sum_n());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0 / static_cast<double>(i % 1000 + 1);
    const int t = static_cast<int>(pb::threads());
    const auto chunks = static_cast<std::int64_t>(pb::sum_n() / pb::sum_grain);
    for (auto _ : state) {
        double s = 0;
        // The same kernel and chunk size as parex's map_reduce; the combine order is OpenMP's.
#pragma omp parallel for schedule(static) reduction(+ : s) num_threads(t)
        for (std::int64_t k = 0; k < chunks; ++k) {
            const auto b = static_cast<std::size_t>(k) * pb::sum_grain;
            s += pb::sum(x.data(), b, b + pb::sum_grain);
        }
        benchmark::DoNotOptimize(s);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * pb::sum_n() * sizeof(double)));
}

}  // namespace

BENCHMARK(overhead_openmp)
    ->Name("executor/for_each over 1e7 floats/peer:OpenMP static")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(sum_openmp)
    ->Name("executor/map_reduce sum of 256 MiB doubles/peer:OpenMP static reduction")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) { return pb::run_benchmarks(argc, argv); }
