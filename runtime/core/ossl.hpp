#pragma once
// Private OpenSSL helpers of poe_core: owning handles and error text.

#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

namespace poe::ossl {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct bio_deleter {
  void operator()(BIO* p) const { BIO_free_all(p); }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

/// The SHA-256 EVP_MD, fetched once per process.
const EVP_MD* sha256_md();

/// Drains OpenSSL's error queue into one line ("" when empty).
std::string last_error();

} // namespace poe::ossl
