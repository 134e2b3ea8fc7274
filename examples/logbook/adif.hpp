#pragma once
// adif.hpp: the ADIF 3.1.6 ADI reader and writer (ADIF 3.1.6 specification, "ADI File Format").
//
// A field is `<NAME:LENGTH[:TYPE]>DATA`; LENGTH counts the bytes of DATA as stored (so UTF-8 data is
// read exactly as real exports write it); names are case-insensitive; text outside tags is ignored.
// A file that does not begin with '<' has a header: free text, header fields, `<EOH>`. Records end at
// `<EOR>`. The reader keeps every field (unknown, APP_ and USERDEF ones included) and every byte of
// data; it refers to the caller's buffer and copies nothing.
//
// The parallel reader splits the records at "<EOR>" candidates and parses the chunks speculatively
// (parex::map_records): "<EOR>" inside a COMMENT makes a false candidate, which the
// validation detects and repairs, so the result equals the sequential parse for every input.

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>
#include <parex/records.hpp>
#include <parex/pipeline.hpp>
#include <parex/run_control.hpp>

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace logbook {

/// One field of a record or of the header. `name` as written (case kept), `data` byte-exact, `type` the
/// data type indicator letter or '\0' when the tag has none.
struct field {
    std::string_view name;
    std::string_view data;
    char type = '\0';
    friend bool operator==(const field&, const field&) = default;
};

/// What is wrong with the input.
enum class adif_error_kind {
    unterminated_tag,     ///< '<' with no '>' after it
    missing_length,       ///< a tag other than EOR/EOH (or a trailer) without ':LENGTH'
    bad_length,           ///< LENGTH empty, not decimal digits, or too large
    length_past_end,      ///< LENGTH runs past the end of the input
    bad_type,             ///< a data type indicator that is not one letter
    bad_name,             ///< an empty field name, or one longer than 65535 bytes
    unexpected_eoh,       ///< <EOH> among the records
    unterminated_record,  ///< fields after the last <EOR> and no <EOR> to end them
};

[[nodiscard]] constexpr std::string_view to_string(adif_error_kind k) noexcept {
    switch (k) {
        case adif_error_kind::unterminated_tag: return "unterminated tag";
        case adif_error_kind::missing_length: return "tag without ':LENGTH'";
        case adif_error_kind::bad_length: return "bad length";
        case adif_error_kind::length_past_end: return "length past the end of the input";
        case adif_error_kind::bad_type: return "bad data type indicator";
        case adif_error_kind::bad_name: return "bad field name";
        case adif_error_kind::unexpected_eoh: return "<EOH> after the header";
        case adif_error_kind::unterminated_record: return "record without <EOR>";
    }
    return "?";
}

/// `record_index` of a problem in the header.
inline constexpr std::size_t header_index = std::numeric_limits<std::size_t>::max();

/// One problem in the input: what, at which byte offset (of the tag's '<'), in which record (0-based
/// position among the file's records, bad ones included; header_index for the header), in which field.
struct adif_issue {
    adif_error_kind kind{};
    std::size_t offset = 0;
    std::size_t record_index = 0;
    std::string field;

    [[nodiscard]] std::string message() const {
        std::string where = record_index == header_index ? std::string("header") : "record " + std::to_string(record_index);
        return "ADIF: " + std::string(to_string(kind)) + " at byte " + std::to_string(offset) + " (" + where +
               (field.empty() ? std::string() : ", field " + field) + ")";
    }
};

/// Thrown by a strict parse at the first problem in file order.
class adif_error : public std::runtime_error {
public:
    explicit adif_error(adif_issue issue) : std::runtime_error(issue.message()), issue_(std::move(issue)) {}
    [[nodiscard]] const adif_issue& issue() const noexcept { return issue_; }

private:
    adif_issue issue_;
};

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

/// A field stored in 16 bytes, relative to its record's first byte (records are below 4 GiB).
struct packed_field {
    std::uint32_t name_offset;
    std::uint32_t data_offset;
    std::uint32_t data_length;
    std::uint16_t name_length;
    char type;
};

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

inline std::size_t find_char(std::string_view text, char c, std::size_t from) {
    if (from >= text.size()) return std::string_view::npos;
    const void* p = std::memchr(text.data() + from, c, text.size() - from);
    return p == nullptr ? std::string_view::npos : static_cast<std::size_t>(static_cast<const char*>(p) - text.data());
}

inline bool only_space_after(std::string_view text, std::size_t from) {
    return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(from), text.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; });
}

