// split_file and map_records across ranks, on a file of ADIF-like records ("<D:n>" then n bytes of data
// then "<EOR>") whose data often holds "<EOR>": cuts fall inside records, on this rank and across ranks,
// and the repaired results must equal single-process parex's over the same plan.
#include <parex/mpi.hpp>

#include "parex_catch.hpp"
#include "shared_file.hpp"

#include <cstdio>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using parex::test::shared_file;

int rank() { return parex::mpi::rank(); }
int ranks() { return parex::mpi::ranks(); }

/// What one chunk's parse found: the data of the records starting in [begin, end).
struct parsed {
    std::size_t begin = 0, end = 0;
    std::vector<std::string> records;
    bool bad = false;  // garbage: only a chunk that began inside a record sees it
    friend bool operator==(const parsed&, const parsed&) = default;
};

/// Parses the records from `begin` up to the first record start at or after `stop_after`.
parsed parse(std::string_view text, std::size_t begin, std::size_t stop_after) {
    parsed out{begin, begin, {}, false};
    auto pos = begin;
    while (pos < stop_after && pos < text.size()) {
        const auto at = text.find_first_not_of('\n', pos);  // a record starts just after the last "<EOR>"
        if (at == std::string_view::npos) {
            pos = text.size();
            break;
        }
        pos = at;
        const auto close = text.find('>', pos);
        std::size_t n = 0;
        if (text.substr(pos, 3) != "<D:" || close == std::string_view::npos ||
            std::sscanf(std::string(text.substr(pos + 3, close - pos - 3)).c_str(), "%zu", &n) != 1 ||
            close + 1 + n + 5 > text.size() || text.substr(close + 1 + n, 5) != "<EOR>") {
            out.bad = true;
            pos = text.size();
            break;
        }
        out.records.emplace_back(text.substr(close + 1, n));
        pos = close + 1 + n + 5;
    }
    out.end = pos;
    return out;
}

/// A header and 1500 records, a fifth of them holding "<EOR>" in their data; the same on every rank.
std::string make_log() {
    std::mt19937 rng(7);
    std::string text = "exported by a test <ADIF_VER:5>3.1.6 <EOH>\n";
    for (int r = 0; r < 1500; ++r) {
        std::string data(rng() % 120, 'a');
        for (auto& c : data) c = static_cast<char>('a' + rng() % 26);
        if (r % 5 == 0) data.insert(rng() % (data.size() + 1), "<EOR>");
        text += "<D:" + std::to_string(data.size()) + ">" + data + "<EOR>\n";
    }
    return text;
}

/// The plan's bounds as split_file documents them, from the whole text.
std::vector<std::size_t> expected_bounds(std::string_view text, std::size_t first, std::size_t target) {
    const parex::after_delimiter eor("<EOR>");
    const auto range = text.substr(first);
    std::vector<std::size_t> bounds{first};
    for (std::size_t pos = target; pos < range.size(); pos += target) {
        const auto cut = first + eor(range, pos);
        if (cut > bounds.back() && cut < text.size()) bounds.push_back(cut);
    }
    bounds.push_back(text.size());
    return bounds;
}

}  // namespace

TEST_CASE("split_file: the documented cuts, the same plan on every rank, each rank its block", "[mpi]") {
    const auto text = make_log();
    const shared_file file("records.adi", text);
    const auto first = text.find("<EOH>") + 5;
    for (const std::size_t target : {1u, 7u, 300u, 5000u, 1u << 20}) {
        INFO("ranks " << ranks() << ", target " << target);
        const auto plan =
            parex::mpi::split_file(MPI_COMM_WORLD, file.path(), target, parex::after_delimiter("<EOR>"), first);
        const auto bounds = expected_bounds(text, first, target);
        REQUIRE(plan.size() == bounds.size() - 1);
        for (std::size_t i = 0; i < plan.size(); ++i) {
            CHECK(plan[i].index == i);
            CHECK(plan[i].begin == bounds[i]);
            CHECK(plan[i].end == bounds[i + 1]);
            CHECK(plan[i].bytes == std::string_view(text).substr(bounds[i], bounds[i + 1] - bounds[i]));
        }
        CHECK(plan.input_size() == text.size() - first);
        const auto mine = parex::mpi::block_of(plan.size(), rank(), ranks());
        CHECK(plan.mine().begin == mine.begin);
        CHECK(plan.mine().end == mine.end);
    }
    // the range's end: one empty chunk
    const auto empty =
        parex::mpi::split_file(MPI_COMM_WORLD, file.path(), 10, parex::after_delimiter("<EOR>"), text.size());
    REQUIRE(empty.size() == 1);
    CHECK(empty[0].empty());
}

