#pragma once
/// @file
/// The fixed binary PoE header of seed 004. Layout (all integers big-endian):
///
///     offset  size  field
///          0    32  bpi_id
///         32    32  logbook_root
///         64    32  execution_hash
///         96     8  timestamp (u64, ms since the Unix epoch)
///        104     8  rent_payment (u64, base units)
///        112    64  signature (Ed25519)        → 176 bytes
///        112   256  signature (RSA-2048)       → 368 bytes
///
/// The signature is `sign_in_domain(bpi_key, chain_id, msg_type::poe_header, bytes[0:112])`,
/// and bpi_id must be the node id of the signing key.

#include "poe/core/objects.hpp"

namespace poe {

constexpr std::size_t poe_header_fields_size = 112;
constexpr std::size_t poe_header_size_ed25519 = poe_header_fields_size + 64;
constexpr std::size_t poe_header_size_rsa2048 = poe_header_fields_size + 256;

/// The 112 signed bytes (everything but the signature).
bytes header_fields(const poe_header& h);
/// The full binary header; the signature must be 64 or 256 bytes.
result<bytes> encode_binary(const poe_header& h);
/// Decodes 176 or 368 bytes; any other length is an error.
result<poe_header> decode_binary_header(byte_view in);
/// Fills `h.signature` with `key`'s domain-separated signature; sets h.bpi to key's id.
void sign_header(poe_header& h, const private_key& key, std::string_view chain_id);
/// Checks key ↔ bpi_id and the signature. The error says which failed.
status verify_header(const poe_header& h, const public_key& key, std::string_view chain_id);
/// SHA-256 of the binary header (signature included): the header's id.
hash256 header_id(const poe_header& h);

/// The fixed binary LogBlock (all integers big-endian), 140 bytes:
///
///     offset  size  field
///          0    32  bpi_id
///         32     8  sequence (u64; 0 for the BPI's first LogBlock)
///         40    32  prev (id of the BPI's previous LogBlock; zero for the first)
///         72    32  receipts_root (RFC 6962 root over the receipts' canonical bytes)
///        104     4  receipt_count (u32)
///        108     8  first_ms
///        116     8  last_ms
///        124     8  work_units (Σ over the receipts)
///        132     8  result_bytes (Σ over the receipts)
///
/// Its SHA-256 is the LogBlock's id; a PoE header's execution_hash is the id of the LogBlock it
/// notarizes.
constexpr std::size_t log_block_binary_size = 140;
bytes encode_binary(const log_block& b);
/// Decodes exactly 140 bytes.
result<log_block> decode_binary_log_block(byte_view in);
/// SHA-256 of the binary LogBlock.
hash256 log_block_id(const log_block& b);

} // namespace poe
