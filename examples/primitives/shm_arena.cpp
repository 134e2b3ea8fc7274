// A child process writes its results straight into shared memory; the parent reads them in place.
#include <parex/shm_arena.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

int main() {
    const auto name = parex::unique_shm_name("parex-example");
    auto arena = parex::shm_arena::create({.bytes = 1 << 20, .name = name});  // we own (and unlink) it
    auto mailbox = arena.allocate<std::size_t>(1);                            // where the child leaves its offset

    if (fork() == 0) {  // the child attaches by name, as an unrelated process would
        auto mine = parex::shm_arena::attach(name);
        auto squares = mine.allocate<long>(1000);
        for (long i = 0; i < 1000; ++i) squares[static_cast<std::size_t>(i)] = i * i;
        mine.at<std::size_t>(arena.offset_of(mailbox.data()), 1)[0] = mine.offset_of(squares.data());
        _exit(0);  // an attacher never unlinks
    }
    wait(nullptr);
    const auto squares = arena.at<long>(mailbox[0], 1000);  // offsets, not pointers, cross processes
    std::printf("squares[999] = %ld, arena used %zu of %zu bytes\n", squares[999], arena.used(), arena.capacity());
}
