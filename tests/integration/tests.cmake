# sgl-server integration tests: the test_server*.cpp executables (globbed by tests/CMakeLists.txt)
# run the server in-process, so they link its library; the official `openai` npm client test
# runs when node is installed (tests/integration/node/install.sh fetches the package; without
# it the test reports "skipped").
if(TARGET sgl_http_server)
  foreach(t test_server test_server_protocol test_server_load)
    if(TARGET ${t})
      target_link_libraries(${t} PRIVATE sgl_http_server)
    endif()
  endforeach()
endif()
