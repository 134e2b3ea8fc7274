// parex-logbook: ADIF logbooks on parex. Parses ADI files in parallel (speculative split at "<EOR>",
// validated and repaired), prints statistics, converts to JSON, tallies awards (DXCC, WAS, WAZ, VUCC,
// WPX), and imports into / exports from a SQLite store. See README.md beside this file.
//   parex-logbook stats FILE... [--json]          parex-logbook to-json FILE [--with-header]
//   parex-logbook awards FILE... [--json]         parex-logbook import FILE... --db PATH
//   parex-logbook export --db PATH -o FILE
// Every command takes --threads N and --lenient (skip and report bad records instead of failing), before
// or after the command's name. Under mpirun, stats and awards split each file among the ranks (threads
// per rank), and rank 0 prints; the other commands run with one rank only. Exit status (cli.hpp): 0 ok, 1 bad data, 2 usage, 3 I/O; no partial
// output file in any case.

#include <common/cli.hpp>
#include <common/module_data.hpp>
#include <common/mpi_session.hpp>
#include <common/output_file.hpp>
#include <common/terminal_progress.hpp>
#include <logbook/adif.hpp>
#include <logbook/awards.hpp>
#include <logbook/qso.hpp>
#include <logbook/store.hpp>
#if defined(EXAMPLES_MPI)
#include <logbook/mpi.hpp>
#endif

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace lb = logbook;
namespace cli = examples;
using json = nlohmann::json;

namespace {

struct options {
    std::vector<std::string> files;
    std::size_t threads = 0;
    bool lenient = false;
    bool json_out = false;
    bool with_header = false;
    std::string db;
    std::string output;
    bool force = false;
    std::string spec_dir = examples::module_data_dir("logbook").string();
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) cli::fail_errno("cannot open " + path);
    std::ostringstream s;
    s << in.rdbuf();
    if (!in && !in.eof()) cli::fail_errno("cannot read " + path);
    return std::move(s).str();
}

/// A parsed file: its bytes and the document over them, plus the parse time. Held by pointer: the
/// document refers to `text`, whose bytes a move would relocate when they fit in the string itself.
struct loaded {
    std::string path;
    std::string text;
    lb::document doc;
    double seconds = 0;
};

/// Names each record a lenient parse of `path` skipped, on stderr.
void print_skipped(const std::string& path, const lb::document& doc) {
    for (const auto& issue : doc.skipped())
        fmt::print(stderr, "parex-logbook: {}: skipped: {}\n", path, issue.message());
}

std::unique_ptr<const loaded> load(const std::string& path, const options& o, parex::chunked_executor& ex) {
    auto l = std::make_unique<loaded>(loaded{path, read_file(path), {}, 0});
    const auto t0 = std::chrono::steady_clock::now();
    l->doc = lb::parse(l->text, {.lenient = o.lenient, .run = examples::terminal_progress("parsing " + path)}, ex);
    l->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    print_skipped(path, l->doc);
    return l;
}

std::string lower(std::string_view name) {
    std::string k(name);
    for (auto& c : k) c = logbook::ascii_lower(c);
    return k;
}

/// A record as a JSON object: lower-cased names, data as strings (a later field of the same name
/// replaces an earlier one, as adif-parser-ts does). Bytes that are not UTF-8 become U+FFFD on output.
json record_object(const lb::record& r) {
    json o = json::object();
    for (const auto f : r) o[lower(f.name)] = std::string(f.data);
    return o;
}

/// What stats reports of one file.
struct file_stats {
    std::string path;
    std::size_t records = 0, fields = 0, bytes = 0, header_fields = 0, skipped = 0, repaired = 0, threads = 0;
    int ranks = 1;
    double seconds = 0;
};

