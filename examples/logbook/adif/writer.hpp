#pragma once
// logbook/adif/writer.hpp: writing ADI (ADIF 3.1.6, "ADI File Format"): fields, records, a header,
// and a whole document through parex's ordered pipeline.

#include <logbook/adif/document.hpp>
#include <logbook/adif/scanner.hpp>
#include <logbook/executor.hpp>

#include <parex/pipeline.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace logbook {

/// Appends `<NAME:LEN[:T]>DATA` (LEN in bytes) to `out`.
inline void append_field(std::string& out, const field& f) {
    out += '<';
    out += f.name;
    out += ':';
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, f.data.size());
    out.append(digits, end);
    if (f.type != '\0') {
        out += ':';
        out += f.type;
    }
    out += '>';
    out += f.data;
}

/// Appends one record: its fields separated by spaces, then "<EOR>\n". Any range of `field`s will do.
template <class Fields>
void append_record(std::string& out, const Fields& fields) {
    for (const field f : fields) {
        append_field(out, f);
        out += ' ';
    }
    out += "<EOR>\n";
}

/// Appends a header: `text` (which must not contain '<'; a line naming parex when empty, since a file
/// that begins with '<' has no header), the fields, "<EOH>\n". Throws std::invalid_argument for a '<'.
template <class Fields>
void append_header(std::string& out, std::string_view text, const Fields& fields) {
    if (text.find('<') != std::string_view::npos) throw std::invalid_argument("ADIF header text may not contain '<'");
    out += text.empty() ? std::string_view("ADIF export by parex-logbook\n") : text;
    for (const field f : fields) {
        append_field(out, f);
        out += '\n';
    }
    out += "<EOH>\n";
}

/// Options of write().
struct write_options {
    std::size_t batch_records = 4096;  ///< records formatted per pipeline item
    std::size_t threads = 0;           ///< 0 = parex's default for CPU-bound work
};

/// Writes `doc` as ADI through parex's ordered pipeline: batches of records are formatted in parallel
/// and handed to `sink(std::string_view)` in file order. The header (if any) comes first; a trailer is
/// written back at the end. Parsing the output gives the same header fields and records.
/// Returns the number of records written. Rethrows the sink's exceptions.
template <class Sink>
std::size_t write(const document& doc, Sink&& sink, const write_options& options = {}) {
    std::string head;
    if (doc.has_header()) append_header(head, doc.header_text(), doc.header());
    sink(std::string_view(head));
    const auto batch = std::max<std::size_t>(options.batch_records, 1);
    std::size_t next = 0;
    std::optional<parex::chunked_executor> sized;
    parex::run_pipeline(
        detail::executor_for(options.threads, sized),
        [&]() -> std::optional<std::pair<std::size_t, std::size_t>> {
            if (next >= doc.size()) return std::nullopt;
            const auto first = next;
            next = std::min(doc.size(), next + batch);
            return std::pair{first, next};
        },
        [&](std::pair<std::size_t, std::size_t> range) {
            std::string text;
            for (auto i = range.first; i < range.second; ++i) append_record(text, doc[i]);
            return text;
        },
        [&](std::string&& text) { sink(std::string_view(text)); });
    if (!doc.trailer().empty()) {
        sink(doc.trailer());
        sink(std::string_view("\n"));
    }
    return doc.size();
}

}  // namespace logbook
