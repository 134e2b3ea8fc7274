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
    const auto sums = executor_.map_reduce(
        parex::chunks(planes, parex::grain{per_chunk}),
        [&](const parex::chunk& ch) {
            const examples::flush_subnormals ftz;
            stream_tally t;
            const auto ring = std::make_unique_for_overwrite<T[]>(2 * (c_.nx + 8));
            examples::with_widest_vectors([&](auto vector_bytes) EXAMPLES_ALWAYS_INLINE {
                constexpr std::size_t bytes = decltype(vector_bytes)::value;
                for (std::size_t p = ch.begin; p < ch.end; ++p) {
                    const std::size_t plane = lo * na + p;
                    const double e = energy_[plane / na];
                    const shift& sh = shifts_[plane % na];
                    const auto moved = detail::stream_rows<bytes>(
                        psi_.data() + plane * q_ + zlo_ * c_.nx, next_.data() + plane * q_ + zlo_ * c_.nx, ring.get(),
                        zhi_ - zlo_, c_.nx, sh.keep, sh.move, sh.lateral, zout > zhi_, plane_rows_.data() + p * rows,
                        p + 1 < ch.end ? psi_.data() + (plane + 1) * q_ + zlo_ * c_.nx : nullptr);
                    const double edge = moved.sides + moved.far_face;
                    plane_total_[p] = moved.inside;
                    t.escaped = t.escaped + tally{edge, edge * e};
                    t.in_grid = t.in_grid + tally{moved.inside, moved.inside * e};
                }
            });
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

}  // namespace transport
