# Unit tests of sgl-server pieces that need no model or socket link the server library.
if(TARGET sgl_http_server)
  foreach(t test_server_args test_chat_parsers)
    if(TARGET ${t})
      target_link_libraries(${t} PRIVATE sgl_http_server)
    endif()
  endforeach()
endif()
