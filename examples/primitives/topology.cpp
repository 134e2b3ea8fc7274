// What parex sees of this machine, and how many workers each kind of workload gets.
#include <parex/topology.hpp>

#include <cstdio>

int main() {
    const parex::topology& t = parex::this_process_topology();
    std::printf("logical cores %zu, physical cores %zu, NUMA nodes %zu\n", t.logical_cores, t.physical_cores,
                t.numa_nodes);
    if (t.cpu_quota) std::printf("cgroup v2 CPU quota: %.2f CPUs\n", *t.cpu_quota);

    // Each count honours the affinity mask, the quota and PAREX_NUM_THREADS.
    std::printf("workers: cpu_bound %zu, io_bound %zu, mixed %zu\n", parex::workers_for(parex::workload::cpu_bound),
                parex::workers_for(parex::workload::io_bound), parex::workers_for(parex::workload::mixed));
}
