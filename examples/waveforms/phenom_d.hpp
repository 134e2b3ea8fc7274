#pragma once
// waveforms/phenom_d.hpp: the IMRPhenomD inspiral-merger-ringdown model, as per-bin amplitude A_k and
// phase Psi_k with h(f_k) = A_k exp(-i Psi_k) over a frequency_grid.

#include <waveforms/frequency_grid.hpp>
#include <waveforms/phenom_d_coefficients.hpp>
#include <waveforms/qnm.hpp>
#include <waveforms/taylor_f2.hpp>
#include <waveforms/vector_math.hpp>
#include <waveforms/waveform.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <utility>

namespace waveforms {

/// IMRPhenomD (Husa et al., PRD 93, 044006 (2016), arXiv:1508.07250; Khan et al., PRD 93, 044007 (2016),
/// arXiv:1508.07253), as LALSimIMRPhenomD.c of 2015. Labels are swapped so that m1 >= m2. Phenomenological
/// coefficients are the fits of Khan et al., Table V (polynomials in eta and chi_PN - 1); remnant spin and
/// radiated energy: Husa et al., Eqs. 3.6 and 3.8; ringdown and damping frequencies from qnm_table over
/// the remnant spin, divided by the remnant mass 1 - E_rad.
class phenom_d {
public:
    phenom_d(const parameters& p, const constants& c);

    /// Fills amp[k], phase[k] for k in [first, end): h = amp0 A(Mf) exp(-i (phi(Mf) - t0 (Mf - Mf_ref) - 2 phi_ref
    /// - phi(Mf_ref))), Khan et al. Eqs. 35-36 with LAL's time shift t0 = phi_MRD'(f_peak).
    void fill(const frequency_grid& grid, std::size_t first, std::size_t end, double* amp, double* phase) const;

    double m_sec = 0, eta = 0, chi_pn = 0, final_spin = 0, f_ring = 0, f_damp = 0, f_peak = 0;

private:
    // Amplitude
    double amp_scale_ = 0;             // amp0 * sqrt(2 eta / 3) pi^(-1/6)
    std::array<double, 9> amp_ins_{};  // coefficients of Mf^(k/3), k = 2..9 (index k)
    std::array<double, 5> delta_{};    // intermediate polynomial
    double gamma1_ = 0, gamma2_ = 0, gamma3_ = 0;
    // Phase
    pn_phasing pn_{};
    double sigma1_ = 0, sigma2_ = 0, sigma3_ = 0, sigma4_ = 0;
    double beta1_ = 0, beta2_ = 0, beta3_ = 0;
    double alpha1_ = 0, alpha2_ = 0, alpha3_ = 0, alpha4_ = 0, alpha5_ = 0;
    double c1_int_ = 0, c2_int_ = 0, c1_mrd_ = 0, c2_mrd_ = 0;
    double t0_ = 0, mf_ref_ = 0, phase_offset_ = 0;

    static constexpr double amp_join = 0.014, phase_join = 0.018;  // Khan et al., Sec. VIII

