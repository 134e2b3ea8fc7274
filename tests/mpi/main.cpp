// The main of the MPI test programs: MPI around Catch2, and a failure on any rank fails every rank.
#define CATCH_CONFIG_RUNNER
#include <mpi.h>

#include "parex_catch.hpp"

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    const int failed = Catch::Session().run(argc, argv);
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any;
}
