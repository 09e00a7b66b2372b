# sgl-bench-serving is an HTTP client: Debian ships cpp-httplib compiled (pkg-config cpp-httplib).
if(TARGET sgl-bench-serving)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(SGL_BENCH_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  find_package(CLI11 REQUIRED)
  target_link_libraries(sgl-bench-serving PRIVATE PkgConfig::SGL_BENCH_HTTPLIB CLI11::CLI11 nlohmann_json::nlohmann_json fmt::fmt)
endif()
