#pragma once
// terminal_progress.hpp: the progress line every example CLI shows on stderr, only when stderr is a
// terminal (never in pipes, logs or tests).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <parex/run_control.hpp>

namespace examples {

/// run_options whose on_progress redraws "`what` done/total" on stderr at most every 100 ms and clears
/// the line at the end; empty options when stderr is not a terminal.
inline parex::run_options terminal_progress(std::string what) {
    if (!::isatty(STDERR_FILENO)) return {};
    return {.on_progress =
                [what](parex::progress p) {
                    fmt::print(stderr, "\r\033[K{} {}/{}", what, p.done, p.total);
                    if (p.done == p.total) fmt::print(stderr, "\r\033[K");
                },
            .progress_interval = std::chrono::milliseconds(100)};
}

}  // namespace examples
