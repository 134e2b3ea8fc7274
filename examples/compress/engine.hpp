#pragma once
// The compression engine on parex: chunks stream through parex::run_pipeline (read serially, compress
// in parallel, write in order), at most `max_in_flight` chunks in memory, each chunk's buffers reused
// from a small pool, each thread's codec contexts built once (tbb::enumerable_thread_specific).
// Decompression runs the same pipeline over the frames; a byte range decodes only the frames it
// touches, in parallel on parex's chunked executor.

#include "archive.hpp"
#include "codec.hpp"
#include "errors.hpp"
#include "seek_table.hpp"

#include <parex/chunked_executor.hpp>
#include <parex/pipeline.hpp>

#include <oneapi/tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parex::compress {

/// Inputs smaller than this are compressed on the calling thread, with no pipeline and no worker
/// threads (the seed engine's single-shot route for small inputs). Chosen by measurement: see
/// docs/compress.md and benchmarks/compress.cpp (threshold rows).
inline constexpr std::size_t default_single_shot_below = std::size_t{1} << 20;

struct options {
    codec kind = codec::zstd;
    int level = 3;
    /// Bytes of input per frame. Each frame's decompressed size must fit the seek table's 32 bits.
    std::size_t chunk_size = std::size_t{1} << 20;
    /// Worker threads, the caller's included; 0 = parex::workers_for(cpu_bound).
    std::size_t threads = 0;
    /// Chunks in memory at once; 0 = 2 x threads.
    std::size_t max_in_flight = 0;
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
    byte_buffer input;
    byte_buffer output;
    seek_entry entry;
};

inline std::size_t read_chunk(const reader& read, byte_buffer& into, std::size_t chunk_size) {
    into.resize(chunk_size);
    const auto n = read(into.data(), chunk_size);
    into.resize(n);
    return n;
}

}  // namespace detail

/// Compresses streams into parex's format: one standard frame per chunk, then a seek table.
/// Keeps its per-thread codec contexts between calls. Not for concurrent calls on one object.
class compressor {
public:
    /// Throws std::invalid_argument for a chunk size of 0 or above 4 GiB - 1 (the seek table's limit).
    explicit compressor(options o) : options_(std::move(o)), codecs_(options_.kind, options_.level) {
        if (options_.chunk_size == 0 || options_.chunk_size > 0xFFFFFFFFu)
            throw std::invalid_argument("chunk size must be between 1 byte and 4 GiB - 1");
    }

