#pragma once
// The oneTBB task arenas of destroyed executors, each kept for the next executor of the same shape.

#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace parex::detail {

/// oneTBB (2021.8, Debian 12's, at least) does not free an arena that its worker threads served: every
/// destroyed one keeps a few kilobytes, and every later arena takes longer to start, without bound
/// (docs/chunked_executor.md, "Costs"). Handing arenas on keeps a program that makes an executor per
/// call at the cost of its first one. Thread-safe; an arena is held by one executor at a time, and the
/// idle ones are as many as the most executors of one shape that were alive at once.
class arena_pool {
public:
    struct shape {
        int concurrency;
        unsigned reserved_for_callers;
        friend bool operator==(const shape&, const shape&) = default;
    };
    /// Puts the arena back into the pool rather than destroying it.
    struct give_back {
        shape key;
        void operator()(tbb::task_arena* arena) const noexcept {
            std::unique_ptr<tbb::task_arena> owned(arena);
            auto& pool = instance();
            try {
                const std::lock_guard lock(pool.mutex_);
                pool.idle_.push_back({key, std::move(owned)});
            } catch (...) {  // NOLINT(bugprone-empty-catch): no memory to keep it: destroyed, as without a pool
            }
        }
    };
    using handle = std::unique_ptr<tbb::task_arena, give_back>;

    /// An idle arena of that shape, or a new one.
    static handle take(shape key) {
        auto& pool = instance();
        {
            const std::lock_guard lock(pool.mutex_);
            const auto it =
                std::find_if(pool.idle_.begin(), pool.idle_.end(), [&](const idle_arena& a) { return a.key == key; });
            if (it != pool.idle_.end()) {
                handle found(it->arena.release(), give_back{key});
                pool.idle_.erase(it);
                return found;
            }
        }
        return handle(new tbb::task_arena(key.concurrency, key.reserved_for_callers), give_back{key});
    }

private:
    struct idle_arena {
        shape key;
        std::unique_ptr<tbb::task_arena> arena;
    };
    // Immortal: built on first use and never destroyed, so that an executor destroyed at any moment of
    // the process's exit (a static registry built before the first executor is destroyed after any
    // function-local static of parex's; a detached thread may outlive every static) still finds it. The
    // idle arenas it holds at exit are reachable from it, so LeakSanitizer does not report them, and
    // oneTBB needs no arena destroyed before the process ends.
    static arena_pool& instance() {
        static auto* const pool = new arena_pool;  // NOLINT(cppcoreguidelines-owning-memory)
        return *pool;
    }
    std::mutex mutex_;
    std::vector<idle_arena> idle_;
};

}  // namespace parex::detail
