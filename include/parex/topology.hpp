#pragma once
// parex/topology.hpp: how many cores this process may use, and how many workers a workload gets.
//
// Every count is bounded by the process affinity mask (sched_getaffinity) and by the cgroup v2 CPU
// quota (cpu.max) of the process's cgroup and its ancestors, so a container limited to half a CPU
// gets one worker, not one per host core. Linux only (sysfs, procfs).

#include <parex/errors.hpp>

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace parex {

/// What a pool of workers mostly waits on; selects the worker-count policy of workers_for().
enum class workload {
    cpu_bound,  ///< one worker per physical core: hyperthreads share one core's execution units
    io_bound,   ///< 2 x logical cores: workers mostly sleep in system calls
    mixed,      ///< 1.5 x logical cores
};

/// The cores this process may run on. Counts are at least 1.
struct topology {
    std::size_t logical_cores = 1;    ///< online logical CPUs in the affinity mask
    std::size_t physical_cores = 1;   ///< distinct (package, core) pairs among those CPUs
    std::size_t numa_nodes = 1;       ///< NUMA nodes holding at least one of those CPUs
    std::optional<double> cpu_quota;  ///< cgroup v2 cpu.max as CPUs (quota / period); empty = no limit
    /// Bytes of the highest-level data or unified cache of the first CPU in the mask (on most x86
    /// servers the L3 its core shares); empty when sysfs does not say. Outputs much larger than this
    /// do not stay in the cache (a reason to store them past it).
    std::optional<std::size_t> last_level_cache_bytes;

    /// Logical cores after the quota: min(logical_cores, ceil(cpu_quota)), at least 1.
    [[nodiscard]] std::size_t usable_logical_cores() const {
        if (!cpu_quota) return logical_cores;
        const auto quota = static_cast<std::size_t>(std::ceil(*cpu_quota));
        return std::clamp<std::size_t>(quota, 1, logical_cores);
    }
    /// Physical cores after the quota: min(physical_cores, usable_logical_cores()).
    [[nodiscard]] std::size_t usable_physical_cores() const { return std::min(physical_cores, usable_logical_cores()); }
};

/// Where read_topology() looks. The defaults are the live system; tests point them at fake trees.
struct topology_sources {
    std::filesystem::path cpu_dir = "/sys/devices/system/cpu";    ///< cpuN/topology/{core_id,...}
    std::filesystem::path node_dir = "/sys/devices/system/node";  ///< nodeN/cpulist
    std::filesystem::path cgroup_root = "/sys/fs/cgroup";         ///< cgroup v2 mount
    std::filesystem::path self_cgroup = "/proc/self/cgroup";      ///< "0::/path" names our cgroup
    /// CPUs the process may run on; empty = ask sched_getaffinity().
    std::optional<std::vector<std::size_t>> affinity;
};

namespace detail {

inline std::optional<std::string> read_first_line(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return line;
}

inline std::optional<std::size_t> parse_count(std::string_view text) {
    std::size_t value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    return value;
}

/// Parses the kernel's cpulist format ("0-3,8,10-11"); an empty list gives no CPUs.
/// Throws parex::invalid_argument on anything else.
inline std::vector<std::size_t> parse_cpu_list(std::string_view list) {
    std::vector<std::size_t> cpus;
    while (!list.empty() && (list.back() == '\n' || list.back() == ' ')) list.remove_suffix(1);
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto item = list.substr(0, comma);
        const auto dash = item.find('-');
        const auto first = parse_count(item.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : parse_count(item.substr(dash + 1));
        if (!first || !last || *last < *first)
            throw parex::invalid_argument("parex: bad cpu list item '" + std::string(item) + "'");
        for (auto cpu = *first; cpu <= *last; ++cpu) cpus.push_back(cpu);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    return cpus;
}

inline std::vector<std::size_t> affinity_of_this_process() {
    std::vector<std::size_t> cpus;
    for (std::size_t set_size = 1024; set_size <= (std::size_t{1} << 20); set_size *= 2) {
        cpu_set_t* set = CPU_ALLOC(set_size);
        const auto bytes = CPU_ALLOC_SIZE(set_size);
        const bool ok = sched_getaffinity(0, bytes, set) == 0;
        if (ok)
            for (std::size_t cpu = 0; cpu < set_size; ++cpu)
                if (CPU_ISSET_S(cpu, bytes, set)) cpus.push_back(cpu);
        CPU_FREE(set);
        if (ok) return cpus;  // EINVAL means the mask is larger than set_size: try a larger one
    }
    const auto n = std::max(1u, std::thread::hardware_concurrency());
    for (std::size_t cpu = 0; cpu < n; ++cpu) cpus.push_back(cpu);
    return cpus;
}

/// The tightest cgroup v2 cpu.max quota on the path from our cgroup up to the root, in CPUs.
inline std::optional<double> cgroup_cpu_quota(const topology_sources& src) {
    std::ifstream in(src.self_cgroup);
    std::string line;
    std::optional<std::filesystem::path> relative;
    while (std::getline(in, line))
        if (line.starts_with("0::")) relative = std::filesystem::path(line.substr(3)).relative_path();
    if (!relative) return std::nullopt;  // cgroup v1 only: no cpu.max to read

    std::optional<double> tightest;
    auto dir = src.cgroup_root;
    const auto tighten = [&](const std::filesystem::path& cgroup) {
        const auto text = read_first_line(cgroup / "cpu.max");  // "QUOTA PERIOD" or "max PERIOD"
        if (!text) return;
        const std::string_view fields(*text);
        const auto space = fields.find(' ');
        if (space == std::string_view::npos) return;
        const auto quota = parse_count(fields.substr(0, space));  // "max" (no limit) does not parse
        const auto period = parse_count(fields.substr(space + 1));
        if (!quota || !period || *period == 0) return;
        const double cpus = static_cast<double>(*quota) / static_cast<double>(*period);
        tightest = tightest ? std::min(*tightest, cpus) : cpus;
    };
    tighten(dir);
    for (const auto& part : *relative) tighten(dir /= part);
    return tightest;
}

/// A sysfs cache size ("32768K", "1M", "512"), in bytes.
inline std::optional<std::size_t> parse_cache_size(std::string_view text) {
    std::size_t unit = 1;
    if (!text.empty() && (text.back() == 'K' || text.back() == 'M' || text.back() == 'G')) {
        unit = text.back() == 'K'   ? std::size_t{1} << 10
               : text.back() == 'M' ? std::size_t{1} << 20
                                    : std::size_t{1} << 30;
        text.remove_suffix(1);
    }
    const auto n = parse_count(text);
    return n ? std::optional<std::size_t>(*n * unit) : std::nullopt;
}

/// cpuN/cache/indexK: the size of the highest-level cache that holds data (type Data or Unified).
inline std::optional<std::size_t> last_level_cache(const std::filesystem::path& cpu_dir, std::size_t cpu) {
    std::optional<std::size_t> best_level, bytes;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(cpu_dir / ("cpu" + std::to_string(cpu)) / "cache", ec)) {
        if (!entry.path().filename().string().starts_with("index")) continue;
        const auto type = read_first_line(entry.path() / "type");
        const auto level_text = read_first_line(entry.path() / "level");
        const auto size_text = read_first_line(entry.path() / "size");
        if (!type || *type == "Instruction" || !level_text || !size_text) continue;
        const auto level = parse_count(*level_text);
        const auto size = parse_cache_size(*size_text);
        if (level && size && (!best_level || *level > *best_level)) best_level = level, bytes = size;
    }
    return bytes;
}

}  // namespace detail

/// Reads the topology from sysfs, procfs and the affinity mask (or the fakes in `src`).
/// Missing files fall back conservatively: no core_id means one physical core per logical CPU,
/// no node directory means one NUMA node, no cgroup v2 means no quota, no cache directory no cache size.
/// Throws parex::invalid_argument when a cpulist file is malformed.
inline topology read_topology(const topology_sources& src = {}) {
    auto cpus = src.affinity ? *src.affinity : detail::affinity_of_this_process();
    std::sort(cpus.begin(), cpus.end());
    cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
    if (auto online = detail::read_first_line(src.cpu_dir / "online")) {
        const auto on = detail::parse_cpu_list(*online);
        std::erase_if(cpus, [&](std::size_t c) { return !std::binary_search(on.begin(), on.end(), c); });
    }

    topology t;
    t.logical_cores = std::max<std::size_t>(1, cpus.size());

    std::set<std::pair<std::size_t, std::size_t>> cores;  // (package, core_id)
    for (const auto cpu : cpus) {
        const auto dir = src.cpu_dir / ("cpu" + std::to_string(cpu)) / "topology";
        const auto core = detail::read_first_line(dir / "core_id");
        const auto package = detail::read_first_line(dir / "physical_package_id");
        const auto core_id = core ? detail::parse_count(*core) : std::nullopt;
        const auto package_id = package ? detail::parse_count(*package) : std::nullopt;
        // Unknown topology: count the CPU as its own core (a unique key past any real package id).
        if (core_id && package_id)
            cores.emplace(*package_id, *core_id);
        else
            cores.emplace(static_cast<std::size_t>(-1), cpu);
    }
    t.physical_cores = std::max<std::size_t>(1, cores.size());

    std::size_t nodes = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(src.node_dir, ec)) {
        const auto name = entry.path().filename().string();
        if (!name.starts_with("node") || !detail::parse_count(std::string_view(name).substr(4))) continue;
        const auto list = detail::read_first_line(entry.path() / "cpulist");
        if (!list) continue;
        const auto node_cpus = detail::parse_cpu_list(*list);
        if (std::ranges::any_of(node_cpus, [&](std::size_t c) { return std::ranges::binary_search(cpus, c); })) ++nodes;
    }
    t.numa_nodes = std::max<std::size_t>(1, nodes);
    t.cpu_quota = detail::cgroup_cpu_quota(src);
    if (!cpus.empty()) t.last_level_cache_bytes = detail::last_level_cache(src.cpu_dir, cpus.front());
    return t;
}

