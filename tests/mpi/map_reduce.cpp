// The MPI layer's tests, run by ctest under mpirun with 1, 2 and 3 ranks: every rank checks its own
// results against single-process parex, which it computes itself.
#include <parex/mpi.hpp>

#include "parex_catch.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

int rank() { return parex::mpi::rank(); }
int ranks() { return parex::mpi::ranks(); }

template <class T>
std::vector<T> random_values(std::size_t n, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(static_cast<double>(rng() >> 11) * 0x1.0p-53 * 1e6 - 5e5);
    return v;
}

template <class T>
bool same_bits(T a, T b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

/// A summary that is not trivially copyable: word counts.
using summary = std::map<std::string, int>;

}  // namespace

template <>
struct parex::mpi::serializer<summary> {
    static void write(const summary& s, std::vector<std::byte>& out) {
        for (const auto& [word, count] : s) {
            const auto* w = reinterpret_cast<const std::byte*>(word.data());
            out.insert(out.end(), w, w + word.size());
            out.push_back(std::byte{0});
            const auto* c = reinterpret_cast<const std::byte*>(&count);
            out.insert(out.end(), c, c + sizeof count);
        }
    }
    static summary read(std::span<const std::byte> bytes) {
        summary s;
        for (std::size_t at = 0; at < bytes.size();) {
            std::string word;
            while (bytes[at] != std::byte{0}) word += static_cast<char>(bytes[at++]);
            ++at;
            int count = 0;
            std::memcpy(&count, bytes.data() + at, sizeof count);
            at += sizeof count;
            s[word] = count;
        }
        return s;
    }
};

TEST_CASE("blocks are contiguous, in rank order, and differ in size by at most one", "[mpi]") {
    for (const std::size_t n : {0u, 1u, 7u, 1024u})
        for (int p = 1; p <= 5; ++p) {
            std::size_t next = 0;
            for (int r = 0; r < p; ++r) {
                const auto b = parex::mpi::block_of(n, r, p);
                CHECK(b.begin == next);
                CHECK(b.end - b.begin <= n / static_cast<std::size_t>(p) + 1);
                CHECK(b.end - b.begin >= n / static_cast<std::size_t>(p));
                next = b.end;
            }
            CHECK(next == n);
        }
    CHECK_THROWS_AS(parex::mpi::block_of(10, 3, 3), parex::invalid_argument);
}

