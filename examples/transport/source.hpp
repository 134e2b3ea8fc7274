#pragma once
// transport/source.hpp: where simulation<T>'s fluence starts (set_source): the configured beam,
// Gaussian in energy, position and angle, or a uniform fill of the whole phase space.

#include <transport/simulation.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <vector>

namespace transport {

namespace detail {

/// The shares of a Gaussian N(mean, sigma) that fall in each of the bins centred at `centres` (ascending,
/// bin edges half-way between centres, the outer bins as wide as their neighbours), renormalised to the
/// bins (the tails beyond the grid are cut). sigma = 0: the bin(s) whose centre is nearest the mean, two
/// halves on a tie (the central pair of an even count).
inline std::vector<double> gaussian_shares(const std::vector<double>& centres, double mean, double sigma) {
    const std::size_t n = centres.size();
    std::vector<double> w(n, 0.0);
    const auto edge = [&](std::size_t k) {  // the lower edge of bin k, k in [0, n]
        if (n == 1) return k == 0 ? centres[0] - 0.5 : centres[0] + 0.5;
        if (k == 0) return centres[0] - (centres[1] - centres[0]) / 2;
        if (k == n) return centres[n - 1] + (centres[n - 1] - centres[n - 2]) / 2;
        return (centres[k - 1] + centres[k]) / 2;
    };
    if (sigma == 0) {
        std::size_t best = 0;
        for (std::size_t k = 1; k < n; ++k)
            if (std::abs(centres[k] - mean) < std::abs(centres[best] - mean)) best = k;
        const double d = std::abs(centres[best] - mean);
        const auto tie = [&](std::size_t k) { return k < n && std::abs(std::abs(centres[k] - mean) - d) < 1e-12; };
        if (best + 1 < n && tie(best + 1))
            w[best] = w[best + 1] = 0.5;
        else
            w[best] = 1;
        return w;
    }
    const auto cdf = [&](double x) { return 0.5 * std::erfc(-(x - mean) / (sigma * std::numbers::sqrt2)); };
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const double lo = edge(k), hi = edge(k + 1);
        w[k] = std::abs(cdf(hi) - cdf(lo));
        sum += w[k];
    }
    for (auto& v : w) v = sum > 0 ? v / sum : 0.0;
    return w;
}

}  // namespace detail

template <class T>
void simulation<T>::set_source(source s) {
    clear_outside(psi_, current(), {});
    clear_outside(next_, next_window_, {});
    next_window_ = {};
    released_ = 0;
    std::fill(dose_.begin(), dose_.end(), 0.0);
    books_ = {};
    bin_fluence_.assign(c_.energies, 0.0);
    row_fluence_.assign(c_.nz, 0.0);
    row_sums_ = {};
    if (s == source::uniform) {
        std::fill(psi_.begin(), psi_.end(), static_cast<T>(1.0 / static_cast<double>(bins_)));
        lo_ = 0, hi_ = c_.energies, zlo_ = 0, zhi_ = c_.nz;
        double e = 0;
        for (const double ei : energy_) e += ei / static_cast<double>(c_.energies);
        std::fill(bin_fluence_.begin(), bin_fluence_.end(), 1.0 / static_cast<double>(c_.energies));
        std::fill(row_fluence_.begin(), row_fluence_.end(), 1.0 / static_cast<double>(c_.nz));
        books_.incident = books_.in_grid = {1, e};
        return;
    }
    // energy: the beam's spectrum over the bins' entrance energies (ascending for gaussian_shares)
    std::vector<double> entrance(entrance_energy_.rbegin(), entrance_energy_.rend());
    std::vector<double> by_energy = detail::gaussian_shares(entrance, c_.energy_mev, c_.energy_spread_mev);
    std::reverse(by_energy.begin(), by_energy.end());
    if (c_.energy_spread_mev == 0) {  // a delta: all of it in the top bin, which the grid starts from
        std::fill(by_energy.begin(), by_energy.end(), 0.0);
        by_energy[0] = 1;
    }
    for (auto& w : by_energy)
        if (w < negligible * 1e-3) w = 0;  // the far tails: not worth a bin's pages
    double total = 0;
    for (const double w : by_energy) total += w;
    std::vector<double> lateral(c_.nx);
    for (std::size_t x = 0; x < c_.nx; ++x)
        lateral[x] = (static_cast<double>(x) + 0.5 - 0.5 * static_cast<double>(c_.nx)) * c_.dx_cm;
    const auto by_angle = detail::gaussian_shares(theta_, 0, c_.divergence_rad);
    const auto by_position = detail::gaussian_shares(lateral, 0, c_.beam_sigma_cm);
    lo_ = c_.energies, hi_ = 0, zlo_ = 0, zhi_ = 1;
    double carried = 0, incident = 0, in_grid = 0;
    for (std::size_t i = 0; i < c_.energies; ++i) {
        if (by_energy[i] == 0) continue;
        lo_ = std::min(lo_, i), hi_ = i + 1;
        for (std::size_t k = 0; k < c_.angles; ++k)
            for (std::size_t x = 0; x < c_.nx; ++x)
                psi_[i * p_ + k * q_ + x] = static_cast<T>(by_energy[i] * by_angle[k] * by_position[x]);
        bin_fluence_[i] = by_energy[i];
        carried += by_energy[i] * (entrance_energy_[i] - energy_[i]);  // lost between z = 0 and the first step
        incident += by_energy[i] * entrance_energy_[i];
        in_grid += by_energy[i] * energy_[i];
    }
    for (std::size_t x = 0; x < c_.nx; ++x) dose_[x] += carried * by_position[x];
    row_fluence_[0] = total;
    books_.incident = {total, incident};
    books_.in_grid = {total, in_grid};
    books_.deposited_mev = carried;
}

}  // namespace transport
