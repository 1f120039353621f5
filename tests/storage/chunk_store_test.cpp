// The storage engine (chunk_store) on a real RocksDB store.
//
// Scenarios:
//  1. A file streamed in as chunks and then its manifest comes back byte for byte; chunks
//     shared between files are stored once and counted by reference.
//  2. A chunk whose bytes do not match its CID is refused; a manifest naming a missing chunk
//     is refused (nothing becomes visible); an oversized object is refused.
//  3. A chunk corrupted on disk is reported as corrupt on read (every read re-hashes).
//  4. Pins and deletes: pinned and referenced things are not deleted; deleting a file frees
//     the chunks only it used; totals follow; list shows stored files.
//  5. Everything survives a reopen (totals recomputed).
#include "../core/test_util.hpp"
#include "chunk_store.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using namespace poe::actors;
using poe::storage::cid;
using poe::test::temp_dir;

namespace {

bytes pattern(std::size_t n, int seed) {
  bytes b(n); // no repeating chunks: a 64-bit LCG
  std::uint64_t x = 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(seed + 1);
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    b[i] = static_cast<std::uint8_t>(x >> 56);
  }
  return b;
}

/// Streams `file` into `cs` in chunks of `chunk` bytes; returns the manifest CID.
cid put_file(chunk_store& cs, const bytes& file, std::uint32_t chunk, const std::string& owner) {
  storage::manifest_builder mb("application/octet-stream", chunk);
  for (std::size_t off = 0; off < file.size(); off += chunk) {
    auto part = byte_view(file).subspan(off, std::min<std::size_t>(chunk, file.size() - off));
    auto id = mb.add(part);
    REQUIRE(id);
    REQUIRE(cs.put_chunk(*id, part));
  }
  auto m = std::move(mb).finish();
  auto id = cs.put_manifest(storage::encode(m), owner, 1000);
  REQUIRE(id);
  return *id;
}

bytes get_file(chunk_store& cs, const cid& id) {
  auto m = cs.get_manifest(id);
  REQUIRE(m);
  bytes out;
  for (auto& c : m->chunks) {
    auto part = cs.get_chunk(c.id);
    REQUIRE(part);
    append(out, *part);
  }
  return out;
}

} // namespace

TEST_CASE("a streamed file comes back byte for byte and shared chunks are stored once") {
  temp_dir tmp("poe-chunks");
  auto db = store::db::open(tmp.path, {chunk_store::column_family});
  REQUIRE(db);
  chunk_store cs(*db);
  auto file = pattern(10 * 1024 + 17, 1);
  auto id = put_file(cs, file, 1024, "alice");
  CHECK(id.is_manifest());
  CHECK(get_file(cs, id) == file);
  CHECK(cs.chunks_stored() == 11);
  CHECK(cs.bytes_stored() == file.size());
  // The same first 4 KiB in another file: those chunks are shared.
  auto other = file;
  other.resize(4 * 1024 + 3);
  other.back() ^= 0xff;
  auto id2 = put_file(cs, other, 1024, "bob");
  CHECK(cs.chunks_stored() == 12);
  auto first = cs.get_manifest(id)->chunks.front().id;
  auto st = cs.stat(first);
  REQUIRE(st);
  CHECK(st->references == 2);
  auto fs = cs.stat(id);
  REQUIRE(fs);
  CHECK(fs->manifest);
  CHECK(fs->size == file.size());
  CHECK(fs->chunks == 11);
  CHECK(fs->present == 11);
  CHECK(fs->owner == "alice");
  CHECK(put_file(cs, file, 1024, "alice") == id); // idempotent
  (void)id2;
}

TEST_CASE("bad chunks and manifests are refused and nothing half-visible remains") {
  temp_dir tmp("poe-chunks");
  auto db = store::db::open(tmp.path, {chunk_store::column_family});
  REQUIRE(db);
  chunk_store cs(*db, 8 * 1024);
  auto data = pattern(100, 2);
  auto wrong = cs.put_chunk(cid::of(pattern(100, 3)), data);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.err().message.find("do not match") != std::string::npos);
  CHECK(cs.chunks_stored() == 0);
  CHECK_FALSE(cs.put_chunk(bytes{}));
  // A manifest whose second chunk never arrived.
  storage::manifest_builder mb("video/mp4", 64);
  auto a = pattern(64, 4), b = pattern(36, 5);
  REQUIRE(cs.put_chunk(*mb.add(a), a));
  REQUIRE(mb.add(b));
  auto m = std::move(mb).finish();
  auto r = cs.put_manifest(storage::encode(m), "carol", 5);
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("chunk missing: " + cid::of(b).str()) != std::string::npos);
  CHECK_FALSE(cs.has(storage::manifest_cid(m)));
  CHECK(cs.list()->empty());
  // Over the object limit (8 KiB here).
  storage::manifest big;
  big.chunk_size = 64;
  big.total_size = 9 * 1024;
  CHECK_FALSE(cs.put_manifest(storage::encode(big), "carol", 5));
  CHECK_FALSE(cs.put_manifest(bytes{1, 2, 3}, "carol", 5));
}

TEST_CASE("a chunk corrupted on disk is reported on read") {
  temp_dir tmp("poe-chunks");
  auto db = store::db::open(tmp.path, {chunk_store::column_family});
  REQUIRE(db);
  chunk_store cs(*db);
  auto data = pattern(500, 6);
  auto id = cs.put_chunk(data);
  REQUIRE(id);
  bytes key{'c', '/'};
  append(key, id->to_bytes());
  auto bad = data;
  bad[10] ^= 1;
  REQUIRE(db->put(chunk_store::column_family, key, bad)); // the disk flips a bit
  auto r = cs.get_chunk(*id);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::verify_failed);
  CHECK(r.err().message == "corrupt chunk " + id->str());
  CHECK_FALSE(cs.get_chunk(cid::of(pattern(5, 1))));
}

TEST_CASE("pins, deletes, totals and list, and a reopen") {
  temp_dir tmp("poe-chunks");
  cid a, b;
  bytes fa = pattern(3000, 7), fb = pattern(1500, 8);
  {
    auto db = store::db::open(tmp.path, {chunk_store::column_family});
    REQUIRE(db);
    chunk_store cs(*db);
    a = put_file(cs, fa, 1024, "alice");
    b = put_file(cs, fb, 1024, "bob");
    auto chunk = cs.get_manifest(a)->chunks.front().id;
    auto r = cs.remove(chunk);
    REQUIRE_FALSE(r);
    CHECK(r.err().message.find("referenced by 1") != std::string::npos);
    REQUIRE(cs.pin(a));
    CHECK(cs.remove(a).err().message.find("pinned") != std::string::npos);
    auto l = cs.list();
    REQUIRE(l);
    CHECK(l->size() == 2);
    REQUIRE(cs.unpin(a));
    auto before = cs.bytes_stored();
    REQUIRE(cs.remove(a));
    CHECK(cs.bytes_stored() == before - fa.size());
    CHECK_FALSE(cs.has(a));
    CHECK_FALSE(cs.has(chunk));
    CHECK(cs.list()->size() == 1);
  }
  auto db = store::db::open(tmp.path, {chunk_store::column_family});
  REQUIRE(db);
  chunk_store cs(*db);
  CHECK(cs.bytes_stored() == fb.size());
  CHECK(cs.chunks_stored() == 2);
  CHECK(get_file(cs, b) == fb);
}
