#include "poe/chain/evidence.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"
#include "poe/wire/codec.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>

namespace poe::chain {

namespace {

constexpr char magic[] = "poe/evidence/v1";
constexpr std::size_t magic_len = sizeof(magic) - 1;
constexpr std::uint8_t kind_equivocation = 1, kind_storage_fraud = 2, kind_executor_fraud = 3,
                       kind_censorship = 4, kind_settlement = 5, kind_withheld = 6;
constexpr std::size_t max_complaints = 256;
constexpr std::size_t max_result_bytes = 64u << 10;

void append_signed(bytes& out, const signed_result& r) {
  append_blob(out, r.executor_key);
  append_blob(out, r.result);
  append(out, r.poe.view());
  append_blob(out, r.signature);
}

constexpr std::size_t max_task_bytes = 64u << 10;
constexpr std::size_t max_grant_path = 32;

void append_grant(bytes& out, const task_grant& g) {
  append_blob(out, g.task);
  append_blob(out, g.signer_key);
  append_blob(out, g.signature);
  append_u32_be(out, g.index);
  append_u32_be(out, g.count);
  out.push_back(static_cast<std::uint8_t>(g.path.size()));
  for (auto& h : g.path) append(out, h.view());
}

task_grant read_grant(byte_reader& r) {
  task_grant g;
  g.task = r.blob();
  g.signer_key = r.blob();
  g.signature = r.blob();
  g.index = r.u32();
  g.count = r.u32();
  auto n = r.u8();
  for (std::uint8_t i = 0; i < n && r.ok(); ++i) g.path.push_back(r.fixed<hash256>());
  return g;
}

signed_result read_signed(byte_reader& r) {
  signed_result s;
  s.executor_key = r.blob();
  s.result = r.blob();
  s.poe = r.fixed<hash256>();
  s.signature = r.blob();
  return s;
}
constexpr std::size_t max_evidence_chunk = 1u << 20; // storage::max_chunk_size

bytes header(std::uint8_t kind, const std::string& chain_id, const bytes& offender_key) {
  bytes out(magic, magic + magic_len);
  out.push_back(kind);
  out.push_back(static_cast<std::uint8_t>(chain_id.size()));
  append(out, as_bytes(chain_id));
  append_blob(out, offender_key);
  return out;
}

hash256 sha256_of(std::initializer_list<byte_view> parts) {
  sha256 h;
  for (auto p : parts)
    h.update(p);
  return h.finish();
}

bool same_content(const qbft::message& a, const qbft::message& b) {
  return a.digest == b.digest && a.prepared == b.prepared &&
         a.prepared_round == b.prepared_round && a.prepared_digest == b.prepared_digest;
}

} // namespace

bytes encode(const equivocation_evidence& e) {
  auto out = header(kind_equivocation, e.chain_id, e.offender_key);
  append_blob(out, qbft::encode(e.first));
  append_blob(out, qbft::encode(e.second));
  return out;
}

bytes encode(const storage_fraud_evidence& e) {
  auto out = header(kind_storage_fraud, e.chain_id, e.offender_key);
  append(out, e.nonce.view());
  append(out, e.answer.view());
  append_blob(out, e.signature);
  append_blob(out, e.chunk);
  return out;
}

bytes encode(const executor_fraud_evidence& e) {
  auto out = header(kind_executor_fraud, e.chain_id, e.offender_key);
  append(out, e.request.view());
  append_grant(out, e.task);
  append_signed(out, e.lie);
  append_signed(out, e.a);
  append_signed(out, e.b);
  return out;
}

bytes encode(const censorship_evidence& e) {
  auto out = header(kind_censorship, e.chain_id, e.offender_key);
  append_u32_be(out, static_cast<std::uint32_t>(e.complaints.size()));
  for (auto& c : e.complaints) append_blob(out, encode(c));
  return out;
}

bytes encode(const bid_settlement& e) {
  auto out = header(kind_settlement, e.chain_id, e.offender_key);
  append_blob(out, encode(e.bid));
  append_u32_be(out, e.bundle_entries);
  return out;
}

bytes encode(const withheld_bid_evidence& e) {
  auto out = header(kind_withheld, e.chain_id, e.offender_key);
  append_blob(out, encode(e.bid));
  return out;
}

bytes storage_proof_payload(const hash256& chunk_digest, const hash256& nonce,
                            const hash256& answer) {
  bytes out;
  out.reserve(96);
  append(out, chunk_digest.view());
  append(out, nonce.view());
  append(out, answer.view());
  return out;
}

result<evidence> decode_evidence(byte_view in) {
  if (in.size() < magic_len + 2 || std::memcmp(in.data(), magic, magic_len) != 0)
    return fail(errc::decode_error, "not a poe evidence file (magic \"poe/evidence/v1\" missing)");
  byte_reader r{in.subspan(magic_len)};
  auto kind = r.u8();
  if (kind < kind_equivocation || kind > kind_withheld)
    return fail(errc::decode_error, "unknown evidence kind " + std::to_string(kind));
  auto chain = r.take(r.u8());
  std::string chain_id(chain.begin(), chain.end());
  auto offender_key = r.blob();
  auto finish = [&]() -> status {
    if (!r.ok()) return fail(errc::decode_error, "evidence truncated");
    if (!r.done()) return fail(errc::decode_error, "trailing bytes after the evidence");
    return {};
  };
  if (kind == kind_censorship) {
    censorship_evidence e{std::move(chain_id), std::move(offender_key), {}};
    auto n = r.u32();
    if (n == 0 || n > max_complaints)
      return fail(errc::decode_error, "censorship: 1.." + std::to_string(max_complaints) +
                                        " complaints expected, got " + std::to_string(n));
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
      auto c = decode_exclusion_complaint(r.blob());
      if (!c) return fail(errc::decode_error, "complaint " + std::to_string(i) + ": " + c.err().message);
      e.complaints.push_back(std::move(*c));
    }
    if (auto st = finish(); !st) return st.err();
    return evidence{std::move(e)};
  }
  if (kind == kind_settlement || kind == kind_withheld) {
    auto bid = decode_builder_bid(r.blob());
    std::uint32_t k = kind == kind_settlement ? r.u32() : 0;
    if (auto st = finish(); !st) return st.err();
    if (!bid) return fail(errc::decode_error, "bid: " + bid.err().message);
    if (kind == kind_settlement)
      return evidence{bid_settlement{std::move(chain_id), std::move(offender_key), *bid, k}};
    return evidence{withheld_bid_evidence{std::move(chain_id), std::move(offender_key), *bid}};
  }
  if (kind == kind_executor_fraud) {
    executor_fraud_evidence e;
    e.chain_id = std::move(chain_id);
    e.offender_key = std::move(offender_key);
    e.request = r.fixed<request_id>();
    e.task = read_grant(r);
    e.lie = read_signed(r);
    e.a = read_signed(r);
    e.b = read_signed(r);
    if (!r.ok()) return fail(errc::decode_error, "evidence truncated");
    if (!r.done()) return fail(errc::decode_error, "trailing bytes after the evidence");
    if (e.task.task.size() > max_task_bytes || e.task.path.size() > max_grant_path)
      return fail(errc::decode_error, "a task of " + std::to_string(e.task.task.size()) +
                                        " bytes or an audit path of " + std::to_string(e.task.path.size()) +
                                        " hashes (at most 64 KiB and 32)");
    for (auto* x : {&e.lie, &e.a, &e.b})
      if (x->result.size() > max_result_bytes)
        return fail(errc::decode_error, "a result of " + std::to_string(x->result.size()) +
                                          " bytes (at most " + std::to_string(max_result_bytes) + ")");
    return evidence{std::move(e)};
  }
  if (kind == kind_storage_fraud) {
    storage_fraud_evidence e{std::move(chain_id), std::move(offender_key), {}, {}, {}, {}};
    e.nonce = r.fixed<hash256>();
    e.answer = r.fixed<hash256>();
    e.signature = r.blob();
    e.chunk = r.blob();
    if (!r.ok()) return fail(errc::decode_error, "evidence truncated");
    if (!r.done()) return fail(errc::decode_error, "trailing bytes after the evidence");
    if (e.chunk.empty() || e.chunk.size() > max_evidence_chunk)
      return fail(errc::decode_error, "chunk of " + std::to_string(e.chunk.size()) +
                                        " bytes (1.." + std::to_string(max_evidence_chunk) + ")");
    return evidence{std::move(e)};
  }
  equivocation_evidence e;
  e.chain_id = std::move(chain_id);
  e.offender_key = std::move(offender_key);
  auto first = r.blob();
  auto second = r.blob();
  if (!r.ok()) return fail(errc::decode_error, "evidence truncated");
  if (!r.done()) return fail(errc::decode_error, "trailing bytes after the evidence");
  auto a = qbft::decode_message(first);
  if (!a) return fail(errc::decode_error, "first message: " + a.err().message);
  auto b = qbft::decode_message(second);
  if (!b) return fail(errc::decode_error, "second message: " + b.err().message);
  e.first = std::move(*a);
  e.second = std::move(*b);
  return evidence{std::move(e)};
}

