// Conformance: parex/chunking.hpp. Plans cover the input exactly once, in order, never with an empty
// chunk except for an empty input; record-aligned plans never cut a record.
#include <parex/chunking.hpp>
#include <parex/records.hpp>

#include "parex_catch.hpp"

#include <random>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

static_assert(std::ranges::random_access_range<parex::index_plan>);
static_assert(std::ranges::random_access_range<parex::byte_plan>);

namespace {

/// Checks exact, ordered, gap-free coverage of [0, n) and the "never empty" rule.
template <class Plan>
void check_covers(const Plan& plan, std::size_t n) {
    REQUIRE(plan.size() >= 1);
    CHECK(plan.input_size() == n);
    std::size_t expected_begin = 0;
    std::size_t i = 0;
    for (const auto c : plan) {
        CHECK(c.index == i);
        CHECK(c.begin == expected_begin);
        CHECK(c.end >= c.begin);
        if (n > 0) CHECK_FALSE(c.empty());
        expected_begin = c.end;
        ++i;
    }
    CHECK(i == plan.size());
    CHECK(expected_begin == n);
}

/// Records of `text` split after each `delimiter` (compared exactly), the sequential reference.
std::vector<std::string_view> records(std::string_view text, std::string_view delimiter, bool fold_case) {
    const auto same = [&](std::size_t at) {
        for (std::size_t k = 0; k < delimiter.size(); ++k) {
            const char a = text[at + k], b = delimiter[k];
            if (fold_case ? std::tolower(static_cast<unsigned char>(a)) != std::tolower(static_cast<unsigned char>(b))
                          : a != b)
                return false;
        }
        return true;
    };
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i + delimiter.size() <= text.size(); ++i)
        if (same(i)) {
            out.push_back(text.substr(start, i + delimiter.size() - start));
            start = i + delimiter.size();
            i = start - 1;
        }
    if (start < text.size()) out.push_back(text.substr(start));
    return out;
}

}  // namespace

TEST_CASE("index plans by grain cover the range exactly once and in order", "[chunking]") {
    for (std::size_t n : {0u, 1u, 2u, 7u, 64u, 65u, 1000u, 4096u})
        for (std::size_t g : {1u, 2u, 3u, 64u, 5000u}) {
            INFO("n=" << n << " grain=" << g);
            const auto plan = parex::chunks(n, parex::grain{g});
            check_covers(plan, n);
            CHECK(plan.size() == (n == 0 ? 1 : (n + g - 1) / g));
            for (std::size_t i = 0; i + 1 < plan.size(); ++i) CHECK(plan[i].size() == g);
        }
}

TEST_CASE("index plans by count are balanced: sizes differ by at most one", "[chunking]") {
    for (std::size_t n : {0u, 1u, 5u, 10u, 1001u})
        for (std::size_t c : {1u, 2u, 3u, 7u, 16u, 2000u}) {
            INFO("n=" << n << " count=" << c);
            const auto plan = parex::chunks(n, parex::chunk_count{c});
            check_covers(plan, n);
            CHECK(plan.size() == (n == 0 ? 1 : std::min(n, c)));
            std::size_t smallest = n, largest = 0;
            for (const auto ch : plan) {
                smallest = std::min(smallest, ch.size());
                largest = std::max(largest, ch.size());
            }
            CHECK(largest - smallest <= 1);
            CHECK(plan[0].size() == largest);  // the larger chunks come first
        }
}

TEST_CASE("an empty input has exactly one empty chunk", "[chunking]") {
    CHECK(parex::chunks(0, parex::grain{8}).size() == 1);
    CHECK(parex::chunks(0, parex::grain{8})[0] == parex::chunk{0, 0, 0});
    const auto bytes = parex::split_bytes("", 16, parex::after_delimiter("\n"));
    REQUIRE(bytes.size() == 1);
    CHECK(bytes[0].bytes.empty());
}

