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
// Files: split_file cuts one file into record-aligned chunks without any rank reading all of it (each
// rank maps the file and touches only the bytes it parses), and map_records parses them speculatively
// across ranks, the true record boundaries travelling from rank to rank (parex/records.hpp).
// exchange_status, gather and combine are the steps of these operations, for programs that compute
// their leaves themselves.
//
// Failures: before anything is combined the ranks exchange their status, so an exception on any rank
// makes every rank throw remote_error (naming the lowest failing rank and its message), and a stop on
// any rank makes every rank throw operation_cancelled; no rank waits for a rank that failed. A stop
// requested on one rank stops that rank's chunks at once and is sent to the other ranks, which stop
// theirs as soon as it arrives when they too were given a stop token (run_options::stop; one that is
// never requested will do), and otherwise finish their blocks and learn of it at the exchange. A rank
// that dies is MPI's failure: MPI aborts the job or hangs, as its error handler decides; parex does not
// make MPI fault-tolerant.

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>
#include <parex/errors.hpp>
#include <parex/records.hpp>
#include <parex/run_control.hpp>

#include <fcntl.h>
#include <mpi.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
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
inline void exchange_status(MPI_Comm comm, std::exception_ptr local, std::size_t done, std::size_t total,
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

/// Runs this rank's part of a collective call, work(local_options), and exchanges the ranks' status
/// (exchange_status, with `units` this rank's units of work). Returns work's result on every rank when
/// no rank failed or was stopped.
///
/// When options.stop can be requested, a stop reaches the other ranks at once rather than at the
/// exchange: `work` runs on a helper thread while the calling thread, the only one that talks to MPI,
/// sends a stop requested here to every other rank (tag stop_tag), stops the work when such a message
/// arrives, and makes the progress reports of options.on_progress (so they still come on the calling
/// thread, never concurrently, once more at the end). A rank whose options cannot stop runs work on the
/// calling thread and learns of another rank's stop at the exchange.
template <class Work>
auto run_block(MPI_Comm comm, const run_options& options, std::size_t units, Work&& work) {
    using result = std::invoke_result_t<Work&, const run_options&>;
    result value{};
    std::exception_ptr error;
    stop_relay_record relay;
    if (!options.stop.stop_possible()) {
        try {
            value = work(options);
        } catch (...) {
            error = std::current_exception();
        }
        exchange_status(comm, error, units, units, relay);
        return value;
    }

    const int me = mpi::rank(comm), p = mpi::ranks(comm);
    std::stop_source stop_work;
    std::atomic<bool> stopped_here{false};
    std::stop_callback forward(options.stop, [&] {
        stopped_here = true;
        stop_work.request_stop();
    });
    std::mutex progress_mutex;
    std::optional<progress> latest;  // the work's last report, made again on this thread
    run_options inner{.stop = stop_work.get_token(), .on_progress = {}, .progress_interval = options.progress_interval};
    if (options.on_progress)
        inner.on_progress = [&](progress now) {
            const std::lock_guard lock(progress_mutex);
            latest = now;
        };

    int incoming = 0;
    const int outgoing = 1;
    MPI_Request receive = MPI_REQUEST_NULL;
    std::vector<MPI_Request> sends;
    sends.reserve(static_cast<std::size_t>(p));
    check(MPI_Irecv(&incoming, 1, MPI_INT, MPI_ANY_SOURCE, stop_tag, comm, &receive), "MPI_Irecv");
    const auto tell_others = [&] {
        for (int r = 0; r < p; ++r)
            if (r != me) {
                sends.push_back(MPI_REQUEST_NULL);
                check(MPI_Isend(&outgoing, 1, MPI_INT, r, stop_tag, comm, &sends.back()), "MPI_Isend");
            }
        relay.sent = true;
    };
    std::exception_ptr progress_error;
    std::optional<progress> reported;
    const auto report = [&](bool last) {
        std::optional<progress> now;
        {
            const std::lock_guard lock(progress_mutex);
            now = latest;
        }
        if (!now || (!last && reported && reported->done == now->done && reported->total == now->total)) return;
        reported = now;
        try {
            options.on_progress(*now);
        } catch (...) {
            if (!progress_error) progress_error = std::current_exception();
            stop_work.request_stop();
        }
    };

    std::mutex done_mutex;
    std::condition_variable done_changed;
    bool done = false;
    std::exception_ptr work_error;
    std::thread helper([&] {
        try {
            value = work(inner);
        } catch (...) {
            work_error = std::current_exception();
        }
        const std::lock_guard lock(done_mutex);
        done = true;
        done_changed.notify_one();
    });
    struct join_on_exit {  // an MPI failure below stops the work and waits for it before unwinding
        std::thread& helper;
        std::stop_source& stop;
        ~join_on_exit() {
            if (helper.joinable()) {
                stop.request_stop();
                helper.join();
            }
        }
    } joiner{helper, stop_work};
    for (;;) {
        {
            std::unique_lock lock(done_mutex);
            if (done_changed.wait_for(lock, std::chrono::microseconds(200), [&] { return done; })) break;
        }
        if (stopped_here && !relay.sent) tell_others();
        if (relay.received == 0) {
            int arrived = 0;
            check(MPI_Test(&receive, &arrived, MPI_STATUS_IGNORE), "MPI_Test");
            if (arrived != 0) {
                relay.received = 1;
                stop_work.request_stop();
            }
        }
        if (options.on_progress) report(false);
    }
    helper.join();
    if (stopped_here && !relay.sent) tell_others();  // requested before the work began, or as it ended
    if (relay.received == 0) {
        MPI_Status status;
        check(MPI_Cancel(&receive), "MPI_Cancel");
        check(MPI_Wait(&receive, &status), "MPI_Wait");
        int cancelled = 0;
        check(MPI_Test_cancelled(&status, &cancelled), "MPI_Test_cancelled");
        relay.received = cancelled != 0 ? 0 : 1;
    }
    if (!sends.empty())
        check(MPI_Waitall(static_cast<int>(sends.size()), sends.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    if (options.on_progress) report(true);
    error = progress_error ? progress_error : work_error;
    exchange_status(comm, error, units, units, relay);
    return value;
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

}  // namespace detail

/// A file mapped read-only into memory (POSIX mmap). The kernel reads a page when it is first touched,
/// so a rank that touches only its chunks (and the bytes its boundary search looks at) reads only
/// those. Move-only; the bytes stay valid, at the same address, for the object's lifetime, moves
/// included.
class mapped_file {
public:
    mapped_file() = default;
    /// Throws parex::system_error (a std::system_error, errno in code()) naming the path when it cannot be
    /// opened, examined or mapped.
    explicit mapped_file(const std::filesystem::path& path) : path_(path) {
        const auto fail = [&](const char* what) {
            throw parex::system_error(errno, std::generic_category(),
                                      "parex::mpi: cannot " + std::string(what) + " " + path.string());
        };
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail("open");
        struct ::stat st{};
        if (::fstat(fd, &st) != 0) {
            const int e = errno;
            ::close(fd);
            errno = e;
            fail("examine");
        }
        size_ = static_cast<std::size_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                const int e = errno;
                ::close(fd);
                errno = e;
                fail("map");
            }
            data_ = static_cast<const char*>(p);
        }
        ::close(fd);  // the mapping keeps the file
    }
    mapped_file(mapped_file&& o) noexcept
        : path_(std::move(o.path_)),
          data_(std::exchange(o.data_, nullptr)),
          size_(std::exchange(o.size_, 0)) {}
    mapped_file& operator=(mapped_file&& o) noexcept {
        if (this != &o) {
            unmap();
            path_ = std::move(o.path_);
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    ~mapped_file() { unmap(); }

    /// The file's bytes, as they were when it was mapped (empty for an empty file).
    [[nodiscard]] std::string_view bytes() const noexcept { return {data_ == nullptr ? "" : data_, size_}; }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    void unmap() noexcept {
        if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
        data_ = nullptr;
    }
    std::filesystem::path path_;
    const char* data_ = nullptr;
    std::size_t size_ = 0;
};

/// Throws on every rank when some rank's local work failed: `error` is this rank's outcome (null when
/// it succeeded). remote_error names the lowest failing rank and its message; when no rank failed but
/// some were stopped (operation_cancelled), every rank throws operation_cancelled with the units done
/// and in all summed over the stopped ranks. Returns normally on every rank when no rank had an error.
/// Call it after local work that can throw and before the next collective call, so that no rank waits
/// in that call for a rank that failed. Collective: an allgather of one int, plus a broadcast of the
/// message on failure.
inline void exchange_status(MPI_Comm comm, const std::exception_ptr& error) {
    detail::exchange_status(comm, error, 0, 0);
}

/// Every rank's `local` values concatenated in rank order: on rank 0 (results_on::root; other ranks get
/// an empty vector) or on every rank (results_on::all). T must have a serializer. Throws
/// parex::invalid_argument when a rank's values exceed 2 GiB (one MPI call's count). Collective.
template <class T>
std::vector<T> gather(MPI_Comm comm, const std::vector<T>& local, results_on where = results_on::root) {
    return detail::gather(comm, local, where == results_on::all ? -1 : 0);
}

/// The combine step of map_reduce, for leaves the ranks computed themselves (map_records' results, a
/// file's chunks): `leaves` are this rank's partial results, and concatenated in rank order the ranks'
/// leaves are a plan's leaves in chunk order. They are gathered to rank 0, combined there in the tree of
/// chunked_executor::map_reduce, and reduce(init, root) is broadcast: on every rank the bits of
/// executor.map_reduce over that plan in one process, whatever the number of ranks. T must have a
/// serializer. Memory on rank 0: every leaf. Collective; call exchange_status first when computing the
/// leaves can throw.
template <class T, class Reduce>
    requires std::invocable<Reduce&, T, T>
T combine(MPI_Comm comm, const std::vector<T>& leaves, Reduce&& reduce, T init) {
    auto all = detail::gather(comm, leaves, 0);
    T result = init;
    if (rank(comm) == 0) {
        parex::detail::combine_tree(all, reduce);
        if (!all.empty()) result = reduce(std::move(init), std::move(all.front()));
    }
    return detail::broadcast(comm, result, 0);
}

/// The record-aligned chunks of one file, the same on every rank (split_file). Chunk offsets are the
/// file's byte offsets, and a chunk's bytes are a view of the file mapped read-only: a page is read
/// from storage when first touched, so a rank reads only the chunks it uses. Usable as the plan of
/// parex::mpi::map, for_each, map_reduce and map_records, and of a single-process executor. Move-only;
/// the views stay valid while the plan lives.
class file_plan {
public:
    [[nodiscard]] std::size_t size() const noexcept { return plan_.size(); }
    /// Bytes covered: the file's size less the first byte's offset.
    [[nodiscard]] std::size_t input_size() const noexcept { return plan_[size() - 1].end - plan_[0].begin; }
    [[nodiscard]] byte_chunk operator[](std::size_t i) const noexcept { return plan_[i]; }
    /// The whole file (offsets as the chunks'): touching bytes outside this rank's chunks reads them.
    [[nodiscard]] std::string_view data() const noexcept { return file_.bytes(); }
    /// The chunks this rank runs in the communicator the plan was split on (block_of).
    [[nodiscard]] block mine() const noexcept { return mine_; }
    [[nodiscard]] const byte_plan& plan() const noexcept { return plan_; }

    /// What split_file builds: `bounds` as byte_plan's, file offsets starting at the first byte.
    file_plan(mapped_file file, std::vector<std::size_t> bounds, block mine)
        : file_(std::move(file)),
          plan_(file_.bytes(), std::move(bounds)),
          mine_(mine) {}

private:
    mapped_file file_;
    byte_plan plan_;
    block mine_;
};

/// split_file (below) on a file this rank has mapped already, to read a header and find first_byte,
/// say. Its path names it in errors.
template <boundary_finder Finder>
file_plan split_file(MPI_Comm comm, mapped_file file, std::size_t target_bytes, const Finder& finder,
                     std::size_t first_byte = 0) {
    const int me = rank(comm), p = ranks(comm);
    std::exception_ptr error;
    std::uint64_t size = file.bytes().size(), size_on_root = size;
    detail::check(MPI_Bcast(&size_on_root, 1, MPI_UINT64_T, 0, comm), "MPI_Bcast");
    const auto range = file.bytes().substr(std::min<std::size_t>(first_byte, size));
    // nominal cut k (1-based) at k * target_bytes into `range`, for every such position inside it
    const std::size_t nominal = range.empty() || target_bytes == 0 ? 0 : (range.size() - 1) / target_bytes;
    const auto cuts_of = [&](int r) { return block_of(nominal, r, p); };
    std::vector<std::uint64_t> my_cuts;
    try {
        if (target_bytes == 0) throw chunking_error("target chunk size must be positive", 0, 0);
        if (first_byte > size)
            throw parex::invalid_argument("parex::mpi: first byte " + std::to_string(first_byte) +
                                          " is past the end of " + file.path().string() + " (" + std::to_string(size) +
                                          " bytes)");
        if (size != size_on_root)
            throw parex::invalid_argument("parex::mpi: " + file.path().string() + " has " + std::to_string(size) +
                                          " bytes here and " + std::to_string(size_on_root) +
                                          " on rank 0 (is it being written?)");
        const auto b = cuts_of(me);
        for (auto k = b.begin; k < b.end; ++k) {
            const auto pos = (k + 1) * target_bytes;
            const auto cut = static_cast<std::size_t>(finder(range, pos));
            if (cut < pos || cut > range.size())
                throw chunking_error(
                    "boundary finder returned " + std::to_string(cut) + " for search position " + std::to_string(pos),
                    k, first_byte + pos);
            my_cuts.push_back(first_byte + cut);
        }
    } catch (...) {
        error = std::current_exception();
    }
    detail::exchange_status(comm, error, 0, 0);

    std::vector<int> counts, offsets;
    for (int r = 0; r < p; ++r) {
        const auto b = cuts_of(r);
        offsets.push_back(detail::to_int(b.begin, "the cuts' count"));
        counts.push_back(detail::to_int(b.end - b.begin, "a rank's cuts"));
    }
    std::vector<std::uint64_t> cuts(nominal);
    detail::check(MPI_Allgatherv(my_cuts.data(), counts[static_cast<std::size_t>(me)], MPI_UINT64_T, cuts.data(),
                                 counts.data(), offsets.data(), MPI_UINT64_T, comm),
                  "MPI_Allgatherv");
    std::vector<std::size_t> bounds{first_byte};
    for (const auto cut : cuts)
        if (cut > bounds.back() && cut < size) bounds.push_back(static_cast<std::size_t>(cut));
    bounds.push_back(static_cast<std::size_t>(size));  // {first_byte, size}: one chunk, empty when size is
    const auto chunks = bounds.size() - 1;
    return file_plan(std::move(file), std::move(bounds), block_of(chunks, me, p));
}

/// Splits the file at `path` (the same file on every rank: a shared file system across machines) into
/// record-aligned chunks without any rank reading the whole file. The bytes [first_byte, file size)
/// are cut at the first record boundary at or after each multiple of `target_bytes` past first_byte:
/// the cut near first_byte + k * target_bytes is finder(bytes, k * target_bytes) over the bytes from
/// first_byte, as split_bytes calls it. Rank r finds the cuts of its block_of the nominal positions,
/// reading only the bytes its finder looks at there; the cuts are then exchanged (an allgather of one
/// 8-byte offset per target_bytes of file), so every rank holds the same plan. The plan depends on the
/// file, target_bytes and the finder only, not on the number of ranks. Cuts that coincide (a record
/// longer than target_bytes) make one chunk; chunks are never empty except the single chunk of an empty
/// range. Throws on every rank: remote_error when a rank could not map the file (parex::system_error
/// there), when target_bytes == 0, first_byte is past the end, a finder returned an offset outside
/// [position, size] (chunking_error there), or ranks saw the file at different sizes. Collective.
template <boundary_finder Finder>
file_plan split_file(MPI_Comm comm, const std::filesystem::path& path, std::size_t target_bytes, const Finder& finder,
                     std::size_t first_byte = 0) {
    std::exception_ptr error;
    mapped_file file;
    try {
        file = mapped_file(path);
    } catch (...) {
        error = std::current_exception();
    }
    detail::exchange_status(comm, error, 0, 0);
    return split_file(comm, std::move(file), target_bytes, finder, first_byte);
}

/// Runs this rank's block of `plan` (block_of) on `executor`: f(chunk) for each of its chunks. Returns
/// on every rank once every rank's block has run. Throws on every rank: remote_error when a rank's f
/// threw, operation_cancelled when a rank was stopped (options.stop). Collective.
template <chunk_plan Plan, class F>
void for_each(MPI_Comm comm, const Plan& plan, F&& f, chunked_executor& executor, const run_options& options = {}) {
    const auto mine = block_of(plan.size(), rank(comm), ranks(comm));
    (void)detail::run_block(comm, options, mine.end - mine.begin, [&](const run_options& local) {
        executor.for_each(detail::sub_plan<Plan>{&plan, mine}, f, local);
        return 0;
    });
}

/// f(chunk) for every chunk of `plan`, across the ranks: the results in chunk order (results[i] from
/// plan[i]) on rank 0 (results_on::root; other ranks get an empty vector) or on every rank
/// (results_on::all). The result type must have a serializer. Errors as for_each. Collective.
template <chunk_plan Plan, class F>
auto map(MPI_Comm comm, const Plan& plan, F&& f, chunked_executor& executor, results_on where = results_on::root,
         const run_options& options = {}) {
    const auto mine = block_of(plan.size(), rank(comm), ranks(comm));
    const auto local = detail::run_block(comm, options, mine.end - mine.begin, [&](const run_options& o) {
        return executor.map(detail::sub_plan<Plan>{&plan, mine}, f, o);
    });
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
    const auto mine = block_of(plan.size(), rank(comm), ranks(comm));
    const auto local = detail::run_block(comm, options, mine.end - mine.begin, [&](const run_options& o) {
        return executor.map(
            detail::sub_plan<Plan>{&plan, mine}, [&](const auto& c) { return static_cast<T>(map_fn(c)); }, o);
    });
    return combine(comm, local, reduce, std::move(init));
}

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
auto map_records(MPI_Comm comm, const file_plan& plan, Parse&& parse, chunked_executor& executor,
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

}  // namespace parex::mpi
