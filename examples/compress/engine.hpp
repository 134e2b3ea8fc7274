#pragma once
// The compression engine on parex: chunks stream through parex::run_pipeline (read serially, compress
// in parallel, write in order), at most `max_in_flight` chunks in memory, each chunk's buffers reused
// from a small pool, each worker's codec contexts built once (parex::worker_local). Decompression runs
// the same pipeline over the frames; a byte range decodes only the frames it touches, in parallel. Each
// compressor and decompressor owns one parex::chunked_executor, which all of its calls share.

#include <compress/archive.hpp>
#include <compress/codec.hpp>
#include <compress/errors.hpp>
#include <compress/seek_table.hpp>

#include <parex/chunked_executor.hpp>
#include <parex/pipeline.hpp>
#include <parex/worker_local.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace compress {

/// Inputs smaller than this are compressed on the calling thread, with no pipeline and no worker
/// threads. Chosen by measurement (the
/// "threshold" rows of benchmarks/compress.cpp, docs/compress.md): with 64 KiB chunks on 2 cores one
/// chunk is faster single-shot, and from two chunks (128 KiB) on the pipeline is faster (1.1x to
/// 1.45x at 128 KiB over runs). Inputs of one chunk or less never start threads anyway.
inline constexpr std::size_t default_single_shot_below = std::size_t{128} << 10;

/// The automatic chunk size: for zstd twice the window of the level (ZSTD_getCParams), at least
/// 1 MiB. Frames cannot reference each other's data, so each chunk loses the matches its window would
/// have found in the previous chunk; at two windows per chunk the loss measured on the benchmark corpus
/// stays under 1 % against one-shot zstd (0.35 % at level 1, 0.36 % at 3, 0.58 % at 9: docs/compress.md).
/// lz4's window is 64 KiB: 1 MiB.
inline std::size_t default_chunk_size(codec kind, int level) {
    if (kind == codec::lz4) return std::size_t{1} << 20;
    const auto window_log = ZSTD_getCParams(level, 0, 0).windowLog;
    return std::max(std::size_t{1} << 20, std::size_t{2} << window_log);
}

/// The largest chunk a compressor takes (and parex-compress's --chunk-size accepts): 1 GiB.
inline constexpr std::size_t max_chunk_size = std::size_t{1} << 30;

/// Decoded bytes per piece when a frame is decoded as a stream (see options::max_frame_buffer).
inline constexpr std::size_t stream_piece_size = std::size_t{1} << 20;

struct options {
    codec kind = codec::zstd;
    int level = 3;
    /// Bytes of input per frame; 0 = default_chunk_size(kind, level). At most max_chunk_size.
    std::size_t chunk_size = 0;
    /// Worker threads, the caller's included; 0 = parex::workers_for(cpu_bound).
    std::size_t threads = 0;
    /// Chunks in memory at once; 0 = 2 x threads.
    std::size_t max_in_flight = 0;
    /// Decompression: a frame whose decoded size is known and at most this is decoded whole, in
    /// parallel with others; a larger frame, or one whose size is unknown, is decoded as a stream in
    /// pieces of stream_piece_size, in order, on one thread. Streamed decoding therefore holds at most
    /// max_in_flight x max_frame_buffer + stream_piece_size bytes of decoded data, whatever a frame
    /// declares; libzstd also refuses frames whose window exceeds 128 MiB (ZSTD_d_windowLogMax's
    /// default).
    std::size_t max_frame_buffer = std::size_t{256} << 20;
    std::size_t single_shot_below = default_single_shot_below;
    /// Check each frame against the seek table's XXH64 checksum when decompressing.
    bool verify_seek_checksums = true;
    /// Cancellation and progress (chunks done), as everywhere in parex.
    parex::run_options run{};
};

/// Fills up to n bytes and returns how many; fewer than n only at the end of the input.
using reader = std::function<std::size_t(char*, std::size_t)>;
/// Receives the output in order.
using writer = std::function<void(std::string_view)>;

