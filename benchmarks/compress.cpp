// The compression module against the zstd and lz4 libraries and command-line tools, on the corpus of
// cmake/make-compress-corpus.sh (PAREX_COMPRESS_CORPUS; the main job builds it).
//   in memory:    parex 1 thread (sequential) and N threads vs libzstd one-shot (zstd -T1), libzstd
//                 with N workers (zstd -TN) and N one-shot libzstd runs at once (N x zstd -T1: what the
//                 machine gives N single-thread compressions); decompression vs ZSTD_decompress, alone
//                 and N at once; lz4 vs LZ4F one frame
//   file to file: parex-compress -T1 / -TN vs zstd -T1, zstd -TN, pzstd -p N, lz4
//   threshold:    small inputs, single-shot path vs pipeline, to place default_single_shot_below
// Levels: PAREX_COMPRESS_LEVELS (comma-separated, default "3"); the docs' full run uses 1,3,9.
// Every benchmark reports "ratio" (input bytes / output bytes).
#include "kernels.hpp"

#include <compress/engine.hpp>

#include <benchmark/benchmark.h>
#include <lz4frame.h>
#include <zstd.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace pb = parex::bench;
namespace pc = compress;
namespace fs = std::filesystem;

namespace {

const std::string& corpus() {
    static const std::string data = [] {
        const char* path = std::getenv("PAREX_COMPRESS_CORPUS");
        if (path == nullptr) return std::string();
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }();
    return data;
}

/// Where the file-to-file runs write: tmpfs (/dev/shm) when there is one, so that the tools are
/// measured and not the disk's writeback (on the VM of docs/benchmarks.md a run writing to ext4
/// swung between 100 and 400 ms as other runs' outputs were flushed). Removed at exit.
fs::path scratch() {
    static const struct dir {
        fs::path path;
        dir() {
            const fs::path base = fs::is_directory("/dev/shm")
                                      ? fs::path("/dev/shm")
                                      : fs::path(std::getenv("PAREX_COMPRESS_CORPUS")).parent_path();
            path = base / ("parex-bench-compress-" + std::to_string(::getpid()));
            fs::create_directories(path);
        }
        ~dir() {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    } d;
    return d.path;
}

void finish(benchmark::State& state, std::size_t input, std::size_t output) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input));
    state.counters["ratio"] = static_cast<double>(input) / static_cast<double>(output);
}

bool have_corpus(benchmark::State& state) {
    if (!corpus().empty()) return true;
    state.SkipWithError("PAREX_COMPRESS_CORPUS is not set or empty (cmake/make-compress-corpus.sh)");
    return false;
}

pc::options parex_options(pc::codec kind, int level, std::size_t threads) {
    pc::options o;
    o.kind = kind;
    o.level = level;
    o.threads = threads;
    return o;
}

// ---- in memory ------------------------------------------------------------------------------
void memory_parex(benchmark::State& state, pc::codec kind, int level, std::size_t threads) {
    if (!have_corpus(state)) return;
    pc::compressor c(parex_options(kind, level, threads));
    std::string out(corpus().size(), '\0');  // touched before timing, as the peers' buffers are
    for (auto _ : state) {
        out.clear();
        c.compress(corpus(), [&](std::string_view piece) { out.append(piece); });
    }
    finish(state, corpus().size(), out.size());
}

/// One libzstd context with an output buffer for the whole corpus (touched before timing), set up as
/// `zstd -q -# -T<workers>` sets it: the level, a content checksum, `workers` threads (0: none).
struct zstd_one_shot {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    std::string out = std::string(ZSTD_compressBound(corpus().size()), '\0');
    std::size_t size = 0;  ///< of the last output, or a libzstd error code

    zstd_one_shot(int level, int workers) {
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
        if (workers > 0) ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers);
    }
    zstd_one_shot(const zstd_one_shot&) = delete;
    zstd_one_shot& operator=(const zstd_one_shot&) = delete;
    ~zstd_one_shot() { ZSTD_freeCCtx(cctx); }
    void compress() { size = ZSTD_compress2(cctx, out.data(), out.size(), corpus().data(), corpus().size()); }
};

