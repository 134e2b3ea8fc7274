// Conformance: parex/topology.hpp. The inputs (sysfs, cgroup files, affinity) are faked in a temp tree.
#include <parex/topology.hpp>

#include "parex_catch.hpp"
#include "temp_dir.hpp"

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using parex::workload;

namespace {

/// A fake machine: `cores` physical cores with `threads` hyperthreads each, CPUs numbered core-major
/// across siblings (cpu c and c + cores share core c, as Linux numbers them), spread over `nodes` nodes.
struct fake_machine {
    parex::test::temp_dir dir;
    parex::topology_sources sources;

    fake_machine(std::size_t cores, std::size_t threads, std::size_t nodes) {
        const auto logical = cores * threads;
        sources.cpu_dir = dir.path() / "cpu";
        sources.node_dir = dir.path() / "node";
        sources.cgroup_root = dir.path() / "cgroup";
        sources.self_cgroup = dir.path() / "self_cgroup";
        dir.write("cpu/online", "0-" + std::to_string(logical - 1) + "\n");
        for (std::size_t cpu = 0; cpu < logical; ++cpu) {
            const auto base = "cpu/cpu" + std::to_string(cpu) + "/topology/";
            dir.write(base + "core_id", std::to_string(cpu % cores) + "\n");
            dir.write(base + "physical_package_id", "0\n");
        }
        const auto per_node = cores / nodes;
        for (std::size_t node = 0; node < nodes; ++node) {
            std::string list;  // the node's cores and their siblings
            for (std::size_t t = 0; t < threads; ++t) {
                const auto first = t * cores + node * per_node;
                if (!list.empty()) list += ',';
                list += std::to_string(first) + "-" + std::to_string(first + per_node - 1);
            }
            dir.write("node/node" + std::to_string(node) + "/cpulist", list + "\n");
        }
        dir.write("node/possible", "0-" + std::to_string(nodes - 1) + "\n");  // not a node directory
        std::vector<std::size_t> all(logical);
        for (std::size_t cpu = 0; cpu < logical; ++cpu) all[cpu] = cpu;
        sources.affinity = all;
        dir.write("self_cgroup", "0::/\n");
    }
};

/// Sets an environment variable for one scope (ctest runs each test case in its own process).
struct scoped_env {
    std::string name;
    scoped_env(std::string n, const char* value) : name(std::move(n)) {
        if (value)
            ::setenv(name.c_str(), value, 1);
        else
            ::unsetenv(name.c_str());
    }
    ~scoped_env() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("cpu lists parse in the kernel's format", "[topology]") {
    CHECK(parex::detail::parse_cpu_list("0-3,8,10-11\n") == std::vector<std::size_t>{0, 1, 2, 3, 8, 10, 11});
    CHECK(parex::detail::parse_cpu_list("").empty());
    CHECK_THROWS_AS(parex::detail::parse_cpu_list("3-1"), std::invalid_argument);
    CHECK_THROWS_AS(parex::detail::parse_cpu_list("0-x"), std::invalid_argument);
}

TEST_CASE("hyperthreads count once as physical cores and NUMA nodes are counted", "[topology]") {
    fake_machine m(8, 2, 2);
    const auto t = parex::read_topology(m.sources);
    CHECK(t.logical_cores == 16);
    CHECK(t.physical_cores == 8);
    CHECK(t.numa_nodes == 2);
    CHECK_FALSE(t.cpu_quota.has_value());
    CHECK(parex::workers_for(workload::cpu_bound, t) == 8);
    CHECK(parex::workers_for(workload::io_bound, t) == 32);
    CHECK(parex::workers_for(workload::mixed, t) == 24);
}

TEST_CASE("the affinity mask bounds every count", "[topology]") {
    fake_machine m(8, 2, 2);
    m.sources.affinity = std::vector<std::size_t>{0, 1, 8, 9};  // cores 0 and 1 with their siblings, node 0
    const auto t = parex::read_topology(m.sources);
    CHECK(t.logical_cores == 4);
    CHECK(t.physical_cores == 2);
    CHECK(t.numa_nodes == 1);
    CHECK(parex::workers_for(workload::cpu_bound, t) == 2);
    CHECK(parex::workers_for(workload::io_bound, t) == 8);
    CHECK(parex::workers_for(workload::mixed, t) == 6);
}

TEST_CASE("offline CPUs in the mask are not counted", "[topology]") {
    fake_machine m(4, 1, 1);
    m.dir.write("cpu/online", "0-1\n");
    CHECK(parex::read_topology(m.sources).logical_cores == 2);
}

TEST_CASE("a cgroup v2 quota of half a CPU gives one worker", "[topology]") {
    fake_machine m(8, 2, 1);
    m.dir.write("self_cgroup", "0::/kubepods/pod1\n");
    m.dir.write("cgroup/kubepods/pod1/cpu.max", "50000 100000\n");
    const auto t = parex::read_topology(m.sources);
    REQUIRE(t.cpu_quota.has_value());
    CHECK(*t.cpu_quota == 0.5);
    CHECK(t.usable_logical_cores() == 1);
    CHECK(parex::workers_for(workload::cpu_bound, t) == 1);
    CHECK(parex::workers_for(workload::io_bound, t) == 2);
    CHECK(parex::workers_for(workload::mixed, t) == 1);
}

TEST_CASE("the tightest quota on the path to the root wins and 'max' means no limit", "[topology]") {
    fake_machine m(8, 2, 1);
    m.dir.write("self_cgroup", "12:cpu:/ignored-v1-line\n0::/a/b\n");
    m.dir.write("cgroup/a/cpu.max", "150000 100000\n");
    m.dir.write("cgroup/a/b/cpu.max", "max 100000\n");
    const auto t = parex::read_topology(m.sources);
    REQUIRE(t.cpu_quota.has_value());
    CHECK(*t.cpu_quota == 1.5);
    CHECK(t.usable_logical_cores() == 2);  // ceil(1.5)
    CHECK(parex::workers_for(workload::cpu_bound, t) == 2);
}

TEST_CASE("cgroup v1 only: no quota", "[topology]") {
    fake_machine m(2, 1, 1);
    m.dir.write("self_cgroup", "4:cpu,cpuacct:/docker/abc\n");
    CHECK_FALSE(parex::read_topology(m.sources).cpu_quota.has_value());
}

TEST_CASE("missing core ids count each logical CPU as a core", "[topology]") {
    parex::test::temp_dir dir;
    parex::topology_sources s;
    s.cpu_dir = dir.path() / "none";
    s.node_dir = dir.path() / "none";
    s.self_cgroup = dir.path() / "none";
    s.affinity = std::vector<std::size_t>{0, 1, 2};
    const auto t = parex::read_topology(s);
    CHECK(t.logical_cores == 3);
    CHECK(t.physical_cores == 3);
    CHECK(t.numa_nodes == 1);
}

TEST_CASE("the last-level cache is the highest data cache of the first CPU in the mask", "[topology]") {
    fake_machine m(2, 1, 1);
    CHECK_FALSE(parex::read_topology(m.sources).last_level_cache_bytes.has_value());  // no cache directory
    const auto cache = [&](std::size_t cpu, int index, const char* type, int level, const char* size) {
        const auto base = "cpu/cpu" + std::to_string(cpu) + "/cache/index" + std::to_string(index) + "/";
        m.dir.write(base + "type", std::string(type) + "\n");
        m.dir.write(base + "level", std::to_string(level) + "\n");
        m.dir.write(base + "size", std::string(size) + "\n");
    };
    cache(1, 0, "Data", 1, "32K");
    cache(1, 1, "Instruction", 1, "32K");
    cache(1, 2, "Unified", 2, "512K");
    cache(1, 3, "Unified", 3, "32768K");
    cache(1, 4, "Instruction", 4, "1G");  // not a data cache
    cache(0, 0, "Data", 1, "48K");
    m.sources.affinity = std::vector<std::size_t>{1};
    CHECK(parex::read_topology(m.sources).last_level_cache_bytes == std::size_t{32} << 20);
    m.sources.affinity = std::vector<std::size_t>{0, 1};
    CHECK(parex::read_topology(m.sources).last_level_cache_bytes == std::size_t{48} << 10);
    CHECK(parex::detail::parse_cache_size("1M") == std::size_t{1} << 20);
    CHECK(parex::detail::parse_cache_size("512") == 512);
    CHECK_FALSE(parex::detail::parse_cache_size("12Q").has_value());
}

TEST_CASE("an explicit request beats PAREX_NUM_THREADS which beats the topology", "[topology]") {
    scoped_env env("PAREX_NUM_THREADS", "3");
    CHECK(parex::workers_for(workload::cpu_bound) == 3);
    CHECK(parex::workers_for(workload::io_bound) == 3);
    CHECK(parex::workers_for(workload::mixed, 5) == 5);
}

TEST_CASE("an invalid PAREX_NUM_THREADS is an error and is not ignored", "[topology]") {
    for (const char* bad : {"", "0", "-2", "abc", "4x", " 4", "99999999999999999999999"}) {
        scoped_env env("PAREX_NUM_THREADS", bad);
        INFO("PAREX_NUM_THREADS='" << bad << "'");
        CHECK_THROWS_AS(parex::workers_for(workload::cpu_bound), std::invalid_argument);
        CHECK(parex::workers_for(workload::cpu_bound, 2) == 2);  // an explicit count needs no environment
    }
}

TEST_CASE("this machine's topology is consistent", "[topology]") {
    scoped_env env("PAREX_NUM_THREADS", nullptr);
    const auto& t = parex::this_process_topology();
    CHECK(t.logical_cores >= 1);
    CHECK(t.physical_cores >= 1);
    CHECK(t.physical_cores <= t.logical_cores);
    CHECK(t.logical_cores <= std::max(1u, std::thread::hardware_concurrency()));
    CHECK(parex::workers_for(workload::cpu_bound) == t.usable_physical_cores());
}
