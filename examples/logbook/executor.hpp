#pragma once
// logbook/executor.hpp: the executor behind the module's `threads` options.

#include <parex/chunked_executor.hpp>

#include <cstddef>
#include <optional>

namespace logbook {

namespace detail {

/// The executor for a `threads` option: parex's default executor for 0, else one of that size built in
/// `sized` (which the caller keeps alive for as long as it uses the executor).
inline parex::chunked_executor& executor_for(std::size_t threads, std::optional<parex::chunked_executor>& sized) {
    return threads == 0 ? parex::default_executor()
                        : sized.emplace(parex::executor_options{.max_concurrency = threads});
}

}  // namespace detail

}  // namespace logbook
