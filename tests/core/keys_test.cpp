// Scenarios:
// - both key types generate, sign deterministically, verify, and reject tampering
// - PEM save/load round trip; the private key file has mode 0600 even when it existed
// - node id = SHA-256(DER SPKI), checked against the openssl CLI's DER output
// - clear errors: missing file, corrupt file, public key where a private one is expected
//   (and vice versa), unsupported key types (EC, RSA-1024)
// - the caching verifier agrees with public_key::verify
// - Ed25519 verification (libsodium): RFC 8032 vectors pass; S + L, small-order keys and R
//   (the identity-key forgery OpenSSL 3.0 accepts) and non-canonical keys are refused
// - Ed25519 signing (libsodium): RFC 8032 vectors, signing in parts, and the same bytes as
//   OpenSSL gives for a key OpenSSL generated

#include "poe/core/keys.hpp"
#include "poe/core/sha256.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

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

TEST_CASE("Ed25519 signatures match RFC 8032 tests 2 and 3 and OpenSSL's bytes") {
  struct vec {
    const char *seed, *msg, *sig;
  };
  // RFC 8032, section 7.1, tests 2 (one byte) and 3 (two bytes).
  for (auto v : {vec{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
                     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
                 vec{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "af82",
                     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
                     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"}}) {
    auto key = private_key::ed25519_from_seed(*from_hex(v.seed));
    REQUIRE(key);
    auto msg = *from_hex(v.msg);
    CHECK(to_hex(key->sign(msg)) == v.sig);
    // Signed in parts: the signature of the concatenation.
    CHECK(to_hex(key->sign({byte_view(msg).first(1), byte_view(msg).subspan(1)})) == v.sig);
    CHECK(key->pub().verify({msg}, key->sign(msg)));
  }
  // libsodium signs; a key generated and stored by OpenSSL gives OpenSSL's bytes.
  auto key = private_key::generate(key_type::ed25519);
  REQUIRE(key);
  auto pem = key->to_pem();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(raw != nullptr);
  for (std::size_t n : {0, 1, 63, 64, 1000}) {
    bytes msg(n, static_cast<std::uint8_t>(n));
    std::array<unsigned char, 64> want{};
    std::size_t len = want.size();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, raw) == 1);
    REQUIRE(EVP_DigestSign(ctx, want.data(), &len, msg.data(), msg.size()) == 1);
    EVP_MD_CTX_free(ctx);
    CHECK(to_hex(key->sign(msg)) == to_hex(want));
    auto reloaded = private_key::from_pem(pem);
    REQUIRE(reloaded);
    CHECK(to_hex(reloaded->sign(msg)) == to_hex(want));
  }
  EVP_PKEY_free(raw);
}

namespace {

/// An Ed25519 public key from its raw RFC 8032 encoding (SPKI DER: fixed prefix + 32 bytes).
result<public_key> ed25519_raw(std::string_view raw_hex) {
  auto der = from_hex("302a300506032b6570032100" + std::string(raw_hex));
  if (!der) return der.err();
  return public_key::from_der(*der);
}

/// Both verification paths (public_key::verify and the caching verifier) give `expected`.
void check_both(const public_key& k, byte_view msg, byte_view sig, bool expected) {
  CHECK(k.verify(msg, sig) == expected);
  verifier v(k);
  CHECK(v.verify(msg, sig) == expected);
  CHECK(v.verify({msg.subspan(0, msg.size() / 2), msg.subspan(msg.size() / 2)}, sig) == expected);
}

} // namespace

TEST_CASE("Ed25519 verification follows RFC 8032 and refuses non-canonical and small-order forms") {
  struct vector {
    const char *pub, *msg, *sig;
  };
  // RFC 8032, section 7.1, tests 1, 2 and 3.
  for (auto v : {vector{"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
                        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
                 vector{"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
                        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
                 vector{"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
                        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"}}) {
    auto k = ed25519_raw(v.pub);
    REQUIRE(k);
    auto msg = *from_hex(v.msg);
    auto sig = *from_hex(v.sig);
    check_both(*k, msg, sig, true);
    // S + L: the same point equation, but S is not reduced — refused (RFC 8032 5.1.7).
    auto malleated = sig;
    static const std::uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                       0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    unsigned carry = 0;
    for (int i = 0; i < 32; ++i) {
      carry += unsigned{malleated[32 + static_cast<std::size_t>(i)]} + L[i];
      malleated[32 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(carry);
      carry >>= 8;
    }
    check_both(*k, msg, malleated, false);
    // A flipped bit of the message, of R and of S.
    auto other = msg;
    other.push_back(0);
    check_both(*k, other, sig, false);
    for (std::size_t at : {0u, 40u}) {
      auto bad = sig;
      bad[at] ^= 1;
      check_both(*k, msg, bad, false);
    }
  }
  // The identity point as the public key with R = identity and S = 0 satisfies the
  // cofactorless equation for every message ([0]B = R + [k]A): OpenSSL 3.0 accepts it, so
  // anyone could sign as that key. The rule refuses small-order keys and R.
  auto identity = ed25519_raw("0100000000000000000000000000000000000000000000000000000000000000");
  REQUIRE(identity);
  bytes forged(64, 0);
  forged[0] = 1;
  check_both(*identity, test::to_bytes("any message at all"), forged, false);
  check_both(*identity, bytes{}, forged, false);
  // A key of the eight-torsion (order 8) and a non-canonical encoding (y = p + 1): refused.
  for (auto raw : {"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
                   "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"}) {
    auto k = ed25519_raw(raw);
    if (!k) continue; // a parser that refuses it outright refuses it too
    bytes r_sig(64, 0);
    std::copy_n(k->der().end() - 32, 32, r_sig.begin()); // R = A, S = 0
    check_both(*k, test::to_bytes("m"), r_sig, false);
  }
}
