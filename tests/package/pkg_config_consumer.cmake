# The pkg-config consumer: compiles test_package/main.cpp with the flags `pkg-config --cflags --libs parex`
# gives for the install prefix PREFIX, with the compiler CXX, into BINARY, and runs it.
# Usage: cmake -DPREFIX=... -DCXX=... -DSOURCE=.../main.cpp -DBINARY=... -P pkg_config_consumer.cmake
find_program(PKG_CONFIG pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} "${PREFIX}/share/pkgconfig")
execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs parex
  OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs parex failed: ${err}")
endif()
if(NOT flags MATCHES "-I${PREFIX}/share/pkgconfig/\\.\\./\\.\\./include")
  message(FATAL_ERROR "parex.pc is not relocatable: its include folder is not found from the .pc file's place: ${flags}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND "${CXX}" -std=c++20 -O1 "${SOURCE}" -o "${BINARY}" ${flags} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer did not build with pkg-config's flags: ${flags}")
endif()
execute_process(COMMAND "${BINARY}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer built with pkg-config's flags failed (exit ${rc})")
endif()