/// Runs job(i) for every i in [0, copies): inline for one copy, else on `copies` threads at once, and
/// waits for all. The "N at once" peers run N independent single-thread jobs, as N concurrent `zstd -T1`
/// processes would: their throughput (N x the corpus per wall time) is what this machine gives N
/// single-thread runs together, N times the one-thread row's where the cores scale perfectly, less where
/// they share caches, memory or the hypervisor's time. The compression goal's "twice single-thread
/// zstd", measured.
template <class Job>
void at_once(std::size_t copies, const Job& job) {
    if (copies == 1) return job(std::size_t{0});
    pb::on_threads(copies, job);
}

/// libzstd one-shot, `workers` threads inside libzstd (0: none), `copies` independent runs at once.
void memory_zstd(benchmark::State& state, int level, int workers, std::size_t copies = 1) {
    if (!have_corpus(state)) return;
    std::vector<std::unique_ptr<zstd_one_shot>> runs;
    for (std::size_t i = 0; i < copies; ++i) runs.push_back(std::make_unique<zstd_one_shot>(level, workers));
    for (auto _ : state) at_once(copies, [&](std::size_t i) { runs[i]->compress(); });
    for (const auto& r : runs)
        if (ZSTD_isError(r->size)) return state.SkipWithError(ZSTD_getErrorName(r->size));
    finish(state, copies * corpus().size(), copies * runs.front()->size);
}

void memory_lz4(benchmark::State& state) {
    if (!have_corpus(state)) return;
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    std::string out(LZ4F_compressFrameBound(corpus().size(), &prefs), '\0');
    std::size_t n = 0;
    for (auto _ : state) n = LZ4F_compressFrame(out.data(), out.size(), corpus().data(), corpus().size(), &prefs);
    finish(state, corpus().size(), n);
}

void memory_parex_decompress(benchmark::State& state, int level, std::size_t threads) {
    if (!have_corpus(state)) return;
    const auto packed = pc::compressor(parex_options(pc::codec::zstd, level, 0)).compress(corpus());
    const pc::archive file(packed);
    pc::decompressor d(parex_options(pc::codec::zstd, level, threads));
    std::string out(corpus().size(), '\0');  // touched before timing, as the peer's buffer is
    for (auto _ : state) d.decompress_into(file, out);
    if (out != corpus()) return state.SkipWithError("round trip differs");
    finish(state, corpus().size(), packed.size());
}

/// ZSTD_decompress of one frame, `copies` independent runs at once (each into its own buffer).
void memory_zstd_decompress(benchmark::State& state, int level, std::size_t copies = 1) {
    if (!have_corpus(state)) return;
    // one frame with a content checksum, as `zstd -T1` writes it; decoding verifies it, as parex's does
    zstd_one_shot z(level, 0);
    z.compress();
    if (ZSTD_isError(z.size)) return state.SkipWithError(ZSTD_getErrorName(z.size));
    const std::string_view packed(z.out.data(), z.size);
    std::vector<std::string> outs(copies, std::string(corpus().size(), '\0'));
    std::vector<std::size_t> sizes(copies);
    const auto decode = [&](std::size_t i) {
        sizes[i] = ZSTD_decompress(outs[i].data(), outs[i].size(), packed.data(), packed.size());
    };
    for (auto _ : state) at_once(copies, decode);
    for (const auto n : sizes)
        if (n != corpus().size()) return state.SkipWithError("ZSTD_decompress did not restore the corpus");
    finish(state, copies * corpus().size(), copies * packed.size());
}

