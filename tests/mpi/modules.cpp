// The modules across MPI ranks, run by ctest under mpirun with 1, 2 and 3 ranks: ADI files parsed by
// logbook::mpi::parse_file (real logs, and generated ones with "<EOR>" inside their data, at chunk sizes
// that put cuts inside records on every rank and across ranks), awards merged across ranks, a waveform
// batch gathered to rank 0, and a file compressed by all ranks into one archive. Every rank checks its
// share against the single-process result, which it computes itself.
#include <compress/engine.hpp>
#include <compress/mpi.hpp>
#include <logbook/adif.hpp>
#include <logbook/awards.hpp>
#include <logbook/mpi.hpp>
#include <logbook/qso.hpp>
#include <waveforms/generator.hpp>
#include <waveforms/mpi.hpp>
#include <waveforms/parameter_table.hpp>

#include "files.hpp"
#include "parex_catch.hpp"
#include "shared_file.hpp"

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
namespace lb = logbook;
namespace wf = waveforms;

namespace {

using parex::test::shared_file;

int rank() { return parex::mpi::rank(); }
int ranks() { return parex::mpi::ranks(); }

/// A record as (offset, fields as name=data), for comparing documents parsed in different ways.
std::vector<std::pair<std::size_t, std::vector<std::string>>> records_of(const lb::document& doc, std::size_t first,
                                                                         std::size_t count) {
    std::vector<std::pair<std::size_t, std::vector<std::string>>> out;
    for (std::size_t i = first; i < first + count; ++i) {
        std::vector<std::string> fields;
        for (const auto f : doc[i]) fields.push_back(std::string(f.name) + "=" + std::string(f.data));
        out.emplace_back(doc[i].offset(), std::move(fields));
    }
    return out;
}

/// 2000 QSOs whose COMMENT and NOTES hold "<EOR>", "<eor>" and tags; one in `bad_every` (0: none) has a
/// field length running past its record (a bad record: strict parses fail there, lenient ones skip it).
std::string generated_log(unsigned seed, std::size_t bad_every = 0) {
    std::mt19937 rng(seed);
    static const std::vector<std::string> pieces = {"<EOR>", "<eor>", "<CALL:3>ABC", " ", "\n", "73", "<", ">"};
    std::string text = "generated for the parex MPI tests\n<ADIF_VER:5>3.1.6 <EOH>\n";
    for (std::size_t i = 0; i < 2000; ++i) {
        std::string comment;
        for (auto n = rng() % 6; n > 0; --n) comment += pieces[rng() % pieces.size()];
        const auto call = "K" + std::to_string(rng() % 10) + "AB";
        text += "<CALL:" + std::to_string(call.size()) + ">" + call + " <BAND:3>20m <MODE:2>CW <QSO_DATE:8>20240101";
        text += " <COMMENT:" + std::to_string(comment.size()) + ">" + comment;
        if (bad_every != 0 && i % bad_every == bad_every / 2)
            text += " <NOTES:x9>oops";  // a length that is not a number
        text += rng() % 2 ? "<EOR>\n" : "<eor>";
    }
    return text;
}

/// parse_file's share on this rank equals the same records of one sequential parse; the shares cover
/// every record once. Returns the repaired chunks summed over the ranks.
std::size_t check_parse(const fs::path& path, const std::string& text, std::size_t chunk_bytes,
                        parex::chunked_executor& ex) {
    INFO(path.filename().string() << ", ranks " << ranks() << ", chunk " << chunk_bytes);
    const auto sequential = lb::parse_sequential(text);
    const auto part = lb::mpi::parse_file(MPI_COMM_WORLD, path, {.chunk_bytes = chunk_bytes}, ex);
    REQUIRE(part.first_record + part.doc.size() <= sequential.size());
    CHECK(records_of(part.doc, 0, part.doc.size()) == records_of(sequential, part.first_record, part.doc.size()));
    CHECK(part.doc.header().size() == sequential.header().size());
    std::size_t records = 0, repaired = 0;
    for (const auto n :
         parex::mpi::gather(MPI_COMM_WORLD, std::vector<std::size_t>{part.doc.size()}, parex::mpi::results_on::all))
        records += n;
    for (const auto n : parex::mpi::gather(MPI_COMM_WORLD, std::vector<std::size_t>{part.doc.repaired_chunks()},
                                           parex::mpi::results_on::all))
        repaired += n;
    CHECK(records == sequential.size());
    return repaired;
}

}  // namespace

TEST_CASE("logbook: the real logs parsed across ranks equal one sequential parse", "[mpi]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    for (const auto& entry : fs::directory_iterator(fs::path(PAREX_TEST_DATA) / "adif")) {
        const auto text = parex::test::read_file(entry.path());
        for (const std::size_t chunk : {4096u, 65536u, 0u}) (void)check_parse(entry.path(), text, chunk, ex);
    }
}

TEST_CASE("logbook: \"<EOR>\" inside data, cut on every rank and across ranks, is repaired", "[mpi]") {
    const auto text = generated_log(11);
    const shared_file file("eor.adi", text);
    std::size_t repaired = 0;
    for (const std::size_t threads : {1u, 2u}) {
        parex::chunked_executor ex({.max_concurrency = threads});
        for (const std::size_t chunk : {61u, 500u, 7000u}) repaired += check_parse(file.path(), text, chunk, ex);
    }
    CHECK(repaired > 0);
}

