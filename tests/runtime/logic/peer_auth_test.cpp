// Scenarios:
// - the signed payload has the documented layout: side byte ‖ nonce_i ‖ nonce_r ‖ id_i ‖ id_r
// - sign/verify round trip for Ed25519 and RSA-2048 keys, on both sides of the handshake
// - a signature made for the initiator side does not verify as the responder's, and back
// - tampering with any transcript field (chain id, either nonce, either node id, ids swapped)
//   or with the signature makes verification fail; another key's signature fails too
// - check_peer_key refuses, with the matching reason: another chain, a nonce of the wrong
//   length, a key that does not decode, our own id, an id not on the allow list
// - check_peer_key accepts an allowed id, and any id with allow_any
// - reject reasons have distinct stable names
// - random_nonce returns auth_nonce_size bytes, different on every call

#include "poe/runtime/peer_auth.hpp"

#include "poe/core/domain.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace poe;
using namespace poe::runtime;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

private_key make_key(key_type t) {
  auto k = private_key::generate(t);
  REQUIRE(k);
  return std::move(*k);
}

bytes filled(std::size_t n, std::uint8_t v) {
  return bytes(n, v);
}

struct handshake {
  private_key initiator;
  private_key responder;
  auth_transcript t;
};

handshake make_handshake(key_type ti, key_type tr) {
  auto i = make_key(ti);
  auto r = make_key(tr);
  auth_transcript t{"poe-devnet", random_nonce(), random_nonce(), i.id(), r.id()};
  return {std::move(i), std::move(r), std::move(t)};
}

const char* name(key_type t) {
  return t == key_type::ed25519 ? "ed25519" : "rsa2048";
}

} // namespace

TEST_CASE("the auth payload has the documented layout") {
  auto i = make_key(key_type::ed25519);
  auto r = make_key(key_type::ed25519);
  auth_transcript t{"poe-devnet", filled(32, 0xAA), filled(32, 0xBB), i.id(), r.id()};
  bytes expected{1};
  append(expected, t.nonce_i);
  append(expected, t.nonce_r);
  append(expected, i.id().view());
  append(expected, r.id().view());
  CHECK(auth_payload(t, auth_side::initiator) == expected);
  expected[0] = 2;
  CHECK(auth_payload(t, auth_side::responder) == expected);
  CHECK(expected.size() == 1 + 4 * 32);
}

TEST_CASE("sign and verify round trip for both key types and both sides") {
  for (auto ti : {key_type::ed25519, key_type::rsa2048}) {
    for (auto tr : {key_type::ed25519, key_type::rsa2048}) {
      INFO("initiator " << name(ti) << ", responder " << name(tr));
      auto h = make_handshake(ti, tr);
      auto sig_r = sign_auth(h.responder, h.t, auth_side::responder);
      auto sig_i = sign_auth(h.initiator, h.t, auth_side::initiator);
      CHECK(sig_r.size() == h.responder.pub().signature_size());
      CHECK(sig_i.size() == h.initiator.pub().signature_size());
      CHECK(verify_auth(h.responder.pub(), h.t, auth_side::responder, sig_r));
      CHECK(verify_auth(h.initiator.pub(), h.t, auth_side::initiator, sig_i));
      // Signing is deterministic for both key types.
      CHECK(sign_auth(h.responder, h.t, auth_side::responder) == sig_r);
      // The signature is in the peer_auth domain of the chain, not a bare one.
      CHECK_FALSE(h.responder.pub().verify(auth_payload(h.t, auth_side::responder), sig_r));
      CHECK(verify_in_domain(h.responder.pub(), "poe-devnet", msg_type::peer_auth,
                             auth_payload(h.t, auth_side::responder), sig_r));
    }
  }
}

TEST_CASE("a signature for one side does not verify as the other") {
  for (auto t : {key_type::ed25519, key_type::rsa2048}) {
    INFO(name(t));
    auto h = make_handshake(t, t);
    // A node that both dials and is dialled must not be able to replay its own answer.
    auto sig_i = sign_auth(h.initiator, h.t, auth_side::initiator);
    CHECK_FALSE(verify_auth(h.initiator.pub(), h.t, auth_side::responder, sig_i));
    auto sig_r = sign_auth(h.responder, h.t, auth_side::responder);
    CHECK_FALSE(verify_auth(h.responder.pub(), h.t, auth_side::initiator, sig_r));
  }
}

