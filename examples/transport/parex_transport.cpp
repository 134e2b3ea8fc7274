// parex-transport: a proton pencil beam in liquid water, transported to the end of its range; prints the
// Bragg-peak depth, R80 against NIST's CSDA range, the lateral spread against Fermi-Eyges, the
// conservation residuals and the speed. See README.md beside this file.
#include <common/cli.hpp>
#include <common/module_data.hpp>
#include <common/output_file.hpp>
#include <common/plot.hpp>
#include <transport/dose.hpp>
#include <transport/transport.hpp>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

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
    std::string precision = "f32";
    bool json = false, force = false;
    std::string dose_out, plot;
    std::string table = (examples::module_data_dir("transport") / "pstar_water_liquid_csda_stopping.csv").string();
};

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

/// Runs plot_dose.py (matplotlib) on the dose map, drawing into `png` (a path it writes as PNG
/// whatever its name); throws when it fails.
void plot(const pt::config& c, const std::vector<double>& dose_gy, const nlohmann::json& summary,
          const std::string& png) {
    examples::run_plot_script("--plot", PAREX_PLOT_PYTHON, examples::module_data_dir("transport") / "plot_dose.py",
                              dose_csv(c, dose_gy), {png, summary.dump()});
}

/// The outputs asked for, created (as temporary files) before the simulation, so that an existing file
/// without -f or a folder that cannot be written fails at once, not after the work.
struct outputs {
    std::optional<cli::output_file> dose, png;
    explicit outputs(const options& o) {
        if (!o.dose_out.empty()) dose.emplace(fs::path(o.dose_out), o.force);
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
    const double mid = 0.5 * csda;
    const bool mid_in_grid = mid < static_cast<double>(c.nz) * c.dz_cm;
    const double sigma = mid_in_grid ? pt::lateral_sigma_cm(c, sim.deposited_mev(), mid) : std::nan("");
    const double fermi_eyges = pt::fermi_eyges_sigma_cm(table, c.energy_mev, c.step_cm, mid);
    const auto& books = sim.books();
    nlohmann::json j = {
        {"energy_mev", c.energy_mev},
        {"bragg_peak_cm", pt::bragg_peak_cm(c, depth)},
        {"r80_cm", pt::r80_cm(c, depth)},
        {"csda_range_cm", csda},
        {"lateral_sigma_mid_range_cm", sigma},
        {"fermi_eyges_sigma_mid_range_cm", fermi_eyges},
        {"particle_residual", report.max_particle_residual},
        {"energy_residual", report.max_energy_residual},
        {"escaped_particles", books.escaped.particles},
        {"absorbed_particles", books.absorbed.particles},
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
    if (out.png) {
        plot(c, dose, j, out.png->temporary_path()->string());
        out.png->commit();
    }
    if (o.json) {
        std::cout << j.dump(2) << '\n';
        return 0;
    }
    const double peak = j["bragg_peak_cm"], r80 = j["r80_cm"];
    fmt::print(
        "parex-transport: {} MeV protons in water, {} x {} cells of {:.4g} x {:.4g} cm, {} angles over +-{:.3f} rad, "
        "{} energies down to {:.3g} MeV ({}, {} threads)\n",
        c.energy_mev, c.nz, c.nx, c.dz_cm, c.dx_cm, c.angles, c.theta_max_rad, c.energies, c.cutoff_mev, o.precision,
        j["threads"].get<std::size_t>());
    fmt::print("  Bragg peak                 {:.3f} cm  ({:.4f} x CSDA range)\n", peak, peak / csda);
    fmt::print("  R80                        {:.3f} cm  (NIST CSDA range {:.4g} cm: {:.4f})\n", r80, csda, r80 / csda);
    if (mid_in_grid)
        fmt::print("  lateral sigma at {:.2f} cm  {:.4f} cm  (Fermi-Eyges {:.4f} cm: {:.2f}x)\n", mid, sigma,
                   fermi_eyges, sigma / fermi_eyges);
    fmt::print("  conservation residuals     particles {:.2e}, energy {:.2e} (largest over {} steps)\n",
               report.max_particle_residual, report.max_energy_residual, report.steps);
    fmt::print("  time per step              {:.3f} ms, {:.3g} bins/s (active energy window)\n",
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
                   fmt::format("auto (1 mm cells, sized for the beam), fitted (40x40 cells fitted to the range, 72 "
                               "angles, 200 energies) or "
                               "NZxNX (each in [1, {}])",
                               pt::max_cells_per_axis))
        ->capture_default_str();
    cli::add_integer(&app, "--angles", o.angles, "angle bins (0 = 41)", 0, pt::max_angles);
    cli::add_integer(&app, "--energies", o.energies, "energy bins (0 = one per step of residual range)", 0,
                     pt::max_energies);
    cli::add_real(&app, "--dz", o.dz, "depth cell, cm (0 = 0.1)", 0, 100);
    cli::add_real(&app, "--dx", o.dx, "lateral cell, cm (0 = 0.1)", 0, 100);
    cli::add_integer(&app, "--steps", o.steps, "at most this many steps (0 = until the beam has stopped)", 0,
                     1'000'000'000);
    cli::add_threads(&app, o.threads);
    app.add_option("--precision", o.precision, "fluence precision")
        ->check(CLI::IsMember({"f32", "f64"}))
        ->capture_default_str();
    app.add_flag("--json", o.json, "print the results as one JSON object");
    app.add_option("--dose-out", o.dose_out, "write the dose map as CSV (z_cm,x_cm,dose_gy; Gy per incident proton)");
    app.add_option("--plot", o.plot, "draw the dose map and the depth-dose curve to this PNG (python3-matplotlib)");
    app.add_flag("-f,--force", o.force, "overwrite existing --dose-out and --plot files");
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
