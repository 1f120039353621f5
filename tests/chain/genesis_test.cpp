// Scenarios:
// - a genesis file parses: keys, stakes, balances and parameters as written; missing
//   parameters take their defaults; validators and balances come out sorted
// - amounts are non-negative integers or decimal strings up to 2^64-1; floats, negatives,
//   signs, spaces, hex, booleans, null and values above 2^64-1 are refused
// - every malformed input is refused with an error that starts with the offending field:
//   missing / mistyped fields, a bad chain id, bad hex, a non-key, a stake below the
//   minimum, no validators, a zero balance, parameters out of range, unknown keys (top level,
//   validator, balance, params), duplicate JSON keys, duplicate validators or accounts,
//   a total supply above 2^64-1, text that is not JSON or not an object
// - genesis_hash ignores whitespace and the order of validators and balances, and changes
//   with every field; to_json parses back to the same genesis
// - the binary encoding has the documented layout
// - load_genesis names the file in its errors
// - check_genesis refuses an unsorted or duplicated genesis built in code

#include "chain_test_util.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

using namespace poe;
using namespace poe::chain;
using json = nlohmann::json;

namespace {

std::string key_hex(int i) {
  return to_hex(test::key(i).pub().der());
}

json base_doc() {
  return {{"chain_id", "poe-test"},
          {"validators", json::array({{{"public_key", key_hex(0)}, {"stake", "1000"}},
                                      {{"public_key", key_hex(1)}, {"stake", 2000}}})},
          {"balances", json::array({{{"account", test::id(10).hex()}, {"amount", 500}},
                                    {{"account", test::id(11).hex()}, {"amount", "7"}}})},
          {"params",
           {{"unbonding_blocks", 20},
            {"slash_share_ppm", 100000},
            {"min_validator_stake", "100"},
            {"max_tx_bytes", 2048},
            {"block_interval_ms", 100},
            {"max_block_txs", 500},
            {"min_fee", 1}}}};
}

result<genesis> parse(const json& doc) {
  return parse_genesis(doc.dump());
}

/// Parsing fails and the message starts with `field` and contains `what`.
void expect_error(const json& doc, const std::string& field, const std::string& what = "") {
  auto g = parse(doc);
  REQUIRE_FALSE(g);
  INFO(g.err().message);
  CHECK(g.err().message.rfind(field, 0) == 0);
  CHECK(g.err().message.find(what) != std::string::npos);
}

} // namespace

