#pragma once
// reservoir/series.hpp: the two benchmark series of reservoir computing, generated from their defining
// equations: the Mackey-Glass delay differential equation and the NARMA10 system.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace reservoir {

/// The Mackey-Glass equation dx/dt = beta x(t - tau) / (1 + x(t - tau)^n) - gamma x(t)
/// (M. C. Mackey and L. Glass, "Oscillation and chaos in physiological control systems", Science 197
/// (1977) 287, eq. 4a), with the constants of the reservoir-computing benchmark: beta = 0.2,
/// gamma = 0.1, n = 10, tau = 17, where the attractor is chaotic (H. Jaeger and H. Haas, Science 304
/// (2004) 78). Times are in the equation's own units.
struct mackey_glass_config {
    double beta = 0.2, gamma = 0.1, exponent = 10, tau = 17;
    double history = 1.2;     ///< x(t) for t <= 0
    double step = 0.01;       ///< integration step h; tau / h must be a whole number >= 2
    double sample_every = 1;  ///< time between samples; a whole number of steps
    double transient = 1000;  ///< time integrated and discarded before the first sample
};

/// `samples` values x(transient + k sample_every), k = 0 .. samples-1.
///
/// Integration: classical fourth-order Runge-Kutta with step h on the history grid t_k = k h. The
/// delayed term at t_k - tau and t_k + h - tau is a stored value; at the half step it is the cubic
/// Lagrange interpolation of the four nearest stored values, (-x[j-1] + 9 x[j] + 9 x[j+1] - x[j+2]) / 16,
/// whose error O(h^4) matches the method's. Memory: tau / h + 3 values. O(samples sample_every / h).
/// Throws std::invalid_argument for a configuration that breaks the rules above.
inline std::vector<double> mackey_glass(std::size_t samples, const mackey_glass_config& c = {}) {
    const double delay_steps = c.tau / c.step, stride = c.sample_every / c.step, skip = c.transient / c.step;
    const auto whole = [](double v) {
        return std::isfinite(v) && v >= 0 && v < 1e9 && std::abs(v - std::round(v)) < 1e-9;
    };
    if (!(c.step > 0) || !whole(delay_steps) || delay_steps < 2 || !whole(stride) || stride < 1 || !whole(skip))
        throw std::invalid_argument(
            "mackey_glass: tau, sample_every and transient must be whole multiples of the step "
            "(tau at least two steps); got step " +
            std::to_string(c.step));
    if (samples > std::size_t{1} << 30) throw std::invalid_argument("mackey_glass: at most 2^30 samples");
    const auto d = static_cast<std::size_t>(std::llround(delay_steps));
    const auto every = static_cast<std::size_t>(std::llround(stride));
    const auto first = static_cast<std::size_t>(std::llround(skip));

    // ring of the last d + 3 values: x[k - d - 1] .. x[k + 1]; before t = 0 the history
    const std::size_t ring = d + 3;
    std::vector<double> x(ring, c.history);
    const auto at = [&](std::size_t shifted) -> double& { return x[shifted % ring]; };  // x[k] at k + d + 1
    const auto f = [&](double now, double delayed) {
        return c.beta * delayed / (1 + std::pow(delayed, c.exponent)) - c.gamma * now;
    };

    std::vector<double> out;
    out.reserve(samples);
    const std::size_t last = first + (samples == 0 ? 0 : (samples - 1) * every);
    const double h = c.step;
    for (std::size_t k = 0; out.size() < samples; ++k) {
        const std::size_t s = k + d + 1;  // shifted index of x[k]
        const double now = at(s);
        if (k >= first && (k - first) % every == 0) out.push_back(now);
        if (k >= last) break;
        const double lag0 = at(s - d), lag1 = at(s - d + 1);
        const double lag_half = (-at(s - d - 1) + 9 * lag0 + 9 * lag1 - at(s - d + 2)) / 16;
        const double k1 = f(now, lag0);
        const double k2 = f(now + 0.5 * h * k1, lag_half);
        const double k3 = f(now + 0.5 * h * k2, lag_half);
        const double k4 = f(now + h * k3, lag1);
        at(s + 1) = now + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    return out;
}

/// An input sequence u and the NARMA10 system's response y:
/// y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i=0}^{9} y(t-i) + 1.5 u(t-9) u(t) + 0.1, u(t) uniform in [0, 0.5]
/// (A. F. Atiya and A. G. Parlos, IEEE Trans. Neural Networks 11 (2000) 697, eq. 33), y = 0 before
/// the first step. The task: given u(0..t), output y(t+1); target[t] holds y(t+1).
struct narma10_series {
    std::vector<double> input, target;
};

/// `n` steps of NARMA10 driven by std::mt19937_64 seeded with `seed`. The system can diverge for rare
/// input sequences: throws std::runtime_error naming the seed and step when a value is not finite.
inline narma10_series narma10(std::size_t n, std::uint64_t seed) {
    if (n > std::size_t{1} << 30) throw std::invalid_argument("narma10: at most 2^30 steps");
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(0.0, 0.5);
    narma10_series s;
    s.input.resize(n);
    s.target.resize(n);
    for (auto& u : s.input) u = uniform(rng);
    std::vector<double> y(n + 1, 0.0);  // y[t] for t = 0 .. n
    for (std::size_t t = 0; t < n; ++t) {
        double sum = 0;
        for (std::size_t i = 0; i < 10 && i <= t; ++i) sum += y[t - i];
        const double u9 = t >= 9 ? s.input[t - 9] : 0.0;
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * sum + 1.5 * u9 * s.input[t] + 0.1;
        if (!std::isfinite(y[t + 1]))
            throw std::runtime_error("narma10: the system diverged at step " + std::to_string(t) + " for seed " +
                                     std::to_string(seed));
        s.target[t] = y[t + 1];
    }
    return s;
}

}  // namespace reservoir
