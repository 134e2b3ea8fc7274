// parex-compress: chunked parallel zstd and lz4 that the standard tools read, with a seek table for
// range reads. Command line modelled on zstd's:
//   parex-compress [-#] [-T N] [--codec zstd|lz4] [--chunk-size SIZE] FILE [-o OUT]
//   parex-compress -d [--range START:LEN] FILE [-o OUT]     parex-compress -t FILE     parex-compress -l FILE
// FILE "-" is stdin; -c writes to stdout. Output goes to a temporary file beside the target, renamed on
// success (never over an existing file without -f); the input is never modified. Exit status
// (cli.hpp): 0 ok, 1 bad data, 2 usage, 3 I/O; no output left behind on an error.

#include <common/cli.hpp>
#include <common/mpi_session.hpp>
#include <common/output_file.hpp>
#include <compress/archive.hpp>
#include <compress/engine.hpp>
#if defined(EXAMPLES_MPI)
#include <compress/mpi.hpp>
#endif

#include <parex/mapped_file.hpp>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
namespace pc = compress;
namespace cli = examples;

namespace {

using examples::fail_errno;

/// "64K", "1M", "1MiB", "3G", "1000": bytes (powers of 1024, as zstd reads them). `option` names the
/// option in the error (a usage_failure).
std::size_t parse_size(const std::string& text, const char* option) {
    std::size_t value = 0;
    const auto* end = text.data() + text.size();
    auto [rest, ec] = std::from_chars(text.data(), end, value);
    std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    int shift = 0;
    if (!unit.empty()) {
        const auto u = static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0])));
        shift = u == 'K' ? 10 : u == 'M' ? 20 : u == 'G' ? 30 : -1;
        unit.remove_prefix(1);
        if (unit == "iB" || unit == "B") unit = {};
    }
    if (ec != std::errc{} || rest == text.data() || shift < 0 || !unit.empty() || value > (SIZE_MAX >> shift))
        throw cli::usage_failure(std::string(option) + " " + text + ": not a size like 1M");
    return value << shift;
}

/// An input file mapped read-only (or stdin read whole): the decompressor's random access. Throws
/// parex::system_error (exit status 3) naming the file when it cannot be opened or mapped.
class input_bytes {
public:
    explicit input_bytes(const std::string& path) {
        if (path != "-") {
            file_ = parex::mapped_file(path);
            view_ = file_.bytes();
            return;
        }
        std::vector<char> buffer(1 << 20);
        for (ssize_t n; (n = ::read(STDIN_FILENO, buffer.data(), buffer.size())) != 0;) {
            if (n < 0) fail_errno("reading stdin");
            owned_.append(buffer.data(), static_cast<std::size_t>(n));
        }
        view_ = owned_;
    }
    input_bytes(const input_bytes&) = delete;  // view_ may point into owned_
    input_bytes& operator=(const input_bytes&) = delete;
    [[nodiscard]] std::string_view view() const { return view_; }

private:
    parex::mapped_file file_;
    std::string owned_;
    std::string_view view_;
};

using examples::output_file;

bool show_progress = true;  // -q turns it off

/// Progress on stderr, only when it is a terminal.
parex::run_options progress_options(const char* verb) {
    if (!show_progress || !::isatty(STDERR_FILENO)) return {};
    return {.on_progress =
                [verb](parex::progress p) { fmt::print(stderr, "\rparex-compress: {} chunk {}   ", verb, p.done); },
            .progress_interval = std::chrono::milliseconds(200)};
}
void end_progress() {
    if (show_progress && ::isatty(STDERR_FILENO)) fmt::print(stderr, "\r\033[K");
}

std::string suffix_of(pc::codec c) { return c == pc::codec::zstd ? ".zst" : ".lz4"; }

#if defined(EXAMPLES_MPI)
/// Compression of a file into a file under mpirun: every rank compresses its block of chunks and writes
/// its frames into rank 0's temporary output (compress/mpi.hpp), which rank 0 then renames.
int compress_across_ranks(const cli::mpi_session& mpi, const pc::options& opts, const std::string& input,
                          const fs::path& target, bool force) {
    std::optional<output_file> out;
    std::string temporary;
    std::exception_ptr error;
    if (mpi.rank() == 0) {
        try {
            out.emplace(target, force);
            temporary = fs::absolute(*out->temporary_path()).string();
        } catch (...) {
            error = std::current_exception();
        }
    }
    mpi.agree(error);
    (void)pc::mpi::compress_file(MPI_COMM_WORLD, input, mpi.broadcast(temporary), opts);
    if (mpi.rank() == 0) {
        try {
            out->commit();
        } catch (...) {
            error = std::current_exception();
        }
    }
    mpi.agree(error);
    return 0;
}
#endif

