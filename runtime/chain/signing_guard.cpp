#include "poe/chain/signing_guard.hpp"

namespace poe::chain {

signing_guard::signing_guard(persist_fn persist) : persist_(std::move(persist)) {}

bytes signing_guard::key_of(const qbft::message& m) {
  bytes k;
  append_u64_be(k, m.height);
  append_u64_be(k, m.round);
  k.push_back(static_cast<std::uint8_t>(m.type));
  return k;
}

bytes signing_guard::value_of(const qbft::message& m) {
  bytes v;
  append(v, m.digest.view());
  v.push_back(m.prepared ? 1 : 0);
  append_u64_be(v, m.prepared_round);
  append(v, m.prepared_digest.view());
  return v;
}

status signing_guard::load(byte_view key, byte_view value) {
  if (key.size() != 17 || value.size() != 73)
    return fail(errc::decode_error, "malformed signing record (" + std::to_string(key.size()) +
                                      "/" + std::to_string(value.size()) + " bytes)");
  records_[bytes(key.begin(), key.end())] = bytes(value.begin(), value.end());
  return {};
}

bool signing_guard::allow(const qbft::message& m) {
  auto k = key_of(m);
  auto v = value_of(m);
  if (auto i = records_.find(k); i != records_.end()) return i->second == v;
  if (persist_ && !persist_(k, v)) return false;
  records_.emplace(std::move(k), std::move(v));
  return true;
}

void signing_guard::forget_below(std::uint64_t height) {
  bytes bound;
  append_u64_be(bound, height);
  records_.erase(records_.begin(), records_.lower_bound(bound));
}

} // namespace poe::chain
