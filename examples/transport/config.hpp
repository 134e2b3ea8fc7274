#pragma once
// transport/config.hpp: a run's grid and beam (config), its size limits, and how the fields left at 0
// are filled (resolve) and checked.

#include <transport/multiple_scattering.hpp>
#include <transport/stopping_power.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

namespace transport {

/// A run's grid and beam. Lengths in cm, energies in MeV (kinetic), angles in radians. Fields left at 0
/// are filled by resolve(); the simulation itself takes only complete configurations.
struct config {
    double energy_mev = 100;    ///< beam energy E_max, inside the stopping-power table
    double cutoff_mev = 1;      ///< fluence that would fall below the grid's lowest energy is absorbed
    std::size_t energies = 0;   ///< Ne, energy bins uniform in CSDA range from E_max down to the cut-off
    std::size_t angles = 41;    ///< Ntheta, bins uniform over [-theta_max, theta_max]
    std::size_t nz = 0;         ///< depth cells of dz, from the entrance surface z = 0
    std::size_t nx = 0;         ///< lateral cells of dx, centred on the beam axis x = 0
    double dz_cm = 0;           ///< depth cell; 0: default_cell_cm
    double dx_cm = 0;           ///< lateral cell; 0: default_cell_cm
    double step_cm = 0;         ///< path length per step, at most min(dz, dx)
    double theta_max_rad = 0;   ///< half-width of the angular grid, in (0, pi/2)
    double dy_cm = 1;           ///< thickness of the 2-D slab, for dose per incident proton
    std::size_t max_steps = 0;  ///< run() stops after this many steps at the latest
    // The beam at the surface: Gaussian in energy, position and angle, independently; 0 is a delta.
    double energy_spread_mev = 0;  ///< sigma_E of the kinetic energy around energy_mev
    double beam_sigma_cm = 0;      ///< sigma_x of the spot
    double divergence_rad = 0;     ///< sigma_theta of the direction, uncorrelated with position
};

/// Size limits of a grid, checked by resolve() and validate(): a cell count per axis, the angle and
/// energy bins, and the phase-space bins Ne x Ntheta x nz x nx (computed without overflow). With them
/// psi's two buffers take at most 2 x max_bins x sizeof(T) bytes (32 GiB in f32), and every loop over
/// the range in steps of a cell runs at most max_cells_per_axis times (a cell of 1e-300 cm is refused,
/// not looped over).
inline constexpr std::size_t max_cells_per_axis = std::size_t{1} << 20;
inline constexpr std::size_t max_angles = std::size_t{1} << 16;
inline constexpr std::size_t max_energies = std::size_t{1} << 20;
inline constexpr std::size_t max_bins = std::size_t{1} << 32;

/// Precision of the fluence (tallies and dose are always double).
enum class precision { f32, f64 };

namespace detail {

/// The highest energy the beam brings: energy_mev + 4 sigma_E, at most the table's top.
inline double beam_top_mev(const config& c, const stopping_power_table& t) {
    return std::min(c.energy_mev + 4 * c.energy_spread_mev, t.max_energy_mev());
}

/// The CSDA range the beam loses before the first step: it enters at z = 0 and is carried analytically
/// to z0 - ds/2, where z0 = dz/2 is the first node, so that the first energy-loss step covers
/// [z0 - ds/2, z0 + ds/2] (zero when ds = dz).
inline double entrance_carry_g_cm2(const config& c) { return (c.dz_cm - c.step_cm) / 2 * water_density_g_cm3; }

/// (R_top, E_top): the top of the energy grid, the beam's highest energy carried to the first step.
inline std::pair<double, double> grid_top(const config& c, const stopping_power_table& t) {
    const double r = t.csda_range(beam_top_mev(c, t)) - entrance_carry_g_cm2(c);
    return {r, t.energy_at_csda_range(r)};
}

inline void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("transport config: " + what);
}
inline std::string str(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return text;
}

/// Checks every field resolve() does not fill. Throws std::invalid_argument naming the field and value.
inline void validate_given(const config& c, const stopping_power_table& t) {
    require(c.energy_mev > t.min_energy_mev() && c.energy_mev <= t.max_energy_mev(),
            "energy_mev = " + str(c.energy_mev) + " outside the stopping-power table (" + str(t.min_energy_mev()) +
                ", " + str(t.max_energy_mev()) + "] MeV");
    require(c.cutoff_mev >= t.min_energy_mev() && c.cutoff_mev < c.energy_mev,
            "cutoff_mev = " + str(c.cutoff_mev) + " must lie in [" + str(t.min_energy_mev()) + ", energy_mev)");
    require(c.dz_cm > 0, "dz_cm = " + str(c.dz_cm) + " must be positive");
    require(c.dx_cm > 0, "dx_cm = " + str(c.dx_cm) + " must be positive");
    require(c.dy_cm > 0, "dy_cm = " + str(c.dy_cm) + " must be positive");
    require(c.angles > 0, "angles = 0 must be positive");
    require(c.energy_spread_mev >= 0 && c.energy_spread_mev <= 0.25 * c.energy_mev,
            "energy_spread_mev = " + str(c.energy_spread_mev) + " must lie in [0, energy_mev / 4]");
    require(c.beam_sigma_cm >= 0 && c.beam_sigma_cm <= 100,
            "beam_sigma_cm = " + str(c.beam_sigma_cm) + " must lie in [0, 100]");
    require(c.divergence_rad >= 0 && c.divergence_rad <= 0.2,
            "divergence_rad = " + str(c.divergence_rad) + " must lie in [0, 0.2]");
    require(c.step_cm >= 0, "step_cm = " + str(c.step_cm) + " must be positive");
    require(c.step_cm <= std::min(c.dz_cm, c.dx_cm), "step_cm = " + str(c.step_cm) +
                                                         " is longer than a cell (dz_cm = " + str(c.dz_cm) +
                                                         ", dx_cm = " + str(c.dx_cm) + ")");
    require(c.theta_max_rad >= 0 && c.theta_max_rad < std::numbers::pi / 2,
            "theta_max_rad = " + str(c.theta_max_rad) + " must lie in (0, pi/2)");
    require(c.energies != 1, "energies = 1: the grid needs at least two energy bins");
    require(c.energies <= max_energies,
            "energies = " + std::to_string(c.energies) + " is above the limit " + std::to_string(max_energies));
    require(c.angles <= max_angles,
            "angles = " + std::to_string(c.angles) + " is above the limit " + std::to_string(max_angles));
    require(c.nz <= max_cells_per_axis,
            "nz = " + std::to_string(c.nz) + " is above the limit " + std::to_string(max_cells_per_axis));
    require(c.nx <= max_cells_per_axis,
            "nx = " + std::to_string(c.nx) + " is above the limit " + std::to_string(max_cells_per_axis));
    // the range in cells and in steps: bounded, so that loops stepping through it end
    const double range_cm = t.csda_range(beam_top_mev(c, t)) / water_density_g_cm3;
    const auto cells = [&](double length_cm) { return range_cm / length_cm; };
    const auto limit = static_cast<double>(max_cells_per_axis);
    require(cells(c.dz_cm) <= limit, "dz_cm = " + str(c.dz_cm) + ": the beam's range of " + str(range_cm) +
                                         " cm would take more than " + std::to_string(max_cells_per_axis) + " cells");
    require(cells(c.dx_cm) <= limit, "dx_cm = " + str(c.dx_cm) + ": the beam's range of " + str(range_cm) +
                                         " cm would take more than " + std::to_string(max_cells_per_axis) + " cells");
    require(c.step_cm == 0 || cells(c.step_cm) <= limit, "step_cm = " + str(c.step_cm) + ": the beam's range of " +
                                                             str(range_cm) + " cm would take more than " +
                                                             std::to_string(max_cells_per_axis) + " steps");
}

/// Ne x Ntheta x nz x nx, or 0 when it exceeds max_bins (the product is formed without overflow: each
/// factor is at most 2^20).
inline std::size_t phase_space_bins(const config& c) {
    std::size_t bins = 1;
    for (const std::size_t n : {c.energies, c.angles, c.nz, c.nx}) {
        if (n != 0 && bins > max_bins / n) return 0;
        bins *= n;
    }
    return bins;
}

/// Checks a complete configuration (no field left to resolve()).
inline void validate(const config& c, const stopping_power_table& t) {
    validate_given(c, t);
    require(c.step_cm > 0, "step_cm = " + str(c.step_cm) + " must be positive");
    require(c.theta_max_rad > 0, "theta_max_rad = " + str(c.theta_max_rad) + " must lie in (0, pi/2)");
    require(c.energies >= 2, "energies = " + std::to_string(c.energies) + " must be at least 2");
    require(c.nz > 0, "nz = 0 must be positive");
    require(c.nx > 0, "nx = 0 must be positive");
    require(c.max_steps > 0, "max_steps = 0 must be positive");
    require(phase_space_bins(c) != 0, "energies x angles x nz x nx = " + std::to_string(c.energies) + " x " +
                                          std::to_string(c.angles) + " x " + std::to_string(c.nz) + " x " +
                                          std::to_string(c.nx) + " bins is above the limit " +
                                          std::to_string(max_bins));
    const double r_cut = t.csda_range(c.cutoff_mev);
    require(grid_top(c, t).first > r_cut, "cutoff_mev = " + str(c.cutoff_mev) + " leaves no range to transport");
}

}  // namespace detail

