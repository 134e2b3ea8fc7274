# Runs each installed CLI of PREFIX/bin on real input (DATA = tests/data) from WORK, a folder that is
# neither the build tree nor the prefix: the programs must find their modules' data from their own place.
# Usage: cmake -DPREFIX=... -DDATA=... -DWORK=... -P installed_clis.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

function(run_cli expect)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "${expect}")
    message(FATAL_ERROR "${ARGN}\nexit ${rc}, expected output matching '${expect}'\nstdout: ${out}\nstderr: ${err}")
  endif()
  message(STATUS "ok: ${ARGN}")
endfunction()

# Logbook: the award tables come from share/parex/logbook.
run_cli("DXCC" "${PREFIX}/bin/parex-logbook" --threads 2 awards "${DATA}/adif/lotw_report.adi")
# Transport: the PSTAR table from share/parex/transport.
run_cli("protons in water" "${PREFIX}/bin/parex-transport" --energy 70 --steps 5 --threads 2)
# Compression: a round trip of a corpus file, compared byte for byte.
file(COPY "${DATA}/canterbury/alice29.txt" DESTINATION "${WORK}")
run_cli("" "${PREFIX}/bin/parex-compress" -q -T2 alice29.txt -o alice29.txt.zst)
run_cli("" "${PREFIX}/bin/parex-compress" -q -d alice29.txt.zst -o alice29.out)
execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files alice29.txt alice29.out WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "parex-compress: the round trip of alice29.txt differs")
endif()
# Waveforms: one TaylorF2 waveform as CSV.
run_cli("" "${PREFIX}/bin/parex-waveforms" generate --approximant TaylorF2 --m1 1.4 --m2 1.4 --distance 100
        --f-min 40 --delta-f 1 -o h.csv)
file(STRINGS "${WORK}/h.csv" rows LIMIT_COUNT 3)
list(LENGTH rows n)
if(n LESS 2)
  message(FATAL_ERROR "parex-waveforms: h.csv has no rows")
endif()
# Reservoir: a sweep of the bundled grid's first rows, the grid read from share/parex/reservoir.
file(STRINGS "${PREFIX}/share/parex/reservoir/mixed.csv" grid LIMIT_COUNT 6)
list(JOIN grid "\n" grid)
file(WRITE "${WORK}/grid.csv" "${grid}\n")
run_cli("" "${PREFIX}/bin/parex-reservoir" sweep --task narma10 --grid grid.csv -o results.csv)
file(STRINGS "${WORK}/results.csv" rows)
list(LENGTH rows n)
if(NOT n EQUAL 4)
  message(FATAL_ERROR "parex-reservoir: results.csv has ${n} lines, expected a header and 3 rows")
endif()