/// The work on `input` once the options are checked. Returns the exit status.
int run(pc::options opts, const std::string& input, const std::string& output,
        const std::optional<std::pair<std::size_t, std::size_t>>& range, bool decompress, bool test, bool list,
        bool to_stdout, bool force, bool quiet, const cli::mpi_session& mpi) {
    struct progress_line {  // the progress line is cleared on every way out
        ~progress_line() { end_progress(); }
    } progress_line_guard;
    if (input != "-" && !fs::exists(input)) {
        errno = ENOENT;
        fail_errno("cannot open");
    }
    if (input != "-" && !fs::is_regular_file(input)) throw cli::io_failure("not a regular file");

    if (list || decompress || test) mpi.single_process_only("-d, -t and -l");
    if (list) {
        input_bytes bytes(input);
        const pc::archive file(bytes.view());
        fmt::print("{}: {} file, {} frames, {}\n", input, pc::name_of(file.kind()), file.frames().size(),
                   file.indexed() ? "seek table" : "no seek table");
        fmt::print("{:>6}  {:>12}  {:>12}  {:>12}  {:>10}\n", "frame", "offset", "compressed", "decompressed",
                   "checksum");
        for (std::size_t i = 0; i < file.frames().size(); ++i) {
            const auto& f = file.frames()[i];
            fmt::print("{:>6}  {:>12}  {:>12}  {:>12}  {:>10}\n", i, f.offset, f.compressed,
                       f.decompressed ? std::to_string(*f.decompressed) : "?",
                       f.checksum ? fmt::format("{:08x}", *f.checksum) : "-");
        }
        return 0;
    }

    if (decompress || test) {
        input_bytes bytes(input);
        const pc::archive file(bytes.view());
        opts.run = progress_options(test ? "testing" : "decoding");
        pc::decompressor engine(opts);
        if (test) {
            const auto n = engine.decompress(file, [](std::string_view) {});
            end_progress();
            if (!quiet) fmt::print(stderr, "{}: OK, {} bytes in {} frames\n", input, n, file.frames().size());
            return 0;
        }
        std::optional<fs::path> target;
        if (!to_stdout && !output.empty()) target = output;
        if (!to_stdout && output.empty() && input != "-") {
            const fs::path in(input);
            if (in.extension() != ".zst" && in.extension() != ".lz4")
                throw std::runtime_error(input + ": unknown suffix (.zst or .lz4), use -o or -c");
            target = in.parent_path() / in.stem();
        }
        if (target && input != "-" && fs::exists(*target) && fs::equivalent(*target, input))
            throw cli::usage_failure("the output would overwrite the input");
        output_file out(target, force);
        if (range) {
            out.write(engine.read_range(file, range->first, range->second));
        } else {
            engine.decompress(file, [&](std::string_view piece) { out.write(piece); });
        }
        end_progress();
        out.commit();
        return 0;
    }

    std::optional<fs::path> target;
    if (!to_stdout && !output.empty()) target = output;
    if (!to_stdout && output.empty() && input != "-") target = input + suffix_of(opts.kind);
    if (target && input != "-" && fs::exists(*target) && fs::equivalent(*target, input))
        throw cli::usage_failure("the output would overwrite the input");
#if defined(EXAMPLES_MPI)
    if (mpi.active() && target && input != "-") return compress_across_ranks(mpi, opts, input, *target, force);
#endif
    if (mpi.active()) mpi.single_process_only("compressing stdin or to stdout");
    const int in_fd = input == "-" ? STDIN_FILENO : ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) fail_errno(input);
    output_file out(target, force);
    opts.run = progress_options("compressing");
    pc::compressor engine(opts);
    engine.compress(
        [&](char* to, std::size_t n) {
            std::size_t got = 0;
            while (got < n) {
                const auto r = ::read(in_fd, to + got, n - got);
                if (r < 0 && errno == EINTR) continue;
                if (r < 0) fail_errno("reading " + input);
                if (r == 0) break;
                got += static_cast<std::size_t>(r);
            }
            return got;
        },
        [&](std::string_view piece) { out.write(piece); });
    end_progress();
    if (in_fd != STDIN_FILENO) ::close(in_fd);
    out.commit();
    return 0;
}

