#pragma once
// Test media made with the ffmpeg CLI (the issues ask for clips generated in the test).
#include "poe/core/types.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

namespace poe::test {

/// Runs `ffmpeg -nostdin -v error -y ARGS OUT` into a temporary file named `name` and returns
/// its bytes (the file is removed). ARGS: e.g. "-f lavfi -i testsrc2=... -t 2 -c:v libx264".
inline bytes ffmpeg_clip(const std::string& name, const std::string& args) {
  auto dir = std::filesystem::temp_directory_path() /
             ("poe-clip-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::create_directories(dir);
  auto file = dir / name;
  auto cmd = "ffmpeg -nostdin -v error -y " + args + " '" + file.string() + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(file, std::ios::binary);
  bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  return data;
}

/// A 640x360 24 fps testsrc2 clip with a sine tone, H.264 + AAC in MP4.
inline bytes test_clip(int seconds, int gop) {
  return ffmpeg_clip("clip.mp4", "-f lavfi -i testsrc2=size=640x360:rate=24 -f lavfi -i "
                                 "sine=frequency=440 -t " + std::to_string(seconds) +
                                   " -c:v libx264 -preset ultrafast -g " + std::to_string(gop) +
                                   " -pix_fmt yuv420p -c:a aac -shortest");
}

} // namespace poe::test
