#pragma once
// parex/shm_arena.hpp: page-aligned shared memory that outputs are written into in place, visible to
// fork children (anonymous) or to any process of the same user that attaches by name (POSIX shm).
//
// Layout: a header at offset 0 (magic, layout version, sizes, the bump pointer, the creator's pid, a
// checksum), then the data. Allocation is a lock-free bump of the header's `used` counter, so threads of
// every attached process can allocate at once. Ownership is explicit: the creator unlinks the name when
// it is destroyed, an attacher only unmaps (CPython's bpo-39959 was attachers unlinking segments that
// others still used). Linux only.

#include <parex/errors.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory_resource>
#include <new>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace parex {

/// How a request for huge pages turned out (shm_arena::huge_pages()).
enum class huge_page_status : std::uint8_t {
    not_requested,
    hugetlb,      ///< mapped with MAP_HUGETLB from the reserved pool (anonymous arenas)
    transparent,  ///< madvise(MADV_HUGEPAGE) accepted: transparent huge pages where the kernel can
    unavailable,  ///< asked for, refused by the kernel: ordinary pages
};

/// Options of shm_arena::create.
struct arena_options {
    /// Capacity in bytes, header included; rounded up to whole pages. Must be positive.
    std::size_t bytes = 0;
    /// Empty: an anonymous MAP_SHARED mapping, shared with fork() children only. Otherwise a POSIX
    /// shared-memory name ("/name", see unique_shm_name) that other processes attach to.
    std::string name{};
    /// Ask for huge pages: MAP_HUGETLB for anonymous arenas, then madvise(MADV_HUGEPAGE) as fallback.
    bool huge_pages = false;
};

namespace detail {

inline constexpr std::uint64_t arena_magic = 0x4d48535845524150ull;  // "PAREXSHM", little-endian
inline constexpr std::uint32_t arena_layout_version = 1;

/// The segment's first bytes, written once by the creator. Fixed-width fields only: attachers may be
/// other builds of parex.
struct arena_fields {
    std::uint64_t magic;
    std::uint32_t version;
    std::uint32_t header_bytes;  // where the data starts
    std::uint64_t total_bytes;   // the whole mapping
    std::int64_t creator_pid;
    std::uint64_t checksum;  // FNV-1a of the fields above
};
/// The header: the fixed fields, then the bump pointer that every attached process shares.
struct arena_header : arena_fields {
    std::atomic<std::uint64_t> used;  // next free offset from the segment start
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "cross-process bump allocation needs it");

inline std::uint64_t header_checksum(const arena_fields& h) {
    // FNV-1a 64 (Fowler, Noll, Vo): detects a damaged header, not tampering.
    std::uint64_t hash = 14695981039346656037ull;
    const auto mix = [&](const void* p, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) hash = (hash ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
    };
    mix(&h.magic, sizeof h.magic);
    mix(&h.version, sizeof h.version);
    mix(&h.header_bytes, sizeof h.header_bytes);
    mix(&h.total_bytes, sizeof h.total_bytes);
    mix(&h.creator_pid, sizeof h.creator_pid);
    return hash;
}

inline std::size_t page_size() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

inline std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

[[noreturn]] inline void throw_errno(const std::string& what) {
    throw parex::system_error(errno, std::generic_category(), "parex: " + what);
}

/// A POSIX shm name: "/" then 1 to 254 characters, none of them '/'.
inline void check_shm_name(const std::string& name) {
    if (name.size() < 2 || name.size() > 255 || name[0] != '/' || name.find('/', 1) != std::string::npos)
        throw parex::invalid_argument("parex: '" + name +
                                      "' is not a POSIX shared-memory name (\"/name\", no other '/')");
}

/// Closes a file descriptor on scope exit.
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace detail

/// "/<prefix>-<pid>-<16 random hex digits>": a fresh POSIX shm name for shm_arena::create.
/// Throws parex::invalid_argument when prefix is empty or contains '/'.
inline std::string unique_shm_name(std::string_view prefix = "parex") {
    if (prefix.empty() || prefix.find('/') != std::string_view::npos)
        throw parex::invalid_argument("parex: shm name prefix must be non-empty and without '/'");
    static thread_local std::mt19937_64 rng{std::random_device{}() ^ (std::uint64_t(::getpid()) << 32)};
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
    std::string name = "/";  // appended piece by piece: GCC 12 -O3 warns falsely on a chain of '+'
    name.append(prefix).append("-").append(std::to_string(::getpid())).append("-").append(suffix);
    return name;
}

class shm_arena;

/// A std::pmr::memory_resource that allocates from an arena (monotonic: deallocate is a no-op, the
/// memory comes back with shm_arena::reset()). Pointers into the arena are valid in this process and
/// in fork children that inherited the mapping; to hand data to an unrelated process, pass offsets.
class shm_arena_resource final : public std::pmr::memory_resource {
public:
    explicit shm_arena_resource(shm_arena& arena) : arena_(&arena) {}

private:
    void* do_allocate(std::size_t bytes, std::size_t alignment) override;
    void do_deallocate(void*, std::size_t, std::size_t) override {}
    [[nodiscard]] bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
        const auto* o = dynamic_cast<const shm_arena_resource*>(&other);
        return o != nullptr && o->arena_ == arena_;
    }
    shm_arena* arena_;
};

