# cmake -DSHM_DIR=/dev/shm -DPREFIX=parex-test -P no_shm_left.cmake
# Fails, naming them, if segments whose names start with PREFIX are left in SHM_DIR.
file(GLOB left RELATIVE "${SHM_DIR}" "${SHM_DIR}/${PREFIX}-*")
if(left)
  message(FATAL_ERROR "shared-memory segments left behind in ${SHM_DIR}: ${left}")
endif()
message(STATUS "no ${PREFIX}-* segment in ${SHM_DIR}")
