#pragma once
/// @file
/// Core value types: byte strings, fixed-size identifiers and hex encoding.

#include "poe/core/error.hpp"

#include <array>
#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace poe {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

/// Views the characters of `s` as bytes (no copy).
inline byte_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Lower-case hex of `data`.
std::string to_hex(byte_view data);

/// Decodes hex text (upper or lower case, even length). Errors name the offending position.
result<bytes> from_hex(std::string_view text);

/// A fixed-size byte string with a tag that keeps, e.g., node ids and hashes apart.
template <std::size_t N, class Tag>
struct fixed_bytes {
  static constexpr std::size_t size = N;
  std::array<std::uint8_t, N> data{};

  byte_view view() const { return {data.data(), N}; }
  std::string hex() const { return to_hex(view()); }
  bool is_zero() const {
    for (auto b : data)
      if (b != 0) return false;
    return true;
  }

  /// Copies exactly N bytes; any other length is an error.
  static result<fixed_bytes> from_view(byte_view v) {
    if (v.size() != N)
      return fail(errc::invalid_argument,
                  "expected " + std::to_string(N) + " bytes, got " + std::to_string(v.size()));
    fixed_bytes out;
    std::copy(v.begin(), v.end(), out.data.begin());
    return out;
  }

  /// Parses exactly 2N hex digits.
  static result<fixed_bytes> from_hex(std::string_view text) {
    if (text.size() != 2 * N)
      return fail(errc::bad_hex, "expected " + std::to_string(2 * N) + " hex digits, got " +
                                     std::to_string(text.size()));
    auto raw = poe::from_hex(text);
    if (!raw) return raw.err();
    return from_view(*raw);
  }

  friend auto operator<=>(const fixed_bytes&, const fixed_bytes&) = default;
  friend bool operator==(const fixed_bytes&, const fixed_bytes&) = default;
};

struct hash_tag {};
struct node_id_tag {};
struct request_id_tag {};

/// A SHA-256 digest.
using hash256 = fixed_bytes<32, hash_tag>;
/// A node's identity: SHA-256 of the DER SubjectPublicKeyInfo of its public key.
using node_id = fixed_bytes<32, node_id_tag>;
/// A request id: 16 bytes, allocated by the coordinator at intake.
using request_id = fixed_bytes<16, request_id_tag>;

/// Hash functor for unordered containers keyed by fixed_bytes (they are already uniform).
struct fixed_bytes_hash {
  template <std::size_t N, class Tag>
  std::size_t operator()(const fixed_bytes<N, Tag>& v) const {
    static_assert(N >= sizeof(std::size_t));
    std::size_t out;
    std::memcpy(&out, v.data.data(), sizeof out);
    return out;
  }
};

/// Big-endian integer encoding, used by every fixed binary layout of the protocol.
inline void put_u64_be(std::uint8_t* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<std::uint8_t>(v);
}
inline std::uint64_t get_u64_be(const std::uint8_t* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}
inline std::uint32_t get_u32_be(const std::uint8_t* in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | in[i];
  return v;
}
inline void append_u64_be(bytes& out, std::uint64_t v) {
  std::uint8_t buf[8];
  put_u64_be(buf, v);
  out.insert(out.end(), buf, buf + 8);
}
inline void append(bytes& out, byte_view v) { out.insert(out.end(), v.begin(), v.end()); }

} // namespace poe
