#include "poe/core/keys.hpp"

#include "poe/core/keyed_hash.hpp"
#include "poe/core/sha256.hpp"

#include "ossl.hpp"
#include "sodium_ready.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <unordered_map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace poe {

namespace detail {

struct pkey_handle {
  explicit pkey_handle(EVP_PKEY* p) : pkey(p) {}
  ~pkey_handle() {
    EVP_PKEY_free(pkey);
    sodium_memzero(ed25519_sk.data(), ed25519_sk.size());
  }
  pkey_handle(const pkey_handle&) = delete;
  pkey_handle& operator=(const pkey_handle&) = delete;
  EVP_PKEY* pkey;
  /// A private Ed25519 key in libsodium's form (seed ‖ public key), which signs: libsodium
  /// signs in half of OpenSSL 3's time here, and Ed25519 signatures are deterministic
  /// (RFC 8032), so the bytes are the same. Zero for public keys and RSA.
  std::array<unsigned char, crypto_sign_ed25519_SECRETKEYBYTES> ed25519_sk{};
};

} // namespace detail

namespace {

using detail::pkey_handle;

// Checks the key is one of the two supported types and returns which.
result<key_type> classify(EVP_PKEY* p) {
  switch (EVP_PKEY_get_base_id(p)) {
    case EVP_PKEY_ED25519:
      return key_type::ed25519;
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(p) != 2048)
        return fail(errc::key_error, "RSA key has " + std::to_string(EVP_PKEY_get_bits(p)) +
                                         " bits; only RSA-2048 is supported");
      return key_type::rsa2048;
    default: {
      const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(p));
      return fail(errc::key_error, std::string{"unsupported key type "} +
                                       (name ? name : "?") + " (expected RSA-2048 or Ed25519)");
    }
  }
}

result<std::string> read_file(const std::filesystem::path& file, std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return fail(errc::io_error, std::string{what} + " '" + file.string() + "' does not exist");
  if (std::filesystem::is_directory(file, ec))
    return fail(errc::io_error, std::string{what} + " '" + file.string() + "' is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return fail(errc::io_error, std::string{what} + " '" + file.string() +
                                    "' cannot be read: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

status write_file(const std::filesystem::path& file, std::string_view content, mode_t mode) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return fail(errc::io_error, "cannot write '" + file.string() + "': " + std::strerror(errno));
  // The mode given to open() applies only to new files; enforce it for existing ones too.
  if (::fchmod(fd, mode) != 0) {
    auto err = errno;
    ::close(fd);
    return fail(errc::io_error, "cannot chmod '" + file.string() + "': " + std::strerror(err));
  }
  std::size_t done = 0;
  while (done < content.size()) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto err = errno;
      ::close(fd);
      return fail(errc::io_error, "cannot write '" + file.string() + "': " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return fail(errc::io_error, "cannot flush '" + file.string() + "': " + std::strerror(errno));
  return {};
}

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// Passphrase callback that refuses: an encrypted key fails instead of prompting on a tty.
int no_passphrase(char*, int, int, void*) { return 0; }

// The public half of `raw` (not owned), via its canonical SPKI DER.
result<public_key> make_public(EVP_PKEY* raw) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(raw, &der);
  if (len <= 0) {
    ERR_clear_error();
    return fail(errc::key_error, "cannot encode public key");
  }
  bytes buf(der, der + len);
  OPENSSL_free(der);
  return public_key::from_der(buf);
}

} // namespace

std::string_view to_string(key_type t) {
  return t == key_type::rsa2048 ? "rsa2048" : "ed25519";
}

result<key_type> parse_key_type(std::string_view text) {
  if (text == "rsa2048") return key_type::rsa2048;
  if (text == "ed25519") return key_type::ed25519;
  return fail(errc::invalid_argument,
              "unknown key type '" + std::string{text} + "' (expected rsa2048 or ed25519)");
}

// ---------------------------------------------------------------- public_key

