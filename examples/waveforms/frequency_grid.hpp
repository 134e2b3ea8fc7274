#pragma once
// waveforms/frequency_grid.hpp: the uniform frequency grid f_k = k delta_f of a batch, with the per-bin
// quantities every waveform model reuses.

#include <waveforms/vector_math.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace waveforms {

/// f_k = k delta_f for k < length, Hz.
inline std::vector<double> uniform_frequencies(double delta_f, std::size_t length) {
    std::vector<double> f(length);
    for (std::size_t k = 0; k < length; ++k) f[k] = double(k) * delta_f;
    return f;
}

/// The grid f_k = k delta_f, k < length, with the per-bin quantities every waveform reuses: f_k, f_k^(1/3)
/// and ln f_k. A waveform of total mass M then needs no cube root or logarithm per bin:
/// (M f)^(1/3) = M^(1/3) f^(1/3), ln(M f) = ln M + ln f. Building it is O(length).
struct frequency_grid {
    double delta_f = 0;
    std::vector<double> f, cbrt_f, log_f;

    frequency_grid() = default;
    frequency_grid(double delta_f_, std::size_t length)
        : delta_f(delta_f_),
          f(uniform_frequencies(delta_f_, length)),
          cbrt_f(length),
          log_f(length) {
        for (std::size_t k = 0; k < length; ++k) {
            cbrt_f[k] = std::cbrt(f[k]);
            log_f[k] = std::log(f[k]);
        }
    }
    [[nodiscard]] std::size_t size() const noexcept { return f.size(); }
};

namespace detail {

/// First k in [first, end) with M f_k >= threshold (M f grows with k).
inline std::size_t first_at_or_above(const frequency_grid& grid, double m_sec, double threshold, std::size_t first,
                                     std::size_t end) {
    const auto begin = grid.f.begin();
    return std::size_t(std::partition_point(begin + std::ptrdiff_t(first), begin + std::ptrdiff_t(end),
                                            [&](double f) { return m_sec * f < threshold; }) -
                       begin);
}

}  // namespace detail

}  // namespace waveforms
