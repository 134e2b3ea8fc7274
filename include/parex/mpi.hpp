#pragma once
// parex/mpi.hpp: chunk operations across the ranks of an MPI communicator, with the results of
// single-process parex. CMake target parex::mpi (only when MPI is found); parex::parex never needs MPI.
//
// Every rank builds the same plan and takes a contiguous block of its chunks (block_of), which it runs
// on its own chunked_executor. For map_reduce the leaves (one partial result per chunk) are gathered to
// rank 0 in chunk order and combined there in exactly the tree that chunked_executor::map_reduce uses,
// and the result is broadcast: it is bitwise the same as single-process parex for every number of
// ranks and threads, for any reduce function. MPI_Reduce would not give that: it may combine in any
// order. The program calls MPI_Init and MPI_Finalize; every rank must call the same operations in the
// same order (they are collective).
//
// Failures: before anything is combined the ranks exchange their status, so an exception on any rank
// makes every rank throw remote_error (naming the lowest failing rank and its message), and a stop on
// any rank makes every rank throw operation_cancelled; no rank waits for a rank that failed. A stop
// requested on one rank stops that rank's chunks at once; the other ranks finish their blocks and learn
// of it at the exchange. A rank that dies is MPI's failure: MPI aborts the job or hangs, as its error
// handler decides; parex does not make MPI fault-tolerant.

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>
#include <parex/errors.hpp>
#include <parex/run_control.hpp>

#include <mpi.h>

#include <climits>
#include <cstddef>
#include <cstring>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace parex::mpi {

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
enum class results_on { root, all };

