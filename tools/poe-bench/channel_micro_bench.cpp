// Benchmarks of the payee's checks of payments (actors/channel/channel_state.hpp), each beside
// the bare loop it should match, over the same bytes in the same run:
//
//   channel_ticks        payee_book::tick: the next tick of a lane (one SHA-256 of 32 bytes
//                        and its bookkeeping), over 256 lanes of one channel in turn
//   sha256_ticks         the bare loop: SHA-256 of the same 32-byte ticks through OpenSSL's
//                        EVP (algorithm fetched once, one context reused), compared with the
//                        tick below (the goal: channel_ticks >= 80 % of it, >= 1 M/s)
//   channel_vouchers     payee_book::add_voucher: a payer's signed checkpoint (Ed25519 in the
//                        voucher domain, the index above the held one)
//   ed25519_vouchers     the bare loop: libsodium's Ed25519 verification (what poe verifies
//                        with) of the same signed bytes (goal: channel_vouchers >= 90 % of it)

#include "channel_state.hpp"
#include "poe/chain/payments.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/sha256.hpp"

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <memory>
#include <stdexcept>

namespace {

using namespace poe;
using poe::actors::channel::payee_book;

constexpr const char* chain = "poe-bench";
constexpr std::uint32_t lanes = 256;
constexpr std::uint32_t lane_length = 1u << 15; // ticks per lane: 256 × 32,768 = 8.4 M in all

struct channel_fixture {
  private_key payer = *private_key::ed25519_from_seed(sha256::digest(as_bytes("bench payer")).view());
  node_id payee = *node_id::from_view(sha256::digest(as_bytes("bench payee")).view());
  hash256 channel = sha256::digest(as_bytes("bench channel"));
  hash256 content = sha256::digest(as_bytes("bench content"));
  chain::tick_chain ticks{sha256::digest(as_bytes("bench seed")), lane_length};

  /// A payee holding `lanes` lanes of one channel (every lane commits to the same chain: the
  /// payee does not care), a deposit that never runs out, no voucher needed.
  std::unique_ptr<payee_book> book() {
    actors::channel::payee_params p;
    p.max_tick_hashes = chain::max_lane_length;
    auto b = std::make_unique<payee_book>(payee, chain, p);
    b->on_block(1);
    b->on_content(content, amount{1});
    b->on_channel(channel, {payer.id(), payer.pub().der(), amount{UINT64_MAX / 2}, 1'000'000, 0});
    for (std::uint32_t l = 0; l < lanes; ++l) {
      chain::lane_commit c{channel, l, content, ticks.top(), lane_length, amount{1}, {}};
      chain::sign(c, payer, chain);
      if (!b->add_lane(c).ok()) throw std::logic_error("bench lane refused");
    }
    return b;
  }
};

channel_fixture& fixture() {
  static channel_fixture f;
  return f;
}

void channel_ticks(benchmark::State& state) {
  auto& f = fixture();
  auto book = f.book();
  std::uint32_t lane = 0, index = 1;
  for (auto _ : state) {
    auto o = book->tick(f.channel, lane, index, f.ticks.at(index));
    if (!o.fresh) throw std::logic_error("bench tick refused: " + std::string(to_string(o.why)));
    if (++lane == lanes) {
      lane = 0;
      if (++index > lane_length) {
        state.PauseTiming();
        book = f.book();
        index = 1;
        state.ResumeTiming();
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void sha256_ticks(benchmark::State& state) {
  auto& f = fixture();
  // The fastest bare form: the algorithm fetched once, one context reused.
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::uint32_t lane = 0, index = 1;
  for (auto _ : state) {
    unsigned char out[32];
    unsigned int len = 0;
    EVP_DigestInit_ex2(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, f.ticks.at(index).data.data(), 32);
    EVP_DigestFinal_ex(ctx, out, &len);
    bool ok = std::equal(out, out + 32, f.ticks.at(index - 1).data.begin());
    if (!ok) throw std::logic_error("bare tick does not hash to its parent");
    benchmark::DoNotOptimize(ok);
    if (++lane == lanes) {
      lane = 0;
      if (++index > lane_length) index = 1;
    }
  }
  state.SetItemsProcessed(state.iterations());
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
}

/// Vouchers for every lane at indices 1, 2, ... (signed beforehand: `count` of them).
std::vector<chain::voucher> vouchers(channel_fixture& f, std::size_t count) {
  std::vector<chain::voucher> out;
  out.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    auto lane = static_cast<std::uint32_t>(k % lanes);
    auto index = static_cast<std::uint32_t>(k / lanes + 1);
    chain::voucher v{f.channel, lane, index, f.ticks.at(index), {}};
    chain::sign(v, f.payer, chain);
    out.push_back(std::move(v));
  }
  return out;
}

constexpr std::size_t voucher_count = 16'384;

/// Signed once, for both voucher benchmarks (signing them takes about a second).
const std::vector<chain::voucher>& signed_vouchers() {
  static const auto vs = vouchers(fixture(), voucher_count);
  return vs;
}

void channel_vouchers(benchmark::State& state) {
  auto& f = fixture();
  const auto& vs = signed_vouchers();
  auto book = f.book();
  std::size_t k = 0;
  for (auto _ : state) {
    auto o = book->add_voucher(vs[k]);
    if (!o.fresh) throw std::logic_error("bench voucher refused: " + std::string(to_string(o.why)));
    if (++k == vs.size()) {
      state.PauseTiming();
      book = f.book();
      k = 0;
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void ed25519_vouchers(benchmark::State& state) {
  auto& f = fixture();
  const auto& vs = signed_vouchers();
  std::vector<bytes> msgs;
  for (auto& v : vs) msgs.push_back(signing_bytes(chain, msg_type::voucher, chain::signing_payload(v)));
  const auto& der = f.payer.pub().der();
  const unsigned char* pk = der.data() + der.size() - crypto_sign_ed25519_PUBLICKEYBYTES;
  if (sodium_init() < 0) throw std::runtime_error("sodium_init failed");
  std::size_t k = 0;
  for (auto _ : state) {
    bool ok = crypto_sign_ed25519_verify_detached(vs[k].signature.data(), msgs[k].data(), msgs[k].size(), pk) == 0;
    if (!ok) throw std::logic_error("bare loop: voucher does not verify");
    benchmark::DoNotOptimize(ok);
    if (++k == vs.size()) k = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

} // namespace

BENCHMARK(channel_ticks);
BENCHMARK(sha256_ticks);
BENCHMARK(channel_vouchers);
BENCHMARK(ed25519_vouchers);
