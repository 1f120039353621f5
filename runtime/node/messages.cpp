#include "poe/runtime/messages.hpp"

#include "poe/chain/notary.hpp"
#include "poe/core/types.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

namespace poe::runtime {

void register_messages(caf::actor_system_config& cfg) {
  // Runtime (this issue).
  cfg.add_message_type<role_entry>("poe.role_entry");
  cfg.add_message_type<std::vector<role_entry>>("std::vector<poe.role_entry>");
  cfg.add_message_type<peer_hello>("poe.peer_hello");
  cfg.add_message_type<peer_welcome>("poe.peer_welcome");
  cfg.add_message_type<peer_proof>("poe.peer_proof");
  cfg.add_message_type<peer_refusal>("poe.peer_refusal");
  cfg.add_message_type<role_announcement>("poe.role_announcement");
  cfg.add_message_type<peer_info>("poe.peer_info");
  cfg.add_message_type<std::vector<peer_info>>("std::vector<poe.peer_info>");
  cfg.add_message_type<std::vector<std::uint8_t>>("std::vector<uint8_t>");
  cfg.add_message_type<std::vector<std::vector<std::uint8_t>>>(
    "std::vector<std::vector<uint8_t>>");
  // std::vector<std::string> is one of CAF's builtin types (@strvec).
  // Typed messages between roles (role_messages.hpp).
  cfg.add_message_type<submit_reply>("poe.submit_reply");
  cfg.add_message_type<std::vector<submit_reply>>("std::vector<poe.submit_reply>");
  cfg.add_message_type<account_view>("poe.account_view");
  cfg.add_message_type<decider_pool>("poe.decider_pool");
  cfg.add_message_type<chain_status>("poe.chain_status");
  cfg.add_message_type<chain_block>("poe.chain_block");
  cfg.add_message_type<executor_status>("poe.executor_status");
  cfg.add_message_type<job_status>("poe.job_status");
  cfg.add_message_type<builder_status>("poe.builder_status");
  cfg.add_message_type<object_stat>("poe.object_stat");
  cfg.add_message_type<std::vector<stored_object>>("std::vector<poe.stored_object>");
  cfg.add_message_type<storage_usage>("poe.storage_usage");
  cfg.add_message_type<std::vector<challenge_record>>("std::vector<poe.challenge_record>");
  cfg.add_message_type<rent_quote_view>("poe.rent_quote_view");
  cfg.add_message_type<rent_flows>("poe.rent_flows");
  cfg.add_message_type<payment_terms>("poe.payment_terms");
  cfg.add_message_type<channel_ack>("poe.channel_ack");
  cfg.add_message_type<std::vector<channel_ack>>("std::vector<poe.channel_ack>");
  cfg.add_message_type<channel_entry>("poe.channel_entry");
  cfg.add_message_type<std::vector<channel_entry>>("std::vector<poe.channel_entry>");
  cfg.add_message_type<channel_report>("poe.channel_report");
  cfg.add_message_type<content_view>("poe.content_view");
  cfg.add_message_type<channel_view>("poe.channel_view");
  cfg.add_message_type<job_escrow_view>("poe.job_escrow_view");
}

std::string_view to_string(verdict v) {
  switch (v) {
    case verdict::accepted:
      return "accepted";
    case verdict::known:
      return "known";
    case verdict::rejected:
      return "rejected";
    case verdict::busy:
      return "busy";
  }
  return "unknown";
}

std::string submit_reply::text() const {
  if (!taken()) return std::string(to_string(outcome)) + ": " + reason + ": " + detail;
  std::string out(to_string(outcome));
  if (!id.empty()) out += " " + to_hex(id);
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

submit_reply accepted_reply(std::vector<std::uint8_t> id, std::string detail) {
  return {verdict::accepted, {}, std::move(detail), std::move(id)};
}
submit_reply known_reply(std::vector<std::uint8_t> id) {
  return {verdict::known, {}, {}, std::move(id)};
}
submit_reply rejected_reply(std::string reason, std::string detail) {
  return {verdict::rejected, std::move(reason), std::move(detail), {}};
}
submit_reply busy_reply(std::string reason, std::string detail) {
  return {verdict::busy, std::move(reason), std::move(detail), {}};
}

std::uint64_t account_view::stake_of(chain::stake_role r) const {
  for (auto& s : stakes)
    if (s.role == r) return s.units;
  return 0;
}

rent_terms to_terms(const chain::rent_params& p) {
  return {p.base_rent.units(),  p.rent_per_work_unit.units(), p.rent_per_kib.units(),
          p.validators_ppm,     p.slashing_ppm,               p.treasury_ppm,
          p.inclusion_blocks,   p.max_block_poes,             p.min_builder_stake.units()};
}

chain::rent_params to_params(const rent_terms& t) {
  chain::rent_params p;
  p.base_rent = amount{t.base_rent};
  p.rent_per_work_unit = amount{t.rent_per_work_unit};
  p.rent_per_kib = amount{t.rent_per_kib};
  p.validators_ppm = t.validators_ppm;
  p.slashing_ppm = t.slashing_ppm;
  p.treasury_ppm = t.treasury_ppm;
  p.inclusion_blocks = t.inclusion_blocks;
  p.max_block_poes = t.max_block_poes;
  p.min_builder_stake = amount{t.min_builder_stake};
  return p;
}

std::vector<caf::message> message_samples() {
  std::vector<std::uint8_t> b{1, 2, 3, 255};
  role_entry e{"storage", "ab12", caf::actor{}};
  role_announcement ann{"ab12", 7, 3, {e, role_entry{"validator", "cd34", caf::actor{}}}};
  return {
    caf::make_message(e),
    caf::make_message(std::vector<role_entry>{e, e}),
    caf::make_message(peer_hello{"poe-devnet", b, b, caf::actor{}}),
    caf::make_message(peer_welcome{"poe-devnet", b, b, b, b, caf::actor{}}),
    caf::make_message(peer_proof{b, b, ann}),
    caf::make_message(peer_refusal{b, "not_allowed: reason"}),
    caf::make_message(ann),
    caf::make_message(peer_info{"ab12", "127.0.0.1:7100", true, 3}),
    caf::make_message(std::vector<peer_info>{peer_info{"ab12", "inbound", false, 1}}),
    caf::make_message(b),
    caf::make_message(std::vector<std::vector<std::uint8_t>>{b, b}),
    caf::make_message(std::vector<std::string>{"a", "b"}),
    caf::make_message(rejected_reply("stale_nonce", "nonce 3 is below 4")),
    caf::make_message(std::vector<submit_reply>{accepted_reply(b), known_reply(b)}),
    caf::make_message(account_view{b, 10, 2, 7, false,
                                   {stake_entry{chain::stake_role::executor, 5}},
                                   {unbonding_view{chain::stake_role::builder, 1, 9}},
                                   {flow_entry{"fee", 3}}, 4}),
    caf::make_message(chain_status{"poe-devnet", "ab12", 7, b, 1000, 1, 100, 2, 3, 0, 4, b, 5, 6,
                                   7, to_terms(chain::rent_params{}),
                                   {validator_view{b, 100}}, payment_terms{20, 4096, 1024, 0, 65536}}),
    caf::make_message(chain_block{7, b, b, 1000, 1, 2, 0, b, {flow_entry{"fee", 3}}}),
    caf::make_message(executor_status{2, 1, 0, 1, 5, 0, {"compute", "transcode"}}),
    caf::make_message(object_stat{"bafy", true, 4096, false, 1, 1, "video/mp4", "alice", 7, 0, {"ab12"}}),
    caf::make_message(std::vector<stored_object>{stored_object{"bafy", 4096, true}}),
    caf::make_message(storage_usage{"alice", 4096, "123456789012345678901234", 7}),
    caf::make_message(std::vector<challenge_record>{challenge_record{"ab12", 3, 0, 1, 750'000}}),
    caf::make_message(builder_status{"ab12", true, 3, b, 1, 9, 3, 2, 8, 1, 40}),
    caf::make_message(rent_quote_view{140, 147, 100, 30, 3, 7, 700'000, 100'000, 200'000}),
    caf::make_message(rent_flows{40, {0, 2, 280, 196, 28, 56, {flow_entry{"rent_storage", 6}}},
                                 {rent_flow{39, 2, 280, 196, 28, 56, {flow_entry{"job_executor", 19}}}}}),
    caf::make_message(channel_ack{false, "over_deposit", 30, 60}),
    caf::make_message(std::vector<channel_ack>{channel_ack{true, "", 3, 9}, channel_ack{false, "bad_tick", 2, 9}}),
    caf::make_message(channel_report{12, 40, 2, {channel_entry{b, b, 1000, 60, 20, 100, 0, 2}}}),
    caf::make_message(content_view{true, b, b, b, 3, 700'000, 100'000, 150'000, 50'000, 30, 9, 12}),
    caf::make_message(channel_view{true, b, b, b, 1000, 60, 200, 0, 12, {lane_view{0, b, 3, 20}}}),
    caf::make_message(job_escrow_view{true, b, b, b, 900, 51, 3, 100'000, 70, 12, {0, 1, 7}}),
    caf::make_message(job_status{"1-1", "transcode", "alice", "bafy", "default", 0, 6000, true,
                                 {task_status{b, "bafy", "verified", 1, "",
                                              {output_view{"720p/seg0.ts", "bafz", 1000}}, ""}},
                                 1, 0, true}),
  };
}

} // namespace poe::runtime
