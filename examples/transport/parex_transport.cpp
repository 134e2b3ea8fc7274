// parex-transport: a proton beam in liquid water, transported to the end of its range; prints the
// Bragg-peak depth, R80 against NIST's CSDA range, the depth-dose curve against Bortfeld's analytic
// model, the lateral spread against Fermi-Eyges theory, the conservation residuals and the speed. See README.md beside this file.
#include <common/cli.hpp>
#include <common/module_data.hpp>
#include <common/output_file.hpp>
#include <common/plot.hpp>
#include <transport/bortfeld.hpp>
#include <transport/dose.hpp>
#include <transport/transport.hpp>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace pt = transport;
namespace fs = std::filesystem;
namespace cli = examples;

namespace {

struct options {
    double energy = 0;
    std::string grid = "auto";
    std::size_t angles = 0, energies = 0, steps = 0, threads = 0;
    double dz = 0, dx = 0;
    std::string energy_spread = "0";
    double beam_sigma = 0, divergence = 0;
    std::string precision = "f32";
    bool json = false, force = false;
    std::string dose_out, depth_dose_out, plot;
    std::string table = (examples::module_data_dir("transport") / "pstar_water_liquid_csda_stopping.csv").string();
};

/// --energy-spread: sigma_E in MeV ("1.2") or in percent of the energy ("1%"), at least 0.
double energy_spread_mev(const options& o) {
    const std::string& text = o.energy_spread;
    const bool percent = !text.empty() && text.back() == '%';
    const std::string number = percent ? text.substr(0, text.size() - 1) : text;
    double v = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), v);
    if (number.empty() || error != std::errc{} || end != number.data() + number.size() || !(v >= 0) ||
        !std::isfinite(v))
        throw cli::usage_failure(fmt::format(
            "--energy-spread {}: expected a non-negative sigma_E in MeV (\"1.2\") or percent of --energy (\"1%\")",
            text));
    return percent ? v / 100 * o.energy : v;
}

pt::config make_config(const options& o, const pt::stopping_power_table& table) {
    pt::config c;
    c.energy_mev = o.energy;
    if (o.grid == "fitted") {
        c = pt::range_fitted_grid(o.energy, table);
    } else if (o.grid != "auto") {
        // NZxNX, each a count in [1, max_cells_per_axis]: from_chars reads no sign, so "-5" is refused
        const auto bad = [&] {
            return cli::usage_failure(
                fmt::format("--grid {}: expected auto, fitted or NZxNX with cell counts in [1, {}]", o.grid,
                            pt::max_cells_per_axis));
        };
        const char* const end = o.grid.data() + o.grid.size();
        const auto [after_nz, e1] = std::from_chars(o.grid.data(), end, c.nz);
        if (e1 != std::errc{} || after_nz == end || *after_nz != 'x') throw bad();
        const auto [after_nx, e2] = std::from_chars(after_nz + 1, end, c.nx);
        if (e2 != std::errc{} || after_nx != end) throw bad();
        for (const auto n : {c.nz, c.nx})
            if (n == 0 || n > pt::max_cells_per_axis) throw bad();
    }
    // explicit flags win over either preset; the fitted preset is resolved again around them
    if (o.angles) c.angles = o.angles, c.theta_max_rad = o.grid == "fitted" ? c.theta_max_rad : 0;
    if (o.energies) c.energies = o.energies;
    if (o.dz > 0) c.dz_cm = o.dz, c.step_cm = 0;
    if (o.dx > 0) c.dx_cm = o.dx, c.step_cm = 0;
    c.max_steps = o.steps;  // 0: resolve() bounds it for this grid
    c.energy_spread_mev = energy_spread_mev(o);
    c.beam_sigma_cm = o.beam_sigma;
    c.divergence_rad = o.divergence;
    return pt::resolve(c, table);
}

std::string dose_csv(const pt::config& c, const std::vector<double>& dose_gy) {
    std::string s = "z_cm,x_cm,dose_gy\n";
    for (std::size_t z = 0; z < c.nz; ++z)
        for (std::size_t x = 0; x < c.nx; ++x)
            s += fmt::format("{:.6g},{:.6g},{:.9g}\n", (static_cast<double>(z) + 0.5) * c.dz_cm,
                             (static_cast<double>(x) + 0.5 - 0.5 * static_cast<double>(c.nx)) * c.dx_cm,
                             dose_gy[z * c.nx + x]);
    return s;
}

