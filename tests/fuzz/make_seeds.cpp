// poe-fuzz-seeds DIR — writes valid encodings of every protocol object as seed inputs:
// DIR/<target>/seed-<n>.

#include "poe/core/poe_header.hpp"
#include "poe/wire/codec.hpp"
#include "samples.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

namespace fs = std::filesystem;
using namespace poe;

namespace {

void put(const fs::path& dir, const std::string& target, const std::vector<bytes>& seeds) {
  fs::create_directories(dir / target);
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream out(dir / target / ("seed-" + std::to_string(i)), std::ios::binary);
    out.write(reinterpret_cast<const char*>(seeds[i].data()),
              static_cast<std::streamsize>(seeds[i].size()));
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: poe-fuzz-seeds DIR\n";
    return 2;
  }
  fs::path dir{argv[1]};
  task empty_task;
  empty_task.kind = "compute";
  put(dir, "task", {wire::encode(test::sample_task()), wire::encode(empty_task)});
  put(dir, "task_result", {wire::encode(test::sample_result()), wire::encode(task_result{})});
  put(dir, "step_receipt", {wire::encode(test::sample_receipt())});
  put(dir, "log_block", {wire::encode(test::sample_log_block())});
  auto hdr = test::sample_header();
  auto rsa_hdr = hdr;
  rsa_hdr.signature.assign(256, 0x44);
  put(dir, "poe_header", {wire::encode(hdr), wire::encode(rsa_hdr)});
  put(dir, "envelope", {wire::encode(test::sample_envelope())});
  put(dir, "poe_header_binary", {*encode_binary(hdr), *encode_binary(rsa_hdr)});
  return 0;
}
