#pragma once
// transport/interactions.hpp: what happens to a proton over a step besides its mean energy loss: the
// spread of that loss (Bohr's energy-loss straggling) and its removal by non-elastic nuclear
// interactions (Bortfeld's linear fluence model), with the energy those release.

#include <transport/stopping_power.hpp>

namespace transport {

/// Bohr's energy-loss straggling in water: the rate at which the variance of a proton's energy grows
/// along its path, MeV^2 per g/cm^2,
///     d(sigma_E^2)/dx = 4 pi N_A r_e^2 (m_e c^2)^2 (Z/A) (1 - beta^2/2) / (1 - beta^2),
/// Bohr's variance with the relativistic factor of the Gaussian regime (Geant4 Physics Reference Manual,
/// "Fluctuations in energy loss", the Gaussian regime), Z/A = 0.55509 for
/// water (NIST). Integrated over the range it gives the range straggling of about 1.1 % of the range
/// that Bortfeld's fit sigma = 0.012 R0^0.935 expresses (Med. Phys. 24(12) (1997) 2024).
inline double bohr_variance_rate_mev2_cm2_g(double kinetic_mev) {
    constexpr double avogadro = 6.02214076e23, electron_radius_cm = 2.8179403262e-13, electron_mev = 0.51099895;
    constexpr double z_over_a = 0.55509;
    constexpr double pi = 3.14159265358979323846;
    const double gamma = 1 + kinetic_mev / proton_mass_mev;
    const double beta2 = 1 - 1 / (gamma * gamma);
    return 4 * pi * avogadro * electron_radius_cm * electron_radius_cm * electron_mev * electron_mev * z_over_a *
           (1 - beta2 / 2) / (1 - beta2);
}

/// Bortfeld's nuclear attenuation: the fluence of primary protons falls linearly with depth,
/// Phi(z) = Phi_0 (1 + beta (R0 - z)) / (1 + beta R0), with beta = 0.012 per cm of water, and a fraction
/// gamma = 0.6 of the energy a removed proton carried is deposited locally (by its charged secondaries),
/// the rest carried away (neutrons, gammas) (Bortfeld, "An analytical approximation of the Bragg curve
/// for therapeutic proton beams", Med. Phys. 24(12) (1997) 2024-2033).
inline constexpr double nuclear_beta_per_cm = 0.012;
inline constexpr double nuclear_local_fraction = 0.6;

/// The fraction of primary protons a step of `step_g_cm2` removes from protons of residual CSDA range
/// `residual_g_cm2`: beta ds / (1 + beta r), the linear model's loss over the step (a proton that would
/// stop within the step is removed in proportion to the part it travels).
inline double nuclear_removal(double residual_g_cm2, double step_g_cm2) {
    const double beta = nuclear_beta_per_cm / water_density_g_cm3;
    const double travelled = step_g_cm2 < residual_g_cm2 ? step_g_cm2 : residual_g_cm2;
    return beta * travelled / (1 + beta * residual_g_cm2);
}

}  // namespace transport
