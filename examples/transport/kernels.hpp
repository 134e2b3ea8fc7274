#pragma once
// transport/kernels.hpp: the inner loops of the operators, written for the compiler to vectorise (or
// with explicit vector types): a sum in a fixed order, the weighted sum of rows, the streaming sweep of
// a plane's rows, and the angular convolution of a lane of cells. Each gives the same bits for any
// thread count and vector width.

#include <common/vector_isa.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

namespace transport {

namespace detail {

/// Eight partial sums added pairwise in one fixed order, ((p0 + p4) + (p1 + p5)) + ((p2 + p6) + (p3 + p7)):
/// sum_of's, and streaming's row sums', so that both give the same bits.
EXAMPLES_ALWAYS_INLINE inline double add_partials(const double (&p)[8]) {
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}

/// The sum of s[0, n), as eight interleaved partial sums in Acc (element x in partial x % 8), each then
/// taken to double and added by add_partials: a fixed order, so the same bits for any schedule, that
/// the compiler vectorises (one running sum is a chain of dependent additions it may not reorder). Acc = T adds a row of float32 without a conversion per
/// element (each partial then carries float's rounding, about n/8 x 6e-8 of the sum at most).
template <class Acc = double, class T>
EXAMPLES_ALWAYS_INLINE inline double sum_of(const T* s, std::size_t n) {
    Acc partial[8] = {};
    std::size_t x = 0;
    for (; x + 8 <= n; x += 8)
        for (std::size_t l = 0; l < 8; ++l) partial[l] += static_cast<Acc>(s[x + l]);
    for (std::size_t l = 0; l < 8 && x + l < n; ++l) partial[l] += static_cast<Acc>(s[x + l]);  // x % 8 == 0
    double p[8];
    for (std::size_t l = 0; l < 8; ++l) p[l] = static_cast<double>(partial[l]);
    return add_partials(p);
}

/// The width s of a Gaussian sampled on a grid whose variance, variance_of(s) (increasing in s), equals
/// `target`: 100 bisections of [1e-3, upper], the kernels of scattering and of wide energy straggling.
template <class Variance>
double gaussian_width_for(double target, double upper, const Variance& variance_of) {
    double lo = 1e-3, hi = upper;
    for (int it = 0; it < 100; ++it) {
        const double mid = 0.5 * (lo + hi);
        (variance_of(mid) < target ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

/// a[q] = w0 s0[q] + w1 s1[q] + w2 s2[q] for q < n, added in that order, stored past the cache if asked
/// (a 16-byte aligned), in vectors of Bytes (the caller's vector width). Stored past the cache, it also
/// prefetches ahead[0, n) if given (the next call's source not yet in the cache: a run of a few KB far
/// from the last, whose start the hardware prefetchers would each time meet as misses).
template <std::size_t Bytes, class T>
EXAMPLES_ALWAYS_INLINE inline void weighted_sum(T* __restrict a, const T* __restrict s0, T w0, const T* __restrict s1,
                                                T w1, const T* __restrict s2, T w2, std::size_t n, bool past_cache,
                                                const T* ahead = nullptr) {
    using vec = typename examples::vector_of<T, Bytes>::type;
    constexpr std::size_t per_vec = Bytes / sizeof(T);
    std::size_t q = 0;
    if (past_cache) {
        for (; q + per_vec <= n; q += per_vec) {
            vec x0, x1, x2;
            std::memcpy(&x0, s0 + q, sizeof x0);
            std::memcpy(&x1, s1 + q, sizeof x1);
            std::memcpy(&x2, s2 + q, sizeof x2);
            const vec sum = w0 * x0 + w1 * x1 + w2 * x2;
            examples::streaming_store(a + q, sum);
            if (ahead && q % (64 / sizeof(T)) == 0) __builtin_prefetch(ahead + q);
        }
    }
    for (; q < n; ++q) a[q] = w0 * s0[q] + w1 * s1[q] + w2 * s2[q];
}

/// to = lanes Off, Off + 1, ... of the concatenation a:b, as many as a has. (Vectors go by reference:
/// a 32-byte vector by value would be passed as the AVX ABI says only in code compiled for AVX.)
template <std::size_t Off, class V, std::size_t... I>
EXAMPLES_ALWAYS_INLINE inline void lanes_from(V& to, const V& a, const V& b, std::index_sequence<I...>) {
    to = __builtin_shufflevector(a, b, (I + Off)...);
}

/// What stream_rows moved out of the rows it was given.
struct streamed_rows {
    double sides = 0;     ///< through the rows' ends (across)
    double far_face = 0;  ///< the last row's forward share, when no row past the window takes it
    double inside = 0;    ///< the sum of row_sums
};

/// One plane of the streaming operator, in one sweep of its rows: `rows` rows of n cells, stored one
/// after the other in `in`, each moved across by m cells, |m| <= 1, with zero outside each row, then
/// along the beam: out row z = keep (row z moved) + move (row z - 1 moved), row 0 keep (row 0 moved)
/// only; with `extra_row`, out row `rows` = move (row rows - 1 moved), else that share leaves through
/// the far face. Across, the second-order upwind (MUSCL) scheme for the advection u_t + v u_x = 0 with
/// Courant number m, its slopes limited by the monotonised-central limiter (van Leer, J. Comput. Phys.
/// 23 (1977) 276; LeVeque, "Finite Volume Methods for Hyperbolic Problems", 2002, Ch. 6): each cell
/// sends |m| (s + (1 - |m|)/2 slope) of itself downstream, the slope taken towards the move;
/// conservative, positive and total-variation diminishing for |m| <= 1, and exact for m = 0.
///
/// Each row is read once, in vectors of Bytes (n need not be a multiple): a cell's neighbours and the
/// flux from its upstream neighbour come from vectors in registers, and the moved row goes to `ring`
/// (2 (n + 8) values) for the next row's move along the beam. row_sums[z] (rows + 1 entries with
/// `extra_row`) gets the fluence of out row z, added as sum_of<T> adds a row (partials in T: no
/// conversion per cell), so the same bits for any vector width; far_face is move x sum_of<T> of the last
/// moved row. With `ahead` (the next plane's rows, or null), row z of it is prefetched while row z is
/// moved. O(rows n).
template <std::size_t Bytes, class T>
EXAMPLES_ALWAYS_INLINE inline streamed_rows stream_rows(const T* __restrict in, T* __restrict out, T* __restrict ring,
                                                        std::size_t rows, std::size_t n, T keep, T move, T m,
                                                        bool extra_row, double* row_sums, const T* ahead = nullptr) {
    using vec = typename examples::vector_of<T, Bytes>::type;
    using ivec =
        typename examples::vector_of<std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>, Bytes>::type;
    constexpr std::size_t lanes = Bytes / sizeof(T), groups = 8 / lanes;  // vectors of the eight partials
    static_assert(lanes >= 2 && 8 % lanes == 0, "16 or 32 bytes: eight partials in whole vectors");
    constexpr auto each_lane = std::make_index_sequence<lanes>{};
    streamed_rows r;
    if (n == 0) {
        std::fill_n(row_sums, rows + (extra_row ? 1 : 0), 0.0);
        return r;
    }
    const std::size_t vecs = (n + lanes - 1) / lanes, tail = n - (vecs - 1) * lanes;  // lanes of the last vector
    const T a = m > 0 ? m : -m, lean = (m > 0 ? T(1) : T(-1)) * (1 - a) / 2;
    const vec zero = {};
    const ivec sign = (ivec)(-zero);
    ivec in_row = {};  // the last vector's lanes inside the row
    for (std::size_t l = 0; l < lanes; ++l) in_row[l] = l < tail ? -1 : 0;
    // F = what the cells S send downstream, L and R their left and right neighbours
    const auto send = [&](vec& F, const vec& S, const vec& L, const vec& R) EXAMPLES_ALWAYS_INLINE {
        const vec dl = S - L, dr = R - S, centre = (dl + dr) / T(2);
        const vec adl = (vec)((ivec)dl & ~sign), adr = (vec)((ivec)dr & ~sign), ac = (vec)((ivec)centre & ~sign);
        // the minima as std::min(x, y) picks them, y < x ? y : x; magnitude's sign bit is clear
        const vec narrow = adr < adl ? adr : adl, twice = T(2) * narrow, magnitude = twice < ac ? twice : ac;
        const vec slope = (vec)((dl * dr > zero) & ((ivec)magnitude | ((ivec)centre & sign)));
        F = a * (S + lean * slope);
    };
    T* prev = ring;  // row z - 1 moved
    T* moved = ring + vecs * lanes;
    // the rows, for n a multiple of the lanes (whole) or not: two loops, so that the first has no tail
    const auto sweep_rows = [&](auto whole_rows) EXAMPLES_ALWAYS_INLINE {
        constexpr bool whole = decltype(whole_rows)::value;
        for (std::size_t z = 0; z < rows; ++z) {
            const T* s = in + z * n;
            T* o = out + z * n;
            const bool first_row = z == 0;
            if (ahead)  // the next plane's row z, from memory while this row is in registers
                for (std::size_t x = 0; x < n; x += 64 / sizeof(T)) __builtin_prefetch(ahead + z * n + x);
            vec acc[groups] = {};  // acc[h] holds the partial sums of cells x with x % 8 / lanes == h
            // the moved cells M of vector k: moved along the beam, stored, added up
            const auto put = [&](std::size_t k, const vec& M) EXAMPLES_ALWAYS_INLINE {
                std::memcpy(moved + k * lanes, &M, sizeof M);
                vec v = keep * M;
                if (!first_row) {
                    vec behind;
                    std::memcpy(&behind, prev + k * lanes, sizeof behind);
                    v = v + move * behind;
                }
                if (whole || k + 1 < vecs)
                    std::memcpy(o + k * lanes, &v, sizeof v);
                else
                    for (std::size_t l = 0; l < tail; ++l) o[k * lanes + l] = v[l];
                acc[0] += v;                 // lanes outside the row hold zero and add nothing
                if constexpr (groups > 1) {  // turn acc: the next vector's cells fall in the next partials
                    const vec spent = acc[0];
                    for (std::size_t h = 0; h + 1 < groups; ++h) acc[h] = acc[h + 1];
                    acc[groups - 1] = spent;
                }
            };
            // f(k, S, L, R) for each vector k: its cells S and their neighbours L and R, zero outside the
            // row, which is read within its n cells only
            const auto sweep = [&](const auto& f) EXAMPLES_ALWAYS_INLINE {
                vec S = zero, L, R;
                if (vecs > 1) {
                    std::memcpy(&S, s, sizeof S);
                    std::memcpy(&R, s + 1, sizeof R);
                    lanes_from<lanes - 1>(L, zero, S, each_lane);
                    f(0, S, L, R);
                }
                for (std::size_t k = 1; k + 1 < vecs; ++k) {
                    std::memcpy(&S, s + k * lanes, sizeof S);
                    std::memcpy(&L, s + k * lanes - 1, sizeof L);
                    std::memcpy(&R, s + k * lanes + 1, sizeof R);
                    f(k, S, L, R);
                }
                vec end = zero;  // the last vector
                if constexpr (whole)
                    std::memcpy(&end, s + (vecs - 1) * lanes, sizeof end);
                else
                    for (std::size_t l = 0; l < tail; ++l) end[l] = s[(vecs - 1) * lanes + l];
                lanes_from<lanes - 1>(L, S, end, each_lane);  // S: vector vecs - 2, or zero
                lanes_from<1>(R, end, zero, each_lane);
                f(vecs - 1, end, L, R);
            };
            if (m > 0) {
                vec upstream = zero;  // the fluxes of vector k - 1
                sweep([&](std::size_t k, const vec& S, const vec& L, const vec& R) EXAMPLES_ALWAYS_INLINE {
                    vec F, in_flux;
                    send(F, S, L, R);
                    lanes_from<lanes - 1>(in_flux, upstream, F, each_lane);
                    vec M = (S - F) + in_flux;
                    if (!whole && k + 1 == vecs) M = (vec)((ivec)M & in_row);  // the last cell's flux leaves
                    put(k, M);
                    upstream = F;
                });
                r.sides += static_cast<double>(whole ? upstream[lanes - 1] : upstream[tail - 1]);
            } else if (m < 0) {
                vec Sp = zero, Fp = zero;  // vector k - 1, put once vector k's fluxes are known
                sweep([&](std::size_t k, const vec& S, const vec& L, const vec& R) EXAMPLES_ALWAYS_INLINE {
                    vec F, in_flux;
                    send(F, S, L, R);
                    if (k == 0) {
                        r.sides += static_cast<double>(F[0]);
                    } else {
                        lanes_from<1>(in_flux, Fp, F, each_lane);
                        put(k - 1, (Sp - Fp) + in_flux);
                    }
                    Sp = S;
                    Fp = F;
                });
                vec in_flux;
                lanes_from<1>(in_flux, Fp, zero, each_lane);
                put(vecs - 1, (Sp - Fp) + in_flux);
            } else {
                sweep([&](std::size_t k, const vec& S, const vec&, const vec&) EXAMPLES_ALWAYS_INLINE { put(k, S); });
            }
            // added as sum_of<T> adds its partials (add_partials); acc may have been turned by whole vectors
            // (an even number of cells), which only swaps terms of these additions
            double p[8];
            for (std::size_t h = 0; h < groups; ++h)
                for (std::size_t l = 0; l < lanes; ++l) p[h * lanes + l] = static_cast<double>(acc[h][l]);
            row_sums[z] = add_partials(p);
            r.inside += row_sums[z];
            std::swap(prev, moved);
        }
    };
    if (tail == lanes)
        sweep_rows(std::true_type{});
    else
        sweep_rows(std::false_type{});
    if (rows == 0) return r;
    if (extra_row) {
        T* o = out + rows * n;
        for (std::size_t x = 0; x < n; ++x) o[x] = move * prev[x];
        row_sums[rows] = sum_of<T>(o, n);
        r.inside += row_sums[rows];
    } else {
        r.far_face = static_cast<double>(move) * sum_of<T>(prev, n);
    }
    return r;
}

/// Scattering of m <= Lane cells: out[k stride + x] = sum over source angles j of w(j -> k) in[j stride + x],
/// with w(j -> k) = coefficient[j (2 hw + 1) + k + hw - j] (hw the kernel's half-width, na the angle bins),
/// target by target, the sum held in registers (128 bytes of T, in vectors of Bytes) and the sources
/// read from L1 (Ntheta x 128 bytes), each target written once. Sources are added in ascending j.
template <std::size_t Bytes, std::size_t Lane, class T>
EXAMPLES_ALWAYS_INLINE inline void convolve_lane(const T* coefficient, std::size_t hw, std::size_t na,
                                                 std::size_t stride, const T* __restrict in, T* __restrict out,
                                                 std::size_t m, bool prefetch, bool past_cache) {
    using vec = typename examples::vector_of<T, Bytes>::type;
    constexpr std::size_t per_vec = Bytes / sizeof(T), vecs = Lane / per_vec;
    const std::size_t width = 2 * hw + 1;
    for (std::size_t k = 0; k < na; ++k) {
        const std::size_t j0 = k > hw ? k - hw : 0, j1 = std::min(na - 1, k + hw);
        T* target = out + k * stride;
        if (prefetch) {  // the next lane's row k (Ntheta rows at once are more than the prefetchers follow)
            __builtin_prefetch(in + k * stride + Lane);
            __builtin_prefetch(in + k * stride + Lane + 64 / sizeof(T));
            if (!past_cache) {
                __builtin_prefetch(target + Lane, 1);
                __builtin_prefetch(target + Lane + 64 / sizeof(T), 1);
            }
        }
        if (m == Lane) {  // the common case: the accumulators stay in registers
            vec acc[vecs] = {};
            for (std::size_t j = j0; j <= j1; ++j) {
                const T w = coefficient[j * width + (k + hw - j)];
                const T* s = in + j * stride;
#pragma GCC unroll 8
                for (std::size_t v = 0; v < vecs; ++v) {
                    vec x;
                    std::memcpy(&x, s + v * per_vec, sizeof x);  // unaligned load
                    acc[v] += w * x;
                }
            }
#pragma GCC unroll 8
            for (std::size_t v = 0; v < vecs; ++v) {
                if (past_cache)
                    examples::streaming_store(target + v * per_vec, acc[v]);
                else
                    std::memcpy(target + v * per_vec, &acc[v], sizeof(vec));
            }
            continue;
        }
        T acc[Lane] = {};
        for (std::size_t j = j0; j <= j1; ++j) {
            const T w = coefficient[j * width + (k + hw - j)];
            const T* __restrict s = in + j * stride;
            for (std::size_t x = 0; x < m; ++x) acc[x] += w * s[x];
        }
        std::copy_n(acc, m, target);
    }
}

}  // namespace detail

}  // namespace transport
