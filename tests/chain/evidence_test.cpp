// Consensus messages on the wire and equivocation evidence, checked offline.
//
// Scenarios:
//  1. Every kind of consensus message round-trips through its canonical encoding, nested
//     justifications included; re-encoding gives the same bytes.
//  2. Truncations, trailing bytes, an unknown kind and justifications nested three levels deep
//     are refused.
//  3. Two conflicting prepares of one validator, reported by qbft::state, make evidence that
//     verifies after an encode/decode round trip.
//  4. Evidence is refused when: a signature is tampered, both messages carry the same content,
//     they differ in round, the offender key is someone else's, or the chain id is wrong.
//  5. `poe-cli evidence verify FILE`: valid evidence → exit 0 naming the validator; tampered →
//     "invalid: …", exit 1; a file that is not evidence → exit 2.
#include "chain_test_util.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/core/domain.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace poe;
using namespace poe::chain;
const std::string& chain_id = poe::chain::test::chain;
using poe::chain::test::key;

namespace {

qbft::message signed_msg(int signer, qbft::kind k, std::uint64_t h, std::uint64_t r,
                         const std::string& content) {
  qbft::message m;
  m.type = k;
  m.height = h;
  m.round = r;
  m.digest = sha256::digest(as_bytes(content));
  m.from = key(signer).id();
  if (k == qbft::kind::commit)
    m.commit_seal = sign_in_domain(key(signer), chain_id, msg_type::commit_seal,
                                   qbft::seal_payload(h, r, m.digest));
  m.signature =
    sign_in_domain(key(signer), chain_id, qbft::domain_of(k), qbft::signing_payload(m));
  return m;
}

void resign(int signer, qbft::message& m) {
  m.signature =
    sign_in_domain(key(signer), chain_id, qbft::domain_of(m.type), qbft::signing_payload(m));
}

std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[512];
  while (auto n = fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  int st = pclose(p);
  return {WEXITSTATUS(st), out};
}

} // namespace

TEST_CASE("consensus messages round-trip through their canonical encoding") {
  auto prepare = signed_msg(0, qbft::kind::prepare, 5, 1, "block");
  auto commit = signed_msg(1, qbft::kind::commit, 5, 1, "block");
  auto rc = signed_msg(2, qbft::kind::round_change, 5, 2, "");
  rc.prepared = true;
  rc.prepared_round = 1;
  rc.prepared_digest = prepare.digest;
  rc.prepares = {prepare, signed_msg(1, qbft::kind::prepare, 5, 1, "block")};
  rc.block = bytes{1, 2, 3};
  resign(2, rc);
  auto proposal = signed_msg(3, qbft::kind::proposal, 5, 2, "block");
  proposal.block = bytes{'b', 'l', 'o', 'c', 'k'};
  proposal.round_changes = {rc, rc};
  proposal.prepares = rc.prepares;
  resign(3, proposal);
  for (auto* m : {&prepare, &commit, &rc, &proposal}) {
    INFO(qbft::to_string(m->type));
    auto wire = qbft::encode(*m);
    auto back = qbft::decode_message(wire);
    REQUIRE(back);
    CHECK(qbft::encode(*back) == wire);
    CHECK(qbft::signing_payload(*back) == qbft::signing_payload(*m));
    CHECK(back->signature == m->signature);
    CHECK(back->round_changes.size() == m->round_changes.size());
  }
}

TEST_CASE("malformed consensus messages are refused") {
  auto m = signed_msg(0, qbft::kind::commit, 9, 0, "x");
  auto wire = qbft::encode(m);
  for (std::size_t n = 0; n < wire.size(); ++n)
    CHECK_FALSE(qbft::decode_message(byte_view(wire.data(), n)));
  auto padded = wire;
  padded.push_back(0);
  CHECK_FALSE(qbft::decode_message(padded));
  auto bad_kind = wire;
  bad_kind[0] = 9;
  CHECK_FALSE(qbft::decode_message(bad_kind));
  CHECK_FALSE(qbft::decode_message(wire, wire.size() - 1)); // over the size limit
  // Three levels of justification: proposal → round change → prepare → prepare.
  auto p = signed_msg(0, qbft::kind::prepare, 9, 0, "x");
  auto deep = p;
  deep.prepares = {p};
  auto rc = signed_msg(1, qbft::kind::round_change, 9, 1, "");
  rc.prepares = {deep};
  auto prop = signed_msg(2, qbft::kind::proposal, 9, 1, "x");
  prop.round_changes = {rc};
  CHECK_FALSE(qbft::decode_message(qbft::encode(prop)));
}

