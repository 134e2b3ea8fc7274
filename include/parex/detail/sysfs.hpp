#pragma once
// parex/detail/sysfs.hpp: what read_topology reads on Linux: sysfs (CPUs, cores, caches, NUMA nodes),
// procfs (this process's cgroup), the cgroup v2 tree (cpu.max) and the affinity mask. POSIX calls
// only (open, read, opendir), so that including the executor does not bring in <filesystem> or
// <fstream>. Paths are strings joined with '/'.

#include <parex/errors.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace parex::detail {

inline std::string join_path(std::string_view dir, std::string_view name) {
    std::string path(dir);
    if (!path.empty() && path.back() != '/') path += '/';
    path += name;
    return path;
}

/// The whole of a small file (sysfs and procfs files are a few lines), or empty when it cannot be read.
inline std::optional<std::string> read_small_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string text;
    char buffer[4096];
    for (;;) {
        const auto n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return text;
}

/// The first line of a file, without its newline; empty when the file cannot be read or is empty.
inline std::optional<std::string> read_first_line(const std::string& path) {
    auto text = read_small_file(path);
    if (!text || text->empty()) return std::nullopt;
    text->resize(std::min(text->find('\n'), text->size()));
    return text;
}

/// The names in a directory ("." and ".." left out); empty when it cannot be listed.
inline std::vector<std::string> directory_entries(const std::string& dir) {
    std::vector<std::string> names;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return names;
    while (const dirent* entry = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe): this call's own stream
        const std::string_view name(entry->d_name);
        if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(d);
    return names;
}

inline std::optional<std::size_t> parse_count(std::string_view text) {
    std::size_t value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] =
        std::from_chars(text.data(), end, value);  // NOLINT(bugprone-suspicious-stringview-data-usage): bounded by end
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

/// The tightest cgroup v2 cpu.max quota on the path from our cgroup (named in `self_cgroup`, a
/// /proc/self/cgroup) up to `cgroup_root`, in CPUs; empty when there is no cgroup v2 or no quota.
inline std::optional<double> cgroup_cpu_quota(const std::string& cgroup_root, const std::string& self_cgroup) {
    const auto text = read_small_file(self_cgroup);
    if (!text) return std::nullopt;
    std::optional<std::string_view> relative;  // "0::/a/b" names the cgroup v2 of this process
    for (std::string_view rest(*text); !rest.empty();) {
        const auto line = rest.substr(0, rest.find('\n'));
        if (line.starts_with("0::")) relative = line.substr(3);
        rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    }
    if (!relative) return std::nullopt;  // cgroup v1 only: no cpu.max to read

    std::optional<double> tightest;
    const auto tighten = [&](const std::string& cgroup) {
        const auto line = read_first_line(join_path(cgroup, "cpu.max"));  // "QUOTA PERIOD" or "max PERIOD"
        if (!line) return;
        const std::string_view fields(*line);
        const auto space = fields.find(' ');
        if (space == std::string_view::npos) return;
        const auto quota = parse_count(fields.substr(0, space));  // "max" (no limit) does not parse
        const auto period = parse_count(fields.substr(space + 1));
        if (!quota || !period || *period == 0) return;
        const double cpus = static_cast<double>(*quota) / static_cast<double>(*period);
        tightest = tightest ? std::min(*tightest, cpus) : cpus;
    };
    std::string dir = cgroup_root;
    tighten(dir);
    for (std::string_view rest = *relative; !rest.empty();) {
        const auto part = rest.substr(0, rest.find('/'));
        rest.remove_prefix(std::min(rest.size(), part.size() + 1));
        if (part.empty() || part == ".") continue;
        dir = join_path(dir, part);
        tighten(dir);
    }
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
inline std::optional<std::size_t> last_level_cache(const std::string& cpu_dir, std::size_t cpu) {
    std::optional<std::size_t> best_level, bytes;
    const auto cache_dir = join_path(join_path(cpu_dir, "cpu" + std::to_string(cpu)), "cache");
    for (const auto& name : directory_entries(cache_dir)) {
        if (!name.starts_with("index")) continue;
        const auto index = join_path(cache_dir, name);
        const auto type = read_first_line(join_path(index, "type"));
        const auto level_text = read_first_line(join_path(index, "level"));
        const auto size_text = read_first_line(join_path(index, "size"));
        if (!type || *type == "Instruction" || !level_text || !size_text) continue;
        const auto level = parse_count(*level_text);
        const auto size = parse_cache_size(*size_text);
        if (level && size && (!best_level || *level > *best_level)) best_level = level, bytes = size;
    }
    return bytes;
}

/// Distinct (package, core) pairs among `cpus` (cpuN/topology); a CPU whose topology sysfs does not
/// give counts as its own core.
inline std::size_t count_physical_cores(const std::string& cpu_dir, const std::vector<std::size_t>& cpus) {
    constexpr auto unknown = static_cast<std::size_t>(-1);  // past any real id
    const auto id = [&](const std::optional<std::string>& line) {
        return line ? parse_count(*line).value_or(unknown) : unknown;
    };
    std::vector<std::pair<std::size_t, std::size_t>> cores;
    for (const auto cpu : cpus) {
        const auto dir = join_path(join_path(cpu_dir, "cpu" + std::to_string(cpu)), "topology");
        const std::size_t core_id = id(read_first_line(join_path(dir, "core_id")));
        const std::size_t package_id = id(read_first_line(join_path(dir, "physical_package_id")));
        // Unknown topology: count the CPU as its own core (a key of its own, in the unknown package).
        if (core_id != unknown && package_id != unknown)
            cores.emplace_back(package_id, core_id);
        else
            cores.emplace_back(unknown, cpu);
    }
    std::sort(cores.begin(), cores.end());
    return static_cast<std::size_t>(std::unique(cores.begin(), cores.end()) - cores.begin());
}

/// NUMA nodes (node_dir/nodeN/cpulist) that hold at least one of `cpus` (sorted).
inline std::size_t count_numa_nodes(const std::string& node_dir, const std::vector<std::size_t>& cpus) {
    std::size_t nodes = 0;
    for (const auto& name : directory_entries(node_dir)) {
        if (!name.starts_with("node") || !parse_count(std::string_view(name).substr(4))) continue;
        const auto list = read_first_line(join_path(join_path(node_dir, name), "cpulist"));
        if (!list) continue;
        const auto node_cpus = parse_cpu_list(*list);
        if (std::any_of(node_cpus.begin(), node_cpus.end(),
                        [&](std::size_t c) { return std::binary_search(cpus.begin(), cpus.end(), c); }))
            ++nodes;
    }
    return nodes;
}

}  // namespace parex::detail