namespace {

// OpenSSL 3 parses a DER key through its decoder framework (provider lookups under locks):
// ~100 µs, where verifying an Ed25519 signature takes ~70 µs. Validators parse the same sender
// keys over and over (admission, block building, validation, execution), so parsed keys are
// kept, by their exact bytes, in a bounded process-wide cache (only keys that parsed).
class key_cache {
public:
  std::optional<public_key> find(byte_view der) {
    std::lock_guard<std::mutex> lock(m_);
    auto it = keys_.find(std::string_view(reinterpret_cast<const char*>(der.data()), der.size()));
    if (it == keys_.end()) return std::nullopt;
    return it->second;
  }
  void insert(byte_view der, const public_key& k) {
    std::lock_guard<std::mutex> lock(m_);
    if (keys_.size() >= capacity) keys_.clear();
    keys_.emplace(std::string(reinterpret_cast<const char*>(der.data()), der.size()), k);
  }

private:
  static constexpr std::size_t capacity = 1 << 16;
  std::mutex m_;
  // Keyed (SipHash under a per-process key): the bytes come from peers before any signature
  // is checked, and std::hash's fixed seed would let them be chosen to share one bucket.
  std::unordered_map<std::string, public_key, keyed_bytes_hash, std::equal_to<>> keys_;
};

key_cache& parsed_keys() {
  static key_cache c;
  return c;
}

} // namespace

result<public_key> public_key::from_der(byte_view spki_der) {
  if (auto k = parsed_keys().find(spki_der)) return *k;
  auto k = parse_der(spki_der);
  if (k) parsed_keys().insert(spki_der, *k);
  return k;
}

result<public_key> public_key::parse_der(byte_view spki_der) {
  const unsigned char* p = spki_der.data();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size()));
  if (raw == nullptr) {
    ERR_clear_error();
    return fail(errc::key_error, "not a DER SubjectPublicKeyInfo");
  }
  auto handle = std::make_shared<pkey_handle>(raw);
  if (p != spki_der.data() + spki_der.size())
    return fail(errc::key_error, "trailing bytes after the SubjectPublicKeyInfo");
  auto type = classify(raw);
  if (!type) return type.err();
  public_key out;
  out.key_ = std::move(handle);
  out.type_ = *type;
  // Re-encode: the node id is defined over the canonical DER, and a non-canonical input
  // encoding would give one key two ids.
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(raw, &der);
  if (len <= 0) {
    ERR_clear_error();
    return fail(errc::key_error, "cannot encode public key");
  }
  out.der_.assign(der, der + len);
  OPENSSL_free(der);
  if (!std::equal(out.der_.begin(), out.der_.end(), spki_der.begin(), spki_der.end()))
    return fail(errc::key_error, "non-canonical DER encoding of the public key");
  if (out.type_ == key_type::ed25519) {
    std::size_t n = out.ed25519_.size();
    if (EVP_PKEY_get_raw_public_key(raw, out.ed25519_.data(), &n) != 1 || n != out.ed25519_.size()) {
      ERR_clear_error();
      return fail(errc::key_error, "cannot read the raw Ed25519 key");
    }
  }
  auto h = sha256::digest(out.der_);
  out.id_ = node_id{h.data};
  return out;
}

result<public_key> public_key::from_pem(std::string_view pem) {
  ossl::bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr);
  if (raw == nullptr) {
    ERR_clear_error();
    if (pem.find("PRIVATE KEY-----") != std::string_view::npos)
      return fail(errc::key_error, "holds a private key; expected a public key (SPKI PEM)");
    return fail(errc::key_error, "not a PEM public key (expected '-----BEGIN PUBLIC KEY-----')");
  }
  ossl::pkey_ptr owned{raw};
  return make_public(raw);
}

result<public_key> public_key::load(const std::filesystem::path& file) {
  auto text = read_file(file, "public key file");
  if (!text) return text.err();
  auto key = from_pem(*text);
  if (!key) return fail(errc::key_error, "public key file '" + file.string() + "': " + key.err().message);
  return key;
}

std::size_t public_key::signature_size() const {
  return type_ == key_type::rsa2048 ? 256 : 64;
}

std::string public_key::to_pem() const {
  ossl::bio_ptr bio{BIO_new(BIO_s_mem())};
  if (PEM_write_bio_PUBKEY(bio.get(), key_->pkey) != 1)
    throw std::runtime_error("OpenSSL: cannot write public key PEM: " + ossl::last_error());
  return bio_to_string(bio.get());
}

