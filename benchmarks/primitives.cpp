// Benchmarks of parex's primitives against the sequential loop and raw oneTBB, plain std::thread and a
// STREAM triad, all in one binary and one run (OpenMP peers: openmp_peers.cpp, its own process).
#include "kernels.hpp"

#include <parex/parex.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb = parex::bench;

namespace {

// ---------------------------------------------------------------------------------------------
// executor overhead: trivial iterations over 1e7 floats (grain 64Ki) and 1e5 floats (grain 8Ki).
// Each variant has its own array, first touched by the variant itself (on its threads), so no variant
// inherits another's page placement or cache contents.
void set_overhead_counters(benchmark::State& state, std::size_t n) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void overhead_sequential(benchmark::State& state, std::size_t n) {
    std::vector<float> x(n, 1.0f);
    for (auto _ : state) {
        pb::halve_plus_one(x.data(), 0, x.size());
        benchmark::ClobberMemory();
    }
    set_overhead_counters(state, n);
}

void overhead_parex(benchmark::State& state, std::size_t n, std::size_t grain) {
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    const auto plan = parex::chunks(n, parex::grain{grain});
    std::vector<float> x(n);
    ex.for_each(plan, [&](parex::chunk c) { std::fill(x.data() + c.begin, x.data() + c.end, 1.0f); });
    for (auto _ : state) {
        ex.for_each(plan, [&](parex::chunk c) { pb::halve_plus_one(x.data(), c.begin, c.end); });
        benchmark::ClobberMemory();
    }
    set_overhead_counters(state, n);
}

void overhead_tbb(benchmark::State& state, std::size_t n) {
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    std::vector<float> x(n);
    const auto body = [&](const tbb::blocked_range<std::size_t>& r) {
        pb::halve_plus_one(x.data(), r.begin(), r.end());
    };
    arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n),
                          [&](const auto& r) { std::fill(x.data() + r.begin(), x.data() + r.end(), 1.0f); });
    });
    for (auto _ : state) {
        arena.execute([&] { tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n), body); });
        benchmark::ClobberMemory();
    }
    set_overhead_counters(state, n);
}

void overhead_threads(benchmark::State& state, std::size_t n) {
    std::vector<float> x(n, 1.0f);
    const auto t = pb::threads();
    for (auto _ : state) {
        pb::on_threads(t, [&](std::size_t k) { pb::halve_plus_one(x.data(), n * k / t, n * (k + 1) / t); });
        benchmark::ClobberMemory();
    }
    set_overhead_counters(state, n);
}

void overhead_sequential_1e7(benchmark::State& state) { overhead_sequential(state, pb::overhead_n); }
void overhead_parex_1e7(benchmark::State& state) { overhead_parex(state, pb::overhead_n, pb::overhead_grain); }
void overhead_tbb_1e7(benchmark::State& state) { overhead_tbb(state, pb::overhead_n); }
void overhead_threads_1e7(benchmark::State& state) { overhead_threads(state, pb::overhead_n); }
void overhead_sequential_1e5(benchmark::State& state) { overhead_sequential(state, pb::small_overhead_n); }
void overhead_parex_1e5(benchmark::State& state) {
    overhead_parex(state, pb::small_overhead_n, pb::small_overhead_grain);
}
void overhead_tbb_1e5(benchmark::State& state) { overhead_tbb(state, pb::small_overhead_n); }

// ---------------------------------------------------------------------------------------------
// nested loops: an outer loop of 64 pieces, each running an inner loop over its own 1e5 floats (grain
// 8Ki) on the same threads. parex isolates the inner call (a thread waiting in it runs only its
// chunks); raw oneTBB's nested parallel_for does not, and with this_task_arena::isolate does.
constexpr std::size_t nested_outer = 64, nested_inner = 100'000, nested_grain = 1 << 13;

void nested_sequential(benchmark::State& state) {
    std::vector<float> x(nested_outer * nested_inner, 1.0f);
    for (auto _ : state) {
        pb::halve_plus_one(x.data(), 0, x.size());
        benchmark::ClobberMemory();
    }
    set_overhead_counters(state, x.size());
}

void nested_parex(benchmark::State& state) {
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    std::vector<float> x(nested_outer * nested_inner);
    const auto inner = parex::chunks(nested_inner, parex::grain{nested_grain});
    const auto run = [&](auto&& body) {
        ex.for_each(parex::chunks(nested_outer, parex::grain{1}), [&](parex::chunk outer) {
            float* row = x.data() + outer.begin * nested_inner;
            ex.for_each(inner, [&](parex::chunk c) { body(row, c.begin, c.end); });
        });
    };
    run([](float* row, std::size_t b, std::size_t e) { std::fill(row + b, row + e, 1.0f); });
    for (auto _ : state) {
        run([](float* row, std::size_t b, std::size_t e) { pb::halve_plus_one(row, b, e); });
        benchmark::ClobberMemory();
    }
    set_overhead_counters(state, x.size());
}

