// Parameter tables for batch runs: a CSV with one row per waveform and columns named like
// parex-waveforms's flags, and a simple prior to draw such tables from.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <common/csv.hpp>
#include <waveforms/waveform.hpp>

namespace waveforms {

/// The per-waveform columns a table may carry, in this order when written; spelled like the flags
/// (phi-ref, f-ref; phi_ref and f_ref are accepted too). The grid (f-min, f-max, delta-f) is the batch's.
inline constexpr std::array<std::string_view, 10> table_columns{
    "m1", "m2", "chi1z", "chi2z", "lambda1", "lambda2", "distance", "inclination", "phi-ref", "f-ref"};

inline double& column_of(parameters& p, std::size_t column) {
    double* fields[] = {&p.m1,      &p.m2,       &p.chi1z,       &p.chi2z,   &p.lambda1,
                        &p.lambda2, &p.distance, &p.inclination, &p.phi_ref, &p.f_ref};
    return *fields[column];
}

/// Reads a parameter table. Columns missing from the header take their value from `defaults` (as does
/// the grid); an unknown column, a duplicate, a row with the wrong number of fields or a field that is
/// not a number throws examples::table_error naming line and column. Values are not validated here
/// (waveform_generator::generate does that, naming the row). O(size of the file).
inline std::vector<parameters> read_parameter_table(const std::filesystem::path& path, const parameters& defaults) {
    std::vector<std::size_t> columns;  // table_columns index of each field
    std::vector<parameters> rows;
    examples::read_csv(
        path, {},
        [&](const std::vector<std::string>& header) {
            for (const auto& field : header) {
                std::string name(examples::trim_space(field));
                for (auto& ch : name)
                    if (ch == '_') ch = '-';
                std::size_t found = table_columns.size();
                for (std::size_t c = 0; c < table_columns.size(); ++c)
                    if (table_columns[c] == name) found = c;
                if (found == table_columns.size())
                    throw std::invalid_argument(
                        fmt::format("unknown column '{}' (known: {})", name, fmt::join(table_columns, ", ")));
                for (auto c : columns)
                    if (c == found) throw std::invalid_argument(fmt::format("column '{}' appears twice", name));
                columns.push_back(found);
            }
        },
        [&](const std::vector<std::string>& fields) {
            if (fields.size() != columns.size())
                throw std::invalid_argument(fmt::format("{} fields, the header has {}", fields.size(), columns.size()));
            parameters p = defaults;
            for (std::size_t i = 0; i < fields.size(); ++i)
                column_of(p, columns[i]) =
                    examples::csv_number<double>(fields[i], fmt::format("column '{}'", table_columns[columns[i]]));
            rows.push_back(p);
        });
    return rows;
}

/// The table as CSV text, every column, values with 17 significant digits.
inline std::string format_parameter_table(const std::vector<parameters>& rows) {
    std::string out = fmt::format("{}\n", fmt::join(table_columns, ","));
    for (auto p : rows) {
        for (std::size_t c = 0; c < table_columns.size(); ++c)
            out += fmt::format("{}{:.17g}", c ? "," : "", column_of(p, c));
        out += '\n';
    }
    return out;
}

/// The prior of sample_prior (documented in examples/waveforms/README.md):
/// m1, m2 ~ U[m_min, m_max] solar masses independently; chi1z, chi2z ~ U[-chi_max, chi_max];
/// distance with density proportional to d^2 on [d_min, d_max] Mpc (uniform in volume);
/// cos(inclination) ~ U[-1, 1] (isotropic); phi_ref ~ U[0, 2 pi); lambda1 = lambda2 = 0, f_ref = 0.
struct prior {
    double m_min = 10, m_max = 80;
    double chi_max = 0.99;
    double d_min = 100, d_max = 1000;
};

/// n parameter sets from the prior, reproducible from `seed` on every platform (std::mt19937_64 and
/// explicit inverse-CDF transforms, no std:: distributions, whose output is implementation-defined).
inline std::vector<parameters> sample_prior(std::size_t n, std::uint64_t seed, const parameters& defaults,
                                            const prior& pr = {}) {
    std::mt19937_64 engine(seed);
    auto uniform = [&] { return double(engine() >> 11) * 0x1.0p-53; };  // [0, 1)
    std::vector<parameters> rows(n, defaults);
    const double d0 = pr.d_min * pr.d_min * pr.d_min, d1 = pr.d_max * pr.d_max * pr.d_max;
    for (auto& p : rows) {
        p.m1 = pr.m_min + (pr.m_max - pr.m_min) * uniform();
        p.m2 = pr.m_min + (pr.m_max - pr.m_min) * uniform();
        p.chi1z = pr.chi_max * (2.0 * uniform() - 1.0);
        p.chi2z = pr.chi_max * (2.0 * uniform() - 1.0);
        p.distance = std::cbrt(d0 + (d1 - d0) * uniform());
        p.inclination = std::acos(2.0 * uniform() - 1.0);
        p.phi_ref = 2.0 * std::numbers::pi * uniform();
        p.lambda1 = p.lambda2 = 0;
        p.f_ref = 0;
    }
    return rows;
}

}  // namespace waveforms
