// The waveform module (examples/waveforms): TaylorF2 and IMRPhenomD against LALSuite's reviewed reference
// waveforms, the Kerr ringdown table against Leaver's and LALSuite's numbers, bad parameters, label
// symmetry, batches on the worker pool (order, bits across worker counts, errors, cancellation), the HDF5
// file, parameter tables and the prior, and the CLI.
#include <waveforms/generator.hpp>
#include <waveforms/hdf5_file.hpp>
#include <waveforms/parameter_table.hpp>

#include "files.hpp"
#include "parex_catch.hpp"
#include "temp_dir.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace wf = waveforms;
using cplx = std::complex<double>;
using parex::test::quote;
using parex::test::run;
const std::string cli = quote(PAREX_WAVEFORMS_CLI);

namespace {

struct reference {
    std::vector<cplx> h_plus, h_cross;
};

/// A reference CSV of tests/data/gw (k,f_Hz,hp_re,hp_im,hc_re,hc_im).
reference load(const std::string& name) {
    std::ifstream in(fs::path(PAREX_TEST_DATA) / "gw" / name);
    REQUIRE(in);
    std::string line;
    std::getline(in, line);
    REQUIRE(line == "k,f_Hz,hp_re,hp_im,hc_re,hc_im");
    reference r;
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::string field;
        std::vector<double> v;
        while (std::getline(ss, field, ',')) v.push_back(std::stod(field));
        REQUIRE(v.size() == 6);
        REQUIRE(v[0] == double(r.h_plus.size()));
        r.h_plus.emplace_back(v[2], v[3]);
        r.h_cross.emplace_back(v[4], v[5]);
    }
    return r;
}

/// max_k |h_k - ref_k| / max_k |ref_k|, the measure.
double relative_error(const std::vector<cplx>& h, const std::vector<cplx>& ref) {
    REQUIRE(h.size() == ref.size());
    double worst = 0, peak = 0;
    for (std::size_t k = 0; k < h.size(); ++k) {
        worst = std::max(worst, std::abs(h[k] - ref[k]));
        peak = std::max(peak, std::abs(ref[k]));
    }
    return worst / peak;
}

// The three fixtures' parameters (tests/data/gw/datasets_index.json).
wf::parameters taylor_f2_1() {
    return {.m1 = 10,
            .m2 = 1.4,
            .chi1z = -0.7,
            .chi2z = 0.05,
            .lambda1 = 0,
            .lambda2 = 90.5,
            .distance = 100,
            .inclination = 0.79,
            .phi_ref = 1.3,
            .f_ref = 20,
            .f_min = 20,
            .f_max = 0,
            .delta_f = 1.5};
}
wf::parameters taylor_f2_3() {
    return {.m1 = 1.4,
            .m2 = 1.4,
            .chi1z = 0,
            .chi2z = 0,
            .lambda1 = 90.5,
            .lambda2 = 112,
            .distance = 50,
            .inclination = 0.3,
            .phi_ref = 0,
            .f_ref = 0,
            .f_min = 10,
            .f_max = 1200,
            .delta_f = 2.5};
}
wf::parameters phenom_d_1() {
    return {.m1 = 4,
            .m2 = 12,
            .chi1z = 0.9,
            .chi2z = 0.5,
            .lambda1 = 0,
            .lambda2 = 0,
            .distance = 100,
            .inclination = 1.0471975511965976,
            .phi_ref = 1.2,
            .f_ref = 0,
            .f_min = 40,
            .f_max = 0,
            .delta_f = 0.825};
}

/// The waveform on LAL's own length for p.
std::pair<std::vector<cplx>, std::vector<cplx>> lal_length(wf::approximant model, const wf::parameters& p,
                                                           const wf::constants& c) {
    const auto e = wf::extent_of(p, model, c);
    wf::waveform_generator g(model, c, p.delta_f, e.length);
    std::vector<cplx> hp(e.length), hc(e.length);
    g.generate(p, hp, hc);
    return {hp, hc};
}

