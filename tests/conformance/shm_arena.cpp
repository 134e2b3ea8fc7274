// Conformance: parex/shm_arena.hpp: sharing across fork(), ownership, bad attaches, concurrent
// allocation, pmr containers. Named segments use the prefix "parex-test"; a ctest fixture checks that
// none is left in /dev/shm after the run.
#include <parex/shm_arena.hpp>

#include "parex_catch.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <memory_resource>
#include <thread>
#include <vector>

namespace {

constexpr const char* test_prefix = "parex-test";

/// Runs `child` in a fork()ed process and returns its exit status (0 = success). The child never
/// returns into Catch2: it leaves with _exit, running no destructors of the parent's objects.
int in_child(const std::function<int()>& child) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int code = 99;
        try {
            code = child();
        } catch (...) {
            code = 98;
        }
        ::_exit(code);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 97;
}

bool segment_exists(const std::string& name) {
    const int fd = ::shm_open(name.c_str(), O_RDONLY, 0);
    if (fd >= 0) ::close(fd);
    return fd >= 0;
}

}  // namespace

TEST_CASE("an anonymous arena is shared with fork children", "[arena]") {
    auto arena = parex::shm_arena::create({.bytes = 1 << 20});
    CHECK(arena.name().empty());
    CHECK(arena.capacity() % ::sysconf(_SC_PAGESIZE) == 0);
    auto values = arena.allocate<double>(1000);
    CHECK(reinterpret_cast<std::uintptr_t>(values.data()) % 64 == 0);
    CHECK(in_child([&] {
              for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.5 * static_cast<double>(i);
              return 0;
          }) == 0);
    for (std::size_t i = 0; i < values.size(); ++i) REQUIRE(values[i] == 0.5 * static_cast<double>(i));
}

TEST_CASE("a child attaches a named arena by name, allocates and writes, the parent reads", "[arena]") {
    const auto name = parex::unique_shm_name(test_prefix);
    auto arena = parex::shm_arena::create({.bytes = 1 << 20, .name = name});
    CHECK(arena.owner());
    CHECK(arena.creator_pid() == ::getpid());
    // The child allocates through its own mapping and leaves the offset (not a pointer: the mappings
    // differ) in a mailbox slot the parent allocated first.
    auto mailbox = arena.allocate<std::uint64_t>(1);
    const auto mailbox_offset = arena.offset_of(mailbox.data());
    CHECK(in_child([&] {
              auto mine = parex::shm_arena::attach(name);
              if (mine.owner()) return 1;
              auto data = mine.allocate<std::int32_t>(256);
              for (int i = 0; i < 256; ++i) data[static_cast<std::size_t>(i)] = i * i;
              mine.at<std::uint64_t>(mailbox_offset, 1)[0] = mine.offset_of(data.data());
              return 0;
          }) == 0);
    const auto data = arena.at<std::int32_t>(mailbox[0], 256);
    for (int i = 0; i < 256; ++i) REQUIRE(data[static_cast<std::size_t>(i)] == i * i);
    CHECK(segment_exists(name));  // the attacher's exit did not unlink it
}

TEST_CASE("ownership: the creator unlinks, an attacher and a moved-from arena do not", "[arena]") {
    const auto name = parex::unique_shm_name(test_prefix);
    {
        auto owner = parex::shm_arena::create({.bytes = 65536, .name = name});
        { auto attached = parex::shm_arena::attach(name); }
        CHECK(segment_exists(name));
        auto moved = std::move(owner);  // ownership moves with the object
        CHECK(moved.owner());
        CHECK(segment_exists(name));
        parex::shm_arena assigned = parex::shm_arena::create({.bytes = 4096});
        assigned = std::move(moved);
        CHECK(assigned.owner());
        CHECK(assigned.name() == name);
        CHECK(segment_exists(name));
    }
    CHECK_FALSE(segment_exists(name));
    CHECK_THROWS_AS(parex::shm_arena::attach(name), std::system_error);
}

TEST_CASE("a fork child destroying its copy of the owner does not unlink", "[arena]") {
    const auto name = parex::unique_shm_name(test_prefix);
    auto owner = parex::shm_arena::create({.bytes = 65536, .name = name});
    CHECK(in_child([&] {
              auto inherited = std::move(owner);  // the child's copy of the owner object, destroyed here
              return 0;
          }) == 0);
    CHECK(segment_exists(name));
}

