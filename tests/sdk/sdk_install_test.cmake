# cmake -P script run by ctest (see CMakeLists.txt for the variables):
#  1. installs the sdk component of BUILD_DIR into WORK_DIR/prefix and checks
#     that it holds the headers and the CMake package, and nothing else;
#  2. configures and builds EXAMPLE_DIR out of tree against that prefix only;
#  3. checks that echo.so exports the entry points and hides its own code;
#  4. runs DRIVER, which loads echo.so through core::PluginHost and sends;
#  5. checks find_package(BaridSDK <v> CONFIG) for several versions.
cmake_minimum_required(VERSION 3.20)

foreach(var BUILD_DIR WORK_DIR EXAMPLE_DIR PROBE_DIR GENERATOR CXX_COMPILER DRIVER SDK_VERSION)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "sdk_install_test: ${var} is not set")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE RelWithDebInfo)
endif()

set(prefix ${WORK_DIR}/prefix)
set(example_build ${WORK_DIR}/echo-build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# Runs a command; stops the test with its output when it fails. The
# output is left in run_output.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

# 1. Install the SDK component alone.
run("install the sdk component" ${CMAKE_COMMAND} --install ${BUILD_DIR} --component sdk --prefix ${prefix})

file(GLOB_RECURSE installed RELATIVE ${prefix} ${prefix}/*)
set(expected_headers encoding.hpp http.hpp plugin.hpp plugin_entry.hpp provider.hpp sdk.hpp types.hpp version.hpp)
foreach(h IN LISTS expected_headers)
  if(NOT EXISTS ${prefix}/include/barid/sdk/${h})
    message(FATAL_ERROR "the sdk component does not install include/barid/sdk/${h}")
  endif()
endforeach()
file(GLOB_RECURSE config_files ${prefix}/*/BaridSDKConfig.cmake)
list(LENGTH config_files n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one BaridSDKConfig.cmake under ${prefix}, found: ${config_files}")
endif()
get_filename_component(package_dir ${config_files} DIRECTORY)
foreach(f BaridSDKConfig.cmake BaridSDKConfigVersion.cmake BaridSDKTargets.cmake BaridProviderPlugin.cmake)
  if(NOT EXISTS ${package_dir}/${f})
    message(FATAL_ERROR "the sdk component does not install ${f} next to BaridSDKConfig.cmake")
  endif()
endforeach()
# Only the SDK: no gateway, no core headers, no plugins.
foreach(f IN LISTS installed)
  if(NOT f MATCHES "^include/barid/sdk/[a-z_]+\\.hpp$" AND NOT f MATCHES "/cmake/BaridSDK/[A-Za-z]+\\.cmake$")
    message(FATAL_ERROR "the sdk component installs ${f}, which is not part of the SDK")
  endif()
endforeach()
message(STATUS "installed: ${installed}")

# 2. Build the example out of tree, against the prefix only (no package
#    registry, so nothing can find the build tree instead).
run("configure ${EXAMPLE_DIR}"
  ${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${example_build} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
    -DCMAKE_CXX_FLAGS=-Werror)
file(READ ${example_build}/CMakeCache.txt cache)
string(REGEX MATCH "BaridSDK_DIR:PATH=([^\n]*)" _ "${cache}")
if(NOT CMAKE_MATCH_1 STREQUAL package_dir)
  message(FATAL_ERROR "the example found BaridSDK in '${CMAKE_MATCH_1}', not in the installed ${package_dir}")
endif()
run("build the example" ${CMAKE_COMMAND} --build ${example_build} -j 2)

set(plugin ${example_build}/echo.so)
if(NOT EXISTS ${plugin})
  message(FATAL_ERROR "the example did not produce ${plugin} (barid_add_provider_plugin names it <name>.so)")
endif()

# 3. Exports: the three entry points; none of the plugin's own code, and no
#    Boost symbols (hidden visibility, and the definitions barid::sdk carries).
find_program(NM nm)
if(NM)
  execute_process(COMMAND ${NM} -D -C --defined-only ${plugin} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm ${plugin} failed")
  endif()
  foreach(entry barid_plugin_abi barid_plugin_descriptor barid_plugin_create)
    if(NOT symbols MATCHES "[ \t]${entry}\n")
      message(FATAL_ERROR "echo.so does not export ${entry}:\n${symbols}")
    endif()
  endforeach()
  if(symbols MATCHES "echo::" OR symbols MATCHES "boost::")
    message(FATAL_ERROR "echo.so exports more than its entry points:\n${symbols}")
  endif()
  message(STATUS "exports: ok")
elseif(DEFINED ENV{CI} AND NOT "$ENV{CI}" MATCHES "^(|0|false)$")
  message(FATAL_ERROR "CI is set but nm (binutils) is not installed: the export check cannot run")
else()
  message(STATUS "nm not found: the export check is skipped")
endif()

# 4. Load it through the real plugin host and send a message through it.
run("load and drive echo.so" ${CMAKE_COMMAND} -E env BARID_ECHO_PLUGIN=${plugin} ${DRIVER})
string(REGEX MATCH "\\[  PASSED  \\] [0-9]+ tests?" passed "${run_output}")
if(NOT passed OR passed MATCHES " 0 tests")
  message(FATAL_ERROR "the driver ran no test:\n${run_output}")
endif()
message(STATUS "driver: ${passed}")

# 5. SameMajorVersion: the installed SDK is ${SDK_VERSION}.
string(REGEX MATCH "^[0-9]+" major "${SDK_VERSION}")
math(EXPR next_major "${major} + 1")
math(EXPR previous_major "${major} - 1")
set(probes
  "${major}:found"
  "${SDK_VERSION}:found"
  "${major}.0:found"
  "${major}.999:not found"
  "${next_major}:not found"
  "${next_major}.0:not found"
  "${previous_major}:not found")
set(i 0)
foreach(probe IN LISTS probes)
  string(REPLACE ":" ";" parts "${probe}")
  list(GET parts 0 requested)
  list(GET parts 1 expected)
  math(EXPR i "${i} + 1")
  execute_process(
    COMMAND ${CMAKE_COMMAND} -S ${PROBE_DIR} -B ${WORK_DIR}/probe-${i} -G ${GENERATOR}
      -DREQUESTED=${requested} -DCMAKE_PREFIX_PATH=${prefix}
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the version probe for ${requested} failed:\n${out}\n${err}")
  endif()
  if(expected STREQUAL "found")
    set(want "PROBE: BaridSDK ${requested} found version ${SDK_VERSION}")
  else()
    set(want "PROBE: BaridSDK ${requested} not found")
  endif()
  string(FIND "${out}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "find_package(BaridSDK ${requested} CONFIG): expected '${want}', got:\n${out}\n${err}")
  endif()
  message(STATUS "find_package(BaridSDK ${requested}): ${expected}")
endforeach()

message(STATUS "the SDK installs, builds a plugin out of tree, and the plugin loads")