/// A shared-memory arena. Move-only; moving transfers ownership.
class shm_arena {
public:
    /// The largest arena create() accepts: 2^47 bytes (128 TiB), the user address space of x86-64 with
    /// four-level paging; sizes are rounded up to pages (or huge pages) without overflow below it.
    static constexpr std::size_t max_bytes = std::size_t{1} << 47;

    /// Creates an arena: anonymous (options.name empty) or a new named segment, created with
    /// O_CREAT | O_EXCL and mode 0600 (never an existing one). The caller becomes the owner.
    /// Throws parex::invalid_argument (zero size or above max_bytes, bad name), parex::system_error (the
    /// name exists, no memory, shm_open/ftruncate/mmap failed).
    static shm_arena create(const arena_options& options) {
        if (options.bytes == 0) throw parex::invalid_argument("parex: shm_arena needs a positive size");
        if (options.bytes > max_bytes)
            throw parex::invalid_argument("parex: shm_arena of " + std::to_string(options.bytes) +
                                          " bytes is above shm_arena::max_bytes (2^47)");
        const auto page = detail::page_size();
        const auto header_bytes = detail::round_up(sizeof(detail::arena_header), 64);
        shm_arena arena;
        arena.owner_ = true;
        arena.owner_pid_ = ::getpid();
        arena.name_ = options.name;
        arena.huge_ = options.huge_pages ? huge_page_status::unavailable : huge_page_status::not_requested;
        arena.size_ = detail::round_up(std::max(options.bytes, header_bytes + 1), page);

        if (options.name.empty()) {
            void* base = MAP_FAILED;
            if (options.huge_pages) {
                const std::size_t huge = 2u << 20;  // the x86-64 and arm64 default huge page size
                base = ::mmap(nullptr, detail::round_up(arena.size_, huge), PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
                if (base != MAP_FAILED)
                    arena.size_ = detail::round_up(arena.size_, huge), arena.huge_ = huge_page_status::hugetlb;
            }
            if (base == MAP_FAILED)
                base = ::mmap(nullptr, arena.size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
            if (base == MAP_FAILED)
                detail::throw_errno("mmap of an anonymous shared arena of " + std::to_string(arena.size_) + " bytes");
            arena.base_ = static_cast<std::byte*>(base);
        } else {
            detail::check_shm_name(options.name);
            detail::fd_guard fd{::shm_open(options.name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600)};
            if (fd.fd < 0) detail::throw_errno("shm_open(" + options.name + ", O_CREAT | O_EXCL)");
            arena.base_ = nullptr;
            if (::ftruncate(fd.fd, static_cast<off_t>(arena.size_)) != 0) {
                const int error = errno;
                ::shm_unlink(options.name.c_str());
                errno = error;
                detail::throw_errno("ftruncate(" + options.name + ", " + std::to_string(arena.size_) + ")");
            }
            void* base = ::mmap(nullptr, arena.size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
            if (base == MAP_FAILED) {
                const int error = errno;
                ::shm_unlink(options.name.c_str());
                errno = error;
                detail::throw_errno("mmap of " + options.name);
            }
            arena.base_ = static_cast<std::byte*>(base);
        }
        if (options.huge_pages && arena.huge_ != huge_page_status::hugetlb &&
            ::madvise(arena.base_, arena.size_, MADV_HUGEPAGE) == 0)
            arena.huge_ = huge_page_status::transparent;

        auto* h = new (arena.base_) detail::arena_header{};
        h->magic = detail::arena_magic;
        h->version = detail::arena_layout_version;
        h->header_bytes = static_cast<std::uint32_t>(header_bytes);
        h->total_bytes = arena.size_;
        h->creator_pid = ::getpid();
        h->checksum = detail::header_checksum(*h);
        h->used.store(header_bytes, std::memory_order_release);
        return arena;
    }

    /// Maps an existing named arena. The attacher never unlinks the name.
    /// Throws parex::system_error (no such segment, no permission), segment_error (foreign: not a parex
    /// arena; truncated: shorter than its header says; corrupt: checksum or counters wrong; version:
    /// another layout version).
    static shm_arena attach(const std::string& name) {
        detail::check_shm_name(name);
        detail::fd_guard fd{::shm_open(name.c_str(), O_RDWR, 0)};
        if (fd.fd < 0) detail::throw_errno("shm_open(" + name + ")");
        struct stat st{};
        if (::fstat(fd.fd, &st) != 0) detail::throw_errno("fstat(" + name + ")");
        const auto file_bytes = static_cast<std::size_t>(st.st_size);
        if (file_bytes < sizeof(detail::arena_header))
            throw segment_error(segment_error::reason::truncated, name,
                                std::to_string(file_bytes) + " bytes cannot hold the arena header");
        void* base = ::mmap(nullptr, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
        if (base == MAP_FAILED) detail::throw_errno("mmap of " + name);
        shm_arena arena;
        arena.base_ = static_cast<std::byte*>(base);
        arena.size_ = file_bytes;
        arena.name_ = name;
        arena.validate();  // on failure `arena` unmaps on the way out
        return arena;
    }

    shm_arena(shm_arena&& other) noexcept { swap(other); }
    shm_arena& operator=(shm_arena&& other) noexcept {
        if (this != &other) {
            shm_arena gone(std::move(other));
            swap(gone);
        }
        return *this;
    }
    shm_arena(const shm_arena&) = delete;
    shm_arena& operator=(const shm_arena&) = delete;

    /// Unmaps; the owner also unlinks the name, but only in the process that created it (a fork child
    /// holding a copy of the owner never unlinks).
    ~shm_arena() {
        if (base_ == nullptr) return;
        ::munmap(base_, size_);
        if (owner_ && !name_.empty() && owner_pid_ == ::getpid()) ::shm_unlink(name_.c_str());
    }

    /// Room for n objects of T at `alignment` (default max(alignof(T), 64): a cache line), uninitialised
    /// for fresh arenas (zero pages) and after reset() (old contents). Lock-free; safe from any thread of
    /// any attached process. T must be trivially copyable: the bytes are shared, not objects.
    /// Throws arena_full when the arena cannot hold it, parex::invalid_argument for an alignment that is
    /// not a power of two or exceeds the page size.
    template <class T>
    std::span<T> allocate(std::size_t n, std::size_t alignment = std::max<std::size_t>(alignof(T), 64)) {
        static_assert(std::is_trivially_copyable_v<T>, "parex: shm_arena holds trivially copyable data only");
        if (n > (size_ - header().header_bytes) / sizeof(T)) throw arena_full(n * sizeof(T), available());
        return {reinterpret_cast<T*>(base_ + allocate_bytes(n * sizeof(T), alignment)), n};
    }

    /// Offset of `bytes` bytes aligned to `alignment` (see allocate).
    std::size_t allocate_bytes(std::size_t bytes, std::size_t alignment) {
        if (!std::has_single_bit(alignment) || alignment > detail::page_size())
            throw parex::invalid_argument("parex: alignment " + std::to_string(alignment) +
                                          " is not a power of two up to the page size");
        auto& used = header().used;
        auto current = used.load(std::memory_order_relaxed);
        for (;;) {
            const auto start = detail::round_up(current, alignment);
            if (start > size_ || bytes > size_ - start)
                throw arena_full(bytes, size_ - std::min<std::size_t>(current, size_));
            if (used.compare_exchange_weak(current, start + bytes, std::memory_order_acq_rel,
                                           std::memory_order_relaxed))
                return start;
        }
    }

    /// Makes the whole data area free again. Every span handed out before becomes invalid: call it
    /// between batches, when no process uses the old allocations.
    void reset() noexcept { header().used.store(header().header_bytes, std::memory_order_release); }

    /// Offset of `p` from the segment start, to hand to another process (which calls at()).
    /// Throws parex::out_of_range when p is not inside this arena's data area.
    [[nodiscard]] std::size_t offset_of(const void* p) const {
        const auto* b = static_cast<const std::byte*>(p);
        if (b < base_ + header().header_bytes || b > base_ + size_)
            throw parex::out_of_range("parex: pointer is not inside this shm_arena");
        return static_cast<std::size_t>(b - base_);
    }

    /// The n objects of T at `offset` (from offset_of in any attached process).
    /// Throws parex::out_of_range when they are not inside the allocated part, parex::invalid_argument
    /// when offset is misaligned for T.
    template <class T>
    [[nodiscard]] std::span<T> at(std::size_t offset, std::size_t n) const {
        static_assert(std::is_trivially_copyable_v<T>, "parex: shm_arena holds trivially copyable data only");
        const auto used = header().used.load(std::memory_order_acquire);
        if (offset < header().header_bytes || offset > used || n > (used - offset) / sizeof(T))
            throw parex::out_of_range("parex: [" + std::to_string(offset) + ", +" + std::to_string(n * sizeof(T)) +
                                      ") is outside the allocated part of shm_arena '" + name_ + "'");
        if (offset % alignof(T) != 0) throw parex::invalid_argument("parex: offset misaligned for the type");
        return {reinterpret_cast<T*>(base_ + offset), n};
    }

    /// Bytes of the mapping, header included.
    [[nodiscard]] std::size_t capacity() const noexcept { return size_; }
    /// Bytes handed out so far, header and alignment padding included.
    [[nodiscard]] std::size_t used() const noexcept { return header().used.load(std::memory_order_acquire); }
    [[nodiscard]] std::size_t available() const noexcept { return size_ - std::min<std::size_t>(used(), size_); }
    /// The POSIX name, empty for an anonymous arena.
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// Whether this object unlinks the name when destroyed.
    [[nodiscard]] bool owner() const noexcept { return owner_; }
    /// The pid recorded by the creator.
    [[nodiscard]] pid_t creator_pid() const noexcept { return static_cast<pid_t>(header().creator_pid); }
    [[nodiscard]] huge_page_status huge_pages() const noexcept { return huge_; }
    /// A pmr adapter allocating from this arena; lives as long as the arena object.
    [[nodiscard]] std::pmr::memory_resource* resource() noexcept { return &resource_; }

private:
    shm_arena() = default;

    [[nodiscard]] detail::arena_header& header() const noexcept {
        return *reinterpret_cast<detail::arena_header*>(base_);
    }

    void validate() const {
        const auto& h = header();
        using r = segment_error::reason;
        if (h.magic != detail::arena_magic) throw segment_error(r::foreign, name_, "no parex magic number at offset 0");
        if (h.version != detail::arena_layout_version)
            throw segment_error(r::version, name_,
                                "layout version " + std::to_string(h.version) + ", this build reads " +
                                    std::to_string(detail::arena_layout_version));
        if (h.checksum != detail::header_checksum(h))
            throw segment_error(r::corrupt, name_, "header checksum mismatch");
        if (h.total_bytes > size_)
            throw segment_error(
                r::truncated, name_,
                "header says " + std::to_string(h.total_bytes) + " bytes, segment has " + std::to_string(size_));
        const auto used = h.used.load(std::memory_order_acquire);
        if (h.header_bytes < sizeof(detail::arena_header) || used < h.header_bytes || used > h.total_bytes)
            throw segment_error(r::corrupt, name_,
                                "used bytes " + std::to_string(used) + " outside [" + std::to_string(h.header_bytes) +
                                    ", " + std::to_string(h.total_bytes) + "]");
    }

    void swap(shm_arena& o) noexcept {
        std::swap(base_, o.base_);
        std::swap(size_, o.size_);
        std::swap(name_, o.name_);
        std::swap(owner_, o.owner_);
        std::swap(owner_pid_, o.owner_pid_);
        std::swap(huge_, o.huge_);
        // resource_ keeps pointing at its own arena object: nothing to swap
    }

    std::byte* base_ = nullptr;
    std::size_t size_ = 0;
    std::string name_;
    bool owner_ = false;
    pid_t owner_pid_ = 0;
    huge_page_status huge_ = huge_page_status::not_requested;
    shm_arena_resource resource_{*this};
};

inline void* shm_arena_resource::do_allocate(std::size_t bytes, std::size_t alignment) {
    auto span = arena_->allocate<std::byte>(bytes, std::max<std::size_t>(alignment, 1));
    return span.data();
}

/// Removes the named parex arenas under /dev/shm whose names start with "<prefix>-" and whose creator
/// process no longer exists (kill(pid, 0) fails with ESRCH). Segments that are not parex arenas, or whose
/// creator lives, are left alone. Returns the names removed ("/name").
inline std::vector<std::string> remove_stale_segments(std::string_view prefix = "parex",
                                                      const std::filesystem::path& shm_dir = "/dev/shm") {
    std::vector<std::string> removed;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(shm_dir, ec)) {
        const auto file = entry.path().filename().string();
        if (!file.starts_with(std::string(prefix) + "-")) continue;
        const auto name = "/" + file;
        detail::fd_guard fd{::shm_open(name.c_str(), O_RDONLY, 0)};
        if (fd.fd < 0) continue;
        detail::arena_fields h{};
        if (::pread(fd.fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) continue;
        if (h.magic != detail::arena_magic || h.checksum != detail::header_checksum(h)) continue;
        if (::kill(static_cast<pid_t>(h.creator_pid), 0) == 0 || errno != ESRCH) continue;
        if (::shm_unlink(name.c_str()) == 0) removed.push_back(name);
    }
    return removed;
}

}  // namespace parex
