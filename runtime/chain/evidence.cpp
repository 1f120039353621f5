#include "poe/chain/evidence.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/domain.hpp"

#include <cstring>

namespace poe::chain {

namespace {

constexpr char magic[] = "poe/evidence/v1";
constexpr std::size_t magic_len = sizeof(magic) - 1;

bool same_content(const qbft::message& a, const qbft::message& b) {
  return a.digest == b.digest && a.prepared == b.prepared &&
         a.prepared_round == b.prepared_round && a.prepared_digest == b.prepared_digest;
}

} // namespace

bytes encode(const equivocation_evidence& e) {
  bytes out(magic, magic + magic_len);
  out.push_back(1);
  out.push_back(static_cast<std::uint8_t>(e.chain_id.size()));
  append(out, as_bytes(e.chain_id));
  append_blob(out, e.offender_key);
  append_blob(out, qbft::encode(e.first));
  append_blob(out, qbft::encode(e.second));
  return out;
}

result<equivocation_evidence> decode_evidence(byte_view in) {
  if (in.size() < magic_len + 2 || std::memcmp(in.data(), magic, magic_len) != 0)
    return fail(errc::decode_error, "not a poe evidence file (magic \"poe/evidence/v1\" missing)");
  byte_reader r{in.subspan(magic_len)};
  if (r.u8() != 1) return fail(errc::decode_error, "unknown evidence kind");
  equivocation_evidence e;
  auto chain = r.take(r.u8());
  e.chain_id.assign(chain.begin(), chain.end());
  e.offender_key = r.blob();
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
  return e;
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

node_id offender_of(const equivocation_evidence& e) {
  auto key = public_key::from_der(e.offender_key);
  return key ? key->id() : node_id{};
}

result<equivocation_evidence> check_evidence(const ledger& state, byte_view encoded,
                                             std::uint64_t height) {
  auto e = decode_evidence(encoded);
  if (!e) return fail(errc::verify_failed, "invalid: " + e.err().message);
  if (e->chain_id != state.chain_id())
    return fail(errc::verify_failed, "wrong_chain: evidence for chain '" + e->chain_id +
                                       "', this is '" + state.chain_id() + "'");
  if (auto st = verify_evidence(*e); !st)
    return fail(errc::verify_failed, "invalid: " + st.err().message);
  if (e->first.height > height)
    return fail(errc::verify_failed, "from_future: messages of height " +
                                       std::to_string(e->first.height) +
                                       " in evidence for block " + std::to_string(height));
  auto who = offender_of(*e);
  auto known = state.key_of(who);
  if (!known || known->der() != e->offender_key)
    return fail(errc::verify_failed, "not_a_validator: " + who.hex() + " has no validator key");
  if (state.is_jailed(who))
    return fail(errc::verify_failed, "already_punished: " + who.hex() + " was removed before");
  auto set = state.validator_set();
  if (set.size() == 1 && set.front().id == who)
    return fail(errc::verify_failed, "last_validator: removing " + who.hex() +
                                       " would leave no validator");
  return e;
}

amount punish_equivocation(ledger& state, const node_id& offender) {
  auto slashed = state.slash(offender, stake_role::validator, state.params().slash_share_ppm);
  state.remove_validator(offender);
  return slashed ? *slashed : amount{};
}

} // namespace poe::chain
