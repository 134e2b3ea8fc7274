#pragma once
// What the module tests share: reading and writing whole files, running a command line.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

extern "C" char** environ;

namespace parex::test {

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::filesystem::path& p, std::string_view bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}

/// The names of the entries of `dir`, sorted.
inline std::vector<std::string> file_names(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

/// Runs a shell command; returns its exit status (-1 when it did not exit normally).
inline int run(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Runs a shell command; returns its exit status (as run) and how long it took.
inline std::pair<int, std::chrono::milliseconds> timed_run(const std::string& command) {
    const auto start = std::chrono::steady_clock::now();
    const int status = run(command);
    return {status, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
}

/// `p` in single quotes, for a shell command line (paths here hold no quote).
inline std::string quote(const std::filesystem::path& p) { return std::string("'").append(p.string()) + "'"; }

/// Runs `command` (a shell pipeline; the script is written to `script`) as a job of its own, waits
/// until a file matching `glob` exists (at most 10 s), sends `signal` ("INT", "TERM") to the job's
/// process group, and returns the exit status the shell reports for the pipeline's last program:
/// 128 + the signal's number when the signal ended it.
inline int interrupt_when_file_appears(const std::filesystem::path& script, const std::string& command,
                                       const std::string& glob, const std::string& signal) {
    write_file(script, "set -m\n" + command +
                           " &\n"
                           "for i in $(seq 1000); do ls " +
                           glob +
                           " > /dev/null 2>&1 && break; sleep 0.01; done\n"
                           "kill -" +
                           signal +
                           " -- -$(jobs -p)\n"
                           "wait $!\n");
    return run("bash " + quote(script));
}

/// The crash test of a program that writes `target` through a temporary file: runs `command` (through
/// /bin/sh, in a process group of its own) `rounds` times, each time sending `signal` to the group
/// after a random delay in [0, max_delay) (pass the time an uninterrupted run takes, so that most
/// rounds interrupt it), and checks after each round that
/// - `target` is either absent or complete (`complete(target)` is true; then it is removed),
/// - nothing else appeared in its folder but, after SIGKILL only, stale ".NAME.parex-*" temporary
///   files (removed, since SIGKILL cannot be caught), and the names in `may_remain` (an input's own
///   side files, such as SQLite's -wal and -shm),
/// - `input` (if not empty) still holds `input_bytes`.
/// Returns the number of rounds (of 2 x rounds) in which the program had finished before the signal
/// (target complete), or a negative number when a check failed.
template <class Complete>
int crash_test(const std::string& command, const std::filesystem::path& target, Complete&& complete, int rounds,
               std::chrono::milliseconds max_delay, const std::filesystem::path& input = {},
               const std::string& input_bytes = {}, const std::vector<std::string>& may_remain = {}) {
    namespace fs = std::filesystem;
    const auto folder = target.parent_path();
    const auto before = file_names(folder);
    const auto temporary_prefix = std::string(".").append(target.filename().string()) + ".parex-";
    std::mt19937 rng(static_cast<unsigned>(rounds));
    int finished = 0;
    for (int round = 0; round < 2 * rounds; ++round) {
        const int signal = round < rounds ? SIGKILL : SIGINT;
        posix_spawnattr_t attr;
        ::posix_spawnattr_init(&attr);
        sigset_t all;
        ::sigfillset(&all);
        ::posix_spawnattr_setsigdefault(&attr,
                                        &all);  // INT and TERM as by default, even from a shell that ignored them
        ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
        ::posix_spawnattr_setpgroup(&attr, 0);
        const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
        pid_t pid = 0;
        if (::posix_spawn(&pid, "/bin/sh", nullptr, &attr, const_cast<char**>(argv), environ) != 0) return -1;
        ::posix_spawnattr_destroy(&attr);
        std::this_thread::sleep_for(std::chrono::microseconds(
            rng() % (1000 * static_cast<unsigned>(std::max<std::int64_t>(max_delay.count(), 1)))));
        ::kill(-pid, signal);
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (fs::exists(target)) {
            if (!complete(target)) return -1 - round;  // a partial output under the target's name
            ++finished;
            fs::remove(target);
        }
        for (const auto& name : file_names(folder)) {
            if (std::find(before.begin(), before.end(), name) != before.end() ||
                std::find(may_remain.begin(), may_remain.end(), name) != may_remain.end())
                continue;
            if (signal != SIGKILL || name.rfind(temporary_prefix, 0) != 0) return -1 - round;  // left behind
            fs::remove(folder / name);
        }
        if (!input.empty() && read_file(input) != input_bytes) return -1 - round;
    }
    return finished;
}

}  // namespace parex::test
