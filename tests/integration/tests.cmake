# sgl-server integration tests: the test_server*.cpp executables (globbed by tests/CMakeLists.txt)
# run the server in-process, so they link its library; the official `openai` npm client test
# runs when node is installed (tests/integration/node/install.sh fetches the package; without
# it the test reports "skipped").
if(TARGET sgl_http_server)
  foreach(t test_server test_server_protocol test_server_load test_server_chat test_server_extras test_server_frontend test_server_dp)
    if(TARGET ${t})
      target_link_libraries(${t} PRIVATE sgl_http_server)
    endif()
  endforeach()
endif()

# --dp-size on stories260K needs SGL_SHARED_DIR; without it the test prints SKIPPED.
if(TARGET test_server_dp)
  set_tests_properties(test_server_dp PROPERTIES SKIP_REGULAR_EXPRESSION "SKIPPED ")
endif()

find_program(SGL_NODE_EXECUTABLE node)
if(TARGET sgl_http_server AND SGL_NODE_EXECUTABLE)
  add_executable(sgl_openai_driver ${CMAKE_CURRENT_LIST_DIR}/node/openai_driver.cpp)
  target_include_directories(sgl_openai_driver PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(sgl_openai_driver PRIVATE sgl_http_server sgl_test_support)
  add_test(NAME test_server_openai_client
           COMMAND sgl_openai_driver ${SGL_NODE_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/node)
  set_tests_properties(test_server_openai_client PROPERTIES LABELS integration TIMEOUT 600 SKIP_RETURN_CODE 77
    ENVIRONMENT "SGL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp;SGL_BUILD_DIR=${PROJECT_BINARY_DIR}")
endif()

# The deployment guide's two command lines as written (issue 16): sgl-server on port 5000 with
# SGLang's CUDA flags, sgl-bench-serving with argparse prefixes. Port 5000 is fixed by the
# command line, so the test holds a resource lock no other test takes.
if(TARGET sgl-server AND TARGET sgl-bench-serving)
  add_test(NAME test_reference_cmdlines
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/reference_cmdlines.sh $<TARGET_FILE:sgl-server>
                   $<TARGET_FILE:sgl-bench-serving> ${CMAKE_CURRENT_BINARY_DIR}/tmp/reference_cmdlines)
  set_tests_properties(test_reference_cmdlines PROPERTIES LABELS integration TIMEOUT 700 SKIP_RETURN_CODE 77
    RESOURCE_LOCK port5000)
endif()

# examples/program: an SGLang-style program (fork, select, regex gen) on the C++ API.
if(TARGET sgl-program AND TARGET sgl-mkmodel)
  add_test(NAME test_program_example
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/program_example.sh $<TARGET_FILE:sgl-program>
                   $<TARGET_FILE:sgl-mkmodel> ${CMAKE_CURRENT_BINARY_DIR}/tmp/program_example)
  set_tests_properties(test_program_example PROPERTIES LABELS integration TIMEOUT 180 SKIP_RETURN_CODE 77)
endif()