TEST_CASE("create never reuses an existing name", "[arena]") {
    const auto name = parex::unique_shm_name(test_prefix);
    auto first = parex::shm_arena::create({.bytes = 4096, .name = name});
    CHECK_THROWS_AS(parex::shm_arena::create({.bytes = 4096, .name = name}), std::system_error);
    CHECK_THROWS_AS(parex::shm_arena::create({.bytes = 4096, .name = "no-slash"}), std::invalid_argument);
    CHECK_THROWS_AS(parex::shm_arena::create({.bytes = 0}), std::invalid_argument);
    CHECK_THROWS_AS(parex::shm_arena::create({.bytes = SIZE_MAX}), std::invalid_argument);  // no wrap to a tiny arena
    CHECK_THROWS_AS(parex::shm_arena::create({.bytes = parex::shm_arena::max_bytes + 1}), std::invalid_argument);
    CHECK_THROWS_AS(parex::unique_shm_name("a/b"), std::invalid_argument);
}

TEST_CASE("named segments are created with mode 0600", "[arena]") {
    const auto name = parex::unique_shm_name(test_prefix);
    auto arena = parex::shm_arena::create({.bytes = 4096, .name = name});
    const int fd = ::shm_open(name.c_str(), O_RDONLY, 0);
    REQUIRE(fd >= 0);
    struct stat st{};
    REQUIRE(::fstat(fd, &st) == 0);
    ::close(fd);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("attach refuses foreign, truncated and corrupt segments and other layout versions", "[arena]") {
    using reason = parex::segment_error::reason;
    const auto expect = [](const std::string& name, reason why) {
        try {
            (void)parex::shm_arena::attach(name);
            FAIL("attach accepted a bad segment");
        } catch (const parex::segment_error& e) {
            CHECK(e.why() == why);
            CHECK(std::string(e.what()).find(name) != std::string::npos);
        }
    };
    const auto raw = [](const std::string& name, std::size_t bytes) {  // a plain shm segment
        const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, static_cast<off_t>(bytes)) == 0);
        return fd;
    };
    const auto poke = [](const std::string& name, std::size_t offset, const void* bytes, std::size_t n) {
        const int fd = ::shm_open(name.c_str(), O_RDWR, 0);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, bytes, n, static_cast<off_t>(offset)) == static_cast<ssize_t>(n));
        ::close(fd);
    };

    SECTION("foreign") {
        const auto name = parex::unique_shm_name(test_prefix);
        const int fd = raw(name, 8192);
        ::close(fd);
        expect(name, reason::foreign);
        ::shm_unlink(name.c_str());
    }
    SECTION("too short for a header") {
        const auto name = parex::unique_shm_name(test_prefix);
        ::close(raw(name, 16));
        expect(name, reason::truncated);
        ::shm_unlink(name.c_str());
    }
    SECTION("truncated after creation") {
        const auto name = parex::unique_shm_name(test_prefix);
        auto arena = parex::shm_arena::create({.bytes = 1 << 20, .name = name});
        const int fd = ::shm_open(name.c_str(), O_RDWR, 0);
        REQUIRE(::ftruncate(fd, 4096) == 0);
        ::close(fd);
        expect(name, reason::truncated);
    }
    SECTION("a flipped header byte") {
        const auto name = parex::unique_shm_name(test_prefix);
        auto arena = parex::shm_arena::create({.bytes = 65536, .name = name});
        const std::uint64_t wrong_size = 1 << 30;
        poke(name, offsetof(parex::detail::arena_fields, total_bytes), &wrong_size, sizeof wrong_size);
        expect(name, reason::corrupt);
    }
    SECTION("a bump pointer past the end") {
        const auto name = parex::unique_shm_name(test_prefix);
        auto arena = parex::shm_arena::create({.bytes = 65536, .name = name});
        const std::uint64_t past = arena.capacity() + 1;
        poke(name, sizeof(parex::detail::arena_fields), &past, sizeof past);
        expect(name, reason::corrupt);
    }
    SECTION("another layout version") {
        const auto name = parex::unique_shm_name(test_prefix);
        auto arena = parex::shm_arena::create({.bytes = 65536, .name = name});
        const std::uint32_t version = 99;
        poke(name, offsetof(parex::detail::arena_fields, version), &version, sizeof version);
        expect(name, reason::version);
    }
}

