#pragma once
// parex/chunking.hpp: chunk plans. A plan splits an input (an index range [0, n) or a byte buffer)
// into chunks that cover it exactly once, in order. A chunk is never empty, except the single chunk
// of an empty input, so "one result per chunk" code needs no special case for empty inputs.

#include <parex/errors.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace parex {

/// A half-open range [begin, end) of the input; `index` is its position in the plan.
struct chunk {
    std::size_t index = 0;
    std::size_t begin = 0;
    std::size_t end = 0;
    [[nodiscard]] constexpr std::size_t size() const noexcept { return end - begin; }
    [[nodiscard]] constexpr bool empty() const noexcept { return begin == end; }
    friend constexpr bool operator==(const chunk&, const chunk&) = default;
};

/// A chunk of a byte buffer: [begin, end) are byte offsets into the buffer, `bytes` the data there.
struct byte_chunk : chunk {
    std::string_view bytes;
};

/// Chunk size, in elements (index plans) or bytes (byte plans).
struct grain {
    std::size_t size;
};
/// Number of chunks wanted; an input smaller than that gets one chunk per element.
struct chunk_count {
    std::size_t count;
};

namespace detail {

/// Random-access iterator over any plan with operator[] returning chunks by value.
template <class Plan>
class plan_iterator {
public:
    using value_type = decltype(std::declval<const Plan&>()[0]);
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::random_access_iterator_tag;

    plan_iterator() = default;
    plan_iterator(const Plan* plan, std::size_t i) : plan_(plan), i_(static_cast<difference_type>(i)) {}

    value_type operator*() const { return (*plan_)[static_cast<std::size_t>(i_)]; }
    value_type operator[](difference_type n) const { return (*plan_)[static_cast<std::size_t>(i_ + n)]; }
    plan_iterator& operator++() {
        ++i_;
        return *this;
    }
    plan_iterator operator++(int) {
        auto old = *this;
        ++i_;
        return old;
    }
    plan_iterator& operator--() {
        --i_;
        return *this;
    }
    plan_iterator operator--(int) {
        auto old = *this;
        --i_;
        return old;
    }
    plan_iterator& operator+=(difference_type n) {
        i_ += n;
        return *this;
    }
    plan_iterator& operator-=(difference_type n) {
        i_ -= n;
        return *this;
    }
    friend plan_iterator operator+(plan_iterator it, difference_type n) { return it += n; }
    friend plan_iterator operator+(difference_type n, plan_iterator it) { return it += n; }
    friend plan_iterator operator-(plan_iterator it, difference_type n) { return it -= n; }
    friend difference_type operator-(const plan_iterator& a, const plan_iterator& b) { return a.i_ - b.i_; }
    friend bool operator==(const plan_iterator& a, const plan_iterator& b) { return a.i_ == b.i_; }
    friend auto operator<=>(const plan_iterator& a, const plan_iterator& b) { return a.i_ <=> b.i_; }

private:
    const Plan* plan_ = nullptr;
    difference_type i_ = 0;
};

}  // namespace detail

/// A plan over the index range [0, n), computed on demand (no storage per chunk).
/// By grain g: chunk i is [i*g, min(n, (i+1)*g)). By count c: min(c, n) chunks whose sizes differ by at
/// most one, the larger first.
class index_plan {
public:
    /// Throws chunking_error when g.size == 0.
    index_plan(std::size_t n, grain g) : n_(n) {
        if (g.size == 0) throw chunking_error("grain must be positive", 0, 0);
        count_ = n == 0 ? 1 : (n - 1) / g.size + 1;
        base_ = g.size;
        larger_ = 0;
    }
    /// Throws chunking_error when c.count == 0.
    index_plan(std::size_t n, chunk_count c) : n_(n) {
        if (c.count == 0) throw chunking_error("chunk count must be positive", 0, 0);
        count_ = n == 0 ? 1 : std::min(c.count, n);
        base_ = n / count_;
        larger_ = n % count_;  // the first `larger_` chunks hold base_ + 1 elements
    }

    /// Number of chunks (at least 1).
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    /// Number of elements covered (n).
    [[nodiscard]] std::size_t input_size() const noexcept { return n_; }

    [[nodiscard]] chunk operator[](std::size_t i) const noexcept {
        const auto begin = i * base_ + std::min(i, larger_);
        const auto end = std::min(n_, begin + base_ + (i < larger_ ? 1 : 0));
        return {i, begin, end};
    }
    [[nodiscard]] detail::plan_iterator<index_plan> begin() const { return {this, 0}; }
    [[nodiscard]] detail::plan_iterator<index_plan> end() const { return {this, count_}; }

private:
    std::size_t n_;
    std::size_t count_;
    std::size_t base_;
    std::size_t larger_;
};