TEST_CASE("map_records across ranks equals single-process parex, repairing cuts inside records", "[mpi]") {
    const auto text = make_log();
    const shared_file file("records.adi", text);
    const auto first = text.find("<EOH>") + 5;
    const auto sequential = parse(text, first, text.size());
    REQUIRE(!sequential.bad);
    REQUIRE(sequential.records.size() == 1500);
    std::size_t repaired_anywhere = 0;
    for (const std::size_t threads : {1u, 2u})
        for (const std::size_t target : {7u, 64u, 300u, 4000u}) {
            INFO("ranks " << ranks() << ", threads " << threads << ", target " << target);
            parex::chunked_executor ex({.max_concurrency = threads});
            const auto plan =
                parex::mpi::split_file(MPI_COMM_WORLD, file.path(), target, parex::after_delimiter("<EOR>"), first);
            const auto chunk_parse = [&](std::size_t b, std::size_t stop) { return parse(plan.data(), b, stop); };
            const auto mine = parex::mpi::map_records(ex, MPI_COMM_WORLD, plan, chunk_parse);
            const auto whole = parex::map_records(ex, plan.plan(), chunk_parse);  // one process, same plan
            REQUIRE(mine.results.size() == plan.mine().end - plan.mine().begin);
            for (std::size_t i = 0; i < mine.results.size(); ++i) {
                CHECK(!mine.results[i].bad);
                CHECK(mine.results[i] == whole.results[plan.mine().begin + i]);
            }
            // every record once, over the ranks
            std::size_t here = 0;
            for (const auto& r : mine.results) here += r.records.size();
            std::size_t records = 0;
            for (const auto n :
                 parex::mpi::gather(MPI_COMM_WORLD, std::vector<std::size_t>{here}, parex::mpi::results_on::all))
                records += n;
            CHECK(records == sequential.records.size());
            for (const auto n : parex::mpi::gather(MPI_COMM_WORLD, std::vector<std::size_t>{mine.repaired},
                                                   parex::mpi::results_on::all))
                repaired_anywhere += n;
        }
    CHECK(repaired_anywhere > 0);  // the false "<EOR>" cuts were met and mended
}

TEST_CASE("a failed MPI call is an mpi_error, a file that cannot be opened a parex::system_error", "[mpi]") {
    MPI_Errhandler previous = MPI_ERRHANDLER_NULL;
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &previous);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // MPI's default aborts instead
    try {
        (void)parex::mpi::rank(MPI_COMM_NULL);
        FAIL("no exception");
    } catch (const parex::mpi::mpi_error& e) {
        CHECK(e.code() != MPI_SUCCESS);
        CHECK_THAT(e.what(), Catch::Contains("MPI_Comm_rank failed"));
        CHECK(dynamic_cast<const parex::error*>(&e) != nullptr);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, previous);
    MPI_Errhandler_free(&previous);
    try {
        const parex::mapped_file missing("no-such-file.adi");
        FAIL("no exception");
    } catch (const parex::system_error& e) {
        CHECK(e.code() == std::errc::no_such_file_or_directory);
        CHECK_THAT(e.what(), Catch::Contains("cannot open") && Catch::Contains("no-such-file.adi"));
    }
}

TEST_CASE("split_file and map_records fail on every rank, naming the rank and the cause", "[mpi]") {
    const auto text = make_log();
    const shared_file file("records.adi", text);
    parex::chunked_executor ex({.max_concurrency = 2});
    CHECK_THROWS_WITH(
        parex::mpi::split_file(MPI_COMM_WORLD, file.path().string() + ".missing", 100, parex::after_delimiter("<EOR>")),
        Catch::Contains("rank 0 failed") && Catch::Contains("cannot open") && Catch::Contains(".missing"));
    CHECK_THROWS_AS(parex::mpi::split_file(MPI_COMM_WORLD, file.path(), 0, parex::after_delimiter("<EOR>")),
                    parex::mpi::remote_error);
    CHECK_THROWS_WITH(parex::mpi::split_file(MPI_COMM_WORLD, file.path(), 100,
                                             [](std::string_view, std::size_t pos) { return pos - 1; }),
                      Catch::Contains("boundary finder returned"));
    const auto plan = parex::mpi::split_file(MPI_COMM_WORLD, file.path(), 64, parex::after_delimiter("<EOR>"));
    const int failing = ranks() - 1;
    try {
        (void)parex::mpi::map_records(ex, MPI_COMM_WORLD, plan, [&](std::size_t b, std::size_t stop) {
            if (rank() == failing && b >= plan[plan.mine().begin].begin) throw std::runtime_error("disk error");
            return parse(plan.data(), b, stop);
        });
        FAIL("no exception");
    } catch (const parex::mpi::remote_error& e) {
        CHECK(e.rank() == failing);
        CHECK(e.message() == "disk error");
    }
}
