#include "poe/chain/genesis.hpp"

#include "poe/core/domain.hpp"
#include "poe/core/sha256.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

namespace poe::chain {

namespace {

using json = nlohmann::json;

error field_error(const std::string& path, const std::string& what,
                  errc code = errc::invalid_argument) {
  return fail(code, path + ": " + what);
}

std::string type_name(const json& v) {
  if (v.is_number_float()) return "a float";
  if (v.is_number_integer() && !v.is_number_unsigned()) return "a negative number";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

/// Unknown keys are errors: a misspelt parameter must not silently keep its default.
status check_keys(const json& obj, const std::string& path,
                  std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed)
        list += (list.empty() ? "" : ", ") + std::string{a};
      return field_error(path.empty() ? key : path + "." + key,
                         "unknown key (expected one of: " + list + ")");
    }
  }
  return {};
}

result<amount> amount_field(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return amount{v.get<std::uint64_t>()};
  if (v.is_string()) {
    auto a = parse_amount(v.get<std::string>());
    if (!a) return field_error(path, a.err().message);
    return *a;
  }
  return field_error(path, "must be a non-negative integer or a decimal string of base units, "
                           "got " +
                               type_name(v));
}

result<std::uint64_t> u64_field(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  return field_error(path, "must be a non-negative integer, got " + type_name(v));
}

result<std::string> string_field(const json& obj, const std::string& key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end()) return field_error(path, "missing");
  if (!it->is_string()) return field_error(path, "must be a string, got " + type_name(*it));
  return it->get<std::string>();
}

status range(std::uint64_t v, std::uint64_t lo, std::uint64_t hi, const char* path) {
  if (v < lo || v > hi)
    return field_error(path, std::to_string(v) + " is outside " + std::to_string(lo) + ".." +
                                 std::to_string(hi));
  return {};
}

