// shm_arena: bump allocation against malloc and operator new, and handing a 64 MiB result to a child
// process through the arena against through a pipe. Its own binary: it forks, and a process that forks
// should hold no thread pools.
#include "kernels.hpp"

#include <parex/shm_arena.hpp>

#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

namespace pb = parex::bench;

namespace {

// ---------------------------------------------------------------------------------------------
// 100,000 allocations of 64 bytes, then everything released (arena: reset(); peers: free/delete)
constexpr std::size_t allocations = 100'000;
constexpr std::size_t block = 64;

/// Runs `work(share)` on `threads` threads, share = allocations / threads.
template <class Work>
void share_out(std::size_t threads, Work work) {
    pb::on_threads(threads, [&](std::size_t) { work(allocations / threads); });
}

void alloc_arena(benchmark::State& state, std::size_t threads) {
    auto arena = parex::shm_arena::create({.bytes = allocations * block + (1 << 20)});
    for (auto _ : state) {
        share_out(threads, [&](std::size_t n) {
            for (std::size_t i = 0; i < n; ++i) benchmark::DoNotOptimize(arena.allocate<std::byte>(block, 64).data());
        });
        arena.reset();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * allocations));
}
void alloc_arena_sequential(benchmark::State& state) { alloc_arena(state, 1); }
void alloc_arena_parallel(benchmark::State& state) { alloc_arena(state, pb::threads()); }

void alloc_malloc(benchmark::State& state) {
    for (auto _ : state)
        share_out(pb::threads(), [](std::size_t n) {
            std::vector<void*> blocks(n);
            for (auto& b : blocks) benchmark::DoNotOptimize(b = std::aligned_alloc(64, block));
            for (auto* b : blocks) std::free(b);
        });
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * allocations));
}

void alloc_new(benchmark::State& state) {
    for (auto _ : state)
        share_out(pb::threads(), [](std::size_t n) {
            std::vector<void*> blocks(n);
            for (auto& b : blocks) benchmark::DoNotOptimize(b = ::operator new(block, std::align_val_t{64}));
            for (auto* b : blocks) ::operator delete(b, std::align_val_t{64});
        });
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * allocations));
}

// ---------------------------------------------------------------------------------------------
// A 64 MiB result handed to a long-lived child process, which reads all of it (a checksum) and replies.
constexpr std::size_t result_bytes = std::size_t{64} << 20;

std::uint64_t checksum(const std::uint64_t* p, std::size_t words, std::uint64_t h = 0) {
    for (std::size_t i = 0; i < words; ++i) h = h * 31 + p[i];
    return h;
}

void write_all(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        const auto w = ::write(fd, p, n);
        if (w <= 0) throw std::runtime_error("write to child failed");
        p += w, n -= static_cast<std::size_t>(w);
    }
}
bool read_all(int fd, void* data, std::size_t n) {
    auto* p = static_cast<char*>(data);
    while (n > 0) {
        const auto r = ::read(fd, p, n);
        if (r <= 0) return false;
        p += r, n -= static_cast<std::size_t>(r);
    }
    return true;
}

/// A forked child serving requests on a pipe pair; `serve(in, out)` runs in the child until EOF.
struct child_process {
    int to_child = -1, from_child = -1;
    pid_t pid = -1;
    template <class Serve>
    explicit child_process(Serve serve) {
        int down[2], up[2];
        if (::pipe(down) != 0 || ::pipe(up) != 0) throw std::runtime_error("pipe failed");
        pid = ::fork();
        if (pid == 0) {
            ::close(down[1]);
            ::close(up[0]);
            serve(down[0], up[1]);
            ::_exit(0);
        }
        ::close(down[0]);
        ::close(up[1]);
        to_child = down[1];
        from_child = up[0];
    }
    ~child_process() {
        ::close(to_child);
        ::close(from_child);
        ::waitpid(pid, nullptr, 0);
    }
};

void handoff_arena(benchmark::State& state) {
    const auto name = parex::unique_shm_name("parex-bench");
    auto arena = parex::shm_arena::create({.bytes = result_bytes + (1 << 20), .name = name});
    auto result = arena.allocate<std::uint64_t>(result_bytes / 8);
    for (std::size_t i = 0; i < result.size(); ++i) result[i] = i;
    const std::uint64_t expected = checksum(result.data(), result.size());
    child_process child([&](int in, int out) {
        auto mine = parex::shm_arena::attach(name);  // once: a long-lived worker keeps its mapping
        std::uint64_t request[2];                    // offset, words
        while (read_all(in, request, sizeof request)) {
            const auto data = mine.at<std::uint64_t>(request[0], request[1]);
            const auto h = checksum(data.data(), data.size());
            write_all(out, &h, sizeof h);
        }
    });
    const auto hand_off = [&] {
        const std::uint64_t request[2] = {arena.offset_of(result.data()), result.size()};
        write_all(child.to_child, request, sizeof request);
        std::uint64_t h = 0;
        read_all(child.from_child, &h, sizeof h);
        return h == expected;
    };
    // Untimed: the child's first read maps the 64 MiB into its page tables (about 0.1 s here), once per
    // mapping; the rows measure the steady handoff to a worker that keeps its mapping.
    if (!hand_off()) return state.SkipWithError("the child read other data");
    for (auto _ : state) {
        if (!hand_off()) return state.SkipWithError("the child read other data");
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * result_bytes));
}

void handoff_pipe(benchmark::State& state) {
    std::vector<std::uint64_t> result(result_bytes / 8);
    for (std::size_t i = 0; i < result.size(); ++i) result[i] = i;
    const std::uint64_t expected = checksum(result.data(), result.size());
    child_process child([](int in, int out) {
        std::vector<std::uint64_t> piece((1 << 20) / 8);  // checksummed while hot in cache: the pipe's best case
        for (;;) {
            std::uint64_t h = 0;
            for (std::size_t got = 0; got < result_bytes; got += piece.size() * 8) {
                if (!read_all(in, piece.data(), piece.size() * 8)) return;
                h = checksum(piece.data(), piece.size(), h);
            }
            write_all(out, &h, sizeof h);
        }
    });
    const auto hand_off = [&] {
        write_all(child.to_child, result.data(), result_bytes);
        std::uint64_t h = 0;
        read_all(child.from_child, &h, sizeof h);
        return h == expected;
    };
    if (!hand_off()) return state.SkipWithError("the child read other data");  // untimed, as for the arena
    for (auto _ : state) {
        if (!hand_off()) return state.SkipWithError("the child read other data");
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * result_bytes));
}

}  // namespace

#define PAREX_ARENA_BENCH(fn, name) BENCHMARK(fn)->Name(name)->UseRealTime()->Unit(benchmark::kMillisecond)

PAREX_ARENA_BENCH(alloc_arena_sequential, "shm_arena/100000 allocations of 64 B then release all/sequential");
PAREX_ARENA_BENCH(alloc_arena_parallel, "shm_arena/100000 allocations of 64 B then release all/parex");
PAREX_ARENA_BENCH(alloc_malloc, "shm_arena/100000 allocations of 64 B then release all/peer:aligned_alloc and free");
PAREX_ARENA_BENCH(alloc_new, "shm_arena/100000 allocations of 64 B then release all/peer:operator new and delete");
PAREX_ARENA_BENCH(handoff_arena, "shm_arena/64 MiB result handed to a child process that reads it/parex");
PAREX_ARENA_BENCH(handoff_pipe, "shm_arena/64 MiB result handed to a child process that reads it/peer:pipe");

int main(int argc, char** argv) { return pb::run_benchmarks(argc, argv); }
