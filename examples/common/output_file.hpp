#pragma once
// output_file.hpp: how every example CLI writes its output. Never over an input or an existing file
// unless asked (-f), never a half-written file under the target's name: bytes go to a hidden temporary
// file beside the target, ".NAME.parex-" and 12 random letters and digits, which becomes the target
// only on commit(), atomically (renameat2). SIGINT and SIGTERM remove the temporary files of a program
// that armed it (remove_temporaries_on_signals); SIGKILL cannot be caught, so a stale ".NAME.parex-*"
// file may remain after one: it is never mistaken for output, and may be deleted.

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace examples {

/// Throws std::system_error for errno, with `what` as its message.
[[noreturn]] inline void fail_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

namespace detail {

/// The temporary files a signal handler must remove: fixed slots, so that the handler only reads
/// lock-free atomics and calls unlink(), both async-signal-safe. A slot is free (0), being filled (1) or
/// armed (2); the handler removes armed slots only.
struct temporary_files {
    static constexpr std::size_t slots = 64;
    std::array<std::atomic<int>, slots> state{};
    std::array<std::array<char, PATH_MAX>, slots> path{};

    /// Arms `p`; returns its slot, or slots when all are taken or the path is too long (the file is
    /// then still removed on every other way out, only not on a signal).
    std::size_t arm(const std::string& p) {
        if (p.size() >= PATH_MAX) return slots;
        for (std::size_t i = 0; i < slots; ++i) {
            int free = 0;
            if (!state[i].compare_exchange_strong(free, 1)) continue;
            std::memcpy(path[i].data(), p.c_str(), p.size() + 1);
            state[i].store(2, std::memory_order_release);
            return i;
        }
        return slots;
    }
    void disarm(std::size_t i) {
        if (i < slots) state[i].store(0, std::memory_order_release);
    }
    /// In a signal handler: removes every armed file.
    void remove_all() {
        for (std::size_t i = 0; i < slots; ++i)
            if (state[i].load(std::memory_order_acquire) == 2) ::unlink(path[i].data());
    }
};
static_assert(std::atomic<int>::is_always_lock_free);

inline temporary_files armed_temporaries;

extern "C" inline void remove_temporaries_and_die(int signal_number) {
    armed_temporaries.remove_all();
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
}

}  // namespace detail

/// Installs handlers for SIGINT and SIGTERM that remove every output_file's temporary file, then end
/// the program by the same signal (exit status 128 + the signal's number in a shell). A signal the
/// program was started with ignored (nohup) stays ignored. Call once, early in main.
inline void remove_temporaries_on_signals() {
    for (const int signal_number : {SIGINT, SIGTERM}) {
        struct sigaction old{};
        if (::sigaction(signal_number, nullptr, &old) != 0 || old.sa_handler == SIG_IGN) continue;
        struct sigaction action{};
        action.sa_handler = detail::remove_temporaries_and_die;
        ::sigemptyset(&action.sa_mask);
        ::sigaction(signal_number, &action, nullptr);
    }
}

/// The output file exists and overwriting was not asked for (-f).
class output_exists : public std::runtime_error {
public:
    explicit output_exists(const std::filesystem::path& target)
        : std::runtime_error(target.string() + " already exists; use -f to overwrite it") {}
};

/// Where output goes: stdout (no target), or a temporary file beside the target that becomes the target
/// only on commit(). Destroyed without commit (an error), the temporary file is removed.
/// Constructing one checks, before any work, that the output can be written: the target does not exist
/// (unless `overwrite`) and a file can be created in its folder.
/// Throws output_exists when the target exists and overwriting was not asked for, std::system_error
/// when a system call fails (the message names the file).
class output_file {
public:
    output_file(std::optional<std::filesystem::path> target, bool overwrite)
        : target_(std::move(target)),
          overwrite_(overwrite) {
        if (!target_) {
            fd_ = STDOUT_FILENO;
            return;
        }
        if (!overwrite_ && std::filesystem::exists(*target_)) throw output_exists(*target_);
        // The name is armed before the file exists (mkstemp would create it first), so that a signal at
        // any moment removes it. 62^12 names: another process's file of the same name, which a signal
        // between arm() and a refused open() would remove, does not occur in practice.
        const auto stem = (target_->parent_path() / ("." + target_->filename().string() + ".parex-")).string();
        static constexpr std::string_view letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        std::random_device entropy;
        std::mt19937_64 random((std::uint64_t{entropy()} << 32) ^ entropy());
        for (int attempt = 0;; ++attempt) {
            std::string name = stem;
            for (int i = 0; i < 12; ++i) name += letters[random() % letters.size()];
            temporary_ = name;
            slot_ = detail::armed_temporaries.arm(name);
            fd_ = ::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd_ >= 0) return;
            const int error = errno;
            detail::armed_temporaries.disarm(slot_);
            temporary_.reset();
            if (error != EEXIST || attempt == 99) {
                errno = error;
                fail_errno("creating a temporary file beside " + target_->string());
            }
        }
    }
    output_file(const output_file&) = delete;
    output_file& operator=(const output_file&) = delete;
    ~output_file() {
        if (temporary_) {
            ::close(fd_);
            ::unlink(temporary_->c_str());
            detail::armed_temporaries.disarm(slot_);
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
            detail::armed_temporaries.disarm(slot_);
            temporary_.reset();
            errno = error;
            fail_errno("renaming to " + target_->string());
        }
        detail::armed_temporaries.disarm(slot_);
        temporary_.reset();
    }

private:
    std::optional<std::filesystem::path> target_;
    bool overwrite_;
    int fd_ = -1;
    std::optional<std::filesystem::path> temporary_;
    std::size_t slot_ = detail::temporary_files::slots;
};

/// Writes `text` to `target` through an output_file: a temporary file, then an atomic rename (over an
/// existing target only when `overwrite`).
inline void write_atomically(const std::filesystem::path& target, std::string_view text, bool overwrite) {
    output_file out(target, overwrite);
    out.write(text);
    out.commit();
}

}  // namespace examples
