#pragma once
// The work every variant of a benchmark does, shared so that parex, its peers and the sequential
// baseline run the same instructions and differ only in how they are scheduled.
//
// Naming convention (read by report.cpp): "<module>/<input>/<role>", role = sequential | parex |
// peer:<name>. Times are wall-clock (UseRealTime) medians of the repetitions.

#include <parex/topology.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace parex::bench {

/// Threads for every parallel variant, parex and peers alike: workers_for(cpu_bound), so
/// PAREX_BENCH_SMALL=1 (not 0): reduced inputs, for the main-job ctest's smoke run of every benchmark
/// (tests/main_job). Rows keep their names, which give the full sizes; their numbers then mean nothing.
inline bool small_inputs() {
    static const bool small = [] {
        const char* v = std::getenv("PAREX_BENCH_SMALL");
        return v != nullptr && *v != '\0' && std::string_view(v) != "0";
    }();
    return small;
}
/// n, or n / divisor (at least 1) with PAREX_BENCH_SMALL.
inline std::size_t scaled(std::size_t n, std::size_t divisor) {
    return small_inputs() ? std::max<std::size_t>(1, n / divisor) : n;
}

/// PAREX_NUM_THREADS=N runs the whole suite at N threads.
inline std::size_t threads() { return parex::workers_for(parex::workload::cpu_bound); }

/// Runs job(i) for every i in [0, n), each on a new std::thread started at once, and joins them all:
/// the plain-threads peers (thread creation included in their time).
template <class Job>
void on_threads(std::size_t n, const Job& job) {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < n; ++i) threads.emplace_back(job, i);
}

// --- executor overhead: 1e7 trivial iterations -------------------------------------------------
inline constexpr std::size_t overhead_n = 10'000'000;
inline constexpr std::size_t overhead_grain = 1 << 16;
inline constexpr std::size_t small_overhead_n = 100'000;
inline constexpr std::size_t small_overhead_grain = 1 << 13;
/// x = x/2 + 1 converges to 2: no overflow however often it runs.
inline void halve_plus_one(float* x, std::size_t begin, std::size_t end) {
    for (auto i = begin; i < end; ++i) x[i] = x[i] * 0.5f + 1.0f;
}

// --- map_reduce sum over 256 MiB of doubles vs a STREAM triad ----------------------------------
/// Doubles of the sum rows: 256 MiB (16 MiB with PAREX_BENCH_SMALL).
inline std::size_t sum_n() {
    static const std::size_t n = scaled((std::size_t{256} << 20) / sizeof(double), 16);
    return n;
}
inline constexpr std::size_t sum_grain = 1 << 16;  // 512 KiB per chunk
/// Four independent accumulators so the loop is limited by memory, not by the add latency.
inline double sum(const double* x, std::size_t begin, std::size_t end) {
    double a = 0, b = 0, c = 0, d = 0;
    auto i = begin;
    for (; i + 4 <= end; i += 4) {
        a += x[i];
        b += x[i + 1];
        c += x[i + 2];
        d += x[i + 3];
    }
    for (; i < end; ++i) a += x[i];
    return (a + b) + (c + d);
}
/// The 256 MiB the sum rows read: 1 / (i % 1000 + 1), built once per process.
inline const std::vector<double>& sum_data() {
    static const std::vector<double> x = [] {
        std::vector<double> v(sum_n());
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = 1.0 / static_cast<double>(i % 1000 + 1);
        return v;
    }();
    return x;
}
/// Bytes processed of a sum row: 256 MiB per iteration.
inline void set_sum_counters(benchmark::State& state) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * sum_n() * sizeof(double)));
}
/// STREAM's triad a = b + s*c (McCalpin, https://www.cs.virginia.edu/stream/): counts 3 x 8 bytes
/// per element, as STREAM does.
inline void triad(double* a, const double* b, const double* c, std::size_t begin, std::size_t end) {
    for (auto i = begin; i < end; ++i) a[i] = b[i] + 3.0 * c[i];
}
/// The triad over 3 x 256 MiB on `thread_count` threads (default threads()), raw oneTBB: the bandwidth
/// bound other rows are held against (bytes counted as STREAM counts them).
inline void measure_triad(benchmark::State& state, std::size_t thread_count = threads()) {
    static std::vector<double> a(sum_n(), 0.0), b(sum_n(), 1.0), c(sum_n(), 2.0);
    tbb::task_arena arena(static_cast<int>(thread_count));
    for (auto _ : state) {
        arena.execute([&] {
            tbb::parallel_for(
                tbb::blocked_range<std::size_t>(0, a.size()),
                [&](const auto& r) { triad(a.data(), b.data(), c.data(), r.begin(), r.end()); },
                tbb::static_partitioner{});
        });
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 3 * sum_n() * sizeof(double)));
}

// --- skewed work: item i costs i steps ---------------------------------------------------------
inline constexpr std::size_t skew_n = 1 << 14;
/// i dependent xorshift steps (about a nanosecond each); the result keeps the loop alive.
inline std::uint64_t skewed_item(std::size_t i) {
    std::uint64_t s = i + 1;
    for (std::size_t k = 0; k < i; ++k) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
    }
    return s;
}
inline std::uint64_t skewed_range(std::size_t begin, std::size_t end) {
    std::uint64_t acc = 0;
    for (auto i = begin; i < end; ++i) acc += skewed_item(i);
    return acc;
}

/// main() of every benchmark binary: records parex's thread count and build type in the JSON context
/// (Google Benchmark's own "library_build_type" describes the benchmark library, not this code).
inline int run_benchmarks(int argc, char** argv) {
    try {
        benchmark::AddCustomContext("parex_threads", std::to_string(threads()));
    } catch (const std::exception& e) {  // an invalid PAREX_NUM_THREADS
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
#ifdef NDEBUG
    benchmark::AddCustomContext("parex_build", "optimised (NDEBUG)");
#else
    benchmark::AddCustomContext("parex_build", "debug (assertions on)");
#endif
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

// --- bundled real data ---------------------------------------------------------------------------
/// A file of tests/data (PAREX_TEST_DATA, set by CMake), whole; empty if absent.
inline std::string read_test_data(const std::string& relative) {
    const std::filesystem::path file = std::filesystem::path(PAREX_TEST_DATA) / relative;
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace parex::bench
