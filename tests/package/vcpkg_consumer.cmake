# The vcpkg consumer: installs parex from its overlay port (ports/parex) and builds consumer/ with
# vcpkg's toolchain file, in classic mode and in manifest mode. oneTBB is the system's (the overlay
# port tbb of vcpkg-system-ports/), so nothing is downloaded. vcpkg's trees, installs and builds are
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
message("vcpkg consumer: classic and manifest mode built and ran")
