// The logbook module's rows: ADIF parse throughput (sequential, parex, adif-parser-ts) on each real log
// and on a 1M-QSO log assembled from the real records; award tallies over those 1M QSOs (one sequential
// pass vs map_reduce); SQLite import of 100K QSOs (rows built on the calling thread vs the pipeline, and
// SQLite alone inserting the same stored rows).
//
// The 1M-QSO log is written once to the build folder (not committed): the five real logs' records,
// repeated; copy k has its QSO_DATE moved k days later, so every QSO of the log is a distinct QSO
// (call, date, time, band, mode) as an import needs, and nothing else is changed.
#include <common/output_file.hpp>
#include <logbook/adif.hpp>
#include <logbook/awards.hpp>
#include <logbook/qso.hpp>
#include <logbook/store.hpp>
#include "kernels.hpp"

#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace lb = logbook;
namespace pb = parex::bench;

namespace {

const fs::path logs_dir = fs::path(PAREX_TEST_DATA) / "adif";
const char* const real_logs[] = {"ADIF_316_test_QSOs_2025_08_27.adi", "log4om_2.22.adi", "lotw_report.adi",
                                 "n3fjp_aclog_7.0.5.adi", "wsjtx_2.6.1_KK7KNB.adi"};
/// QSOs of the assembled log: a million (50,000 with PAREX_BENCH_SMALL).
const std::size_t million = pb::scaled(1'000'000, 20);

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The date `days` after an ADIF date (YYYYMMDD), or the text unchanged when it is not one.
std::string shift_date(std::string_view yyyymmdd, int days) {
    const auto ymd = lb::detail::adif_date(yyyymmdd);
    if (!ymd) return std::string(yyyymmdd);
    const std::chrono::year_month_day d{std::chrono::sys_days(*ymd) + std::chrono::days(days)};
    char out[16];
    std::snprintf(out, sizeof out, "%04d%02u%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                  static_cast<unsigned>(d.day()));
    return out;
}

/// The assembled 1M-QSO log's path, written on first use.
const fs::path& million_qso_log() {
    static const fs::path path = [] {
        const auto p = fs::path(PAREX_BENCH_WORK_DIR) / ("logbook-" + std::to_string(million) + "-qso.adi");
        if (fs::exists(p)) return p;
        std::vector<std::string> texts;
        std::vector<lb::document> docs;
        for (const auto* name : real_logs) texts.push_back(read_all(logs_dir / name));
        for (const auto& t : texts) docs.push_back(lb::parse(t));
        std::string out = "ADIF export: 1M QSOs assembled from parex's five real logs\n<ADIF_VER:5>3.1.6 <EOH>\n";
        std::size_t written = 0;
        for (int copy = 0; written < million; ++copy) {
            for (const auto& doc : docs) {
                for (const auto r : doc) {
                    if (written == million) break;
                    std::vector<lb::field> fields(r.begin(), r.end());
                    std::string date;
                    for (auto& f : fields)
                        if (logbook::ascii_iequals(f.name, "QSO_DATE")) f.data = date = shift_date(f.data, copy);
                    lb::append_record(out, fields);
                    ++written;
                }
            }
        }
        examples::write_atomically(p, out, true);
        return p;
    }();
    return path;
}

struct input {
    std::string name;
    fs::path path;
};
std::vector<input> inputs() {
    std::vector<input> out;
    for (const auto* name : real_logs) out.push_back({name, logs_dir / name});
    out.push_back({"1M QSOs assembled", {}});  // path filled when first needed (it takes a few seconds)
    return out;
}

const std::string& text_of(const input& in) {
    static std::map<std::string, std::string> cache;
    auto& t = cache[in.name];
    if (t.empty()) t = read_all(in.path.empty() ? million_qso_log() : in.path);
    return t;
}

void report(benchmark::State& state, const std::string& text, std::size_t records) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * records));
}

void parse_parex(benchmark::State& state, const input& in, std::size_t threads) {
    const auto& text = text_of(in);
    parex::chunked_executor ex({.max_concurrency = threads});
    std::size_t records = 0;
    for (auto _ : state) {
        const auto doc = threads == 1 ? lb::parse_sequential(text) : lb::parse(text, {}, ex);
        records = doc.size();
        benchmark::DoNotOptimize(records);
    }
    report(state, text, records);
}

/// adif-parser-ts in Node: each iteration's time is one parse measured inside Node (parseAdi alone,
/// the file already read and decoded), taken from a Node process started outside the timing.
void parse_peer(benchmark::State& state, const input& in) {
    const auto& text = text_of(in);
    const auto path = in.path.empty() ? million_qso_log() : in.path;
    std::deque<double> seconds;
    std::size_t records = 0;
    for (auto _ : state) {
        if (seconds.empty()) {
            // three parses per Node process; one for the 1M-QSO log (about 10 s each on the development VM)
            const auto command = "node '" + std::string(PAREX_ADIF_PEER) + "' time '" + path.string() + "' " +
                                 (in.path.empty() ? "1" : "3");
            std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
            std::string out;
            char buf[4096];
            while (pipe && std::fgets(buf, sizeof buf, pipe.get())) out += buf;
            try {
                const auto j = nlohmann::json::parse(out);
                for (const auto& s : j["seconds"]) seconds.push_back(s.get<double>());
                records = j["records"].get<std::size_t>();
            } catch (const std::exception& e) {
                state.SkipWithError(
                    ("adif-parser-ts did not run (cmake/install-deps.sh installs it): " + std::string(e.what()))
                        .c_str());
                return;
            }
        }
        state.SetIterationTime(seconds.front());
        seconds.pop_front();
    }
    report(state, text, records);
}

