// The MPI layer on this machine: parex::mpi::map_reduce over 256 MiB of doubles on the ranks and threads
// it is started with, against one process with as many threads in all (ranks x threads) and the
// sequential loop; the cost of the combine (status exchange, gather to rank 0, tree, broadcast) by
// number of chunks, without and with a stop token; and the waveform module's batch across the ranks
// (waveforms/mpi.hpp: each rank its rows, gathered to rank 0) against one process's pool of ranks x
// threads workers.
// Run it under mpirun; the threads per rank come from PAREX_NUM_THREADS (default: the cores), and MPI
// is initialized at MPI_THREAD_SERIALIZED, or at MPI_THREAD_SINGLE with PAREX_BENCH_MPI_THREAD=single:
//   PAREX_NUM_THREADS=1 mpirun -np 2 --bind-to none build/release/benchmarks/parex-bench-mpi
// Every rank runs every benchmark with a fixed number of iterations, so that the collective calls stay
// in step; rank 0 prints and writes --benchmark_out. In the single-process rows the other ranks sleep
// at a barrier.
#include "kernels.hpp"

#include <parex/mpi.hpp>
#if defined(PAREX_BENCH_WAVEFORMS)
#include <waveforms/generator.hpp>
#include <waveforms/mpi.hpp>
#include <waveforms/parameter_table.hpp>
#endif

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <complex>
#include <cstdlib>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pb = parex::bench;

namespace {

int rank() { return parex::mpi::rank(); }
int ranks() { return parex::mpi::ranks(); }

/// A barrier that sleeps while it waits: MPI_Barrier polls, and a rank polling on a core would take it
/// from the rank that works.
void sleeping_barrier() {
    MPI_Request request;
    MPI_Ibarrier(MPI_COMM_WORLD, &request);
    for (int done = 0; MPI_Test(&request, &done, MPI_STATUS_IGNORE), !done;)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
}

/// Rank 0 runs `work`; the others sleep until it is done, every iteration.
template <class Work>
void on_rank_0(benchmark::State& state, Work&& work) {
    for (auto _ : state) {
        if (rank() == 0) work();
        sleeping_barrier();
    }
}

void sum_sequential(benchmark::State& state) {
    const auto& x = pb::sum_data();
    on_rank_0(state, [&] { benchmark::DoNotOptimize(pb::sum(x.data(), 0, x.size())); });
    pb::set_sum_counters(state);
}

void sum_one_process(benchmark::State& state) {
    const auto& x = pb::sum_data();
    parex::chunked_executor ex({.max_concurrency = static_cast<std::size_t>(ranks()) * pb::threads()});
    const auto plan = parex::chunks(x.size(), parex::grain{pb::sum_grain});
    on_rank_0(state, [&] {
        benchmark::DoNotOptimize(
            ex.map_reduce(plan, [&](parex::chunk c) { return pb::sum(x.data(), c.begin, c.end); }, std::plus<>{}, 0.0));
    });
    pb::set_sum_counters(state);
}

void sum_mpi(benchmark::State& state) {
    const auto& x = pb::sum_data();
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    const auto plan = parex::chunks(x.size(), parex::grain{pb::sum_grain});
    for (auto _ : state)
        benchmark::DoNotOptimize(parex::mpi::map_reduce(
            ex, MPI_COMM_WORLD, plan, [&](parex::chunk c) { return pb::sum(x.data(), c.begin, c.end); }, std::plus<>{},
            0.0));
    pb::set_sum_counters(state);
}

/// The combine alone (trivial chunks); with_stop: every rank passes a stop token (never requested), so
/// each call listens for the other ranks' stops (docs/mpi.md, "Errors and stops": at
/// MPI_THREAD_SERIALIZED a listener thread polls while the caller runs the chunks; below it the chunks
/// run on a relay thread while the caller polls).
void combine(benchmark::State& state, bool with_stop) {
    parex::chunked_executor ex({.max_concurrency = 1});
    const auto plan = parex::chunks(static_cast<std::size_t>(state.range(0)), parex::grain{1});
    std::stop_source stop;
    const parex::run_options options = with_stop ? parex::run_options{.stop = stop.get_token()} : parex::run_options{};
    for (auto _ : state)
        benchmark::DoNotOptimize(parex::mpi::map_reduce(
            ex, MPI_COMM_WORLD, plan, [](parex::chunk c) { return static_cast<double>(c.index); }, std::plus<>{}, 0.0,
            options));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

#if defined(PAREX_BENCH_WAVEFORMS)
namespace wf = waveforms;

/// 1000 IMRPhenomD waveforms from the module's prior on a 20-1024 Hz grid of 4097 bins (a 131 MB batch).
constexpr std::size_t batch_rows = 1000;
const wf::domain batch_grid{0.25, 1024};
const std::vector<wf::parameters>& batch_rows_table() {
    static const auto rows = wf::sample_prior(batch_rows, 2015, {.f_min = 20, .f_max = 1024, .delta_f = 0.25});
    return rows;
}

/// The whole batch on rank 0, this rank's rows elsewhere; pages touched once, outside the timed runs.
wf::batch& batch_here() {
    static auto b = [] {
        const auto mine = parex::mpi::block_of(batch_rows, rank(), ranks());
        auto made = wf::make_batch(rank() == 0 ? batch_rows : mine.end - mine.begin, batch_grid.bins());
        std::fill(made.h_plus.begin(), made.h_plus.end(), std::complex<double>{});
        std::fill(made.h_cross.begin(), made.h_cross.end(), std::complex<double>{});
        return made;
    }();
    return b;
}

void batch_mpi(benchmark::State& state) {
    auto pool =
        wf::make_generator_pool(pb::threads(), wf::approximant::imr_phenom_d, wf::constants::today(), batch_grid);
    auto& out = batch_here();
    double gather = 0;
    for (auto _ : state)
        gather += wf::mpi::generate_batch(MPI_COMM_WORLD, pool, batch_rows_table(), &out, batch_grid.bins(), 16)
                      .gather_seconds;
    state.counters["gather_ms"] = 1e3 * gather / static_cast<double>(state.iterations());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_rows));
}

