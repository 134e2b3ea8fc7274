// The same sum on one process or many: each rank computes its block of chunks on its own threads, and
// the result has the bits of single-process parex::map_reduce over the same plan.
//   mpirun -np 4 ./parex-example-mpi-sum
#include <parex/mpi.hpp>

#include <cstdio>
#include <functional>
#include <vector>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);

    std::vector<double> x(10'000'000);  // every rank can build the input, or read its part of it
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0 / static_cast<double>(i + 1);

    parex::chunked_executor ex;  // this rank's threads
    const auto plan = parex::chunks(x.size());
    const auto sum_of = [&](parex::chunk c) {
        double s = 0;
        for (auto i = c.begin; i < c.end; ++i) s += x[i];
        return s;
    };
    const double everywhere = parex::mpi::map_reduce(ex, MPI_COMM_WORLD, plan, sum_of, std::plus<>{}, 0.0);
    const double here = ex.map_reduce(plan, sum_of, std::plus<>{}, 0.0);  // one process, for comparison
    if (rank == 0) std::printf("%d ranks: %.17g, one process: %.17g\n", ranks, everywhere, here);
    MPI_Finalize();
    return everywhere == here ? 0 : 1;
}
