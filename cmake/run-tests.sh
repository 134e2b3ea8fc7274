#!/usr/bin/env bash
# The tests: installs what is missing, builds everything (strict warnings), runs every test with ctest.
# Exits non-zero on any failure. Build folder: build/dev.
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."
cmake/install-deps.sh
cmake --workflow --preset dev
