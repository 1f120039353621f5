#include "poe/storage/cid.hpp"

#include "poe/core/sha256.hpp"

namespace poe::storage {

namespace {

constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

void put_varint(bytes& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

/// Reads a minimal unsigned LEB128 of at most 9 bytes (the multiformats limit).
bool get_varint(byte_view in, std::size_t& pos, std::uint64_t& v) {
  v = 0;
  for (int i = 0; i < 9; ++i) {
    if (pos >= in.size()) return false;
    auto b = in[pos++];
    v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) return !(i > 0 && b == 0); // no redundant trailing zero byte
  }
  return false;
}

} // namespace

std::string base32_lower(byte_view data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (auto b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

result<bytes> base32_decode(std::string_view text) {
  bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'a' && c <= 'z')
      v = c - 'a';
    else if (c >= '2' && c <= '7')
      v = c - '2' + 26;
    else
      return fail(errc::decode_error, std::string("not a base32 (lower case) character: '") +
                                        c + "'");
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  // Canonical: the leftover bits are fewer than 5 and zero.
  if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0)
    return fail(errc::decode_error, "non-canonical base32 length or padding bits");
  return out;
}

cid cid::of(byte_view data) {
  return cid(codec_raw, sha256::digest(data));
}

cid cid::of_digest(std::uint64_t codec, const hash256& d) {
  return cid(codec, d);
}

bytes cid::to_bytes() const {
  bytes out;
  put_varint(out, 1);
  put_varint(out, codec_);
  put_varint(out, multihash_sha2_256);
  put_varint(out, 32);
  append(out, digest_.view());
  return out;
}

std::string cid::str() const {
  return "b" + base32_lower(to_bytes());
}

bool cid::matches(byte_view data) const {
  return sha256::digest(data) == digest_;
}

result<cid> cid::from_bytes(byte_view in) {
  std::size_t pos = 0;
  std::uint64_t version = 0, codec = 0, hash_fn = 0, len = 0;
  if (!get_varint(in, pos, version) || version != 1)
    return fail(errc::decode_error, "not a CIDv1");
  if (!get_varint(in, pos, codec) || (codec != codec_raw && codec != codec_manifest))
    return fail(errc::decode_error, "unsupported codec (raw 0x55 and poe-manifest 0x300001 only)");
  if (!get_varint(in, pos, hash_fn) || hash_fn != multihash_sha2_256)
    return fail(errc::decode_error, "unsupported multihash (sha2-256 only)");
  if (!get_varint(in, pos, len) || len != 32)
    return fail(errc::decode_error, "sha2-256 digest length must be 32");
  if (in.size() - pos != 32) return fail(errc::decode_error, "wrong CID length");
  hash256 d;
  std::copy(in.begin() + static_cast<std::ptrdiff_t>(pos), in.end(), d.data.begin());
  return cid(codec, d);
}

result<cid> cid::parse(std::string_view text) {
  if (text.empty() || text.front() != 'b')
    return fail(errc::decode_error, "a CID here is CIDv1 in base32 lower case, starting with 'b'");
  if (text.size() > 128) return fail(errc::decode_error, "CID text too long");
  auto raw = base32_decode(text.substr(1));
  if (!raw) return fail(errc::decode_error, "CID: " + raw.err().message);
  auto c = from_bytes(*raw);
  if (!c) return fail(errc::decode_error, "CID: " + c.err().message);
  return c;
}

} // namespace poe::storage