void append_u16_be(bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void append_u32_be(bytes& out, std::size_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

result<chain_params> parse_params(const json& p) {
  chain_params out;
  if (!p.is_object()) return field_error("params", "must be an object, got " + type_name(p));
  if (auto ok = check_keys(p, "params",
                           {"unbonding_blocks", "slash_share_ppm", "min_validator_stake",
                            "max_tx_bytes", "block_interval_ms", "max_block_txs", "min_fee",
                            "base_rent", "rent_per_work_unit", "rent_per_kib",
                            "rent_validators_ppm", "rent_slashing_ppm", "rent_treasury_ppm",
                            "inclusion_blocks", "max_block_poes", "min_builder_stake",
                            "min_executor_stake", "split_creator_ppm", "split_operators_ppm",
                            "split_platform_ppm", "split_treasury_ppm", "platform_account",
                            "channel_challenge_blocks", "max_tick_hashes", "max_channel_lanes"});
      !ok)
    return ok.err();
  auto u64 = [&p](const char* key, std::uint64_t& dst) -> status {
    if (!p.contains(key)) return {};
    auto v = u64_field(p.at(key), std::string{"params."} + key);
    if (!v) return v.err();
    dst = *v;
    return {};
  };
  auto amt = [&p](const char* key, amount& dst) -> status {
    if (!p.contains(key)) return {};
    auto v = amount_field(p.at(key), std::string{"params."} + key);
    if (!v) return v.err();
    dst = *v;
    return {};
  };
  std::uint64_t ppm = out.slash_share_ppm;
  auto& r = out.rent;
  std::uint64_t vppm = r.validators_ppm, sppm = r.slashing_ppm, tppm = r.treasury_ppm;
  std::uint64_t split[4] = {out.split.creator, out.split.operators, out.split.platform,
                            out.split.treasury};
  for (auto ok :
       {u64("unbonding_blocks", out.unbonding_blocks), u64("slash_share_ppm", ppm),
        amt("min_validator_stake", out.min_validator_stake), u64("max_tx_bytes", out.max_tx_bytes),
        u64("block_interval_ms", out.block_interval_ms), u64("max_block_txs", out.max_block_txs),
        amt("min_fee", out.min_fee), amt("base_rent", r.base_rent),
        amt("rent_per_work_unit", r.rent_per_work_unit), amt("rent_per_kib", r.rent_per_kib),
        u64("rent_validators_ppm", vppm), u64("rent_slashing_ppm", sppm),
        u64("rent_treasury_ppm", tppm), u64("inclusion_blocks", r.inclusion_blocks),
        u64("max_block_poes", r.max_block_poes), amt("min_builder_stake", r.min_builder_stake),
        amt("min_executor_stake", out.min_executor_stake), u64("split_creator_ppm", split[0]),
        u64("split_operators_ppm", split[1]), u64("split_platform_ppm", split[2]),
        u64("split_treasury_ppm", split[3]),
        u64("channel_challenge_blocks", out.channel_challenge_blocks),
        u64("max_tick_hashes", out.max_tick_hashes), u64("max_channel_lanes", out.max_channel_lanes)})
    if (!ok) return ok.err();
  if (p.contains("platform_account")) {
    const auto& v = p.at("platform_account");
    auto id = v.is_string() ? node_id::from_hex(v.get<std::string>())
                            : result<node_id>(fail(errc::invalid_argument, "must be a string"));
    if (!id) return field_error("params.platform_account", "must be a node id (64 hex digits)");
    out.platform_account = *id;
  }
  for (auto [v, name] : {std::pair{split[0], "params.split_creator_ppm"},
                         {split[1], "params.split_operators_ppm"},
                         {split[2], "params.split_platform_ppm"},
                         {split[3], "params.split_treasury_ppm"}})
    if (auto ok = range(v, 0, 1'000'000, name); !ok) return ok.err();
  out.split = split_rule{static_cast<std::uint32_t>(split[0]), static_cast<std::uint32_t>(split[1]),
                         static_cast<std::uint32_t>(split[2]), static_cast<std::uint32_t>(split[3])};
  for (auto [v, name] : {std::pair{ppm, "params.slash_share_ppm"},
                         {vppm, "params.rent_validators_ppm"}, {sppm, "params.rent_slashing_ppm"},
                         {tppm, "params.rent_treasury_ppm"}})
    if (auto ok = range(v, 0, 1'000'000, name); !ok) return ok.err();
  out.slash_share_ppm = static_cast<std::uint32_t>(ppm);
  r.validators_ppm = static_cast<std::uint32_t>(vppm);
  r.slashing_ppm = static_cast<std::uint32_t>(sppm);
  r.treasury_ppm = static_cast<std::uint32_t>(tppm);
  return out;
}

status check_params(const chain_params& p) {
  for (auto ok : {range(p.unbonding_blocks, 1, std::numeric_limits<std::uint32_t>::max(),
                        "params.unbonding_blocks"),
                  range(p.slash_share_ppm, 0, 1'000'000, "params.slash_share_ppm"),
                  range(p.min_validator_stake.units(), 1, std::numeric_limits<std::uint64_t>::max(),
                        "params.min_validator_stake"),
                  range(p.max_tx_bytes, 256, 1 << 20, "params.max_tx_bytes"),
                  range(p.block_interval_ms, 50, 60'000, "params.block_interval_ms"),
                  range(p.max_block_txs, 1, 1'000'000, "params.max_block_txs"),
                  range(p.rent.inclusion_blocks, 1, 1'000'000, "params.inclusion_blocks"),
                  range(p.rent.max_block_poes, 1, 100'000, "params.max_block_poes"),
                  range(p.rent.min_builder_stake.units(), 1,
                        std::numeric_limits<std::uint64_t>::max(), "params.min_builder_stake"),
                  range(p.min_executor_stake.units(), 1,
                        std::numeric_limits<std::uint64_t>::max(), "params.min_executor_stake"),
                  range(p.channel_challenge_blocks, 1, 1'000'000, "params.channel_challenge_blocks"),
                  range(p.max_tick_hashes, 1, 1'000'000, "params.max_tick_hashes"),
                  range(p.max_channel_lanes, 1, 65'536, "params.max_channel_lanes")})
    if (!ok) return ok.err();
  if (auto ok = check_split(p.split); !ok)
    return field_error("params.split_creator_ppm",
                       "the four split shares (creator, operators, platform, treasury) must add "
                       "up to 1000000 ppm");
  if (std::uint64_t{p.rent.validators_ppm} + p.rent.slashing_ppm + p.rent.treasury_ppm !=
      1'000'000)
    return field_error("params.rent_validators_ppm",
                       "the three rent shares (validators, slashing, treasury) must add up to "
                       "1000000 ppm");
  return {};
}

} // namespace

status check_genesis(const genesis& g) {
  if (auto ok = check_chain_id(g.chain_id); !ok) return field_error("chain_id", ok.err().message);
  if (auto ok = check_params(g.params); !ok) return ok.err();
  if (g.validators.empty()) return field_error("validators", "at least one validator is required");
  amount supply;
  for (std::size_t i = 0; i < g.validators.size(); ++i) {
    const auto& v = g.validators[i];
    auto path = "validators[" + std::to_string(i) + "]";
    if (i > 0 && !(g.validators[i - 1].id() < v.id()))
      return field_error(path, v.id() == g.validators[i - 1].id()
                                   ? "duplicate validator " + v.id().hex()
                                   : std::string{"validators are not sorted by node id"});
    if (v.stake < g.params.min_validator_stake)
      return field_error(path + ".stake", v.stake.to_string() +
                                              " is below params.min_validator_stake (" +
                                              g.params.min_validator_stake.to_string() + ")");
    auto sum = checked_add(supply, v.stake);
    if (!sum) return field_error("validators", "total supply exceeds 2^64-1 base units");
    supply = *sum;
  }
  for (std::size_t i = 0; i < g.balances.size(); ++i) {
    const auto& b = g.balances[i];
    auto path = "balances[" + std::to_string(i) + "]";
    if (i > 0 && !(g.balances[i - 1].account < b.account))
      return field_error(path, b.account == g.balances[i - 1].account
                                   ? "duplicate account " + b.account.hex()
                                   : std::string{"balances are not sorted by account"});
    if (b.value == amount{0}) return field_error(path + ".amount", "must be positive");
    auto sum = checked_add(supply, b.value);
    if (!sum) return field_error("balances", "total supply exceeds 2^64-1 base units");
    supply = *sum;
  }
  return {};
}

result<genesis> parse_genesis(std::string_view text) {
  // nlohmann keeps the last of duplicate object keys; the callback catches them instead.
  std::vector<std::map<std::string, int>> seen;
  std::optional<std::string> duplicate;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      seen.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!seen.empty()) seen.pop_back();
    } else if (event == json::parse_event_t::key && !seen.empty()) {
      auto key = parsed.get<std::string>();
      if (seen.back()[key]++ > 0 && !duplicate) duplicate = key;
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    return fail(errc::invalid_argument, std::string{"genesis is not valid JSON: "} + e.what());
  }
  if (duplicate) return fail(errc::invalid_argument, "duplicate JSON key \"" + *duplicate + "\"");
  if (!doc.is_object())
    return fail(errc::invalid_argument, "genesis must be a JSON object, got " + type_name(doc));
  if (auto ok = check_keys(doc, "", {"chain_id", "validators", "balances", "params"}); !ok)
    return ok.err();

  genesis g;
  auto chain = string_field(doc, "chain_id", "chain_id");
  if (!chain) return chain.err();
  g.chain_id = *chain;

  // Parameters first: the validators' stakes are checked against min_validator_stake.
  if (auto p = doc.find("params"); p != doc.end()) {
    auto params = parse_params(*p);
    if (!params) return params.err();
    g.params = *params;
  }

  if (auto ok = check_params(g.params); !ok) return ok.err();

  auto vs = doc.find("validators");
  if (vs == doc.end()) return field_error("validators", "missing");
  if (!vs->is_array()) return field_error("validators", "must be an array, got " + type_name(*vs));
  std::map<node_id, std::size_t> validator_index;
  for (std::size_t i = 0; i < vs->size(); ++i) {
    const auto& v = (*vs)[i];
    auto path = "validators[" + std::to_string(i) + "]";
    if (!v.is_object()) return field_error(path, "must be an object, got " + type_name(v));
    if (auto ok = check_keys(v, path, {"public_key", "stake"}); !ok) return ok.err();
    auto hex = string_field(v, "public_key", path + ".public_key");
    if (!hex) return hex.err();
    auto der = from_hex(*hex);
    if (!der) return field_error(path + ".public_key", der.err().message, errc::key_error);
    auto key = public_key::from_der(*der);
    if (!key) return field_error(path + ".public_key", key.err().message, errc::key_error);
    if (!v.contains("stake")) return field_error(path + ".stake", "missing");
    auto st = amount_field(v.at("stake"), path + ".stake");
    if (!st) return st.err();
    if (*st < g.params.min_validator_stake)
      return field_error(path + ".stake", st->to_string() +
                                              " is below params.min_validator_stake (" +
                                              g.params.min_validator_stake.to_string() + ")");
    auto [it, fresh] = validator_index.emplace(key->id(), i);
    if (!fresh)
      return field_error(path + ".public_key",
                         "duplicate of validators[" + std::to_string(it->second) + "]");
    g.validators.push_back({*key, *st});
  }

  if (auto bs = doc.find("balances"); bs != doc.end()) {
    if (!bs->is_array()) return field_error("balances", "must be an array, got " + type_name(*bs));
    std::map<node_id, std::size_t> balance_index;
    for (std::size_t i = 0; i < bs->size(); ++i) {
      const auto& b = (*bs)[i];
      auto path = "balances[" + std::to_string(i) + "]";
      if (!b.is_object()) return field_error(path, "must be an object, got " + type_name(b));
      if (auto ok = check_keys(b, path, {"account", "amount"}); !ok) return ok.err();
      auto hex = string_field(b, "account", path + ".account");
      if (!hex) return hex.err();
      auto id = node_id::from_hex(*hex);
      if (!id) return field_error(path + ".account", id.err().message);
      if (!b.contains("amount")) return field_error(path + ".amount", "missing");
      auto value = amount_field(b.at("amount"), path + ".amount");
      if (!value) return value.err();
      if (*value == amount{0}) return field_error(path + ".amount", "must be positive");
      auto [it, fresh] = balance_index.emplace(*id, i);
      if (!fresh)
        return field_error(path + ".account",
                           "duplicate of balances[" + std::to_string(it->second) + "]");
      g.balances.push_back({*id, *value});
    }
  }

  std::sort(g.validators.begin(), g.validators.end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  std::sort(g.balances.begin(), g.balances.end(),
            [](const auto& a, const auto& b) { return a.account < b.account; });
  if (auto ok = check_genesis(g); !ok) return ok.err();
  return g;
}

result<genesis> load_genesis(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(errc::io_error, "cannot read genesis file " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(errc::io_error, "cannot read genesis file " + file.string());
  auto g = parse_genesis(text.str());
  if (!g) return fail(g.err().code, file.string() + ": " + g.err().message);
  return g;
}

std::string to_json(const genesis& g) {
  json doc;
  doc["chain_id"] = g.chain_id;
  doc["validators"] = json::array();
  for (const auto& v : g.validators)
    doc["validators"].push_back(
        {{"public_key", to_hex(v.key.der())}, {"stake", v.stake.to_string()}});
  doc["balances"] = json::array();
  for (const auto& b : g.balances)
    doc["balances"].push_back({{"account", b.account.hex()}, {"amount", b.value.to_string()}});
  const auto& p = g.params;
  doc["params"] = {{"unbonding_blocks", p.unbonding_blocks},
                   {"slash_share_ppm", p.slash_share_ppm},
                   {"min_validator_stake", p.min_validator_stake.to_string()},
                   {"max_tx_bytes", p.max_tx_bytes},
                   {"block_interval_ms", p.block_interval_ms},
                   {"max_block_txs", p.max_block_txs},
                   {"min_fee", p.min_fee.to_string()},
                   {"base_rent", p.rent.base_rent.to_string()},
                   {"rent_per_work_unit", p.rent.rent_per_work_unit.to_string()},
                   {"rent_per_kib", p.rent.rent_per_kib.to_string()},
                   {"rent_validators_ppm", p.rent.validators_ppm},
                   {"rent_slashing_ppm", p.rent.slashing_ppm},
                   {"rent_treasury_ppm", p.rent.treasury_ppm},
                   {"inclusion_blocks", p.rent.inclusion_blocks},
                   {"max_block_poes", p.rent.max_block_poes},
                   {"min_builder_stake", p.rent.min_builder_stake.to_string()},
                   {"min_executor_stake", p.min_executor_stake.to_string()},
                   {"split_creator_ppm", p.split.creator},
                   {"split_operators_ppm", p.split.operators},
                   {"split_platform_ppm", p.split.platform},
                   {"split_treasury_ppm", p.split.treasury},
                   {"platform_account", p.platform_account.hex()},
                   {"channel_challenge_blocks", p.channel_challenge_blocks},
                   {"max_tick_hashes", p.max_tick_hashes},
                   {"max_channel_lanes", p.max_channel_lanes}};
  return doc.dump(2) + "\n";
}

bytes encode(const genesis& g) {
  bytes out;
  append(out, as_bytes("poe/genesis/v1"));
  append_u16_be(out, g.chain_id.size());
  append(out, as_bytes(g.chain_id));
  const auto& p = g.params;
  for (std::uint64_t v :
       {p.unbonding_blocks, std::uint64_t{p.slash_share_ppm}, p.min_validator_stake.units(),
        p.max_tx_bytes, p.block_interval_ms, p.max_block_txs, p.min_fee.units(),
        p.rent.base_rent.units(), p.rent.rent_per_work_unit.units(), p.rent.rent_per_kib.units(),
        std::uint64_t{p.rent.validators_ppm}, std::uint64_t{p.rent.slashing_ppm},
        std::uint64_t{p.rent.treasury_ppm}, p.rent.inclusion_blocks, p.rent.max_block_poes,
        p.rent.min_builder_stake.units(), p.min_executor_stake.units(),
        std::uint64_t{p.split.creator}, std::uint64_t{p.split.operators},
        std::uint64_t{p.split.platform}, std::uint64_t{p.split.treasury},
        p.channel_challenge_blocks, p.max_tick_hashes, p.max_channel_lanes})
    append_u64_be(out, v);
  append(out, p.platform_account.view());
  append_u32_be(out, g.validators.size());
  for (const auto& v : g.validators) {
    append_u16_be(out, v.key.der().size());
    append(out, v.key.der());
    append_u64_be(out, v.stake.units());
  }
  append_u32_be(out, g.balances.size());
  for (const auto& b : g.balances) {
    append(out, b.account.view());
    append_u64_be(out, b.value.units());
  }
  return out;
}

hash256 genesis_hash(const genesis& g) {
  return sha256::digest(encode(g));
}

std::string rent_params_json(const rent_params& p) {
  return json{{"base_rent", p.base_rent.to_string()},
              {"rent_per_work_unit", p.rent_per_work_unit.to_string()},
              {"rent_per_kib", p.rent_per_kib.to_string()},
              {"rent_validators_ppm", p.validators_ppm},
              {"rent_slashing_ppm", p.slashing_ppm},
              {"rent_treasury_ppm", p.treasury_ppm},
              {"inclusion_blocks", p.inclusion_blocks},
              {"max_block_poes", p.max_block_poes},
              {"min_builder_stake", p.min_builder_stake.to_string()}}
    .dump();
}

result<rent_params> parse_rent_params(std::string_view text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(errc::decode_error, "rent parameters: not a JSON object");
  auto p = parse_params(doc); // the genesis params parser: the same names, types and ranges
  if (!p) return p.err();
  if (auto st = check_rent_params(p->rent); !st) return st.err();
  return p->rent;
}

status check_rent_params(const rent_params& p) {
  chain_params whole;
  whole.rent = p;
  return check_params(whole);
}

} // namespace poe::chain