/// How a record scan ended.
enum class scan_end { eor, eoh, no_more_tags, trailer, error };

/// How a scan_record call ended, where, and the issue when it failed.
struct scan_result {
    scan_end how;
    std::size_t next;  ///< where the scan stopped: after <EOR>/<EOH>, or the end of the input
    std::size_t first_tag = std::string_view::npos;
    adif_issue issue{};
};

/// Scans one record (or the header) from `pos`, appending its fields (offsets relative to the first
/// tag) to `fields`. O(bytes of the record).
inline scan_result scan_record(std::string_view text, std::size_t pos, std::vector<packed_field>& fields) {
    scan_result r{scan_end::no_more_tags, text.size()};
    const auto fail = [&](adif_error_kind kind, std::size_t at, std::string_view name) {
        r.how = scan_end::error;
        r.issue = {kind, at, 0, std::string(name)};
        return r;
    };
    const auto first_field = fields.size();
    while (true) {
        const auto lt = find_char(text, '<', pos);
        if (lt == std::string_view::npos) {
            if (fields.size() > first_field) return fail(adif_error_kind::unterminated_record, r.first_tag, {});
            return r;  // only free text is left
        }
        const auto gt = find_char(text, '>', lt + 1);
        if (gt == std::string_view::npos) return fail(adif_error_kind::unterminated_tag, lt, {});
        if (r.first_tag == std::string_view::npos) r.first_tag = lt;
        const auto tag = text.substr(lt + 1, gt - lt - 1);
        const auto colon = tag.find(':');
        if (colon == std::string_view::npos) {
            if (parex::ascii_iequals(tag, "EOR") || parex::ascii_iequals(tag, "EOH")) {
                r.how = parex::ascii_iequals(tag, "EOR") ? scan_end::eor : scan_end::eoh;
                r.next = gt + 1;
                return r;
            }
            // A length-less tag alone at the very end (LoTW's <APP_LoTW_EOF>) ends the file.
            if (fields.size() == first_field && only_space_after(text, gt + 1)) {
                r.how = scan_end::trailer;
                r.first_tag = lt;
                return r;
            }
            return fail(adif_error_kind::missing_length, lt, tag);
        }
        const auto name = tag.substr(0, colon);
        if (name.empty() || name.size() > std::numeric_limits<std::uint16_t>::max())
            return fail(adif_error_kind::bad_name, lt, name.substr(0, 64));
        auto spec = tag.substr(colon + 1);
        const auto colon2 = spec.find(':');
        const auto length_text = spec.substr(0, colon2);
        std::uint64_t length = 0;
        const auto [end, ec] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
        if (length_text.empty() || ec != std::errc{} || end != length_text.data() + length_text.size())
            return fail(adif_error_kind::bad_length, lt, name);
        char type = '\0';
        if (colon2 != std::string_view::npos) {
            const auto t = spec.substr(colon2 + 1);
            if (t.size() != 1 || !((t[0] >= 'A' && t[0] <= 'Z') || (t[0] >= 'a' && t[0] <= 'z')))
                return fail(adif_error_kind::bad_type, lt, name);
            type = t[0];
        }
        const auto data = gt + 1;
        if (length > text.size() - data) return fail(adif_error_kind::length_past_end, lt, name);
        const auto rel = lt + 1 - r.first_tag;
        if (data + length - r.first_tag > std::numeric_limits<std::uint32_t>::max())
            return fail(adif_error_kind::bad_length, lt, name);  // a record of 4 GiB or more
        fields.push_back({static_cast<std::uint32_t>(rel), static_cast<std::uint32_t>(data - r.first_tag),
                          static_cast<std::uint32_t>(length), static_cast<std::uint16_t>(name.size()), type});
        pos = data + static_cast<std::size_t>(length);
    }
}

