// A checksum per 1 MiB block of a file: blocks hashed in parallel, printed in file order.
#include <parex/pipeline.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <utility>

int main(int argc, char** argv) {
    std::ifstream in(argc > 1 ? argv[1] : argv[0], std::ios::binary);  // default: this program
    std::size_t next = 0;
    const auto read_block = [&]() -> std::optional<std::pair<std::size_t, std::string>> {
        std::string data(1 << 20, '\0');
        in.read(data.data(), static_cast<std::streamsize>(data.size()));
        data.resize(static_cast<std::size_t>(in.gcount()));
        if (data.empty()) return std::nullopt;
        return std::pair{next++, std::move(data)};
    };
    const auto fnv1a = [](std::pair<std::size_t, std::string> block) {
        std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64-bit offset basis and prime
        for (const unsigned char c : block.second) h = (h ^ c) * 1099511628211ull;
        return std::pair{block.first, h};
    };
    const auto print = [](std::pair<std::size_t, std::uint64_t> r) {
        std::printf("block %zu: %016llx\n", r.first, static_cast<unsigned long long>(r.second));
    };
    parex::run_pipeline(read_block, fnv1a, print, {.max_in_flight = 8});  // <= 8 MiB in memory
}
