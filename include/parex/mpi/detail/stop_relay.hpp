#pragma once
// parex/mpi/detail/stop_relay.hpp: run_block, one rank's part of a collective call, with the stop relay
// that carries a stop requested on one rank to the others while the work runs.

#include <parex/errors.hpp>
#include <parex/mpi/communicator.hpp>
#include <parex/mpi/detail/exchange.hpp>
#include <parex/run_control.hpp>

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace parex::mpi::detail {

/// The relay threads of run_block below MPI_THREAD_SERIALIZED (or with a progress callback): each runs
/// a call's work while the calling thread listens for stops. A call takes an idle thread or starts one,
/// which then stays, so a call costs wake-ups rather than a thread's start and join. There are as many
/// threads as calls that ran at once, in practice one per communicator in use. Never destroyed (an
/// immortal singleton, leaked on purpose): static destructors and exit handlers may still make a
/// collective call, and an idle thread, blocked on the queue at exit, holds nothing.
class relay_threads {
public:
    static relay_threads& instance() {
        static auto* const threads = new relay_threads;  // NOLINT(cppcoreguidelines-owning-memory)
        return *threads;
    }

    /// Runs job() on an idle thread, or on a new one when every thread is busy, and returns at once.
    /// Throws std::system_error when a thread is needed and cannot be started, or std::bad_alloc; either
    /// way the job does not run and no thread is left over.
    void start(std::function<void()> job) {
        {
            const std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
            if (idle_ < jobs_.size()) {  // every idle thread has a job queued already
                try {
                    std::thread([this] { serve(); }).detach();
                } catch (...) {
                    jobs_.pop_back();
                    throw;
                }
            }
        }
        job_ready_.notify_one();
    }

private:
    relay_threads() = default;

    [[noreturn]] void serve() {
        std::unique_lock lock(mutex_);
        for (;;) {
            ++idle_;
            job_ready_.wait(lock, [&] { return !jobs_.empty(); });
            --idle_;
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();  // catches its own exceptions
            job = nullptr;
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable job_ready_;
    std::deque<std::function<void()>> jobs_;
    std::size_t idle_ = 0;  // threads waiting for a job
};

/// The MPI side of a stop relay: a receive posted for another rank's stop message, and this rank's
/// stop sent to every other rank. One thread at a time makes its MPI calls.
class stop_listener {
public:
    stop_listener(MPI_Comm comm, stop_relay_record& relay)
        : comm_(comm),
          relay_(relay),
          me_(mpi::rank(comm)),
          ranks_(mpi::ranks(comm)) {
        sends_.reserve(static_cast<std::size_t>(ranks_));
        check(MPI_Irecv(&incoming_, 1, MPI_INT, MPI_ANY_SOURCE, stop_tag, comm, &receive_), "MPI_Irecv");
    }
    stop_listener(const stop_listener&) = delete;
    stop_listener& operator=(const stop_listener&) = delete;
    ~stop_listener() {  // after an MPI failure: what can still be cancelled and completed (errors ignored)
        if (receive_ != MPI_REQUEST_NULL && MPI_Cancel(&receive_) == MPI_SUCCESS)
            MPI_Wait(&receive_, MPI_STATUS_IGNORE);
        if (!sends_.empty()) MPI_Waitall(static_cast<int>(sends_.size()), sends_.data(), MPI_STATUSES_IGNORE);
    }

    /// Sends this rank's stop if `stopped_here` and it was not sent yet; returns true when another
    /// rank's stop has arrived.
    bool poll(bool stopped_here) {
        if (stopped_here && !relay_.sent) tell_others();
        if (relay_.received == 0) {
            int arrived = 0;
            check(MPI_Test(&receive_, &arrived, MPI_STATUS_IGNORE), "MPI_Test");
            relay_.received = arrived != 0 ? 1 : 0;
        }
        return relay_.received != 0;
    }

    /// Sends this rank's stop if still due, cancels the receive (or learns that it completed) and
    /// waits for the sends, so that no request outlives the call.
    void finish(bool stopped_here) {
        if (stopped_here && !relay_.sent) tell_others();
        if (relay_.received == 0) {
            MPI_Status status;
            check(MPI_Cancel(&receive_), "MPI_Cancel");
            check(MPI_Wait(&receive_, &status), "MPI_Wait");
            int cancelled = 0;
            check(MPI_Test_cancelled(&status, &cancelled), "MPI_Test_cancelled");
            relay_.received = cancelled != 0 ? 0 : 1;
        }
        if (!sends_.empty())
            check(MPI_Waitall(static_cast<int>(sends_.size()), sends_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
        sends_.clear();
    }

private:
    void tell_others() {
        for (int r = 0; r < ranks_; ++r)
            if (r != me_) {
                sends_.push_back(MPI_REQUEST_NULL);
                check(MPI_Isend(&outgoing_, 1, MPI_INT, r, stop_tag, comm_, &sends_.back()), "MPI_Isend");
            }
        relay_.sent = true;
    }

    MPI_Comm comm_;
    stop_relay_record& relay_;
    int me_;
    int ranks_;
    int incoming_ = 0;
    int outgoing_ = 1;
    MPI_Request receive_ = MPI_REQUEST_NULL;
    std::vector<MPI_Request> sends_;
};

/// Whether MPI was initialized with MPI_THREAD_SERIALIZED or more: then a thread other than the
/// calling one may make MPI calls while the calling thread makes none.
inline bool mpi_serialized() {
    int level = MPI_THREAD_SINGLE;
    check(MPI_Query_thread(&level), "MPI_Query_thread");
    return level >= MPI_THREAD_SERIALIZED;
}

/// The thread that listens for the calls whose calling thread runs the work (run_inline, at
/// MPI_THREAD_SERIALIZED or more). While any call is registered it wakes every 200 µs and polls each
/// call's stop_listener, holding the mutex; a registered call's thread makes no MPI call, and enter and
/// leave take the same mutex, so the MPI calls stay serialized. A call neither waits for this thread
/// nor wakes it (but the first after it has gone to sleep, `linger` ticks without a call): it costs two
/// uncontended locks. Started by the first such call and never destroyed (leaked on purpose, as
/// relay_threads).
class listener_thread {
public:
    struct call {  // one registered call; `error` is an MPI failure of a poll, read after leave()
        stop_listener* listener;
        const std::atomic<bool>* stopped_here;
        std::stop_source* stop_work;
        std::exception_ptr error{};
    };

    static listener_thread& instance() {
        static auto* const thread = new listener_thread;  // NOLINT(cppcoreguidelines-owning-memory)
        return *thread;
    }

    /// Registers `c` until leave(c). Throws std::system_error when the thread cannot be started.
    void enter(call& c) {
        const std::lock_guard lock(mutex_);
        if (!started_) {
            std::thread([this] { serve(); }).detach();
            started_ = true;
        }
        calls_.push_back(&c);
        if (sleeping_) wake_.notify_one();
    }
    /// After it returns the thread no longer touches `c` or its listener.
    void leave(call& c) noexcept {
        const std::lock_guard lock(mutex_);
        std::erase(calls_, &c);
    }

private:
    listener_thread() = default;

    [[noreturn]] void serve() {
        static constexpr auto tick = std::chrono::microseconds(200);
        static constexpr int linger = 50;  // ticks without a call (10 ms) before sleeping until one comes
        std::unique_lock lock(mutex_);
        int idle = 0;
        for (;;) {
            if (calls_.empty() && idle >= linger) {
                sleeping_ = true;
                wake_.wait(lock, [&] { return !calls_.empty(); });
                sleeping_ = false;
            }
            wake_.wait_for(lock, tick);  // only enter() notifies, and only a sleeping thread
            idle = calls_.empty() ? idle + 1 : 0;
            for (call* c : calls_) {
                if (c->error) continue;
                try {
                    if (c->listener->poll(*c->stopped_here)) c->stop_work->request_stop();
                } catch (...) {
                    c->error = std::current_exception();
                    c->stop_work->request_stop();
                }
            }
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<call*> calls_;
    bool sleeping_ = false;
    bool started_ = false;
};

/// The calling thread runs `work` while listener_thread listens: run_block's path when MPI is at least
/// MPI_THREAD_SERIALIZED and no progress callback is given. Stores work's result in `value` or its
/// exception in `work_error`; throws a poll's MPI failure (mpi_error), or std::system_error when the
/// listener thread cannot be started (before the work runs).
template <class Work, class Result>
void run_inline(stop_listener& listener, const run_options& inner, const std::atomic<bool>& stopped_here,
                std::stop_source& stop_work, Work& work, Result& value, std::exception_ptr& work_error) {
    listener_thread::call call{.listener = &listener, .stopped_here = &stopped_here, .stop_work = &stop_work};
    auto& thread = listener_thread::instance();
    thread.enter(call);
    {
        struct registered {  // MPI is the calling thread's again once the call has left
            listener_thread& thread;
            listener_thread::call& call;
            ~registered() { thread.leave(call); }
        } guard{thread, call};
        try {
            value = work(inner);
        } catch (...) {
            work_error = std::current_exception();
        }
    }
    if (call.error) std::rethrow_exception(call.error);
}

/// Runs this rank's part of a collective call, work(local_options), and exchanges the ranks' status
/// (exchange_status, with `units` this rank's units of work). Returns work's result on every rank when
/// no rank failed or was stopped.
///
/// When options.stop can be requested, a stop reaches the other ranks at once rather than at the
/// exchange: a stop requested here is sent to every other rank (tag stop_tag), and such a message
/// arriving stops the work. Two ways, as MPI's thread level allows:
/// - at least MPI_THREAD_SERIALIZED, without a progress callback: `work` runs on the calling thread and
///   listener_thread listens (run_inline);
/// - otherwise `work` runs on a relay thread while the calling thread, the only one that talks to MPI,
///   listens every 200 µs and makes the progress reports of options.on_progress (so they still come on
///   the calling thread, never concurrently, once more at the end).
/// A rank whose options cannot stop runs work on the calling thread and learns of another rank's stop
/// at the exchange.
template <class Work>
auto run_block(MPI_Comm comm, const run_options& options, std::size_t units, Work&& work) {
    using result = std::invoke_result_t<Work&, const run_options&>;
    result value{};
    std::exception_ptr error;
    stop_relay_record relay;
    if (!options.stop.stop_possible()) {
        try {
            value = work(options);
        } catch (...) {
            error = std::current_exception();
        }
        exchange_status(comm, error, units, units, relay);
        return value;
    }

    std::stop_source stop_work;
    std::atomic<bool> stopped_here{false};
    std::stop_callback forward(options.stop, [&] {
        stopped_here = true;
        stop_work.request_stop();
    });
    run_options inner{.stop = stop_work.get_token(), .on_progress = {}, .progress_interval = options.progress_interval};
    stop_listener listener(comm, relay);
    if (!options.on_progress && mpi_serialized()) {
        run_inline(listener, inner, stopped_here, stop_work, work, value, error);
        listener.finish(stopped_here);
        exchange_status(comm, error, units, units, relay);
        return value;
    }

    std::mutex progress_mutex;
    std::optional<progress> latest;  // the work's last report, made again on this thread
    if (options.on_progress)
        inner.on_progress = [&](progress now) {
            const std::lock_guard lock(progress_mutex);
            latest = now;
        };
    std::exception_ptr progress_error;
    std::optional<progress> reported;
    const auto report = [&](bool last) {
        std::optional<progress> now;
        {
            const std::lock_guard lock(progress_mutex);
            now = latest;
        }
        if (!now || (!last && reported && reported->done == now->done && reported->total == now->total)) return;
        reported = now;
        try {
            options.on_progress(*now);
        } catch (...) {
            if (!progress_error) progress_error = std::current_exception();
            stop_work.request_stop();
        }
    };

    std::mutex done_mutex;
    std::condition_variable done_changed;
    bool done = false;
    std::exception_ptr work_error;
    relay_threads::instance().start([&] {
        try {
            value = work(inner);
        } catch (...) {
            work_error = std::current_exception();
        }
        const std::lock_guard lock(done_mutex);  // the last touch of this frame: run_block returns after it
        done = true;
        done_changed.notify_one();
    });
    struct wait_on_exit {  // an MPI failure below stops the work and waits for it before unwinding
        std::mutex& mutex;
        std::condition_variable& changed;
        bool& done;
        std::stop_source& stop;
        ~wait_on_exit() {
            stop.request_stop();
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return done; });
        }
    } waiter{done_mutex, done_changed, done, stop_work};
    for (;;) {
        {
            std::unique_lock lock(done_mutex);
            if (done_changed.wait_for(lock, std::chrono::microseconds(200), [&] { return done; })) break;
        }
        if (listener.poll(stopped_here)) stop_work.request_stop();
        if (options.on_progress) report(false);
    }
    listener.finish(stopped_here);  // also sends a stop requested before the work began, or as it ended
    if (options.on_progress) report(true);
    error = progress_error ? progress_error : work_error;
    exchange_status(comm, error, units, units, relay);
    return value;
}

}  // namespace parex::mpi::detail
