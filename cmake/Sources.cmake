# Sources are collected by directory so each module owns its files without editing this list.
# SIMD kernels are compiled once per ISA: files named *_avx2.cpp get AVX2+FMA+F16C, files named
# *_avx512.cpp get AVX-512 (F/BW/VL/DQ/VNNI/BF16); the CPU backend picks one at run time.
file(GLOB_RECURSE SGL_CORE_SOURCES CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/src/core/*.cpp
  ${PROJECT_SOURCE_DIR}/src/kernels/*.cpp
  ${PROJECT_SOURCE_DIR}/capi/*.cpp)
list(FILTER SGL_CORE_SOURCES EXCLUDE REGEX "/src/kernels/gcu/")
if(NOT SGL_HAVE_GLOO)
  list(FILTER SGL_CORE_SOURCES EXCLUDE REGEX "_gloo\\.cpp$")
endif()

foreach(src IN LISTS SGL_CORE_SOURCES)
  if(src MATCHES "_avx2\\.cpp$")
    set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mbmi2")
  elseif(src MATCHES "_avx512\\.cpp$")
    set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
      "-mavx2;-mfma;-mf16c;-mbmi2;-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512bf16")
  endif()
endforeach()

add_library(sgl_objects OBJECT ${SGL_CORE_SOURCES})
target_include_directories(sgl_objects
  PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/capi>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>)
target_compile_definitions(sgl_objects PRIVATE SGL_BUILDING_LIBRARY SGL_ABI_VERSION_NUM=${SGL_ABI_VERSION}
  SGL_VERSION_STRING="${PROJECT_VERSION}")
target_link_libraries(sgl_objects PUBLIC TBB::tbb fmt::fmt nlohmann_json::nlohmann_json
  PkgConfig::XXHASH PkgConfig::UTF8PROC Threads::Threads)
if(SGL_HAVE_GLOO)
  target_compile_definitions(sgl_objects PRIVATE SGL_HAVE_GLOO)
  target_link_libraries(sgl_objects PUBLIC gloo)
endif()

# Static library: the whole C++ API (include/sgl) and the C API; used by tests, tools and C++ hosts.
add_library(sgl_static STATIC $<TARGET_OBJECTS:sgl_objects>)
set_target_properties(sgl_static PROPERTIES OUTPUT_NAME sgl)
target_include_directories(sgl_static PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/capi>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(sgl_static PUBLIC TBB::tbb fmt::fmt PkgConfig::XXHASH PkgConfig::UTF8PROC
  Threads::Threads ${CMAKE_DL_LIBS} $<$<BOOL:${SGL_HAVE_GLOO}>:gloo>)

# Shared library: exports only the stable C ABI (sgl_* symbols), versioned by soname.
add_library(sgl SHARED $<TARGET_OBJECTS:sgl_objects>)
set_target_properties(sgl PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${SGL_ABI_VERSION}
  LINK_FLAGS "-Wl,--version-script=${PROJECT_SOURCE_DIR}/capi/sgl.map -Wl,--no-undefined")
set_property(TARGET sgl APPEND PROPERTY LINK_DEPENDS ${PROJECT_SOURCE_DIR}/capi/sgl.map)
target_include_directories(sgl PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/capi>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(sgl PRIVATE TBB::tbb fmt::fmt PkgConfig::XXHASH PkgConfig::UTF8PROC Threads::Threads
  $<$<BOOL:${SGL_HAVE_GLOO}>:gloo>)
add_library(sgl::sgl ALIAS sgl)
add_library(sgl::sgl_static ALIAS sgl_static)