/// [first nonzero, last nonzero] bins.
std::pair<std::size_t, std::size_t> nonzero(const std::vector<cplx>& h) {
    std::size_t first = h.size(), last = 0;
    for (std::size_t k = 0; k < h.size(); ++k)
        if (h[k] != cplx{}) {
            first = std::min(first, k);
            last = k;
        }
    return {first, last};
}

}  // namespace

TEST_CASE("TaylorF2 and IMRPhenomD equal LALSuite's reviewed waveforms (lal-2015 constants)") {
    struct fixture {
        const char* file;
        wf::approximant model;
        wf::parameters p;
        double tolerance;
        std::pair<std::size_t, std::size_t> filled;  // datasets_index.json, nonzero_bins
    };
    const fixture fixtures[] = {{"TaylorF2_FD_1.csv", wf::approximant::taylor_f2, taylor_f2_1(), 1e-9, {14, 257}},
                                {"TaylorF2_FD_3.csv", wf::approximant::taylor_f2, taylor_f2_3(), 1e-9, {4, 480}},
                                {"IMRPhenomD_FD_1.csv", wf::approximant::imr_phenom_d, phenom_d_1(), 1e-6, {48, 3075}}};
    for (const auto& f : fixtures) {
        INFO(f.file);
        const auto ref = load(f.file);
        const auto [hp, hc] = lal_length(f.model, f.p, wf::constants::lal_2015());
        REQUIRE(hp.size() == ref.h_plus.size());  // LAL's length rule, ISCO and M f = 0.2 ends included
        CHECK(nonzero(hp) == f.filled);
        CHECK(relative_error(hp, ref.h_plus) <= f.tolerance);
        CHECK(relative_error(hc, ref.h_cross) <= f.tolerance);
        // Today's constants move the phase by far more than the tolerance: the constants are a parameter.
        const auto [hp_today, hc_today] = lal_length(f.model, f.p, wf::constants::today());
        CHECK(relative_error(hp_today, ref.h_plus) > f.tolerance);
    }
}

TEST_CASE("today's constants are current LALSuite's (LALConstants.h)") {
    const auto c = wf::constants::today();
    CHECK(c.msun_si == Approx(1.988409870698050731911960804878414216e30).epsilon(1e-15));
    CHECK(c.mtsun_si == Approx(4.925490947641266978197229498498379006e-6).epsilon(1e-15));
    CHECK(c.mrsun_si == Approx(1.476625038050124729627979840144936351e3).epsilon(1e-15));
    CHECK(c.pc_si == Approx(3.085677581491367278913937957796471611e16).epsilon(1e-15));
    CHECK(wf::constants::named("lal-2015").mtsun_si == 4.925491025543575903e-6);
    CHECK_THROWS_AS(wf::constants::named("lal-2010"), std::invalid_argument);
}

TEST_CASE("the Kerr (2,2,0) ringdown by Leaver's method: published values and LALSuite's table") {
    // Leaver (1985) Table 1 (Schwarzschild, l = 2): M omega = 0.37367 - 0.08896 i; Berti, Cardoso, Will,
    // PRD 73, 064030 (2006), Table VIII: a = 0.9 gives 0.6716 - 0.0649 i.
    const auto w0 = wf::qnm_table::omega(0.0);
    CHECK(w0.real() == Approx(0.373672).margin(1e-6));
    CHECK(w0.imag() == Approx(-0.088962).margin(1e-6));
    const auto w9 = wf::qnm_table::omega(0.9);
    CHECK(w9.real() == Approx(0.6716).margin(1e-4));
    CHECK(w9.imag() == Approx(-0.0649).margin(1e-4));
    // Knots equal LALSimIMRPhenomD.h's QNMData_fring/QNMData_fdamp entries (six significant digits).
    const auto& t = wf::qnm_table::get();
    CHECK(t.ringdown(-0.999) == 0.046411);
    CHECK(t.ringdown(-0.998) == 0.0464197);
    CHECK(t.damping(-0.998) == 0.0140106);
    CHECK(t.ringdown(0.0) == 0.0594717);
    CHECK(t.ringdown(0.5) > t.ringdown(0.0));  // prograde modes ring faster
    CHECK_THROWS_AS(t.ringdown(1.0001), std::domain_error);
}

