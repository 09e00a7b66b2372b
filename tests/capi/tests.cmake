# Tests of the stable C ABI (capi/sgl.h), included by tests/CMakeLists.txt.
#  - test_capi, test_capi_threads: C99 programs (the header compiled as C) linked to sgl_static;
#    label `unit`, so the sanitizer build runs them under ASan+UBSan.
#  - capi_symbols: libsgl.so exports exactly the names in capi/sgl.symbols, which are exactly the
#    functions sgl.h declares, and its soname carries the ABI version.
#  - capi_examples: builds and runs examples/c, examples/rust (cargo --offline) and examples/go
#    (cgo) against a synthetic model and checks that they print the same output as each other
#    and as the C++ API (capi_cpp_reference). Label `integration`; skipped (77) without cargo/go.
set(SGL_CAPI_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

add_library(capi_test_fixture STATIC ${SGL_CAPI_TEST_DIR}/model_fixture.cpp)
target_link_libraries(capi_test_fixture PUBLIC sgl_static)
target_include_directories(capi_test_fixture PUBLIC ${SGL_CAPI_TEST_DIR} PRIVATE ${PROJECT_SOURCE_DIR}/src)

foreach(name test_capi test_capi_threads)
  add_executable(${name} ${SGL_CAPI_TEST_DIR}/${name}.c)
  # C99 code, but the static library needs the C++ runtime: link with the C++ driver.
  set_target_properties(${name} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
    LINKER_LANGUAGE CXX)
  target_compile_options(${name} PRIVATE -pedantic -Werror=pedantic -Wall -Wextra)
  target_link_libraries(${name} PRIVATE capi_test_fixture sgl_static Threads::Threads)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 300
    ENVIRONMENT "SGL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp")
endforeach()

add_test(NAME capi_symbols
  COMMAND bash ${SGL_CAPI_TEST_DIR}/check_symbols.sh $<TARGET_FILE:sgl> ${PROJECT_SOURCE_DIR}/capi ${SGL_ABI_VERSION})
set_tests_properties(capi_symbols PROPERTIES LABELS unit TIMEOUT 60)

add_executable(capi_cpp_reference ${SGL_CAPI_TEST_DIR}/cpp_reference.cpp)
target_link_libraries(capi_cpp_reference PRIVATE sgl_static)
if(TARGET sgl-mkmodel AND TARGET sgl-example-c)
  add_test(NAME capi_examples
    COMMAND bash ${SGL_CAPI_TEST_DIR}/run_examples.sh
      --src ${PROJECT_SOURCE_DIR} --work ${CMAKE_CURRENT_BINARY_DIR}/capi_examples
      --lib $<TARGET_FILE:sgl> --mkmodel $<TARGET_FILE:sgl-mkmodel>
      --c-example $<TARGET_FILE:sgl-example-c> --cpp-reference $<TARGET_FILE:capi_cpp_reference>)
  set_tests_properties(capi_examples PROPERTIES LABELS integration TIMEOUT 900 SKIP_RETURN_CODE 77)
endif()
