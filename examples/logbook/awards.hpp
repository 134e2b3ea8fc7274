#pragma once
// awards.hpp: amateur-radio award tallies over QSOs: DXCC, WAS, WAZ, VUCC and WPX, each worked and
// confirmed, overall, per band and per mode. A summary over any set of QSOs merges with another by set
// union, so map_reduce over QSO chunks gives exactly the sequential result.
//
// Rules, as the sponsors and ADIF define them:
// - DXCC (ARRL): entity codes of ADIF 3.1.6's DXCC_Entity_Code enumeration (dxcc_entities_adif316.csv);
//   code 0 ("none") never counts; deleted entities are counted apart from the current total.
// - WAS (ARRL): the 50 states: the 48 contiguous states of DXCC 291 (us_states_dxcc291_adif316.csv,
//   without DC), Alaska (DXCC 6) and Hawaii (DXCC 110).
// - WAZ (CQ): CQ zones 1 to 40.
// - VUCC (ARRL): 4-character Maidenhead grid squares on 6 m and above; every grid of VUCC_GRIDS counts.
// - WPX (CQ WPX rules, "A PREFIX is the letter/numeral combination which forms the first part of the
//   amateur call"): see wpx_prefix().

#include <common/csv.hpp>
#include <logbook/qso.hpp>

#include <parex/chunked_executor.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace logbook {

namespace detail {

/// A WPX prefix as a view of the call and at most one character to append (upper-case the view).
struct wpx_parts {
    std::string_view stem;
    char suffix = '\0';
};

/// wpx_prefix's rules, without building a string.
inline wpx_parts wpx_split(std::string_view call) {
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    const auto prefix_of = [&](std::string_view c) -> wpx_parts {
        std::size_t last_digit = std::string_view::npos;
        for (std::size_t i = 0; i + 1 < c.size(); ++i)  // a digit at the very end is no prefix digit
            if (is_digit(c[i])) last_digit = i;
        if (last_digit == std::string_view::npos) return {c.substr(0, 2), '0'};
        return {c.substr(0, last_digit + 1)};
    };
    const auto [home, designator, parts] = country_file::split_call(call);
    if (parts == 0) return {};
    if (parts == 1) return prefix_of(home);
    if (designator.size() == 1 && is_digit(designator[0])) {  // K1TEO/8: the call area changes
        auto stem = prefix_of(home).stem;
        while (!stem.empty() && is_digit(stem.back())) stem.remove_suffix(1);
        return {stem, designator[0]};
    }
    if (std::none_of(designator.begin(), designator.end(), is_digit)) return {designator.substr(0, 2), '0'};
    return {designator};
}

/// A prefix of at most 12 letters and digits (any case) as a number in base 37 (digits 1 to 10,
/// letters 11 to 36), or nullopt for anything else (such a call has no WPX prefix).
inline std::optional<std::uint64_t> prefix_code(wpx_parts p) {
    if (p.stem.size() + (p.suffix != '\0') > 12 || (p.stem.empty() && p.suffix == '\0')) return std::nullopt;
    std::uint64_t code = 0;
    const auto add = [&](char c) {
        const int d = c >= '0' && c <= '9'   ? c - '0' + 1
                      : c >= 'A' && c <= 'Z' ? c - 'A' + 11
                      : c >= 'a' && c <= 'z' ? c - 'a' + 11
                                             : -1;
        code = code * 37 + static_cast<std::uint64_t>(d);
        return d >= 0;
    };
    for (const char c : p.stem)
        if (!add(c)) return std::nullopt;
    if (p.suffix != '\0' && !add(p.suffix)) return std::nullopt;
    return code;
}

/// The prefix whose prefix_code is `code`.
inline std::string prefix_name(std::uint64_t code) {
    std::string out;
    for (; code != 0; code /= 37) {
        const auto d = static_cast<int>(code % 37);
        out.insert(out.begin(), static_cast<char>(d <= 10 ? '0' + d - 1 : 'A' + d - 11));
    }
    return out;
}

}  // namespace detail