/// The default cell side, cm: 1 mm, halved until it is at most a third of the Fermi-Eyges lateral
/// spread at the end of the range (the beam's spot and divergence included), so that the lateral
/// profile spans several cells wherever it is wider than half a cell (at 1 mm, a 70 MeV pencil beam
/// never exceeds one cell, and any grid scheme's numerical spread would rival the physical one).
/// 0.25 mm at 70 MeV, 0.5 mm at 100 MeV, 1 mm from about 130 MeV.
inline double default_cell_cm(const config& c, const stopping_power_table& t) {
    const double range = t.csda_range(c.energy_mev) / water_density_g_cm3;
    const double sigma = fermi_eyges_sigma_cm(t, c.energy_mev, range, c.beam_sigma_cm, c.divergence_rad);
    double cell = 0.1;
    while (cell > sigma / 3 && cell > 0.1 / 64) cell /= 2;
    return cell;
}

/// Fills the fields left at 0, then validates. Defaults, all for a beam that stops inside the grid:
/// dz = dx = default_cell_cm; step = min(dz, dx); energies = one bin per step of residual range from the beam's top energy
/// (energy_mev + 4 sigma_E), with the cut-off raised (by less than one step of range) so that the mean
/// energy loss moves fluence exactly one bin per step, without numerical straggling; theta_max = 5 x
/// the RMS angle at the end of the range with the divergence added in quadrature (in [0.02, 1.2]); nz =
/// the CSDA range plus 5 % and 3 cells; nx = odd, covering +-(5 sigma_x at the end of range + 3 dx),
/// sigma_x from Fermi-Eyges with the beam's spot and divergence; max_steps = twice the range in steps
/// plus Ne plus 10. Throws std::invalid_argument naming a bad field.
inline config resolve(config c, const stopping_power_table& t) {
    if (c.dz_cm == 0 || c.dx_cm == 0) {
        config probe = c;  // the energy, spread, spot and divergence checked before they are used
        probe.dz_cm = probe.dx_cm = 0.1;
        detail::validate_given(probe, t);
        const double cell = default_cell_cm(c, t);
        if (c.dz_cm == 0) c.dz_cm = cell;
        if (c.dx_cm == 0) c.dx_cm = cell;
    }
    detail::validate_given(c, t);
    if (c.step_cm == 0) c.step_cm = std::min(c.dz_cm, c.dx_cm);
    const double range = t.csda_range(detail::beam_top_mev(c, t)) / water_density_g_cm3;
    const double r_top = detail::grid_top(c, t).first;
    if (c.energies == 0) {
        const double r_cut = t.csda_range(c.cutoff_mev);
        detail::require(r_top > r_cut, "cutoff_mev = " + detail::str(c.cutoff_mev) + " leaves no range to transport");
        const auto steps = static_cast<std::size_t>(std::floor((r_top - r_cut) / (c.step_cm * water_density_g_cm3)));
        c.energies = std::max<std::size_t>(steps, 1) + 1;
        c.cutoff_mev =
            t.energy_at_csda_range(r_top - static_cast<double>(c.energies - 1) * c.step_cm * water_density_g_cm3);
    }
    if (c.theta_max_rad == 0)
        c.theta_max_rad =
            std::clamp(5 * std::hypot(rms_angle_at_end_of_range(t, c.energy_mev), c.divergence_rad), 0.02, 1.2);
    if (c.nz == 0) c.nz = static_cast<std::size_t>(std::ceil(1.05 * range / c.dz_cm)) + 3;
    if (c.nx == 0) {
        const double sigma = fermi_eyges_sigma_cm(t, c.energy_mev, range, c.beam_sigma_cm, c.divergence_rad);
        const double half = 5 * sigma + 3 * c.dx_cm;
        c.nx = 2 * static_cast<std::size_t>(std::ceil(half / c.dx_cm)) + 1;
    }
    if (c.max_steps == 0) c.max_steps = static_cast<std::size_t>(2 * range / c.step_cm) + c.energies + 10;
    detail::validate(c, t);
    return c;
}

/// A coarse grid fitted to the beam's range: 40 x 40 cells, 72 angles, 200 energies (23.0M phase-space
/// bins); cells sized so that the CSDA range plus 10 % fits the 40 depth cells (dz = dx = step), so the
/// beam stops after about 36 steps. Throws std::invalid_argument as resolve.
inline config range_fitted_grid(double energy_mev, const stopping_power_table& t) {
    config c;
    c.energy_mev = energy_mev;
    c.dz_cm = c.dx_cm = 0.1;  // replaced below, once the energy is known to be valid
    detail::validate_given(c, t);
    c.nz = c.nx = 40;
    c.angles = 72;
    c.energies = 200;
    c.dz_cm = c.dx_cm = c.step_cm = 1.1 * t.csda_range(energy_mev) / water_density_g_cm3 / 40;
    return resolve(c, t);
}

}  // namespace transport