status public_key::save(const std::filesystem::path& file) const {
  return write_file(file, to_pem(), 0644);
}

namespace {

bytes concat(std::initializer_list<byte_view> parts) {
  std::size_t n = 0;
  for (auto p : parts) n += p.size();
  bytes out;
  out.reserve(n);
  for (auto p : parts) append(out, p);
  return out;
}

bool rsa_verify(EVP_MD_CTX* ctx, EVP_PKEY* pkey, std::initializer_list<byte_view> parts, byte_view sig) {
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, ossl::sha256_md(), nullptr, pkey) == 1;
  for (auto p : parts)
    ok = ok && EVP_DigestVerifyUpdate(ctx, p.data(), p.size()) == 1;
  ok = ok && EVP_DigestVerifyFinal(ctx, sig.data(), sig.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

/// libsodium's Ed25519 verification (the rule in keys.hpp); `sig` is 64 bytes.
bool ed25519_verify(const std::array<std::uint8_t, 32>& key, byte_view msg, byte_view sig) {
  detail::require_sodium();
  return crypto_sign_ed25519_verify_detached(sig.data(), msg.data(), msg.size(), key.data()) == 0;
}

} // namespace

bool public_key::verify(std::initializer_list<byte_view> parts, byte_view sig) const {
  if (!key_ || sig.size() != signature_size()) return false;
  if (type_ == key_type::ed25519) {
    bytes joined; // only when the message comes in several parts
    return ed25519_verify(ed25519_, parts.size() == 1 ? *parts.begin() : byte_view(joined = concat(parts)), sig);
  }
  ossl::md_ctx_ptr ctx{EVP_MD_CTX_new()};
  return ctx && rsa_verify(ctx.get(), key_->pkey, parts, sig);
}

// ---------------------------------------------------------------- private_key

result<private_key> private_key::adopt(std::shared_ptr<pkey_handle> key) {
  auto pub = make_public(key->pkey);
  if (!pub) return pub.err();
  if (pub->type() == key_type::ed25519) {
    if (!detail::sodium_ready()) return fail(errc::crypto_error, "libsodium: sodium_init failed");
    std::array<unsigned char, crypto_sign_ed25519_SEEDBYTES> seed{};
    std::size_t n = seed.size();
    std::array<unsigned char, crypto_sign_ed25519_PUBLICKEYBYTES> pk{};
    bool ok = EVP_PKEY_get_raw_private_key(key->pkey, seed.data(), &n) == 1 && n == seed.size() &&
              crypto_sign_ed25519_seed_keypair(pk.data(), key->ed25519_sk.data(), seed.data()) == 0;
    sodium_memzero(seed.data(), seed.size());
    if (!ok) {
      ERR_clear_error();
      return fail(errc::key_error, "cannot read the raw Ed25519 private key");
    }
    // Both libraries must derive the same public key from the seed, or one of them is broken.
    if (!std::equal(pk.begin(), pk.end(), pub->ed25519_.begin()))
      return fail(errc::crypto_error, "libsodium and OpenSSL derive different Ed25519 keys");
  }
  private_key out;
  out.key_ = std::move(key);
  out.pub_ = std::move(*pub);
  return out;
}

result<private_key> private_key::generate(key_type t) {
  EVP_PKEY* raw = t == key_type::rsa2048
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr)
    return fail(errc::crypto_error, "key generation failed: " + ossl::last_error());
  return adopt(std::make_shared<pkey_handle>(raw));
}

result<private_key> private_key::ed25519_from_seed(byte_view seed) {
  if (seed.size() != 32)
    return fail(errc::invalid_argument,
                "an Ed25519 seed has 32 bytes, got " + std::to_string(seed.size()));
  EVP_PKEY* raw =
    EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (raw == nullptr)
    return fail(errc::crypto_error, "Ed25519 key from seed failed: " + ossl::last_error());
  return adopt(std::make_shared<pkey_handle>(raw));
}

