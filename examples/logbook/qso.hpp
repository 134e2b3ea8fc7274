#pragma once
// qso.hpp: the typed view of an ADIF record (a QSO), with the reference tables it needs: the ADIF 3.1.6
// band plan (bands_adif316.csv, from the specification's Band enumeration) and the AD1C country file
// (cty.csv format, www.country-files.com) that gives DXCC entity and zones from a call sign.

#include <common/csv.hpp>
#include <logbook/adif.hpp>

#include <parex/chunked_executor.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace logbook {

namespace detail {

inline std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return out;
}

}  // namespace detail

/// The ADIF band plan: name and edges in MHz (ADIF 3.1.6, Band enumeration; bands_adif316.csv).
class band_table {
public:
    struct band {
        std::string name;  ///< lower case, as the specification spells it ("20m", "70cm")
        double lower_mhz;
        double upper_mhz;
    };

    /// Reads `band,lower_mhz,upper_mhz`. Throws examples::table_error.
    static band_table read_csv(const std::filesystem::path& path) {
        band_table t;
        examples::read_csv(path, {.min_fields = 3}, [&](const std::vector<std::string>& f) {
            t.bands_.push_back({f[0], examples::csv_number<double>(f[1], "lower_mhz"),
                                examples::csv_number<double>(f[2], "upper_mhz")});
        });
        const int six = t.by_name("6m");
        if (six < 0) throw examples::table_error(path.string() + ": no 6m band");
        t.six_metres_mhz_ = t.bands_[static_cast<std::size_t>(six)].lower_mhz;
        return t;
    }

    [[nodiscard]] const std::vector<band>& bands() const noexcept { return bands_; }
    /// Index of the band named `name` (case-insensitive), or -1.
    [[nodiscard]] int by_name(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < bands_.size(); ++i)
            if (logbook::ascii_iequals(bands_[i].name, name)) return static_cast<int>(i);
        return -1;
    }
    /// Index of the band whose edges (inclusive) hold `mhz`, or -1.
    [[nodiscard]] int by_frequency(double mhz) const noexcept {
        for (std::size_t i = 0; i < bands_.size(); ++i)
            if (mhz >= bands_[i].lower_mhz && mhz <= bands_[i].upper_mhz) return static_cast<int>(i);
        return -1;
    }
    /// Whether band `index` is 6 m or above in frequency (VUCC's bands).
    [[nodiscard]] bool vhf_and_up(int index) const noexcept {
        return index >= 0 && bands_[static_cast<std::size_t>(index)].lower_mhz >= six_metres_mhz_;
    }

private:
    std::vector<band> bands_;
    double six_metres_mhz_ = 0;
};

/// The AD1C country file in its CSV form: for a call sign, the DXCC entity, continent, CQ and ITU zone.
/// Lookup as the file's readme defines it: an exact call entry (`=CALL`) first, else the longest
/// matching prefix; `(n)` and `[n]` after an entry override the CQ and ITU zones.
class country_file {
public:
    struct entity {
        int dxcc = -1;
        std::string continent;
        int cq_zone = 0;
        int itu_zone = 0;
    };

    /// Reads `prefix,name,dxcc,continent,cq,itu,lat,lon,utc,prefixes;`. Throws examples::table_error.
    static country_file read_csv(const std::filesystem::path& path) {
        country_file t;
        examples::read_csv(path, {.header = false, .min_fields = 10}, [&](const std::vector<std::string>& f) {
            const entity base{examples::csv_number<int>(f[2], "DXCC code"), f[3],
                              examples::csv_number<int>(f[4], "CQ zone"), examples::csv_number<int>(f[5], "ITU zone")};
            std::istringstream list(f[9]);
            std::string item;
            while (list >> item) {
                if (!item.empty() && item.back() == ';') item.pop_back();
                if (item.empty()) continue;
                entity e = base;
                std::string key;
                for (std::size_t i = 0; i < item.size(); ++i) {
                    const char c = item[i];
                    const char* close = c == '('   ? ")"
                                        : c == '[' ? "]"
                                        : c == '<' ? ">"
                                        : c == '{' ? "}"
                                        : c == '~' ? "~"
                                                   : nullptr;
                    if (close == nullptr) {
                        key += c;
                        continue;
                    }
                    const auto end = item.find(close, i + 1);
                    if (end == std::string::npos) throw std::invalid_argument("unclosed override in '" + item + "'");
                    const auto inner = std::string_view(item).substr(i + 1, end - i - 1);
                    if (c == '(') e.cq_zone = examples::csv_number<int>(inner, "CQ zone override");
                    if (c == '[') e.itu_zone = examples::csv_number<int>(inner, "ITU zone override");
                    if (c == '{') e.continent = std::string(inner);
                    i = end;
                }
                if (key.starts_with('='))
                    t.exact_[detail::upper(key.substr(1))] = e;
                else {
                    t.max_prefix_ = std::max(t.max_prefix_, key.size());
                    t.prefixes_[detail::upper(key)] = e;
                }
            }
        });
        if (t.prefixes_.empty()) throw examples::table_error(path.string() + ": no prefixes");
        return t;
    }

