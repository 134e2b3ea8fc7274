// Parameter tables for batch runs: a CSV with one row per waveform and columns named like
// parex-waveforms's flags, and a simple prior to draw such tables from.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <numbers>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <waveforms/waveform.hpp>

namespace waveforms {

/// The per-waveform columns a table may carry, in this order when written; spelled like the flags
/// (phi-ref, f-ref; phi_ref and f_ref are accepted too). The grid (f-min, f-max, delta-f) is the batch's.
inline constexpr std::array<std::string_view, 10> table_columns{"m1",       "m2",          "chi1z",   "chi2z", "lambda1",
                                                                "lambda2",  "distance",    "inclination", "phi-ref", "f-ref"};

inline double& column_of(parameters& p, std::size_t column) {
    double* fields[] = {&p.m1, &p.m2, &p.chi1z, &p.chi2z, &p.lambda1, &p.lambda2, &p.distance, &p.inclination, &p.phi_ref, &p.f_ref};
    return *fields[column];
}

/// A bad parameter table: the message names the file, the line and the column.
class table_error : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Reads a parameter table. Columns missing from the header take their value from `defaults` (as does
/// the grid); an unknown column, a duplicate, a row with the wrong number of fields or a field that is
/// not a number throws table_error naming line and column. Values are not validated here
/// (waveform_generator::generate does that, naming the row). O(size of the file).
inline std::vector<parameters> read_parameter_table(const std::string& path, const parameters& defaults) {
    std::ifstream in(path);
    if (!in) throw table_error(fmt::format("{}: cannot open", path));
    std::string line;
    if (!std::getline(in, line)) throw table_error(fmt::format("{}: empty (a header line is needed)", path));
    auto split = [](const std::string& text) {
        std::vector<std::string> out;
        std::stringstream ss(text);
        std::string field;
        while (std::getline(ss, field, ',')) {
            while (!field.empty() && (field.back() == '\r' || field.back() == ' ')) field.pop_back();
            while (!field.empty() && field.front() == ' ') field.erase(field.begin());
            out.push_back(field);
        }
        return out;
    };
    std::vector<std::size_t> columns;
    for (auto name : split(line)) {
        for (auto& ch : name)
            if (ch == '_') ch = '-';
        std::size_t found = table_columns.size();
        for (std::size_t c = 0; c < table_columns.size(); ++c)
            if (table_columns[c] == name) found = c;
        if (found == table_columns.size())
            throw table_error(fmt::format("{}:1: unknown column '{}' (known: {})", path, name, fmt::join(table_columns, ", ")));
        for (auto c : columns)
            if (c == found) throw table_error(fmt::format("{}:1: column '{}' appears twice", path, name));
        columns.push_back(found);
    }
    std::vector<parameters> rows;
    for (std::size_t number = 2; std::getline(in, line); ++number) {
        if (line.empty() || line == "\r") continue;
        const auto fields = split(line);
        if (fields.size() != columns.size())
            throw table_error(fmt::format("{}:{}: {} fields, the header has {}", path, number, fields.size(), columns.size()));
        parameters p = defaults;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            double value = 0;
            const auto* begin = fields[i].data();
            const auto* end = begin + fields[i].size();
            const auto [ptr, ec] = std::from_chars(begin, end, value);
            if (ec != std::errc{} || ptr != end || fields[i].empty())
                throw table_error(fmt::format("{}:{}: column '{}': '{}' is not a number", path, number, table_columns[columns[i]], fields[i]));
            column_of(p, columns[i]) = value;
        }
        rows.push_back(p);
    }
    return rows;
}

/// The table as CSV text, every column, values with 17 significant digits.
inline std::string format_parameter_table(const std::vector<parameters>& rows) {
    std::string out = fmt::format("{}\n", fmt::join(table_columns, ","));
    for (auto p : rows) {
        for (std::size_t c = 0; c < table_columns.size(); ++c) out += fmt::format("{}{:.17g}", c ? "," : "", column_of(p, c));
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
inline std::vector<parameters> sample_prior(std::size_t n, std::uint64_t seed, const parameters& defaults, const prior& pr = {}) {
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
