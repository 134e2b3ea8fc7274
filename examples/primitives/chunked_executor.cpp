// Counts the lines of a file in parallel: chunks end at line ends, so no line is cut.
#include <parex/chunked_executor.hpp>
#include <parex/records.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

int main(int argc, char** argv) {
    std::ifstream in(argc > 1 ? argv[1] : argv[0], std::ios::binary);  // default: this program
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};

    parex::chunked_executor ex({.sequential_below = 1 << 16});  // below 64 KiB: no threads
    const auto plan = parex::split_bytes(text, 1 << 16, parex::after_delimiter("\n"));
    const auto lines = ex.map_reduce(
        plan, [](const parex::byte_chunk& c) { return std::ranges::count(c.bytes, '\n'); }, std::plus<>{},
        std::ptrdiff_t{0});
    const auto sizes = ex.map(plan, [](const parex::byte_chunk& c) { return c.size(); });
    std::printf("%zu bytes, %td lines, %zu chunks, largest %zu bytes\n", text.size(), lines, plan.size(),
                std::ranges::max(sizes));
}
