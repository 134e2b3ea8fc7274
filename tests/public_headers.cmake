# Included by headers_alone.cmake and tidy_headers.cmake: sets `headers`, the public headers of
# include/parex relative to include/ (not detail/; the MPI ones only when MPI_INCLUDES is given), and
# `include_flags`, -I for include/ and -isystem for TBB_INCLUDES and MPI_INCLUDES less the compiler's own
# folders in IMPLICIT (-isystem /usr/include would break #include_next).
file(GLOB_RECURSE headers RELATIVE "${ROOT}/include" "${ROOT}/include/parex/*.hpp")
list(FILTER headers EXCLUDE REGEX "/detail/")
if(NOT MPI_INCLUDES)
  list(FILTER headers EXCLUDE REGEX "^parex/mpi(/|\\.hpp$)")
endif()
set(include_flags "-I${ROOT}/include")
foreach(dir IN LISTS TBB_INCLUDES MPI_INCLUDES)
  if(NOT dir IN_LIST IMPLICIT)
    list(APPEND include_flags -isystem "${dir}")
  endif()
endforeach()
