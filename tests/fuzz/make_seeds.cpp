// poe-fuzz-seeds DIR — writes valid encodings of every protocol object as seed inputs:
// DIR/<target>/seed-<n>.

#include "poe/chain/block.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/log_builder.hpp"
#include "poe/chain/notary.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/client_request.hpp"
#include "poe/runtime/basp_binder.hpp"
#include "poe/core/poe_header.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/core/sha256.hpp"
#include "poe/wire/codec.hpp"
#include "samples.hpp"

#include <functional>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace fs = std::filesystem;
using namespace poe;

namespace {

void put(const fs::path& dir, const std::string& target, const std::vector<bytes>& seeds) {
  fs::create_directories(dir / target);
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream out(dir / target / ("seed-" + std::to_string(i)), std::ios::binary);
    out.write(reinterpret_cast<const char*>(seeds[i].data()),
              static_cast<std::streamsize>(seeds[i].size()));
  }
}

/// Seeds made by `make`; one that cannot be encoded is skipped (libFuzzer starts from the rest).
void put_made(const fs::path& dir, const std::string& target,
              const std::vector<std::function<bytes()>>& make) {
  std::vector<bytes> seeds;
  for (auto& m : make) {
    try {
      seeds.push_back(m());
    } catch (const std::exception& e) {
      std::cerr << "poe-fuzz-seeds: " << target << ": a seed skipped: " << e.what() << "\n";
    }
  }
  put(dir, target, seeds);
}

