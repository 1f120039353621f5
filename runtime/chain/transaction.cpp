#include "poe/chain/transaction.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/sha256.hpp"

#include <limits>
#include <optional>
#include <stdexcept>

namespace poe::chain {

namespace {

constexpr std::uint8_t body_transfer = 1;
constexpr std::uint8_t body_stake = 2;
constexpr std::uint8_t body_unstake = 3;
constexpr std::uint8_t body_content_publish = 4;
constexpr std::uint8_t body_channel_open = 5;
constexpr std::uint8_t body_channel_topup = 6;
constexpr std::uint8_t body_channel_claim = 7;
constexpr std::uint8_t body_channel_close = 8;
constexpr std::uint8_t body_channel_collect = 9;
constexpr std::uint8_t body_job_fund = 10;
constexpr std::uint8_t body_job_pay = 11;
constexpr std::uint8_t body_job_close = 12;

void append_u16_be(bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void append_string(bytes& out, byte_view v, const char* field) {
  if (v.size() > std::numeric_limits<std::uint16_t>::max())
    throw std::invalid_argument(std::string{"transaction "} + field + " longer than 65535 bytes");
  append_u16_be(out, v.size());
  append(out, v);
}

/// Reads the fields of an untrusted encoding; every failure names the field.
class reader {
public:
  explicit reader(byte_view in) : in_(in) {}

  bool done() const { return pos_ == in_.size(); }
  std::size_t pos() const { return pos_; }

  result<std::uint8_t> u8(const char* field) {
    if (auto ok = need(1, field); !ok) return ok.err();
    return in_[pos_++];
  }
  result<std::uint64_t> u64(const char* field) {
    if (auto ok = need(8, field); !ok) return ok.err();
    auto v = get_u64_be(in_.data() + pos_);
    pos_ += 8;
    return v;
  }
  result<byte_view> string(const char* field, std::size_t max) {
    if (auto ok = need(2, field); !ok) return ok.err();
    std::size_t len = (std::size_t{in_[pos_]} << 8) | in_[pos_ + 1];
    pos_ += 2;
    if (len > max)
      return fail(errc::decode_error, std::string{field} + " is " + std::to_string(len) +
                                          " bytes (at most " + std::to_string(max) + ")");
    if (auto ok = need(len, field); !ok) return ok.err();
    byte_view out = in_.subspan(pos_, len);
    pos_ += len;
    return out;
  }
  result<std::uint32_t> u32(const char* field) {
    if (auto ok = need(4, field); !ok) return ok.err();
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | in_[pos_ + i];
    pos_ += 4;
    return v;
  }
  /// u32 length ‖ bytes (at most `max`).
  result<byte_view> blob(const char* field, std::size_t max) {
    auto len = u32(field);
    if (!len) return len.err();
    if (*len > max)
      return fail(errc::decode_error, std::string{field} + " is " + std::to_string(*len) +
                                          " bytes (at most " + std::to_string(max) + ")");
    if (auto ok = need(*len, field); !ok) return ok.err();
    byte_view out = in_.subspan(pos_, *len);
    pos_ += *len;
    return out;
  }
  result<node_id> id(const char* field) {
    if (auto ok = need(node_id::size, field); !ok) return ok.err();
    node_id out;
    std::copy_n(in_.data() + pos_, node_id::size, out.data.begin());
    pos_ += node_id::size;
    return out;
  }

private:
  status need(std::size_t n, const char* field) {
    if (in_.size() - pos_ < n)
      return fail(errc::decode_error,
                  std::string{"truncated at "} + field + " (offset " + std::to_string(pos_) + ")");
    return {};
  }
  byte_view in_;
  std::size_t pos_ = 0;
};

bytes encode_unsigned(const transaction& tx) {
  bytes out;
  out.reserve(1 + 2 + tx.chain_id.size() + 2 + tx.sender_key.size() + 16 + 1 + 40 + 2 +
              tx.signature.size());
  out.push_back(tx_version);
  append_string(out, as_bytes(tx.chain_id), "chain_id");
  append_string(out, tx.sender_key, "sender_key");
  append_u64_be(out, tx.nonce);
  append_u64_be(out, tx.fee.units());
  std::visit(
      [&out](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        auto claims = [&out](const std::vector<lane_claim>& xs) {
          out.push_back(static_cast<std::uint8_t>(xs.size() >> 8));
          out.push_back(static_cast<std::uint8_t>(xs.size()));
          for (auto& c : xs) append_blob(out, encode(c));
        };
        if constexpr (std::is_same_v<T, transfer>) {
          out.push_back(body_transfer);
          append(out, b.to.view());
          append_u64_be(out, b.value.units());
        } else if constexpr (std::is_same_v<T, stake> || std::is_same_v<T, unstake>) {
          out.push_back(std::is_same_v<T, stake> ? body_stake : body_unstake);
          out.push_back(static_cast<std::uint8_t>(b.role));
          append_u64_be(out, b.value.units());
        } else if constexpr (std::is_same_v<T, content_publish>) {
          out.push_back(body_content_publish);
          append_blob(out, encode(b.output));
          append_u64_be(out, b.price_per_second.units());
          for (auto ppm : {b.split.creator, b.split.operators, b.split.platform, b.split.treasury})
            append_u32_be(out, ppm);
        } else if constexpr (std::is_same_v<T, channel_open>) {
          out.push_back(body_channel_open);
          append(out, b.payee.view());
          append_u64_be(out, b.deposit.units());
          append_u64_be(out, b.expiry_height);
        } else if constexpr (std::is_same_v<T, channel_topup>) {
          out.push_back(body_channel_topup);
          append(out, b.channel.view());
          append_u64_be(out, b.value.units());
        } else if constexpr (std::is_same_v<T, channel_claim> || std::is_same_v<T, channel_close>) {
          out.push_back(std::is_same_v<T, channel_claim> ? body_channel_claim : body_channel_close);
          append(out, b.channel.view());
          claims(b.claims);
        } else if constexpr (std::is_same_v<T, channel_collect>) {
          out.push_back(body_channel_collect);
          append(out, b.channel.view());
        } else if constexpr (std::is_same_v<T, job_fund>) {
          out.push_back(body_job_fund);
          append(out, b.verifier.view());
          append_string(out, as_bytes(b.job), "job");
          append_u64_be(out, b.max_fee.units());
          append_u64_be(out, b.price_per_work_unit.units());
          append_u32_be(out, b.verifier_ppm);
          append_u64_be(out, b.expiry_height);
        } else if constexpr (std::is_same_v<T, job_pay>) {
          out.push_back(body_job_pay);
          append(out, b.escrow.view());
          append_u16_be(out, b.tasks.size());
          for (auto& t : b.tasks) {
            append_u32_be(out, t.task);
            append(out, t.executor.view());
            append_u64_be(out, t.work_units);
          }
        } else {
          static_assert(std::is_same_v<T, job_close>);
          out.push_back(body_job_close);
          append(out, b.escrow.view());
        }
      },
      tx.body);
  return out;
}

} // namespace

std::string_view kind_name(const tx_body& body) {
  static constexpr std::string_view names[] = {"transfer",      "stake",         "unstake",
                                               "content_publish", "channel_open", "channel_topup",
                                               "channel_claim", "channel_close", "channel_collect",
                                               "job_fund",      "job_pay",       "job_close"};
  static_assert(std::size(names) == std::variant_size_v<tx_body>);
  return names[body.index()];
}

std::optional<amount> body_value(const tx_body& body) {
  return std::visit(
      [](const auto& b) -> std::optional<amount> {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, transfer> || std::is_same_v<T, stake> ||
                      std::is_same_v<T, unstake> || std::is_same_v<T, channel_topup>)
          return b.value;
        else if constexpr (std::is_same_v<T, channel_open>)
          return b.deposit;
        else if constexpr (std::is_same_v<T, job_fund>)
          return b.max_fee;
        else
          return std::nullopt;
      },
      body);
}

namespace {

bool known_role(stake_role r) {
  auto raw = static_cast<std::uint8_t>(r);
  return raw >= 1 && raw <= 6;
}

} // namespace

std::string_view to_string(stake_role r) {
  switch (r) {
  case stake_role::validator:
    return "validator";
  case stake_role::executor:
    return "executor";
  case stake_role::storage:
    return "storage";
  case stake_role::builder:
    return "builder";
  case stake_role::verifier:
    return "verifier";
  case stake_role::gateway:
    return "gateway";
  }
  return "unknown";
}

result<stake_role> parse_stake_role(std::string_view text) {
  for (auto r : all_stake_roles)
    if (to_string(r) == text) return r;
  return fail(errc::invalid_argument, "unknown stake role '" + std::string{text} +
                                          "' (expected validator, executor, storage, builder, verifier or gateway)");
}

result<stake_role> to_stake_role(std::uint8_t raw) {
  if (raw < 1 || raw > 6)
    return fail(errc::decode_error, "unknown stake role " + std::to_string(raw));
  return static_cast<stake_role>(raw);
}

hash256 channel_id(const node_id& payer, std::uint64_t nonce) {
  bytes n;
  append_u64_be(n, nonce);
  return sha256::digest({as_bytes(std::string_view{"poe/channel/v1"}), payer.view(), n});
}

hash256 job_escrow_id(const node_id& verifier, std::string_view job) {
  return sha256::digest({as_bytes(std::string_view{"poe/job/v1"}), verifier.view(), as_bytes(job)});
}

status check_job_name(std::string_view job) {
  if (job.empty() || job.size() > 64) return fail(errc::invalid_argument, "a job id is 1..64 characters");
  for (char c : job)
    if (c <= ' ' || c > '~') return fail(errc::invalid_argument, "a job id is printable ASCII without spaces");
  return {};
}

bytes signing_payload(const transaction& tx) {
  return encode_unsigned(tx);
}

bytes encode(const transaction& tx) {
  auto out = encode_unsigned(tx);
  append_string(out, tx.signature, "signature");
  return out;
}

hash256 tx_id(const transaction& tx) {
  return sha256::digest(encode(tx));
}

void sign(transaction& tx, const private_key& key) {
  tx.sender_key = key.pub().der();
  tx.signature = sign_in_domain(key, tx.chain_id, msg_type::transaction, signing_payload(tx));
}

result<transaction> decode_transaction(byte_view in) {
  reader r{in};
  transaction tx;
  auto version = r.u8("version");
  if (!version) return version.err();
  if (*version != tx_version)
    return fail(errc::decode_error, "unknown transaction version " + std::to_string(*version));

  auto chain = r.string("chain_id", 64);
  if (!chain) return chain.err();
  tx.chain_id.assign(chain->begin(), chain->end());
  if (auto ok = check_chain_id(tx.chain_id); !ok)
    return fail(errc::decode_error, "chain_id: " + ok.err().message);

  auto key = r.string("sender_key", max_sender_key_size);
  if (!key) return key.err();
  if (key->empty()) return fail(errc::decode_error, "sender_key is empty");
  tx.sender_key.assign(key->begin(), key->end());

  auto nonce = r.u64("nonce");
  if (!nonce) return nonce.err();
  tx.nonce = *nonce;
  auto fee = r.u64("fee");
  if (!fee) return fee.err();
  tx.fee = amount{*fee};

  auto type = r.u8("body type");
  if (!type) return type.err();
  switch (*type) {
  case body_transfer: {
    auto to = r.id("transfer.to");
    if (!to) return to.err();
    auto value = r.u64("transfer.value");
    if (!value) return value.err();
    tx.body = transfer{*to, amount{*value}};
    break;
  }
  case body_stake:
  case body_unstake: {
    auto raw_role = r.u8("role");
    if (!raw_role) return raw_role.err();
    auto role = to_stake_role(*raw_role);
    if (!role) return role.err();
    auto value = r.u64("value");
    if (!value) return value.err();
    if (*type == body_stake)
      tx.body = stake{*role, amount{*value}};
    else
      tx.body = unstake{*role, amount{*value}};
    break;
  }
  case body_content_publish: {
    auto raw = r.blob("content_publish.output", 1 << 20);
    if (!raw) return raw.err();
    auto output = decode_job_output(*raw);
    if (!output) return output.err();
    auto price = r.u64("content_publish.price_per_second");
    if (!price) return price.err();
    std::uint32_t ppm[4];
    for (auto& x : ppm) {
      auto v = r.u32("content_publish.split");
      if (!v) return v.err();
      x = *v;
    }
    tx.body = content_publish{std::move(*output), amount{*price}, split_rule{ppm[0], ppm[1], ppm[2], ppm[3]}};
    break;
  }
  case body_channel_open: {
    auto payee = r.id("channel_open.payee");
    if (!payee) return payee.err();
    auto deposit = r.u64("channel_open.deposit");
    if (!deposit) return deposit.err();
    auto expiry = r.u64("channel_open.expiry_height");
    if (!expiry) return expiry.err();
    tx.body = channel_open{*payee, amount{*deposit}, *expiry};
    break;
  }
  case body_channel_topup: {
    auto ch = r.id("channel_topup.channel");
    if (!ch) return ch.err();
    auto value = r.u64("channel_topup.value");
    if (!value) return value.err();
    tx.body = channel_topup{*hash256::from_view(ch->view()), amount{*value}};
    break;
  }
  case body_channel_claim:
  case body_channel_close: {
    auto ch = r.id("channel");
    if (!ch) return ch.err();
    auto hi = r.u8("claim count");
    if (!hi) return hi.err();
    auto lo = r.u8("claim count");
    if (!lo) return lo.err();
    std::size_t n = (std::size_t{*hi} << 8) | *lo;
    if (n > max_claims || (n == 0 && *type == body_channel_claim))
      return fail(errc::decode_error, "a claim carries 1..256 lane claims, a close 0..256");
    std::vector<lane_claim> claims;
    for (std::size_t i = 0; i < n; ++i) {
      auto raw = r.blob("lane claim", 4096);
      if (!raw) return raw.err();
      auto c = decode_lane_claim(*raw);
      if (!c) return c.err();
      claims.push_back(std::move(*c));
    }
    auto id = *hash256::from_view(ch->view());
    if (*type == body_channel_claim)
      tx.body = channel_claim{id, std::move(claims)};
    else
      tx.body = channel_close{id, std::move(claims)};
    break;
  }
  case body_channel_collect: {
    auto ch = r.id("channel_collect.channel");
    if (!ch) return ch.err();
    tx.body = channel_collect{*hash256::from_view(ch->view())};
    break;
  }
  case body_job_fund: {
    auto verifier = r.id("job_fund.verifier");
    if (!verifier) return verifier.err();
    auto job = r.string("job_fund.job", 64);
    if (!job) return job.err();
    auto max_fee = r.u64("job_fund.max_fee");
    if (!max_fee) return max_fee.err();
    auto price = r.u64("job_fund.price_per_work_unit");
    if (!price) return price.err();
    auto ppm = r.u32("job_fund.verifier_ppm");
    if (!ppm) return ppm.err();
    auto expiry = r.u64("job_fund.expiry_height");
    if (!expiry) return expiry.err();
    std::string name(job->begin(), job->end());
    if (auto ok = check_job_name(name); !ok) return fail(errc::decode_error, "job_fund.job: " + ok.err().message);
    if (*ppm > 1'000'000) return fail(errc::decode_error, "job_fund.verifier_ppm above 1000000");
    tx.body = job_fund{*verifier, std::move(name), amount{*max_fee}, amount{*price}, *ppm, *expiry};
    break;
  }
  case body_job_pay: {
    auto escrow = r.id("job_pay.escrow");
    if (!escrow) return escrow.err();
    auto hi = r.u8("job_pay count");
    if (!hi) return hi.err();
    auto lo = r.u8("job_pay count");
    if (!lo) return lo.err();
    std::size_t n = (std::size_t{*hi} << 8) | *lo;
    if (n == 0 || n > max_task_payments) return fail(errc::decode_error, "a job_pay carries 1..256 task payments");
    job_pay pay{*hash256::from_view(escrow->view()), {}};
    for (std::size_t i = 0; i < n; ++i) {
      auto task = r.u32("job_pay.task");
      if (!task) return task.err();
      auto executor = r.id("job_pay.executor");
      if (!executor) return executor.err();
      auto units = r.u64("job_pay.work_units");
      if (!units) return units.err();
      pay.tasks.push_back(task_payment{*task, *executor, *units});
    }
    tx.body = std::move(pay);
    break;
  }
  case body_job_close: {
    auto escrow = r.id("job_close.escrow");
    if (!escrow) return escrow.err();
    tx.body = job_close{*hash256::from_view(escrow->view())};
    break;
  }
  default:
    return fail(errc::decode_error, "unknown body type " + std::to_string(*type));
  }

  auto sig = r.string("signature", max_signature_size);
  if (!sig) return sig.err();
  tx.signature.assign(sig->begin(), sig->end());
  if (!r.done())
    return fail(errc::decode_error,
                std::to_string(in.size() - r.pos()) + " trailing bytes after the transaction");
  return tx;
}

std::string_view to_string(reject_reason r) {
  switch (r) {
  case reject_reason::bad_encoding:
    return "bad_encoding";
  case reject_reason::wrong_chain:
    return "wrong_chain";
  case reject_reason::bad_key:
    return "bad_key";
  case reject_reason::bad_signature:
    return "bad_signature";
  case reject_reason::oversized:
    return "oversized";
  case reject_reason::zero_amount:
    return "zero_amount";
  case reject_reason::self_transfer:
    return "self_transfer";
  case reject_reason::stale_nonce:
    return "stale_nonce";
  case reject_reason::bad_nonce:
    return "bad_nonce";
  case reject_reason::fee_too_low:
    return "fee_too_low";
  case reject_reason::insufficient_funds:
    return "insufficient_funds";
  case reject_reason::insufficient_stake:
    return "insufficient_stake";
  case reject_reason::jailed:
    return "jailed";
  case reject_reason::overflow:
    return "overflow";
  case reject_reason::duplicate:
    return "duplicate";
  case reject_reason::mempool_full:
    return "mempool_full";
  case reject_reason::bad_split:
    return "bad_split";
  case reject_reason::bad_statement:
    return "bad_statement";
  case reject_reason::content_exists:
    return "content_exists";
  case reject_reason::unknown_content:
    return "unknown_content";
  case reject_reason::unknown_channel:
    return "unknown_channel";
  case reject_reason::not_channel_party:
    return "not_channel_party";
  case reject_reason::channel_closed:
    return "channel_closed";
  case reject_reason::not_settled:
    return "not_settled";
  case reject_reason::bad_claim:
    return "bad_claim";
  case reject_reason::bad_expiry:
    return "bad_expiry";
  case reject_reason::unknown_escrow:
    return "unknown_escrow";
  case reject_reason::escrow_exists:
    return "escrow_exists";
  case reject_reason::not_escrow_party:
    return "not_escrow_party";
  case reject_reason::escrow_expired:
    return "escrow_expired";
  case reject_reason::task_paid:
    return "task_paid";
  case reject_reason::not_executor:
    return "not_executor";
  }
  return "unknown";
}

std::string tx_status::text() const {
  if (ok()) return "accepted";
  return std::string{to_string(rejection_.reason)} + ": " + rejection_.message;
}

result<node_id> sender_of(const transaction& tx) {
  auto key = public_key::from_der(tx.sender_key);
  if (!key) return key.err();
  return key->id();
}

tx_status check_transaction(const transaction& tx, std::string_view chain_id,
                            std::size_t max_size, verified_txs* known) {
  // Field bounds first: they decide whether the transaction has an encoding at all.
  if (tx.chain_id.size() > 64 || tx.sender_key.size() > max_sender_key_size ||
      tx.signature.size() > max_signature_size)
    return reject(reject_reason::bad_encoding, "a field exceeds its bound");
  std::size_t size = signing_payload(tx).size() + 2 + tx.signature.size();
  if (size > max_size)
    return reject(reject_reason::oversized, "encoding is " + std::to_string(size) +
                                                " bytes (at most " + std::to_string(max_size) +
                                                ")");
  if (tx.chain_id != chain_id)
    return reject(reject_reason::wrong_chain, "signed for chain '" + tx.chain_id + "', this is '" +
                                                  std::string{chain_id} + "'");
  if (auto ok = check_chain_id(tx.chain_id); !ok)
    return reject(reject_reason::bad_encoding, "chain_id: " + ok.err().message);
  if (auto* b = std::get_if<stake>(&tx.body); b && !known_role(b->role))
    return reject(reject_reason::bad_encoding, "unknown stake role");
  if (auto* b = std::get_if<unstake>(&tx.body); b && !known_role(b->role))
    return reject(reject_reason::bad_encoding, "unknown stake role");

  auto key = public_key::from_der(tx.sender_key);
  if (!key) return reject(reject_reason::bad_key, "sender_key: " + key.err().message);

  if (auto v = body_value(tx.body); v && *v == amount{0})
    return reject(reject_reason::zero_amount, "value is 0");
  if (auto* t = std::get_if<transfer>(&tx.body); t && t->to == key->id())
    return reject(reject_reason::self_transfer, "transfer to the sender's own account");
  if (auto* o = std::get_if<channel_open>(&tx.body); o && o->payee == key->id())
    return reject(reject_reason::self_transfer, "a channel to the sender itself");
  if (auto* p = std::get_if<content_publish>(&tx.body)) {
    if (auto ok = check_split(p->split); !ok) return reject(reject_reason::bad_split, ok.err().message);
    if (auto ok = check_shape(p->output); !ok) return reject(reject_reason::bad_encoding, ok.err().message);
    if (p->output.owner != key->id())
      return reject(reject_reason::bad_statement, "the job's owner is " + p->output.owner.hex() + ", not the sender");
  }
  if (auto* c = std::get_if<channel_claim>(&tx.body); c && (c->claims.empty() || c->claims.size() > max_claims))
    return reject(reject_reason::bad_encoding, "a claim carries 1..256 lane claims");
  if (auto* c = std::get_if<channel_close>(&tx.body); c && c->claims.size() > max_claims)
    return reject(reject_reason::bad_encoding, "a close carries at most 256 lane claims");

  if (auto* f = std::get_if<job_fund>(&tx.body)) {
    if (auto ok = check_job_name(f->job); !ok) return reject(reject_reason::bad_encoding, ok.err().message);
    if (f->verifier_ppm > 1'000'000) return reject(reject_reason::bad_encoding, "verifier_ppm above 1000000");
    if (f->price_per_work_unit == amount{0}) return reject(reject_reason::zero_amount, "price_per_work_unit is 0");
  }
  if (auto* j = std::get_if<job_pay>(&tx.body)) {
    if (j->tasks.empty() || j->tasks.size() > max_task_payments)
      return reject(reject_reason::bad_encoding, "a job_pay carries 1..256 task payments");
    std::set<std::uint32_t> seen;
    for (auto& t : j->tasks)
      if (!seen.insert(t.task).second)
        return reject(reject_reason::task_paid, "task " + std::to_string(t.task) + " appears twice");
  }

  if (tx.signature.size() != key->signature_size())
    return reject(reject_reason::bad_signature,
                  "signature is " + std::to_string(tx.signature.size()) + " bytes, " +
                      std::string{poe::to_string(key->type())} + " signatures are " +
                      std::to_string(key->signature_size()));
  hash256 id;
  if (known) {
    id = tx_id(tx);
    if (known->contains(id)) return {};
  }
  if (!verify_in_domain(*key, tx.chain_id, msg_type::transaction, signing_payload(tx),
                        tx.signature))
    return reject(reject_reason::bad_signature, "signature does not verify");
  if (known) known->insert(id);
  return {};
}

} // namespace poe::chain
