#pragma once
/// @file
/// Big-endian writing and bounds-checked reading of untrusted bytes, shared by the canonical
/// encodings (blocks, consensus messages, evidence). The reader never reads past its input:
/// a short read clears `ok()` and yields zeros, so a decoder reads everything and checks once.

#include "poe/core/types.hpp"

#include <algorithm>
#include <cstdint>

namespace poe {

inline void append_u32_be(bytes& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

/// u32 length ‖ bytes.
inline void append_blob(bytes& out, byte_view b) {
  append_u32_be(out, static_cast<std::uint32_t>(b.size()));
  append(out, b);
}

class byte_reader {
public:
  explicit byte_reader(byte_view in) : in_(in) {}

  bool ok() const { return ok_; }
  /// Everything read and nothing left over.
  bool done() const { return ok_ && pos_ == in_.size(); }
  std::size_t remaining() const { return in_.size() - pos_; }

  std::uint8_t u8() { return need(1) ? in_[pos_++] : 0; }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v = (v << 8) | in_[pos_ + i];
    pos_ += 4;
    return v;
  }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    auto v = get_u64_be(in_.data() + pos_);
    pos_ += 8;
    return v;
  }
  template <class Fixed>
  Fixed fixed() {
    Fixed f;
    if (!need(Fixed::size)) return f;
    std::copy(in_.begin() + pos_, in_.begin() + pos_ + Fixed::size, f.data.begin());
    pos_ += Fixed::size;
    return f;
  }
  bytes take(std::size_t n) {
    if (!need(n)) return {};
    bytes out(in_.begin() + pos_, in_.begin() + pos_ + n);
    pos_ += n;
    return out;
  }
  /// u32 length ‖ bytes.
  bytes blob() { return take(u32()); }

private:
  bool need(std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  byte_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

} // namespace poe