TEST_CASE("a zero grain or count or target size is a chunking_error", "[chunking]") {
    CHECK_THROWS_AS(parex::chunks(10, parex::grain{0}), parex::chunking_error);
    CHECK_THROWS_AS(parex::chunks(10, parex::chunk_count{0}), parex::chunking_error);
    CHECK_THROWS_AS(parex::split_bytes("abc", 0), parex::chunking_error);
    CHECK_THROWS_AS(parex::after_delimiter(""), std::invalid_argument);
}

TEST_CASE("fixed-size byte plans cut every target_bytes", "[chunking]") {
    const std::string data(1000, 'x');
    const auto plan = parex::split_bytes(data, 300);
    check_covers(plan, data.size());
    REQUIRE(plan.size() == 4);
    CHECK(plan[3].size() == 100);
    CHECK(plan[1].bytes.data() == data.data() + 300);
}

TEST_CASE("a delimiter straddling the target position ends that chunk", "[chunking]") {
    const std::string data = "aaaa<EOR>bbbb<EOR>cc";
    // target 6 lands inside the first "<EOR>" (bytes 4..8): the chunk ends right after it, at 9
    const auto plan = parex::split_bytes(data, 6, parex::after_delimiter("<EOR>"));
    REQUIRE(plan.size() == 3);
    CHECK(plan[0].bytes == "aaaa<EOR>");
    CHECK(plan[1].bytes == "bbbb<EOR>");
    CHECK(plan[2].bytes == "cc");
    // target 9 lands exactly on a boundary: the cut is there
    CHECK(parex::split_bytes(data, 9, parex::after_delimiter("<EOR>"))[0].bytes == "aaaa<EOR>");
}

TEST_CASE("record-aligned plans never cut a record on random inputs", "[chunking]") {
    std::mt19937_64 rng(20261121);
    const std::string alphabet = "ab<>EORreo \n";
    for (const auto& [delimiter, fold] : {std::pair{std::string("\n"), false}, std::pair{std::string("<EOR>"), true}}) {
        for (int trial = 0; trial < 200; ++trial) {
            std::string data;
            const auto length = std::uniform_int_distribution<std::size_t>(0, 600)(rng);
            while (data.size() < length) {
                if (rng() % 9 == 0)
                    data += (rng() % 2 ? "<eor>" : "<EOR>");
                else
                    data += alphabet[rng() % alphabet.size()];
            }
            const auto target = std::uniform_int_distribution<std::size_t>(1, 80)(rng);
            INFO("delimiter=" << delimiter << " trial=" << trial << " target=" << target);
            const auto plan = parex::split_bytes(
                data, target, parex::after_delimiter(delimiter, fold ? parex::ignore_case : parex::match_case::exact));
            check_covers(plan, data.size());
            std::vector<std::string_view> chunked;
            for (const auto c : plan)
                for (auto r : records(c.bytes, delimiter, fold)) chunked.push_back(r);
            CHECK(chunked == records(data, delimiter, fold));
            for (std::size_t i = 0; i + 1 < plan.size(); ++i) CHECK(plan[i].size() >= target);
        }
    }
}

TEST_CASE("a user boundary finder that breaks its contract is reported with chunk and offset", "[chunking]") {
    const std::string data(100, 'x');
    try {
        (void)parex::split_bytes(data, 30, [](std::string_view, std::size_t pos) { return pos >= 60 ? pos - 1 : pos; });
        FAIL("expected chunking_error");
    } catch (const parex::chunking_error& e) {
        CHECK(e.chunk_index() == 1);
        CHECK(e.offset() == 60);
    }
    // a user finder that cuts at a fixed record size
    const auto plan = parex::split_bytes(
        data, 25, [](std::string_view d, std::size_t pos) { return std::min(d.size(), (pos + 9) / 10 * 10); });
    check_covers(plan, data.size());
    CHECK(plan[0].size() == 30);
}

// --- speculative record parsing ------------------------------------------------------------------
