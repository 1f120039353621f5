#include "poe/exec/assignment.hpp"
#include "poe/exec/reputation.hpp"
#include "poe/exec/verification_state.hpp"

#include "poe/core/sha256.hpp"

#include <algorithm>

namespace poe::exec {

// ---------------------------------------------------------------- assignment

namespace {

unsigned __int128 u128_of(const hash256& h) {
  unsigned __int128 v = 0;
  for (int i = 0; i < 16; ++i)
    v = (v << 8) | h.data[static_cast<std::size_t>(i)];
  return v;
}

} // namespace

hash256 draw_seed(std::string_view purpose, const hash256& block_hash, const request_id& request,
                  std::uint32_t attempt) {
  sha256 h;
  h.update(as_bytes(std::string_view("poe/exec/draw/v1")));
  h.update(as_bytes(purpose));
  h.update(block_hash.view());
  h.update(request.view());
  std::uint8_t a[4] = {static_cast<std::uint8_t>(attempt >> 24), static_cast<std::uint8_t>(attempt >> 16),
                       static_cast<std::uint8_t>(attempt >> 8), static_cast<std::uint8_t>(attempt)};
  h.update(byte_view{a, 4});
  return h.finish();
}

unsigned __int128 weight(const executor_info& e) {
  return static_cast<unsigned __int128>(e.stake) * e.reputation_ppm;
}

std::optional<node_id> pick_executor(const std::vector<executor_info>& candidates,
                                     const hash256& seed, const std::vector<node_id>& exclude) {
  // Sorted by id, so the draw does not depend on the order the caller listed them in.
  std::vector<const executor_info*> eligible, free;
  for (auto& c : candidates)
    if (weight(c) > 0 && c.capacity > 0 &&
        std::find(exclude.begin(), exclude.end(), c.id) == exclude.end()) {
      eligible.push_back(&c);
      if (c.load < c.capacity) free.push_back(&c);
    }
  if (eligible.empty()) return std::nullopt;
  if (!free.empty()) eligible.swap(free); // everyone busy: the task queues at the one drawn
  std::sort(eligible.begin(), eligible.end(), [](auto* a, auto* b) { return a->id < b->id; });
  unsigned __int128 total = 0;
  for (auto* e : eligible) total += weight(*e);
  auto r = u128_of(seed) % total;
  for (auto* e : eligible) {
    if (r < weight(*e)) return e->id;
    r -= weight(*e);
  }
  return eligible.back()->id; // unreachable: r < total
}

bool sampled(const hash256& block_hash, const request_id& request, std::uint32_t rate_ppm) {
  return u128_of(draw_seed("sample", block_hash, request, 0)) % 1'000'000 < rate_ppm;
}

// ---------------------------------------------------------------- reputation

std::uint32_t reputation_book::of(const node_id& executor) const {
  auto it = scores_.find(executor);
  return it == scores_.end() ? initial : it->second;
}

std::uint32_t reputation_book::record(const node_id& executor, rep_event e) {
  if (is_banned(executor)) return 0;
  auto s = of(executor);
  switch (e) {
    case rep_event::verified: s += (max - s) / 20; break;
    case rep_event::timed_out: s -= s / 10; break;
    case rep_event::failed_check: s -= s / 2; break;
    case rep_event::fraud:
      s = 0;
      banned_[executor] = true;
      break;
  }
  scores_[executor] = s;
  return s;
}

void reputation_book::restore(const node_id& executor, std::uint32_t score, bool banned) {
  scores_[executor] = banned ? 0 : std::min(score, max);
  if (banned) banned_[executor] = true;
}

// ---------------------------------------------------------------- verification

std::string_view to_string(phase p) {
  switch (p) {
    case phase::assigned: return "assigned";
    case phase::checking: return "checking";
    case phase::awaiting_block: return "awaiting_block";
    case phase::reexecuting: return "reexecuting";
    case phase::deciding: return "deciding";
    case phase::verified: return "verified";
    case phase::unresolved: return "unresolved";
    case phase::failed: return "failed";
  }
  return "?";
}

std::string_view to_string(rejection r) {
  switch (r) {
    case rejection::key_mismatch: return "key_mismatch";
    case rejection::commitment_mismatch: return "commitment_mismatch";
    case rejection::bad_signature: return "bad_signature";
    case rejection::failed_checks: return "failed_checks";
    case rejection::timed_out: return "timed_out";
    case rejection::not_awaited: return "not_awaited";
    case rejection::malformed: return "malformed";
  }
  return "?";
}

verification::verification(task t, node_id verifier, std::uint64_t work_units,
                           verification_config cfg)
    : task_(std::move(t)), verifier_(verifier), work_units_(work_units), cfg_(cfg) {}

verification_effects verification::assign(const std::vector<executor_info>& executors,
                                          const hash256& block_hash, verification_effects fx) {
  awaited_.reset();
  if (attempts_ >= cfg_.max_attempts) {
    phase_ = phase::failed;
    reason_ = "no result after " + std::to_string(attempts_) + " assignments";
    fx.note = reason_;
    return fx;
  }
  // Purposes differ per step, so a re-execution is not drawn like the first run.
  std::string_view purpose = phase_ == phase::reexecuting ? "reexecute"
                             : phase_ == phase::deciding  ? "decide"
                                                          : "assign";
  std::optional<node_id> who;
  if (phase_ == phase::reexecuting || phase_ == phase::deciding)
    for (auto& d : deciders_) {
      if (std::find(tried_.begin(), tried_.end(), d) != tried_.end()) continue;
      auto e = std::find_if(executors.begin(), executors.end(), [&](auto& x) { return x.id == d; });
      if (e != executors.end() && weight(*e) > 0 && e->capacity > 0) { // busy or not: it must decide
        who = d;
        break;
      }
    }
  if (!who) who = pick_executor(executors, draw_seed(purpose, block_hash, task_.id, attempts_), tried_);
  if (!who && tried_.empty()) {
    // Nobody to run it yet (no executor registered or staked): the task waits; `start` again
    // once executors are known.
    fx.note = "waiting for an executor with stake";
    return fx;
  }
  if (!who) {
    // Everyone listed tried this task already: wait for another (resume), as a first
    // assignment waits for a first executor.
    fx.note = "waiting for an executor that has not run this task (" + std::to_string(tried_.size()) +
              " tried)";
    return fx;
  }
  stalled_since_ms_.reset();
  ++attempts_;
  tried_.push_back(*who);
  awaited_ = *who;
  fx.dispatch_to = *who;
  return fx;
}

verification_effects verification::resume(const std::vector<executor_info>& executors,
                                          const hash256& block_hash, std::uint64_t now_ms) {
  if (!stalled()) return {};
  auto fx = assign(executors, block_hash, {});
  if (fx.dispatch_to || phase_ == phase::failed) return fx;
  if (!stalled_since_ms_) stalled_since_ms_ = now_ms;
  if (now_ms - *stalled_since_ms_ >= cfg_.max_wait_ms) {
    phase_ = phase::failed;
    reason_ = "no executor left to draw (" + std::to_string(tried_.size()) + " tried, waited " +
              std::to_string((now_ms - *stalled_since_ms_) / 1000) + " s for another)";
    fx.note = reason_;
  }
  return fx;
}

verification_effects verification::start(const std::vector<executor_info>& executors,
                                         const hash256& block_hash) {
  phase_ = phase::assigned;
  return assign(executors, block_hash, {});
}

step_receipt verification::make_receipt(const commitment& c, bool reexecuted,
                                        std::uint64_t now_ms) const {
  step_receipt r;
  r.request = task_.id;
  r.kind = task_.kind;
  r.executor = c.executor;
  r.result_hash = sha256::digest(c.result);
  r.poe = c.proof.poe;
  r.poe_sig = c.proof.sig;
  r.verifier = verifier_;
  r.verified_ms = now_ms;
  r.reexecuted = reexecuted;
  r.work_units = work_units_;
  r.result_bytes = c.result.size();
  return r;
}

verification_effects verification::on_commit(const commitment& c, const public_key& key,
                                             const std::vector<executor_info>& executors,
                                             const hash256& block_hash, std::uint64_t now_ms) {
  poe_verifier checker{key};
  return on_commit(c, checker, executors, block_hash, now_ms);
}

bool verification::hears(const node_id& executor) const {
  return awaited_ && executor == *awaited_ &&
         (phase_ == phase::assigned || phase_ == phase::reexecuting || phase_ == phase::deciding);
}

verification_effects verification::on_commit(const commitment& c, poe_verifier& checker,
                                             const std::vector<executor_info>& executors,
                                             const hash256& block_hash, std::uint64_t now_ms) {
  const auto& key = checker.key();
  // Not verified when not awaited: on_commit below ignores it before looking at `check`.
  auto check = !hears(c.executor)                                         ? poe_check::valid
               : key.id() == c.executor && c.proof.node == c.executor ? checker.verify(task_.id, c.result, c.proof)
                                                                      : poe_check::key_mismatch;
  return on_commit(c, key.id(), check, executors, block_hash, now_ms);
}

verification_effects verification::on_commit(const commitment& c, const node_id& key_id,
                                             poe_check check,
                                             const std::vector<executor_info>& executors,
                                             const hash256& block_hash, std::uint64_t now_ms) {
  verification_effects fx;
  if (!hears(c.executor)) {
    fx.rejected = rejection::not_awaited;
    fx.note = "ignored: a commitment from " + c.executor.hex().substr(0, 12) +
              " that was not awaited (" + std::string(to_string(phase_)) + ")";
    return fx;
  }
  if (key_id != c.executor || c.proof.node != c.executor) check = poe_check::key_mismatch;
  if (check != poe_check::valid) {
    fx.reputation.push_back({c.executor, rep_event::failed_check});
    fx.rejected = check == poe_check::key_mismatch          ? rejection::key_mismatch
                  : check == poe_check::commitment_mismatch ? rejection::commitment_mismatch
                                                            : rejection::bad_signature;
    fx.note = "rejected the commitment of " + c.executor.hex().substr(0, 12) + ": " +
              std::string(to_string(check));
    return assign(executors, block_hash, std::move(fx));
  }
  awaited_.reset();
  switch (phase_) {
    case phase::assigned:
      primary_ = c;
      phase_ = phase::checking;
      fx.run_checks = true;
      return fx;
    case phase::reexecuting: {
      if (sha256::digest(c.result) == sha256::digest(primary_->result)) {
        phase_ = phase::verified;
        fx.reputation.push_back({primary_->executor, rep_event::verified});
        fx.reputation.push_back({c.executor, rep_event::verified});
        fx.receipt = make_receipt(*primary_, true, now_ms);
        return fx;
      }
      second_ = c;
      phase_ = phase::deciding;
      fx.note = "the re-execution by " + c.executor.hex().substr(0, 12) +
                " differs from the result of " + primary_->executor.hex().substr(0, 12) +
                ": a third executor decides";
      return assign(executors, block_hash, std::move(fx));
    }
    case phase::deciding: {
      auto third = sha256::digest(c.result);
      const bool primary_right = third == sha256::digest(primary_->result);
      const bool second_right = third == sha256::digest(second_->result);
      if (!primary_right && !second_right) {
        phase_ = phase::unresolved;
        reason_ = "three executors, three different results";
        fx.note = reason_;
        return fx;
      }
      auto& right = primary_right ? *primary_ : *second_;
      auto& wrong = primary_right ? *second_ : *primary_;
      phase_ = phase::verified;
      fx.fraud = fraud_case{wrong.executor, wrong, right, c};
      fx.reputation.push_back({wrong.executor, rep_event::fraud});
      fx.reputation.push_back({right.executor, rep_event::verified});
      fx.reputation.push_back({c.executor, rep_event::verified});
      fx.receipt = make_receipt(right, true, now_ms);
      fx.note = "executor " + wrong.executor.hex().substr(0, 12) + " lied: two others agree";
      return fx;
    }
    default: return fx; // unreachable: filtered above
  }
}

verification_effects verification::on_checks(bool passed, const std::string& why,
                                             const std::vector<executor_info>& executors,
                                             const hash256& block_hash) {
  verification_effects fx;
  if (phase_ != phase::checking) {
    fx.note = "ignored: check results while " + std::string(to_string(phase_));
    return fx;
  }
  if (passed) {
    phase_ = phase::awaiting_block;
    return fx;
  }
  // A lazy or broken result: caught every time, the task goes to another executor.
  fx.reputation.push_back({primary_->executor, rep_event::failed_check});
  fx.rejected = rejection::failed_checks;
  fx.note = "the outputs of " + primary_->executor.hex().substr(0, 12) +
            " fail the checks: " + why;
  primary_.reset();
  phase_ = phase::assigned;
  return assign(executors, block_hash, std::move(fx));
}

verification_effects verification::on_block(const hash256& block_hash,
                                            const std::vector<executor_info>& executors,
                                            std::uint64_t now_ms) {
  verification_effects fx;
  if (phase_ != phase::awaiting_block) return fx;
  if (!sampled(block_hash, task_.id, cfg_.sample_rate_ppm)) {
    phase_ = phase::verified;
    fx.reputation.push_back({primary_->executor, rep_event::verified});
    fx.receipt = make_receipt(*primary_, false, now_ms);
    return fx;
  }
  phase_ = phase::reexecuting;
  fx.note = "sampled: re-executed on a second executor";
  return assign(executors, block_hash, std::move(fx));
}

verification_effects verification::on_timeout(const node_id& executor,
                                              const std::vector<executor_info>& executors,
                                              const hash256& block_hash) {
  verification_effects fx;
  if (!awaited_ || executor != *awaited_) return fx;
  fx.reputation.push_back({executor, rep_event::timed_out});
  fx.rejected = rejection::timed_out;
  fx.note = "executor " + executor.hex().substr(0, 12) + " timed out: reassigned";
  return assign(executors, block_hash, std::move(fx));
}

} // namespace poe::exec
