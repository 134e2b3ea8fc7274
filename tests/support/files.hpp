#pragma once
// What the module tests share: reading and writing whole files, running a command line.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace parex::test {

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::filesystem::path& p, std::string_view bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}

/// Runs a shell command; returns its exit status (-1 when it did not exit normally).
inline int run(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// `p` in single quotes, for a shell command line (paths here hold no quote).
inline std::string quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

}  // namespace parex::test
