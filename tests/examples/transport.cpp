// The transport module (examples/transport): the stopping-power table against NIST's own CSDA ranges,
// pencil beams against the NIST CSDA range (R80, Bragg peak), conservation at every step, each
// operator's defining property, determinism across thread counts, bad configurations, and the CLI.
#include <transport/bortfeld.hpp>
#include <transport/dose.hpp>
#include <transport/transport.hpp>

#include <common/vector_isa.hpp>

#include "files.hpp"
#include "parex_catch.hpp"
#include "temp_dir.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <sstream>
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

TEST_CASE("transport: scattering spreads a direction by exactly T_dM ds and conserves fluence") {
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
    // T_dM at the middle of the first step (Gottschalk 2010), times the step
    const double ds = c.step_cm;
    const double middle = pstar().energy_at_csda_range(pstar().csda_range(70) - ds / 2);
    const double variance = pt::differential_moliere_power(pt::proton_pv_mev(middle), pt::proton_pv_mev(70)) * ds;
    CHECK(sim.scattering_variance(0) == Approx(variance).epsilon(1e-12));
    CHECK(second / sum == Approx(variance).epsilon(1e-6));
}

TEST_CASE("transport: Gottschalk's scattering length of water, and T_dM zero at the entrance and growing as pv falls") {
    CHECK(pt::water_scattering_length_g_cm2() == Approx(46.88).epsilon(5e-4));  // Gottschalk 2010
    const double p1v1 = pt::proton_pv_mev(150);
    CHECK(pt::differential_moliere_power(p1v1, p1v1) == 0.0);
    double previous = 0;
    for (const double e : {140.0, 100.0, 50.0, 10.0}) {
        const double t = pt::differential_moliere_power(pt::proton_pv_mev(e), p1v1);
        CHECK(t > previous);
        previous = t;
    }
}

TEST_CASE("transport: energy loss moves a forward beam one bin with Bohr's variance, less the nuclear removal") {
    const auto c = beam(70);  // odd angle and lateral counts: the beam sits in one bin
    pt::simulation<double> sim(c, pstar());
    const std::size_t cells = c.nz * c.nx, straight = c.angles / 2, centre = c.nx / 2;
    const auto at = [&](std::size_t e, std::size_t z) {
        return sim.fluence()[(e * c.angles + straight) * cells + z * c.nx + centre];
    };
    sim.lose_energy();
    // the auto grid spaces energies one step of range apart: the mean moves exactly one bin, and
    // Bohr's straggling spreads it over the bins on either side with its variance (in bins^2)
    REQUIRE(sim.active_energies() == std::pair<std::size_t, std::size_t>{0, 3});
    const double survive = 1 - pt::nuclear_removal(pstar().csda_range(70), c.step_cm);
    const double total = at(0, 0) + at(1, 0) + at(2, 0);
    CHECK(total == Approx(survive).epsilon(1e-12));
    CHECK(survive == Approx(1 - 0.012 * c.step_cm / (1 + 0.012 * 4.08)).epsilon(2e-4));  // Bortfeld's beta
    CHECK(at(0, 0) == Approx(at(2, 0)).epsilon(1e-12));                                  // mean: bin 1
    CHECK(at(1, 0) > 0.9 * survive);
    const auto e = sim.energies_mev();
    const double slope = (e[0] - e[2]) / (2 * c.step_cm);  // dE/dR around bin 1
    const double bins2 = (at(0, 0) + at(2, 0)) / survive;
    const double mid = pstar().energy_at_csda_range(pstar().csda_range(70) - c.step_cm / 2);
    const double bohr = pt::bohr_variance_rate_mev2_cm2_g(mid) * c.step_cm;  // MeV^2
    CHECK(bins2 * c.step_cm * c.step_cm * slope * slope == Approx(bohr).epsilon(0.02));
    // Bohr's rate for water at 70 MeV: 0.1569 Z/A MeV^2 cm^2/g times (1 - beta^2/2)/(1 - beta^2)
    CHECK(pt::bohr_variance_rate_mev2_cm2_g(70) == Approx(0.08710 * 1.0774).epsilon(2e-3));
    const double before = at(1, 0);
    sim.stream();  // theta = 0 moves exactly one cell
    CHECK(at(1, 1) == before);
    CHECK(at(1, 0) == 0.0);
    CHECK(sim.active_rows() == std::pair<std::size_t, std::size_t>{0, 2});
}

