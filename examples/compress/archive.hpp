#pragma once
// The frames of a compressed file: from its seek table when it has one (parex output, zstd's seekable
// format), otherwise found by walking the frame headers (any standard zstd or lz4 file, one frame or
// many). Skippable frames are not data and are left out.

#include "codec.hpp"
#include "errors.hpp"
#include "seek_table.hpp"

#include <zstd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parex::compress {

inline constexpr std::uint32_t zstd_magic = 0xFD2FB528;
inline constexpr std::uint32_t lz4_magic = 0x184D2204;
inline bool is_skippable(std::uint32_t magic) { return (magic & 0xFFFFFFF0u) == 0x184D2A50u; }

/// One data frame: where it is, how big it is decoded (when known), its seek-table checksum (if any).
struct frame_info {
    std::size_t offset = 0;
    std::size_t compressed = 0;
    std::optional<std::size_t> decompressed;
    std::optional<std::uint32_t> checksum;
};

namespace detail {

/// Size of the lz4 frame at `at` (LZ4 Frame Format 1.6.x: header, blocks up to the EndMark, optional
/// content checksum), walking the block headers without decoding. Throws format_error.
inline std::size_t lz4_frame_size(std::string_view file, std::size_t at, std::size_t chunk,
                                  std::optional<std::size_t>& content_size) {
    const auto need = [&](std::size_t pos, std::size_t n) {
        if (pos + n > file.size()) throw format_error("lz4 frame: truncated", chunk, at);
    };
    need(at, 7);
    const auto flg = static_cast<unsigned char>(file[at + 4]);
    if ((flg >> 6) != 1) throw format_error("lz4 frame: unsupported version in FLG byte", chunk, at + 4);
    const bool block_checksum = flg & 0x10, has_size = flg & 0x08, content_checksum = flg & 0x04, dict = flg & 0x01;
    std::size_t pos = at + 6;
    if (has_size) {
        need(pos, 8);
        std::uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(file[pos + static_cast<std::size_t>(i)]);
        content_size = v;
        pos += 8;
    }
    if (dict) pos += 4;
    pos += 1;  // header checksum
    for (;;) {
        need(pos, 4);
        const auto block = detail::get32(file, pos) & 0x7FFFFFFFu;
        pos += 4;
        if (block == 0) break;  // EndMark
        pos += block + (block_checksum ? 4 : 0);
    }
    if (content_checksum) pos += 4;
    need(pos, 0);
    return pos - at;
}

}  // namespace detail

/// A compressed file (or buffer) held in memory or mapped; `bytes` must outlive the archive.
class archive {
public:
    /// Finds the frames. Throws format_error for a file that is neither zstd nor lz4, a truncated or
    /// damaged frame header, or a malformed seek table, naming the chunk and byte offset.
    explicit archive(std::string_view bytes) : bytes_(bytes) {
        if (bytes.size() < 4) throw format_error("not a zstd or lz4 file: " + std::to_string(bytes.size()) + " bytes", format_error::no_chunk, 0);
        if (auto table = read_seek_table(bytes)) {
            indexed_ = true;
            std::size_t offset = 0;
            for (const auto& e : table->entries) {
                if (e.compressed < 4) throw format_error("seek table: frame of " + std::to_string(e.compressed) + " bytes", frames_.size(), offset);
                add_frame(offset, e.compressed, std::size_t{e.decompressed},
                          table->has_checksums ? std::optional<std::uint32_t>(e.checksum) : std::nullopt);
                offset += e.compressed;
            }
            if (frames_.empty()) throw format_error("seek table lists no frame", format_error::no_chunk, table->table_offset);
            return;
        }
        for (std::size_t offset = 0; offset < bytes.size();) {
            if (bytes.size() - offset < 4) throw format_error("truncated frame header", frames_.size(), offset);
            const auto magic = detail::get32(bytes, offset);
            if (is_skippable(magic)) {
                if (bytes.size() - offset < 8) throw format_error("truncated skippable frame", frames_.size(), offset);
                const auto size = 8 + std::size_t{detail::get32(bytes, offset + 4)};
                if (size > bytes.size() - offset) throw format_error("truncated skippable frame", frames_.size(), offset);
                offset += size;
                continue;
            }
            std::optional<std::size_t> content;
            std::size_t size = 0;
            if (magic == zstd_magic) {
                size = ZSTD_findFrameCompressedSize(bytes.data() + offset, bytes.size() - offset);
                if (ZSTD_isError(size))
                    throw format_error(std::string("zstd frame: ") + ZSTD_getErrorName(size), frames_.size(), offset);
                const auto c = ZSTD_getFrameContentSize(bytes.data() + offset, size);
                if (c != ZSTD_CONTENTSIZE_UNKNOWN && c != ZSTD_CONTENTSIZE_ERROR) content = c;
            } else if (magic == lz4_magic) {
                size = detail::lz4_frame_size(bytes, offset, frames_.size(), content);
            } else {
                throw format_error("not a zstd or lz4 frame (magic number " + hex(magic) + ")", frames_.size(), offset);
            }
            add_frame(offset, size, content, std::nullopt);
            offset += size;
        }
        if (frames_.empty()) throw format_error("no zstd or lz4 frame", format_error::no_chunk, 0);
    }

    [[nodiscard]] codec kind() const noexcept { return kind_; }
    [[nodiscard]] bool indexed() const noexcept { return indexed_; }
    [[nodiscard]] const std::vector<frame_info>& frames() const noexcept { return frames_; }
    [[nodiscard]] std::string_view frame_bytes(std::size_t i) const {
        return bytes_.substr(frames_[i].offset, frames_[i].compressed);
    }
    /// Where each frame's data starts in the decoded stream, then the total (frames().size() + 1
    /// values), when every frame's decoded size is known.
    [[nodiscard]] std::optional<std::vector<std::size_t>> decoded_offsets() const {
        std::vector<std::size_t> offsets{0};
        for (const auto& f : frames_) {
            if (!f.decompressed) return std::nullopt;
            offsets.push_back(offsets.back() + *f.decompressed);
        }
        return offsets;
    }
    /// Total decoded size, when every frame's is known.
    [[nodiscard]] std::optional<std::size_t> decompressed_size() const {
        const auto offsets = decoded_offsets();
        return offsets ? std::optional(offsets->back()) : std::nullopt;
    }

private:
    static std::string hex(std::uint32_t v) {
        char text[11];
        std::snprintf(text, sizeof text, "0x%08X", v);
        return text;
    }

    /// Appends a zstd or lz4 frame, checking its magic number and that the file keeps to one codec.
    void add_frame(std::size_t offset, std::size_t size, std::optional<std::size_t> content,
                   std::optional<std::uint32_t> checksum) {
        const auto magic = detail::get32(bytes_, offset);
        const codec detected = magic == zstd_magic  ? codec::zstd
                               : magic == lz4_magic ? codec::lz4
                               : throw format_error("not a zstd or lz4 frame (magic number " + hex(magic) + ")",
                                                    frames_.size(), offset);
        if (!frames_.empty() && detected != kind_)
            throw format_error("zstd and lz4 frames mixed in one file", frames_.size(), offset);
        kind_ = detected;
        frames_.push_back({offset, size, content, checksum});
    }

    std::string_view bytes_;
    codec kind_ = codec::zstd;
    bool indexed_ = false;
    std::vector<frame_info> frames_;
};

}  // namespace parex::compress
