// Sums ten million floats so that the result has the same bits on any number of threads and any
// machine: the chunks (chunks(n): at most 1024, fixed by n) and the order in which their sums are
// combined depend on n alone.
#include <parex/chunked_executor.hpp>

#include <cstdio>
#include <functional>
#include <numeric>
#include <vector>

int main() {
    std::vector<float> x(10'000'000);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0f / static_cast<float>(i % 1000 + 1);

    const auto sum_on = [&](std::size_t threads) {
        parex::chunked_executor ex({.max_concurrency = threads});
        return ex.map_reduce(
            parex::chunks(x.size()),
            [&](parex::chunk c) { return std::accumulate(x.begin() + c.begin, x.begin() + c.end, 0.0); }, std::plus<>{},
            0.0);
    };
    const double one = sum_on(1), two = sum_on(2);
    const double all = parex::map_reduce(  // the default executor: one thread per core
        parex::chunks(x.size()),
        [&](parex::chunk c) { return std::accumulate(x.begin() + c.begin, x.begin() + c.end, 0.0); }, std::plus<>{},
        0.0);
    std::printf("1 thread %.17g\n2 threads %.17g\n%zu threads %.17g\n", one, two,
                parex::default_executor().max_concurrency(), all);
    return one == two && two == all ? 0 : 1;
}
