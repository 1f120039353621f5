#include "poe/storage/manifest.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/sha256.hpp"

#include <cstring>

namespace poe::storage {

namespace {
constexpr char magic[] = "poe/manifest/v1";
constexpr std::size_t magic_len = sizeof(magic) - 1;

bool printable(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}
} // namespace

bytes encode(const manifest& m) {
  bytes out(magic, magic + magic_len);
  out.push_back(static_cast<std::uint8_t>(m.media_type.size()));
  append(out, as_bytes(m.media_type));
  append_u64_be(out, m.total_size);
  append_u32_be(out, m.chunk_size);
  append_u32_be(out, static_cast<std::uint32_t>(m.chunks.size()));
  for (auto& c : m.chunks) {
    auto b = c.id.to_bytes();
    out.push_back(static_cast<std::uint8_t>(b.size()));
    append(out, b);
    append_u64_be(out, c.size);
  }
  return out;
}

result<manifest> decode_manifest(byte_view in, std::uint64_t max_total) {
  if (in.size() < magic_len || std::memcmp(in.data(), magic, magic_len) != 0)
    return fail(errc::decode_error, "not a manifest (magic \"poe/manifest/v1\" missing)");
  byte_reader r{in.subspan(magic_len)};
  manifest m;
  auto mt = r.take(r.u8());
  m.media_type.assign(mt.begin(), mt.end());
  m.total_size = r.u64();
  m.chunk_size = r.u32();
  auto count = r.u32();
  if (!r.ok()) return fail(errc::decode_error, "manifest truncated");
  if (!printable(m.media_type)) return fail(errc::decode_error, "media type is not printable ASCII");
  if (m.chunk_size == 0 || m.chunk_size > max_chunk_size)
    return fail(errc::decode_error, "chunk size out of range");
  if (m.total_size > max_total)
    return fail(errc::decode_error, "object larger than the limit of " +
                                      std::to_string(max_total) + " bytes");
  auto expected = (m.total_size + m.chunk_size - 1) / m.chunk_size;
  if (count != expected)
    return fail(errc::decode_error, "chunk count " + std::to_string(count) + " does not fit " +
                                      std::to_string(m.total_size) + " bytes");
  std::uint64_t sum = 0;
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    auto raw = r.take(r.u8());
    auto size = r.u64();
    if (!r.ok()) break;
    auto id = cid::from_bytes(raw);
    if (!id || id->codec() != codec_raw)
      return fail(errc::decode_error, "chunk " + std::to_string(i) + ": not a raw CID");
    bool last = i + 1 == count;
    if (size == 0 || size > m.chunk_size || (!last && size != m.chunk_size))
      return fail(errc::decode_error, "chunk " + std::to_string(i) + ": wrong size");
    sum += size;
    m.chunks.push_back({*id, size});
  }
  if (!r.ok()) return fail(errc::decode_error, "manifest truncated");
  if (!r.done()) return fail(errc::decode_error, "trailing bytes after the manifest");
  if (sum != m.total_size) return fail(errc::decode_error, "chunk sizes do not add up");
  return m;
}

cid manifest_cid(const manifest& m) {
  return cid::of_digest(codec_manifest, sha256::digest(encode(m)));
}

manifest_builder::manifest_builder(std::string media_type, std::uint32_t chunk_size) {
  m_.media_type = std::move(media_type);
  m_.chunk_size = chunk_size;
}

result<cid> manifest_builder::add(byte_view chunk) {
  if (closed_) return fail(errc::invalid_argument, "a short chunk must be the last one");
  if (chunk.empty() || chunk.size() > m_.chunk_size)
    return fail(errc::invalid_argument, "chunk of " + std::to_string(chunk.size()) +
                                          " bytes (1.." + std::to_string(m_.chunk_size) + ")");
  if (chunk.size() < m_.chunk_size) closed_ = true;
  auto id = cid::of(chunk);
  m_.chunks.push_back({id, chunk.size()});
  m_.total_size += chunk.size();
  return id;
}

manifest manifest_builder::finish() && {
  return std::move(m_);
}

} // namespace poe::storage