namespace detail {

/// The chunks [b.begin, b.end) of `plan` as a plan of their own; chunk indices stay the plan's.
template <class Plan>
struct sub_plan {
    const Plan* plan;
    block b;
    [[nodiscard]] std::size_t size() const noexcept { return b.end - b.begin; }
    [[nodiscard]] std::size_t input_size() const noexcept { return plan->input_size(); }
    [[nodiscard]] auto operator[](std::size_t i) const { return (*plan)[b.begin + i]; }
};

inline void check(int code, const char* call) {
    if (code != MPI_SUCCESS) throw std::runtime_error(std::string("parex::mpi: ") + call + " failed");
}

inline int rank_of(MPI_Comm comm) {
    int rank = 0;
    check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
    return rank;
}
inline int size_of(MPI_Comm comm) {
    int size = 0;
    check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
    return size;
}

inline int to_int(std::size_t n, const char* what) {
    if (n > static_cast<std::size_t>(INT_MAX))
        throw parex::invalid_argument(std::string("parex::mpi: ") + what + " of " + std::to_string(n) +
                                      " bytes exceeds what one MPI call sends");
    return static_cast<int>(n);
}

/// Every rank's outcome, exchanged before any result crosses: 0 ok, 1 cancelled, 2 failed. `done` and
/// `total` are this rank's chunks (done is taken from operation_cancelled when the rank was stopped).
/// Throws the same exception on every rank when any rank did not finish: remote_error for the lowest
/// failing rank (its message broadcast from it), else operation_cancelled with the chunks done and the
/// chunks in all over the ranks.
inline void exchange_status(MPI_Comm comm, std::exception_ptr local, std::size_t done, std::size_t total) {
    int status = 0;
    std::string message;
    if (local) {
        try {
            std::rethrow_exception(local);
        } catch (const parex::operation_cancelled& e) {
            status = 1;
            done = e.done();
        } catch (const std::exception& e) {
            status = 2;
            message = e.what();
        } catch (...) {
            status = 2;
            message = "an exception not derived from std::exception";
        }
    }
    const int ranks = size_of(comm);
    std::vector<int> statuses(static_cast<std::size_t>(ranks));
    check(MPI_Allgather(&status, 1, MPI_INT, statuses.data(), 1, MPI_INT, comm), "MPI_Allgather");
    int failed = -1;
    bool cancelled = false;
    for (int r = 0; r < ranks; ++r) {
        if (statuses[static_cast<std::size_t>(r)] == 2 && failed < 0) failed = r;
        cancelled = cancelled || statuses[static_cast<std::size_t>(r)] == 1;
    }
    if (failed >= 0) {
        int length = rank_of(comm) == failed ? to_int(message.size(), "an error message") : 0;
        check(MPI_Bcast(&length, 1, MPI_INT, failed, comm), "MPI_Bcast");
        message.resize(static_cast<std::size_t>(length));
        check(MPI_Bcast(message.data(), length, MPI_CHAR, failed, comm), "MPI_Bcast");
        throw remote_error(failed, message);
    }
    if (cancelled) {
        unsigned long long sums[2] = {done, total}, all[2] = {0, 0};
        check(MPI_Allreduce(sums, all, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm), "MPI_Allreduce");
        throw parex::operation_cancelled(static_cast<std::size_t>(all[0]), static_cast<std::size_t>(all[1]));
    }
}

/// Gathers every rank's values (in rank order, so in chunk order) to `root`, or to every rank when
/// root < 0. Returns them where they were gathered, an empty vector elsewhere.
template <class T>
std::vector<T> gather(MPI_Comm comm, const std::vector<T>& local, int root) {
    std::vector<std::byte> bytes;
    std::vector<int> sizes;  // of each local value
    for (const auto& value : local) {
        const auto before = bytes.size();
        serializer<T>::write(value, bytes);
        sizes.push_back(to_int(bytes.size() - before, "a value"));
    }
    const int ranks = size_of(comm), me = rank_of(comm);
    const bool here = root < 0 || me == root;
    // counts of values and of bytes per rank, then the sizes and the bytes themselves
    int counts[2] = {to_int(sizes.size(), "a block's values"), to_int(bytes.size(), "a block")};
    std::vector<int> all_counts(2 * static_cast<std::size_t>(ranks));
    if (root < 0)
        check(MPI_Allgather(counts, 2, MPI_INT, all_counts.data(), 2, MPI_INT, comm), "MPI_Allgather");
    else
        check(MPI_Gather(counts, 2, MPI_INT, all_counts.data(), 2, MPI_INT, root, comm), "MPI_Gather");
    std::vector<int> value_counts, byte_counts, value_offsets, byte_offsets;
    std::size_t values = 0, total_bytes = 0;
    if (here) {
        for (int r = 0; r < ranks; ++r) {
            value_counts.push_back(all_counts[2 * static_cast<std::size_t>(r)]);
            byte_counts.push_back(all_counts[2 * static_cast<std::size_t>(r) + 1]);
            value_offsets.push_back(to_int(values, "all values"));
            byte_offsets.push_back(to_int(total_bytes, "all blocks"));
            values += static_cast<std::size_t>(value_counts.back());
            total_bytes += static_cast<std::size_t>(byte_counts.back());
        }
    }
    std::vector<int> all_sizes(values);
    std::vector<std::byte> all_bytes(total_bytes);
    if (root < 0) {
        check(MPI_Allgatherv(sizes.data(), counts[0], MPI_INT, all_sizes.data(), value_counts.data(),
                             value_offsets.data(), MPI_INT, comm),
              "MPI_Allgatherv");
        check(MPI_Allgatherv(bytes.data(), counts[1], MPI_BYTE, all_bytes.data(), byte_counts.data(),
                             byte_offsets.data(), MPI_BYTE, comm),
              "MPI_Allgatherv");
    } else {
        check(MPI_Gatherv(sizes.data(), counts[0], MPI_INT, all_sizes.data(), value_counts.data(), value_offsets.data(),
                          MPI_INT, root, comm),
              "MPI_Gatherv");
        check(MPI_Gatherv(bytes.data(), counts[1], MPI_BYTE, all_bytes.data(), byte_counts.data(), byte_offsets.data(),
                          MPI_BYTE, root, comm),
              "MPI_Gatherv");
    }
    std::vector<T> out;
    if (!here) return out;
    out.reserve(values);
    std::size_t at = 0;
    for (const int size : all_sizes) {
        out.push_back(
            serializer<T>::read(std::span<const std::byte>(all_bytes).subspan(at, static_cast<std::size_t>(size))));
        at += static_cast<std::size_t>(size);
    }
    return out;
}

/// `value` on `root` sent to every rank.
template <class T>
T broadcast(MPI_Comm comm, const T& value, int root) {
    std::vector<std::byte> bytes;
    if (rank_of(comm) == root) serializer<T>::write(value, bytes);
    int size = to_int(bytes.size(), "a result");
    check(MPI_Bcast(&size, 1, MPI_INT, root, comm), "MPI_Bcast");
    bytes.resize(static_cast<std::size_t>(size));
    check(MPI_Bcast(bytes.data(), size, MPI_BYTE, root, comm), "MPI_Bcast");
    return rank_of(comm) == root ? value : serializer<T>::read(bytes);
}

}  // namespace detail

