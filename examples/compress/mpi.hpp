#pragma once
// compress/mpi.hpp: one large file compressed across the ranks of an MPI communicator into one seekable
// archive, byte for byte the archive one process writes. Each rank maps the input and compresses only
// its block of chunks (parex::mpi::split_file at multiples of the chunk size), then every rank writes
// its frames at their offset in the output with MPI-IO, and rank 0 writes the seek table after them.
// No rank holds another's frames. Built only with MPI (target parex::mpi).

#include <compress/engine.hpp>
#include <compress/seek_table.hpp>

#include <parex/mpi.hpp>

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace compress::mpi {

namespace detail {

/// Writes `bytes` at `offset` of an MPI file, in pieces that fit one call's int count. Throws
/// std::runtime_error naming `path` when MPI-IO fails.
inline void write_at(MPI_File file, MPI_Offset offset, std::string_view bytes, const std::filesystem::path& path) {
    constexpr std::size_t piece = std::size_t{1} << 30;
    while (!bytes.empty()) {
        const auto n = std::min(bytes.size(), piece);
        if (MPI_File_write_at(file, offset, bytes.data(), static_cast<int>(n), MPI_BYTE, MPI_STATUS_IGNORE) !=
            MPI_SUCCESS)
            throw std::runtime_error("MPI-IO cannot write " + std::to_string(n) + " bytes at byte " +
                                     std::to_string(offset) + " of " + path.string());
        offset += static_cast<MPI_Offset>(n);
        bytes.remove_prefix(n);
    }
}

}  // namespace detail

/// Compresses the file at `input` into `output` across the ranks of `comm`: the archive a compressor
/// with `opts` writes in one process, byte for byte (frames of chunk_size bytes of input, then the seek
/// table). `output` is an existing, empty file every rank can open by that path (the temporary file of
/// rank 0's output_file, say). Rank r compresses the chunks block_of(chunks, r, ranks) on
/// `opts.threads` threads, reading only those bytes of the input; the ranks then write their frames at
/// their offsets with MPI-IO, and rank 0 the seek table. Returns the
/// totals over the ranks on every rank. Throws on every rank parex::mpi::remote_error naming the lowest
/// failing rank (an option compressor refuses, a file that cannot be read or written). Collective.
inline compress_result compress_file(MPI_Comm comm, const std::filesystem::path& input,
                                     const std::filesystem::path& output, const options& opts) {
    const int me = parex::mpi::rank(comm);
    std::exception_ptr error;
    std::optional<compressor> engine;
    try {
        engine.emplace(opts);
    } catch (...) {
        error = std::current_exception();
    }
    parex::mpi::exchange_status(comm, error);
    const auto plan = parex::mpi::split_file(comm, input, engine->chunk_size(),
                                             [](std::string_view, std::size_t pos) { return pos; });
    const auto mine = plan.mine();
    std::string frames;
    std::vector<seek_entry> entries;
    try {
        if (mine.end > mine.begin) {
            const auto begin = plan[mine.begin].begin, end = plan[mine.end - 1].end;
            entries = engine->compress_frames(plan.data().substr(begin, end - begin),
                                              [&](std::string_view piece) { frames.append(piece); });
        }
    } catch (...) {
        error = std::current_exception();
    }
    parex::mpi::exchange_status(comm, error);

    // this rank's frames go after the frames of the ranks before it
    unsigned long long bytes = frames.size(), before = 0, total = 0;
    parex::mpi::detail::check(MPI_Exscan(&bytes, &before, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm), "MPI_Exscan");
    if (me == 0) before = 0;  // MPI_Exscan leaves rank 0's undefined
    parex::mpi::detail::check(MPI_Allreduce(&bytes, &total, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm), "MPI_Allreduce");
    const auto all_entries = parex::mpi::gather(comm, entries);  // on rank 0, in chunk order
    std::string table;
    if (me == 0) append_seek_table(table, all_entries);

    MPI_File file = MPI_FILE_NULL;
    if (MPI_File_open(comm, output.c_str(), MPI_MODE_WRONLY, MPI_INFO_NULL, &file) != MPI_SUCCESS)
        error = std::make_exception_ptr(std::runtime_error("MPI-IO cannot open " + output.string()));
    // a rank that could not open makes every rank throw here (a handle another rank opened is then
    // released by MPI_Finalize: closing it is collective)
    parex::mpi::exchange_status(comm, error);
    try {
        detail::write_at(file, static_cast<MPI_Offset>(before), frames, output);
        if (me == 0) detail::write_at(file, static_cast<MPI_Offset>(total), table, output);
    } catch (...) {
        error = std::current_exception();
    }
    if (MPI_File_close(&file) != MPI_SUCCESS && !error)
        error = std::make_exception_ptr(std::runtime_error("MPI-IO cannot close " + output.string()));
    parex::mpi::exchange_status(comm, error);

    unsigned long long table_bytes = table.size();
    parex::mpi::detail::check(MPI_Bcast(&table_bytes, 1, MPI_UNSIGNED_LONG_LONG, 0, comm), "MPI_Bcast");
    compress_result result;
    result.input_bytes = plan.input_size();
    result.output_bytes = static_cast<std::size_t>(total + table_bytes);
    result.chunks = plan.size();
    return result;
}

}  // namespace compress::mpi
