// poe-cli job submit | compute | status, receipt show — jobs through a verifier node.
//
//   poe-cli job submit FILE|CID [--ladder default|NAME:WxH:VKBPS:AKBPS,...] [--owner NAME]
//                      --node VERIFIER [--storage NODE] [TLS options]
//                      [--max-fee N [--price-per-work-unit P] [--verifier-share PPM]
//                       [--fee-blocks B] [--chain-node VALIDATOR] [--chain-id ID]]
//       A FILE is probed here first (non-media is refused before any upload), then uploaded
//       to --storage (default: the verifier's node) and submitted; prints the job id.
//       With --max-fee, the job's fee is escrowed on chain (job_fund, signed with the TLS key:
//       the owner pays) once the verifier took the job: the verifier pays each verified task's
//       executor work units × P (its PPM share kept), and gives the rest back when the job is
//       finished; the owner may take the rest back itself after B blocks (job refund).
//   poe-cli job escrow JOB --verifier ID --node VALIDATOR [--json]
//   poe-cli job refund JOB --verifier ID --key OWNER --node VALIDATOR (after the escrow's expiry)
//   poe-cli job compute DATA... [--iterations N] [--hex] [--owner NAME] --node VERIFIER
//       a compute job (iterated SHA-256, the Proof-of-Compute path): one task per DATA (its
//       bytes, or hex with --hex; at most 4 KiB each); prints the job id. `job status` shows
//       each task's digest once verified.
//   poe-cli job status ID [--json] [--wait SECONDS] --node VERIFIER
//       a progress bar and each segment's phase; --wait polls until the job is done
//   poe-cli receipt show REQUEST_ID [--json] --node VERIFIER
// Exit codes: 0 ok (status: the job is done and every task verified), 1 refused, failed or
// not done, 2 usage, 3 unreachable.
#include "commands.hpp"
#include "node_client.hpp"
#include "tx_support.hpp"
#include "poe/core/keys.hpp"
#include "poe/media/media.hpp"
#include "poe/storage/cid.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

