// Gives each worker its own codec: a run-length encoder whose output buffer is built once per worker
// and reused for every block that worker encodes. The blocks come back in order.
#include <parex/worker_local.hpp>

#include <cstdio>
#include <string>
#include <vector>

/// A codec with state worth keeping: the buffer it encodes into (a real codec also keeps its tables).
struct run_length_codec {
    std::string buffer;
    std::size_t blocks = 0;
    const std::string& encode(const std::string& block) {  // "aaab" -> "3a1b"
        buffer.clear();
        for (std::size_t i = 0; i < block.size();) {
            std::size_t run = 1;
            while (i + run < block.size() && block[i + run] == block[i] && run < 9) ++run;
            buffer += static_cast<char>('0' + run);
            buffer += block[i];
            i += run;
        }
        ++blocks;
        return buffer;
    }
};

int main() {
    std::vector<std::string> blocks(1000);
    for (std::size_t b = 0; b < blocks.size(); ++b) blocks[b] = std::string(b % 50 + 1, 'a') + "bbbbcd";

    parex::chunked_executor ex({.max_concurrency = 2});
    parex::worker_local<run_length_codec> codec(ex, [](std::size_t /*slot*/) { return run_length_codec{}; });
    const auto encoded = ex.map(parex::chunks(blocks.size(), parex::grain{16}), [&](parex::chunk c) {
        std::vector<std::string> out;
        for (auto b = c.begin; b < c.end; ++b) out.push_back(codec.get().encode(blocks[b]));
        return out;  // results in chunk order, whichever worker encoded them
    });

    std::size_t encoders = 0, total = 0;
    codec.for_each_built([&](run_length_codec& c) { ++encoders, total += c.blocks; });
    std::printf("%zu codecs built for %zu blocks; block 0 -> %s\n", encoders, total, encoded[0][0].c_str());
    return total == blocks.size() && encoded[0][0] == "1a4b1c1d" ? 0 : 1;
}
