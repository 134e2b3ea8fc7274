#pragma once
// The frames of a compressed file: from its seek table when it has one (parex output, zstd's seekable
// format), otherwise found by walking the frame headers (any standard zstd or lz4 file, one frame or
// many). Skippable frames are not data and are left out.

#include <compress/codec.hpp>
#include <compress/errors.hpp>
#include <compress/seek_table.hpp>

#include <zstd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compress {

inline constexpr std::uint32_t zstd_magic = 0xFD2FB528;
inline constexpr std::uint32_t lz4_magic = 0x184D2204;
inline bool is_skippable(std::uint32_t magic) { return (magic & 0xFFFFFFF0u) == 0x184D2A50u; }

/// The most a frame of `compressed` bytes can decode to. zstd: a block is a 3-byte header and at least
/// one byte of content, and decodes to at most 128 KiB (RFC 8878 section 3.1.1.2, RLE_Block and
/// Block_Maximum_Size), so at most 32768 bytes per compressed byte. lz4: a sequence's match length grows
/// by at most 255 per byte (LZ4 Block Format, "Sequence" section), so at most 256 per byte, plus the
/// 64 KiB of one uncompressed block's margin. Saturates at SIZE_MAX.
inline std::size_t max_decoded_size(codec kind, std::size_t compressed) {
    const std::size_t ratio = kind == codec::zstd ? 32768 : 256;
    return compressed > (SIZE_MAX - 65536) / ratio ? SIZE_MAX : compressed * ratio + 65536;
}

/// One data frame: where it is, how big it is decoded (when known), its seek-table checksum (if any).
struct frame_info {
    std::size_t offset = 0;
    std::size_t compressed = 0;
    std::optional<std::size_t> decompressed;
    std::optional<std::uint32_t> checksum;
};

