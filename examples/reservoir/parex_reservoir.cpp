// parex-reservoir: echo state networks and spiking reservoirs on the Mackey-Glass and NARMA10
// benchmarks; `run` trains and tests one reservoir, `sweep` runs a hyper-parameter grid balanced by
// cost. See README.md beside this file.
#include <common/cli.hpp>
#include <common/module_data.hpp>
#include <common/output_file.hpp>
#include <common/plot.hpp>
#include <reservoir/experiment.hpp>
#include <reservoir/sweep.hpp>

#include <parex/chunked_executor.hpp>
#include <parex/cost_schedule.hpp>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace cli = examples;
namespace rc = reservoir;

namespace {

struct options {
    std::string task = "mackey-glass", model = "esn";
    std::size_t units = 0, threads = 0, train = 0, connections = 0;
    std::uint64_t seed = 1;
    double spectral_radius = 0, leak_rate = 0, input_scaling = 0, ridge = -1;
    bool json = false, force = false;
    std::string plot, grid, out, schedule = "cost";
};

rc::task task_of(const options& o) { return o.task == "narma10" ? rc::task::narma10 : rc::task::mackey_glass; }

/// The experiment of `run`: the task's defaults, then the options given.
rc::experiment experiment_of(const options& o) {
    auto e = rc::defaults_for(task_of(o), o.model == "lif" ? rc::model::lif : rc::model::esn);
    e.seed = o.seed;
    const auto own = rc::shared(e);
    own.units = o.units;
    if (o.connections) own.connections = o.connections;
    if (o.input_scaling > 0) own.input_scaling = o.input_scaling;
    if (o.train) e.train = o.train;
    if (o.spectral_radius > 0) e.esn.spectral_radius = o.spectral_radius;
    if (o.leak_rate > 0) e.esn.leak_rate = o.leak_rate;
    if (o.ridge >= 0) e.ridge = o.ridge;
    return e;
}

nlohmann::json summary(const rc::experiment& e, const rc::experiment_result& r) {
    nlohmann::json j = {{"task", rc::name(e.task)},
                        {"model", rc::name(e.model)},
                        {"units", e.units()},
                        {"seed", e.seed},
                        {"nrmse", r.nrmse}};
    if (e.task == rc::task::mackey_glass) j["nrmse_84"] = r.nrmse_horizon;
    j["seconds"] = r.seconds;
    return j;
}

/// The prediction against the truth, as plot_prediction.py reads it: segment,step,truth,prediction.
std::string prediction_csv(const rc::experiment_result& r) {
    std::string s = "segment,step,truth,prediction\n";
    for (std::size_t i = 0; i < r.truth.size(); ++i)
        s += fmt::format("one-step,{},{:.17g},{:.17g}\n", i, r.truth[i], r.prediction[i]);
    for (std::size_t i = 0; i < r.free_truth.size(); ++i)
        s += fmt::format("free-run,{},{:.17g},{:.17g}\n", i + 1, r.free_truth[i], r.free_prediction[i]);
    return s;
}

int run(const options& o) {
    const auto e = experiment_of(o);
    std::optional<cli::output_file> png;
    if (!o.plot.empty()) png.emplace(fs::path(o.plot), o.force);  // before the work: exists? writable?
    parex::chunked_executor executor({.max_concurrency = o.threads});
    rc::workspace space;
    const auto r = [&] {
        try {
            return rc::run_experiment(executor, e, space);
        } catch (const std::invalid_argument& error) {  // every parameter came from an option: a usage error
            throw cli::usage_failure(error.what());
        }
    }();
    auto j = summary(e, r);
    if (png) {
        cli::run_plot_script("--plot", EXAMPLES_PLOT_PYTHON, cli::module_data_dir("reservoir") / "plot_prediction.py",
                             prediction_csv(r), {png->temporary_path()->string(), j.dump()});
        png->commit();
    }
    if (o.json) {
        std::cout << j.dump(2) << '\n';
        return 0;
    }
    fmt::print("parex-reservoir: {} of {} units on {} (seed {}, {} threads)\n", rc::name(e.model), e.units(),
               rc::name(e.task), e.seed, executor.max_concurrency());
    fmt::print("  one-step NRMSE        {:.3e} over {} test steps\n", r.nrmse, e.test);
    if (e.task == rc::task::mackey_glass)
        fmt::print("  NRMSE at {} steps     {:.3e} (10^{:.2f}) over {} free runs\n", e.horizon, r.nrmse_horizon,
                   std::log10(r.nrmse_horizon), e.trials);
    fmt::print("  time                  {:.3f} s, {:.3g} state updates/s\n", r.seconds, r.state_updates / r.seconds);
    return 0;
}

std::string results_csv(const std::vector<rc::experiment>& grid, const rc::sweep_outcome& out) {
    std::string s = "row,model,units,spectral_radius,leak_rate,input_scaling,ridge,seed,train,nrmse,nrmse_84,seconds\n";
    for (std::size_t i = 0; i < grid.size(); ++i) {
        const auto& e = grid[i];
        const auto& r = out.results[i];
        s += fmt::format("{},{},{},{:g},{:g},{:g},{:g},{},{},{:.9g},{},{:.6f}\n", i + 1, rc::name(e.model), e.units(),
                         e.esn.spectral_radius, e.esn.leak_rate, e.input_scaling(), e.ridge, e.seed, e.train, r.nrmse,
                         e.task == rc::task::mackey_glass ? fmt::format("{:.9g}", r.nrmse_horizon) : std::string(),
                         r.seconds);
    }
    return s;
}

int sweep(const options& o) {
    const auto grid = rc::read_grid(o.grid, task_of(o));
    cli::output_file out(o.out.empty() ? std::nullopt : std::optional(fs::path(o.out)), o.force);
    parex::chunked_executor executor({.max_concurrency = o.threads});
    parex::cost_model model;
    const auto order = o.schedule == "cost" ? rc::schedule::cost_aware : rc::schedule::input_order;
    const auto outcome = rc::run_sweep(executor, grid, order, model);
    out.write(results_csv(grid, outcome));
    out.commit();
    const auto best = std::min_element(outcome.results.begin(), outcome.results.end(),
                                       [](const auto& a, const auto& b) { return a.nrmse < b.nrmse; });
    const nlohmann::json j = {{"task", o.task},
                              {"configurations", grid.size()},
                              {"threads", executor.max_concurrency()},
                              {"schedule", o.schedule},
                              {"makespan_seconds", outcome.makespan_seconds},
                              {"lower_bound_seconds", outcome.lower_bound_seconds},
                              {"best_row", grid.empty() ? 0 : best - outcome.results.begin() + 1},
                              {"best_nrmse", grid.empty() ? 0.0 : best->nrmse}};
    if (o.json)
        std::cerr << j.dump(2) << '\n';
    else
        fmt::print(stderr,
                   "parex-reservoir: {} configurations on {} threads ({} schedule): makespan {:.3f} s, lower bound "
                   "{:.3f} s ({:.3f}x); best row {} with NRMSE {:.3e}\n",
                   grid.size(), executor.max_concurrency(), o.schedule, outcome.makespan_seconds,
                   outcome.lower_bound_seconds, outcome.makespan_seconds / outcome.lower_bound_seconds,
                   j["best_row"].get<std::size_t>(), j["best_nrmse"].get<double>());
    return 0;
}

void add_task(CLI::App* app, options& o) {
    app->add_option("--task", o.task, "benchmark: mackey-glass (tau = 17, one-step and 84-step free run) or narma10")
        ->check(CLI::IsMember({"mackey-glass", "narma10"}))
        ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"parex-reservoir: echo state networks and spiking reservoirs, trained and swept on parex",
                 "parex-reservoir"};
    options o;
    cli::accept_options_anywhere(app);
    cli::add_threads(&app, o.threads);
    app.require_subcommand(1);

