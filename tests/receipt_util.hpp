#pragma once
// A step receipt as a verifier sends it to a builder: a real task result signed under PoE v1 by
// `executor`, the receipt naming it, signed by `verifier` (chain::attested_receipt).
#include "poe/chain/log_builder.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"
#include "poe/wire/codec.hpp"

namespace poe::test {

inline chain::attested_receipt attested_receipt(const private_key& verifier, const private_key& executor,
                                                std::string_view chain_id, std::uint8_t n,
                                                std::uint64_t work_units = 5, std::uint64_t verified_ms = 1) {
  task_result res;
  res.id.data[0] = n;
  res.kind = "compute";
  res.facts = {{"digest", "d-" + std::to_string(n)}};
  res.task_hash = sha256::digest(as_bytes("task " + std::to_string(n)));
  auto result = wire::encode(res);
  auto proof = poe_commit(executor, res.id, result);
  step_receipt rc;
  rc.request = res.id;
  rc.kind = res.kind;
  rc.executor = executor.id();
  rc.result_hash = sha256::digest(result);
  rc.poe = proof.poe;
  rc.poe_sig = proof.sig;
  rc.verifier = verifier.id();
  rc.verified_ms = verified_ms;
  rc.work_units = work_units;
  chain::attested_receipt a{wire::encode(rc), {}, {}, result, executor.pub().der()};
  chain::sign(a, verifier, chain_id);
  return a;
}

} // namespace poe::test
