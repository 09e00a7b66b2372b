# sgl-router tests: unit tests of the tree and the policies, and an integration test that runs
# the router in-process in front of three real sgl-server processes on stories260K.
if(TARGET sgl_router)
  foreach(t test_router_tree test_router_policy test_router_pool test_router_args)
    add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.cpp $<TARGET_OBJECTS:sgl_test_main>)
    target_link_libraries(${t} PRIVATE sgl_router sgl_test_support doctest::doctest)
    add_test(NAME ${t} COMMAND ${t})
    set_tests_properties(${t} PROPERTIES LABELS unit TIMEOUT 120 SKIP_RETURN_CODE 77)
  endforeach()
endif()

find_program(SGL_NODE_EXECUTABLE node)
if(TARGET sgl_router AND TARGET sgl-server AND TARGET sgl-bench-serving)
  add_executable(test_router_integration ${CMAKE_CURRENT_LIST_DIR}/test_router_integration.cpp)
  target_link_libraries(test_router_integration PRIVATE sgl_router doctest::doctest)
  add_test(NAME test_router_integration COMMAND test_router_integration)
  set_tests_properties(test_router_integration PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "SGL_SERVER_BIN=$<TARGET_FILE:sgl-server>;SGL_BENCH_BIN=$<TARGET_FILE:sgl-bench-serving>;SGL_NODE=${SGL_NODE_EXECUTABLE};SGL_NODE_DIR=${PROJECT_SOURCE_DIR}/tests/integration/node")
endif()
