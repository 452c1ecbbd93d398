# The project's own code builds with -Wall -Wextra -Werror. Third-party headers
# come in through IMPORTED targets, whose include directories are SYSTEM, so
# their warnings do not fail the build.
function(barid_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()
