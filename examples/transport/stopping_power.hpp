#pragma once
// The physics tables of the transport module: total stopping power of liquid water from NIST PSTAR,
// the CSDA range obtained by integrating it, and the constants of water the other tables share.

#include <common/csv.hpp>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace transport {

/// Proton rest energy, MeV (CODATA 2018, m_p c^2 = 938.272 088 16 MeV).
inline constexpr double proton_mass_mev = 938.27208816;
/// Radiation length of liquid water, g/cm^2 (PDG, "Atomic and nuclear properties of materials", water (liquid)).
inline constexpr double water_radiation_length_g_cm2 = 36.08;
/// Density of the medium, g/cm^3: liquid water as the issue fixes it, so 1 cm of path is 1 g/cm^2.
inline constexpr double water_density_g_cm3 = 1.0;
/// 1 MeV in joules (SI 2019, exact: e = 1.602 176 634e-19 C).
inline constexpr double joule_per_mev = 1.602176634e-13;

/// Total (electronic + nuclear) stopping power S(E) of a medium, tabulated at ascending kinetic
/// energies and interpolated log-log between rows (linear in ln S against ln E), as PSTAR's own
/// interpolation does. On each segment S = S_a (E/E_a)^k, so the CSDA range
///     R(E) = R(E_0) + integral from E_0 to E of dE'/S(E')
/// has a closed form per segment and csda_range / energy_at_csda_range are exact inverses.
/// Units: E in MeV, S in MeV cm^2/g, R in g/cm^2. Immutable once built; safe to share across threads.
class stopping_power_table {
public:
    /// energy (ascending, > 0, finite), stopping power (> 0, finite) and the CSDA range at
    /// energy.front() (>= 0, finite). Throws std::invalid_argument naming the offending row, also when a
    /// range integrated from the table is not finite.
    stopping_power_table(std::vector<double> energy_mev, std::vector<double> stopping_mev_cm2_g,
                         double first_range_g_cm2, std::vector<double> tabulated_range_g_cm2 = {})
        : e_(std::move(energy_mev)),
          s_(std::move(stopping_mev_cm2_g)),
          table_range_(std::move(tabulated_range_g_cm2)) {
        if (e_.size() < 2 || e_.size() != s_.size())
            throw std::invalid_argument("stopping_power_table: need at least two rows of energy and stopping power");
        if (!table_range_.empty() && table_range_.size() != e_.size())
            throw std::invalid_argument("stopping_power_table: the range column has another length");
        for (std::size_t i = 0; i < e_.size(); ++i) {
            if (!(e_[i] > 0) || !(s_[i] > 0) || !std::isfinite(e_[i]) || !std::isfinite(s_[i]) ||
                (i > 0 && !(e_[i] > e_[i - 1])))
                throw std::invalid_argument("stopping_power_table: row " + std::to_string(i) +
                                            " is not positive, finite and ascending in energy");
        }
        if (!(first_range_g_cm2 >= 0) || !std::isfinite(first_range_g_cm2))
            throw std::invalid_argument("stopping_power_table: the first CSDA range must be finite and >= 0");
        r_.resize(e_.size());
        r_[0] = first_range_g_cm2;
        for (std::size_t i = 0; i + 1 < e_.size(); ++i) {
            r_[i + 1] = r_[i] + segment_integral(i, e_[i + 1]);
            if (!std::isfinite(r_[i + 1]) || !(r_[i + 1] > r_[i]))
                throw std::invalid_argument("stopping_power_table: the CSDA range integrated to row " +
                                            std::to_string(i + 1) + " is not finite and increasing");
        }
    }

