# Warnings for our own targets only (third-party headers come in as system includes).
add_library(myriad_warnings INTERFACE)
target_compile_options(myriad_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
  # GCC 12 misreports Asio's awaitable frame allocator (operator new/delete pair).
  -Wno-mismatched-new-delete
  $<$<BOOL:${MYRIAD_WERROR}>:-Werror>)

# Adds one gtest executable per test file; the file's suffix is its CTest label:
#   *_test.cpp (pure, in-process; real sockets on loopback allowed),
#   *_pgtest.cpp (real PostgreSQL), *_redistest.cpp (real Redis), *_stacktest.cpp (both).
function(myriad_add_gtests root)
  file(GLOB_RECURSE files CONFIGURE_DEPENDS ${root}/*_test.cpp ${root}/*_pgtest.cpp ${root}/*_redistest.cpp ${root}/*_stacktest.cpp)
  foreach(file IN LISTS files)
    get_filename_component(name ${file} NAME_WE)
    file(RELATIVE_PATH rel ${CMAKE_CURRENT_SOURCE_DIR} ${file})
    get_filename_component(dir ${rel} DIRECTORY)
    string(REPLACE "/" "_" prefix "${dir}")
    set(target "${prefix}_${name}")
    add_executable(${target} ${file})
    target_link_libraries(${target} PRIVATE myriad_objs myriad_test_support myriad_warnings GTest::gtest GTest::gmock GTest::gtest_main)
    if(dir MATCHES "loadgen")
      # tests/*/loadgen/ test the load generator (tools/loadgen/).
      target_link_libraries(${target} PRIVATE myriad_load_objs)
    endif()
    string(REGEX MATCH "_(test|pgtest|redistest|stacktest)$" suffix "${name}")
    string(SUBSTRING "${suffix}" 1 -1 label)
    set(properties LABELS ${label} TIMEOUT 300)
    if(label STREQUAL "stacktest")
      # PostgreSQL and Redis together: the `stack` fixture of tests/CMakeLists.txt starts
      # both under <build>/stacktest (one fixture and one variable: gtest discovery cannot
      # pass list-valued properties).
      list(APPEND properties FIXTURES_REQUIRED stack
           ENVIRONMENT "MYRIAD_STACKTEST_DIR=${CMAKE_BINARY_DIR}/stacktest")
    elseif(label STREQUAL "pgtest")
      # A running PostgreSQL: the `postgres` fixture of tests/CMakeLists.txt starts it in
      # <build>/pgtest; support/pg_support.hpp's TestDatabaseUrl() reads its URL from there.
      list(APPEND properties FIXTURES_REQUIRED postgres
           ENVIRONMENT "MYRIAD_PGTEST_DIR=${CMAKE_BINARY_DIR}/pgtest")
    elseif(label STREQUAL "redistest")
      # A running Redis: the `redis` fixture of tests/CMakeLists.txt starts it in
      # <build>/redistest; support/redis_support.hpp's TestRedisUrl() reads its URL from there.
      list(APPEND properties FIXTURES_REQUIRED redis
           ENVIRONMENT "MYRIAD_REDISTEST_DIR=${CMAKE_BINARY_DIR}/redistest")
    endif()
    gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 PROPERTIES ${properties})
  endforeach()
endfunction()
