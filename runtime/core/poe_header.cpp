#include "poe/core/poe_header.hpp"

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

} // namespace poe
