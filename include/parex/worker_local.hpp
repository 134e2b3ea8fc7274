#pragma once
// parex/worker_local.hpp: per-worker state for anything that runs on a chunked_executor (chunks,
// pipeline stages, tasks). One State per arena slot, built on first use by the thread holding that slot.

#include <parex/chunked_executor.hpp>

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace parex {

/// One State per arena slot of an executor: codec contexts, scratch buffers, random generators, partial
/// accumulators. Work running on the executor reaches its slot's State with get().
///
/// Guarantees:
/// - at most one State per slot, built by `init(slot)` on the thread that first calls get() in that
///   slot, when it first does; ex.max_concurrency() slots;
/// - a State is never used by two threads at once: a slot is held by one thread at a time, and a
///   thread keeps its slot while it runs a chunk, stage or task;
/// - a State is never seen by two outer pieces of work: while a piece waits in a nested call on the
///   executor, its thread runs only that call's work (isolation), or the task whose future it waits
///   for. That nested work, run on the same thread, sees the same State;
/// - States are destroyed with the worker_local, on the thread that destroys it.
///
/// Unlike worker_pool's initializer, init runs lazily: a slot that no thread uses builds nothing, and
/// init's exception reaches the chunk, stage or task that called get() (and through it the caller);
/// the slot is then built again by the next get().
/// The worker_local must outlive the work that uses it and must not be destroyed while any runs.
template <class State>
class worker_local {
public:
    /// `init(std::size_t slot)` returns a State (which need be neither copyable nor movable).
    template <class Init>
        requires std::invocable<Init&, std::size_t> &&
                     std::same_as<std::remove_cvref_t<std::invoke_result_t<Init&, std::size_t>>, State>
    worker_local(chunked_executor& executor, Init init)
        : core_(&detail::core_of(executor)),
          slots_(std::make_unique<slot[]>(core_->slots())),
          build_(std::make_unique<builder_for<Init>>(std::move(init))) {}

    worker_local(const worker_local&) = delete;
    worker_local& operator=(const worker_local&) = delete;

    /// The State of the calling thread's slot, built now if this is the slot's first use.
    /// Throws parex::logic_error when called outside a chunk, stage or task of the executor, and
    /// whatever init throws. O(1): a thread-local read and an index.
    [[nodiscard]] State& get() {
        auto& s = slots_[detail::current_slot(*core_)];
        if (!s.state) build_->build(s.state, static_cast<std::size_t>(&s - slots_.get()));
        return *s.state;
    }

    /// Number of States built so far. Call it when no work uses this worker_local.
    [[nodiscard]] std::size_t built() const noexcept {
        std::size_t n = 0;
        for (std::size_t i = 0; i < core_->slots(); ++i) n += slots_[i].state.has_value();
        return n;
    }

    /// Calls f(State&) for every State built, in slot order: to combine per-worker results. Call it when
    /// no work uses this worker_local.
    template <class F>
        requires std::invocable<F&, State&>
    void for_each_built(F f) {
        for (std::size_t i = 0; i < core_->slots(); ++i)
            if (slots_[i].state) f(*slots_[i].state);
    }

private:
    struct alignas(64) slot {  // one cache line or more each: slots are written by different threads
        std::optional<State> state;
    };

    struct builder {
        virtual ~builder() = default;
        virtual void build(std::optional<State>& state, std::size_t index) = 0;
    };
    template <class Init>
    struct builder_for final : builder {
        explicit builder_for(Init i) : init(std::move(i)) {}
        void build(std::optional<State>& state, std::size_t index) override { state.emplace(make_state{init, index}); }
        /// Lets std::optional::emplace build State from init's prvalue (guaranteed copy elision).
        struct make_state {
            Init& init;
            std::size_t index;
            operator State() const { return init(index); }  // NOLINT(google-explicit-constructor)
        };
        Init init;
    };

    detail::executor_core* core_;
    std::unique_ptr<slot[]> slots_;
    std::unique_ptr<builder> build_;  // init, type-erased (it may be move-only)
};

}  // namespace parex
