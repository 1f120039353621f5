#pragma once
/// @file
/// Binds CAF node ids to TLS certificates by following BASP streams (no CAF, no OpenSSL
/// include; the interposer runtime/node/tls_bind.cpp feeds it every CAF TLS session's decrypted
/// bytes before CAF reads them).
///
/// CAF 0.17.6's BASP names the sender of a message by a node id the peer writes itself: the id
/// in its BASP handshake (a second connection naming an existing node becomes an alternative
/// route to it) and the source node of a routed, monitor or down message. A session is refused
/// (the caller closes it, so the frame never reaches CAF) when
///   - a handshake names a node id another certificate holds (held while a session of it is
///     open and for `grace` after the last closes), or the session changes the id it named
///     (`node_taken`);
///   - a routed or down frame names as its source a node id another certificate holds
///     (`forged_source`). Other sources pass: CAF routes a client's messages (and its monitor
///     and down messages) through the node the client is connected to when it holds a third
///     node's handles; a node without a session of its own here is attributed nothing.
///     Monitor frames (announce_proxy) pass whatever their source: they only ask to be told
///     when one of our actors ends, and CAF forwards them along whichever route their writer
///     learned the actor by, also while their source holds a session of its own here.
/// A certificate is named by the SHA-256 of its DER public key (a poe node id). Time is an
/// input. Not thread-safe: the interposer locks.
///
/// Wire facts (CAF 0.17.6, network byte order): a frame is a 32-byte header (operation u8, two
/// padding bytes, flags u8, payload length u32, operation data u64, source and destination
/// actor u64) and its payload; handshakes begin with the sender's node id, routed, monitor and
/// down frames with the source node id then the destination's. A node id is its class atom
/// (u64) — "default" followed by the pid (u32) and host hash (20 bytes), or "" for none.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>

namespace poe::runtime {

enum class basp_refusal : std::uint8_t { none = 0, node_taken = 1, forged_source = 2 };

/// A refusal's label (poe_connection_events_total{event}: basp_node_taken, basp_forged_source;
/// "" for none) and what it means, for a log line ("a BASP handshake named …").
const char* label(basp_refusal r);
const char* describe(basp_refusal r);

class basp_binder {
public:
  using clock = std::chrono::steady_clock;
  using cert_id = std::array<unsigned char, 32>;
  using node_key = std::array<unsigned char, 32>; ///< a CAF node id, as serialized

  static constexpr std::size_t header_size = 32;
  static constexpr std::size_t node_id_size = 32;
  static constexpr std::uint64_t atom_default = 0x3e9aab9bac79; ///< caf::atom("default")
  static constexpr std::uint64_t atom_none = 0xf;               ///< caf::atom("")

  explicit basp_binder(std::chrono::seconds grace = std::chrono::seconds(60),
                       std::size_t max_released = 4096)
      : grace_(grace), max_released_(max_released) {}

  /// A new session (`session`: any unique key, e.g. the SSL*) whose peer presented `cert`
  /// (all zero: none).
  void open(const void* session, const cert_id& cert);
  /// Whether `session` is followed (opened and not closed).
  bool follows(const void* session) const { return sessions_.count(session) > 0; }
  /// Whether `session` was refused (every later read is refused too).
  bool refused(const void* session) const {
    auto i = sessions_.find(session);
    return i != sessions_.end() && i->second.refused;
  }
  /// The next `n` bytes `session` read. After a refusal every later read is refused too.
  basp_refusal read(const void* session, const unsigned char* p, std::size_t n, clock::time_point now);
  /// The session closed: the id it named stays held by its certificate for `grace`.
  void close(const void* session, clock::time_point now);
  /// The certificate holding the serialized CAF node id `node`, while a session of it is open.
  std::optional<cert_id> holder(const unsigned char* node, std::size_t len) const;

private:
  struct stream {
    cert_id cert{};
    bool refused = false;
    bool claimed = false;
    node_key claim{};
    unsigned char hdr[header_size] = {};
    std::size_t hdr_have = 0;
    std::uint8_t op = 0;
    std::uint32_t payload_left = 0;
    unsigned char pre[node_id_size] = {};
    std::size_t pre_have = 0, pre_need = 0;
  };
  struct binding {
    cert_id cert{};
    unsigned live = 0;
    clock::time_point released{};
  };

  basp_refusal check(stream& st, clock::time_point now);
  basp_refusal claim(stream& st, const node_key& node, clock::time_point now);
  bool held_by_other(const node_key& node, const cert_id& cert, clock::time_point now) const;

  std::chrono::seconds grace_;
  std::size_t max_released_;
  std::unordered_map<const void*, stream> sessions_;
  std::map<node_key, binding> nodes_;
};

} // namespace poe::runtime
