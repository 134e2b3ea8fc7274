// What the example modules share (examples/common): the CSV reader of their tables, output files that
// appear whole or not at all, and the command-line conventions (numeric ranges, exit statuses). The
// modules' tests run the same code through their programs; these check it directly, case by case.
#include <common/cli.hpp>
#include <common/csv.hpp>
#include <common/output_file.hpp>

#include "files.hpp"
#include "parex_catch.hpp"
#include "temp_dir.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using parex::test::file_names;
using parex::test::read_file;
using parex::test::write_file;

namespace {

using fields = std::vector<std::string>;
using Catch::Matchers::Message;  // the exception's what(), exactly

}  // namespace

TEST_CASE("csv_fields: RFC 4180 quoting, blanks kept as written, CR outside quotes dropped", "[common]") {
    CHECK(examples::csv_fields("a,b,c") == fields{"a", "b", "c"});
    CHECK(examples::csv_fields(R"(a, "b,c" ,"say ""hi""")"
                               "\r") == fields{"a", " b,c ", R"(say "hi")"});
    CHECK(examples::csv_fields("") == fields{""});
    CHECK(examples::csv_fields(",") == fields{"", ""});
    CHECK(examples::csv_fields("\"a\rb\"") == fields{"a\rb"});
}

TEST_CASE("trim_space and csv_number: blanks around a number only, the field named in the error", "[common]") {
    CHECK(examples::trim_space(" \t x y \r\n") == "x y");
    CHECK(examples::trim_space(" \t\r\n").empty());
    CHECK(examples::csv_number<double>(" 2.5e-1 ", "energy") == 0.25);
    CHECK(examples::csv_number<int>("-12", "count") == -12);
    CHECK_THROWS_MATCHES(examples::csv_number<int>("12x", "count"), std::invalid_argument,
                         Message("count: '12x' is not a number"));
    CHECK_THROWS_AS(examples::csv_number<double>("", "energy"), std::invalid_argument);
    CHECK_THROWS_AS(examples::csv_number<double>("1 2", "energy"), std::invalid_argument);
}

TEST_CASE("read_csv: header, comments and empty lines, and errors that name the file and the line", "[common]") {
    parex::test::temp_dir dir;
    const auto table = dir.path() / "table.csv";
    const examples::csv_layout layout{.header = true, .comment = '#', .min_fields = 2};
    write_file(table, "# a comment\nname,value\n\nalpha,1\r\nbeta,2\n");
    fields header;
    std::vector<std::pair<std::string, int>> rows;
    examples::read_csv(
        table, layout, [&](const fields& f) { header = f; },
        [&](const fields& f) { rows.emplace_back(f[0], examples::csv_number<int>(f[1], "value")); });
    CHECK(header == fields{"name", "value"});
    CHECK(rows == std::vector<std::pair<std::string, int>>{{"alpha", 1}, {"beta", 2}});

    const auto read = [&] { examples::read_csv(table, layout, [](const fields&) {}); };
    write_file(table, "name,value\nalpha,1\nbeta\n");
    CHECK_THROWS_MATCHES(read(), examples::table_error, Message(table.string() + ":3: 1 fields, expected at least 2"));
    write_file(table, "name,value\nalpha,x\n");
    CHECK_THROWS_MATCHES(
        examples::read_csv(table, layout, [](const fields& f) { (void)examples::csv_number<int>(f[1], "value"); }),
        examples::table_error, Message(table.string() + ":2: value: 'x' is not a number"));
    write_file(table, "# only a comment\n\n");
    CHECK_THROWS_MATCHES(read(), examples::table_error, Message(table.string() + ": empty (a header line is needed)"));
    CHECK_THROWS_MATCHES(examples::read_csv(dir.path() / "missing.csv", layout, [](const fields&) {}),
                         examples::table_error, Message((dir.path() / "missing.csv").string() + ": cannot open"));
}

TEST_CASE("output_file: the target appears whole on commit, never before, and nothing is left without it", "[common]") {
    parex::test::temp_dir dir;
    const auto target = dir.path() / "out.txt";
    {
        examples::output_file out(target, false);
        REQUIRE(out.temporary_path());
        CHECK(out.temporary_path()->parent_path() == dir.path());
        CHECK(out.temporary_path()->filename().string().starts_with(".out.txt.parex-"));
        out.write("first part, ");
        out.write("second part");
        CHECK_FALSE(fs::exists(target));
        out.commit();
    }
    CHECK(read_file(target) == "first part, second part");
    CHECK(file_names(dir.path()) == std::vector<std::string>{"out.txt"});
    CHECK((fs::status(target).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read));

    SECTION("dropped without commit (an error on the way): no file at all") {
        const auto other = dir.path() / "other.txt";
        {
            examples::output_file out(other, false);
            out.write("half");
        }
        CHECK_FALSE(fs::exists(other));
        CHECK(file_names(dir.path()) == std::vector<std::string>{"out.txt"});
    }
    SECTION("an existing target is refused before any work, unless overwriting was asked for") {
        CHECK_THROWS_MATCHES(examples::output_file(target, false), examples::output_exists,
                             Message(target.string() + " already exists; use -f to overwrite it"));
        examples::write_atomically(target, "replaced", true);
        CHECK(read_file(target) == "replaced");
        CHECK(file_names(dir.path()) == std::vector<std::string>{"out.txt"});
    }
    SECTION("a target that appeared during the work is kept: commit throws and removes its own file") {
        const auto late = dir.path() / "late.txt";
        examples::output_file out(late, false);
        out.write("mine");
        write_file(late, "someone else's");
        CHECK_THROWS_AS(out.commit(), std::system_error);
        CHECK(read_file(late) == "someone else's");
        CHECK(file_names(dir.path()) == std::vector<std::string>{"late.txt", "out.txt"});
    }
    SECTION("a folder that does not exist: std::system_error naming the target, at construction") {
        const auto missing = dir.path() / "missing" / "out.txt";
        CHECK_THROWS_AS(examples::output_file(missing, false), std::system_error);
        CHECK_THROWS_WITH(examples::output_file(missing, false), Catch::Matchers::Contains(missing.string()));
    }
}

// A child process creates and drops output files in a loop and is sent SIGTERM at a random moment, 200
// times. A signal between the creation of a temporary file and its registration for removal would leave
// the file behind.
TEST_CASE("output_file: SIGTERM at any moment of creating and dropping outputs leaves no temporary file", "[common]") {
    parex::test::temp_dir dir;
    const auto target = dir.path() / "out";
    std::mt19937 rng(7);
    sigset_t term, unblocked;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    for (int round = 0; round < 200; ++round) {
        // SIGTERM waits until the child has replaced the handler it inherits (Catch's) with the program's.
        REQUIRE(::pthread_sigmask(SIG_BLOCK, &term, &unblocked) == 0);
        const pid_t child = ::fork();
        if (child == 0) {
            examples::remove_temporaries_on_signals();
            ::pthread_sigmask(SIG_SETMASK, &unblocked, nullptr);
            for (;;) examples::output_file out(target, false);
        }
        ::pthread_sigmask(SIG_SETMASK, &unblocked, nullptr);
        REQUIRE(child > 0);
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 2000)(rng)));
        REQUIRE(::kill(child, SIGTERM) == 0);
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        INFO("round " << round);
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(file_names(dir.path()).empty());
    }
}

TEST_CASE("numeric options refuse values outside their range, negative and non-finite ones included", "[common]") {
    CLI::App app("test");
    unsigned threads = 7;
    double delta_f = 0.25;
    examples::add_threads(&app, threads, true);
    examples::add_real(&app, "--delta-f", delta_f, "frequency step (Hz)", 1e-6, 1e3);
    app.parse("-T 2 --delta-f 0.5", false);
    CHECK(threads == 2);
    CHECK(delta_f == 0.5);
    for (const char* bad : {"--threads -1", "--threads 1025", "--threads 1e12", "--threads two", "--delta-f 1e-300",
                            "--delta-f 1e300", "--delta-f nan", "--delta-f inf", "--delta-f -1"}) {
        INFO(bad);
        CHECK_THROWS_AS(app.parse(bad, false), CLI::ParseError);
    }
    CHECK(threads == 2);
    CHECK(delta_f == 0.5);
    CHECK(app.help().find("[0 - 1024]") != std::string::npos);
    CHECK(app.help().find("[1e-06, 1000]") != std::string::npos);
}

TEST_CASE("describe and about: one exit status for each kind of failure, the file named once", "[common]") {
    const auto status = [](auto error) { return examples::describe(std::make_exception_ptr(error)).first; };
    CHECK(status(CLI::ValidationError("--threads", "out of range")) == examples::usage_error);
    CHECK(status(examples::usage_failure("bad")) == examples::usage_error);
    CHECK(status(examples::output_exists("out.txt")) == examples::usage_error);
    CHECK(status(examples::io_failure("cannot read")) == examples::io_error);
    CHECK(status(fs::filesystem_error("rename", std::make_error_code(std::errc::permission_denied))) ==
          examples::io_error);
    CHECK(examples::describe(std::make_exception_ptr(std::bad_alloc())) ==
          std::pair{examples::data_error, std::string("out of memory")});
    CHECK(examples::describe(std::make_exception_ptr(std::runtime_error("record 3: bad date"))) ==
          std::pair{examples::data_error, std::string("record 3: bad date")});
    CHECK(examples::describe(std::make_exception_ptr(42)) ==
          std::pair{examples::data_error, std::string("unknown error")});

    CHECK(examples::about("log.adi", [] { return 5; }) == 5);
    CHECK_THROWS_MATCHES(examples::about("log.adi", []() -> int { throw std::runtime_error("record 3: bad date"); }),
                         std::runtime_error, Message("log.adi: record 3: bad date"));
    CHECK_THROWS_MATCHES(examples::about("log.adi", []() -> int { throw examples::io_failure("cannot read"); }),
                         examples::io_failure, Message("log.adi: cannot read"));
    CHECK_THROWS_MATCHES(
        examples::about("log.adi", []() -> int { throw examples::usage_failure("--threads: out of range"); }),
        examples::usage_failure, Message("--threads: out of range"));
}
