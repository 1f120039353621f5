// libFuzzer target for one decoder of untrusted bytes (chosen at compile time by
// POE_FUZZ_DECODER_<name>). Properties checked on every input:
//   - the decoder returns (no crash, no sanitizer report, no unbounded allocation);
//   - whatever it accepts re-encodes to exactly the input (canonical, one-to-one).

#include "poe/chain/block.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/log_builder.hpp"
#include "poe/chain/notary.hpp"
#include "poe/chain/payments.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/client_request.hpp"
#include "poe/core/poe_header.hpp"
#include "poe/runtime/basp_binder.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/wire/codec.hpp"

#include <cstdlib>
#include <variant>

namespace {

using namespace poe;

template <class T>
void check(const result<T>& r, byte_view in) {
  if (!r) return;
  auto again = wire::encode(*r);
  if (!std::equal(again.begin(), again.end(), in.begin(), in.end())) std::abort();
}

/// The same for the chain's hand-written formats (their own `encode`).
template <class T, class Encode>
void check_with(const result<T>& r, byte_view in, Encode encode) {
  if (!r) return;
  auto again = encode(*r);
  if (!std::equal(again.begin(), again.end(), in.begin(), in.end())) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  byte_view in{data, size};
#if defined(POE_FUZZ_DECODER_task)
  check(wire::decode_task(in), in);
#elif defined(POE_FUZZ_DECODER_task_result)
  check(wire::decode_task_result(in), in);
#elif defined(POE_FUZZ_DECODER_step_receipt)
  check(wire::decode_step_receipt(in), in);
#elif defined(POE_FUZZ_DECODER_log_block)
  check(wire::decode_log_block(in), in);
#elif defined(POE_FUZZ_DECODER_poe_header)
  check(wire::decode_poe_header(in), in);
#elif defined(POE_FUZZ_DECODER_envelope)
  check(wire::decode_envelope(in), in);
#elif defined(POE_FUZZ_DECODER_poe_header_binary)
  auto r = decode_binary_header(in);
  if (r) {
    auto again = encode_binary(*r);
    if (!again || *again != bytes(in.begin(), in.end())) std::abort();
  }
#elif defined(POE_FUZZ_DECODER_transaction)
  check_with(chain::decode_transaction(in), in, [](auto& x) { return chain::encode(x); });
#elif defined(POE_FUZZ_DECODER_block)
  check_with(chain::decode_block(in), in, [](auto& x) { return chain::encode(x); });
#elif defined(POE_FUZZ_DECODER_qbft_message)
  check_with(chain::qbft::decode_message(in), in, [](auto& x) { return chain::qbft::encode(x); });
#elif defined(POE_FUZZ_DECODER_qbft_decision)
  // The first byte is the height the decision is decoded for; the rest is the decision.
  if (in.empty()) return 0;
  auto rest = in.subspan(1);
  check_with(chain::qbft::decode_decision(rest, in[0]), rest,
             [](auto& x) { return chain::qbft::encode(x); });
#elif defined(POE_FUZZ_DECODER_evidence)
  check_with(chain::decode_evidence(in), in,
             [](auto& x) { return std::visit([](auto& e) { return chain::encode(e); }, x); });
#elif defined(POE_FUZZ_DECODER_builder_bid)
  check_with(chain::decode_builder_bid(in), in, [](auto& x) { return chain::encode(x); });
#elif defined(POE_FUZZ_DECODER_exclusion_complaint)
  check_with(chain::decode_exclusion_complaint(in), in, [](auto& x) { return chain::encode(x); });
#elif defined(POE_FUZZ_DECODER_poe_entry)
  check_with(chain::decode_poe_entry(in), in, [](auto& x) { return chain::encode(x); });
#elif defined(POE_FUZZ_DECODER_attested_receipt)
  // What builders take from verifiers: decoded, re-encoded, and checked (keys, signatures, PoE).
  if (auto a = chain::decode_attested_receipt(in)) (void)chain::check_attested_receipt(*a, "poe-fuzz");
  check_with(chain::decode_attested_receipt(in), in, [](auto& x) { return chain::encode(x); });
#elif defined(POE_FUZZ_DECODER_receipt_proof)
  check_with(chain::decode_receipt_proof(in), in, [](auto& x) { return chain::encode(x); });
#elif defined(POE_FUZZ_DECODER_job_output)
  check_with(chain::decode_job_output(in), in, [](auto& x) { return chain::encode(x); });
#elif defined(POE_FUZZ_DECODER_lane_claim)
  check_with(chain::decode_lane_claim(in), in, [](auto& x) { return chain::encode(x); });
#elif defined(POE_FUZZ_DECODER_manifest)
  check_with(storage::decode_manifest(in), in, [](auto& x) { return storage::encode(x); });
#elif defined(POE_FUZZ_DECODER_client_request)
  // What a storage or verifier role does with a client's signed request: decode the Envelope,
  // read its nonce, check it (a nonce book that handed out nothing refuses every nonce).
  if (auto env = wire::decode_envelope(in)) {
    nonce_book book;
    (void)signer_of(book, 0, "poe-fuzz", *env, request_op::remove, "bafy");
    if (auto n = nonce_of(*env)) (void)check_request(*env, "poe-fuzz", request_op::put, "bafy", *n);
  }
#elif defined(POE_FUZZ_DECODER_basp_stream)
  // Two sessions of different certificates read the same stream, one whole and one in pieces
  // whose sizes the first byte sets: every frame is judged the same however it is split.
  if (in.empty()) return 0;
  runtime::basp_binder whole, pieces;
  runtime::basp_binder::cert_id c1{}, c2{};
  c2.fill(2);
  int a = 0, b = 0;
  whole.open(&a, c1);
  pieces.open(&b, c1);
  auto t = runtime::basp_binder::clock::time_point{};
  auto step = static_cast<std::size_t>(in[0] % 7) + 1;
  auto stream = in.subspan(1);
  auto r1 = whole.read(&a, stream.data(), stream.size(), t);
  auto r2 = runtime::basp_refusal::none;
  for (std::size_t i = 0; i < stream.size() && r2 == runtime::basp_refusal::none; i += step)
    r2 = pieces.read(&b, stream.data() + i, std::min(step, stream.size() - i), t);
  if (r1 != r2) std::abort();
  int c = 0; // a second certificate replays the stream: whatever it names is held by the first
  whole.open(&c, c2);
  (void)whole.read(&c, stream.data(), stream.size(), t);
  whole.close(&a, t);
  whole.close(&c, t);
#else
#error "define POE_FUZZ_DECODER_<name>"
#endif
  return 0;
}