namespace {

/// Rows moved across only (keep 1, move 0) by stream_rows at the default target's vector width; returns
/// what left through the rows' ends.
double move_across(const std::vector<double>& in, std::vector<double>& out, std::size_t rows, std::size_t n, double m) {
    std::vector<double> ring(2 * (n + 8)), row_sums(rows);
    return pt::detail::stream_rows<16>(in.data(), out.data(), ring.data(), rows, n, 1.0, 0.0, m, false, row_sums.data())
        .sides;
}

/// The streaming scheme of detail::stream_rows written out cell by cell, for the vector code to match bit
/// for bit: fluxes with zero beyond each row, the cells moved across, then along the beam.
template <class T>
pt::detail::streamed_rows stream_rows_by_cell(const std::vector<T>& in, std::vector<T>& out, std::size_t rows,
                                              std::size_t n, T keep, T move, T m, bool extra_row,
                                              std::vector<double>& row_sums) {
    const T a = std::abs(m), lean = (m > 0 ? T(1) : T(-1)) * (1 - a) / 2;
    std::vector<T> moved(rows * n);
    pt::detail::streamed_rows r;
    for (std::size_t z = 0; z < rows; ++z) {
        const auto cell = [&](std::ptrdiff_t x) {
            return x < 0 || x >= static_cast<std::ptrdiff_t>(n) ? T(0) : in[z * n + static_cast<std::size_t>(x)];
        };
        const auto flux = [&](std::ptrdiff_t x) {
            if (x < 0 || x >= static_cast<std::ptrdiff_t>(n) || m == 0) return T(0);
            const T here = cell(x), dl = here - cell(x - 1), dr = cell(x + 1) - here;
            const T centre = (dl + dr) / 2;
            const T magnitude = std::min(std::abs(centre), 2 * std::min(std::abs(dl), std::abs(dr)));
            return a * (here + lean * (dl * dr > 0 ? std::copysign(magnitude, centre) : T(0)));
        };
        const std::ptrdiff_t upstream = m > 0 ? -1 : 1, last = static_cast<std::ptrdiff_t>(n) - 1;
        for (std::ptrdiff_t x = 0; x <= last; ++x)
            moved[z * n + static_cast<std::size_t>(x)] = m == 0 ? cell(x) : (cell(x) - flux(x)) + flux(x + upstream);
        r.sides += static_cast<double>(m > 0 ? flux(last) : m < 0 ? flux(0) : T(0));
    }
    const std::size_t out_rows = rows + (extra_row ? 1 : 0);
    for (std::size_t z = 0; z < out_rows; ++z) {
        for (std::size_t x = 0; x < n; ++x) {
            const T behind = z > 0 ? move * moved[(z - 1) * n + x] : T(0);
            out[z * n + x] = z == rows ? behind : z > 0 ? keep * moved[z * n + x] + behind : keep * moved[z * n + x];
        }
        row_sums[z] = pt::detail::sum_of<T>(out.data() + z * n, n);
        r.inside += row_sums[z];
    }
    if (!extra_row && rows > 0)
        r.far_face = static_cast<double>(move) * pt::detail::sum_of<T>(moved.data() + (rows - 1) * n, n);
    return r;
}

template <class T>
void check_stream_rows_by_cell() {
    for (const std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 40, 41}) {
        for (const T m : {T(0.4), T(-0.7), T(0), T(1), T(-1)}) {
            for (const bool extra_row : {false, true}) {
                const std::size_t rows = 3;
                std::vector<T> in(rows * n);
                for (std::size_t i = 0; i < in.size(); ++i) in[i] = T(1) + static_cast<T>((i * 7) % 5) / T(3);
                if (n > 2) in[n + 1] = 0;  // a slope of each sign, and a cell without one
                std::vector<T> want(in.size() + n), got(in.size() + n, T(-1)), ring(2 * (n + 8));
                std::vector<double> want_sums(rows + 1), got_sums(rows + 1);
                const auto expected = stream_rows_by_cell(in, want, rows, n, T(0.6), T(0.4), m, extra_row, want_sums);
                const auto check = [&](const pt::detail::streamed_rows& r) {
                    INFO("n " << n << ", m " << m << ", extra row " << extra_row);
                    const std::size_t written = (rows + (extra_row ? 1 : 0)) * n;
                    CHECK(std::memcmp(got.data(), want.data(), written * sizeof(T)) == 0);
                    CHECK(got_sums == want_sums);
                    CHECK(r.sides == expected.sides);
                    CHECK(r.far_face == expected.far_face);
                    CHECK(r.inside == expected.inside);
                };
                got_sums.assign(rows + 1, 0.0);
                check(pt::detail::stream_rows<16>(in.data(), got.data(), ring.data(), rows, n, T(0.6), T(0.4), m,
                                                  extra_row, got_sums.data()));
                // the widest vectors the CPU has (AVX2 here, where the CPU has it)
                got.assign(got.size(), T(-1));
                got_sums.assign(rows + 1, 0.0);
                examples::with_widest_vectors([&](auto vector_bytes) EXAMPLES_ALWAYS_INLINE {
                    check(pt::detail::stream_rows<decltype(vector_bytes)::value>(
                        in.data(), got.data(), ring.data(), rows, n, T(0.6), T(0.4), m, extra_row, got_sums.data()));
                });
            }
        }
    }
}

}  // namespace

