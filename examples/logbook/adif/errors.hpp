#pragma once
// logbook/adif/errors.hpp: what can be wrong in an ADI file, where (byte offset, record, field), and
// the exception a strict parse throws.

#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace logbook {

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
        std::string where =
            record_index == header_index ? std::string("header") : "record " + std::to_string(record_index);
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

}  // namespace logbook