    /// The entity of `call`, or nullopt when no prefix matches. Portable calls: the designator part
    /// decides (N8BJQ/KH9 and KH9/N8BJQ are both KH9) unless it is a suffix such as /P, /M, /QRP or a
    /// single call-area digit, which keep the home call's entity. O(length of the call).
    [[nodiscard]] std::optional<entity> find(std::string_view call) const {
        const auto key = detail::upper(call);
        if (const auto it = exact_.find(key); it != exact_.end()) return it->second;
        const auto base = location_part(key);
        for (auto n = std::min(base.size(), max_prefix_); n > 0; --n)
            if (const auto it = prefixes_.find(base.substr(0, n)); it != prefixes_.end()) return it->second;
        return std::nullopt;
    }

    /// A call sign cut at '/', operating suffixes (is_operating_suffix) left out: the home call (the
    /// longest part), the designator (the shortest) and how many parts there were.
    struct call_parts {
        std::string_view home;
        std::string_view designator;
        std::size_t count = 0;
    };
    [[nodiscard]] static call_parts split_call(std::string_view call) {
        call_parts p;
        while (!call.empty()) {
            const auto slash = call.find('/');
            const auto part = call.substr(0, slash);
            call = slash == std::string_view::npos ? std::string_view() : call.substr(slash + 1);
            if (part.empty() || is_operating_suffix(part)) continue;
            ++p.count;
            if (p.home.empty() || part.size() > p.home.size()) p.home = part;
            if (p.designator.empty() || part.size() < p.designator.size()) p.designator = part;
        }
        return p;
    }

    /// The part of a (possibly portable) call sign that says where the station is: the designator,
    /// unless the call has none or it is a single call-area digit.
    [[nodiscard]] static std::string_view location_part(std::string_view call) {
        const auto p = split_call(call);
        const bool area_digit = p.designator.size() == 1 && p.designator[0] >= '0' && p.designator[0] <= '9';
        return p.count >= 2 && !area_digit ? p.designator : p.home;
    }

