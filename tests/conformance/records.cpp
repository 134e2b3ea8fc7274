// Conformance of parex/records.hpp: the delimiter finder (any letter case or exact), speculative record
// parsing (repair_speculative) and map_records on an executor.
#include <parex/records.hpp>

#include "parex_catch.hpp"

#include <random>
#include <string>
#include <string_view>
#include <vector>

TEST_CASE("case-insensitive delimiters match any case and exact ones do not", "[records]") {
    const std::string data = "x<eor>y<EoR>z";
    const auto folded = parex::split_bytes(data, 1, parex::after_delimiter("<EOR>", parex::ignore_case));
    REQUIRE(folded.size() == 3);
    CHECK(folded[0].bytes == "x<eor>");
    CHECK(folded[1].bytes == "y<EoR>");
    CHECK(parex::split_bytes(data, 1, parex::after_delimiter("<EOR>")).size() == 1);
}

namespace {

/// A toy length-prefixed format whose delimiter also occurs in data: a record is "N:" + N bytes + ";".
struct toy_parse {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::vector<std::string_view> records;
    bool bad = false;  // a parse from a false boundary meets garbage: reported, not thrown
};

toy_parse parse_toy(std::string_view text, std::size_t begin, std::size_t stop_after) {
    toy_parse r{begin, begin, {}, false};
    auto pos = begin;
    while (pos < stop_after && pos < text.size() && !r.bad) {
        const auto colon = text.find(':', pos);
        std::size_t n = 0;
        bool digits = colon != std::string_view::npos && colon > pos;
        for (auto k = pos; digits && k < colon; ++k) {
            digits = text[k] >= '0' && text[k] <= '9';
            n = n * 10 + static_cast<std::size_t>(text[k] - '0');
        }
        if (!digits || colon + 1 + n >= text.size() || text[colon + 1 + n] != ';') {
            r.bad = true;
            pos = text.size();  // a strict parser stops at its first error
            break;
        }
        r.records.push_back(text.substr(colon + 1, n));
        pos = colon + 2 + n;
    }
    r.end = pos;
    return r;
}

std::string toy_log(std::mt19937& rng, std::size_t count) {
    std::string text;
    for (std::size_t i = 0; i < count; ++i) {
        std::string data;
        const auto len = rng() % 12;
        for (std::size_t k = 0; k < len; ++k) data += "ab;7:;"[rng() % 6];  // delimiters and fake headers
        text += std::to_string(data.size()) + ":" + data + ";";
    }
    return text;
}

}  // namespace

TEST_CASE("speculative parsing equals the sequential parse at every chunk size", "[records]") {
    std::mt19937 rng(7);
    for (const std::size_t count : {0u, 1u, 5u, 300u}) {
        const auto text = toy_log(rng, count);
        const auto sequential = parse_toy(text, 0, text.size());
        REQUIRE_FALSE(sequential.bad);
        std::size_t repaired_total = 0;
        for (const std::size_t target : {1u, 2u, 3u, 7u, 16u, 64u, 1000u}) {
            const auto plan = parex::split_bytes(text, target, parex::after_delimiter(";"));
            const auto parse = [&](std::size_t b, std::size_t s) { return parse_toy(text, b, s); };
            std::vector<toy_parse> results;
            for (const auto c : plan) results.push_back(parse(c.begin, c.end));
            repaired_total += parex::repair_speculative(plan, results, 0, parse);
            std::vector<std::string_view> joined;
            std::size_t pos = 0;
            for (const auto& r : results) {
                CHECK(r.begin == pos);
                CHECK_FALSE(r.bad);
                pos = r.end;
                joined.insert(joined.end(), r.records.begin(), r.records.end());
            }
            CHECK(pos == text.size());
            CHECK(joined == sequential.records);
        }
        if (count >= 300) CHECK(repaired_total > 0);  // the delimiter occurred in data and was repaired
    }
}

TEST_CASE("speculative results that break the contract are reported with the chunk", "[records]") {
    const std::string text = "1:a;1:b;1:c;";
    const auto plan = parex::split_bytes(text, 4, parex::after_delimiter(";"));
    REQUIRE(plan.size() == 3);
    const auto parse = [&](std::size_t b, std::size_t s) { return parse_toy(text, b, s); };
    std::vector<toy_parse> results;
    for (const auto c : plan) results.push_back(parse(c.begin, c.end));
    results[1].end = 5;  // stopped before the next chunk's start
    try {
        parex::repair_speculative(plan, results, 0, parse);
        FAIL("expected chunking_error");
    } catch (const parex::chunking_error& e) {
        CHECK(e.chunk_index() == 2);
        CHECK(e.offset() == 8);
    }
    std::vector<toy_parse> too_few(2);
    CHECK_THROWS_AS(parex::repair_speculative(plan, too_few, 0, parse), parex::chunking_error);
}
