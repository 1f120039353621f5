// Scenarios:
// - roots and audit paths for every tree size 0..40 and every leaf equal those of an
//   independent Python (hashlib) implementation of RFC 6962's recursive definitions
// - every proof verifies; a tampered path, leaf, index, size or root does not
// - out-of-range index is an error

#include "poe/core/merkle.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace poe;

namespace {

bytes leaf_data(std::size_t i) {
  bytes out;
  for (std::size_t j = 0; j < (i % 7) * 5; ++j) out.push_back(static_cast<std::uint8_t>((i * 31 + j) % 256));
  return out;
}

std::string join(const std::vector<hash256>& path) {
  std::string out;
  for (const auto& h : path) out += (out.empty() ? "" : ",") + h.hex();
  return out;
}

} // namespace

TEST_CASE("Merkle roots and proofs equal the Python reference") {
  constexpr int max_n = 40;
  std::istringstream ref(test::run("python3 " POE_SOURCE_DIR "/tests/ref/merkle_ref.py " +
                                   std::to_string(max_n)));
  std::vector<bytes> data;
  std::vector<hash256> hashes;
  std::string kind;
  int checked = 0;
  while (ref >> kind) {
    std::size_t n;
    ref >> n;
    while (data.size() < n) {
      data.push_back(leaf_data(data.size()));
      hashes.push_back(merkle::leaf_hash(data.back()));
    }
    std::span<const hash256> leaves{hashes.data(), n};
    if (kind == "root") {
      std::string hex;
      ref >> hex;
      CHECK(merkle::root(leaves).hex() == hex);
      CHECK(merkle::root_of(std::span<const bytes>{data.data(), n}).hex() == hex);
    } else {
      std::size_t m;
      ref >> m;
      std::string line;
      std::getline(ref, line);
      auto expected = test::trim(line.empty() ? line : line.substr(1));
      auto proof = merkle::prove(leaves, m);
      REQUIRE(proof);
      CHECK(join(proof->path) == expected);
      CHECK(merkle::verify(*proof, leaves[m], merkle::root(leaves)));
    }
    ++checked;
  }
  CHECK(checked == (max_n + 1) + max_n * (max_n + 1) / 2);
}

TEST_CASE("Merkle empty tree and single leaf") {
  CHECK(merkle::root({}).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto h = merkle::leaf_hash(as_bytes("x"));
  std::vector<hash256> one{h};
  CHECK(merkle::root(one) == h);
  auto p = merkle::prove(one, 0);
  REQUIRE(p);
  CHECK(p->path.empty());
  CHECK(merkle::verify(*p, h, h));
  CHECK_FALSE(merkle::prove(one, 1));
  CHECK_FALSE(merkle::prove({}, 0));
}

TEST_CASE("tampered Merkle proofs fail") {
  std::vector<hash256> leaves;
  for (int i = 0; i < 13; ++i) leaves.push_back(merkle::leaf_hash(leaf_data(i)));
  auto root = merkle::root(leaves);
  for (std::uint64_t i = 0; i < leaves.size(); ++i) {
    auto proof = *merkle::prove(leaves, i);
    REQUIRE(merkle::verify(proof, leaves[i], root));
    auto p = proof;
    p.path[0].data[0] ^= 1;
    CHECK_FALSE(merkle::verify(p, leaves[i], root));
    p = proof;
    p.index = (i + 1) % leaves.size();
    CHECK_FALSE(merkle::verify(p, leaves[i], root));
    p = proof;
    p.tree_size = i; // index must lie inside the tree
    CHECK_FALSE(merkle::verify(p, leaves[i], root));
    p = proof;
    p.tree_size = 1u << 20; // a path too short for the claimed size
    CHECK_FALSE(merkle::verify(p, leaves[i], root));
    p = proof;
    p.path.pop_back();
    CHECK_FALSE(merkle::verify(p, leaves[i], root));
    p = proof;
    p.path.push_back(root);
    CHECK_FALSE(merkle::verify(p, leaves[i], root));
    CHECK_FALSE(merkle::verify(proof, leaves[(i + 1) % leaves.size()], root));
    auto bad_root = root;
    bad_root.data[5] ^= 4;
    CHECK_FALSE(merkle::verify(proof, leaves[i], bad_root));
    // A leaf hash given as data of an interior node does not verify (second preimage).
    CHECK_FALSE(merkle::verify(proof, merkle::leaf_hash(leaves[i].view()), root));
  }
}
