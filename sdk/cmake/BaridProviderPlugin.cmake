# barid_add_provider_plugin(<name> SOURCES <src>... [LINK_LIBRARIES <lib>...]
#                           [OUTPUT_DIRECTORY <dir>])
#
# Builds a Barid provider plugin: a MODULE library named exactly <name>.so
# (no "lib" prefix), compiled with hidden visibility so that only the entry
# points exported by BARID_PROVIDER_PLUGIN are visible, against barid::sdk.
include_guard(GLOBAL)

function(barid_add_provider_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LINK_LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "barid_add_provider_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE barid::sdk ${ARG_LINK_LIBRARIES})
  if(TARGET Boost::headers)
    target_link_libraries(${name} PRIVATE Boost::headers)
  endif()
  target_compile_features(${name} PRIVATE cxx_std_20)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  endif()
  # Refuse undefined symbols at link time rather than at dlopen time.
  target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  # GCC marks some inline statics as STB_GNU_UNIQUE, which keeps a library
  # from ever being unloaded; a plugin should go when its last object does.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${name} PRIVATE -fno-gnu-unique)
  endif()
endfunction()
