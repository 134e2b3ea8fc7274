// The transport module (examples/transport): the stopping-power table against NIST's own CSDA ranges,
// pencil beams against the NIST CSDA range (R80, Bragg peak), conservation at every step, each
// operator's defining property, determinism across thread counts, bad configurations, and the CLI.
#include <transport/dose.hpp>
#include <transport/transport.hpp>

#include "files.hpp"
#include "parex_catch.hpp"
#include "temp_dir.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <string>
#include <utility>

namespace fs = std::filesystem;
namespace pt = transport;

namespace {

const pt::stopping_power_table& pstar() {
    static const auto table = pt::stopping_power_table::read_csv(std::string(PAREX_MODULE_DATA) +
                                                                 "/transport/pstar_water_liquid_csda_stopping.csv");
    return table;
}

pt::config beam(double energy_mev) {
    pt::config c;
    c.energy_mev = energy_mev;
    c.angles = 21;  // coarse in angle and laterally; the depth resolution stays 1 mm
    return pt::resolve(c, pstar());
}

struct outcome {
    double peak_cm, r80_cm, csda_cm, max_particle_residual, max_energy_residual;
};

template <class T>
outcome simulate(const pt::config& c) {
    pt::simulation<T> sim(c, pstar());
    const auto report = sim.run();
    REQUIRE(sim.stopped());
    const auto depth = pt::depth_dose(c, sim.deposited_mev());
    return {pt::bragg_peak_cm(c, depth), pt::r80_cm(c, depth), pstar().tabulated_csda_range(c.energy_mev),
            report.max_particle_residual, report.max_energy_residual};
}

using parex::test::read_file;
using parex::test::run;
const std::string cli = std::string("'") + PAREX_TRANSPORT_CLI + "'";

}  // namespace

TEST_CASE("transport: CSDA ranges integrated from PSTAR's stopping powers match NIST's range column") {
    const auto& t = pstar();
    for (const double e : {1.0, 3.0, 10.0, 30.0, 70.0, 100.0, 150.0, 200.0, 300.0, 500.0}) {
        INFO("E = " << e << " MeV");
        CHECK(std::abs(t.csda_range(e) / t.tabulated_csda_range(e) - 1) < 5e-4);
        CHECK(t.energy_at_csda_range(t.csda_range(e)) == Approx(e).epsilon(1e-12));
    }
    CHECK(t.tabulated_csda_range(70) == Approx(4.080));
    CHECK(t.tabulated_csda_range(150) == Approx(15.77));
    CHECK(t.stopping_power(100) == Approx(7.289));
    CHECK_THROWS_AS(t.stopping_power(600), std::out_of_range);
}

TEST_CASE("transport: a stopping-power table with extra fields, or values whose ranges overflow, is refused") {
    parex::test::temp_dir dir;
    const auto table = dir.path() / "t.csv";
    const auto read = [&](const std::string& rows) {
        parex::test::write_file(table, "# comment\nenergy,stopping,range\n" + rows);
        return pt::stopping_power_table::read_csv(table);
    };
    CHECK_NOTHROW(read("1,260,0.0025\n10,45.6,0.123 \r\n"));
    CHECK_THROWS_WITH(read("1,260,0.0025,7\n10,45.6,0.123\n"), Catch::Contains("t.csv:3: 4 fields, expected 3"));
    CHECK_THROWS_WITH(read("1,260,0.0025\n10,45.6,0.123x\n"),
                      Catch::Contains("t.csv:4: CSDA range: '0.123x' is not a number"));
    CHECK_THROWS_AS(read("1,260,-0.5\n10,45.6,0.123\n"), std::invalid_argument);        // a negative range
    CHECK_THROWS_AS(read("1e-300,1e-300,0\n1e300,1e-300,1\n"), std::invalid_argument);  // the range integral overflows
    CHECK_THROWS_AS(read("1,1e308,0\n2,1e308,1\n3,1e-308,2\n"),
                    std::invalid_argument);  // not increasing, or not finite
}

