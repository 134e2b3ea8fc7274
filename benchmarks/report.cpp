// parex-bench-report: reads Google Benchmark JSON files whose benchmarks follow the naming convention
// "<module>/<input>/<role>" (role = sequential | parex | peer:<name>) and prints the main job's summary:
// one line per benchmark with parex's speed-up over its sequential run and its ratio to the fastest
// peer (> 1: parex is faster). The full table (module, input, sequential time, parallel time, speed-up,
// throughput, and each peer with its time and ratio) goes to --table, the same as JSON to --json.
//
// Usage: parex-bench-report [--table TABLE.txt] [--json SUMMARY.json] RAW.json...
// TABLE.txt and SUMMARY.json are replaced whole (a temporary file beside each, renamed over it).

#include <common/output_file.hpp>

#include <fmt/core.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

using json = nlohmann::json;

struct measurement {
    double ms = 0;                     // median wall-clock time per iteration
    std::optional<double> throughput;  // per second
    std::string unit;                  // "B/s" or "items/s"
    std::optional<double> ratio;       // compression ratio, when the benchmark reports one
    std::optional<double> items;       // items per second, when bytes per second is the throughput
};

struct row {
    std::string module, input;
    std::optional<measurement> sequential, parallel;
    std::vector<std::pair<std::string, measurement>> peers;
};

double to_ms(double value, const std::string& unit) {
    if (unit == "ns") return value / 1e6;
    if (unit == "us") return value / 1e3;
    if (unit == "ms") return value;
    if (unit == "s") return value * 1e3;
    throw std::runtime_error("unknown time unit '" + unit + "'");
}

measurement measurement_of(const json& b) {
    measurement m{to_ms(b.at("real_time").get<double>(), b.at("time_unit").get<std::string>()), {}, {}, {}, {}};
    if (b.contains("bytes_per_second")) m.throughput = b["bytes_per_second"].get<double>(), m.unit = "B/s";
    if (b.contains("bytes_per_second") && b.contains("items_per_second"))
        m.items = b["items_per_second"].get<double>();
    else if (b.contains("items_per_second"))
        m.throughput = b["items_per_second"].get<double>(), m.unit = "items/s";
    if (b.contains("ratio")) m.ratio = b["ratio"].get<double>();
    return m;
}

std::string format_time(double ms) {
    return ms >= 100 ? fmt::format("{:.0f} ms", ms)
           : ms >= 1 ? fmt::format("{:.2f} ms", ms)
                     : fmt::format("{:.1f} us", ms * 1e3);
}

std::string format_items(double per_second) {
    return per_second >= 1e6   ? fmt::format("{:.0f} M items/s", per_second / 1e6)
           : per_second >= 1e3 ? fmt::format("{:.0f} k items/s", per_second / 1e3)
                               : fmt::format("{:.0f} items/s", per_second);
}

std::string format_throughput(const measurement& m) {
    if (!m.throughput) return "-";
    if (m.ratio)
        return format_throughput(measurement{m.ms, m.throughput, m.unit, std::nullopt, m.items}) +
               fmt::format(", ratio {:.3f}", *m.ratio);
    if (m.items)
        return format_throughput(measurement{m.ms, m.throughput, m.unit, m.ratio, std::nullopt}) + ", " +
               format_items(*m.items);
    if (m.unit == "B/s" && *m.throughput < 1e6) return fmt::format("{:.0f} kB/s", *m.throughput / 1e3);
    if (m.unit == "B/s" && *m.throughput < 1e9) return fmt::format("{:.0f} MB/s", *m.throughput / 1e6);
    if (m.unit == "B/s") return fmt::format("{:.2f} GB/s", *m.throughput / 1e9);
    return format_items(*m.throughput);
}

/// parex's speed relative to the peer: the throughput ratio when both count the same unit (it also
/// covers peers that do other work, such as the STREAM triad), else the inverse time ratio.
double ratio(const measurement& parex, const measurement& peer) {
    if (parex.throughput && peer.throughput && parex.unit == peer.unit) return *parex.throughput / *peer.throughput;
    return peer.ms / parex.ms;
}

