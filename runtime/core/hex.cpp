#include "poe/core/types.hpp"

namespace poe {

namespace {

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

std::string to_hex(byte_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0x0f];
  }
  return out;
}

result<bytes> from_hex(std::string_view text) {
  if (text.size() % 2 != 0)
    return fail(errc::bad_hex, "hex text has odd length " + std::to_string(text.size()));
  bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(text[2 * i]);
    int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      auto pos = hi < 0 ? 2 * i : 2 * i + 1;
      return fail(errc::bad_hex, "invalid hex digit at position " + std::to_string(pos));
    }
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

} // namespace poe
