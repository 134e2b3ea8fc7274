#pragma once
// parex/mpi/file_plan.hpp: one file cut into record-aligned chunks, the same plan on every rank, without
// any rank reading the whole file (split_file).

#include <parex/chunking.hpp>
#include <parex/errors.hpp>
#include <parex/mapped_file.hpp>
#include <parex/mpi/communicator.hpp>
#include <parex/mpi/detail/exchange.hpp>

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parex::mpi {

/// The record-aligned chunks of one file, the same on every rank (split_file). Chunk offsets are the
/// file's byte offsets, and a chunk's bytes are a view of the file mapped read-only: a page is read
/// from storage when first touched, so a rank reads only the chunks it uses. Usable as the plan of
/// parex::mpi::map, for_each, map_reduce and map_records, and of a single-process executor. Move-only;
/// the views stay valid while the plan lives.
class file_plan {
public:
    [[nodiscard]] std::size_t size() const noexcept { return plan_.size(); }
    /// Bytes covered: the file's size less the first byte's offset.
    [[nodiscard]] std::size_t input_size() const noexcept { return plan_[size() - 1].end - plan_[0].begin; }
    [[nodiscard]] byte_chunk operator[](std::size_t i) const noexcept { return plan_[i]; }
    /// The whole file (offsets as the chunks'): touching bytes outside this rank's chunks reads them.
    [[nodiscard]] std::string_view data() const noexcept { return file_.bytes(); }
    /// The chunks this rank runs in the communicator the plan was split on (block_of).
    [[nodiscard]] block mine() const noexcept { return mine_; }
    [[nodiscard]] const byte_plan& plan() const noexcept { return plan_; }

    /// What split_file builds: `bounds` as byte_plan's, file offsets starting at the first byte.
    file_plan(parex::mapped_file file, std::vector<std::size_t> bounds, block mine)
        : file_(std::move(file)),
          plan_(file_.bytes(), std::move(bounds)),
          mine_(mine) {}

private:
    parex::mapped_file file_;
    byte_plan plan_;
    block mine_;
};

/// split_file (below) on a file this rank has mapped already, to read a header and find first_byte,
/// say. Its path names it in errors.
template <boundary_finder Finder>
file_plan split_file(MPI_Comm comm, parex::mapped_file file, std::size_t target_bytes, const Finder& finder,
                     std::size_t first_byte = 0) {
    const int me = rank(comm), p = ranks(comm);
    std::exception_ptr error;
    std::uint64_t size = file.bytes().size(), size_on_root = size;
    detail::check(MPI_Bcast(&size_on_root, 1, MPI_UINT64_T, 0, comm), "MPI_Bcast");
    const auto range = file.bytes().substr(std::min<std::size_t>(first_byte, size));
    // nominal cut k (1-based) at k * target_bytes into `range`, for every such position inside it
    const std::size_t nominal = range.empty() || target_bytes == 0 ? 0 : (range.size() - 1) / target_bytes;
    const auto cuts_of = [&](int r) { return block_of(nominal, r, p); };
    std::vector<std::uint64_t> my_cuts;
    try {
        if (target_bytes == 0) throw chunking_error("target chunk size must be positive", 0, 0);
        if (first_byte > size)
            throw parex::invalid_argument("parex::mpi: first byte " + std::to_string(first_byte) +
                                          " is past the end of " + file.path().string() + " (" + std::to_string(size) +
                                          " bytes)");
        if (size != size_on_root)
            throw parex::invalid_argument("parex::mpi: " + file.path().string() + " has " + std::to_string(size) +
                                          " bytes here and " + std::to_string(size_on_root) +
                                          " on rank 0 (is it being written?)");
        const auto b = cuts_of(me);
        for (auto k = b.begin; k < b.end; ++k) {
            const auto pos = (k + 1) * target_bytes;
            const auto cut = static_cast<std::size_t>(finder(range, pos));
            if (cut < pos || cut > range.size())
                throw chunking_error(
                    "boundary finder returned " + std::to_string(cut) + " for search position " + std::to_string(pos),
                    k, first_byte + pos);
            my_cuts.push_back(first_byte + cut);
        }
    } catch (...) {
        error = std::current_exception();
    }
    detail::exchange_status(comm, error, 0, 0);

    std::vector<int> counts, offsets;
    for (int r = 0; r < p; ++r) {
        const auto b = cuts_of(r);
        offsets.push_back(detail::to_int(b.begin, "the cuts' count"));
        counts.push_back(detail::to_int(b.end - b.begin, "a rank's cuts"));
    }
    std::vector<std::uint64_t> cuts(nominal);
    detail::check(MPI_Allgatherv(my_cuts.data(), counts[static_cast<std::size_t>(me)], MPI_UINT64_T, cuts.data(),
                                 counts.data(), offsets.data(), MPI_UINT64_T, comm),
                  "MPI_Allgatherv");
    std::vector<std::size_t> bounds{first_byte};
    for (const auto cut : cuts)
        if (cut > bounds.back() && cut < size) bounds.push_back(static_cast<std::size_t>(cut));
    bounds.push_back(static_cast<std::size_t>(size));  // {first_byte, size}: one chunk, empty when size is
    const auto chunks = bounds.size() - 1;
    return {std::move(file), std::move(bounds), block_of(chunks, me, p)};
}

/// Splits the file at `path` (the same file on every rank: a shared file system across machines) into
/// record-aligned chunks without any rank reading the whole file. The bytes [first_byte, file size)
/// are cut at the first record boundary at or after each multiple of `target_bytes` past first_byte:
/// the cut near first_byte + k * target_bytes is finder(bytes, k * target_bytes) over the bytes from
/// first_byte, as split_bytes calls it. Rank r finds the cuts of its block_of the nominal positions,
/// reading only the bytes its finder looks at there; the cuts are then exchanged (an allgather of one
/// 8-byte offset per target_bytes of file), so every rank holds the same plan. The plan depends on the
/// file, target_bytes and the finder only, not on the number of ranks. Cuts that coincide (a record
/// longer than target_bytes) make one chunk; chunks are never empty except the single chunk of an empty
/// range. Throws on every rank: remote_error when a rank could not map the file (parex::system_error
/// there), when target_bytes == 0, first_byte is past the end, a finder returned an offset outside
/// [position, size] (chunking_error there), or ranks saw the file at different sizes. Collective.
template <boundary_finder Finder>
file_plan split_file(MPI_Comm comm, const std::filesystem::path& path, std::size_t target_bytes, const Finder& finder,
                     std::size_t first_byte = 0) {
    std::exception_ptr error;
    parex::mapped_file file;
    try {
        file = parex::mapped_file(path);
    } catch (...) {
        error = std::current_exception();
    }
    detail::exchange_status(comm, error, 0, 0);
    return split_file(comm, std::move(file), target_bytes, finder, first_byte);
}

}  // namespace parex::mpi
