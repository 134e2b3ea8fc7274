#pragma once
// parex/detail/stop_call.hpp: calling user code that may take a trailing std::stop_token (chunk
// functions, pipeline stages, submitted tasks), the one rule of every header that accepts both forms.

#include <concepts>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace parex::detail {

/// Whether F can be called with Args and a trailing std::stop_token.
template <class F, class... Args>
inline constexpr bool takes_stop = std::invocable<F&, Args..., std::stop_token>;

/// f(args..., stop) when f takes a trailing token, else f(args...).
template <class F, class... Args>
decltype(auto) call_with_stop(F& f, std::stop_token stop, Args&&... args) {
    if constexpr (takes_stop<F, Args...>)
        return f(std::forward<Args>(args)..., std::move(stop));
    else
        return f(std::forward<Args>(args)...);
}

/// What call_with_stop(f, stop, args...) returns.
template <class F, class... Args>
using stop_call_result_t =
    typename std::conditional_t<takes_stop<F, Args...>, std::invoke_result<F&, Args..., std::stop_token>,
                                std::invoke_result<F&, Args...>>::type;

}  // namespace parex::detail