struct compress_result {
    std::size_t input_bytes = 0;
    std::size_t output_bytes = 0;
    std::size_t chunks = 0;
    bool single_shot = false;  ///< took the small-input path
};

namespace detail {

/// Objects handed out and taken back, so that buffers keep their capacity from chunk to chunk.
template <class T>
class reuse_pool {
public:
    std::unique_ptr<T> acquire() {
        std::lock_guard lock(mutex_);
        if (free_.empty()) return std::make_unique<T>();
        auto item = std::move(free_.back());
        free_.pop_back();
        return item;
    }
    void release(std::unique_ptr<T> item) {
        std::lock_guard lock(mutex_);
        free_.push_back(std::move(item));
    }

private:
    std::mutex mutex_;
    std::vector<std::unique_ptr<T>> free_;
};

struct chunk_job {
    byte_buffer input;      // the chunk's bytes when they had to be read
    std::string_view data;  // the chunk: into `input`, or into the caller's memory
    byte_buffer output;
    seek_entry entry;
};

}  // namespace detail

/// Compresses streams into parex's format: one standard frame per chunk, then a seek table.
/// Keeps its executor and per-worker codec contexts between calls. Not for concurrent calls on one object.
class compressor {
public:
    /// Throws std::invalid_argument for a chunk size above max_chunk_size, and when PAREX_NUM_THREADS is
    /// needed (threads == 0) and invalid.
    explicit compressor(options o)
        : options_(std::move(o)),
          executor_({.max_concurrency = options_.threads}),
          codecs_(executor_,
                  [kind = options_.kind, level = options_.level](std::size_t) { return chunk_codec(kind, level); }) {
        if (options_.chunk_size == 0) options_.chunk_size = default_chunk_size(options_.kind, options_.level);
        if (options_.chunk_size > max_chunk_size)
            throw std::invalid_argument("chunk size " + std::to_string(options_.chunk_size) +
                                        " is above max_chunk_size (1 GiB)");
    }

    [[nodiscard]] std::size_t chunk_size() const noexcept { return options_.chunk_size; }

    /// Reads the input through `read`, chunk by chunk (bounded memory), and writes the file through
    /// `write`, in order.
    compress_result compress(const reader& read, const writer& write) {
        return run(
            [&](detail::chunk_job& job) {
                job.input.resize(options_.chunk_size);
                job.input.resize(read(job.input.data(), options_.chunk_size));
                job.data = job.input.view();
            },
            write);
    }

    /// Compresses `input` in place (the chunks are views into it, nothing is copied).
    compress_result compress(std::string_view input, const writer& write) {
        std::size_t at = 0;
        return run(
            [&](detail::chunk_job& job) {
                job.data = input.substr(at, options_.chunk_size);
                at += job.data.size();
            },
            write);
    }

    /// In-memory convenience: the whole compressed file.
    std::string compress(std::string_view input) {
        std::string out;
        out.reserve(input.size() / 2 + 64);
        compress(input, [&](std::string_view piece) { out.append(piece); });
        return out;
    }

    /// The frames of `input` without the seek table, and the table's entries: a part of an archive whose
    /// other parts (and table) are written elsewhere (compress/mpi.hpp). `input` is cut into chunks of
    /// chunk_size() from its start.
    std::vector<seek_entry> compress_frames(std::string_view input, const writer& write) {
        std::vector<seek_entry> entries;
        std::size_t at = 0;
        (void)run_frames(
            [&](detail::chunk_job& job) {
                job.data = input.substr(at, options_.chunk_size);
                at += job.data.size();
            },
            write, entries);
        return entries;
    }

private:
    /// The frames, then the seek table.
    template <class Next>
    compress_result run(Next next, const writer& write) {
        std::vector<seek_entry> entries;
        auto result = run_frames(next, write, entries);
        std::string table;
        append_seek_table(table, entries);
        write(table);
        result.output_bytes += table.size();
        return result;
    }

