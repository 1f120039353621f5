#pragma once
/// @file
/// Errors as values: every path a peer or a user can reach returns `result<T>`.
/// Exceptions are reserved for broken invariants.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace poe {

/// Error categories of the protocol core. Later layers add their own reason enums.
enum class errc {
  invalid_argument, ///< a caller passed a value outside the documented domain
  bad_hex,          ///< hex text malformed or of the wrong length
  overflow,         ///< checked arithmetic would exceed the range
  underflow,        ///< checked arithmetic would go below zero
  io_error,         ///< a file could not be read or written
  key_error,        ///< a key is missing, corrupt or of the wrong type
  crypto_error,     ///< OpenSSL reported a failure
  decode_error,     ///< untrusted bytes did not decode
  verify_failed,    ///< a signature or commitment did not verify
  unavailable,      ///< a peer or service could not be reached or did not answer
};

/// Returns a stable, lower-case name of `e`.
std::string_view to_string(errc e);

/// An error: a category and a human-readable message that names the offending input.
struct error {
  errc code;
  std::string message;
};

/// Either a value or an error. Minimal on purpose (std::expected is C++23).
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : v_(std::move(value)) {}
  result(error err) : v_(std::move(err)) {}

  explicit operator bool() const { return v_.index() == 0; }
  bool ok() const { return v_.index() == 0; }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error& err() const { assert(!ok()); return std::get<1>(v_); }

private:
  std::variant<T, error> v_;
};

/// `result<void>`: success or an error.
template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(error err) : err_(std::move(err)), ok_(false) {}

  explicit operator bool() const { return ok_; }
  bool ok() const { return ok_; }
  const error& err() const { assert(!ok_); return err_; }

private:
  error err_{errc::invalid_argument, {}};
  bool ok_ = true;
};

using status = result<void>;

/// Convenience constructor: `return fail(errc::bad_hex, "...")`.
inline error fail(errc code, std::string message) { return error{code, std::move(message)}; }

} // namespace poe
