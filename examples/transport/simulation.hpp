#pragma once
// transport/simulation.hpp: operator-split transport of a proton pencil beam in liquid water, in two dimensions (depth z, lateral
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
//
// The class is declared here; its operators are defined in energy_loss.hpp, scattering.hpp and
// streaming.hpp, which this header includes at its end.

#include <transport/config.hpp>
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
        : c_((detail::validate(c, table), c)),
          table_(&table),
          executor_(executor),
          q_(c.nz * c.nx),
          p_(c.angles * q_),
          bins_(c.energies * p_),
          arena_(parex::shm_arena::create(
              {.bytes = (2 * bins_ + p_) * sizeof(T) + q_ * sizeof(double) + 5 * 4096, .huge_pages = true})) {
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
    std::size_t lose_energy();

    /// Angular scattering over ds for every bin of the active window, in parallel over E x z x x: each
    /// angular distribution convolved with a discrete Gaussian whose variance is Highland's theta0^2 for
    /// (E_i, ds). Edges: the kernel is cut at +-theta_max and renormalised per source bin, so fluence is
    /// conserved (none scatters out of the grid) at the cost of a narrower spread for fluence within a
    /// few theta0 of the edge. Returns the bins updated.
    std::size_t scatter();

    /// Streaming over ds for every bin of the active window, in parallel over E x theta: each (E, theta)
    /// plane moves by (ds cos theta / dz, ds sin theta / dx) cells, at most one, each cell's fluence
    /// shared among the (up to) four cells the moved cell overlaps, in proportion to the overlap areas
    /// (conservative, positive, first moment exact). Fluence moved out of the grid is tallied as escaped.
    /// Also recounts the fluence in the grid. Returns the bins updated.
    std::size_t stream();

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
    static constexpr std::size_t loss_grain = 4096;               // positions (theta, z, x) per chunk
    static constexpr std::size_t dose_grain = 4096;               // cells per chunk
    static constexpr std::size_t scatter_block = 1024;            // cells per task
    static constexpr std::size_t scatter_lane = 128 / sizeof(T);  // cells summed in registers at once
    static constexpr std::size_t stream_grain = 16384;            // cells per chunk, whole planes

    struct remap {
        std::size_t target = 0;  ///< bin receiving `weight`; target + 1 receives 1 - weight
        double weight = 1;
        double deposit_mev = 0;  ///< E_i - E' (E_i when absorbed)
        bool absorbed = false;
    };
    struct kernel {
        std::size_t half_width = 0;
        std::size_t offset = 0;  ///< into coefficients_: Ntheta rows of 2 half_width + 1
    };
    struct shift {
        std::size_t row = 0,
                    column = 0;  ///< floor(d) + 1 in {0, 1}: cell z moved by d overlaps z + row - 1 and z + row
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

    /// One plane streamed in one gathering pass: a source cell (z, x) sends w_ab of its fluence to
    /// (z + row - 1 + a, x + column - 1 + b), so each cell gathers from the (up to) four cells whose
    /// moved copies overlap it, out[z][x] = w00 s0[x + c] + w01 s0[x + c - 1] + w10 s1[x + c] + w11 s1[x + c - 1],
    /// with s0, s1 the source rows z - row + 1 and z - row and c = 1 - column, summed in that order; a source
    /// outside the grid contributes nothing. Each output row is written once. Returns the fluence in out.
    double stream_plane(const shift& sh, const T* __restrict in, T* __restrict out) const;

    /// The fluence of one plane that streaming moves out of the grid: for each share w_ab, the source
    /// row and column whose destination lies outside (first or last, if any), their common cell once.
    double escaping(const shift& sh, const T* in) const;

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
    void build_energy_grid();

    /// The window after one energy-loss step: remap targets are non-decreasing in the source bin.
    std::pair<std::size_t, std::size_t> window_after_loss() const;

    /// Per energy bin, a discrete Gaussian g(d) = exp(-d^2 / 2s^2), |d| <= ceil(4s) + 1 bins, with s
    /// found by bisection so that the kernel's variance equals (theta0 / h)^2 exactly: a sampled
    /// Gaussian of width theta0 under-spreads once theta0 is below a bin, a bin-integrated one adds
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

#include <transport/energy_loss.hpp>
#include <transport/scattering.hpp>
#include <transport/streaming.hpp>