    /// next(job) sets job.data to the next chunk (empty at the end; shorter than a chunk only at the end).
    template <class Next>
    compress_result run_frames(Next next, const writer& write, std::vector<seek_entry>& entries) {
        compress_result result;
        const auto emit = [&](detail::chunk_job& job) {
            write(job.output.view());
            entries.push_back(job.entry);
            result.output_bytes += job.output.size();
            result.input_bytes += job.data.size();
            ++result.chunks;
        };
        const auto compress_one = [&](detail::chunk_job& job) {
            codecs_.get().compress(job.data, job.output);
            // A zstd frame ends with its content checksum, the low 32 bits of XXH64 of the chunk (RFC
            // 8878 section 3.1.1): the seek table's value, already computed by libzstd.
            const auto checksum = options_.kind == codec::zstd ? detail::get32(job.output.view(), job.output.size() - 4)
                                                               : seek_checksum(job.data);
            job.entry = {static_cast<std::uint32_t>(job.output.size()), static_cast<std::uint32_t>(job.data.size()),
                         checksum};
        };

        // Take up to single_shot_below bytes first: an input that ends there never starts a thread.
        std::vector<std::unique_ptr<detail::chunk_job>> head;
        std::size_t head_bytes = 0;
        bool ended = false;
        while (!ended && (head.empty() || head_bytes < options_.single_shot_below)) {
            auto job = jobs_.acquire();
            next(*job);
            ended = job->data.size() < options_.chunk_size;
            if (job->data.empty() && !head.empty()) {
                jobs_.release(std::move(job));
                break;
            }
            head_bytes += job->data.size();
            head.push_back(std::move(job));  // an empty input still gets one (empty) frame
        }
        if (ended) {
            result.single_shot = true;
            // One chunk of work on the executor (the codec contexts are per worker slot): it runs on the
            // calling thread, in order, and wakes no worker.
            executor_.for_each(parex::chunks(1, parex::grain{1}), [&](parex::chunk) {
                for (auto& job : head) {
                    compress_one(*job);
                    emit(*job);
                    jobs_.release(std::move(job));
                }
            });
        } else {
            std::size_t next_head = 0;
            parex::run_pipeline(
                executor_,
                [&]() -> std::optional<std::unique_ptr<detail::chunk_job>> {
                    if (next_head < head.size()) return std::move(head[next_head++]);
                    if (ended) return std::nullopt;
                    auto job = jobs_.acquire();
                    next(*job);
                    ended = job->data.size() < options_.chunk_size;
                    if (job->data.empty()) {
                        jobs_.release(std::move(job));
                        return std::nullopt;
                    }
                    return job;
                },
                [&](std::unique_ptr<detail::chunk_job> job) {
                    compress_one(*job);
                    return job;
                },
                [&](std::unique_ptr<detail::chunk_job> job) {
                    emit(*job);
                    jobs_.release(std::move(job));
                },
                {.max_in_flight = options_.max_in_flight}, options_.run);
        }
        return result;
    }

    options options_;
    parex::chunked_executor executor_;
    parex::worker_local<chunk_codec> codecs_;  // built once per worker, on first use
    detail::reuse_pool<detail::chunk_job> jobs_;
};

/// Decodes archives in parallel. Keeps its executor and per-worker codec contexts between calls.
/// Not for concurrent calls on one object.
class decompressor {
public:
    /// Throws std::invalid_argument when PAREX_NUM_THREADS is needed (threads == 0) and invalid.
    explicit decompressor(options o) : options_(std::move(o)), executor_({.max_concurrency = options_.threads}) {}

