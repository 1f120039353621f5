#include "render.hpp"

#include "poe/chain/genesis.hpp"
#include "poe/chain/notary.hpp"
#include "poe/chain/payments.hpp"

namespace poe::tools {

nlohmann::json to_json(const runtime::chain_status& st) {
  nlohmann::json out{{"chain_id", st.chain_id},
                     {"node", st.node},
                     {"height", st.height},
                     {"block", to_hex(st.block)},
                     {"timestamp_ms", st.timestamp_ms},
                     {"round", st.round},
                     {"block_interval_ms", st.block_interval_ms},
                     {"mempool", st.mempool},
                     {"transactions", st.transactions},
                     {"pending_evidence", st.pending_evidence},
                     {"state_root", to_hex(st.state_root)},
                     {"slashing_pool", std::to_string(st.slashing_pool)},
                     {"treasury", std::to_string(st.treasury)},
                     {"poe_held", st.poe_held},
                     {"rent", nlohmann::json::parse(chain::rent_params_json(to_params(st.rent)))},
                     {"total_supply", std::to_string(st.total_supply)},
                     {"min_fee", std::to_string(st.payments.min_fee)}};
  auto& vals = out["validators"] = nlohmann::json::array();
  for (auto& v : st.validators)
    vals.push_back({{"id", to_hex(v.id)}, {"stake", std::to_string(v.stake)}});
  return out;
}

nlohmann::json flows_json(const std::vector<runtime::flow_entry>& flows) {
  auto out = nlohmann::json::object();
  for (auto& f : flows) out[f.kind] = std::to_string(f.amount);
  return out;
}

nlohmann::json to_json(const runtime::account_view& a) {
  nlohmann::json out{{"account", to_hex(a.account)},
                     {"balance", std::to_string(a.balance)},
                     {"nonce", a.nonce},
                     {"next_nonce", a.next_nonce},
                     {"height", a.height},
                     {"jailed", a.jailed}};
  auto& stakes = out["stakes"] = nlohmann::json::object();
  for (auto& x : a.stakes) stakes[std::string(chain::to_string(x.role))] = std::to_string(x.units);
  auto& unb = out["unbonding"] = nlohmann::json::array();
  for (auto& u : a.unbonding)
    unb.push_back({{"role", std::string(chain::to_string(u.role))},
                   {"amount", std::to_string(u.units)},
                   {"release_height", u.release_height}});
  out["flows"] = flows_json(a.flows);
  return out;
}

nlohmann::json to_json(const runtime::job_status& j) {
  nlohmann::json out{{"job", j.job}, {"kind", j.kind}, {"owner", j.owner}, {"archived", j.archived}};
  if (j.kind == "compute") {
    out["iterations"] = j.iterations;
  } else {
    out["source"] = j.source;
    out["ladder"] = j.ladder;
    out["duration_ms"] = j.duration_ms;
  }
  auto& tasks = out["tasks"] = nlohmann::json::array();
  for (auto& t : j.tasks) {
    auto& outs = tasks.emplace_back(nlohmann::json{{"request", to_hex(t.request)},
                                                   {"segment", t.segment},
                                                   {"phase", t.phase},
                                                   {"attempts", t.attempts},
                                                   {"reason", t.reason}})["outputs"];
    outs = nlohmann::json::array();
    for (auto& o : t.outputs) outs.push_back({{"name", o.name}, {"cid", o.cid}, {"size", o.size}});
    if (!t.digest.empty()) tasks.back()["digest"] = t.digest;
  }
  out["segments"] = j.tasks.size();
  out["verified"] = j.verified;
  out["failed"] = j.failed;
  out["done"] = j.done;
  return out;
}

nlohmann::json to_json(const step_receipt& r) {
  return {{"request", r.request.hex()},   {"kind", r.kind},
          {"executor", r.executor.hex()}, {"result_hash", r.result_hash.hex()},
          {"poe", r.poe.hex()},           {"verifier", r.verifier.hex()},
          {"verified_ms", r.verified_ms}, {"reexecuted", r.reexecuted},
          {"work_units", r.work_units},   {"result_bytes", r.result_bytes}};
}

nlohmann::json to_json(const runtime::builder_status& b) {
  if (!b.ready)
    return {{"bpi", b.bpi}, {"ready", false}, {"pending_receipts", b.pending_receipts}};
  return {{"bpi", b.bpi},
          {"ready", true},
          {"book_size", b.book_size},
          {"book_root", to_hex(b.book_root)},
          {"pending_receipts", b.pending_receipts},
          {"receipts", b.receipts},
          {"log_blocks_sealed", b.log_blocks_sealed},
          {"headers_included", b.headers_included},
          {"receipts_included", b.receipts_included},
          {"not_yet_included", b.not_yet_included},
          {"scanned_height", b.scanned_height}};
}

nlohmann::json to_json(const runtime::rent_quote_view& q) {
  return {{"quote", q.quote},       {"rent_payment", q.rent_payment},
          {"base", q.base},         {"complexity", q.complexity},
          {"storage", q.storage},   {"priority", q.priority},
          {"validators_ppm", q.validators_ppm}, {"slashing_ppm", q.slashing_ppm},
          {"treasury_ppm", q.treasury_ppm}};
}

nlohmann::json to_json(const runtime::rent_flows& f) {
  auto flow = [](const runtime::rent_flow& x, bool with_height) {
    nlohmann::json j{{"headers", x.headers},       {"collected", x.collected},
                     {"validators", x.validators}, {"slashing", x.slashing},
                     {"treasury", x.treasury}, {"flows", flows_json(x.flows)}};
    if (with_height) j["height"] = x.height;
    return j;
  };
  nlohmann::json blocks = nlohmann::json::array();
  for (auto& b : f.blocks) blocks.push_back(flow(b, true));
  return {{"scanned_height", f.scanned_height}, {"totals", flow(f.totals, false)}, {"blocks", blocks}};
}

nlohmann::json to_json(const runtime::object_stat& s) {
  nlohmann::json j{{"cid", s.cid}, {"kind", s.file ? "file" : "chunk"}, {"size", s.size},
                   {"pinned", s.pinned}};
  if (s.file) {
    j["chunks"] = s.chunks;
    j["chunks_here"] = s.chunks_here;
    j["media_type"] = s.media_type;
    j["owner"] = s.owner;
    j["stored_at_ms"] = s.stored_at_ms;
  } else {
    j["references"] = s.references;
  }
  j["placement"] = s.placement;
  return j;
}

nlohmann::json to_json(const std::vector<runtime::stored_object>& l) {
  auto out = nlohmann::json::array();
  for (auto& e : l) out.push_back({{"cid", e.cid}, {"size", e.size}, {"pinned", e.pinned}});
  return out;
}

nlohmann::json to_json(const runtime::storage_usage& u) {
  return {{"owner", u.owner}, {"bytes", u.bytes}, {"byte_ms", u.byte_ms}, {"at_ms", u.at_ms}};
}

nlohmann::json to_json(const std::vector<runtime::challenge_record>& r) {
  auto out = nlohmann::json::object();
  for (auto& x : r)
    out[x.node] = {{"passed", x.passed},
                   {"wrong_answer", x.wrong_answer},
                   {"missed_deadline", x.missed_deadline},
                   {"score_ppm", x.score_ppm}};
  return out;
}

nlohmann::json to_json(const runtime::content_view& c) {
  nlohmann::json out{{"id", to_hex(c.id)}, {"found", c.found}, {"height", c.height}};
  if (!c.found) return out;
  chain::split_rule rule{c.creator_ppm, c.operators_ppm, c.platform_ppm, c.treasury_ppm};
  out.update({{"creator", to_hex(c.creator)},
              {"verifier", to_hex(c.verifier)},
              {"price_per_second", std::to_string(c.price_per_second)},
              {"split", chain::to_string(rule)},
              {"split_ppm", {{"creator", c.creator_ppm}, {"operators", c.operators_ppm},
                             {"platform", c.platform_ppm}, {"treasury", c.treasury_ppm}}},
              {"outputs", c.outputs},
              {"published", c.published}});
  return out;
}

nlohmann::json to_json(const runtime::job_escrow_view& e) {
  nlohmann::json out{{"found", e.found}, {"escrow", to_hex(e.id)}, {"height", e.height}};
  if (!e.found) return out;
  out["funder"] = to_hex(e.funder);
  out["verifier"] = to_hex(e.verifier);
  out["deposit"] = std::to_string(e.deposit);
  out["paid"] = std::to_string(e.paid);
  out["rest"] = std::to_string(e.deposit - e.paid);
  out["price_per_work_unit"] = std::to_string(e.price_per_work_unit);
  out["verifier_ppm"] = e.verifier_ppm;
  out["expiry_height"] = e.expiry_height;
  out["tasks_paid"] = e.tasks_paid;
  return out;
}

nlohmann::json to_json(const runtime::channel_view& c) {
  nlohmann::json out{{"id", to_hex(c.id)}, {"found", c.found}, {"height", c.height}};
  if (!c.found) return out;
  const char* state = c.closing_height == 0 ? (c.height >= c.expiry_height ? "expired" : "open")
                      : c.height >= c.closing_height ? "collectable" : "closing";
  out.update({{"payer", to_hex(c.payer)},
              {"payee", to_hex(c.payee)},
              {"state", state},
              {"deposit", std::to_string(c.deposit)},
              {"paid", std::to_string(c.paid)},
              {"escrow", std::to_string(c.deposit - c.paid)},
              {"expiry_height", c.expiry_height},
              {"closing_height", c.closing_height}});
  auto& lanes = out["lanes"] = nlohmann::json::array();
  for (auto& l : c.lanes)
    lanes.push_back({{"lane", l.lane}, {"content", to_hex(l.content)},
                     {"price_per_tick", std::to_string(l.price_per_tick)}, {"ticks_paid", l.ticks}});
  return out;
}

nlohmann::json to_json(const runtime::channel_report& r) {
  nlohmann::json out{{"height", r.height},
                     {"pending", std::to_string(r.pending)},
                     {"claims_submitted", r.claims_submitted}};
  auto& chans = out["channels"] = nlohmann::json::array();
  for (auto& c : r.channels)
    chans.push_back({{"id", to_hex(c.id)},
                     {"payer", to_hex(c.payer)},
                     {"deposit", std::to_string(c.deposit)},
                     {"owed", std::to_string(c.owed)},
                     {"settled", std::to_string(c.settled)},
                     {"expiry_height", c.expiry_height},
                     {"closing_height", c.closing_height},
                     {"lanes", c.lanes}});
  return out;
}

} // namespace poe::tools
