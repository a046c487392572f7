# The pprof export's tests, included from tests/CMakeLists.txt after the
# unit-test and tool loops.
#
# test_export_pprof (from the unit glob) decodes the export with the
# protobuf-c code generated from profile.proto: it needs the generated header.
target_include_directories(test_export_pprof PRIVATE ${VITTE_GEN_DIR})

# pprof_gen writes a profile from synthetic samples through the internal
# export interfaces (nothing public records samples yet), so it links
# vitte_internal; it lives outside tests/tools/*.c, whose programs link the
# shared library and see only the public API.  tests/scripts/test_pprof.sh
# runs it as ${VITTE_BUILD_DIR}/tests/pprof_gen.
add_executable(pprof_gen ${CMAKE_CURRENT_SOURCE_DIR}/tools/internal/pprof_gen.c)
target_compile_options(pprof_gen PRIVATE ${VITTE_WARNINGS})
target_link_libraries(pprof_gen PRIVATE vitte_internal)
