#pragma once
// transport/multiple_scattering.hpp: Highland's multiple-scattering angle and the beam-optics results
// built on it (the RMS angle at the end of the range, the Fermi-Eyges lateral spread), which size the
// grid and check the simulation.

#include <transport/stopping_power.hpp>

#include <algorithm>
#include <cmath>

namespace transport {

/// Highland's projected RMS multiple-scattering angle, radians, for a proton (charge 1) of kinetic
/// energy `kinetic_mev` crossing `thickness_g_cm2` of a medium of radiation length `x0_g_cm2`:
///     theta0 = 13.6 MeV / (beta c p) * sqrt(x/X0) * (1 + 0.038 ln(x / (X0 beta^2)))
/// (PDG Review of Particle Physics, "Passage of particles through matter", multiple scattering through
/// small angles; Lynch and Dahl, NIM B58 (1991) 6). Clamped at 0 where the logarithmic term would make
/// it negative (x / (X0 beta^2) below 4e-12).
inline double highland_theta0(double kinetic_mev, double thickness_g_cm2,
                              double x0_g_cm2 = water_radiation_length_g_cm2) {
    const double total = kinetic_mev + proton_mass_mev;
    const double pc2 = kinetic_mev * (kinetic_mev + 2 * proton_mass_mev);  // (pc)^2
    const double beta2 = pc2 / (total * total);
    const double beta_c_p = pc2 / total;
    const double t = thickness_g_cm2 / x0_g_cm2;
    const double theta = 13.6 / beta_c_p * std::sqrt(t) * (1 + 0.038 * std::log(t / beta2));
    return theta > 0 ? theta : 0.0;
}

/// Highland's theta0 summed in quadrature over the steps of a beam slowing down from energy_mev:
/// the projected RMS angle at the end of its CSDA range, radians.
inline double rms_angle_at_end_of_range(const stopping_power_table& t, double energy_mev, double step_cm,
                                        double cutoff_mev) {
    const double r_end = t.csda_range(cutoff_mev);
    double variance = 0;
    for (double r = t.csda_range(energy_mev); r > r_end; r -= step_cm) {
        const double theta0 = highland_theta0(t.energy_at_csda_range(r), step_cm * water_density_g_cm3);
        variance += theta0 * theta0;
    }
    return std::sqrt(variance);
}

/// Fermi-Eyges lateral spread, cm: sigma_x(z)^2 = integral from 0 to z of (z - s)^2 T(s) ds, with the
/// scattering power T(s) = theta0(E(s), ds)^2 / ds of the same per-step Highland angle the simulation
/// uses, and E(s) the CSDA energy at depth s (Gottschalk, "On the scattering power of radiotherapy
/// protons", Med. Phys. 37 (2010) 352, Eq. 3 for the moments). Midpoint rule on 4000 intervals.
inline double fermi_eyges_sigma_cm(const stopping_power_table& t, double energy_mev, double step_cm, double depth_cm) {
    const double range = t.csda_range(energy_mev) / water_density_g_cm3;
    const double end = std::min(depth_cm, range * (1 - 1e-9));
    constexpr int n = 4000;
    double variance = 0;
    for (int k = 0; k < n; ++k) {
        const double s = (k + 0.5) * end / n;
        const double e = t.energy_at_csda_range((range - s) * water_density_g_cm3);
        const double theta0 = highland_theta0(e, step_cm * water_density_g_cm3);
        variance += (depth_cm - s) * (depth_cm - s) * theta0 * theta0 / step_cm * (end / n);
    }
    return std::sqrt(variance);
}

}  // namespace transport
