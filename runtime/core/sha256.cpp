#include "poe/core/sha256.hpp"

#include "ossl.hpp"

#include <stdexcept>

namespace poe {

namespace ossl {

const EVP_MD* sha256_md() {
  // Fetched once: EVP_sha256()/SHA256() look the algorithm up on every use (3x slower).
  static const EVP_MD* md = [] {
    auto* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) throw std::runtime_error("OpenSSL: cannot fetch SHA256");
    return m;
  }();
  return md;
}

std::string last_error() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

} // namespace ossl

struct sha256::impl {
  ossl::md_ctx_ptr ctx{EVP_MD_CTX_new()};
};

sha256::sha256() : impl_(std::make_unique<impl>()) {
  if (!impl_->ctx) throw std::bad_alloc();
  reset();
}

sha256::~sha256() = default;
sha256::sha256(sha256&&) noexcept = default;
sha256& sha256::operator=(sha256&&) noexcept = default;

void sha256::reset() {
  if (EVP_DigestInit_ex2(impl_->ctx.get(), ossl::sha256_md(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 init failed: " + ossl::last_error());
}

sha256& sha256::update(byte_view data) {
  if (!data.empty() && EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 update failed: " + ossl::last_error());
  return *this;
}

hash256 sha256::finish() {
  hash256 out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), out.data.data(), &len) != 1 || len != 32)
    throw std::runtime_error("OpenSSL: SHA-256 final failed: " + ossl::last_error());
  reset();
  return out;
}

hash256 sha256::digest(byte_view data) {
  thread_local sha256 h;
  return h.update(data).finish();
}

hash256 sha256::digest(std::initializer_list<byte_view> parts) {
  thread_local sha256 h;
  for (auto p : parts) h.update(p);
  return h.finish();
}

} // namespace poe
