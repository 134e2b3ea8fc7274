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

#include "qso.hpp"

#include <parex/chunked_executor.hpp>

#include <algorithm>
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace parex::logbook {

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
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    const auto prefix_of = [&](std::string_view c) {
        std::string p;
        std::size_t last_digit = std::string_view::npos;
        for (std::size_t i = 0; i < c.size(); ++i)
            if (is_digit(c[i]) && i + 1 < c.size()) last_digit = i;  // a digit at the very end is no prefix digit
        if (last_digit == std::string_view::npos) {
            p = detail::upper(c.substr(0, std::min<std::size_t>(2, c.size())));
            if (!p.empty()) p += '0';
        } else {
            p = detail::upper(c.substr(0, last_digit + 1));
        }
        return p;
    };
    const auto [home, designator, parts] = country_file::split_call(call);
    if (parts == 0) return {};
    if (parts == 1) return prefix_of(home);
    if (designator.size() == 1 && is_digit(designator[0])) {  // K1TEO/8: the call area changes
        auto p = prefix_of(home);
        while (!p.empty() && is_digit(p.back())) p.pop_back();
        return p + designator[0];
    }
    if (std::none_of(designator.begin(), designator.end(), is_digit))
        return detail::upper(designator.substr(0, std::min<std::size_t>(2, designator.size()))) + '0';
    return detail::upper(designator);
}

/// The reference tables of the awards.
struct award_tables {
    band_table bands;
    country_file countries;
    std::vector<std::string> dxcc_names;  ///< by entity code; empty where the code is unassigned
    std::vector<bool> dxcc_deleted;       ///< by entity code
    std::vector<std::string> was_states;  ///< the 50 WAS states' codes, in table order (AK and HI last)

    /// Reads bands_adif316.csv, cty_ad1c_2022-03.csv, dxcc_entities_adif316.csv and
    /// us_states_dxcc291_adif316.csv from `folder`. Throws table_error naming the file and line.
    static award_tables read(const std::filesystem::path& folder) {
        award_tables t{band_table::read_csv(folder / "bands_adif316.csv"),
                       country_file::read_csv(folder / "cty_ad1c_2022-03.csv"), {}, {}, {}};
        detail::read_csv(folder / "dxcc_entities_adif316.csv", 3, [&](const std::vector<std::string>& f) {
            const auto code = detail::to_number<std::size_t>(f[0], "entity code");
            if (code >= 1024) throw std::invalid_argument("entity code above 1023");
            if (t.dxcc_names.size() <= code) t.dxcc_names.resize(code + 1), t.dxcc_deleted.resize(code + 1);
            t.dxcc_names[code] = f[1];
            t.dxcc_deleted[code] = f[2] == "1";
        });
        detail::read_csv(folder / "us_states_dxcc291_adif316.csv", 5, [&](const std::vector<std::string>& f) {
            if (f[0] != "DC" && f[4] != "1") t.was_states.push_back(f[0]);
        });
        t.was_states.push_back("AK");
        t.was_states.push_back("HI");
        if (t.was_states.size() != 50)
            throw table_error("us_states_dxcc291_adif316.csv: " + std::to_string(t.was_states.size() - 2) +
                              " current states without DC, expected 48");
        return t;
    }

    [[nodiscard]] qso_tables for_qsos() const { return {&bands, &countries}; }
};

/// A set of award keys that merges by union. Keys below N live in a bitset, larger ones in a hash set.
class key_set {
public:
    void insert(std::uint64_t key) {
        if (key < small_keys) small_.set(key);
        else large_.insert(key);
    }
    void merge(const key_set& other) {
        small_ |= other.small_;
        large_.insert(other.large_.begin(), other.large_.end());
    }
    [[nodiscard]] std::size_t size() const { return small_.count() + large_.size(); }
    /// Every key, ascending.
    [[nodiscard]] std::vector<std::uint64_t> keys() const {
        std::vector<std::uint64_t> out(large_.begin(), large_.end());
        for (std::size_t k = 0; k < small_keys; ++k)
            if (small_.test(k)) out.push_back(k);
        std::sort(out.begin(), out.end());
        return out;
    }
    friend bool operator==(const key_set& a, const key_set& b) { return a.small_ == b.small_ && a.large_ == b.large_; }