/// Drops what Google Benchmark appends to a registered name ("/8", "/iterations:2", "/real_time").
void strip_benchmark_suffixes(std::string& name) {
    const auto is_suffix = [](std::string_view part) {
        const bool numeric =
            !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        return numeric || part == "real_time" || part == "manual_time" || part == "process_time" ||
               part.starts_with("iterations:") || part.starts_with("repeats:") || part.starts_with("min_time:") ||
               part.starts_with("threads:");
    };
    for (auto slash = name.rfind('/');
         slash != std::string::npos && is_suffix(std::string_view(name).substr(slash + 1)); slash = name.rfind('/'))
        name.resize(slash);
}

/// The lines of a table whose columns are as wide as their widest cell, two spaces apart.
std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& cells) {
    std::vector<std::size_t> widths(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        widths[c] = header[c].size();
        for (const auto& line : cells) widths[c] = std::max(widths[c], line[c].size());
    }
    std::string text;
    const auto add_line = [&](const std::vector<std::string>& line) {
        std::string out;
        for (std::size_t c = 0; c < line.size(); ++c) out += fmt::format("{:<{}}  ", line[c], widths[c]);
        while (!out.empty() && out.back() == ' ') out.pop_back();
        text += out + '\n';
    };
    add_line(header);
    std::vector<std::string> rule;
    for (auto w : widths) rule.emplace_back(w, '-');
    add_line(rule);
    for (const auto& line : cells) add_line(line);
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Prints the parex benchmark table from Google Benchmark JSON files"};
    std::vector<std::filesystem::path> inputs;
    std::filesystem::path summary_path, table_path;
    app.add_option("raw", inputs, "Google Benchmark --benchmark_out JSON files")->required()->check(CLI::ExistingFile);
    app.add_option("--json", summary_path, "write the table as JSON here");
    app.add_option("--table", table_path, "write the full table (every peer, times, throughputs) here");
    CLI11_PARSE(app, argc, argv);

    std::vector<row> rows;
    std::vector<std::string> errors;
    json context;
    const auto row_for = [&](const std::string& module, const std::string& input) -> row& {
        auto it = std::find_if(rows.begin(), rows.end(),
                               [&](const row& r) { return r.module == module && r.input == input; });
        if (it != rows.end()) return *it;
        return rows.emplace_back(row{module, input, {}, {}, {}});
    };

    for (const auto& path : inputs) {
        if (std::filesystem::file_size(path) == 0) continue;  // a binary whose benchmarks were all filtered out
        std::ifstream in(path);
        json doc;
        try {
            doc = json::parse(in);
        } catch (const json::parse_error& e) {
            fmt::print(stderr, "{}: not Google Benchmark JSON: {}\n", path.string(), e.what());
            return 1;
        }
        if (context.is_null()) context = doc.at("context");
        std::map<std::string, json> chosen;  // per run: the median aggregate, else the last iteration
        for (const auto& b : doc.at("benchmarks")) {
            std::string name = b.value("run_name", b.at("name").get<std::string>());
            if (b.value("error_occurred", false)) {
                errors.push_back(name + ": " + b.value("error_message", std::string("error")));
                continue;
            }
            const bool median = b.value("aggregate_name", "") == "median";
            if (b.value("run_type", "iteration") == "aggregate" && !median) continue;
            if (median || !chosen.contains(name) || chosen[name].value("aggregate_name", "") != "median")
                chosen[name] = b;
        }
        // Keep the file's order: iterate its benchmarks again, taking each run once.
        for (const auto& b : doc.at("benchmarks")) {
            std::string name = b.value("run_name", b.at("name").get<std::string>());
            auto it = chosen.find(name);
            if (it == chosen.end()) continue;
            const auto m = measurement_of(it->second);
            chosen.erase(it);
            strip_benchmark_suffixes(name);
            const auto first = name.find('/');
            const auto last = name.rfind('/');
            if (first == std::string::npos || first == last) {
                errors.push_back(name + ": not named <module>/<input>/<role>");
                continue;
            }
            auto& r = row_for(name.substr(0, first), name.substr(first + 1, last - first - 1));
            const auto role = name.substr(last + 1);
            if (role == "sequential")
                r.sequential = m;
            else if (role == "parex")
                r.parallel = m;
            else if (role.starts_with("peer:"))
                r.peers.emplace_back(role.substr(5), m);
            else
                errors.push_back(name + ": unknown role '" + role + "'");
        }
    }

    // Stable order whatever order the runs came in (random interleaving shuffles them).
    std::sort(rows.begin(), rows.end(),
              [](const row& a, const row& b) { return std::tie(a.module, a.input) < std::tie(b.module, b.input); });
    for (auto& r : rows)
        std::sort(r.peers.begin(), r.peers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

    // The table: a row per (module, input), a continuation line per further peer.
    const std::vector<std::string> header{"module",     "input", "sequential", "parallel",     "speed-up",
                                          "throughput", "peer",  "peer time",  "parex vs peer"};
    std::vector<std::vector<std::string>> cells;
    const std::vector<std::string> compact_header{"module", "input", "speed-up", "fastest peer", "parex vs it"};
    std::vector<std::vector<std::string>> compact;
    json summary_rows = json::array();
    for (const auto& r : rows) {
        json jr{{"module", r.module}, {"input", r.input}, {"peers", json::array()}};
        std::vector<std::string> line{r.module, r.input, "-", "-", "-", "-", "-", "-", "-"};
        if (r.sequential) line[2] = format_time(r.sequential->ms), jr["sequential_ms"] = r.sequential->ms;
        if (r.parallel) {
            line[3] = format_time(r.parallel->ms);
            line[5] = format_throughput(*r.parallel);
            jr["parallel_ms"] = r.parallel->ms;
            if (r.parallel->throughput)
                jr["throughput"] = {{"value", *r.parallel->throughput}, {"unit", r.parallel->unit}};
            if (r.parallel->ratio) jr["ratio"] = *r.parallel->ratio;
            if (r.parallel->items) jr["items_per_second"] = *r.parallel->items;
        }
        std::string speedup = "-";
        if (r.sequential && r.parallel) {
            speedup = line[4] = fmt::format("{:.2f}x", r.sequential->ms / r.parallel->ms);
            jr["speedup"] = r.sequential->ms / r.parallel->ms;
        }
        if (r.peers.empty()) cells.push_back(line);
        for (std::size_t p = 0; p < r.peers.size(); ++p) {
            const auto& [peer_name, peer] = r.peers[p];
            if (p > 0) line.assign(line.size(), "");
            line[6] = peer_name;
            line[7] = format_time(peer.ms) + (peer.throughput ? " (" + format_throughput(peer) + ")" : "");
            json jp{{"name", peer_name}, {"time_ms", peer.ms}};
            if (peer.throughput) jp["throughput"] = {{"value", *peer.throughput}, {"unit", peer.unit}};
            if (peer.ratio) jp["ratio"] = *peer.ratio;
            if (r.parallel) {
                line[8] = fmt::format("{:.2f}x", ratio(*r.parallel, peer));
                jp["parex_vs_peer"] = ratio(*r.parallel, peer);
            }
            jr["peers"].push_back(jp);
            cells.push_back(line);
        }
        // The compact line: the speed-up, and the ratio to the fastest peer (the smallest ratio).
        std::vector<std::string> brief{r.module, r.input, speedup, "-", "-"};
        if (r.parallel && !r.peers.empty()) {
            const auto fastest = std::min_element(r.peers.begin(), r.peers.end(), [&](const auto& a, const auto& b) {
                return ratio(*r.parallel, a.second) < ratio(*r.parallel, b.second);
            });
            brief[3] = fastest->first;
            brief[4] = fmt::format("{:.2f}x", ratio(*r.parallel, fastest->second));
            jr["fastest_peer"] = fastest->first;
            jr["parex_vs_fastest_peer"] = ratio(*r.parallel, fastest->second);
        }
        compact.push_back(brief);
        summary_rows.push_back(jr);
    }

    fmt::print("parex benchmarks: {} threads on {} CPUs at {} MHz, parex {}, {}\n",
               context.value("parex_threads", std::string("?")), context.value("num_cpus", 0),
               context.value("mhz_per_cpu", 0), context.value("parex_build", std::string("?")),
               context.value("date", std::string("?")));
    fmt::print("times are medians of the repetitions (wall clock); a ratio > 1 means parex is faster\n\n");
    fmt::print("{}", format_table(compact_header, compact));
    for (const auto& e : errors) fmt::print(stderr, "benchmark error: {}\n", e);

    if (!table_path.empty()) {
        examples::write_atomically(table_path, format_table(header, cells), true);
        fmt::print("\nfull table: {}\n", table_path.string());
    }
    if (!summary_path.empty()) {
        const json summary{{"context", context}, {"rows", summary_rows}, {"errors", errors}};
        examples::write_atomically(summary_path, summary.dump(2) + '\n', true);
        fmt::print("{}JSON: {}\n", table_path.empty() ? "\n" : "", summary_path.string());
    }
    return errors.empty() ? 0 : 1;
}