/// The WPX prefix of a call sign (CQ WPX contest rules, section "Prefix multipliers"), or "" when the
/// call has no letter/numeral part. Upper case.
/// - the prefix is the call up to and including its last digit that is followed only by letters
///   (N8BJQ -> N8, WD8ABC -> WD8, HG19XX -> HG19, 9A1A -> 9A1);
/// - a call without digits gets a zero after its first two letters (XEFTJW -> XE0);
/// - a portable designator becomes the prefix (N8BJQ/KH9 and KH9/N8BJQ -> KH9; PA/N8BJQ -> PA0, a
///   designator without digits getting a zero after its second letter); a single call-area digit
///   replaces the call's (K1TEO/8 -> K8);
/// - /P, /M, /MM, /A, /E, /J and similar suffixes do not count.
inline std::string wpx_prefix(std::string_view call) {
    const auto p = detail::wpx_split(call);
    auto out = detail::upper(p.stem);
    if (p.suffix != '\0') out += p.suffix;
    return out;
}

/// The reference tables of the awards.
struct award_tables {
    band_table bands;
    country_file countries;
    std::vector<std::string> dxcc_names;  ///< by entity code; empty where the code is unassigned
    std::vector<bool> dxcc_deleted;       ///< by entity code
    std::vector<std::string> was_states;  ///< the 50 WAS states' codes, in table order (AK and HI last)

    /// Reads bands_adif316.csv, cty_ad1c_2022-03.csv, dxcc_entities_adif316.csv and
    /// us_states_dxcc291_adif316.csv from `folder`. Throws examples::table_error naming the file and line.
    static award_tables read(const std::filesystem::path& folder) {
        award_tables t;
        t.bands = band_table::read_csv(folder / "bands_adif316.csv");
        t.countries = country_file::read_csv(folder / "cty_ad1c_2022-03.csv");
        examples::read_csv(folder / "dxcc_entities_adif316.csv", {.min_fields = 3},
                           [&](const std::vector<std::string>& f) {
                               const auto code = examples::csv_number<std::size_t>(f[0], "entity code");
                               if (code >= 1024) throw std::invalid_argument("entity code above 1023");
                               if (t.dxcc_names.size() <= code)
                                   t.dxcc_names.resize(code + 1), t.dxcc_deleted.resize(code + 1);
                               t.dxcc_names[code] = f[1];
                               t.dxcc_deleted[code] = f[2] == "1";
                           });
        examples::read_csv(folder / "us_states_dxcc291_adif316.csv", {.min_fields = 5},
                           [&](const std::vector<std::string>& f) {
                               if (f[0] != "DC" && f[4] != "1") t.was_states.push_back(f[0]);
                           });
        t.was_states.push_back("AK");
        t.was_states.push_back("HI");
        if (t.was_states.size() != 50)
            throw examples::table_error("us_states_dxcc291_adif316.csv: " + std::to_string(t.was_states.size() - 2) +
                                        " current states without DC, expected 48");
        t.was_by_code_.fill(-1);
        for (std::size_t i = 0; i < 48; ++i) {
            const auto code = two_letter_code(t.was_states[i]);
            if (!code)
                throw examples::table_error("us_states_dxcc291_adif316.csv: state code '" + t.was_states[i] +
                                            "' is not two letters");
            t.was_by_code_[*code] = static_cast<std::int8_t>(i);
        }
        return t;
    }

    /// The index in was_states of `state` (a code of DXCC 291, any case), or nullopt when it is none of
    /// the 48 (DC and unknown codes). O(1).
    [[nodiscard]] std::optional<std::size_t> was_state(std::string_view state) const noexcept {
        const auto code = two_letter_code(state);
        if (!code || was_by_code_[*code] < 0) return std::nullopt;
        return static_cast<std::size_t>(was_by_code_[*code]);
    }

