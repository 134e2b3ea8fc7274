// parex's consumer program: a deterministic map_reduce on the chunked executor, written into a named
// shared-memory arena that a second mapping (as another process would) reads back. Conan's test_package
// builds it, and so do the consumer tests of tests/package (find_package, add_subdirectory, pkg-config,
// vcpkg). Exits 1 if the sum is wrong.
#include <parex/chunked_executor.hpp>
#include <parex/shm_arena.hpp>

#include <cstdio>
#include <functional>

int main() {
    const auto name = parex::unique_shm_name("parex-consumer");
    auto arena = parex::shm_arena::create({.bytes = 1 << 16, .name = name});  // owned: unlinked at the end
    auto sum = arena.allocate<unsigned long long>(1);

    parex::chunked_executor ex({.max_concurrency = 2});
    sum[0] = ex.map_reduce(
        parex::chunks(1'000'000, parex::grain{4096}),
        [](parex::chunk c) {
            unsigned long long s = 0;
            for (auto i = c.begin; i < c.end; ++i) s += i + 1;
            return s;
        },
        std::plus<>{}, 0ULL);

    const auto attached = parex::shm_arena::attach(name);
    const auto seen = attached.at<unsigned long long>(arena.offset_of(sum.data()), 1)[0];
    std::printf("parex consumer: sum=%llu, read back through a shared-memory arena\n", seen);
    return seen == 500000500000ULL ? 0 : 1;
}
