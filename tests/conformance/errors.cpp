// Conformance of parex/errors.hpp: every exception parex throws is a parex::error and the standard
// exception its docs name, and what() is the same through either base.
#include <parex/parex.hpp>

#include "parex_catch.hpp"

#include <cerrno>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace {

/// Runs f, which must throw E; checks that the exception is also a parex::error and a Std, with one message.
template <class E, class Std, class F>
void check_throws(F&& f) {
    try {
        f();
        FAIL("nothing thrown");
    } catch (const E& e) {
        const parex::error& as_parex = e;
        const Std& as_std = e;
        CHECK(std::string(as_parex.what()) == as_std.what());
        CHECK(std::string(e.what()).rfind("parex: ", 0) == 0);
    }
}

}  // namespace

TEST_CASE("parex's exceptions are parex::error and the standard type they document", "[errors][chunking]") {
    check_throws<parex::chunking_error, std::invalid_argument>([] { (void)parex::chunks(10, parex::grain{0}); });
    check_throws<parex::invalid_argument, std::invalid_argument>([] { (void)parex::after_delimiter(""); });
    check_throws<parex::invalid_argument, std::invalid_argument>([] { (void)parex::detail::parse_cpu_list("1-x"); });
}

TEST_CASE("shared-memory errors are parex::error too", "[errors][arena]") {
    check_throws<parex::invalid_argument, std::invalid_argument>([] { (void)parex::shm_arena::create({.bytes = 0}); });
    check_throws<parex::system_error, std::system_error>(
        [] { (void)parex::shm_arena::attach("/parex-test-errors-no-such-segment"); });
    auto arena = parex::shm_arena::create({.bytes = 4096});
    check_throws<parex::arena_full, std::bad_alloc>([&] { (void)arena.allocate<char>(1 << 20); });
    int outside = 0;
    check_throws<parex::out_of_range, std::out_of_range>([&] { (void)arena.offset_of(&outside); });
}

TEST_CASE("cancellation, timeouts and misuse are parex::error", "[errors]") {
    std::stop_source stop;
    stop.request_stop();
    check_throws<parex::operation_cancelled, std::runtime_error>([&] {
        parex::chunked_executor({.max_concurrency = 2})
            .for_each(parex::chunks(8, parex::grain{1}), [](parex::chunk) {}, {.stop = stop.get_token()});
    });
    parex::chunked_executor ex({.max_concurrency = 2});
    check_throws<parex::task_cancelled, std::runtime_error>(
        [&] { ex.submit({.stop = stop.get_token()}, [] { return 1; }).get(); });
    parex::worker_local<int> local(ex, [](std::size_t) { return 0; });
    check_throws<parex::logic_error, std::logic_error>([&] { (void)local.get(); });
}

TEST_CASE("a user function's exception is not wrapped", "[errors]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    struct mine {};
    CHECK_THROWS_AS(ex.for_each(parex::chunks(4, parex::grain{1}), [](parex::chunk) { throw mine{}; }), mine);
}
