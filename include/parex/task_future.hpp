#pragma once
// parex/task_future.hpp: the future that chunked_executor::submit returns. Waiting on it never idles the
// waiting thread while the task is still queued: get() and wait() run the task there and then.

#include <parex/detail/deadline_watcher.hpp>
#include <parex/detail/executor_core.hpp>
#include <parex/detail/stop_call.hpp>
#include <parex/errors.hpp>
#include <parex/run_control.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace parex {

/// Thrown by a call on a task_future that holds no task (default-made, moved from, or after get()):
/// a std::future_error with code std::future_errc::no_state, as std::future's calls may throw.
class future_error : public detail::error_as<std::future_error> {
public:
    future_error() : error_as(std::future_errc::no_state) {}
};

namespace detail {

/// What a submitted task and its future share: the task's stop token and result, and which of the
/// threads that may run it (a worker that took it from the arena's queue, or a thread waiting on its
/// future) claimed it. The result is published through `done` (an atomic wait, no system call unless a
/// thread sleeps on it); std::promise would cost a futex call per task (libstdc++'s call_once).
///
/// A task with a deadline is also watched (the core's deadline_watcher) and settles once: by its run
/// or by time_out at the deadline, whichever comes first (`settled` decides); the loser's result is
/// dropped. Its stop token is then its own, requested at the deadline or when the caller's is.
template <class R>
class task_state : public deadline_watcher::task {
public:
    task_state(executor_core* c, task_options options) : core(c) {
        if (options.deadline) {
            deadline = options.deadline;
            own_stop_ = std::stop_source{};
            stop_ = own_stop_.get_token();
            forward_.emplace(std::move(options.stop), request{&own_stop_});
        } else {
            stop_ = std::move(options.stop);
        }
    }

    executor_core* const core;

    [[nodiscard]] bool unclaimed() const noexcept { return !claimed_.load(std::memory_order_relaxed); }
    [[nodiscard]] bool ready() const noexcept { return done_.load(std::memory_order_acquire); }

    /// Runs the task and publishes its result, unless another thread claimed it first or its deadline
    /// settled it. Called as the executor's work (executor_core::as_queued_task or on_this_thread).
    void run_unless_claimed() {
        if (!unclaimed() || claimed_.exchange(true, std::memory_order_acq_rel)) return;
        if (!deadline) {
            run_into(value_, error_);
            publish();
            return;
        }
        if (settled.load(std::memory_order_acquire)) return;  // timed out while queued
        if (std::chrono::steady_clock::now() >= *deadline) {  // passed while queued: never runs
            time_out();
            return;
        }
        value_slot value;
        std::exception_ptr error;
        run_into(value, error);
        if (settled.exchange(true, std::memory_order_acq_rel)) return;  // timed out while running
        core->deadlines.unwatch(*this);
        value_ = std::move(value);
        error_ = std::move(error);
        publish();
    }

    /// Settles the task with task_timeout unless it has settled, then requests its stop.
    void time_out() noexcept override {
        if (settled.exchange(true, std::memory_order_acq_rel)) return;
        claimed_.store(true, std::memory_order_release);  // a waiter no longer runs it, a worker skips it
        core->deadlines.unwatch(*this);
        error_ = std::make_exception_ptr(task_timeout{});
        publish();
        own_stop_.request_stop();
    }

private:
    struct no_value {};  // the value of a task that returns void
    using value_slot = std::conditional_t<std::is_void_v<R>, no_value, std::optional<R>>;

    void run_into(value_slot& value, std::exception_ptr& error) {
        if (stop_.stop_requested()) {
            error = std::make_exception_ptr(task_cancelled{});
            return;
        }
        try {
            if constexpr (std::is_void_v<R>)
                invoke(stop_);
            else
                value.emplace(invoke(stop_));
        } catch (...) {
            error = std::current_exception();
        }
    }

