// poe-cli job submit | compute | status, receipt show — jobs through a verifier node.
//
//   poe-cli job submit FILE|CID [--ladder default|NAME:WxH:VKBPS:AKBPS,...] [--owner NAME]
//                      --node VERIFIER [--storage NODE] [TLS options]
//       A FILE is probed here first (non-media is refused before any upload), then uploaded
//       to --storage (default: the verifier's node) and submitted; prints the job id.
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
  submit->callback([a, storage_opt] {
    if (!a->ladder.empty())
      if (auto l = media::parse_ladder(a->ladder); !l) tools::die("--ladder: " + l.err().message, usage);
    std::string cid = a->source;
    if (std::filesystem::exists(a->source)) {
      auto data = tools::or_die(tools::read_file(a->source), "SOURCE");
      if (auto f = media::probe(data); !f) tools::die(a->source + ": " + f.err().message, invalid);
      auto target = a->node;
      if (storage_opt->count() > 0) target.address = a->storage.address;
      auto owner = owner_of(a->owner, a->node);
      cid = upload_file(*storage_or_die(target), a->source, "video/mp4", owner);
      std::cerr << "uploaded " << a->source << " as " << cid << "\n";
    } else if (!storage::cid::parse(a->source)) {
      tools::die("SOURCE: '" + a->source + "' is neither a file nor a CID", usage);
    }
    std::cout << or_exit(client_or_die<tools::verifier_client>(a->node)->submit_job(
                   cid, a->ladder, owner_of(a->owner, a->node)))
              << "\n";
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
