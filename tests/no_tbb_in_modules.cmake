# cmake -DROOT=<source dir> -P no_tbb_in_modules.cmake
# The example modules use parex's public API only: no file under examples/ includes a oneTBB header
# (per-worker state is parex::worker_local, threads are parex's executor).
file(GLOB_RECURSE sources "${ROOT}/examples/*.hpp" "${ROOT}/examples/*.cpp")
set(offenders "")
foreach(source IN LISTS sources)
  file(STRINGS "${source}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](oneapi/)?tbb/")
  if(includes)
    list(APPEND offenders "${source}: ${includes}")
  endif()
endforeach()
if(offenders)
  list(JOIN offenders "\n" message)
  message(FATAL_ERROR "modules include oneTBB directly:\n${message}")
endif()
list(LENGTH sources count)
message(STATUS "${count} module files include no oneTBB header")