    auto* run_cmd = app.add_subcommand("run", "train and test one reservoir; print its errors and time");
    add_task(run_cmd, o);
    run_cmd->add_option("--model", o.model, "esn (echo state network) or lif (spiking, leaky integrate-and-fire)")
        ->check(CLI::IsMember({"esn", "lif"}))
        ->capture_default_str();
    cli::add_integer(run_cmd, "--units", o.units, "reservoir units (neurons)", 1, rc::max_units)->required();
    cli::add_integer(run_cmd, "--seed", o.seed, "seed of the weights (and of NARMA10's input)", 0,
                     std::numeric_limits<std::int64_t>::max());
    cli::add_integer(run_cmd, "--connections", o.connections, "recurrent weights per unit (0 = 10)", 0, rc::max_units);
    cli::add_integer(run_cmd, "--train", o.train, "training steps (0 = the task's default)", 0, 500'000);
    cli::add_real(run_cmd, "--spectral-radius", o.spectral_radius, "ESN spectral radius (0 = the task's default)", 0,
                  10);
    cli::add_real(run_cmd, "--leak-rate", o.leak_rate, "ESN leak rate (0 = the task's default)", 0, 1);
    cli::add_real(run_cmd, "--input-scaling", o.input_scaling, "input weight scale (0 = the task's default)", 0, 100);
    cli::add_real(run_cmd, "--ridge", o.ridge, "readout regularisation (-1 = the task's default)", -1, 1e6);
    run_cmd->add_flag("--json", o.json, "print task, model, units, seed, nrmse, nrmse_84 and seconds as JSON");
    run_cmd->add_option("--plot", o.plot, "draw the prediction against the truth to this PNG (python3-matplotlib)");
    run_cmd->add_flag("-f,--force", o.force, "overwrite an existing --plot file");

    auto* sweep_cmd = app.add_subcommand("sweep", "run a hyper-parameter grid in parallel, balanced by cost");
    add_task(sweep_cmd, o);
    sweep_cmd->add_option("--grid", o.grid, "CSV of configurations (columns: model, units and optional parameters)")
        ->required()
        ->check(CLI::ExistingFile);
    sweep_cmd->add_option("-o,--out", o.out, "write the results CSV here (default: standard output)");
    sweep_cmd->add_option("--schedule", o.schedule, "cost (heaviest first, learned costs) or input (grid order)")
        ->check(CLI::IsMember({"cost", "input"}))
        ->capture_default_str();
    sweep_cmd->add_flag("--json", o.json, "print the sweep's summary as JSON (on standard error)");
    sweep_cmd->add_flag("-f,--force", o.force, "overwrite an existing --out file");

    return cli::run_program(app, argc, argv, [&] { return *run_cmd ? run(o) : sweep(o); });
}
