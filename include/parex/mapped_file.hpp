#pragma once
// parex/mapped_file.hpp: a file mapped read-only into memory, the input of byte plans without a copy
// (POSIX: open, fstat, mmap). parex::mpi's file plans map their file with it; it needs no MPI.

#include <parex/errors.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace parex {

/// A file mapped read-only into memory (POSIX mmap). The kernel reads a page when it is first touched,
/// so a process that touches only some chunks (and the bytes a boundary search looks at) reads only
/// those. Move-only; the bytes stay valid, at the same address, for the object's lifetime, moves
/// included. The view is of the file as it is: a file truncated while mapped makes a read of the lost
/// pages raise SIGBUS, as for any mmap.
class mapped_file {
public:
    mapped_file() = default;
    /// Throws parex::system_error (a std::system_error, errno in code()) naming the path when it cannot be
    /// opened, examined or mapped.
    explicit mapped_file(const std::filesystem::path& path) : path_(path) {
        const auto fail = [&](const char* what) {
            throw parex::system_error(errno, std::generic_category(),
                                      "parex: cannot " + std::string(what) + " " + path.string());
        };
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail("open");
        struct ::stat st{};
        if (::fstat(fd, &st) != 0) {
            const int e = errno;
            ::close(fd);
            errno = e;
            fail("examine");
        }
        size_ = static_cast<std::size_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                const int e = errno;
                ::close(fd);
                errno = e;
                fail("map");
            }
            data_ = static_cast<char*>(p);
        }
        ::close(fd);  // the mapping keeps the file
    }
    mapped_file(mapped_file&& o) noexcept
        : path_(std::move(o.path_)),
          data_(std::exchange(o.data_, nullptr)),
          size_(std::exchange(o.size_, 0)) {}
    mapped_file& operator=(mapped_file&& o) noexcept {
        if (this != &o) {
            unmap();
            path_ = std::move(o.path_);
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    ~mapped_file() { unmap(); }

    /// The file's bytes, as they were when it was mapped (empty for an empty file).
    [[nodiscard]] std::string_view bytes() const noexcept { return {data_ == nullptr ? "" : data_, size_}; }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    void unmap() noexcept {
        if (data_ != nullptr) ::munmap(data_, size_);
        data_ = nullptr;
    }
    std::filesystem::path path_;
    char* data_ = nullptr;  // mapped PROT_READ: never written through
    std::size_t size_ = 0;
};

}  // namespace parex
