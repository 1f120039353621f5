#include "poe/core/poe_header.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/sha256.hpp"

#include <algorithm>

namespace poe {

bytes header_fields(const poe_header& h) {
  bytes out;
  out.reserve(poe_header_size_rsa2048);
  append(out, h.bpi.view());
  append(out, h.logbook_root.view());
  append(out, h.execution_hash.view());
  append_u64_be(out, h.timestamp);
  append_u64_be(out, h.rent_payment);
  return out;
}

result<bytes> encode_binary(const poe_header& h) {
  if (h.signature.size() != 64 && h.signature.size() != 256)
    return fail(errc::invalid_argument, "PoE header signature must be 64 or 256 bytes, got " +
                                            std::to_string(h.signature.size()));
  auto out = header_fields(h);
  append(out, h.signature);
  return out;
}

result<poe_header> decode_binary_header(byte_view in) {
  if (in.size() != poe_header_size_ed25519 && in.size() != poe_header_size_rsa2048)
    return fail(errc::decode_error, "binary PoE header must be 176 or 368 bytes, got " +
                                        std::to_string(in.size()));
  poe_header h;
  const auto* p = in.data();
  std::copy_n(p, 32, h.bpi.data.begin());
  std::copy_n(p + 32, 32, h.logbook_root.data.begin());
  std::copy_n(p + 64, 32, h.execution_hash.data.begin());
  h.timestamp = get_u64_be(p + 96);
  h.rent_payment = get_u64_be(p + 104);
  h.signature.assign(p + poe_header_fields_size, p + in.size());
  return h;
}

void sign_header(poe_header& h, const private_key& key, std::string_view chain_id) {
  h.bpi = key.id();
  h.signature = sign_in_domain(key, chain_id, msg_type::poe_header, header_fields(h));
}

status verify_header(const poe_header& h, const public_key& key, std::string_view chain_id) {
  if (key.id() != h.bpi)
    return fail(errc::verify_failed, "PoE header: key does not match bpi_id " + h.bpi.hex());
  if (h.signature.size() != key.signature_size())
    return fail(errc::verify_failed, "PoE header: signature has " +
                                         std::to_string(h.signature.size()) + " bytes, key needs " +
                                         std::to_string(key.signature_size()));
  if (!verify_in_domain(key, chain_id, msg_type::poe_header, header_fields(h), h.signature))
    return fail(errc::verify_failed, "PoE header: bad signature");
  return {};
}

hash256 header_id(const poe_header& h) {
  return sha256::digest({header_fields(h), h.signature});
}

bytes encode_binary(const log_block& b) {
  bytes out;
  out.reserve(log_block_binary_size);
  append(out, b.bpi.view());
  append_u64_be(out, b.sequence);
  append(out, b.prev.view());
  append(out, b.receipts_root.view());
  append_u32_be(out, b.receipt_count);
  append_u64_be(out, b.first_ms);
  append_u64_be(out, b.last_ms);
  append_u64_be(out, b.work_units);
  append_u64_be(out, b.result_bytes);
  return out;
}

result<log_block> decode_binary_log_block(byte_view in) {
  if (in.size() != log_block_binary_size)
    return fail(errc::decode_error, "binary LogBlock must be 140 bytes, got " +
                                        std::to_string(in.size()));
  log_block b;
  const auto* p = in.data();
  std::copy_n(p, 32, b.bpi.data.begin());
  b.sequence = get_u64_be(p + 32);
  std::copy_n(p + 40, 32, b.prev.data.begin());
  std::copy_n(p + 72, 32, b.receipts_root.data.begin());
  b.receipt_count = get_u32_be(p + 104);
  b.first_ms = get_u64_be(p + 108);
  b.last_ms = get_u64_be(p + 116);
  b.work_units = get_u64_be(p + 124);
  b.result_bytes = get_u64_be(p + 132);
  return b;
}

hash256 log_block_id(const log_block& b) { return sha256::digest(encode_binary(b)); }

} // namespace poe
