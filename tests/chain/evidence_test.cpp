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
//  6. Evidence in a block: the offender loses slash_share_ppm of its validator stake to the
//     slashing pool and leaves the set from the next height; supply is conserved. Evidence is
//     refused (block invalid, builder leaves it out) when it is for another chain, names a
//     non-validator, punishes twice, is from a later height, is tampered, or would remove the
//     last validator.
//  7. Storage fraud: a storage node's signed wrong challenge answer verifies offline (and
//     not when the chunk, the signature or the chain differ, or the answer is right); in a
//     block it slashes slash_share_ppm of the node's storage stake once (the same evidence
//     again is already_punished; another lie is punished again); a node without storage
//     stake is not_staked.
//  8. Executor fraud: a PoE-signed result contradicted by two other executors' agreeing
//     results verifies offline (not with two agreeing liars' witnesses disagreeing, a forged
//     PoE, or one executor twice); in a block it slashes the liar's executor stake once per
//     request; witnesses and offender must hold executor stake, and the task must be one a
//     staked verifier signed (task grant): results for another task under the same request,
//     a tampered or self-signed task, and a compute task the validator re-runs and finds the
//     offender right are all refused.
//  5. `poe-cli evidence verify FILE`: valid evidence → exit 0 naming the validator (or the
//     storage node); tampered or no fraud → "invalid: …", exit 1; not evidence → exit 2.
#include "chain_test_util.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/producer.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/wire/codec.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace poe;
using namespace poe::chain;
const std::string& chain_id = poe::chain::test::chain;
using poe::chain::test::key;
using poe::chain::test::id;
using poe::chain::test::make_tx;
using poe::chain::test::pay;
using poe::chain::test::small_genesis;
using poe::chain::test::small_ledger;

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

/// What storage node `signer` signs as its answer to a challenge (nonce, chunk): a lie, or
/// the right answer.
storage_fraud_evidence storage_answer(int signer, const std::string& chunk, const std::string& nonce,
                                      bool lie = true) {
  storage_fraud_evidence e;
  e.chain_id = chain_id;
  e.offender_key = key(signer).pub().der();
  e.chunk = bytes(chunk.begin(), chunk.end());
  e.nonce = sha256::digest(as_bytes(nonce));
  e.answer = lie ? sha256::digest(as_bytes("made up"))
                 : sha256{}.update(e.nonce.view()).update(e.chunk).finish();
  e.signature =
    sign_in_domain(key(signer), chain_id, msg_type::storage_proof,
                   storage_proof_payload(sha256::digest(e.chunk), e.nonce, e.answer));
  return e;
}

/// The task verifier `verifier` signed for `request` (as one of a batch of three, so the
/// grant carries an audit path): a transcode task, judged by the witnesses' votes, or an
/// inline compute task of `iterations` that validators re-run themselves.
task_grant granted(const request_id& request, bool compute = false, int verifier = 13,
                   std::uint64_t iterations = 1000, std::uint64_t anchor = 2) {
  task t;
  t.id = request;
  t.submitter = key(verifier).id();
  t.created_ms = 7;
  t.anchor_height = anchor; // the deciders are drawn from block 2's id
  if (compute) {
    t.kind = "compute";
    t.params = {{"data", "616263"}, {"iterations", std::to_string(iterations)}};
  } else {
    t.kind = "transcode";
    t.params = {{"ladder", "720p"}};
    t.inputs = {"cid-of-the-source"};
  }
  auto other = t;
  other.id.data[0] ^= 0xff;
  auto third = t;
  third.id.data[1] ^= 0xff;
  std::vector<bytes> batch{wire::encode(other), wire::encode(t), wire::encode(third)};
  auto g = grant_of(authorize_tasks(key(verifier), chain_id, batch), batch, 1);
  REQUIRE(g);
  return *g;
}

/// Executor `k`'s PoE v1-signed result for the granted task: `what` is the output's CID of a
/// transcode, the digest of a compute task.
signed_result signed_by(int k, const task_grant& g, const std::string& what) {
  auto t = wire::decode_task(g.task);
  REQUIRE(t);
  task_result res;
  res.id = t->id;
  res.kind = t->kind;
  res.task_hash = sha256::digest(g.task);
  if (t->kind == "compute") res.facts = {{"digest", what}};
  else res.outputs = {{"720p/seg0.ts", what, 100}};
  auto r = wire::encode(res);
  auto proof = poe_commit(key(k), t->id, r);
  return {key(k).pub().der(), r, proof.poe, proof.sig};
}