TEST_CASE("tampering with any transcript field makes verification fail") {
  auto kt = GENERATE(key_type::ed25519, key_type::rsa2048);
  auto h = make_handshake(kt, kt);
  auto sig = sign_auth(h.responder, h.t, auth_side::responder);
  auto sig_i = sign_auth(h.initiator, h.t, auth_side::initiator);
  REQUIRE(verify_auth(h.responder.pub(), h.t, auth_side::responder, sig));
  REQUIRE(verify_auth(h.initiator.pub(), h.t, auth_side::initiator, sig_i));
  // Neither side's signature survives the change.
  auto fails = [&](const auth_transcript& t) {
    return !verify_auth(h.responder.pub(), t, auth_side::responder, sig) &&
           !verify_auth(h.initiator.pub(), t, auth_side::initiator, sig_i);
  };
  INFO(name(kt));
  SECTION("chain id") {
    auto t = h.t;
    t.chain_id = "poe-testnet";
    CHECK(fails(t));
    t.chain_id = "poe-devnet2";
    CHECK(fails(t));
  }
  SECTION("initiator nonce") {
    for (std::size_t pos : {std::size_t{0}, std::size_t{17}, std::size_t{31}}) {
      auto t = h.t;
      t.nonce_i[pos] ^= 0x01;
      CHECK(fails(t));
    }
  }
  SECTION("responder nonce") {
    for (std::size_t pos : {std::size_t{0}, std::size_t{17}, std::size_t{31}}) {
      auto t = h.t;
      t.nonce_r[pos] ^= 0x80;
      CHECK(fails(t));
    }
  }
  SECTION("nonces swapped") {
    auto t = h.t;
    std::swap(t.nonce_i, t.nonce_r);
    CHECK(fails(t));
  }
  SECTION("initiator id") {
    auto t = h.t;
    t.initiator.data[5] ^= 0x01;
    CHECK(fails(t));
    t.initiator = make_key(key_type::ed25519).id(); // a third node
    CHECK(fails(t));
  }
  SECTION("responder id") {
    auto t = h.t;
    t.responder.data[31] ^= 0x01;
    CHECK(fails(t));
  }
  SECTION("ids swapped") {
    auto t = h.t;
    std::swap(t.initiator, t.responder);
    CHECK(fails(t));
  }
  SECTION("signature") {
    auto bad = sig;
    bad[bad.size() / 2] ^= 0x04;
    CHECK_FALSE(verify_auth(h.responder.pub(), h.t, auth_side::responder, bad));
    CHECK_FALSE(verify_auth(h.responder.pub(), h.t, auth_side::responder,
                            byte_view{sig}.first(sig.size() - 1)));
    CHECK_FALSE(verify_auth(h.responder.pub(), h.t, auth_side::responder, bytes{}));
  }
  SECTION("another key") {
    // A third node signing the same transcript cannot pass as the responder.
    auto mallory = make_key(kt);
    auto forged = sign_auth(mallory, h.t, auth_side::responder);
    CHECK_FALSE(verify_auth(h.responder.pub(), h.t, auth_side::responder, forged));
  }
}