template <bool Isolated>
void nested_tbb(benchmark::State& state) {
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    std::vector<float> x(nested_outer * nested_inner);
    const auto run = [&](auto&& body) {
        arena.execute([&] {
            tbb::parallel_for(std::size_t{0}, nested_outer, [&](std::size_t outer) {
                float* row = x.data() + outer * nested_inner;
                const auto inner = [&] {
                    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, nested_inner, nested_grain),
                                      [&](const auto& r) { body(row, r.begin(), r.end()); });
                };
                if constexpr (Isolated)
                    tbb::this_task_arena::isolate(inner);
                else
                    inner();
            });
        });
    };
    run([](float* row, std::size_t b, std::size_t e) { std::fill(row + b, row + e, 1.0f); });
    for (auto _ : state) {
        run([](float* row, std::size_t b, std::size_t e) { pb::halve_plus_one(row, b, e); });
        benchmark::ClobberMemory();
    }
    set_overhead_counters(state, x.size());
}

// ---------------------------------------------------------------------------------------------
// map_reduce sum over 256 MiB of doubles, and the STREAM triad it is held against
void sum_sequential(benchmark::State& state) {
    const auto& x = pb::sum_data();
    for (auto _ : state) benchmark::DoNotOptimize(pb::sum(x.data(), 0, x.size()));
    pb::set_sum_counters(state);
}

void sum_parex(benchmark::State& state) {
    const auto& x = pb::sum_data();
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    const auto plan = parex::chunks(x.size(), parex::grain{pb::sum_grain});
    for (auto _ : state)
        benchmark::DoNotOptimize(
            ex.map_reduce(plan, [&](parex::chunk c) { return pb::sum(x.data(), c.begin, c.end); }, std::plus<>{}, 0.0));
    pb::set_sum_counters(state);
}

void sum_tbb_reduce(benchmark::State& state) {
    const auto& x = pb::sum_data();
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    for (auto _ : state)
        benchmark::DoNotOptimize(arena.execute([&] {
            return tbb::parallel_reduce(
                tbb::blocked_range<std::size_t>(0, x.size()), 0.0,
                [&](const auto& r, double s) { return s + pb::sum(x.data(), r.begin(), r.end()); }, std::plus<>{});
        }));
    pb::set_sum_counters(state);
}

void sum_tbb_deterministic(benchmark::State& state) {
    const auto& x = pb::sum_data();
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    for (auto _ : state)
        benchmark::DoNotOptimize(arena.execute([&] {
            return tbb::parallel_deterministic_reduce(
                tbb::blocked_range<std::size_t>(0, x.size(), pb::sum_grain), 0.0,
                [&](const auto& r, double s) { return s + pb::sum(x.data(), r.begin(), r.end()); }, std::plus<>{});
        }));
    pb::set_sum_counters(state);
}

void stream_triad(benchmark::State& state) { pb::measure_triad(state); }

// ---------------------------------------------------------------------------------------------
// skewed work: item i costs i steps, so equal-sized chunks carry unequal work
void set_skew_counters(benchmark::State& state) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pb::skew_n));
}

void skew_sequential(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(pb::skewed_range(0, pb::skew_n));
    set_skew_counters(state);
}

void skew_parex(benchmark::State& state, const parex::index_plan& plan) {
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    for (auto _ : state)
        benchmark::DoNotOptimize(ex.map_reduce(
            plan, [](parex::chunk c) { return pb::skewed_range(c.begin, c.end); }, std::plus<>{}, std::uint64_t{0}));
    set_skew_counters(state);
}
void skew_parex_grain_256(benchmark::State& state) { skew_parex(state, parex::chunks(pb::skew_n, parex::grain{256})); }
void skew_parex_per_thread(benchmark::State& state) {
    skew_parex(state, parex::chunks(pb::skew_n, parex::chunk_count{pb::threads()}));
}

