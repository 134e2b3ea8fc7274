// The two frequency-domain models, as per-bin amplitude A_k and phase Psi_k with h(f_k) = A_k exp(-i Psi_k),
// over a precomputed frequency grid. waveform_generator (generator.hpp) turns them into h_plus, h_cross.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <span>
#include <utility>
#include <vector>

#include <waveforms/vector_math.hpp>
#include <waveforms/waveform.hpp>

namespace waveforms {

/// f_k = k delta_f for k < length, Hz.
inline std::vector<double> uniform_frequencies(double delta_f, std::size_t length) {
    std::vector<double> f(length);
    for (std::size_t k = 0; k < length; ++k) f[k] = double(k) * delta_f;
    return f;
}

/// The grid f_k = k delta_f, k < length, with the per-bin quantities every waveform reuses: f_k, f_k^(1/3)
/// and ln f_k. A waveform of total mass M then needs no cube root or logarithm per bin:
/// (M f)^(1/3) = M^(1/3) f^(1/3), ln(M f) = ln M + ln f. Building it is O(length).
struct frequency_grid {
    double delta_f = 0;
    std::vector<double> f, cbrt_f, log_f;

    frequency_grid() = default;
    frequency_grid(double delta_f_, std::size_t length)
        : delta_f(delta_f_), f(uniform_frequencies(delta_f_, length)), cbrt_f(length), log_f(length) {
        for (std::size_t k = 0; k < length; ++k) {
            cbrt_f[k] = std::cbrt(f[k]);
            log_f[k] = std::log(f[k]);
        }
    }
    [[nodiscard]] std::size_t size() const noexcept { return f.size(); }
};

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
    const double SL = m1M * m1M * chi1 + m2M * m2M * chi2;        // S_l / M^2
    const double dSigmaL = d * (m2M * chi2 - m1M * chi1);           // (delta m / m) Sigma_l / M^2
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
    const double gamma_so = (554345.0 / 1134.0 + 110.0 * eta / 9.0) * SL + (13915.0 / 84.0 - 10.0 * eta / 3.0) * dSigmaL;
    p.v[5] = 5.0 / 9.0 * (7729.0 / 84.0 - 13.0 * eta) * pi - gamma_so;
    p.vlogv[5] = 5.0 / 3.0 * (7729.0 / 84.0 - 13.0 * eta) * pi - 3.0 * gamma_so;
    p.v[6] = (11583.231236531 / 4.694215680 - 640.0 / 3.0 * pi * pi - 6848.0 / 21.0 * euler_gamma) +
             eta * (-15737.765635 / 3.048192 + 2255.0 / 12.0 * pi * pi) + eta * eta * 76055.0 / 1728.0 -
             eta * eta * eta * 127825.0 / 1296.0 + (-6848.0 / 21.0) * std::log(4.0) +
             pi * (3760.0 * SL + 1490.0 * dSigmaL) / 3.0;
    if (spin_spin_3pn) {
        auto self = [](double x) {  // (kappa = 1) coefficient of (m_i chi_i / M)^2
            return (4703.5 / 8.4 + 2935.0 / 6.0 * x - 120.0 * x * x) + (-4108.25 / 6.72 - 108.5 / 1.2 * x + 125.5 / 3.6 * x * x);
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

/// First k in [first, end) with M f_k >= threshold (M f grows with k).
inline std::size_t first_at_or_above(const frequency_grid& grid, double m_sec, double threshold, std::size_t first,
                                     std::size_t end) {
    const auto begin = grid.f.begin();
    return std::size_t(std::partition_point(begin + std::ptrdiff_t(first), begin + std::ptrdiff_t(end),
                                            [&](double f) { return m_sec * f < threshold; }) -
                       begin);
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
    const double amp0 = -4.0 * p.m1 * p.m2 / (p.distance * 1e6 * c.pc_si) * c.mrsun_si * c.mtsun_si * std::sqrt(pi / 12.0);
    const double amp_n = amp0 * std::sqrt(5.0 / (32.0 * eta));
    for (std::size_t k = first; k < end; ++k) {
        const double v = pi_m_cbrt * grid.cbrt_f[k];
        const double logv = log_pi_m + grid.log_f[k] / 3.0;
        phase[k] = spa(v, logv) + shift * grid.f[k] + constant;
        amp[k] = amp_n / (v * v * v * std::sqrt(v));
    }
}

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
    double amp_scale_ = 0;                      // amp0 * sqrt(2 eta / 3) pi^(-1/6)
    std::array<double, 9> amp_ins_{};            // coefficients of Mf^(k/3), k = 2..9 (index k)
    std::array<double, 5> delta_{};              // intermediate polynomial
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
    [[nodiscard]] double phase_merger(double mf) const { return phase_merger(mf, std::atan(phase_merger_atan_argument(mf))); }
    [[nodiscard]] double d_phase_merger(double mf) const;
    [[nodiscard]] double phase_at(double mf) const;  // the C^1 IMR phase
};

namespace detail {

/// A coefficient of Khan et al. Table V: a0 + a1 eta + (a2 + a3 eta + a4 eta^2) xi + (a5 + a6 eta + a7 eta^2) xi^2
/// + (a8 + a9 eta + a10 eta^2) xi^3, xi = chi_PN - 1.
inline double table_v(const std::array<double, 11>& a, double eta, double chi) {
    const double xi = chi - 1.0, xi2 = xi * xi, xi3 = xi2 * xi, eta2 = eta * eta;
    return a[0] + a[1] * eta + (a[2] + a[3] * eta + a[4] * eta2) * xi + (a[5] + a[6] * eta + a[7] * eta2) * xi2 +
           (a[8] + a[9] * eta + a[10] * eta2) * xi3;
}

// Khan et al., arXiv:1508.07253, Table V, as LALSimIMRPhenomD_internals.c carries them.
inline constexpr std::array<double, 11> rho1{3931.8979897196696, -17395.758706812805, 3132.375545898835, 343965.86092361377, -1.2162565819981997e6, -70698.00600428853, 1.383907177859705e6, -3.9662761890979446e6, -60017.52423652596, 803515.1181825735, -2.091710365941658e6};
inline constexpr std::array<double, 11> rho2{-40105.47653771657, 112253.0169706701, 23561.696065836168, -3.476180699403351e6, 1.137593670849482e7, 754313.1127166454, -1.308476044625268e7, 3.6444584853928134e7, 596226.612472288, -7.4277901143564405e6, 1.8928977514040343e7};
inline constexpr std::array<double, 11> rho3{83208.35471266537, -191237.7264145924, -210916.2454782992, 8.71797508352568e6, -2.6914942420669552e7, -1.9889806527362722e6, 3.0888029960154563e7, -8.390870279256162e7, -1.4535031953446497e6, 1.7063528990822166e7, -4.2748659731120914e7};
inline constexpr std::array<double, 11> v2{0.8149838730507785, 2.5747553517454658, 1.1610198035496786, -2.3627771785551537, 6.771038707057573, 0.7570782938606834, -2.7256896890432474, 7.1140380397149965, 0.1766934149293479, -0.7978690983168183, 2.1162391502005153};
inline constexpr std::array<double, 11> gamma1{0.006927402739328343, 0.03020474290328911, 0.006308024337706171, -0.12074130661131138, 0.26271598905781324, 0.0034151773647198794, -0.10779338611188374, 0.27098966966891747, 0.0007374185938559283, -0.02749621038376281, 0.0733150789135702};
inline constexpr std::array<double, 11> gamma2{1.010344404799477, 0.0008993122007234548, 0.283949116804459, -4.049752962958005, 13.207828172665366, 0.10396278486805426, -7.025059158961947, 24.784892370130475, 0.03093202475605892, -2.6924023896851663, 9.609374464684983};
inline constexpr std::array<double, 11> gamma3{1.3081615607036106, -0.005537729694807678, -0.06782917938621007, -0.6689834970767117, 3.403147966134083, -0.05296577374411866, -0.9923793203111362, 4.820681208409587, -0.006134139870393713, -0.38429253308696365, 1.7561754421985984};
inline constexpr std::array<double, 11> sigma1{2096.551999295543, 1463.7493168261553, 1312.5493286098522, 18307.330017082117, -43534.1440746107, -833.2889543511114, 32047.31997183187, -108609.45037520859, 452.25136398112204, 8353.439546391714, -44531.3250037322};
inline constexpr std::array<double, 11> sigma2{-10114.056472621156, -44631.01109458185, -6541.308761668722, -266959.23419307504, 686328.3229317984, 3405.6372187679685, -437507.7208209015, 1.6318171307344697e6, -7462.648563007646, -114585.25177153319, 674402.4689098676};
inline constexpr std::array<double, 11> sigma3{22933.658273436497, 230960.00814979506, 14961.083974183695, 1.1940181342318142e6, -3.1042239693052764e6, -3038.166617199259, 1.8720322849093592e6, -7.309145012085539e6, 42738.22871475411, 467502.018616601, -3.064853498512499e6};
inline constexpr std::array<double, 11> sigma4{-14621.71522218357, -377812.8579387104, -9608.682631509726, -1.7108925257214056e6, 4.332924601416521e6, -22366.683262266528, -2.5019716386377467e6, 1.0274495902259542e7, -85360.30079034246, -570025.3441737515, 4.396844346849777e6};
inline constexpr std::array<double, 11> beta1{97.89747327985583, -42.659730877489224, 153.48421037904913, -1417.0620760768954, 2752.8614143665027, 138.7406469558649, -1433.6585075135881, 2857.7418952430758, 41.025109467376126, -423.680737974639, 850.3594335657173};
inline constexpr std::array<double, 11> beta2{-3.282701958759534, -9.051384468245866, -12.415449742258042, 55.4716447709787, -106.05109938966335, -11.953044553690658, 76.80704618365418, -155.33172948098394, -3.4129261592393263, 25.572377569952536, -54.408036707740465};
inline constexpr std::array<double, 11> beta3{-0.000025156429818799565, 0.000019750256942201327, -0.000018370671469295915, 0.000021886317041311973, 0.00008250240316860033, 7.157371250566708e-6, -0.000055780000112270685, 0.00019142082884072178, 5.447166261464217e-6, -0.00003220610095021982, 0.00007974016714984341};
inline constexpr std::array<double, 11> alpha1{43.31514709695348, 638.6332679188081, -32.85768747216059, 2415.8938269370315, -5766.875169379177, -61.85459307173841, 2953.967762459948, -8986.29057591497, -21.571435779762044, 981.2158224673428, -3239.5664895930286};
inline constexpr std::array<double, 11> alpha2{-0.07020209449091723, -0.16269798450687084, -0.1872514685185499, 1.138313650449945, -2.8334196304430046, -0.17137955686840617, 1.7197549338119527, -4.539717148261272, -0.049983437357548705, 0.6062072055948309, -1.682769616644546};
inline constexpr std::array<double, 11> alpha3{9.5988072383479, -397.05438595557433, 16.202126189517813, -1574.8286986717037, 3600.3410843831093, 27.092429659075467, -1786.482357315139, 5152.919378666511, 11.175710130033895, -577.7999423177481, 1808.730762932043};
inline constexpr std::array<double, 11> alpha4{-0.02989487384493607, 1.4022106448583738, -0.07356049468633846, 0.8337006542278661, 0.2240008282397391, -0.055202870001177226, 0.5667186343606578, 0.7186931973380503, -0.015507437354325743, 0.15750322779277187, 0.21076815715176228};
inline constexpr std::array<double, 11> alpha5{0.9974408278363099, -0.007884449714907203, -0.059046901195591035, 1.3958712396764088, -4.516631601676276, -0.05585343136869692, 1.7516580039343603, -5.990208965347804, -0.017945336522161195, 0.5965097794825992, -2.0608879367971804};

/// Remnant spin, Husa et al. Eq. 3.6, s = m1^2 chi1 + m2^2 chi2 (masses in units of M).
inline double final_spin(double eta, double s) {
    const double eta2 = eta * eta, eta3 = eta2 * eta, eta4 = eta3 * eta, s2 = s * s, s3 = s2 * s, s4 = s3 * s;
    return 3.4641016151377544 * eta - 4.399247300629289 * eta2 + 9.397292189321194 * eta3 - 13.180949901606242 * eta4 +
           (1 - 0.0850917821418767 * eta - 5.837029316602263 * eta2) * s +
           (0.1014665242971878 * eta - 2.0967746996832157 * eta2) * s2 +
           (-1.3546806617824356 * eta + 4.108962025369336 * eta2) * s3 +
           (-0.8676969352555539 * eta + 2.064046835273906 * eta2) * s4;
}

/// Radiated energy in units of M, Husa et al. Eqs. 3.7-3.8, s = (m1^2 chi1 + m2^2 chi2) / (m1^2 + m2^2).
inline double radiated_energy(double eta, double s) {
    const double eta2 = eta * eta, eta3 = eta2 * eta, eta4 = eta3 * eta;
    return ((0.055974469826360077 * eta + 0.5809510763115132 * eta2 - 0.9606726679372312 * eta3 +
             3.352411249771192 * eta4) *
            (1. + (-0.0030302335878845507 - 2.0066110851351073 * eta + 7.7050567802399215 * eta2) * s)) /
           (1. + (-0.6714403054720589 - 1.4756929437702908 * eta + 7.304676214885011 * eta2) * s);
}

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
    amp_ins_[6] = -(pi2 * (-336 * (-3248849057.0 + 2943675504 * chi12 - 3339284256 * chi1 * chi2 + 2943675504 * chi22) * eta2 -
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
    return 1.0 + amp_ins_[2] * t2 + amp_ins_[3] * t3 + amp_ins_[4] * t3 * t + amp_ins_[5] * t3 * t2 + amp_ins_[6] * t3 * t3 +
           amp_ins_[7] * t3 * t3 * t + amp_ins_[8] * t3 * t3 * t2 + amp_ins_[0] * mf * mf * mf;
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
    return sum * pi / (3.0 * v * v) + (sigma1_ + sigma2_ * std::cbrt(mf) + sigma3_ * std::pow(mf, 2.0 / 3.0) + sigma4_ * mf) / eta;
}
inline double phenom_d::phase_intermediate(double mf, double log_mf) const {
    return (beta1_ * mf - beta3_ / (3.0 * mf * mf * mf) + beta2_ * log_mf) / eta;
}
inline double phenom_d::d_phase_intermediate(double mf) const {
    return (beta1_ + beta3_ / (mf * mf * mf * mf) + beta2_ / mf) / eta;
}
inline double phenom_d::phase_merger_atan_argument(double mf) const { return (mf - alpha5_ * f_ring) / f_damp; }
inline double phenom_d::phase_merger(double mf, double atan_of_argument) const {  // Khan et al. Eq. 14
    return (-alpha2_ / mf + 4.0 / 3.0 * alpha3_ * std::sqrt(mf * std::sqrt(mf)) + alpha1_ * mf + alpha4_ * atan_of_argument) / eta;
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

inline void phenom_d::fill(const frequency_grid& grid, std::size_t first, std::size_t end, double* amp, double* phase) const {
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
    for (std::size_t k = first; k < amp_mid; ++k) amp[k] = amplitude(k, amp_inspiral(m_sec * grid.f[k], m_cbrt * grid.cbrt_f[k]));
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
