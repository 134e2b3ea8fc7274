#pragma once
// transport/kernels.hpp: the inner loops of the operators, written for the compiler to vectorise (or
// with explicit vector types): a sum in a fixed order, the weighted sum of two rows, and the angular
// convolution of a lane of cells. Each gives the same bits for any thread count.

#include <common/vector_isa.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

namespace transport {

namespace detail {

/// The sum of s[0, n) in double, as eight interleaved partial sums (element x in partial x % 8) added
/// pairwise at the end: a fixed order, so the same bits for any schedule, that the compiler vectorises
/// (one running sum is a chain of dependent additions it may not reorder).
template <class T>
EXAMPLES_ALWAYS_INLINE inline double sum_of(const T* s, std::size_t n) {
    double partial[8] = {};
    std::size_t x = 0;
    for (; x + 8 <= n; x += 8)
        for (std::size_t l = 0; l < 8; ++l) partial[l] += static_cast<double>(s[x + l]);
    for (std::size_t l = 0; l < 8 && x + l < n; ++l) partial[l] += static_cast<double>(s[x + l]);  // x % 8 == 0
    return ((partial[0] + partial[4]) + (partial[1] + partial[5])) +
           ((partial[2] + partial[6]) + (partial[3] + partial[7]));
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

/// to[q] = from[q] for q < n with non-temporal stores (examples::streaming_store); `to` 16-byte
/// aligned and n sizeof(T) a multiple of 16.
template <class T>
EXAMPLES_ALWAYS_INLINE inline void copy_past_cache(const T* __restrict from, T* __restrict to, std::size_t n) {
    using vec = typename examples::vector_of<T, 16>::type;
    constexpr std::size_t per_vec = 16 / sizeof(T);
    for (std::size_t q = 0; q + per_vec <= n; q += per_vec) {
        vec x;
        std::memcpy(&x, from + q, sizeof x);
        examples::streaming_store(to + q, x);
    }
}

/// a[q] = w0 s0[q] + w1 s1[q] + w2 s2[q] for q < n, added in that order, stored past the cache if asked
/// (a 16-byte aligned), in vectors of Bytes (the caller's vector width).
template <std::size_t Bytes, class T>
EXAMPLES_ALWAYS_INLINE inline void weighted_sum(T* __restrict a, const T* __restrict s0, T w0, const T* __restrict s1,
                                                T w1, const T* __restrict s2, T w2, std::size_t n, bool past_cache) {
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
        }
    }
    for (; q < n; ++q) a[q] = w0 * s0[q] + w1 * s1[q] + w2 * s2[q];
}

/// `rows` rows of n cells, stored one after the other, each moved across by m cells, |m| <= 1, with
/// zero outside each row: the second-order upwind (MUSCL) scheme for the advection u_t + v u_x = 0 with
/// Courant number m, its slopes limited by the monotonised-central limiter (van Leer, J. Comput. Phys.
/// 23 (1977) 276; LeVeque, "Finite Volume Methods for Hyperbolic Problems", 2002, Ch. 6). Each cell
/// sends |m| (s + (1 - |m|)/2 slope) of itself downstream, the slope taken towards the move;
/// conservative, positive and total-variation diminishing for |m| <= 1, and exact for m = 0. The rows
/// are swept as one array (short rows would spend their time in loop overhead) and the two cells at
/// each row's ends fixed up after. `flux` holds rows n values. Returns what left the rows through
/// their ends.
template <class T>
EXAMPLES_ALWAYS_INLINE inline double shift_rows(const T* __restrict s, T* __restrict out, T* __restrict flux,
                                                std::size_t rows, std::size_t n, T m) {
    const std::size_t len = rows * n;
    if (m == T(0) || len == 0) {
        std::copy_n(s, len, out);
        return 0;
    }
    const T a = m > 0 ? m : -m, lean = (m > 0 ? T(1) : T(-1)) * (1 - a) / 2;
    const auto send = [&](T here, T dl, T dr) EXAMPLES_ALWAYS_INLINE {
        const T centre = (dl + dr) / 2;
        const T magnitude = std::min(std::abs(centre), 2 * std::min(std::abs(dl), std::abs(dr)));
        const T slope = dl * dr > 0 ? std::copysign(magnitude, centre) : T(0);
        return a * (here + lean * slope);
    };
    // what each cell sends downstream; the two cells at each row's ends see zero beyond them
    for (std::size_t i = 1; i + 1 < len; ++i) flux[i] = send(s[i], s[i] - s[i - 1], s[i + 1] - s[i]);
    for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t first = r * n, last = first + n - 1;
        const T inner_first = n > 1 ? s[first + 1] - s[first] : -s[first];
        const T inner_last = n > 1 ? s[last] - s[last - 1] : s[last];
        flux[first] = send(s[first], s[first], inner_first);
        flux[last] = send(s[last], inner_last, -s[last]);
    }
    double left = 0;
    if (m > 0) {
        out[0] = s[0] - flux[0];
        for (std::size_t i = 1; i < len; ++i) out[i] = s[i] - flux[i] + flux[i - 1];
        for (std::size_t r = 0; r < rows; ++r) {
            out[r * n] = s[r * n] - flux[r * n];
            left += static_cast<double>(flux[r * n + n - 1]);
        }
    } else {
        for (std::size_t i = 0; i + 1 < len; ++i) out[i] = s[i] - flux[i] + flux[i + 1];
        out[len - 1] = s[len - 1] - flux[len - 1];
        for (std::size_t r = 0; r < rows; ++r) {
            out[r * n + n - 1] = s[r * n + n - 1] - flux[r * n + n - 1];
            left += static_cast<double>(flux[r * n]);
        }
    }
    return left;
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
