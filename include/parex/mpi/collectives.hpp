#pragma once
// parex/mpi/collectives.hpp: chunk operations across the ranks of a communicator (for_each, map,
// map_reduce) and the steps they are made of (exchange_status, gather, combine), for programs that
// compute their leaves themselves.
//
// Every rank builds the same plan and takes a contiguous block of its chunks (block_of), which it runs
// on its executor. For map_reduce the leaves (one partial result per chunk) are gathered to rank 0 in
// chunk order and combined there in exactly the tree that chunked_executor::map_reduce uses, and the
// result is broadcast: it is bitwise the same as single-process parex for every number of ranks and
// threads, for any reduce function. MPI_Reduce would not give that: it may combine in any order.
//
// Every operation takes the executor first, as the single-process algorithms do, or uses
// default_executor() when it is left out.

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>
#include <parex/detail/combine_tree.hpp>
#include <parex/errors.hpp>
#include <parex/mpi/communicator.hpp>
#include <parex/mpi/detail/exchange.hpp>
#include <parex/mpi/detail/stop_relay.hpp>
#include <parex/run_control.hpp>

#include <mpi.h>

#include <concepts>
#include <cstddef>
#include <exception>
#include <utility>
#include <vector>

namespace parex::mpi {

/// Throws on every rank when some rank's local work failed: `error` is this rank's outcome (null when
/// it succeeded). remote_error names the lowest failing rank and its message; when no rank failed but
/// some were stopped (operation_cancelled), every rank throws operation_cancelled with the units done
/// and in all summed over the stopped ranks. Returns normally on every rank when no rank had an error.
/// Call it after local work that can throw and before the next collective call, so that no rank waits
/// in that call for a rank that failed. Collective: an allgather of one int, plus a broadcast of the
/// message on failure.
inline void exchange_status(MPI_Comm comm, const std::exception_ptr& error) {
    detail::exchange_status(comm, error, 0, 0);
}

/// Every rank's `local` values concatenated in rank order: on rank 0 (results_on::root; other ranks get
/// an empty vector) or on every rank (results_on::all). T must have a serializer. Throws
/// parex::invalid_argument when a rank's values exceed 2 GiB (one MPI call's count). Collective.
template <class T>
std::vector<T> gather(MPI_Comm comm, const std::vector<T>& local, results_on where = results_on::root) {
    return detail::gather(comm, local, where == results_on::all ? -1 : 0);
}

/// The combine step of map_reduce, for leaves the ranks computed themselves (map_records' results, a
/// file's chunks): `leaves` are this rank's partial results, and concatenated in rank order the ranks'
/// leaves are a plan's leaves in chunk order. They are gathered to rank 0, combined there in the tree of
/// chunked_executor::map_reduce, and reduce(init, root) is broadcast: on every rank the bits of
/// executor.map_reduce over that plan in one process, whatever the number of ranks. T must have a
/// serializer. Memory on rank 0: every leaf. Collective; call exchange_status first when computing the
/// leaves can throw.
template <class T, class Reduce>
    requires std::invocable<Reduce&, T, T>
T combine(MPI_Comm comm, const std::vector<T>& leaves, Reduce&& reduce, T init) {
    auto all = detail::gather(comm, leaves, 0);
    T result = init;
    if (rank(comm) == 0) {
        parex::detail::combine_tree(all, reduce);
        if (!all.empty()) result = reduce(std::move(init), std::move(all.front()));
    }
    return detail::broadcast(comm, result, 0);
}

/// Runs this rank's block of `plan` (block_of) on `executor`: f(chunk) for each of its chunks. Returns
/// on every rank once every rank's block has run. Throws on every rank: remote_error when a rank's f
/// threw, operation_cancelled when a rank was stopped (options.stop). Collective.
template <chunk_plan Plan, class F>
void for_each(chunked_executor& executor, MPI_Comm comm, const Plan& plan, F&& f, const run_options& options = {}) {
    const auto mine = block_of(plan.size(), rank(comm), ranks(comm));
    (void)detail::run_block(comm, options, mine.end - mine.begin, [&](const run_options& local) {
        executor.for_each(detail::sub_plan<Plan>{&plan, mine}, f, local);
        return 0;
    });
}

/// for_each on default_executor().
template <chunk_plan Plan, class F>
void for_each(MPI_Comm comm, const Plan& plan, F&& f, const run_options& options = {}) {
    mpi::for_each(default_executor(), comm, plan, std::forward<F>(f), options);
}

/// f(chunk) for every chunk of `plan`, across the ranks: the results in chunk order (results[i] from
/// plan[i]) on rank 0 (results_on::root; other ranks get an empty vector) or on every rank
/// (results_on::all). The result type must have a serializer. Errors as for_each. Collective.
template <chunk_plan Plan, class F>
auto map(chunked_executor& executor, MPI_Comm comm, const Plan& plan, F&& f, results_on where = results_on::root,
         const run_options& options = {}) {
    const auto mine = block_of(plan.size(), rank(comm), ranks(comm));
    const auto local = detail::run_block(comm, options, mine.end - mine.begin, [&](const run_options& o) {
        return executor.map(detail::sub_plan<Plan>{&plan, mine}, f, o);
    });
    return detail::gather(comm, local, where == results_on::all ? -1 : 0);
}

/// map on default_executor().
template <chunk_plan Plan, class F>
auto map(MPI_Comm comm, const Plan& plan, F&& f, results_on where = results_on::root, const run_options& options = {}) {
    return mpi::map(default_executor(), comm, plan, std::forward<F>(f), where, options);
}

/// reduce(init, tree) over the leaves map(plan[i]) of every rank, combined on rank 0 in the tree of
/// chunked_executor::map_reduce and broadcast: on every rank the same bits as
/// executor.map_reduce(plan, map, reduce, init) in one process, for any number of ranks and threads.
/// T must have a serializer. Memory on rank 0: every leaf; reduce is called there plan.size() times,
/// on one thread. Errors as for_each. Collective.
template <chunk_plan Plan, class Map, class T, class Reduce>
    requires std::invocable<Reduce&, T, T>
T map_reduce(chunked_executor& executor, MPI_Comm comm, const Plan& plan, Map&& map_fn, Reduce&& reduce, T init,
             const run_options& options = {}) {
    const auto mine = block_of(plan.size(), rank(comm), ranks(comm));
    const auto local = detail::run_block(comm, options, mine.end - mine.begin, [&](const run_options& o) {
        return executor.map(
            detail::sub_plan<Plan>{&plan, mine}, [&](const auto& c) { return static_cast<T>(map_fn(c)); }, o);
    });
    return mpi::combine(comm, local, reduce, std::move(init));
}

/// map_reduce on default_executor().
template <chunk_plan Plan, class Map, class T, class Reduce>
    requires std::invocable<Reduce&, T, T>
T map_reduce(MPI_Comm comm, const Plan& plan, Map&& map_fn, Reduce&& reduce, T init, const run_options& options = {}) {
    return mpi::map_reduce(default_executor(), comm, plan, std::forward<Map>(map_fn), std::forward<Reduce>(reduce),
                           std::move(init), options);
}

// The order of parex 0.1, the executor after the callables: kept for one release.

template <chunk_plan Plan, class F>
[[deprecated("pass the executor first: parex::mpi::for_each(executor, comm, plan, f, options)")]]
void for_each(MPI_Comm comm, const Plan& plan, F&& f, chunked_executor& executor, const run_options& options = {}) {
    mpi::for_each(executor, comm, plan, std::forward<F>(f), options);
}

template <chunk_plan Plan, class F>
[[deprecated("pass the executor first: parex::mpi::map(executor, comm, plan, f, where, options)")]]
auto map(MPI_Comm comm, const Plan& plan, F&& f, chunked_executor& executor, results_on where = results_on::root,
         const run_options& options = {}) {
    return mpi::map(executor, comm, plan, std::forward<F>(f), where, options);
}

template <chunk_plan Plan, class Map, class T, class Reduce>
    requires std::invocable<Reduce&, T, T>
[[deprecated("pass the executor first: parex::mpi::map_reduce(executor, comm, plan, map, reduce, init, options)")]]
T map_reduce(MPI_Comm comm, const Plan& plan, Map&& map_fn, Reduce&& reduce, T init, chunked_executor& executor,
             const run_options& options = {}) {
    return mpi::map_reduce(executor, comm, plan, std::forward<Map>(map_fn), std::forward<Reduce>(reduce),
                           std::move(init), options);
}

}  // namespace parex::mpi
