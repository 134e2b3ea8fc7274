#pragma once
// common/csv.hpp: the one CSV reader of the modules' tables (ADIF reference tables, PSTAR stopping
// powers, waveform parameter tables), and the one error a table that cannot be read throws.

#include <charconv>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace examples {

/// A table that cannot be read. The message begins with "FILE:LINE: " (or "FILE: " for the whole
/// file) and names the column at fault where there is one.
class table_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The fields of one CSV line (RFC 4180 quoting: `"a, b"` is one field, `""` inside quotes is a
/// quote). Fields are kept as written, blanks included; a '\r' outside quotes is dropped. A quoted
/// field cannot span lines. O(size of the line).
inline std::vector<std::string> csv_fields(std::string_view line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
                out.back() += '"', ++i;
            else if (c == '"')
                quoted = false;
            else
                out.back() += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.emplace_back();
        } else if (c != '\r') {
            out.back() += c;
        }
    }
    return out;
}

/// `s` without leading and trailing white space (space, tab, CR, LF).
inline std::string_view trim_space(std::string_view s) noexcept {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

/// The number written in `field` (blanks around it allowed, nothing else): from_chars, so the same in
/// every locale. Throws std::invalid_argument "WHAT: 'FIELD' is not a number" (read_csv adds the file
/// and line).
template <class T>
T csv_number(std::string_view field, std::string_view what) {
    const auto s = trim_space(field);
    T value{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
        throw std::invalid_argument(std::string(what) + ": '" + std::string(field) + "' is not a number");
    return value;
}

/// How read_csv reads a table.
struct csv_layout {
    /// The first line that is not a comment is a header, given to on_header, not to on_row.
    bool header = true;
    /// Lines starting with this character are comments ('\0': none).
    char comment = '\0';
    /// Each row needs at least this many fields.
    std::size_t min_fields = 0;
};

/// Reads the CSV table at `path`: calls on_header(fields) for the header (when layout.header) and
/// on_row(fields) for every other line that is neither empty nor a comment, in file order.
/// Throws table_error: "FILE: cannot open", "FILE: empty (a header line is needed)", "FILE:LINE: N
/// fields, expected at least M", and "FILE:LINE: " + what() of any std::exception the callbacks throw.
/// O(size of the file).
template <class Header, class Row>
void read_csv(const std::filesystem::path& path, const csv_layout& layout, Header&& on_header, Row&& on_row) {
    std::ifstream in(path);
    if (!in) throw table_error(path.string() + ": cannot open");
    const auto at = [&](std::size_t line) { return path.string() + ":" + std::to_string(line) + ": "; };
    std::string line;
    bool header_seen = !layout.header;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (line.empty() || line == "\r" || (layout.comment != '\0' && line.front() == layout.comment)) continue;
        const auto fields = csv_fields(line);
        try {
            if (!header_seen) {
                header_seen = true;
                on_header(fields);
                continue;
            }
            if (fields.size() < layout.min_fields)
                throw table_error(at(number) + std::to_string(fields.size()) + " fields, expected at least " +
                                  std::to_string(layout.min_fields));
            on_row(fields);
        } catch (const table_error&) {
            throw;
        } catch (const std::exception& e) {
            throw table_error(at(number) + e.what());
        }
    }
    if (!header_seen) throw table_error(path.string() + ": empty (a header line is needed)");
}

/// read_csv for a table whose header is only a caption (ignored, when layout.header).
template <class Row>
void read_csv(const std::filesystem::path& path, const csv_layout& layout, Row&& on_row) {
    read_csv(path, layout, [](const std::vector<std::string>&) {}, on_row);
}

}  // namespace examples
