// Conformance: parex/worker_local.hpp: one State per arena slot, built lazily on the thread that first
// uses the slot, never used by two threads at once, reachable from chunks, stages and tasks, destroyed
// with the worker_local.
#include <parex/worker_local.hpp>

#include "parex_catch.hpp"

#include <oneapi/tbb/global_control.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

// Arenas of up to 8 threads really get 8 threads on a 2-core machine, so slots change hands often.
const tbb::global_control allow_oversubscription(tbb::global_control::max_allowed_parallelism, 8);

void jitter(std::size_t seed) { std::this_thread::sleep_for(std::chrono::microseconds((seed * 2654435761u) % 150)); }

/// A State that records its slot and thread of construction, counts its uses, and detects two threads
/// using it at once.
struct traced {
    static inline std::atomic<int> built{0}, destroyed{0};
    std::size_t slot;
    std::thread::id built_on = std::this_thread::get_id();
    std::atomic<bool> in_use{false};
    std::size_t uses = 0;  // no lock: only one thread at a time may touch it
    explicit traced(std::size_t s) : slot(s) { ++built; }
    traced(const traced&) = delete;  // neither copyable nor movable: built in place
    traced& operator=(const traced&) = delete;
    ~traced() { ++destroyed; }

    /// Marks the State as used by this thread for the scope; false if another thread held it.
    bool enter() { return !in_use.exchange(true); }
    void leave() { in_use = false; }
};

void reset() { traced::built = traced::destroyed = 0; }

}  // namespace

TEST_CASE("worker_local builds at most one State per slot, on the thread that first uses the slot", "[worker_local]") {
    for (std::size_t threads : {1u, 2u, 3u, 8u}) {
        reset();
        parex::chunked_executor ex({.max_concurrency = threads});
        std::atomic<int> wrong_thread{0}, wrong_slot{0};
        parex::worker_local<traced> local(ex, [&](std::size_t slot) { return traced(slot); });
        ex.for_each(parex::chunks(2000, parex::grain{1}), [&](parex::chunk c) {
            auto& state = local.get();
            // A State nobody has used yet was built by this get(), so on this thread.
            if (state.uses++ == 0 && state.built_on != std::this_thread::get_id()) ++wrong_thread;
            if (state.slot >= threads) ++wrong_slot;
            jitter(c.index);
        });
        INFO("threads=" << threads);
        CHECK(local.built() >= 1);
        CHECK(local.built() <= threads);
        CHECK(traced::built.load() == static_cast<int>(local.built()));
        CHECK(wrong_thread.load() == 0);
        CHECK(wrong_slot.load() == 0);
    }
}

TEST_CASE("a worker_local State is never used by two threads at once", "[worker_local]") {
    parex::chunked_executor ex({.max_concurrency = 4});
    parex::worker_local<traced> local(ex, [](std::size_t slot) { return traced(slot); });
    std::atomic<int> shared{0};
    const auto use = [&](std::size_t seed) {
        auto& state = local.get();
        if (!state.enter()) ++shared;
        ++state.uses;
        jitter(seed);
        state.leave();
    };
    // Chunks, nested chunks, run() tasks and submitted tasks, all at once on one executor.
    std::vector<parex::task_future<void>> futures;
    for (std::size_t i = 0; i < 100; ++i) {
        ex.run([&, i] { use(i); });
        futures.push_back(ex.submit([&, i] { use(i + 7); }));
    }
    ex.for_each(parex::chunks(400, parex::grain{1}), [&](parex::chunk c) {
        use(c.index);
        if (c.index % 50 == 0)
            ex.for_each(parex::chunks(8, parex::grain{1}), [&](parex::chunk inner) { use(inner.index + 3); });
    });
    ex.wait();
    for (auto& f : futures) f.get();
    CHECK(shared.load() == 0);
    std::size_t uses = 0;
    local.for_each_built([&](traced& s) { uses += s.uses; });
    CHECK(uses == 100 + 100 + 400 + 8 * 8);
    CHECK(local.built() <= 4);
}

TEST_CASE("worker_local States are destroyed with the worker_local, not with the work", "[worker_local]") {
    reset();
    parex::chunked_executor ex({.max_concurrency = 3});
    {
        parex::worker_local<traced> local(ex, [](std::size_t slot) { return traced(slot); });
        ex.for_each(parex::chunks(300, parex::grain{1}), [&](parex::chunk c) {
            (void)local.get();
            jitter(c.index);
        });
        const auto built = traced::built.load();
        ex.for_each(parex::chunks(300, parex::grain{1}), [&](parex::chunk) { (void)local.get(); });
        CHECK(traced::destroyed.load() == 0);
        CHECK(traced::built.load() <= 3);
        CHECK(traced::built.load() >= built);
    }
    CHECK(traced::destroyed.load() == traced::built.load());
}

TEST_CASE("get() outside its executor's work is an error", "[worker_local]") {
    parex::chunked_executor ex({.max_concurrency = 2}), other({.max_concurrency = 2});
    parex::worker_local<int> local(ex, [](std::size_t) { return 0; });
    CHECK_THROWS_AS(local.get(), std::logic_error);  // the calling thread, outside any work
    CHECK_THROWS_AS(other.for_each(parex::chunks(4, parex::grain{1}), [&](parex::chunk) { (void)local.get(); }),
                    std::logic_error);  // inside another executor's chunk
    CHECK(ex.submit([&] { return ++local.get(); }).get() == 1);
}

TEST_CASE("an initializer's exception reaches the caller and the slot is built again later", "[worker_local]") {
    parex::chunked_executor ex({.max_concurrency = 1});
    int attempts = 0;
    parex::worker_local<int> local(ex, [&](std::size_t) {
        if (++attempts == 1) throw std::runtime_error("first init fails");
        return 7;
    });
    CHECK_THROWS_WITH(ex.for_each(parex::chunks(3, parex::grain{1}), [&](parex::chunk) { (void)local.get(); }),
                      "first init fails");
    CHECK(local.built() == 0);
    CHECK(ex.map_reduce(
              parex::chunks(3, parex::grain{1}), [&](parex::chunk) { return local.get(); }, std::plus<>{}, 0) == 21);
    // One successful build per slot used; an executor of one may use two slots (see worker_local.hpp).
    CHECK(local.built() >= 1);
    CHECK(attempts == 1 + static_cast<int>(local.built()));
}