result<private_key> private_key::from_pem(std::string_view pem) {
  ossl::bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (raw == nullptr) {
    ERR_clear_error();
    if (pem.find("ENCRYPTED PRIVATE KEY-----") != std::string_view::npos)
      return fail(errc::key_error, "encrypted private keys are not supported");
    if (pem.find("PUBLIC KEY-----") != std::string_view::npos)
      return fail(errc::key_error, "holds a public key; expected a private key (PKCS#8 PEM)");
    return fail(errc::key_error,
                "not a PEM private key (expected '-----BEGIN PRIVATE KEY-----')");
  }
  auto handle = std::make_shared<pkey_handle>(raw);
  if (auto type = classify(raw); !type) return type.err();
  return adopt(std::move(handle));
}

result<private_key> private_key::load(const std::filesystem::path& file) {
  auto text = read_file(file, "private key file");
  if (!text) return text.err();
  auto key = from_pem(*text);
  if (!key)
    return fail(errc::key_error, "private key file '" + file.string() + "': " + key.err().message);
  return key;
}

std::string private_key::to_pem() const {
  ossl::bio_ptr bio{BIO_new(BIO_s_mem())};
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key_->pkey, nullptr, nullptr, 0, nullptr,
                                    nullptr) != 1)
    throw std::runtime_error("OpenSSL: cannot write private key PEM: " + ossl::last_error());
  return bio_to_string(bio.get());
}

status private_key::save(const std::filesystem::path& file) const {
  return write_file(file, to_pem(), 0600);
}

bytes private_key::sign(std::initializer_list<byte_view> parts) const {
  bytes sig(pub_.signature_size());
  if (type() == key_type::ed25519) {
    bytes joined; // only when the message comes in several parts
    byte_view msg = parts.size() == 1 ? *parts.begin() : byte_view(joined = concat(parts));
    if (crypto_sign_ed25519_detached(sig.data(), nullptr, msg.data(), msg.size(),
                                     key_->ed25519_sk.data()) != 0)
      throw std::runtime_error("libsodium: Ed25519 signing failed");
    return sig;
  }
  // RSA keys default to PKCS#1 v1.5 padding, which is deterministic.
  ossl::md_ctx_ptr ctx{EVP_MD_CTX_new()};
  std::size_t len = sig.size();
  bool ok = ctx && EVP_DigestSignInit(ctx.get(), nullptr, ossl::sha256_md(), nullptr, key_->pkey) == 1;
  for (auto p : parts)
    ok = ok && EVP_DigestSignUpdate(ctx.get(), p.data(), p.size()) == 1;
  ok = ok && EVP_DigestSignFinal(ctx.get(), sig.data(), &len) == 1;
  if (!ok || len != sig.size())
    throw std::runtime_error("OpenSSL: signing failed: " + ossl::last_error());
  return sig;
}

// ---------------------------------------------------------------- verifier

struct verifier::impl {
  ossl::pkey_ctx_ptr rsa_ctx;
  sha256 hasher;
  bytes scratch;
};

verifier::verifier(public_key key) : key_(std::move(key)), impl_(std::make_unique<impl>()) {
  if (key_.type() == key_type::rsa2048) {
    impl_->rsa_ctx.reset(EVP_PKEY_CTX_new(key_.key_->pkey, nullptr));
    if (!impl_->rsa_ctx || EVP_PKEY_verify_init(impl_->rsa_ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(impl_->rsa_ctx.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(impl_->rsa_ctx.get(), ossl::sha256_md()) != 1)
      throw std::runtime_error("OpenSSL: cannot set up RSA verifier: " + ossl::last_error());
  }
}

verifier::~verifier() = default;
verifier::verifier(verifier&&) noexcept = default;
verifier& verifier::operator=(verifier&&) noexcept = default;

bool verifier::verify(std::initializer_list<byte_view> parts, byte_view sig) {
  if (sig.size() != key_.signature_size()) return false;
  if (key_.type() == key_type::rsa2048) {
    for (auto p : parts) impl_->hasher.update(p);
    auto digest = impl_->hasher.finish();
    bool ok = EVP_PKEY_verify(impl_->rsa_ctx.get(), sig.data(), sig.size(), digest.data.data(),
                              digest.size) == 1;
    if (!ok) ERR_clear_error();
    return ok;
  }
  if (parts.size() == 1) return ed25519_verify(key_.ed25519_, *parts.begin(), sig);
  auto& msg = impl_->scratch;
  msg.clear();
  for (auto p : parts) append(msg, p);
  return ed25519_verify(key_.ed25519_, msg, sig);
}

} // namespace poe
