#pragma once
// Reading a depth-dose distribution the way a proton physicist does: the laterally integrated depth-dose
// curve, the depth of its maximum (the Bragg peak), R80 on the distal side, and the lateral spread.

#include <transport/config.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace transport {

/// Laterally integrated depth dose: energy deposited per cm of depth, MeV/cm per incident proton, one
/// value per depth cell (at the cell centres (k + 1/2) dz). `deposited` is [nz][nx] in MeV.
inline std::vector<double> depth_dose(const config& c, std::span<const double> deposited) {
    std::vector<double> d(c.nz, 0.0);
    for (std::size_t z = 0; z < c.nz; ++z)
        for (std::size_t x = 0; x < c.nx; ++x) d[z] += deposited[z * c.nx + x] / c.dz_cm;
    return d;
}

/// Depth of the dose maximum, cm: the centre of the cell with the largest value (resolution dz).
inline double bragg_peak_cm(const config& c, const std::vector<double>& depth_dose) {
    const auto k =
        static_cast<std::size_t>(std::max_element(depth_dose.begin(), depth_dose.end()) - depth_dose.begin());
    return (static_cast<double>(k) + 0.5) * c.dz_cm;
}

/// The depth beyond the maximum where the depth dose falls to `level` (0.8 for R80, 0.2 for R20) of
/// it, cm, by linear interpolation between cell centres. NaN when it does not fall that far inside the
/// grid.
inline double distal_depth_cm(const config& c, const std::vector<double>& depth_dose, double level) {
    const auto peak = std::max_element(depth_dose.begin(), depth_dose.end());
    const double threshold = level * *peak;
    for (auto it = peak + 1; it != depth_dose.end(); ++it) {
        if (*it >= threshold) continue;
        const auto k = static_cast<double>(it - depth_dose.begin());
        const double before = *(it - 1), after = *it;
        return (k - 0.5 + (before - threshold) / (before - after)) * c.dz_cm;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

/// R80, cm: distal_depth_cm at 80 % of the maximum.
inline double r80_cm(const config& c, const std::vector<double>& depth_dose) {
    return distal_depth_cm(c, depth_dose, 0.8);
}

/// RMS lateral spread of the dose, cm, in the depth cell containing depth_cm (about its own mean).
/// Throws std::out_of_range when depth_cm is outside the grid.
inline double lateral_sigma_cm(const config& c, std::span<const double> deposited, double depth_cm) {
    if (!(depth_cm >= 0 && depth_cm < static_cast<double>(c.nz) * c.dz_cm))
        throw std::out_of_range("lateral_sigma_cm: depth " + std::to_string(depth_cm) + " cm outside the grid");
    const auto z = static_cast<std::size_t>(depth_cm / c.dz_cm);
    double w = 0, first = 0, second = 0;
    for (std::size_t x = 0; x < c.nx; ++x) {
        const double pos = (static_cast<double>(x) + 0.5 - 0.5 * static_cast<double>(c.nx)) * c.dx_cm;
        const double d = deposited[z * c.nx + x];
        w += d;
        first += d * pos;
        second += d * pos * pos;
    }
    const double mean = first / w;
    return std::sqrt(std::max(0.0, second / w - mean * mean));
}

}  // namespace transport