equivocation_evidence make_evidence(const std::string& chain_id, const public_key& offender,
                                    const qbft::equivocation& eq) {
  return {chain_id, offender.der(), eq.first, eq.second};
}

status verify_evidence(const equivocation_evidence& e) {
  auto key = public_key::from_der(e.offender_key);
  if (!key) return fail(errc::verify_failed, "offender key: " + key.err().message);
  auto& a = e.first;
  auto& b = e.second;
  if (a.from != key->id() || b.from != key->id())
    return fail(errc::verify_failed, "the messages are not from the offender's node id " +
                                       key->id().hex());
  if (a.type != b.type || a.height != b.height || a.round != b.round)
    return fail(errc::verify_failed,
                "the messages differ in kind, height or round: not an equivocation");
  if (same_content(a, b))
    return fail(errc::verify_failed, "the two messages carry the same content");
  for (auto* m : {&a, &b})
    if (!verify_in_domain(*key, e.chain_id, qbft::domain_of(m->type), qbft::signing_payload(*m),
                          m->signature))
      return fail(errc::verify_failed, std::string(m == &a ? "first" : "second") +
                                         " message: signature does not verify for chain '" +
                                         e.chain_id + "'");
  return {};
}

status verify_evidence(const storage_fraud_evidence& e) {
  auto key = public_key::from_der(e.offender_key);
  if (!key) return fail(errc::verify_failed, "offender key: " + key.err().message);
  auto digest = sha256::digest(e.chunk);
  if (!verify_in_domain(*key, e.chain_id, msg_type::storage_proof,
                        storage_proof_payload(digest, e.nonce, e.answer), e.signature))
    return fail(errc::verify_failed, "the signature over (SHA-256 of the chunk, nonce, answer) "
                                     "does not verify for chain '" + e.chain_id + "'");
  if (sha256_of({e.nonce.view(), e.chunk}) == e.answer)
    return fail(errc::verify_failed, "the signed answer is right: not a fraud");
  return {};
}

