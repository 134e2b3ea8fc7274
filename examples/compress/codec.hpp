#pragma once
// One worker's codec contexts: a zstd or lz4 compression and decompression context, built once and
// reused for every chunk that worker handles (a context per call would allocate its tables each time).
// Each chunk becomes one standard frame with its content size and content checksum set, so the
// standard `zstd` and `lz4` tools decode parex output.

#define LZ4F_STATIC_LINKING_ONLY  // LZ4F_getErrorCode
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getCParams: the window of a level (exported by the shared libzstd)
#include <compress/errors.hpp>

#include <lz4frame.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace compress {

enum class codec { zstd, lz4 };

inline const char* name_of(codec c) { return c == codec::zstd ? "zstd" : "lz4"; }

/// A growable byte buffer that keeps its capacity between uses and never zero-fills.
class byte_buffer {
public:
    void resize(std::size_t n) {
        if (n > capacity_) {
            bytes_ = std::make_unique_for_overwrite<char[]>(n);
            capacity_ = n;
        }
        size_ = n;
    }
    [[nodiscard]] char* data() noexcept { return bytes_.get(); }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::string_view view() const noexcept { return {bytes_.get(), size_}; }

private:
    std::unique_ptr<char[]> bytes_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

/// The seek table's checksum: the low 32 bits of XXH64 with seed 0 (seekable format 0.1.0).
inline std::uint32_t seek_checksum(std::string_view data) {
    return static_cast<std::uint32_t>(XXH64(data.data(), data.size(), 0));
}

class chunk_codec {
public:
    /// `level`: zstd 1..19 (ZSTD_maxCLevel), lz4 0..12 (0-2 fast, 3+ high compression).
    chunk_codec(codec kind, int level) : kind_(kind), level_(level) {
        if (kind == codec::zstd) {
            zc_ = ZSTD_createCCtx();
            zd_ = ZSTD_createDCtx();
            if (!zc_ || !zd_) throw std::bad_alloc();
            check_zstd(ZSTD_CCtx_setParameter(zc_, ZSTD_c_compressionLevel, level), "level");
            check_zstd(ZSTD_CCtx_setParameter(zc_, ZSTD_c_checksumFlag, 1), "checksum flag");
            check_zstd(ZSTD_CCtx_setParameter(zc_, ZSTD_c_contentSizeFlag, 1), "content size flag");
        } else {
            if (LZ4F_isError(LZ4F_createCompressionContext(&lc_, LZ4F_VERSION)) ||
                LZ4F_isError(LZ4F_createDecompressionContext(&ld_, LZ4F_VERSION)))
                throw std::bad_alloc();
        }
    }
    chunk_codec(const chunk_codec&) = delete;
    chunk_codec& operator=(const chunk_codec&) = delete;
    ~chunk_codec() {
        ZSTD_freeCCtx(zc_);
        ZSTD_freeDCtx(zd_);
        LZ4F_freeCompressionContext(lc_);
        LZ4F_freeDecompressionContext(ld_);
    }

    /// `in` as one frame, into `out` (its capacity reused).
    void compress(std::string_view in, byte_buffer& out) {
        if (kind_ == codec::zstd) {
            out.resize(ZSTD_compressBound(in.size()));
            const auto n = ZSTD_compress2(zc_, out.data(), out.size(), in.data(), in.size());
            check_zstd(n, "compression");
            out.resize(n);
            return;
        }
        LZ4F_preferences_t prefs{};
        prefs.frameInfo.contentSize = in.size();
        prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
        prefs.compressionLevel = level_;
        out.resize(LZ4F_compressFrameBound(in.size(), &prefs));
        std::size_t pos = check_lz4(LZ4F_compressBegin(lc_, out.data(), out.size(), &prefs), "frame header");
        pos += check_lz4(LZ4F_compressUpdate(lc_, out.data() + pos, out.size() - pos, in.data(), in.size(), nullptr),
                         "compression");
        pos += check_lz4(LZ4F_compressEnd(lc_, out.data() + pos, out.size() - pos, nullptr), "frame end");
        out.resize(pos);
    }

    /// Decodes the single frame `frame` (chunk `chunk`, at `offset` in the file), whose decoded size is
    /// known to be `size` (seek table or frame header), into `out`. The frame's own checksum is verified
    /// by the library. Throws format_error naming the chunk and offset.
    void decompress(std::string_view frame, std::size_t size, byte_buffer& out, std::size_t chunk, std::size_t offset) {
        out.resize(size);
        decompress_into(frame, out.data(), size, chunk, offset);
    }

