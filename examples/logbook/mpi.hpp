#pragma once
// logbook/mpi.hpp: ADI files parsed, and awards tallied, across the ranks of an MPI communicator
// (parex/mpi.hpp). Every rank maps the file and reads its header; the records are cut at "<EOR>"
// candidates (parex::mpi::split_file), each rank parses its block of chunks, and a cut that fell inside
// a record ("<EOR>" in a comment) is repaired from the true boundary, across ranks too
// (parex::mpi::map_records). No rank reads the whole file. Built only with MPI (target parex::mpi).

#include <logbook/adif.hpp>
#include <logbook/awards.hpp>

#include <parex/chunked_executor.hpp>
#include <parex/mpi.hpp>

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace logbook::mpi {

/// This rank's share of an ADI file parsed across ranks.
struct file_part {
    /// The file's chunks (the same on every rank) and its mapped bytes, which `doc` refers to.
    parex::mpi::file_plan plan;
    /// The header (on every rank) and the records of this rank's block; skipped() carries the file's
    /// record indices; repaired_chunks() counts this rank's.
    document doc;
    /// Records (good ones) in the file before this rank's first.
    std::size_t first_record = 0;
};

/// Parses the ADI file at `path` across the ranks of `comm` on each rank's `executor`. Concatenated in
/// rank order, the ranks' documents hold exactly the records of parse() on the whole file, in file
/// order, and (lenient) the same skipped records with the same indices. Chunks: options.chunk_bytes, or
/// parse()'s automatic size for the threads of all ranks. Throws on every rank
/// parex::mpi::remote_error naming the lowest rank that failed: the file cannot be mapped, or
/// (strict) its message is the adif_error of the first bad record in file order. Collective.
inline file_part parse_file(MPI_Comm comm, const std::filesystem::path& path, const parse_options& options,
                            parex::chunked_executor& executor) {
    std::exception_ptr error;
    parex::mapped_file file;
    document doc;
    std::size_t records_begin = 0;
    try {
        file = parex::mapped_file(path);
        records_begin = detail::document_builder::read_header(doc, file.bytes(), options);
    } catch (...) {
        error = std::current_exception();
    }
    parex::mpi::exchange_status(comm, error);

    const auto body = file.bytes().size() - records_begin;
    const auto threads = executor.max_concurrency() * static_cast<std::size_t>(parex::mpi::ranks(comm));
    const auto target = options.chunk_bytes > 0 ? options.chunk_bytes : detail::auto_chunk_bytes(body, threads);
    auto plan = parex::mpi::split_file(comm, std::move(file), target, detail::eor_finder(), records_begin);
    const auto text = plan.data();
    auto parsed = parex::mpi::map_records(
        executor, comm, plan,
        [&](std::size_t b, std::size_t stop) { return detail::parse_records(text, 0, b, stop, options.lenient); },
        options.run);

    // records on the ranks before this one: all of them (for the issues' indices) and the good ones
    unsigned long long here[2] = {0, 0}, before[2] = {0, 0};
    for (const auto& p : parsed.results) {
        here[0] += p.records_seen;
        here[1] += p.record_offsets.size();
    }
    if (MPI_Exscan(here, before, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm) != MPI_SUCCESS)
        throw std::runtime_error("logbook::mpi: MPI_Exscan failed");
    if (parex::mpi::rank(comm) == 0) before[0] = before[1] = 0;  // MPI_Exscan leaves rank 0's undefined
    try {
        detail::document_builder::assemble(doc, parsed.results, parsed.repaired, before[0], options, executor);
    } catch (...) {
        error = std::current_exception();
    }
    parex::mpi::exchange_status(comm, error);
    return {std::move(plan), std::move(doc), static_cast<std::size_t>(before[1])};
}

/// The award summary of all ranks' summaries, merged in rank order (parex::mpi::combine): when rank r
/// summarised the r-th part of a set of QSOs, the result on every rank equals summarize() of them all.
/// Collective.
inline award_summary merge_across(MPI_Comm comm, const award_summary& mine) {
    return parex::mpi::combine(
        comm, std::vector<award_summary>{mine},
        [](award_summary a, const award_summary& b) { return std::move(a.merge(b)); }, award_summary{});
}

}  // namespace logbook::mpi

