// Catch2's main, compiled with the tests' own standard library: for builds whose standard library is not
// the one the packaged Catch2WithMain was built with (clang with libc++ against Debian's Catch2 v2).
#define CATCH_CONFIG_MAIN
#include "parex_catch.hpp"
