# Checks which rooms of the code include which: run as
#   cmake -DROOT=<source tree> -P cmake/CheckIncludes.cmake
# (ctest runs it as layout.include_rules). It reads every #include of the
# rooms' sources, finds the room of the header it names and fails, listing
# each file and include, when that room is not one the including room may use.
# docs/architecture.md ("The house") says the same rules in prose.
#
# A room is a folder; its headers are found where the build finds them:
# <barid/sdk/...> in sdk/include, <barid/core/...> in the include/ folder of
# one of core's rooms, and a quoted include next to the file that names it,
# or in gateway/src, core/storage/mysql/src or plugins/ (the folders the
# targets put on their include path). A <barid/...> header that is in no
# room is refused too: a room cannot name a header the check does not know.

if(NOT ROOT)
  message(FATAL_ERROR "CheckIncludes.cmake: set -DROOT=<source tree>")
endif()
get_filename_component(ROOT "${ROOT}" ABSOLUTE)

# Each room: its folders (a file in a deeper room's folder is that room's),
# and the rooms whose headers it may include (its own is always allowed).
set(ROOMS sdk domain storage storage_mysql plugin_host pipeline gateway plugins)

set(sdk_DIRS sdk/include)
set(sdk_MAY "")
set(domain_DIRS core/domain)
set(domain_MAY sdk)
set(storage_DIRS core/storage)
set(storage_MAY sdk domain)
set(storage_mysql_DIRS core/storage/mysql)
set(storage_mysql_MAY sdk domain storage)
set(plugin_host_DIRS core/plugin_host)
set(plugin_host_MAY sdk domain)
set(pipeline_DIRS core/pipeline)
set(pipeline_MAY sdk domain storage plugin_host)
set(gateway_DIRS gateway)
set(gateway_MAY sdk domain storage storage_mysql plugin_host pipeline)
# Plugins are built against the installed SDK only; the SDK's example plugin
# is held to the same rule.
set(plugins_DIRS plugins sdk/examples)
set(plugins_MAY sdk)

# Third-party headers a room must not name: core has no HTTP server, and a
# plugin reaches HTTP, the database and Boost.DLL only through the SDK (its
# entry macro is in <barid/sdk/plugin_entry.hpp>).
set(FORBIDDEN_domain pistache/ yaml-cpp/ cppconn/ mysql curl/ boost/)
set(FORBIDDEN_storage pistache/ yaml-cpp/ cppconn/ mysql curl/ boost/)
set(FORBIDDEN_storage_mysql pistache/ yaml-cpp/ curl/ boost/)
set(FORBIDDEN_plugin_host pistache/ yaml-cpp/ cppconn/ mysql)
set(FORBIDDEN_pipeline pistache/ yaml-cpp/ cppconn/ mysql curl/ boost/)
set(FORBIDDEN_plugins pistache/ yaml-cpp/ cppconn/ mysql curl/ boost/)

# A room's name as the documentation writes it.
function(room_name room out)
  if(room STREQUAL "storage_mysql")
    set(${out} "storage/mysql" PARENT_SCOPE)
  else()
    set(${out} "${room}" PARENT_SCOPE)
  endif()
endfunction()

# The folders quoted includes are looked up in, after the including file's own.
set(QUOTE_DIRS gateway/src core/storage/mysql/src plugins)

# The room a path (relative to ROOT) lies in: the room with the longest
# folder that holds it (core/storage/mysql before core/storage).
function(room_of path out)
  set(best "")
  set(best_len 0)
  foreach(room IN LISTS ROOMS)
    foreach(dir IN LISTS ${room}_DIRS)
      string(LENGTH "${dir}" len)
      string(FIND "${path}/" "${dir}/" at)
      if(at EQUAL 0 AND len GREATER best_len)
        set(best "${room}")
        set(best_len ${len})
      endif()
    endforeach()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

# The file `name` names in the first of the folders (relative to ROOT, after
# `out`) that holds it, as an absolute path; empty when none does.
function(find_header name out)
  foreach(dir IN LISTS ARGN)
    if(EXISTS "${ROOT}/${dir}/${name}" AND NOT IS_DIRECTORY "${ROOT}/${dir}/${name}")
      get_filename_component(found "${ROOT}/${dir}/${name}" ABSOLUTE)
      set(${out} "${found}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()

# <barid/...> headers: every room's include/ folder.
set(ANGLE_DIRS sdk/include core/domain/include core/storage/include core/storage/mysql/include
               core/plugin_host/include core/pipeline/include)

set(violations "")
set(scanned 0)
foreach(room IN LISTS ROOMS)
  set(files "")
  foreach(dir IN LISTS ${room}_DIRS)
    file(GLOB_RECURSE found LIST_DIRECTORIES false RELATIVE "${ROOT}"
         "${ROOT}/${dir}/*.hpp" "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.cpp" "${ROOT}/${dir}/*.cpp.in")
    list(APPEND files ${found})
  endforeach()
  foreach(file IN LISTS files)
    # A file in a deeper room's folder belongs to that room.
    room_of("${file}" owner)
    if(NOT owner STREQUAL room)
      continue()
    endif()
    math(EXPR scanned "${scanned} + 1")
    room_name(${room} from)
    get_filename_component(file_dir "${file}" DIRECTORY)
    # Only the #include lines: a line of code with an unbalanced [ would
    # join the lines after it into one list element.
    file(STRINGS "${ROOT}/${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS lines)
      if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"]")
        continue()
      endif()
      set(kind "${CMAKE_MATCH_1}")
      set(name "${CMAKE_MATCH_2}")
      if(kind STREQUAL "\"")
        find_header("${name}" where "${file_dir}" ${QUOTE_DIRS})
        set(missing "\"${name}\" is no file of the tree")
      elseif(name MATCHES "^barid/")
        find_header("${name}" where ${ANGLE_DIRS})
        set(missing "<${name}> is a header of no room")
      else()
        foreach(prefix IN LISTS FORBIDDEN_${room})
          string(FIND "${name}" "${prefix}" at)
          if(at EQUAL 0)
            list(APPEND violations "${file}: ${from} must not include <${name}>")
          endif()
        endforeach()
        continue()
      endif()
      if(NOT where)
        list(APPEND violations "${file}: ${missing}")
        continue()
      endif()
      file(RELATIVE_PATH rel "${ROOT}" "${where}")
      room_of("${rel}" target_room)
      if(NOT target_room)
        list(APPEND violations "${file}: ${name} (${rel}) is in no room")
      elseif(NOT target_room STREQUAL room)
        list(FIND ${room}_MAY "${target_room}" allowed)
        if(allowed EQUAL -1)
          room_name(${target_room} to)
          list(APPEND violations "${file}: ${from} must not include ${to}'s ${name}")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()

if(scanned EQUAL 0)
  message(FATAL_ERROR "CheckIncludes.cmake: no source found under ${ROOT}")
endif()
list(LENGTH violations count)
if(count GREATER 0)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "${count} include(s) cross the rooms' rules:\n  ${text}")
endif()
message(STATUS "include rules: ${scanned} files, every include allowed")