TEST_CASE("map_reduce of float and double sums has the bits of single-process parex", "[mpi]") {
    const auto floats = random_values<float>(100'003, 1);
    const auto doubles = random_values<double>(100'003, 2);
    for (const std::size_t threads : {1u, 2u}) {
        parex::chunked_executor ex({.max_concurrency = threads});
        for (const auto& plan :
             {parex::chunks(floats.size()), parex::chunks(floats.size(), parex::grain{977}),
              parex::chunks(floats.size(), parex::chunk_count{3}), parex::chunks(5, parex::grain{1})}) {
            INFO("ranks " << ranks() << ", threads " << threads << ", chunks " << plan.size());
            const auto sum_floats = [&](parex::chunk c) {
                float s = 0;
                for (auto i = c.begin; i < c.end; ++i) s += floats[i];
                return s;
            };
            const auto sum_doubles = [&](parex::chunk c) {
                double s = 0;
                for (auto i = c.begin; i < c.end; ++i) s += doubles[i];
                return s;
            };
            const float f = parex::mpi::map_reduce(ex, MPI_COMM_WORLD, plan, sum_floats, std::plus<>{}, 0.0f);
            const double d = parex::mpi::map_reduce(ex, MPI_COMM_WORLD, plan, sum_doubles, std::plus<>{}, 0.0);
            parex::chunked_executor local({.max_concurrency = 1});
            CHECK(same_bits(f, local.map_reduce(plan, sum_floats, std::plus<>{}, 0.0f)));
            CHECK(same_bits(d, local.map_reduce(plan, sum_doubles, std::plus<>{}, 0.0)));
        }
    }
}

TEST_CASE("map_reduce keeps chunk order for a non-commutative reduce and serialises a std::map", "[mpi]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    const auto plan = parex::chunks(37, parex::grain{1});
    const auto order = parex::mpi::map_reduce(
        ex, MPI_COMM_WORLD, plan, [](parex::chunk c) { return static_cast<unsigned long long>(c.index % 10); },
        [](unsigned long long a, unsigned long long b) { return a * 10 + b; }, 0ull);
    CHECK(order == ex.map_reduce(
                       plan, [](parex::chunk c) { return static_cast<unsigned long long>(c.index % 10); },
                       [](unsigned long long a, unsigned long long b) { return a * 10 + b; }, 0ull));
    const std::vector<std::string> words{"cq", "de", "k1abc", "cq", "73", "de", "cq"};
    const auto count = [&](parex::chunk c) {
        summary s;
        for (auto i = c.begin; i < c.end; ++i) ++s[words[i % words.size()]];
        return s;
    };
    const auto merge = [](summary a, const summary& b) {
        for (const auto& [w, n] : b) a[w] += n;
        return a;
    };
    const auto total =
        parex::mpi::map_reduce(ex, MPI_COMM_WORLD, parex::chunks(700, parex::grain{9}), count, merge, summary{});
    CHECK(total == summary{{"73", 100}, {"cq", 300}, {"de", 200}, {"k1abc", 100}});
}

TEST_CASE("map returns the results in chunk order on the root or on every rank", "[mpi]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    const auto plan = parex::chunks(50, parex::grain{3});
    const auto f = [](parex::chunk c) { return static_cast<int>(c.index * 100 + c.size()); };
    const auto on_root = parex::mpi::map(ex, MPI_COMM_WORLD, plan, f);
    if (rank() == 0)
        CHECK(on_root == ex.map(plan, f));
    else
        CHECK(on_root.empty());
    CHECK(parex::mpi::map(ex, MPI_COMM_WORLD, plan, f, parex::mpi::results_on::all) == ex.map(plan, f));
}

TEST_CASE("an exception on one rank is a remote_error naming it on every rank", "[mpi]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    const int failing = ranks() - 1;
    try {
        parex::mpi::for_each(ex, MPI_COMM_WORLD, parex::chunks(30, parex::grain{1}), [&](parex::chunk) {
            if (rank() == failing) throw std::runtime_error("bad record in chunk");
        });
        FAIL("no exception");
    } catch (const parex::mpi::remote_error& e) {
        CHECK(e.rank() == failing);
        CHECK(e.message() == "bad record in chunk");
        const parex::error& base = e;
        CHECK(std::string(base.what()).find("rank " + std::to_string(failing)) != std::string::npos);
    }
    // the communicator is still in step: the next collective call works
    CHECK(parex::mpi::map_reduce(
              ex, MPI_COMM_WORLD, parex::chunks(10, parex::grain{1}), [](parex::chunk) { return 1; }, std::plus<>{},
              0) == 10);
}

TEST_CASE("a stop on one rank is operation_cancelled on every rank", "[mpi]") {
    parex::chunked_executor ex({.max_concurrency = 1});
    std::stop_source stop;
    if (rank() == 0) stop.request_stop();
    try {
        parex::mpi::for_each(ex, MPI_COMM_WORLD, parex::chunks(30, parex::grain{1}), [](parex::chunk) {},
                             {.stop = stop.get_token()});
        FAIL("not cancelled");
    } catch (const parex::operation_cancelled& e) {
        CHECK(e.total() == 30);
        CHECK(e.done() < e.total());
    }
}

TEST_CASE("a stop on one rank reaches the others at once when they can stop; the next call is clean", "[mpi]") {
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    parex::chunked_executor ex({.max_concurrency = 1});
    // 40 chunks of 10 ms on every rank: a rank that finished its block would take 400 ms
    const auto plan = parex::chunks(40 * static_cast<std::size_t>(ranks()), parex::grain{1});
    const auto caller = std::this_thread::get_id();
    for (const bool with_progress : {true, false}) {
        INFO("with a progress callback: " << with_progress << ", MPI thread level " << level);
        std::stop_source stop;  // every rank has a token; rank 0 requests it in its first chunk
        std::vector<parex::progress> reports;
        bool reports_on_caller = true;
        std::atomic<bool> chunks_on_caller{true};
        parex::run_options options{.stop = stop.get_token()};
        if (with_progress) {
            options.on_progress = [&](parex::progress p) {
                reports_on_caller = reports_on_caller && std::this_thread::get_id() == caller;
                reports.push_back(p);
            };
            options.progress_interval = std::chrono::milliseconds(1);
        }
        try {
            parex::mpi::for_each(
                ex, MPI_COMM_WORLD, plan,
                [&](parex::chunk) {
                    if (std::this_thread::get_id() != caller) chunks_on_caller = false;
                    if (rank() == 0) stop.request_stop();
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                },
                options);
            FAIL("not cancelled");
        } catch (const parex::operation_cancelled& e) {
            CHECK(e.total() == plan.size());
            CHECK(e.done() < plan.size() / 4);  // every rank stopped within a few of its 40 chunks
        }
        // the chunks run on the calling thread only where MPI lets a relay thread listen meanwhile
        CHECK(chunks_on_caller == (!with_progress && level >= MPI_THREAD_SERIALIZED));
        if (with_progress) {
            REQUIRE(!reports.empty());  // the progress reports still come on the calling thread, the last at the end
            CHECK(reports_on_caller);
            for (std::size_t i = 1; i < reports.size(); ++i) CHECK(reports[i].done >= reports[i - 1].done);
        }
        // no stop message is left for the next call, whose ranks all have tokens that are never requested
        std::stop_source fresh;
        CHECK(parex::mpi::map_reduce(ex, MPI_COMM_WORLD, parex::chunks(100, parex::grain{1}),
                                     [](parex::chunk) { return 1; }, std::plus<>{}, 0,
                                     {.stop = fresh.get_token()}) == 100);
    }
}

TEST_CASE("a call with a stop token that ends before the relay thread wakes leaves the next calls in step", "[mpi]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    std::stop_source never;
    for (int call = 0; call < 200; ++call) {
        INFO("call " << call);
        REQUIRE(parex::mpi::map_reduce(ex, MPI_COMM_WORLD, parex::chunks(8, parex::grain{1}),
                                       [](parex::chunk c) { return static_cast<int>(c.index); }, std::plus<>{}, 0,
                                       {.stop = never.get_token()}) == 28);
    }
    std::stop_source stop;  // then a stop from the last rank still reaches every rank
    if (rank() == ranks() - 1) stop.request_stop();
    CHECK_THROWS_AS(parex::mpi::for_each(ex, MPI_COMM_WORLD, parex::chunks(20, parex::grain{1}), [](parex::chunk) {},
                                         {.stop = stop.get_token()}),
                    parex::operation_cancelled);
}

TEST_CASE("a rank without a stop token finishes its block and still ends cancelled with the others", "[mpi]") {
    parex::chunked_executor ex({.max_concurrency = 1});
    const auto plan = parex::chunks(10 * static_cast<std::size_t>(ranks()), parex::grain{1});
    std::stop_source stop;
    stop.request_stop();
    const parex::run_options options =
        rank() == 0 ? parex::run_options{.stop = stop.get_token()} : parex::run_options{};
    CHECK_THROWS_AS(
        parex::mpi::for_each(ex, MPI_COMM_WORLD, plan, [](parex::chunk) {}, options), parex::operation_cancelled);
    std::stop_source fresh;
    CHECK(parex::mpi::map_reduce(ex, MPI_COMM_WORLD, parex::chunks(10, parex::grain{1}), [](parex::chunk) { return 1; },
                                 std::plus<>{}, 0, {.stop = fresh.get_token()}) == 10);
}

TEST_CASE("the default executor runs an operation given none, and the order of parex 0.1 still works", "[mpi]") {
    const auto plan = parex::chunks(40, parex::grain{3});
    const auto f = [](parex::chunk c) { return static_cast<int>(c.index); };
    parex::chunked_executor ex({.max_concurrency = 2});
    const auto expected = ex.map_reduce(plan, f, std::plus<>{}, 0);
    CHECK(parex::mpi::map_reduce(MPI_COMM_WORLD, plan, f, std::plus<>{}, 0) == expected);
    CHECK(parex::mpi::map(MPI_COMM_WORLD, plan, f, parex::mpi::results_on::all) == ex.map(plan, f));
    std::atomic<int> chunks{0};
    parex::mpi::for_each(MPI_COMM_WORLD, plan, [&](parex::chunk) { ++chunks; });
    CHECK(chunks.load() == static_cast<int>(parex::mpi::block_of(plan.size(), rank(), ranks()).end -
                                            parex::mpi::block_of(plan.size(), rank(), ranks()).begin));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    CHECK(parex::mpi::map_reduce(MPI_COMM_WORLD, plan, f, std::plus<>{}, 0, ex) == expected);
    CHECK(parex::mpi::map(MPI_COMM_WORLD, plan, f, ex, parex::mpi::results_on::all) == ex.map(plan, f));
    parex::mpi::for_each(MPI_COMM_WORLD, plan, [](parex::chunk) {}, ex);
#pragma GCC diagnostic pop
}