    [[nodiscard]] qso_tables for_qsos() const { return {&bands, &countries}; }

private:
    static std::optional<std::size_t> two_letter_code(std::string_view s) noexcept {
        if (s.size() != 2) return std::nullopt;
        const auto a = static_cast<char>(s[0] & ~0x20), b = static_cast<char>(s[1] & ~0x20);
        if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return std::nullopt;
        return static_cast<std::size_t>((a - 'A') * 26 + (b - 'A'));
    }
    std::array<std::int8_t, 26 * 26> was_by_code_{};  // index in was_states of the 48 states' codes, else -1
};

/// A set of award keys, dense numbers from 0, as a bitset that grows to the largest key inserted; merges
/// by union. insert is O(1) amortised; merge, size and keys are O(largest key / 64).
class key_set {
public:
    key_set() = default;
    /// The set whose bit k of words[k / 64] marks key k (what words() returns).
    explicit key_set(std::vector<std::uint64_t> words) : words_(std::move(words)) {}
    /// The bitset: key k is bit k % 64 of words()[k / 64].
    [[nodiscard]] const std::vector<std::uint64_t>& words() const noexcept { return words_; }
    void insert(std::size_t key) {
        const auto word = key / 64;
        if (word >= words_.size()) words_.resize(word + 1);
        words_[word] |= std::uint64_t{1} << (key % 64);
    }
    /// Union with `other`. `renumber` empty: the two sets number keys alike; otherwise other's key k is
    /// this set's key renumber[k].
    void merge(const key_set& other, std::span<const std::size_t> renumber = {}) {
        if (!renumber.empty()) {
            other.for_each([&](std::size_t k) { insert(renumber[k]); });
            return;
        }
        if (words_.size() < other.words_.size()) words_.resize(other.words_.size());
        for (std::size_t i = 0; i < other.words_.size(); ++i) words_[i] |= other.words_[i];
    }
    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (const auto w : words_) n += static_cast<std::size_t>(std::popcount(w));
        return n;
    }
    /// Calls f(key) for every key, ascending.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < words_.size(); ++i)
            for (auto w = words_[i]; w != 0; w &= w - 1) f(i * 64 + static_cast<std::size_t>(std::countr_zero(w)));
    }
    /// Every key, ascending.
    [[nodiscard]] std::vector<std::size_t> keys() const {
        std::vector<std::size_t> out;
        for_each([&](std::size_t k) { out.push_back(k); });
        return out;
    }
    /// The same keys, however far each bitset has grown.
    friend bool operator==(const key_set& a, const key_set& b) noexcept {
        const auto n = std::max(a.words_.size(), b.words_.size());
        for (std::size_t i = 0; i < n; ++i)
            if ((i < a.words_.size() ? a.words_[i] : 0) != (i < b.words_.size() ? b.words_[i] : 0)) return false;
        return true;
    }

private:
    std::vector<std::uint64_t> words_;
};

/// Worked and confirmed keys.
struct credit {
    key_set worked;
    key_set confirmed;
    void add(std::size_t key, bool is_confirmed) {
        worked.insert(key);
        if (is_confirmed) confirmed.insert(key);
    }
    /// Union; `renumber` as key_set::merge.
    void merge(const credit& o, std::span<const std::size_t> renumber = {}) {
        worked.merge(o.worked, renumber);
        confirmed.merge(o.confirmed, renumber);
    }
    friend bool operator==(const credit&, const credit&) = default;
};

