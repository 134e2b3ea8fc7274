// libFuzzer target: the ADIF reader (examples/logbook/adif.hpp). For any bytes, strict and lenient:
// the parallel parse at tiny chunk sizes equals the sequential parse (the same header, records and
// skipped problems, or the same error kind, offset and record); writing a parsed document and parsing
// the output gives the same header and records.
#include <logbook/adif.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lb = logbook;

namespace {

/// What a parse gave: the fields of the header and of every record, the problems skipped (kind,
/// offset, record), or the error a strict parse threw.
struct outcome {
    std::vector<std::vector<lb::field>> records;
    std::vector<lb::field> header;
    std::vector<std::tuple<lb::adif_error_kind, std::size_t, std::size_t>> problems;
    std::optional<std::tuple<lb::adif_error_kind, std::size_t, std::size_t>> error;
    friend bool operator==(const outcome&, const outcome&) = default;
};

outcome parse(std::string_view text, const lb::parse_options& options, parex::chunked_executor& executor) {
    outcome o;
    try {
        const auto doc = lb::parse(text, options, executor);
        o.header.assign(doc.header().begin(), doc.header().end());
        for (const auto r : doc) o.records.emplace_back(r.begin(), r.end());
        for (const auto& i : doc.skipped()) o.problems.emplace_back(i.kind, i.offset, i.record_index);
    } catch (const lb::adif_error& e) {
        o.error.emplace(e.issue().kind, e.issue().offset, e.issue().record_index);
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    static parex::chunked_executor sequential({.max_concurrency = 1});
    static parex::chunked_executor parallel({.max_concurrency = 2});
    for (const bool lenient : {false, true}) {
        const auto reference = parse(text, {.lenient = lenient, .chunk_bytes = SIZE_MAX}, sequential);
        for (const std::size_t chunk : {1, 5, 64})
            if (!(parse(text, {.lenient = lenient, .chunk_bytes = chunk}, parallel) == reference)) std::abort();
        if (!lenient) continue;
        // Written and parsed again (strictly): the same header fields and records.
        const auto doc = lb::parse(text, {.lenient = true}, sequential);
        std::string written;
        lb::write(doc, [&](std::string_view bytes) { written += bytes; }, {.threads = 1});
        const auto again = parse(written, {.chunk_bytes = SIZE_MAX}, sequential);
        if (again.error || again.records != reference.records || again.header != reference.header) std::abort();
    }
    return 0;
}
