#include "poe/core/amount.hpp"

#include <limits>

namespace poe {

result<amount> checked_add(amount a, amount b) {
  std::uint64_t out;
  if (__builtin_add_overflow(a.units(), b.units(), &out))
    return fail(errc::overflow, "amount overflow: " + a.to_string() + " + " + b.to_string());
  return amount{out};
}

result<amount> checked_sub(amount a, amount b) {
  if (b.units() > a.units())
    return fail(errc::underflow, "amount underflow: " + a.to_string() + " - " + b.to_string());
  return amount{a.units() - b.units()};
}

result<amount> checked_mul(amount a, std::uint64_t k) {
  std::uint64_t out;
  if (__builtin_mul_overflow(a.units(), k, &out))
    return fail(errc::overflow,
                "amount overflow: " + a.to_string() + " * " + std::to_string(k));
  return amount{out};
}

result<amount> mul_div(amount a, std::uint64_t num, std::uint64_t den) {
  if (den == 0) return fail(errc::invalid_argument, "mul_div: zero denominator");
  auto wide = static_cast<unsigned __int128>(a.units()) * num / den;
  if (wide > std::numeric_limits<std::uint64_t>::max())
    return fail(errc::overflow, "amount overflow: " + a.to_string() + " * " +
                                    std::to_string(num) + " / " + std::to_string(den));
  return amount{static_cast<std::uint64_t>(wide)};
}

result<amount> parse_amount(std::string_view text) {
  if (text.empty()) return fail(errc::invalid_argument, "empty amount");
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return fail(errc::invalid_argument,
                  "amount '" + std::string{text} + "' is not a decimal count of base units");
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, unsigned(c - '0'), &v))
      return fail(errc::overflow, "amount '" + std::string{text} + "' exceeds 2^64-1");
  }
  return amount{v};
}

} // namespace poe
