#pragma once
// The seek table of zstd's seekable format (facebook/zstd, contrib/seekable_format/
// zstd_seekable_compression_format.md, version 0.1.0): a skippable frame at the end of the file,
//   Skippable_Magic_Number 0x184D2A5E (4) | Frame_Size (4) | entries | footer (9),
//   entry  = Compressed_Size (4) | Decompressed_Size (4) | [Checksum (4): low 32 bits of XXH64],
//   footer = Number_Of_Frames (4) | Seek_Table_Descriptor (1, bit 7 = Checksum_Flag) |
//            Seekable_Magic_Number 0x8F92EAB1 (4),
// all little-endian. lz4 skips frames with magic 0x184D2A50..5F too, so parex writes the same table
// after lz4 frames.

#include <compress/errors.hpp>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compress {

inline constexpr std::uint32_t skippable_magic = 0x184D2A5E;
inline constexpr std::uint32_t seekable_magic = 0x8F92EAB1;
inline constexpr std::size_t seek_footer_bytes = 9;

/// One frame of the file, as the seek table describes it.
struct seek_entry {
    std::uint32_t compressed = 0;
    std::uint32_t decompressed = 0;
    std::uint32_t checksum = 0;  ///< low 32 bits of XXH64(decompressed data, seed 0)
};

namespace detail {
inline void put32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline std::uint32_t get32(std::string_view in, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
    return v;
}
}  // namespace detail

/// Appends the seek table frame (with checksums) for `entries` to `out`.
inline void append_seek_table(std::string& out, const std::vector<seek_entry>& entries) {
    const auto frame_size = static_cast<std::uint32_t>(entries.size() * 12 + seek_footer_bytes);
    detail::put32(out, skippable_magic);
    detail::put32(out, frame_size);
    for (const auto& e : entries) {
        detail::put32(out, e.compressed);
        detail::put32(out, e.decompressed);
        detail::put32(out, e.checksum);
    }
    detail::put32(out, static_cast<std::uint32_t>(entries.size()));
    out.push_back(static_cast<char>(0x80));  // Checksum_Flag
    detail::put32(out, seekable_magic);
}

/// A parsed seek table and where the frames it indexes end (the table's own start).
struct seek_table {
    std::vector<seek_entry> entries;
    bool has_checksums = false;
    std::size_t table_offset = 0;
};

/// The seek table at the end of `file`, or std::nullopt when the file does not end with the seekable
/// magic number (a plain zstd or lz4 file). Throws format_error when a table is there but malformed,
/// or when its entries do not add up to the bytes before it.
inline std::optional<seek_table> read_seek_table(std::string_view file) {
    if (file.size() < 8 + seek_footer_bytes || detail::get32(file, file.size() - 4) != seekable_magic)
        return std::nullopt;
    const auto footer = file.size() - seek_footer_bytes;
    const auto frames = detail::get32(file, footer);
    const auto descriptor = static_cast<unsigned char>(file[footer + 4]);
    if ((descriptor & 0x7c) != 0)
        throw format_error("seek table: reserved descriptor bits set", format_error::no_chunk, footer + 4);
    seek_table table;
    table.has_checksums = (descriptor & 0x80) != 0;
    const std::size_t entry_bytes = table.has_checksums ? 12 : 8;
    const std::size_t table_bytes = 8 + std::size_t{frames} * entry_bytes + seek_footer_bytes;
    if (table_bytes > file.size())
        throw format_error("seek table: " + std::to_string(frames) + " entries do not fit in the file",
                           format_error::no_chunk, footer);
    table.table_offset = file.size() - table_bytes;
    if (detail::get32(file, table.table_offset) != skippable_magic ||
        detail::get32(file, table.table_offset + 4) != table_bytes - 8)
        throw format_error("seek table: skippable frame header does not match its footer", format_error::no_chunk,
                           table.table_offset);
    std::size_t compressed_total = 0;
    for (std::uint32_t i = 0; i < frames; ++i) {
        const auto at = table.table_offset + 8 + i * entry_bytes;
        seek_entry e{detail::get32(file, at), detail::get32(file, at + 4),
                     table.has_checksums ? detail::get32(file, at + 8) : 0};
        compressed_total += e.compressed;
        table.entries.push_back(e);
    }
    if (compressed_total != table.table_offset)
        throw format_error("seek table: frames add up to " + std::to_string(compressed_total) +
                               " bytes, the file has " + std::to_string(table.table_offset) + " before the table",
                           format_error::no_chunk, table.table_offset);
    return table;
}

}  // namespace compress
