#include "fee_payer.hpp"

#include "poe/chain/block.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/store/store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace poe::actors {

using namespace poe::runtime;

namespace {

constexpr std::string_view pay_prefix = "pay/";

bytes pay_key(const std::string& job) {
  bytes k(pay_prefix.begin(), pay_prefix.end());
  k.insert(k.end(), job.begin(), job.end());
  return k;
}

} // namespace

fee_payer::fee_payer(role_context ctx, std::string cf, facts_fn facts, validator_fn validator)
  : ctx_(std::move(ctx)), cf_(std::move(cf)), facts_(std::move(facts)), validator_(std::move(validator)),
    self_(ctx_.key->id()) {
  pays_c_ = ctx_.metrics->make_counter("poe_verifier_fee_transactions_total",
                                       "Paid-work transactions the verifier sent, by kind.", {{"kind", "job_pay"}});
  closes_c_ = ctx_.metrics->make_counter("poe_verifier_fee_transactions_total",
                                         "Paid-work transactions the verifier sent, by kind.", {{"kind", "job_close"}});
}

void fee_payer::restore() {
  auto st = ctx_.store->for_each(cf_, as_bytes(pay_prefix), [&](byte_view k, byte_view) {
    std::string job(k.begin() + static_cast<long>(pay_prefix.size()), k.end());
    funded_.insert(job);
    due_.insert(job);
    return true;
  });
  if (!st) throw std::runtime_error("reading the funded jobs: " + st.err().message);
  if (!funded_.empty()) ctx_.log->info("{} funded job(s) to pay from their escrow", funded_.size());
}

void fee_payer::note(const std::string& job) {
  if (!funded_.insert(job).second) return;
  if (auto st = ctx_.store->put(cf_, pay_key(job), bytes{}, store::write_mode::sync); !st)
    ctx_.log->error("funded job {} not stored: {}", job, st.err().message);
}

void fee_payer::forget(const std::string& job) {
  funded_.erase(job);
  due_.erase(job);
  if (auto st = ctx_.store->erase(cf_, pay_key(job)); !st)
    ctx_.log->error("funded job {} not erased: {}", job, st.err().message);
}

void fee_payer::on_block(caf::event_based_actor* self, const chain_block& b) {
  std::vector<bytes> txs;
  if (b.transactions > 0) {
    auto d = chain::qbft::decode_decision(b.decision, b.height);
    auto blk = d ? chain::decode_block(d->block) : result<chain::block>(d.err());
    if (blk) txs = std::move(blk->transactions);
  }
  sender_.on_block(b.height, txs);
  for (auto& raw : txs) {
    auto tx = chain::decode_transaction(raw);
    if (!tx) continue;
    if (auto* f = std::get_if<chain::job_fund>(&tx->body); f && f->verifier == self_) {
      if (facts_(f->job)) {
        ctx_.log->info("job {} is funded: {} escrowed at {} per work unit", f->job, f->max_fee.to_string(),
                       f->price_per_work_unit.to_string());
        note(f->job);
      } else {
        ctx_.log->warn("a job_fund names job {}, which this verifier does not have (the funder "
                       "takes it back at expiry)", f->job);
      }
    }
  }
  due_ = funded_;
  pump(self);
}

result<std::string> fee_payer::funded(caf::event_based_actor* self, const std::string& job) {
  if (auto ok = chain::check_job_name(job); !ok) return ok.err();
  if (auto f = facts_(job); !f) return f.err();
  note(job);
  due_.insert(job);
  pump(self);
  return "job " + job + ": its verified tasks are paid from escrow " +
         chain::job_escrow_id(self_, job).hex() + " as they finish; the rest goes back at the end";
}

void fee_payer::pump(caf::event_based_actor* self) {
  auto validator = validator_();
  if (reading_ || sender_.busy() || due_.empty() || !validator) return;
  auto job = *due_.begin();
  due_.erase(due_.begin());
  auto facts = facts_(job);
  if (!facts) {
    ctx_.log->warn("funded job {}: {} (not paid)", job, facts.err().message);
    forget(job);
    pump(self);
    return;
  }
  auto escrow = chain::job_escrow_id(self_, job);
  reading_ = true;
  self->request(validator, std::chrono::seconds(10), escrow_atom::value,
                std::vector<std::uint8_t>(escrow.data.begin(), escrow.data.end()))
    .then(
      [this, self, job, escrow, facts = std::move(*facts), validator](const job_escrow_view& v) {
        reading_ = false;
        std::set<std::uint32_t> paid(v.tasks_paid.begin(), v.tasks_paid.end());
        auto step = coord::next_fee_step(v.found, v.deposit - v.paid, paid, facts.verified, facts.done);
        using action = coord::fee_step::action;
        if (step.what == action::forget) {
          forget(job);
        } else if (step.what == action::pay || step.what == action::close) {
          bool close = step.what == action::close;
          chain::tx_body body = close ? chain::tx_body{chain::job_close{escrow}}
                                      : chain::tx_body{chain::job_pay{escrow, std::move(step.tasks)}};
          sender_.send(self, ctx_, validator, std::move(body), amount{min_fee_},
                       [this, job, close, why = step.why](bool taken, const std::string& text) {
                         if (taken) {
                           (close ? closes_c_ : pays_c_)->inc();
                           ctx_.log->info("job {}: {} ({}): {}", job, close ? "job_close" : "job_pay", why, text);
                         } else {
                           ctx_.log->warn("job {}: {} refused: {} (tried again after the next block)", job,
                                          close ? "job_close" : "job_pay", text);
                         }
                       });
          return; // the next job after the block that includes it
        }
        pump(self);
      },
      [this, self, job](caf::error& e) {
        reading_ = false;
        ctx_.log->warn("job {}: the escrow could not be read: {} (tried again after the next block)", job,
                       self->system().render(e));
      });
}

} // namespace poe::actors
