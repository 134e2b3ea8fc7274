// Kerr quasinormal-mode frequencies of the (l, m, n) = (2, 2, 0) gravitational mode, by Leaver's method,
// tabulated over the remnant spin and interpolated with a natural cubic spline: the ringdown and
// damping frequencies IMRPhenomD needs (Husa et al., arXiv:1508.07250, Sec. IV C and Fig. 9).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace waveforms {

namespace detail {

using cplx = std::complex<double>;

/// Three-term recurrence coefficients alpha_n, beta_n, gamma_n of Leaver's continued fractions.
struct recurrence {
    cplx alpha, beta, gamma;
};

/// The angular recurrence, Leaver (1985), Proc. R. Soc. Lond. A 402, 285, Eq. 20, for spin weight s,
/// azimuthal number m, Kerr parameter a and frequency omega in Leaver's units (2M = 1) and separation
/// constant A.
inline recurrence angular_terms(int n, double a, int m, int s, cplx A, cplx omega) {
    const double k1 = 0.5 * std::abs(m - s), k2 = 0.5 * std::abs(m + s);
    const double dn = n;
    const cplx aw = a * omega;
    return {-2.0 * (dn + 1.0) * (dn + 2.0 * k1 + 1.0),
            dn * (dn - 1.0) + 2.0 * dn * (k1 + k2 + 1.0 - 2.0 * aw) -
                (2.0 * aw * (2.0 * k1 + s + 1.0) - (k1 + k2) * (k1 + k2 + 1.0)) - (aw * aw + double(s * (s + 1)) + A),
            2.0 * aw * (dn + k1 + k2 + s)};
}

/// The radial recurrence, Leaver (1985), Eqs. 25 and 26, same units.
inline recurrence radial_terms(int n, double a, int m, int s, cplx A, cplx omega) {
    const cplx i{0.0, 1.0};
    const double b = std::sqrt(1.0 - 4.0 * a * a);
    const cplx k = (0.5 * omega - a * m) / b;
    const cplx c0 = 1.0 - double(s) - i * omega - 2.0 * i * k;
    const cplx c1 = -4.0 + 2.0 * i * omega * (2.0 + b) + 4.0 * i * k;
    const cplx c2 = double(s) + 3.0 - 3.0 * i * omega - 2.0 * i * k;
    const cplx c3 = omega * omega * (4.0 + 2.0 * b - a * a) - 2.0 * a * m * omega - double(s) - 1.0 +
                    (2.0 + b) * i * omega - A + (4.0 * omega + 2.0 * i) * k;
    const cplx c4 = double(s) + 1.0 - 2.0 * omega * omega - (2.0 * s + 3.0) * i * omega - (4.0 * omega + 2.0 * i) * k;
    const double dn = n;
    return {dn * dn + (c0 + 1.0) * dn + c0, -2.0 * dn * dn + (c1 + 2.0) * dn + c3,
            dn * dn + (c2 - 3.0) * dn + c4 - c2 + 2.0};
}

/// beta_0 - alpha_0 gamma_1 / (beta_1 - alpha_1 gamma_2 / (beta_2 - ...)), Leaver's Eqs. 21 and 27, by the
/// modified Lentz method (Numerical Recipes, Sec. 5.2) to relative change 1e-16.
template <class Terms>
cplx continued_fraction(Terms terms) {
    constexpr double tiny = 1e-300;
    auto t = terms(0);
    cplx f = t.beta;
    if (std::abs(f) < tiny) f = tiny;
    cplx C = f, D = 0.0;
    cplx previous_alpha = t.alpha;
    for (int n = 1; n < 2'000'000; ++n) {
        t = terms(n);
        const cplx an = -previous_alpha * t.gamma;
        previous_alpha = t.alpha;
        D = t.beta + an * D;
        if (std::abs(D) < tiny) D = tiny;
        C = t.beta + an / C;
        if (std::abs(C) < tiny) C = tiny;
        D = 1.0 / D;
        const cplx delta = C * D;
        f *= delta;
        if (std::abs(delta - 1.0) < 1e-16) return f;
    }
    throw std::runtime_error("parex: Leaver's continued fraction did not converge");
}

/// The (A, omega) of the (2, 2, 0) mode at Leaver spin a (|a| < 1/2), by Newton's method on both
/// continued fractions from the guess (A, omega). Converges to |step| < 1e-14.
inline std::array<cplx, 2> solve_leaver(double a, cplx A, cplx omega) {
    constexpr int m = 2, s = -2;  // l = 2 is the fundamental: the plain (0th-inversion) fractions
    auto residual = [&](cplx A_, cplx w_) -> std::array<cplx, 2> {
        return {continued_fraction([&](int n) { return angular_terms(n, a, m, s, A_, w_); }),
                continued_fraction([&](int n) { return radial_terms(n, a, m, s, A_, w_); })};
    };
    for (int iteration = 0; iteration < 100; ++iteration) {
        const auto F = residual(A, omega);
        // Both residuals are analytic in A and omega: complex finite differences give the Jacobian.
        const double hA = 1e-7 * std::max(1.0, std::abs(A)), hw = 1e-7 * std::max(1.0, std::abs(omega));
        const auto FA = residual(A + hA, omega), Fw = residual(A, omega + hw);
        const cplx j11 = (FA[0] - F[0]) / hA, j12 = (Fw[0] - F[0]) / hw;
        const cplx j21 = (FA[1] - F[1]) / hA, j22 = (Fw[1] - F[1]) / hw;
        const cplx det = j11 * j22 - j12 * j21;
        const cplx dA = (F[0] * j22 - j12 * F[1]) / det;
        const cplx dw = (j11 * F[1] - j21 * F[0]) / det;
        A -= dA;
        omega -= dw;
        if (std::abs(dA) < 1e-14 * std::max(1.0, std::abs(A)) && std::abs(dw) < 1e-14) return {A, omega};
    }
    throw std::runtime_error("parex: Leaver's method did not converge at a = " + std::to_string(2 * a));
}

/// A natural cubic spline through (x_i, y_i), x strictly increasing (what GSL's gsl_interp_cspline is).
class natural_spline {
public:
    natural_spline() = default;
    natural_spline(std::vector<double> x, std::vector<double> y)
        : x_(std::move(x)),
          y_(std::move(y)),
          m_(x_.size(), 0.0) {
        const std::size_t n = x_.size();
        if (n < 3 || y_.size() != n) throw std::invalid_argument("parex: a spline needs three or more points");
        // Tridiagonal system for the second derivatives m_1..m_{n-2}, m_0 = m_{n-1} = 0 (Thomas algorithm).
        std::vector<double> c(n, 0.0), d(n, 0.0);
        for (std::size_t i = 1; i + 1 < n; ++i) {
            const double h0 = x_[i] - x_[i - 1], h1 = x_[i + 1] - x_[i];
            const double diag = 2.0 * (h0 + h1) - h0 * c[i - 1];
            const double rhs = 6.0 * ((y_[i + 1] - y_[i]) / h1 - (y_[i] - y_[i - 1]) / h0) - h0 * d[i - 1];
            c[i] = h1 / diag;
            d[i] = rhs / diag;
        }
        for (std::size_t i = n - 2; i >= 1; --i) m_[i] = d[i] - c[i] * m_[i + 1];
    }

