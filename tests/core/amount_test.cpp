// Scenarios:
// - add/sub/mul succeed in range and fail (never wrap) at the edges
// - mul_div computes shares in 128 bits; zero denominator and overflow are errors
// - parse_amount accepts decimal digits only and rejects overflow

#include "poe/core/amount.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace poe;

constexpr auto max = std::numeric_limits<std::uint64_t>::max();

TEST_CASE("checked add and sub") {
  CHECK(*checked_add(amount{2}, amount{3}) == amount{5});
  CHECK(*checked_add(amount{max - 1}, amount{1}) == amount{max});
  auto over = checked_add(amount{max}, amount{1});
  REQUIRE_FALSE(over);
  CHECK(over.err().code == errc::overflow);
  CHECK(*checked_sub(amount{5}, amount{5}) == amount{0});
  auto under = checked_sub(amount{4}, amount{5});
  REQUIRE_FALSE(under);
  CHECK(under.err().code == errc::underflow);
}

TEST_CASE("checked mul") {
  CHECK(*checked_mul(amount{1u << 31}, 4) == amount{1ull << 33});
  CHECK_FALSE(checked_mul(amount{max / 2 + 1}, 2));
  CHECK(*checked_mul(amount{max}, 1) == amount{max});
  CHECK(*checked_mul(amount{max}, 0) == amount{0});
}

TEST_CASE("mul_div for revenue shares") {
  // 70 % of 1001 base units rounds down.
  CHECK(*mul_div(amount{1001}, 70, 100) == amount{700});
  // The intermediate product exceeds 64 bits but the result does not.
  CHECK(*mul_div(amount{max}, 3, 4) == amount{max / 4 * 3 + 2});
  CHECK_FALSE(mul_div(amount{max}, 2, 1));
  auto zero = mul_div(amount{1}, 1, 0);
  REQUIRE_FALSE(zero);
  CHECK(zero.err().code == errc::invalid_argument);
}

TEST_CASE("parse_amount") {
  CHECK(*parse_amount("0") == amount{0});
  CHECK(*parse_amount("18446744073709551615") == amount{max});
  CHECK(parse_amount("18446744073709551616").err().code == errc::overflow);
  CHECK_FALSE(parse_amount(""));
  CHECK_FALSE(parse_amount("-1"));
  CHECK_FALSE(parse_amount("1.5"));
  CHECK_FALSE(parse_amount(" 1"));
}
