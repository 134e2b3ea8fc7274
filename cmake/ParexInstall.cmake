# Install and export: headers under include/, the package config under share/cmake/parex, so that
#   find_package(parex CONFIG REQUIRED)  +  target_link_libraries(app PRIVATE parex::parex)
# works against any install prefix.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PAREX_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/parex")

install(TARGETS parex EXPORT parexTargets)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/parex" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT parexTargets NAMESPACE parex:: DESTINATION "${PAREX_INSTALL_CMAKEDIR}")
if(TARGET parex_mpi)  # parex::mpi, loaded by parexConfig.cmake when the consumer has MPI too
  install(TARGETS parex_mpi EXPORT parexMpiTargets)
  install(EXPORT parexMpiTargets NAMESPACE parex:: DESTINATION "${PAREX_INSTALL_CMAKEDIR}")
endif()

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/parexConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/parexConfig.cmake" INSTALL_DESTINATION "${PAREX_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/parexConfigVersion.cmake"
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/parexConfig.cmake" "${PROJECT_BINARY_DIR}/parexConfigVersion.cmake"
  DESTINATION "${PAREX_INSTALL_CMAKEDIR}")

# pkg-config: share/pkgconfig/parex.pc (architecture-independent, as the library is header-only).
configure_file("${PROJECT_SOURCE_DIR}/cmake/parex.pc.in" "${PROJECT_BINARY_DIR}/parex.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/parex.pc" DESTINATION "${CMAKE_INSTALL_DATADIR}/pkgconfig")
