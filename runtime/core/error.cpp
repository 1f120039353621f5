#include "poe/core/error.hpp"

namespace poe {

std::string_view to_string(errc e) {
  switch (e) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::bad_hex: return "bad_hex";
    case errc::overflow: return "overflow";
    case errc::underflow: return "underflow";
    case errc::io_error: return "io_error";
    case errc::key_error: return "key_error";
    case errc::crypto_error: return "crypto_error";
    case errc::decode_error: return "decode_error";
    case errc::verify_failed: return "verify_failed";
    case errc::unavailable: return "unavailable";
  }
  return "unknown";
}

} // namespace poe
