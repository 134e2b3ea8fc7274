// Per-bin transcendental functions over arrays, through glibc's vector math library (libmvec) where the
// build found it (WAVEFORMS_HAVE_LIBMVEC) and the CPU has AVX2 and FMA, else the scalar libm loop: the
// sine and cosine of the phase, and the exponential and arctangent of IMRPhenomD's merger-ringdown.
// libmvec's kernels are within 4 ulp of the scalar ones (glibc manual, "Errors in Math Functions");
// <math.h> declares them only under -ffast-math, which the models' accuracy does not allow, so they
// are declared here.
#pragma once

#include <common/vector_isa.hpp>

#include <cmath>
#include <cstddef>

#if defined(WAVEFORMS_HAVE_LIBMVEC) && defined(__x86_64__)
#include <immintrin.h>
#define WAVEFORMS_AVX2 1
#endif

namespace waveforms::detail {

/// The scalar libm loop (the fallback, and the benchmark's peer).
inline void sin_cos_scalar(const double* x, double* s, double* c, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        s[k] = std::sin(x[k]);
        c[k] = std::cos(x[k]);
    }
}

inline void exp_scalar(double* x, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) x[k] = std::exp(x[k]);
}

inline void atan_scalar(double* x, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) x[k] = std::atan(x[k]);
}

#ifdef WAVEFORMS_AVX2
// libmvec's AVX2 variants (x86_64 vector function ABI, 'd' = AVX2). Declared with the AVX2 target: a
// __m256d argument travels in a ymm register only when AVX is enabled for the call.
extern "C" __attribute__((target("avx2"))) __m256d _ZGVdN4v_sin(__m256d);
extern "C" __attribute__((target("avx2"))) __m256d _ZGVdN4v_cos(__m256d);
extern "C" __attribute__((target("avx2"))) __m256d _ZGVdN4v_exp(__m256d);
extern "C" __attribute__((target("avx2"))) __m256d _ZGVdN4v_atan(__m256d);  // glibc 2.35 and later

__attribute__((target("avx2,fma"))) inline void sin_cos_avx2(const double* x, double* s, double* c, std::size_t n) {
    std::size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const __m256d v = _mm256_loadu_pd(x + k);
        _mm256_storeu_pd(s + k, _ZGVdN4v_sin(v));
        _mm256_storeu_pd(c + k, _ZGVdN4v_cos(v));
    }
    sin_cos_scalar(x + k, s + k, c + k, n - k);
}

/// x[k] = kernel(x[k]) 4 at a time, the tail by `scalar`.
template <__m256d (*kernel)(__m256d), void (*scalar)(double*, std::size_t)>
__attribute__((target("avx2,fma"))) inline void in_place_avx2(double* x, std::size_t n) {
    std::size_t k = 0;
    for (; k + 4 <= n; k += 4) _mm256_storeu_pd(x + k, kernel(_mm256_loadu_pd(x + k)));
    scalar(x + k, n - k);
}
#endif

/// s[k] = sin(x[k]), c[k] = cos(x[k]) for k < n. Large phases (1e4 rad) lose nothing: both paths reduce
/// the argument exactly (tests/examples/waveforms.cpp compares them).
inline void sin_cos(const double* x, double* s, double* c, std::size_t n) {
#ifdef WAVEFORMS_AVX2
    if (examples::cpu_has_avx2_fma()) return sin_cos_avx2(x, s, c, n);
#endif
    sin_cos_scalar(x, s, c, n);
}

/// x[k] = exp(x[k]) for k < n, in place.
inline void exp_in_place(double* x, std::size_t n) {
#ifdef WAVEFORMS_AVX2
    if (examples::cpu_has_avx2_fma()) return in_place_avx2<_ZGVdN4v_exp, exp_scalar>(x, n);
#endif
    exp_scalar(x, n);
}

/// x[k] = atan(x[k]) for k < n, in place.
inline void atan_in_place(double* x, std::size_t n) {
#ifdef WAVEFORMS_AVX2
    if (examples::cpu_has_avx2_fma()) return in_place_avx2<_ZGVdN4v_atan, atan_scalar>(x, n);
#endif
    atan_scalar(x, n);
}

}  // namespace waveforms::detail
