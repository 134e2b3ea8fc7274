// Parses CSV whose quoted fields may hold newlines, in parallel, with the sequential parse's result:
// a chunk cut at a newline inside quotes is detected and parsed again from the true record start.
#include <parex/records.hpp>

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

struct parsed {
    std::size_t begin = 0, end = 0;  // the records that start in [begin, end)
    std::vector<std::string> records;
};

int main() {
    std::string text;
    for (int i = 0; i < 100000; ++i) text += std::to_string(i) + ",\"a note\nover two lines\"\n";

    // The records that start at `begin` and after it, up to the first record start >= stop_after.
    const auto parse = [&](std::size_t begin, std::size_t stop_after) {
        parsed p{begin, begin, {}};
        while (p.end < stop_after && p.end < text.size()) {
            bool quoted = false;
            auto k = p.end;
            for (; k < text.size() && (quoted || text[k] != '\n'); ++k)
                if (text[k] == '"') quoted = !quoted;
            p.records.push_back(text.substr(p.end, k - p.end));
            p.end = k < text.size() ? k + 1 : k;
        }
        return p;
    };

    const auto plan = parex::split_bytes(text, 1 << 16, parex::after_delimiter("\n"));
    const auto parsed = parex::map_records(plan, parse);
    std::size_t records = 0;
    for (const auto& chunk : parsed.results) records += chunk.records.size();
    std::printf("%zu records in %zu chunks, %zu parsed again\n", records, plan.size(), parsed.repaired);
    return records == 100000 ? 0 : 1;
}
