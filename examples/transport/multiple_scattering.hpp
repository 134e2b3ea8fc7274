#pragma once
// transport/multiple_scattering.hpp: the scattering power of protons in water (Gottschalk's differential
// Moliere T_dM), the RMS angle it accumulates over the range, and the Fermi-Eyges lateral spread built on
// it, which size the grid and are the reference the simulation's lateral spread is checked against.

#include <transport/stopping_power.hpp>

#include <algorithm>
#include <cmath>

namespace transport {

/// Characteristic energy E_s of the differential Moliere scattering power, MeV (Gottschalk, "On the
/// scattering power of radiotherapy protons", Med. Phys. 37(1) (2010) 352-367, the differential Moliere formula).
inline constexpr double scattering_power_es_mev = 15.0;

/// The scattering length X_S of liquid water, g/cm^2, by Gottschalk 2010's definition:
///     1/X_S = alpha N_A r_e^2 sum_i w_i (Z_i^2 / A_i) (2 ln(33219 (A_i Z_i)^(-1/3)) - 1)
/// over hydrogen and oxygen by weight (w_H = 0.111894, NIST's composition of water), with CODATA 2018
/// constants. Evaluates to 46.88 g/cm^2, the value Gottschalk 2010 lists for water (tested).
inline double water_scattering_length_g_cm2() {
    constexpr double alpha = 7.2973525693e-3, avogadro = 6.02214076e23, electron_radius_cm = 2.8179403262e-13;
    const auto term = [](double z, double a) { return z * z / a * (2 * std::log(33219 * std::cbrt(1 / (a * z))) - 1); };
    constexpr double w_hydrogen = 0.111894;
    const double sum = w_hydrogen * term(1, 1.00794) + (1 - w_hydrogen) * term(8, 15.9994);
    return 1 / (alpha * avogadro * electron_radius_cm * electron_radius_cm * sum);
}

/// pv = (pc)^2 / (total energy) of a proton of kinetic energy `kinetic_mev`, MeV.
inline double proton_pv_mev(double kinetic_mev) {
    return kinetic_mev * (kinetic_mev + 2 * proton_mass_mev) / (kinetic_mev + proton_mass_mev);
}

/// Gottschalk's differential Moliere scattering power T_dM in water, rad^2 per g/cm^2: the rate at which
/// the mean square projected angle grows along the path, for a proton of pv `pv_mev` that entered the
/// water with pv `p1v1_mev` (Gottschalk 2010, the differential Moliere scattering power):
///     T_dM = f_dM(pv, p1v1) (E_s / pv)^2 / X_S,
///     f_dM = 0.5244 + 0.1975 lg(1 - (pv/p1v1)^2) + 0.2320 lg(pv) - 0.0098 lg(pv) lg(1 - (pv/p1v1)^2).
/// It depends on the path travelled (through p1v1) but not on a step size, so the spread it gives
/// converges as steps shrink. f_dM diverges to -infinity at the entrance (pv = p1v1), where the formula
/// does not apply; it is clamped at 0 there (the first micrometres).
inline double differential_moliere_power(double pv_mev, double p1v1_mev) {
    static const double x_s = water_scattering_length_g_cm2();
    const double depletion = std::log10(std::max(1 - (pv_mev / p1v1_mev) * (pv_mev / p1v1_mev), 1e-300));
    const double lg_pv = std::log10(pv_mev);
    const double f = 0.5244 + 0.1975 * depletion + 0.2320 * lg_pv - 0.0098 * lg_pv * depletion;
    const double es = scattering_power_es_mev / pv_mev;
    return std::max(f, 0.0) * es * es / x_s;
}

/// The scattering power at residual range `residual_g_cm2` of a beam that entered with
/// `entrance_mev`: T_dM with E from the CSDA range-energy relation, rad^2 per g/cm^2.
inline double scattering_power_at(const stopping_power_table& t, double entrance_mev, double residual_g_cm2) {
    return differential_moliere_power(proton_pv_mev(t.energy_at_csda_range(residual_g_cm2)),
                                      proton_pv_mev(entrance_mev));
}

/// The moments of Fermi-Eyges theory for a beam of `energy_mev` entering water, at depth `depth_cm`:
/// A_n = integral from 0 to z of (z - s)^n T(s) ds, with T = T_dM and E(s) the CSDA energy at depth s
/// (Gottschalk 2010). A_0 is the projected angular variance (rad^2), A_2 the lateral variance
/// (cm^2) of a pencil beam (Gottschalk 2010, Fermi-Eyges theory). Midpoint rule on 4000 intervals.
struct fermi_eyges_moments {
    double a0 = 0, a1 = 0, a2 = 0;
};
inline fermi_eyges_moments fermi_eyges(const stopping_power_table& t, double energy_mev, double depth_cm) {
    const double range = t.csda_range(energy_mev) / water_density_g_cm3;
    const double end = std::min(depth_cm, range * (1 - 1e-9));
    constexpr int n = 4000;
    fermi_eyges_moments m;
    for (int k = 0; k < n; ++k) {
        const double s = (k + 0.5) * end / n;
        const double power =
            scattering_power_at(t, energy_mev, (range - s) * water_density_g_cm3) * water_density_g_cm3 * (end / n);
        m.a0 += power;
        m.a1 += (depth_cm - s) * power;
        m.a2 += (depth_cm - s) * (depth_cm - s) * power;
    }
    return m;
}

/// Fermi-Eyges lateral spread, cm, at `depth_cm` of a beam with an initial Gaussian spot of
/// `beam_sigma_cm` and an uncorrelated Gaussian divergence of `divergence_rad` at the surface:
/// sigma_x^2 = sigma_0^2 + (theta_0 z)^2 + A_2(z) (an uncorrelated Gaussian source's moments add to the
/// pencil beam's in Fermi-Eyges theory; Gottschalk 2010).
inline double fermi_eyges_sigma_cm(const stopping_power_table& t, double energy_mev, double depth_cm,
                                   double beam_sigma_cm = 0, double divergence_rad = 0) {
    const double spread = divergence_rad * depth_cm;
    return std::sqrt(beam_sigma_cm * beam_sigma_cm + spread * spread + fermi_eyges(t, energy_mev, depth_cm).a2);
}

/// The projected RMS angle at the end of the CSDA range, radians: sqrt(A_0) over the whole range.
inline double rms_angle_at_end_of_range(const stopping_power_table& t, double energy_mev) {
    const double range = t.csda_range(energy_mev) / water_density_g_cm3;
    return std::sqrt(fermi_eyges(t, energy_mev, range).a0);
}

}  // namespace transport