/// Runs this rank's block of `plan` (block_of) on `executor`: f(chunk) for each of its chunks. Returns
/// on every rank once every rank's block has run. Throws on every rank: remote_error when a rank's f
/// threw, operation_cancelled when a rank was stopped (options.stop). Collective.
template <chunk_plan Plan, class F>
void for_each(MPI_Comm comm, const Plan& plan, F&& f, chunked_executor& executor, const run_options& options = {}) {
    const auto mine = block_of(plan.size(), detail::rank_of(comm), detail::size_of(comm));
    std::exception_ptr error;
    try {
        executor.for_each(detail::sub_plan<Plan>{&plan, mine}, f, options);
    } catch (...) {
        error = std::current_exception();
    }
    detail::exchange_status(comm, error, mine.end - mine.begin, mine.end - mine.begin);
}

/// f(chunk) for every chunk of `plan`, across the ranks: the results in chunk order (results[i] from
/// plan[i]) on rank 0 (results_on::root; other ranks get an empty vector) or on every rank
/// (results_on::all). The result type must have a serializer. Errors as for_each. Collective.
template <chunk_plan Plan, class F>
auto map(MPI_Comm comm, const Plan& plan, F&& f, chunked_executor& executor, results_on where = results_on::root,
         const run_options& options = {}) {
    const auto mine = block_of(plan.size(), detail::rank_of(comm), detail::size_of(comm));
    using result = std::remove_cvref_t<decltype(executor.map(detail::sub_plan<Plan>{&plan, mine}, f, options))>;
    result local;
    std::exception_ptr error;
    try {
        local = executor.map(detail::sub_plan<Plan>{&plan, mine}, f, options);
    } catch (...) {
        error = std::current_exception();
    }
    detail::exchange_status(comm, error, mine.end - mine.begin, mine.end - mine.begin);
    return detail::gather(comm, local, where == results_on::all ? -1 : 0);
}

/// reduce(init, tree) over the leaves map(plan[i]) of every rank, combined on rank 0 in the tree of
/// chunked_executor::map_reduce and broadcast: on every rank the same bits as
/// executor.map_reduce(plan, map, reduce, init) in one process, for any number of ranks and threads.
/// T must have a serializer. Memory on rank 0: every leaf; reduce is called there plan.size() times,
/// on one thread. Errors as for_each. Collective.
template <chunk_plan Plan, class Map, class T, class Reduce>
    requires std::invocable<Reduce&, T, T>
T map_reduce(MPI_Comm comm, const Plan& plan, Map&& map_fn, Reduce&& reduce, T init, chunked_executor& executor,
             const run_options& options = {}) {
    const auto mine = block_of(plan.size(), detail::rank_of(comm), detail::size_of(comm));
    std::vector<T> local;
    std::exception_ptr error;
    try {
        local = executor.map(
            detail::sub_plan<Plan>{&plan, mine}, [&](const auto& c) { return static_cast<T>(map_fn(c)); }, options);
    } catch (...) {
        error = std::current_exception();
    }
    detail::exchange_status(comm, error, mine.end - mine.begin, mine.end - mine.begin);
    auto leaves = detail::gather(comm, local, 0);
    T result = init;
    if (detail::rank_of(comm) == 0) {
        parex::detail::combine_tree(leaves, reduce);
        if (!leaves.empty()) result = reduce(std::move(init), std::move(leaves.front()));
    }
    return detail::broadcast(comm, result, 0);
}

}  // namespace parex::mpi
