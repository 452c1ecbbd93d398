# The project's own code builds with -Wall -Wextra -Werror. Third-party headers
# come in through IMPORTED targets, whose include directories are SYSTEM, so
# their warnings do not fail the build.
function(barid_strict_warnings target)
  if(BARID_FUZZ)
    # The fuzz build uses clang, whose warnings differ from g++'s: the
    # -Werror gate is the regular (g++) build's.
    target_compile_options(${target} PRIVATE -Wall -Wextra)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  endif()
endfunction()