namespace detail {

/// The content size in the header of the lz4 frame `frame` (at `at` in the file), if it has one (LZ4
/// Frame Format 1.6.x, section "Frame Descriptor": FLG bit 3, then 8 bytes little-endian). Throws
/// format_error.
inline std::optional<std::size_t> lz4_content_size(std::string_view frame, std::size_t chunk, std::size_t at) {
    if (frame.size() < 7) throw format_error("lz4 frame: truncated", chunk, at);
    const auto flg = static_cast<unsigned char>(frame[4]);
    if ((flg >> 6) != 1) throw format_error("lz4 frame: unsupported version in FLG byte", chunk, at + 4);
    if (!(flg & 0x08)) return std::nullopt;
    if (frame.size() < 6 + 8) throw format_error("lz4 frame: truncated", chunk, at);
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(frame[6 + static_cast<std::size_t>(i)]);
    if (v > SIZE_MAX)
        throw format_error("lz4 frame: content size " + std::to_string(v) + " does not fit in memory", chunk, at + 6);
    return static_cast<std::size_t>(v);
}

/// The content size in the header of the zstd frame `frame`, if it has one (RFC 8878 section 3.1.1.1.4).
inline std::optional<std::size_t> zstd_content_size(std::string_view frame, std::size_t chunk, std::size_t at) {
    const auto c = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (c == ZSTD_CONTENTSIZE_ERROR) throw format_error("zstd frame: damaged frame header", chunk, at);
    if (c == ZSTD_CONTENTSIZE_UNKNOWN) return std::nullopt;
    if (c > SIZE_MAX)
        throw format_error("zstd frame: content size " + std::to_string(c) + " does not fit in memory", chunk, at);
    return static_cast<std::size_t>(c);
}

/// Size of the lz4 frame at `at` (LZ4 Frame Format 1.6.x: header, blocks up to the EndMark, optional
/// content checksum), walking the block headers without decoding. Throws format_error.
inline std::size_t lz4_frame_size(std::string_view file, std::size_t at, std::size_t chunk) {
    const auto need = [&](std::size_t pos, std::size_t n) {
        if (pos > file.size() || n > file.size() - pos) throw format_error("lz4 frame: truncated", chunk, at);
    };
    (void)lz4_content_size(file.substr(at), chunk, at);  // checks the version and the header's length
    const auto flg = static_cast<unsigned char>(file[at + 4]);
    const bool block_checksum = flg & 0x10, has_size = flg & 0x08, content_checksum = flg & 0x04, dict = flg & 0x01;
    std::size_t pos = at + 6 + (has_size ? 8 : 0) + (dict ? 4 : 0) + 1;  // descriptor, header checksum
    for (;;) {
        need(pos, 4);
        const auto block = detail::get32(file, pos) & 0x7FFFFFFFu;
        pos += 4;
        if (block == 0) break;  // EndMark
        need(pos, block + (block_checksum ? 4 : 0));
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
    /// damaged frame header, a malformed seek table or one that disagrees with a frame header's content
    /// size, or a frame that declares more decoded bytes than its compressed size can hold
    /// (max_decoded_size), naming the chunk and byte offset. No declared size is allocated here.
    explicit archive(std::string_view bytes) : bytes_(bytes) {
        if (bytes.size() < 4)
            throw format_error("not a zstd or lz4 file: " + std::to_string(bytes.size()) + " bytes",
                               format_error::no_chunk, 0);
        if (auto table = read_seek_table(bytes)) {
            indexed_ = true;
            std::size_t offset = 0;
            for (const auto& e : table->entries) {
                if (e.compressed < 4)
                    throw format_error("seek table: frame of " + std::to_string(e.compressed) + " bytes",
                                       frames_.size(), offset);
                add_frame(offset, e.compressed, std::size_t{e.decompressed},
                          table->has_checksums ? std::optional<std::uint32_t>(e.checksum) : std::nullopt);
                offset += e.compressed;
            }
            if (frames_.empty())
                throw format_error("seek table lists no frame", format_error::no_chunk, table->table_offset);
            return;
        }
        for (std::size_t offset = 0; offset < bytes.size();) {
            if (bytes.size() - offset < 4) throw format_error("truncated frame header", frames_.size(), offset);
            const auto magic = detail::get32(bytes, offset);
            if (is_skippable(magic)) {
                if (bytes.size() - offset < 8) throw format_error("truncated skippable frame", frames_.size(), offset);
                const auto size = 8 + std::size_t{detail::get32(bytes, offset + 4)};
                if (size > bytes.size() - offset)
                    throw format_error("truncated skippable frame", frames_.size(), offset);
                offset += size;
                continue;
            }
            std::optional<std::size_t> content;
            std::size_t size = 0;
            if (magic == zstd_magic) {
                size = ZSTD_findFrameCompressedSize(bytes.data() + offset, bytes.size() - offset);
                if (ZSTD_isError(size))
                    throw format_error(std::string("zstd frame: ") + ZSTD_getErrorName(size), frames_.size(), offset);
            } else if (magic == lz4_magic) {
                size = detail::lz4_frame_size(bytes, offset, frames_.size());
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

    /// Appends a zstd or lz4 frame, checking its magic number, that the file keeps to one codec, that
    /// the header's content size agrees with `content` (the seek table's), and that the decoded size
    /// fits the frame (max_decoded_size).
    void add_frame(std::size_t offset, std::size_t size, std::optional<std::size_t> content,
                   std::optional<std::uint32_t> checksum) {
        const auto chunk = frames_.size();
        const auto magic = detail::get32(bytes_, offset);
        const codec detected = magic == zstd_magic ? codec::zstd
                               : magic == lz4_magic
                                   ? codec::lz4
                                   : throw format_error("not a zstd or lz4 frame (magic number " + hex(magic) + ")",
                                                        frames_.size(), offset);
        if (!frames_.empty() && detected != kind_)
            throw format_error("zstd and lz4 frames mixed in one file", frames_.size(), offset);
        kind_ = detected;
        const auto frame = bytes_.substr(offset, size);
        const auto header = detected == codec::zstd ? detail::zstd_content_size(frame, chunk, offset)
                                                    : detail::lz4_content_size(frame, chunk, offset);
        if (content && header && *content != *header)
            throw format_error("seek table says " + std::to_string(*content) + " decoded bytes, the frame header " +
                                   std::to_string(*header),
                               chunk, offset);
        if (!content) content = header;
        if (content && *content > max_decoded_size(detected, size))
            throw format_error(std::string(name_of(detected)) + " frame declares " + std::to_string(*content) +
                                   " decoded bytes, more than its " + std::to_string(size) + " bytes can hold",
                               chunk, offset);
        frames_.push_back({offset, size, content, checksum});
    }

    std::string_view bytes_;
    codec kind_ = codec::zstd;
    bool indexed_ = false;
    std::vector<frame_info> frames_;
};

}  // namespace compress
