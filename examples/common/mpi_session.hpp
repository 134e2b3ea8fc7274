#pragma once
// common/mpi_session.hpp: a module's program across MPI ranks. Started by an MPI launcher (mpirun,
// mpiexec, srun), the program initialises MPI and the commands that support it share their work among
// the ranks; started on its own, it never touches MPI. In builds without MPI for the modules
// (EXAMPLES_MPI undefined: no MPI found, a sanitizer, libc++) a session is one process that never
// started MPI.

#include <common/cli.hpp>

#if defined(EXAMPLES_MPI)
#include <parex/mpi.hpp>

#include <mpi.h>
#endif

#include <cstdlib>
#include <exception>
#include <string>

namespace examples {

#if defined(EXAMPLES_MPI)

/// MPI for the program's lifetime when a launcher started it.
class mpi_session {
public:
    /// Calls MPI_Init when the environment shows a launcher: Open MPI's OMPI_COMM_WORLD_SIZE, the PMI
    /// of MPICH and Slurm (PMI_SIZE), PMIx (PMIX_RANK).
    mpi_session(int& argc, char**& argv) {
        if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr && std::getenv("PMI_SIZE") == nullptr &&
            std::getenv("PMIX_RANK") == nullptr)
            return;
        if (MPI_Init(&argc, &argv) != MPI_SUCCESS) throw std::runtime_error("MPI_Init failed");
        active_ = true;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &ranks_);
    }
    ~mpi_session() {
        if (active_) MPI_Finalize();
    }
    mpi_session(const mpi_session&) = delete;
    mpi_session& operator=(const mpi_session&) = delete;

    /// Whether MPI is running: the commands that can then split their work over MPI_COMM_WORLD.
    [[nodiscard]] bool active() const noexcept { return active_; }
    [[nodiscard]] int rank() const noexcept { return rank_; }
    [[nodiscard]] int ranks() const noexcept { return ranks_; }

    /// Runs a command on this rank. On ranks other than 0 its failure is not printed, only returned as
    /// the exit status: the commands raise every failure on all ranks together (parex::mpi), and rank
    /// 0's message (run_program prints it) names the failing rank. Output belongs to rank 0 as well.
    template <class Body>
    int run(Body&& body) const {
        if (rank_ == 0) return body();
        try {
            return body();
        } catch (...) {
            return describe(std::current_exception()).first;
        }
    }

    /// Raises a failure on every rank (parex::mpi::exchange_status) with one exit status, the highest
    /// of the failing ranks': a rank whose own `error` is set rethrows it; the others throw the failing
    /// rank's message as a failure of that status. Returns on every rank when no rank failed.
    /// Collective.
    void agree(const std::exception_ptr& error) const {
        const int status = error ? describe(error).first : success;
        int worst = success;
        if (MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
            throw std::runtime_error("MPI_Allreduce failed");
        try {
            parex::mpi::exchange_status(MPI_COMM_WORLD, error);
        } catch (const parex::mpi::remote_error& remote) {
            if (error) std::rethrow_exception(error);
            if (worst == usage_error) throw usage_failure(remote.what());
            if (worst == io_error) throw io_failure(remote.what());
            throw;
        }
    }

    /// `text` on rank 0, on every rank. Collective.
    [[nodiscard]] std::string broadcast(std::string text) const {
        unsigned long long size = text.size();
        MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
        text.resize(static_cast<std::size_t>(size));
        MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD);
        return text;
    }

    /// Refuses a command that runs on one process when there are more ranks.
    void single_process_only(const std::string& command) const {
        if (active_ && ranks_ > 1)
            throw usage_failure(command + ": one process only; start it without mpirun (or with -np 1)");
    }

private:
    bool active_ = false;
    int rank_ = 0;
    int ranks_ = 1;
};

#else

/// Without MPI: one process, rank 0 of 1.
class mpi_session {
public:
    mpi_session(int&, char**&) {}
    [[nodiscard]] bool active() const noexcept { return false; }
    [[nodiscard]] int rank() const noexcept { return 0; }
    [[nodiscard]] int ranks() const noexcept { return 1; }
    template <class Body>
    int run(Body&& body) const {
        return body();
    }
    void single_process_only(const std::string&) const {}
};

#endif

}  // namespace examples