TEST_CASE("a validator's conflicting prepares become verifiable evidence") {
  std::vector<public_key> keys;
  for (int i = 0; i < 4; ++i)
    keys.push_back(key(i).pub());
  qbft::state st(qbft::config::make(chain_id), key(0), [](byte_view) { return true; });
  st.start(3, qbft::validator_set(keys));
  auto a = signed_msg(2, qbft::kind::prepare, 3, 0, "block A");
  auto b = signed_msg(2, qbft::kind::prepare, 3, 0, "block B");
  CHECK(st.on_message(a).evidence.empty());
  auto fx = st.on_message(b);
  REQUIRE(fx.evidence.size() == 1);
  auto ev = make_evidence(chain_id, key(2).pub(), fx.evidence[0]);
  CHECK(verify_evidence(ev));
  auto back = decode_evidence(encode(ev));
  REQUIRE(back);
  CHECK(encode(*back) == encode(ev));
  CHECK(verify_evidence(*back));
}

TEST_CASE("evidence that does not prove equivocation is refused") {
  auto a = signed_msg(1, qbft::kind::commit, 4, 2, "A");
  auto b = signed_msg(1, qbft::kind::commit, 4, 2, "B");
  equivocation_evidence good{chain_id, key(1).pub().der(), a, b};
  REQUIRE(verify_evidence(good));
  auto check = [](equivocation_evidence e, const std::string& why) {
    auto st = verify_evidence(e);
    REQUIRE_FALSE(st);
    INFO(st.err().message);
    CHECK(st.err().message.find(why) != std::string::npos);
  };
  auto tampered = good;
  tampered.second.signature[0] ^= 1;
  check(tampered, "second message: signature does not verify");
  auto same = good;
  same.second = same.first;
  check(same, "same content");
  auto other_round = good;
  other_round.second = signed_msg(1, qbft::kind::commit, 4, 3, "B");
  check(other_round, "not an equivocation");
  auto framed = good;
  framed.offender_key = key(2).pub().der();
  check(framed, "not from the offender's node id");
  auto other_chain = good;
  other_chain.chain_id = "another-chain";
  check(other_chain, "signature does not verify");
}

TEST_CASE("poe-cli evidence verify checks an evidence file") {
  auto a = signed_msg(1, qbft::kind::prepare, 4, 0, "A");
  auto b = signed_msg(1, qbft::kind::prepare, 4, 0, "B");
  equivocation_evidence e{chain_id, key(1).pub().der(), a, b};
  auto dir = std::filesystem::temp_directory_path() /
             ("poe-evidence-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const bytes& data) {
    auto path = (dir / name).string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data.data()),
                                                static_cast<std::streamsize>(data.size()));
    return path;
  };
  auto [rc, out] = run(std::string(POE_CLI) + " evidence verify " + write("good", encode(e)));
  CHECK(rc == 0);
  CHECK(out.find("valid: validator " + key(1).id().hex() +
                 " signed two different prepare messages at height 4 round 0") !=
        std::string::npos);
  e.first.signature[5] ^= 1;
  auto [rc2, out2] = run(std::string(POE_CLI) + " evidence verify " + write("bad", encode(e)));
  CHECK(rc2 == 1);
  CHECK(out2.find("invalid: first message: signature does not verify") != std::string::npos);
  auto [rc3, out3] =
    run(std::string(POE_CLI) + " evidence verify " + write("junk", bytes{1, 2, 3}));
  CHECK(rc3 == 2);
  CHECK(out3.find("not a poe evidence file") != std::string::npos);
  std::filesystem::remove_all(dir);
}
