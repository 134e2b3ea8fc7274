#pragma once
// transport/simulation.hpp: operator-split transport of a proton pencil beam in liquid water, in two dimensions (depth z, lateral
// x), on parex: the phase-space fluence psi[E, theta, z, x] lives in one parex arena (two buffers), and
// each operator runs through parex's chunked executor over the dimensions it parallelises best.
//
// One step of path length ds, at the nodes where the fluence sits (cell centres):
//   1. energy loss   over theta x z x x  mean loss over ds (CSDA) with Bohr straggling and nuclear
//                                        removal (Bortfeld), deposits as dose
//   2. scattering    over E x z x x      Gaussian in theta of variance T_dM ds (Gottschalk)
//   3. streaming     over E x theta      move by ds (cos theta, sin theta), area-weighted, escapes tallied
// Energy loss first is Strang splitting with the half steps of neighbouring steps merged: the energy lost
// between the midpoints of two path segments is deposited at the node between them, so the dose is
// registered on the cells where it is lost, not half a step up- or downstream.
//
// The class is declared here; its operators are defined in energy_loss.hpp, scattering.hpp and
// streaming.hpp, which this header includes at its end.

#include <transport/config.hpp>
#include <transport/interactions.hpp>
#include <transport/kernels.hpp>
#include <transport/stopping_power.hpp>

#include <common/vector_isa.hpp>

#include <parex/chunked_executor.hpp>
#include <parex/shm_arena.hpp>
#include <parex/topology.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace transport {

/// Particles and kinetic energy (MeV), per incident proton.
struct tally {
    double particles = 0;
    double energy_mev = 0;
    friend tally operator+(tally a, const tally& b) { return {a.particles + b.particles, a.energy_mev + b.energy_mev}; }
};

/// The books after a step, per incident proton. Conservation: incident = in_grid + escaped + absorbed +
/// removed (particles) and incident energy = in_grid + deposited + escaped + carried_off (energy); the
/// residuals are the relative differences.
struct balance {
    tally incident, in_grid, escaped, absorbed;
    tally removed;               ///< primaries removed by nuclear interactions (energy: what they carried)
    double deposited_mev = 0;    ///< absorbed particles' remaining energy and the nuclear local share included
    double carried_off_mev = 0;  ///< the nuclear share that leaves as neutrons and gammas (not deposited)
    [[nodiscard]] double particle_residual() const {
        return std::abs(incident.particles -
                        (in_grid.particles + escaped.particles + absorbed.particles + removed.particles)) /
               incident.particles;
    }
    [[nodiscard]] double energy_residual() const {
        return std::abs(incident.energy_mev -
                        (in_grid.energy_mev + deposited_mev + escaped.energy_mev + carried_off_mev)) /
               incident.energy_mev;
    }
};

/// Where the fluence starts. pencil_beam: the beam of the configuration (energy_mev with its spread,
/// the spot and divergence; a delta at E_max, theta = 0, on the axis by default, split equally between
/// the two central bins when Ntheta or nx is even), entering at z = 0. uniform: every bin of psi holds
/// the same fluence (one proton in all): every bin active, the operators' worst case.
enum class source { pencil_beam, uniform };

/// What run() measured.
struct run_report {
    std::size_t steps = 0;
    double seconds = 0;       ///< wall clock of the steps
    double bins_updated = 0;  ///< sum over steps and operators of the bins each operator updated / 3
    double max_particle_residual = 0;
    double max_energy_residual = 0;
    [[nodiscard]] double seconds_per_step() const { return steps ? seconds / static_cast<double>(steps) : 0; }
    /// Bins of psi advanced through a full step per second (bins in the active energy window).
    [[nodiscard]] double bins_per_second() const { return seconds > 0 ? bins_updated / seconds : 0; }
};

/// The transport engine for fluence of type T (float or double).
///
/// Memory: psi (double buffered) and one step's deposits are reserved for the whole phase space,
/// 2 x Ne x Ntheta x nz x nx x sizeof(T) and Ntheta x nz x nx x sizeof(T), plus nz x nx doubles for the
/// dose, in one anonymous parex arena; but only the pages the beam reaches are ever touched, and the
/// pages of energy bins the beam has left are handed back (madvise MADV_REMOVE), so the resident memory
/// follows the active window, not the reservation. Energy loss and scattering write a window larger
/// than the last-level cache past the cache (store_past_cache), which changes the speed, not the values.
/// Determinism: chunk plans depend on the grid and the windows alone, and every reduction goes through
/// map_reduce's fixed tree or a fixed loop order, so dose and tallies are the same bits for any thread
/// count. Every operator's chunks flush subnormal fluence to zero (examples::flush_subnormals, on x86):
/// below 1.2e-38 of a proton in float, a beam's tails would otherwise pass through float's slow
/// subnormal range.
/// Active window: operators process only the energy bins [lo, hi) and depth rows [zlo, zhi) that can
/// hold fluence (energy loss moves the first down in energy, streaming the second forward); psi is
/// zero outside them. A bin or row at a window's edge whose fluence has fallen below `negligible`
/// (1e-12 of a proton) is absorbed where it is (its energy deposited in its cells, its particles
/// counted as absorbed), so the straggling tails do not widen the window without end.
template <class T>
class simulation {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);

