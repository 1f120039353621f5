// Scenarios:
// - the commitment is SHA-256(request_id ‖ result ‖ node_id), checked against Python hashlib
// - commit + verify succeeds for both key types; the signature covers result ‖ poe exactly
// - each failure is named: key mismatch, commitment mismatch (result, request or poe changed),
//   bad signature
// - poe_verifier (cached contexts) agrees with poe_verify

#include "poe/core/poe_v1.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

using namespace poe;

TEST_CASE("PoE v1 commitment matches an independent computation") {
  request_id rid = *request_id::from_hex("000102030405060708090a0b0c0d0e0f");
  node_id nid = *node_id::from_hex(std::string(64, 'e'));
  auto result = test::to_bytes("transcoded rendition bytes\x01\x02");
  auto py = test::run("python3 -c \"import hashlib,sys; sys.stdout.write(hashlib.sha256("
                      "bytes.fromhex('" + rid.hex() + "') + bytes.fromhex('" + to_hex(result) +
                      "') + bytes.fromhex('" + nid.hex() + "')).hexdigest())\"");
  CHECK(poe_commitment(rid, result, nid).hex() == py);
}

TEST_CASE("PoE v1 commit and verify") {
  for (auto t : {key_type::rsa2048, key_type::ed25519}) {
    auto key = *private_key::generate(t);
    request_id rid;
    rid.data[0] = 42;
    auto result = test::to_bytes("result");
    auto proof = poe_commit(key, rid, result);
    CHECK(proof.node == key.id());
    CHECK(proof.poe == poe_commitment(rid, result, key.id()));
    // The signature is exactly over result ‖ poe.
    bytes signed_bytes = result;
    append(signed_bytes, proof.poe.view());
    CHECK(key.pub().verify(signed_bytes, proof.sig));
    CHECK(poe_verify(key.pub(), rid, result, proof) == poe_check::valid);

    poe_verifier v{key.pub()};
    CHECK(v.verify(rid, result, proof) == poe_check::valid);

    SECTION("result changed") {
      auto other = test::to_bytes("resulT");
      CHECK(poe_verify(key.pub(), rid, other, proof) == poe_check::commitment_mismatch);
      CHECK(v.verify(rid, other, proof) == poe_check::commitment_mismatch);
    }
    SECTION("request changed") {
      request_id other = rid;
      other.data[15] = 1;
      CHECK(poe_verify(key.pub(), other, result, proof) == poe_check::commitment_mismatch);
    }
    SECTION("poe changed together with a matching result is still caught by the signature") {
      auto forged = proof;
      auto other = test::to_bytes("forged");
      forged.poe = poe_commitment(rid, other, key.id());
      CHECK(poe_verify(key.pub(), rid, other, forged) == poe_check::bad_signature);
      CHECK(v.verify(rid, other, forged) == poe_check::bad_signature);
    }
    SECTION("signature changed") {
      auto bad = proof;
      bad.sig[3] ^= 1;
      CHECK(poe_verify(key.pub(), rid, result, bad) == poe_check::bad_signature);
      bad.sig.pop_back();
      CHECK(v.verify(rid, result, bad) == poe_check::bad_signature);
    }
    SECTION("key of another node") {
      auto other = *private_key::generate(t);
      CHECK(poe_verify(other.pub(), rid, result, proof) == poe_check::key_mismatch);
      poe_verifier ov{other.pub()};
      CHECK(ov.verify(rid, result, proof) == poe_check::key_mismatch);
    }
  }
  CHECK(to_string(poe_check::commitment_mismatch) == "commitment mismatch");
}
