#pragma once
// waveforms/taylor_f2.hpp: the TaylorF2 post-Newtonian inspiral model, as per-bin amplitude A_k and
// phase Psi_k with h(f_k) = A_k exp(-i Psi_k) over a frequency_grid, and its phasing coefficients.

#include <waveforms/frequency_grid.hpp>
#include <waveforms/vector_math.hpp>
#include <waveforms/waveform.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <numbers>

namespace waveforms {

/// TaylorF2 phasing coefficients, each already multiplied by the Newtonian 3 / (128 eta):
/// Psi_SPA(v) = sum_k (v[k] + vlogv[k] ln v) v^(k - 5), v = (pi M f)^(1/3).
/// Non-spinning terms: Buonanno, Iyer, Ochsner, Pan, Sathyaprakash, PRD 80, 084043 (2009), arXiv:0907.0700,
/// Eq. 3.18. Spin-orbit terms at 1.5, 2.5, 3 and 3.5PN: Bohe, Marsat, Faye, Blanchet, CQG 30, 135009 (2013),
/// arXiv:1303.7412, Eqs. 3.15-16 (with their Sigma_l, S_l of Eq. 3.9). Spin-spin terms at 2PN including
/// the quadrupole-monopole terms (kappa = 1, black holes): arXiv:0810.5336 Eq. 6.24 and
/// arXiv:astro-ph/0504538 Eqs. 9b-d. Spin-spin at 3PN (kappa = 1): Bohe, Faye, Marsat, Porter, CQG 32,
/// 195010 (2015), arXiv:1501.01529. This is the set of LALSimInspiralPNCoefficients.c at the end of 2015;
/// IMRPhenomD was calibrated before the 3PN spin-spin term existed and leaves it out.
struct pn_phasing {
    std::array<double, 8> v{};
    std::array<double, 8> vlogv{};
};

/// m1, m2 in any unit (only ratios enter); chi1, chi2 the aligned spins of body 1 and 2.
inline pn_phasing taylor_f2_phasing(double m1, double m2, double chi1, double chi2, bool spin_spin_3pn = true) {
    constexpr double pi = std::numbers::pi, euler_gamma = std::numbers::egamma;
    const double m = m1 + m2, d = (m1 - m2) / m, eta = m1 * m2 / (m * m);
    const double m1M = m1 / m, m2M = m2 / m;
    const double SL = m1M * m1M * chi1 + m2M * m2M * chi2;  // S_l / M^2
    const double dSigmaL = d * (m2M * chi2 - m1M * chi1);   // (delta m / m) Sigma_l / M^2
    pn_phasing p;
    p.v[0] = 1.0;
    p.v[2] = 5.0 * (743.0 / 84.0 + 11.0 * eta) / 9.0;
    p.v[3] = -16.0 * pi + 188.0 * SL / 3.0 + 25.0 * dSigmaL;
    // 2PN, with the spin-spin sigma (kappa_i = 1): 721/48 chi1 chi2 - 247/48 chi1.chi2 (eta-weighted) and the
    // self-spin terms (720 kappa - 1)/96 (m_i chi_i)^2 - (240 kappa - 7)/96 (m_i chi_i)^2.
    double sigma = eta * (721.0 / 48.0 * chi1 * chi2 - 247.0 / 48.0 * chi1 * chi2);
    sigma += (720.0 - 1.0) / 96.0 * m1M * m1M * chi1 * chi1 + (720.0 - 1.0) / 96.0 * m2M * m2M * chi2 * chi2;
    sigma -= (240.0 - 7.0) / 96.0 * m1M * m1M * chi1 * chi1 + (240.0 - 7.0) / 96.0 * m2M * m2M * chi2 * chi2;
    p.v[4] = 5.0 * (3058.673 / 7.056 + 5429.0 / 7.0 * eta + 617.0 * eta * eta) / 72.0 - 10.0 * sigma;
    const double gamma_so =
        (554345.0 / 1134.0 + 110.0 * eta / 9.0) * SL + (13915.0 / 84.0 - 10.0 * eta / 3.0) * dSigmaL;
    p.v[5] = 5.0 / 9.0 * (7729.0 / 84.0 - 13.0 * eta) * pi - gamma_so;
    p.vlogv[5] = 5.0 / 3.0 * (7729.0 / 84.0 - 13.0 * eta) * pi - 3.0 * gamma_so;
    p.v[6] = (11583.231236531 / 4.694215680 - 640.0 / 3.0 * pi * pi - 6848.0 / 21.0 * euler_gamma) +
             eta * (-15737.765635 / 3.048192 + 2255.0 / 12.0 * pi * pi) + eta * eta * 76055.0 / 1728.0 -
             eta * eta * eta * 127825.0 / 1296.0 + (-6848.0 / 21.0) * std::log(4.0) +
             pi * (3760.0 * SL + 1490.0 * dSigmaL) / 3.0;
    if (spin_spin_3pn) {
        auto self = [](double x) {  // (kappa = 1) coefficient of (m_i chi_i / M)^2
            return (4703.5 / 8.4 + 2935.0 / 6.0 * x - 120.0 * x * x) +
                   (-4108.25 / 6.72 - 108.5 / 1.2 * x + 125.5 / 3.6 * x * x);
        };
        p.v[6] += (326.75 / 1.12 + 557.5 / 1.8 * eta) * eta * chi1 * chi2 + self(m1M) * m1M * m1M * chi1 * chi1 +
                  self(m2M) * m2M * m2M * chi2 * chi2;
    }
    p.vlogv[6] = -6848.0 / 21.0;
    p.v[7] = pi * (77096675.0 / 254016.0 + 378515.0 / 1512.0 * eta - 74045.0 / 756.0 * eta * eta) +
             (-8980424995.0 / 762048.0 + 6586595.0 * eta / 756.0 - 305.0 * eta * eta / 36.0) * SL -
             (170978035.0 / 48384.0 - 2876425.0 * eta / 672.0 - 4735.0 * eta * eta / 144.0) * dSigmaL;
    const double newtonian = 3.0 / (128.0 * eta);
    for (auto& x : p.v) x *= newtonian;
    for (auto& x : p.vlogv) x *= newtonian;
    return p;
}

namespace detail {

/// The epoch LAL gives an FD waveform, t_c = -1 / delta_f, as LIGOTimeGPS holds it: whole seconds plus
/// rounded nanoseconds (so -1/1.5 s is -0.666666667 s). TaylorF2's phase carries 2 pi f t_c.
inline double lal_epoch(double delta_f) {
    const double t = -1.0 / delta_f;
    double seconds = std::floor(t);
    double ns = std::round((t - seconds) * 1e9);
    if (ns >= 1e9) {
        seconds += 1;
        ns -= 1e9;
    }
    return seconds + 1e-9 * ns;
}

}  // namespace detail

/// TaylorF2 (LALSimInspiralTaylorF2.c of 2015): 3.5PN phase with the spin terms of taylor_f2_phasing, tidal
/// terms at 5PN and 6PN (Vines, Flanagan, Hinderer, PRD 83, 084051 (2011), arXiv:1101.1673, Eq. 3.5, with
/// lambda_i = Lambda_i m_i^5), Newtonian amplitude A = amp0 sqrt(5 / (32 eta)) v^(-7/2),
/// amp0 = -4 m1 m2 / r * M_sun G/c^2 * M_sun G/c^3 * sqrt(pi / 12) (m in solar masses).
/// Psi = Psi_SPA / v^5 + 2 pi f t_c - 2 phi_ref - Psi(f_ref) - pi/4, t_c = lal_epoch(delta_f); Psi(f_ref) = 0 when
/// f_ref = 0 (the phase is referred to coalescence). Fills amp[k], phase[k] for k in [first, end).
inline void taylor_f2(const parameters& p, const constants& c, const frequency_grid& grid, std::size_t first,
                      std::size_t end, double* amp, double* phase) {
    constexpr double pi = std::numbers::pi;
    const double m = p.m1 + p.m2, m_sec = m * c.mtsun_si, eta = p.m1 * p.m2 / (m * m);
    const double m1M = p.m1 / m, m2M = p.m2 / m;
    const auto pn = taylor_f2_phasing(p.m1, p.m2, p.chi1z, p.chi2z);
    const double newtonian = pn.v[0];
    auto tidal10 = [](double x) { return (-288.0 + 264.0 * x) * x * x * x * x; };
    auto tidal12 = [](double x) {
        return (-15895.0 / 28.0 + 4595.0 / 28.0 * x + 5715.0 / 14.0 * x * x - 325.0 / 7.0 * x * x * x) * x * x * x * x;
    };
    const double pft10 = newtonian * (tidal10(m1M) * p.lambda1 + tidal10(m2M) * p.lambda2);
    const double pft12 = newtonian * (tidal12(m1M) * p.lambda1 + tidal12(m2M) * p.lambda2);
    auto spa = [&](double v, double logv) {  // Psi_SPA(v) / v^5
        const double v2 = v * v, v3 = v2 * v, v4 = v3 * v, v5 = v4 * v, v6 = v5 * v, v7 = v6 * v, v10 = v5 * v5;
        const double sum = pn.v[7] * v7 + (pn.v[6] + pn.vlogv[6] * logv) * v6 + (pn.v[5] + pn.vlogv[5] * logv) * v5 +
                           pn.v[4] * v4 + pn.v[3] * v3 + pn.v[2] * v2 + newtonian + pft12 * v10 * v2 + pft10 * v10;
        return sum / v5;
    };
    const double pi_m_cbrt = std::cbrt(pi * m_sec), log_pi_m = std::log(pi * m_sec) / 3.0;
    double ref = 0;
    if (p.f_ref > 0) {
        const double vref = std::cbrt(pi * m_sec * p.f_ref);
        ref = spa(vref, std::log(vref));
    }
    const double shift = 2.0 * pi * detail::lal_epoch(p.delta_f);
    const double constant = -2.0 * p.phi_ref - ref - pi / 4.0;
    const double amp0 =
        -4.0 * p.m1 * p.m2 / (p.distance * 1e6 * c.pc_si) * c.mrsun_si * c.mtsun_si * std::sqrt(pi / 12.0);
    const double amp_n = amp0 * std::sqrt(5.0 / (32.0 * eta));
    for (std::size_t k = first; k < end; ++k) {
        const double v = pi_m_cbrt * grid.cbrt_f[k];
        const double logv = log_pi_m + grid.log_f[k] / 3.0;
        phase[k] = spa(v, logv) + shift * grid.f[k] + constant;
        amp[k] = amp_n / (v * v * v * std::sqrt(v));
    }
}

}  // namespace waveforms
