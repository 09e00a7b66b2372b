# Installs sgl into a scratch prefix and builds a host project against it (find_package + pkg-config).
if(NOT SGL_SANITIZE)
  add_test(NAME install_consumer COMMAND ${CMAKE_CURRENT_LIST_DIR}/check_install.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(install_consumer PROPERTIES LABELS integration TIMEOUT 600)
endif()