    /// Reads PSTAR's CSV (examples/transport/data): '#' comment lines, one header line, then rows
    /// energy_MeV,total_stopping_power_MeV_cm2_g,csda_range_g_cm2. Throws examples::table_error naming
    /// the file and line of a malformed row (anything but three numbers, blanks around them allowed),
    /// or when the file cannot be read or has no rows; std::invalid_argument as the constructor for
    /// values it refuses.
    static stopping_power_table read_csv(const std::filesystem::path& file) {
        std::vector<double> e, s, r;
        examples::read_csv(file, {.comment = '#'}, [&](const std::vector<std::string>& fields) {
            if (fields.size() != 3) throw std::invalid_argument(std::to_string(fields.size()) + " fields, expected 3");
            e.push_back(examples::csv_number<double>(fields[0], "energy"));
            s.push_back(examples::csv_number<double>(fields[1], "stopping power"));
            r.push_back(examples::csv_number<double>(fields[2], "CSDA range"));
        });
        if (e.empty()) throw examples::table_error(file.string() + ": no rows");
        const double first = r.front();
        return {std::move(e), std::move(s), first, std::move(r)};
    }

    [[nodiscard]] double min_energy_mev() const noexcept { return e_.front(); }
    [[nodiscard]] double max_energy_mev() const noexcept { return e_.back(); }

    /// S(E), MeV cm^2/g. Throws std::out_of_range outside [min_energy_mev, max_energy_mev].
    [[nodiscard]] double stopping_power(double e) const {
        const auto i = segment(e);
        return s_[i] * std::pow(e / e_[i], slope(i));
    }

    /// CSDA range R(E), g/cm^2 (cm of water). Throws std::out_of_range outside the table.
    [[nodiscard]] double csda_range(double e) const {
        const auto i = segment(e);
        return r_[i] + segment_integral(i, e);
    }

    /// The energy whose CSDA range is r, MeV: the inverse of csda_range. Throws std::out_of_range
    /// outside [csda_range(min), csda_range(max)].
    [[nodiscard]] double energy_at_csda_range(double r) const {
        if (!(r >= r_.front() && r <= r_.back()))
            throw std::out_of_range("CSDA range " + std::to_string(r) + " g/cm^2 outside the stopping-power table");
        std::size_t i = 0;
        while (i + 2 < r_.size() && r_[i + 1] < r) ++i;
        // invert R - R_a = E_a^k / S_a * (E^(1-k) - E_a^(1-k)) / (1-k)
        const double k = slope(i);
        if (std::abs(1 - k) < 1e-12) return e_[i] * std::exp((r - r_[i]) * s_[i] / e_[i]);
        const double u = std::pow(e_[i], 1 - k) + (r - r_[i]) * s_[i] * (1 - k) / std::pow(e_[i], k);
        return std::pow(u, 1 / (1 - k));
    }

    /// The table's own CSDA-range column interpolated log-log (NIST's integration, for comparison).
    /// Throws std::logic_error when the table was built without that column.
    [[nodiscard]] double tabulated_csda_range(double e) const {
        if (table_range_.empty()) throw std::logic_error("stopping_power_table: no tabulated CSDA range");
        const auto i = segment(e);
        const double t = std::log(e / e_[i]) / std::log(e_[i + 1] / e_[i]);
        return table_range_[i] * std::pow(table_range_[i + 1] / table_range_[i], t);
    }

private:
    std::size_t segment(double e) const {
        if (!(e >= e_.front() && e <= e_.back()))
            throw std::out_of_range("energy " + std::to_string(e) + " MeV outside the stopping-power table [" +
                                    std::to_string(e_.front()) + ", " + std::to_string(e_.back()) + "] MeV");
        std::size_t i = 0;
        while (i + 2 < e_.size() && e_[i + 1] < e) ++i;
        return i;
    }
    double slope(std::size_t i) const { return std::log(s_[i + 1] / s_[i]) / std::log(e_[i + 1] / e_[i]); }
    /// integral from e_[i] to e of dE / (S_i (E/E_i)^k)
    double segment_integral(std::size_t i, double e) const {
        const double k = slope(i);
        if (std::abs(1 - k) < 1e-12) return e_[i] / s_[i] * std::log(e / e_[i]);
        return std::pow(e_[i], k) / s_[i] * (std::pow(e, 1 - k) - std::pow(e_[i], 1 - k)) / (1 - k);
    }

    std::vector<double> e_, s_, r_, table_range_;
};

}  // namespace transport