TEST_CASE("transport: R80 within 1.5 percent of the NIST CSDA range and the dose maximum before it") {
    for (const double e : {70.0, 100.0, 150.0}) {
        INFO("E = " << e << " MeV, float64");
        const auto r = simulate<double>(beam(e));
        CHECK(std::abs(r.r80_cm / r.csda_cm - 1) <= 0.015);
        CHECK(r.peak_cm >= 0.94 * r.csda_cm);
        CHECK(r.peak_cm <= 1.0 * r.csda_cm);
    }
    const auto r = simulate<float>(beam(100));
    CHECK(std::abs(r.r80_cm / r.csda_cm - 1) <= 0.015);
    CHECK(r.peak_cm >= 0.94 * r.csda_cm);
}

TEST_CASE("transport: particles and energy conserved at every step, escapes included") {
    auto c = beam(100);
    c.nx = 5;   // 5 mm wide: the lateral tails escape
    c.nz = 60;  // 6 cm deep: the beam leaves through the far face
    c.max_steps = 200;
    {
        pt::simulation<double> sim(c, pstar());
        std::size_t steps = 0;
        sim.run([&](std::size_t, const pt::balance& b) {
            ++steps;
            REQUIRE(b.particle_residual() <= 1e-6);
            REQUIRE(b.energy_residual() <= 1e-6);
        });
        CHECK(steps > 50);
        CHECK(sim.books().escaped.particles > 0.5);  // most of the beam leaves through the far face
        CHECK(sim.books().escaped.energy_mev > 0);
        double dose = 0;
        for (const double d : sim.deposited_mev()) dose += d;
        CHECK(dose == Approx(sim.books().deposited_mev).epsilon(1e-12));
    }
    {  // the whole of fluence() is the state: bins outside the active window hold nothing
        pt::simulation<double> sim(c, pstar());
        sim.run([&](std::size_t, const pt::balance& b) {
            double sum = 0;
            for (const double f : sim.fluence()) sum += f;
            REQUIRE(sum == Approx(b.in_grid.particles).epsilon(1e-12));
        });
    }
    pt::simulation<float> sim(c, pstar());
    const auto report = sim.run();
    CHECK(report.max_particle_residual <= 1e-4);
    CHECK(report.max_energy_residual <= 1e-4);
}

TEST_CASE("transport: scattering spreads a direction by exactly Highland's theta0 and conserves fluence") {
    auto c = beam(70);
    c.angles = 41;
    pt::simulation<double> sim(c, pstar());
    sim.scatter();
    const auto psi = sim.fluence();
    const auto theta = sim.angles_rad();
    const std::size_t cells = c.nz * c.nx, centre = c.nx / 2;
    double sum = 0, second = 0;
    for (std::size_t k = 0; k < c.angles; ++k) {
        const double f = psi[k * cells + centre];
        sum += f;
        second += f * theta[k] * theta[k];
    }
    CHECK(sum == Approx(1).epsilon(1e-12));
    const double theta0 = pt::highland_theta0(sim.energies_mev()[0], c.step_cm);
    CHECK(std::sqrt(second / sum) == Approx(theta0).epsilon(1e-6));
}

TEST_CASE("transport: streaming moves a forward beam one cell per step of one cell, and energy loss one bin") {
    const auto c = beam(70);  // odd angle and lateral counts: the beam sits in one bin
    pt::simulation<double> sim(c, pstar());
    const std::size_t cells = c.nz * c.nx, straight = c.angles / 2, centre = c.nx / 2;
    const auto at = [&](std::size_t e, std::size_t z) {
        return sim.fluence()[(e * c.angles + straight) * cells + z * c.nx + centre];
    };
    sim.lose_energy();
    CHECK(at(1, 0) == 1.0);  // the auto grid spaces energies one step of range apart: an exact shift
    CHECK(sim.active_energies() == std::pair<std::size_t, std::size_t>{1, 2});
    sim.stream();
    CHECK(at(1, 1) == 1.0);
    CHECK(at(1, 0) == 0.0);
}