TEST_CASE("transport: the lateral move is conservative, positive, exact in the mean and keeps a Gaussian's width") {
    // a Gaussian of 3 cells moved 40 times by 0.3 cells: the first-order upwind scheme would add
    // 40 x 0.3 x 0.7 = 8.4 cells^2 of numerical variance to its 9
    const std::size_t n = 200;
    std::vector<double> row(n), out(n);
    for (std::size_t x = 0; x < n; ++x) row[x] = std::exp(-0.5 * std::pow((static_cast<double>(x) - 60) / 3, 2));
    const auto moments = [&](const std::vector<double>& r) {
        double m0 = 0, m1 = 0, m2 = 0;
        for (std::size_t x = 0; x < n; ++x) m0 += r[x], m1 += r[x] * static_cast<double>(x);
        for (std::size_t x = 0; x < n; ++x) m2 += r[x] * std::pow(static_cast<double>(x) - m1 / m0, 2);
        return std::array<double, 3>{m0, m1 / m0, m2 / m0};
    };
    const auto start = moments(row);
    for (int step = 0; step < 40; ++step) {
        move_across(row, out, 1, n, 0.3);
        for (const double v : out) REQUIRE(v >= 0);
        row.swap(out);
    }
    const auto end = moments(row);
    CHECK(end[0] == Approx(start[0]).epsilon(1e-12));
    CHECK(end[1] == Approx(start[1] + 12).margin(0.01));  // exact while the profile is symmetric
    CHECK(end[2] == Approx(start[2]).epsilon(0.05));
    // moving back by the same amount
    move_across(row, out, 1, n, -1.0);
    CHECK(moments(out)[1] == Approx(end[1] - 1).epsilon(1e-9));  // a whole cell: an exact shift
    // at the row's end the flux leaves the row: what is lost is what left
    std::vector<double> edge(4, 0.0), moved(4);
    edge[3] = 1;
    CHECK(move_across(edge, moved, 1, 4, 0.25) == Approx(0.25));
    CHECK(moved[3] == Approx(0.75));
    // rows swept together move as each row alone: nothing crosses from one row into the next
    for (const double m : {0.4, -0.7}) {
        const std::size_t rows = 3, width = 5;
        std::vector<double> plane(rows * width), together(plane.size()), alone(plane.size()), row_alone(width);
        for (std::size_t i = 0; i < plane.size(); ++i) plane[i] = 1 + static_cast<double>((i * 7) % 5);
        const double left = move_across(plane, together, rows, width, m);
        double left_alone = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            const std::vector<double> one(plane.begin() + static_cast<std::ptrdiff_t>(r * width),
                                          plane.begin() + static_cast<std::ptrdiff_t>((r + 1) * width));
            left_alone += move_across(one, row_alone, 1, width, m);
            std::copy(row_alone.begin(), row_alone.end(), alone.begin() + static_cast<std::ptrdiff_t>(r * width));
        }
        CHECK(together == alone);
        CHECK(left == left_alone);
    }
}