/// Executor 10 lies about the task verifier 13 signed; executors 11 and 12 agree on the truth.
executor_fraud_evidence executor_lie(const request_id& request, bool compute = false) {
  executor_fraud_evidence e;
  e.chain_id = chain_id;
  e.request = request;
  e.task = granted(request, compute);
  auto truth = compute ? *reexecute(*wire::decode_task(e.task.task)) : std::string("the real result");
  e.lie = signed_by(10, e.task, "fabricated result");
  e.offender_key = e.lie.executor_key;
  e.a = signed_by(11, e.task, truth);
  e.b = signed_by(12, e.task, truth);
  return e;
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
  REQUIRE(std::holds_alternative<equivocation_evidence>(*back));
  CHECK(encode(std::get<equivocation_evidence>(*back)) == encode(ev));
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
  // Storage fraud: the signed wrong answer verifies; with the right answer it is no fraud.
  auto lie = storage_answer(10, "chunk bytes", "nonce 1");
  auto [rc4, out4] = run(std::string(POE_CLI) + " evidence verify " + write("lie", encode(lie)));
  CHECK(rc4 == 0);
  CHECK(out4.find("valid: storage node " + key(10).id().hex() +
                  " signed a wrong answer to a storage challenge") != std::string::npos);
  auto honest = storage_answer(10, "chunk bytes", "nonce 1", false);
  auto [rc5, out5] =
    run(std::string(POE_CLI) + " evidence verify " + write("honest", encode(honest)));
  CHECK(rc5 == 1);
  CHECK(out5.find("invalid: the signed answer is right: not a fraud") != std::string::npos);
  std::filesystem::remove_all(dir);
}

namespace {

bytes equivocation_of(int signer, std::uint64_t h, const std::string& chain = chain_id) {
  auto a = signed_msg(signer, qbft::kind::prepare, h, 0, "block-a");
  auto b = signed_msg(signer, qbft::kind::prepare, h, 0, "block-b");
  if (chain != chain_id) {
    for (auto* m : {&a, &b})
      m->signature = sign_in_domain(key(signer), chain, qbft::domain_of(m->type),
                                    qbft::signing_payload(*m));
  }
  return encode(equivocation_evidence{chain, key(signer).pub().der(), a, b});
}

bool has_member(const ledger& l, int i) {
  for (auto& v : l.validator_set())
    if (v.id == id(i)) return true;
  return false;
}

} // namespace

TEST_CASE("evidence in a block slashes the offender and removes it from the set") {
  auto state = small_ledger();
  chain_tip tip;
  auto ev = equivocation_of(2, 1);
  auto b = build_block(state, tip, {pay(10, 0, id(11), 5)}, id(1), 0, 1000, {ev});
  REQUIRE(b.evidence.size() == 1);
  REQUIRE(b.transactions.size() == 1);
  REQUIRE(validate_block(state, tip, b, 1000));
  auto decoded = decode_block(encode(b));
  REQUIRE(decoded);
  auto next = execute_block(state, *decoded);
  REQUIRE(next);
  CHECK(next->stake_of(id(2), stake_role::validator) == amount{950}); // 5 % of 1000
  CHECK(next->slashing_pool() == amount{50});
  CHECK(next->is_jailed(id(2)));
  CHECK_FALSE(has_member(*next, 2));
  CHECK(next->validator_set().size() == 3);
  CHECK(next->total_supply() == next->minted());
  // Re-staking as a validator is refused for a removed account.
  auto again = make_tx(2, 0, stake{stake_role::validator, amount{10}});
  CHECK(next->apply(again, 2, id(1)).reason() == reject_reason::jailed);

  SECTION("the same offender is not punished twice") {
    auto tip1 = tip_of(b);
    auto b2 = build_block(*next, tip1, {}, id(1), 0, 2000, {equivocation_of(2, 1)});
    CHECK(b2.evidence.empty()); // the builder leaves it out
    auto forced = b2;
    forced.evidence = {equivocation_of(2, 1)};
    seal_roots(forced);
    auto st = validate_block(*next, tip1, forced, 2000);
    REQUIRE_FALSE(st);
    CHECK(st.err().message.find("evidence 0: already_punished") != std::string::npos);
  }
}