namespace {

/// The `digest` fact of an inline compute result, when it has one.
std::optional<std::string> digest_fact(const task_result& r) {
  for (auto& f : r.facts)
    if (f.key == "digest") return f.value;
  return std::nullopt;
}

} // namespace

std::optional<std::string> reexecute(const task& t) {
  if (t.kind != "compute" || !t.inputs.empty()) return std::nullopt;
  std::optional<std::string> data, iterations;
  for (auto& p : t.params) {
    if (p.key == "data") data = p.value;
    else if (p.key == "iterations") iterations = p.value;
    else return std::nullopt;
  }
  if (!data || !iterations) return std::nullopt;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(iterations->data(), iterations->data() + iterations->size(), n);
  if (ec != std::errc{} || end != iterations->data() + iterations->size() || n == 0 ||
      n > max_reexecuted_iterations)
    return std::nullopt;
  auto input = from_hex(*data);
  if (!input) return std::nullopt;
  auto d = sha256::digest(*input);
  sha256 h;
  for (std::uint64_t i = 1; i < n; ++i) d = h.update(d.view()).finish();
  return d.hex();
}

status verify_evidence(const executor_fraud_evidence& e) {
  if (e.lie.executor_key != e.offender_key)
    return fail(errc::verify_failed, "the lie is not signed by the offender's key");
  // The task: signed by a verifier (its stake is checked against the chain in check_evidence),
  // naming the request and that verifier.
  auto verifier = check_task_grant(e.task, e.chain_id);
  if (!verifier) return fail(errc::verify_failed, "task: " + verifier.err().message);
  auto t = wire::decode_task(e.task.task);
  if (!t) return fail(errc::verify_failed, "task: " + t.err().message);
  if (t->id != e.request) return fail(errc::verify_failed, "the signed task is for another request");
  if (t->submitter != verifier->id())
    return fail(errc::verify_failed, "the signed task names another submitter than its signer");
  auto task_hash = sha256::digest(e.task.task);
  std::vector<node_id> ids;
  std::vector<task_result> results;
  const char* names[] = {"lie", "a", "b"};
  int i = 0;
  for (auto* x : {&e.lie, &e.a, &e.b}) {
    auto key = public_key::from_der(x->executor_key);
    if (!key) return fail(errc::verify_failed, std::string(names[i]) + ": key: " + key.err().message);
    poe_v1_proof proof{e.request, key->id(), x->poe, x->signature};
    if (auto c = poe_verify(*key, e.request, x->result, proof); c != poe_check::valid)
      return fail(errc::verify_failed, std::string(names[i]) + ": PoE v1: " + std::string(to_string(c)));
    // PoE v1 signs the result bytes, and the result names the task it ran: a result for
    // another task under the same request id proves nothing about this one.
    auto r = wire::decode_task_result(x->result);
    if (!r) return fail(errc::verify_failed, std::string(names[i]) + ": result: " + r.err().message);
    if (r->id != e.request || r->task_hash != task_hash)
      return fail(errc::verify_failed, std::string(names[i]) + ": the result is not for the signed task");
    results.push_back(std::move(*r));
    ids.push_back(key->id());
    ++i;
  }
  if (ids[0] == ids[1] || ids[0] == ids[2] || ids[1] == ids[2])
    return fail(errc::verify_failed, "the three results must come from three executors");
  if (e.a.result != e.b.result)
    return fail(errc::verify_failed, "the two witnesses disagree: nothing is proven");
  if (e.lie.result == e.a.result)
    return fail(errc::verify_failed, "the offender's result is the agreed one: not a fraud");
  // A task cheap enough to run here is judged by running it, not by counting votes.
  if (auto truth = reexecute(*t)) {
    if (digest_fact(results[0]) == truth)
      return fail(errc::verify_failed, "re-executed: the offender's result is right: not a fraud");
    if (digest_fact(results[1]) != truth)
      return fail(errc::verify_failed, "re-executed: the witnesses' result is wrong");
  }
  return {};
}