TEST_CASE("transport: the streaming kernel gives the scheme's bits cell by cell, for any width and vector width") {
    check_stream_rows_by_cell<float>();
    check_stream_rows_by_cell<double>();
}

TEST_CASE("transport: streaming conserves what stays in the grid plus what escapes through sides and far face") {
    // Oblique angles, a step shorter than both cell sides, and a grid two cells wide and three deep,
    // so fluence leaves through the sides and the far face
    auto c = beam(70);
    c.dz_cm = 0.13;
    c.dx_cm = 0.1;
    c.step_cm = 0.07;
    c.nz = 3;
    c.nx = 2;
    c.theta_max_rad = 1.0;
    pt::simulation<double> sim(c, pstar());
    sim.scatter();  // a pencil beam spread over the angles
    double before = 0;
    for (const double f : sim.fluence()) before += f;
    for (int s = 0; s < 6; ++s) {
        sim.stream();
        double sum = 0;
        for (const double f : sim.fluence()) {
            REQUIRE(f >= 0);
            sum += f;
        }
        CHECK(sum + sim.books().escaped.particles == Approx(before).epsilon(1e-12));
        CHECK(sim.books().in_grid.particles == Approx(sum).epsilon(1e-12));
    }
    CHECK(sim.books().escaped.particles > 0.5);  // most of the beam has left: sides and far face both exercised
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

TEST_CASE("transport: flush_subnormals flushes in its scope only, and the operators leave no subnormal fluence") {
    volatile float tiny = 1e-30f, scale = 1e-10f, subnormal = 1e-40f;  // volatile: computed at run time
    const auto flushes = [&] { return tiny * scale == 0.0f && subnormal + 0.0f == 0.0f; };
    const auto keeps = [&] { return tiny * scale > 0.0f && subnormal + 0.0f == 1e-40f; };
    REQUIRE(keeps());
#ifdef EXAMPLES_X86
    {
        const examples::flush_subnormals outer;
        CHECK(flushes());
        {
            const examples::flush_subnormals inner;
            CHECK(flushes());
        }
        CHECK(flushes());  // the inner scope gives back the outer's mode
    }
#endif
    CHECK(keeps());
    // A float pencil beam: its lateral and angular tails decay through float's subnormal range, which
    // every operator's chunks flush; the calling thread's mode is as it was
    pt::simulation<float> sim(beam(70), pstar());
    std::size_t steps = 0, subnormals = 0;
    sim.run([&](std::size_t, const pt::balance&) {
        ++steps;
        for (const float f : sim.fluence()) subnormals += f != 0 && std::fabs(f) < FLT_MIN;
    });
    CHECK(steps > 100);
#ifdef EXAMPLES_X86
    CHECK(subnormals == 0);
#endif
    CHECK(keeps());
}

TEST_CASE(
    "transport: the tallies' sums equal the exact sum for any length and start, within float's rounding in float") {
    std::vector<float> v(1001);
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = 1.0f / static_cast<float>(k + 1);
    for (const std::size_t n : {0u, 1u, 7u, 8u, 9u, 1001u}) {
        long double exact = 0;
        for (std::size_t k = 0; k < n; ++k) exact += v[k];
        CHECK(pt::detail::sum_of(v.data(), n) == Approx(static_cast<double>(exact)).epsilon(1e-15));
        // partials in float (streaming's row sums): each carries float's rounding, n/8 additions at most
        const double bound = static_cast<double>(n / 8 + 1) * 0x1p-24 * static_cast<double>(exact);
        CHECK(std::abs(pt::detail::sum_of<float>(v.data(), n) - static_cast<double>(exact)) <= bound);
    }
    CHECK(pt::detail::sum_of(v.data() + 1, 1000) == Approx(pt::detail::sum_of(v.data(), 1001) - 1.0).epsilon(1e-15));
}

TEST_CASE("transport: depth dose within 2 %/1 mm of Bortfeld's Bragg curve, lateral spread within 5 % of Fermi-Eyges") {
    // Bortfeld, Med. Phys. 24(12) (1997) 2024: straggling sigma = 0.012 R0^0.935, beta = 0.012/cm,
    // gamma = 0.6, with PSTAR's range-energy relation; the default grid (41 angles, cells of
    // default_cell_cm: 0.25 mm at 70 MeV, 0.5 mm at 100, 1 mm above), float32
    for (const double e : {70.0, 100.0, 150.0, 200.0, 230.0}) {
        auto c = pt::resolve(
            [&] {
                pt::config b;
                b.energy_mev = e;
                return b;
            }(),
            pstar());
        pt::simulation<float> sim(c, pstar());
        const auto report = sim.run();
        REQUIRE(sim.stopped());
        const auto depth = pt::depth_dose(c, sim.deposited_mev());
        const auto reference = pt::bortfeld_depth_dose(pstar(), e, 0, c.dz_cm, c.nz);
        const double r80 = pt::r80_cm(c, depth), r80_ref = pt::r80_cm(c, reference);
        const double falloff = pt::distal_depth_cm(c, depth, 0.2) - r80;
        const double falloff_ref = pt::distal_depth_cm(c, reference, 0.2) - r80_ref;
        const auto peak_to_entrance = [](const std::vector<double>& d) {
            return *std::max_element(d.begin(), d.end()) / d.front();
        };
        const double gamma = pt::gamma_pass_rate(depth, reference, c.dz_cm, 0.02, 0.1);
        INFO(e << " MeV: R80 " << r80 << " / " << r80_ref << " cm, R80-R20 " << falloff << " / " << falloff_ref
               << " cm, peak/entrance " << peak_to_entrance(depth) << " / " << peak_to_entrance(reference)
               << ", gamma pass " << gamma);
        CHECK(gamma >= 0.95);
        CHECK(std::abs(r80 - r80_ref) <= 0.1);
        CHECK(std::abs(peak_to_entrance(depth) / peak_to_entrance(reference) - 1) <= 0.10);
        CHECK(std::abs(falloff - falloff_ref) <= 0.05);
        CHECK(report.max_energy_residual <= 1e-4);
        // Bortfeld's linear fluence model: beta R0 / (1 + beta R0) of the primaries are removed on the way
        const double r0 = pstar().csda_range(e);
        CHECK(sim.books().removed.particles == Approx(0.012 * r0 / (1 + 0.012 * r0)).epsilon(0.01));
        // the lateral spread against Fermi-Eyges theory with Gottschalk's T_dM, wherever it is at least
        // half a cell
        for (const double fraction : {0.25, 0.5, 0.75, 0.95}) {
            const double z = fraction * r0;
            const double sigma = pt::lateral_sigma_cm(c, sim.deposited_mev(), z);
            const double fermi_eyges = pt::fermi_eyges_sigma_cm(pstar(), e, z);
            INFO(e << " MeV at " << fraction << " of the range: sigma " << sigma << " cm, Fermi-Eyges " << fermi_eyges
                   << " cm, cells of " << c.dx_cm << " cm");
            if (fermi_eyges >= c.dx_cm / 2) CHECK(std::abs(sigma / fermi_eyges - 1) <= 0.05);
        }
    }
}

TEST_CASE("transport: the lateral spread converges: halving dz changes it by less than 2 percent") {
    const auto sigma_at_95 = [](double dz) {
        pt::config c;
        c.energy_mev = 150;
        c.dz_cm = dz;
        c.dx_cm = 0.1;
        c = pt::resolve(c, pstar());
        pt::simulation<float> sim(c, pstar());
        sim.run();
        return pt::lateral_sigma_cm(c, sim.deposited_mev(), 0.95 * pstar().csda_range(150));
    };
    const double coarse = sigma_at_95(0.1), fine = sigma_at_95(0.05);
    INFO("sigma at 95 % of the range: " << coarse << " cm at dz = 1 mm, " << fine << " cm at 0.5 mm");
    CHECK(std::abs(fine / coarse - 1) < 0.02);
}

TEST_CASE("transport: the reference curve's straggling, nuclear build-up and gamma index behave as published") {
    // Bortfeld's fit of range straggling against Bohr's theory, integrated over the slowing down with
    // PSTAR's stopping power: sigma_R^2 = integral of (d sigma_E^2 / dx) / S(E)^3 dE, the relation the
    // fit approximates (Bortfeld, Med. Phys. 24 (1997) 2024; ICRU Report 49). Bohr's relativistic
    // factor makes it 5 to 8 % wider than the fit from 70 to 230 MeV.
    for (const double e : {70.0, 150.0, 230.0}) {
        const double low = pstar().min_energy_mev();
        constexpr int steps = 20000;
        const double h = (e - low) / steps;
        double variance = 0;  // (g/cm^2)^2
        for (int i = 0; i < steps; ++i) {
            const double x = low + (i + 0.5) * h, s = pstar().stopping_power(x);
            variance += pt::bohr_variance_rate_mev2_cm2_g(x) / (s * s * s) * h;
        }
        const double range = pstar().csda_range(e);  // g/cm^2, cm of water
        INFO(e << " MeV: Bohr " << std::sqrt(variance) << " cm, Bortfeld " << pt::bortfeld_straggling_cm(range)
               << " cm");
        CHECK(std::sqrt(variance) == Approx(pt::bortfeld_straggling_cm(range)).epsilon(0.1));
    }
    // without straggling the distal edge is sharp; Bortfeld's sigma widens R80-R20 to between sigma and
    // the 1.68 sigma of a smoothed step (the Bragg peak's own edge is steeper than a step's)
    pt::config c;
    c.dz_cm = 0.01;
    c.nz = 2000;
    const auto d = pt::bortfeld_depth_dose(pstar(), 150, 0, c.dz_cm, c.nz);
    const double falloff = pt::distal_depth_cm(c, d, 0.2) - pt::r80_cm(c, d);
    const double sigma = pt::bortfeld_straggling_cm(pstar().csda_range(150));
    CHECK(falloff > sigma);
    CHECK(falloff < 1.68 * sigma);
    // an energy spread adds (sigma_E / S)^2 to the range variance
    const auto spread = pt::bortfeld_depth_dose(pstar(), 150, 1.5, c.dz_cm, c.nz);
    CHECK(pt::distal_depth_cm(c, spread, 0.2) - pt::r80_cm(c, spread) > 1.5 * falloff);
    // the gamma index: a curve against itself passes everywhere, shifted by 2 mm it fails on the edge
    std::vector<double> shifted(d.size(), 0.0);
    std::copy(d.begin(), d.end() - 20, shifted.begin() + 20);
    CHECK(pt::gamma_pass_rate(d, d, c.dz_cm, 0.02, 0.1) == 1.0);
    CHECK(pt::gamma_pass_rate(shifted, d, c.dz_cm, 0.02, 0.1) < 0.99);
}

TEST_CASE("transport: the beam options: energy spread, spot size and divergence") {
    pt::config c;
    c.energy_mev = 100;
    c.angles = 21;
    c.energy_spread_mev = 1;
    c.beam_sigma_cm = 0.3;
    c.divergence_rad = 0.003;
    c = pt::resolve(c, pstar());
    pt::simulation<double> sim(c, pstar());
    // at the surface: the spot, and a spectrum whose mean is the beam energy and spread sigma_E
    double n = 0, first = 0, second = 0;
    for (std::size_t i = 0; i < c.energies; ++i)
        for (std::size_t k = 0; k < c.angles; ++k)
            for (std::size_t x = 0; x < c.nx; ++x) {
                const double f = sim.fluence()[(i * c.angles + k) * c.nz * c.nx + x];
                const double entrance = sim.energies_mev()[i];  // ds = dz: nothing carried before the first step
                n += f, first += f * entrance, second += f * entrance * entrance;
            }
    CHECK(n == Approx(1).epsilon(1e-9));
    CHECK(first / n == Approx(100).epsilon(1e-3));
    CHECK(std::sqrt(second / n - first * first / (n * n)) == Approx(1).epsilon(0.05));
    const auto report = sim.run();
    CHECK(report.max_energy_residual <= 1e-6);
    const auto depth = pt::depth_dose(c, sim.deposited_mev());
    const auto reference = pt::bortfeld_depth_dose(pstar(), 100, 1, c.dz_cm, c.nz);
    CHECK(pt::gamma_pass_rate(depth, reference, c.dz_cm, 0.02, 0.1) >= 0.95);
    // near the surface the spread is the spot's (with the cell's own dx^2/12)
    const double sigma = pt::lateral_sigma_cm(c, sim.deposited_mev(), 0.05);
    CHECK(sigma == Approx(std::sqrt(0.09 + c.dx_cm * c.dx_cm / 12)).epsilon(0.03));
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
        {[](pt::config& c) { c.dz_cm = -1; }, "dz_cm = -1"},
        {[](pt::config& c) { c.dx_cm = -0.1; }, "dx_cm"},
        {[](pt::config& c) { c.step_cm = 0.2; }, "step_cm = 0.2"},
        {[](pt::config& c) { c.angles = 0; }, "angles"},
        {[](pt::config& c) { c.theta_max_rad = 2; }, "theta_max_rad"},
        {[](pt::config& c) { c.cutoff_mev = 200; }, "cutoff_mev"},
        {[](pt::config& c) { c.energy_spread_mev = 50; }, "energy_spread_mev = 50"},
        {[](pt::config& c) { c.beam_sigma_cm = -1; }, "beam_sigma_cm"},
        {[](pt::config& c) { c.divergence_rad = 1; }, "divergence_rad = 1"},
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
    REQUIRE(run(cli + " --energy 70 --angles 21 --json --dose-out '" + (dir.path() / "dose.csv").string() +
                "' --depth-dose-out '" + (dir.path() / "depth.csv").string() + "' > '" + json_file.string() + "'") ==
            0);
    const auto j = nlohmann::json::parse(read_file(json_file));
    for (const char* key : {"bragg_peak_cm", "r80_cm", "r20_cm", "distal_falloff_cm", "peak_to_entrance",
                            "csda_range_cm", "bortfeld", "lateral_sigma", "fermi_eyges", "particle_residual",
                            "energy_residual", "nuclear_removed_particles", "seconds_per_step", "bins_per_second"})
        CHECK(j.contains(key));
    CHECK(j["lateral_sigma"].size() == j["grid"]["nz"].get<std::size_t>());
    CHECK(j["bortfeld"]["gamma_2pct_1mm_pass_rate"].get<double>() >= 0.95);
    // the depth-dose file: per incident proton, laterally integrated; its integral over depth is the
    // energy deposited, MeV
    std::istringstream depth(read_file(dir.path() / "depth.csv"));
    std::string line;
    std::getline(depth, line);
    CHECK(line == "z_cm,dose_mev_cm2_g,dose_gy_cm2");
    double integral = 0;
    while (std::getline(depth, line)) {
        double z = 0, mev = 0, gy = 0;
        REQUIRE(std::sscanf(line.c_str(), "%lf,%lf,%lf", &z, &mev, &gy) == 3);
        CHECK(gy == Approx(mev * 1.602176634e-10).epsilon(1e-6));
        integral += mev * j["grid"]["dz_cm"].get<double>();
    }
    const double deposited = 70 - j["nuclear_carried_off_mev"].get<double>();  // nothing escapes at 70 MeV
    CHECK(integral == Approx(deposited).epsilon(1e-4));
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
