#pragma once
// parex/mpi/records.hpp: speculative record parsing of one file across ranks (parex/records.hpp's
// map_records over many processes), the true record boundaries travelling from rank to rank.

#include <parex/chunked_executor.hpp>
#include <parex/mpi/collectives.hpp>
#include <parex/mpi/communicator.hpp>
#include <parex/mpi/detail/exchange.hpp>
#include <parex/mpi/detail/stop_relay.hpp>
#include <parex/mpi/file_plan.hpp>
#include <parex/records.hpp>
#include <parex/run_control.hpp>

#include <mpi.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <type_traits>
#include <utility>

namespace parex::mpi {

/// Speculative record parsing across ranks (parex/records.hpp's map_records, one file over many
/// processes). Every rank calls parse(c.begin, c.end) for the chunks of its block (plan.mine()) on
/// `executor`, in parallel, offsets being the file's. Then the true boundaries travel from rank to rank:
/// rank r receives where the true parse of the chunks before its block stopped, validates and repairs
/// its chunks from there (repair_speculative: a chunk that began inside a record of an earlier chunk,
/// on this rank or the one before, is parsed again from the true boundary), and sends where its own
/// block's true parse stopped to rank r + 1. Returns this rank's results, one per chunk of its block in
/// chunk order, and how many of them it parsed again: concatenated over the ranks, the results equal a
/// sequential parse's chunk by chunk (records.hpp), for any number of ranks and threads.
/// The chain costs one small message per rank, in sequence, plus the chunks parsed again. It uses
/// point-to-point messages with tag 0x7078 on `comm`. parse should report bad data in its result rather
/// than throw (as for map_records); an exception or a stop on any rank makes every rank throw
/// (remote_error, operation_cancelled), during the parallel parse or the repair. Collective.
template <class Parse>
    requires std::invocable<Parse&, std::size_t, std::size_t> &&
             speculative_result<std::invoke_result_t<Parse&, std::size_t, std::size_t>>
auto map_records(chunked_executor& executor, MPI_Comm comm, const file_plan& plan, Parse&& parse,
                 const run_options& options = {}) {
    using result = std::invoke_result_t<Parse&, std::size_t, std::size_t>;
    const int me = rank(comm), p = ranks(comm);
    const auto mine = block_of(plan.size(), me, p);
    const detail::sub_plan<file_plan> part{&plan, mine};
    auto results = detail::run_block(comm, options, mine.end - mine.begin, [&](const run_options& o) {
        return executor.map(part, [&](const byte_chunk& c) { return parse(c.begin, c.end); }, o);
    });
    std::exception_ptr error;

    constexpr auto failed = std::numeric_limits<std::uint64_t>::max();  // a rank before this one threw
    std::uint64_t start = plan[0].begin;
    if (me > 0)
        detail::check(MPI_Recv(&start, 1, MPI_UINT64_T, me - 1, detail::boundary_tag, comm, MPI_STATUS_IGNORE),
                      "MPI_Recv");
    std::uint64_t stop = failed;
    std::size_t repaired = 0;
    if (start != failed) {
        try {
            repaired = repair_speculative(part, results, static_cast<std::size_t>(start), parse);
            stop = results.empty() ? start : static_cast<std::uint64_t>(results.back().end);
        } catch (...) {
            error = std::current_exception();
        }
    }
    if (me + 1 < p) detail::check(MPI_Send(&stop, 1, MPI_UINT64_T, me + 1, detail::boundary_tag, comm), "MPI_Send");
    detail::exchange_status(comm, error, 0, 0);
    return parsed_records<result>{std::move(results), repaired};
}

/// map_records on default_executor().
template <class Parse>
    requires std::invocable<Parse&, std::size_t, std::size_t> &&
             speculative_result<std::invoke_result_t<Parse&, std::size_t, std::size_t>>
auto map_records(MPI_Comm comm, const file_plan& plan, Parse&& parse, const run_options& options = {}) {
    return mpi::map_records(default_executor(), comm, plan, std::forward<Parse>(parse), options);
}

/// The order of parex 0.1, the executor after the parser: kept for one release.
template <class Parse>
    requires std::invocable<Parse&, std::size_t, std::size_t> &&
             speculative_result<std::invoke_result_t<Parse&, std::size_t, std::size_t>>
[[deprecated("pass the executor first: parex::mpi::map_records(executor, comm, plan, parse, options)")]]
auto map_records(MPI_Comm comm, const file_plan& plan, Parse&& parse, chunked_executor& executor,
                 const run_options& options = {}) {
    return mpi::map_records(executor, comm, plan, std::forward<Parse>(parse), options);
}

}  // namespace parex::mpi
