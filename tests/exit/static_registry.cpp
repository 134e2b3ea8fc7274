// Exit order: a static registry of executors, constructed before the first executor and filled after
// it, is destroyed after everything parex built on first use. Each entry holds an executor, a
// worker_local on it and runs a pipeline and a chunk loop on it when destroyed. Exits through
// `return` from main, or through std::exit (argv[1] = "return" or "exit"); either must exit 0.
#include <parex/chunked_executor.hpp>
#include <parex/pipeline.hpp>
#include <parex/worker_local.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

namespace {

struct entry {
    parex::chunked_executor executor;
    parex::worker_local<std::size_t> counts{executor, [](std::size_t) { return std::size_t{0}; }};

    explicit entry(std::size_t threads) : executor({.max_concurrency = threads}) { use(); }
    ~entry() { use(); }  // runs during exit, after parex's first-use objects were made

    void use() {
        std::size_t next = 0;
        const auto consumed = parex::run_pipeline(
            executor, [&]() -> std::optional<std::size_t> { return next < 64 ? std::optional(next++) : std::nullopt; },
            [&](std::size_t i) {
                ++counts.get();
                return i;
            },
            [](std::size_t) {});
        executor.for_each(parex::chunks(1000), [&](parex::chunk c) { counts.get() += c.size(); });
        if (consumed != 64) std::abort();
    }
};

// Constructed before main, so before any executor: destroyed after every object parex builds on first use.
std::map<int, std::unique_ptr<entry>> registry;

}  // namespace

int main(int argc, char** argv) {
    const std::string_view how = argc > 1 ? argv[1] : "return";
    for (int i = 0; i < 4; ++i) registry.emplace(i, std::make_unique<entry>(1 + static_cast<std::size_t>(i % 3)));
    registry.erase(0);  // one arena goes back to parex before exit, and is used again by the next
    registry.emplace(4, std::make_unique<entry>(1));
    std::puts("registry filled");
    if (how == "exit") std::exit(0);
    return 0;
}