TEST_CASE("the vectorised sine and cosine equal libm's to a few ulp, thousands of radians included") {
    std::vector<double> x(1003), s(x.size()), c(x.size()), s_ref(x.size()), c_ref(x.size());
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = 3000.0 / (1.0 + 0.01 * double(k)) + 0.37 * double(k) - 40.0;
    wf::detail::sin_cos(x.data(), s.data(), c.data(), x.size());  // 1003: a tail past the 4-wide blocks
    wf::detail::sin_cos_scalar(x.data(), s_ref.data(), c_ref.data(), x.size());
    for (std::size_t k = 0; k < x.size(); ++k) {
        REQUIRE(std::abs(s[k] - s_ref[k]) <= 2e-15);
        REQUIRE(std::abs(c[k] - c_ref[k]) <= 2e-15);
    }
}

TEST_CASE("the vectorised exponential and arctangent equal libm's to a few ulp") {
    // the merger-ringdown's arguments: exp of -(Mf - f_ring) gamma2 / (f_damp gamma3), a few tens at most;
    // atan of (Mf - alpha5 f_ring) / f_damp, from about -10 to 100
    std::vector<double> x(1003);
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = -30.0 + 0.13 * double(k);
    auto e = x, a = x;
    wf::detail::exp_in_place(e.data(), e.size());  // 1003: a tail past the 4-wide blocks
    wf::detail::atan_in_place(a.data(), a.size());
    for (std::size_t k = 0; k < x.size(); ++k) {
        REQUIRE(std::abs(e[k] - std::exp(x[k])) <= 4e-16 * std::exp(x[k]));
        REQUIRE(std::abs(a[k] - std::atan(x[k])) <= 4e-16 * std::abs(std::atan(x[k])));
    }
}