    /// The spline at x; throws std::domain_error outside [x_0, x_{n-1}]. O(log n).
    [[nodiscard]] double operator()(double x) const {
        if (!(x >= x_.front() && x <= x_.back()))
            throw std::domain_error("parex: " + std::to_string(x) + " is outside the spline's range");
        const auto hi = std::upper_bound(x_.begin(), x_.end(), x);
        const std::size_t i = std::min<std::size_t>(std::size_t(hi - x_.begin()), x_.size() - 1) - 1;
        const double h = x_[i + 1] - x_[i], t = (x - x_[i]) / h, u = 1.0 - t;
        return u * y_[i] + t * y_[i + 1] + h * h / 6.0 * ((u * u * u - u) * m_[i] + (t * t * t - t) * m_[i + 1]);
    }

private:
    std::vector<double> x_, y_, m_;
};

}  // namespace detail

/// The ringdown frequency f_RD = Re(M omega) / 2 pi and damping frequency f_damp = -Im(M omega) / 2 pi of
/// the (2, 2, 0) quasinormal mode of a Kerr black hole of unit mass and dimensionless spin a, in units of
/// 1/M. Built once (about 1000 Leaver solutions, tens of milliseconds) and shared: use qnm_table::get().
///
/// The grid is IMRPhenomD's: a = -1, -0.999, -0.998 to 0.998 in steps of 0.002, 0.999, 1. Values come
/// from Leaver's continued fractions, rounded to six significant digits as LALSuite's tabulation of
/// Berti's data (LALSimIMRPhenomD.h, QNMData_*), so the spline matches the one IMRPhenomD was built on.
/// At |a| = 1 Leaver's expansion degenerates (b = 0): those two knots are extrapolated quadratically
/// from the three nearest; only remnants with |a| > 0.999 see them.
class qnm_table {
public:
    /// The shared table (built on first use, thread-safe).
    static const qnm_table& get() {
        static const qnm_table table;
        return table;
    }