TEST_CASE("check_peer_key refuses peers with the matching reason") {
  auto self = make_key(key_type::ed25519);
  auto peer = make_key(key_type::ed25519);
  auto nonce = random_nonce();
  peer_policy policy;
  policy.allowed.insert(peer.id());
  auto reason = auth_reject::bad_signature; // overwritten on every refusal below
  auto check = [&](std::string_view their_chain, byte_view der, byte_view n, const peer_policy& p) {
    reason = auth_reject::bad_signature;
    return check_peer_key("poe-devnet", their_chain, der, n, self.id(), p, reason);
  };

  SECTION("another chain") {
    auto r = check("poe-mainnet", peer.pub().der(), nonce, policy);
    REQUIRE_FALSE(r);
    CHECK(reason == auth_reject::wrong_chain);
    CHECK(r.err().code == errc::verify_failed);
    CHECK(contains(r.err().message, "poe-mainnet"));
    CHECK(contains(r.err().message, "poe-devnet"));
  }
  SECTION("a nonce of the wrong length") {
    for (std::size_t n : {std::size_t{0}, std::size_t{16}, auth_nonce_size - 1, auth_nonce_size + 1,
                          std::size_t{64}}) {
      INFO(n << " bytes");
      auto r = check("poe-devnet", peer.pub().der(), bytes(n, 7), policy);
      REQUIRE_FALSE(r);
      CHECK(reason == auth_reject::bad_nonce);
      CHECK(contains(r.err().message, std::to_string(n) + " bytes"));
    }
  }
  SECTION("a key that does not decode") {
    auto der = peer.pub().der();
    bytes truncated(der.begin(), der.end() - 1);
    bytes garbage(44, 0x30);
    for (auto& bad : {bytes{}, truncated, garbage}) {
      auto r = check("poe-devnet", bad, nonce, policy);
      REQUIRE_FALSE(r);
      CHECK(reason == auth_reject::bad_key);
      CHECK(contains(r.err().message, "does not decode"));
    }
  }
  SECTION("our own id") {
    peer_policy any;
    any.allow_any = true;
    auto r = check("poe-devnet", self.pub().der(), nonce, any);
    REQUIRE_FALSE(r);
    CHECK(reason == auth_reject::self);
  }
  SECTION("an id not on the allow list") {
    auto stranger = make_key(key_type::rsa2048);
    auto r = check("poe-devnet", stranger.pub().der(), nonce, policy);
    REQUIRE_FALSE(r);
    CHECK(reason == auth_reject::not_allowed);
    CHECK(contains(r.err().message, stranger.id().hex()));
    CHECK(contains(r.err().message, "node.allowed-peers"));
    // An empty allow list admits nobody.
    auto none = check("poe-devnet", peer.pub().der(), nonce, peer_policy{});
    REQUIRE_FALSE(none);
    CHECK(reason == auth_reject::not_allowed);
  }
}

TEST_CASE("check_peer_key accepts allowed peers and anyone with allow_any") {
  auto self = make_key(key_type::ed25519);
  auto nonce = random_nonce();
  for (auto t : {key_type::ed25519, key_type::rsa2048}) {
    INFO(name(t));
    auto peer = make_key(t);
    peer_policy policy;
    policy.allowed.insert(peer.id());
    policy.allowed.insert(make_key(key_type::ed25519).id());
    auth_reject reason{};
    auto r = check_peer_key("poe-devnet", "poe-devnet", peer.pub().der(), nonce, self.id(), policy,
                            reason);
    REQUIRE(r);
    CHECK(*r == peer.pub());
    CHECK(r->id() == peer.id());
    CHECK(r->type() == t);

    peer_policy any;
    any.allow_any = true;
    CHECK(any.permits(peer.id()));
    auto r2 =
        check_peer_key("poe-devnet", "poe-devnet", peer.pub().der(), nonce, self.id(), any, reason);
    REQUIRE(r2);
    CHECK(r2->id() == peer.id());
  }
}

TEST_CASE("reject reasons have distinct names") {
  std::set<std::string_view> seen;
  for (auto r : {auth_reject::wrong_chain, auth_reject::bad_key, auth_reject::bad_nonce,
                 auth_reject::self, auth_reject::not_allowed, auth_reject::bad_signature})
    CHECK(seen.insert(to_string(r)).second);
  CHECK(to_string(auth_reject::bad_signature) == "bad_signature");
  CHECK(to_string(auth_reject::not_allowed) == "not_allowed");
}

TEST_CASE("random nonces have the right length and differ") {
  auto a = random_nonce();
  auto b = random_nonce();
  CHECK(a.size() == auth_nonce_size);
  CHECK(b.size() == auth_nonce_size);
  CHECK(a != b);
  CHECK(a != bytes(auth_nonce_size, 0));
}