/// Offset of the first `needle` (ASCII case-insensitive) starting at or after `from`, or npos.
inline std::size_t find_ci(std::string_view text, std::string_view needle, std::size_t from) {
    const parex::after_delimiter finder{std::string(needle), parex::ignore_case};
    const auto after = finder(text, std::min(from + needle.size(), text.size()));  // a match starts >= from
    if (after < needle.size() || !parex::ascii_iequals(text.substr(after - needle.size(), needle.size()), needle))
        return std::string_view::npos;
    return after - needle.size();
}

/// Just past the first "<EOR>" starting at or after `from`; text.size() when none.
inline std::size_t after_next_eor(std::string_view text, std::size_t from) {
    const auto at = find_ci(text, "<EOR>", from);
    return at == std::string_view::npos ? text.size() : at + 5;
}

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
            case scan_end::eoh:
                r.issue = {adif_error_kind::unexpected_eoh, r.next - 5, 0, {}};
                [[fallthrough]];
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

/// The executor for a `threads` option: parex's default executor for 0, else one of that size built in
/// `sized` (which the caller keeps alive for as long as it uses the executor).
inline parex::chunked_executor& executor_for(std::size_t threads, std::optional<parex::chunked_executor>& sized) {
    return threads == 0 ? parex::default_executor()
                        : sized.emplace(parex::executor_options{.max_concurrency = threads});
}

inline std::size_t auto_chunk_bytes(std::size_t bytes, std::size_t threads) {
    const std::size_t per_thread = bytes / (4 * std::max<std::size_t>(threads, 1));
    return std::clamp<std::size_t>(per_thread, 64 << 10, 4 << 20);
}

/// A forward iterator over the positions 0, 1, ... of a sequence read by index: *it is owner[position].
/// Owner is the sequence (a record, cheap to copy) or a pointer to it (a document).
template <class Owner, class Value>
class index_iterator {
public:
    using value_type = Value;
    using difference_type = std::ptrdiff_t;
    index_iterator() = default;
    index_iterator(Owner owner, std::size_t position) : owner_(owner), position_(position) {}
    Value operator*() const {
        if constexpr (std::is_pointer_v<Owner>) return (*owner_)[position_];
        else return owner_[position_];
    }
    index_iterator& operator++() {
        ++position_;
        return *this;
    }
    index_iterator operator++(int) {
        auto old = *this;
        ++position_;
        return old;
    }
    friend bool operator==(const index_iterator& a, const index_iterator& b) { return a.position_ == b.position_; }

private:
    Owner owner_{};
    std::size_t position_ = 0;
};

}  // namespace detail

class document;

/// A record of a document: its fields in file order. Cheap to copy; valid while the document and its
/// text are.
class record {
public:
    record() = default;
    record(const document* doc, std::size_t index) : doc_(doc), index_(index) {}
    /// Number of fields.
    [[nodiscard]] std::size_t size() const noexcept;
    /// Field k, 0 <= k < size(), in file order.
    [[nodiscard]] field operator[](std::size_t k) const noexcept;
    /// Data of the first field named `name` (case-insensitive), or nullopt. O(fields).
    [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const noexcept;
    /// Byte offset of the record's first tag in the input.
    [[nodiscard]] std::size_t offset() const noexcept;
    /// The record's bytes in the input, from its first tag through its <EOR> tag. O(1) plus the text
    /// between the last field's data and <EOR>.
    [[nodiscard]] std::string_view text() const noexcept;
    /// Position among the document's records.
    [[nodiscard]] std::size_t index() const noexcept { return index_; }

    using iterator = detail::index_iterator<record, field>;
    [[nodiscard]] iterator begin() const { return {*this, 0}; }
    [[nodiscard]] iterator end() const { return {*this, size()}; }

private:
    const document* doc_ = nullptr;
    std::size_t index_ = 0;
};

/// A parsed ADI file: header (free text and fields), records, skipped bad records (lenient parses), and
/// a trailer tag if the file ended with one. Refers to the parsed text, which must outlive it.
/// Memory: 16 bytes per field and 16 bytes per record beside the text. Move-only.
class document {
public:
    document() = default;

