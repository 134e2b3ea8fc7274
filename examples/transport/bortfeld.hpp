#pragma once
// transport/bortfeld.hpp: the reference a simulated depth-dose curve is judged against: Bortfeld's
// analytic Bragg curve (Med. Phys. 24(12) (1997) 2024-2033) evaluated with PSTAR's range-energy
// relation instead of its power law, and the 1-D gamma index that compares two curves.

#include <transport/config.hpp>
#include <transport/interactions.hpp>
#include <transport/stopping_power.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <vector>

namespace transport {

/// Bortfeld's range straggling of a monoenergetic beam in water, cm: sigma = 0.012 R0^0.935, R0 in cm
/// (Bortfeld 1997, the fit to the straggling width integrated from Bohr's formula).
inline double bortfeld_straggling_cm(double range_cm) { return 0.012 * std::pow(range_cm, 0.935); }

/// Bortfeld's laterally integrated depth dose, MeV cm^2/g per incident proton, averaged over each of
/// `cells` depth cells of `dz_cm` from the surface. Without straggling, at residual range r = R0 - z,
///     D(z) = [(1 + beta r) S(E(r)) + gamma beta E(r)] / (1 + beta R0),
/// primaries slowing down (fluence falling linearly with depth) plus the local share gamma of the
/// energy nuclear interactions release (beta = 0.012 per cm, gamma = 0.6); E(r) and S from PSTAR
/// (`t`). Straggling: the curve is averaged over Gaussian ranges R0 + u of width
/// sigma^2 = bortfeld_straggling_cm(R0)^2 + (sigma_E / S(E0))^2, the beam's energy spread sigma_E
/// converted to range as Bortfeld does. 41 ranges over +-5 sigma, 16 points per cell.
inline std::vector<double> bortfeld_depth_dose(const stopping_power_table& t, double energy_mev,
                                               double energy_spread_mev, double dz_cm, std::size_t cells) {
    const double r0 = t.csda_range(energy_mev) / water_density_g_cm3;
    const double spread = energy_spread_mev / t.stopping_power(energy_mev) / water_density_g_cm3;
    const double sigma = std::hypot(bortfeld_straggling_cm(r0), spread);
    const double r_max = t.csda_range(t.max_energy_mev()) / water_density_g_cm3;
    const double r_min = t.csda_range(t.min_energy_mev()) / water_density_g_cm3;
    const double beta = nuclear_beta_per_cm;
    const auto unstraggled = [&](double z, double range) {  // MeV cm^2/g
        const double r = std::min(range - z, r_max);
        if (r <= r_min) return 0.0;
        const double e = t.energy_at_csda_range(r * water_density_g_cm3);
        return ((1 + beta * r) * t.stopping_power(e) + nuclear_local_fraction * beta * e / water_density_g_cm3) /
               (1 + beta * range);
    };
    constexpr int ranges = 41, points = 16;
    std::vector<double> weight(ranges), shift(ranges);
    double total = 0;
    for (int k = 0; k < ranges; ++k) {
        const double u = (k - (ranges - 1) / 2.0) * 10.0 / (ranges - 1);  // in sigmas
        shift[k] = u * sigma;
        weight[k] = std::exp(-0.5 * u * u);
        total += weight[k];
    }
    std::vector<double> d(cells, 0.0);
    for (std::size_t c = 0; c < cells; ++c) {
        double sum = 0;
        for (int p = 0; p < points; ++p) {
            const double z = (static_cast<double>(c) + (p + 0.5) / points) * dz_cm;
            for (int k = 0; k < ranges; ++k) sum += weight[k] / total * unstraggled(z, r0 + shift[k]);
        }
        d[c] = sum / points;
    }
    return d;
}

/// The 1-D global gamma index (Low et al., Med. Phys. 25(5) (1998) 656) of `evaluated` against
/// `reference`, both one value per depth cell of dz_cm at the cell centres: for each evaluated cell from
/// the first to the last whose reference is at least `from_level` of the reference maximum beyond the
/// peak (the distal R10 for 0.1), gamma = min over the reference, linearly interpolated in steps of
/// dz/100, of sqrt((dz / distance)^2 + (dD / (dose_tolerance x reference maximum))^2). Returns the
/// fraction of those cells with gamma <= 1.
inline double gamma_pass_rate(const std::vector<double>& evaluated, const std::vector<double>& reference, double dz_cm,
                              double dose_tolerance, double distance_cm, double from_level = 0.1) {
    const std::size_t n = std::min(evaluated.size(), reference.size());
    if (n == 0) return 0;
    const auto peak = std::max_element(reference.begin(), reference.begin() + static_cast<long>(n));
    const double maximum = *peak;
    std::size_t last = static_cast<std::size_t>(peak - reference.begin());
    while (last + 1 < n && reference[last + 1] >= from_level * maximum) ++last;
    const int sub = 100;
    std::size_t passed = 0;
    for (std::size_t i = 0; i <= last; ++i) {
        const double zi = (static_cast<double>(i) + 0.5) * dz_cm;
        double best = std::numeric_limits<double>::infinity();
        const auto reach = static_cast<std::size_t>(std::ceil(3 * distance_cm / dz_cm)) + 1;
        const std::size_t j0 = i > reach ? i - reach : 0, j1 = std::min(n - 1, i + reach);
        for (std::size_t j = j0; j < j1; ++j)
            for (int s = 0; s <= sub; ++s) {
                const double f = static_cast<double>(s) / sub;
                const double zr = (static_cast<double>(j) + 0.5 + f) * dz_cm;
                const double dr = reference[j] + f * (reference[j + 1] - reference[j]);
                const double a = (zi - zr) / distance_cm, b = (evaluated[i] - dr) / (dose_tolerance * maximum);
                best = std::min(best, a * a + b * b);
            }
        if (best <= 1) ++passed;
    }
    return static_cast<double>(passed) / static_cast<double>(last + 1);
}

}  // namespace transport
