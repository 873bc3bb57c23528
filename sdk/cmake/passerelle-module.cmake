# passerelle_add_module(<name> SOURCES file...)
# Builds <name>.so, a module the daemon loads: hidden symbols (only the entry
# point is exported, so two modules never share a static by accident), no
# "lib" prefix, placed where the daemon looks and installed beside it.
function(passerelle_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  if(TARGET passerelle::sdk)
    target_link_libraries(${name} PRIVATE passerelle::sdk)
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED PASSERELLE_MODULE_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PASSERELLE_MODULE_OUTPUT_DIR})
  endif()
  install(TARGETS ${name} LIBRARY DESTINATION lib/passerelle)
endfunction()