TEST_CASE("concurrent allocation from many threads never overlaps and fails typed when full", "[arena]") {
    auto arena = parex::shm_arena::create({.bytes = 4 << 20});
    constexpr int threads = 8;
    std::vector<std::vector<std::pair<std::uintptr_t, std::uintptr_t>>> ranges(threads);
    std::atomic<int> full{0};
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                for (std::size_t k = 1;; ++k) {
                    const std::size_t n = (k * 37 + static_cast<std::size_t>(t)) % 500 + 1;
                    try {
                        auto s = arena.allocate<std::uint32_t>(n, k % 2 ? 64 : 4);
                        std::fill(s.begin(), s.end(), static_cast<std::uint32_t>(t));
                        const auto b = reinterpret_cast<std::uintptr_t>(s.data());
                        if (b % (k % 2 ? 64 : 4) != 0) return;  // misaligned: the ranges check will fail
                        ranges[static_cast<std::size_t>(t)].emplace_back(b, b + s.size_bytes());
                    } catch (const parex::arena_full& e) {
                        ++full;
                        CHECK(e.requested() == n * sizeof(std::uint32_t));
                        return;
                    }
                }
            });
    }
    CHECK(full.load() == threads);
    std::vector<std::pair<std::uintptr_t, std::uintptr_t>> all;
    for (std::size_t t = 0; t < ranges.size(); ++t) {
        for (const auto& [b, e] : ranges[t]) {  // each thread's data survived the others' writes
            const auto* p = reinterpret_cast<const std::uint32_t*>(b);
            REQUIRE(std::all_of(p, reinterpret_cast<const std::uint32_t*>(e), [&](std::uint32_t v) { return v == t; }));
        }
        all.insert(all.end(), ranges[t].begin(), ranges[t].end());
    }
    std::sort(all.begin(), all.end());
    for (std::size_t i = 1; i < all.size(); ++i) REQUIRE(all[i - 1].second <= all[i].first);
    CHECK(arena.used() <= arena.capacity());
    arena.reset();
    CHECK(arena.available() > arena.capacity() - 4096);
}

TEST_CASE("allocate checks its alignment and at() its bounds", "[arena]") {
    auto arena = parex::shm_arena::create({.bytes = 65536});
    CHECK_THROWS_AS(arena.allocate<char>(1, 3), std::invalid_argument);
    CHECK_THROWS_AS(arena.allocate<char>(1, 1 << 20), std::invalid_argument);
    CHECK_THROWS_AS(arena.allocate<double>(1 << 20), parex::arena_full);
    auto s = arena.allocate<int>(10);
    const auto offset = arena.offset_of(s.data());
    CHECK(arena.at<int>(offset, 10).data() == s.data());
    CHECK_THROWS_AS(arena.at<int>(offset, 11), std::out_of_range);
    CHECK_THROWS_AS(arena.at<int>(0, 1), std::out_of_range);  // the header is not data
    int local = 0;
    CHECK_THROWS_AS(arena.offset_of(&local), std::out_of_range);
}

TEST_CASE("pmr containers live in the arena", "[arena]") {
    auto arena = parex::shm_arena::create({.bytes = 1 << 20});
    std::pmr::vector<int> numbers(arena.resource());
    for (int i = 0; i < 10000; ++i) numbers.push_back(i);
    const auto* first = reinterpret_cast<const std::byte*>(numbers.data());
    CHECK_NOTHROW(arena.offset_of(first));
    CHECK(arena.used() >= 10000 * sizeof(int));
    std::pmr::string text("a string long enough to leave the small-string buffer", arena.resource());
    CHECK_NOTHROW(arena.offset_of(text.data()));
    CHECK(arena.resource()->is_equal(*arena.resource()));
    auto other = parex::shm_arena::create({.bytes = 4096});
    CHECK_FALSE(arena.resource()->is_equal(*other.resource()));
    std::pmr::vector<char> too_big(arena.resource());
    CHECK_THROWS_AS(too_big.resize(2 << 20), std::bad_alloc);
}

TEST_CASE("huge pages are asked for and the outcome is reported", "[arena]") {
    auto plain = parex::shm_arena::create({.bytes = 4 << 20});
    CHECK(plain.huge_pages() == parex::huge_page_status::not_requested);
    auto huge = parex::shm_arena::create({.bytes = 4 << 20, .huge_pages = true});
    CHECK(huge.huge_pages() != parex::huge_page_status::not_requested);  // hugetlb, transparent or unavailable
    auto s = huge.allocate<char>(3 << 20);
    std::fill(s.begin(), s.end(), 'x');
    CHECK(s[s.size() - 1] == 'x');
}

TEST_CASE("stale segments of dead creators are removed, live ones are kept", "[arena]") {
    const auto stale = parex::unique_shm_name(test_prefix);
    CHECK(in_child([&] {
              auto abandoned = parex::shm_arena::create({.bytes = 4096, .name = stale});
              ::_exit(0);  // dies without its destructor: the segment stays behind
              return 0;
          }) == 0);
    REQUIRE(segment_exists(stale));
    const auto live = parex::unique_shm_name(test_prefix);
    auto mine = parex::shm_arena::create({.bytes = 4096, .name = live});
    const auto removed = parex::remove_stale_segments(test_prefix);
    CHECK(std::find(removed.begin(), removed.end(), stale) != removed.end());
    CHECK(std::find(removed.begin(), removed.end(), live) == removed.end());
    CHECK_FALSE(segment_exists(stale));
    CHECK(segment_exists(live));
}
