// Scenarios:
// - both key types generate, sign deterministically, verify, and reject tampering
// - PEM save/load round trip; the private key file has mode 0600 even when it existed
// - node id = SHA-256(DER SPKI), checked against the openssl CLI's DER output
// - clear errors: missing file, corrupt file, public key where a private one is expected
//   (and vice versa), unsupported key types (EC, RSA-1024)
// - the caching verifier agrees with public_key::verify

#include "poe/core/keys.hpp"
#include "poe/core/sha256.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

using namespace poe;
namespace fs = std::filesystem;

namespace {

using poe::test::temp_dir;


void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("key types parse") {
  CHECK(*parse_key_type("rsa2048") == key_type::rsa2048);
  CHECK(*parse_key_type("ed25519") == key_type::ed25519);
  auto bad = parse_key_type("rsa4096");
  REQUIRE_FALSE(bad);
  CHECK(contains(bad.err().message, "rsa2048 or ed25519"));
}

TEST_CASE("sign and verify, both key types") {
  for (auto t : {key_type::rsa2048, key_type::ed25519}) {
    auto key = private_key::generate(t);
    REQUIRE(key);
    auto msg = test::to_bytes("result bytes");
    auto sig = key->sign(msg);
    CHECK(sig.size() == key->pub().signature_size());
    CHECK(key->sign(msg) == sig); // deterministic: PKCS#1 v1.5 and Ed25519
    CHECK(key->pub().verify(msg, sig));
    // Parts are signed as their concatenation.
    CHECK(key->pub().verify({as_bytes("result "), as_bytes("bytes")}, sig));
    auto tampered = msg;
    tampered[0] ^= 1;
    CHECK_FALSE(key->pub().verify(tampered, sig));
    auto bad_sig = sig;
    bad_sig[10] ^= 0x80;
    CHECK_FALSE(key->pub().verify(msg, bad_sig));
    CHECK_FALSE(key->pub().verify(msg, byte_view{sig}.first(sig.size() - 1)));
    verifier v{key->pub()};
    CHECK(v.verify(msg, sig));
    CHECK_FALSE(v.verify(tampered, sig));
    CHECK(v.verify(msg, sig)); // still fine after a failure
    auto other = private_key::generate(t);
    CHECK_FALSE(other->pub().verify(msg, sig));
  }
}

TEST_CASE("PEM round trip and file modes") {
  temp_dir dir;
  for (auto t : {key_type::rsa2048, key_type::ed25519}) {
    auto key = *private_key::generate(t);
    auto kf = dir.path / "node.key";
    auto pf = dir.path / "node.pub";
    write(kf, "old"); // an existing file gets mode 0600 as well
    chmod(kf.c_str(), 0644);
    REQUIRE(key.save(kf));
    REQUIRE(key.pub().save(pf));
    struct stat st {};
    REQUIRE(stat(kf.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(contains(key.to_pem(), "-----BEGIN PRIVATE KEY-----")); // PKCS#8
    CHECK(contains(key.pub().to_pem(), "-----BEGIN PUBLIC KEY-----"));
    auto loaded = private_key::load(kf);
    REQUIRE(loaded);
    CHECK(loaded->id() == key.id());
    CHECK(loaded->type() == t);
    auto pub = public_key::load(pf);
    REQUIRE(pub);
    CHECK(*pub == key.pub());
    CHECK(pub->verify(as_bytes("x"), loaded->sign(as_bytes("x"))));
  }
}

TEST_CASE("node id is SHA-256 of the DER SPKI (openssl CLI as reference)") {
  temp_dir dir;
  for (auto t : {key_type::rsa2048, key_type::ed25519}) {
    auto key = *private_key::generate(t);
    auto pf = dir.path / "node.pub";
    REQUIRE(key.pub().save(pf));
    auto out = test::run("openssl pkey -pubin -in " + pf.string() +
                         " -outform DER | openssl dgst -sha256 -r");
    CHECK(out.substr(0, 64) == key.id().hex());
    CHECK(key.id() == node_id{sha256::digest(key.pub().der()).data});
  }
}

TEST_CASE("key file errors are clear") {
  temp_dir dir;
  auto missing = private_key::load(dir.path / "nope.key");
  REQUIRE_FALSE(missing);
  CHECK(contains(missing.err().message, "does not exist"));
  CHECK(contains(missing.err().message, "nope.key"));

  write(dir.path / "corrupt.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  auto corrupt = private_key::load(dir.path / "corrupt.key");
  REQUIRE_FALSE(corrupt);
  CHECK(corrupt.err().code == errc::key_error);
  CHECK(contains(corrupt.err().message, "corrupt.key"));

  write(dir.path / "garbage.pub", "hello");
  CHECK(contains(public_key::load(dir.path / "garbage.pub").err().message, "not a PEM public key"));

  auto key = *private_key::generate(key_type::ed25519);
  REQUIRE(key.pub().save(dir.path / "node.pub"));
  REQUIRE(key.save(dir.path / "node.key"));
  CHECK(contains(private_key::load(dir.path / "node.pub").err().message, "holds a public key"));
  CHECK(contains(public_key::load(dir.path / "node.key").err().message, "holds a private key"));

  CHECK(contains(private_key::load(dir.path).err().message, "is a directory"));
}

TEST_CASE("unsupported key types are refused") {
  temp_dir dir;
  auto ec = dir.path / "ec.key";
  test::run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + ec.string() +
            " 2>/dev/null");
  auto r = private_key::load(ec);
  REQUIRE_FALSE(r);
  CHECK(contains(r.err().message, "unsupported key type"));
  auto rsa1024 = dir.path / "rsa1024.key";
  test::run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out " +
            rsa1024.string() + " 2>/dev/null");
  auto r2 = private_key::load(rsa1024);
  REQUIRE_FALSE(r2);
  CHECK(contains(r2.err().message, "1024 bits"));
}

TEST_CASE("public keys from DER: trailing bytes and garbage are refused") {
  auto key = *private_key::generate(key_type::ed25519);
  auto der = key.pub().der();
  CHECK(public_key::from_der(der));
  der.push_back(0);
  CHECK_FALSE(public_key::from_der(der));
  CHECK_FALSE(public_key::from_der(test::to_bytes("garbage")));
  CHECK_FALSE(public_key::from_der({}));
}

TEST_CASE("an Ed25519 key from its seed matches RFC 8032 and is deterministic") {
  // RFC 8032, section 7.1, test 1.
  auto seed = from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  REQUIRE(seed);
  auto a = private_key::ed25519_from_seed(*seed);
  auto b = private_key::ed25519_from_seed(*seed);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->type() == key_type::ed25519);
  auto der = a->pub().der();
  auto raw = to_hex(byte_view(der).subspan(der.size() - 32));
  CHECK(raw == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  CHECK(a->id() == b->id());
  auto sig = a->sign(as_bytes(std::string_view{}));
  CHECK(to_hex(sig) == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                       "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  CHECK_FALSE(private_key::ed25519_from_seed(byte_view(seed->data(), 31)));
}
