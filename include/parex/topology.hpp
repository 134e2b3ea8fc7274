#pragma once
// parex/topology.hpp: how many cores this process may use, and how many workers a workload gets.
//
// Every count is bounded by the process affinity mask (sched_getaffinity) and by the cgroup v2 CPU
// quota (cpu.max) of the process's cgroup and its ancestors, so a container limited to half a CPU
// gets one worker, not one per host core. Linux only (sysfs, procfs).

#include <parex/detail/sysfs.hpp>
#include <parex/errors.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace parex {

/// What a pool of workers mostly waits on; selects the worker-count policy of workers_for().
enum class workload : std::uint8_t {
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
        auto quota = static_cast<std::size_t>(*cpu_quota);  // rounded up: 1.5 CPUs let 2 threads run
        if (static_cast<double>(quota) < *cpu_quota) ++quota;
        return std::clamp<std::size_t>(quota, 1, logical_cores);
    }
    /// Physical cores after the quota: min(physical_cores, usable_logical_cores()).
    [[nodiscard]] std::size_t usable_physical_cores() const { return std::min(physical_cores, usable_logical_cores()); }
};

/// Where read_topology() looks. The defaults are the live system; tests point them at fake trees.
/// Paths are strings (a std::filesystem::path converts to one).
struct topology_sources {
    std::string cpu_dir = "/sys/devices/system/cpu";    ///< cpuN/topology/{core_id,...}
    std::string node_dir = "/sys/devices/system/node";  ///< nodeN/cpulist
    std::string cgroup_root = "/sys/fs/cgroup";         ///< cgroup v2 mount
    std::string self_cgroup = "/proc/self/cgroup";      ///< "0::/path" names our cgroup
    /// CPUs the process may run on; empty = ask sched_getaffinity().
    std::optional<std::vector<std::size_t>> affinity;
};

/// Reads the topology from sysfs, procfs and the affinity mask (or the fakes in `src`).
/// Missing files fall back conservatively: no core_id means one physical core per logical CPU,
/// no node directory means one NUMA node, no cgroup v2 means no quota, no cache directory no cache size.
/// Throws parex::invalid_argument when a cpulist file is malformed.
inline topology read_topology(const topology_sources& src = {}) {
    auto cpus = src.affinity ? *src.affinity : detail::affinity_of_this_process();
    std::sort(cpus.begin(), cpus.end());
    cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
    if (auto online = detail::read_first_line(detail::join_path(src.cpu_dir, "online"))) {
        const auto on = detail::parse_cpu_list(*online);
        std::erase_if(cpus, [&](std::size_t c) { return !std::binary_search(on.begin(), on.end(), c); });
    }
    topology t;
    t.logical_cores = std::max<std::size_t>(1, cpus.size());
    t.physical_cores = std::max<std::size_t>(1, detail::count_physical_cores(src.cpu_dir, cpus));
    t.numa_nodes = std::max<std::size_t>(1, detail::count_numa_nodes(src.node_dir, cpus));
    t.cpu_quota = detail::cgroup_cpu_quota(src.cgroup_root, src.self_cgroup);
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
    const char* text = std::getenv("PAREX_NUM_THREADS");  // NOLINT(concurrency-mt-unsafe): parex never sets it
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
