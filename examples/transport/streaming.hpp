#pragma once
// transport/streaming.hpp: the streaming operator of simulation<T> (each plane moved by one step along
// its angle: second order across, linear along the beam; escapes tallied) and its shifts.

#include <transport/kernels.hpp>
#include <transport/simulation.hpp>

#include <common/vector_isa.hpp>

#include <parex/chunking.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace transport {

template <class T>
std::size_t simulation<T>::stream() {
    if (stopped()) {
        books_.in_grid = {};
        return 0;
    }
    const std::size_t lo = lo_, na = c_.angles;
    const std::size_t planes = (hi_ - lo_) * na;
    // every angle moves forward (cos theta > 0): the rows [zlo, zhi) reach [zlo, zhi + 1)
    const std::size_t zout = std::min(c_.nz, zhi_ + 1), rows = zout - zlo_;
    clear_next_outside({lo_, hi_, zlo_, zout});
    plane_rows_.resize(planes * rows);  // every entry is written below
    plane_total_.resize(planes);
    const std::size_t per_chunk = std::max<std::size_t>(1, stream_grain / ((zhi_ - zlo_) * c_.nx));
    const bool past_cache = store_past_cache();  // then every plane's rows [0, nz) are written, aligned
    const auto sums = executor_.map_reduce(
        parex::chunks(planes, parex::grain{per_chunk}),
        [&](const parex::chunk& ch) {
            stream_tally t;
            const auto scratch = std::make_unique_for_overwrite<T[]>(2 * (zhi_ - zlo_) * c_.nx);
            examples::with_widest_vectors([&](auto) EXAMPLES_ALWAYS_INLINE {
                for (std::size_t p = ch.begin; p < ch.end; ++p) {
                    const std::size_t plane = lo * na + p;
                    const double e = energy_[plane / na];
                    double edge = 0;
                    const double inside =
                        stream_plane(shifts_[plane % na], psi_.data() + plane * q_, next_.data() + plane * q_, zout,
                                     plane_rows_.data() + p * rows, edge, scratch.get(), past_cache);
                    plane_total_[p] = inside;
                    t.escaped = t.escaped + tally{edge, edge * e};
                    t.in_grid = t.in_grid + tally{inside, inside * e};
                }
            });
            if (past_cache) examples::streaming_store_fence();
            return t;
        },
        std::plus<>{}, stream_tally{});
    // the fluence per bin, in plane order (the same bits for any schedule); per row on demand (row_fluence)
    for (std::size_t i = lo; i < hi_; ++i) {
        double n = 0;
        for (std::size_t k = 0; k < na; ++k) n += plane_total_[(i - lo) * na + k];
        bin_fluence_[i] = n;
    }
    row_sums_ = {zlo_, rows, planes};
    books_.escaped = books_.escaped + sums.escaped;
    books_.in_grid = sums.in_grid;
    const std::size_t updated = planes * (zhi_ - zlo_) * c_.nx;
    swap_buffers({lo_, hi_, zlo_, zout});
    return updated;
}

template <class T>
void simulation<T>::build_shifts() {
    shifts_.resize(c_.angles);
    for (std::size_t k = 0; k < c_.angles; ++k) {
        // validate() keeps ds <= min(dz, dx) and |theta| < pi/2: both moves are at most one cell, and
        // every angle moves forward
        const double fz = std::min(1.0, c_.step_cm * std::cos(theta_[k]) / c_.dz_cm);
        const double fx = std::clamp(c_.step_cm * std::sin(theta_[k]) / c_.dx_cm, -1.0, 1.0);
        shifts_[k] = {static_cast<T>(1 - fz), static_cast<T>(fz), static_cast<T>(fx)};
    }
}

template <class T>
EXAMPLES_ALWAYS_INLINE inline double simulation<T>::stream_plane(const shift& sh, const T* __restrict in,
                                                                 T* __restrict out, std::size_t zout, double* row_sums,
                                                                 double& escaped, T* scratch, bool past_cache) const {
    const std::size_t nx = c_.nx, rows = zhi_ - zlo_;
    // the window's rows moved across
    T* moved = scratch;
    escaped += detail::shift_rows(in + zlo_ * nx, moved, scratch + rows * nx, rows, nx, sh.lateral);
    // row z of out: keep x (row z moved) + move x (row z - 1 moved); the first row has no row before
    // it, the row past the window (zout = zhi + 1) only the one before it. Past the cache the rows are
    // made in the scratch (the flux is spent; zout = zhi there), summed from it and copied to out with
    // non-temporal stores, so that out's lines are neither read from memory first nor read back.
    T* __restrict d = past_cache ? scratch + rows * nx : out + zlo_ * nx;
    for (std::size_t i = 0; i < nx; ++i) d[i] = sh.keep * moved[i];
    for (std::size_t i = nx; i < rows * nx; ++i) d[i] = sh.keep * moved[i] + sh.move * moved[i - nx];
    if (zout > zhi_)
        for (std::size_t i = rows * nx; i < (rows + 1) * nx; ++i) d[i] = sh.move * moved[i - nx];
    else  // the last row is the grid's: its moved share leaves through the far face
        escaped += static_cast<double>(sh.move) * detail::sum_of(moved + (rows - 1) * nx, nx);
    double inside = 0;
    for (std::size_t z = zlo_; z < zout; ++z) {
        const double sum = detail::sum_of(d + (z - zlo_) * nx, nx);
        row_sums[z - zlo_] = sum;
        inside += sum;
    }
    if (past_cache) detail::copy_past_cache(d, out + zlo_ * nx, (zout - zlo_) * nx);
    return inside;
}

}  // namespace transport
