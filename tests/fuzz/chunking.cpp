// libFuzzer target: the chunk-plan builders (include/parex/chunking.hpp) with boundary finders. From the
// input: a target size, a delimiter, a case rule and the bytes to split. Every plan must cover the bytes
// exactly, in order, with each inner boundary right after a delimiter (after_delimiter) or where the
// user's finder put it; a finder that breaks its contract gets chunking_error, never a bad plan.
#include <parex/chunking.hpp>
#include <parex/records.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

template <class Plan>
void check_cover(const Plan& plan, std::string_view bytes) {
    std::size_t at = 0;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        const auto c = plan[i];
        if (c.index != i || c.begin != at || c.end < c.begin || c.end > bytes.size()) std::abort();
        if (c.bytes != bytes.substr(c.begin, c.end - c.begin)) std::abort();
        at = c.end;
    }
    if (at != bytes.size()) std::abort();
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool ends_with_ci(std::string_view text, std::string_view suffix) {
    if (text.size() < suffix.size()) return false;
    return std::equal(suffix.begin(), suffix.end(), text.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                      [](char a, char b) { return lower(a) == lower(b); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const std::size_t target = data[0] % 64 + 1, delimiter_length = data[1] % 6 + 1;
    const bool ignore = data[2] & 1;
    std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
    if (rest.size() < delimiter_length) return 0;
    const auto delimiter = rest.substr(0, delimiter_length);
    const auto bytes = rest.substr(delimiter_length);

    check_cover(parex::split_bytes(bytes, target), bytes);
    const auto plan = parex::split_bytes(
        bytes, target,
        parex::after_delimiter(std::string(delimiter), ignore ? parex::ignore_case : parex::match_case::exact));
    check_cover(plan, bytes);
    for (std::size_t i = 0; i + 1 < plan.size(); ++i) {
        const auto before = bytes.substr(0, plan[i].end);
        const bool after = ignore ? ends_with_ci(before, delimiter) : before.ends_with(delimiter);
        if (!after || plan[i].end - plan[i].begin < std::min(target, bytes.size() - plan[i].begin)) std::abort();
    }
    // A user's finder that returns the position it was given plus the input's next byte, sometimes past
    // the end or before `pos`: a plan that covers the bytes, or chunking_error.
    const auto finder = [&](std::string_view all, std::size_t pos) -> std::size_t {
        const std::size_t step = pos < all.size() ? static_cast<unsigned char>(all[pos]) % 8 : 0;
        return step == 7 ? pos - 1 : pos + step;
    };
    try {
        check_cover(parex::split_bytes(bytes, target, finder), bytes);
    } catch (const parex::chunking_error&) {}
    return 0;
}
