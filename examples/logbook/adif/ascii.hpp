#pragma once
// ASCII case folding for ADIF's field names and its EOH/EOR tags, which are case-insensitive (ADIF
// 3.1.6, ADI file format). Independent of the C locale (std::tolower is not), so a parse gives the same
// result in every program.

#include <algorithm>
#include <string_view>

namespace logbook {

/// `c` with 'A'..'Z' mapped to 'a'..'z' and every other byte unchanged.
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Whether a and b are equal when ASCII letters are compared without case. O(size).
[[nodiscard]] constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace logbook
