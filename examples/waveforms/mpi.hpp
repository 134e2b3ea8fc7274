#pragma once
// waveforms/mpi.hpp: a batch across the ranks of an MPI communicator. Rank r generates the rows
// block_of(rows, r, ranks) of the parameter table on its own worker pool, and the rows are gathered
// into one batch on rank 0, which writes the file: the same bytes as one process's batch. Gathering to
// rank 0 (rather than parallel HDF5) keeps one writer and Debian's serial HDF5; docs/mpi.md gives its
// measured share of the time. Built only with MPI (target parex::mpi).

#include <waveforms/generator.hpp>

#include <parex/mpi.hpp>

#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

namespace waveforms::mpi {

/// Where the time of generate_batch went, on the calling rank.
struct batch_timing {
    double generate_seconds = 0;  ///< this rank's rows, and waiting for the other ranks' to end
    double gather_seconds = 0;    ///< the rows' transfer to rank 0
};

/// Generates params[i] into row i of rank 0's batch, across the ranks of `comm`: rank r generates the
/// rows parex::mpi::block_of(params.size(), r, ranks) on `pool` (per_task rows per task, as
/// generate_rows) and sends them to rank 0, which generates its own rows in place. `out`: on rank 0
/// the whole batch (params.size() rows of `bins` bins); on other ranks a batch of at least their rows
/// to generate into before sending, kept between calls by a caller that makes many, or nullptr to have
/// one made for the call. Memory: rank 0 holds the whole batch, the others their rows. Throws on every
/// rank parex::mpi::remote_error naming the lowest failing rank (a bad row's message names its row in
/// the whole table), or operation_cancelled when a rank was stopped. Collective.
inline batch_timing generate_batch(MPI_Comm comm, generator_pool& pool, std::span<const parameters> params, batch* out,
                                   std::size_t bins, std::size_t per_task = 16, const parex::run_options& run = {}) {
    const int me = parex::mpi::rank(comm), ranks = parex::mpi::ranks(comm);
    const auto mine = parex::mpi::block_of(params.size(), me, ranks);
    const auto count = mine.end - mine.begin;
    batch_timing timing;
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<batch> made;
    batch* rows = out;  // where this rank's rows go: row 0 of it is row mine.begin of the table
    std::exception_ptr error;
    try {
        if (me == 0 && (out == nullptr || out->waveforms != params.size() || out->bins != bins))
            throw std::invalid_argument(fmt::format("rank 0 needs a batch of {} rows of {} bins", params.size(), bins));
        if (me != 0 && out != nullptr && (out->waveforms < count || out->bins != bins))
            throw std::invalid_argument(fmt::format("rank {} has a batch of {} rows of {} bins for its {} rows of {}",
                                                    me, out->waveforms, out->bins, count, bins));
        if (2 * bins > static_cast<std::size_t>(INT_MAX) || params.size() > static_cast<std::size_t>(INT_MAX))
            throw std::invalid_argument(
                fmt::format("{} rows of {} bins: more than one MPI call sends", params.size(), bins));
        if (rows == nullptr) rows = &made.emplace(make_batch(count, bins));
        generate_rows(pool, params.subspan(mine.begin, count), rows->h_plus.first(count * bins),
                      rows->h_cross.first(count * bins), bins, per_task, run, mine.begin);
    } catch (...) {
        error = std::current_exception();
    }
    parex::mpi::exchange_status(comm, error);
    const auto t1 = std::chrono::steady_clock::now();

    // one MPI element per row: 2 x bins doubles (a complex<double> is two doubles, [complex.numbers])
    MPI_Datatype row = MPI_DATATYPE_NULL;
    parex::mpi::detail::check(MPI_Type_contiguous(static_cast<int>(2 * bins), MPI_DOUBLE, &row), "MPI_Type_contiguous");
    const std::unique_ptr<MPI_Datatype, decltype([](MPI_Datatype* t) { MPI_Type_free(t); })> free_row(&row);
    parex::mpi::detail::check(MPI_Type_commit(&row), "MPI_Type_commit");
    std::vector<int> counts, offsets;
    for (int r = 0; r < ranks; ++r) {
        const auto b = parex::mpi::block_of(params.size(), r, ranks);
        counts.push_back(static_cast<int>(b.end - b.begin));
        offsets.push_back(static_cast<int>(b.begin));
    }
    const auto gather = [&](std::span<std::complex<double>> values) {  // rank 0's rows are in place
        parex::mpi::detail::check(MPI_Gatherv(me == 0 ? MPI_IN_PLACE : values.data(), static_cast<int>(count), row,
                                              values.data(), counts.data(), offsets.data(), row, 0, comm),
                                  "MPI_Gatherv");
    };
    gather(rows->h_plus);
    gather(rows->h_cross);
    const auto t2 = std::chrono::steady_clock::now();
    timing.generate_seconds = std::chrono::duration<double>(t1 - t0).count();
    timing.gather_seconds = std::chrono::duration<double>(t2 - t1).count();
    return timing;
}

}  // namespace waveforms::mpi
