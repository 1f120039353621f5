// libFuzzer target for one decoder of untrusted bytes (chosen at compile time by
// POE_FUZZ_DECODER_<name>). Properties checked on every input:
//   - the decoder returns (no crash, no sanitizer report, no unbounded allocation);
//   - whatever it accepts re-encodes to exactly the input (canonical, one-to-one).

#include "poe/core/poe_header.hpp"
#include "poe/wire/codec.hpp"

#include <cstdlib>

namespace {

using namespace poe;

template <class T>
void check(const result<T>& r, byte_view in) {
  if (!r) return;
  auto again = wire::encode(*r);
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
#else
#error "define POE_FUZZ_DECODER_<name>"
#endif
  return 0;
}
