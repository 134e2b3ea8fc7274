# cmake -DROOT=<source dir> -P standard_includes.cmake
cmake_minimum_required(VERSION 3.25)
# Include what you use, for the standard library: a public header that names one of these standard
# types or functions includes the header that declares it, rather than relying on another header to
# bring it in (which differs between libstdc++ and libc++, and between their versions). Comments are
# skipped. The table is the part of the standard library parex's headers use.
set(table
  "std::u?int(8|16|32|64)_t|std::u?intptr_t=cstdint"
  "std::size_t|std::ptrdiff_t|std::max_align_t|std::byte=cstddef"
  "std::atomic|std::atomic_ref|std::memory_order=atomic"
  "std::vector=vector"
  "std::string[^_v]|std::to_string=string"
  "std::string_view=string_view"
  "std::unique_ptr|std::shared_ptr|std::make_unique|std::make_shared=memory"
  "std::mutex|std::lock_guard|std::unique_lock|std::scoped_lock|std::once_flag|std::call_once=mutex"
  "std::condition_variable=condition_variable"
  "std::optional|std::nullopt=optional"
  "std::function[^a-z_]=functional"
  "std::stop_token|std::stop_source|std::stop_callback=stop_token"
  "std::thread|std::jthread=thread"
  "std::exception_ptr|std::current_exception|std::rethrow_exception=exception"
  "std::deque=deque"
  "std::map[^a-z_]=map"
  "std::numeric_limits=limits"
  "std::chrono::=chrono"
  "std::memcpy|std::memset|std::memcmp|std::strlen=cstring"
  "std::move[^_a-z]|std::forward[^_a-z]|std::exchange|std::swap|std::pair=utility"
  "std::is_[a-z_]+_v|std::conditional_t|std::invoke_result|std::remove_cvref_t|std::decay_t=type_traits"
  "std::invocable|std::convertible_to|std::same_as|std::integral=concepts"
  "std::sort|std::min[^a-z_]|std::max[^a-z_]|std::fill|std::copy|std::equal|std::find=algorithm"
)
file(GLOB_RECURSE headers "${ROOT}/include/*.hpp")
set(offenders "")
foreach(header IN LISTS headers)
  file(READ "${header}" text)
  string(REGEX REPLACE "//[^\n]*" "" code "${text}")
  foreach(entry IN LISTS table)
    string(REGEX MATCH "^(.*)=([a-z_]+)$" _ "${entry}")
    set(symbols "${CMAKE_MATCH_1}")
    set(needed "${CMAKE_MATCH_2}")
    string(REGEX MATCH "${symbols}" found "${code}")
    if(found AND NOT text MATCHES "#include <${needed}>")
      file(RELATIVE_PATH where "${ROOT}" "${header}")
      list(APPEND offenders "${where}: uses ${found} without #include <${needed}>")
    endif()
  endforeach()
endforeach()
if(offenders)
  list(JOIN offenders "\n" message)
  message(FATAL_ERROR "public headers use standard names without their headers:\n${message}")
endif()
list(LENGTH headers count)
message(STATUS "${count} headers include the standard headers of the names they use")