namespace poe::cli {

namespace {

void print_status(const nlohmann::json& j) {
  std::size_t n = j.value("segments", 0), ok = j.value("verified", 0), bad = j.value("failed", 0);
  const int width = 30;
  int filled = n ? static_cast<int>(width * ok / n) : 0;
  std::cout << "job " << j.value("job", "") << " [" << std::string(static_cast<std::size_t>(filled), '#')
            << std::string(static_cast<std::size_t>(width - filled), '.') << "] " << ok << "/" << n
            << " verified";
  if (bad) std::cout << ", " << bad << " failed";
  std::cout << (j.value("done", false) ? " (done)" : "") << "\n";
  std::size_t i = 0;
  auto label = j.value("kind", "") == "compute" ? "  task " : "  segment ";
  for (auto& t : j["tasks"]) {
    std::cout << label << i++ << "  " << t.value("request", "") << "  " << t.value("phase", "");
    if (!t.value("reason", std::string{}).empty()) std::cout << ": " << t.value("reason", "");
    if (t.contains("digest")) std::cout << "  digest " << t.value("digest", "");
    std::cout << "\n";
  }
}

struct fee_args {
  std::string max_fee, price = "1", chain_id = "poe-devnet";
  std::uint32_t verifier_ppm = 100'000;
  std::uint64_t blocks = 1000;
  tools::node_target chain;
};

/// Escrows `job`'s fee (job_fund, signed with the TLS key) at the validator, waits until the
/// chain has it, and tells the verifier.
void fund_job(const fee_args& f, const tools::node_target& node, tools::verifier_client& verifier,
              const std::string& job) {
  auto vid = node_id::from_hex(verifier.node());
  if (!vid) tools::die("the verifier's node id is unknown: " + vid.err().message, unreachable);
  auto chain_target = node; // the same TLS identity; another address when --chain-node is given
  if (!f.chain.address.empty()) chain_target.address = f.chain.address;
  auto status = nlohmann::json::parse(or_exit(connect_or_die(chain_target)->chain_status()));
  tx_args t;
  t.key = node.key;
  t.chain_id = f.chain_id;
  t.node = chain_target;
  t.chain_id = status.value("chain_id", f.chain_id);
  t.fee = status.value("min_fee", std::string("0"));
  auto expiry = status.value("height", std::uint64_t{0}) + f.blocks;
  // Standard output carries the job id alone (scripts read it): the validator's answer to
  // the escrow goes to standard error.
  auto tx = write_tx(t, chain::job_fund{*vid, job, tools::or_die(parse_amount(f.max_fee), "--max-fee", usage),
                                        tools::or_die(parse_amount(f.price), "--price-per-work-unit", usage),
                                        f.verifier_ppm, expiry},
                     std::cerr);
  auto escrow = chain::job_escrow_id(*vid, job);
  std::cerr << "escrow " << escrow.hex() << ": " << f.max_fee << " for job " << job << " until height "
            << expiry << "\n";
  auto v = connect_or_die(chain_target);
  for (int i = 0; i < 60; ++i) {
    auto j = nlohmann::json::parse(or_exit(v->escrow(escrow)));
    if (j.value("found", false)) {
      std::cerr << or_exit(verifier.funded(job)) << "\n";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  tools::die("the escrow of job " + job + " is not on chain after 30 s (transaction " +
             chain::tx_id(tx).hex() + ")", invalid);
}

/// --owner, or else the node id of the TLS key this command connects with.
std::string owner_of(const std::string& owner, const tools::node_target& t) {
  if (!owner.empty()) return owner;
  auto key = private_key::load(t.key);
  return key ? key->id().hex() : "anonymous";
}

} // namespace

void add_job_commands(CLI::App& app) {
  struct args {
    tools::node_target node, storage;
    std::string source, ladder, owner, id;
    std::vector<std::string> data;
    std::uint64_t iterations = 1;
    bool json = false, hex = false;
    int wait_s = 0;
    fee_args fee;
    std::string verifier;
    tx_args refund;
  };
  auto a = std::make_shared<args>();
  auto* job = app.add_subcommand("job", "transcoding and compute jobs (the verifier role)");
  job->require_subcommand(1);

  auto* submit = job->add_subcommand("submit", "upload (or name) a source and start a job");
  submit->add_option("SOURCE", a->source, "a media file, or the CID of a stored one")->required();
  submit->add_option("--ladder", a->ladder, "default, or NAME:WxH:VKBPS:AKBPS,... (default: the verifier's)");
  submit->add_option("--owner", a->owner,
                     "owner of the job and the uploaded source (default and, unless the key is the node's own, only choice: the TLS key's node id)");
  auto* storage_opt = submit->add_option("--storage", a->storage.address,
                                         "host:port of the node to upload to (default: --node)");
  tools::add_node_options(submit, a->node);
  auto* fee_opt = submit->add_option("--max-fee", a->fee.max_fee,
                                     "escrow up to this many base units for the job's work (job_fund, paid by the TLS key's account)");
  submit->add_option("--price-per-work-unit", a->fee.price, "what a work unit of a verified task earns (default 1)");
  submit->add_option("--verifier-share", a->fee.verifier_ppm, "the verifier's share of each payment, ppm (default 100000)")
    ->check(CLI::Range(0u, 1'000'000u));
  submit->add_option("--fee-blocks", a->fee.blocks, "the escrow's life in blocks; then the owner may take the rest back (default 1000)")
    ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
  submit->add_option("--chain-node", a->fee.chain.address, "host:port of the validator for the escrow (default --node)");
  submit->add_option("--chain-id", a->fee.chain_id, "chain id (default: the validator's)");
  submit->callback([a, storage_opt, fee_opt] {
    if (!a->ladder.empty())
      if (auto l = media::parse_ladder(a->ladder); !l) tools::die("--ladder: " + l.err().message, usage);
    std::string cid = a->source;
    if (std::filesystem::exists(a->source)) {
      auto data = tools::or_die(tools::read_file(a->source), "SOURCE", usage);
      if (auto f = media::probe(data); !f) tools::die(a->source + ": " + f.err().message, invalid);
      auto target = a->node;
      if (storage_opt->count() > 0) target.address = a->storage.address;
      auto owner = owner_of(a->owner, a->node);
      cid = upload_file(*storage_or_die(target), a->source, "video/mp4", owner);
      std::cerr << "uploaded " << a->source << " as " << cid << "\n";
    } else if (!storage::cid::parse(a->source)) {
      tools::die("SOURCE: '" + a->source + "' is neither a file nor a CID", usage);
    }
    if (fee_opt->count() > 0) (void)tools::or_die(parse_amount(a->fee.max_fee), "--max-fee", usage);
    auto verifier = client_or_die<tools::verifier_client>(a->node);
    auto job = or_exit(verifier->submit_job(cid, a->ladder, owner_of(a->owner, a->node)));
    std::cout << job << std::endl;
    if (fee_opt->count() > 0) fund_job(a->fee, a->node, *verifier, job);
  });

  auto* escrow = job->add_subcommand("escrow", "a job's fee escrow on chain");
  escrow->add_option("JOB", a->id, "the job id")->required();
  escrow->add_option("--verifier", a->verifier, "the verifier's node id (hex)")->required();
  escrow->add_flag("--json", a->json, "print JSON");
  tools::add_node_options(escrow, a->node);
  escrow->callback([a] {
    auto vid = tools::or_die(node_id::from_hex(a->verifier), "--verifier", usage);
    auto j = nlohmann::json::parse(or_exit(connect_or_die(a->node)->escrow(chain::job_escrow_id(vid, a->id))));
    if (a->json) {
      std::cout << j.dump(2) << "\n";
    } else if (!j.value("found", false)) {
      std::cout << "job " << a->id << ": no escrow (never funded, or closed)\n";
    } else {
      std::cout << "job " << a->id << ": escrow " << j.value("escrow", "") << "\n  funder   "
                << j.value("funder", "") << "\n  deposit  " << j.value("deposit", "") << ", paid "
                << j.value("paid", "") << ", rest " << j.value("rest", "") << "\n  price    "
                << j.value("price_per_work_unit", "") << " per work unit, verifier share "
                << j.value("verifier_ppm", 0u) << " ppm\n  tasks paid " << j["tasks_paid"].size()
                << ", expires at height " << j.value("expiry_height", std::uint64_t{0}) << "\n";
    }
    std::exit(j.value("found", false) ? 0 : invalid);
  });

  auto* refund = job->add_subcommand("refund", "the owner takes an expired escrow's rest back (job_close)");
  refund->add_option("JOB", a->id, "the job id")->required();
  refund->add_option("--verifier", a->verifier, "the verifier's node id (hex)")->required();
  add_tx_options(refund, a->refund, "the funder's private key (PEM)");
  refund->callback([a] {
    auto vid = tools::or_die(node_id::from_hex(a->verifier), "--verifier", usage);
    write_tx(a->refund, chain::job_close{chain::job_escrow_id(vid, a->id)});
  });

  auto* compute = job->add_subcommand("compute", "a compute job: one iterated SHA-256 task per DATA");
  compute->add_option("DATA", a->data, "the inputs (text, or hex with --hex; at most 4 KiB each)")->required();
  compute->add_option("--iterations", a->iterations, "SHA-256 iterations per task (1..100000000)")
    ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
  compute->add_flag("--hex", a->hex, "DATA are hex strings");
  compute->add_option("--owner", a->owner, "who the job is for (default and, unless the key is the node's own, only choice: the TLS key's node id)");
  tools::add_node_options(compute, a->node);
  compute->callback([a] {
    std::vector<bytes> inputs;
    for (auto& d : a->data) {
      if (!a->hex) {
        inputs.emplace_back(d.begin(), d.end());
        continue;
      }
      auto raw = from_hex(d);
      if (!raw) tools::die("DATA '" + d + "' is not hex: " + raw.err().message, usage);
      inputs.push_back(std::move(*raw));
    }
    std::cout << or_exit(client_or_die<tools::verifier_client>(a->node)->submit_compute(
                   owner_of(a->owner, a->node), a->iterations, inputs))
              << "\n";
  });

  auto* status = job->add_subcommand("status", "progress of a job");
  status->add_option("ID", a->id, "the job id")->required();
  status->add_flag("--json", a->json, "print JSON");
  status->add_option("--wait", a->wait_s, "poll until the job is done, at most this many seconds");
  tools::add_node_options(status, a->node);
  status->callback([a] {
    auto c = client_or_die<tools::verifier_client>(a->node);
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(a->wait_s);
    nlohmann::json j;
    for (;;) {
      j = nlohmann::json::parse(or_exit(c->job_status(a->id)));
      if (j.value("done", false) || std::chrono::steady_clock::now() >= end) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (a->json) std::cout << j.dump(2) << "\n";
    else print_status(j);
    bool ok = j.value("done", false) && j.value("failed", 1) == 0;
    std::exit(ok ? 0 : invalid);
  });

  auto* receipt = app.add_subcommand("receipt", "step receipts of verified tasks");
  receipt->require_subcommand(1);
  auto* show = receipt->add_subcommand("show", "a verified task's receipt");
  show->add_option("REQUEST_ID", a->id, "the request id (32 hex digits)")->required();
  show->add_flag("--json", a->json, "print JSON");
  tools::add_node_options(show, a->node);
  show->callback([a] {
    auto j = nlohmann::json::parse(or_exit(client_or_die<tools::verifier_client>(a->node)->receipt(a->id)));
    if (a->json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "receipt of request " << j.value("request", "") << " (" << j.value("kind", "")
              << ")\n  executor    " << j.value("executor", "") << "\n  result hash "
              << j.value("result_hash", "") << "\n  PoE v1      " << j.value("poe", "")
              << "\n  verifier    " << j.value("verifier", "") << " at " << j.value("verified_ms", std::uint64_t{0})
              << " ms" << (j.value("reexecuted", false) ? " (re-executed)" : "")
              << "\n  work units  " << j.value("work_units", std::uint64_t{0}) << "\n";
  });
}

} // namespace poe::cli
