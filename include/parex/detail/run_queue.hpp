#pragma once
// The queue of an executor's run() tasks: a bounded ring of task cells that many threads push to and
// pop from without a lock, and an unbounded overflow list behind a mutex for when the ring is full.
// A small trivially copyable task lives in its cell, so queueing it allocates nothing.

#include <atomic>
#include <cstddef>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>

namespace parex::detail {

/// A run() task waiting in its executor's queue. Trivially copyable, so the queue moves it as bytes: a
/// trivially copyable callable of at most `inline_size` bytes and pointer alignment (a lambda capturing
/// references, pointers or numbers) lives in it, any other on the heap with its pointer in it. Each
/// task made by of() is run or dropped exactly once, from whichever copy.
class queued_task {
public:
    static constexpr std::size_t inline_size = 40;  // with the two function pointers: 56 bytes

    /// Throws std::bad_alloc when F goes to the heap and memory runs out.
    template <class F>
    static queued_task of(F f) {
        queued_task task;
        if constexpr (sizeof(F) <= inline_size && alignof(F) <= alignof(void*) && std::is_trivially_copyable_v<F>) {
            ::new (static_cast<void*>(task.storage_)) F(std::move(f));
            task.run_ = [](queued_task& t) { (*std::launder(reinterpret_cast<F*>(t.storage_)))(); };
            task.drop_ = [](queued_task&) noexcept {};
        } else {
            F* const heap = new F(std::move(f));  // NOLINT(cppcoreguidelines-owning-memory): run_ or drop_ frees it
            std::memcpy(task.storage_, &heap, sizeof heap);
            task.run_ = [](queued_task& t) { std::unique_ptr<F>(t.heap<F>())->operator()(); };
            task.drop_ = [](queued_task& t) noexcept {
                delete t.heap<F>();
            };  // NOLINT(cppcoreguidelines-owning-memory)
        }
        return task;
    }
    /// Runs the task and releases it; its exception propagates (after the release).
    void run() { run_(*this); }
    /// Releases the task without running it.
    void drop() noexcept { drop_(*this); }

private:
    template <class F>
    F* heap() const noexcept {
        F* p = nullptr;
        std::memcpy(static_cast<void*>(&p), storage_, sizeof p);
        return p;
    }
    void (*run_)(queued_task&) = nullptr;
    void (*drop_)(queued_task&) noexcept = nullptr;
    alignas(void*) unsigned char storage_[inline_size] = {};
};

/// A multi-producer, multi-consumer queue of queued_task. The ring is Vyukov's bounded MPMC queue
/// (each cell carries a sequence number that says whether it is free or full for a given position;
/// 1024cores.net, "Bounded MPMC queue"): a push or pop is one compare-and-swap on its end's
/// position and a release store on the cell, so a task crosses between threads in one cache line.
/// When the ring is full, tasks go to the overflow list until it is empty again, so a producer never
/// waits for a consumer (a task that queues tasks on an executor of one could not be waited for).
/// Order: a pop takes the oldest task of the ring, and the overflow only when the ring is empty.
/// The ring (64 KiB) is allocated on the first push. Tasks left in it when it is destroyed are not
/// dropped: the owner pops and drops them first.
class run_queue {
public:
    /// Throws std::bad_alloc when the ring or the overflow list cannot grow.
    void push(const queued_task& task) {
        if (!overflowing_.load(std::memory_order_acquire) && push_ring(ring(), task)) return;
        const std::lock_guard lock(overflow_mutex_);
        overflow_.push_back(task);
        overflowing_.store(true, std::memory_order_release);
    }

    /// Takes the oldest task of the ring, or else of the overflow list; false if both are empty (or
    /// the next task's push has not finished).
    bool try_pop(queued_task& task) {
        if (cell* const cells = ring_.load(std::memory_order_acquire); cells && pop_ring(cells, task)) return true;
        if (!overflowing_.load(std::memory_order_acquire)) return false;
        const std::lock_guard lock(overflow_mutex_);
        if (overflow_.empty()) return false;
        task = overflow_.front();
        overflow_.pop_front();
        if (overflow_.empty()) overflowing_.store(false, std::memory_order_release);
        return true;
    }

    /// True if no task is queued, as far as the calling thread knows: a push that happens before the
    /// call is seen.
    [[nodiscard]] bool empty() const noexcept {
        return push_position_.load(std::memory_order_acquire) == pop_position_.load(std::memory_order_acquire) &&
               !overflowing_.load(std::memory_order_acquire);
    }

private:
    static constexpr std::size_t capacity = 1024;  // a power of two
    struct alignas(64) cell {
        std::atomic<std::size_t> sequence;  // == position: free for that push; == position + 1: full for that pop
        queued_task task;
    };
    cell* ring() {
        if (cell* const cells = ring_.load(std::memory_order_acquire)) return cells;
        std::call_once(ring_made_, [&] {
            ring_storage_ = std::make_unique<cell[]>(capacity);
            for (std::size_t i = 0; i < capacity; ++i) ring_storage_[i].sequence.store(i, std::memory_order_relaxed);
            ring_.store(ring_storage_.get(), std::memory_order_release);
        });
        return ring_.load(std::memory_order_acquire);
    }

    bool push_ring(cell* cells, const queued_task& task) {
        std::size_t position = push_position_.load(std::memory_order_relaxed);
        for (;;) {
            cell& c = cells[position % capacity];
            const auto lag = static_cast<std::ptrdiff_t>(c.sequence.load(std::memory_order_acquire) - position);
            if (lag == 0) {
                if (push_position_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
                    c.task = task;
                    c.sequence.store(position + 1, std::memory_order_release);
                    return true;
                }
            } else if (lag < 0) {
                return false;  // full: the cell still holds the task pushed one lap earlier
            } else {
                position = push_position_.load(std::memory_order_relaxed);
            }
        }
    }

    bool pop_ring(cell* cells, queued_task& task) {
        std::size_t position = pop_position_.load(std::memory_order_relaxed);
        for (;;) {
            cell& c = cells[position % capacity];
            const auto lag = static_cast<std::ptrdiff_t>(c.sequence.load(std::memory_order_acquire) - (position + 1));
            if (lag == 0) {
                if (pop_position_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
                    task = c.task;
                    c.sequence.store(position + capacity, std::memory_order_release);
                    return true;
                }
            } else if (lag < 0) {
                return false;  // empty, or its push is still writing the task
            } else {
                position = pop_position_.load(std::memory_order_relaxed);
            }
        }
    }

    std::atomic<cell*> ring_{nullptr};
    std::unique_ptr<cell[]> ring_storage_;
    std::once_flag ring_made_;
    alignas(64) std::atomic<std::size_t> push_position_{0};
    alignas(64) std::atomic<std::size_t> pop_position_{0};
    alignas(64) std::atomic<bool> overflowing_{false};
    std::mutex overflow_mutex_;
    std::deque<queued_task> overflow_;
};

}  // namespace parex::detail
