#pragma once
// reservoir/sweep.hpp: a hyper-parameter grid run in parallel, each configuration one task, the tasks
// of very different costs (reservoirs of 100 to 2000 units, rate and spiking models) balanced by
// parex's cost-aware scheduling.

#include <reservoir/experiment.hpp>

#include <common/csv.hpp>

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>
#include <parex/cost_schedule.hpp>
#include <parex/worker_local.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace reservoir {

/// Reads a grid: a CSV table whose header names its columns, one experiment per row, for `t`. The
/// columns, in any order: model (esn or lif) and units are required; spectral_radius, leak_rate,
/// input_scaling, connections (for either model), ridge, seed, train and test are optional, and a
/// missing or empty one keeps defaults_for(t, model). Lines starting with '#' are comments.
/// Throws examples::table_error naming the file, line and column for an unknown column or a bad value.
inline std::vector<experiment> read_grid(const std::filesystem::path& path, task t) {
    static const std::vector<std::string> known = {"model",         "units", "spectral_radius", "leak_rate",
                                                   "input_scaling", "ridge", "connections",     "seed",
                                                   "train",         "test"};
    std::map<std::string, std::size_t> column;
    std::vector<experiment> grid;
    const auto header = [&](const std::vector<std::string>& fields) {
        for (std::size_t i = 0; i < fields.size(); ++i) {
            const std::string name(examples::trim_space(fields[i]));
            if (std::find(known.begin(), known.end(), name) == known.end())
                throw std::invalid_argument("unknown column '" + name + "'");
            column[name] = i;
        }
        if (!column.count("model") || !column.count("units"))
            throw std::invalid_argument("the columns model and units are required");
    };
    const auto row = [&](const std::vector<std::string>& fields) {
        const auto field = [&](const std::string& name) -> std::string_view {
            const auto it = column.find(name);
            return it == column.end() || it->second >= fields.size() ? std::string_view{}
                                                                     : examples::trim_space(fields[it->second]);
        };
        const auto model_name = field("model");
        if (model_name != "esn" && model_name != "lif")
            throw std::invalid_argument("model: '" + std::string(model_name) + "' is not esn or lif");
        experiment e = defaults_for(t, model_name == "esn" ? model::esn : model::lif);
        const auto set = [&](const std::string& name, auto& value) {
            if (const auto text = field(name); !text.empty())
                value = examples::csv_number<std::remove_reference_t<decltype(value)>>(text, name);
        };
        const auto own = shared(e);
        set("units", own.units);
        set("connections", own.connections);
        set("input_scaling", own.input_scaling);
        set("spectral_radius", e.esn.spectral_radius);
        set("leak_rate", e.esn.leak_rate);
        set("ridge", e.ridge);
        set("seed", e.seed);
        set("train", e.train);
        set("test", e.test);
        detail::validate(e);
        grid.push_back(e);
    };
    examples::read_csv(path, {.header = true, .comment = '#'}, header, row);
    return grid;
}

/// The estimated work of an experiment, in multiply-adds: reservoir updates (N connections per step,
/// times the LIF model's steps per sample, plus the per-unit work of a step), the normal equations
/// (train D^2 / 2 for D = N + 2 features) and the solve (D^3 / 3). The two models' constants differ:
/// a parex::cost_model learns seconds per unit of this estimate for each kind ("esn", "lif").
[[nodiscard]] inline parex::task_cost estimated_cost(const experiment& e) {
    const double n = static_cast<double>(e.units()), d = n + 2;
    double steps = static_cast<double>(e.washout + e.train + e.test);
    if (e.task == task::mackey_glass) steps += static_cast<double>(e.trials * (e.washout + e.horizon));
    double update = 0;
    if (e.model == model::esn) {
        update = steps * n * (static_cast<double>(e.esn.connections) + 20);
    } else {
        update = steps * n * 20 * (e.lif.sample_ms / e.lif.dt_ms);
    }
    const double train = static_cast<double>(e.train);
    return {name(e.model), update + train * d * d / 2 + d * d * d / 3};
}

/// How run_sweep orders the configurations.
enum class schedule {
    cost_aware,   ///< parex::map_by_cost with a cost_model: heaviest estimated first
    input_order,  ///< the executor's map over the grid in file order (work stealing)
};

struct sweep_outcome {
    std::vector<experiment_result> results;  ///< in grid order
    double makespan_seconds = 0;             ///< wall time of the whole sweep
    /// max(sum of the experiments' own times / workers, the longest one): no schedule of these
    /// tasks on this many workers finishes earlier (parex::makespan_lower_bound).
    double lower_bound_seconds = 0;
};

/// Runs every experiment of `grid` as one task on `executor`; each task's own parallel parts (the
/// normal equations, the free runs) run nested on the same executor, so threads left idle by the
/// grid's last rows help the rows still running. A row's numbers equal `run`'s for the same
/// configuration, bit for bit. Each worker keeps its workspace (feature storage, generator) in a
/// parex::worker_local between tasks: the executor isolates nested calls, so no other row takes a
/// workspace while its row waits in one. With schedule::cost_aware the tasks start heaviest first by
/// `model`'s estimate of estimated_cost, and the measured times are recorded into `model`.
/// Throws what the first failing experiment throws (the rest are not started).
inline sweep_outcome run_sweep(parex::chunked_executor& executor, const std::vector<experiment>& grid, schedule order,
                               parex::cost_model& model) {
    parex::worker_local<workspace> spaces(executor, [](std::size_t) { return workspace{}; });
    const auto task = [&](std::size_t i) { return run_experiment(executor, grid[i], spaces.get()); };
    const auto start = std::chrono::steady_clock::now();
    sweep_outcome out;
    if (order == schedule::cost_aware) {
        out.results = parex::map_by_cost(
            executor, grid.size(), model, [&](std::size_t i) { return estimated_cost(grid[i]); }, task);
    } else {
        out.results = executor.map(parex::chunks(grid.size(), parex::grain{1}),
                                   [&](const parex::chunk& c) { return task(c.begin); });
    }
    out.makespan_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<double> seconds;
    for (const auto& r : out.results) seconds.push_back(r.seconds);
    if (!seconds.empty()) out.lower_bound_seconds = parex::makespan_lower_bound(seconds, executor.max_concurrency());
    return out;
}

}  // namespace reservoir
