#pragma once
// parex/detail/deadline_watcher.hpp: settles tasks whose deadline passes before they settle on their
// own (worker_pool's and chunked_executor's submit with task_options::deadline).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>

namespace parex::detail {

/// One thread, started by the first task watched, that calls time_out() on each watched task when its
/// deadline passes, unless the task settled first (and left with unwatch). The destructor stops the
/// thread and waits for it; tasks still watched are released without a time-out.
class deadline_watcher {
public:
    using clock = std::chrono::steady_clock;

    /// A task that can be watched: its owner settles it once (the `settled` flag decides who), and
    /// calls unwatch on settling so that the watcher does not hold a settled task.
    struct task {
        task() = default;
        task(const task&) = delete;
        task& operator=(const task&) = delete;
        virtual ~task() = default;
        /// Settles the task as timed out, unless it has settled already.
        virtual void time_out() noexcept = 0;

        std::optional<clock::time_point> deadline;
        std::atomic<bool> settled{false};

    private:
        friend class deadline_watcher;
        // Where the watcher holds it; guarded by the watcher's mutex.
        std::optional<std::multimap<clock::time_point, std::shared_ptr<task>>::iterator> watched;
    };

    deadline_watcher() = default;
    deadline_watcher(const deadline_watcher&) = delete;
    deadline_watcher& operator=(const deadline_watcher&) = delete;
    ~deadline_watcher() { stop(); }

    /// Watches `t` (which has a deadline) unless it has settled already. Throws std::system_error when
    /// the watcher's thread cannot be started.
    void watch(const std::shared_ptr<task>& t) {
        {
            const std::lock_guard lock(mutex_);
            // Checked under the lock, which unwatch takes after the task is marked settled: either the
            // task is seen settled here, or unwatch finds and removes the entry.
            const auto when = t->deadline;
            if (!when || t->settled.load(std::memory_order_acquire)) return;
            if (!thread_.joinable()) thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
            t->watched = deadlines_.emplace(*when, t);
        }
        changed_.notify_all();
    }

    /// Removes a settled task (frees it unless someone else still holds it).
    void unwatch(task& t) noexcept {
        std::shared_ptr<task> held;  // released after the lock: it may be the last reference
        const std::lock_guard lock(mutex_);
        if (!t.watched) return;
        held = std::move((*t.watched)->second);
        deadlines_.erase(*t.watched);
        t.watched.reset();
    }

    /// Tasks watched and not yet settled.
    [[nodiscard]] std::size_t size() const {
        const std::lock_guard lock(mutex_);
        return deadlines_.size();
    }

    /// Stops the thread and waits for it (a time_out() in progress completes).
    void stop() {
        if (thread_.joinable()) {
            thread_.request_stop();
            thread_.join();
        }
    }

private:
    void run(const std::stop_token& stop) {
        std::unique_lock lock(mutex_);
        while (!stop.stop_requested()) {
            if (deadlines_.empty()) {
                changed_.wait(lock, stop, [&] { return !deadlines_.empty(); });
                continue;
            }
            const auto when = deadlines_.begin()->first;
            if (clock::now() < when) {
                changed_.wait_until(lock, stop, when,
                                    [&] { return deadlines_.empty() || deadlines_.begin()->first < when; });
                continue;
            }
            auto due = std::move(deadlines_.begin()->second);
            deadlines_.erase(deadlines_.begin());
            due->watched.reset();
            lock.unlock();
            due->time_out();
            due.reset();
            lock.lock();
        }
    }

    mutable std::mutex mutex_;
    std::condition_variable_any changed_;
    std::multimap<clock::time_point, std::shared_ptr<task>> deadlines_;
    std::jthread thread_;  // last: stopped before the map it reads is destroyed
};

}  // namespace parex::detail