    // Each region's ansatz. The per-bin forms take what fill() has precomputed: t = Mf^(1/3) and, for
    // the phase, v = (pi Mf)^(1/3) and ln v, or ln Mf; the one-argument forms (for the joins) compute them.
    [[nodiscard]] double amp_inspiral(double mf, double t) const;  // A / (amp0 Mf^(-7/6))
    [[nodiscard]] double amp_inspiral(double mf) const { return amp_inspiral(mf, std::cbrt(mf)); }
    [[nodiscard]] double d_amp_inspiral(double mf) const;
    [[nodiscard]] double amp_intermediate(double mf) const;
    // The merger-ringdown forms in two steps, so that fill() takes the exponential and the arctangent of a
    // whole range at once (vectorised): the argument, then the ansatz given its exp or atan.
    [[nodiscard]] double amp_merger_exponent(double mf) const;
    [[nodiscard]] double amp_merger(double mf, double exp_of_exponent) const;
    [[nodiscard]] double amp_merger(double mf) const { return amp_merger(mf, std::exp(amp_merger_exponent(mf))); }
    [[nodiscard]] double d_amp_merger(double mf) const;
    [[nodiscard]] double phase_inspiral(double mf, double t, double v, double logv) const;
    [[nodiscard]] double phase_inspiral(double mf) const {
        const double t = std::cbrt(mf), v = std::cbrt(std::numbers::pi) * t;
        return phase_inspiral(mf, t, v, std::log(v));
    }
    [[nodiscard]] double d_phase_inspiral(double mf) const;
    [[nodiscard]] double phase_intermediate(double mf, double log_mf) const;  // without C1, C2
    [[nodiscard]] double phase_intermediate(double mf) const { return phase_intermediate(mf, std::log(mf)); }
    [[nodiscard]] double d_phase_intermediate(double mf) const;
    [[nodiscard]] double phase_merger_atan_argument(double mf) const;
    [[nodiscard]] double phase_merger(double mf, double atan_of_argument) const;  // without C1, C2
    [[nodiscard]] double phase_merger(double mf) const {
        return phase_merger(mf, std::atan(phase_merger_atan_argument(mf)));
    }
    [[nodiscard]] double d_phase_merger(double mf) const;
    [[nodiscard]] double phase_at(double mf) const;  // the C^1 IMR phase
};

namespace detail {

/// Solves the 5x5 system M x = b by Gaussian elimination with partial pivoting.
inline std::array<double, 5> solve5(std::array<std::array<double, 5>, 5> m, std::array<double, 5> b) {
    for (int col = 0; col < 5; ++col) {
        int pivot = col;
        for (int r = col + 1; r < 5; ++r)
            if (std::abs(m[r][col]) > std::abs(m[pivot][col])) pivot = r;
        std::swap(m[col], m[pivot]);
        std::swap(b[col], b[pivot]);
        for (int r = col + 1; r < 5; ++r) {
            const double factor = m[r][col] / m[col][col];
            for (int k = col; k < 5; ++k) m[r][k] -= factor * m[col][k];
            b[r] -= factor * b[col];
        }
    }
    std::array<double, 5> x{};
    for (int r = 4; r >= 0; --r) {
        double sum = b[r];
        for (int k = r + 1; k < 5; ++k) sum -= m[r][k] * x[k];
        x[r] = sum / m[r][r];
    }
    return x;
}

}  // namespace detail

inline phenom_d::phenom_d(const parameters& p, const constants& c) {
    constexpr double pi = std::numbers::pi;
    double m1 = p.m1, m2 = p.m2, chi1 = p.chi1z, chi2 = p.chi2z;
    if (!(m1 > m2)) {  // LAL swaps unless m1 > m2
        std::swap(m1, m2);
        std::swap(chi1, chi2);
    }
    const double m = m1 + m2;
    eta = m1 * m2 / (m * m);
    m_sec = m * c.mtsun_si;
    const double seta = std::sqrt(1.0 - 4.0 * eta);
    // chi_PN, Khan et al. Eq. 5.9 of arXiv:1107.1267: chi_s (1 - 76 eta / 113) + delta chi_a
    chi_pn = 0.5 * (chi1 + chi2) * (1.0 - eta * 76.0 / 113.0) + seta * 0.5 * (chi1 - chi2);
    const double mm1 = 0.5 * (1.0 + seta), mm2 = 0.5 * (1.0 - seta);
    const double s_spin = mm1 * mm1 * chi1 + mm2 * mm2 * chi2;
    final_spin = detail::final_spin(eta, s_spin);
    const double e_rad = detail::radiated_energy(eta, s_spin / (mm1 * mm1 + mm2 * mm2));
    const auto& qnm = qnm_table::get();
    f_ring = qnm.ringdown(final_spin) / (1.0 - e_rad);
    f_damp = qnm.damping(final_spin) / (1.0 - e_rad);

    // Amplitude. Inspiral: the PN re-expansion of Khan et al. Eqs. 29-30 and Appendix B, plus rho_i at
    // Mf^(7/3), Mf^(8/3), Mf^3.
    const double chi12 = chi1 * chi1, chi22 = chi2 * chi2, eta2 = eta * eta, eta3 = eta2 * eta;
    const double pi2 = pi * pi;
    amp_scale_ = 2.0 * std::sqrt(5.0 / (64.0 * pi)) * m * c.mrsun_si * m * c.mtsun_si / (p.distance * 1e6 * c.pc_si) *
                 std::sqrt(2.0 / 3.0) * std::sqrt(eta) / std::pow(pi, 1.0 / 6.0);
    amp_ins_[2] = (-969 + 1804 * eta) * std::pow(pi, 2.0 / 3.0) / 672.0;
    amp_ins_[3] = (chi1 * (81 * (1 + seta) - 44 * eta) + chi2 * (81 - 81 * seta - 44 * eta)) * pi / 48.0;
    amp_ins_[4] = (-27312085.0 - 10287648 * chi22 - 10287648 * chi12 * (1 + seta) + 10287648 * chi22 * seta +
                   24 * (-1975055 + 857304 * chi12 - 994896 * chi1 * chi2 + 857304 * chi22) * eta + 35371056 * eta2) *
                  std::pow(pi, 4.0 / 3.0) / 8.128512e6;
    amp_ins_[5] = std::pow(pi, 5.0 / 3.0) *
                  (chi2 * (-285197 * (-1 + seta) + 4 * (-91902 + 1579 * seta) * eta - 35632 * eta2) +
                   chi1 * (285197 * (1 + seta) - 4 * (91902 + 1579 * seta) * eta - 35632 * eta2) +
                   42840 * (-1.0 + 4 * eta) * pi) /
                  32256.0;
    amp_ins_[6] =
        -(pi2 * (-336 * (-3248849057.0 + 2943675504 * chi12 - 3339284256 * chi1 * chi2 + 2943675504 * chi22) * eta2 -
                 324322727232 * eta3 -
                 7 * (-177520268561 + 107414046432 * chi22 + 107414046432 * chi12 * (1 + seta) -
                      107414046432 * chi22 * seta + 11087290368 * (chi1 + chi2 + chi1 * seta - chi2 * seta) * pi) +
                 12 * eta *
                     (-545384828789 - 176491177632 * chi1 * chi2 + 202603761360 * chi22 +
                      77616 * chi12 * (2610335 + 995766 * seta) - 77287373856 * chi22 * seta +
                      5841690624 * (chi1 + chi2) * pi + 21384760320 * pi2))) /
        6.0085960704e10;
    amp_ins_[7] = detail::table_v(detail::rho1, eta, chi_pn);
    amp_ins_[8] = detail::table_v(detail::rho2, eta, chi_pn);
    amp_ins_[0] = detail::table_v(detail::rho3, eta, chi_pn);  // Mf^3 (k = 9) kept in slot 0
    gamma1_ = detail::table_v(detail::gamma1, eta, chi_pn);
    gamma2_ = detail::table_v(detail::gamma2, eta, chi_pn);
    gamma3_ = detail::table_v(detail::gamma3, eta, chi_pn);
    // f_peak, Khan et al. Eq. 20 (the square root dropped when gamma2 > 1, as LAL does)
    f_peak = gamma2_ <= 1 ? std::abs(f_ring + f_damp * (-1 + std::sqrt(1 - gamma2_ * gamma2_)) * gamma3_ / gamma2_)
                          : std::abs(f_ring - f_damp * gamma3_ / gamma2_);
    // Intermediate: quartic through value and slope at f1 = 0.014 and f3 = f_peak and the fitted v2 at their
    // midpoint (Khan et al. Eqs. 21-26).
    {
        const double f1 = amp_join, f3 = f_peak, f2 = 0.5 * (f1 + f3);
        const double v1 = amp_inspiral(f1), d1 = d_amp_inspiral(f1);
        const double v3 = amp_merger(f3), d3 = d_amp_merger(f3);
        const double vv2 = detail::table_v(detail::v2, eta, chi_pn);
        auto row = [](double f) { return std::array<double, 5>{1, f, f * f, f * f * f, f * f * f * f}; };
        auto drow = [](double f) { return std::array<double, 5>{0, 1, 2 * f, 3 * f * f, 4 * f * f * f}; };
        delta_ = detail::solve5({row(f1), row(f2), row(f3), drow(f1), drow(f3)}, {v1, vv2, v3, d1, d3});
    }

    // Phase. Inspiral: TaylorF2 (3.5PN, kappa = 1, without the 3PN spin-spin term) plus sigma_i; intermediate beta_i; merger-ringdown
    // alpha_i (Khan et al. Eqs. 14, 16, 27-28), joined C^1 at Mf = 0.018 and Mf = f_ring / 2.
    pn_ = taylor_f2_phasing(m1, m2, chi1, chi2, /*spin_spin_3pn=*/false);
    sigma1_ = detail::table_v(detail::sigma1, eta, chi_pn);
    sigma2_ = detail::table_v(detail::sigma2, eta, chi_pn);
    sigma3_ = detail::table_v(detail::sigma3, eta, chi_pn);
    sigma4_ = detail::table_v(detail::sigma4, eta, chi_pn);
    beta1_ = detail::table_v(detail::beta1, eta, chi_pn);
    beta2_ = detail::table_v(detail::beta2, eta, chi_pn);
    beta3_ = detail::table_v(detail::beta3, eta, chi_pn);
    alpha1_ = detail::table_v(detail::alpha1, eta, chi_pn);
    alpha2_ = detail::table_v(detail::alpha2, eta, chi_pn);
    alpha3_ = detail::table_v(detail::alpha3, eta, chi_pn);
    alpha4_ = detail::table_v(detail::alpha4, eta, chi_pn);
    alpha5_ = detail::table_v(detail::alpha5, eta, chi_pn);
    c2_int_ = d_phase_inspiral(phase_join) - d_phase_intermediate(phase_join);
    c1_int_ = phase_inspiral(phase_join) - phase_intermediate(phase_join) - c2_int_ * phase_join;
    const double f_mrd = 0.5 * f_ring;
    c2_mrd_ = c2_int_ + d_phase_intermediate(f_mrd) - d_phase_merger(f_mrd);
    c1_mrd_ = phase_intermediate(f_mrd) + c1_int_ + c2_int_ * f_mrd - phase_merger(f_mrd) - c2_mrd_ * f_mrd;
    t0_ = d_phase_merger(f_peak);
    mf_ref_ = m_sec * (p.f_ref > 0 ? p.f_ref : p.f_min);
    phase_offset_ = 2.0 * p.phi_ref + phase_at(mf_ref_);
}

inline double phenom_d::amp_inspiral(double mf, double t) const {
    const double t2 = t * t, t3 = t2 * t;
    return 1.0 + amp_ins_[2] * t2 + amp_ins_[3] * t3 + amp_ins_[4] * t3 * t + amp_ins_[5] * t3 * t2 +
           amp_ins_[6] * t3 * t3 + amp_ins_[7] * t3 * t3 * t + amp_ins_[8] * t3 * t3 * t2 + amp_ins_[0] * mf * mf * mf;
}
inline double phenom_d::d_amp_inspiral(double mf) const {
    const double t = std::cbrt(mf);
    double sum = 0;
    for (int k = 2; k <= 8; ++k) sum += k / 3.0 * amp_ins_[std::size_t(k)] * std::pow(t, k - 3);
    return sum + 3.0 * amp_ins_[0] * mf * mf;
}
inline double phenom_d::amp_intermediate(double mf) const {
    return delta_[0] + mf * (delta_[1] + mf * (delta_[2] + mf * (delta_[3] + mf * delta_[4])));
}
inline double phenom_d::amp_merger_exponent(double mf) const {  // Khan et al. Eq. 19
    return -(mf - f_ring) * gamma2_ / (f_damp * gamma3_);
}
inline double phenom_d::amp_merger(double mf, double exp_of_exponent) const {
    const double g = f_damp * gamma3_, x = mf - f_ring;
    return exp_of_exponent * g * gamma1_ / (x * x + g * g);
}
inline double phenom_d::d_amp_merger(double mf) const {
    const double g = f_damp * gamma3_, x = mf - f_ring;
    return amp_merger(mf) * (-gamma2_ / g - 2.0 * x / (x * x + g * g));
}
inline double phenom_d::phase_inspiral(double mf, double t, double v, double logv) const {
    const double iv = 1.0 / v, iv2 = iv * iv, iv3 = iv2 * iv, iv5 = iv3 * iv2;
    const double psi = pn_.v[5] - std::numbers::pi / 4.0 + pn_.vlogv[5] * logv + (pn_.v[6] + pn_.vlogv[6] * logv) * v +
                       pn_.v[7] * v * v + pn_.v[4] * iv + pn_.v[3] * iv2 + pn_.v[2] * iv3 + pn_.v[0] * iv5;
    const double t4 = t * t * t * t;
    return psi + (sigma1_ * mf + 0.75 * sigma2_ * t4 + 0.6 * sigma3_ * t4 * t + 0.5 * sigma4_ * mf * mf) / eta;
}
inline double phenom_d::d_phase_inspiral(double mf) const {
    constexpr double pi = std::numbers::pi;
    const double v = std::cbrt(pi * mf), logv = std::log(v);
    double sum = 0;  // d Psi_SPA / dv
    for (int k = 0; k <= 7; ++k) sum += (k - 5) * pn_.v[std::size_t(k)] * std::pow(v, k - 6);
    sum += pn_.vlogv[5] / v + pn_.vlogv[6] * (logv + 1.0) + 2.0 * pn_.vlogv[7] * v * logv;
    return sum * pi / (3.0 * v * v) +
           (sigma1_ + sigma2_ * std::cbrt(mf) + sigma3_ * std::pow(mf, 2.0 / 3.0) + sigma4_ * mf) / eta;
}
inline double phenom_d::phase_intermediate(double mf, double log_mf) const {
    return (beta1_ * mf - beta3_ / (3.0 * mf * mf * mf) + beta2_ * log_mf) / eta;
}
inline double phenom_d::d_phase_intermediate(double mf) const {
    return (beta1_ + beta3_ / (mf * mf * mf * mf) + beta2_ / mf) / eta;
}
inline double phenom_d::phase_merger_atan_argument(double mf) const { return (mf - alpha5_ * f_ring) / f_damp; }
inline double phenom_d::phase_merger(double mf, double atan_of_argument) const {  // Khan et al. Eq. 14
    return (-alpha2_ / mf + 4.0 / 3.0 * alpha3_ * std::sqrt(mf * std::sqrt(mf)) + alpha1_ * mf +
            alpha4_ * atan_of_argument) /
           eta;
}
inline double phenom_d::d_phase_merger(double mf) const {
    const double x = (mf - alpha5_ * f_ring) / f_damp;
    return (alpha1_ + alpha2_ / (mf * mf) + alpha3_ / std::pow(mf, 0.25) + alpha4_ / (f_damp * (1 + x * x))) / eta;
}
inline double phenom_d::phase_at(double mf) const {
    if (mf < phase_join) return phase_inspiral(mf);
    if (mf >= 0.5 * f_ring) return phase_merger(mf) + c1_mrd_ + c2_mrd_ * mf;
    return phase_intermediate(mf) + c1_int_ + c2_int_ * mf;
}

inline void phenom_d::fill(const frequency_grid& grid, std::size_t first, std::size_t end, double* amp,
                           double* phase) const {
    const double m_cbrt = std::cbrt(m_sec), log_m = std::log(m_sec);
    const double pi_cbrt = std::cbrt(std::numbers::pi), log_pi_third = std::log(std::numbers::pi) / 3.0;
    const double linear = -t0_, offset = t0_ * mf_ref_ - phase_offset_;
    // Amplitude, region by region (Khan et al. Sec. VIII): inspiral below Mf = 0.014, merger-ringdown from
    // f_peak, the intermediate quartic between. A = amp0 ansatz / Mf^(7/6), Mf^(7/6) = Mf t^(1/2). Each
    // region is its own loop, which the compiler vectorises; the merger's exponentials are taken for the
    // whole region at once (detail::exp_in_place), amp[] holding their arguments meanwhile.
    const std::size_t amp_mid = detail::first_at_or_above(grid, m_sec, amp_join, first, end);
    const std::size_t amp_mrd = detail::first_at_or_above(grid, m_sec, f_peak, amp_mid, end);
    const auto amplitude = [&](std::size_t k, double ansatz) {
        const double mf = m_sec * grid.f[k], t = m_cbrt * grid.cbrt_f[k];
        return amp_scale_ * ansatz / (mf * std::sqrt(t));
    };
    for (std::size_t k = first; k < amp_mid; ++k)
        amp[k] = amplitude(k, amp_inspiral(m_sec * grid.f[k], m_cbrt * grid.cbrt_f[k]));
    for (std::size_t k = amp_mid; k < amp_mrd; ++k) amp[k] = amplitude(k, amp_intermediate(m_sec * grid.f[k]));
    for (std::size_t k = amp_mrd; k < end; ++k) amp[k] = amp_merger_exponent(m_sec * grid.f[k]);
    detail::exp_in_place(amp + amp_mrd, end - amp_mrd);
    for (std::size_t k = amp_mrd; k < end; ++k) amp[k] = amplitude(k, amp_merger(m_sec * grid.f[k], amp[k]));
    // Phase: inspiral below Mf = 0.018, merger-ringdown from f_ring / 2, minus LAL's time shift and reference.
    const std::size_t phase_mid = detail::first_at_or_above(grid, m_sec, phase_join, first, end);
    const std::size_t phase_mrd = detail::first_at_or_above(grid, m_sec, 0.5 * f_ring, phase_mid, end);
    for (std::size_t k = first; k < phase_mid; ++k) {
        const double mf = m_sec * grid.f[k], t = m_cbrt * grid.cbrt_f[k];
        const double logv = log_pi_third + (log_m + grid.log_f[k]) / 3.0;
        phase[k] = phase_inspiral(mf, t, pi_cbrt * t, logv) + linear * mf + offset;
    }
    for (std::size_t k = phase_mid; k < phase_mrd; ++k) {
        const double mf = m_sec * grid.f[k];
        phase[k] = phase_intermediate(mf, log_m + grid.log_f[k]) + c1_int_ + c2_int_ * mf + linear * mf + offset;
    }
    for (std::size_t k = phase_mrd; k < end; ++k) phase[k] = phase_merger_atan_argument(m_sec * grid.f[k]);
    detail::atan_in_place(phase + phase_mrd, end - phase_mrd);  // phase[] holds the arguments meanwhile
    for (std::size_t k = phase_mrd; k < end; ++k) {
        const double mf = m_sec * grid.f[k];
        phase[k] = phase_merger(mf, phase[k]) + c1_mrd_ + c2_mrd_ * mf + linear * mf + offset;
    }
}

}  // namespace waveforms
