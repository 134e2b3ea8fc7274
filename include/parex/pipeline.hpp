#pragma once
// parex/pipeline.hpp: an ordered streaming pipeline. A serial source produces items, a parallel
// transform turns each into a result, a serial sink consumes the results in the source's order.
// At most `max_in_flight` items exist between source and sink, so memory stays bounded however long
// the stream is. Built on oneTBB's parallel_pipeline, run in a chunked_executor's arena: its stages share
// the executor's threads (and its worker_local states) with everything else that runs there.

#include <parex/chunked_executor.hpp>
#include <parex/detail/run_state.hpp>
#include <parex/detail/stop_call.hpp>
#include <parex/run_control.hpp>

#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_group.h>

#include <concepts>
#include <cstddef>
#include <exception>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace parex {

/// Options of run_pipeline.
struct pipeline_options {
    /// Items alive at once between source and sink (produced, not yet consumed).
    /// 0 = 2 x the executor's max_concurrency().
    std::size_t max_in_flight = 0;
};

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// A stage called with Args, and optionally a trailing std::stop_token.
template <class F, class... Args>
concept pipeline_stage = std::invocable<F&, Args...> || takes_stop<F, Args...>;

/// What travels between the stages: empty only out of a stopped source (TBB needs a value from it).
/// The user-provided destructor makes it non-trivially-copyable, so TBB passes it by pointer: oneTBB
/// 2021.8's by-value path for small trivially copyable types fails to compile for std::optional.
template <class T>
struct token {
    std::optional<T> value;
    token() = default;
    token(token&&) noexcept = default;
    token& operator=(token&&) noexcept = default;
    ~token() {}  // NOLINT(modernize-use-equals-default): see above
};
}  // namespace detail

/// Runs source -> transform -> sink on `executor` until the source returns std::nullopt. At most
/// executor.max_concurrency() stages run at once; stages may use the executor's worker_local states.
///
/// - `source()` -> std::optional<T>: called on one thread at a time, never concurrently;
///   std::nullopt ends the stream.
/// - `transform(T&&)` -> U: called concurrently on different items.
/// - `sink(U&&)`: called on one thread at a time, in exactly the order the source produced the items.
///
/// Any stage may take a std::stop_token as its last parameter (`source(stop)`, `transform(T&&, stop)`,
/// `sink(U&&, stop)`): it is requested when another stage throws or `run.stop` is requested, so that
/// a long-running stage can return early. Only then does the run allocate its stop state.
///
/// Returns the number of items the sink consumed. The first exception thrown by any stage stops the
/// pipeline (no new item is produced; items in flight are dropped: destroyed without further stages)
/// and is rethrown here. `run.stop`: once requested nothing new starts, items in flight are dropped
/// and, unless the stream had already been fully consumed, operation_cancelled is thrown. A stage
/// already running finishes its item, unless it polls its stop token. `run.on_progress` reports items
/// consumed out of items produced so far.
template <class Source, class Transform, class Sink>
    requires detail::pipeline_stage<Source> && detail::is_optional<detail::stop_call_result_t<Source>>::value