    compress_result compress(const reader& read, const writer& write) {
        compress_result result;
        std::vector<seek_entry> entries;
        const auto emit = [&](detail::chunk_job& job) {
            write(job.output.view());
            entries.push_back(job.entry);
            result.output_bytes += job.output.size();
            result.input_bytes += job.input.size();
            ++result.chunks;
        };
        const auto compress_one = [&](detail::chunk_job& job) {
            codecs_.local().compress(job.input.view(), job.output);
            job.entry = {static_cast<std::uint32_t>(job.output.size()), static_cast<std::uint32_t>(job.input.size()),
                         seek_checksum(job.input.view())};
        };

        // Read up to single_shot_below bytes first: an input that ends there never starts a thread.
        std::vector<std::unique_ptr<detail::chunk_job>> head;
        std::size_t head_bytes = 0;
        bool ended = false;
        while (!ended && (head.empty() || head_bytes < options_.single_shot_below)) {
            auto job = jobs_.acquire();
            const auto n = detail::read_chunk(read, job->input, options_.chunk_size);
            ended = n < options_.chunk_size;
            if (n == 0 && !head.empty()) {
                jobs_.release(std::move(job));
                break;
            }
            head_bytes += n;
            head.push_back(std::move(job));  // an empty input still gets one (empty) frame
        }
        if (ended) {
            result.single_shot = true;
            for (auto& job : head) {
                compress_one(*job);
                emit(*job);
                jobs_.release(std::move(job));
            }
        } else {
            std::size_t next_head = 0;
            const auto threads = parex::workers_for(parex::workload::cpu_bound, options_.threads);
            parex::run_pipeline(
                [&]() -> std::optional<std::unique_ptr<detail::chunk_job>> {
                    if (next_head < head.size()) return std::move(head[next_head++]);
                    if (ended) return std::nullopt;
                    auto job = jobs_.acquire();
                    const auto n = detail::read_chunk(read, job->input, options_.chunk_size);
                    ended = n < options_.chunk_size;
                    if (n == 0) {
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
                {.max_concurrency = threads, .max_in_flight = options_.max_in_flight}, options_.run);
        }
        std::string table;
        append_seek_table(table, entries);
        write(table);
        result.output_bytes += table.size();
        return result;
    }

    /// In-memory convenience: the whole compressed file.
    std::string compress(std::string_view input) {
        std::string out;
        out.reserve(input.size() / 2 + 64);
        std::size_t at = 0;
        compress(
            [&](char* to, std::size_t n) {
                const auto k = std::min(n, input.size() - at);
                std::copy_n(input.data() + at, k, to);
                at += k;
                return k;
            },
            [&](std::string_view piece) { out.append(piece); });
        return out;
    }

private:
    options options_;
    tbb::enumerable_thread_specific<chunk_codec> codecs_;  // built once per thread, on first use
    detail::reuse_pool<detail::chunk_job> jobs_;
};

/// Decodes archives in parallel. Keeps its per-thread codec contexts between calls.
class decompressor {
public:
    explicit decompressor(options o) : options_(std::move(o)) {}

    /// Writes the decoded data of every frame, in order; returns its size. Throws format_error (chunk
    /// index and offset) for a damaged frame or a checksum that disagrees with the seek table.
    std::size_t decompress(const archive& file, const writer& write) {
        auto& codecs = codecs_for(file.kind());
        std::size_t next = 0, total = 0;
        struct decoded {
            std::size_t frame;
            std::unique_ptr<byte_buffer> bytes;
        };
        parex::run_pipeline(
            [&]() -> std::optional<std::size_t> {
                if (next == file.frames().size()) return std::nullopt;
                return next++;
            },
            [&](std::size_t i) {
                auto out = buffers_.acquire();
                decode(codecs.local(), file, i, *out);
                return decoded{i, std::move(out)};
            },
            [&](decoded d) {
                write(d.bytes->view());
                total += d.bytes->size();
                buffers_.release(std::move(d.bytes));
            },
            {.max_concurrency = parex::workers_for(parex::workload::cpu_bound, options_.threads),
             .max_in_flight = options_.max_in_flight},
            options_.run);
        return total;
    }

    std::string decompress(const archive& file) {
        std::string out;
        if (auto size = file.decompressed_size()) out.reserve(*size);
        decompress(file, [&](std::string_view piece) { out.append(piece); });
        return out;
    }

    /// Bytes [start, start + length) of the decoded data, decoding only the frames that hold them, in
    /// parallel. Needs every frame's decoded size (a seek table, or sizes in the frame headers).
    /// Throws std::out_of_range past the end, std::invalid_argument when sizes are unknown.
    std::string read_range(const archive& file, std::size_t start, std::size_t length) {
        std::vector<std::size_t> begins{0};  // decoded offset of each frame
        for (const auto& f : file.frames()) {
            if (!f.decompressed) throw std::invalid_argument("range reads need the decoded size of every frame");
            begins.push_back(begins.back() + *f.decompressed);
        }
        if (start > begins.back() || length > begins.back() - start)
            throw std::out_of_range("range " + std::to_string(start) + "+" + std::to_string(length) +
                                    " is past the end (" + std::to_string(begins.back()) + " bytes)");
        if (length == 0) return {};
        const auto first = static_cast<std::size_t>(std::upper_bound(begins.begin(), begins.end(), start) - begins.begin()) - 1;
        const auto last = static_cast<std::size_t>(std::upper_bound(begins.begin(), begins.end(), start + length - 1) - begins.begin()) - 1;
        auto& codecs = codecs_for(file.kind());
        parex::chunked_executor ex({.max_concurrency = parex::workers_for(parex::workload::cpu_bound, options_.threads)});
        const auto pieces = ex.map(parex::chunks(last - first + 1, parex::grain{1}), [&](parex::chunk c) {
            const auto i = first + c.begin;
            byte_buffer out;
            decode(codecs.local(), file, i, out);
            const auto from = std::max(start, begins[i]) - begins[i];
            const auto to = std::min(start + length, begins[i + 1]) - begins[i];
            return std::string(out.view().substr(from, to - from));
        });
        std::string range;
        range.reserve(length);
        for (const auto& p : pieces) range += p;
        return range;
    }

private:
    using codec_set = tbb::enumerable_thread_specific<chunk_codec>;

    codec_set& codecs_for(codec kind) {
        auto& slot = kind == codec::zstd ? zstd_ : lz4_;
        if (!slot) slot = std::make_unique<codec_set>(kind, 1);
        return *slot;
    }

    void decode(chunk_codec& c, const archive& file, std::size_t i, byte_buffer& out) const {
        const auto& f = file.frames()[i];
        c.decompress(file.frame_bytes(i), f.decompressed, out, i, f.offset);
        if (options_.verify_seek_checksums && f.checksum && seek_checksum(out.view()) != *f.checksum)
            throw format_error("decoded data disagrees with the seek table's checksum", i, f.offset);
    }

    options options_;
    std::unique_ptr<codec_set> zstd_, lz4_;
    detail::reuse_pool<byte_buffer> buffers_;
};

}  // namespace parex::compress