// ---- file to file: the command-line tools, started by the shell -----------------------------
void file_to_file(benchmark::State& state, const std::string& command, const std::string& output_name) {
    if (!have_corpus(state)) return;
    const auto in = fs::path(std::getenv("PAREX_COMPRESS_CORPUS"));
    const auto out = scratch() / output_name;
    std::string line = command;
    for (const auto& [key, value] :
         {std::pair{std::string("{in}"), in.string()}, std::pair{std::string("{out}"), out.string()},
          std::pair{std::string("{parex}"), std::string(PAREX_COMPRESS_CLI)}})
        for (std::size_t at; (at = line.find(key)) != std::string::npos;)
            line.replace(at, key.size(), "'" + value + "'");
    line += " 2>/dev/null";
    for (auto _ : state) {
        // Every tool writes a new file: replacing an existing one costs a filesystem-dependent extra
        // (ext4 flushes a file renamed over another, as parex-compress's atomic replace does).
        state.PauseTiming();
        fs::remove(out);
        state.ResumeTiming();
        if (std::system(line.c_str()) != 0) return state.SkipWithError(("failed: " + line).c_str());
    }
    const bool decompressing = command.find(" -d") != std::string::npos;
    const auto packed = decompressing ? fs::file_size(scratch() / "corpus-parex.zst") : fs::file_size(out);
    finish(state, corpus().size(), packed);
    fs::remove(out);
}

// ---- the single-shot threshold: 64 KiB chunks, inputs of a few chunks --------------------------
void threshold(benchmark::State& state, std::size_t bytes, bool single_shot) {
    if (!have_corpus(state)) return;
    const std::string_view input = std::string_view(corpus()).substr(0, bytes);
    auto o = parex_options(pc::codec::zstd, 3, pb::threads());
    o.chunk_size = 64 << 10;
    o.single_shot_below = single_shot ? std::size_t{1} << 40 : 0;
    pc::compressor c(o);
    for (int warm = 0; warm < 20; ++warm) (void)c.compress(input);  // every thread's codec context built
    std::size_t out = 0;
    for (auto _ : state) out = c.compress(input).size();
    finish(state, bytes, out);
}

std::vector<int> levels() {
    const char* text = std::getenv("PAREX_COMPRESS_LEVELS");
    std::vector<int> out;
    std::stringstream in(text ? text : "3");
    for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
    return out;
}

