#pragma once
// logbook/adif/reader.hpp: the parallel ADI reader.
//
// A file that does not begin with '<' has a header: free text, header fields, `<EOH>`. The header is
// parsed first, on the calling thread. The records are split at "<EOR>" candidates and the chunks
// parsed speculatively (parex::map_records): "<EOR>" inside a COMMENT makes a false candidate, which
// the validation detects and repairs, so the result equals the sequential parse for every input. The
// reader keeps every field (unknown, APP_ and USERDEF ones included) and every byte of data.

#include <logbook/adif/document.hpp>
#include <logbook/adif/errors.hpp>
#include <logbook/adif/scanner.hpp>
#include <logbook/executor.hpp>

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>
#include <parex/records.hpp>
#include <parex/run_control.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace logbook {

/// Options of parse().
struct parse_options {
    /// false: the first problem throws adif_error. true: a bad record is skipped up to the next "<EOR>",
    /// reported in document::skipped(), and the rest is kept.
    bool lenient = false;
    /// Target chunk size of the parallel parse, in bytes; 0 = automatic (at least 4 chunks per thread,
    /// 64 KiB to 4 MiB each). Inputs of one chunk are parsed on the calling thread.
    std::size_t chunk_bytes = 0;
    /// Progress (chunks parsed) and cancellation of the parallel parse.
    parex::run_options run{};
};

namespace detail {

/// What one chunk's parse produced: the records starting in [begin, end) (offsets relative to the parsed
/// span's start, as the chunk plan counts them), their fields, the problems met.
struct chunk_parse {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::vector<packed_field> fields;
    std::vector<std::uint64_t> record_offsets;  ///< absolute byte offset of each record's first '<'
    std::vector<std::uint32_t> field_ends;      ///< fields of record r: [field_ends[r-1], field_ends[r])
    std::vector<adif_issue> issues;             ///< record_index local to the chunk until merged
    std::size_t records_seen = 0;               ///< good and skipped records
    std::optional<std::size_t> trailer;         ///< offset of a trailer tag such as <APP_LoTW_EOF>
};

/// Parses the records that start in [base + begin, ...) up to the first record start at or after
/// base + stop_after. A record starts just after the previous <EOR> (or at the records' start).
inline chunk_parse parse_records(std::string_view text, std::size_t base, std::size_t begin, std::size_t stop_after,
                                 bool lenient) {
    chunk_parse out;
    out.begin = begin;
    // Real logs average 10 to 30 bytes per field and 150 to 900 per record: reserving for the dense
    // end saves the vectors' regrowth copies.
    const auto span = stop_after > begin ? stop_after - begin : 0;
    out.fields.reserve(span / 12 + 16);
    out.record_offsets.reserve(span / 128 + 4);
    out.field_ends.reserve(span / 128 + 4);
    auto pos = base + begin;
    const auto stop = base + stop_after;
    while (pos < stop && pos < text.size()) {
        const auto mark = out.fields.size();
        auto r = scan_record(text, pos, out.fields);
        switch (r.how) {
            case scan_end::eor:
                if (out.fields.size() > mark) {  // an empty <EOR> is not a record
                    out.record_offsets.push_back(r.first_tag);
                    out.field_ends.push_back(static_cast<std::uint32_t>(out.fields.size()));
                    ++out.records_seen;
                }
                pos = r.next;
                break;
            case scan_end::no_more_tags: pos = text.size(); break;
            case scan_end::trailer:
                out.trailer = r.first_tag;
                pos = text.size();
                break;
            case scan_end::eoh: r.issue = {adif_error_kind::unexpected_eoh, r.next - 5, 0, {}}; [[fallthrough]];
            case scan_end::error:
                out.fields.resize(mark);
                r.issue.record_index = out.records_seen++;
                out.issues.push_back(std::move(r.issue));
                // Strict: the parse stops here (the rest of the input counts as consumed). Lenient:
                // skip to the next "<EOR>" text, the best guess of where the bad record ends.
                pos = lenient ? after_next_eor(text, out.issues.back().offset) : text.size();
                break;
        }
    }
    out.end = std::max(pos, base + begin) - base;
    return out;
}

inline std::size_t auto_chunk_bytes(std::size_t bytes, std::size_t threads) {
    const std::size_t per_thread = bytes / (4 * std::max<std::size_t>(threads, 1));
    return std::clamp<std::size_t>(per_thread, 64 << 10, 4 << 20);
}

}  // namespace detail

namespace detail {

/// The steps of parse(), shared with the parse across MPI ranks (logbook/mpi.hpp).
struct document_builder {
    /// Reads the header (on the calling thread) into `doc`, whose text is `text`. Returns the offset
    /// where the records begin. Throws adif_error for a bad header unless options.lenient.
    static std::size_t read_header(document& doc, std::string_view text, const parse_options& options) {
        doc.text_ = text;
        std::size_t start = 0;
        if (text.starts_with("\xEF\xBB\xBF")) start = 3;  // UTF-8 byte order mark

        // Header: fields before <EOH>, if <EOH> comes before any <EOR> (ADIF: a file starting with '<' has
        // no header, but exports that start with <ADIF_VER:...> and <EOH> exist, so both are accepted).
        auto records_begin = start;
        const auto first_lt = find_char(text, '<', start);
        doc.header_text_ = text.substr(start, (first_lt == std::string_view::npos ? text.size() : first_lt) - start);
        std::vector<packed_field> header_fields;
        const auto h = scan_record(text, start, header_fields);
        if (h.how == scan_end::eoh) {
            doc.has_header_ = true;
            records_begin = h.next;
            const auto* base = text.data() + h.first_tag;
            for (const auto& f : header_fields)
                doc.header_.push_back(
                    {{base + f.name_offset, f.name_length}, {base + f.data_offset, f.data_length}, f.type});
        } else if (h.how == scan_end::error) {
            // A problem before any <EOH> or <EOR>: it is in the header when an <EOH> follows before any <EOR>.
            const auto eoh = find_ci(text, "<EOH>", h.issue.offset);
            if (eoh != std::string_view::npos && eoh < find_ci(text, "<EOR>", h.issue.offset)) {
                auto issue = h.issue;
                issue.record_index = header_index;
                if (!options.lenient) throw adif_error(std::move(issue));
                doc.skipped_.push_back(std::move(issue));
                doc.has_header_ = true;
                records_begin = eoh + 5;
            }
        }
        return records_begin;
    }