    /// Writes the decoded data of every frame, in order; returns its size. Memory: see
    /// options::max_frame_buffer. Throws format_error (chunk index and offset) for a damaged frame or a
    /// checksum that disagrees with the seek table.
    std::size_t decompress(const archive& file, const writer& write) {
        auto& codecs = codecs_for(file.kind());
        std::size_t next = 0, total = 0;
        struct decoded {
            std::size_t frame;
            std::unique_ptr<byte_buffer> bytes;  // null: too large to decode whole, streamed in order
        };
        parex::run_pipeline(
            executor_,
            [&]() -> std::optional<std::size_t> {
                if (next == file.frames().size()) return std::nullopt;
                return next++;
            },
            [&](std::size_t i) {
                if (!decoded_whole(file, i)) return decoded{i, nullptr};
                auto out = buffers_.acquire();
                decode(codecs.get(), file, i, *out);
                return decoded{i, std::move(out)};
            },
            [&](decoded d) {
                if (!d.bytes) {
                    total += stream(codecs.get(), file, d.frame, write);
                    return;
                }
                write(d.bytes->view());
                total += d.bytes->size();
                buffers_.release(std::move(d.bytes));
            },
            {.max_in_flight = options_.max_in_flight}, options_.run);
        return total;
    }

    /// Decodes every frame straight into its place in `out`, in parallel (no intermediate buffer).
    /// Needs every frame's decoded size; `out` must be exactly decompressed_size() bytes.
    /// Throws std::invalid_argument otherwise, format_error for damaged data.
    void decompress_into(const archive& file, std::span<char> out) {
        const auto begins = file.decoded_offsets();
        if (!begins || begins->back() != out.size())
            throw std::invalid_argument("decompress_into needs known frame sizes and a buffer of exactly their sum");
        auto& codecs = codecs_for(file.kind());
        executor_.for_each(
            parex::chunks(file.frames().size(), parex::grain{1}),
            [&](parex::chunk c) {
                const auto& f = file.frames()[c.begin];
                const auto dst = out.subspan((*begins)[c.begin], *f.decompressed);
                codecs.get().decompress_into(file.frame_bytes(c.begin), dst.data(), dst.size(), c.begin, f.offset);
                check_seek_checksum(file, c.begin, [&] { return seek_checksum({dst.data(), dst.size()}); });
            },
            options_.run);
    }

    /// In-memory convenience: the whole decoded data (which must fit in memory: at most
    /// max_decoded_size of the input).
    std::string decompress(const archive& file) {
        std::string out;
        if (auto size = file.decompressed_size()) {
            out.resize(*size);
            decompress_into(file, out);
            return out;
        }
        decompress(file, [&](std::string_view piece) { out.append(piece); });
        return out;
    }

    /// Bytes [start, start + length) of the decoded data, decoding only the frames that hold them, in
    /// parallel. Needs every frame's decoded size (a seek table, or sizes in the frame headers).
    /// Throws std::out_of_range past the end, std::invalid_argument when sizes are unknown.
    std::string read_range(const archive& file, std::size_t start, std::size_t length) {
        const auto offsets = file.decoded_offsets();
        if (!offsets) throw std::invalid_argument("range reads need the decoded size of every frame");
        const auto& begins = *offsets;
        if (start > begins.back() || length > begins.back() - start)
            throw std::out_of_range("range " + std::to_string(start) + "+" + std::to_string(length) +
                                    " is past the end (" + std::to_string(begins.back()) + " bytes)");
        if (length == 0) return {};
        const auto first =
            static_cast<std::size_t>(std::upper_bound(begins.begin(), begins.end(), start) - begins.begin()) - 1;
        const auto last = static_cast<std::size_t>(std::upper_bound(begins.begin(), begins.end(), start + length - 1) -
                                                   begins.begin()) -
                          1;
        auto& codecs = codecs_for(file.kind());
        const auto pieces = executor_.map(parex::chunks(last - first + 1, parex::grain{1}), [&](parex::chunk c) {
            const auto i = first + c.begin;
            const auto from = std::max(start, begins[i]) - begins[i];
            const auto to = std::min(start + length, begins[i + 1]) - begins[i];
            if (!decoded_whole(file, i)) {  // keep only [from, to) of the stream
                std::string part;
                std::size_t at = 0;
                stream(codecs.get(), file, i, [&](std::string_view piece) {
                    const auto a = std::clamp(from, at, at + piece.size()), b = std::clamp(to, at, at + piece.size());
                    part.append(piece.substr(a - at, b - a));
                    at += piece.size();
                });
                return part;
            }
            byte_buffer out;
            decode(codecs.get(), file, i, out);
            return std::string(out.view().substr(from, to - from));
        });
        std::string range;
        range.reserve(length);
        for (const auto& p : pieces) range += p;
        return range;
    }

private:
    using codec_set = parex::worker_local<chunk_codec>;

