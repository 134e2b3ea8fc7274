#pragma once
// parex/records.hpp: parsing a buffer of variable-length records in parallel without cutting one.
//
// A record format marks where a record ends: a delimiter ("\n", a closing tag) or a length. A plan
// cut just after each delimiter (split_bytes with a boundary finder such as after_delimiter) keeps
// records whole, as long as the delimiter cannot occur inside a record's data. Many formats allow
// that (a quoted CSV field holding a newline, a free-text field holding the end tag), so a cut may
// fall inside a record. Speculative parsing handles it: every chunk is parsed in parallel as if it
// began at a record boundary, then the chunks are walked in order: a chunk is valid when it begins
// exactly where the true parse of the chunks before it stopped; one that does not is parsed again
// from that true position. The result equals the sequential parse for every input and plan.

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>
#include <parex/errors.hpp>
#include <parex/run_control.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace parex {

namespace detail {
/// `c` with 'A'..'Z' mapped to 'a'..'z' and every other byte unchanged, independent of the C locale.
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace detail

/// parex 0.1's public case folding, kept for one release: the logbook module now has its own.
[[deprecated(
    "ASCII case folding leaves parex's API; write your own or use the logbook module's")]] [[nodiscard]] constexpr char
ascii_lower(char c) noexcept {
    return detail::ascii_lower(c);
}
[[deprecated(
    "ASCII case folding leaves parex's API; write your own or use the logbook module's")]] [[nodiscard]] constexpr bool
ascii_iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return detail::ascii_lower(x) == detail::ascii_lower(y);
           });
}

// --- boundary finders ------------------------------------------------------------------------------

/// Whether a delimiter match cares about ASCII letter case.
enum class match_case : std::uint8_t { exact, ignore };
inline constexpr match_case ignore_case = match_case::ignore;

/// Boundary finder: a record ends just after `delimiter`, so the next record starts there.
/// Examples: after_delimiter("\n") for lines, after_delimiter("</record>", ignore_case) for a closing
/// tag in any letter case. A delimiter that straddles the search position is found.
/// O(distance to the next delimiter).
class after_delimiter {
public:
    /// Throws parex::invalid_argument when `delimiter` is empty.
    explicit after_delimiter(std::string delimiter, match_case mode = match_case::exact)
        : delimiter_(std::move(delimiter)),
          mode_(mode) {
        if (delimiter_.empty()) throw parex::invalid_argument("parex: after_delimiter needs a non-empty delimiter");
    }

    /// The smallest boundary >= pos (an offset just past a delimiter), or data.size() if none.
    [[nodiscard]] std::size_t operator()(std::string_view data, std::size_t pos) const {
        const auto from = pos > delimiter_.size() ? pos - delimiter_.size() : 0;  // a match may end at pos
        const auto haystack = data.substr(from);
        const auto it =
            mode_ == match_case::exact
                ? std::search(haystack.begin(), haystack.end(), delimiter_.begin(), delimiter_.end())
                : std::search(haystack.begin(), haystack.end(), delimiter_.begin(), delimiter_.end(),
                              [](char a, char b) { return detail::ascii_lower(a) == detail::ascii_lower(b); });
        if (it == haystack.end()) return data.size();
        return from + static_cast<std::size_t>(it - haystack.begin()) + delimiter_.size();  // >= pos
    }

private:
    std::string delimiter_;
    match_case mode_;
};

// --- speculative parsing ---------------------------------------------------------------------------

/// What a chunk's parse reports: it parsed the records starting in [begin, end), where `end` is the
/// first record start at or after the chunk's end (so it may lie past the chunk: a record is parsed
/// whole), or the end of the input. The type carries whatever else the parse produced.
template <class R>
concept speculative_result = requires(const R& r) {
    { r.begin } -> std::convertible_to<std::size_t>;
    { r.end } -> std::convertible_to<std::size_t>;
};