/// The 1M QSOs, typed, and the award tables.
struct qso_set {
    lb::award_tables tables = lb::award_tables::read(fs::path(PAREX_MODULE_DATA) / "logbook");
    lb::document doc;
    std::vector<lb::qso> qsos;
};
const qso_set& million_qsos() {
    static const auto set = [] {
        auto s = std::make_unique<qso_set>();
        s->doc = lb::parse(text_of({"1M QSOs assembled", {}}));
        parex::chunked_executor ex;
        s->qsos = lb::to_qsos(s->doc, s->tables.for_qsos(), ex);
        return s;
    }();
    return *set;
}

void awards(benchmark::State& state, std::size_t threads) {
    const auto& set = million_qsos();
    parex::chunked_executor ex({.max_concurrency = threads});
    std::size_t dxcc = 0;
    for (auto _ : state) {
        if (threads == 1) {
            lb::award_summary s;
            lb::add_qsos(s, set.tables, set.qsos);
            dxcc = s[lb::award::dxcc].overall.worked.size();
        } else {
            dxcc = lb::summarize(set.qsos, set.tables, ex)[lb::award::dxcc].overall.worked.size();
        }
        benchmark::DoNotOptimize(dxcc);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * set.qsos.size()));
}

/// The first 100K records of the 1M log (5,000 with PAREX_BENCH_SMALL) as a document of their own.
const lb::document& hundred_k() {
    static const auto doc = [] {
        const auto& all = million_qsos().doc;
        return lb::parse(all.text().substr(0, all[pb::scaled(100'000, 20)].offset()));  // the text is cached
    }();
    return doc;
}

/// Removes a SQLite database and its WAL files, or the rollback journal a bulk load left when stopped.
void remove_db(const fs::path& p) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(p.string() + suffix);
}

void import(benchmark::State& state, std::size_t threads) {
    const auto& set = million_qsos();
    const auto& doc = hundred_k();
    const auto db = fs::temp_directory_path() / "parex-bench-logbook.sqlite";
    std::size_t inserted = 0;
    for (auto _ : state) {
        state.PauseTiming();
        remove_db(db);
        state.ResumeTiming();
        lb::store store(db);
        inserted = store.import(doc, set.tables.for_qsos(), threads).inserted;
    }
    // Fewer than 100K: the real logs hold QSOs with the same identity (lotw_report and n3fjp_aclog are
    // one station's log from two programs), which the store keeps once.
    state.counters["inserted"] = static_cast<double>(inserted);
    remove_db(db);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * doc.size()));
}

/// Binds a stored value without a copy, as the store binds its rows (SQLITE_STATIC).
int bind(sqlite3_stmt* st, int i, sqlite3_value* v) {
    switch (sqlite3_value_type(v)) {
        case SQLITE_INTEGER: return sqlite3_bind_int64(st, i, sqlite3_value_int64(v));
        case SQLITE_TEXT:
            return sqlite3_bind_text(st, i, reinterpret_cast<const char*>(sqlite3_value_text(v)),
                                     sqlite3_value_bytes(v), SQLITE_STATIC);
        case SQLITE_BLOB: return sqlite3_bind_blob(st, i, sqlite3_value_blob(v), sqlite3_value_bytes(v), SQLITE_STATIC);
        case SQLITE_NULL: return sqlite3_bind_null(st, i);
        default: return sqlite3_bind_value(st, i, v);
    }
}

void check(int rc, sqlite3* c) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) throw std::runtime_error(sqlite3_errmsg(c));
}
using connection = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;
connection open_db(const fs::path& p) {
    sqlite3* c = nullptr;
    check(sqlite3_open_v2(p.c_str(), &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr), c);
    return {c, sqlite3_close_v2};
}
using statement = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;
statement prepare(sqlite3* c, const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    check(sqlite3_prepare_v2(c, sql.c_str(), -1, &st, nullptr), c);
    return {st, sqlite3_finalize};
}