status verify_evidence(const censorship_evidence& e) {
  auto key = public_key::from_der(e.offender_key);
  if (!key) return fail(errc::verify_failed, "offender key: " + key.err().message);
  if (e.complaints.empty()) return fail(errc::verify_failed, "no complaints");
  std::set<node_id> from;
  auto& first = e.complaints.front();
  for (std::size_t i = 0; i < e.complaints.size(); ++i) {
    auto& c = e.complaints[i];
    auto who = verify_complaint(c, e.chain_id);
    if (!who) return fail(errc::verify_failed, "complaint " + std::to_string(i) + ": " + who.err().message);
    if (c.proposer != key->id())
      return fail(errc::verify_failed, "complaint " + std::to_string(i) + " is not against the offender");
    if (c.height != first.height || c.round != first.round || c.digest != first.digest)
      return fail(errc::verify_failed, "the complaints are not all against one proposal");
    if (!from.insert(*who).second)
      return fail(errc::verify_failed, "two complaints from " + who->hex().substr(0, 12));
  }
  return {};
}

namespace {
status verify_bid_of(const std::string& chain_id, const bytes& offender_key, const builder_bid& bid) {
  if (bid.builder_key != offender_key)
    return fail(errc::verify_failed, "the bid is not the offender's");
  if (auto who = verify_bid(bid, chain_id); !who) return who.err();
  return {};
}
} // namespace

status verify_evidence(const bid_settlement& e) {
  if (e.bundle_entries == 0) return fail(errc::verify_failed, "a settlement of an empty bundle");
  return verify_bid_of(e.chain_id, e.offender_key, e.bid);
}

status verify_evidence(const withheld_bid_evidence& e) {
  return verify_bid_of(e.chain_id, e.offender_key, e.bid);
}

stake_role role_of(const evidence& e) {
  if (std::holds_alternative<equivocation_evidence>(e) ||
      std::holds_alternative<censorship_evidence>(e))
    return stake_role::validator;
  if (std::holds_alternative<storage_fraud_evidence>(e)) return stake_role::storage;
  if (std::holds_alternative<executor_fraud_evidence>(e)) return stake_role::executor;
  return stake_role::builder;
}

status verify_evidence(const evidence& e) {
  return std::visit([](const auto& x) { return verify_evidence(x); }, e);
}