TEST_CASE("transport: streaming shares each cell among the cells its moved copy overlaps, escapes tallied") {
    // Oblique angles, a step shorter than both cell sides (fractional moves in z and x), and a grid two
    // cells wide and three deep, so fluence leaves through the sides and the far face; the reference
    // spreads each cell over the four cells its moved copy overlaps, by overlap area.
    auto c = beam(70);
    c.dz_cm = 0.13;
    c.step_cm = 0.07;
    c.nz = 3;
    c.nx = 2;
    c.theta_max_rad = 1.0;
    pt::simulation<double> sim(c, pstar());
    sim.scatter();  // a pencil beam spread over the angles
    const std::size_t cells = c.nz * c.nx;
    std::vector<double> ref(sim.fluence().begin(), sim.fluence().begin() + static_cast<long>(c.angles * cells));
    double escaped = 0;
    for (int s = 0; s < 6; ++s) {
        sim.stream();
        std::vector<double> next(ref.size(), 0.0);
        for (std::size_t k = 0; k < c.angles; ++k) {
            const double mz = c.step_cm * std::cos(sim.angles_rad()[k]) / c.dz_cm;
            const double mx = c.step_cm * std::sin(sim.angles_rad()[k]) / c.dx_cm;
            for (std::size_t z = 0; z < c.nz; ++z)
                for (std::size_t x = 0; x < c.nx; ++x)
                    for (int a = 0; a < 2; ++a)
                        for (int b = 0; b < 2; ++b) {
                            const double wz = a ? mz - std::floor(mz) : 1 - (mz - std::floor(mz));
                            const double wx = b ? mx - std::floor(mx) : 1 - (mx - std::floor(mx));
                            const double f = ref[k * cells + z * c.nx + x] * wz * wx;
                            const auto zt = static_cast<long>(z) + static_cast<long>(std::floor(mz)) + a;
                            const auto xt = static_cast<long>(x) + static_cast<long>(std::floor(mx)) + b;
                            if (zt < 0 || zt >= static_cast<long>(c.nz) || xt < 0 || xt >= static_cast<long>(c.nx))
                                escaped += f;
                            else
                                next[k * cells + static_cast<std::size_t>(zt) * c.nx + static_cast<std::size_t>(xt)] +=
                                    f;
                        }
        }
        ref = next;
        for (std::size_t b = 0; b < ref.size(); ++b) REQUIRE(sim.fluence()[b] == Approx(ref[b]).margin(1e-14));
        CHECK(sim.books().escaped.particles == Approx(escaped).epsilon(1e-12));
    }
    CHECK(escaped > 0.5);  // most of the beam has left: sides and far face both exercised
    CHECK(sim.books().particle_residual() <= 1e-12);
}

TEST_CASE("transport: dose and tallies are the same bits for 1 and 2 threads") {
    const auto c = pt::range_fitted_grid(70, pstar());
    const auto steps = [&](std::size_t threads) {
        pt::simulation<float> sim(c, pstar(), pt::source::uniform, {.max_concurrency = threads});
        for (int s = 0; s < 3; ++s) sim.step();
        const auto d = sim.deposited_mev();
        return std::pair{std::vector<double>(d.begin(), d.end()), sim.books()};
    };
    const auto [one, books_one] = steps(1);
    const auto [two, books_two] = steps(2);
    REQUIRE(one.size() == two.size());
    CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(double)) == 0);
    CHECK(books_one.escaped.particles == books_two.escaped.particles);
    CHECK(books_one.absorbed.particles == books_two.absorbed.particles);
    CHECK(books_one.in_grid.energy_mev == books_two.in_grid.energy_mev);
    CHECK(books_one.deposited_mev == books_two.deposited_mev);
}

