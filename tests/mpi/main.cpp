// The main of the MPI test programs: MPI around Catch2, and a failure on any rank fails every rank.
// PAREX_TEST_MPI_THREAD=serialized initializes MPI with MPI_THREAD_SERIALIZED (parex's relay then
// listens on its own thread while the calling thread runs the chunks); otherwise MPI_Init.
#define CATCH_CONFIG_RUNNER
#include <mpi.h>

#include "parex_catch.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    const char* level = std::getenv("PAREX_TEST_MPI_THREAD");
    if (level != nullptr && std::strcmp(level, "serialized") == 0) {
        int provided = MPI_THREAD_SINGLE;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
        if (provided < MPI_THREAD_SERIALIZED) {
            std::fputs("MPI does not provide MPI_THREAD_SERIALIZED\n", stderr);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    } else {
        MPI_Init(&argc, &argv);
    }
    const int failed = Catch::Session().run(argc, argv);
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any;
}
