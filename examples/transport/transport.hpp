#pragma once
// Operator-split transport of a proton pencil beam in liquid water, in two dimensions (depth z, lateral
// x), on parex: the phase-space fluence psi[E, theta, z, x] lives in one parex arena (two buffers), and
// each operator runs through parex's chunked executor over the dimensions it parallelises best.
//
// One step of path length ds, at the nodes where the fluence sits (cell centres):
//   1. energy loss   over theta x z x x  continuous slowing down by ds (CSDA), deposit as dose
//   2. scattering    over E x z x x      Gaussian in theta with Highland's theta0 for ds
//   3. streaming     over E x theta      move by ds (cos theta, sin theta), area-weighted, escapes tallied
// Energy loss first is Strang splitting with the half steps of neighbouring steps merged: the energy lost
// between the midpoints of two path segments is deposited at the node between them, so the dose is
// registered on the cells where it is lost, not half a step up- or downstream.

#include <transport/stopping_power.hpp>
#include <common/vector_isa.hpp>

#include <parex/chunked_executor.hpp>
#include <parex/shm_arena.hpp>
#include <parex/topology.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace transport {

/// A run's grid and beam. Lengths in cm, energies in MeV (kinetic), angles in radians. Fields left at 0
/// are filled by resolve(); the simulation itself takes only complete configurations.
struct config {
    double energy_mev = 100;       ///< beam energy E_max, inside the stopping-power table
    double cutoff_mev = 1;         ///< fluence that would fall below the grid's lowest energy is absorbed
    std::size_t energies = 0;      ///< Ne, energy bins uniform in CSDA range from E_max down to the cut-off
    std::size_t angles = 41;       ///< Ntheta, bins uniform over [-theta_max, theta_max]
    std::size_t nz = 0;            ///< depth cells of dz, from the entrance surface z = 0
    std::size_t nx = 0;            ///< lateral cells of dx, centred on the beam axis x = 0
    double dz_cm = 0.1;
    double dx_cm = 0.1;
    double step_cm = 0;            ///< path length per step, at most min(dz, dx)
    double theta_max_rad = 0;      ///< half-width of the angular grid, in (0, pi/2)
    double dy_cm = 1;              ///< thickness of the 2-D slab, for dose per incident proton
    std::size_t max_steps = 0;     ///< run() stops after this many steps at the latest
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

/// (R_top, E_top): the beam enters at z = 0 and is carried analytically to z0 - ds/2, where z0 = dz/2 is
/// the first node, so that the first energy-loss step covers [z0 - ds/2, z0 + ds/2] (zero when ds = dz).
inline std::pair<double, double> grid_top(const config& c, const stopping_power_table& t) {
    const double r = t.csda_range(c.energy_mev) - (c.dz_cm - c.step_cm) / 2 * water_density_g_cm3;
    return {r, t.energy_at_csda_range(r)};
}

/// The sum of s[0, n) in double, as eight interleaved partial sums (element x in partial x % 8) added
/// pairwise at the end: a fixed order, so the same bits for any schedule, that the compiler vectorises
/// (one running sum is a chain of dependent additions it may not reorder).
template <class T>
double sum_of(const T* s, std::size_t n) {
    double partial[8] = {};
    std::size_t x = 0;
    for (; x + 8 <= n; x += 8)
        for (std::size_t l = 0; l < 8; ++l) partial[l] += static_cast<double>(s[x + l]);
    for (; x < n; ++x) partial[x % 8] += static_cast<double>(s[x]);
    return ((partial[0] + partial[4]) + (partial[1] + partial[5])) + ((partial[2] + partial[6]) + (partial[3] + partial[7]));
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
    require(c.step_cm >= 0, "step_cm = " + str(c.step_cm) + " must be positive");
    require(c.step_cm <= std::min(c.dz_cm, c.dx_cm),
            "step_cm = " + str(c.step_cm) + " is longer than a cell (dz_cm = " + str(c.dz_cm) + ", dx_cm = " +
                str(c.dx_cm) + ")");
    require(c.theta_max_rad >= 0 && c.theta_max_rad < std::numbers::pi / 2,
            "theta_max_rad = " + str(c.theta_max_rad) + " must lie in (0, pi/2)");
    require(c.energies != 1, "energies = 1: the grid needs at least two energy bins");
    require(c.energies <= max_energies, "energies = " + std::to_string(c.energies) + " is above the limit " + std::to_string(max_energies));
    require(c.angles <= max_angles, "angles = " + std::to_string(c.angles) + " is above the limit " + std::to_string(max_angles));
    require(c.nz <= max_cells_per_axis, "nz = " + std::to_string(c.nz) + " is above the limit " + std::to_string(max_cells_per_axis));
    require(c.nx <= max_cells_per_axis, "nx = " + std::to_string(c.nx) + " is above the limit " + std::to_string(max_cells_per_axis));
    // the range in cells and in steps: bounded, so that loops stepping through it end
    const double range_cm = t.csda_range(c.energy_mev) / water_density_g_cm3;
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
                                          std::to_string(c.nx) + " bins is above the limit " + std::to_string(max_bins));
    const double r_cut = t.csda_range(c.cutoff_mev);
    require(grid_top(c, t).first > r_cut, "cutoff_mev = " + str(c.cutoff_mev) + " leaves no range to transport");
}

}  // namespace detail

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