/// The options that take a value: a "-N" right after one is that value, not a level.
bool takes_value(const std::string& arg) {
    for (const char* o : {"-o", "-T", "--threads", "--level", "--codec", "--chunk-size", "--range"})
        if (arg == o) return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    // zstd's "-3" style levels: turn -N into --level N before CLI11 reads the line (not a value of -T & co.).
    std::vector<std::string> args(argv, argv + argc);
    for (std::size_t i = 1; i < args.size(); ++i) {
        auto& a = args[i];
        if (a.size() >= 2 && a[0] == '-' &&
            std::all_of(a.begin() + 1, a.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
            !takes_value(args[i - 1]))
            a = "--level=" + a.substr(1);
    }
    std::vector<char*> argv2;
    for (auto& a : args) argv2.push_back(a.data());

    CLI::App app{"Chunked parallel zstd and lz4, readable by the standard tools, seekable", "parex-compress"};
    std::string input, output, codec_name = "zstd", chunk_text = "auto", range_text;
    int level = 3;
    std::size_t threads = 0;
    bool decompress = false, test = false, list = false, to_stdout = false, force = false, quiet = false;
    app.add_option("FILE", input, "input file, - for stdin")->required();
    app.add_option("-o", output, "output file");
    cli::add_integer(&app, "--level", level, "compression level, also as -#: zstd 1..19 (default 3), lz4 0..12", 0, 19);
    cli::add_threads(&app, threads, true);
    app.add_option("--codec", codec_name, "zstd or lz4")->check(CLI::IsMember({"zstd", "lz4"}));
    app.add_option(
        "--chunk-size", chunk_text,
        "bytes per frame, 1 to 1G, e.g. 256K, 4M (default auto: zstd twice the level's window, at least 1M; lz4 1M)");
    app.add_flag("-d,--decompress", decompress, "decompress");
    app.add_flag("-t,--test", test, "decompress and check, write nothing");
    app.add_flag("-l,--list", list, "list frames and chunks");
    app.add_option("--range", range_text, "with -d: only bytes START:LEN of the decoded data");
    app.add_flag("-c,--stdout", to_stdout, "write to stdout");
    app.add_flag("-f,--force", force, "overwrite an existing output file");
    app.add_flag("-q,--quiet", quiet, "no progress and no -t summary");
    const cli::mpi_session mpi(argc, argv);
    return cli::run_program(app, static_cast<int>(argv2.size()), argv2.data(), [&] {
        return mpi.run([&] {
            show_progress = !quiet && !mpi.active();
            pc::options opts;
            opts.kind = codec_name == "lz4" ? pc::codec::lz4 : pc::codec::zstd;
            if (opts.kind == pc::codec::zstd ? level < 1 || level > 19 : level > 12)
                throw cli::usage_failure(fmt::format("--level {}: {} accepts {}", level, codec_name,
                                                     opts.kind == pc::codec::zstd ? "1 to 19" : "0 to 12"));
            opts.level = level;
            opts.chunk_size = chunk_text == "auto" ? 0 : parse_size(chunk_text, "--chunk-size");
            if (chunk_text != "auto" && (opts.chunk_size == 0 || opts.chunk_size > pc::max_chunk_size))
                throw cli::usage_failure("--chunk-size " + chunk_text + ": accepts 1 to 1G");
            opts.threads = threads;
            std::optional<std::pair<std::size_t, std::size_t>> range;  // START, LEN
            if (!range_text.empty()) {
                if (!decompress) throw cli::usage_failure("--range goes with -d");
                const auto colon = range_text.find(':');
                if (colon == std::string::npos)
                    throw cli::usage_failure("--range " + range_text + ": expected START:LEN");
                range.emplace(parse_size(range_text.substr(0, colon), "--range"),
                              parse_size(range_text.substr(colon + 1), "--range"));
            }
            return cli::about(input, [&] {
                return run(opts, input, output, range, decompress, test, list, to_stdout, force, quiet, mpi);
            });
        });
    });
}
