// A long run that reports its progress and is stopped halfway: the progress callback sees chunks
// finish; a stop request lets running chunks end, starts no new one, and the call throws
// operation_cancelled saying how much was done.
#include <parex/chunked_executor.hpp>

#include <chrono>
#include <cstdio>
#include <stop_token>
#include <thread>

int main() {
    std::stop_source stop;
    const parex::run_options options{.stop = stop.get_token(),
                                     .on_progress =
                                         [&](parex::progress p) {
                                             std::printf("%zu of %zu chunks\n", p.done, p.total);
                                             if (2 * p.done >= p.total)
                                                 stop.request_stop();  // e.g. a user pressed Ctrl-C
                                         },
                                     .progress_interval = std::chrono::milliseconds(20)};
    try {
        parex::for_each(
            parex::chunks(200, parex::grain{1}),
            [](parex::chunk) { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }, options);
        return 1;  // not reached: the run was stopped
    } catch (const parex::operation_cancelled& e) {
        std::printf("stopped: %zu of %zu chunks ran\n", e.done(), e.total());
        return e.done() < e.total() ? 0 : 1;
    }
}
