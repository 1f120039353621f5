// The `rent` role: seed 004's rent structure as a service. It learns the chain's rent
// parameters (genesis) from its subscription to a validator, prices LogBlocks for builders and
// operators, and takes every finalized block the validator pushes (chain_follow.hpp) to
// account each block's rent flows — collected
// from the BPIs, to the validators, the slashing pool and the treasury (split_rent: the same
// integer split validators apply to the ledger).
//
//   (rent_quote_atom, u64 work units, u64 result bytes, u64 priority) → rent_quote_view;
//   (rent_flows_atom, u64 last n blocks) → rent_flows: totals and the last n blocks with rent
//   or any other money flow.
//
// Besides the rent, every block's money flows by kind come with the pushed block (chain_block::
// flows, as the validator's ledger counted them: fees, rent to validators and storage nodes,
// playback payments by split, paid work, refunds, slashing); the role keeps them per block and
// in total, and counts them in poe_chain_flow_total{kind}. With flows, the rent split reported
// is the ledger's (its storage part paid to storage stakers first); without (a block older
// than the validator's last 1024), split_rent of what was collected.
//
// Store (column family "rent"): "f/" ‖ u64 height → 5 × u64 (headers, collected, validators,
// slashing, treasury) ‖ u8 n ‖ n × (u8 len ‖ kind ‖ u64 amount); "scan" → u64 height of the
// last block taken (the subscription resumes above it after a restart).
#include "poe/actors/roles.hpp"
#include "poe/chain/block.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/chain/notary.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/store/store.hpp"
#include "chain_follow.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace poe::actors {

using namespace poe::runtime;
using namespace poe::chain;

namespace {

using bytes_t = std::vector<std::uint8_t>;
constexpr const char* cf = "rent";

caf::error failure(const std::string& why) {
  return caf::make_error(caf::sec::runtime_error, why);
}

bytes flow_key(std::uint64_t height) {
  bytes k{'f', '/'};
  append_u64_be(k, height);
  return k;
}

struct flow {
  std::uint64_t headers = 0, collected = 0, validators = 0, slashing = 0, treasury = 0;
  std::map<std::string, std::uint64_t> kinds;
};

bytes encode_flow(const flow& f) {
  bytes v;
  for (auto x : {f.headers, f.collected, f.validators, f.slashing, f.treasury})
    append_u64_be(v, x);
  v.push_back(static_cast<std::uint8_t>(std::min<std::size_t>(f.kinds.size(), 255)));
  std::size_t n = 0;
  for (auto& [k, x] : f.kinds) {
    if (n++ == 255) break;
    v.push_back(static_cast<std::uint8_t>(std::min<std::size_t>(k.size(), 255)));
    v.insert(v.end(), k.begin(), k.begin() + static_cast<long>(std::min<std::size_t>(k.size(), 255)));
    append_u64_be(v, x);
  }
  return v;
}

/// A stored record (nullopt when malformed; records of older versions have no kinds).
std::optional<flow> decode_flow(byte_view v) {
  if (v.size() < 40) return std::nullopt;
  flow f{get_u64_be(v.data()), get_u64_be(v.data() + 8), get_u64_be(v.data() + 16),
         get_u64_be(v.data() + 24), get_u64_be(v.data() + 32), {}};
  if (v.size() == 40) return f;
  std::size_t at = 41, n = v[40];
  for (std::size_t i = 0; i < n; ++i) {
    if (at >= v.size() || v.size() - at < 1u + v[at] + 8u) return std::nullopt;
    std::string kind(v.begin() + static_cast<long>(at) + 1, v.begin() + static_cast<long>(at) + 1 + v[at]);
    at += 1 + kind.size();
    f.kinds[kind] = get_u64_be(v.data() + at);
    at += 8;
  }
  if (at != v.size()) return std::nullopt;
  return f;
}

void add_to(flow& total, const flow& f) {
  total.headers += f.headers;
  total.collected += f.collected;
  total.validators += f.validators;
  total.slashing += f.slashing;
  total.treasury += f.treasury;
  for (auto& [k, x] : f.kinds) total.kinds[k] += x;
}

runtime::rent_flow view_of(const flow& f, std::uint64_t height) {
  runtime::rent_flow out{height, f.headers, f.collected, f.validators, f.slashing, f.treasury, {}};
  for (auto& [k, x] : f.kinds) out.flows.push_back({k, x});
  return out;
}

struct rstate {
  role_context ctx;
  std::optional<rent_params> params;
  std::uint64_t scanned = 0;
  std::unique_ptr<chain_follower> chain; ///< finalized blocks, pushed
  flow totals;
  std::shared_ptr<metrics::counter> collected_c, validators_c, slashing_c, treasury_c;
  std::map<std::string, std::shared_ptr<metrics::counter>> kind_c; ///< poe_chain_flow_total{kind}
};

/// Accounts one finalized block's rent flows.
void on_block(const std::shared_ptr<rstate>& s, const chain_block& ev) {
  auto d = qbft::decode_decision(ev.decision, ev.height);
  auto b = d ? decode_block(d->block) : result<block>(d.err());
  if (!b) {
    s->ctx.log->warn("block {}: {}", ev.height, b.err().message);
    return;
  }
  flow f;
  for (auto& item : b->poe_headers)
    if (auto e = decode_poe_entry(item)) {
      ++f.headers;
      f.collected += e->header.rent_payment;
    }
  for (auto& x : ev.flows) f.kinds[x.kind] += x.amount;
  if (!ev.flows.empty()) {
    auto of = [&](const char* k) { auto i = f.kinds.find(k); return i == f.kinds.end() ? 0 : i->second; };
    f.validators = of("rent_validators");
    f.slashing = of("rent_slashing");
    f.treasury = of("rent_treasury");
  } else if (f.collected > 0) {
    auto split = split_rent(*s->params, amount{f.collected});
    f.validators = split.validators.units();
    f.slashing = split.slashing.units();
    f.treasury = split.treasury.units();
  }
  store::batch ops;
  if (f.collected > 0 || !f.kinds.empty()) {
    ops.put(cf, flow_key(ev.height), encode_flow(f));
    add_to(s->totals, f);
    s->collected_c->inc(static_cast<double>(f.collected));
    s->validators_c->inc(static_cast<double>(f.validators));
    s->slashing_c->inc(static_cast<double>(f.slashing));
    s->treasury_c->inc(static_cast<double>(f.treasury));
    for (auto& [k, x] : f.kinds) {
      auto& c = s->kind_c[k];
      if (!c)
        c = s->ctx.metrics->make_counter("poe_chain_flow_total",
                                         "Money moved by the chain, by kind (the ledger's count of each block's credits).",
                                         {{"kind", k}});
      c->inc(static_cast<double>(x));
    }
  }
  bytes sc;
  append_u64_be(sc, ev.height);
  ops.put(cf, as_bytes(std::string_view("scan")), sc);
  if (auto st = s->ctx.store->write(ops); !st)
    s->ctx.log->error("rent of block {} not stored: {}", ev.height, st.err().message);
  s->scanned = ev.height;
}

/// The chain's rent parameters, from the subscription's chain status (genesis: they never
/// change).
void on_status(const std::shared_ptr<rstate>& s, const chain_status& st) {
  if (s->params) return;
  auto p = to_params(st.rent);
  if (auto ok = check_rent_params(p); !ok) {
    s->ctx.log->error("rent: the chain's rent parameters: {}", ok.err().message);
    return;
  }
  s->params = p;
  s->ctx.log->info("rent: base {}, per work unit {}, per KiB {}; shares validators {} ppm, "
                   "slashing {} ppm, treasury {} ppm",
                   p.base_rent.to_string(), p.rent_per_work_unit.to_string(),
                   p.rent_per_kib.to_string(), p.validators_ppm, p.slashing_ppm, p.treasury_ppm);
}

} // namespace

