#pragma once
// What the module tests share: reading and writing whole files, running a command line.

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

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

/// `p` in single quotes, for a shell command line (paths here hold no quote).
inline std::string quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

/// Runs `command` (a shell pipeline; the script is written to `script`) as a job of its own, waits
/// until a file matching `glob` exists (at most 10 s), sends `signal` ("INT", "TERM") to the job's
/// process group, and returns the exit status the shell reports for the pipeline's last program:
/// 128 + the signal's number when the signal ended it.
inline int interrupt_when_file_appears(const std::filesystem::path& script, const std::string& command,
                                       const std::string& glob, const std::string& signal) {
    write_file(script, "set -m\n" + command + " &\n"
                       "for i in $(seq 1000); do ls " + glob + " > /dev/null 2>&1 && break; sleep 0.01; done\n"
                       "kill -" + signal + " -- -$(jobs -p)\n"
                       "wait $!\n");
    return run("bash " + quote(script));
}

}  // namespace parex::test