/// The laterally integrated depth dose per incident proton: MeV cm^2/g (energy per unit depth over
/// the density) and Gy cm^2 (1 MeV/g = 1.602176634e-10 Gy).
std::string depth_dose_csv(const pt::config& c, const std::vector<double>& depth_mev_per_cm) {
    std::string s = "z_cm,dose_mev_cm2_g,dose_gy_cm2\n";
    for (std::size_t z = 0; z < c.nz; ++z) {
        const double d = depth_mev_per_cm[z] / pt::water_density_g_cm3;
        s += fmt::format("{:.6g},{:.9g},{:.9g}\n", (static_cast<double>(z) + 0.5) * c.dz_cm, d,
                         d * pt::joule_per_mev * 1e3);
    }
    return s;
}

/// Runs plot_dose.py (matplotlib) on the dose map, drawing into `png` (a path it writes as PNG
/// whatever its name); throws when it fails.
void plot(const pt::config& c, const std::vector<double>& dose_gy, const nlohmann::json& summary,
          const std::string& png) {
    examples::run_plot_script("--plot", EXAMPLES_PLOT_PYTHON, examples::module_data_dir("transport") / "plot_dose.py",
                              dose_csv(c, dose_gy), {png, summary.dump()});
}

/// The outputs asked for, created (as temporary files) before the simulation, so that an existing file
/// without -f or a folder that cannot be written fails at once, not after the work.
struct outputs {
    std::optional<cli::output_file> dose, depth, png;
    explicit outputs(const options& o) {
        if (!o.dose_out.empty()) dose.emplace(fs::path(o.dose_out), o.force);
        if (!o.depth_dose_out.empty()) depth.emplace(fs::path(o.depth_dose_out), o.force);
        if (!o.plot.empty()) png.emplace(fs::path(o.plot), o.force);
    }
};