/// One award's credits: overall, per band (by band table index) and per mode (by the summary's mode
/// slot; see award_summary::modes).
struct award_tally {
    credit overall;
    std::vector<credit> by_band;
    std::vector<credit> by_mode;
    /// Equal credits, a missing slot counting as an empty credit (the vectors grow as keys arrive).
    friend bool operator==(const award_tally& a, const award_tally& b) {
        const auto same = [](const std::vector<credit>& x, const std::vector<credit>& y) {
            const credit none{};
            for (std::size_t i = 0; i < std::max(x.size(), y.size()); ++i)
                if (!((i < x.size() ? x[i] : none) == (i < y.size() ? y[i] : none))) return false;
            return true;
        };
        return a.overall == b.overall && same(a.by_band, b.by_band) && same(a.by_mode, b.by_mode);
    }
};

enum class award { dxcc, was, waz, vucc, wpx };
inline constexpr std::array<award, 5> all_awards{award::dxcc, award::was, award::waz, award::vucc, award::wpx};
[[nodiscard]] constexpr std::string_view to_string(award a) noexcept {
    constexpr std::array<std::string_view, 5> names{"dxcc", "was", "waz", "vucc", "wpx"};
    return names[static_cast<std::size_t>(a)];
}

/// Keys numbered 0, 1, 2, ... in order of first appearance (the summary's modes and WPX prefixes).
template <class Key>
class first_seen_index {
public:
    /// The number of `key`, added when new. One hash lookup.
    std::size_t number(const Key& key) {
        const auto [it, added] = numbers_.try_emplace(key, keys_.size());
        if (added) keys_.push_back(key);
        return it->second;
    }
    /// The number of `key`, or nullopt when it never appeared.
    [[nodiscard]] std::optional<std::size_t> find(const Key& key) const {
        const auto it = numbers_.find(key);
        return it == numbers_.end() ? std::nullopt : std::optional<std::size_t>(it->second);
    }
    [[nodiscard]] const Key& operator[](std::size_t number) const { return keys_[number]; }
    [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }
    [[nodiscard]] auto begin() const noexcept { return keys_.begin(); }
    [[nodiscard]] auto end() const noexcept { return keys_.end(); }
    friend bool operator==(const first_seen_index& a, const first_seen_index& b) { return a.keys_ == b.keys_; }

private:
    std::vector<Key> keys_;
    std::unordered_map<Key, std::size_t> numbers_;
};

/// The award tallies of a set of QSOs, and how many DXCC codes and CQ zones came from the country file.
///
/// Keys: DXCC the entity code (below 1024, award_tables checks it); WAS the index in
/// award_tables::was_states; WAZ the CQ zone; VUCC the 4-character grid square as 0..32399
/// ((field1 * 18 + field2) * 100 + square); WPX the number of the prefix in `prefixes`. Every key set is a bitset, so
/// a QSO costs one hash lookup (its WPX prefix; its mode is mostly found in a small cache).
struct award_summary {
    std::array<award_tally, 5> tallies;
    /// The modes met (MODE, upper case), in order of first appearance: tallies' by_mode[i] is modes[i].
    first_seen_index<std::string> modes;
    /// The WPX prefixes met as detail::prefix_code, in order of first appearance: WPX key k is the
    /// prefix detail::prefix_name(prefixes[k]).
    first_seen_index<std::uint64_t> prefixes;
    std::size_t qsos = 0;
    std::size_t dxcc_derived = 0;
    std::size_t cqz_derived = 0;