TEST_CASE("transport: the lateral spread at mid-range is at least Fermi-Eyges and within 1.5 times it") {
    // Numerical diffusion of the area-weighted streaming only adds spread; 0.5 mm lateral cells.
    pt::config c;
    c.energy_mev = 150;
    c.angles = 21;
    c.dx_cm = 0.05;  // and so steps of 0.5 mm
    c = pt::resolve(c, pstar());
    pt::simulation<double> sim(c, pstar());
    sim.run();
    const double mid = pstar().tabulated_csda_range(150) / 2;
    const double sigma = pt::lateral_sigma_cm(c, sim.deposited_mev(), mid);
    const double fermi_eyges = pt::fermi_eyges_sigma_cm(pstar(), 150, c.step_cm, mid);
    CHECK(sigma >= fermi_eyges);
    CHECK(sigma <= 1.5 * fermi_eyges);
}

TEST_CASE("transport: the tallies' sums in double equal the exact sum for any length and start") {
    std::vector<float> v(1001);
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = 1.0f / static_cast<float>(k + 1);
    for (const std::size_t n : {0u, 1u, 7u, 8u, 9u, 1001u}) {
        long double exact = 0;
        for (std::size_t k = 0; k < n; ++k) exact += v[k];
        CHECK(pt::detail::sum_of(v.data(), n) == Approx(static_cast<double>(exact)).epsilon(1e-15));
    }
    CHECK(pt::detail::sum_of(v.data() + 1, 1000) == Approx(pt::detail::sum_of(v.data(), 1001) - 1.0).epsilon(1e-15));
}

TEST_CASE("transport: a bad configuration throws std::invalid_argument naming it") {
    const auto throws_naming = [](pt::config c, const std::string& field) {
        try {
            (void)pt::resolve(c, pstar());
            FAIL("no exception for " << field);
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find(field) != std::string::npos);
        }
    };
    using edit = void (*)(pt::config&);
    const std::pair<edit, const char*> cases[] = {
        {[](pt::config& c) { c.energy_mev = 600; }, "energy_mev = 600"},
        {[](pt::config& c) { c.energy_mev = -1; }, "energy_mev"},
        {[](pt::config& c) { c.dz_cm = 0; }, "dz_cm"},
        {[](pt::config& c) { c.dx_cm = -0.1; }, "dx_cm"},
        {[](pt::config& c) { c.step_cm = 0.2; }, "step_cm = 0.2"},
        {[](pt::config& c) { c.angles = 0; }, "angles"},
        {[](pt::config& c) { c.theta_max_rad = 2; }, "theta_max_rad"},
        {[](pt::config& c) { c.cutoff_mev = 200; }, "cutoff_mev"},
        {[](pt::config& c) { c.dz_cm = 1e-300; }, "dz_cm = 1e-300: the beam's range"},  // no endless loop
        {[](pt::config& c) { c.dx_cm = 1e-300; }, "dx_cm = 1e-300"},
        {[](pt::config& c) { c.nz = std::size_t{1} << 32; }, "nz = 4294967296 is above the limit"},
        {[](pt::config& c) { c.angles = std::size_t{1} << 20; }, "angles = 1048576 is above the limit"},
        {[](pt::config& c) { c.nz = c.nx = std::size_t{1} << 20; }, "bins is above the limit 4294967296"},
    };
    for (const auto& [change, field] : cases) {
        pt::config c;
        change(c);
        throws_naming(c, field);
    }
    auto resolved = beam(100);
    resolved.nz = 0;
    CHECK_THROWS_AS(pt::simulation<float>(resolved, pstar()), std::invalid_argument);
}

