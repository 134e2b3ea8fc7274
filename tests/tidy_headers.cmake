# cmake -DROOT=<source dir> -DCLANG_TIDY=<clang-tidy> -DWORK=<scratch folder> [-DMPI_INCLUDES=<dirs;...>]
#       [-DTBB_INCLUDES=<dirs;...>] [-DIMPLICIT=<the compiler's own include dirs>] -P tidy_headers.cmake
# Runs clang-tidy with the root .clang-tidy (whole families: bugprone, concurrency, cppcoreguidelines,
# modernize, performance, less a listed few; warnings as errors) over one translation unit that includes
# every public header of include/parex (the MPI ones when MPI_INCLUDES is given), reporting only what is
# in include/parex.
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/public_headers.cmake")
set(source "")
foreach(header IN LISTS headers)
  string(APPEND source "#include <${header}>\n")
endforeach()
file(MAKE_DIRECTORY "${WORK}")
file(WRITE "${WORK}/all_headers.cpp" "${source}")
set(flags -std=c++20 ${include_flags})
execute_process(COMMAND "${CLANG_TIDY}" --quiet "--config-file=${ROOT}/.clang-tidy" "${WORK}/all_headers.cpp" -- ${flags}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-tidy found, in include/:\n${out}${err}")
endif()
list(LENGTH headers count)
message(STATUS "tidy: the ${count} public headers pass .clang-tidy")