namespace {

/// The message of the std::invalid_argument that validate or extent_of throws for p, or "" if none.
std::string refusal(const wf::parameters& p, wf::approximant model, const wf::constants& c) {
    try {
        wf::validate(p, model);
        (void)wf::extent_of(p, model, c);
        return "";
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
}

}  // namespace

TEST_CASE("bad parameters throw std::invalid_argument naming the parameter and its value") {
    const auto c = wf::constants::today();
    wf::waveform_generator g(wf::approximant::imr_phenom_d, c, 0.125, 8193);
    std::vector<cplx> hp(8193), hc(8193);
    auto expect = [&](wf::parameters p, const std::string& name,
                      wf::approximant model = wf::approximant::imr_phenom_d) {
        const auto message = refusal(p, model, c);
        INFO(name << ": " << message);
        CHECK(message.rfind(name + " = ", 0) == 0);
    };
    wf::parameters good{.m1 = 30, .m2 = 25, .f_min = 20, .f_max = 1024, .delta_f = 0.125};
    auto with = [&](auto change) {
        auto p = good;
        change(p);
        return p;
    };
    expect(with([](auto& p) { p.m1 = 0; }), "m1");
    expect(with([](auto& p) { p.m2 = -3; }), "m2");
    expect(with([](auto& p) { p.chi1z = 1.01; }), "chi1z");
    expect(with([](auto& p) { p.chi2z = -1.5; }), "chi2z");
    expect(with([](auto& p) { p.distance = 0; }), "distance");
    expect(with([](auto& p) { p.delta_f = 0; }), "delta_f");
    expect(with([](auto& p) { p.f_min = 1024; }), "f_min");
    expect(with([](auto& p) { p.f_min = 0; }), "f_min");
    expect(with([](auto& p) { p.m1 = 5001 * p.m2; }), "mass ratio");
    expect(with([](auto& p) { p.f_min = 500, p.f_max = 0, p.m1 = p.m2 = 50; }), "f_min");  // ends at M f = 0.2, 406 Hz
    expect(with([](auto& p) { p.f_min = 300, p.f_max = 0, p.m1 = p.m2 = 20; }), "f_min",
           wf::approximant::taylor_f2);  // ISCO
    CHECK_THROWS_AS(g.generate(with([](auto& p) { p.delta_f = 0.25; }), hp, hc),
                    std::invalid_argument);  // not the grid's
    CHECK_NOTHROW(g.generate(good, hp, hc));
}

TEST_CASE("grids beyond max_bins are refused, naming the frequency, not converted to a size") {
    const auto c = wf::constants::today();
    const wf::parameters good{.m1 = 30, .m2 = 25, .f_min = 20, .f_max = 1024, .delta_f = 0.125};
    auto refused = [&](wf::parameters p, wf::approximant model, const std::string& named) {
        CHECK_THAT(refusal(p, model, c), Catch::Contains(named) && Catch::Contains("max_bins"));
    };
    for (const auto model : {wf::approximant::taylor_f2, wf::approximant::imr_phenom_d}) {
        auto p = good;
        p.delta_f = 1e-300;
        refused(p, model, "at delta_f = 1e-300 Hz");
        p = good;
        p.f_max = 1e300;
        if (model == wf::approximant::taylor_f2) refused(p, model, "f_max = 1e+300 Hz");
        p = good;
        p.f_max = 0;
        p.m1 = p.m2 = 1e-300;  // the model's end frequency is huge
        refused(p, model, "of m1 + m2 = 2e-300");
    }
    CHECK_THROWS_AS((wf::domain{1e-9, 1024}.bins()), std::invalid_argument);
    CHECK((wf::domain{1.0 / 8192, 4095}.bins()) == 4095 * 8192 + 1);  // within the limit
    CHECK_THROWS_WITH(wf::make_batch(std::size_t{1} << 40, wf::max_bins), Catch::Contains("of memory"));
    CHECK_THROWS_AS(wf::make_batch(SIZE_MAX, 2), std::invalid_argument);  // the product would overflow
}

TEST_CASE("masses in either order: labels and spins swap together") {
    const auto c = wf::constants::today();
    for (auto model : {wf::approximant::taylor_f2, wf::approximant::imr_phenom_d}) {
        wf::waveform_generator g(model, c, 0.25, 4097);
        wf::parameters a{.m1 = 35,
                         .m2 = 12,
                         .chi1z = 0.6,
                         .chi2z = -0.3,
                         .distance = 400,
                         .inclination = 0.4,
                         .phi_ref = 0.7,
                         .f_min = 20,
                         .f_max = 1024,
                         .delta_f = 0.25};
        auto b = a;
        std::swap(b.m1, b.m2);
        std::swap(b.chi1z, b.chi2z);
        std::vector<cplx> ha(4097), hb(4097), ca(4097), cb(4097);
        g.generate(a, ha, ca);
        g.generate(b, hb, cb);
        CHECK(relative_error(hb, ha) < 1e-12);
        b.chi1z = a.chi1z;  // spins left on the wrong bodies change the waveform
        b.chi2z = a.chi2z;
        g.generate(b, hb, cb);
        CHECK(relative_error(hb, ha) > 1e-3);
    }
}

TEST_CASE("a batch on the pool: rows in order, the same bits as one at a time, with 1 and 2 workers") {
    const auto c = wf::constants::today();
    const wf::domain d{0.25, 512};
    wf::parameters defaults{.f_min = 20, .f_max = 512, .delta_f = 0.25};
    const auto rows = wf::sample_prior(37, 7, defaults);
    for (auto model : {wf::approximant::taylor_f2, wf::approximant::imr_phenom_d}) {
        wf::waveform_generator single(model, c, d);
        std::vector<cplx> hp(d.bins()), hc(d.bins());
        for (std::size_t workers : {1u, 2u}) {
            auto pool = wf::make_generator_pool(workers, model, c, d);
            auto b = wf::make_batch(rows.size(), d.bins());
            wf::generate_batch(pool, rows, b, 5);
            // One contiguous block in the arena: h_cross follows h_plus.
            CHECK(b.arena.offset_of(b.h_cross.data()) >= b.arena.offset_of(b.h_plus.data()) + b.h_plus.size_bytes());
            for (std::size_t i = 0; i < rows.size(); ++i) {
                single.generate(rows[i], hp, hc);
                REQUIRE(std::equal(hp.begin(), hp.end(), b.plus_row(i).begin()));
                REQUIRE(std::equal(hc.begin(), hc.end(), b.cross_row(i).begin()));
            }
            // Every row ran exactly once, on one of the workers.
            std::size_t tasks = 0;
            for (const auto& s : pool.statistics()) tasks += s.tasks;
            CHECK(tasks == rows.size());
        }
    }
}

TEST_CASE("a batch stops at a bad row, naming it, and can be cancelled") {
    const auto c = wf::constants::today();
    const wf::domain d{0.5, 256};
    auto rows = wf::sample_prior(40, 3, {.f_min = 20, .f_max = 256, .delta_f = 0.5});
    rows[17].chi1z = 2;
    auto pool = wf::make_generator_pool(2, wf::approximant::imr_phenom_d, c, d);
    auto b = wf::make_batch(rows.size(), d.bins());
    try {
        wf::generate_batch(pool, rows, b, 4);
        FAIL("bad row accepted");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()) == "row 17: chi1z = 2: must lie in [-1, 1]");
    }
    rows[17].chi1z = 0;
    std::stop_source stop;
    stop.request_stop();
    CHECK_THROWS_AS(wf::generate_batch(pool, rows, b, 4, {.stop = stop.get_token()}), parex::operation_cancelled);
    auto small = wf::make_batch(3, d.bins());
    CHECK_THROWS_AS(wf::generate_batch(pool, rows, small), std::invalid_argument);  // 40 rows, 3 slots
}