    void publish() noexcept {
        done_.store(true, std::memory_order_seq_cst);
        done_.notify_all();
        if (timed_waiters_.load(std::memory_order_seq_cst) > 0) {
            // A timed waiter checks done_ holding the mutex: once this thread has held it too, the
            // waiter either saw done_ or is asleep on timed_ready_, and the notification reaches it.
            timed_mutex_.lock();
            timed_mutex_.unlock();
            timed_ready_.notify_all();
        }
    }

public:
    void wait() const noexcept {
        while (!ready()) done_.wait(false, std::memory_order_acquire);
    }
    template <class Clock, class Duration>
    bool wait_until(const std::chrono::time_point<Clock, Duration>& deadline) {
        if (ready()) return true;
        timed_waiters_.fetch_add(1, std::memory_order_seq_cst);
        std::unique_lock lock(timed_mutex_);
        const bool finished = timed_ready_.wait_until(lock, deadline, [&] { return ready(); });
        timed_waiters_.fetch_sub(1, std::memory_order_relaxed);
        return finished;
    }

    /// The result, moved out: the value, or the task's exception rethrown. Call once, after wait().
    R take() {
        if (error_) std::rethrow_exception(error_);
        if constexpr (!std::is_void_v<R>) return std::move(*value_);
    }

private:
    virtual R invoke(std::stop_token& stop) = 0;

    struct request {
        std::stop_source* target;
        void operator()() const noexcept { target->request_stop(); }
    };

    std::stop_token stop_;
    std::stop_source own_stop_{std::nostopstate};         // a task with a deadline: its token's source
    std::optional<std::stop_callback<request>> forward_;  // the caller's stop reaches own_stop_
    std::atomic<bool> claimed_{false};
    std::atomic<bool> done_{false};
    std::exception_ptr error_;
    [[no_unique_address]] value_slot value_;
    std::atomic<int> timed_waiters_{0};
    std::mutex timed_mutex_;
    std::condition_variable timed_ready_;
};

template <class F, class R>
class task_state_for final : public task_state<R> {
public:
    task_state_for(executor_core* c, F f, task_options options)
        : task_state<R>(c, std::move(options)),
          fn_(std::move(f)) {}

private:
    R invoke(std::stop_token& stop) override { return call_with_stop(fn_, stop); }
    F fn_;
};

}  // namespace detail

/// The result of a task given to chunked_executor::submit, used like std::future<R>, whose waiting
/// thread works.
///
/// get() and wait(), when no thread has started the task yet, run it on the calling thread, as the
/// executor's work (it holds an arena slot, so worker_local works in it); otherwise they block until
/// the thread that runs it is done. So waiting never leaves a queued task behind an idle waiter, and a
/// task that waits on a future of its own executor cannot deadlock, even with every slot waiting: the
/// waiter runs what it waits for, or the task it waits for is running. wait_for and wait_until only
/// wait.
///
/// Move-only, like std::future; get() may be called once, after which valid() is false. Calls on
/// a future that is not valid() throw parex::future_error (a std::future_error, no_state), as std::future's may. R may be
/// void or any movable type (not a reference).
template <class R>
class task_future {
    static_assert(!std::is_reference_v<R>, "parex: a task returning a reference: return a pointer or a copy");

public:
    task_future() noexcept = default;

    /// True until get() or a move from it.
    [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }

    /// The task's value, or the exception it threw; task_cancelled if its stop token was requested
    /// before it started. Runs the task here if no thread has started it.
    R get() {
        wait();
        const auto state = std::move(state_);
        return state->take();
    }

    /// Returns when the task has finished; runs it here if no thread has started it.
    void wait() const {
        check();
        if (state_->unclaimed()) state_->core->on_this_thread([&] { state_->run_unless_claimed(); });
        state_->wait();
    }

    /// Waits up to `timeout` for the task (never runs it here).
    template <class Rep, class Period>
    std::future_status wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
        return wait_until(std::chrono::steady_clock::now() + timeout);
    }
    /// Waits until `deadline` for the task (never runs it here).
    template <class Clock, class Duration>
    std::future_status wait_until(const std::chrono::time_point<Clock, Duration>& deadline) const {
        check();
        return state_->wait_until(deadline) ? std::future_status::ready : std::future_status::timeout;
    }

private:
    friend class chunked_executor;
    explicit task_future(std::shared_ptr<detail::task_state<R>> state) noexcept : state_(std::move(state)) {}

    void check() const {
        if (!state_) throw parex::future_error();
    }

    std::shared_ptr<detail::task_state<R>> state_;
};

}  // namespace parex
