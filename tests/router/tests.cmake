# sgl-router tests: unit tests of the tree and the policies, and an integration test that runs
# the router in-process in front of three real sgl-server processes on stories260K.
if(TARGET sgl_router)
  foreach(t test_router_tree test_router_policy)
    add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.cpp $<TARGET_OBJECTS:sgl_test_main>)
    target_link_libraries(${t} PRIVATE sgl_router sgl_test_support doctest::doctest)
    add_test(NAME ${t} COMMAND ${t})
    set_tests_properties(${t} PROPERTIES LABELS unit TIMEOUT 120)
  endforeach()
endif()
