// Scenarios (the binaries as a user runs them):
// - poe-keygen writes node.key (0600) and node.pub, prints the node id, which equals
//   SHA-256 of the DER public key as computed by the openssl CLI; refuses to overwrite
// - poe-cli poe commit → JSON; the commitment equals Python's hashlib; the signature verifies
//   with the openssl CLI over result ‖ poe; poe verify says "valid"
// - poe verify names each failure with exit 1: commitment mismatch, bad signature,
//   key does not match node id; malformed hex is a usage error (exit 2)
// - key file errors (missing, corrupt, wrong type) are reported with the file name
// - merkle root equals the Python reference; proof → verify is valid; a wrong root is not

#include "../core/test_util.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using poe::test::trim;

namespace {

using poe::test::temp_dir;

struct outcome {
  int code;
  std::string out;
};

// Runs a command, capturing stdout+stderr and the exit code.
outcome sh(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((cmd + " 2>&1").c_str(), "r"), [](FILE*) { return 0; });
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  int status = pclose(pipe.release());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}


const std::string keygen = POE_KEYGEN;
const std::string cli = POE_CLI;
const std::string rid = "00112233445566778899aabbccddeeff";

void write(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

} // namespace

TEST_CASE("poe-keygen writes a key pair and prints the node id") {
  temp_dir d;
  for (std::string type : {"rsa2048", "ed25519"}) {
    auto dir = d / type;
    auto r = sh(keygen + " --type " + type + " --out " + dir);
    REQUIRE(r.code == 0);
    auto id = trim(r.out);
    CHECK(id.size() == 64);
    struct stat st {};
    REQUIRE(stat((dir + "/node.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto ref = sh("openssl pkey -pubin -in " + dir + "/node.pub -outform DER | openssl dgst -sha256 -r");
    CHECK(ref.out.substr(0, 64) == id);
    auto again = sh(keygen + " --type " + type + " --out " + dir);
    CHECK(again.code != 0);
    CHECK(again.out.find("already exists") != std::string::npos);
  }
  auto bad = sh(keygen + " --type rsa4096 --out " + d / "x");
  CHECK(bad.code != 0);
  CHECK(bad.out.find("rsa2048 or ed25519") != std::string::npos);
}

TEST_CASE("poe-cli poe commit and verify") {
  temp_dir d;
  for (std::string type : {"rsa2048", "ed25519"}) {
    auto dir = d / type;
    REQUIRE(sh(keygen + " --type " + type + " --out " + dir).code == 0);
    write(d / "result.bin", std::string("rendition\0bytes", 15));
    auto c = sh(cli + " poe commit --key " + dir + "/node.key --request-id " + rid + " --result " +
                d / "result.bin");
    REQUIRE(c.code == 0);
    auto j = nlohmann::json::parse(c.out);
    auto poe = j["poe"].get<std::string>();
    auto sig = j["sig"].get<std::string>();
    auto nid = j["node_id"].get<std::string>();
    CHECK(j["request_id"] == rid);

    // The commitment, independently: SHA-256(request_id ‖ result ‖ node_id).
    auto py = sh("python3 -c \"import hashlib; print(hashlib.sha256(bytes.fromhex('" + rid +
                 "') + open('" + d / "result.bin" + "','rb').read() + bytes.fromhex('" + nid +
                 "')).hexdigest())\"");
    CHECK(trim(py.out) == poe);

    // The signature, independently: openssl over result ‖ poe.
    REQUIRE(sh("python3 -c \"open('" + d / "signed.bin" + "','wb').write(open('" + d / "result.bin" +
               "','rb').read() + bytes.fromhex('" + poe + "')); open('" + d / "sig.bin" +
               "','wb').write(bytes.fromhex('" + sig + "'))\"").code == 0);
    auto ossl = type == "rsa2048"
                    ? sh("openssl dgst -sha256 -verify " + dir + "/node.pub -signature " + d / "sig.bin" + " " + d / "signed.bin")
                    : sh("openssl pkeyutl -verify -pubin -inkey " + dir + "/node.pub -rawin -in " + d / "signed.bin" + " -sigfile " + d / "sig.bin");
    CHECK(ossl.out.find("Verified") != std::string::npos);
    CHECK(ossl.out.find("Failure") == std::string::npos);

    auto verify = cli + " poe verify --pub " + dir + "/node.pub --request-id " + rid;
    auto ok = sh(verify + " --result " + d / "result.bin" + " --poe " + poe + " --sig " + sig);
    CHECK(ok.code == 0);
    CHECK(trim(ok.out) == "valid");

    write(d / "other.bin", "rendition bytez");
    auto mismatch = sh(verify + " --result " + d / "other.bin" + " --poe " + poe + " --sig " + sig);
    CHECK(mismatch.code == 1);
    CHECK(trim(mismatch.out) == "invalid: commitment mismatch");

    auto bad_sig = sig;
    bad_sig[10] = bad_sig[10] == '0' ? '1' : '0';
    auto badsig = sh(verify + " --result " + d / "result.bin" + " --poe " + poe + " --sig " + bad_sig);
    CHECK(badsig.code == 1);
    CHECK(trim(badsig.out) == "invalid: bad signature");

    auto wrong_node = sh(verify + " --result " + d / "result.bin" + " --poe " + poe + " --sig " +
                         sig + " --node-id " + std::string(64, 'a'));
    CHECK(wrong_node.code == 1);
    CHECK(trim(wrong_node.out) == "invalid: key does not match node id");

    auto bad_hex = sh(verify + " --result " + d / "result.bin" + " --poe xyz --sig " + sig);
    CHECK(bad_hex.code == 2);
    CHECK(bad_hex.out.find("--poe") != std::string::npos);
  }
}

TEST_CASE("poe-cli key file errors") {
  temp_dir d;
  write(d / "result.bin", "r");
  auto commit = [&](const std::string& key) {
    return sh(cli + " poe commit --key " + key + " --request-id " + rid + " --result " + d / "result.bin");
  };
  // A key that cannot be used is wrong input, like a malformed option: exit 2 (nothing was
  // done), not 1 (the exit code of a refusal) as it was.
  auto missing = commit(d / "missing.key");
  CHECK(missing.code == 2);
  CHECK(missing.out.find("missing.key' does not exist") != std::string::npos);
  write(d / "corrupt.key", "not a key");
  auto corrupt = commit(d / "corrupt.key");
  CHECK(corrupt.code == 2);
  CHECK(corrupt.out.find("not a PEM private key") != std::string::npos);
  sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d / "ec.key");
  auto ec = commit(d / "ec.key");
  CHECK(ec.code == 2);
  CHECK(ec.out.find("unsupported key type") != std::string::npos);
  auto short_rid = sh(cli + " poe commit --key " + d / "ec.key" + " --request-id 00 --result " + d / "result.bin");
  CHECK(short_rid.code == 2);
}

TEST_CASE("poe-cli merkle root, proof and verify") {
  temp_dir d;
  std::string files;
  std::string py_leaves;
  for (int i = 0; i < 7; ++i) {
    auto f = d / ("leaf" + std::to_string(i));
    write(f, "leaf number " + std::to_string(i));
    files += " " + f;
    py_leaves += "'leaf number " + std::to_string(i) + "',";
  }
  auto root = sh(cli + " merkle root" + files);
  REQUIRE(root.code == 0);
  auto py = sh("python3 -c \"import hashlib\nH=lambda b: hashlib.sha256(b).digest()\n"
               "def m(l):\n  n=len(l)\n  if n==1: return H(b'\\x00'+l[0])\n  k=1\n"
               "  while k*2<n: k*=2\n  return H(b'\\x01'+m(l[:k])+m(l[k:]))\n"
               "print(m([s.encode() for s in [" + py_leaves + "]]).hex())\"");
  CHECK(trim(root.out) == trim(py.out));
  CHECK(trim(sh(cli + " merkle root").out) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  auto proof = sh(cli + " merkle proof --index 5" + files);
  REQUIRE(proof.code == 0);
  write(d / "proof.json", proof.out);
  auto j = nlohmann::json::parse(proof.out);
  CHECK(j["root"] == trim(root.out));
  CHECK(j["tree_size"] == 7);
  auto ok = sh(cli + " merkle verify --proof " + d / "proof.json" + " --root " + trim(root.out) + " " + d / "leaf5");
  CHECK(ok.code == 0);
  CHECK(trim(ok.out) == "valid");
  auto wrong_leaf = sh(cli + " merkle verify --proof " + d / "proof.json" + " --root " + trim(root.out) + " " + d / "leaf4");
  CHECK(wrong_leaf.code == 1);
  auto wrong_root = sh(cli + " merkle verify --proof " + d / "proof.json" + " --root " + std::string(64, '0') + " " + d / "leaf5");
  CHECK(wrong_root.code == 1);
  auto out_of_range = sh(cli + " merkle proof --index 7" + files);
  CHECK(out_of_range.code == 2);
  write(d / "bad.json", "{\"index\": 1}");
  CHECK(sh(cli + " merkle verify --proof " + d / "bad.json" + " --root " + trim(root.out) + " " + d / "leaf5").code == 2);
}
