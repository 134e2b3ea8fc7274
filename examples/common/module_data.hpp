#pragma once
// module_data.hpp: where an example CLI finds its module's run-time data (reference tables, scripts).
// The programs live in <root>/bin and the data in <root>/share/parex/<module>, where <root> is the
// install prefix (`cmake --install`) or the build folder (CMake stages both the same way there), so a
// program finds its data from its own location, whatever the current folder.

#include <filesystem>
#include <string>
#include <system_error>

namespace examples {

/// <folder of the running program>/../share/parex/<module>. Linux: the program's path is read from
/// /proc/self/exe; when that fails, the result is share/parex/<module> relative to the current folder,
/// so an error about a missing file still names the folder that was looked in. Does not check that
/// the folder exists (the reader of each file reports a missing one).
inline std::filesystem::path module_data_dir(const std::string& module) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto root = ec ? std::filesystem::path() : self.parent_path().parent_path();
    return (root / "share" / "parex" / module).lexically_normal();
}

}  // namespace examples