/// What an import of the 100K QSOs stored: its rows (the columns after id, in id order) and the column
/// names. Built once.
struct stored_import {
    std::vector<std::vector<std::unique_ptr<sqlite3_value, void (*)(sqlite3_value*)>>> rows;
    std::string columns;
};
const stored_import& stored_hundred_k() {
    static const auto stored = [] {
        auto out = std::make_unique<stored_import>();
        const auto source = fs::temp_directory_path() / "parex-bench-logbook-rows.sqlite";
        remove_db(source);
        lb::store(source).import(hundred_k(), million_qsos().tables.for_qsos());
        {
            const auto c = open_db(source);
            const auto select = prepare(c.get(), "SELECT * FROM qso ORDER BY id");
            const int n = sqlite3_column_count(select.get());
            for (int i = 1; i < n; ++i)
                out->columns += std::string(i > 1 ? ", " : "") + sqlite3_column_name(select.get(), i);
            while (sqlite3_step(select.get()) == SQLITE_ROW) {
                auto& row = out->rows.emplace_back();
                for (int i = 1; i < n; ++i)
                    row.emplace_back(sqlite3_value_dup(sqlite3_column_value(select.get(), i)), sqlite3_value_free);
            }
        }
        remove_db(source);
        return out;
    }();
    return *stored;
}

/// The same import's SQLite work alone: the rows a parex import stored (read back once, outside the
/// timing) inserted into a new store file with the store's schema, page size, cache, bulk-load journal
/// and ending, batches and index, through one prepared statement, with nothing built and no duplicate
/// test. The floor SQLite puts under the import on this machine (a little below it: the new file is
/// created outside the timing).
void import_sqlite_alone(benchmark::State& state) {
    const auto& stored = stored_hundred_k();
    const auto db = fs::temp_directory_path() / "parex-bench-logbook-bare.sqlite";
    std::string placeholders;
    for (std::size_t i = 0; i < stored.rows.front().size(); ++i) placeholders += i ? ",?" : "?";
    for (auto _ : state) {
        state.PauseTiming();
        remove_db(db);
        { lb::store created(db); }  // the schema, page size and journal mode a store file has
        state.ResumeTiming();
        const auto c = open_db(db);
        for (const char* settings : {lb::store::connection_pragmas, lb::store::connection_journal,
                                     lb::store::bulk_load_pragmas, lb::store::bulk_load_journal})
            check(sqlite3_exec(c.get(), settings, nullptr, nullptr, nullptr), c.get());
        check(sqlite3_exec(c.get(), "DROP INDEX qso_identity", nullptr, nullptr, nullptr), c.get());
        const auto insert = prepare(c.get(), "INSERT INTO qso (" + stored.columns + ") VALUES (" + placeholders + ")");
        constexpr std::size_t batch = 8192;  // store::import's default
        const auto& rows = stored.rows;
        for (std::size_t first = 0; first < rows.size(); first += batch) {
            check(sqlite3_exec(c.get(), "BEGIN", nullptr, nullptr, nullptr), c.get());
            for (std::size_t r = first; r < std::min(rows.size(), first + batch); ++r) {
                for (std::size_t i = 0; i < rows[r].size(); ++i)
                    check(bind(insert.get(), static_cast<int>(i + 1), rows[r][i].get()), c.get());
                check(sqlite3_step(insert.get()), c.get());
                sqlite3_reset(insert.get());
            }
            check(sqlite3_exec(c.get(), "COMMIT", nullptr, nullptr, nullptr), c.get());
        }
        check(sqlite3_exec(c.get(), lb::store::end_of_bulk_load.c_str(), nullptr, nullptr, nullptr), c.get());
        check(sqlite3_exec(c.get(), lb::store::connection_journal, nullptr, nullptr, nullptr), c.get());
    }
    remove_db(db);
    state.counters["inserted"] = static_cast<double>(stored.rows.size());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * hundred_k().size()));
}

void register_all() {
    const auto t = pb::threads();
    const auto add = [](const std::string& name, auto fn) {
        return benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMillisecond);
    };
    for (const auto& in : inputs()) {
        const auto row = "logbook/parse " + in.name + "/";
        add(row + "sequential", [=](benchmark::State& s) { parse_parex(s, in, 1); });
        add(row + "parex", [=](benchmark::State& s) { parse_parex(s, in, t); });
        auto* peer = benchmark::RegisterBenchmark((row + "peer:adif-parser-ts 0.7.7 (Node)").c_str(),
                                                  [=](benchmark::State& s) { parse_peer(s, in); });
        peer->UseManualTime()->Unit(benchmark::kMillisecond);
        // One parse of the 1M-QSO log takes Node about 10 s (and its process as long again to start and
        // read the file): it is timed in one repetition, whatever --benchmark_repetitions says.
        if (in.path.empty()) peer->Repetitions(1);
    }
    add("logbook/awards over 1M QSOs/sequential", [](benchmark::State& s) { awards(s, 1); });
    add("logbook/awards over 1M QSOs/parex", [=](benchmark::State& s) { awards(s, t); });
    add("logbook/SQLite import of 100K QSOs/sequential", [](benchmark::State& s) { import(s, 1); });
    add("logbook/SQLite import of 100K QSOs/parex", [=](benchmark::State& s) { import(s, t); });
    add("logbook/SQLite import of 100K QSOs/peer:SQLite alone (the stored rows)", import_sqlite_alone);
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    return pb::run_benchmarks(argc, argv);
}
