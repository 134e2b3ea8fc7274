# cmake -DROOT=<source dir> -DCLANG_FORMAT=<clang-format 19> [-DFIX=ON] -P format_check.cmake
# Checks that every C++ file of the tree follows .clang-format (or, with FIX=ON, rewrites them so).
# The style is pinned to clang-format 19: other versions break some lines differently.
file(GLOB_RECURSE sources RELATIVE "${ROOT}"
  "${ROOT}/include/*.hpp" "${ROOT}/examples/*.hpp" "${ROOT}/examples/*.cpp"
  "${ROOT}/tests/*.hpp" "${ROOT}/tests/*.cpp" "${ROOT}/benchmarks/*.hpp" "${ROOT}/benchmarks/*.cpp"
  "${ROOT}/test_package/*.cpp")
list(FILTER sources EXCLUDE REGEX "^tests/(data|fuzz/corpus)/|/node_modules/|(^|/)build/")
if(NOT sources)
  message(FATAL_ERROR "no C++ file found under ${ROOT}")
endif()
list(LENGTH sources count)
if(FIX)
  execute_process(COMMAND "${CLANG_FORMAT}" -i ${sources} WORKING_DIRECTORY "${ROOT}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "clang-format failed")
  endif()
  message(STATUS "formatted ${count} files")
  return()
endif()
execute_process(COMMAND "${CLANG_FORMAT}" --dry-run --Werror ${sources} WORKING_DIRECTORY "${ROOT}"
  RESULT_VARIABLE rc ERROR_VARIABLE errors)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "files that do not follow .clang-format (fix: cmake --build <build dir> --target format):\n${errors}")
endif()
message(STATUS "format: ${count} files follow .clang-format")
