#include "poe/core/domain.hpp"

#include <stdexcept>

namespace poe {

namespace {
constexpr std::string_view magic = "poe/sig/v1";
} // namespace

std::string_view to_string(msg_type t) {
  switch (t) {
    case msg_type::task: return "task";
    case msg_type::task_result: return "task_result";
    case msg_type::step_receipt: return "step_receipt";
    case msg_type::log_block: return "log_block";
    case msg_type::poe_header: return "poe_header";
    case msg_type::proposal: return "proposal";
    case msg_type::prepare: return "prepare";
    case msg_type::commit: return "commit";
    case msg_type::round_change: return "round_change";
    case msg_type::commit_seal: return "commit_seal";
    case msg_type::transaction: return "transaction";
    case msg_type::builder_bid: return "builder_bid";
    case msg_type::bundle_reveal: return "bundle_reveal";
    case msg_type::exclusion_complaint: return "exclusion_complaint";
    case msg_type::storage_proof: return "storage_proof";
    case msg_type::client_request: return "client_request";
    case msg_type::peer_auth: return "peer_auth";
    case msg_type::job_output: return "job_output";
    case msg_type::lane_commit: return "lane_commit";
    case msg_type::voucher: return "voucher";
    case msg_type::playback_token: return "playback_token";
    case msg_type::playback_receipt: return "playback_receipt";
  }
  return "unknown";
}

result<msg_type> to_msg_type(std::uint16_t raw) {
  auto t = static_cast<msg_type>(raw);
  if (to_string(t) == "unknown")
    return fail(errc::decode_error, "unknown message type " + std::to_string(raw));
  return t;
}

status check_chain_id(std::string_view chain_id) {
  if (chain_id.empty() || chain_id.size() > 64)
    return fail(errc::invalid_argument,
                "chain id must be 1..64 characters, got " + std::to_string(chain_id.size()));
  for (char c : chain_id)
    if (c <= ' ' || c > '~')
      return fail(errc::invalid_argument, "chain id contains a non-printable or space character");
  return {};
}

bytes domain_prefix(std::string_view chain_id, msg_type type) {
  if (auto ok = check_chain_id(chain_id); !ok)
    throw std::invalid_argument(ok.err().message); // callers validate chain ids at the edge
  bytes out;
  out.reserve(magic.size() + 1 + chain_id.size() + 2);
  append(out, as_bytes(magic));
  out.push_back(static_cast<std::uint8_t>(chain_id.size()));
  append(out, as_bytes(chain_id));
  auto t = static_cast<std::uint16_t>(type);
  out.push_back(static_cast<std::uint8_t>(t >> 8));
  out.push_back(static_cast<std::uint8_t>(t));
  return out;
}

bytes signing_bytes(std::string_view chain_id, msg_type type, byte_view payload) {
  auto out = domain_prefix(chain_id, type);
  append(out, payload);
  return out;
}

bytes sign_in_domain(const private_key& key, std::string_view chain_id, msg_type type,
                     byte_view payload) {
  auto prefix = domain_prefix(chain_id, type);
  return key.sign({prefix, payload});
}

bool verify_in_domain(const public_key& key, std::string_view chain_id, msg_type type,
                      byte_view payload, byte_view sig) {
  if (!check_chain_id(chain_id)) return false;
  auto prefix = domain_prefix(chain_id, type);
  return key.verify({prefix, payload}, sig);
}

bool verify_in_domain(verifier& v, std::string_view chain_id, msg_type type, byte_view payload,
                      byte_view sig) {
  if (!check_chain_id(chain_id)) return false;
  auto prefix = domain_prefix(chain_id, type);
  return v.verify({prefix, payload}, sig);
}

} // namespace poe
