// A checksum per 1 MiB block of a file: blocks hashed in parallel, printed in file order.
#include <parex/pipeline.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

int main(int argc, char** argv) {
    std::ifstream in(argc > 1 ? argv[1] : argv[0], std::ios::binary);  // default: this program
    const auto read_block = [&]() -> std::optional<std::string> {      // serial, in file order
        std::string block(1 << 20, '\0');
        block.resize(static_cast<std::size_t>(in.read(block.data(), 1 << 20).gcount()));
        return block.empty() ? std::nullopt : std::optional(std::move(block));
    };
    const auto fnv1a = [](const std::string& block) {  // parallel: FNV-1a 64, offset basis and prime
        std::uint64_t h = 14695981039346656037ull;
        for (const unsigned char c : block) h = (h ^ c) * 1099511628211ull;
        return h;
    };
    std::size_t index = 0;
    const auto print = [&](std::uint64_t h) {  // serial, in file order: it can count
        std::printf("block %zu: %016llx\n", index++, static_cast<unsigned long long>(h));
    };
    parex::run_pipeline(read_block, fnv1a, print, {.max_in_flight = 8});  // <= 8 MiB in memory
}