    [[nodiscard]] std::string_view text() const noexcept { return text_; }
    /// Whether the file has a header (fields ended by <EOH>).
    [[nodiscard]] bool has_header() const noexcept { return has_header_; }
    /// Free text before the first tag (the header's text, or the preamble of a header-less file).
    [[nodiscard]] std::string_view header_text() const noexcept { return header_text_; }
    [[nodiscard]] const std::vector<field>& header() const noexcept { return header_; }
    /// Number of records.
    [[nodiscard]] std::size_t size() const noexcept { return record_offsets_.size(); }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    [[nodiscard]] record operator[](std::size_t i) const noexcept { return {this, i}; }
    /// Total number of fields in all records.
    [[nodiscard]] std::size_t field_count() const noexcept { return field_count_; }
    /// Bad records a lenient parse skipped, in file order.
    [[nodiscard]] const std::vector<adif_issue>& skipped() const noexcept { return skipped_; }
    /// The trailer tag (e.g. "<APP_LoTW_EOF>") if the file ended with one, else empty.
    [[nodiscard]] std::string_view trailer() const noexcept { return trailer_; }
    /// Number of chunks that began inside a record and were parsed again (0 for sequential parses).
    [[nodiscard]] std::size_t repaired_chunks() const noexcept { return repaired_; }

    using iterator = detail::index_iterator<const document*, record>;
    [[nodiscard]] iterator begin() const { return {this, 0}; }
    [[nodiscard]] iterator end() const { return {this, size()}; }

private:
    friend class record;
    friend document parse(std::string_view, const parse_options&, parex::chunked_executor&);