    [[nodiscard]] const award_tally& operator[](award a) const { return tallies[static_cast<std::size_t>(a)]; }
    /// Credits of award `a` in mode `mode` (any case), or nullptr when no QSO had that mode.
    [[nodiscard]] const credit* by_mode(award a, std::string_view mode) const {
        const auto i = modes.find(detail::upper(mode));
        const auto& list = (*this)[a].by_mode;
        return i && *i < list.size() && list[*i].worked.size() > 0 ? &list[*i] : nullptr;
    }
    /// Credits of award `a` on band `band` (band table index), or nullptr when none.
    [[nodiscard]] const credit* by_band(award a, int band) const {
        const auto& list = (*this)[a].by_band;
        const auto b = static_cast<std::size_t>(band);
        return band >= 0 && b < list.size() && list[b].worked.size() > 0 ? &list[b] : nullptr;
    }
    /// Union with `o`: summaries of disjoint QSO sets merge to the summary of their union. Merging left
    /// to right keeps modes and prefixes in order of first appearance, so the result does not depend on
    /// how the QSOs were cut. O(o's modes + prefixes + bits).
    award_summary& merge(const award_summary& o) {
        std::vector<std::size_t> slot(o.modes.size()), prefix(o.prefixes.size());
        for (std::size_t i = 0; i < o.modes.size(); ++i) slot[i] = modes.number(o.modes[i]);
        bool same_prefixes = true;  // o's prefixes have our numbers: no renumbering
        for (std::size_t i = 0; i < o.prefixes.size(); ++i)
            same_prefixes &= (prefix[i] = prefixes.number(o.prefixes[i])) == i;
        for (std::size_t a = 0; a < tallies.size(); ++a) {
            auto& mine = tallies[a];
            const auto& theirs = o.tallies[a];
            const auto renumber = a == static_cast<std::size_t>(award::wpx) && !same_prefixes
                                      ? std::span<const std::size_t>(prefix)
                                      : std::span<const std::size_t>();
            mine.overall.merge(theirs.overall, renumber);
            if (mine.by_band.size() < theirs.by_band.size()) mine.by_band.resize(theirs.by_band.size());
            for (std::size_t b = 0; b < theirs.by_band.size(); ++b) mine.by_band[b].merge(theirs.by_band[b], renumber);
            for (std::size_t m = 0; m < theirs.by_mode.size(); ++m) {
                if (mine.by_mode.size() <= slot[m]) mine.by_mode.resize(slot[m] + 1);
                mine.by_mode[slot[m]].merge(theirs.by_mode[m], renumber);
            }
        }
        qsos += o.qsos;
        dxcc_derived += o.dxcc_derived;
        cqz_derived += o.cqz_derived;
        return *this;
    }
    friend bool operator==(const award_summary&, const award_summary&) = default;
};

namespace detail {

/// 4-character Maidenhead square ("FN31", any case) as 0..32399, or nullopt.
inline std::optional<std::size_t> grid4(std::string_view g) {
    if (g.size() < 4) return std::nullopt;
    const auto f1 = static_cast<char>(g[0] & ~0x20), f2 = static_cast<char>(g[1] & ~0x20);
    if (f1 < 'A' || f1 > 'R' || f2 < 'A' || f2 > 'R' || g[2] < '0' || g[2] > '9' || g[3] < '0' || g[3] > '9')
        return std::nullopt;
    return static_cast<std::size_t>(((f1 - 'A') * 18 + (f2 - 'A')) * 100 + (g[2] - '0') * 10 + (g[3] - '0'));
}

}  // namespace detail