TEST_CASE("evidence that does not hold makes its block invalid") {
  auto state = small_ledger();
  chain_tip tip;
  auto refused = [&](bytes ev, std::uint64_t height_of_block = 1) {
    // build_block leaves it out; a block that carries it anyway does not validate.
    auto b = build_block(state, tip, {}, id(1), 0, 1000, {ev});
    CHECK(b.evidence.empty());
    b.evidence = {std::move(ev)};
    seal_roots(b);
    b.header.height = height_of_block;
    auto st = execute_block(state, b);
    REQUIRE_FALSE(st);
    return st.err().message;
  };
  CHECK(refused(equivocation_of(2, 1, "other-chain")).find("evidence 0: wrong_chain") == 0);
  CHECK(refused(equivocation_of(11, 1)).find("evidence 0: not_a_validator") == 0);
  CHECK(refused(equivocation_of(2, 5)).find("evidence 0: from_future") == 0);
  auto tampered = equivocation_of(2, 1);
  tampered[tampered.size() - 3] ^= 1; // inside the second message's signature
  CHECK(refused(tampered).find("evidence 0: invalid") == 0);
  CHECK(refused(bytes{1, 2, 3}).find("evidence 0: invalid") == 0);

  SECTION("the last validator is never removed") {
    auto g = small_genesis();
    g.validators.resize(1);
    auto one = ledger::from_genesis(g);
    REQUIRE(one);
    int who = -1;
    for (int i = 0; i < 4; ++i)
      if (key(i).id() == g.validators[0].id()) who = i;
    auto st = check_evidence(*one, equivocation_of(who, 1), 1);
    REQUIRE_FALSE(st);
    CHECK(st.err().message.find("last_validator") == 0);
  }
}

TEST_CASE("a block whose PoE entry does not decode is refused") {
  auto state = small_ledger();
  chain_tip tip;
  auto b = build_block(state, tip, {}, id(1), 0, 1000);
  b.poe_headers = {bytes{1, 2, 3}};
  seal_roots(b);
  auto st = execute_block(state, b);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("poe entry 0") == 0);
}

