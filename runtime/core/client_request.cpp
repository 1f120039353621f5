#include "poe/core/client_request.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/sha256.hpp"

#include <cstring>

namespace poe {

namespace {
constexpr std::string_view magic = "poe/client-request/v1";

error refuse(const std::string& why) { return error{errc::verify_failed, "not_authorized: " + why}; }
} // namespace

std::string_view to_string(request_op op) {
  switch (op) {
    case request_op::put: return "put";
    case request_op::remove: return "delete";
    case request_op::pin: return "pin";
    case request_op::unpin: return "unpin";
    case request_op::job: return "job";
    case request_op::compute: return "compute";
  }
  return "unknown";
}

bytes request_payload(request_op op, std::string_view subject, const hash256& nonce) {
  bytes out(magic.begin(), magic.end());
  out.push_back(static_cast<std::uint8_t>(op));
  out.push_back(static_cast<std::uint8_t>(subject.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(subject.size()));
  append(out, as_bytes(subject));
  append(out, nonce.view());
  return out;
}

std::string job_subject(std::string_view source, std::string_view ladder) {
  return std::string(source) + "|" + std::string(ladder);
}

std::string compute_subject(std::uint64_t iterations, const std::vector<std::vector<std::uint8_t>>& inputs) {
  sha256 h;
  for (auto& x : inputs) {
    bytes len;
    append_u32_be(len, static_cast<std::uint32_t>(x.size()));
    h.update(len);
    h.update(byte_view{x.data(), x.size()});
  }
  return std::to_string(iterations) + "|" + h.finish().hex();
}

envelope sign_request(const private_key& key, std::string_view chain_id, request_op op,
                      std::string_view subject, const hash256& nonce) {
  return seal(key, chain_id, msg_type::client_request, request_payload(op, subject, nonce));
}

result<hash256> nonce_of(const envelope& env) {
  if (env.payload.size() < magic.size() + 1 + 2 + 32 ||
      std::memcmp(env.payload.data(), magic.data(), magic.size()) != 0)
    return fail(errc::decode_error, "not a client request");
  hash256 n;
  std::memcpy(n.data.data(), env.payload.data() + env.payload.size() - 32, 32);
  return n;
}

result<node_id> check_request(const envelope& env, std::string_view chain_id, request_op op,
                              std::string_view subject, const hash256& nonce) {
  auto key = open(env, chain_id, msg_type::client_request);
  if (!key) return fail(errc::verify_failed, "signed request: " + key.err().message);
  if (env.payload != request_payload(op, subject, nonce))
    return fail(errc::verify_failed, "signed request: not a " + std::string(to_string(op)) + " of " +
                                       std::string(subject.substr(0, 80)) + " with this node's nonce");
  return key->id();
}

void nonce_book::issue(const hash256& fresh, std::uint64_t now_ms) {
  while (!order_.empty()) {
    auto i = live_.find(order_.front());
    bool gone = i == live_.end();
    if (!gone && live_.size() < capacity_ && i->second >= now_ms) break;
    if (!gone) live_.erase(i);
    order_.pop_front();
  }
  live_[fresh] = now_ms + ttl_ms_;
  order_.push_back(fresh);
}

bool nonce_book::consume(const hash256& n, std::uint64_t now_ms) {
  auto i = live_.find(n);
  if (i == live_.end()) return false;
  bool fresh = i->second >= now_ms;
  live_.erase(i);
  return fresh;
}

result<node_id> signer_of(nonce_book& book, std::uint64_t now_ms, std::string_view chain_id,
                          const envelope& env, request_op op, std::string_view subject) {
  auto nonce = nonce_of(env);
  if (!nonce) return refuse(nonce.err().message);
  auto who = check_request(env, chain_id, op, subject, *nonce);
  if (!who) return refuse(who.err().message);
  if (!book.consume(*nonce, now_ms))
    return refuse("the request's nonce was not handed out by this node, was used, or expired (ask for a nonce)");
  return who;
}

} // namespace poe
