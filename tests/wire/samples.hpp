#pragma once
// Sample protocol objects with every field set, shared by the wire tests and the fuzz seed
// generator.

#include "poe/core/objects.hpp"
#include "poe/core/poe_header.hpp"

namespace poe::test {

inline node_id sample_node(std::uint8_t seed) {
  node_id n;
  for (std::size_t i = 0; i < n.size; ++i) n.data[i] = static_cast<std::uint8_t>(seed + i);
  return n;
}

inline hash256 sample_hash(std::uint8_t seed) { return hash256{sample_node(seed).data}; }

inline request_id sample_request(std::uint8_t seed) {
  request_id r;
  for (std::size_t i = 0; i < r.size; ++i) r.data[i] = static_cast<std::uint8_t>(seed * 3 + i);
  return r;
}

inline task sample_task() {
  task t;
  t.id = sample_request(1);
  t.kind = "transcode";
  t.params = {{"ladder", "default"}, {"threads", "1"}, {"x264.asm", "sse2"}};
  t.inputs = {"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "bafkreia"};
  t.submitter = sample_node(9);
  t.created_ms = 1763856000123;
  return t;
}

inline task_result sample_result() {
  task_result r;
  r.id = sample_request(1);
  r.kind = "transcode";
  r.outputs = {{"720p/seg0.m4s", "bafkrei720", 123456}, {"480p/seg0.m4s", "bafkrei480", 65432}};
  r.facts = {{"duration_ms", "2000"}, {"frames", "60"}};
  return r;
}

inline step_receipt sample_receipt() {
  step_receipt r;
  r.request = sample_request(2);
  r.kind = "transcode";
  r.executor = sample_node(3);
  r.result_hash = sample_hash(4);
  r.poe = sample_hash(5);
  r.poe_sig = bytes(64, 0x5a);
  r.verifier = sample_node(6);
  r.verified_ms = 1763856000999;
  r.reexecuted = true;
  r.work_units = 3;
  r.result_bytes = 188888;
  return r;
}

inline log_block sample_log_block() {
  log_block b;
  b.bpi = sample_node(7);
  b.sequence = 12;
  b.prev = sample_hash(8);
  b.receipts_root = sample_hash(9);
  b.receipt_count = 64;
  b.first_ms = 1763856000000;
  b.last_ms = 1763856001000;
  return b;
}

inline poe_header sample_header() {
  poe_header h;
  h.bpi = sample_node(10);
  h.logbook_root = sample_hash(11);
  h.execution_hash = sample_hash(12);
  h.timestamp = 1763856002000;
  h.rent_payment = 5000;
  h.signature = bytes(64, 0x33);
  return h;
}

inline envelope sample_envelope() {
  envelope e;
  e.chain_id = "poe-devnet";
  e.type = msg_type::step_receipt;
  e.signer_key = bytes(44, 0x21);
  e.payload = bytes(100, 0x42);
  e.signature = bytes(64, 0x17);
  return e;
}

} // namespace poe::test
