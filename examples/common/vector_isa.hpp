// Vector helpers for the example modules' hot loops. Wider vectors where the CPU has them, without
// building the whole program for one CPU: the builds keep the compiler's default target (x86-64: SSE2,
// 4 floats wide), and a loop written in an always-inlined lambda is compiled a second time for AVX2
// (8 floats wide) and chosen at run time. Stores that bypass the caches, for outputs larger than
// them. And a scope in which subnormal numbers are flushed to zero.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#define EXAMPLES_X86 1
#include <emmintrin.h>
#include <pmmintrin.h>
#endif

/// Marks a lambda (after its parameter list) or a function to be inlined into its caller, so that it is
/// compiled for the caller's target: `[&]() EXAMPLES_ALWAYS_INLINE { ... }`.
#define EXAMPLES_ALWAYS_INLINE __attribute__((always_inline))

namespace examples {

/// Whether the CPU has AVX2 (GCC's cpuid check, done once).
inline bool cpu_has_avx2() {
#ifdef EXAMPLES_X86
    static const bool yes = __builtin_cpu_supports("avx2");
    return yes;
#else
    return false;
#endif
}

/// Whether the CPU has AVX2 and FMA (what glibc's AVX2 vector math kernels need).
inline bool cpu_has_avx2_fma() {
#ifdef EXAMPLES_X86
    static const bool yes = cpu_has_avx2() && __builtin_cpu_supports("fma");
    return yes;
#else
    return false;
#endif
}

/// Vector registers of the target a body is compiled for: 32 bytes (AVX2) or 16 (SSE2, NEON).
template <std::size_t Bytes>
using vector_bytes = std::integral_constant<std::size_t, Bytes>;

/// Bytes of float or double as a GCC generic vector, for loops that keep accumulators in registers;
/// use it only in code compiled for a target whose registers are Bytes wide (a wider vector would be
/// split up, through memory).
template <class T, std::size_t Bytes>
struct vector_of {
    typedef T type __attribute__((vector_size(Bytes)));
};

/// Stores the vector v (16 or 32 bytes) at p, 16-byte aligned, past the caches where the CPU can (x86's
/// non-temporal stores): for outputs too large to stay in the cache, whose lines would otherwise be
/// read from memory before being overwritten (a third of a copy's traffic). Elsewhere a plain store.
/// Call streaming_store_fence() before other threads read what was stored.
template <class V>
EXAMPLES_ALWAYS_INLINE inline void streaming_store(void* p, const V& v) {
    static_assert(sizeof(V) % 16 == 0);
#ifdef EXAMPLES_X86
    for (std::size_t h = 0; h < sizeof(V); h += 16) {
        __m128i x;
        std::memcpy(&x, reinterpret_cast<const char*>(&v) + h, 16);
        _mm_stream_si128(reinterpret_cast<__m128i*>(static_cast<char*>(p) + h), x);
    }
#else
    std::memcpy(p, &v, sizeof(V));
#endif
}

/// Orders the streaming stores before what follows (x86 sfence).
inline void streaming_store_fence() {
#ifdef EXAMPLES_X86
    _mm_sfence();
#endif
}

/// While alive, the calling thread's SSE and AVX arithmetic flushes subnormal results to zero and reads
/// subnormal operands as zero (x86 MXCSR's flush-to-zero and denormals-are-zero bits); the thread's
/// previous mode comes back when it ends. Arithmetic on subnormals (below 1.2e-38 in float, 2.2e-308 in
/// double) takes a slow path on many x86 CPUs, and a decaying quantity (the tail of a Gaussian, a share
/// (1 - f)^k) passes through them. Results then depend on the mode, not on the thread that runs them:
/// put one in every chunk body whose results must be the same for any schedule. Elsewhere than x86 it
/// does nothing (subnormals stay, at their cost).
class flush_subnormals {
public:
    flush_subnormals() {
#ifdef EXAMPLES_X86
        _mm_setcsr(saved_ | _MM_FLUSH_ZERO_ON | _MM_DENORMALS_ZERO_ON);
#endif
    }
    ~flush_subnormals() {
#ifdef EXAMPLES_X86
        _mm_setcsr(saved_);
#endif
    }
    flush_subnormals(const flush_subnormals&) = delete;
    flush_subnormals& operator=(const flush_subnormals&) = delete;

private:
#ifdef EXAMPLES_X86
    unsigned saved_ = _mm_getcsr();
#endif
};

namespace detail {
#ifdef EXAMPLES_X86
template <class F>
[[gnu::target("avx2")]] void run_for_avx2(F& body) {
    body(vector_bytes<32>{});
}
#endif
template <class F>
void run_for_default_target(F& body) {
    body(vector_bytes<16>{});
}
}  // namespace detail

/// Runs body(vector_bytes<32>{}) compiled for AVX2 when the CPU has it, else body(vector_bytes<16>{})
/// for the build's default target. body must be a generic lambda marked EXAMPLES_ALWAYS_INLINE, and the
/// functions it calls in its loops EXAMPLES_ALWAYS_INLINE too, or they stay compiled for the default
/// target. AVX2 without FMA: a multiply and an add stay two roundings, as in the SSE2 build, so both
/// paths give the same bits (the vector width changes which elements share an instruction, not the
/// order of any element's own operations).
template <class F>
void with_widest_vectors(F&& body) {
#ifdef EXAMPLES_X86
    if (cpu_has_avx2()) return detail::run_for_avx2(body);
#endif
    detail::run_for_default_target(body);
}

}  // namespace examples
