#pragma once
// parex/mpi/communicator.hpp: what every parex::mpi operation shares: the ranks of a communicator, how
// a plan's chunks are divided among them (block_of), how values cross them (serializer), and the errors
// (mpi_error for MPI's own failures, remote_error for a failure on another rank).

#include <parex/errors.hpp>

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace parex::mpi {

/// Thrown when an MPI call returns an error (under MPI_ERRORS_RETURN): which call, and MPI's message.
class mpi_error : public parex::detail::error_as<std::runtime_error> {
public:
    mpi_error(const char* call, int code)
        : error_as(std::string("parex::mpi: ") + call + " failed: " + describe(code)),
          code_(code) {}
    /// The MPI error code the call returned.
    [[nodiscard]] int code() const noexcept { return code_; }

private:
    static std::string describe(int code) {
        std::string text(MPI_MAX_ERROR_STRING, '\0');
        int length = 0;
        if (MPI_Error_string(code, text.data(), &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
        text.resize(static_cast<std::size_t>(length));
        return text;
    }
    int code_;
};

namespace detail {
/// Throws mpi_error unless `code` is MPI_SUCCESS.
inline void check(int code, const char* call) {
    if (code != MPI_SUCCESS) throw mpi_error(call, code);
}
}  // namespace detail

/// This process's rank in `comm`, in [0, ranks(comm)). Throws mpi_error when MPI fails.
inline int rank(MPI_Comm comm = MPI_COMM_WORLD) {
    int r = 0;
    detail::check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
    return r;
}
/// The number of ranks in `comm`. Throws mpi_error when MPI fails.
inline int ranks(MPI_Comm comm = MPI_COMM_WORLD) {
    int n = 0;
    detail::check(MPI_Comm_size(comm, &n), "MPI_Comm_size");
    return n;
}

/// Thrown on every rank when the work failed on some rank: which rank, and what its exception said.
class remote_error : public parex::detail::error_as<std::runtime_error> {
public:
    remote_error(int rank, const std::string& message)
        : error_as("parex::mpi: rank " + std::to_string(rank) + " failed: " + message),
          rank_(rank),
          message_(message) {}
    /// The lowest rank whose work threw.
    [[nodiscard]] int rank() const noexcept { return rank_; }
    /// That exception's what().
    [[nodiscard]] const std::string& message() const noexcept { return message_; }

private:
    int rank_;
    std::string message_;
};

/// How a partial result crosses ranks. Trivially copyable types are sent as their bytes. For any other
/// type T, specialise serializer<T> with
///     static void write(const T& value, std::vector<std::byte>& out);   // append value's bytes
///     static T read(std::span<const std::byte> bytes);                   // exactly what write appended
template <class T, class = void>
struct serializer;

template <class T>
struct serializer<T, std::enable_if_t<std::is_trivially_copyable_v<T>>> {
    static void write(const T& value, std::vector<std::byte>& out) {
        const auto* p = reinterpret_cast<const std::byte*>(&value);
        out.insert(out.end(), p, p + sizeof(T));
    }
    static T read(std::span<const std::byte> bytes) {
        if (bytes.size() != sizeof(T))
            throw parex::invalid_argument("parex::mpi: " + std::to_string(bytes.size()) + " bytes for a value of " +
                                          std::to_string(sizeof(T)));
        T value;
        std::memcpy(&value, bytes.data(), sizeof(T));
        return value;
    }
};

/// The chunks [begin, end) of a plan that one rank runs.
struct block {
    std::size_t begin = 0;
    std::size_t end = 0;
};

/// Rank `rank` of `ranks` takes chunks [rank n / ranks, (rank + 1) n / ranks) of a plan of n chunks:
/// contiguous blocks in rank order whose sizes differ by at most one. Throws parex::invalid_argument
/// for a rank outside [0, ranks).
inline block block_of(std::size_t chunks, int rank, int ranks) {
    if (ranks <= 0 || rank < 0 || rank >= ranks)
        throw parex::invalid_argument("parex::mpi: rank " + std::to_string(rank) + " of " + std::to_string(ranks));
    const auto r = static_cast<std::size_t>(rank), p = static_cast<std::size_t>(ranks);
    // chunks * rank could overflow for huge plans: split into quotient and remainder first
    const auto at = [&](std::size_t k) { return chunks / p * k + chunks % p * k / p; };
    return {at(r), at(r + 1)};
}

/// Where map leaves its results.
enum class results_on : std::uint8_t { root, all };

}  // namespace parex::mpi
