# Fails the build when any core object depends on a PostgreSQL header: the core is
# linked into the sidecar and the tests, which have no PostgreSQL, and it must stay
# usable there (docs/architecture.md). Reads the compiler's dependency files.
file(GLOB depfiles "${OBJ_DIR}/*.d")
if(NOT depfiles)
  message(FATAL_ERROR "core header check: no dependency files in ${OBJ_DIR}")
endif()
foreach(f ${depfiles})
  file(READ "${f}" deps)
  if(deps MATCHES "[/ ](postgresql|postgres\\.h|fmgr\\.h|pg_config\\.h)")
    message(FATAL_ERROR "core must not include PostgreSQL headers: ${f} depends on ${CMAKE_MATCH_0}")
  endif()
endforeach()
