// Per-worker state on an executor: each arena slot gets its own scratch buffer and histogram, built
// the first time that slot needs it; the histograms are merged at the end.
#include <parex/worker_local.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

struct word_lengths {
    std::string scratch;                   // reused from chunk to chunk
    std::array<std::size_t, 16> counts{};  // words of length 1..15, then longer
};

int main() {
    std::vector<std::string> lines(20000, "the quick brown fox jumps over the lazy dog");
    parex::chunked_executor ex({.max_concurrency = 2});
    parex::worker_local<word_lengths> local(ex, [](std::size_t /*slot*/) { return word_lengths{}; });

    ex.for_each(parex::chunks(lines.size()), [&](parex::chunk c) {
        word_lengths& mine = local.get();  // this slot's state: no other thread uses it meanwhile
        for (auto i = c.begin; i < c.end; ++i) {
            mine.scratch = lines[i] + " ";
            std::size_t start = 0;
            for (std::size_t p = 0; p < mine.scratch.size(); ++p)
                if (mine.scratch[p] == ' ') {
                    if (p > start) ++mine.counts[std::min<std::size_t>(p - start, 16) - 1];
                    start = p + 1;
                }
        }
    });

    std::array<std::size_t, 16> total{};
    local.for_each_built([&](word_lengths& w) {
        for (std::size_t k = 0; k < total.size(); ++k) total[k] += w.counts[k];
    });
    std::printf("%zu states built; words of 3 letters: %zu, of 5: %zu\n", local.built(), total[2], total[4]);
}
