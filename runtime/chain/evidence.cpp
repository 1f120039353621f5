#include "poe/chain/evidence.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"

#include <cstring>

namespace poe::chain {

namespace {

constexpr char magic[] = "poe/evidence/v1";
constexpr std::size_t magic_len = sizeof(magic) - 1;
constexpr std::uint8_t kind_equivocation = 1, kind_storage_fraud = 2, kind_executor_fraud = 3;
constexpr std::size_t max_result_bytes = 64u << 10;

void append_signed(bytes& out, const signed_result& r) {
  append_blob(out, r.executor_key);
  append_blob(out, r.result);
  append(out, r.poe.view());
  append_blob(out, r.signature);
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
  append_signed(out, e.lie);
  append_signed(out, e.a);
  append_signed(out, e.b);
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
  if (kind != kind_equivocation && kind != kind_storage_fraud && kind != kind_executor_fraud)
    return fail(errc::decode_error, "unknown evidence kind " + std::to_string(kind));
  auto chain = r.take(r.u8());
  std::string chain_id(chain.begin(), chain.end());
  auto offender_key = r.blob();
  if (kind == kind_executor_fraud) {
    executor_fraud_evidence e;
    e.chain_id = std::move(chain_id);
    e.offender_key = std::move(offender_key);
    e.request = r.fixed<request_id>();
    e.lie = read_signed(r);
    e.a = read_signed(r);
    e.b = read_signed(r);
    if (!r.ok()) return fail(errc::decode_error, "evidence truncated");
    if (!r.done()) return fail(errc::decode_error, "trailing bytes after the evidence");
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

status verify_evidence(const executor_fraud_evidence& e) {
  if (e.lie.executor_key != e.offender_key)
    return fail(errc::verify_failed, "the lie is not signed by the offender's key");
  std::vector<node_id> ids;
  const char* names[] = {"lie", "a", "b"};
  int i = 0;
  for (auto* x : {&e.lie, &e.a, &e.b}) {
    auto key = public_key::from_der(x->executor_key);
    if (!key) return fail(errc::verify_failed, std::string(names[i]) + ": key: " + key.err().message);
    poe_v1_proof proof{e.request, key->id(), x->poe, x->signature};
    if (auto c = poe_verify(*key, e.request, x->result, proof); c != poe_check::valid)
      return fail(errc::verify_failed, std::string(names[i]) + ": PoE v1: " + std::string(to_string(c)));
    ids.push_back(key->id());
    ++i;
  }
  if (ids[0] == ids[1] || ids[0] == ids[2] || ids[1] == ids[2])
    return fail(errc::verify_failed, "the three results must come from three executors");
  if (e.a.result != e.b.result)
    return fail(errc::verify_failed, "the two witnesses disagree: nothing is proven");
  if (e.lie.result == e.a.result)
    return fail(errc::verify_failed, "the offender's result is the agreed one: not a fraud");
  return {};
}

stake_role role_of(const evidence& e) {
  if (std::holds_alternative<equivocation_evidence>(e)) return stake_role::validator;
  if (std::holds_alternative<storage_fraud_evidence>(e)) return stake_role::storage;
  return stake_role::executor;
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

std::string describe(const evidence& e) {
  auto who = offender_of(e).hex().substr(0, 12);
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

status check_executor_fraud(const ledger& state, const executor_fraud_evidence& e) {
  auto staked = [&](const bytes& der) {
    auto key = public_key::from_der(der);
    if (!key) return false;
    auto known = state.key_of(key->id());
    return known && known->der() == der && state.stake_of(key->id(), stake_role::executor) != amount{};
  };
  auto who = offender_of(evidence{e});
  if (!staked(e.offender_key))
    return fail(errc::verify_failed, "not_staked: " + who.hex() + " has no executor stake");
  if (!staked(e.a.executor_key) || !staked(e.b.executor_key))
    return fail(errc::verify_failed, "witness_not_staked: the agreeing results must come from "
                                     "staked executors");
  if (state.evidence_spent(evidence_id(e)))
    return fail(errc::verify_failed, "already_punished: " + who.hex() + " was punished for request " +
                                       e.request.hex() + " before");
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
  else st = check_executor_fraud(state, std::get<executor_fraud_evidence>(*e));
  if (!st) return st.err();
  return e;
}

amount punish(ledger& state, const evidence& e) {
  auto who = offender_of(e);
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

} // namespace poe::chain