TEST_CASE("transport CLI: --json carries the results, --dose-out and --plot write files, errors exit non-zero") {
    parex::test::temp_dir dir;
    const auto json_file = dir.path() / "out.json";
    REQUIRE(run(cli + " --energy 70 --angles 21 --json --dose-out '" + (dir.path() / "dose.csv").string() + "' > '" +
                json_file.string() + "'") == 0);
    const auto j = nlohmann::json::parse(read_file(json_file));
    for (const char* key : {"bragg_peak_cm", "r80_cm", "csda_range_cm", "particle_residual", "energy_residual",
                            "seconds_per_step", "bins_per_second"})
        CHECK(j.contains(key));
    CHECK(j["csda_range_cm"].get<double>() == Approx(4.08));
    CHECK(std::abs(j["r80_cm"].get<double>() / 4.08 - 1) <= 0.015);
    CHECK(j["particle_residual"].get<double>() <= 1e-4);
    const auto csv = read_file(dir.path() / "dose.csv");
    CHECK(csv.rfind("z_cm,x_cm,dose_gy\n", 0) == 0);

    REQUIRE(run(cli + " --energy 70 --grid fitted --steps 3 --precision f64 > /dev/null") == 0);
    CHECK(run(cli + " --energy 70 --grid 40 > /dev/null 2>&1") != 0);
    CHECK(run(cli + " --energy 900 > /dev/null 2>&1") != 0);
    CHECK(run(cli + " --energy 70 --dz 0.05 --dx 0.02 --grid 20x20 > /dev/null 2>&1") == 0);

    const auto png = dir.path() / "dose.png";
    REQUIRE(run(cli + " --energy 70 --angles 21 --plot '" + png.string() + "' > /dev/null") == 0);
    CHECK(read_file(png).substr(1, 3) == "PNG");
}

TEST_CASE("transport CLI: sizes that overflow or never finish, bad numbers and existing outputs are refused up front") {
    parex::test::temp_dir dir;
    const auto err = dir.path() / "err.txt", out = dir.path() / "out.txt";
    const auto refused = [&](const std::string& args, int status, const std::string& message) {
        INFO(args);
        CHECK(run(cli + " " + args + " > '" + out.string() + "' 2> '" + err.string() + "'") == status);
        CHECK_THAT(read_file(err), Catch::Contains(message));
        CHECK(read_file(out).empty());  // refused before the simulation: no results
    };
    refused("--energy 70 --grid 4294967296x4294967296 --steps 1", 2,
            "--grid 4294967296x4294967296: expected auto, fitted or NZxNX");
    refused("--energy 70 --grid -5x10", 2, "--grid -5x10: expected");
    refused("--energy 70 --grid 1048576x1048576", 2, "bins is above the limit");
    refused("--energy 70 --dz 1e-300", 2, "dz_cm = 1e-300: the beam's range of 4.08");
    refused("--energy 70 --threads -1", 2, "--threads: Value -1 not in range 0 to 1024");
    refused("--energy 70 --threads 100000", 2, "--threads: Value 100000 not in range 0 to 1024");
    refused("--energy nan", 2, "--energy: Value nan not in [0.001, 10000]");
    refused("--energy 70 --angles 21 --plot '" + (dir.path() / "missing" / "dose.png").string() + "'", 3,
            "creating a temporary file beside");

    // an existing --dose-out or --plot is kept without -f (before any work), replaced with -f
    const auto dose = dir.path() / "dose.csv";
    parex::test::write_file(dose, "keep");
    refused("--energy 70 --angles 21 --dose-out '" + dose.string() + "'", 2, "already exists; use -f");
    CHECK(read_file(dose) == "keep");
    CHECK(run(cli + " --energy 70 --angles 21 -f --dose-out '" + dose.string() + "' > /dev/null") == 0);
    CHECK(read_file(dose).rfind("z_cm,x_cm,dose_gy\n", 0) == 0);
}

TEST_CASE("transport CLI: killed at random points (SIGKILL, SIGINT), --dose-out is never partial") {
    parex::test::temp_dir dir;
    const auto reference = dir.path() / "reference.csv", out = dir.path() / "dose.csv";
    const std::string args = " --energy 150 --angles 21 --threads 2 --dose-out ";
    const auto [status, duration] = parex::test::timed_run(cli + args + "'" + reference.string() + "' > /dev/null");
    REQUIRE(status == 0);
    const auto expected = read_file(reference);
    const auto whole = [&](const fs::path& p) { return read_file(p) == expected; };
    const int finished =
        parex::test::crash_test(cli + args + "'" + out.string() + "' > /dev/null", out, whole, 5, duration);
    CHECK(finished >= 0);
    CHECK(finished < 2 * 5);  // some rounds were interrupted
}
