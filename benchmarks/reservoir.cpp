// The reservoir module: echo-state reservoir updates over a batch of sequences (sequential, parex with
// per-worker state, raw oneTBB), and the hyper-parameter sweep of the bundled mixed grid (ESN and LIF
// reservoirs of 100 to 2000 units on NARMA10) with cost-aware scheduling against the executor's map in
// input order and against the LPT bound of the same tasks.
#include "kernels.hpp"

#include <reservoir/experiment.hpp>
#include <reservoir/sweep.hpp>

#include <parex/worker_local.hpp>

#include <benchmark/benchmark.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pb = parex::bench;
namespace rc = reservoir;

namespace {

// --- state updates: 64 NARMA10 input sequences of 2000 steps through one ESN of 400 units -----------

constexpr std::size_t batch = 64, steps = 2000;

const rc::echo_state_network& network() {
    static const rc::echo_state_network net = [] {
        std::mt19937_64 rng(1);
        return rc::echo_state_network(rc::defaults_for(rc::task::narma10, rc::model::esn).esn, rng);
    }();
    return net;
}

const std::vector<std::vector<double>>& sequences() {
    static const auto all = [] {
        std::vector<std::vector<double>> s;
        for (std::uint64_t seed = 1; s.size() < batch; ++seed) {
            try {
                s.push_back(rc::narma10(steps, seed).input);
            } catch (const std::runtime_error&) {  // NARMA10 diverges for a rare input: the next seed
            }
        }
        return s;
    }();
    return all;
}

/// One sequence through the network from the zero state; the features go to `features` (scratch).
double drive(std::size_t sequence, std::vector<double>& features) {
    const auto& net = network();
    features.resize(net.feature_count());
    auto x = net.initial_state();
    for (const double u : sequences()[sequence]) net.step(x, u, features.data());
    return x.sum();
}

void set_update_counters(benchmark::State& state) {
    state.SetItemsProcessed(
        static_cast<std::int64_t>(state.iterations() * batch * steps * network().units()));  // unit updates
}

void updates_sequential(benchmark::State& state) {
    std::vector<double> features;
    for (auto _ : state)
        for (std::size_t i = 0; i < batch; ++i) benchmark::DoNotOptimize(drive(i, features));
    set_update_counters(state);
}

void updates_parex(benchmark::State& state) {
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    parex::worker_local<std::vector<double>> scratch(ex, [](std::size_t) { return std::vector<double>{}; });
    std::vector<double> out(batch);
    for (auto _ : state) ex.for_each(batch, [&](std::size_t i) { out[i] = drive(i, scratch.get()); });
    benchmark::DoNotOptimize(out.data());
    set_update_counters(state);
}

void updates_tbb(benchmark::State& state) {
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    std::vector<double> out(batch);
    for (auto _ : state)
        arena.execute([&] {
            tbb::parallel_for(std::size_t{0}, batch, [&](std::size_t i) {
                thread_local std::vector<double> features;
                out[i] = drive(i, features);
            });
        });
    benchmark::DoNotOptimize(out.data());
    set_update_counters(state);
}

// --- the sweep of the bundled mixed grid --------------------------------------------------------------

/// mixed.csv's rows (with PAREX_BENCH_SMALL, those of at most 400 units).
const std::vector<rc::experiment>& grid() {
    static const auto g = [] {
        auto rows = rc::read_grid(std::string(PAREX_MODULE_DATA) + "/reservoir/mixed.csv", rc::task::narma10);
        if (pb::small_inputs()) std::erase_if(rows, [](const rc::experiment& e) { return e.units() > 400; });
        return rows;
    }();
    return g;
}

/// The sequential sweep's per-task seconds (one run, before any timed row): the LPT bound's costs.
double sweep_bound_ms() {
    static const double bound = [] {
        std::vector<double> ms;
        rc::workspace space;
        for (const auto& e : grid()) ms.push_back(1e3 * rc::run_experiment(e, space).seconds);
        return parex::makespan_lower_bound(ms, pb::threads());
    }();
    return bound;
}

void sweep_sequential(benchmark::State& state) {
    rc::workspace space;
    for (auto _ : state)
        for (const auto& e : grid()) benchmark::DoNotOptimize(rc::run_experiment(e, space).nrmse);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * grid().size()));
}

void sweep_with(benchmark::State& state, rc::schedule order) {
    const double bound = sweep_bound_ms();
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    parex::cost_model model;  // learns across iterations, as a long-running service would
    double total_ms = 0;
    for (auto _ : state) {
        const auto out = rc::run_sweep(ex, grid(), order, model);
        total_ms += 1e3 * out.makespan_seconds;
        benchmark::DoNotOptimize(out.results.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * grid().size()));
    state.counters["lpt_bound_ms"] = bound;
    state.counters["makespan_over_bound"] = total_ms / static_cast<double>(state.iterations()) / bound;
}

void register_all() {
    const auto add = [](const std::string& name, auto fn) {
        benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMillisecond);
    };
    const std::string updates = "reservoir/ESN of 400 units, 64 NARMA10 sequences x 2000 steps - state updates/";
    add(updates + "sequential", updates_sequential);
    add(updates + "parex", updates_parex);
    add(updates + "peer:tbb::parallel_for", updates_tbb);
    const std::string sweep = "reservoir/sweep of 16 ESN and LIF reservoirs (100-2000 units), NARMA10 - cost-aware/";
    add(sweep + "sequential", sweep_sequential);
    add(sweep + "parex", [](benchmark::State& s) { sweep_with(s, rc::schedule::cost_aware); });
    add(sweep + "peer:executor map in input order",
        [](benchmark::State& s) { sweep_with(s, rc::schedule::input_order); });
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    return pb::run_benchmarks(argc, argv);
}