void register_all() {
    const auto t = pb::threads();
    const auto T = std::to_string(t);
    const auto add = [](const std::string& name, auto fn) {
        return benchmark::RegisterBenchmark(name.c_str(), fn)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1);
    };
    for (const int level : levels()) {
        const auto L = std::to_string(level);
        const auto mem = "compress/zstd-" + L + " compress in memory - 108 MiB corpus/";
        add(mem + "sequential", [=](benchmark::State& s) { memory_parex(s, pc::codec::zstd, level, 1); });
        add(mem + "parex", [=](benchmark::State& s) { memory_parex(s, pc::codec::zstd, level, t); });
        add(mem + "peer:libzstd 1 thread (zstd -T1)", [=](benchmark::State& s) { memory_zstd(s, level, 0); });
        add(mem + "peer:libzstd " + T + " workers (zstd -T" + T + ")",
            [=](benchmark::State& s) { memory_zstd(s, level, static_cast<int>(t)); });
        if (t > 1)
            add(mem + "peer:libzstd 1 thread, " + T + " at once (" + T + " x zstd -T1)",
                [=](benchmark::State& s) { memory_zstd(s, level, 0, t); });
        const auto dmem = "compress/zstd-" + L + " decompress in memory - 108 MiB corpus/";
        add(dmem + "sequential", [=](benchmark::State& s) { memory_parex_decompress(s, level, 1); });
        add(dmem + "parex", [=](benchmark::State& s) { memory_parex_decompress(s, level, t); });
        add(dmem + "peer:libzstd ZSTD_decompress", [=](benchmark::State& s) { memory_zstd_decompress(s, level); });
        if (t > 1)
            add(dmem + "peer:libzstd ZSTD_decompress, " + T + " at once",
                [=](benchmark::State& s) { memory_zstd_decompress(s, level, t); });
        const auto file = "compress/zstd-" + L + " compress file to file - 108 MiB corpus/";
        add(file + "sequential",
            [=](benchmark::State& s) { file_to_file(s, "{parex} -f -" + L + " -T1 {in} -o {out}", "seq.zst"); });
        add(file + "parex", [=](benchmark::State& s) {
            file_to_file(s, "{parex} -f -" + L + " -T" + T + " {in} -o {out}", "par.zst");
        });
        add(file + "peer:zstd -T1",
            [=](benchmark::State& s) { file_to_file(s, "zstd -q -f -" + L + " -T1 {in} -o {out}", "z1.zst"); });
        add(file + "peer:zstd -T" + T,
            [=](benchmark::State& s) { file_to_file(s, "zstd -q -f -" + L + " -T" + T + " {in} -o {out}", "zn.zst"); });
        add(file + "peer:pzstd -p " + T, [=](benchmark::State& s) {
            file_to_file(s, "pzstd -q -f -" + L + " -p " + T + " {in} -o {out}", "pz.zst");
        });
    }
    // decompression file to file, of parex's own output at level 3, written once here
    if (!corpus().empty()) {
        std::ofstream(scratch() / "corpus-parex.zst", std::ios::binary)
            << pc::compressor(parex_options(pc::codec::zstd, 3, 0)).compress(corpus());
    }
    const auto dfile = std::string("compress/zstd-3 decompress file to file - 108 MiB corpus/");
    const auto src = (scratch() / "corpus-parex.zst").string();
    add(dfile + "sequential",
        [=](benchmark::State& s) { file_to_file(s, "{parex} -f -d -T1 '" + src + "' -o {out}", "d1"); });
    add(dfile + "parex",
        [=](benchmark::State& s) { file_to_file(s, "{parex} -f -d -T" + T + " '" + src + "' -o {out}", "dn"); });
    add(dfile + "peer:zstd -d",
        [=](benchmark::State& s) { file_to_file(s, "zstd -q -f -d '" + src + "' -o {out}", "dz"); });
    add(dfile + "peer:pzstd -d -p " + T,
        [=](benchmark::State& s) { file_to_file(s, "pzstd -q -f -d -p " + T + " '" + src + "' -o {out}", "dp"); });

    const auto lz = std::string("compress/lz4 compress in memory - 108 MiB corpus/");
    add(lz + "sequential", [](benchmark::State& s) { memory_parex(s, pc::codec::lz4, 1, 1); });
    add(lz + "parex", [=](benchmark::State& s) { memory_parex(s, pc::codec::lz4, 1, t); });
    add(lz + "peer:liblz4 one frame", [](benchmark::State& s) { memory_lz4(s); });
    const auto lzf = std::string("compress/lz4 compress file to file - 108 MiB corpus/");
    add(lzf + "sequential",
        [](benchmark::State& s) { file_to_file(s, "{parex} -f --codec lz4 -1 -T1 {in} -o {out}", "l1.lz4"); });
    add(lzf + "parex",
        [=](benchmark::State& s) { file_to_file(s, "{parex} -f --codec lz4 -1 -T" + T + " {in} -o {out}", "ln.lz4"); });
    add(lzf + "peer:lz4 -1", [](benchmark::State& s) { file_to_file(s, "lz4 -q -f -1 {in} {out}", "lz.lz4"); });

    for (const std::size_t kib : {64, 128, 256, 1024}) {
        const auto row =
            "compress/threshold - " + std::to_string(kib) + " KiB in 64 KiB chunks - single-shot vs pipeline/";
        benchmark::RegisterBenchmark((row + "sequential").c_str(),
                                     [=](benchmark::State& s) { threshold(s, kib << 10, true); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.1);
        benchmark::RegisterBenchmark((row + "parex").c_str(),
                                     [=](benchmark::State& s) { threshold(s, kib << 10, false); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.1);
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    return pb::run_benchmarks(argc, argv);
}
