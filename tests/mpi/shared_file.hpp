#pragma once
// What the MPI test programs share: a file that rank 0 writes and every rank reads (the ranks of these
// tests run on one machine, so one temporary folder serves them all).

#include <parex/mpi.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace parex::test {

/// `text` in a temporary file named after rank 0's process and `name`, written by rank 0 and visible to
/// every rank once constructed; removed by rank 0 when every rank is done with it. Collective.
class shared_file {
public:
    shared_file(const std::string& name, const std::string& text) {
        rank_zero_ = parex::mpi::rank() == 0;
        long long pid = rank_zero_ ? static_cast<long long>(::getpid()) : 0;
        MPI_Bcast(&pid, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
        path_ = std::filesystem::temp_directory_path() / ("parex-mpi-" + std::to_string(pid) + "-" + name);
        if (rank_zero_) std::ofstream(path_, std::ios::binary) << text;
        MPI_Barrier(MPI_COMM_WORLD);
    }
    ~shared_file() {
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank_zero_) std::filesystem::remove(path_);
    }
    shared_file(const shared_file&) = delete;
    shared_file& operator=(const shared_file&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    bool rank_zero_ = false;
};

}  // namespace parex::test