TEST_CASE("the HDF5 batch file holds h_plus, h_cross, frequencies and parameters") {
    parex::test::temp_dir dir;
    const auto c = wf::constants::today();
    const wf::domain d{1.0, 300};
    const auto rows = wf::sample_prior(5, 11, {.f_min = 20, .f_max = 300, .delta_f = 1.0});
    auto pool = wf::make_generator_pool(2, wf::approximant::imr_phenom_d, c, d);
    auto b = wf::make_batch(rows.size(), d.bins());
    wf::generate_batch(pool, rows, b);
    wf::waveform_generator g(wf::approximant::imr_phenom_d, c, d);
    std::vector<wf::parameter_column> columns{{"m1", {}}};
    for (const auto& r : rows) columns[0].values.push_back(r.m1);
    const auto path = dir.path() / "batch.h5";
    wf::write_batch_hdf5(path, rows.size(), d.bins(), b.h_plus, b.h_cross, g.frequencies(), columns,
                         {"IMRPhenomD", "today", 1.0, 20, 300});
    const auto [dims, plus] = wf::read_hdf5_dataset(path, "h_plus");
    CHECK(dims == std::vector<hsize_t>{5, 301});
    CHECK(std::equal(plus.begin(), plus.end(), b.h_plus.begin()));
    const auto [fdims, f] = wf::read_hdf5_dataset(path, "frequencies");
    CHECK(fdims == std::vector<hsize_t>{301});
    CHECK(f[300].real() == 300.0);
    const auto [mdims, m1] = wf::read_hdf5_dataset(path, "parameters/m1");
    CHECK(m1[4].real() == rows[4].m1);
    CHECK_THROWS_AS(wf::read_hdf5_dataset(path, "h_minus"), wf::hdf5_error);
}