    static constexpr std::size_t small_keys = 1024;  // DXCC codes, states, zones

private:
    std::bitset<small_keys> small_;
    std::unordered_set<std::uint64_t> large_;
};

/// Worked and confirmed keys.
struct credit {
    key_set worked;
    key_set confirmed;
    void add(std::uint64_t key, bool is_confirmed) {
        worked.insert(key);
        if (is_confirmed) confirmed.insert(key);
    }
    void merge(const credit& o) {
        worked.merge(o.worked);
        confirmed.merge(o.confirmed);
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

/// The award tallies of a set of QSOs, and how many DXCC codes and CQ zones came from the country file.
struct award_summary {
    std::array<award_tally, 5> tallies;
    /// The modes met (MODE, upper case), in order of first appearance: tallies' by_mode[i] is modes[i].
    std::vector<std::string> modes;
    std::size_t qsos = 0;
    std::size_t dxcc_derived = 0;
    std::size_t cqz_derived = 0;

    [[nodiscard]] const award_tally& operator[](award a) const { return tallies[static_cast<std::size_t>(a)]; }
    /// Credits of award `a` in mode `mode`, or nullptr when no QSO had that mode.
    [[nodiscard]] const credit* by_mode(award a, std::string_view mode) const {
        const auto it = std::find(modes.begin(), modes.end(), mode);
        const auto& list = (*this)[a].by_mode;
        const auto i = static_cast<std::size_t>(it - modes.begin());
        return i < list.size() && list[i].worked.size() > 0 ? &list[i] : nullptr;
    }
    /// Credits of award `a` on band `band` (band table index), or nullptr when none.
    [[nodiscard]] const credit* by_band(award a, int band) const {
        const auto& list = (*this)[a].by_band;
        const auto b = static_cast<std::size_t>(band);
        return band >= 0 && b < list.size() && list[b].worked.size() > 0 ? &list[b] : nullptr;
    }
    /// The slot of `mode`, added when new.
    std::size_t mode_slot(std::string_view mode) {
        for (std::size_t i = 0; i < modes.size(); ++i)
            if (modes[i] == mode) return i;
        modes.emplace_back(mode);
        return modes.size() - 1;
    }
    /// Union with `o`: summaries of disjoint QSO sets merge to the summary of their union. Merging left
    /// to right keeps the modes in order of first appearance, so the result does not depend on how
    /// the QSOs were cut.
    award_summary& merge(const award_summary& o) {
        std::vector<std::size_t> slot(o.modes.size());
        for (std::size_t i = 0; i < o.modes.size(); ++i) slot[i] = mode_slot(o.modes[i]);
        for (std::size_t a = 0; a < tallies.size(); ++a) {
            auto& mine = tallies[a];
            const auto& theirs = o.tallies[a];
            mine.overall.merge(theirs.overall);
            if (mine.by_band.size() < theirs.by_band.size()) mine.by_band.resize(theirs.by_band.size());
            for (std::size_t b = 0; b < theirs.by_band.size(); ++b) mine.by_band[b].merge(theirs.by_band[b]);
            for (std::size_t m = 0; m < theirs.by_mode.size(); ++m) {
                if (mine.by_mode.size() <= slot[m]) mine.by_mode.resize(slot[m] + 1);
                mine.by_mode[slot[m]].merge(theirs.by_mode[m]);
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
inline std::optional<std::uint64_t> grid4(std::string_view g) {
    if (g.size() < 4) return std::nullopt;
    const auto f1 = static_cast<char>(g[0] & ~0x20), f2 = static_cast<char>(g[1] & ~0x20);
    if (f1 < 'A' || f1 > 'R' || f2 < 'A' || f2 > 'R' || g[2] < '0' || g[2] > '9' || g[3] < '0' || g[3] > '9') return std::nullopt;
    return static_cast<std::uint64_t>(((f1 - 'A') * 18 + (f2 - 'A')) * 100 + (g[2] - '0') * 10 + (g[3] - '0'));
}

/// A WPX prefix (at most 12 of A-Z, 0-9) as a number in base 37, above key_set's bitset range.
inline std::optional<std::uint64_t> prefix_key(std::string_view p) {
    if (p.empty() || p.size() > 12) return std::nullopt;
    std::uint64_t k = 0;
    for (const char c : p) {
        const int d = c >= '0' && c <= '9' ? c - '0' + 1 : c >= 'A' && c <= 'Z' ? c - 'A' + 11 : -1;
        if (d < 0) return std::nullopt;
        k = k * 37 + static_cast<std::uint64_t>(d);
    }
    return k + key_set::small_keys;
}

}  // namespace detail

/// Adds `qsos` to `s`. O(QSOs).
inline void add_qsos(award_summary& s, const award_tables& t, std::span<const qso> qsos) {
    std::string mode;
    for (const auto& q : qsos) {
        ++s.qsos;
        s.dxcc_derived += q.dxcc_derived;
        s.cqz_derived += q.cqz_derived;
        const bool confirmed = q.confirmed();
        mode = detail::upper(q.mode);
        const auto mode_slot = mode.empty() ? std::size_t{0} : s.mode_slot(mode);
        const auto add = [&](award a, std::uint64_t key) {
            auto& tally = s.tallies[static_cast<std::size_t>(a)];
            tally.overall.add(key, confirmed);
            if (q.band_index >= 0) {
                const auto b = static_cast<std::size_t>(q.band_index);
                if (tally.by_band.size() <= b) tally.by_band.resize(b + 1);
                tally.by_band[b].add(key, confirmed);
            }
            if (!mode.empty()) {
                if (tally.by_mode.size() <= mode_slot) tally.by_mode.resize(mode_slot + 1);
                tally.by_mode[mode_slot].add(key, confirmed);
            }
        };
        if (q.dxcc > 0 && static_cast<std::size_t>(q.dxcc) < t.dxcc_names.size() && !t.dxcc_names[static_cast<std::size_t>(q.dxcc)].empty())
            add(award::dxcc, static_cast<std::uint64_t>(q.dxcc));
        if (q.dxcc == 6 || q.dxcc == 110) {
            add(award::was, q.dxcc == 6 ? 48 : 49);  // AK, HI: the table's last two
        } else if (q.dxcc == 291 && !q.state.empty()) {
            for (std::size_t i = 0; i < 48; ++i)
                if (iequals(t.was_states[i], q.state)) {
                    add(award::was, i);
                    break;
                }
        }
        if (q.cqz >= 1 && q.cqz <= 40) add(award::waz, static_cast<std::uint64_t>(q.cqz));
        if (t.bands.vhf_and_up(q.band_index)) {
            if (!q.vucc_grids.empty()) {
                for (std::string_view rest = q.vucc_grids; !rest.empty();) {
                    const auto comma = rest.find(',');
                    if (const auto g = detail::grid4(detail::trim(rest.substr(0, comma)))) add(award::vucc, *g);
                    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
                }
            } else if (const auto g = detail::grid4(q.gridsquare)) {
                add(award::vucc, *g);
            }
        }
        if (!q.call.empty())
            if (const auto k = detail::prefix_key(wpx_prefix(q.call))) add(award::wpx, *k);
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

/// Counts of a credit, with DXCC's deleted entities apart: {worked, confirmed} counting current entities.
struct credit_counts {
    std::size_t worked = 0;
    std::size_t confirmed = 0;
};

inline credit_counts count(award a, const credit& c, const award_tables& t) {
    if (a != award::dxcc) return {c.worked.size(), c.confirmed.size()};
    credit_counts n;
    for (const auto k : c.worked.keys()) n.worked += !t.dxcc_deleted[k];
    for (const auto k : c.confirmed.keys()) n.confirmed += !t.dxcc_deleted[k];
    return n;
}

}  // namespace parex::logbook
