#pragma once
// The combine tree of map_reduce: its shape depends on the number of partial results alone, so a
// floating-point reduction gives the same bits on any number of threads or ranks.

#include <cstddef>
#include <utility>
#include <vector>

namespace parex::detail {

/// Over n partial results: level by level, stride 1, 2, 4, ..., pair p of a level combines
/// partials[2 p stride] with partials[2 p stride + stride] into the left one. tree_pairs is the number
/// of pairs of a level.
inline constexpr std::size_t tree_pairs(std::size_t n, std::size_t stride) noexcept {
    return (n - stride + 2 * stride - 1) / (2 * stride);
}
template <class T, class Reduce>
void combine_pair(std::vector<T>& partials, std::size_t stride, std::size_t pair, Reduce& reduce) {
    const auto left = pair * 2 * stride;
    partials[left] = reduce(std::move(partials[left]), std::move(partials[left + stride]));
}
/// The whole tree on the calling thread; the result is then partials[0] (when there is one).
template <class T, class Reduce>
void combine_tree(std::vector<T>& partials, Reduce& reduce) {
    for (std::size_t stride = 1; stride < partials.size(); stride *= 2)
        for (std::size_t p = 0, pairs = tree_pairs(partials.size(), stride); p < pairs; ++p)
            combine_pair(partials, stride, p, reduce);
}

}  // namespace parex::detail
