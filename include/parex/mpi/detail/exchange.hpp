#pragma once
// parex/mpi/detail/exchange.hpp: the steps of parex::mpi's collective calls: the ranks' status, the
// gather of serialized values in rank order and the broadcast of a result.

#include <parex/errors.hpp>
#include <parex/mpi/communicator.hpp>

#include <mpi.h>

#include <climits>
#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <vector>

namespace parex::mpi::detail {

/// The chunks [b.begin, b.end) of `plan` as a plan of their own; chunk indices stay the plan's.
template <class Plan>
struct sub_plan {
    const Plan* plan;
    block b;
    [[nodiscard]] std::size_t size() const noexcept { return b.end - b.begin; }
    [[nodiscard]] std::size_t input_size() const noexcept { return plan->input_size(); }
    [[nodiscard]] auto operator[](std::size_t i) const { return (*plan)[b.begin + i]; }
};

inline int to_int(std::size_t n, const char* what) {
    if (n > static_cast<std::size_t>(INT_MAX))
        throw parex::invalid_argument(std::string("parex::mpi: ") + what + " of " + std::to_string(n) +
                                      " bytes exceeds what one MPI call sends");
    return static_cast<int>(n);
}

/// The point-to-point tag of the stop messages of run_block.
inline constexpr int stop_tag = 0x7079;

/// What run_block did with stop messages: whether this rank sent one to every other rank, and how many
/// it received (at most one; exchange_status receives the rest, so none is left for a later call).
struct stop_relay_record {
    bool sent = false;
    int received = 0;
};

/// Every rank's outcome, exchanged before any result crosses: 0 ok, 1 cancelled, 2 failed. `done` and
/// `total` are this rank's units of work (taken from operation_cancelled when the rank was stopped).
/// Throws the same exception on every rank when any rank did not finish: remote_error for the lowest
/// failing rank (its message broadcast from it), else operation_cancelled with the chunks done and the
/// chunks in all over the ranks.
inline void exchange_status(MPI_Comm comm, const std::exception_ptr& local, std::size_t done, std::size_t total,
                            stop_relay_record relay = {}) {
    int status = 0;
    std::string message;
    if (local) {
        try {
            std::rethrow_exception(local);
        } catch (const parex::operation_cancelled& e) {
            status = 1;
            done = e.done();
            total = e.total();
        } catch (const std::exception& e) {
            status = 2;
            message = e.what();
        } catch (...) {
            status = 2;
            message = "an exception not derived from std::exception";
        }
    }
    const int ranks = mpi::ranks(comm), me = mpi::rank(comm);
    std::vector<int> statuses(static_cast<std::size_t>(ranks));
    const int word = status | (relay.sent ? 4 : 0);  // bit 2: this rank sent its stop to the others
    check(MPI_Allgather(&word, 1, MPI_INT, statuses.data(), 1, MPI_INT, comm), "MPI_Allgather");
    int failed = -1;
    bool cancelled = false;
    int stop_messages = 0;  // sent to this rank by the others (run_block): receive those still queued
    for (int r = 0; r < ranks; ++r) {
        const int s = statuses[static_cast<std::size_t>(r)] & 3;
        if (s == 2 && failed < 0) failed = r;
        cancelled = cancelled || s == 1;
        stop_messages += r != me && (statuses[static_cast<std::size_t>(r)] & 4) != 0 ? 1 : 0;
    }
    for (int i = relay.received; i < stop_messages; ++i) {
        int ignored = 0;
        check(MPI_Recv(&ignored, 1, MPI_INT, MPI_ANY_SOURCE, stop_tag, comm, MPI_STATUS_IGNORE), "MPI_Recv");
    }
    if (failed >= 0) {
        int length = mpi::rank(comm) == failed ? to_int(message.size(), "an error message") : 0;
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
    const int ranks = mpi::ranks(comm), me = mpi::rank(comm);
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
    if (mpi::rank(comm) == root) serializer<T>::write(value, bytes);
    int size = to_int(bytes.size(), "a result");
    check(MPI_Bcast(&size, 1, MPI_INT, root, comm), "MPI_Bcast");
    bytes.resize(static_cast<std::size_t>(size));
    check(MPI_Bcast(bytes.data(), size, MPI_BYTE, root, comm), "MPI_Bcast");
    return mpi::rank(comm) == root ? value : serializer<T>::read(bytes);
}

/// The point-to-point tag of map_records' chain of true boundaries.
inline constexpr int boundary_tag = 0x7078;

}  // namespace parex::mpi::detail
