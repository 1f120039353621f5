// poe-cli put FILE | get CID -o FILE | stat CID — files in the storage role, streamed one
// chunk at a time (a file is never held whole in memory).
//
//   poe-cli put FILE [--media-type T] [--owner NODE_ID] --node HOST:PORT [TLS options]
//       → progress on stderr, the file's CID on stdout. The owner is the node id the TLS key
//       proves (another owner only with the node's own key).
//   poe-cli get CID -o FILE|DIR|- --node ...   (every chunk checked against its CID; written
//       to FILE.part and renamed when complete; into DIR named by the CID; - and devices are
//       written directly, never replaced)
//   poe-cli stat CID [--json] --node ...
//   poe-cli has CID --node ...           (yes, exit 0 / no, exit 1: held on that node)
//   poe-cli storage ls | pin CID | unpin CID | rm CID | usage OWNER | reputation  --node ...
//       (pin, unpin and rm: only a file's owner, or the node's own key)
//   poe-cli storage challenge CHUNK_CID --node TARGET [--from HOST:PORT] [--evidence FILE]
//                             [--chain-id ID]
//       fetches the chunk (from --from, default the target itself), checks it against its CID,
//       sends the target a fresh random nonce and compares its answer with
//       SHA-256(nonce ‖ chunk): "passed" (exit 0), "failed: <why>" (exit 1). A wrong answer
//       the target signed is storage fraud evidence (poe/chain/evidence.hpp), written to
//       FILE for `poe-cli evidence submit`.
// Exit codes: 0 ok, 1 refused or not found, 2 usage, 3 node unreachable.

#include "commands.hpp"
#include "node_client.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/storage/placement.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <unistd.h>

namespace poe::cli {

std::unique_ptr<tools::storage_client> storage_or_die(const tools::node_target& t) {
  return client_or_die<tools::storage_client>(t);
}

namespace {

/// "\r<verb> 12.5 / 50.0 MiB (25%)" on stderr, at most every 1 % on a terminal.
class progress {
public:
  progress(const char* verb, std::uint64_t total) : verb_(verb), total_(total) {}
  void update(std::uint64_t done) {
    int pct = total_ ? static_cast<int>(done * 100 / total_) : 100;
    if (pct == last_) return;
    last_ = pct;
    if (!tty_ && pct % 25 != 0) return;
    std::fprintf(stderr, "%s%s %.1f / %.1f MiB (%d%%)%s", tty_ ? "\r" : "", verb_,
                 static_cast<double>(done) / 1048576.0, static_cast<double>(total_) / 1048576.0,
                 pct, tty_ ? "" : "\n");
  }
  ~progress() {
    if (tty_) std::fputc('\n', stderr);
  }

private:
  const char* verb_;
  std::uint64_t total_;
  int last_ = -1;
  bool tty_ = ::isatty(2) != 0;
};

} // namespace

std::string upload_file(tools::storage_client& c, const std::string& file,
                        const std::string& media_type, const std::string& owner) {
  std::ifstream in(file, std::ios::binary);
  if (!in) tools::die("cannot read '" + file + "'", usage);
  // A regular file's size shows progress; a device or a pipe is read to its end.
  std::error_code ec;
  std::uint64_t total = std::filesystem::is_regular_file(file, ec) ? std::filesystem::file_size(file, ec) : 0;
  storage::manifest_builder mb(media_type);
  bytes chunk(storage::default_chunk_size);
  std::uint64_t done = 0;
  progress bar("put", total);
  while (in) {
    in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(chunk.size()));
    auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    bytes part(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    auto id = mb.add(part);
    if (!id) tools::die(id.err().message);
    auto stored = or_exit(c.put_chunk(part));
    if (stored != id->str()) tools::die("the node stored " + stored + ", expected " + id->str());
    done += n;
    bar.update(done);
  }
  if (in.bad()) tools::die("cannot read '" + file + "'", usage);
  auto m = std::move(mb).finish();
  if (m.chunks.empty()) tools::die("'" + file + "' is empty: nothing to store", usage);
  return or_exit(c.put_manifest(storage::encode(m), owner));
}

namespace {

/// Writes the file `m` describes to `out`, every chunk checked against its CID:
/// - a path that is no file yet, or a regular file: written to `out.part`, renamed when whole
///   (an interrupted or refused get leaves neither a partial file nor a `.part`);
/// - an existing directory: the file goes into it, named by its CID;
/// - `-`, or an existing device, pipe or socket (/dev/stdout, /dev/null, a FIFO): written to it
///   directly — it is never replaced by a regular file;
/// any write error (a full device, no permission) is reported and exits 1.
void write_verified(tools::storage_client& c, const storage::manifest& m, std::string out,
                    const std::string& cid) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto st = fs::status(out, ec);
  if (out != "-" && fs::is_directory(st)) {
    out = (fs::path(out) / cid).string();
    st = fs::status(out, ec);
  }
  bool direct = out == "-" || (fs::exists(st) && !fs::is_regular_file(st));
  if (fs::is_directory(st)) tools::die("'" + out + "' is a directory", usage);
  auto target = out == "-" ? std::string("/dev/stdout") : out;
  auto part = direct ? target : out + ".part";
  std::ofstream file(part, std::ios::binary | (direct ? std::ios::out : std::ios::trunc));
  if (!file) tools::die("cannot write '" + part + "': " + std::strerror(errno), usage);
  auto discard = [&] {
    file.close();
    if (!direct) fs::remove(part, ec);
  };
  auto fail = [&](const std::string& why) {
    discard();
    tools::die(why);
  };
  progress bar("get", m.total_size);
  std::uint64_t done = 0;
  for (auto& ch : m.chunks) {
    auto data = c.get(ch.id.str());
    if (!data) {
      discard();
      or_exit(std::move(data)); // the node's refusal or unreachability, with its exit code
    }
    if (!ch.id.matches(*data) || data->size() != ch.size) fail("chunk " + ch.id.str() + " does not match its CID");
    file.write(reinterpret_cast<const char*>(data->data()), static_cast<std::streamsize>(data->size()));
    if (!file.flush()) fail("cannot write '" + part + "': " + std::strerror(errno));
    done += data->size();
    bar.update(done);
  }
  file.close();
  if (!file) fail("cannot write '" + part + "': " + std::strerror(errno));
  if (!direct) {
    fs::rename(part, out, ec);
    if (ec) fail("cannot move '" + part + "' to '" + out + "': " + ec.message());
  }
}

} // namespace