/// Fills the fields left at 0, then validates. Defaults, all for a beam that stops inside the grid:
/// step = dz; energies = one bin per step of residual range, with the cut-off raised (by less than one
/// step of range) so that energy loss moves fluence exactly one bin per step, without numerical
/// straggling; theta_max = 5 x rms_angle_at_end_of_range (at least 0.02); nz = the CSDA range plus 5 %
/// and 3 cells; nx = odd, covering +-(5 sigma_x at the end of range + 3 dx); max_steps = twice the range
/// in steps plus Ne plus 10. Throws std::invalid_argument naming a bad field.
inline config resolve(config c, const stopping_power_table& t) {
    detail::validate_given(c, t);
    if (c.step_cm == 0) c.step_cm = std::min(c.dz_cm, c.dx_cm);
    const double range = t.csda_range(c.energy_mev) / water_density_g_cm3;
    const double r_top = detail::grid_top(c, t).first;
    if (c.energies == 0) {
        const double r_cut = t.csda_range(c.cutoff_mev);
        detail::require(r_top > r_cut, "cutoff_mev = " + detail::str(c.cutoff_mev) + " leaves no range to transport");
        const auto steps = static_cast<std::size_t>(std::floor((r_top - r_cut) / (c.step_cm * water_density_g_cm3)));
        c.energies = std::max<std::size_t>(steps, 1) + 1;
        c.cutoff_mev = t.energy_at_csda_range(r_top - static_cast<double>(c.energies - 1) * c.step_cm * water_density_g_cm3);
    }
    if (c.theta_max_rad == 0)
        c.theta_max_rad = std::clamp(5 * rms_angle_at_end_of_range(t, c.energy_mev, c.step_cm, c.cutoff_mev), 0.02, 1.2);
    if (c.nz == 0) c.nz = static_cast<std::size_t>(std::ceil(1.05 * range / c.dz_cm)) + 3;
    if (c.nx == 0) {
        const double half = 5 * fermi_eyges_sigma_cm(t, c.energy_mev, c.step_cm, range) + 3 * c.dx_cm;
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
    detail::validate_given(c, t);
    c.nz = c.nx = 40;
    c.angles = 72;
    c.energies = 200;
    c.dz_cm = c.dx_cm = c.step_cm = 1.1 * t.csda_range(energy_mev) / water_density_g_cm3 / 40;
    return resolve(c, t);
}

/// Particles and kinetic energy (MeV), per incident proton.
struct tally {
    double particles = 0;
    double energy_mev = 0;
    friend tally operator+(tally a, const tally& b) { return {a.particles + b.particles, a.energy_mev + b.energy_mev}; }
};

/// The books after a step, per incident proton. Conservation: incident = in_grid + escaped + absorbed
/// (particles) and incident energy = in_grid + deposited + escaped (energy); the residuals are the
/// relative differences.
struct balance {
    tally incident, in_grid, escaped, absorbed;
    double deposited_mev = 0;  ///< absorbed particles' remaining energy included
    [[nodiscard]] double particle_residual() const {
        return std::abs(incident.particles - (in_grid.particles + escaped.particles + absorbed.particles)) /
               incident.particles;
    }
    [[nodiscard]] double energy_residual() const {
        return std::abs(incident.energy_mev - (in_grid.energy_mev + deposited_mev + escaped.energy_mev)) /
               incident.energy_mev;
    }
};

/// Where the fluence starts. pencil_beam: one proton at E_max, theta = 0, on the axis, entering at
/// z = 0 (split equally between the two central bins when Ntheta or nx is even). uniform: every bin of
/// psi holds the same fluence (one proton in all): every bin active, the operators' worst case.
enum class source { pencil_beam, uniform };

/// What run() measured.
struct run_report {
    std::size_t steps = 0;
    double seconds = 0;              ///< wall clock of the steps
    double bins_updated = 0;         ///< sum over steps and operators of the bins each operator updated / 3
    double max_particle_residual = 0;
    double max_energy_residual = 0;
    [[nodiscard]] double seconds_per_step() const { return steps ? seconds / static_cast<double>(steps) : 0; }
    /// Bins of psi advanced through a full step per second (bins in the active energy window).
    [[nodiscard]] double bins_per_second() const { return seconds > 0 ? bins_updated / seconds : 0; }
};

/// The transport engine for fluence of type T (float or double).
///
/// Memory: 2 x Ne x Ntheta x nz x nx x sizeof(T) for psi (double buffered), Ntheta x nz x nx x sizeof(T)
/// for one step's deposits and nz x nx doubles for the dose, in one anonymous parex arena (page-aligned,
/// transparent huge pages requested). An active window larger than the last-level cache is written
/// past the cache (store_past_cache), which changes the speed, not the values.
/// Determinism: chunk plans depend on the grid alone and every reduction goes through map_reduce's
/// fixed tree, so dose and tallies are the same bits for any thread count.
/// Active window: operators process only the energy bins that can hold fluence ([lo, hi), which energy
/// loss moves down); the others are known to be zero.
template <class T>
class simulation {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);

public:
    /// Throws std::invalid_argument naming a bad field of `c` (see resolve), std::system_error when the
    /// arena cannot be mapped.
    simulation(const config& c, const stopping_power_table& table, source s = source::pencil_beam,
               parex::executor_options executor = {})
        : c_((detail::validate(c, table), c)), table_(&table), executor_(executor),
          q_(c.nz * c.nx), p_(c.angles * q_), bins_(c.energies * p_),
          arena_(parex::shm_arena::create({.bytes = (2 * bins_ + p_) * sizeof(T) + q_ * sizeof(double) + 5 * 4096,
                                    .huge_pages = true})) {
        psi_ = arena_.allocate<T>(bins_, 4096);
        next_ = arena_.allocate<T>(bins_, 4096);
        edep_ = arena_.allocate<T>(p_, 4096);
        dose_ = arena_.allocate<double>(q_, 4096);
        build_energy_grid();
        build_kernels();
        build_shifts();
        next_hi_ = c_.energies;  // set_source clears it (and its pages are faulted in now, not in a step)
        set_source(s);
    }

    simulation(const simulation&) = delete;
    simulation& operator=(const simulation&) = delete;

    [[nodiscard]] const config& settings() const noexcept { return c_; }
    /// Bin energies, MeV, descending: E_0 is the energy at the first node (E_max carried to z0 - ds/2).
    [[nodiscard]] std::span<const double> energies_mev() const noexcept { return energy_; }
    /// Angle bin centres, radians, ascending.
    [[nodiscard]] std::span<const double> angles_rad() const noexcept { return theta_; }
    /// psi[E][theta][z][x], fluence per incident proton, x fastest.
    [[nodiscard]] std::span<const T> fluence() const noexcept { return psi_; }
    /// Energy deposited per cell, MeV per incident proton, [nz][nx].
    [[nodiscard]] std::span<const double> deposited_mev() const noexcept { return dose_; }
    /// The energy bins [lo, hi) that may hold fluence.
    [[nodiscard]] std::pair<std::size_t, std::size_t> active_energies() const noexcept { return {lo_, hi_}; }
    [[nodiscard]] const balance& books() const noexcept { return books_; }
    [[nodiscard]] bool stopped() const noexcept { return lo_ >= hi_; }

    /// Dose, Gy per incident proton, [nz][nx]: deposited energy over the cell's mass, dz dx dy at
    /// 1 g/cm^3 (the 2-D slab is dy thick).
    [[nodiscard]] std::vector<double> dose_gy() const {
        const double kg = water_density_g_cm3 * c_.dz_cm * c_.dx_cm * c_.dy_cm * 1e-3;
        std::vector<double> d(dose_.begin(), dose_.end());
        for (auto& v : d) v *= joule_per_mev / kg;
        return d;
    }

    /// Puts the source back and clears dose and tallies.
    void set_source(source s) {
        std::fill(psi_.begin(), psi_.end(), T(0));
        clear_next_outside(0, 0);
        std::fill(dose_.begin(), dose_.end(), 0.0);
        books_ = {};
        lo_ = 0;
        hi_ = c_.energies;
        if (s == source::uniform) {
            std::fill(psi_.begin(), psi_.end(), static_cast<T>(1.0 / static_cast<double>(bins_)));
            double e = 0;
            for (const double ei : energy_) e += ei / static_cast<double>(c_.energies);
            books_.incident = books_.in_grid = {1, e};
            return;
        }
        hi_ = 1;
        const auto central = [](std::size_t n) {  // the bin(s) whose centre is nearest 0, with their weights
            return n % 2 ? std::vector<std::pair<std::size_t, double>>{{n / 2, 1.0}}
                         : std::vector<std::pair<std::size_t, double>>{{n / 2 - 1, 0.5}, {n / 2, 0.5}};
        };
        const double carried = c_.energy_mev - energy_[0];  // lost between z = 0 and the first segment
        for (const auto& [k, wk] : central(c_.angles))
            for (const auto& [x, wx] : central(c_.nx)) psi_[k * q_ + x] = static_cast<T>(wk * wx);
        for (const auto& [x, wx] : central(c_.nx)) dose_[x] += carried * wx;
        books_.incident = {1, c_.energy_mev};
        books_.in_grid = {1, energy_[0]};
        books_.deposited_mev = carried;
    }

    /// Energy loss over ds for every bin of the active window, in parallel over theta x z x x: fluence at
    /// E_i moves to the energy E' with R(E') = R(E_i) - ds, shared between the two bins around E' so that
    /// both particles and energy are conserved; E_i - E' is deposited in the cell; fluence below the
    /// lowest bin deposits all of E_i and is absorbed. Returns the bins updated.
    std::size_t lose_energy() {
        if (stopped()) return 0;
        const auto [lo2, hi2] = window_after_loss();
        const std::size_t lo = lo_, hi = hi_;
        clear_next_outside(lo2, hi2);
        const bool past_cache = store_past_cache();
        const auto plan = parex::chunks(p_, parex::grain{loss_grain});
        const auto partial = executor_.map_reduce(plan, [&](const parex::chunk& ch) {
            // Each target row is written once, from its sources (a contiguous run of bins, since targets
            // do not decrease with the source), right after those sources' deposits were taken: psi is
            // read once and the new buffer written once, with the chunk's rows still in cache. Deposits
            // add up in T, one multiply-add per bin (in double, the conversions cost more than the
            // memory traffic in float32); the chunk's total is taken from them once, in double.
            const std::size_t n = ch.size();
            T* __restrict e = edep_.data() + ch.begin;
            std::fill_n(e, n, T(0));
            loss_tally t;
            std::size_t deposited_up_to = lo;
            const auto deposit_through = [&](std::size_t last) {
                for (; deposited_up_to <= last && deposited_up_to < hi; ++deposited_up_to) {
                    const std::size_t i = deposited_up_to;
                    const T* __restrict s = psi_.data() + i * p_ + ch.begin;
                    const T per_particle = static_cast<T>(remap_[i].deposit_mev);
                    for (std::size_t q = 0; q < n; ++q) e[q] += per_particle * s[q];
                    if (remap_[i].absorbed) {
                        const double sum = detail::sum_of(s, n);
                        t.absorbed += sum, t.absorbed_energy += sum * energy_[i];
                    }
                }
            };
            for (std::size_t j = lo2; j < hi2; ++j) {
                // the sources in the window: a contiguous run, ascending, of this target's sources
                const auto& from = sources_[j];
                const auto first = std::find_if(from.begin(), from.end(), [&](const auto& f) { return f.first >= lo; });
                const auto last = std::find_if(first, from.end(), [&](const auto& f) { return f.first >= hi; });
                const auto row = [&](std::size_t i) {
                    deposit_through(i);
                    return static_cast<const T*>(psi_.data() + i * p_ + ch.begin);
                };
                T* __restrict a = next_.data() + j * p_ + ch.begin;
                if (first == last) {
                    std::fill_n(a, n, T(0));
                    continue;
                }
                // the first two sources in one pass (a target has one or two on the usual grids); one
                // source adds 0 x itself, which changes no bit of the non-negative fluence
                const T* s0 = row(first->first);
                const T w0 = static_cast<T>(first->second);
                const bool two = last - first >= 2;
                const T* s1 = two ? row((first + 1)->first) : s0;
                const T w1 = two ? static_cast<T>((first + 1)->second) : T(0);
                weighted_sum(a, s0, w0, s1, w1, n, past_cache && last - first <= 2);
                for (auto f = first + 2; f < last; ++f) {
                    const T* __restrict s2 = row(f->first);
                    const T w2 = static_cast<T>(f->second);
                    for (std::size_t q = 0; q < n; ++q) a[q] += w2 * s2[q];
                }
            }
            if (past_cache) examples::streaming_store_fence();
            deposit_through(hi - 1);  // the absorbed bins at the bottom
            t.deposited = detail::sum_of(e, n);
            return t;
        }, std::plus<>{}, loss_tally{});
        // dose: the deposits of every angle summed in angle order, so the same bits for any schedule
        executor_.for_each(parex::chunks(q_, parex::grain{dose_grain}), [&](const parex::chunk& ch) {
            for (std::size_t q = ch.begin; q < ch.end; ++q) {
                double d = 0;
                for (std::size_t k = 0; k < c_.angles; ++k) d += static_cast<double>(edep_[k * q_ + q]);
                dose_[q] += d;
            }
        });
        books_.absorbed = books_.absorbed + tally{partial.absorbed, partial.absorbed_energy};
        books_.deposited_mev += partial.deposited;
        swap_buffers(lo2, hi2);
        return (hi - lo) * p_;
    }

    /// Angular scattering over ds for every bin of the active window, in parallel over E x z x x: each
    /// angular distribution convolved with a discrete Gaussian whose variance is Highland's theta0^2 for
    /// (E_i, ds). Edges: the kernel is cut at +-theta_max and renormalised per source bin, so fluence is
    /// conserved (none scatters out of the grid) at the cost of a narrower spread for fluence within a
    /// few theta0 of the edge. Returns the bins updated.
    std::size_t scatter() {
        if (stopped()) return 0;
        const std::size_t blocks = (q_ + scatter_block - 1) / scatter_block;
        const std::size_t lo = lo_;
        clear_next_outside(lo_, hi_);
        const bool past_cache = store_past_cache();
        executor_.for_each(parex::chunks((hi_ - lo_) * blocks, parex::grain{1}), [&](const parex::chunk& ch) {
            examples::with_widest_vectors([&](auto vector_bytes) PAREX_ALWAYS_INLINE {
                constexpr std::size_t bytes = decltype(vector_bytes)::value;
                for (std::size_t u = ch.begin; u < ch.end; ++u) {
                    const std::size_t i = lo + u / blocks;
                    const std::size_t q0 = (u % blocks) * scatter_block;
                    const std::size_t n = std::min(q_, q0 + scatter_block) - q0;
                    const T* in = psi_.data() + i * p_ + q0;
                    T* out = next_.data() + i * p_ + q0;
                    const kernel& kn = kernels_[i];
                    std::size_t q = 0;
                    for (; q + scatter_lane <= n; q += scatter_lane)
                        convolve_lane<bytes>(kn, in + q, out + q, scatter_lane, q + 2 * scatter_lane <= n, past_cache);
                    if (q < n) convolve_lane<bytes>(kn, in + q, out + q, n - q, false, false);
                }
            });
            if (past_cache) examples::streaming_store_fence();
        });
        swap_buffers(lo_, hi_);
        return (hi_ - lo_) * p_;
    }

    /// Streaming over ds for every bin of the active window, in parallel over E x theta: each (E, theta)
    /// plane moves by (ds cos theta / dz, ds sin theta / dx) cells, at most one, each cell's fluence
    /// shared among the (up to) four cells the moved cell overlaps, in proportion to the overlap areas
    /// (conservative, positive, first moment exact). Fluence moved out of the grid is tallied as escaped.
    /// Also recounts the fluence in the grid. Returns the bins updated.
    std::size_t stream() {
        if (stopped()) {
            books_.in_grid = {};
            return 0;
        }
        const std::size_t lo = lo_;
        const std::size_t planes = (hi_ - lo_) * c_.angles;
        clear_next_outside(lo_, hi_);
        const std::size_t per_chunk = std::max<std::size_t>(1, stream_grain / q_);
        const auto sums = executor_.map_reduce(parex::chunks(planes, parex::grain{per_chunk}), [&](const parex::chunk& ch) {
            stream_tally t;
            for (std::size_t p = ch.begin; p < ch.end; ++p) {
                const std::size_t plane = lo * c_.angles + p;
                const double e = energy_[plane / c_.angles];
                const shift& sh = shifts_[plane % c_.angles];
                const T* in = psi_.data() + plane * q_;
                const double inside = stream_plane(sh, in, next_.data() + plane * q_);
                const double edge = escaping(sh, in);
                t.escaped = t.escaped + tally{edge, edge * e};
                t.in_grid = t.in_grid + tally{inside, inside * e};
            }
            return t;
        }, std::plus<>{}, stream_tally{});
        books_.escaped = books_.escaped + sums.escaped;
        books_.in_grid = sums.in_grid;
        swap_buffers(lo_, hi_);
        return planes * q_;
    }

    /// One operator-split step: energy loss, scattering, streaming. Returns the bins in the window
    /// the step started with (the operators' mean).
    std::size_t step() {
        const std::size_t a = lose_energy(), b = scatter(), c = stream();
        return (a + b + c) / 3;
    }

    /// Steps until no fluence is left (all absorbed or escaped) or settings().max_steps were taken,
    /// checking conservation after every step.
    run_report run(const std::function<void(std::size_t step, const balance&)>& on_step = {}) {
        run_report r;
        const auto start = std::chrono::steady_clock::now();
        while (!stopped() && r.steps < c_.max_steps) {
            r.bins_updated += static_cast<double>(step());
            ++r.steps;
            r.max_particle_residual = std::max(r.max_particle_residual, books_.particle_residual());
            r.max_energy_residual = std::max(r.max_energy_residual, books_.energy_residual());
            if (on_step) on_step(r.steps, books_);
        }
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return r;
    }

private:
    static constexpr std::size_t loss_grain = 4096;      // positions (theta, z, x) per chunk
    static constexpr std::size_t dose_grain = 4096;      // cells per chunk
    static constexpr std::size_t scatter_block = 1024;   // cells per task
    static constexpr std::size_t scatter_lane = 128 / sizeof(T);  // cells summed in registers at once
    static constexpr std::size_t stream_grain = 16384;   // cells per chunk, whole planes

    struct remap {
        std::size_t target = 0;   ///< bin receiving `weight`; target + 1 receives 1 - weight
        double weight = 1;
        double deposit_mev = 0;   ///< E_i - E' (E_i when absorbed)
        bool absorbed = false;
    };
    struct kernel {
        std::size_t half_width = 0;
        std::size_t offset = 0;   ///< into coefficients_: Ntheta rows of 2 half_width + 1
    };
    struct shift {
        std::size_t row = 0, column = 0;  ///< floor(d) + 1 in {0, 1}: cell z moved by d overlaps z + row - 1 and z + row
        T w00 = 0, w01 = 0, w10 = 0, w11 = 0;
    };
    struct loss_tally {
        double absorbed = 0, absorbed_energy = 0, deposited = 0;
        friend loss_tally operator+(loss_tally a, const loss_tally& b) {
            return {a.absorbed + b.absorbed, a.absorbed_energy + b.absorbed_energy, a.deposited + b.deposited};
        }
    };
    struct stream_tally {
        tally escaped, in_grid;
        friend stream_tally operator+(stream_tally a, const stream_tally& b) {
            return {a.escaped + b.escaped, a.in_grid + b.in_grid};
        }
    };

    /// Scattering of m <= scatter_lane cells: out[k q_ + x] = sum over source angles j of w(j -> k) in[j q_ + x],
    /// target by target, the sum held in registers (128 bytes of T, in vectors of Bytes) and the sources
    /// read from L1 (Ntheta x 128 bytes), each target written once. Sources are added in ascending j.
    template <std::size_t Bytes>
    PAREX_ALWAYS_INLINE void convolve_lane(const kernel& kn, const T* __restrict in, T* __restrict out, std::size_t m,
                                           bool prefetch, bool past_cache) const {
        using vec = typename examples::vector_of<T, Bytes>::type;
        constexpr std::size_t per_vec = Bytes / sizeof(T), vecs = scatter_lane / per_vec;
        const std::size_t na = c_.angles, hw = kn.half_width, width = 2 * hw + 1;
        const T* coefficient = coefficients_.data() + kn.offset;
        for (std::size_t k = 0; k < na; ++k) {
            const std::size_t j0 = k > hw ? k - hw : 0, j1 = std::min(na - 1, k + hw);
            T* target = out + k * q_;
            if (prefetch) {  // the next lane's row k (Ntheta rows at once are more than the prefetchers follow)
                __builtin_prefetch(in + k * q_ + scatter_lane);
                __builtin_prefetch(in + k * q_ + scatter_lane + 64 / sizeof(T));
                if (!past_cache) {
                    __builtin_prefetch(target + scatter_lane, 1);
                    __builtin_prefetch(target + scatter_lane + 64 / sizeof(T), 1);
                }
            }
            if (m == scatter_lane) {  // the common case: the accumulators stay in registers
                vec acc[vecs] = {};
                for (std::size_t j = j0; j <= j1; ++j) {
                    const T w = coefficient[j * width + (k + hw - j)];
                    const T* s = in + j * q_;
#pragma GCC unroll 8
                    for (std::size_t v = 0; v < vecs; ++v) {
                        vec x;
                        std::memcpy(&x, s + v * per_vec, sizeof x);  // unaligned load
                        acc[v] += w * x;
                    }
                }
#pragma GCC unroll 8
                for (std::size_t v = 0; v < vecs; ++v) {
                    if (past_cache) examples::streaming_store(target + v * per_vec, acc[v]);
                    else std::memcpy(target + v * per_vec, &acc[v], sizeof(vec));
                }
                continue;
            }
            T acc[scatter_lane] = {};
            for (std::size_t j = j0; j <= j1; ++j) {
                const T w = coefficient[j * width + (k + hw - j)];
                const T* __restrict s = in + j * q_;
                for (std::size_t x = 0; x < m; ++x) acc[x] += w * s[x];
            }
            std::copy_n(acc, m, target);
        }
    }

    /// a[q] = w0 s0[q] + w1 s1[q] for q < n, stored past the cache if asked (a 16-byte aligned).
    static void weighted_sum(T* __restrict a, const T* __restrict s0, T w0, const T* __restrict s1, T w1, std::size_t n,
                             bool past_cache) {
        using vec = typename examples::vector_of<T, 16>::type;
        constexpr std::size_t per_vec = 16 / sizeof(T);
        std::size_t q = 0;
        if (past_cache) {
            for (; q + per_vec <= n; q += per_vec) {
                vec x0, x1;
                std::memcpy(&x0, s0 + q, sizeof x0);
                std::memcpy(&x1, s1 + q, sizeof x1);
                const vec sum = w0 * x0 + w1 * x1;
                examples::streaming_store(a + q, sum);
            }
        }
        for (; q < n; ++q) a[q] = w0 * s0[q] + w1 * s1[q];
    }

    /// One plane streamed in one gathering pass: a source cell (z, x) sends w_ab of its fluence to
    /// (z + row - 1 + a, x + column - 1 + b), so each cell gathers from the (up to) four cells whose
    /// moved copies overlap it, out[z][x] = w00 s0[x + c] + w01 s0[x + c - 1] + w10 s1[x + c] + w11 s1[x + c - 1],
    /// with s0, s1 the source rows z - row + 1 and z - row and c = 1 - column, summed in that order; a source
    /// outside the grid contributes nothing. Each output row is written once. Returns the fluence in out.
    double stream_plane(const shift& sh, const T* __restrict in, T* __restrict out) const {
        const std::size_t nz = c_.nz, nx = c_.nx, c = 1 - sh.column;
        double inside = 0;
        for (std::size_t z = 0; z < nz; ++z) {
            // source rows; a missing one is replaced by the other with zero weights (values are finite)
            const std::size_t r0 = z + 1 - sh.row;  // z or z + 1; r0 - 1 is z - 1 or z
            const bool has0 = r0 < nz, has1 = r0 >= 1;
            const T* __restrict s0 = in + (has0 ? r0 : r0 - 1) * nx;
            const T* __restrict s1 = has1 ? in + (r0 - 1) * nx : s0;
            const T w00 = has0 ? sh.w00 : T(0), w01 = has0 ? sh.w01 : T(0);
            const T w10 = has1 ? sh.w10 : T(0), w11 = has1 ? sh.w11 : T(0);
            T* __restrict d = out + z * nx;
            // x + c and x + c - 1 both inside for x in [1 - c, nx - c)
            for (std::size_t x = 1 - c; x < nx - c; ++x)
                d[x] = w00 * s0[x + c] + w01 * s0[x + c - 1] + w10 * s1[x + c] + w11 * s1[x + c - 1];
            if (c == 0) d[0] = w00 * s0[0] + w10 * s1[0];                     // its x - 1 sources lie outside
            else d[nx - 1] = w01 * s0[nx - 1] + w11 * s1[nx - 1];              // its x + 1 sources lie outside
            inside += detail::sum_of(d, nx);
        }
        return inside;
    }

    /// The fluence of one plane that streaming moves out of the grid: for each share w_ab, the source
    /// row and column whose destination lies outside (first or last, if any), their common cell once.
    double escaping(const shift& sh, const T* in) const {
        const std::size_t nz = c_.nz, nx = c_.nx;
        // Destination offsets oz + a and ox + b: -1 loses the first row (column), +1 the last, 0 none.
        // Each row and column sum is taken once, for the two shares that lose it.
        const long oz = static_cast<long>(sh.row) - 1, ox = static_cast<long>(sh.column) - 1;
        const auto edge = [](long offset, std::size_t n) { return offset < 0 ? std::size_t{0} : n - 1; };
        double row_lost[2] = {}, column_lost[2] = {};
        for (long a = 0; a < 2; ++a)
            if (oz + a != 0) row_lost[a] = detail::sum_of(in + edge(oz + a, nz) * nx, nx);
        for (long b = 0; b < 2; ++b)
            if (ox + b != 0)
                for (std::size_t z = 0; z < nz; ++z) column_lost[b] += static_cast<double>(in[z * nx + edge(ox + b, nx)]);
        const T w[2][2] = {{sh.w00, sh.w01}, {sh.w10, sh.w11}};
        double lost = 0;
        for (long a = 0; a < 2; ++a)
            for (long b = 0; b < 2; ++b) {
                if (w[a][b] == T(0)) continue;
                const double corner = oz + a != 0 && ox + b != 0
                                          ? static_cast<double>(in[edge(oz + a, nz) * nx + edge(ox + b, nx)])
                                          : 0.0;
                lost += static_cast<double>(w[a][b]) * (row_lost[a] + column_lost[b] - corner);
            }
        return lost;
    }

    /// Whether the operators store their output past the caches (examples::streaming_store): when the
    /// window read and written is larger than the last-level cache (32 MiB if sysfs does not say), so
    /// that the output would leave the cache before the next operator reads it anyway, and its rows
    /// are 16-byte aligned. A small window (a pencil beam on the default grid) stays in the cache.
    [[nodiscard]] bool store_past_cache() const {
        const std::size_t cache = parex::this_process_topology().last_level_cache_bytes.value_or(std::size_t{32} << 20);
        return (q_ * sizeof(T)) % 16 == 0 && 2 * (hi_ - lo_) * p_ * sizeof(T) > cache;
    }

    /// Before an operator writes the energy bins [a, b) of next_: zeroes the bins next_ may still hold
    /// fluence in outside them, so that psi_ is zero outside the active window after the swap.
    void clear_next_outside(std::size_t a, std::size_t b) {
        const auto clear = [&](std::size_t from, std::size_t to) {
            if (from < to) std::fill_n(next_.data() + from * p_, (to - from) * p_, T(0));
        };
        clear(next_lo_, std::min(next_hi_, a));
        clear(std::max(next_lo_, b), next_hi_);
        next_lo_ = std::max(next_lo_, a), next_hi_ = std::min(next_hi_, b);
        if (next_lo_ >= next_hi_) next_lo_ = next_hi_ = 0;
    }

    /// After an operator wrote the energy bins [a, b) of next_: they become the state and its window;
    /// the old state's window is what next_ may now hold.
    void swap_buffers(std::size_t a, std::size_t b) {
        std::swap(psi_, next_);
        next_lo_ = lo_, next_hi_ = hi_;
        lo_ = a, hi_ = b;
    }

    /// Energy bins uniform in CSDA range from (R_top, E_top) down to the cut-off; the remap of each bin
    /// after one step.
    void build_energy_grid() {
        const double ds = c_.step_cm * water_density_g_cm3;
        const auto [r_top, e_top] = detail::grid_top(c_, *table_);
        const double r_cut = table_->csda_range(c_.cutoff_mev);
        const std::size_t ne = c_.energies;
        const double dr = (r_top - r_cut) / static_cast<double>(ne - 1);
        range_.resize(ne);
        energy_.resize(ne);
        for (std::size_t i = 0; i < ne; ++i) {
            range_[i] = i + 1 == ne ? r_cut : r_top - static_cast<double>(i) * dr;
            energy_[i] = i == 0 ? e_top : i + 1 == ne ? c_.cutoff_mev : table_->energy_at_csda_range(range_[i]);
        }
        remap_.resize(ne);
        for (std::size_t i = 0; i < ne; ++i) {
            remap& m = remap_[i];
            const double r = range_[i] - ds;
            const double position = (r_top - r) / dr;  // fractional bin index of the range after the step
            const double nearest = std::round(position);
            if (r < r_cut && std::abs(position - static_cast<double>(ne - 1)) > 1e-9) {
                m = {i, 0, energy_[i], true};
                continue;
            }
            if (std::abs(position - nearest) <= 1e-9) {  // lands on a bin: an exact shift
                m = {static_cast<std::size_t>(nearest), 1, energy_[i] - energy_[static_cast<std::size_t>(nearest)], false};
                continue;
            }
            const auto j = std::min(static_cast<std::size_t>(std::floor(position)), ne - 2);
            const double e_after = table_->energy_at_csda_range(r);
            m = {j, (e_after - energy_[j + 1]) / (energy_[j] - energy_[j + 1]), energy_[i] - e_after, false};
        }
        sources_.assign(ne, {});
        for (std::size_t i = 0; i < ne; ++i) {
            const remap& m = remap_[i];
            if (m.absorbed) continue;
            sources_[m.target].emplace_back(i, m.weight);
            if (m.weight < 1) sources_[m.target + 1].emplace_back(i, 1 - m.weight);
        }
    }

    /// The window after one energy-loss step: remap targets are non-decreasing in the source bin.
    std::pair<std::size_t, std::size_t> window_after_loss() const {
        std::size_t lo = c_.energies, hi = 0;
        for (std::size_t i = lo_; i < hi_; ++i) {
            const remap& m = remap_[i];
            if (m.absorbed) continue;
            lo = std::min(lo, m.target);
            hi = std::max(hi, m.target + (m.weight < 1 ? 2 : 1));
        }
        return lo < hi ? std::pair{lo, hi} : std::pair{std::size_t{0}, std::size_t{0}};
    }

    /// Per energy bin, a discrete Gaussian g(d) = exp(-d^2 / 2s^2), |d| <= ceil(4s) + 1 bins, with s
    /// found by bisection so that the kernel's variance equals (theta0 / h)^2 exactly: a sampled
    /// Gaussian of width theta0 under-spreads once theta0 is below a bin, a bin-integrated one adds
    /// h^2/12 per step; both would bias the spread accumulated over hundreds of steps.
    void build_kernels() {
        const std::size_t na = c_.angles;
        const double h = 2 * c_.theta_max_rad / static_cast<double>(na);
        theta_.resize(na);
        for (std::size_t k = 0; k < na; ++k) theta_[k] = -c_.theta_max_rad + (static_cast<double>(k) + 0.5) * h;
        kernels_.resize(c_.energies);
        coefficients_.clear();
        for (std::size_t i = 0; i < c_.energies; ++i) {
            const double sigma = highland_theta0(energy_[i], c_.step_cm * water_density_g_cm3) / h;
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
            double lo = 1e-3, hi = std::max(1.0, 2 * sigma);
            for (int it = 0; it < 100; ++it) {
                const double mid = 0.5 * (lo + hi);
                (variance(mid) < sigma * sigma ? lo : hi) = mid;
            }
            const double s = 0.5 * (lo + hi);
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

    /// Per angle, the cells a cell moved by (dz, dx) cells overlaps and the overlap weights.
    void build_shifts() {
        shifts_.resize(c_.angles);
        for (std::size_t k = 0; k < c_.angles; ++k) {
            const auto split = [](double d) {  // d in [-1, 1] -> (offset in {-1, 0}, fraction in [0, 1])
                double o = std::floor(d);
                double f = d - o;
                if (o >= 1) o = 0, f = 1;
                return std::pair{o, f};
            };
            const auto [oz, fz] = split(c_.step_cm * std::cos(theta_[k]) / c_.dz_cm);
            const auto [ox, fx] = split(c_.step_cm * std::sin(theta_[k]) / c_.dx_cm);
            shift& s = shifts_[k];
            s.row = static_cast<std::size_t>(oz + 1);  // cell z overlaps z + oz and z + oz + 1
            s.column = static_cast<std::size_t>(ox + 1);
            s.w00 = static_cast<T>((1 - fz) * (1 - fx));
            s.w01 = static_cast<T>((1 - fz) * fx);
            s.w10 = static_cast<T>(fz * (1 - fx));
            s.w11 = static_cast<T>(fz * fx);
        }
    }

    config c_;
    const stopping_power_table* table_;
    parex::chunked_executor executor_;
    std::size_t q_, p_, bins_;  // cells per plane, positions per energy, bins in psi
    parex::shm_arena arena_;
    std::span<T> psi_, next_;
    std::span<T> edep_;
    std::span<double> dose_;
    std::vector<double> range_, energy_, theta_;
    std::vector<remap> remap_;
    std::vector<std::vector<std::pair<std::size_t, double>>> sources_;  // per target bin: (source, weight)
    std::vector<kernel> kernels_;
    std::vector<T> coefficients_;
    std::vector<shift> shifts_;
    std::size_t lo_ = 0, hi_ = 0;            // the active window: psi_ is zero outside it
    std::size_t next_lo_ = 0, next_hi_ = 0;  // the energy bins of next_ that may hold fluence
    balance books_;
};

}  // namespace transport