public:
    /// Fluence below which a bin or row at the edge of the active window is absorbed, per incident proton.
    static constexpr double negligible = 1e-12;

    /// Throws std::invalid_argument naming a bad field of `c` (see resolve), std::system_error when the
    /// arena cannot be mapped.
    simulation(const config& c, const stopping_power_table& table, source s = source::pencil_beam,
               parex::executor_options executor = {})
        : c_((detail::validate(c, table), c)),
          table_(&table),
          executor_(executor),
          q_(c.nz * c.nx),
          p_(c.angles * q_),
          bins_(c.energies * p_),
          arena_(parex::shm_arena::create({.bytes = (2 * bins_ + p_) * sizeof(T) + q_ * sizeof(double) + 5 * 4096})) {
        psi_ = arena_.allocate<T>(bins_, 4096);
        next_ = arena_.allocate<T>(bins_, 4096);
        edep_ = arena_.allocate<T>(p_, 4096);
        dose_ = arena_.allocate<double>(q_, 4096);
        build_energy_grid();
        build_kernels();
        build_shifts();
        set_source(s);
    }

    simulation(const simulation&) = delete;
    simulation& operator=(const simulation&) = delete;

    [[nodiscard]] const config& settings() const noexcept { return c_; }
    /// Bin energies, MeV, descending: E_0 is the energy at the first node (the beam's top energy carried
    /// to z0 - ds/2).
    [[nodiscard]] std::span<const double> energies_mev() const noexcept { return energy_; }
    /// Angle bin centres, radians, ascending.
    [[nodiscard]] std::span<const double> angles_rad() const noexcept { return theta_; }
    /// psi[E][theta][z][x], fluence per incident proton, x fastest.
    [[nodiscard]] std::span<const T> fluence() const noexcept { return psi_; }
    /// Energy deposited per cell, MeV per incident proton, [nz][nx].
    [[nodiscard]] std::span<const double> deposited_mev() const noexcept { return dose_; }
    /// The energy bins [lo, hi) that may hold fluence.
    [[nodiscard]] std::pair<std::size_t, std::size_t> active_energies() const noexcept { return {lo_, hi_}; }
    /// The depth rows [zlo, zhi) that may hold fluence.
    [[nodiscard]] std::pair<std::size_t, std::size_t> active_rows() const noexcept { return {zlo_, zhi_}; }
    [[nodiscard]] const balance& books() const noexcept { return books_; }
    [[nodiscard]] bool stopped() const noexcept { return lo_ >= hi_ || zlo_ >= zhi_; }
    /// The variance of the angular kernel of energy bin i for one step, rad^2: T_dM ds at the step's
    /// middle (its discrete kernel has exactly this variance, away from the grid's edges).
    [[nodiscard]] double scattering_variance(std::size_t i) const { return angular_variance_[i]; }

    /// Dose, Gy per incident proton, [nz][nx]: deposited energy over the cell's mass, dz dx dy at
    /// 1 g/cm^3 (the 2-D slab is dy thick).
    [[nodiscard]] std::vector<double> dose_gy() const {
        const double kg = water_density_g_cm3 * c_.dz_cm * c_.dx_cm * c_.dy_cm * 1e-3;
        std::vector<double> d(dose_.begin(), dose_.end());
        for (auto& v : d) v *= joule_per_mev / kg;
        return d;
    }

    /// Puts the source back and clears dose and tallies.
    void set_source(source s);

    /// Energy loss over ds for every bin of the active window, in parallel over theta x z x x: fluence at
    /// E_i moves to the residual range R(E_i) - ds, spread over the bins around it with the mean and the
    /// variance of Bohr's straggling over the step (two bins, as linear interpolation, where the grid is
    /// too coarse for that variance), less the fraction nuclear interactions remove; the energy lost,
    /// the nuclear local share and the energy of fluence absorbed below the lowest bin are deposited in
    /// the cell. Bins and rows at the window's edges below `negligible` are absorbed first. Returns the
    /// bins updated.
    std::size_t lose_energy();

    /// Angular scattering over ds for every bin of the active window, in parallel over E x z x x: each
    /// angular distribution convolved with a discrete Gaussian whose variance is T_dM ds for (E_i, ds).
    /// Edges: the kernel is cut at +-theta_max and renormalised per source bin, so fluence is conserved
    /// (none scatters out of the grid) at the cost of a narrower spread for fluence within a few
    /// theta0 of the edge. Returns the bins updated.
    std::size_t scatter();

    /// Streaming over ds for every bin of the active window, in parallel over E x theta: each (E, theta)
    /// plane moves by (ds cos theta / dz, ds sin theta / dx) cells, at most one: across with a
    /// second-order upwind scheme (MUSCL with the monotonised-central limiter: conservative, positive,
    /// and without the first-order scheme's numerical spread of dx^2 f (1 - f) per step, which would
    /// rival the physical spread of a pencil beam), then along z by linear sharing between the row and
    /// the next. What leaves the grid is tallied as escaped: the plane's fluence before less after.
    /// Also recounts the fluence in the grid, per energy bin and per row. Returns the bins updated.
    std::size_t stream();

    /// One operator-split step: energy loss, scattering, streaming. Returns the bins in the window
    /// the step started with (the operators' mean).
    std::size_t step() {
        const std::size_t a = lose_energy(), b = scatter(), c = stream();
        return (a + b + c) / 3;
    }

    /// Steps until no fluence is left (all absorbed, removed or escaped) or settings().max_steps were
    /// taken, checking conservation after every step.
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
    static constexpr std::size_t loss_grain = 4096;               // cells per chunk, one angle
    static constexpr std::size_t dose_grain = 4096;               // cells per chunk
    static constexpr std::size_t scatter_block = 1024;            // cells per task
    static constexpr std::size_t scatter_lane = 128 / sizeof(T);  // cells summed in registers at once
    static constexpr std::size_t stream_grain = 16384;            // cells per chunk, whole planes

    /// What one step does to the fluence of one energy bin, per particle.
    struct remap {
        std::vector<std::pair<std::size_t, double>> targets;  ///< (bin, share), ascending bins
        double deposit_mev = 0;  ///< deposited in the cell: energy lost, absorbed and nuclear local share
        double absorbed = 0;     ///< share that falls below the lowest bin
        double removed = 0;      ///< share removed by nuclear interactions
    };
    struct kernel {
        std::size_t half_width = 0;
        std::size_t offset = 0;  ///< into coefficients_: Ntheta rows of 2 half_width + 1
    };
    struct shift {
        T keep = 0, move = 0;  ///< the shares of a row that stay and that move one row on: 1 - fz, fz
        T lateral = 0;         ///< the move across, in cells: ds sin theta / dx, in [-1, 1]
    };
    struct stream_tally {
        tally escaped, in_grid;
        friend stream_tally operator+(stream_tally a, const stream_tally& b) {
            return {a.escaped + b.escaped, a.in_grid + b.in_grid};
        }
    };
    /// A region of psi that may hold fluence: energy bins [lo, hi) x depth rows [zlo, zhi), all angles
    /// and lateral cells.
    struct window {
        std::size_t lo = 0, hi = 0, zlo = 0, zhi = 0;
    };

    /// Whether energy loss and scattering store their output past the caches (examples::streaming_store):
    /// when the window read and written is larger than the last-level cache (32 MiB if sysfs does not
    /// say), so that the output would leave the cache before the next operator reads it anyway, and its
    /// rows are 16-byte aligned. A small window (a pencil beam on the default grid) stays in the cache.
    [[nodiscard]] bool store_past_cache() const {
        const std::size_t cache = parex::this_process_topology().last_level_cache_bytes.value_or(std::size_t{32} << 20);
        return (q_ * sizeof(T)) % 16 == 0 && zlo_ == 0 && zhi_ == c_.nz && 2 * (hi_ - lo_) * p_ * sizeof(T) > cache;
    }

    /// Zeroes the region r of buffer b, except the part inside `keep`.
    void clear_outside(std::span<T> b, const window& r, const window& keep) {
        for (std::size_t i = r.lo; i < r.hi; ++i) {
            const bool kept = i >= keep.lo && i < keep.hi;
            const auto clear = [&](std::size_t from, std::size_t to) {
                if (from >= to) return;
                for (std::size_t k = 0; k < c_.angles; ++k)
                    std::fill_n(b.data() + i * p_ + k * q_ + from * c_.nx, (to - from) * c_.nx, T(0));
            };
            if (!kept) {
                clear(r.zlo, r.zhi);
                continue;
            }
            clear(r.zlo, std::min(r.zhi, keep.zlo));
            clear(std::max(r.zlo, keep.zhi), r.zhi);
        }
    }

    /// Before an operator writes the region w of next_: zeroes what next_ may still hold outside it, so
    /// that psi_ is zero outside its window after the swap.
    void clear_next_outside(const window& w) {
        clear_outside(next_, next_window_, w);
        next_window_ = w;
    }

    /// After an operator wrote the region w of next_: it becomes the state and its window; the old
    /// state's window is what next_ may now hold. The energy bins both buffers have left for good
    /// (energy loss only moves fluence down) are handed back to the system.
    void swap_buffers(const window& w) {
        std::swap(psi_, next_);
        next_window_ = current();
        lo_ = w.lo, hi_ = w.hi, zlo_ = w.zlo, zhi_ = w.zhi;
        release_below(std::min(lo_, next_window_.lo));
    }

    [[nodiscard]] window current() const { return {lo_, hi_, zlo_, zhi_}; }

    /// Hands back the pages of energy bins [released_, bin) of both buffers (they read as zero after).
    void release_below(std::size_t bin);

    /// The particles in depth row z, over all energy bins and angles, as the last streaming left them
    /// (or the source): the row's sums over the planes, in plane order.
    [[nodiscard]] double row_fluence(std::size_t z) const {
        if (row_sums_.planes == 0) return row_fluence_[z];
        if (z < row_sums_.first || z >= row_sums_.first + row_sums_.rows) return 0;
        double n = 0;
        for (std::size_t p = 0; p < row_sums_.planes; ++p) n += plane_rows_[p * row_sums_.rows + z - row_sums_.first];
        return n;
    }

    /// Absorbs, where they are, the energy bins and depth rows at the edges of the window whose fluence
    /// is below `negligible`, and narrows the window to the rest.
    void absorb_negligible();

    /// Energy bins uniform in CSDA range from (R_top, E_top) down to the cut-off; the remap of each bin
    /// after one step.
    void build_energy_grid();

    /// The energy window after one energy-loss step: targets' range over the window's sources.
    [[nodiscard]] std::pair<std::size_t, std::size_t> window_after_loss() const;

    /// Per energy bin, a discrete Gaussian g(d) = exp(-d^2 / 2s^2), |d| <= ceil(4s) + 1 bins, with s
    /// found by bisection so that the kernel's variance equals T_dM ds / h^2 exactly: a sampled
    /// Gaussian of the same width under-spreads once the angle is below a bin, a bin-integrated one adds
    /// h^2/12 per step; both would bias the spread accumulated over hundreds of steps.
    void build_kernels();

    /// Per angle, the cells a cell moved by (dz, dx) cells overlaps and the overlap weights.
    void build_shifts();

    config c_;
    const stopping_power_table* table_;
    parex::chunked_executor executor_;
    std::size_t q_, p_, bins_;  // cells per plane, positions per energy, bins in psi
    parex::shm_arena arena_;
    std::span<T> psi_, next_;
    std::span<T> edep_;
    std::span<double> dose_;
    std::vector<double> range_, energy_, entrance_energy_, theta_, angular_variance_;
    std::vector<remap> remap_;
    std::vector<std::vector<std::pair<std::size_t, double>>> sources_;  // per target bin: (source, weight)
    std::vector<kernel> kernels_;
    std::vector<T> coefficients_;
    std::vector<shift> shifts_;
    std::vector<double> bin_fluence_;  // particles per energy bin (exact after streaming)
    std::vector<double> row_fluence_;  // particles per depth row, over all bins, when row_sums_ has no planes
    std::vector<double> plane_rows_;   // streaming's row sums, [plane in window][row in window]
    std::vector<double> plane_total_;  // streaming's plane sums, [plane in window]
    struct {
        std::size_t first = 0, rows = 0, planes = 0;  // the rows and planes plane_rows_ holds (0: none)
    } row_sums_;
    std::size_t lo_ = 0, hi_ = 0, zlo_ = 0, zhi_ = 0;  // the active window: psi_ is zero outside it
    window next_window_;                               // where next_ may hold fluence
    std::size_t released_ = 0;                         // energy bins below it are handed back
    balance books_;
};

}  // namespace transport

#include <transport/energy_loss.hpp>
#include <transport/scattering.hpp>
#include <transport/source.hpp>
#include <transport/streaming.hpp>
