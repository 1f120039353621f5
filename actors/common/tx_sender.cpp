#include "tx_sender.hpp"

#include "poe/core/sha256.hpp"
#include "poe/runtime/messages.hpp"

#include <caf/all.hpp>

namespace poe::actors {

using namespace poe::runtime;

void tx_sender::send(caf::event_based_actor* self, const role_context& ctx, const caf::actor& validator,
                     chain::tx_body body, amount fee, done_fn done) {
  if (busy()) {
    done(false, "busy: a transaction is in flight");
    return;
  }
  in_flight_ = true;
  if (nonce_) {
    sign_and_send(self, ctx, validator, std::move(body), fee, std::move(done));
    return;
  }
  self->request(validator, std::chrono::seconds(10), account_atom::value, ctx.node_id)
    .then(
      [this, self, ctx, validator, body = std::move(body), fee, done](const account_view& a) mutable {
        nonce_ = a.nonce;
        sign_and_send(self, ctx, validator, std::move(body), fee, std::move(done));
      },
      [this, self, done](caf::error& e) {
        in_flight_ = false;
        done(false, "the node's account nonce is unknown: " + self->system().render(e));
      });
}

void tx_sender::sign_and_send(caf::event_based_actor* self, const role_context& ctx,
                              const caf::actor& validator, chain::tx_body body, amount fee, done_fn done) {
  chain::transaction tx;
  tx.chain_id = ctx.chain_id;
  tx.nonce = *nonce_;
  tx.fee = fee;
  tx.body = std::move(body);
  chain::sign(tx, *ctx.key);
  auto wire = chain::encode(tx);
  auto id = sha256::digest(wire);
  self->request(validator, std::chrono::seconds(10), tx_atom::value, std::vector<std::uint8_t>(wire.begin(), wire.end()))
    .then(
      [this, id, done](const submit_reply& r) {
        in_flight_ = false;
        if (r.taken()) {
          ++*nonce_;
          outstanding_ = id;
          outstanding_since_ = height_;
        } else if (r.reason == "stale_nonce" || r.reason == "bad_nonce") {
          nonce_.reset();
        }
        done(r.taken(), r.text());
      },
      [this, self, done](caf::error& e) {
        in_flight_ = false;
        nonce_.reset();
        done(false, "not sent: " + self->system().render(e));
      });
}

void tx_sender::on_block(std::uint64_t height, const std::vector<bytes>& transactions) {
  height_ = height;
  if (!outstanding_) return;
  for (auto& raw : transactions)
    if (sha256::digest(raw) == *outstanding_) {
      outstanding_.reset();
      return;
    }
  if (height >= outstanding_since_ + give_up_blocks_) { // dropped (or never to be included)
    outstanding_.reset();
    nonce_.reset();
  }
}

} // namespace poe::actors