template <class T>
int simulate(const options& o, const pt::config& c, const pt::stopping_power_table& table) {
    outputs out(o);
    pt::simulation<T> sim(c, table, pt::source::pencil_beam, {.max_concurrency = o.threads});
    const auto report = sim.run();
    const auto depth = pt::depth_dose(c, sim.deposited_mev());
    const double csda = table.tabulated_csda_range(c.energy_mev) / pt::water_density_g_cm3;
    const double depth_cm = static_cast<double>(c.nz) * c.dz_cm;
    const auto sigma_at = [&](double z) {
        return z < depth_cm ? pt::lateral_sigma_cm(c, sim.deposited_mev(), z) : std::nan("");
    };
    const auto fermi_eyges = [&](double z) {
        return pt::fermi_eyges_sigma_cm(table, c.energy_mev, z, c.beam_sigma_cm, c.divergence_rad);
    };
    // Bortfeld's analytic curve, in the units of depth_dose (MeV/cm), and the gamma index against it
    const auto reference_mev_cm2_g = pt::bortfeld_depth_dose(table, c.energy_mev, c.energy_spread_mev, c.dz_cm, c.nz);
    auto reference = reference_mev_cm2_g;
    for (auto& v : reference) v *= pt::water_density_g_cm3;
    const double r80 = pt::r80_cm(c, depth), r20 = pt::distal_depth_cm(c, depth, 0.2);
    const double peak_to_entrance = *std::max_element(depth.begin(), depth.end()) / depth.front();
    const double reference_peak_to_entrance = *std::max_element(reference.begin(), reference.end()) / reference.front();
    nlohmann::json sigma_z = nlohmann::json::array(), fermi_eyges_z = nlohmann::json::array();
    for (std::size_t z = 0; z < c.nz; ++z) {
        const double zc = (static_cast<double>(z) + 0.5) * c.dz_cm;
        sigma_z.push_back({{"z_cm", zc}, {"sigma_cm", sigma_at(zc)}});
    }
    for (const double fraction : {0.25, 0.5, 0.75, 0.95}) {
        const double z = fraction * csda;
        fermi_eyges_z.push_back({{"fraction_of_range", fraction},
                                 {"z_cm", z},
                                 {"sigma_cm", sigma_at(z)},
                                 {"fermi_eyges_cm", fermi_eyges(z)}});
    }
    const double mid = 0.5 * csda;
    const double sigma = sigma_at(mid);
    const auto& books = sim.books();
    nlohmann::json j = {
        {"energy_mev", c.energy_mev},
        {"energy_spread_mev", c.energy_spread_mev},
        {"beam_sigma_cm", c.beam_sigma_cm},
        {"divergence_rad", c.divergence_rad},
        {"bragg_peak_cm", pt::bragg_peak_cm(c, depth)},
        {"r80_cm", r80},
        {"r20_cm", r20},
        {"distal_falloff_cm", r20 - r80},
        {"peak_to_entrance", peak_to_entrance},
        {"csda_range_cm", csda},
        {"bortfeld",
         {{"r80_cm", pt::r80_cm(c, reference)},
          {"distal_falloff_cm", pt::distal_depth_cm(c, reference, 0.2) - pt::r80_cm(c, reference)},
          {"peak_to_entrance", reference_peak_to_entrance},
          {"gamma_2pct_1mm_pass_rate", pt::gamma_pass_rate(depth, reference, c.dz_cm, 0.02, 0.1)},
          {"depth_dose_mev_cm2_g", reference_mev_cm2_g}}},
        {"lateral_sigma_mid_range_cm", sigma},
        {"fermi_eyges_sigma_mid_range_cm", fermi_eyges(mid)},
        {"lateral_sigma", sigma_z},
        {"fermi_eyges", fermi_eyges_z},
        {"particle_residual", report.max_particle_residual},
        {"energy_residual", report.max_energy_residual},
        {"escaped_particles", books.escaped.particles},
        {"absorbed_particles", books.absorbed.particles},
        {"nuclear_removed_particles", books.removed.particles},
        {"nuclear_carried_off_mev", books.carried_off_mev},
        {"in_grid_particles", books.in_grid.particles},
        {"steps", report.steps},
        {"seconds_per_step", report.seconds_per_step()},
        {"bins_per_second", report.bins_per_second()},
        {"threads", parex::workers_for(parex::workload::cpu_bound, o.threads)},
        {"precision", o.precision},
        {"grid",
         {{"nz", c.nz},
          {"nx", c.nx},
          {"angles", c.angles},
          {"energies", c.energies},
          {"dz_cm", c.dz_cm},
          {"dx_cm", c.dx_cm},
          {"dy_cm", c.dy_cm},
          {"step_cm", c.step_cm},
          {"theta_max_rad", c.theta_max_rad},
          {"cutoff_mev", c.cutoff_mev}}},
    };
    if (!sim.stopped())
        fmt::print(stderr, "parex-transport: stopped after {} steps with {:.3g} of the beam still moving\n",
                   report.steps, books.in_grid.particles);
    const auto dose = sim.dose_gy();
    if (out.dose) {
        out.dose->write(dose_csv(c, dose));
        out.dose->commit();
    }
    if (out.depth) {
        out.depth->write(depth_dose_csv(c, depth));
        out.depth->commit();
    }
    if (out.png) {
        plot(c, dose, j, out.png->temporary_path()->string());
        out.png->commit();
    }
    if (o.json) {
        std::cout << j.dump(2) << '\n';
        return 0;
    }
    const double peak = j["bragg_peak_cm"];
    fmt::print(
        "parex-transport: {} MeV protons in water, {} x {} cells of {:.4g} x {:.4g} cm, {} angles over +-{:.3f} rad, "
        "{} energies down to {:.3g} MeV ({}, {} threads)\n",
        c.energy_mev, c.nz, c.nx, c.dz_cm, c.dx_cm, c.angles, c.theta_max_rad, c.energies, c.cutoff_mev, o.precision,
        j["threads"].get<std::size_t>());
    const auto& bortfeld = j["bortfeld"];
    fmt::print("  Bragg peak                 {:.3f} cm  ({:.4f} x CSDA range)\n", peak, peak / csda);
    fmt::print("  R80                        {:.3f} cm  (NIST CSDA range {:.4g} cm: {:.4f}; Bortfeld {:.3f} cm)\n", r80,
               csda, r80 / csda, bortfeld["r80_cm"].get<double>());
    fmt::print("  distal falloff R80-R20     {:.3f} cm  (Bortfeld {:.3f} cm)\n", r20 - r80,
               bortfeld["distal_falloff_cm"].get<double>());
    fmt::print("  peak / entrance            {:.2f}      (Bortfeld {:.2f})\n", peak_to_entrance,
               reference_peak_to_entrance);
    fmt::print("  gamma 2 %/1 mm vs Bortfeld {:.1f} % of the cells to R10 pass\n",
               100 * bortfeld["gamma_2pct_1mm_pass_rate"].get<double>());
    if (mid < depth_cm)
        fmt::print("  lateral sigma at {:.2f} cm  {:.4f} cm  (Fermi-Eyges with T_dM {:.4f} cm: {:.3f}x)\n", mid, sigma,
                   fermi_eyges(mid), sigma / fermi_eyges(mid));
    fmt::print("  nuclear interactions       {:.2f} % of the protons removed, {:.3f} MeV carried off\n",
               100 * books.removed.particles, books.carried_off_mev);
    fmt::print("  conservation residuals     particles {:.2e}, energy {:.2e} (largest over {} steps)\n",
               report.max_particle_residual, report.max_energy_residual, report.steps);
    fmt::print("  time per step              {:.3f} ms, {:.3g} bins/s (active window)\n",
               report.seconds_per_step() * 1e3, report.bins_per_second());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"parex-transport: operator-split proton transport in water (2-D), on parex", "parex-transport"};
    options o;
    cli::add_real(&app, "--energy", o.energy, "beam kinetic energy, MeV (inside the stopping-power table)", 1e-3, 1e4)
        ->required();
    app.add_option("--grid", o.grid,
                   fmt::format("auto (cells of --dz, sized for the beam), fitted (40x40 cells fitted to the range, 72 "
                               "angles, 200 energies) or "
                               "NZxNX (each in [1, {}])",
                               pt::max_cells_per_axis))
        ->capture_default_str();
    cli::add_integer(&app, "--angles", o.angles, "angle bins (0 = 41)", 0, pt::max_angles);
    cli::add_integer(&app, "--energies", o.energies, "energy bins (0 = one per step of residual range)", 0,
                     pt::max_energies);
    cli::add_real(&app, "--dz", o.dz,
                  "depth cell, cm (0 = 1 mm, halved until a third of the lateral spread at the end of the range)", 0,
                  100);
    cli::add_real(&app, "--dx", o.dx, "lateral cell, cm (0 = as --dz)", 0, 100);
    cli::add_integer(&app, "--steps", o.steps, "at most this many steps (0 = until the beam has stopped)", 0,
                     1'000'000'000);
    cli::add_threads(&app, o.threads);
    app.add_option("--precision", o.precision, "fluence precision")
        ->check(CLI::IsMember({"f32", "f64"}))
        ->capture_default_str();
    app.add_flag("--json", o.json, "print the results as one JSON object");
    app.add_option("--energy-spread", o.energy_spread,
                   "sigma_E of the beam's energy, MeV (\"1.2\") or percent of --energy (\"1%\"), at most a quarter "
                   "of it")
        ->capture_default_str();
    cli::add_real(&app, "--beam-sigma", o.beam_sigma, "sigma_x of the beam spot at the surface, cm", 0, 100);
    cli::add_real(&app, "--divergence", o.divergence, "sigma_theta of the beam's direction at the surface, rad", 0,
                  0.2);
    app.add_option("--dose-out", o.dose_out, "write the dose map as CSV (z_cm,x_cm,dose_gy; Gy per incident proton)");
    app.add_option("--depth-dose-out", o.depth_dose_out,
                   "write the laterally integrated depth dose as CSV (z_cm,dose_mev_cm2_g,dose_gy_cm2; per incident "
                   "proton)");
    app.add_option("--plot", o.plot, "draw the dose map and the depth-dose curve to this PNG (python3-matplotlib)");
    app.add_flag("-f,--force", o.force, "overwrite existing --dose-out, --depth-dose-out and --plot files");
    app.add_option("--table", o.table,
                   "NIST PSTAR stopping-power CSV; default: share/parex/transport beside this program's bin folder")
        ->check(CLI::ExistingFile)
        ->capture_default_str();
    return cli::run_program(app, argc, argv, [&] {
        const auto table = pt::stopping_power_table::read_csv(o.table);
        pt::config c;
        try {
            c = make_config(o, table);
        } catch (const std::invalid_argument& e) {  // a configuration made of options: a usage error
            throw cli::usage_failure(e.what());
        }
        return o.precision == "f64" ? simulate<double>(o, c, table) : simulate<float>(o, c, table);
    });
}
