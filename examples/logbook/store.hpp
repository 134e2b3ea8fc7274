#pragma once
// store.hpp: the logbook's SQLite store. One table `qso` with the typed columns (for queries) and the
// record's ADI bytes as they were in the input, first tag through <EOR> (column `adi`, a BLOB: the
// lossless copy, so an export gives back the imported records byte for byte). A QSO is identified by
// (call, qso_date, time_on, band, mode), so importing the same log twice adds nothing.
//
// Import runs on parex's ordered pipeline: batches of records become rows in parallel (typed view,
// identity) while one writer inserts them, a batch per transaction, through one prepared statement. The
// identity is enforced by the unique index qso_identity; an import into an empty store drops it, finds
// duplicates in memory, and builds it once at the end (a bulk load).

#include <common/csv.hpp>
#include <logbook/adif.hpp>
#include <logbook/executor.hpp>
#include <logbook/qso.hpp>

#include <parex/pipeline.hpp>

#include <sqlite3.h>

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace logbook {

/// A failed SQLite call: the database file, what was being done, SQLite's message.
class store_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What an import did.
struct import_report {
    std::size_t records = 0;     ///< records read
    std::size_t inserted = 0;    ///< new QSOs
    std::size_t duplicates = 0;  ///< QSOs already in the store (same call, date, time, band, mode)
};

class store {
    static constexpr const char* identity_index_sql =
        "CREATE UNIQUE INDEX IF NOT EXISTS qso_identity ON qso (call, qso_date, time_on, band, mode)";

public:
    /// The settings every store connection runs: 16 KiB pages (a new database only; fewer, larger
    /// writes for rows of a few hundred bytes) and 64 MiB of page cache so that a batch's index pages
    /// stay in memory; then its journal, connection_journal.
    static constexpr const char* connection_pragmas =
        "PRAGMA page_size=16384; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;";
    /// The journal of a store outside a bulk load: WAL. SQLite refuses a journal switch while another
    /// connection has the database open (SQLITE_BUSY) and keeps the journal it has; the store takes that
    /// refusal as no error (switch_journal), since either journal is correct.
    static constexpr const char* connection_journal = "PRAGMA journal_mode=WAL";

    /// What a bulk load (an import into an empty store) runs first: a rollback journal, whose commits
    /// write each new page once into the database file (WAL writes it twice: into the log, then at the
    /// checkpoint), and no fsync per commit. A process killed during the load leaves a hot journal that
    /// SQLite rolls back at the next open, as in WAL; a crash of the OS or a power loss during the load
    /// can leave the file unreadable (it held no QSOs). SQLite refuses to leave WAL while another
    /// connection has the database open: the load then runs in WAL. A reader that opens the database
    /// during the load makes a commit wait for it (the busy timeout). Measured in docs/logbook.md.
    /// Then the journal, bulk_load_journal.
    static constexpr const char* bulk_load_pragmas = "PRAGMA synchronous=OFF;";
    static constexpr const char* bulk_load_journal = "PRAGMA journal_mode=DELETE";
    /// What ends a bulk load: the identity index built in a commit that fsyncs the database file, and with
    /// it every page the load wrote; then the connection's settings again, and its journal,
    /// connection_journal (WAL, unless another connection has the database open: then at the next
    /// store's opening).
    static inline const std::string end_of_bulk_load =
        std::string("PRAGMA synchronous=NORMAL; ") + identity_index_sql + "; " + connection_pragmas;

    /// How long a statement waits for a lock another connection holds before it fails (SQLITE_BUSY):
    /// 5 s, the default of Python's sqlite3 module.
    static constexpr int busy_timeout_ms = 5000;

    /// Opens (creating if needed) the database at `path`. Throws store_error.
    explicit store(const std::filesystem::path& path) : path_(path.string()) {
        sqlite3* db = nullptr;
        // NOMUTEX: one connection used by one thread at a time (the pipeline's writer stage is serial)
        const int rc = sqlite3_open_v2(path_.c_str(), &db,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
        db_.reset(db);
        if (rc != SQLITE_OK) fail("opening");
        sqlite3_busy_timeout(db, busy_timeout_ms);
        exec(connection_pragmas, "setting the connection's pragmas");
        switch_journal(connection_journal);
        exec(
            "CREATE TABLE IF NOT EXISTS qso ("
            " id INTEGER PRIMARY KEY,"
            " call TEXT NOT NULL, qso_date TEXT NOT NULL, time_on TEXT NOT NULL, band TEXT NOT NULL, mode TEXT NOT "
            "NULL,"
            " submode TEXT, dxcc INTEGER, state TEXT, cqz INTEGER, ituz INTEGER, gridsquare TEXT, cont TEXT,"
            " country TEXT, qsl_rcvd TEXT, lotw_qsl_rcvd TEXT, eqsl_qsl_rcvd TEXT,"
            " adi BLOB NOT NULL);",
            "creating the schema");
        create_identity_index();  // also restores it after a bulk import that did not finish
    }

    /// Inserts the records of `doc`; a QSO already stored is skipped. Rows are built in parallel
    /// (`threads`, 0 = default) while one writer inserts them, `batch` records per transaction.
    /// Into an empty store the import is a bulk load: the identity index is dropped, duplicates within
    /// `doc` are found in memory (the same identity test the index makes: bytes equal), and the index is
    /// built once at the end, which SQLite does by sorting instead of one B-tree insertion per row.
    /// `run`: progress in batches, cancellation. Throws store_error (the transaction in progress is rolled
    /// back; earlier batches stay, and the index is rebuilt).
    import_report import(const document& doc, const qso_tables& tables, std::size_t threads = 0,
                         std::size_t batch = 8192, const parex::run_options& run = {}) {
        struct row {
            identity id;
            qso typed;
        };
        const bool bulk = size() == 0;
        std::unordered_set<identity, identity::hasher> seen;  // bulk: the identities inserted so far
        if (bulk) {
            seen.reserve(doc.size());
            exec(bulk_load_pragmas, "starting a bulk import");
            switch_journal(bulk_load_journal);
            exec("DROP INDEX IF EXISTS qso_identity", "dropping the identity index for a bulk import");
        }
        statement insert(db_.get(),
                         "INSERT OR IGNORE INTO qso (call, qso_date, time_on, band, mode, submode, dxcc, state, cqz,"
                         " ituz, gridsquare, cont, country, qsl_rcvd, lotw_qsl_rcvd, eqsl_qsl_rcvd, adi)"
                         " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
                         *this);
        import_report report;
        std::size_t next = 0;
        try {
            std::optional<parex::chunked_executor> sized;
            parex::run_pipeline(
                detail::executor_for(threads, sized),
                [&]() -> std::optional<std::pair<std::size_t, std::size_t>> {
                    if (next >= doc.size()) return std::nullopt;
                    const auto first = next;
                    next = std::min(doc.size(), next + std::max<std::size_t>(batch, 1));
                    return std::pair{first, next};
                },
                [&](std::pair<std::size_t, std::size_t> range) {
                    std::vector<row> rows;
                    rows.reserve(range.second - range.first);
                    for (auto i = range.first; i < range.second; ++i) {
                        row r;
                        r.typed = to_qso(doc, i, tables);
                        r.id = identity(detail::upper(r.typed.call), identity_date(doc[i]), identity_time(r.typed),
                                        std::string(r.typed.band), detail::upper(r.typed.mode));
                        rows.push_back(std::move(r));
                    }
                    return rows;
                },
                [&](std::vector<row>&& rows) {
                    exec("BEGIN", "starting a transaction");
                    try {
                        for (const auto& r : rows) {
                            ++report.records;
                            if (bulk && !seen.insert(r.id).second) {
                                ++report.duplicates;
                                continue;
                            }
                            const auto& q = r.typed;  // bound without a copy: rows and doc outlive the step
                            const auto& id = r.id;
                            insert.text(1, id.call)
                                .text(2, id.qso_date)
                                .text(3, id.time_on)
                                .text(4, id.band)
                                .text(5, id.mode);
                            insert.text_or_null(6, q.submode).int_or_null(7, q.dxcc >= 0 ? q.dxcc : -1, q.dxcc >= 0);
                            insert.text_or_null(8, q.state)
                                .int_or_null(9, q.cqz, q.cqz > 0)
                                .int_or_null(10, q.ituz, q.ituz > 0);
                            insert.text_or_null(11, q.gridsquare).text_or_null(12, q.cont).text_or_null(13, q.country);
                            insert.text_or_null(14, std::string_view(&q.qsl_rcvd, q.qsl_rcvd ? 1 : 0));
                            insert.text_or_null(15, std::string_view(&q.lotw_qsl_rcvd, q.lotw_qsl_rcvd ? 1 : 0));
                            insert.text_or_null(16, std::string_view(&q.eqsl_qsl_rcvd, q.eqsl_qsl_rcvd ? 1 : 0));
                            insert.blob(17, doc[q.record].text());
                            insert.step("inserting a QSO");
                            const auto changed = static_cast<std::size_t>(sqlite3_changes(db_.get()));
                            report.inserted += changed;
                            report.duplicates += 1 - changed;
                        }
                        exec("COMMIT", "committing a batch");
                    } catch (...) {
                        sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
                        throw;
                    }
                },
                {}, run);
        } catch (...) {
            if (bulk) {  // best effort: the first error is the one to report
                sqlite3_exec(db_.get(), end_of_bulk_load.c_str(), nullptr, nullptr, nullptr);
                sqlite3_exec(db_.get(), connection_journal, nullptr, nullptr, nullptr);
            }
            throw;
        }
        if (bulk) {
            exec(end_of_bulk_load.c_str(), "ending a bulk import (building the identity index)");
            switch_journal(connection_journal);
        }
        return report;
    }

    /// Number of QSOs stored.
    [[nodiscard]] std::size_t size() {
        statement count(db_.get(), "SELECT COUNT(*) FROM qso", *this);
        count.step("counting QSOs");
        return static_cast<std::size_t>(sqlite3_column_int64(count.get(), 0));
    }

    /// Calls sink(std::string_view) with an ADI header, then every stored record's ADI bytes in import
    /// order, each followed by a newline. Returns the number of records. Throws store_error.
    template <class Sink>
    std::size_t export_adi(Sink&& sink) {
        std::string head;
        append_header(head, "ADIF export by parex-logbook\n",
                      std::vector<field>{{"ADIF_VER", "3.1.6", '\0'}, {"PROGRAMID", "parex-logbook", '\0'}});
        sink(std::string_view(head));
        statement select(db_.get(), "SELECT adi FROM qso ORDER BY id", *this);
        std::size_t n = 0;
        while (select.step("reading QSOs")) {
            const auto* bytes = static_cast<const char*>(sqlite3_column_blob(select.get(), 0));
            sink(std::string_view(bytes, static_cast<std::size_t>(sqlite3_column_bytes(select.get(), 0))));
            sink(std::string_view("\n"));
            ++n;
        }
        return n;
    }

private:
    void create_identity_index() { exec(identity_index_sql, "creating the identity index"); }

    /// A QSO's identity as the unique index qso_identity compares it: five values, equal when their
    /// bytes are. The hash is taken where the row is built (in parallel), so the writer's duplicate test
    /// during a bulk load is one lookup.
    struct identity {
        std::string call, qso_date, time_on, band, mode;
        std::size_t hash = 0;

        identity() = default;
        identity(std::string c, std::string d, std::string t, std::string b, std::string m)
            : call(std::move(c)),
              qso_date(std::move(d)),
              time_on(std::move(t)),
              band(std::move(b)),
              mode(std::move(m)) {
            for (const std::string* v : {&call, &qso_date, &time_on, &band, &mode})  // boost::hash_combine's mix
                hash ^= std::hash<std::string>{}(*v) + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2);
        }
        bool operator==(const identity& o) const {
            return hash == o.hash && call == o.call && qso_date == o.qso_date && time_on == o.time_on &&
                   band == o.band && mode == o.mode;
        }
        struct hasher {
            std::size_t operator()(const identity& i) const noexcept { return i.hash; }
        };
    };

    /// QSO_DATE as stored (trimmed), so a record without a valid date still has an identity.
    static std::string identity_date(const record& r) {
        return std::string(examples::trim_space(r.find("QSO_DATE").value_or("")));
    }
    /// TIME_ON as HHMMSS (an HHMM time gets seconds 00), or "" when absent or invalid.
    static std::string identity_time(const qso& q) {
        if (!q.time_on) return {};
        const auto s = static_cast<int>(q.time_on->count());  // below 86400: adif_time checked it
        std::string hhmmss(6, '0');
        for (const auto& [at, value] : {std::pair{0, s / 3600}, std::pair{2, s / 60 % 60}, std::pair{4, s % 60}}) {
            hhmmss[static_cast<std::size_t>(at)] = static_cast<char>('0' + value / 10);
            hhmmss[static_cast<std::size_t>(at) + 1] = static_cast<char>('0' + value % 10);
        }
        return hhmmss;
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw store_error(path_ + ": " + what + ": " + (db_ ? sqlite3_errmsg(db_.get()) : "out of memory"));
    }
    /// Runs the statements of `sql` in order; a failure throws store_error naming `what`.
    void exec(const char* sql, const char* what) {
        if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(what);
    }
    /// Runs a journal_mode pragma. A switch SQLite refuses (SQLITE_BUSY: another connection has the
    /// database open) leaves the journal as it was, which is correct either way; any other failure
    /// throws store_error.
    void switch_journal(const char* pragma) {
        const int rc = sqlite3_exec(db_.get(), pragma, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) fail(std::string("switching the journal (") + pragma + ")");
    }

    /// A prepared statement; bind calls return *this to chain, step() resets after the last row.
    class statement {
    public:
        statement(sqlite3* db, const char* sql, const store& owner) : owner_(owner) {
            if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
                owner.fail(std::string("preparing ") + sql);
        }
        statement(const statement&) = delete;
        statement& operator=(const statement&) = delete;
        ~statement() { sqlite3_finalize(stmt_); }
        [[nodiscard]] sqlite3_stmt* get() const { return stmt_; }

        // Values are bound without a copy (SQLITE_STATIC): they must live until the next step().
        statement& text(int i, std::string_view v) {
            check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
            return *this;
        }
        statement& text_or_null(int i, std::string_view v) {
            check(v.empty() ? sqlite3_bind_null(stmt_, i)
                            : sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
            return *this;
        }
        statement& int_or_null(int i, int v, bool present) {
            check(present ? sqlite3_bind_int(stmt_, i, v) : sqlite3_bind_null(stmt_, i));
            return *this;
        }
        statement& blob(int i, std::string_view v) {
            check(sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
            return *this;
        }
        /// true while a row is available; false (and reset) when done. Throws store_error.
        bool step(const char* what) {
            const int rc = sqlite3_step(stmt_);
            if (rc == SQLITE_ROW) return true;
            sqlite3_reset(stmt_);
            if (rc != SQLITE_DONE) owner_.fail(what);
            return false;
        }

    private:
        void check(int rc) const {
            if (rc != SQLITE_OK) owner_.fail("binding a value");
        }
        const store& owner_;
        sqlite3_stmt* stmt_ = nullptr;
    };

    struct closer {
        void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
    };
    std::string path_;
    std::unique_ptr<sqlite3, closer> db_;
};

}  // namespace logbook