void batch_one_process(benchmark::State& state) {
    auto pool = wf::make_generator_pool(static_cast<std::size_t>(ranks()) * pb::threads(),
                                        wf::approximant::imr_phenom_d, wf::constants::today(), batch_grid);
    on_rank_0(state, [&] { wf::generate_batch(pool, batch_rows_table(), batch_here(), 16); });
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_rows));
}
#endif

class quiet_reporter : public benchmark::BenchmarkReporter {
public:
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
    // MPI_THREAD_SERIALIZED unless PAREX_BENCH_MPI_THREAD=single: the thread level decides how a call
    // with a stop token listens (the combine rows)
    const char* single = std::getenv("PAREX_BENCH_MPI_THREAD");
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(
        &argc, &argv,
        single != nullptr && std::string_view(single) == "single" ? MPI_THREAD_SINGLE : MPI_THREAD_SERIALIZED,
        &provided);
    const std::string level = provided >= MPI_THREAD_SERIALIZED ? "MPI_THREAD_SERIALIZED" : "MPI_THREAD_SINGLE";
    const std::string shape =
        " - " + std::to_string(ranks()) + " ranks x " + std::to_string(pb::threads()) + " threads/";
    const std::string sum = "mpi/map_reduce sum of 256 MiB doubles" + shape;
    const auto add = [](const std::string& name, auto fn, int iterations) {
        benchmark::RegisterBenchmark(name.c_str(), fn)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->Iterations(iterations);
    };
    add(sum + "sequential", sum_sequential, 10);
    add(sum + "parex", sum_mpi, 10);
    add(sum + "peer:one process, ranks x threads threads", sum_one_process, 10);
    for (const int chunks : {64, 1024, 16384})
        for (const bool with_stop : {false, true})
            benchmark::RegisterBenchmark(
                ("mpi/combine of " + std::to_string(chunks) + " chunks" +
                 (with_stop ? ", every rank with a stop token at " + level : "") + shape + "parex")
                    .c_str(),
                combine, with_stop)
                ->Arg(chunks)
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond)
                ->Iterations(200);
#if defined(PAREX_BENCH_WAVEFORMS)
    const std::string batch = "mpi/waveform batch of 1000 IMRPhenomD x 4097 bins" + shape;
    add(batch + "parex", batch_mpi, 5);
    add(batch + "peer:one process, ranks x threads workers", batch_one_process, 5);
#endif
    // Only rank 0 writes the output file: the others drop --benchmark_out* from their arguments. Every
    // rank drops --benchmark_enable_random_interleaving, whose order would differ between processes
    // and leave the ranks in different collective calls.
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--benchmark_enable_random_interleaving", 0) == 0) continue;
        if (rank() == 0 || arg.rfind("--benchmark_out", 0) != 0) args.push_back(argv[i]);
    }
    int count = static_cast<int>(args.size());
    benchmark::Initialize(&count, args.data());
    if (rank() == 0) {
        benchmark::RunSpecifiedBenchmarks();
    } else {
        quiet_reporter quiet;
        benchmark::RunSpecifiedBenchmarks(&quiet);
    }
    benchmark::Shutdown();
    MPI_Finalize();
}