std::size_t run_pipeline(chunked_executor& executor, Source&& source, Transform&& transform, Sink&& sink,
                         const pipeline_options& options = {}, const run_options& run = {}) {
    using item = typename detail::stop_call_result_t<Source>::value_type;
    static_assert(detail::pipeline_stage<Transform, item&&>, "parex: transform must take the source's item");
    using result = std::remove_cvref_t<detail::stop_call_result_t<Transform, item&&>>;
    static_assert(detail::pipeline_stage<Sink, result&&>, "parex: sink must take the transform's result");

    auto& core = detail::core_of(executor);
    const auto in_flight = options.max_in_flight > 0 ? options.max_in_flight : 2 * core.concurrency;

    constexpr bool with_token =
        detail::takes_stop<Source> || detail::takes_stop<Transform, item&&> || detail::takes_stop<Sink, result&&>;
    detail::run_state state(run, 0, with_token);
    const std::stop_token stop = state.token();  // never requested without with_token
    // No stage's exception and no stop ever reaches oneTBB: a failure is recorded (first wins), the
    // source stops, and the items already in flight pass the remaining stages without being worked on,
    // so each is destroyed by its own stage. (oneTBB's cancellation of a pipeline leaves the items in
    // flight undestroyed: their memory would leak.)
    const auto guarded = [&state, &core](auto&& stage) {
        detail::running_on here(&core);
        try {
            stage();
        } catch (...) {
            state.fail(std::current_exception());
        }
    };

    bool drained = false;
    if (core.serial()) {  // one stage at a time: in order, on the calling thread (executor_core)
        core.on_this_thread([&] {
            while (!state.stopping()) {
                std::optional<item> next;
                guarded([&] { next = detail::call_with_stop(source, stop); });
                if (!next) {
                    drained = !state.stopping();
                    break;
                }
                state.add_to_total();
                std::optional<result> out;
                guarded([&] { out.emplace(detail::call_with_stop(transform, stop, std::move(*next))); });
                if (!out || state.stopping()) continue;
                guarded([&] {
                    detail::call_with_stop(sink, stop, std::move(*out));
                    state.unit_done();
                });
            }
        });
        if (!drained) state.mark_incomplete();
        state.finish();
        return state.done();
    }

    using in_token = detail::token<item>;
    using out_token = detail::token<result>;
    const auto stages =
        tbb::make_filter<void, in_token>(tbb::filter_mode::serial_in_order,
                                         [&](tbb::flow_control& flow) {
                                             in_token next;
                                             if (!state.stopping())
                                                 guarded([&] {
                                                     if (auto v = detail::call_with_stop(source, stop))
                                                         next.value.emplace(std::move(*v));
                                                 });
                                             if (!next.value) {
                                                 drained = !state.stopping();
                                                 flow.stop();
                                             } else {
                                                 state.add_to_total();
                                             }
                                             return next;
                                         }) &
        tbb::make_filter<in_token, out_token>(
            tbb::filter_mode::parallel,
            [&](in_token&& in) {  // NOLINT(cppcoreguidelines-rvalue-reference-param-not-moved): its value is moved
                out_token out;
                if (!state.stopping())
                    guarded([&] { out.value.emplace(detail::call_with_stop(transform, stop, std::move(*in.value))); });
                return out;
            }) &
        tbb::make_filter<out_token, void>(
            tbb::filter_mode::serial_in_order,
            [&](out_token&& out) {  // NOLINT(cppcoreguidelines-rvalue-reference-param-not-moved): its value is moved
                if (!out.value || state.stopping()) return;  // dropped: the run has failed or was stopped
                guarded([&] {
                    detail::call_with_stop(sink, stop, std::move(*out.value));
                    state.unit_done();
                });
            });

    tbb::task_group_context context;  // isolated: a cancellation outside does not reach in
    try {
        core.in_parallel([&] { tbb::parallel_pipeline(in_flight, stages, context); });
    } catch (...) {
        state.fail(std::current_exception());  // oneTBB itself failed (no stage's exception gets here)
    }
    if (!drained) state.mark_incomplete();
    state.finish();
    return state.done();
}

/// run_pipeline on default_executor(). Throws parex::invalid_argument when PAREX_NUM_THREADS is invalid.
template <class Source, class Transform, class Sink>
    requires detail::pipeline_stage<Source> && detail::is_optional<detail::stop_call_result_t<Source>>::value
std::size_t run_pipeline(Source&& source, Transform&& transform, Sink&& sink, const pipeline_options& options = {},
                         const run_options& run = {}) {
    return run_pipeline(default_executor(), std::forward<Source>(source), std::forward<Transform>(transform),
                        std::forward<Sink>(sink), options, run);
}

}  // namespace parex