/// Valid encodings of the chain's hand-written formats.
void chain_seeds(const fs::path& dir) {
  using namespace poe::chain;
  auto key = *private_key::ed25519_from_seed(sha256::digest(as_bytes(std::string("fuzz-seed"))).view());
  const std::string chain_id = "poe-fuzz";
  auto tx = [&] {
    transaction t;
    t.chain_id = chain_id;
    t.nonce = 7;
    t.fee = amount{10};
    t.body = transfer{key.id(), amount{1000}};
    sign(t, key);
    return t;
  };
  auto bid = [&] {
    builder_bid b;
    b.chain_id = chain_id;
    b.height = 12;
    b.bundle_hash = sha256::digest(as_bytes(std::string("bundle")));
    b.value = amount{50};
    sign(b, key);
    return b;
  };
  auto entry = [] { return poe_entry{test::sample_header(), test::sample_log_block()}; };
  auto dec = [&] {
    qbft::decision d;
    d.height = 3;
    d.round = 1;
    d.block = encode(block{});
    d.digest = sha256::digest(d.block);
    d.seals.push_back({key.id(), bytes(64, 0x5a)});
    return d;
  };
  // One transaction of every body kind (payments: a published content, a channel's life).
  auto with = [&](tx_body b) {
    auto t = tx();
    t.body = std::move(b);
    sign(t, key);
    return encode(t);
  };
  job_output out;
  out.job = "job-1";
  out.owner = key.id();
  out.outputs = {{"a.ts", "bafkreia", 10}, {"b.ts", "bafkreib", 20}};
  sign(out, key, chain_id);
  auto ch = channel_id(key.id(), 3);
  tick_chain ticks(sha256::digest(as_bytes(std::string("seed"))), 16);
  lane_commit commit{ch, 0, content_id(out), ticks.top(), 16, amount{2}, {}};
  sign(commit, key, chain_id);
  voucher v{ch, 0, 4, ticks.at(4), {}};
  sign(v, key, chain_id);
  put_made(dir, "transaction",
           {[&] { return encode(tx()); }, [&] { return with(stake{stake_role::verifier, amount{5}}); },
            [&] { return with(content_publish{out, amount{3}, split_rule{}}); },
            [&] { return with(channel_open{key.id(), amount{50}, 100}); },
            [&] { return with(channel_topup{ch, amount{5}}); },
            [&] { return with(channel_claim{ch, {lane_claim{commit, v, 6, ticks.at(6)}}}); },
            [&] { return with(channel_close{ch, {lane_claim{commit, std::nullopt, 2, ticks.at(2)}}}); },
            [&] { return with(channel_collect{ch}); },
            [&] { return with(job_fund{key.id(), "1700000000000-0", amount{90}, amount{2}, 100'000, 50}); },
            [&] { return with(job_pay{job_escrow_id(key.id(), "1700000000000-0"), {task_payment{0, key.id(), 7}, task_payment{3, key.id(), 1}}}); },
            [&] { return with(job_close{job_escrow_id(key.id(), "1700000000000-0")}); }});
  put_made(dir, "job_output", {[&] { return encode(out); }});
  put_made(dir, "lane_claim", {[&] { return encode(lane_claim{commit, v, 6, ticks.at(6)}); },
                               [&] { return encode(lane_claim{commit, std::nullopt, 2, ticks.at(2)}); }});
  put_made(dir, "block", {[&] {
                            block b;
                            b.header.height = 3;
                            b.transactions.push_back(encode(tx()));
                            return encode(b);
                          },
                          [] { return encode(block{}); }});
  put_made(dir, "qbft_message", {[&] {
    qbft::message m;
    m.type = qbft::kind::proposal;
    m.height = 3;
    m.block = encode(block{});
    m.digest = sha256::digest(m.block);
    m.from = key.id();
    m.signature = bytes(64, 0x11);
    return qbft::encode(m);
  }});
  put_made(dir, "qbft_decision", {[&] {
    bytes out{3}; // the height byte the target reads first
    append(out, qbft::encode(dec()));
    return out;
  }});
  put_made(dir, "builder_bid", {[&] { return encode(bid()); }});
  auto executor_fraud = [&] {
    task t;
    t.id.data.fill(0x31);
    t.kind = "compute";
    t.params = {{"data", "00ff"}, {"iterations", "3"}};
    t.submitter = key.id();
    std::vector<bytes> batch{wire::encode(t), wire::encode(task{})};
    executor_fraud_evidence e;
    e.chain_id = chain_id;
    e.offender_key = key.pub().der();
    e.request = t.id;
    e.task = *grant_of(authorize_tasks(key, chain_id, batch), batch, 0);
    for (auto* r : {&e.lie, &e.a, &e.b}) {
      task_result res;
      res.id = t.id;
      res.kind = t.kind;
      res.task_hash = sha256::digest(batch[0]);
      res.facts = {{"digest", r == &e.lie ? "lie" : "truth"}};
      r->executor_key = key.pub().der();
      r->result = wire::encode(res);
      r->poe = sha256::digest(r->result);
      r->signature = bytes(64, 0x22);
    }
    return encode(e);
  };
  put_made(dir, "evidence", {executor_fraud,
                             [&] { return encode(withheld_bid_evidence{chain_id, key.pub().der(), bid()}); },
                             [&] { return encode(bid_settlement{chain_id, key.pub().der(), bid(), 2}); }});
  put_made(dir, "exclusion_complaint", {[&] {
    exclusion_complaint c;
    c.chain_id = chain_id;
    c.height = 9;
    c.proposer = key.id();
    c.missing = {sha256::digest(as_bytes(std::string("h")))};
    sign(c, key);
    return encode(c);
  }});
  put_made(dir, "poe_entry", {[&] { return encode(entry()); }});
  auto attested = [&] {
    auto r = test::sample_receipt();
    r.verifier = key.id();
    attested_receipt a{wire::encode(r), {}, {}, wire::encode(task_result{}), key.pub().der()};
    sign(a, key, chain_id);
    return encode(a);
  };
  put_made(dir, "attested_receipt", {attested});
  put_made(dir, "receipt_proof", {[&] {
    receipt_proof p;
    p.receipt = attested();
    p.entry = entry();
    p.bpi_key = key.pub().der();
    p.height = 3;
    p.decision = qbft::encode(dec());
    return encode(p);
  }});
}

} // namespace

/// A BASP stream as CAF 0.17.6 writes it (basp_binder.hpp): a step byte for the fuzz target,
/// a client handshake naming node pid 100, a routed message from it, a direct message, a
/// heartbeat, and a monitor message naming pid 200.
static bytes basp_seed() {
  auto be = [](bytes& out, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  auto node = [&](std::uint32_t pid) {
    bytes out;
    be(out, runtime::basp_binder::atom_default, 8);
    be(out, pid, 4);
    out.insert(out.end(), 20, 0xB0);
    return out;
  };
  auto frame = [&](bytes& out, std::uint8_t op, const bytes& payload) {
    out.insert(out.end(), {op, 0, 0, 0});
    be(out, payload.size(), 4);
    be(out, 0, 8);
    be(out, 7, 8);
    be(out, 42, 8);
    out.insert(out.end(), payload.begin(), payload.end());
  };
  bytes out{3};
  frame(out, 1, node(100));
  auto routed = node(100);
  auto dest = node(1);
  routed.insert(routed.end(), dest.begin(), dest.end());
  routed.insert(routed.end(), 16, 0x22);
  frame(out, 3, routed);
  frame(out, 2, bytes(24, 0x33));
  frame(out, 6, {});
  auto monitor = node(200);
  monitor.insert(monitor.end(), dest.begin(), dest.end());
  frame(out, 4, monitor);
  return out;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: poe-fuzz-seeds DIR\n";
    return 2;
  }
  fs::path dir{argv[1]};
  task empty_task;
  empty_task.kind = "compute";
  put(dir, "task", {wire::encode(test::sample_task()), wire::encode(empty_task)});
  put(dir, "task_result", {wire::encode(test::sample_result()), wire::encode(task_result{})});
  put(dir, "step_receipt", {wire::encode(test::sample_receipt())});
  put(dir, "log_block", {wire::encode(test::sample_log_block())});
  auto hdr = test::sample_header();
  auto rsa_hdr = hdr;
  rsa_hdr.signature.assign(256, 0x44);
  put(dir, "poe_header", {wire::encode(hdr), wire::encode(rsa_hdr)});
  put(dir, "envelope", {wire::encode(test::sample_envelope())});
  put(dir, "poe_header_binary", {*encode_binary(hdr), *encode_binary(rsa_hdr)});
  chain_seeds(dir);
  storage::manifest_builder mb("video/mp2t", 4096);
  (void)mb.add(bytes(4096, 0x42));
  (void)mb.add(bytes(904, 0x43));
  put(dir, "manifest", {storage::encode(std::move(mb).finish())});
  auto key = *private_key::ed25519_from_seed(sha256::digest(as_bytes(std::string("client-seed"))).view());
  hash256 n;
  n.data[0] = 1;
  put(dir, "client_request", {wire::encode(sign_request(key, "poe-fuzz", request_op::remove, "bafy", n))});
  put(dir, "basp_stream", {basp_seed()});
  return 0;
}