node_id offender_of(const evidence& e) {
  auto key = public_key::from_der(std::visit([](const auto& x) -> const bytes& {
    return x.offender_key;
  }, e));
  return key ? key->id() : node_id{};
}

hash256 evidence_id(const storage_fraud_evidence& e) {
  auto who = offender_of(evidence{e});
  return sha256_of({who.view(), storage_proof_payload(sha256::digest(e.chunk), e.nonce, e.answer)});
}

hash256 evidence_id(const executor_fraud_evidence& e) {
  auto who = offender_of(evidence{e});
  return sha256_of({as_bytes(std::string_view("executor")), who.view(), e.request.view()});
}

hash256 evidence_id(const censorship_evidence& e) {
  auto who = offender_of(evidence{e});
  bytes hr;
  append_u64_be(hr, e.complaints.empty() ? 0 : e.complaints.front().height);
  append_u64_be(hr, e.complaints.empty() ? 0 : e.complaints.front().round);
  return sha256_of({as_bytes(std::string_view("censorship")), who.view(), hr});
}

hash256 evidence_id(const withheld_bid_evidence& e) { return bid_id(e.bid); }

std::string describe(const evidence& e) {
  auto who = offender_of(e).hex().substr(0, 12);
  if (auto* c = std::get_if<censorship_evidence>(&e))
    return "proposer " + who + " left out PoE headers due for inclusion at height " +
           std::to_string(c->complaints.front().height) + " round " +
           std::to_string(c->complaints.front().round) + " (" +
           std::to_string(c->complaints.size()) + " complaints)";
  if (auto* b = std::get_if<bid_settlement>(&e))
    return "builder " + who + " pays its winning bid of " + b->bid.value.to_string() +
           " for height " + std::to_string(b->bid.height);
  if (auto* w = std::get_if<withheld_bid_evidence>(&e))
    return "builder " + who + " won height " + std::to_string(w->bid.height) + " with " +
           w->bid.value.to_string() + " and withheld its bundle";
  if (auto* q = std::get_if<equivocation_evidence>(&e))
    return "validator " + who + " equivocated: two " + std::string(qbft::to_string(q->first.type)) +
           " messages at height " + std::to_string(q->first.height) + " round " +
           std::to_string(q->first.round);
  if (auto* x = std::get_if<executor_fraud_evidence>(&e))
    return "executor " + who + " signed a result for request " + x->request.hex() +
           " that two other executors contradict";
  auto& f = std::get<storage_fraud_evidence>(e);
  return "storage node " + who + " signed a wrong challenge answer for the chunk with SHA-256 " +
         sha256::digest(f.chunk).hex().substr(0, 16) + "..";
}