TEST_CASE("parameter tables: columns like the flags, errors with line and column, and the prior") {
    parex::test::temp_dir dir;
    const wf::parameters defaults{.distance = 250, .f_min = 20, .f_max = 512, .delta_f = 0.25};
    dir.write("ok.csv", "m1,m2,chi1z,phi_ref\n30,20,0.5,1\n\n40, 35 ,-0.1,2\n");
    const auto rows = wf::read_parameter_table((dir.path() / "ok.csv").string(), defaults);
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].m2 == 35);
    CHECK(rows[1].phi_ref == 2);
    CHECK(rows[0].distance == 250);  // not a column: the default
    auto error_of = [&](const std::string& text) {
        dir.write("bad.csv", text);
        try {
            (void)wf::read_parameter_table((dir.path() / "bad.csv").string(), defaults);
        } catch (const examples::table_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THAT(error_of("m1,mass\n1,2\n"), Catch::Contains("bad.csv:1: unknown column 'mass'"));
    CHECK_THAT(error_of("m1,m2\n1,2\n3\n"), Catch::Contains("bad.csv:3: 1 fields, the header has 2"));
    CHECK_THAT(error_of("m1,m2\n1,2\n3,x4\n"), Catch::Contains("bad.csv:3: column 'm2': 'x4' is not a number"));
    CHECK_THAT(error_of("m1,m1\n1,2\n"), Catch::Contains("appears twice"));
    // Round trip through the writer.
    dir.write("round.csv", wf::format_parameter_table(rows));
    const auto back = wf::read_parameter_table((dir.path() / "round.csv").string(), defaults);
    CHECK(back[1].chi1z == rows[1].chi1z);
    // The prior: reproducible, inside its ranges, distance with density ~ d^2 (median (d0^3 + d1^3)/2)^(1/3)).
    const auto a = wf::sample_prior(20000, 42, defaults), again = wf::sample_prior(20000, 42, defaults);
    CHECK(a[123].m1 == again[123].m1);
    std::vector<double> distances;
    for (const auto& p : a) {
        REQUIRE((p.m1 >= 10 && p.m1 <= 80 && p.m2 >= 10 && p.m2 <= 80));
        REQUIRE(std::abs(p.chi1z) <= 0.99);
        REQUIRE((p.inclination >= 0 && p.inclination <= std::numbers::pi));
        distances.push_back(p.distance);
    }
    std::nth_element(distances.begin(), distances.begin() + 10000, distances.end());
    CHECK(distances[10000] == Approx(std::cbrt((1e6 + 1e9) / 2)).epsilon(0.01));
}

TEST_CASE("parex-waveforms: generate, sample-prior and batch, errors exit non-zero without output") {
    parex::test::temp_dir dir;
    const auto csv = dir.path() / "phenomd.csv";
    REQUIRE(run(cli +
                " generate --approximant IMRPhenomD --constants lal-2015 --m1 4 --m2 12 --chi1z 0.9 --chi2z 0.5"
                " --distance 100 --inclination 1.0471975511965976 --phi-ref 1.2 --f-min 40 --delta-f 0.825 -o " +
                quote(csv)) == 0);
    {
        std::ifstream in(csv);
        std::string line;
        std::getline(in, line);
        CHECK(line == "k,f_Hz,hp_re,hp_im,hc_re,hc_im");
        std::vector<cplx> hp;
        while (std::getline(in, line)) {
            std::stringstream ss(line);
            std::string field;
            std::vector<double> v;
            while (std::getline(ss, field, ',')) v.push_back(std::stod(field));
            hp.emplace_back(v[2], v[3]);
        }
        CHECK(relative_error(hp, load("IMRPhenomD_FD_1.csv").h_plus) <= 1e-6);  // 17 digits survive the text
    }
    // The output is never overwritten without -f, and a bad parameter leaves nothing behind.
    CHECK(run(cli + " generate --m1 4 --m2 12 -o " + quote(csv) + " 2>/dev/null") == 2);
    const auto bad = dir.path() / "bad.csv";
    CHECK(run(cli + " generate --m1 -4 --m2 12 -o " + quote(bad) + " 2>" + quote(dir.path() / "err.txt")) == 2);
    CHECK_THAT(parex::test::read_file(dir.path() / "err.txt"), Catch::Contains("--m1: Value -4 not in [0.001, 1e+10]"));
    CHECK_FALSE(fs::exists(bad));

    const auto params = dir.path() / "params.csv";
    REQUIRE(run(cli + " sample-prior --n 24 --seed 5 -o " + quote(params)) == 0);
    const auto h5 = dir.path() / "batch.h5";
    REQUIRE(run(cli + " batch --approximant IMRPhenomD --params " + quote(params) +
                " --f-min 20 --f-max 512 --delta-f 0.5"
                " --threads 2 -o " +
                quote(h5) + " 2>/dev/null") == 0);
    const auto [dims, plus] = wf::read_hdf5_dataset(h5, "h_plus");
    CHECK(dims == std::vector<hsize_t>{24, 1025});
    const auto rows = wf::read_parameter_table(params.string(), {.f_min = 20, .f_max = 512, .delta_f = 0.5});
    wf::waveform_generator g(wf::approximant::imr_phenom_d, wf::constants::today(), wf::domain{0.5, 512});
    std::vector<cplx> hp(1025), hc(1025);
    g.generate(rows[23], hp, hc);
    CHECK(std::equal(hp.begin(), hp.end(), plus.begin() + 23 * 1025));
    CHECK(run(cli + " batch --params " + quote(params) + " --f-max 0 -o " + quote(dir.path() / "x.h5") +
              " 2>/dev/null") == 2);
    CHECK_FALSE(fs::exists(dir.path() / "x.h5"));
}

TEST_CASE("parex-waveforms: a batch file's bytes depend on its contents only") {
    parex::test::temp_dir dir;
    const auto params = dir.path() / "params.csv";
    REQUIRE(run(cli + " sample-prior --n 9 --seed 2 -o " + quote(params)) == 0);
    const std::string batch = cli + " batch --params " + quote(params) + " --f-min 20 --f-max 256 --delta-f 0.5 -o ";
    REQUIRE(run(batch + quote(dir.path() / "a.h5") + " --threads 2 2>/dev/null") == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // HDF5 object times have 1 s resolution
    REQUIRE(run(batch + quote(dir.path() / "b.h5") + " --threads 1 2>/dev/null") == 0);
    CHECK(parex::test::read_file(dir.path() / "a.h5") == parex::test::read_file(dir.path() / "b.h5"));
#if defined(PAREX_MPIEXEC)
    // under mpirun: rank 0 gathers every rank's rows and writes the same file; an existing one is kept
    const std::string mpirun = std::string(PAREX_MPIEXEC) + " --oversubscribe --bind-to none --allow-run-as-root -np ";
    for (const int np : {1, 2, 3}) {
        INFO(np << " ranks");
        const auto out = dir.path() / ("mpi-" + std::to_string(np) + ".h5");
        REQUIRE(run(mpirun + std::to_string(np) + " " + batch + quote(out) + " --threads 1 2>/dev/null") == 0);
        CHECK(parex::test::read_file(out) == parex::test::read_file(dir.path() / "a.h5"));
    }
    CHECK(run(mpirun + "2 " + batch + quote(dir.path() / "a.h5") + " > /dev/null 2>&1") == 2);
    CHECK(parex::test::read_file(dir.path() / "a.h5") == parex::test::read_file(dir.path() / "b.h5"));
#endif
}

TEST_CASE("parex-waveforms: out-of-range numbers are usage errors naming the option and its range") {
    parex::test::temp_dir dir;
    const auto err = dir.path() / "err.txt";
    const auto refused = [&](const std::string& args, const std::string& message) {
        INFO(args);
        CHECK(run(cli + " " + args + " 2>" + quote(err)) == 2);
        CHECK_THAT(parex::test::read_file(err), Catch::Contains(message));
    };
    refused("generate --m1 30 --m2 30 --delta-f 1e-300 -o -", "--delta-f: Value 1e-300 not in [1e-06, 1000]");
    refused("generate --m1 30 --m2 30 --f-max 1e300 -o -", "--f-max: Value 1e300 not in [0, 100000]");
    refused("generate --m1 1e-300 --m2 30 -o -", "--m1: Value 1e-300 not in");
    refused("generate --m1 nan --m2 30 -o -", "--m1: Value nan not in");
    refused("generate --m1 30 --m2 30 --delta-f 1e-5 -o -", "more than the limit of 33554432 (max_bins)");
    refused("sample-prior --n 1e12 -o -", "--n: Value 1e12 not in range 1 to 100000000");
    refused("sample-prior --n -1 -o -", "--n: Value -1 not in range 1 to 100000000");
    refused("batch --params /dev/null --f-max 1024 --threads -1 -o x.h5", "--threads: Value -1 not in range 0 to 1024");
    refused("batch --params /dev/null --f-max 1024 --threads 100000 -o x.h5",
            "--threads: Value 100000 not in range 0 to 1024");
    CHECK(run(cli + " generate --help > /dev/null") == 0);
    CHECK(run(cli + " generate --help | grep -q 'FLOAT in \\[1e-06, 1000\\]'") == 0);  // the range is in --help
}

TEST_CASE("parex-waveforms: SIGTERM or SIGINT during a batch leaves neither the output nor its temporary file") {
    parex::test::temp_dir dir;
    const auto params = dir.path() / "params.csv";
    REQUIRE(run(cli + " sample-prior --n 2000 -o " + quote(params)) == 0);
    const auto before = parex::test::read_file(params);
    for (const auto& [signal, status] : {std::pair{"TERM", 128 + 15}, std::pair{"INT", 128 + 2}}) {
        INFO("SIG" << signal);
        const auto batch =
            cli + " batch --params " + quote(params) + " --f-max 1024 --threads 2 -o " + quote(dir.path() / "b.h5");
        CHECK(parex::test::interrupt_when_file_appears(dir.path() / "job.sh", batch,
                                                       quote(dir.path()) + "/.b.h5.parex-*", signal) == status);
        CHECK(parex::test::file_names(dir.path()) == std::vector<std::string>{"job.sh", "params.csv"});
        CHECK(parex::test::read_file(params) == before);
    }
}

TEST_CASE("parex-waveforms: a batch killed at random points never leaves a partial HDF5 file") {
    parex::test::temp_dir dir;
    const auto params = dir.path() / "params.csv", out = dir.path() / "b.h5";
    REQUIRE(run(cli + " sample-prior --n 600 -o " + quote(params)) == 0);
    const auto input = parex::test::read_file(params);
    const auto whole = [](const fs::path& p) {
        try {
            return wf::read_hdf5_dataset(p, "h_cross").first == std::vector<hsize_t>{600, 8193};
        } catch (const std::exception&) {
            return false;
        }
    };
    const auto command =
        cli + " batch --params " + quote(params) + " --f-max 1024 --threads 2 -o " + quote(out) + " 2> /dev/null";
    const auto [status, duration] = parex::test::timed_run(command);  // an uninterrupted run, for its time
    REQUIRE(status == 0);
    REQUIRE(whole(out));
    fs::remove(out);
    const int finished = parex::test::crash_test(command, out, whole, 4, duration, params, input);
    CHECK(finished >= 0);
    CHECK(finished < 2 * 4);  // some rounds were interrupted
}
