// libFuzzer target: shm_arena::attach on arbitrary segment bytes. A segment holding the input is
// attached: attach either throws segment_error (or std::system_error) or gives an arena whose
// allocations, reset and lookups stay inside the segment.
#include <parex/shm_arena.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string name = "/parex-fuzz-" + std::to_string(::getpid());
    const int fd = ::shm_open(name.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0) std::abort();
    for (std::size_t done = 0; done < size;) {
        const auto n = ::write(fd, data + done, size - done);
        if (n <= 0) std::abort();
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    try {
        auto arena = parex::shm_arena::attach(name);
        if (arena.capacity() != size || arena.used() > arena.capacity()) std::abort();
        try {
            const auto span = arena.allocate<std::uint64_t>(3);
            for (auto& v : span) v = 0x5A5A5A5A5A5A5A5Aull;  // inside the segment, or ASan reports it
            (void)arena.at<std::uint64_t>(arena.offset_of(span.data()), span.size());
        } catch (const parex::arena_full&) {}
    } catch (const parex::segment_error&) {
    } catch (const std::system_error&) {}
    ::shm_unlink(name.c_str());
    return 0;
}
