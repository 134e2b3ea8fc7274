#pragma once
// cli.hpp: the command-line conventions every example program shares: one set of exit statuses, numeric
// options that refuse values outside their range (and show the range in --help), global options that
// may come before or after the subcommand, and one place that turns an exception into a message.

#include <common/output_file.hpp>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace examples {

/// Exit status of every example program (each README repeats it). A program ended by SIGINT or
/// SIGTERM removes its temporary files and dies of the signal (a shell shows 128 + the signal number).
enum exit_status : int {
    success = 0,
    data_error = 1,   ///< the input's content is bad or the work failed; the message says where
    usage_error = 2,  ///< the command line is wrong (the message names the option and what it accepts),
                      ///< or an output file exists and -f was not given
    io_error = 3,     ///< a file could not be read, written or renamed; the message names it and why
};

/// A bad command line found after parsing (a value CLI11 cannot check on its own): exit status 2.
class usage_failure : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// An input or output that cannot be read or written, with its message complete: exit status 3.
class io_failure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Largest --threads any program accepts. Beyond it the system refuses threads (EAGAIN) long before
/// parex would help: 0 means one per physical core (or PAREX_NUM_THREADS).
inline constexpr std::int64_t max_threads_option = 1024;

/// An integer option that accepts [lo, hi] only; --help shows the range. CLI11 checks the text before
/// it is converted, so "-1" or "1e12" for an unsigned option is refused rather than wrapped.
template <class T>
CLI::Option* add_integer(CLI::App* app, const std::string& name, T& value, const std::string& help, std::int64_t lo,
                         std::int64_t hi) {
    return app->add_option(name, value, help)->check(CLI::Range(lo, hi))->capture_default_str();
}

/// A real option that accepts finite values in [lo, hi] only (NaN and infinities refused); --help shows
/// the range.
inline CLI::Option* add_real(CLI::App* app, const std::string& name, double& value, const std::string& help, double lo,
                             double hi) {
    const auto range = fmt::format("[{:g}, {:g}]", lo, hi);
    CLI::Validator finite(
        [lo, hi, range](std::string& text) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v) || v < lo || v > hi)
                return "Value " + text + " not in " + range;
            return {};
        },
        "FLOAT in " + range);
    return app->add_option(name, value, help)->check(finite)->capture_default_str();
}

/// --threads (and -T when `short_flag`): 0 = one per physical core (PAREX_NUM_THREADS overrides).
template <class T>
CLI::Option* add_threads(CLI::App* app, T& value, bool short_flag = false) {
    return add_integer(app, short_flag ? "-T,--threads" : "--threads", value,
                       "worker threads (0 = one per physical core, or PAREX_NUM_THREADS)", 0, max_threads_option);
}

/// An exception's exit status and message (see run_program).
inline std::pair<exit_status, std::string> describe(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const CLI::Error& e) {
        return {usage_error, e.what()};
    } catch (const usage_failure& e) {
        return {usage_error, e.what()};
    } catch (const output_exists& e) {
        return {usage_error, e.what()};
    } catch (const io_failure& e) {
        return {io_error, e.what()};
    } catch (const std::system_error& e) {
        return {io_error, e.what()};
    } catch (const std::bad_alloc&) {
        return {data_error, "out of memory"};
    } catch (const std::exception& e) {
        return {data_error, e.what()};
    } catch (...) {
        return {data_error, "unknown error"};
    }
}

/// Runs `work` on `subject` (a file name) and returns its result; an exception escaping it is rethrown
/// with "subject: " before its message, keeping its exit status (usage errors unchanged).
template <class Work>
auto about(const std::string& subject, Work&& work) {
    try {
        return work();
    } catch (...) {
        const auto [status, message] = describe(std::current_exception());
        if (status == usage_error) throw;
        if (status == io_error) throw io_failure(subject + ": " + message);
        throw std::runtime_error(subject + ": " + message);
    }
}

/// The program's App: options of the program itself are accepted after a subcommand too
/// (`prog sub --threads 2 FILE`), as people type them. Subcommands inherit this from the App, so
/// call it before adding them.
inline void accept_options_anywhere(CLI::App& app) { app.fallthrough(); }

/// Parses the command line, runs `body` (which returns the exit status) and maps what escapes it to
/// one line on stderr, "<program>: <message>", and an exit_status: a CLI11 error, usage_failure or
/// output_exists 2; io_failure and std::system_error (std::filesystem::filesystem_error included) 3;
/// std::bad_alloc and every other exception 1. --help exits 0. Also arms the removal of temporary
/// output files on SIGINT and SIGTERM.
template <class Body>
int run_program(CLI::App& app, int argc, char** argv, Body&& body) {
    remove_temporaries_on_signals();
    const std::string program = app.get_name();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? success : usage_error;
    }
    try {
        return body();
    } catch (...) {
        const auto [status, message] = describe(std::current_exception());
        fmt::print(stderr, "{}: {}\n", program, message);
        return status;
    }
}

}  // namespace examples
