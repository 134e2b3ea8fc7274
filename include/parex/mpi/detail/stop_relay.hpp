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

/// The threads that run run_block's work while the calling thread relays stops. A call takes an idle
/// thread or starts one, which then stays: a call costs two wake-ups, not a thread's start and join
/// (35 to 40 µs less per call on the 2-core machine of docs/mpi.md, "Measured"). There are as many threads as calls that
/// ran at once, in practice one per communicator in use. Never destroyed (an immortal singleton, leaked
/// on purpose): static destructors and exit handlers may still make a collective call, and an idle
/// thread, blocked on the queue at exit, holds nothing.
class relay_threads {
public:
    static relay_threads& instance() {
        static auto* const threads = new relay_threads;  // NOLINT(cppcoreguidelines-owning-memory)
        return *threads;
    }

    /// Runs job() on an idle thread, or on a new one when every thread is busy, and returns at once.
    /// Throws std::system_error when a thread is needed and cannot be started (the job does not run).
    void start(std::function<void()> job) {
        {
            const std::lock_guard lock(mutex_);
            if (idle_ <= jobs_.size()) std::thread([this] { serve(); }).detach();
            jobs_.push_back(std::move(job));
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

/// Runs this rank's part of a collective call, work(local_options), and exchanges the ranks' status
/// (exchange_status, with `units` this rank's units of work). Returns work's result on every rank when
/// no rank failed or was stopped.
///
/// When options.stop can be requested, a stop reaches the other ranks at once rather than at the
/// exchange: `work` runs on a relay thread (relay_threads) while the calling thread, the only one that talks to MPI,
/// sends a stop requested here to every other rank (tag stop_tag), stops the work when such a message
/// arrives, and makes the progress reports of options.on_progress (so they still come on the calling
/// thread, never concurrently, once more at the end). A rank whose options cannot stop runs work on the
/// calling thread and learns of another rank's stop at the exchange.
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

    const int me = mpi::rank(comm), p = mpi::ranks(comm);
    std::stop_source stop_work;
    std::atomic<bool> stopped_here{false};
    std::stop_callback forward(options.stop, [&] {
        stopped_here = true;
        stop_work.request_stop();
    });
    std::mutex progress_mutex;
    std::optional<progress> latest;  // the work's last report, made again on this thread
    run_options inner{.stop = stop_work.get_token(), .on_progress = {}, .progress_interval = options.progress_interval};
    if (options.on_progress)
        inner.on_progress = [&](progress now) {
            const std::lock_guard lock(progress_mutex);
            latest = now;
        };

    int incoming = 0;
    const int outgoing = 1;
    MPI_Request receive = MPI_REQUEST_NULL;
    std::vector<MPI_Request> sends;
    sends.reserve(static_cast<std::size_t>(p));
    check(MPI_Irecv(&incoming, 1, MPI_INT, MPI_ANY_SOURCE, stop_tag, comm, &receive), "MPI_Irecv");
    const auto tell_others = [&] {
        for (int r = 0; r < p; ++r)
            if (r != me) {
                sends.push_back(MPI_REQUEST_NULL);
                check(MPI_Isend(&outgoing, 1, MPI_INT, r, stop_tag, comm, &sends.back()), "MPI_Isend");
            }
        relay.sent = true;
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
        if (stopped_here && !relay.sent) tell_others();
        if (relay.received == 0) {
            int arrived = 0;
            check(MPI_Test(&receive, &arrived, MPI_STATUS_IGNORE), "MPI_Test");
            if (arrived != 0) {
                relay.received = 1;
                stop_work.request_stop();
            }
        }
        if (options.on_progress) report(false);
    }
    if (stopped_here && !relay.sent) tell_others();  // requested before the work began, or as it ended
    if (relay.received == 0) {
        MPI_Status status;
        check(MPI_Cancel(&receive), "MPI_Cancel");
        check(MPI_Wait(&receive, &status), "MPI_Wait");
        int cancelled = 0;
        check(MPI_Test_cancelled(&status, &cancelled), "MPI_Test_cancelled");
        relay.received = cancelled != 0 ? 0 : 1;
    }
    if (!sends.empty())
        check(MPI_Waitall(static_cast<int>(sends.size()), sends.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    if (options.on_progress) report(true);
    error = progress_error ? progress_error : work_error;
    exchange_status(comm, error, units, units, relay);
    return value;
}

}  // namespace parex::mpi::detail
