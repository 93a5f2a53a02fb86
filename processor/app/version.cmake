# Writes version.h with the commit the tree is at, at every build; configure_file rewrites the
# file only when it changes, so nothing rebuilds for nothing.
execute_process(COMMAND git -C "${SOURCE_DIR}" describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE DLR_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT DLR_GIT_COMMIT)
  set(DLR_GIT_COMMIT "unknown")
endif()
configure_file("${SOURCE_DIR}/processor/app/version.h.in" "${OUTPUT}" @ONLY)
