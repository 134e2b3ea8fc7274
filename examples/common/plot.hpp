#pragma once
// common/plot.hpp: how a module's --plot draws: a Python script with matplotlib, run on a temporary CSV
// of the data, writing the PNG (the caller's output_file temporary, renamed when the script succeeds).

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace examples {

/// Writes `csv` to a temporary file, runs `python script CSV args...` and waits for it; the temporary
/// file is removed either way. `python` is the interpreter the build found with matplotlib
/// (EXAMPLES_PLOT_PYTHON). Throws std::runtime_error naming the option, the interpreter and the script
/// when it cannot start or fails.
inline void run_plot_script(const std::string& option, const std::string& python, const std::filesystem::path& script,
                            std::string_view csv, const std::vector<std::string>& args) {
    char name[] = "/tmp/parex-plot-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) throw std::runtime_error(option + ": cannot create a temporary data file");
    ::close(fd);
    if (!(std::ofstream(name) << csv)) {
        std::filesystem::remove(name);
        throw std::runtime_error(option + ": cannot write the temporary data file " + name);
    }
    std::vector<std::string> words = {python, script.string(), name};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int spawned = ::posix_spawnp(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ);
    int status = 0;
    if (spawned == 0) ::waitpid(pid, &status, 0);
    std::filesystem::remove(name);
    if (spawned != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(option + ": " + python + " " + script.string() +
                                 " failed (it needs matplotlib: apt-get install python3-matplotlib)");
}

}  // namespace examples
