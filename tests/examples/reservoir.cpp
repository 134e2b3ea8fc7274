// The reservoir module (examples/reservoir): the series against their defining equations, the spectral
// radius against a dense eigen-solver, the LIF neuron against its analytic rate and the network
// against a smaller step, the benchmark errors the field reports, determinism across thread counts,
// the sweep against single runs, bad grids, and the CLI.
#include <reservoir/experiment.hpp>
#include <reservoir/sweep.hpp>

#include "files.hpp"
#include "parex_catch.hpp"
#include "temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace rc = reservoir;

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// A small Mackey-Glass experiment: quick, with free runs.
rc::experiment small_mackey_glass(rc::model m = rc::model::esn) {
    auto e = rc::defaults_for(rc::task::mackey_glass, m);
    e.esn.units = e.lif.units = 150;
    e.washout = 100, e.train = 1500, e.test = 400, e.trials = 7, e.horizon = 20;
    return e;
}

using parex::test::quote;
using parex::test::read_file;
using parex::test::run;
const std::string cli = std::string("'") + PAREX_RESERVOIR_CLI + "'";

}  // namespace

TEST_CASE("Mackey-Glass: the integration converges and stays on the attractor", "[reservoir]") {
    const auto x = rc::mackey_glass(600);
    rc::mackey_glass_config half;
    half.step = 0.005;
    const auto finer = rc::mackey_glass(600, half);
    REQUIRE(x.size() == 600);
    double largest = 0;
    for (std::size_t i = 0; i < 300; ++i) largest = std::max(largest, std::abs(x[i] - finer[i]));
    CHECK(largest < 1e-4);  // after 1000 time units of a chaotic system
    for (const double v : x) {
        CHECK(v > 0.2);
        CHECK(v < 1.4);
    }
    rc::mackey_glass_config bad;
    bad.step = 0.03;  // tau / step is not whole
    CHECK_THROWS_AS(rc::mackey_glass(10, bad), std::invalid_argument);
}

TEST_CASE("NARMA10 follows its recurrence", "[reservoir]") {
    const auto s = rc::narma10(300, 7);
    REQUIRE(s.input.size() == 300);
    CHECK(s.target[0] == 0.1);  // y(1) = 0.1: nothing before
    CHECK(s.target[1] == Approx(0.3 * 0.1 + 0.05 * 0.1 * 0.1 + 0.1).epsilon(1e-15));
    std::vector<double> y(301, 0.0);
    for (std::size_t t = 0; t < 300; ++t) {
        CHECK(s.input[t] >= 0.0);
        CHECK(s.input[t] <= 0.5);
        double sum = 0;
        for (std::size_t i = 0; i <= std::min<std::size_t>(t, 9); ++i) sum += y[t - i];
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * sum + 1.5 * (t >= 9 ? s.input[t - 9] : 0.0) * s.input[t] + 0.1;
        CHECK(s.target[t] == Approx(y[t + 1]).epsilon(1e-12));
    }
    CHECK(rc::narma10(300, 7).input == s.input);  // the seed fixes the input
    CHECK(rc::narma10(300, 8).input != s.input);
}

TEST_CASE("the ESN's spectral radius is computed: Arnoldi agrees with a dense eigen-solver", "[reservoir]") {
    for (const std::size_t units : {30u, 200u}) {
        rc::esn_config c;
        c.units = units;
        c.spectral_radius = 0.8;
        std::mt19937_64 rng(5);
        const rc::echo_state_network net(c, rng);
        const Eigen::MatrixXd dense(net.weights());
        const Eigen::EigenSolver<Eigen::MatrixXd> eig(dense, false);
        INFO("units " << units);
        CHECK(eig.eigenvalues().cwiseAbs().maxCoeff() == Approx(0.8).epsilon(1e-9));
        CHECK(net.unscaled_spectral_radius() > 0);
    }
    rc::esn_config none;
    none.units = 0;
    std::mt19937_64 rng(1);
    CHECK_THROWS_AS(rc::echo_state_network(none, rng), std::invalid_argument);
}