runtime::role_info rent_role() {
  return {
    "rent", "prices PoE headers and accounts each block's rent flows",
    [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
      if (!ctx.store) throw std::runtime_error("the rent role needs the node's store");
      auto s = std::make_shared<rstate>();
      s->ctx = ctx;
      if (auto raw = ctx.store->get(cf, as_bytes(std::string_view("scan"))); raw && *raw &&
                                                                             (*raw)->size() == 8)
        s->scanned = get_u64_be((*raw)->data());
      auto st = ctx.store->for_each(cf, as_bytes(std::string_view("f/")), [&](byte_view, byte_view v) {
        if (auto f = decode_flow(v)) add_to(s->totals, *f);
        return true;
      });
      if (!st) throw std::runtime_error("rent flows: " + st.err().message);
      auto& f = *ctx.metrics;
      s->collected_c = f.make_counter("poe_rent_flow_collected_total",
                                      "Rent paid by PoE headers (the rent role's accounting).");
      s->validators_c = f.make_counter("poe_rent_flow_validators_total", "Rent to validator rewards.");
      s->slashing_c = f.make_counter("poe_rent_flow_slashing_total", "Rent to the slashing pool.");
      s->treasury_c = f.make_counter("poe_rent_flow_treasury_total", "Rent to the treasury.");
      s->chain = std::make_unique<chain_follower>(
        s->scanned, [s](const chain_status& st) { on_status(s, st); });
      self->send(ctx.directory, subscribe_atom::value, std::string("validator"));
      return {
        [self, s](members_atom, const std::string& role, const std::vector<role_entry>& xs) {
          if (role == "validator") s->chain->members(self, s->ctx, xs);
        },
        [self, s](const chain_block& b) {
          // Blocks are taken once the parameters are known (they come with the subscription).
          if (s->params && s->chain->take(self, s->ctx, b)) on_block(s, b);
        },
        [self, s](chain_retry_atom) { s->chain->subscribe(self, s->ctx); },
        [s](rent_quote_atom, std::uint64_t work_units, std::uint64_t result_bytes,
            std::uint64_t priority) -> caf::result<rent_quote_view> {
          if (!s->params) return failure("the chain's rent parameters are not known yet");
          log_block b;
          b.work_units = work_units;
          b.result_bytes = result_bytes;
          auto q = rent_quote(*s->params, b);
          if (!q) return failure("rent: " + q.err().message);
          auto& p = *s->params;
          auto kib = result_bytes / 1024 + (result_bytes % 1024 != 0);
          return rent_quote_view{q->units(),
                                 q->units() + priority,
                                 p.base_rent.units(),
                                 p.rent_per_work_unit.units() * work_units,
                                 p.rent_per_kib.units() * kib,
                                 priority,
                                 p.validators_ppm,
                                 p.slashing_ppm,
                                 p.treasury_ppm};
        },
        [s](rent_flows_atom, std::uint64_t last) {
          rent_flows out;
          out.scanned_height = s->scanned;
          out.totals = view_of(s->totals, 0);
          (void)s->ctx.store->for_each(cf, as_bytes(std::string_view("f/")), [&](byte_view k, byte_view v) {
            auto f = decode_flow(v);
            if (f && k.size() == 10) out.blocks.push_back(view_of(*f, get_u64_be(k.data() + 2)));
            return true;
          });
          if (out.blocks.size() > last)
            out.blocks.erase(out.blocks.begin(), out.blocks.end() - static_cast<long>(last));
          return out;
        },
      };
    },
    {}};
}

} // namespace poe::actors
