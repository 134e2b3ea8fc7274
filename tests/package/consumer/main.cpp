#include <parex/parex.hpp>

#include <cstdio>
#include <functional>

int main() {
    parex::chunked_executor ex;
    const auto sum = ex.map_reduce(
        parex::chunks(1'000'000, parex::grain{4096}),
        [](parex::chunk c) {
            unsigned long long s = 0;
            for (auto i = c.begin; i < c.end; ++i) s += i + 1;
            return s;
        },
        std::plus<>{}, 0ULL);
    std::printf("parex consumer: sum=%llu\n", sum);
    return sum == 500000500000ULL ? 0 : 1;
}
