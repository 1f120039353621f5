// Scenarios:
// - signing bytes have the documented layout
// - a signature is valid only in its own (chain id, type) domain
// - chain ids are validated; message types map to and from their wire values
// - envelopes seal and open; wrong chain, wrong type, bad signature and bad key are named

#include "poe/core/domain.hpp"
#include "poe/core/objects.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

using namespace poe;

TEST_CASE("signing bytes layout") {
  auto b = signing_bytes("devnet", msg_type::poe_header, as_bytes("PAY"));
  std::string expected = "poe/sig/v1";
  expected += char(6);
  expected += "devnet";
  expected += char(0);
  expected += char(5);
  expected += "PAY";
  CHECK(b == test::to_bytes(expected));
}

TEST_CASE("signatures are bound to chain and purpose") {
  for (auto t : {key_type::rsa2048, key_type::ed25519}) {
    auto key = *private_key::generate(t);
    auto payload = as_bytes("payload");
    auto sig = sign_in_domain(key, "chain-a", msg_type::prepare, payload);
    CHECK(verify_in_domain(key.pub(), "chain-a", msg_type::prepare, payload, sig));
    CHECK_FALSE(verify_in_domain(key.pub(), "chain-b", msg_type::prepare, payload, sig));
    CHECK_FALSE(verify_in_domain(key.pub(), "chain-a", msg_type::commit, payload, sig));
    CHECK_FALSE(key.pub().verify(payload, sig)); // not valid as a bare signature either
    verifier v{key.pub()};
    CHECK(verify_in_domain(v, "chain-a", msg_type::prepare, payload, sig));
    CHECK_FALSE(verify_in_domain(v, "chain-a", msg_type::round_change, payload, sig));
    CHECK_FALSE(verify_in_domain(v, "", msg_type::prepare, payload, sig));
  }
}

TEST_CASE("chain ids and message types") {
  CHECK(check_chain_id("poe-devnet-1"));
  CHECK_FALSE(check_chain_id(""));
  CHECK_FALSE(check_chain_id(std::string(65, 'a')));
  CHECK_FALSE(check_chain_id("has space"));
  CHECK_FALSE(check_chain_id("tab\t"));
  CHECK(*to_msg_type(5) == msg_type::poe_header);
  CHECK_FALSE(to_msg_type(0));
  CHECK_FALSE(to_msg_type(999));
  CHECK(to_string(msg_type::exclusion_complaint) == "exclusion_complaint");
}

TEST_CASE("envelopes seal and open") {
  auto key = *private_key::generate(key_type::ed25519);
  auto env = seal(key, "devnet", msg_type::step_receipt, test::to_bytes("receipt"));
  auto signer = open(env, "devnet", msg_type::step_receipt);
  REQUIRE(signer);
  CHECK(signer->id() == key.id());
  CHECK(open(env, "other", msg_type::step_receipt).err().message.find("chain") != std::string::npos);
  CHECK(open(env, "devnet", msg_type::log_block).err().message.find("expected log_block") != std::string::npos);
  auto bad = env;
  bad.payload.push_back('!');
  CHECK(open(bad, "devnet", msg_type::step_receipt).err().message.find("signature") != std::string::npos);
  bad = env;
  bad.signer_key = private_key::generate(key_type::ed25519)->pub().der();
  CHECK_FALSE(open(bad, "devnet", msg_type::step_receipt));
  bad = env;
  bad.signer_key = {1, 2, 3};
  CHECK(open(bad, "devnet", msg_type::step_receipt).err().message.find("signer key") != std::string::npos);
}

TEST_CASE("parameter lists must be sorted and unique") {
  CHECK(check_params({}));
  CHECK(check_params({{"a", "1"}, {"b", "2"}}));
  CHECK_FALSE(check_params({{"b", "1"}, {"a", "2"}}));
  CHECK_FALSE(check_params({{"a", "1"}, {"a", "2"}}));
}
