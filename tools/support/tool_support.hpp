#pragma once
// Shared helpers of the command-line tools: file I/O and uniform error exits.

#include "poe/core/error.hpp"
#include "poe/core/types.hpp"

#include <filesystem>
#include <string>

namespace poe::tools {

/// Reads a whole file; the error names the file.
result<bytes> read_file(const std::filesystem::path& file);

/// Writes (replaces) a whole file; the error names the file.
status write_file(const std::filesystem::path& file, byte_view data);

/// Prints "error: <message>" to stderr and exits with `code`.
[[noreturn]] void die(const std::string& message, int code = 1);

/// Unwraps a result or dies with its message (prefixed with `context` when given) and `code`.
template <class T>
T or_die(result<T> r, const std::string& context = {}, int code = 1) {
  if (!r) die(context.empty() ? r.err().message : context + ": " + r.err().message, code);
  return std::move(r).value();
}

} // namespace poe::tools
