#pragma once
// Catch2 v2 (Debian 12: catch2/catch.hpp) or v3 (vcpkg, Conan: catch2/catch_all.hpp), whichever is here.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
using Catch::Approx;  // global in v2
#else
#include <catch2/catch.hpp>
#endif
