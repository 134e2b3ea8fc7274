#pragma once
// parex/version.hpp: the library's version, as in CMakeLists.txt's project(VERSION) and CHANGELOG.md
// (a ctest checks that they agree). Semantic Versioning: MAJOR changes break the API.

/// parex's major version.
#define PAREX_VERSION_MAJOR 0
/// parex's minor version.
#define PAREX_VERSION_MINOR 1
/// parex's patch version.
#define PAREX_VERSION_PATCH 0
/// MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons.
#define PAREX_VERSION (PAREX_VERSION_MAJOR * 10000 + PAREX_VERSION_MINOR * 100 + PAREX_VERSION_PATCH)