/// Chunks of `g.size` elements over [0, n). O(1).
inline index_plan chunks(std::size_t n, grain g) { return {n, g}; }
/// At most this many chunks in a plan with the automatic grain.
inline constexpr std::size_t automatic_chunk_limit = 1024;
/// The grain chunks(n) uses: ceil(n / 1024), at least 1. It depends on n alone, never on the machine
/// or the thread count, so a map_reduce over chunks(n) has the same bits everywhere. 1024 chunks keep
/// 64 threads busy with 16 chunks each, while the executor's cost per chunk (a call and a check of the
/// stop state, docs/chunked_executor.md) stays small against chunks of 1,000 elements and more. Very
/// cheap bodies over small n gain from a larger explicit grain.
[[nodiscard]] constexpr std::size_t automatic_grain(std::size_t n) noexcept {
    return n <= automatic_chunk_limit ? 1 : (n - 1) / automatic_chunk_limit + 1;
}
/// Chunks over [0, n) with the automatic grain (automatic_grain(n)): at most 1024 chunks. O(1).
inline index_plan chunks(std::size_t n) { return {n, grain{automatic_grain(n)}}; }
/// `c.count` balanced chunks over [0, n) (fewer when n < c.count). O(1).
inline index_plan chunks(std::size_t n, chunk_count c) { return {n, c}; }

/// A plan over a byte buffer, cut at stored boundaries. The buffer must outlive the plan.
class byte_plan {
public:
    /// `bounds` holds 0, the cut offsets in increasing order, and data.size() (or {0, 0} when empty).
    byte_plan(std::string_view data, std::vector<std::size_t> bounds) : data_(data), bounds_(std::move(bounds)) {}

    [[nodiscard]] std::size_t size() const noexcept { return bounds_.size() - 1; }
    /// Number of bytes covered.
    [[nodiscard]] std::size_t input_size() const noexcept { return data_.size(); }
    [[nodiscard]] std::string_view data() const noexcept { return data_; }

    [[nodiscard]] byte_chunk operator[](std::size_t i) const noexcept {
        const auto b = bounds_[i];
        const auto e = bounds_[i + 1];
        return {{i, b, e}, data_.substr(b, e - b)};
    }
    [[nodiscard]] detail::plan_iterator<byte_plan> begin() const { return {this, 0}; }
    [[nodiscard]] detail::plan_iterator<byte_plan> end() const { return {this, size()}; }

private:
    std::string_view data_;
    std::vector<std::size_t> bounds_;
};

/// A boundary finder: `finder(data, pos)` returns the smallest record boundary b with pos <= b <=
/// data.size() (data.size() when no boundary follows pos).
template <class F>
concept boundary_finder =
    std::invocable<const F&, std::string_view, std::size_t> &&
    std::convertible_to<std::invoke_result_t<const F&, std::string_view, std::size_t>, std::size_t>;

/// Record-aligned plan: each chunk ends at the first boundary at or after `target_bytes` past its
/// start, so no record is cut; a chunk may be longer than target_bytes when a record is.
/// O(number of chunks x distance to a boundary), sequential; the buffer must outlive the plan.
/// Throws chunking_error when target_bytes == 0 or when `finder` returns an offset outside
/// [pos, data.size()].
template <boundary_finder Finder>
byte_plan split_bytes(std::string_view data, std::size_t target_bytes, const Finder& finder) {
    if (target_bytes == 0) throw chunking_error("target chunk size must be positive", 0, 0);
    std::vector<std::size_t> bounds{0};
    while (bounds.back() < data.size()) {
        const auto begin = bounds.back();
        const auto pos = data.size() - begin > target_bytes ? begin + target_bytes : data.size();
        const auto end = pos == data.size() ? pos : static_cast<std::size_t>(finder(data, pos));
        if (end < pos || end > data.size())
            throw chunking_error(
                "boundary finder returned " + std::to_string(end) + " for search position " + std::to_string(pos),
                bounds.size() - 1, pos);
        bounds.push_back(end);
    }
    if (bounds.size() == 1) bounds.push_back(0);  // empty input: one empty chunk
    return {data, std::move(bounds)};
}

/// Fixed-size plan: chunks of exactly `target_bytes` (the last may be shorter). O(number of chunks).
/// Throws chunking_error when target_bytes == 0.
inline byte_plan split_bytes(std::string_view data, std::size_t target_bytes) {
    return split_bytes(data, target_bytes, [](std::string_view, std::size_t pos) { return pos; });
}

}  // namespace parex