/// Adds `qsos` to `s`. O(QSOs).
inline void add_qsos(award_summary& s, const award_tables& t, std::span<const qso> qsos) {
    // Mode text as written -> slot, direct-mapped: most QSOs find their mode here and skip upper-casing
    // and hashing it (a log uses a few dozen modes).
    std::array<std::pair<std::string_view, std::size_t>, 64> mode_cache{};
    std::size_t mode_slot = 0;
    for (const auto& q : qsos) {
        ++s.qsos;
        s.dxcc_derived += q.dxcc_derived;
        s.cqz_derived += q.cqz_derived;
        const bool confirmed = q.confirmed();
        const bool has_mode = !q.mode.empty();
        if (has_mode) {
            const auto hash = q.mode.size() * 31 + static_cast<unsigned char>(q.mode.front()) * 7U +
                              static_cast<unsigned char>(q.mode.back());
            auto& [text, slot] = mode_cache[hash % mode_cache.size()];
            if (text != q.mode) {
                text = q.mode;
                slot = s.modes.number(detail::upper(q.mode));
            }
            mode_slot = slot;
        }
        const auto add = [&](award a, std::size_t key) {
            auto& tally = s.tallies[static_cast<std::size_t>(a)];
            tally.overall.add(key, confirmed);
            if (q.band_index >= 0) {
                const auto b = static_cast<std::size_t>(q.band_index);
                if (tally.by_band.size() <= b) tally.by_band.resize(b + 1);
                tally.by_band[b].add(key, confirmed);
            }
            if (has_mode) {
                if (tally.by_mode.size() <= mode_slot) tally.by_mode.resize(mode_slot + 1);
                tally.by_mode[mode_slot].add(key, confirmed);
            }
        };
        if (q.dxcc > 0 && static_cast<std::size_t>(q.dxcc) < t.dxcc_names.size() &&
            !t.dxcc_names[static_cast<std::size_t>(q.dxcc)].empty())
            add(award::dxcc, static_cast<std::size_t>(q.dxcc));
        if (q.dxcc == 6 || q.dxcc == 110) {
            add(award::was, q.dxcc == 6 ? 48 : 49);  // AK, HI: the table's last two
        } else if (q.dxcc == 291 && !q.state.empty()) {
            if (const auto i = t.was_state(q.state)) add(award::was, *i);
        }
        if (q.cqz >= 1 && q.cqz <= 40) add(award::waz, static_cast<std::size_t>(q.cqz));
        if (t.bands.vhf_and_up(q.band_index)) {
            if (!q.vucc_grids.empty()) {
                for (std::string_view rest = q.vucc_grids; !rest.empty();) {
                    const auto comma = rest.find(',');
                    if (const auto g = detail::grid4(examples::trim_space(rest.substr(0, comma)))) add(award::vucc, *g);
                    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
                }
            } else if (const auto g = detail::grid4(q.gridsquare)) {
                add(award::vucc, *g);
            }
        }
        if (!q.call.empty())
            if (const auto code = detail::prefix_code(detail::wpx_split(q.call)))
                add(award::wpx, s.prefixes.number(*code));
    }
}

/// The awards of `qsos`, summarised in parallel on `executor` by map_reduce over chunks of `grain` QSOs
/// (0: four chunks per thread, at least 4,096 QSOs each; every chunk's summary costs a merge): the same
/// summary as one sequential pass. O(QSOs) work.
inline award_summary summarize(std::span<const qso> qsos, const award_tables& tables, parex::chunked_executor& executor,
                               std::size_t grain = 0) {
    if (grain == 0) grain = std::max<std::size_t>(4096, qsos.size() / (4 * executor.max_concurrency()) + 1);
    return executor.map_reduce(
        parex::chunks(qsos.size(), parex::grain{grain}),
        [&](parex::chunk c) {
            award_summary s;
            add_qsos(s, tables, qsos.subspan(c.begin, c.size()));
            return s;
        },
        [](award_summary a, award_summary b) { return std::move(a.merge(b)); }, award_summary{});
}

/// Counts of a credit. For DXCC, worked and confirmed count current entities and the deleted ones are
/// counted apart (ARRL: deleted entities do not count toward the current total); other awards have no
/// deleted keys.
struct credit_counts {
    std::size_t worked = 0;
    std::size_t confirmed = 0;
    std::size_t deleted_worked = 0;
    std::size_t deleted_confirmed = 0;
};

inline credit_counts count(award a, const credit& c, const award_tables& t) {
    if (a != award::dxcc) return {c.worked.size(), c.confirmed.size(), 0, 0};
    credit_counts n;
    c.worked.for_each([&](std::size_t k) { ++(t.dxcc_deleted[k] ? n.deleted_worked : n.worked); });
    c.confirmed.for_each([&](std::size_t k) { ++(t.dxcc_deleted[k] ? n.deleted_confirmed : n.confirmed); });
    return n;
}

}  // namespace logbook