    /// Suffixes that do not change the location: portable, mobile, maritime and aeronautical mobile,
    /// QRP, and license-class markers (CQ WPX rules name /A, /E, /J, /P, /M, /MM).
    [[nodiscard]] static bool is_operating_suffix(std::string_view part) {
        using namespace std::string_view_literals;
        constexpr std::array suffixes{"P"sv, "M"sv, "MM"sv, "AM"sv, "QRP"sv, "A"sv, "E"sv,
                                      "J"sv, "R"sv, "B"sv,  "LH"sv, "AG"sv,  "AE"sv};
        return part.size() <= 3 && std::any_of(suffixes.begin(), suffixes.end(),
                                               [&](std::string_view s) { return logbook::ascii_iequals(part, s); });
    }

private:
    struct text_hash {  // lookups by string_view, without building a string per candidate prefix
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, entity, text_hash, std::equal_to<>> exact_;
    std::unordered_map<std::string, entity, text_hash, std::equal_to<>> prefixes_;
    std::size_t max_prefix_ = 0;
};

/// The typed view of a QSO. String views point into the parsed text; `band` into the band table.
/// Fields absent or unusable in the record are empty / -1 / 0 / nullopt; the raw record keeps them all.
struct qso {
    std::size_t record = 0;  ///< index of the record in its document (raw fields: doc[record])
    std::string_view call;
    std::optional<std::chrono::year_month_day> qso_date;  ///< QSO_DATE (YYYYMMDD), UTC
    std::optional<std::chrono::seconds> time_on;          ///< TIME_ON (HHMM or HHMMSS) after midnight UTC
    std::string_view band;                                ///< canonical band name, from BAND or else FREQ
    int band_index = -1;                                  ///< index in the band table, -1 when unknown
    std::string_view mode;
    std::string_view submode;
    int dxcc = -1;           ///< DXCC entity code (0 = none, -1 unknown)
    std::string_view state;  ///< STATE's code (the text before any " // comment", as LoTW writes)
    int cqz = 0;             ///< CQ zone 1..40, 0 unknown
    int ituz = 0;            ///< ITU zone 1..90, 0 unknown
    std::string_view gridsquare;
    std::string_view vucc_grids;  ///< VUCC_GRIDS: the two or four grids of a grid-line or corner QSO
    std::string_view cont;
    std::string_view country;
    char qsl_rcvd = '\0';  ///< QSL_RCVD, upper case ('Y', 'N', 'R', 'I', 'V'), '\0' when absent
    char lotw_qsl_rcvd = '\0';
    char eqsl_qsl_rcvd = '\0';
    bool dxcc_derived = false;  ///< dxcc came from the country file, not the record
    bool cqz_derived = false;   ///< cqz came from the country file

    /// Confirmed for award credit: QSL_RCVD or LOTW_QSL_RCVD is Y, or QSL_RCVD is V ("verified",
    /// import-only in ADIF 3.1.6: DXCC credit granted for the card, which implies it was received).
    [[nodiscard]] bool confirmed() const noexcept { return qsl_rcvd == 'Y' || qsl_rcvd == 'V' || lotw_qsl_rcvd == 'Y'; }
    /// QSO start in UTC, when both date and time are valid.
    [[nodiscard]] std::optional<std::chrono::sys_seconds> start() const {
        if (!qso_date || !time_on) return std::nullopt;
        return std::chrono::sys_days(*qso_date) + *time_on;
    }
};

/// What to_qso needs besides the record. `countries` may be null: then nothing is derived.
struct qso_tables {
    const band_table* bands = nullptr;
    const country_file* countries = nullptr;
};

namespace detail {

inline std::optional<int> small_int(std::string_view s) {
    s = examples::trim_space(s);
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

inline std::optional<std::chrono::year_month_day> adif_date(std::string_view s) {
    s = examples::trim_space(s);
    if (s.size() != 8) return std::nullopt;
    const auto y = small_int(s.substr(0, 4)), m = small_int(s.substr(4, 2)), d = small_int(s.substr(6, 2));
    if (!y || !m || !d) return std::nullopt;
    const std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(static_cast<unsigned>(*m)),
                                          std::chrono::day(static_cast<unsigned>(*d))};
    if (!ymd.ok() || *y < 1930) return std::nullopt;  // ADIF Date: YYYYMMDD, year 1930 or later
    return ymd;
}

inline std::optional<std::chrono::seconds> adif_time(std::string_view s) {
    s = examples::trim_space(s);
    if (s.size() != 4 && s.size() != 6) return std::nullopt;
    const auto h = small_int(s.substr(0, 2)), m = small_int(s.substr(2, 2));
    const auto sec = s.size() == 6 ? small_int(s.substr(4, 2)) : std::optional<int>(0);
    if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 59) return std::nullopt;
    return std::chrono::seconds(*h * 3600 + *m * 60 + *sec);
}

inline char enum_char(std::string_view s) {
    s = examples::trim_space(s);
    if (s.size() != 1) return '\0';
    return s[0] >= 'a' && s[0] <= 'z' ? static_cast<char>(s[0] - 32) : s[0];
}

}  // namespace detail