/// An award_summary crosses ranks as 64-bit words in the machines' byte order (the ranks of one job
/// share it): counts, each key set's words, the modes' text, the prefixes' codes.
template <>
struct parex::mpi::serializer<logbook::award_summary> {
    static void write(const logbook::award_summary& s, std::vector<std::byte>& out) {
        const auto word = [&](std::uint64_t v) {
            const auto* p = reinterpret_cast<const std::byte*>(&v);
            out.insert(out.end(), p, p + sizeof v);
        };
        const auto keys = [&](const logbook::key_set& k) {
            word(k.words().size());
            for (const auto w : k.words()) word(w);
        };
        const auto credits = [&](const std::vector<logbook::credit>& list) {
            word(list.size());
            for (const auto& c : list) {
                keys(c.worked);
                keys(c.confirmed);
            }
        };
        word(s.qsos);
        word(s.dxcc_derived);
        word(s.cqz_derived);
        for (const auto& t : s.tallies) {
            credits({t.overall});
            credits(t.by_band);
            credits(t.by_mode);
        }
        word(s.modes.size());
        for (const auto& m : s.modes) {
            word(m.size());
            const auto* p = reinterpret_cast<const std::byte*>(m.data());
            out.insert(out.end(), p, p + m.size());
        }
        word(s.prefixes.size());
        for (const auto code : s.prefixes) word(code);
    }

    /// Throws parex::invalid_argument when the bytes end early or have bytes left over.
    static logbook::award_summary read(std::span<const std::byte> bytes) {
        std::size_t at = 0;
        const auto take = [&](std::size_t n) {
            if (n > bytes.size() - at)
                throw parex::invalid_argument("logbook::mpi: an award summary's bytes end at " +
                                              std::to_string(bytes.size()));
            const auto span = bytes.subspan(at, n);
            at += n;
            return span;
        };
        const auto word = [&] {
            std::uint64_t v = 0;
            std::memcpy(&v, take(sizeof v).data(), sizeof v);
            return static_cast<std::size_t>(v);
        };
        // a count of items of at least `each` bytes, checked against the bytes left
        const auto count = [&](std::size_t each) {
            const auto n = word();
            if (n > (bytes.size() - at) / each)
                throw parex::invalid_argument("logbook::mpi: an award summary claims " + std::to_string(n) +
                                              " items at byte " + std::to_string(at));
            return n;
        };
        const auto keys = [&] {
            std::vector<std::uint64_t> words(count(8));
            for (auto& w : words) w = word();
            return logbook::key_set(std::move(words));
        };
        const auto credits = [&] {
            std::vector<logbook::credit> list(count(16));
            for (auto& c : list) {
                c.worked = keys();
                c.confirmed = keys();
            }
            return list;
        };
        logbook::award_summary s;
        s.qsos = word();
        s.dxcc_derived = word();
        s.cqz_derived = word();
        for (auto& t : s.tallies) {
            auto overall = credits();
            if (overall.size() != 1)
                throw parex::invalid_argument("logbook::mpi: an award tally without its overall credit");
            t.overall = std::move(overall.front());
            t.by_band = credits();
            t.by_mode = credits();
        }
        for (std::size_t i = 0, n = count(8); i < n; ++i) {
            const auto text = take(word());
            s.modes.number(std::string(reinterpret_cast<const char*>(text.data()), text.size()));
        }
        for (std::size_t i = 0, n = count(8); i < n; ++i) s.prefixes.number(word());
        if (at != bytes.size())
            throw parex::invalid_argument("logbook::mpi: " + std::to_string(bytes.size() - at) +
                                          " bytes after an award summary");
        return s;
    }
};
