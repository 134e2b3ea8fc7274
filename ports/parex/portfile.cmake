# parex from the source tree this port lives in (<parex>/ports/parex): give vcpkg that folder with
# --overlay-ports=<parex>/ports. Nothing is downloaded: the source is the tree, and the library is
# header-only, so one (release) configuration and no ELF fix-up (which would fetch patchelf).
set(VCPKG_BUILD_TYPE release)
set(VCPKG_FIXUP_ELF_RPATH OFF)
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

# Feature "mpi": parex::mpi (parexMpiTargets.cmake) too; without it the package never holds it.
vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS FEATURES mpi PAREX_MPI)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        ${FEATURE_OPTIONS}
        -DPAREX_BUILD_TESTS=OFF
        -DPAREX_BUILD_BENCHMARKS=OFF
        -DPAREX_BUILD_EXAMPLES=OFF
        -DPAREX_WARNINGS_AS_ERRORS=OFF
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/parex)
# vcpkg keeps share/pkgconfig for files without Libs; parex.pc links -pthread and requires tbb.
file(MAKE_DIRECTORY "${CURRENT_PACKAGES_DIR}/lib/pkgconfig")
file(RENAME "${CURRENT_PACKAGES_DIR}/share/pkgconfig/parex.pc" "${CURRENT_PACKAGES_DIR}/lib/pkgconfig/parex.pc")
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/share/pkgconfig")
vcpkg_fixup_pkgconfig()

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
