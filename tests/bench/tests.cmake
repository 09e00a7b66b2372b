# Smoke run of sgl-bench-serving against a real sgl-server on a synthetic model: checks that every
# JSONL metric is present and sane. Registered only when the server and the tools are built.
if(TARGET sgl-server AND TARGET sgl-bench-serving AND TARGET sgl-mkmodel)
  add_test(NAME test_bench_serving_smoke
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/bench_serving_smoke.sh $<TARGET_FILE:sgl-server>
                   $<TARGET_FILE:sgl-bench-serving> $<TARGET_FILE:sgl-mkmodel> ${CMAKE_CURRENT_BINARY_DIR}/tmp/bench_smoke)
  set_tests_properties(test_bench_serving_smoke PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

# sgl-bench-one-batch on a tiny synthetic model: one JSONL record per grid point, positive figures.
if(TARGET sgl-bench-one-batch AND TARGET sgl-mkmodel)
  add_test(NAME test_bench_one_batch_smoke
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/bench_one_batch_smoke.sh $<TARGET_FILE:sgl-bench-one-batch>
                   $<TARGET_FILE:sgl-mkmodel> ${CMAKE_CURRENT_BINARY_DIR}/tmp/bench_one_batch_smoke)
  set_tests_properties(test_bench_one_batch_smoke PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()
