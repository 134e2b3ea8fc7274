#pragma once
// parex/mpi.hpp: chunk operations across the ranks of an MPI communicator, with the results of
// single-process parex. CMake target parex::mpi (only when MPI is found); parex::parex never needs MPI.
// This header includes the four of parex/mpi/:
//   communicator.hpp  ranks, block_of, serializer, mpi_error and remote_error
//   collectives.hpp   for_each, map, map_reduce; exchange_status, gather, combine
//   file_plan.hpp     split_file: one file in record-aligned chunks, no rank reading all of it
//   records.hpp       map_records: speculative record parsing across ranks
//
// The program calls MPI_Init and MPI_Finalize; every rank must call the same operations in the same
// order (they are collective). Only the thread that calls an operation talks to MPI.
//
// Failures: before anything is combined the ranks exchange their status, so an exception on any rank
// makes every rank throw remote_error (naming the lowest failing rank and its message), and a stop on
// any rank makes every rank throw operation_cancelled; no rank waits for a rank that failed. A stop
// requested on one rank stops that rank's chunks at once and is sent to the other ranks, which stop
// theirs as soon as it arrives when they too were given a stop token (run_options::stop; one that is
// never requested will do), and otherwise finish their blocks and learn of it at the exchange. A rank
// that dies is MPI's failure: MPI aborts the job or hangs, as its error handler decides; parex does not
// make MPI fault-tolerant.

#include <parex/mapped_file.hpp>
#include <parex/mpi/collectives.hpp>
#include <parex/mpi/communicator.hpp>
#include <parex/mpi/file_plan.hpp>
#include <parex/mpi/records.hpp>

namespace parex::mpi {
/// The file mapping of split_file, now parex::mapped_file (parex/mapped_file.hpp), usable without MPI.
using mapped_file [[deprecated("use parex::mapped_file from <parex/mapped_file.hpp>")]] = parex::mapped_file;
}  // namespace parex::mpi