TEST_CASE("a LIF neuron fires at the analytic rate for constant input, to 1 %", "[reservoir]") {
    const rc::lif_neuron neuron;  // tau_m 20 ms, t_ref 2 ms, threshold 1
    for (const double drive : {1.05, 1.2, 1.5, 2.0, 4.0}) {
        double v = 0, refractory = 0;
        long spikes = 0;
        for (long k = 0; k < 200'000; ++k) spikes += neuron.advance(v, refractory, 0.1, drive);  // 20 s
        const double rate = static_cast<double>(spikes) / 20.0;
        const double analytic = 1000 / (2 + 20 * std::log(drive / (drive - 1)));
        INFO("drive " << drive);
        CHECK(neuron.rate_hz(drive) == Approx(analytic).epsilon(1e-12));
        CHECK(rate == Approx(analytic).epsilon(0.01));
    }
    double v = 0, refractory = 0;
    long spikes = 0;
    for (long k = 0; k < 10'000; ++k) spikes += neuron.advance(v, refractory, 0.1, 0.99);
    CHECK(spikes == 0);  // below threshold: never
    CHECK(v == Approx(0.99).epsilon(1e-6));
}

TEST_CASE("the spiking reservoir's integration agrees with a four times smaller step", "[reservoir]") {
    const auto series = rc::narma10(1500, 1);
    const auto simulate = [&](double dt) {
        rc::lif_config c;
        c.units = 200;
        c.dt_ms = dt;
        std::mt19937_64 rng(3);
        const rc::spiking_reservoir net(c, rng);
        auto s = net.initial_state();
        std::vector<double> features(net.feature_count());
        double trace = 0;
        for (const double u : series.input) {
            net.step(s, u, features.data());
            for (std::size_t i = 2; i < features.size(); ++i) trace += features[i];
        }
        return std::pair{static_cast<double>(s.total_spikes), trace};
    };
    const auto [spikes, trace] = simulate(0.1);
    const auto [spikes_fine, trace_fine] = simulate(0.025);
    CHECK(spikes > 1000);  // an active network
    CHECK(spikes == Approx(spikes_fine).epsilon(0.02));
    CHECK(trace == Approx(trace_fine).epsilon(0.02));
}

TEST_CASE("an ESN of 1000 units predicts Mackey-Glass 84 steps ahead with NRMSE below 1e-3", "[reservoir][slow]") {
    const auto e = rc::defaults_for(rc::task::mackey_glass, rc::model::esn);
    REQUIRE(e.esn.units == 1000);
    rc::workspace space;
    parex::chunked_executor executor;
    const auto r = rc::run_experiment(executor, e, space);
    CHECK(r.nrmse < 1e-5);
    CHECK(r.nrmse_horizon < 1e-3);  // Jaeger and Haas (2004): 10^-4.2 with 1000 units
    CHECK(r.free_prediction.size() == e.horizon);
}

TEST_CASE("an ESN of 400 units reaches the published NARMA10 error of its size", "[reservoir]") {
    rc::workspace space;
    double sum = 0;
    for (const std::uint64_t seed : {1u, 2u, 3u}) {
        auto e = rc::defaults_for(rc::task::narma10, rc::model::esn);
        e.seed = seed;
        const auto r = rc::run_experiment(e, space);
        INFO("seed " << seed << " NRMSE " << r.nrmse);
        CHECK(r.nrmse < 0.165);  // within 10 % of 0.15 (Appeltant et al., Nat. Commun. 2 (2011) 468, 400 nodes)
        sum += r.nrmse;
    }
    CHECK(sum / 3 < 0.15);
}

TEST_CASE("an experiment's numbers are the same bits on 1, 2 and 3 threads and on the calling thread", "[reservoir]") {
    for (const auto m : {rc::model::esn, rc::model::lif}) {
        const auto e = small_mackey_glass(m);
        rc::workspace space;
        const auto reference = rc::run_experiment(e, space);
        for (const std::size_t threads : {1u, 2u, 3u}) {
            parex::chunked_executor executor({.max_concurrency = threads});
            const auto r = rc::run_experiment(executor, e, space);
            INFO(rc::name(m) << " on " << threads << " threads");
            CHECK(same_bits(r.nrmse, reference.nrmse));
            CHECK(same_bits(r.nrmse_horizon, reference.nrmse_horizon));
            CHECK(r.prediction == reference.prediction);
            CHECK(r.free_prediction == reference.free_prediction);
        }
    }
}

TEST_CASE("experiments that break the protocol are refused", "[reservoir]") {
    rc::workspace space;
    auto e = small_mackey_glass();
    e.test = e.washout + e.horizon + e.trials - 2;  // too short for the free runs
    CHECK_THROWS_WITH(rc::run_experiment(e, space), Catch::Matchers::Contains("free runs"));
    e = small_mackey_glass();
    e.train = 0;
    CHECK_THROWS_AS(rc::run_experiment(e, space), std::invalid_argument);
    e = small_mackey_glass();
    e.esn.leak_rate = 1.5;
    CHECK_THROWS_WITH(rc::run_experiment(e, space), Catch::Matchers::Contains("leak_rate"));
    e = small_mackey_glass();
    e.ridge = -1;
    CHECK_THROWS_WITH(rc::run_experiment(e, space), Catch::Matchers::Contains("ridge"));
}

TEST_CASE("a sweep's rows equal single runs, in grid order, whatever the schedule", "[reservoir]") {
    parex::test::temp_dir dir;
    dir.write("grid.csv",
              "# units, models and seeds of different costs\n"
              "model,units,spectral_radius,seed\n"
              "esn,50,0.9,1\n"
              "lif,60,,2\n"
              "esn,300,,3\n"
              "esn,120,0.8,4\n");
    const auto grid = rc::read_grid(dir.path() / "grid.csv", rc::task::narma10);
    REQUIRE(grid.size() == 4);
    CHECK(grid[1].model == rc::model::lif);
    CHECK(grid[2].esn.spectral_radius == 0.95);  // empty: the task's default
    parex::chunked_executor executor({.max_concurrency = 2});
    parex::cost_model model;
    const auto by_cost = rc::run_sweep(executor, grid, rc::schedule::cost_aware, model);
    const auto in_order = rc::run_sweep(executor, grid, rc::schedule::input_order, model);
    CHECK(model.kinds() == 2);  // esn and lif measured
    CHECK(by_cost.lower_bound_seconds > 0);
    CHECK(by_cost.makespan_seconds >= 0.5 * by_cost.lower_bound_seconds);
    rc::workspace space;
    for (std::size_t i = 0; i < grid.size(); ++i) {
        const auto single = rc::run_experiment(grid[i], space);
        INFO("row " << i);
        CHECK(same_bits(by_cost.results[i].nrmse, single.nrmse));
        CHECK(same_bits(in_order.results[i].nrmse, single.nrmse));
    }
}

TEST_CASE("a bad grid names the file, line and column", "[reservoir]") {
    parex::test::temp_dir dir;
    const auto fails = [&](const std::string& text, const std::string& expected) {
        dir.write("grid.csv", text);
        CHECK_THROWS_WITH(rc::read_grid(dir.path() / "grid.csv", rc::task::narma10),
                          Catch::Matchers::Contains(expected));
    };
    fails("model,units,colour\nesn,10,red\n", "unknown column 'colour'");
    fails("model,spectral_radius\nesn,0.9\n", "model and units are required");
    fails("model,units\nesn,10\nrnn,10\n", "grid.csv:3: model: 'rnn'");
    fails("model,units,ridge\nesn,10,tiny\n", "grid.csv:2: ridge: 'tiny' is not a number");
    fails("model,units\nesn,99999\n", "units: 99999");
}

TEST_CASE("parex-reservoir run: JSON keys, the same numbers on 1 and 2 threads, errors", "[reservoir][cli]") {
    parex::test::temp_dir dir;
    const auto json_of = [&](const std::string& args, const std::string& name) {
        REQUIRE(run(cli + " run " + args + " --json > " + quote(dir.path() / name)) == 0);
        return nlohmann::json::parse(read_file(dir.path() / name));
    };
    auto one = json_of("--task mackey-glass --model esn --units 120 --threads 1", "one.json");
    auto two = json_of("--threads 2 --task mackey-glass --model esn --units 120", "two.json");
    for (const char* key : {"task", "model", "units", "nrmse", "nrmse_84", "seconds"}) CHECK(one.contains(key));
    CHECK(one["task"] == "mackey-glass");
    CHECK(one["units"] == 120);
    one.erase("seconds"), two.erase("seconds");
    CHECK(one.dump() == two.dump());  // bit for bit: JSON prints doubles round-trip
    const auto narma = json_of("--task narma10 --model lif --units 50", "narma.json");
    CHECK_FALSE(narma.contains("nrmse_84"));

    CHECK(run(cli + " run --task narma10 --units 0 2> /dev/null") == 2);
    CHECK(run(cli + " run --task narma10 --units 10 --connections 11 2> /dev/null") == 2);
    CHECK(run(cli + " run --task lorenz --units 10 2> /dev/null") == 2);
    // an output that cannot be written fails before the work
    const auto [status, time] = parex::test::timed_run(cli + " run --units 1000 --plot " +
                                                       quote(dir.path() / "no/such/dir/p.png") + " 2> /dev/null");
    CHECK(status == 3);
    CHECK(time < std::chrono::milliseconds(500));
}

TEST_CASE("parex-reservoir sweep writes one row per configuration and never over a file without -f",
          "[reservoir][cli]") {
    parex::test::temp_dir dir;
    dir.write("grid.csv", "model,units,seed\nesn,40,1\nlif,30,1\nesn,80,2\n");
    const auto out = dir.path() / "results.csv";
    const std::string sweep = cli + " sweep --task narma10 --grid " + quote(dir.path() / "grid.csv");
    REQUIRE(run(sweep + " -o " + quote(out) + " 2> /dev/null") == 0);
    const auto text = read_file(out);
    CHECK(text.rfind("row,model,units,", 0) == 0);
    CHECK(std::count(text.begin(), text.end(), '\n') == 4);
    CHECK(text.find("\n2,lif,30,") != std::string::npos);
    CHECK(run(sweep + " -o " + quote(out) + " 2> /dev/null") == 2);  // exists, no -f
    CHECK(read_file(out) == text);
    CHECK(run(sweep + " -o " + quote(out) + " -f --schedule input 2> /dev/null") == 0);
    dir.write("bad.csv", "model,units\nesn,abc\n");
    CHECK(run(cli + " sweep --task narma10 --grid " + quote(dir.path() / "bad.csv") + " 2> /dev/null") == 1);
}
