# cmake -DROOT=<source dir> -DBUILD=<build dir with compile_commands.json> -DCLANG_TIDY=<clang-tidy> -P tidy_check.cmake
# Runs clang-tidy (examples/.clang-tidy: its checks, warnings as errors) on the example programs: the
# primitives' examples and the modules' CLIs, whose includes cover every header of include/parex and
# examples/.
file(GLOB sources "${ROOT}/examples/primitives/*.cpp" "${ROOT}/examples/*/parex_*.cpp")
if(NOT sources)
  message(FATAL_ERROR "no example program under ${ROOT}/examples")
endif()
set(failed "")
foreach(source IN LISTS sources)
  execute_process(COMMAND "${CLANG_TIDY}" -p "${BUILD}" --quiet "${source}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    list(APPEND failed "${source}:\n${out}")
  endif()
endforeach()
if(failed)
  list(JOIN failed "\n" message)
  message(FATAL_ERROR "clang-tidy found:\n${message}")
endif()
list(LENGTH sources count)
message(STATUS "tidy: ${count} programs pass .clang-tidy's checks")