namespace {

status check_equivocation(const ledger& state, const equivocation_evidence& e,
                          std::uint64_t height) {
  if (e.first.height > height)
    return fail(errc::verify_failed, "from_future: messages of height " +
                                       std::to_string(e.first.height) +
                                       " in evidence for block " + std::to_string(height));
  auto who = offender_of(evidence{e});
  auto known = state.key_of(who);
  if (!known || known->der() != e.offender_key)
    return fail(errc::verify_failed, "not_a_validator: " + who.hex() + " has no validator key");
  if (state.is_jailed(who))
    return fail(errc::verify_failed, "already_punished: " + who.hex() + " was removed before");
  auto set = state.validator_set();
  if (set.size() == 1 && set.front().id == who)
    return fail(errc::verify_failed, "last_validator: removing " + who.hex() +
                                       " would leave no validator");
  return {};
}

status check_storage_fraud(const ledger& state, const storage_fraud_evidence& e) {
  auto who = offender_of(evidence{e});
  auto known = state.key_of(who);
  if (!known || known->der() != e.offender_key ||
      state.stake_of(who, stake_role::storage) == amount{})
    return fail(errc::verify_failed, "not_staked: " + who.hex() + " has no storage stake");
  if (state.evidence_spent(evidence_id(e)))
    return fail(errc::verify_failed, "already_punished: this storage fraud was punished before");
  return {};
}

status check_censorship(const ledger& state, const censorship_evidence& e, std::uint64_t height) {
  auto& first = e.complaints.front();
  if (first.height > height)
    return fail(errc::verify_failed, "from_future: complaints of height " +
                                       std::to_string(first.height) + " in block " +
                                       std::to_string(height));
  auto who = offender_of(evidence{e});
  auto known = state.key_of(who);
  if (!known || known->der() != e.offender_key ||
      state.stake_of(who, stake_role::validator) == amount{})
    return fail(errc::verify_failed, "not_a_validator: " + who.hex() + " has no validator stake");
  auto set = state.validator_set();
  std::size_t members = 0;
  for (auto& c : e.complaints) {
    auto key = public_key::from_der(c.complainer_key);
    if (key && std::any_of(set.begin(), set.end(), [&](auto& v) { return v.id == key->id(); }))
      ++members;
  }
  auto f = set.empty() ? 0 : (set.size() - 1) / 3;
  if (members < f + 1 || members != e.complaints.size())
    return fail(errc::verify_failed, "too_few: " + std::to_string(members) + " of " +
                                       std::to_string(e.complaints.size()) +
                                       " complaints from validators, f+1 = " + std::to_string(f + 1) +
                                       " needed (and every complainer must be one)");
  if (state.evidence_spent(evidence_id(e)))
    return fail(errc::verify_failed, "already_punished: this proposal was punished before");
  return {};
}

status check_bid(const ledger& state, const builder_bid& bid, std::uint64_t height) {
  if (bid.height != height)
    return fail(errc::verify_failed, "wrong_height: a bid for height " + std::to_string(bid.height) +
                                       " in block " + std::to_string(height));
  auto key = public_key::from_der(bid.builder_key);
  auto known = key ? state.key_of(key->id()) : std::nullopt;
  if (!known || known->der() != bid.builder_key ||
      state.stake_of(key->id(), stake_role::builder) == amount{})
    return fail(errc::verify_failed, "not_staked: the bidder holds no builder stake");
  return {};
}

/// The task's anchor block and the deciders the chain draws for it; errors name the rule.
result<std::vector<node_id>> deciders_of(const ledger& state, const task& t, const node_id& offender,
                                          std::uint64_t height) {
  if (t.anchor_height == 0 || t.anchor_height >= height)
    return fail(errc::verify_failed, "witness_not_drawn: the task names no anchor block before this one "
                                     "(anchor height " + std::to_string(t.anchor_height) + ")");
  auto id = state.block_id(t.anchor_height);
  if (!id)
    return fail(errc::verify_failed, "witness_not_drawn: the task's anchor block " +
                                       std::to_string(t.anchor_height) + " is older than the last " +
                                       std::to_string(ledger::recent_blocks) + " blocks");
  return drawn_deciders(state.drawable_executors(t.anchor_height), *id, t.id, offender);
}

status check_executor_fraud(const ledger& state, const executor_fraud_evidence& e, std::uint64_t height) {
  auto staked = [&](const bytes& der) {
    auto key = public_key::from_der(der);
    if (!key) return false;
    auto known = state.key_of(key->id());
    auto units = state.stake_of(key->id(), stake_role::executor);
    return known && known->der() == der && units != amount{} &&
           !(units < state.params().min_executor_stake);
  };
  auto who = offender_of(evidence{e});
  if (!staked(e.offender_key))
    return fail(errc::verify_failed, "not_staked: " + who.hex() + " has no executor stake");
  if (!staked(e.a.executor_key) || !staked(e.b.executor_key))
    return fail(errc::verify_failed, "witness_not_staked: the agreeing results must come from "
                                     "staked executors");
  auto verifier = public_key::from_der(e.task.signer_key);
  auto known = verifier ? state.key_of(verifier->id()) : std::nullopt;
  if (!known || known->der() != e.task.signer_key ||
      state.stake_of(verifier->id(), stake_role::verifier) == amount{})
    return fail(errc::verify_failed, "verifier_not_staked: the task must be signed by a staked verifier");
  if (state.evidence_spent(evidence_id(e)))
    return fail(errc::verify_failed, "already_punished: " + who.hex() + " was punished for request " +
                                       e.request.hex() + " before");
  // Votes count only when the chain chose the voters: a task no validator can run is decided
  // by the executors drawn from its anchor block, not by executors the accuser picked.
  auto t = wire::decode_task(e.task.task);
  if (!t) return fail(errc::verify_failed, "invalid: task: " + t.err().message);
  if (!reexecute(*t)) {
    auto drawn = deciders_of(state, *t, who, height);
    if (!drawn) return drawn.err();
    for (auto* w : {&e.a, &e.b}) {
      auto id = public_key::from_der(w->executor_key)->id();
      if (std::find(drawn->begin(), drawn->end(), id) == drawn->end())
        return fail(errc::verify_failed, "witness_not_drawn: executor " + id.hex().substr(0, 12) +
                                           " is not among the " + std::to_string(drawn->size()) +
                                           " deciders the chain drew for request " + e.request.hex());
    }
  }
  return {};
}

} // namespace