TEST_CASE("a storage node's signed wrong challenge answer slashes its storage stake once") {
  auto lie = storage_answer(10, "chunk bytes", "nonce 1");
  REQUIRE(verify_evidence(lie));
  auto back = decode_evidence(encode(lie));
  REQUIRE(back);
  REQUIRE(std::holds_alternative<storage_fraud_evidence>(*back));
  CHECK(encode(std::get<storage_fraud_evidence>(*back)) == encode(lie));
  CHECK(offender_of(*back) == key(10).id());
  CHECK(describe(*back).find("storage node") == 0);

  auto refused_offline = [](storage_fraud_evidence e, const std::string& why) {
    auto st = verify_evidence(e);
    REQUIRE_FALSE(st);
    INFO(st.err().message);
    CHECK(st.err().message.find(why) != std::string::npos);
  };
  refused_offline(storage_answer(10, "chunk bytes", "nonce 1", false), "not a fraud");
  auto other_chunk = lie;
  other_chunk.chunk.back() ^= 1; // not the chunk whose digest was signed
  refused_offline(other_chunk, "signature");
  auto other_chain = lie;
  other_chain.chain_id = "other-chain";
  refused_offline(other_chain, "signature");
  auto someone_else = lie;
  someone_else.offender_key = key(11).pub().der();
  refused_offline(someone_else, "signature");
  auto truncated = encode(lie);
  truncated.pop_back();
  CHECK_FALSE(decode_evidence(truncated));

  auto state = small_ledger();
  chain_tip tip;
  // Without storage stake there is nothing to slash.
  auto st = check_evidence(state, encode(lie), 1);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("not_staked") == 0);

  REQUIRE(state.apply(make_tx(10, 0, stake{stake_role::storage, amount{10'000}}), 1, id(0)));
  auto supply = state.total_supply();
  auto b = build_block(state, tip, {}, id(1), 0, 1000, {encode(lie)});
  REQUIRE(b.evidence.size() == 1);
  REQUIRE(validate_block(state, tip, b, 1000));
  auto next = execute_block(state, b);
  REQUIRE(next);
  CHECK(next->stake_of(key(10).id(), stake_role::storage) == amount{9'500}); // 5 % slashed
  CHECK(next->slashing_pool().units() == state.slashing_pool().units() + 500);
  CHECK(next->total_supply() == supply);
  CHECK(next->evidence_spent(evidence_id(lie)));

  SECTION("the same evidence is not punished twice") {
    auto tip1 = tip_of(b);
    auto b2 = build_block(*next, tip1, {}, id(1), 0, 2000, {encode(lie)});
    CHECK(b2.evidence.empty());
    b2.evidence = {encode(lie)};
    seal_roots(b2);
    auto again = validate_block(*next, tip1, b2, 2000);
    REQUIRE_FALSE(again);
    CHECK(again.err().message.find("evidence 0: already_punished") != std::string::npos);
  }
  SECTION("another lie is punished again") {
    auto tip1 = tip_of(b);
    auto b2 = build_block(*next, tip1, {}, id(1), 0, 2000,
                          {encode(storage_answer(10, "chunk bytes", "nonce 2"))});
    REQUIRE(b2.evidence.size() == 1);
    REQUIRE(validate_block(*next, tip1, b2, 2000));
    auto after = execute_block(*next, b2);
    REQUIRE(after);
    CHECK(after->stake_of(key(10).id(), stake_role::storage) == amount{9'025});
  }
}

TEST_CASE("an executor whose signed result two others contradict loses executor stake once") {
  request_id req;
  req.data.fill(0x21);
  auto e = executor_lie(req);
  REQUIRE(verify_evidence(e));
  auto back = decode_evidence(encode(e));
  REQUIRE(back);
  REQUIRE(std::holds_alternative<executor_fraud_evidence>(*back));
  CHECK(encode(std::get<executor_fraud_evidence>(*back)) == encode(e));
  CHECK(role_of(*back) == stake_role::executor);
  CHECK(offender_of(*back) == key(10).id());

  auto refused_offline = [](executor_fraud_evidence x, const std::string& why) {
    auto st = verify_evidence(x);
    REQUIRE_FALSE(st);
    INFO(st.err().message);
    CHECK(st.err().message.find(why) != std::string::npos);
  };
  auto disagree = e;
  disagree.b = signed_by(12, e.task, "something else");
  refused_offline(disagree, "witnesses disagree");
  auto forged = e;
  forged.a.result = bytes{'x'}; // the PoE no longer matches
  forged.b.result = bytes{'x'};
  refused_offline(forged, "PoE v1");
  auto twice = e;
  twice.b = signed_by(11, e.task, "the real result");
  refused_offline(twice, "three executors");
  auto agreed = e;
  agreed.lie = signed_by(10, e.task, "the real result");
  refused_offline(agreed, "not a fraud");
  request_id other;
  other.data.fill(0x22);
  auto wrong_request = e;
  wrong_request.a = signed_by(11, granted(other), "the real result");
  refused_offline(wrong_request, "PoE v1");

  // The attack this closes: the results must be for the task a verifier signed. Two colluding
  // executors cannot reuse an honest executor's result for another task under this request
  // id, nor swap in a task of their own, nor change the signed one.
  auto another_task = e;
  auto t2 = *wire::decode_task(e.task.task);
  t2.inputs = {"cid-of-another-source"};
  auto g2 = e.task;
  g2.task = wire::encode(t2);
  another_task.lie = signed_by(10, g2, "cid-of-another-source/720p");
  refused_offline(another_task, "lie: the result is not for the signed task");
  auto tampered = e;
  tampered.task = g2; // the task bytes are not those the verifier signed
  refused_offline(tampered, "task: ");
  auto reindexed = e;
  reindexed.task.index = 0;
  refused_offline(reindexed, "task: ");
  auto other_request = e;
  other_request.request = other;
  refused_offline(other_request, "the signed task is for another request");
  auto t3 = *wire::decode_task(e.task.task);
  t3.submitter = key(14).id(); // signed by 13, naming 14 as its coordinator
  std::vector<bytes> one{wire::encode(t3)};
  auto lent = e;
  lent.task = *grant_of(authorize_tasks(key(13), chain_id, one), one, 0);
  lent.lie = signed_by(10, lent.task, "fabricated result");
  lent.a = signed_by(11, lent.task, "the real result");
  lent.b = signed_by(12, lent.task, "the real result");
  refused_offline(lent, "another submitter");

  // A compute task cheap enough is re-run by the validator: the votes do not decide it.
  auto computed = executor_lie(req, true);
  REQUIRE(verify_evidence(computed));
  auto framed = computed; // two colluders vote an honest executor's right digest down
  auto truth = *reexecute(*wire::decode_task(computed.task.task));
  framed.lie = signed_by(10, computed.task, truth);
  framed.a = signed_by(11, computed.task, "a made-up digest");
  framed.b = signed_by(12, computed.task, "a made-up digest");
  refused_offline(framed, "the offender's result is right");
  auto both_wrong = computed;
  both_wrong.a = signed_by(11, computed.task, "a made-up digest");
  both_wrong.b = signed_by(12, computed.task, "a made-up digest");
  refused_offline(both_wrong, "the witnesses' result is wrong");
  // Beyond max_reexecuted_iterations the task is judged by the votes again.
  auto heavy = granted(req, true, 13, max_reexecuted_iterations + 1);
  CHECK_FALSE(reexecute(*wire::decode_task(heavy.task)));

  auto state = small_ledger();
  chain_tip tip;
  auto st = check_evidence(state, encode(e), 1);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("not_staked") == 0);
  REQUIRE(state.apply(make_tx(10, 0, stake{stake_role::executor, amount{20'000}}), 1, id(0)));
  st = check_evidence(state, encode(e), 1);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("witness_not_staked") == 0);
  REQUIRE(state.apply(make_tx(11, 0, stake{stake_role::executor, amount{20'000}}), 1, id(0)));
  REQUIRE(state.apply(make_tx(12, 0, stake{stake_role::executor, amount{20'000}}), 1, id(0)));
  // Three staked executors are not enough: the task must be one a staked verifier signed. A
  // task the colluders signed themselves (executor 11 as its "verifier") is refused as well.
  st = check_evidence(state, encode(e), 1);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("verifier_not_staked") == 0);
  auto self_signed = e;
  self_signed.task = granted(req, false, 11);
  self_signed.lie = signed_by(10, self_signed.task, "fabricated result");
  self_signed.a = signed_by(11, self_signed.task, "the real result");
  self_signed.b = signed_by(12, self_signed.task, "the real result");
  REQUIRE(verify_evidence(self_signed));
  st = check_evidence(state, encode(self_signed), 1);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("verifier_not_staked") == 0);
  REQUIRE(state.apply(make_tx(13, 0, stake{stake_role::verifier, amount{1'000}}), 1, id(0)));
  // The task's anchor (block 2) must be a block the chain knows, after the stakes (block 1).
  st = check_evidence(state, encode(e), 2);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("witness_not_drawn") == 0);
  state.begin_block(2, sha256::digest(as_bytes(std::string("block 1"))));
  state.begin_block(3, sha256::digest(as_bytes(std::string("block 2"))));
  REQUIRE(check_evidence(state, encode(e), 3));
  tip.height = 3;
  tip.id = sha256::digest(as_bytes(std::string("block 3")));

  auto supply = state.total_supply();
  auto b = build_block(state, tip, {}, id(1), 0, 1000, {encode(e), encode(self_signed)});
  REQUIRE(b.evidence.size() == 1); // the builder leaves out what does not check
  REQUIRE(validate_block(state, tip, b, 1000));
  auto next = execute_block(state, b);
  REQUIRE(next);
  CHECK(next->stake_of(key(10).id(), stake_role::executor) == amount{19'000}); // 5 %
  CHECK(next->stake_of(key(11).id(), stake_role::executor) == amount{20'000});
  CHECK(next->total_supply() == supply);
  // The same request again is refused; the same liar on another request is punished again.
  auto b2 = build_block(*next, tip_of(b), {}, id(1), 0, 2000, {encode(e), encode(executor_lie(other))});
  REQUIRE(b2.evidence.size() == 1);
  auto after = execute_block(*next, b2);
  REQUIRE(after);
  CHECK(after->stake_of(key(10).id(), stake_role::executor) == amount{18'050});
}

TEST_CASE("executor fraud about a task no validator can run counts only the witnesses the chain drew") {
  // Executors 11, 12, 14..17 stake in block 1; 18 in block 2 (after the anchor's parent).
  auto state = small_ledger();
  std::uint64_t nonce12 = 0;
  for (int k = 14; k <= 18; ++k)
    REQUIRE(state.apply(pay(12, nonce12++, id(k), 50'000), 1, id(0)));
  REQUIRE(state.apply(make_tx(10, 0, stake{stake_role::executor, amount{20'000}}), 1, id(0)));
  REQUIRE(state.apply(make_tx(11, 0, stake{stake_role::executor, amount{20'000}}), 1, id(0)));
  REQUIRE(state.apply(make_tx(12, nonce12++, stake{stake_role::executor, amount{20'000}}), 1, id(0)));
  for (int k = 14; k <= 17; ++k)
    REQUIRE(state.apply(make_tx(k, 0, stake{stake_role::executor, amount{20'000}}), 1, id(0)));
  REQUIRE(state.apply(make_tx(13, 0, stake{stake_role::verifier, amount{1'000}}), 1, id(0)));
  state.begin_block(2, sha256::digest(as_bytes(std::string("block 1"))));
  REQUIRE(state.apply(make_tx(18, 0, stake{stake_role::executor, amount{40'000}}), 2, id(0)));
  state.begin_block(3, sha256::digest(as_bytes(std::string("block 2"))));

  request_id req;
  req.data.fill(0x31);
  auto pool = state.drawable_executors(2);
  CHECK(pool.size() == 7); // 10, 11, 12, 14..17: not 18, which staked in block 2
  auto drawn = drawn_deciders(pool, *state.block_id(2), req, key(10).id());
  REQUIRE(drawn.size() == decider_draw_size);
  CHECK(std::find(drawn.begin(), drawn.end(), key(10).id()) == drawn.end());
  CHECK(drawn == drawn_deciders(pool, *state.block_id(2), req, key(10).id())); // deterministic
  // Another anchor or request draws others (most of the time; these do).
  CHECK(drawn != drawn_deciders(pool, *state.block_id(1), req, key(10).id()));

  auto index_of = [](const node_id& who) {
    for (int k = 11; k <= 18; ++k)
      if (key(k).id() == who) return k;
    return -1;
  };
  std::vector<int> in, out;
  for (int k : {11, 12, 14, 15, 16, 17})
    (std::find(drawn.begin(), drawn.end(), key(k).id()) != drawn.end() ? in : out).push_back(k);
  REQUIRE(in.size() == 3);
  REQUIRE(out.size() == 3);
  auto evidence_with = [&](int a, int b, std::uint64_t anchor = 2) {
    executor_fraud_evidence e;
    e.chain_id = chain_id;
    e.request = req;
    e.task = granted(req, false, 13, 1000, anchor);
    e.lie = signed_by(10, e.task, "fabricated result");
    e.offender_key = e.lie.executor_key;
    e.a = signed_by(a, e.task, "the real result");
    e.b = signed_by(b, e.task, "the real result");
    return encode(e);
  };
  auto refused = [&](const bytes& ev, const std::string& why) {
    auto st = check_evidence(state, ev, 3);
    REQUIRE_FALSE(st);
    INFO(st.err().message);
    CHECK(st.err().message.find(why) == 0);
  };
  // The attack: a verifier and two colluding executors outside the draw frame executor 10.
  refused(evidence_with(out[0], out[1]), "witness_not_drawn");
  refused(evidence_with(in[0], out[0]), "witness_not_drawn");
  // A colluder that staked after the anchor's parent is never drawn, whatever its stake.
  refused(evidence_with(in[0], 18), "witness_not_drawn");
  // No anchor, an anchor not before this block, an anchor the chain does not know.
  refused(evidence_with(in[0], in[1], 0), "witness_not_drawn");
  refused(evidence_with(in[0], in[1], 3), "witness_not_drawn");
  refused(evidence_with(in[0], in[1], 9), "witness_not_drawn");
  // Two drawn witnesses decide.
  CHECK(check_evidence(state, evidence_with(in[0], in[2]), 3));
  CHECK(index_of(drawn[0]) > 0);
  // The anchor must be recent: after ledger::recent_blocks more blocks it is forgotten.
  auto later = state;
  for (std::uint64_t h = 4; h < 4 + ledger::recent_blocks + 2; ++h)
    later.begin_block(h, sha256::digest(as_bytes("block " + std::to_string(h - 1))));
  auto st = check_evidence(later, evidence_with(in[0], in[2]), 4 + ledger::recent_blocks + 2);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("older than") != std::string::npos);
}

TEST_CASE("the decider draw favours stake and ignores the accused") {
  std::vector<ledger::drawable_executor> pool;
  for (int k = 0; k < 20; ++k) pool.push_back({key(100 + k).id(), amount{1'000}, 0});
  pool[7].stake = amount{1'000'000}; // a thousand times the others' stake
  hash256 anchor;
  int drawn_first = 0;
  for (int r = 0; r < 200; ++r) {
    request_id req;
    req.data[0] = static_cast<std::uint8_t>(r);
    req.data[1] = static_cast<std::uint8_t>(r >> 8);
    auto d = drawn_deciders(pool, anchor, req, key(100 + 3).id());
    REQUIRE(d.size() == 3);
    CHECK(std::find(d.begin(), d.end(), key(103).id()) == d.end());
    if (d.front() == pool[7].id) ++drawn_first;
  }
  CHECK(drawn_first > 150); // ~all of 200; any unweighted rank would give it ~10
}
