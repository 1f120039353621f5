#pragma once
/// @file
/// A keyed hash for the hash tables whose keys a peer chooses (transaction ids, public-key
/// bytes): SipHash-2-4 (libsodium's crypto_shorthash) under a key drawn once per process, so
/// nobody can compute keys that fall into one bucket of this process's tables (hash flooding,
/// which would turn each lookup into a walk of the whole table). It is no protocol value:
/// never stored or sent, and no output of the protocol depends on it or on table order.

#include "poe/core/types.hpp"

#include <cstddef>
#include <string_view>

namespace poe {

/// SipHash-2-4 of `size` bytes under this process's key.
std::size_t keyed_hash(const void* data, std::size_t size);

/// Hash functor for unordered containers of fixed_bytes or byte strings (transparent: a
/// std::string table can be searched with a string_view).
struct keyed_bytes_hash {
  using is_transparent = void;
  template <std::size_t N, class Tag>
  std::size_t operator()(const fixed_bytes<N, Tag>& v) const {
    return keyed_hash(v.data.data(), N);
  }
  std::size_t operator()(std::string_view v) const { return keyed_hash(v.data(), v.size()); }
};

} // namespace poe
