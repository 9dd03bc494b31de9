# Warning flags for every first-party target (STYLE.md 6.10).  Warnings are
# errors through CMAKE_COMPILE_WARNING_AS_ERROR, set at the top level, so a
# developer with a newer compiler can still build with
# --compile-no-warning-as-error while fixing a new warning.
add_library(cb_build_flags INTERFACE)
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(cb_build_flags INTERFACE
    -Wall -Wextra -Wpedantic
    -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wmissing-declarations -Wformat=2 -Wundef -Wvla
    -Wcast-qual -Wpointer-arith -Wwrite-strings
    -Wimplicit-fallthrough -Wnull-dereference
    -Werror=implicit-function-declaration)
endif()

# Glob a module folder's sources.  CONFIGURE_DEPENDS makes a new file show up
# at the next build without re-running cmake by hand.
function(cb_module name dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${dir}/*.c)
  if(srcs)
    add_library(${name} OBJECT ${srcs})
    target_link_libraries(${name} PRIVATE cb_internal ${CB_DEPENDENCIES})
    target_compile_definitions(${name} PRIVATE CB_BUILDING_LIBRARY)
  endif()
endfunction()