void print_stats(const std::vector<file_stats>& files, bool json_out) {
    json all = json::array();
    for (const auto& f : files) {
        const double mb_s = f.seconds > 0 ? static_cast<double>(f.bytes) / 1e6 / f.seconds : 0;
        if (json_out) {
            all.push_back({{"file", f.path},
                           {"records", f.records},
                           {"fields", f.fields},
                           {"bytes", f.bytes},
                           {"parse_seconds", f.seconds},
                           {"mb_per_s", mb_s},
                           {"header_fields", f.header_fields},
                           {"skipped", f.skipped},
                           {"repaired_chunks", f.repaired},
                           {"threads", f.threads},
                           {"ranks", f.ranks}});
        } else {
            fmt::print("{}: {} records, {} fields, {} bytes, parsed in {:.6f} s ({:.1f} MB/s, {}{} threads){}\n",
                       f.path, f.records, f.fields, f.bytes, f.seconds, mb_s,
                       f.ranks > 1 ? fmt::format("{} ranks x ", f.ranks) : std::string(), f.threads,
                       f.skipped == 0 ? std::string() : fmt::format(", {} bad records skipped", f.skipped));
        }
    }
    if (json_out) std::cout << all.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

int cmd_stats(const options& o, parex::chunked_executor& ex) {
    std::vector<file_stats> stats;
    for (const auto& path : o.files) {
        const auto file = load(path, o, ex);
        const auto& l = *file;
        stats.push_back({path, l.doc.size(), l.doc.field_count(), l.text.size(), l.doc.header().size(),
                         l.doc.skipped().size(), l.doc.repaired_chunks(), ex.max_concurrency(), 1, l.seconds});
    }
    print_stats(stats, o.json_out);
    return 0;
}

int cmd_to_json(const options& o, parex::chunked_executor& ex) {
    const auto file = load(o.files.at(0), o, ex);
    const auto& l = *file;
    json records = json::array();
    for (const auto r : l.doc) records.push_back(record_object(r));
    json out;
    if (o.with_header) {
        json header = json::object();
        for (const auto& f : l.doc.header()) header[lower(f.name)] = std::string(f.data);
        out = {{"header", header}, {"records", std::move(records)}};
    } else {
        out = std::move(records);
    }
    std::cout << out.dump(1, ' ', false, json::error_handler_t::replace) << '\n';
    return 0;
}

json credit_json(lb::award a, const lb::credit& c, const lb::award_tables& t) {
    const auto n = lb::count(a, c, t);
    return {{"worked", n.worked}, {"confirmed", n.confirmed}};
}

void print_awards(const lb::award_summary& s, const lb::award_tables& tables, const options& o) {
    if (o.json_out) {
        json out = {{"qsos", s.qsos}, {"dxcc_derived", s.dxcc_derived}, {"cqz_derived", s.cqz_derived}};
        for (const auto a : lb::all_awards) {
            const auto& tally = s[a];
            json award = credit_json(a, tally.overall, tables);
            json by_band = json::object(), by_mode = json::object();
            for (std::size_t b = 0; b < tally.by_band.size(); ++b)
                if (tally.by_band[b].worked.size() > 0)
                    by_band[tables.bands.bands()[b].name] = credit_json(a, tally.by_band[b], tables);
            for (std::size_t m = 0; m < tally.by_mode.size(); ++m)
                if (tally.by_mode[m].worked.size() > 0) by_mode[s.modes[m]] = credit_json(a, tally.by_mode[m], tables);
            award["by_band"] = by_band;
            award["by_mode"] = by_mode;
            if (a == lb::award::dxcc) {
                const auto n = lb::count(a, tally.overall, tables);
                award["deleted_worked"] = n.deleted_worked;
                award["deleted_confirmed"] = n.deleted_confirmed;
            }
            out[std::string(lb::to_string(a))] = award;
        }
        std::cout << out.dump(2) << '\n';
        return;
    }
    fmt::print("{} QSOs; DXCC derived from the call for {}, CQ zone for {}\n", s.qsos, s.dxcc_derived, s.cqz_derived);
    fmt::print("{:<6} {:>8} {:>10}\n", "award", "worked", "confirmed");
    for (const auto a : lb::all_awards) {
        const auto n = lb::count(a, s[a].overall, tables);
        fmt::print("{:<6} {:>8} {:>10}\n", lb::to_string(a), n.worked, n.confirmed);
    }
    fmt::print("\nby band (worked/confirmed)\n{:<8}", "band");
    for (const auto a : lb::all_awards) fmt::print(" {:>11}", lb::to_string(a));
    fmt::print("\n");
    for (std::size_t b = 0; b < tables.bands.bands().size(); ++b) {
        bool any = false;
        for (const auto a : lb::all_awards) any = any || s.by_band(a, static_cast<int>(b)) != nullptr;
        if (!any) continue;
        fmt::print("{:<8}", tables.bands.bands()[b].name);
        for (const auto a : lb::all_awards) {
            const auto* c = s.by_band(a, static_cast<int>(b));
            const auto n = c == nullptr ? lb::credit_counts{} : lb::count(a, *c, tables);
            fmt::print(" {:>11}", fmt::format("{}/{}", n.worked, n.confirmed));
        }
        fmt::print("\n");
    }
}

int cmd_awards(const options& o, parex::chunked_executor& ex) {
    const auto tables = lb::award_tables::read(o.spec_dir);
    std::vector<std::unique_ptr<const loaded>> files;
    std::vector<lb::qso> qsos;
    for (const auto& path : o.files) {
        files.push_back(load(path, o, ex));
        const auto q = lb::to_qsos(files.back()->doc, tables.for_qsos(), ex);
        qsos.insert(qsos.end(), q.begin(), q.end());
    }
    print_awards(lb::summarize(qsos, tables, ex), tables, o);
    return 0;
}

#if defined(EXAMPLES_MPI)
// Under mpirun: each file is split among the ranks (logbook/mpi.hpp), rank 0 prints.

lb::mpi::file_part load_part(const std::string& path, const options& o, parex::chunked_executor& ex) {
    auto part = lb::mpi::parse_file(MPI_COMM_WORLD, path, {.lenient = o.lenient}, ex);
    print_skipped(path, part.doc);
    return part;
}

int cmd_stats_mpi(const options& o, parex::chunked_executor& ex, const examples::mpi_session& mpi) {
    struct counts {
        std::uint64_t records, fields, skipped, repaired;
    };
    std::vector<file_stats> stats;
    for (const auto& path : o.files) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto part = load_part(path, o, ex);
        const counts here{part.doc.size(), part.doc.field_count(), part.doc.skipped().size(),
                          part.doc.repaired_chunks()};
        const auto all = parex::mpi::gather(MPI_COMM_WORLD, std::vector<counts>{here});  // on rank 0
        file_stats f{path,
                     0,
                     0,
                     part.plan.data().size(),
                     part.doc.header().size(),
                     0,
                     0,
                     ex.max_concurrency(),
                     mpi.ranks(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
        for (const auto& c : all) {
            f.records += c.records;
            f.fields += c.fields;
            f.skipped += c.skipped;
            f.repaired += c.repaired;
        }
        stats.push_back(std::move(f));
    }
    if (mpi.rank() == 0) print_stats(stats, o.json_out);
    return 0;
}

int cmd_awards_mpi(const options& o, parex::chunked_executor& ex, const examples::mpi_session& mpi) {
    const auto tables = lb::award_tables::read(o.spec_dir);
    lb::award_summary total;
    for (const auto& path : o.files) {
        const auto part = load_part(path, o, ex);
        lb::award_summary mine;
        std::exception_ptr error;
        try {
            mine = lb::summarize(lb::to_qsos(part.doc, tables.for_qsos(), ex), tables, ex);
        } catch (...) {
            error = std::current_exception();
        }
        parex::mpi::exchange_status(MPI_COMM_WORLD, error);
        total.merge(lb::mpi::merge_across(MPI_COMM_WORLD, mine));  // the files in order, each in rank order
    }
    if (mpi.rank() == 0) print_awards(total, tables, o);
    return 0;
}
#endif

int cmd_import(const options& o, parex::chunked_executor& ex) {
    const auto tables = lb::award_tables::read(o.spec_dir);
    lb::store db(o.db);
    for (const auto& path : o.files) {
        const auto file = load(path, o, ex);
        const auto& l = *file;
        const auto t0 = std::chrono::steady_clock::now();
        const auto r =
            db.import(l.doc, tables.for_qsos(), o.threads, 8192, examples::terminal_progress("importing " + path));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        fmt::print("{}: {} records, {} new QSOs, {} already stored ({:.3f} s)\n", path, r.records, r.inserted,
                   r.duplicates, s);
    }
    fmt::print("{}: {} QSOs\n", o.db, db.size());
    return 0;
}

int cmd_export(const options& o) {
    if (!fs::exists(o.db)) throw std::runtime_error(o.db + ": no such database");
    cli::output_file out(o.output == "-" ? std::nullopt : std::optional<fs::path>(o.output), o.force);
    lb::store db(o.db);
    const auto n = db.export_adi([&](std::string_view bytes) { out.write(bytes); });
    out.commit();
    if (o.output != "-") fmt::print(stderr, "{}: {} records\n", o.output, n);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"parex-logbook: parallel ADIF (ADI) logbook tools on parex", "parex-logbook"};
    app.require_subcommand(1);
    cli::accept_options_anywhere(app);
    options o;
    cli::add_threads(&app, o.threads);
    app.add_flag("--lenient", o.lenient, "skip bad records (reported on stderr) instead of failing");
    app.add_option("--spec-dir", o.spec_dir,
                   "folder of the reference tables (bands, DXCC entities, states, cty.csv); default: "
                   "share/parex/logbook beside this program's bin folder")
        ->capture_default_str();

    auto* stats = app.add_subcommand("stats", "records, fields, bytes, parse time and MB/s of each file");
    stats->add_option("files", o.files, "ADI files")->required()->check(CLI::ExistingFile);
    stats->add_flag("--json", o.json_out, "one JSON object per file");
    auto* to_json = app.add_subcommand("to-json", "the records as a JSON array on stdout");
    to_json->add_option("file", o.files, "ADI file")->required()->expected(1)->check(CLI::ExistingFile);
    to_json->add_flag("--with-header", o.with_header, "{\"header\": {...}, \"records\": [...]}");
    auto* awards = app.add_subcommand("awards", "DXCC, WAS, WAZ, VUCC and WPX, worked and confirmed");
    awards->add_option("files", o.files, "ADI files (one logbook)")->required()->check(CLI::ExistingFile);
    awards->add_flag("--json", o.json_out, "the full table as JSON");
    auto* import = app.add_subcommand("import", "import into a SQLite store (idempotent)");
    import->add_option("files", o.files, "ADI files")->required()->check(CLI::ExistingFile);
    import->add_option("--db", o.db, "SQLite database")->required();
    auto* exp = app.add_subcommand("export", "export a SQLite store as ADI");
    exp->add_option("--db", o.db, "SQLite database")->required();
    exp->add_option("-o,--output", o.output, "output ADI file (- for stdout)")->required();
    exp->add_flag("-f,--force", o.force, "overwrite an existing output file");

#if defined(EXAMPLES_MPI)
    const cli::mpi_session mpi(argc, argv);
    if (mpi.active())
        return cli::run_program(app, argc, argv, [&] {
            return mpi.run([&] {
                parex::chunked_executor ex({.max_concurrency = o.threads});
                if (*stats) return cmd_stats_mpi(o, ex, mpi);
                if (*awards) return cmd_awards_mpi(o, ex, mpi);
                mpi.single_process_only(app.get_subcommands().front()->get_name());
                if (*to_json) return cmd_to_json(o, ex);
                if (*import) return cmd_import(o, ex);
                return cmd_export(o);
            });
        });
#endif
    return cli::run_program(app, argc, argv, [&] {
        parex::chunked_executor ex({.max_concurrency = o.threads});
        if (*stats) return cmd_stats(o, ex);
        if (*to_json) return cmd_to_json(o, ex);
        if (*awards) return cmd_awards(o, ex);
        if (*import) return cmd_import(o, ex);
        return cmd_export(o);
    });
}
