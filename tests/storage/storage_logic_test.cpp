// The storage role's pure logic: CIDs, manifests, placement, challenges, accounting.
//
// Scenarios:
//  1. A chunk's CID equals base32 of 0x01 0x55 0x12 0x20 ‖ SHA-256(bytes) computed
//     independently (Python's base64 and hashlib), and the well-known IPFS raw-leaf CID of the
//     empty file.
//  2. CIDs parse back to themselves; other versions, multibases, codecs, hash functions,
//     lengths and characters are refused with a reason.
//  3. base32 round-trips every length 0..64 and refuses non-canonical text.
//  4. A manifest built while a file streams through encodes, decodes to itself, has its own
//     codec; every inconsistent manifest (sizes, counts, a non-raw chunk, trailing bytes,
//     an object over the limit) is refused.
//  5. Placement: k distinct members, deterministic, independent of member order; removing a
//     node moves only the CIDs it held; the spread over 4 nodes is even within 10 %.
//  6. Challenges: the answer is SHA-256(nonce ‖ chunk); outcomes are tallied per node.
//  7. Usage: byte-milliseconds accumulate exactly while bytes are held; removing more than
//     stored is refused.
#include "poe/core/sha256.hpp"
#include "poe/storage/cid.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/storage/placement.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <set>

using namespace poe;
using namespace poe::storage;

namespace {

std::string python_cid(const std::string& text) {
  auto cmd = "python3 -c \"import base64,hashlib,sys; d=sys.argv[1].encode(); "
             "print('b'+base64.b32encode(bytes([1,0x55,0x12,0x20])+hashlib.sha256(d).digest())"
             ".decode().lower().rstrip('='))\" '" + text + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  REQUIRE(p);
  char buf[256] = {};
  REQUIRE(fgets(buf, sizeof buf, p.get()));
  std::string out(buf);
  while (!out.empty() && (out.back() == '\n')) out.pop_back();
  return out;
}

node_id node(int i) {
  return node_id{sha256::digest(as_bytes("storage-node-" + std::to_string(i))).data};
}

} // namespace

TEST_CASE("a chunk's CID is the IPFS raw-leaf CIDv1 of its bytes") {
  for (std::string text : {"hello world", "poe", "x"})
    CHECK(cid::of(as_bytes(text)).str() == python_cid(text));
  CHECK(cid::of({}).str() == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  auto c = cid::of(as_bytes(std::string("hello world")));
  CHECK(c.codec() == codec_raw);
  CHECK(c.to_bytes().size() == 36);
  CHECK(c.matches(as_bytes(std::string("hello world"))));
  CHECK_FALSE(c.matches(as_bytes(std::string("hello worle"))));
}

TEST_CASE("CIDs parse back and malformed ones are refused") {
  auto c = cid::of(as_bytes(std::string("data")));
  auto back = cid::parse(c.str());
  REQUIRE(back);
  CHECK(*back == c);
  auto m = cid::of_digest(codec_manifest, c.digest());
  REQUIRE(cid::parse(m.str()));
  CHECK(cid::parse(m.str())->is_manifest());
  CHECK(m.str() != c.str());

  auto refused = [](const std::string& text) {
    auto r = cid::parse(text);
    CHECK_FALSE(r);
    return r ? std::string{} : r.err().message;
  };
  CHECK(refused("").find("starting with 'b'") != std::string::npos);
  CHECK(refused("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG").find("'b'") != std::string::npos);
  CHECK(refused("B" + c.str().substr(1)).find("'b'") != std::string::npos); // upper case
  CHECK(refused(c.str() + "a").find("CID") != std::string::npos);
  CHECK(refused(c.str().substr(0, 20)).find("CID") != std::string::npos);
  CHECK(refused("b" + c.str().substr(1, 10) + "1" + c.str().substr(12)).find("base32") !=
        std::string::npos);
  // Hand-built binaries: version 0, dag-pb codec, sha-512, short digest.
  auto bin = c.to_bytes();
  auto with = [&](std::size_t i, std::uint8_t v) {
    auto b = bin;
    b[i] = v;
    return "b" + base32_lower(b);
  };
  CHECK(refused(with(0, 0)).find("CIDv1") != std::string::npos);
  CHECK(refused(with(1, 0x70)).find("codec") != std::string::npos);
  CHECK(refused(with(2, 0x13)).find("multihash") != std::string::npos);
  CHECK(refused(with(3, 0x1f)).find("length") != std::string::npos);
}

TEST_CASE("base32 round-trips and refuses non-canonical text") {
  for (std::size_t n = 0; n <= 64; ++n) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 37 + n);
    auto text = base32_lower(b);
    auto back = base32_decode(text);
    REQUIRE(back);
    CHECK(*back == b);
  }
  CHECK_FALSE(base32_decode("b")); // 5 bits: never produced
  CHECK_FALSE(base32_decode("ab")); // non-zero padding bits
  CHECK_FALSE(base32_decode("MZXW6"));
}

