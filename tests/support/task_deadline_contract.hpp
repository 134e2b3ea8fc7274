#pragma once
// The contract of task_options' deadline and stop that chunked_executor::submit and worker_pool::submit
// share (parex/run_control.hpp), as Catch2 sections: call it from a TEST_CASE with
//   submit(options, f) -> a future of f's result, f being f() or f(std::stop_token),
// on an executor or pool that runs one task at a time.
#include <parex/errors.hpp>
#include <parex/run_control.hpp>

#include "parex_catch.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stop_token>
#include <thread>

namespace parex_test {

template <class Submit>
void check_task_deadline_contract(Submit submit) {
    using namespace std::chrono_literals;
    using clock = std::chrono::steady_clock;
    SECTION("while running: the task sees its stop and the future throws task_timeout at the deadline") {
        std::atomic<bool> saw_stop{false};
        const auto start = clock::now();
        auto f = submit(parex::task_options{.deadline = start + 50ms}, [&](std::stop_token token) {
            const auto limit = clock::now() + 20s;
            while (!token.stop_requested() && clock::now() < limit) std::this_thread::sleep_for(1ms);
            saw_stop = token.stop_requested();
            return 1;
        });
        CHECK_THROWS_AS(f.get(), parex::task_timeout);
        CHECK(clock::now() - start < 10s);
        submit(parex::task_options{}, [] {}).get();  // the one slot is free again: the task returned
        CHECK(saw_stop.load());
    }
    SECTION("while queued behind a running task: it never runs, and the future is ready at the deadline") {
        std::promise<void> release;
        std::atomic<bool> started{false};
        auto blocker = submit(parex::task_options{}, [&started, gate = release.get_future().share()] {
            started = true;
            gate.wait();
        });
        while (!started) std::this_thread::yield();
        std::atomic<bool> ran{false};
        auto late = submit(parex::task_options{.deadline = clock::now() + 10ms}, [&] { ran = true; });
        CHECK(late.wait_for(10s) == std::future_status::ready);  // settled while the blocker still runs
        CHECK_THROWS_AS(late.get(), parex::task_timeout);
        release.set_value();
        blocker.get();
        submit(parex::task_options{}, [] {}).get();
        CHECK_FALSE(ran.load());
    }
    SECTION("a deadline already past settles at once and the task never runs") {
        bool ran = false;
        auto f = submit(parex::task_options{.deadline = clock::now() - 1ms}, [&] { ran = true; });
        CHECK(f.wait_for(0s) == std::future_status::ready);
        CHECK_THROWS_AS(f.get(), parex::task_timeout);
        CHECK_FALSE(ran);
    }
    SECTION("a task that finishes in time returns its value, and the watcher lets it go") {
        const auto held = std::make_shared<int>(7);
        {
            auto f = submit(parex::task_options{.deadline = clock::now() + 10s}, [held] { return *held; });
            CHECK(f.get() == 7);
        }
        const auto limit = clock::now() + 10s;
        while (held.use_count() > 1 && clock::now() < limit) std::this_thread::sleep_for(1ms);
        CHECK(held.use_count() == 1);  // neither the watcher nor the queue keeps the settled task
    }
    SECTION("the caller's stop still cancels a task that has a deadline") {
        std::stop_source stop;
        stop.request_stop();
        bool ran = false;
        auto f =
            submit(parex::task_options{.stop = stop.get_token(), .deadline = clock::now() + 10s}, [&] { ran = true; });
        CHECK_THROWS_AS(f.get(), parex::task_cancelled);
        CHECK_FALSE(ran);
    }
}

}  // namespace parex_test
