#pragma once
// The compression module's one error type: what went wrong, in which chunk (frame), at which byte offset
// of the compressed data.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace compress {

class format_error : public std::runtime_error {
public:
    static constexpr std::size_t no_chunk = static_cast<std::size_t>(-1);
    format_error(const std::string& what, std::size_t chunk, std::size_t offset)
        : std::runtime_error(what + (chunk == no_chunk ? std::string() : " (chunk " + std::to_string(chunk) + ")") +
                             " at byte offset " + std::to_string(offset)),
          chunk_(chunk),
          offset_(offset) {}
    /// Index of the chunk (frame) concerned, or no_chunk for the file as a whole.
    [[nodiscard]] std::size_t chunk() const noexcept { return chunk_; }
    /// Offset in the compressed data where the problem was found.
    [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

private:
    std::size_t chunk_;
    std::size_t offset_;
};

}  // namespace compress
