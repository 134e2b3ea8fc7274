# The vcpkg consumer: installs parex from its overlay port (ports/parex) and builds consumer/ with
# vcpkg's toolchain file, in classic mode and in manifest mode; then parex[mpi], whose parex::mpi
# builds mpi_consumer/, run on 2 ranks (where mpiexec is found). oneTBB and MPI are the system's (the
# overlay ports tbb and mpi of vcpkg-system-ports/), so nothing is downloaded. vcpkg's trees, installs and builds are
# under WORK. Prints "SKIPPED: <reason>" when VCPKG_ROOT is not set to a vcpkg with its executable.
# Usage: cmake -DSOURCE=<parex source> -DWORK=... -DGENERATOR=... -P vcpkg_consumer.cmake
if(NOT DEFINED ENV{VCPKG_ROOT} OR NOT EXISTS "$ENV{VCPKG_ROOT}/scripts/buildsystems/vcpkg.cmake")
  message("SKIPPED: VCPKG_ROOT is not set to a vcpkg checkout (vcpkg is not a Debian package; see README.md, \"With vcpkg\")")
  return()
endif()
set(root "$ENV{VCPKG_ROOT}")
find_program(VCPKG vcpkg HINTS "${root}" NO_DEFAULT_PATH)
if(NOT VCPKG)
  message("SKIPPED: no vcpkg executable in VCPKG_ROOT (${root})")
  return()
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(ENV{VCPKG_FORCE_SYSTEM_BINARIES} 1)
set(ENV{VCPKG_BINARY_SOURCES} clear)
set(ENV{VCPKG_DISABLE_METRICS} 1)
set(overlays "${SOURCE}/ports;${CMAKE_CURRENT_LIST_DIR}/vcpkg-system-ports")
set(trees --x-buildtrees-root=${WORK}/buildtrees --x-packages-root=${WORK}/packages --downloads-root=${WORK}/downloads)

function(check what rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "vcpkg consumer: ${what} failed (exit ${rc})")
  endif()
endfunction()

# Classic mode: vcpkg install, then a CMake project that finds parex in that install tree.
execute_process(COMMAND "${VCPKG}" install parex "--overlay-ports=${SOURCE}/ports"
                        "--overlay-ports=${CMAKE_CURRENT_LIST_DIR}/vcpkg-system-ports"
                        --x-install-root=${WORK}/installed ${trees} --classic
                RESULT_VARIABLE rc)
check("vcpkg install parex (classic mode)" ${rc})
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/consumer" -B "${WORK}/classic" -G "${GENERATOR}"
                        "-DCMAKE_TOOLCHAIN_FILE=${root}/scripts/buildsystems/vcpkg.cmake" -DVCPKG_MANIFEST_MODE=OFF
                        "-DVCPKG_INSTALLED_DIR=${WORK}/installed" -DCMAKE_BUILD_TYPE=Release RESULT_VARIABLE rc)
check("configuring the classic-mode consumer" ${rc})
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK}/classic" RESULT_VARIABLE rc)
check("building the classic-mode consumer" ${rc})
execute_process(COMMAND "${WORK}/classic/parex-consumer" RESULT_VARIABLE rc)
check("the classic-mode consumer" ${rc})
file(GLOB_RECURSE mpi_targets "${WORK}/installed/*/parexMpiTargets.cmake")
if(mpi_targets)
  message(FATAL_ERROR "vcpkg consumer: parex without the feature mpi installed ${mpi_targets}")
endif()

# The feature mpi (the system's MPI through the overlay port mpi): parex::mpi is installed, and parex's
# MPI example builds against it and runs on 2 ranks.
find_program(MPIEXEC NAMES mpiexec mpirun)
if(MPIEXEC)
  execute_process(COMMAND "${VCPKG}" install "parex[mpi]" "--overlay-ports=${SOURCE}/ports"
                          "--overlay-ports=${CMAKE_CURRENT_LIST_DIR}/vcpkg-system-ports"
                          --x-install-root=${WORK}/installed ${trees} --classic --recurse
                  RESULT_VARIABLE rc)
  check("vcpkg install parex[mpi] (classic mode)" ${rc})
  file(GLOB_RECURSE mpi_targets "${WORK}/installed/*/parexMpiTargets.cmake")
  if(NOT mpi_targets)
    message(FATAL_ERROR "vcpkg consumer: parex[mpi] installed no parexMpiTargets.cmake")
  endif()
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/mpi_consumer" -B "${WORK}/classic-mpi"
                          -G "${GENERATOR}" "-DCMAKE_TOOLCHAIN_FILE=${root}/scripts/buildsystems/vcpkg.cmake"
                          -DVCPKG_MANIFEST_MODE=OFF "-DVCPKG_INSTALLED_DIR=${WORK}/installed"
                          -DCMAKE_BUILD_TYPE=Release "-DPAREX_SOURCE_DIR=${SOURCE}" RESULT_VARIABLE rc)
  check("configuring the parex::mpi consumer" ${rc})
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK}/classic-mpi" RESULT_VARIABLE rc)
  check("building the parex::mpi consumer" ${rc})
  execute_process(COMMAND "${MPIEXEC}" -n 2 --oversubscribe --bind-to none --allow-run-as-root
                          "${WORK}/classic-mpi/parex-mpi-consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  check("the parex::mpi consumer on 2 ranks" ${rc})
  if(NOT out MATCHES "2 ranks: ")
    message(FATAL_ERROR "vcpkg consumer: the parex::mpi consumer printed ${out}")
  endif()
  set(with_mpi ", and the feature mpi")
else()
  set(with_mpi ", without the feature mpi (no mpiexec)")
endif()

# Manifest mode: a vcpkg.json naming parex (VCPKG_MANIFEST_DIR, beside the consumer's sources);
# configuring installs it.
file(WRITE "${WORK}/manifest/vcpkg.json" [=[{ "name": "parex-consumer", "version": "1.0.0", "dependencies": ["parex"] }]=])
file(WRITE "${WORK}/manifest-cache.cmake"  # lists, which -D on a command line would split
  "set(VCPKG_OVERLAY_PORTS \"${overlays}\" CACHE STRING \"\")\n"
  "set(VCPKG_INSTALL_OPTIONS \"${trees}\" CACHE STRING \"\")\n"
  "set(VCPKG_MANIFEST_DIR \"${WORK}/manifest\" CACHE PATH \"\")\n")
execute_process(COMMAND "${CMAKE_COMMAND}" -C "${WORK}/manifest-cache.cmake" -S "${CMAKE_CURRENT_LIST_DIR}/consumer" -B "${WORK}/manifest-build"
                        -G "${GENERATOR}" "-DCMAKE_TOOLCHAIN_FILE=${root}/scripts/buildsystems/vcpkg.cmake"
                        -DCMAKE_BUILD_TYPE=Release RESULT_VARIABLE rc)
check("configuring the manifest-mode consumer" ${rc})
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK}/manifest-build" RESULT_VARIABLE rc)
check("building the manifest-mode consumer" ${rc})
execute_process(COMMAND "${WORK}/manifest-build/parex-consumer" RESULT_VARIABLE rc)
check("the manifest-mode consumer" ${rc})
message("vcpkg consumer: classic and manifest mode built and ran${with_mpi}")
