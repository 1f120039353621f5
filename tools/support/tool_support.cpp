#include "tool_support.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

namespace poe::tools {

result<bytes> read_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return fail(errc::io_error, "file '" + file.string() + "' does not exist");
  if (std::filesystem::is_directory(file, ec))
    return fail(errc::io_error, "'" + file.string() + "' is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return fail(errc::io_error,
                "cannot read '" + file.string() + "': " + std::strerror(errno));
  return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

status write_file(const std::filesystem::path& file, byte_view data) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out)
    return fail(errc::io_error, "cannot write '" + file.string() + "': " + std::strerror(errno));
  return {};
}

void die(const std::string& message, int code) {
  std::cerr << "error: " << message << '\n';
  std::exit(code);
}

} // namespace poe::tools