    std::string_view text_;
    bool has_header_ = false;
    std::string_view header_text_;
    std::vector<field> header_;
    // Not a vector: its resize would zero every field on one thread before the parallel copy fills it.
    std::unique_ptr<detail::packed_field[]> fields_;
    std::size_t field_count_ = 0;
    std::vector<std::uint64_t> record_offsets_;
    std::vector<std::size_t> first_field_{0};  // fields of record i: [first_field_[i], first_field_[i+1])
    std::vector<adif_issue> skipped_;
    std::string_view trailer_;
    std::size_t repaired_ = 0;
};

inline std::size_t record::size() const noexcept { return doc_->first_field_[index_ + 1] - doc_->first_field_[index_]; }
inline std::size_t record::offset() const noexcept { return doc_->record_offsets_[index_]; }
inline field record::operator[](std::size_t k) const noexcept {
    const auto& f = doc_->fields_[doc_->first_field_[index_] + k];
    const auto* base = doc_->text_.data() + doc_->record_offsets_[index_];
    return {{base + f.name_offset, f.name_length}, {base + f.data_offset, f.data_length}, f.type};
}
inline std::string_view record::text() const noexcept {
    const auto& last = doc_->fields_[doc_->first_field_[index_ + 1] - 1];  // a record has a field
    const auto data_end = offset() + last.data_offset + last.data_length;
    const auto eor = doc_->text_.find('<', data_end);  // the scan ended the record at this tag, "<EOR>"
    return doc_->text_.substr(offset(), eor + 5 - offset());
}
inline std::optional<std::string_view> record::find(std::string_view name) const noexcept {
    for (const auto f : *this)
        if (parex::ascii_iequals(f.name, name)) return f.data;
    return std::nullopt;
}

/// Parses ADI text. Records are parsed in parallel on `executor` (speculatively, see the file comment);
/// the result is the same as a sequential parse's for every input and chunk size.
/// Throws adif_error (byte offset, record index, field name) at the first problem unless
/// `options.lenient`. O(bytes); the header is parsed sequentially first.
inline document parse(std::string_view text, const parse_options& options, parex::chunked_executor& executor) {
    document doc;
    doc.text_ = text;
    std::size_t start = 0;
    if (text.starts_with("\xEF\xBB\xBF")) start = 3;  // UTF-8 byte order mark

    // Header: fields before <EOH>, if <EOH> comes before any <EOR> (ADIF: a file starting with '<' has no
    // header, but exports that start with <ADIF_VER:...> and <EOH> exist, so both are accepted).
    auto records_begin = start;
    const auto first_lt = detail::find_char(text, '<', start);
    doc.header_text_ = text.substr(start, (first_lt == std::string_view::npos ? text.size() : first_lt) - start);
    {
        std::vector<detail::packed_field> header_fields;
        const auto h = detail::scan_record(text, start, header_fields);
        if (h.how == detail::scan_end::eoh) {
            doc.has_header_ = true;
            records_begin = h.next;
            const auto* base = text.data() + h.first_tag;
            for (const auto& f : header_fields)
                doc.header_.push_back({{base + f.name_offset, f.name_length}, {base + f.data_offset, f.data_length}, f.type});
        } else if (h.how == detail::scan_end::error) {
            // A problem before any <EOH> or <EOR>: it is in the header when an <EOH> follows before any <EOR>.
            const auto eoh = detail::find_ci(text, "<EOH>", h.issue.offset);
            if (eoh != std::string_view::npos && eoh < detail::find_ci(text, "<EOR>", h.issue.offset)) {
                auto issue = h.issue;
                issue.record_index = header_index;
                if (!options.lenient) throw adif_error(std::move(issue));
                doc.skipped_.push_back(std::move(issue));
                doc.has_header_ = true;
                records_begin = eoh + 5;
            }
        }
    }

    const auto body = text.substr(records_begin);
    const auto target = options.chunk_bytes > 0 ? options.chunk_bytes
                                                : detail::auto_chunk_bytes(body.size(), executor.max_concurrency());
    const auto parse_chunk = [&](std::size_t b, std::size_t stop) {
        return detail::parse_records(text, records_begin, b, stop, options.lenient);
    };
    std::vector<detail::chunk_parse> parts;
    if (body.size() <= target) {
        parts.push_back(parse_chunk(0, body.size()));
    } else {
        const auto plan = parex::split_bytes(body, target, parex::after_delimiter("<EOR>", parex::ignore_case));
        auto parsed = parex::map_records(executor, plan, parse_chunk, options.run);
        parts = std::move(parsed.results);
        doc.repaired_ = parsed.repaired;
    }

    // Merge: prefix sums, then each chunk copies its fields and records into place in parallel.
    std::vector<std::size_t> field_base(parts.size() + 1, 0), record_base(parts.size() + 1, 0), seen_base(parts.size() + 1, 0);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        field_base[i + 1] = field_base[i] + parts[i].fields.size();
        record_base[i + 1] = record_base[i] + parts[i].record_offsets.size();
        seen_base[i + 1] = seen_base[i] + parts[i].records_seen;
        for (auto& issue : parts[i].issues) {
            issue.record_index += seen_base[i];
            if (!options.lenient) throw adif_error(std::move(issue));  // the first in file order
            doc.skipped_.push_back(std::move(issue));
        }
        if (parts[i].trailer) doc.trailer_ = text.substr(*parts[i].trailer, detail::find_char(text, '>', *parts[i].trailer) + 1 - *parts[i].trailer);
    }
    doc.field_count_ = field_base.back();
    doc.fields_ = std::make_unique_for_overwrite<detail::packed_field[]>(doc.field_count_);
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
    } else {
        executor.for_each(parex::chunks(parts.size(), parex::grain{1}), [&](parex::chunk c) { copy_part(c.begin); });
    }
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

// --- writer ------------------------------------------------------------------------------------------

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