void add_storage_commands(CLI::App& app) {
  struct args {
    tools::node_target node;
    std::string file, cid, out, media_type = "application/octet-stream", owner;
    bool json_out = false;
  };
  auto a = std::make_shared<args>();

  auto* put = app.add_subcommand("put", "store a file (chunks, then its manifest); prints its CID");
  put->add_option("FILE", a->file, "the file")->required()->check(CLI::ExistingFile);
  put->add_option("--media-type", a->media_type, "media type recorded in the manifest");
  put->add_option("--owner", a->owner,
                  "owner's node id (default and only choice from another node: the TLS key's node id)");
  tools::add_node_options(put, a->node);
  put->callback([a] {
    auto c = storage_or_die(a->node);
    // "" → the node records the node id this command's TLS connection proves.
    std::cout << upload_file(*c, a->file, a->media_type, a->owner) << '\n';
  });

  auto* get = app.add_subcommand("get", "fetch a file by its CID");
  get->add_option("CID", a->cid, "the file's CID (b…)")->required();
  get->add_option("-o,--out", a->out,
                  "where to write it: a file (replaced only once whole), a directory (named by its CID), or - for stdout")
    ->required();
  tools::add_node_options(get, a->node);
  get->callback([a] {
    auto id = storage::cid::parse(a->cid);
    if (!id) tools::die("CID: " + id.err().message, usage);
    if (!id->is_manifest()) tools::die(a->cid + " is a chunk, not a file", usage);
    auto c = storage_or_die(a->node);
    auto raw = or_exit(c->get(a->cid));
    if (!id->matches(raw)) tools::die("the node sent a manifest that does not match " + a->cid);
    auto m = storage::decode_manifest(raw);
    if (!m) tools::die("manifest: " + m.err().message);
    write_verified(*c, *m, a->out, a->cid);
  });

  auto* has = app.add_subcommand("has", "whether the node holds a CID (exit 0 yes, 1 no)");
  has->add_option("CID", a->cid, "a file's or a chunk's CID")->required();
  tools::add_node_options(has, a->node);
  has->callback([a] {
    if (auto id = storage::cid::parse(a->cid); !id) tools::die("CID: " + id.err().message, usage);
    bool held = or_exit(storage_or_die(a->node)->has(a->cid));
    std::cout << (held ? "yes" : "no") << "\n";
    std::exit(held ? 0 : invalid);
  });

  auto* stat = app.add_subcommand("stat", "what the storage knows of a CID");
  stat->add_option("CID", a->cid, "a file's or a chunk's CID")->required();
  stat->add_flag("--json", a->json_out, "print JSON");
  tools::add_node_options(stat, a->node);
  stat->callback([a] {
    if (auto id = storage::cid::parse(a->cid); !id) tools::die("CID: " + id.err().message, usage);
    auto text = or_exit(storage_or_die(a->node)->stat(a->cid));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (a->json_out || j.is_discarded()) {
      std::cout << (j.is_discarded() ? text : j.dump(2)) << '\n';
      return;
    }
    std::cout << j.value("kind", "?") << " " << j.value("cid", "") << "\n  size "
              << j.value("size", 0) << " bytes";
    if (j.value("kind", "") == "file")
      std::cout << " in " << j.value("chunks", 0) << " chunks (" << j.value("chunks_here", 0)
                << " on this node), " << j.value("media_type", "") << ", owner "
                << j.value("owner", "");
    std::cout << (j.value("pinned", false) ? ", pinned" : "") << "\n  placement:";
    for (auto& p : j["placement"])
      std::cout << " " << p.get<std::string>().substr(0, 12);
    std::cout << "\n";
  });

  auto* st = app.add_subcommand("storage", "manage what a storage node keeps");
  st->require_subcommand(1);
  auto json_print = [](const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    std::cout << (j.is_discarded() ? text : j.dump(2)) << '\n';
  };
  auto* ls = st->add_subcommand("ls", "files stored on the node (JSON)");
  tools::add_node_options(ls, a->node);
  ls->callback([a, json_print] { json_print(or_exit(storage_or_die(a->node)->list())); });
  for (auto [name, what] : {std::pair{"pin", "keep a file or chunk from deletion"},
                            std::pair{"unpin", "allow deleting it again"},
                            std::pair{"rm", "delete an unpinned file or unreferenced chunk"}}) {
    auto* c = st->add_subcommand(name, what);
    c->add_option("CID", a->cid, "the CID")->required();
    tools::add_node_options(c, a->node);
    std::string verb = name;
    c->callback([a, verb] {
      auto client = storage_or_die(a->node);
      auto r = verb == "rm" ? client->remove(a->cid) : client->pin(a->cid, verb == "pin");
      std::cout << or_exit(std::move(r)) << '\n';
    });
  }
  auto* usage_cmd = st->add_subcommand("usage", "bytes and byte-milliseconds stored for an owner");
  usage_cmd->add_option("OWNER", a->owner, "owner's node id (who put the files)")->required();
  tools::add_node_options(usage_cmd, a->node);
  usage_cmd->callback(
    [a, json_print] { json_print(or_exit(storage_or_die(a->node)->usage(a->owner))); });
  auto* rep = st->add_subcommand("reputation", "challenge outcomes this node recorded per peer");
  tools::add_node_options(rep, a->node);
  rep->callback([a, json_print] { json_print(or_exit(storage_or_die(a->node)->reputation())); });

  auto* chal = st->add_subcommand("challenge", "challenge a storage node to prove it holds a chunk");
  chal->add_option("CID", a->cid, "a chunk's CID (b…)")->required();
  auto from = std::make_shared<std::string>();
  chal->add_option("--from", *from, "host:port of a node to fetch the chunk from (default: --node)");
  auto evidence_file = std::make_shared<std::string>();
  chal->add_option("--evidence", *evidence_file,
                   "where to write the evidence when the node signs a wrong answer");
  auto chain_id = std::make_shared<std::string>("poe-devnet");
  chal->add_option("--chain-id", *chain_id, "the chain the node signs for")
    ->envname("POE_CHAIN_ID")
    ->capture_default_str();
  tools::add_node_options(chal, a->node);
  chal->callback([a, from, evidence_file, chain_id] {
    auto id = storage::cid::parse(a->cid);
    if (!id) tools::die("CID: " + id.err().message, usage);
    if (id->is_manifest()) tools::die("challenges are for chunks; " + a->cid + " is a file", usage);
    auto source_target = a->node;
    if (!from->empty()) source_target.address = *from;
    auto data = or_exit(storage_or_die(source_target)->get(a->cid));
    if (!id->matches(data)) tools::die("the chunk fetched does not match its CID", invalid);
    std::random_device rd;
    bytes nonce(32);
    for (auto& b : nonce) b = static_cast<std::uint8_t>(rd());
    auto n = *hash256::from_view(nonce);
    auto expected = storage::challenge_answer(n, data);
    auto reply = storage_or_die(a->node)->challenge(a->cid, nonce);
    if (!reply) {
      std::cout << "failed: " << reply.err().message << "\n";
      std::exit(invalid);
    }
    if (reply->answer != bytes(expected.data.begin(), expected.data.end())) {
      auto answer = hash256::from_view(reply->answer);
      chain::storage_fraud_evidence ev{*chain_id, reply->key, n,
                                       answer ? *answer : hash256{}, reply->signature, data};
      auto proof = answer ? chain::verify_evidence(ev)
                          : status{fail(errc::decode_error, "the answer is not 32 bytes")};
      if (!proof) {
        std::cout << "failed: wrong answer (not evidence: " << proof.err().message << ")\n";
      } else if (evidence_file->empty()) {
        std::cout << "failed: wrong answer, signed by " << chain::offender_of(ev).hex()
                  << " (--evidence FILE keeps the evidence)\n";
      } else {
        if (auto st = tools::write_file(*evidence_file, chain::encode(ev)); !st)
          tools::die(st.err().message, invalid);
        std::cout << "failed: wrong answer, signed by " << chain::offender_of(ev).hex()
                  << ": evidence written to " << *evidence_file
                  << " (poe-cli evidence submit " << *evidence_file << " --node VALIDATOR)\n";
      }
      std::exit(invalid);
    }
    std::cout << "passed\n";
  });
}

} // namespace poe::cli