/// The topology of this process, read once on first use (thread-safe).
/// Later changes of affinity or quota are not seen; call read_topology() for a fresh reading.
inline const topology& this_process_topology() {
    static const topology t = read_topology();
    return t;
}

/// PAREX_NUM_THREADS as a worker count, or empty when the variable is unset.
/// Throws parex::invalid_argument when it is set to anything but a positive decimal integer.
inline std::optional<std::size_t> num_threads_from_environment() {
    const char* text = std::getenv("PAREX_NUM_THREADS");
    if (text == nullptr) return std::nullopt;
    const auto value = detail::parse_count(text);
    if (!value || *value == 0)
        throw parex::invalid_argument(std::string("parex: PAREX_NUM_THREADS='") + text + "' is not a positive integer");
    return value;
}

/// Worker count for `kind` on topology `t`, ignoring overrides:
/// cpu_bound = usable physical cores; io_bound = 2 x usable logical cores;
/// mixed = floor(1.5 x usable logical cores). Always at least 1.
inline std::size_t workers_for(workload kind, const topology& t) {
    const auto logical = t.usable_logical_cores();
    switch (kind) {
        case workload::cpu_bound: return t.usable_physical_cores();
        case workload::io_bound: return 2 * logical;
        case workload::mixed: return std::max<std::size_t>(1, logical * 3 / 2);
    }
    throw parex::invalid_argument("parex: unknown workload");
}

/// Worker count for `kind` in this process. The first of these that is set decides:
/// `requested` (> 0), then PAREX_NUM_THREADS, then the policy on this_process_topology().
/// Throws parex::invalid_argument when PAREX_NUM_THREADS is invalid (it is never silently ignored).
inline std::size_t workers_for(workload kind, std::size_t requested = 0) {
    if (requested > 0) return requested;
    if (auto from_env = num_threads_from_environment()) return *from_env;
    return workers_for(kind, this_process_topology());
}

}  // namespace parex