result<evidence> check_evidence(const ledger& state, byte_view encoded, std::uint64_t height) {
  auto e = decode_evidence(encoded);
  if (!e) return fail(errc::verify_failed, "invalid: " + e.err().message);
  auto chain_id = std::visit([](const auto& x) { return x.chain_id; }, *e);
  if (chain_id != state.chain_id())
    return fail(errc::verify_failed, "wrong_chain: evidence for chain '" + chain_id +
                                       "', this is '" + state.chain_id() + "'");
  if (auto st = verify_evidence(*e); !st)
    return fail(errc::verify_failed, "invalid: " + st.err().message);
  status st;
  if (auto* q = std::get_if<equivocation_evidence>(&*e)) st = check_equivocation(state, *q, height);
  else if (auto* f = std::get_if<storage_fraud_evidence>(&*e)) st = check_storage_fraud(state, *f);
  else if (auto* c = std::get_if<censorship_evidence>(&*e)) st = check_censorship(state, *c, height);
  else if (auto* b = std::get_if<bid_settlement>(&*e)) {
    st = check_bid(state, b->bid, height);
    auto builder = offender_of(*e);
    if (st && state.account_of(builder).balance < b->bid.value)
      st = fail(errc::verify_failed, "insufficient_funds: the builder cannot pay its bid of " +
                                       b->bid.value.to_string());
  } else if (auto* w = std::get_if<withheld_bid_evidence>(&*e)) {
    st = check_bid(state, w->bid, height);
    if (st && state.evidence_spent(evidence_id(*w)))
      st = fail(errc::verify_failed, "already_punished: this withheld bid was penalized before");
  } else
    st = check_executor_fraud(state, std::get<executor_fraud_evidence>(*e), height);
  if (!st) return st.err();
  return e;
}

amount punish(ledger& state, const evidence& e, const node_id& proposer) {
  auto who = offender_of(e);
  if (auto* b = std::get_if<bid_settlement>(&e)) {
    if (!state.pay_bid(who, proposer, b->bid.value)) return amount{}; // check_evidence checked
    return b->bid.value;
  }
  if (auto* w = std::get_if<withheld_bid_evidence>(&e)) {
    state.spend_evidence(evidence_id(*w));
    return state.penalize_withheld(who, w->bid.value);
  }
  if (auto* c = std::get_if<censorship_evidence>(&e)) {
    state.spend_evidence(evidence_id(*c));
    auto slashed = state.slash(who, stake_role::validator, state.params().slash_share_ppm);
    return slashed ? *slashed : amount{};
  }
  auto role = role_of(e);
  auto slashed = state.slash(who, role, state.params().slash_share_ppm);
  if (role == stake_role::validator)
    state.remove_validator(who);
  else if (auto* f = std::get_if<storage_fraud_evidence>(&e))
    state.spend_evidence(evidence_id(*f));
  else
    state.spend_evidence(evidence_id(std::get<executor_fraud_evidence>(e)));
  return slashed ? *slashed : amount{};
}

std::vector<node_id> drawn_deciders(const std::vector<ledger::drawable_executor>& pool,
                                    const hash256& anchor_id, const request_id& request,
                                    const node_id& exclude, std::size_t k) {
  using u128 = unsigned __int128;
  std::vector<std::pair<u128, node_id>> ranked;
  static constexpr std::string_view tag = "poe/deciders/v1";
  for (auto& x : pool) {
    if (x.id == exclude || x.stake == amount{}) continue;
    sha256 h;
    h.update(as_bytes(tag));
    h.update(anchor_id.view());
    h.update(request.view());
    h.update(x.id.view());
    auto d = h.finish();
    u128 v = 0;
    for (std::size_t i = 0; i < 16; ++i) v = (v << 8) | d.data[i];
    ranked.emplace_back(v / x.stake.units(), x.id);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<node_id> out;
  for (std::size_t i = 0; i < ranked.size() && i < k; ++i) out.push_back(ranked[i].second);
  return out;
}

} // namespace poe::chain
