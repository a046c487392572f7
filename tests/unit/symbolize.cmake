# test_symbolize reads its own DWARF (function names, lines, inlined frames):
# it needs -g whatever the build type.
if(TARGET test_symbolize)
  target_compile_options(test_symbolize PRIVATE -g)
endif()
