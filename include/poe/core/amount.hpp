#pragma once
/// @file
/// Money: an unsigned 64-bit count of base units. Never floating point; every operation
/// that could wrap returns an error instead.

#include "poe/core/error.hpp"

#include <compare>
#include <cstdint>
#include <string>

namespace poe {

/// An amount of base units. Arithmetic is checked: overflow and underflow are errors.
class amount {
public:
  constexpr amount() = default;
  constexpr explicit amount(std::uint64_t units) : units_(units) {}

  constexpr std::uint64_t units() const { return units_; }
  std::string to_string() const { return std::to_string(units_); }

  friend constexpr auto operator<=>(amount, amount) = default;
  friend constexpr bool operator==(amount, amount) = default;

private:
  std::uint64_t units_ = 0;
};

/// a + b, or errc::overflow.
result<amount> checked_add(amount a, amount b);
/// a - b, or errc::underflow when b > a.
result<amount> checked_sub(amount a, amount b);
/// a * k, or errc::overflow.
result<amount> checked_mul(amount a, std::uint64_t k);
/// floor(a * num / den) computed in 128 bits (shares, splits); den == 0 is invalid_argument,
/// a result above 2^64-1 is overflow.
result<amount> mul_div(amount a, std::uint64_t num, std::uint64_t den);
/// Parses a decimal count of base units ("12345"); rejects signs, spaces and overflow.
result<amount> parse_amount(std::string_view text);

} // namespace poe
