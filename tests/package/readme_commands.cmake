# README.md's shell commands, taken from its ```sh blocks and run as written where the tools exist:
#   c++ ... hello.cpp / app.cpp ...   in a folder of WORK holding hello.cpp and app.cpp (README's hello
#                                     world, examples/primitives/one_line.cpp), with parex installed at
#                                     PREFIX (PKG_CONFIG_PATH set for the first; P replaced by PREFIX in
#                                     the second); each program is built and run;
#   conan ...                         in a copy of the source tree, with a Conan home of its own, when
#                                     conan is on PATH, except the one that downloads from ConanCenter;
#   vcpkg install ...                 with <parex> this source tree, when VCPKG_ROOT names a vcpkg, and
#                                     the overlay of the system's oneTBB added (vcpkg's tbb port
#                                     downloads oneTBB's source: this test runs offline);
#   cmake ... vcpkg.cmake             needs a consumer project: vcpkg_consumer.cmake builds one;
#   cmake/run-benchmarks.sh,          the main job and the test command: CI runs the second, and the
#   cmake/run-tests.sh                main-job ctest runs the first's programs; not run again here.
# A command of another form fails the test, so a new command in README.md needs a case here.
# Usage: cmake -DSOURCE=<parex source> -DPREFIX=<install prefix> -DWORK=<scratch folder> -P readme_commands.cmake
cmake_minimum_required(VERSION 3.25)
file(READ "${SOURCE}/README.md" readme)
string(REPLACE ";" "<semicolon>" readme "${readme}")  # CMake lists split on ';' (comments may have one)
string(REGEX MATCHALL "```sh\n[^`]*```" blocks "${readme}")
set(commands "")
foreach(block IN LISTS blocks)
  string(REGEX REPLACE "^```sh\n" "" block "${block}")
  string(REGEX REPLACE "```$" "" block "${block}")
  string(REGEX REPLACE "(^|\n)#[^\n]*" "\\1" block "${block}")  # comment lines
  string(REGEX REPLACE "[ ]+#[^\n]*" "" block "${block}")          # trailing comments
  string(REPLACE "\\\n" " " block "${block}")                       # continued lines
  if(block MATCHES "<semicolon>")
    message(FATAL_ERROR "a README command with ';' (this test splits on it): ${block}")
  endif()
  string(REPLACE "\n" ";" lines "${block}")
  foreach(line IN LISTS lines)
    string(STRIP "${line}" line)
    if(line)
      list(APPEND commands "${line}")
    endif()
  endforeach()
endforeach()
list(LENGTH commands count)
if(count EQUAL 0)
  message(FATAL_ERROR "no shell command found in README.md's ```sh blocks")
endif()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
file(READ "${SOURCE}/examples/primitives/one_line.cpp" hello)
file(WRITE "${WORK}/hello.cpp" "${hello}")
file(WRITE "${WORK}/app.cpp" "${hello}")
find_program(CONAN conan)
set(ran 0)
# Runs `shell` (README's `command` with this test's substitutions) in `dir`; fails the test if it fails.
function(run_as_written command shell dir)
  execute_process(COMMAND sh -c "${shell}" WORKING_DIRECTORY "${dir}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "README command failed (exit ${rc}): ${command}\n${out}${err}")
  endif()
  math(EXPR count "${ran} + 1")
  set(ran ${count} PARENT_SCOPE)
endfunction()
set(skipped "")
foreach(command IN LISTS commands)
  if(command MATCHES "^c\\+\\+ ")
    string(REPLACE "PKG_CONFIG_PATH=P/" "PKG_CONFIG_PATH=${PREFIX}/" shell "${command}")
    string(REGEX MATCH "[a-z]+\\.cpp" source "${shell}")
    set(ENV{PKG_CONFIG_PATH} "${PREFIX}/share/pkgconfig")  # "parex installed", as the hello world says
    run_as_written("${command}" "${shell} -o ${source}.out && ./${source}.out" "${WORK}")
    unset(ENV{PKG_CONFIG_PATH})
  elseif(command MATCHES "^conan ")
    if(NOT CONAN)
      list(APPEND skipped "${command} (conan is not on PATH)")
      continue()
    elseif(command MATCHES "--build=missing")
      list(APPEND skipped "${command} (downloads oneTBB from ConanCenter)")
      continue()
    endif()
    if(NOT EXISTS "${WORK}/source")
      file(COPY "${SOURCE}/" DESTINATION "${WORK}/source" PATTERN ".git" EXCLUDE PATTERN "build" EXCLUDE)
    endif()
    set(ENV{CONAN_HOME} "${WORK}/conan-home")
    run_as_written("${command}" "${command}" "${WORK}/source")
  elseif(command MATCHES "^vcpkg ")
    if(NOT EXISTS "$ENV{VCPKG_ROOT}/vcpkg")
      list(APPEND skipped "${command} (VCPKG_ROOT names no vcpkg)")
      continue()
    endif()
    string(REPLACE "<parex>" "${SOURCE}" shell "${command}")
    set(ENV{VCPKG_FORCE_SYSTEM_BINARIES} 1)
    run_as_written("${command}"
                   "$ENV{VCPKG_ROOT}/${shell} --overlay-ports=${CMAKE_CURRENT_LIST_DIR}/vcpkg-system-ports" "${WORK}")
  elseif(command MATCHES "vcpkg\\.cmake")
    list(APPEND skipped "${command} (needs a consumer project: tests/package/vcpkg_consumer.cmake builds one in manifest mode)")
  elseif(command MATCHES "^cmake/run-(benchmarks|tests)\\.sh$")
    list(APPEND skipped "${command} (the main job and the test command: CI and the main-job ctest run them)")
  else()
    message(FATAL_ERROR "README.md has a command this test does not know how to run: ${command}")
  endif()
endforeach()
foreach(line IN LISTS skipped)
  message("not run here: ${line}")
endforeach()
message("readme commands: ${ran} of ${count} ran as written")
