// libFuzzer target: the compressed-archive reader (examples/compress). For any bytes: opening either
// succeeds or throws format_error; listing the frames never reads outside the input; decoding each
// frame whole and decoding it as a stream give the same bytes or both throw format_error; range reads
// equal the same slice of the whole decode. No declared size is allocated unchecked.
#include <compress/engine.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace pc = compress;

namespace {

struct too_large {};  // decoded output past the budget of one input: not compared
constexpr std::size_t budget = std::size_t{16} << 20;

/// The decoded bytes, or nullopt for a format_error.
std::optional<std::string> decode(pc::decompressor& d, const pc::archive& file) {
    std::string out;
    try {
        d.decompress(file, [&](std::string_view piece) {
            if (out.size() + piece.size() > budget) throw too_large{};
            out.append(piece);
        });
    } catch (const pc::format_error&) {
        return std::nullopt;
    }
    return out;
}

pc::options with_frame_buffer(std::size_t bytes) {
    pc::options o;
    o.threads = 2;
    o.max_frame_buffer = bytes;
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    std::optional<pc::archive> file;
    try {
        file.emplace(bytes);
    } catch (const pc::format_error&) {
        return 0;
    }
    for (const auto& f : file->frames())
        if (f.offset > size || f.compressed > size - f.offset) std::abort();
    static pc::decompressor whole(with_frame_buffer(budget)), streamed(with_frame_buffer(64));
    try {
        const auto a = decode(whole, *file), b = decode(streamed, *file);
        if (a != b) std::abort();
        if (!a || !file->decompressed_size()) return 0;
        if (*file->decompressed_size() != a->size()) std::abort();
        const auto n = a->size();
        for (const auto& [start, length] :
             {std::pair{std::size_t{0}, n}, std::pair{n / 3, n / 2}, std::pair{n, std::size_t{0}}})
            if (whole.read_range(*file, start, length) != a->substr(start, length)) std::abort();
    } catch (const too_large&) {}
    return 0;
}