TEST_CASE("a genesis file parses with defaults and sorted lists") {
  auto g = parse(base_doc());
  REQUIRE(g);
  CHECK(g->chain_id == "poe-test");
  REQUIRE(g->validators.size() == 2);
  CHECK(g->validators[0].id() < g->validators[1].id());
  for (const auto& v : g->validators)
    CHECK(v.stake == amount{v.id() == test::id(0) ? 1000u : 2000u});
  REQUIRE(g->balances.size() == 2);
  CHECK(g->balances[0].account < g->balances[1].account);
  for (const auto& b : g->balances)
    CHECK(b.value == amount{b.account == test::id(10) ? 500u : 7u});
  CHECK(g->params.unbonding_blocks == 20);
  CHECK(g->params.slash_share_ppm == 100'000);
  CHECK(g->params.min_validator_stake == amount{100});
  CHECK(g->params.max_tx_bytes == 2048);
  CHECK(g->params.block_interval_ms == 100);
  CHECK(g->params.max_block_txs == 500);
  CHECK(g->params.min_fee == amount{1});

  auto doc = base_doc();
  doc.erase("params");
  doc.erase("balances");
  auto d = parse(doc);
  REQUIRE(d);
  CHECK(d->params == chain_params{});
  CHECK(d->balances.empty());
  doc["params"] = json::object({{"block_interval_ms", 50}});
  d = parse(doc);
  REQUIRE(d);
  CHECK(d->params.block_interval_ms == 50);
  CHECK(d->params.unbonding_blocks == chain_params{}.unbonding_blocks);
}

TEST_CASE("amounts are integers or decimal strings, never floats or negatives") {
  auto with_fee = [](json v) {
    auto doc = base_doc();
    doc["params"]["min_fee"] = std::move(v);
    return doc;
  };
  auto g = parse(with_fee("18446744073709551615"));
  REQUIRE(g);
  CHECK(g->params.min_fee == amount{~0ull});
  g = parse(with_fee(18446744073709551615ull));
  REQUIRE(g);
  CHECK(g->params.min_fee == amount{~0ull});
  CHECK(parse(with_fee(0)));
  CHECK(parse(with_fee("0")));

  for (const json& bad : {json(1.5), json(1e3), json(-1), json("1.5"), json("-1"), json("+1"),
                          json(" 1"), json("1 "), json("0x10"), json(""), json(true), json(nullptr),
                          json::array({1}), json("18446744073709551616")}) {
    INFO(bad.dump());
    expect_error(with_fee(bad), "params.min_fee");
  }
  expect_error(with_fee(1.5), "params.min_fee", "float");
  expect_error(with_fee(-1), "params.min_fee", "negative");

  // Plain parameters are integers only.
  auto doc = base_doc();
  doc["params"]["unbonding_blocks"] = "20";
  expect_error(doc, "params.unbonding_blocks", "non-negative integer");
  doc["params"]["unbonding_blocks"] = 20.0;
  expect_error(doc, "params.unbonding_blocks", "float");
}

TEST_CASE("errors name the field") {
  using mutation = std::function<void(json&)>;
  const std::vector<std::tuple<std::string, mutation, std::string>> cases = {
      {"chain_id", [](json& d) { d.erase("chain_id"); }, "missing"},
      {"chain_id", [](json& d) { d["chain_id"] = 5; }, "must be a string"},
      {"chain_id", [](json& d) { d["chain_id"] = "has space"; }, "space"},
      {"chain_id", [](json& d) { d["chain_id"] = ""; }, "1..64"},
      {"validators", [](json& d) { d.erase("validators"); }, "missing"},
      {"validators", [](json& d) { d["validators"] = json::object(); }, "must be an array"},
      {"validators", [](json& d) { d["validators"] = json::array(); }, "at least one"},
      {"validators[1]", [](json& d) { d["validators"][1] = "x"; }, "must be an object"},
      {"validators[1].public_key", [](json& d) { d["validators"][1].erase("public_key"); },
       "missing"},
      {"validators[1].public_key", [](json& d) { d["validators"][1]["public_key"] = "zz"; }, "hex"},
      {"validators[1].public_key", [](json& d) { d["validators"][1]["public_key"] = "300300"; },
       "SubjectPublicKeyInfo"},
      {"validators[1].stake", [](json& d) { d["validators"][1].erase("stake"); }, "missing"},
      {"validators[1].stake", [](json& d) { d["validators"][1]["stake"] = 99; },
       "below params.min_validator_stake (100)"},
      {"validators[0].pubkey", [](json& d) { d["validators"][0]["pubkey"] = "x"; }, "unknown key"},
      {"balances", [](json& d) { d["balances"] = 3; }, "must be an array"},
      {"balances[0]", [](json& d) { d["balances"][0] = json::array(); }, "must be an object"},
      {"balances[0].account", [](json& d) { d["balances"][0]["account"] = "abcd"; },
       "expected 64 hex digits"},
      {"balances[0].account", [](json& d) { d["balances"][0].erase("account"); }, "missing"},
      {"balances[1].amount", [](json& d) { d["balances"][1]["amount"] = 0; }, "must be positive"},
      {"balances[1].amount", [](json& d) { d["balances"][1].erase("amount"); }, "missing"},
      {"balances[1].value", [](json& d) { d["balances"][1]["value"] = 1; }, "unknown key"},
      {"params", [](json& d) { d["params"] = json::array(); }, "must be an object"},
      {"params.unbonding_blocks", [](json& d) { d["params"]["unbonding_blocks"] = 0; },
       "outside 1.."},
      {"params.slash_share_ppm", [](json& d) { d["params"]["slash_share_ppm"] = 1'000'001; },
       "outside 0..1000000"},
      {"params.min_validator_stake", [](json& d) { d["params"]["min_validator_stake"] = 0; },
       "outside 1.."},
      {"params.max_tx_bytes", [](json& d) { d["params"]["max_tx_bytes"] = 255; },
       "outside 256..1048576"},
      {"params.block_interval_ms", [](json& d) { d["params"]["block_interval_ms"] = 49; },
       "outside 50..60000"},
      {"params.block_interval_ms", [](json& d) { d["params"]["block_interval_ms"] = 60'001; },
       "outside 50..60000"},
      {"params.max_block_txs", [](json& d) { d["params"]["max_block_txs"] = 0; }, "outside 1.."},
      {"params.unbonding_block", [](json& d) { d["params"]["unbonding_block"] = 3; },
       "unknown key (expected one of: unbonding_blocks,"},
      {"validator", [](json& d) { d["validator"] = json::array(); }, "unknown key"},
      {"balances", [](json& d) { d["balances"][0]["amount"] = "18446744073709551615"; },
       "total supply exceeds 2^64-1"},
      {"validators[1].public_key",
       [](json& d) { d["validators"][1]["public_key"] = d["validators"][0]["public_key"]; },
       "duplicate of validators[0]"},
      {"balances[1].account",
       [](json& d) { d["balances"][1]["account"] = d["balances"][0]["account"]; },
       "duplicate of balances[0]"},
  };
  for (const auto& [field, mutate, what] : cases) {
    auto doc = base_doc();
    mutate(doc);
    INFO(field << " / " << what);
    expect_error(doc, field, what);
  }

  // Key problems are key errors.
  auto doc = base_doc();
  doc["validators"][0]["public_key"] = "300300";
  CHECK(parse(doc).err().code == errc::key_error);
}

TEST_CASE("text that is not a JSON object, and duplicate JSON keys, are refused") {
  for (std::string text : {"", "{", "[1,2]", "\"genesis\"", "{\"chain_id\": \"x\",}"}) {
    auto g = parse_genesis(text);
    INFO(text);
    REQUIRE_FALSE(g);
    CHECK(g.err().message.find("genesis") != std::string::npos);
  }
  auto text = base_doc().dump();
  auto g = parse_genesis(text.substr(0, text.size() - 1) + ",\"chain_id\":\"poe-x\"}");
  REQUIRE_FALSE(g);
  CHECK(g.err().message == "duplicate JSON key \"chain_id\"");
  auto doc = base_doc();
  auto params = doc["params"].dump();
  auto min_fee = params.find("\"min_fee\"");
  params.insert(min_fee, "\"min_fee\":0,");
  doc.erase("params");
  text = doc.dump();
  g = parse_genesis(text.substr(0, text.size() - 1) + ",\"params\":" + params + "}");
  REQUIRE_FALSE(g);
  CHECK(g.err().message == "duplicate JSON key \"min_fee\"");
}

TEST_CASE("the genesis hash ignores formatting and order and covers every field") {
  auto doc = base_doc();
  auto g = parse(doc);
  REQUIRE(g);
  auto h = genesis_hash(*g);

  auto reordered = doc;
  std::swap(reordered["validators"][0], reordered["validators"][1]);
  std::swap(reordered["balances"][0], reordered["balances"][1]);
  auto g2 = parse_genesis(reordered.dump(4));
  REQUIRE(g2);
  CHECK(genesis_hash(*g2) == h);
  CHECK(encode(*g2) == encode(*g));

  auto back = parse_genesis(to_json(*g));
  REQUIRE(back);
  CHECK(genesis_hash(*back) == h);

  std::set<std::string> seen{h.hex()};
  auto differs = [&](const std::function<void(json&)>& mutate) {
    auto d = base_doc();
    mutate(d);
    auto m = parse(d);
    REQUIRE(m);
    CHECK(seen.insert(genesis_hash(*m).hex()).second);
  };
  differs([](json& d) { d["chain_id"] = "poe-test2"; });
  differs([](json& d) { d["validators"][0]["stake"] = 1001; });
  differs([](json& d) { d["validators"][0]["public_key"] = key_hex(2); });
  differs([](json& d) { d["balances"][0]["amount"] = 501; });
  differs([](json& d) { d["balances"][0]["account"] = test::id(12).hex(); });
  differs([](json& d) { d["balances"].erase(1); });
  differs([](json& d) { d["params"]["unbonding_blocks"] = 21; });
  differs([](json& d) { d["params"]["slash_share_ppm"] = 100001; });
  differs([](json& d) { d["params"]["min_validator_stake"] = 101; });
  differs([](json& d) { d["params"]["max_tx_bytes"] = 2049; });
  differs([](json& d) { d["params"]["block_interval_ms"] = 101; });
  differs([](json& d) { d["params"]["max_block_txs"] = 501; });
  differs([](json& d) { d["params"]["min_fee"] = 2; });
  differs([](json& d) { d["params"]["min_executor_stake"] = 2; });
  differs([](json& d) {
    d["params"]["split_creator_ppm"] = 690000;
    d["params"]["split_operators_ppm"] = 110000;
  });
  differs([](json& d) {
    d["params"]["split_platform_ppm"] = 140000;
    d["params"]["split_treasury_ppm"] = 60000;
  });
  differs([](json& d) { d["params"]["platform_account"] = test::id(12).hex(); });
  differs([](json& d) { d["params"]["channel_challenge_blocks"] = 21; });
  differs([](json& d) { d["params"]["max_tick_hashes"] = 4097; });
  differs([](json& d) { d["params"]["max_channel_lanes"] = 1025; });
}

TEST_CASE("the payment parameters are checked") {
  auto bad = [](const std::function<void(json&)>& mutate, std::string_view what) {
    auto d = base_doc();
    mutate(d);
    auto g = parse_genesis(d.dump());
    REQUIRE_FALSE(g);
    INFO(g.err().message);
    CHECK(g.err().message.find(what) != std::string::npos);
  };
  bad([](json& d) { d["params"]["split_creator_ppm"] = 700001; }, "split");
  bad([](json& d) { d["params"]["split_treasury_ppm"] = 1000001; }, "params.split_treasury_ppm");
  bad([](json& d) { d["params"]["platform_account"] = "00ff"; }, "params.platform_account");
  bad([](json& d) { d["params"]["platform_account"] = 7; }, "params.platform_account");
  bad([](json& d) { d["params"]["channel_challenge_blocks"] = 0; }, "params.channel_challenge_blocks");
  bad([](json& d) { d["params"]["max_tick_hashes"] = 0; }, "params.max_tick_hashes");
  bad([](json& d) { d["params"]["max_channel_lanes"] = 65537; }, "params.max_channel_lanes");
  auto g = parse(base_doc());
  REQUIRE(g);
  CHECK(g->params.split == split_rule{});
  CHECK(g->params.platform_account.is_zero());
  CHECK(g->params.channel_challenge_blocks == 20);
}

TEST_CASE("the binary genesis encoding has the documented layout") {
  auto g = parse(base_doc());
  REQUIRE(g);
  auto enc = encode(*g);
  const std::string magic = "poe/genesis/v1";
  REQUIRE(enc.size() ==
          magic.size() + 2 + 8 + 24 * 8 + 32 + 4 + 2 * (2 + 44 + 8) + 4 + 2 * (32 + 8));
  CHECK(std::string(enc.begin(), enc.begin() + 14) == magic);
  CHECK(enc[14] == 0);
  CHECK(enc[15] == 8);
  CHECK(std::string(enc.begin() + 16, enc.begin() + 24) == "poe-test");
  std::size_t at = 24;
  // The chain parameters, then the rent parameters (defaults: notary.hpp's rent_params), then
  // the minimum executor stake, the default split, the channel parameters and the platform
  // account.
  for (std::uint64_t v : {20, 100000, 100, 2048, 100, 500, 1, 100, 1, 1, 700000, 100000, 200000,
                          3, 1000, 1, 1, 700000, 100000, 150000, 50000, 20, 4096, 1024}) {
    CHECK(get_u64_be(enc.data() + at) == v);
    at += 8;
  }
  CHECK(bytes(enc.begin() + at, enc.begin() + at + 32) == bytes(32, 0));
  at += 32;
  CHECK(bytes(enc.begin() + at, enc.begin() + at + 4) == bytes{0, 0, 0, 2});
  at += 4;
  CHECK(bytes(enc.begin() + at, enc.begin() + at + 2) == bytes{0, 44});
  CHECK(bytes(enc.begin() + at + 2, enc.begin() + at + 46) == g->validators[0].key.der());
  CHECK(genesis_hash(*g) == sha256::digest(enc));
}

TEST_CASE("load_genesis names the file") {
  auto dir = std::filesystem::temp_directory_path() / "poe-genesis-test";
  std::filesystem::create_directories(dir);
  auto file = dir / "genesis.json";
  {
    std::ofstream out(file);
    out << base_doc().dump(2);
  }
  auto g = load_genesis(file);
  REQUIRE(g);
  CHECK(g->validators.size() == 2);

  {
    std::ofstream out(file);
    auto doc = base_doc();
    doc["params"]["max_block_txs"] = 0;
    out << doc.dump(2);
  }
  g = load_genesis(file);
  REQUIRE_FALSE(g);
  CHECK(g.err().message.rfind(file.string() + ": params.max_block_txs", 0) == 0);

  g = load_genesis(dir / "missing.json");
  REQUIRE_FALSE(g);
  CHECK(g.err().code == errc::io_error);
  CHECK(g.err().message.find("missing.json") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("check_genesis refuses what parse_genesis would") {
  auto g = test::small_genesis();
  CHECK(check_genesis(g));
  CHECK(ledger::from_genesis(g));

  auto bad = g;
  std::swap(bad.validators[0], bad.validators[1]);
  CHECK(check_genesis(bad).err().message == "validators[1]: validators are not sorted by node id");
  CHECK_FALSE(ledger::from_genesis(bad));
  bad = g;
  bad.validators[1] = bad.validators[0];
  CHECK(check_genesis(bad).err().message.find("duplicate validator") != std::string::npos);
  bad = g;
  std::swap(bad.balances[0], bad.balances[1]);
  CHECK(check_genesis(bad).err().message == "balances[1]: balances are not sorted by account");
  bad = g;
  bad.balances[2].value = amount{0};
  CHECK(check_genesis(bad).err().message == "balances[2].amount: must be positive");
  bad = g;
  bad.validators.clear();
  CHECK_FALSE(check_genesis(bad));
  bad = g;
  bad.balances[0].value = amount{~0ull};
  CHECK(check_genesis(bad).err().message.find("total supply") != std::string::npos);
  bad = g;
  bad.chain_id = "";
  CHECK(check_genesis(bad).err().message.rfind("chain_id:", 0) == 0);
  bad = g;
  bad.params.min_validator_stake = amount{1001};
  CHECK(check_genesis(bad).err().message.find("below params.min_validator_stake") !=
        std::string::npos);
}