    /// Moves the chunks' records into `doc`: prefix sums, then each chunk copies its fields and records
    /// into place in parallel on `executor`. `seen_before` counts the records (bad ones included) that
    /// come before parts[0] in the file, for the issues' record indices. Throws adif_error for the first
    /// issue in file order unless options.lenient.
    static void assemble(document& doc, std::vector<chunk_parse>& parts, std::size_t repaired, std::size_t seen_before,
                         const parse_options& options, parex::chunked_executor& executor) {
        const auto text = doc.text_;
        doc.repaired_ = repaired;
        std::vector<std::size_t> field_base(parts.size() + 1, 0), record_base(parts.size() + 1, 0),
            seen_base(parts.size() + 1, seen_before);
        for (std::size_t i = 0; i < parts.size(); ++i) {
            field_base[i + 1] = field_base[i] + parts[i].fields.size();
            record_base[i + 1] = record_base[i] + parts[i].record_offsets.size();
            seen_base[i + 1] = seen_base[i] + parts[i].records_seen;
            for (auto& issue : parts[i].issues) {
                issue.record_index += seen_base[i];
                if (!options.lenient) throw adif_error(std::move(issue));  // the first in file order
                doc.skipped_.push_back(std::move(issue));
            }
            if (parts[i].trailer)
                doc.trailer_ =
                    text.substr(*parts[i].trailer, find_char(text, '>', *parts[i].trailer) + 1 - *parts[i].trailer);
        }
        doc.field_count_ = field_base.back();
        doc.fields_ = std::make_unique_for_overwrite<packed_field[]>(doc.field_count_);
        doc.record_offsets_.resize(record_base.back());
        doc.first_field_.resize(record_base.back() + 1);
        const auto copy_part = [&](std::size_t i) {
            const auto& p = parts[i];
            std::copy(p.fields.begin(), p.fields.end(), doc.fields_.get() + field_base[i]);
            std::copy(p.record_offsets.begin(), p.record_offsets.end(),
                      doc.record_offsets_.begin() + static_cast<std::ptrdiff_t>(record_base[i]));
            for (std::size_t r = 0; r < p.field_ends.size(); ++r)
                doc.first_field_[record_base[i] + r + 1] = field_base[i] + p.field_ends[r];
        };
        if (parts.size() == 1) {
            copy_part(0);
        } else if (!parts.empty()) {
            executor.for_each(parex::chunks(parts.size(), parex::grain{1}),
                              [&](parex::chunk c) { copy_part(c.begin); });
        }
    }
};

/// The "<EOR>" boundary finder of the parallel parse.
inline parex::after_delimiter eor_finder() { return parex::after_delimiter("<EOR>", parex::ignore_case); }

}  // namespace detail

/// Parses ADI text. Records are parsed in parallel on `executor` (speculatively, see the file comment);
/// the result is the same as a sequential parse's for every input and chunk size.
/// Throws adif_error (byte offset, record index, field name) at the first problem unless
/// `options.lenient`. O(bytes); the header is parsed sequentially first.
inline document parse(std::string_view text, const parse_options& options, parex::chunked_executor& executor) {
    document doc;
    const auto records_begin = detail::document_builder::read_header(doc, text, options);
    const auto body = text.substr(records_begin);
    const auto target = options.chunk_bytes > 0 ? options.chunk_bytes
                                                : detail::auto_chunk_bytes(body.size(), executor.max_concurrency());
    const auto parse_chunk = [&](std::size_t b, std::size_t stop) {
        return detail::parse_records(text, records_begin, b, stop, options.lenient);
    };
    std::vector<detail::chunk_parse> parts;
    std::size_t repaired = 0;
    if (body.size() <= target) {
        parts.push_back(parse_chunk(0, body.size()));
    } else {
        const auto plan = parex::split_bytes(body, target, detail::eor_finder());
        auto parsed = parex::map_records(executor, plan, parse_chunk, options.run);
        parts = std::move(parsed.results);
        repaired = parsed.repaired;
    }
    detail::document_builder::assemble(doc, parts, repaired, 0, options, executor);
    return doc;
}

/// parse() on an executor of `threads` threads (0 = parex's default executor).
inline document parse(std::string_view text, const parse_options& options = {}, std::size_t threads = 0) {
    std::optional<parex::chunked_executor> sized;
    return parse(text, options, detail::executor_for(threads, sized));
}

/// parse() on the calling thread alone, in one pass: the reference the parallel parse must equal.
inline document parse_sequential(std::string_view text, parse_options options = {}) {
    options.chunk_bytes = std::numeric_limits<std::size_t>::max();
    parex::chunked_executor executor({.max_concurrency = 1});
    return parse(text, options, executor);
}

/// A document refers to its text: parsing a temporary std::string would leave it dangling, so that
/// does not compile.
template <class S, class... Rest>
    requires std::same_as<S, std::string>
document parse(S&&, Rest&&...) = delete;
template <class S, class... Rest>
    requires std::same_as<S, std::string>
document parse_sequential(S&&, Rest&&...) = delete;

}  // namespace logbook