/// Validates speculative parses and repairs the chunks that began at a false boundary. `plan` is a
/// byte_plan or any chunk plan of byte ranges (a part of one: errors name the chunk's own index).
///
/// - `results[i]` is `parse(plan[i].begin, plan[i].end)` for every chunk i (computed in any order);
/// - `parse(begin, stop_after)` -> R parses the records that start at `begin` and after it, up to the
///   first record start at or after `stop_after`, which it reports as `end`; `begin` is a true record
///   boundary whenever the repair calls it;
/// - `start` is the first true record boundary, normally plan[0].begin.
///
/// After the call `results` is what a sequential parse chunk by chunk from `start` gives: chunk i holds
/// the records that start in [results[i].begin, results[i].end), the ranges are contiguous, and a chunk
/// that lay wholly inside an earlier chunk's record is empty (begin == end). Returns the number of
/// chunks parsed again. Sequential: O(chunks + bytes of the chunks parsed again).
/// Throws chunking_error (naming the chunk) when a result breaks the contract: a parse that stopped
/// before the next chunk's start, or a result whose `begin` is not the chunk's.
template <chunk_plan Plan, speculative_result R, class Parse>
    requires std::invocable<Parse&, std::size_t, std::size_t> &&
             std::convertible_to<std::invoke_result_t<Parse&, std::size_t, std::size_t>, R>
std::size_t repair_speculative(const Plan& plan, std::vector<R>& results, std::size_t start, Parse&& parse) {
    if (results.size() != plan.size())
        throw chunking_error("speculative results: " + std::to_string(results.size()) + " for " +
                                 std::to_string(plan.size()) + " chunks",
                             0, 0);
    std::size_t pos = start;  // the true record boundary reached so far
    std::size_t repaired = 0;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        const auto c = plan[i];
        if (static_cast<std::size_t>(results[i].begin) != c.begin)
            throw chunking_error("speculative result begins at " + std::to_string(results[i].begin), c.index, c.begin);
        if (pos < c.begin)
            throw chunking_error("the parse before this chunk stopped at " + std::to_string(pos), c.index, c.begin);
        if (pos != c.begin) {  // began inside a record the chunks before it parsed
            results[i] = parse(pos, std::max(pos, c.end));
            ++repaired;
        }
        pos = static_cast<std::size_t>(results[i].end);
    }
    return repaired;
}

/// The results of map_records: one per chunk, in chunk order, and how many chunks were parsed again.
template <class R>
struct parsed_records {
    std::vector<R> results;
    std::size_t repaired = 0;
};

/// Speculative record parsing on `executor`: calls parse(c.begin, c.end) for every chunk c of `plan`
/// in parallel (executor.map), then repair_speculative on the calling thread. `plan`'s cuts are
/// candidate record boundaries (split_bytes with a boundary finder) and its first chunk begins at a
/// true one. The results equal the sequential parse's for any plan and thread count.
/// A parse that meets bad data should report it in its result rather than throw: a chunk that began
/// at a false boundary routinely sees garbage, and only a valid chunk's errors are real.
/// Throws what executor.map throws (operation_cancelled, parse's exception) and chunking_error as
/// repair_speculative does.
template <class Parse>
    requires std::invocable<Parse&, std::size_t, std::size_t> &&
             speculative_result<std::invoke_result_t<Parse&, std::size_t, std::size_t>>
auto map_records(chunked_executor& executor, const byte_plan& plan, Parse&& parse, const run_options& options = {}) {
    using result = std::invoke_result_t<Parse&, std::size_t, std::size_t>;
    auto results = executor.map(plan, [&](const byte_chunk& c) { return parse(c.begin, c.end); }, options);
    const auto repaired = repair_speculative(plan, results, plan[0].begin, parse);
    return parsed_records<result>{std::move(results), repaired};
}

/// map_records on default_executor().
template <class Parse>
    requires std::invocable<Parse&, std::size_t, std::size_t> &&
             speculative_result<std::invoke_result_t<Parse&, std::size_t, std::size_t>>
auto map_records(const byte_plan& plan, Parse&& parse, const run_options& options = {}) {
    return map_records(default_executor(), plan, std::forward<Parse>(parse), options);
}

}  // namespace parex
