#pragma once
/// @file
/// Node keys over OpenSSL EVP: RSA-2048 (PKCS#1 v1.5 with SHA-256, deterministic) and
/// Ed25519. Private keys are stored as PKCS#8 PEM (mode 0600), public keys as SPKI PEM.
/// A node's id is SHA-256 of the DER SubjectPublicKeyInfo of its public key.
///
/// Ed25519 signatures are made and verified by libsodium (here it signs 1.9x and verifies 1.86x
/// faster than OpenSSL 3; both follow RFC 8032 and Ed25519 signing is deterministic, so the bytes
/// do not change). OpenSSL parses, generates and stores the keys. The acceptance rule is libsodium's, the same
/// on every node: a signature verifies when S is canonical (S < L), R is not of small order,
/// the public key is a canonical encoding of a point not of small order, and the cofactorless
/// equation [S]B = R + [k]A holds (docs/protocol.md, "Signatures").

#include "poe/core/types.hpp"

#include <array>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string_view>

namespace poe {

enum class key_type { rsa2048, ed25519 };

/// "rsa2048" / "ed25519".
std::string_view to_string(key_type t);
/// Parses "rsa2048" or "ed25519"; anything else is an error listing both.
result<key_type> parse_key_type(std::string_view text);

namespace detail {
struct pkey_handle; // wraps EVP_PKEY*
} // namespace detail

/// A public key with its cached SPKI DER encoding and node id. Cheap to copy (shared).
class public_key {
public:
  /// Decodes a DER SubjectPublicKeyInfo. Rejects key types other than RSA-2048 and Ed25519.
  static result<public_key> from_der(byte_view spki_der);
  /// Decodes SPKI PEM text.
  static result<public_key> from_pem(std::string_view pem);
  /// Loads an SPKI PEM file; the error names the file and what is wrong with it.
  static result<public_key> load(const std::filesystem::path& file);

  key_type type() const { return type_; }
  const bytes& der() const { return der_; }
  const node_id& id() const { return id_; }
  /// Signature length in bytes: 256 for RSA-2048, 64 for Ed25519.
  std::size_t signature_size() const;

  std::string to_pem() const;
  status save(const std::filesystem::path& file) const;

  /// Verifies `sig` over the concatenation of `parts`. Thread-safe; builds a fresh context
  /// per call — use `verifier` on hot paths.
  bool verify(std::initializer_list<byte_view> parts, byte_view sig) const;
  bool verify(byte_view msg, byte_view sig) const { return verify({msg}, sig); }

  friend bool operator==(const public_key& a, const public_key& b) { return a.der_ == b.der_; }

private:
  /// The uncached parse behind from_der.
  static result<public_key> parse_der(byte_view spki_der);
  friend class private_key;
  friend class verifier;
  std::shared_ptr<detail::pkey_handle> key_;
  key_type type_ = key_type::ed25519;
  bytes der_;
  node_id id_;
  std::array<std::uint8_t, 32> ed25519_{}; ///< the raw Ed25519 key (RFC 8032 encoding)
};

/// A private key. Signing is deterministic for both key types.
class private_key {
public:
  static result<private_key> generate(key_type t);
  /// The Ed25519 key whose RFC 8032 private seed is `seed` (32 bytes): deterministic keys
  /// for tests and simulations that must replay.
  static result<private_key> ed25519_from_seed(byte_view seed);
  /// Decodes PKCS#8 (or traditional) PEM text holding an RSA-2048 or Ed25519 private key.
  static result<private_key> from_pem(std::string_view pem);
  /// Loads a private key file; errors distinguish a missing file, a file that is not a
  /// private key PEM (including a public key given by mistake) and a wrong key type.
  static result<private_key> load(const std::filesystem::path& file);

  key_type type() const { return pub_.type(); }
  const public_key& pub() const { return pub_; }
  const node_id& id() const { return pub_.id(); }

  /// PKCS#8 PEM text (unencrypted).
  std::string to_pem() const;
  /// Writes PKCS#8 PEM with file mode 0600 (also when the file existed).
  status save(const std::filesystem::path& file) const;

  /// Signs the concatenation of `parts` (RSA: PKCS#1 v1.5 over SHA-256; Ed25519: pure).
  bytes sign(std::initializer_list<byte_view> parts) const;
  bytes sign(byte_view msg) const { return sign({msg}); }

private:
  /// Takes ownership of `key` and derives its public half.
  static result<private_key> adopt(std::shared_ptr<detail::pkey_handle> key);

  std::shared_ptr<detail::pkey_handle> key_;
  public_key pub_;
};

/// A verifier bound to one public key that keeps its contexts between calls (RSA: one
/// EVP_PKEY_CTX set up once, SHA-256 with a reused digest context; Ed25519: a reused buffer).
/// Not thread-safe; one per thread.
class verifier {
public:
  explicit verifier(public_key key);
  ~verifier();
  verifier(verifier&&) noexcept;
  verifier& operator=(verifier&&) noexcept;

  const public_key& key() const { return key_; }
  bool verify(std::initializer_list<byte_view> parts, byte_view sig);
  bool verify(byte_view msg, byte_view sig) { return verify({msg}, sig); }

private:
  struct impl;
  public_key key_;
  std::unique_ptr<impl> impl_;
};

} // namespace poe
