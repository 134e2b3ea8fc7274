#pragma once
// logbook/adif/document.hpp: a parsed ADI file (header, records, skipped bad records, trailer) that
// refers to the parsed text and copies none of it.

#include <logbook/adif/errors.hpp>
#include <logbook/adif/scanner.hpp>

#include <parex/chunked_executor.hpp>
#include <parex/records.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace logbook {

struct parse_options;

namespace detail {

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
        if constexpr (std::is_pointer_v<Owner>)
            return (*owner_)[position_];
        else
            return owner_[position_];
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

namespace detail {
struct document_builder;  // reader.hpp: fills a document
}  // namespace detail

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
    friend struct detail::document_builder;

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
        if (logbook::ascii_iequals(f.name, name)) return f.data;
    return std::nullopt;
}

}  // namespace logbook
