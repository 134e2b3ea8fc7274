#pragma once
// parex/parex.hpp: the whole library but its MPI layer (parex/mpi.hpp and parex/mpi/, which need MPI).
// Include a single header instead to compile only what you use.

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>
#include <parex/cost_schedule.hpp>
#include <parex/errors.hpp>
#include <parex/mapped_file.hpp>
#include <parex/pipeline.hpp>
#include <parex/records.hpp>
#include <parex/run_control.hpp>
#include <parex/shm_arena.hpp>
#include <parex/task_future.hpp>
#include <parex/topology.hpp>
#include <parex/version.hpp>
#include <parex/worker_local.hpp>
#include <parex/worker_pool.hpp>
