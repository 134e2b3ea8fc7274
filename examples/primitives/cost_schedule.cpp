// Tasks of very different sizes, heaviest first: prime counts below limits from 10^3 to 2 x 10^7, the
// largest last in input order. With its cost given (the limit), the largest starts first instead of
// last. A cost_model learns seconds per unit by kind from the times it measures, for the next call.
#include <parex/cost_schedule.hpp>

#include <cstdio>
#include <vector>

std::size_t primes_below(std::size_t limit) {  // the sieve of Eratosthenes
    std::vector<bool> composite(limit, false);
    std::size_t count = 0;
    for (std::size_t i = 2; i < limit; ++i) {
        if (composite[i]) continue;
        ++count;
        for (std::size_t j = i * i; j < limit; j += i) composite[j] = true;
    }
    return count;
}

int main() {
    std::vector<std::size_t> limits;
    for (std::size_t limit = 1000; limit <= 1'000'000; limit *= 10) limits.insert(limits.end(), 8, limit);
    limits.push_back(20'000'000);  // the heavy one, last

    parex::chunked_executor ex;
    const auto counts = parex::map_by_cost(
        ex, limits.size(), [&](std::size_t i) { return static_cast<double>(limits[i]); },
        [&](std::size_t i) { return primes_below(limits[i]); });
    std::printf("primes below %zu: %zu (results in input order)\n", limits.back(), counts.back());

    parex::cost_model model;  // learns seconds per unit of "sieve" work, kept for later calls
    for (int call = 0; call < 2; ++call)
        parex::map_by_cost(
            ex, limits.size(), model,
            [&](std::size_t i) { return parex::task_cost{"sieve", static_cast<double>(limits[i])}; },
            [&](std::size_t i) { return primes_below(limits[i]); });
    std::printf("learned: %.3g ns per number sieved\n", *model.rate("sieve") * 1e9);
    return counts.back() == 1'270'607 ? 0 : 1;  // pi(2 x 10^7)
}
