// Frequency-domain gravitational waveforms of compact binaries with aligned spins: TaylorF2 and
// IMRPhenomD, as LALSimulation's SimInspiralChooseFDWaveform returns them (h_plus, h_cross on the uniform
// grid f_k = k delta_f from k = 0, in strain per Hz).
#pragma once

#include <cmath>
#include <complex>
#include <cstddef>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <waveforms/qnm.hpp>

namespace waveforms {

/// The physical constants a waveform depends on. A parameter, because LALSuite changed them: the 2015
/// reference waveforms need the set of their time, and a phase of 1e4 radians moves by 1e-4 radians
/// when M_sun G / c^3 changes in its ninth digit.
struct constants {
    std::string_view name;
    double msun_si;   ///< solar mass, kg
    double mtsun_si;  ///< G M_sun / c^3, s
    double mrsun_si;  ///< G M_sun / c^2, m
    double pc_si;     ///< parsec, m

    /// Today's set, as current LALSuite (LALConstants.h) defines it: the IAU 2015 nominal solar mass
    /// parameter G M_sun = 1.3271244e20 m^3 s^-2 (IAU 2015 Resolution B3), c = 299792458 m/s, CODATA 2018
    /// G = 6.67430e-11 m^3 kg^-1 s^-2, the parsec = 648000/pi au with au = 149597870700 m (IAU 2012 B2,
    /// IAU 2015 B2).
    static constants today() {
        constexpr double gm_sun = 1.3271244e20, c = 299792458.0, g = 6.67430e-11, au = 149597870700.0;
        return {"today", gm_sun / g, gm_sun / (c * c * c), gm_sun / (c * c), au * 648000.0 / std::numbers::pi};
    }
    /// The set of LALSuite in 2015 (LAL_MSUN_SI, LAL_MTSUN_SI, LAL_MRSUN_SI, LAL_PC_SI of
    /// lal/lib/std/LALConstants.h at lalsuite-archive commit 9334a653), which the reference waveforms
    /// of tests/data/gw were made with.
    static constants lal_2015() {
        return {"lal-2015", 1.988546954961461467e30, 4.925491025543575903e-6, 1.476625061404649406e3,
                3.085677581491367279e16};
    }
    /// "today" or "lal-2015"; throws std::invalid_argument otherwise.
    static constants named(std::string_view name) {
        if (name == "today") return today();
        if (name == "lal-2015") return lal_2015();
        throw std::invalid_argument(fmt::format("constants: unknown set '{}' (today, lal-2015)", name));
    }
};

enum class approximant { taylor_f2, imr_phenom_d };

/// "TaylorF2" or "IMRPhenomD"; throws std::invalid_argument otherwise.
inline approximant parse_approximant(std::string_view name) {
    if (name == "TaylorF2") return approximant::taylor_f2;
    if (name == "IMRPhenomD") return approximant::imr_phenom_d;
    throw std::invalid_argument(fmt::format("approximant: unknown '{}' (TaylorF2, IMRPhenomD)", name));
}
inline std::string_view name_of(approximant a) { return a == approximant::taylor_f2 ? "TaylorF2" : "IMRPhenomD"; }

/// One binary and the frequency grid, in LALSimulation's units and conventions.
struct parameters {
    double m1 = 0, m2 = 0;            ///< component masses, solar masses (either order)
    double chi1z = 0, chi2z = 0;      ///< dimensionless spins along the orbital angular momentum, |chi| <= 1
    double lambda1 = 0, lambda2 = 0;  ///< dimensionless tidal deformabilities Lambda_i (TaylorF2 only)
    double distance = 100;            ///< luminosity distance, Mpc
    double inclination = 0;           ///< angle between the line of sight and the orbital angular momentum, rad
    double phi_ref = 0;               ///< orbital phase at f_ref, rad
    double f_ref = 0;                 ///< reference frequency, Hz; 0 = LAL's default (coalescence for
                                      ///< TaylorF2, f_min for IMRPhenomD)
    double f_min = 20;                ///< lowest frequency, Hz
    double f_max = 0;                 ///< highest frequency, Hz; 0 = the model's natural end
    double delta_f = 0.125;           ///< bin width, Hz
};

/// The largest mass ratio IMRPhenomD accepts (LALSimIMRPhenomD.h, MAX_ALLOWED_MASS_RATIO = 5000; the
/// model is calibrated to q <= 18).
inline constexpr double max_mass_ratio = 5000;

/// Throws std::invalid_argument naming the first bad parameter and its value: non-positive masses or
/// distance, |chi| > 1, negative tidal deformability, delta_f <= 0, f_min <= 0, f_max < 0, f_min >= f_max
/// when f_max > 0, f_ref < 0, or (IMRPhenomD) a mass ratio above max_mass_ratio.
inline void validate(const parameters& p, approximant model) {
    auto bad = [](std::string_view name, double value, std::string_view why) {
        throw std::invalid_argument(fmt::format("{} = {}: {}", name, value, why));
    };
    if (!(p.m1 > 0)) bad("m1", p.m1, "must be positive (solar masses)");
    if (!(p.m2 > 0)) bad("m2", p.m2, "must be positive (solar masses)");
    if (!(std::abs(p.chi1z) <= 1)) bad("chi1z", p.chi1z, "must lie in [-1, 1]");
    if (!(std::abs(p.chi2z) <= 1)) bad("chi2z", p.chi2z, "must lie in [-1, 1]");
    if (!(p.lambda1 >= 0)) bad("lambda1", p.lambda1, "must be non-negative");
    if (!(p.lambda2 >= 0)) bad("lambda2", p.lambda2, "must be non-negative");
    if (!(p.distance > 0)) bad("distance", p.distance, "must be positive (Mpc)");
    if (!std::isfinite(p.inclination)) bad("inclination", p.inclination, "must be finite");
    if (!std::isfinite(p.phi_ref)) bad("phi_ref", p.phi_ref, "must be finite");
    if (!(p.delta_f > 0)) bad("delta_f", p.delta_f, "must be positive (Hz)");
    if (!(p.f_min > 0)) bad("f_min", p.f_min, "must be positive (Hz)");
    if (!(p.f_max >= 0)) bad("f_max", p.f_max, "must be non-negative (Hz; 0 = the model's end)");
    if (p.f_max > 0 && !(p.f_min < p.f_max)) bad("f_min", p.f_min, fmt::format("must be below f_max = {}", p.f_max));
    if (!(p.f_ref >= 0)) bad("f_ref", p.f_ref, "must be non-negative (Hz; 0 = the model's default)");
    if (model == approximant::imr_phenom_d) {
        const double q = std::max(p.m1, p.m2) / std::min(p.m1, p.m2);
        if (q > max_mass_ratio) bad("mass ratio", q, fmt::format("IMRPhenomD accepts up to {}", max_mass_ratio));
    }
}

/// The longest frequency series a waveform or a batch row may have: 2^25 bins (f = 4096 Hz at
/// delta_f = 1/8192 Hz; 512 MiB per complex128 series). A grid whose bin count would be larger (a tiny
/// delta_f, a huge f_max, masses so small that the model's end frequency is huge) is refused.
inline constexpr std::size_t max_bins = std::size_t{1} << 25;

/// Where a waveform lives on the grid f_k = k delta_f: LAL's series length and the bins it fills.
struct extent {
    std::size_t length = 0;  ///< bins of LAL's frequency series, from k = 0
    std::size_t first = 0;   ///< first bin LAL fills
    std::size_t end = 0;     ///< one past the last bin LAL fills
};

namespace detail {

/// `bins` (a frequency over delta_f, as LAL computes it) converted to an index: a NaN, negative or
/// beyond max_bins value throws std::invalid_argument naming `what`, rather than reaching the conversion
/// (undefined behaviour out of range).
inline std::size_t bin_count(double bins, double delta_f, std::string_view what) {
    if (!(bins >= 0 && bins <= static_cast<double>(max_bins)))
        throw std::invalid_argument(
            fmt::format("{} at delta_f = {} Hz is {:.3g} bins: more than the limit of {} (max_bins)", what, delta_f,
                        bins, max_bins));
    return static_cast<std::size_t>(bins);
}

inline std::size_t next_pow2(std::size_t n) {  // LALSimIMRPhenomD_internals.c, NextPow2
    return std::size_t(std::pow(2.0, std::ceil(std::log2(double(n)))));
}

/// TaylorF2's end when f_max = 0: the Schwarzschild ISCO, f = 6^(-3/2) / (pi M).
inline double isco_frequency(double total_mass_s) {
    return 1.0 / (std::sqrt(6.0) * 6.0 * std::numbers::pi * total_mass_s);
}

/// IMRPhenomD's natural end, M f = 0.2 (LALSimIMRPhenomD.h, f_CUT).
inline constexpr double phenom_d_f_cut = 0.2;

}  // namespace detail

/// LAL's length and filled bins for this model and these parameters (SimInspiralTaylorF2 and
/// IMRPhenomDGenerateFD of 2015):
/// - TaylorF2: f_end = f_max, or the ISCO frequency when f_max = 0; length = floor(f_end / delta_f + 1);
///   bins ceil(f_min / delta_f) to length - 1.
/// - IMRPhenomD: f_end = min(f_max or infinity, f_cut = 0.2 / M); length = next power of two of
///   floor(f_end / delta_f), plus one (and of f_max / delta_f when f_max exceeds f_cut); bins
///   floor(f_min / delta_f) to floor(f_end / delta_f) - 1. LAL starts IMRPhenomD at the bin below f_min.
/// Throws std::invalid_argument when the model ends at or below f_min, or when a bin count exceeds
/// max_bins (naming the frequency and the parameters behind it).
inline extent extent_of(const parameters& p, approximant model, const constants& c) {
    using detail::bin_count;
    const double m_sec = (p.m1 + p.m2) * c.mtsun_si;
    const auto f_min = fmt::format("f_min = {} Hz", p.f_min);
    if (model == approximant::taylor_f2) {
        const double f_end = p.f_max > 0 ? p.f_max : detail::isco_frequency(m_sec);
        if (!(f_end > p.f_min))
            throw std::invalid_argument(
                fmt::format("f_min = {}: TaylorF2 ends at the ISCO frequency {} Hz", p.f_min, f_end));
        const auto end = p.f_max > 0 ? fmt::format("f_max = {} Hz", p.f_max)
                                     : fmt::format("the ISCO frequency {} Hz of m1 + m2 = {}", f_end, p.m1 + p.m2);
        const auto length = bin_count(f_end / p.delta_f + 1, p.delta_f, end);
        return {length, bin_count(std::ceil(p.f_min / p.delta_f), p.delta_f, f_min), length};
    }
    const double f_cut = detail::phenom_d_f_cut / m_sec;
    if (!(f_cut > p.f_min))
        throw std::invalid_argument(fmt::format("f_min = {}: IMRPhenomD ends at M f = 0.2, {} Hz", p.f_min, f_cut));
    const double f_end = p.f_max > 0 ? std::min(p.f_max, f_cut) : f_cut;
    if (!(f_end > p.f_min))
        throw std::invalid_argument(fmt::format("f_max = {}: not above f_min = {}", f_end, p.f_min));
    const auto end = p.f_max > 0 && p.f_max < f_cut
                         ? fmt::format("f_max = {} Hz", p.f_max)
                         : fmt::format("IMRPhenomD's end 0.2 / M = {} Hz of m1 + m2 = {}", f_cut, p.m1 + p.m2);
    const auto last = bin_count(f_end / p.delta_f, p.delta_f, end);
    std::size_t length = detail::next_pow2(last) + 1;
    if (p.f_max > f_cut)
        length =
            detail::next_pow2(bin_count(p.f_max / p.delta_f, p.delta_f, fmt::format("f_max = {} Hz", p.f_max))) + 1;
    return {length, bin_count(p.f_min / p.delta_f, p.delta_f, f_min), last};
}

}  // namespace waveforms
