#pragma once
// logbook/adif/scanner.hpp: the ADI tag scanner (ADIF 3.1.6 specification, "ADI File Format").
//
// A field is `<NAME:LENGTH[:TYPE]>DATA`; LENGTH counts the bytes of DATA as stored (so UTF-8 data is
// read exactly as real exports write it); names are case-insensitive; text outside tags is ignored.
// Records end at `<EOR>`, the header at `<EOH>`. The scanner reads one record at a time and stores its
// fields as offsets into the caller's buffer.

#include <logbook/adif/ascii.hpp>
#include <logbook/adif/errors.hpp>

#include <parex/records.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
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

namespace detail {

/// A field stored in 16 bytes, relative to its record's first byte (records are below 4 GiB).
struct packed_field {
    std::uint32_t name_offset;
    std::uint32_t data_offset;
    std::uint32_t data_length;
    std::uint16_t name_length;
    char type;
};

inline std::size_t find_char(std::string_view text, char c, std::size_t from) {
    if (from >= text.size()) return std::string_view::npos;
    const void* p = std::memchr(text.data() + from, c, text.size() - from);
    return p == nullptr ? std::string_view::npos : static_cast<std::size_t>(static_cast<const char*>(p) - text.data());
}

inline bool only_space_after(std::string_view text, std::size_t from) {
    return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(from), text.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
    });
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
            if (logbook::ascii_iequals(tag, "EOR") || logbook::ascii_iequals(tag, "EOH")) {
                r.how = logbook::ascii_iequals(tag, "EOR") ? scan_end::eor : scan_end::eoh;
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
    if (after < needle.size() || !logbook::ascii_iequals(text.substr(after - needle.size(), needle.size()), needle))
        return std::string_view::npos;
    return after - needle.size();
}

/// Just past the first "<EOR>" starting at or after `from`; text.size() when none.
inline std::size_t after_next_eor(std::string_view text, std::size_t from) {
    const auto at = find_ci(text, "<EOR>", from);
    return at == std::string_view::npos ? text.size() : at + 5;
}

}  // namespace detail

}  // namespace logbook