    /// f_RD(a) in units of 1/M. Throws std::domain_error for |a| > 1.
    [[nodiscard]] double ringdown(double a) const { return ringdown_(a); }
    /// f_damp(a) in units of 1/M. Throws std::domain_error for |a| > 1.
    [[nodiscard]] double damping(double a) const { return damping_(a); }

    /// The exact (unrounded) Leaver solution at spin a, |a| < 1: M omega (Re > 0, Im < 0).
    static std::complex<double> omega(double a) {
        std::complex<double> A = 4.0, w = schwarzschild_leaver;
        const int steps = int(std::ceil(std::abs(a) / 0.002));
        for (int i = 1; i <= steps; ++i) {
            const auto r = detail::solve_leaver(0.5 * a * i / steps, A, w);
            A = r[0];
            w = r[1];
        }
        if (steps == 0) w = detail::solve_leaver(0.0, A, w)[1];
        return 0.5 * w;
    }

private:
    // M omega of the Schwarzschild (2, 2, 0) mode in Leaver's units (2M = 1): 2 (0.37367 - 0.08896 i),
    // Leaver (1985), Table 1; polished by the solver.
    static constexpr std::complex<double> schwarzschild_leaver{0.747343, -0.177925};

    qnm_table() {
        std::vector<double> spins;
        spins.push_back(-1.0);
        spins.push_back(-0.999);
        for (int i = -499; i <= 499; ++i) spins.push_back(0.002 * i);
        spins.push_back(0.999);
        spins.push_back(1.0);
        const std::size_t n = spins.size(), zero = n / 2;  // spins[zero] == 0
        std::vector<std::complex<double>> omega(n);
        for (int direction : {+1, -1}) {  // continue the mode from a = 0 outwards, each side
            // Each knot starts from the linear extrapolation of the two before it.
            std::complex<double> A = 4.0, w = schwarzschild_leaver, A_before = A, w_before = w;
            for (std::size_t k = zero; k >= 1 && k + 1 < n; k += direction) {
                const bool extrapolate = k != zero && k != zero + direction;
                const auto r = detail::solve_leaver(0.5 * spins[k], extrapolate ? 2.0 * A - A_before : A,
                                                    extrapolate ? 2.0 * w - w_before : w);
                A_before = A;
                w_before = w;
                A = r[0];
                w = r[1];
                omega[k] = 0.5 * w;
                if (direction < 0 && k == 1) break;
            }
        }
        // |a| = 1: quadratic extrapolation through the three nearest knots.
        auto extrapolate = [&](std::size_t end, std::size_t k1, std::size_t k2, std::size_t k3) {
            const double x = spins[end], x1 = spins[k1], x2 = spins[k2], x3 = spins[k3];
            const double l1 = (x - x2) * (x - x3) / ((x1 - x2) * (x1 - x3));
            const double l2 = (x - x1) * (x - x3) / ((x2 - x1) * (x2 - x3));
            const double l3 = (x - x1) * (x - x2) / ((x3 - x1) * (x3 - x2));
            omega[end] = l1 * omega[k1] + l2 * omega[k2] + l3 * omega[k3];
        };
        extrapolate(n - 1, n - 2, n - 3, n - 4);
        extrapolate(0, 1, 2, 3);
        std::vector<double> ring(n), damp(n);
        constexpr double two_pi = 6.283185307179586476925286766559;
        for (std::size_t k = 0; k < n; ++k) {
            ring[k] = round_significant(omega[k].real() / two_pi);
            damp[k] = round_significant(-omega[k].imag() / two_pi);
        }
        ringdown_ = detail::natural_spline(spins, std::move(ring));
        damping_ = detail::natural_spline(std::move(spins), std::move(damp));
    }

    static double round_significant(double x) {  // six significant digits
        const double scale = std::pow(10.0, 5 - int(std::floor(std::log10(std::abs(x)))));
        return std::round(x * scale) / scale;
    }

    detail::natural_spline ringdown_, damping_;
};

}  // namespace waveforms
