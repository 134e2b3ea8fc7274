#pragma once
// transport/scattering.hpp: the angular-scattering operator of simulation<T> (a Gaussian in theta of
// variance T_dM ds per step, Gottschalk's differential Moliere scattering power) and its kernels.

#include <transport/kernels.hpp>
#include <transport/multiple_scattering.hpp>
#include <transport/simulation.hpp>

#include <common/vector_isa.hpp>

#include <parex/chunking.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace transport {

template <class T>
std::size_t simulation<T>::scatter() {
    if (stopped()) return 0;
    const std::size_t first = zlo_ * c_.nx, cells = (zhi_ - zlo_) * c_.nx;
    const std::size_t blocks = (cells + scatter_block - 1) / scatter_block;
    const std::size_t lo = lo_;
    clear_next_outside(current());
    const bool past_cache = store_past_cache();
    executor_.for_each(parex::chunks((hi_ - lo_) * blocks, parex::grain{1}), [&](const parex::chunk& ch) {
        const examples::flush_subnormals ftz;
        examples::with_widest_vectors([&](auto vector_bytes) EXAMPLES_ALWAYS_INLINE {
            constexpr std::size_t bytes = decltype(vector_bytes)::value;
            for (std::size_t u = ch.begin; u < ch.end; ++u) {
                const std::size_t i = lo + u / blocks;
                const std::size_t q0 = first + (u % blocks) * scatter_block;
                const std::size_t n = std::min(first + cells, q0 + scatter_block) - q0;
                const T* in = psi_.data() + i * p_ + q0;
                T* out = next_.data() + i * p_ + q0;
                const kernel& kn = kernels_[i];
                std::size_t q = 0;
                for (; q + scatter_lane <= n; q += scatter_lane)
                    detail::convolve_lane<bytes, scatter_lane>(coefficients_.data() + kn.offset, kn.half_width,
                                                               c_.angles, q_, in + q, out + q, scatter_lane,
                                                               q0 + q + 2 * scatter_lane <= first + cells, past_cache);
                if (q < n)
                    detail::convolve_lane<bytes, scatter_lane>(coefficients_.data() + kn.offset, kn.half_width,
                                                               c_.angles, q_, in + q, out + q, n - q, false, false);
            }
        });
        if (past_cache) examples::streaming_store_fence();
    });
    swap_buffers(current());
    return (hi_ - lo_) * c_.angles * cells;
}

template <class T>
void simulation<T>::build_kernels() {
    const std::size_t na = c_.angles;
    const double h = 2 * c_.theta_max_rad / static_cast<double>(na);
    theta_.resize(na);
    for (std::size_t k = 0; k < na; ++k) theta_[k] = -c_.theta_max_rad + (static_cast<double>(k) + 0.5) * h;
    kernels_.resize(c_.energies);
    coefficients_.clear();
    angular_variance_.resize(c_.energies);
    const double ds = c_.step_cm * water_density_g_cm3;
    const double p1v1 = proton_pv_mev(detail::beam_top_mev(c_, *table_));
    for (std::size_t i = 0; i < c_.energies; ++i) {
        // T_dM at the middle of the step, times the step
        const double middle = table_->energy_at_csda_range(std::max(range_[i] - ds / 2, range_.back()));
        angular_variance_[i] = differential_moliere_power(proton_pv_mev(middle), p1v1) * ds;
        const double sigma = std::sqrt(angular_variance_[i]) / h;
        const auto half_width_of = [&](double s) {
            return std::min<std::size_t>(na - 1, static_cast<std::size_t>(std::ceil(4 * s)) + 1);
        };
        const auto variance = [&](double s) {
            double sum = 0, second = 0;
            const auto m = static_cast<long>(half_width_of(s));
            for (long d = -m; d <= m; ++d) {
                const double g = std::exp(-0.5 * static_cast<double>(d * d) / (s * s));
                sum += g;
                second += static_cast<double>(d * d) * g;
            }
            return second / sum;
        };
        const double s = detail::gaussian_width_for(sigma * sigma, std::max(1.0, 2 * sigma), variance);
        kernel& kn = kernels_[i];
        kn.half_width = half_width_of(s);
        kn.offset = coefficients_.size();
        const std::size_t width = 2 * kn.half_width + 1;
        std::vector<double> g(width);
        for (std::size_t d = 0; d < width; ++d) {
            const double offset = static_cast<double>(d) - static_cast<double>(kn.half_width);
            g[d] = std::exp(-0.5 * offset * offset / (s * s));
        }
        for (std::size_t j = 0; j < na; ++j) {  // row j: the weights from source bin j, renormalised
            double norm = 0;
            for (std::size_t d = 0; d < width; ++d) {
                const auto k = static_cast<long>(j + d) - static_cast<long>(kn.half_width);
                if (k >= 0 && k < static_cast<long>(na)) norm += g[d];
            }
            for (std::size_t d = 0; d < width; ++d) {
                const auto k = static_cast<long>(j + d) - static_cast<long>(kn.half_width);
                coefficients_.push_back(k >= 0 && k < static_cast<long>(na) ? static_cast<T>(g[d] / norm) : T(0));
            }
        }
    }
}

}  // namespace transport
