// The transport module's operators on the range-fitted grid (range_fitted_grid: 200 energies x 72
// angles x 40 x 40 cells, 23.0M bins) with every bin holding fluence (source::uniform, the worst case),
// 150 MeV proton tables: seconds per operator and per full step, 1 thread (sequential) and threads()
// (parex), float32 and float64, held against the STREAM triad run in the same binary.
//
// Bytes each operator must move, at the least: psi read once and written once (2 x sizeof(T) per bin);
// a full step is three such passes. "parex vs peer" against the triad is therefore the fraction of
// the measured bandwidth bound the operator reaches. Items are bins updated (bins/s). The full step is
// also held against the triad on one thread: the triad's speed-up from 1 to threads() threads is what a
// purely memory-bound loop gains on the machine, the yardstick for the step's own speed-up.
#include "kernels.hpp"

#include <transport/transport.hpp>

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>
#include <utility>

namespace pb = parex::bench;
namespace pt = transport;

namespace {

const pt::stopping_power_table& pstar() {
    static const auto table = pt::stopping_power_table::read_csv(std::string(PAREX_MODULE_DATA) +
                                                                 "/transport/pstar_water_liquid_csda_stopping.csv");
    return table;
}

/// One simulation per precision and thread count, built once (its arena holds 2 x 23.0M bins) and
/// stepped once, so that both buffers' pages are touched before any row is timed.
template <class T>
pt::simulation<T>& seed_simulation(std::size_t threads) {
    static std::map<std::size_t, std::unique_ptr<pt::simulation<T>>> cache;
    auto& sim = cache[threads];
    if (!sim) {
        sim = std::make_unique<pt::simulation<T>>(pt::range_fitted_grid(150, pstar()), pstar(), pt::source::uniform,
                                                  parex::executor_options{.max_concurrency = threads});
        sim->step();
    }
    return *sim;
}

enum class op { energy_loss, scattering, streaming, step };

template <class T>
void measure(benchmark::State& state, op which, std::size_t threads) {
    auto& sim = seed_simulation<T>(threads);
    double bins = 0;
    // Every iteration is one operator (or step) on the full state. Energy loss empties the top bins,
    // and streaming, repeated, leaves the upstream rows a share (1 - fz)^k of their fluence that soon
    // falls below float's normal range (where x86 arithmetic takes a slow path), so the state is
    // put back before each of their iterations (timer paused). Scattering keeps the window and its
    // fluence spread, so its iterations run on, each updating the same bins.
    const bool restarts = which != op::scattering;
    sim.set_source(pt::source::uniform);
    for (auto _ : state) {
        if (restarts) {
            state.PauseTiming();
            sim.set_source(pt::source::uniform);
            state.ResumeTiming();
        }
        std::size_t updated = 0;
        switch (which) {
            case op::energy_loss: updated = sim.lose_energy(); break;
            case op::scattering: updated = sim.scatter(); break;
            case op::streaming: updated = sim.stream(); break;
            case op::step: updated = sim.step(); break;
        }
        bins += static_cast<double>(updated);
    }
    const double passes = which == op::step ? 3 : 1;
    state.SetItemsProcessed(static_cast<std::int64_t>(bins));
    state.SetBytesProcessed(static_cast<std::int64_t>(bins * passes * 2 * sizeof(T)));
}

void register_all() {
    const auto t = pb::threads();
    const std::pair<op, const char*> ops[] = {{op::energy_loss, "energy loss"},
                                              {op::scattering, "scattering"},
                                              {op::streaming, "streaming"},
                                              {op::step, "full step"}};
    const auto add = [](const std::string& name, auto fn) {
        benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMillisecond);
    };
    for (const auto& [which, label] : ops) {
        for (const bool f64 : {false, true}) {
            const auto row =
                std::string("transport/fitted grid 23.0M bins ") + (f64 ? "f64" : "f32") + " - " + label + "/";
            const auto w = which;
            if (f64) {
                add(row + "sequential", [=](benchmark::State& s) { measure<double>(s, w, 1); });
                add(row + "parex", [=](benchmark::State& s) { measure<double>(s, w, t); });
            } else {
                add(row + "sequential", [=](benchmark::State& s) { measure<float>(s, w, 1); });
                add(row + "parex", [=](benchmark::State& s) { measure<float>(s, w, t); });
            }
            add(row + "peer:STREAM triad (bandwidth)", [](benchmark::State& s) { pb::measure_triad(s); });
            if (which == op::step)  // the memory's own speed-up from 1 to threads() threads, in the same run
                add(row + "peer:STREAM triad on 1 thread", [](benchmark::State& s) { pb::measure_triad(s, 1); });
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    return pb::run_benchmarks(argc, argv);
}
