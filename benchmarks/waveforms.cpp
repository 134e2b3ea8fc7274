// The waveform module: time per waveform on one core (f from 20 to 1024 Hz, delta_f = 0.125 Hz, 8193
// bins), the per-bin sine and cosine vectorised against scalar libm, and a batch of 10,000 IMRPhenomD
// waveforms from the documented prior: the parex pool (generator built once per worker, 16 waveforms
// per task, rows written in place into an arena) with 1 and 2 workers, against rebuilding the state (a
// generator and frequency grid built for every waveform, one waveform per task) and against one task
// per waveform without batching. Peers run on a pool of the same number of workers in the same run;
// the pool and the arena exist before timing starts (the pool lives as long as the user wants; the
// arena's pages are touched before timing).
#include "kernels.hpp"

#include <waveforms/generator.hpp>
#include <waveforms/parameter_table.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

namespace wf = waveforms;

namespace {

const wf::domain grid{0.125, 1024};
const std::size_t batch_size = parex::bench::scaled(10'000, 20);  // 500 with PAREX_BENCH_SMALL

wf::parameters typical() {  // a GW150914-like binary
    return {.m1 = 36,
            .m2 = 29,
            .chi1z = 0.3,
            .chi2z = -0.2,
            .distance = 410,
            .inclination = 2.6,
            .phi_ref = 0.4,
            .f_min = 20,
            .f_max = 1024,
            .delta_f = 0.125};
}

void per_waveform(benchmark::State& state, wf::approximant model) {
    wf::waveform_generator g(model, wf::constants::today(), grid);
    std::vector<std::complex<double>> hp(grid.bins()), hc(grid.bins());
    auto p = typical();
    if (model == wf::approximant::taylor_f2) p.m1 = 1.4, p.m2 = 1.3;  // an inspiral that fills the band
    for (auto _ : state) {
        g.generate(p, hp, hc);
        benchmark::DoNotOptimize(hp.data());
        benchmark::ClobberMemory();
    }
    state.counters["bins"] = double(grid.bins());
    state.SetItemsProcessed(std::int64_t(state.iterations()));
}

/// What one call builds when no generator outlives it: the frequency grid's tables and scratch space.
void per_waveform_rebuild(benchmark::State& state) {
    std::vector<std::complex<double>> hp(grid.bins()), hc(grid.bins());
    const auto p = typical();
    for (auto _ : state) {
        wf::waveform_generator g(wf::approximant::imr_phenom_d, wf::constants::today(), grid);
        g.generate(p, hp, hc);
        benchmark::DoNotOptimize(hp.data());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()));
}

/// Sine and cosine of 8192 phases shaped like a waveform's (thousands of radians at the low end):
/// libmvec's AVX2 kernels (what generate() uses) against the scalar libm loop.
void sin_cos(benchmark::State& state, bool vector) {
    std::vector<double> phase(8192), s(phase.size()), c(phase.size());
    for (std::size_t k = 0; k < phase.size(); ++k) phase[k] = 3000.0 / (1.0 + 0.01 * double(k)) + 0.37 * double(k);
    for (auto _ : state) {
        if (vector)
            wf::detail::sin_cos(phase.data(), s.data(), c.data(), phase.size());
        else
            wf::detail::sin_cos_scalar(phase.data(), s.data(), c.data(), phase.size());
        benchmark::DoNotOptimize(s.data());
        benchmark::DoNotOptimize(c.data());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * phase.size()));
}

const std::vector<wf::parameters>& batch_parameters() {
    static const auto rows = wf::sample_prior(batch_size, 2015, typical());
    return rows;
}

// 2.6 GB (130 MB with PAREX_BENCH_SMALL), its pages touched here so that no timed run pays the first touch.
wf::batch& shared_batch() {
    static auto b = [] {
        auto made = wf::make_batch(batch_size, grid.bins());
        std::fill(made.h_plus.begin(), made.h_plus.end(), std::complex<double>{});
        std::fill(made.h_cross.begin(), made.h_cross.end(), std::complex<double>{});
        return made;
    }();
    return b;
}

/// The pool with its generator per worker, range(1) waveforms per task (16: the parex pattern; 1: one task
/// per waveform), rows in place.
void batch_pool(benchmark::State& state) {
    const auto workers = std::size_t(state.range(0)), per_task = std::size_t(state.range(1));
    auto pool = wf::make_generator_pool(workers, wf::approximant::imr_phenom_d, wf::constants::today(), grid);
    auto& out = shared_batch();
    for (auto _ : state) wf::generate_batch(pool, batch_parameters(), out, per_task);
    state.SetItemsProcessed(std::int64_t(state.iterations() * batch_size));
}

/// Every waveform builds its generator and frequency grid, one waveform per task: the first
/// rebuild_count waveforms of the batch (the same per-waveform rate, a fraction of the run time).
const std::size_t rebuild_count = std::min<std::size_t>(1'000, batch_size);
void batch_rebuild(benchmark::State& state) {
    const auto workers = std::size_t(state.range(0));
    parex::worker_pool<int> pool(parex::pool_options{.max_concurrency = workers}, [](std::size_t) { return 0; });
    auto& out = shared_batch();
    const auto& rows = batch_parameters();
    std::vector<std::size_t> index(rebuild_count);
    std::iota(index.begin(), index.end(), std::size_t{0});
    for (auto _ : state) {
        pool.for_each(index, [&](int&, std::size_t i) {
            wf::waveform_generator g(wf::approximant::imr_phenom_d, wf::constants::today(), grid);
            g.generate(rows[i], out.h_plus.subspan(i * out.bins, out.bins),
                       out.h_cross.subspan(i * out.bins, out.bins));
        });
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * rebuild_count));
}

void register_all() {
    // <module>/<input>/<role> for parex-bench-report; a trailing number (the workers) is stripped.
    const auto workers = std::int64_t(parex::bench::threads());
    benchmark::RegisterBenchmark("waveform/one-TaylorF2-8193-bins/parex", per_waveform, wf::approximant::taylor_f2)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("waveform/one-IMRPhenomD-8193-bins/parex", per_waveform, wf::approximant::imr_phenom_d)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("waveform/one-IMRPhenomD-8193-bins/peer:rebuild-grid", per_waveform_rebuild)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("waveform/sincos-8192-phases/parex", sin_cos, true)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("waveform/sincos-8192-phases/peer:scalar-libm", sin_cos, false)
        ->Unit(benchmark::kMicrosecond);
    const char* batch = "waveform/batch-10000-IMRPhenomD/";
    benchmark::RegisterBenchmark((std::string(batch) + "sequential").c_str(), batch_pool)
        ->Args({1, 16})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string(batch) + "parex").c_str(), batch_pool)
        ->Args({workers, 16})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string(batch) + "peer:one-task-per-waveform").c_str(), batch_pool)
        ->Args({workers, 1})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string(batch) + "peer:rebuild-per-waveform (1000 waveforms)").c_str(),
                                 batch_rebuild)
        ->Arg(workers)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    return parex::bench::run_benchmarks(argc, argv);
}
