# cmake -DROOT=<source dir> -DCXX=<compiler> [-DFLAGS=<the build's flags>] [-DMPI_INCLUDES=<dirs;...>]
#       [-DTBB_INCLUDES=<dirs;...>] [-DIMPLICIT=<the compiler's own include dirs>] -P headers_alone.cmake
cmake_minimum_required(VERSION 3.25)
# Every public header compiles as a translation unit of its own (only `#include <parex/X.hpp>`), with
# -std=c++20 -Wall -Wextra -Wpedantic -Werror: no header depends on another having been included first;
# and no header is over 500 lines. The MPI headers (parex/mpi.hpp, parex/mpi/) are checked only when
# MPI_INCLUDES is given. parex/detail/ and parex/mpi/detail/ are the library's own and are checked
# through the headers that include them.
include("${CMAKE_CURRENT_LIST_DIR}/public_headers.cmake")
separate_arguments(build_flags UNIX_COMMAND "${FLAGS}")
set(flags ${build_flags} -std=c++20 -Wall -Wextra -Wpedantic -Werror -fsyntax-only ${include_flags})
# Headers that each do one thing stay short: none of include/ (detail/ too) over 500 lines.
file(GLOB_RECURSE all_headers "${ROOT}/include/parex/*.hpp")
foreach(header IN LISTS all_headers)
  file(READ "${header}" text)
  string(REGEX MATCHALL "\n" newlines "${text}")
  list(LENGTH newlines count)
  if(count GREATER 500)
    message(FATAL_ERROR "${header} has ${count} lines (at most 500: split it)")
  endif()
endforeach()

set(work "${CMAKE_CURRENT_BINARY_DIR}/headers_alone")
file(MAKE_DIRECTORY "${work}")
set(failed "")
foreach(header IN LISTS headers)
  string(MAKE_C_IDENTIFIER "${header}" name)
  file(WRITE "${work}/${name}.cpp" "#include <${header}>\n")
  execute_process(COMMAND "${CXX}" ${flags} "${work}/${name}.cpp" RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    list(APPEND failed "${header}:\n${err}")
  endif()
endforeach()
if(failed)
  list(JOIN failed "\n" message)
  message(FATAL_ERROR "headers that do not compile alone with ${CXX}:\n${message}")
endif()
list(LENGTH headers count)
message(STATUS "${count} public headers compile alone with ${CXX}")
