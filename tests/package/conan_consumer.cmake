# The Conan 2 consumer: `conan create` of this source tree with the profile cmake/conan/system-onetbb
# (C++20, the system's oneTBB: nothing is downloaded), which builds and runs test_package/. Conan's
# home and the test package's build are under WORK. Prints "SKIPPED: <reason>" when conan is absent.
# Usage: cmake -DSOURCE=<parex source> -DWORK=... -P conan_consumer.cmake
find_program(CONAN conan)
if(NOT CONAN)
  message("SKIPPED: conan is not on PATH (Conan 2 is not a Debian package; see README.md, \"With Conan\")")
  return()
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
file(COPY "${SOURCE}/test_package/CMakeLists.txt" "${SOURCE}/test_package/conanfile.py" "${SOURCE}/test_package/main.cpp"
     DESTINATION "${WORK}/test_package")
set(ENV{CONAN_HOME} "${WORK}/conan-home")
execute_process(COMMAND "${CONAN}" profile detect --exist-ok RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "conan profile detect failed")
endif()
execute_process(COMMAND "${CONAN}" create "${SOURCE}" -pr:h "${SOURCE}/cmake/conan/system-onetbb" -pr:b default
                        --test-folder "${WORK}/test_package" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "conan create failed (exit ${rc})")
endif()
message("conan consumer: test_package built and ran")