    codec_set& codecs_for(codec kind) {
        auto& slot = kind == codec::zstd ? zstd_ : lz4_;
        if (!slot) slot = std::make_unique<codec_set>(executor_, [kind](std::size_t) { return chunk_codec(kind, 1); });
        return *slot;
    }

    /// Whether frame i is decoded into one buffer (its size known and at most max_frame_buffer).
    [[nodiscard]] bool decoded_whole(const archive& file, std::size_t i) const {
        const auto& size = file.frames()[i].decompressed;
        return size && *size <= options_.max_frame_buffer;
    }

    /// Frame i, whose size is known, decoded whole into `out`, checked against the seek table.
    void decode(chunk_codec& c, const archive& file, std::size_t i, byte_buffer& out) const {
        const auto& f = file.frames()[i];
        c.decompress(file.frame_bytes(i), *f.decompressed, out, i, f.offset);
        check_seek_checksum(file, i, [&] { return seek_checksum(out.view()); });
    }

    /// Frame i decoded as a stream into `sink`, in pieces of stream_piece_size, checked against its
    /// declared size and the seek table's checksum. Returns the decoded size.
    template <class Sink>
    std::size_t stream(chunk_codec& c, const archive& file, std::size_t i, Sink&& sink) const {
        const auto& f = file.frames()[i];
        byte_buffer piece;
        piece.resize(stream_piece_size);
        XXH64_state_t* hash = XXH64_createState();
        if (hash == nullptr) throw std::bad_alloc();
        const std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)> owned(hash, &XXH64_freeState);
        XXH64_reset(hash, 0);
        const auto n = c.decompress_stream(
            file.frame_bytes(i), piece,
            [&](std::string_view bytes) {
                XXH64_update(hash, bytes.data(), bytes.size());
                sink(bytes);
            },
            i, f.offset);
        if (f.decompressed && n != *f.decompressed)
            throw format_error(
                "decoded " + std::to_string(n) + " bytes, the frame declares " + std::to_string(*f.decompressed), i,
                f.offset);
        check_seek_checksum(file, i, [&] { return static_cast<std::uint32_t>(XXH64_digest(hash)); });
        return n;
    }

    /// Compares frame i's decoded data with the seek table's checksum. A zstd frame with a content
    /// checksum stores the same value (the low 32 bits of XXH64 of its content, RFC 8878 section
    /// 3.1.1), already verified by libzstd, so comparing the two stored values suffices; lz4 frames
    /// (XXH32 content checksums) are hashed.
    /// `decoded_checksum()` gives seek_checksum of the decoded data; it is called only when needed.
    template <class Checksum>
    void check_seek_checksum(const archive& file, std::size_t i, Checksum&& decoded_checksum) const {
        const auto& f = file.frames()[i];
        if (!options_.verify_seek_checksums || !f.checksum) return;
        const auto frame = file.frame_bytes(i);
        const auto actual = has_zstd_checksum(file, i) ? detail::get32(frame, frame.size() - 4) : decoded_checksum();
        if (actual != *f.checksum)
            throw format_error("decoded data disagrees with the seek table's checksum", i, f.offset);
    }
    static bool has_zstd_checksum(const archive& file, std::size_t i) {
        const auto frame = file.frame_bytes(i);
        return file.kind() == codec::zstd && frame.size() >= 9 && (frame[4] & 0x04) != 0;
    }

    options options_;
    parex::chunked_executor executor_;
    std::unique_ptr<codec_set> zstd_, lz4_;  // after executor_: destroyed before it
    detail::reuse_pool<byte_buffer> buffers_;
};

}  // namespace compress