    /// Decodes the single frame `frame` without knowing its decoded size, handing the decoded bytes to
    /// `sink` in order, in pieces of at most `piece.size()` bytes decoded into `piece`: memory stays at
    /// that one buffer whatever the frame holds. Returns the decoded size. Throws format_error naming
    /// the chunk and offset for damaged or truncated data or trailing bytes.
    template <class Sink>
    std::size_t decompress_stream(std::string_view frame, byte_buffer& piece, Sink&& sink, std::size_t chunk,
                                  std::size_t offset) {
        const auto fail = [&](const std::string& why) {
            throw format_error(std::string(name_of(kind_)) + " frame: " + why, chunk, offset);
        };
        std::size_t total = 0, consumed = 0;
        if (kind_ == codec::zstd) {
            check_zstd(ZSTD_DCtx_reset(zd_, ZSTD_reset_session_only), "reset");
            ZSTD_inBuffer in{frame.data(), frame.size(), 0};
            for (;;) {
                ZSTD_outBuffer o{piece.data(), piece.size(), 0};
                const auto r = ZSTD_decompressStream(zd_, &o, &in);
                if (ZSTD_isError(r)) fail(ZSTD_getErrorName(r));
                if (o.pos > 0) sink(std::string_view(piece.data(), o.pos));
                total += o.pos;
                if (r == 0) break;  // frame complete, checksum verified
                if (in.pos == in.size && o.pos < o.size) fail("truncated");
            }
            consumed = in.pos;
        } else {
            lz4_frame_in_progress guard(*this);
            for (;;) {
                std::size_t dst = piece.size(), src = frame.size() - consumed;
                const auto hint = LZ4F_decompress(ld_, piece.data(), &dst, frame.data() + consumed, &src, nullptr);
                if (LZ4F_isError(hint)) fail(LZ4F_getErrorName(hint));
                if (dst > 0) sink(std::string_view(piece.data(), dst));
                total += dst;
                consumed += src;
                if (hint == 0) break;  // frame complete, content checksum verified
                if (dst == 0 && src == 0) fail("truncated");
            }
            guard.complete();
        }
        if (consumed != frame.size()) fail("trailing bytes after the frame");
        return total;
    }

    /// Decodes the single frame `frame`, whose decoded size is known to be `size`, straight into
    /// dst[0, size). Throws format_error when it decodes to anything else.
    void decompress_into(std::string_view frame, char* dst, std::size_t size, std::size_t chunk, std::size_t offset) {
        std::size_t produced = 0;
        if (kind_ == codec::zstd) {
            produced = ZSTD_decompressDCtx(zd_, dst, size, frame.data(), frame.size());
            if (ZSTD_isError(produced))
                throw format_error(std::string("zstd frame: ") + ZSTD_getErrorName(produced), chunk, offset);
        } else {
            produced = lz4_decode(frame, dst, size, chunk, offset);
        }
        if (produced != size)
            throw format_error(std::string(name_of(kind_)) + " frame: decoded " + std::to_string(produced) +
                                   " bytes, expected " + std::to_string(size),
                               chunk, offset);
    }

    [[nodiscard]] codec kind() const noexcept { return kind_; }

private:
    /// Decodes an lz4 frame into dst[0, room); returns the decoded size.
    std::size_t lz4_decode(std::string_view frame, char* dst_begin, std::size_t room, std::size_t chunk,
                           std::size_t offset) {
        const auto fail = [&](const std::string& why) {
            throw format_error(std::string("lz4 frame: ") + why, chunk, offset);
        };
        lz4_frame_in_progress guard(*this);
        std::size_t produced = 0, consumed = 0;
        for (;;) {
            std::size_t dst = room - produced;
            std::size_t src = frame.size() - consumed;
            const auto hint = LZ4F_decompress(ld_, dst_begin + produced, &dst, frame.data() + consumed, &src, nullptr);
            if (LZ4F_isError(hint)) fail(LZ4F_getErrorName(hint));
            produced += dst;
            consumed += src;
            if (hint == 0) break;  // frame complete, content checksum verified
            if (dst == 0 && src == 0) fail(consumed == frame.size() ? "truncated" : "more data than expected");
        }
        guard.complete();
        if (consumed != frame.size()) fail("trailing bytes after the frame");
        return produced;
    }

    /// One lz4 frame's decoding on this codec's context: reset at the start, and replaced by a new context
    /// when the frame was not decoded to its end (an error, or a sink's exception). liblz4 1.9.4's
    /// LZ4F_resetDecompressionContext keeps the remaining content size of an interrupted frame, and the
    /// next frame without a content size then fails with ERROR_frameSize_wrong.
    class lz4_frame_in_progress {
    public:
        explicit lz4_frame_in_progress(chunk_codec& codec) : codec_(codec) {
            LZ4F_resetDecompressionContext(codec_.ld_);
        }
        lz4_frame_in_progress(const lz4_frame_in_progress&) = delete;
        lz4_frame_in_progress& operator=(const lz4_frame_in_progress&) = delete;
        ~lz4_frame_in_progress() {
            if (complete_) return;
            LZ4F_dctx* fresh = nullptr;
            if (LZ4F_isError(LZ4F_createDecompressionContext(&fresh, LZ4F_VERSION))) return;  // keep the old one
            LZ4F_freeDecompressionContext(codec_.ld_);
            codec_.ld_ = fresh;
        }
        void complete() noexcept { complete_ = true; }

    private:
        chunk_codec& codec_;
        bool complete_ = false;
    };

    static void check_zstd(std::size_t r, const char* what) {
        if (ZSTD_isError(r)) throw std::runtime_error(std::string("zstd ") + what + ": " + ZSTD_getErrorName(r));
    }
    static std::size_t check_lz4(std::size_t r, const char* what) {
        if (LZ4F_isError(r)) throw std::runtime_error(std::string("lz4 ") + what + ": " + LZ4F_getErrorName(r));
        return r;
    }

    codec kind_;
    int level_;
    ZSTD_CCtx* zc_ = nullptr;
    ZSTD_DCtx* zd_ = nullptr;
    LZ4F_cctx* lc_ = nullptr;
    LZ4F_dctx* ld_ = nullptr;
};

}  // namespace compress