TEST_CASE("logbook: strict parses fail on every rank at the first bad record; lenient ones skip the same", "[mpi]") {
    const auto text = generated_log(12, 600);  // bad records 300, 900, 1500
    const shared_file file("bad.adi", text);
    parex::chunked_executor ex({.max_concurrency = 2});
    std::string expected;
    try {
        (void)lb::parse_sequential(text);
    } catch (const lb::adif_error& e) {
        expected = e.what();
    }
    REQUIRE(!expected.empty());
    for (const std::size_t chunk : {97u, 5000u}) {
        INFO("chunk " << chunk);
        CHECK_THROWS_WITH(lb::mpi::parse_file(MPI_COMM_WORLD, file.path(), {.chunk_bytes = chunk}, ex),
                          Catch::Contains(expected));
        const auto part = lb::mpi::parse_file(MPI_COMM_WORLD, file.path(), {.lenient = true, .chunk_bytes = chunk}, ex);
        const auto sequential = lb::parse_sequential(text, {.lenient = true});
        REQUIRE(sequential.skipped().size() == 3);
        for (const auto& issue : part.doc.skipped()) {
            bool found = false;
            for (const auto& s : sequential.skipped())
                found = found || (s.record_index == issue.record_index && s.offset == issue.offset);
            CHECK(found);
        }
        std::size_t skipped = 0;
        for (const auto n : parex::mpi::gather(MPI_COMM_WORLD, std::vector<std::size_t>{part.doc.skipped().size()},
                                               parex::mpi::results_on::all))
            skipped += n;
        CHECK(skipped == 3);
    }
}

TEST_CASE("logbook: awards merged across ranks equal the single-process summary", "[mpi]") {
    const auto tables = lb::award_tables::read(fs::path(PAREX_MODULE_DATA) / "logbook");
    parex::chunked_executor ex({.max_concurrency = 2});
    lb::award_summary across, single;
    for (const auto& entry : fs::directory_iterator(fs::path(PAREX_TEST_DATA) / "adif")) {
        const auto part = lb::mpi::parse_file(MPI_COMM_WORLD, entry.path(), {.chunk_bytes = 8192}, ex);
        across.merge(lb::mpi::merge_across(MPI_COMM_WORLD,
                                           lb::summarize(lb::to_qsos(part.doc, tables.for_qsos(), ex), tables, ex)));
        const auto text = parex::test::read_file(entry.path());
        single.merge(lb::summarize(lb::to_qsos(lb::parse_sequential(text), tables.for_qsos(), ex), tables, ex));
    }
    CHECK(across.qsos > 0);
    CHECK(across == single);
    // the serializer refuses bytes that are not a summary
    std::vector<std::byte> bytes;
    parex::mpi::serializer<lb::award_summary>::write(single, bytes);
    CHECK(parex::mpi::serializer<lb::award_summary>::read(bytes) == single);
    bytes.pop_back();
    CHECK_THROWS_AS(parex::mpi::serializer<lb::award_summary>::read(bytes), parex::invalid_argument);
}

TEST_CASE("waveforms: a batch across ranks gathers rank 0 the bits of one process's batch", "[mpi]") {
    const wf::domain d{0.25, 512};
    const auto rows = wf::sample_prior(23, 5, {.f_min = 20, .f_max = 512, .delta_f = 0.25});
    auto pool = wf::make_generator_pool(2, wf::approximant::imr_phenom_d, wf::constants::named("today"), d);
    std::optional<wf::batch> gathered;
    if (rank() == 0) gathered.emplace(wf::make_batch(rows.size(), d.bins()));
    (void)wf::mpi::generate_batch(MPI_COMM_WORLD, pool, rows, gathered ? &*gathered : nullptr, d.bins(), 4);
    if (rank() == 0) {
        auto single = wf::make_batch(rows.size(), d.bins());
        wf::generate_batch(pool, rows, single, 4);
        CHECK(std::memcmp(gathered->h_plus.data(), single.h_plus.data(), single.h_plus.size_bytes()) == 0);
        CHECK(std::memcmp(gathered->h_cross.data(), single.h_cross.data(), single.h_cross.size_bytes()) == 0);
    }
    // a bad row fails every rank, named by its row in the whole table
    auto bad = rows;
    bad[20].m1 = -1;
    CHECK_THROWS_WITH(wf::mpi::generate_batch(MPI_COMM_WORLD, pool, bad, gathered ? &*gathered : nullptr, d.bins(), 4),
                      Catch::Contains("row 20"));
}

TEST_CASE("compress: a file compressed by every rank is the archive one process writes, byte for byte", "[mpi]") {
    std::string corpus;
    for (const auto& entry : fs::directory_iterator(fs::path(PAREX_TEST_DATA) / "canterbury"))
        corpus += parex::test::read_file(entry.path());
    for (const auto& input : {corpus, std::string()}) {
        const shared_file in("corpus", input);
        for (const auto kind : {compress::codec::zstd, compress::codec::lz4})
            for (const std::size_t chunk : {1000u, 65536u}) {
                INFO("ranks " << ranks() << ", " << input.size() << " bytes, chunks of " << chunk);
                const compress::options opts{.kind = kind, .level = 3, .chunk_size = chunk, .threads = 2};
                const shared_file out("archive", "");
                const auto result = compress::mpi::compress_file(MPI_COMM_WORLD, in.path(), out.path(), opts);
                const auto expected = compress::compressor(opts).compress(input);
                CHECK(parex::test::read_file(out.path()) == expected);
                CHECK(result.input_bytes == input.size());
                CHECK(result.output_bytes == expected.size());
            }
    }
    // every rank fails together: a missing input, a chunk size the compressor refuses
    const shared_file out("archive", "");
    CHECK_THROWS_AS(compress::mpi::compress_file(MPI_COMM_WORLD, out.path().string() + ".missing", out.path(), {}),
                    parex::mpi::remote_error);
    CHECK_THROWS_WITH(compress::mpi::compress_file(MPI_COMM_WORLD, out.path(), out.path(),
                                                   {.chunk_size = compress::max_chunk_size + 1}),
                      Catch::Contains("max_chunk_size"));
}
