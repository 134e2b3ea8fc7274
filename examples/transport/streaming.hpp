#pragma once
// transport/streaming.hpp: the streaming operator of simulation<T> (each plane moved by one step along
// its angle, area-weighted, escapes tallied) and its shifts.

#include <transport/kernels.hpp>
#include <transport/simulation.hpp>

#include <parex/chunking.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <utility>

namespace transport {

template <class T>
std::size_t simulation<T>::stream() {
    if (stopped()) {
        books_.in_grid = {};
        return 0;
    }
    const std::size_t lo = lo_;
    const std::size_t planes = (hi_ - lo_) * c_.angles;
    clear_next_outside(lo_, hi_);
    const std::size_t per_chunk = std::max<std::size_t>(1, stream_grain / q_);
    const auto sums = executor_.map_reduce(
        parex::chunks(planes, parex::grain{per_chunk}),
        [&](const parex::chunk& ch) {
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
        },
        std::plus<>{}, stream_tally{});
    books_.escaped = books_.escaped + sums.escaped;
    books_.in_grid = sums.in_grid;
    swap_buffers(lo_, hi_);
    return planes * q_;
}

template <class T>
void simulation<T>::build_shifts() {
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

template <class T>
double simulation<T>::stream_plane(const shift& sh, const T* __restrict in, T* __restrict out) const {
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
        if (c == 0)
            d[0] = w00 * s0[0] + w10 * s1[0];  // its x - 1 sources lie outside
        else
            d[nx - 1] = w01 * s0[nx - 1] + w11 * s1[nx - 1];  // its x + 1 sources lie outside
        inside += detail::sum_of(d, nx);
    }
    return inside;
}

template <class T>
double simulation<T>::escaping(const shift& sh, const T* in) const {
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
            const double corner =
                oz + a != 0 && ox + b != 0 ? static_cast<double>(in[edge(oz + a, nz) * nx + edge(ox + b, nx)]) : 0.0;
            lost += static_cast<double>(w[a][b]) * (row_lost[a] + column_lost[b] - corner);
        }
    return lost;
}

}  // namespace transport
