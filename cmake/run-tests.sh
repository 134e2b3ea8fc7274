#!/usr/bin/env bash
# The tests: installs what is missing, builds everything with -Werror and runs every test with ctest:
# optimised with libstdc++ assertions (build/dev); the release preset's benchmarks and examples, built
# at -O3 for the warnings -O2 does not give (build/release, no tests); then under AddressSanitizer,
# LeakSanitizer and UndefinedBehaviorSanitizer (build/asan); the library's conformance tests under
# ThreadSanitizer (build/tsan); the tests and examples with clang 19 (build/clang); the library's
# conformance tests with clang 19 and libc++ (build/libcxx); each libFuzzer target for 30 s
# (build/fuzz). docs/testing.md says what each covers. Exits non-zero on any failure.
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."
cmake/install-deps.sh --tests
cmake --workflow --preset dev
cmake --workflow --preset release
cmake --workflow --preset asan
cmake --workflow --preset tsan
cmake --workflow --preset clang
cmake --workflow --preset libcxx
cmake --workflow --preset fuzz
# Tests that need a tool this machine lacks (Conan, vcpkg) are skipped; say why.
grep -h "^SKIPPED:" build/dev/Testing/Temporary/LastTest.log || true
