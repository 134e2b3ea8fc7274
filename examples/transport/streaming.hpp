#pragma once
// transport/streaming.hpp: the streaming operator of simulation<T> (each plane moved by one step along
// its angle: second order across, linear along the beam; escapes tallied) and its shifts.

#include <transport/kernels.hpp>
#include <transport/simulation.hpp>

#include <parex/chunking.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
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
    plane_rows_.assign(planes * rows, 0.0);
    const std::size_t per_chunk = std::max<std::size_t>(1, stream_grain / ((zhi_ - zlo_) * c_.nx));
    const auto sums = executor_.map_reduce(
        parex::chunks(planes, parex::grain{per_chunk}),
        [&](const parex::chunk& ch) {
            stream_tally t;
            std::vector<T> scratch(4 * c_.nx + 1);
            for (std::size_t p = ch.begin; p < ch.end; ++p) {
                const std::size_t plane = lo * na + p;
                const double e = energy_[plane / na];
                double source = 0;
                const double inside =
                    stream_plane(shifts_[plane % na], psi_.data() + plane * q_, next_.data() + plane * q_, zout,
                                 plane_rows_.data() + p * rows, source, scratch.data());
                const double edge = source - inside;
                t.escaped = t.escaped + tally{edge, edge * e};
                t.in_grid = t.in_grid + tally{inside, inside * e};
            }
            return t;
        },
        std::plus<>{}, stream_tally{});
    // the fluence per bin and per row, in plane order (the same bits for any schedule)
    std::fill(row_fluence_.begin(), row_fluence_.end(), 0.0);
    for (std::size_t p = 0; p < planes; ++p) {
        if (p % na == 0) bin_fluence_[lo + p / na] = 0;
        for (std::size_t z = 0; z < rows; ++z) {
            bin_fluence_[lo + p / na] += plane_rows_[p * rows + z];
            row_fluence_[zlo_ + z] += plane_rows_[p * rows + z];
        }
    }
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
double simulation<T>::stream_plane(const shift& sh, const T* __restrict in, T* __restrict out, std::size_t zout,
                                   double* row_sums, double& source, T* scratch) const {
    const std::size_t nx = c_.nx;
    T* shifted = scratch;        // row z moved across
    T* previous = scratch + nx;  // row z - 1 moved across
    T* work = scratch + 2 * nx;
    double inside = 0;
    for (std::size_t z = zlo_; z < zout; ++z) {
        // rows z and z - 1 of the source inside the window (one of them always is: zout <= zhi + 1)
        const bool here = z<zhi_, above = z> zlo_;
        if (here) {
            const T* row = in + z * nx;
            source += detail::sum_of(row, nx);
            detail::shift_row(row, shifted, work, nx, sh.lateral);
        }
        const T keep = here ? sh.keep : T(0), move = above ? sh.move : T(0);
        const T* __restrict a = here ? shifted : previous;
        const T* __restrict b = above ? previous : shifted;
        T* __restrict d = out + z * nx;
        for (std::size_t x = 0; x < nx; ++x) d[x] = keep * a[x] + move * b[x];
        const double sum = detail::sum_of(d, nx);
        row_sums[z - zlo_] = sum;
        inside += sum;
        std::swap(shifted, previous);
    }
    return inside;
}

}  // namespace transport