template <class Partitioner>
void skew_tbb(benchmark::State& state, std::size_t grain) {
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    for (auto _ : state)
        benchmark::DoNotOptimize(arena.execute([&] {
            Partitioner partitioner;
            return tbb::parallel_reduce(
                tbb::blocked_range<std::size_t>(0, pb::skew_n, grain), std::uint64_t{0},
                [](const auto& r, std::uint64_t s) { return s + pb::skewed_range(r.begin(), r.end()); }, std::plus<>{},
                partitioner);
        }));
    set_skew_counters(state);
}
void skew_tbb_simple_256(benchmark::State& state) { skew_tbb<tbb::simple_partitioner>(state, 256); }
void skew_tbb_auto(benchmark::State& state) { skew_tbb<tbb::auto_partitioner>(state, 1); }
void skew_tbb_static(benchmark::State& state) { skew_tbb<tbb::static_partitioner>(state, 1); }

// ---------------------------------------------------------------------------------------------
// heterogeneous tasks, scheduled by cost: the block sort of each file of the Canterbury corpus (its
// 16-byte windows at every offset sorted, as a Burrows-Wheeler block sort does), 11 files of 3.7 KB to
// 1 MB in name order, the largest in the middle. Cost estimate: the file's size.
const std::vector<std::string>& corpus_files() {
    static const std::vector<std::string> files = [] {
        std::vector<std::string> out;
        std::vector<std::filesystem::path> paths;
        for (const auto& entry : std::filesystem::directory_iterator(std::string(PAREX_TEST_DATA) + "/canterbury"))
            if (entry.is_regular_file() && entry.path().extension() != ".md") paths.push_back(entry.path());
        std::sort(paths.begin(), paths.end());
        for (const auto& path : paths) {
            std::ifstream in(path, std::ios::binary);
            out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        return out;
    }();
    return files;
}

std::uint64_t block_sort(const std::string& s) {
    std::vector<std::uint32_t> offsets(s.size());
    std::iota(offsets.begin(), offsets.end(), std::uint32_t{0});
    std::sort(offsets.begin(), offsets.end(), [&](std::uint32_t a, std::uint32_t b) {
        const auto la = std::min<std::size_t>(16, s.size() - a), lb = std::min<std::size_t>(16, s.size() - b);
        const int c = std::memcmp(s.data() + a, s.data() + b, std::min(la, lb));
        return c != 0 ? c < 0 : (la != lb ? la < lb : a < b);
    });
    return offsets.empty() ? 0 : offsets.front() + offsets[offsets.size() / 2];
}

/// max(sum / threads, largest) of the tasks' times, each measured alone (best of 3), in ms.
double block_sort_bound_ms() {
    static const double bound = [] {
        std::vector<double> ms;
        for (const auto& file : corpus_files()) {
            double best = 1e300;
            for (int r = 0; r < 3; ++r) {
                const auto start = std::chrono::steady_clock::now();
                benchmark::DoNotOptimize(block_sort(file));
                best = std::min(
                    best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
            }
            ms.push_back(best);
        }
        return parex::makespan_lower_bound(ms, pb::threads());
    }();
    return bound;
}

void set_block_sort_counters(benchmark::State& state) {
    std::size_t bytes = 0;
    for (const auto& file : corpus_files()) bytes += file.size();
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void block_sort_sequential(benchmark::State& state) {
    for (auto _ : state)
        for (const auto& file : corpus_files()) benchmark::DoNotOptimize(block_sort(file));
    set_block_sort_counters(state);
}

void block_sort_parex(benchmark::State& state) {
    const auto& files = corpus_files();
    const double bound = block_sort_bound_ms();
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    double total_ms = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(parex::map_by_cost(
            ex, files.size(), [&](std::size_t i) { return static_cast<double>(files[i].size()); },
            [&](std::size_t i) { return block_sort(files[i]); }));
        total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    set_block_sort_counters(state);
    state.counters["lpt_bound_ms"] = bound;
    state.counters["makespan_over_bound"] = total_ms / static_cast<double>(state.iterations()) / bound;
}

void block_sort_input_order(benchmark::State& state) {
    const auto& files = corpus_files();
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    for (auto _ : state)
        benchmark::DoNotOptimize(ex.map(parex::chunks(files.size(), parex::grain{1}),
                                        [&](parex::chunk c) { return block_sort(files[c.begin]); }));
    set_block_sort_counters(state);
}

void block_sort_tbb(benchmark::State& state) {
    const auto& files = corpus_files();
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    std::vector<std::uint64_t> out(files.size());
    for (auto _ : state)
        arena.execute([&] {
            tbb::parallel_for(std::size_t{0}, files.size(), [&](std::size_t i) { out[i] = block_sort(files[i]); });
        });
    benchmark::DoNotOptimize(out.data());
    set_block_sort_counters(state);
}

// ---------------------------------------------------------------------------------------------
// ordered pipeline: 2048 blocks of 64 KiB, FNV-1a checksum each (parallel), folded in order (serial)
constexpr std::size_t block_bytes = 64 << 10;
constexpr std::size_t block_count = 2048;

const std::vector<unsigned char>& pipeline_data() {
    static const std::vector<unsigned char> data = [] {
        std::vector<unsigned char> v(block_bytes * block_count);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<unsigned char>(i * 2654435761u >> 13);
        return v;
    }();
    return data;
}

std::uint64_t fnv1a(const unsigned char* p, std::size_t n) {  // FNV-1a 64 (Fowler, Noll, Vo; IETF draft)
    std::uint64_t h = 14695981039346656037ull;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

void set_pipeline_counters(benchmark::State& state) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * block_bytes * block_count));
}

void pipeline_sequential(benchmark::State& state) {
    const auto& data = pipeline_data();
    for (auto _ : state) {
        std::uint64_t folded = 0;
        for (std::size_t b = 0; b < block_count; ++b) folded = folded * 31 + fnv1a(&data[b * block_bytes], block_bytes);
        benchmark::DoNotOptimize(folded);
    }
    set_pipeline_counters(state);
}

void pipeline_parex(benchmark::State& state) {
    const auto& data = pipeline_data();
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    for (auto _ : state) {
        std::size_t next = 0;
        std::uint64_t folded = 0;
        parex::run_pipeline(
            ex,
            [&]() -> std::optional<const unsigned char*> {
                if (next == block_count) return std::nullopt;
                return &data[block_bytes * next++];
            },
            [](const unsigned char* block) { return fnv1a(block, block_bytes); },
            [&](std::uint64_t h) { folded = folded * 31 + h; });
        benchmark::DoNotOptimize(folded);
    }
    set_pipeline_counters(state);
}

void pipeline_tbb(benchmark::State& state) {
    const auto& data = pipeline_data();
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    for (auto _ : state) {
        std::size_t next = 0;
        std::uint64_t folded = 0;
        // Tokens are block indices: oneTBB 2021.8 cannot pass pointers to const between filters.
        const auto source = [&](tbb::flow_control& fc) -> std::size_t {
            if (next == block_count) fc.stop();
            return next++;
        };
        const auto checksum = [&](std::size_t b) { return fnv1a(&data[b * block_bytes], block_bytes); };
        const auto fold = [&](std::uint64_t h) { folded = folded * 31 + h; };
        arena.execute([&] {
            tbb::parallel_pipeline(
                2 * pb::threads(),
                tbb::make_filter<void, std::size_t>(tbb::filter_mode::serial_in_order, source) &
                    tbb::make_filter<std::size_t, std::uint64_t>(tbb::filter_mode::parallel, checksum) &
                    tbb::make_filter<std::uint64_t, void>(tbb::filter_mode::serial_in_order, fold));
        });
        benchmark::DoNotOptimize(folded);
    }
    set_pipeline_counters(state);
}

// ---------------------------------------------------------------------------------------------
// record-aligned chunking on real data: count the QSO records of the official ADIF 3.1.6 test file
const std::string& adif_test_log() {
    static const std::string text = pb::read_test_data("adif/ADIF_316_test_QSOs_2025_08_27.adi");
    return text;
}

/// Occurrences of "<EOR>" in any letter case (a field's data could hold one too: the ADIF module's
/// parser follows field lengths; this benchmark measures the chunking around a plain scan).
std::size_t count_eor(std::string_view text) {
    std::size_t n = 0;
    for (auto p = text.find('<'); p != std::string_view::npos; p = text.find('<', p + 1))
        if (p + 5 <= text.size() && (text[p + 1] | 0x20) == 'e' && (text[p + 2] | 0x20) == 'o' &&
            (text[p + 3] | 0x20) == 'r' && text[p + 4] == '>')
            ++n;
    return n;
}

void adif_sequential(benchmark::State& state) {
    const auto& text = adif_test_log();
    if (text.empty()) return state.SkipWithError("tests/data/adif is missing");
    for (auto _ : state) benchmark::DoNotOptimize(count_eor(text));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void adif_parex(benchmark::State& state) {
    const auto& text = adif_test_log();
    if (text.empty()) return state.SkipWithError("tests/data/adif is missing");
    const parex::after_delimiter eor("<EOR>", parex::ignore_case);
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    const auto expected = count_eor(text);
    for (auto _ : state) {
        const auto plan = parex::split_bytes(text, 64 << 10, eor);
        const auto records = ex.map_reduce(
            plan, [](const parex::byte_chunk& c) { return count_eor(c.bytes); }, std::plus<>{}, std::size_t{0});
        if (records != expected) return state.SkipWithError("chunked record count differs from sequential");
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

}  // namespace

#define PAREX_BENCH(fn, name) BENCHMARK(fn)->Name(name)->UseRealTime()->Unit(benchmark::kMillisecond)

PAREX_BENCH(overhead_sequential_1e7, "executor/for_each over 1e7 floats/sequential");
PAREX_BENCH(overhead_parex_1e7, "executor/for_each over 1e7 floats/parex");
PAREX_BENCH(overhead_tbb_1e7, "executor/for_each over 1e7 floats/peer:tbb::parallel_for");
PAREX_BENCH(overhead_threads_1e7, "executor/for_each over 1e7 floats/peer:std::thread split");
PAREX_BENCH(overhead_sequential_1e5, "executor/for_each over 1e5 floats - grain 8Ki/sequential")
    ->Unit(benchmark::kMicrosecond);
PAREX_BENCH(overhead_parex_1e5, "executor/for_each over 1e5 floats - grain 8Ki/parex")->Unit(benchmark::kMicrosecond);
PAREX_BENCH(overhead_tbb_1e5, "executor/for_each over 1e5 floats - grain 8Ki/peer:tbb::parallel_for")
    ->Unit(benchmark::kMicrosecond);
PAREX_BENCH(nested_sequential, "executor/nested for_each - 64 x 1e5 floats/sequential");
PAREX_BENCH(nested_parex, "executor/nested for_each - 64 x 1e5 floats/parex");
PAREX_BENCH(nested_tbb<false>, "executor/nested for_each - 64 x 1e5 floats/peer:tbb::parallel_for nested");
PAREX_BENCH(nested_tbb<true>, "executor/nested for_each - 64 x 1e5 floats/peer:tbb::parallel_for nested, isolated");

PAREX_BENCH(sum_sequential, "executor/map_reduce sum of 256 MiB doubles/sequential");
PAREX_BENCH(sum_parex, "executor/map_reduce sum of 256 MiB doubles/parex");
PAREX_BENCH(sum_tbb_reduce, "executor/map_reduce sum of 256 MiB doubles/peer:tbb::parallel_reduce");
PAREX_BENCH(sum_tbb_deterministic,
            "executor/map_reduce sum of 256 MiB doubles/peer:tbb::parallel_deterministic_reduce");
PAREX_BENCH(stream_triad, "executor/map_reduce sum of 256 MiB doubles/peer:STREAM triad (bandwidth)");

PAREX_BENCH(skew_sequential, "executor/skewed work - grain 256/sequential");
PAREX_BENCH(skew_parex_grain_256, "executor/skewed work - grain 256/parex");
PAREX_BENCH(skew_tbb_simple_256, "executor/skewed work - grain 256/peer:tbb simple_partitioner");
PAREX_BENCH(skew_tbb_auto, "executor/skewed work - grain 256/peer:tbb auto_partitioner");
PAREX_BENCH(skew_sequential, "executor/skewed work - one chunk per thread/sequential");
PAREX_BENCH(skew_parex_per_thread, "executor/skewed work - one chunk per thread/parex");
PAREX_BENCH(skew_tbb_static, "executor/skewed work - one chunk per thread/peer:tbb static_partitioner");

PAREX_BENCH(block_sort_sequential, "cost_schedule/block sort of 11 corpus files - heaviest first/sequential");
PAREX_BENCH(block_sort_parex, "cost_schedule/block sort of 11 corpus files - heaviest first/parex");
PAREX_BENCH(block_sort_input_order,
            "cost_schedule/block sort of 11 corpus files - heaviest first/peer:executor map in input order");
PAREX_BENCH(block_sort_tbb, "cost_schedule/block sort of 11 corpus files - heaviest first/peer:tbb::parallel_for");

PAREX_BENCH(pipeline_sequential, "pipeline/2048 blocks of 64 KiB - FNV-1a in order/sequential");
PAREX_BENCH(pipeline_parex, "pipeline/2048 blocks of 64 KiB - FNV-1a in order/parex");
PAREX_BENCH(pipeline_tbb, "pipeline/2048 blocks of 64 KiB - FNV-1a in order/peer:tbb::parallel_pipeline");

PAREX_BENCH(adif_sequential, "chunking/ADIF 3.1.6 test QSOs (0.94 MiB) - <EOR> count/sequential");
PAREX_BENCH(adif_parex, "chunking/ADIF 3.1.6 test QSOs (0.94 MiB) - <EOR> count/parex");

int main(int argc, char** argv) { return pb::run_benchmarks(argc, argv); }
