#pragma once
// output_file.hpp: how every example CLI writes its output. Never over an input, never a half-written
// file under the target's name: bytes go to a temporary file beside the target, which becomes the target
// only on commit(), atomically (renameat2). Shared by parex-compress, parex-transport and parex-adif.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace parex::examples {

/// Throws std::system_error for errno, with `what` as its message.
[[noreturn]] inline void fail_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

/// Where output goes: stdout (no target), or a temporary file beside the target that becomes the target
/// only on commit(). Destroyed without commit (an error), the temporary file is removed.
/// Throws std::runtime_error when the target exists and overwriting was not asked for, std::system_error
/// when a system call fails (the message names the file).
class output_file {
public:
    explicit output_file(std::optional<std::filesystem::path> target, bool overwrite = true)
        : target_(std::move(target)), overwrite_(overwrite) {
        if (!target_) {
            fd_ = STDOUT_FILENO;
            return;
        }
        if (!overwrite_ && std::filesystem::exists(*target_))
            throw std::runtime_error(target_->string() + " already exists; use -f to overwrite it");
        auto pattern = (target_->parent_path() / ("." + target_->filename().string() + ".parex-XXXXXX")).string();
        fd_ = ::mkstemp(pattern.data());
        if (fd_ < 0) fail_errno("creating a temporary file beside " + target_->string());
        temporary_ = pattern;
    }
    output_file(const output_file&) = delete;
    output_file& operator=(const output_file&) = delete;
    ~output_file() {
        if (temporary_) {
            ::close(fd_);
            ::unlink(temporary_->c_str());
        }
    }

    void write(std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                fail_errno("writing " + (target_ ? target_->string() : std::string("stdout")));
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    /// The temporary file's path, for writers that open files by name (HDF5); empty for stdout.
    [[nodiscard]] const std::optional<std::filesystem::path>& temporary_path() const noexcept { return temporary_; }

    /// Makes the output visible under its name, atomically; without `overwrite` never over an existing file.
    void commit() {
        if (!temporary_) return;
        if (::fchmod(fd_, 0644) != 0 || ::close(fd_) != 0) fail_errno(temporary_->string());
        const unsigned flags = overwrite_ ? 0 : RENAME_NOREPLACE;
        if (::renameat2(AT_FDCWD, temporary_->c_str(), AT_FDCWD, target_->c_str(), flags) != 0) {
            const int error = errno;
            ::unlink(temporary_->c_str());
            temporary_.reset();
            errno = error;
            fail_errno("renaming to " + target_->string());
        }
        temporary_.reset();
    }

private:
    std::optional<std::filesystem::path> target_;
    bool overwrite_;
    int fd_ = -1;
    std::optional<std::filesystem::path> temporary_;
};

/// Writes `text` to `target` through an output_file (temporary file, then rename over the target).
inline void write_atomically(const std::filesystem::path& target, std::string_view text) {
    output_file out(target);
    out.write(text);
    out.commit();
}

}  // namespace parex::examples
