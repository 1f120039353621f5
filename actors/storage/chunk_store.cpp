#include "chunk_store.hpp"

#include "poe/core/byte_io.hpp"

#include <map>

namespace poe::actors {

using storage::cid;

namespace {
constexpr const char* cf = chunk_store::column_family;

bytes u32_bytes(std::uint32_t v) {
  bytes out;
  append_u32_be(out, v);
  return out;
}
} // namespace

bytes chunk_store::key(char kind, const cid& id) {
  bytes k{static_cast<std::uint8_t>(kind), '/'};
  append(k, id.to_bytes());
  return k;
}

chunk_store::chunk_store(store::db& db, std::uint64_t max_object) : db_(db), max_object_(max_object) {
  auto st = db_.for_each(cf, as_bytes("c/"), [this](byte_view, byte_view v) {
    bytes_ += v.size();
    ++chunks_;
    return true;
  });
  (void)st; // an unreadable store shows up on the first real operation
  // Usage: every owned file from the time it was stored.
  (void)db_.for_each(cf, as_bytes("o/"), [this](byte_view k, byte_view v) {
    auto id = cid::from_bytes(k.subspan(2));
    if (!id || v.size() < 8) return true;
    std::string owner(v.begin(), v.end() - 8);
    if (owner.empty()) return true;
    if (auto m = get_manifest(*id)) usage_.add(owner, m->total_size, get_u64_be(v.data() + v.size() - 8));
    return true;
  });
}

result<cid> chunk_store::put_chunk(byte_view data) {
  auto id = cid::of(data); // hashed once: the CID is the bytes' own
  if (auto st = store_chunk(id, data); !st) return st.err();
  return id;
}

status chunk_store::put_chunk(const cid& id, byte_view data) {
  if (id.codec() != storage::codec_raw) return fail(errc::invalid_argument, "not a chunk CID");
  if (!id.matches(data))
    return fail(errc::verify_failed, "refused: the bytes do not match " + id.str());
  return store_chunk(id, data);
}

status chunk_store::store_chunk(const cid& id, byte_view data) {
  if (data.empty() || data.size() > storage::max_chunk_size)
    return fail(errc::invalid_argument, "chunk of " + std::to_string(data.size()) +
                                          " bytes (1.." + std::to_string(storage::max_chunk_size) +
                                          ")");
  auto k = key('c', id);
  auto there = db_.contains(cf, k);
  if (!there) return there.err();
  if (*there) return {};
  if (auto st = db_.put(cf, k, data); !st) return st;
  bytes_ += data.size();
  ++chunks_;
  return {};
}

result<bytes> chunk_store::get_chunk(const cid& id) const {
  auto v = db_.get(cf, key('c', id), store::read_mode::once); // media: read once per request
  if (!v) return v.err();
  if (!*v) return fail(errc::invalid_argument, "not stored: " + id.str());
  if (!id.matches(**v)) return fail(errc::verify_failed, "corrupt chunk " + id.str());
  return std::move(**v);
}

bool chunk_store::has(const cid& id) const {
  auto there = db_.contains(cf, key(id.is_manifest() ? 'm' : 'c', id));
  return there && *there;
}

std::uint32_t chunk_store::refs(const cid& id) const {
  auto v = db_.get(cf, key('r', id));
  if (!v || !*v || (*v)->size() != 4) return 0;
  byte_reader r{**v};
  return r.u32();
}

result<cid> chunk_store::put_manifest(byte_view encoded, const std::string& owner,
                                      std::uint64_t now_ms, bool require_chunks) {
  auto m = storage::decode_manifest(encoded, max_object_);
  if (!m) return fail(errc::invalid_argument, "manifest refused: " + m.err().message);
  if (require_chunks)
    for (auto& c : m->chunks)
      if (!has(c.id)) return fail(errc::invalid_argument, "chunk missing: " + c.id.str());
  auto id = storage::manifest_cid(*m);
  if (has(id)) return id;
  store::batch b;
  b.put(cf, key('m', id), encoded);
  std::map<cid, std::uint32_t> counts;
  for (auto& c : m->chunks)
    ++counts[c.id];
  for (auto& [c, n] : counts)
    b.put(cf, key('r', c), u32_bytes(refs(c) + n));
  bytes o(owner.begin(), owner.end());
  append_u64_be(o, now_ms);
  b.put(cf, key('o', id), o);
  if (auto st = db_.write(b, store::write_mode::sync); !st) return st.err();
  if (!owner.empty()) usage_.add(owner, m->total_size, now_ms);
  return id;
}

status chunk_store::repair_chunk(const cid& id, byte_view data) {
  if (!id.matches(data)) return fail(errc::verify_failed, "repair refused: bytes do not match");
  auto old = db_.get(cf, key('c', id));
  if (!old) return old.err();
  if (auto st = db_.put(cf, key('c', id), data, store::write_mode::sync); !st) return st;
  if (!*old) {
    bytes_ += data.size();
    ++chunks_;
  }
  return {};
}

result<std::vector<cid>> chunk_store::all() const {
  std::vector<cid> out;
  for (auto prefix : {"c/", "m/"}) {
    auto st = db_.for_each(cf, as_bytes(prefix), [&](byte_view k, byte_view) {
      if (auto id = cid::from_bytes(k.subspan(2))) out.push_back(*id);
      return true;
    });
    if (!st) return st.err();
  }
  return out;
}

std::optional<cid> chunk_store::chunk_near(const hash256& point) const {
  std::optional<cid> out;
  auto take = [&](byte_view k, byte_view) {
    if (auto id = cid::from_bytes(k.subspan(2))) out = *id;
    return false; // the first one is enough
  };
  (void)db_.for_each(cf, as_bytes("c/"), take, key('c', cid::of_digest(storage::codec_raw, point)));
  if (!out) (void)db_.for_each(cf, as_bytes("c/"), take); // past the last key: wrap around
  return out;
}

result<storage::manifest> chunk_store::get_manifest(const cid& id) const {
  if (!id.is_manifest()) return fail(errc::invalid_argument, id.str() + " is a chunk, not a file");
  auto v = db_.get(cf, key('m', id));
  if (!v) return v.err();
  if (!*v) return fail(errc::invalid_argument, "not stored: " + id.str());
  if (!id.matches(**v)) return fail(errc::verify_failed, "corrupt manifest " + id.str());
  auto m = storage::decode_manifest(**v, max_object_);
  if (!m) return fail(errc::verify_failed, "manifest " + id.str() + ": " + m.err().message);
  return m;
}

result<chunk_store::stat_info> chunk_store::stat(const cid& id) const {
  stat_info s;
  auto pinned = db_.contains(cf, key('p', id));
  s.pinned = pinned && *pinned;
  if (id.is_manifest()) {
    auto m = get_manifest(id);
    if (!m) return m.err();
    s.manifest = true;
    s.size = m->total_size;
    s.chunks = m->chunks.size();
    s.media_type = m->media_type;
    for (auto& c : m->chunks)
      if (has(c.id)) ++s.present;
    if (auto o = db_.get(cf, key('o', id)); o && *o && (*o)->size() >= 8) {
      auto& raw = **o;
      s.owner.assign(raw.begin(), raw.end() - 8);
      s.stored_at_ms = get_u64_be(raw.data() + raw.size() - 8);
    }
    return s;
  }
  auto v = get_chunk(id);
  if (!v) return v.err();
  s.size = v->size();
  s.chunks = s.present = 1;
  s.references = refs(id);
  return s;
}

status chunk_store::pin(const cid& id) {
  if (!has(id)) return fail(errc::invalid_argument, "not stored: " + id.str());
  return db_.put(cf, key('p', id), bytes{1});
}

status chunk_store::unpin(const cid& id) {
  return db_.erase(cf, key('p', id));
}

status chunk_store::remove(const cid& id, std::uint64_t now_ms) {
  auto pinned = db_.contains(cf, key('p', id));
  if (!pinned) return pinned.err();
  if (*pinned) return fail(errc::invalid_argument, "pinned: unpin " + id.str() + " first");
  if (!has(id)) return fail(errc::invalid_argument, "not stored: " + id.str());
  store::batch b;
  std::uint64_t freed = 0, freed_chunks = 0;
  if (id.is_manifest()) {
    auto m = get_manifest(id);
    if (!m) return m.err();
    std::map<cid, std::uint32_t> counts;
    for (auto& c : m->chunks)
      ++counts[c.id];
    for (auto& [c, n] : counts) {
      auto left = refs(c) >= n ? refs(c) - n : 0;
      auto chunk_pinned = db_.contains(cf, key('p', c));
      if (left == 0) {
        b.erase(cf, key('r', c));
        if (!(chunk_pinned && *chunk_pinned)) {
          if (auto v = db_.get(cf, key('c', c), store::read_mode::once); v && *v) {
            freed += (*v)->size();
            ++freed_chunks;
          }
          b.erase(cf, key('c', c));
        }
      } else {
        b.put(cf, key('r', c), u32_bytes(left));
      }
    }
    b.erase(cf, key('m', id));
    b.erase(cf, key('o', id));
    if (auto o = db_.get(cf, key('o', id)); o && *o && (*o)->size() > 8) {
      std::string owner((*o)->begin(), (*o)->end() - 8);
      (void)usage_.remove(owner, m->total_size, now_ms);
    }
  } else {
    if (auto n = refs(id); n > 0)
      return fail(errc::invalid_argument, "referenced by " + std::to_string(n) +
                                            " stored file(s): delete those first");
    auto v = db_.get(cf, key('c', id), store::read_mode::once);
    if (v && *v) {
      freed = (*v)->size();
      freed_chunks = 1;
    }
    b.erase(cf, key('c', id));
  }
  if (auto st = db_.write(b, store::write_mode::sync); !st) return st;
  bytes_ -= std::min(bytes_, freed);
  chunks_ -= std::min(chunks_, freed_chunks);
  return {};
}

result<std::vector<chunk_store::entry>> chunk_store::list() const {
  std::vector<entry> out;
  std::string error;
  auto st = db_.for_each(cf, as_bytes("m/"), [&](byte_view k, byte_view v) {
    auto id = cid::from_bytes(k.subspan(2));
    auto m = storage::decode_manifest(v, max_object_);
    if (!id || !m) return true; // listed by stat as corrupt when asked
    auto pinned = db_.contains(cf, key('p', *id));
    out.push_back({*id, m->total_size, pinned && *pinned});
    return true;
  });
  if (!st) return st.err();
  return out;
}

} // namespace poe::actors
