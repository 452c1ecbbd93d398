# The project's own code builds with -Wall -Wextra -Werror. Third-party headers
# come in through IMPORTED targets, whose include directories are SYSTEM, so
# their warnings do not fail the build.
function(barid_strict_warnings target)
  if(BARID_FUZZ OR BARID_SANITIZE)
    # The fuzz build uses clang, and the sanitizers change what the optimiser
    # sees (and so g++'s flow warnings): the -Werror gate is the regular
    # build's.
    target_compile_options(${target} PRIVATE -Wall -Wextra)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  endif()
endfunction()