TEST_CASE("a manifest built while streaming decodes to itself and bad ones are refused") {
  manifest_builder b("video/mp4", 4);
  bytes file{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  for (std::size_t off = 0; off < file.size(); off += 4) {
    auto n = std::min<std::size_t>(4, file.size() - off);
    auto id = b.add(byte_view(file).subspan(off, n));
    REQUIRE(id);
    CHECK(id->matches(byte_view(file).subspan(off, n)));
  }
  CHECK_FALSE(b.add(bytes{1})); // after a short chunk
  auto m = std::move(b).finish();
  CHECK(m.total_size == 10);
  CHECK(m.chunks.size() == 3);
  auto wire = encode(m);
  auto back = decode_manifest(wire);
  REQUIRE(back);
  CHECK(*back == m);
  CHECK(manifest_cid(m).is_manifest());
  CHECK(manifest_cid(m).matches(wire));

  auto refused = [](const manifest& x, std::uint64_t limit = 1ull << 40) {
    auto r = decode_manifest(encode(x), limit);
    CHECK_FALSE(r);
    return r ? std::string{} : r.err().message;
  };
  auto sizes = m;
  sizes.chunks[1].size = 3;
  CHECK_FALSE(refused(sizes).empty());
  auto count = m;
  count.total_size = 20;
  CHECK(refused(count).find("chunk count") != std::string::npos);
  auto not_raw = m;
  not_raw.chunks[0].id = manifest_cid(m);
  CHECK(refused(not_raw).find("not a raw CID") != std::string::npos);
  CHECK(refused(m, 9).find("larger than the limit") != std::string::npos);
  auto media = m;
  media.media_type = "video/\n";
  CHECK(refused(media).find("printable") != std::string::npos);
  auto trailing = wire;
  trailing.push_back(0);
  CHECK_FALSE(decode_manifest(trailing));
  for (std::size_t cut = 0; cut < wire.size(); ++cut)
    CHECK_FALSE(decode_manifest(byte_view(wire).subspan(0, cut)));
  CHECK(decode_manifest(as_bytes(std::string("hello"))).err().message.find("magic") !=
        std::string::npos);
}

TEST_CASE("rendezvous placement is stable and moves only what a lost node held") {
  std::vector<node_id> four{node(0), node(1), node(2), node(3)};
  std::vector<node_id> reversed(four.rbegin(), four.rend());
  std::map<node_id, int> load;
  int moved = 0, held_by_lost = 0;
  std::vector<node_id> three{node(0), node(1), node(2)};
  for (int i = 0; i < 4000; ++i) {
    auto c = cid::of(as_bytes("chunk-" + std::to_string(i)));
    auto p = place(c, four, 2);
    REQUIRE(p.size() == 2);
    CHECK(p[0] != p[1]);
    CHECK(p == place(c, reversed, 2));
    for (auto& n : p) ++load[n];
    auto after = place(c, three, 2);
    bool lost_held = std::find(p.begin(), p.end(), node(3)) != p.end();
    if (lost_held) ++held_by_lost;
    for (auto& n : p)
      if (n != node(3))
        CHECK(std::find(after.begin(), after.end(), n) != after.end()); // survivors keep it
    if (after != p) ++moved;
  }
  CHECK(moved == held_by_lost);
  for (auto& [n, count] : load) CHECK(std::abs(count - 2000) < 200);
  CHECK(place(cid::of({}), {}, 2).empty());
  CHECK(place(cid::of({}), {node(1)}, 2).size() == 1);
}

TEST_CASE("challenge answers and outcome tallies") {
  bytes chunk{9, 8, 7};
  hash256 nonce = sha256::digest(as_bytes(std::string("nonce")));
  bytes in(nonce.data.begin(), nonce.data.end());
  append(in, chunk);
  CHECK(challenge_answer(nonce, chunk) == sha256::digest(in));
  CHECK(challenge_answer(nonce, chunk) != challenge_answer(hash256{}, chunk));
  challenge_record r;
  CHECK(r.score_ppm(node(1)) == 1'000'000);
  r.record(node(1), challenge_outcome::passed);
  r.record(node(1), challenge_outcome::passed);
  r.record(node(1), challenge_outcome::passed);
  r.record(node(1), challenge_outcome::missed_deadline);
  r.record(node(2), challenge_outcome::wrong_answer);
  CHECK(r.of(node(1)) == challenge_record::tally{3, 0, 1});
  CHECK(r.score_ppm(node(1)) == 750'000);
  CHECK(r.score_ppm(node(2)) == 0);
}

TEST_CASE("usage accumulates byte-milliseconds exactly") {
  usage_ledger u;
  u.add("alice", 1000, 10);
  CHECK(u.usage("alice", 10) == 0);
  CHECK(u.usage("alice", 20) == 10'000);
  u.add("alice", 500, 20);
  CHECK(u.stored("alice") == 1500);
  CHECK(u.usage("alice", 30) == 25'000);
  REQUIRE(u.remove("alice", 1500, 30));
  CHECK(u.usage("alice", 1'000'000) == 25'000);
  CHECK_FALSE(u.remove("alice", 1, 40));
  CHECK_FALSE(u.remove("bob", 1, 40));
  // Large: 1 TB held for a year does not overflow.
  u.add("big", 1'000'000'000'000ull, 0);
  auto year = 365ull * 24 * 3600 * 1000;
  CHECK(usage_ledger::to_string(u.usage("big", year)) == "31536000000000000000000");
}