/// The typed view of record `index` of `doc`. Band from BAND (case-insensitive), else from FREQ (MHz)
/// through the band table. DXCC and CQZ, when absent or unusable, from the call through the country
/// file (flagged *_derived). Never throws for bad field values: they read as unknown.
inline qso to_qso(const document& doc, std::size_t index, const qso_tables& tables) {
    qso q;
    q.record = index;
    std::string_view band_text, freq_text, dxcc_text, cqz_text, ituz_text;
    for (const auto f : doc[index]) {
        const auto& n = f.name;
        if (n.size() < 3 || n.size() > 13) continue;  // every name below is 3 to 13 bytes
        if (logbook::ascii_iequals(n, "CALL"))
            q.call = examples::trim_space(f.data);
        else if (logbook::ascii_iequals(n, "QSO_DATE"))
            q.qso_date = detail::adif_date(f.data);
        else if (logbook::ascii_iequals(n, "TIME_ON"))
            q.time_on = detail::adif_time(f.data);
        else if (logbook::ascii_iequals(n, "BAND"))
            band_text = f.data;
        else if (logbook::ascii_iequals(n, "FREQ"))
            freq_text = f.data;
        else if (logbook::ascii_iequals(n, "MODE"))
            q.mode = examples::trim_space(f.data);
        else if (logbook::ascii_iequals(n, "SUBMODE"))
            q.submode = examples::trim_space(f.data);
        else if (logbook::ascii_iequals(n, "DXCC"))
            dxcc_text = f.data;
        else if (logbook::ascii_iequals(n, "STATE")) {
            const auto s = examples::trim_space(f.data);
            q.state = s.substr(0, s.find_first_of(" \t"));
        } else if (logbook::ascii_iequals(n, "CQZ"))
            cqz_text = f.data;
        else if (logbook::ascii_iequals(n, "ITUZ"))
            ituz_text = f.data;
        else if (logbook::ascii_iequals(n, "GRIDSQUARE"))
            q.gridsquare = examples::trim_space(f.data);
        else if (logbook::ascii_iequals(n, "VUCC_GRIDS"))
            q.vucc_grids = examples::trim_space(f.data);
        else if (logbook::ascii_iequals(n, "CONT"))
            q.cont = examples::trim_space(f.data);
        else if (logbook::ascii_iequals(n, "COUNTRY"))
            q.country = examples::trim_space(f.data);
        else if (logbook::ascii_iequals(n, "QSL_RCVD"))
            q.qsl_rcvd = detail::enum_char(f.data);
        else if (logbook::ascii_iequals(n, "LOTW_QSL_RCVD"))
            q.lotw_qsl_rcvd = detail::enum_char(f.data);
        else if (logbook::ascii_iequals(n, "EQSL_QSL_RCVD"))
            q.eqsl_qsl_rcvd = detail::enum_char(f.data);
    }
    if (tables.bands != nullptr) {
        q.band_index = tables.bands->by_name(examples::trim_space(band_text));
        if (q.band_index < 0 && !freq_text.empty()) {
            double mhz = 0;
            const auto t = examples::trim_space(freq_text);
            const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), mhz);
            if (ec == std::errc{} && end == t.data() + t.size()) q.band_index = tables.bands->by_frequency(mhz);
        }
        if (q.band_index >= 0) q.band = tables.bands->bands()[static_cast<std::size_t>(q.band_index)].name;
    }
    if (const auto v = detail::small_int(dxcc_text); v && *v >= 0) q.dxcc = *v;
    if (const auto v = detail::small_int(cqz_text); v && *v >= 1 && *v <= 40) q.cqz = *v;
    if (const auto v = detail::small_int(ituz_text); v && *v >= 1 && *v <= 90) q.ituz = *v;
    if ((q.dxcc < 0 || q.cqz == 0) && tables.countries != nullptr && !q.call.empty()) {
        if (const auto e = tables.countries->find(q.call)) {
            if (q.dxcc < 0) q.dxcc = e->dxcc, q.dxcc_derived = true;
            if (q.cqz == 0) q.cqz = e->cq_zone, q.cqz_derived = true;
        }
    }
    return q;
}

/// to_qso for every record, in parallel on `executor`, in record order. O(fields).
inline std::vector<qso> to_qsos(const document& doc, const qso_tables& tables, parex::chunked_executor& executor) {
    std::vector<qso> out(doc.size());
    executor.for_each(parex::chunks(doc.size(), parex::grain{2048}), [&](parex::chunk c) {
        for (auto i = c.begin; i < c.end; ++i) out[i] = to_qso(doc, i, tables);
    });
    return out;
}

}  // namespace logbook
