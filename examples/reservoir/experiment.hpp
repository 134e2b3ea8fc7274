#pragma once
// reservoir/experiment.hpp: one reservoir trained and tested on one benchmark task: the protocol
// (washout, teacher forcing, ridge readout, one-step and free-running error), shared by
// `parex-reservoir run` and every row of `parex-reservoir sweep`.

#include <reservoir/esn.hpp>
#include <reservoir/lif.hpp>
#include <reservoir/readout.hpp>
#include <reservoir/series.hpp>

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace reservoir {

enum class task { mackey_glass, narma10 };
enum class model { esn, lif };

[[nodiscard]] inline std::string_view name(task t) { return t == task::mackey_glass ? "mackey-glass" : "narma10"; }
[[nodiscard]] inline std::string_view name(model m) { return m == model::esn ? "esn" : "lif"; }

/// One experiment: a task, a model with its hyper-parameters, the readout's ridge and the lengths
/// of the protocol, in samples of the series.
///
/// Protocol. The series gives inputs u(t) and targets y(t): for Mackey-Glass u(t) = x(t) - 1 and
/// y(t) = x(t+1) - 1 (one-step prediction; the shift centres the signal, and NRMSE does not see it);
/// for NARMA10 u(t) is the system's input and y(t) = y_narma(t+1). The reservoir is driven from the
/// zero state by u over washout + train + test steps; the first `washout` states are dropped, the
/// readout is fitted by ridge regression on the next `train`, and `nrmse` is measured on the last
/// `test` (one step ahead, teacher forced). For Mackey-Glass, `trials` free runs then start inside
/// the test segment, evenly spaced: each drives a fresh state with the true series for `washout`
/// steps, then feeds its own prediction back as the next input for `horizon` steps;
/// nrmse_horizon = sqrt(mean over trials of the squared error at the last step / var(y)), the
/// measure of Jaeger and Haas (Science 304 (2004) 78) at horizon 84.
struct experiment {
    reservoir::task task = task::mackey_glass;
    reservoir::model model = model::esn;
    esn_config esn{};
    lif_config lif{};
    double ridge = 1e-11;
    std::uint64_t seed = 1;  ///< draws the network's weights (and NARMA10's input)
    std::size_t washout = 500, train = 8000, test = 2000;
    std::size_t trials = 50, horizon = 84;  ///< free runs (Mackey-Glass only)

    [[nodiscard]] std::size_t units() const noexcept { return model == model::esn ? esn.units : lif.units; }
    [[nodiscard]] double input_scaling() const noexcept {
        return model == model::esn ? esn.input_scaling : lif.input_scaling;
    }
};

/// The parameters both models have, those of the model `e` uses: what a command line or a grid row sets
/// without naming the model's own config.
struct shared_parameters {
    std::size_t& units;
    std::size_t& connections;
    double& input_scaling;
};
[[nodiscard]] inline shared_parameters shared(experiment& e) {
    if (e.model == model::esn) return {e.esn.units, e.esn.connections, e.esn.input_scaling};
    return {e.lif.units, e.lif.connections, e.lif.input_scaling};
}

/// The defaults of `parex-reservoir run` for a task and model: for the ESN, the hyper-parameters that
/// docs/reservoir.md reports (Mackey-Glass: the defaults of esn_config, 8000 training steps, ridge
/// 1e-11; NARMA10: 2000 training steps as in the literature, spectral radius 0.95, input scaling 0.2,
/// bias 0.5, leak rate 0.9, ridge 1e-9); for the LIF model the defaults of lif_config, at most 4000
/// training steps and ridge 1 (its features are rates in kHz, and a weaker ridge over-fits them).
[[nodiscard]] inline experiment defaults_for(reservoir::task t, reservoir::model m) {
    experiment e;
    e.task = t;
    e.model = m;
    if (t == task::narma10) {
        e.washout = 200, e.train = 2000, e.test = 2000, e.ridge = 1e-9;
        e.esn.units = 400, e.esn.spectral_radius = 0.95, e.esn.input_scaling = 0.2, e.esn.bias_scaling = 0.5;
        e.esn.leak_rate = 0.9;
    }
    if (m == model::lif) e.train = std::min<std::size_t>(e.train, 4000), e.ridge = 1;
    return e;
}

/// Largest washout + train + test accepted: the feature matrix is (units + 2) x (train + test) doubles.
inline constexpr std::size_t max_series_length = 1'000'000;

/// What an experiment measured.
struct experiment_result {
    double nrmse = 0;  ///< one-step test error, sqrt(mean (prediction - y)^2 / var(y))
    double nrmse_horizon = std::numeric_limits<double>::quiet_NaN();  ///< Mackey-Glass free run; NaN otherwise
    double seconds = 0;                     ///< wall time of the whole experiment, network construction included
    double state_updates = 0;               ///< units x reservoir steps computed (teacher forced and free running)
    std::vector<double> truth, prediction;  ///< the test segment, one step ahead
    std::vector<double> free_truth, free_prediction;  ///< the first free run (Mackey-Glass)
};

/// Scratch a worker keeps between experiments (a sweep holds one per worker in a parex::worker_local):
/// the feature matrix's storage and the generator that draws a network's weights (reseeded by each
/// experiment, so results depend on the seed alone).
struct workspace {
    std::vector<double> features;
    std::mt19937_64 rng;
};

namespace detail {

inline double variance(const std::vector<double>& v) {
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double sum = 0;
    for (const double x : v) sum += (x - mean) * (x - mean);
    return sum / static_cast<double>(v.size());
}

inline void validate(const experiment& e) {
    const auto bad = [](const std::string& what) { throw std::invalid_argument("experiment: " + what); };
    check_size("experiment", e.units(), e.model == model::esn ? e.esn.connections : e.lif.connections);
    if (e.train == 0 || e.test == 0) bad("train and test need at least one step each");
    if (e.washout > max_series_length || e.train > max_series_length || e.test > max_series_length ||
        e.washout + e.train + e.test > max_series_length)
        bad("washout + train + test exceeds " + std::to_string(max_series_length));
    if (e.task == task::mackey_glass) {
        if (e.trials == 0 || e.horizon == 0) bad("Mackey-Glass needs at least one free-run trial and a horizon");
        if (e.test < e.washout + e.horizon + e.trials - 1)
            bad("the test segment (" + std::to_string(e.test) + ") must hold washout + horizon + trials - 1 = " +
                std::to_string(e.washout + e.horizon + e.trials - 1) + " steps for the free runs");
    }
}

/// The protocol on a built network `net` (echo_state_network or spiking_reservoir).
template <class Net>
experiment_result evaluate(parex::chunked_executor* executor, const Net& net, const experiment& e,
                           const std::vector<double>& u, const std::vector<double>& y, workspace& space) {
    const auto d = static_cast<Eigen::Index>(net.feature_count());
    const std::size_t kept = e.train + e.test;
    space.features.resize(static_cast<std::size_t>(d) * kept);
    Eigen::Map<Eigen::MatrixXd> z(space.features.data(), d, static_cast<Eigen::Index>(kept));
    Eigen::VectorXd dropped(d);
    auto x = net.initial_state();
    for (std::size_t t = 0; t < e.washout + kept; ++t)
        net.step(x, u[t], t < e.washout ? dropped.data() : z.col(static_cast<Eigen::Index>(t - e.washout)).data());

    const auto train = static_cast<Eigen::Index>(e.train), test = static_cast<Eigen::Index>(e.test);
    const Eigen::Map<const Eigen::VectorXd> targets(y.data() + e.washout, static_cast<Eigen::Index>(kept));
    const Eigen::VectorXd w = ridge_solve(accumulate(executor, z.leftCols(train), targets.head(train)), e.ridge);

    experiment_result r;
    const Eigen::VectorXd predicted = z.rightCols(test).transpose() * w;
    r.prediction.assign(predicted.begin(), predicted.end());
    r.truth.assign(y.begin() + static_cast<std::ptrdiff_t>(e.washout + e.train),
                   y.begin() + static_cast<std::ptrdiff_t>(e.washout + kept));
    const double var = variance(r.truth);
    double sum = 0;
    for (std::size_t i = 0; i < r.truth.size(); ++i)
        sum += (r.prediction[i] - r.truth[i]) * (r.prediction[i] - r.truth[i]);
    r.nrmse = std::sqrt(sum / static_cast<double>(r.truth.size()) / var);
    r.state_updates = static_cast<double>(net.units()) * static_cast<double>(e.washout + kept);
    if (e.task != task::mackey_glass) return r;

    // free runs, in parallel; each trial's squared error at the horizon, summed in trial order
    const std::size_t spacing = e.trials > 1 ? (e.test - e.washout - e.horizon) / (e.trials - 1) : 0;
    struct trial_result {
        double squared_error = 0;
        std::vector<double> truth, prediction;
    };
    const auto run_trial = [&](std::size_t trial) {
        const std::size_t begin = e.washout + e.train + trial * spacing;
        auto state = net.initial_state();
        Eigen::VectorXd features(d);
        for (std::size_t t = begin; t < begin + e.washout; ++t) net.step(state, u[t], features.data());
        trial_result out;
        // the k-th prediction, k steps ahead of the last true input, estimates y(begin + washout + k - 2)
        double next = features.dot(w);
        for (std::size_t k = 1;; ++k) {
            const double truth = y[begin + e.washout + k - 2];
            if (trial == 0) out.prediction.push_back(next), out.truth.push_back(truth);
            if (k == e.horizon) {
                out.squared_error = (next - truth) * (next - truth);
                return out;
            }
            net.step(state, next, features.data());
            next = features.dot(w);
        }
    };
    std::vector<trial_result> trials;
    if (executor) {
        trials = executor->map(parex::chunks(e.trials, parex::grain{1}),
                               [&](const parex::chunk& c) { return run_trial(c.begin); });
    } else {
        for (std::size_t k = 0; k < e.trials; ++k) trials.push_back(run_trial(k));
    }
    double squared = 0;
    for (const auto& t : trials) squared += t.squared_error;
    r.nrmse_horizon = std::sqrt(squared / static_cast<double>(e.trials) / var);
    r.free_truth = trials.front().truth;
    r.free_prediction = trials.front().prediction;
    r.state_updates += static_cast<double>(net.units()) * static_cast<double>(e.trials * (e.washout + e.horizon - 1));
    return r;
}

}  // namespace detail

/// The series of `e.task` (inputs u and targets y, washout + train + test values each).
struct task_series {
    std::vector<double> input, target;
};
inline task_series make_series(const experiment& e) {
    const std::size_t n = e.washout + e.train + e.test;
    if (e.task == task::narma10) {
        auto s = narma10(n, e.seed);
        return {std::move(s.input), std::move(s.target)};
    }
    auto x = mackey_glass(n + 1);
    task_series s;
    s.input.resize(n);
    s.target.resize(n);
    for (std::size_t t = 0; t < n; ++t) s.input[t] = x[t] - 1, s.target[t] = x[t + 1] - 1;
    return s;
}

namespace detail {

inline experiment_result run(parex::chunked_executor* executor, const experiment& e, workspace& space,
                             const task_series* series) {
    const auto start = std::chrono::steady_clock::now();
    validate(e);
    const task_series own = series ? task_series{} : make_series(e);
    const task_series& s = series ? *series : own;
    if (s.input.size() < e.washout + e.train + e.test || s.target.size() < s.input.size())
        throw std::invalid_argument("experiment: the series is shorter than washout + train + test");
    space.rng.seed(e.seed);
    experiment_result r;
    if (e.model == model::esn) {
        const echo_state_network net(e.esn, space.rng);
        r = evaluate(executor, net, e, s.input, s.target, space);
    } else {
        const spiking_reservoir net(e.lif, space.rng);
        r = evaluate(executor, net, e, s.input, s.target, space);
        r.state_updates *= static_cast<double>(net.steps_per_sample());
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace detail

/// Builds the network of `e` (weights drawn from space.rng seeded with e.seed), runs the protocol on
/// `series` (make_series(e) when null) and returns its errors and time. The parallel parts (the
/// normal equations and the free runs) run on `executor` in plans fixed by the protocol's lengths, so
/// every number but the time is the same, bit for bit, for any thread count. Throws
/// std::invalid_argument for an experiment that breaks the protocol's rules or a model parameter
/// outside its range, std::runtime_error when the readout cannot be solved. Cost: O((washout + train
/// + test) N connections) reservoir updates (times steps_per_sample for the LIF model), O(train N^2)
/// for the normal equations, O(N^3) for the solve.
inline experiment_result run_experiment(parex::chunked_executor& executor, const experiment& e, workspace& space,
                                        const task_series* series = nullptr) {
    return detail::run(&executor, e, space, series);
}

/// run_experiment on the calling thread alone, with the same results bit for bit: a reference for
/// the parallel form, and for callers that have no executor.
inline experiment_result run_experiment(const experiment& e, workspace& space, const task_series* series = nullptr) {
    return detail::run(nullptr, e, space, series);
}

}  // namespace reservoir
