#pragma once
/// @file
/// The node's persistent store: a RocksDB database with named column families.
///
/// One `db` owns one data directory. Keys and values are opaque byte strings; each column
/// family is an independent, bytewise-ordered key space. No RocksDB type crosses this header,
/// so code above the store layer needs neither RocksDB headers nor its link flags.
///
/// Errors are `poe::error` values, never exceptions:
/// - `errc::io_error` for every failure of the store itself. The message starts with
///   `store '<dir>'` and names the cause; these phrases are stable and may be matched:
///   - `is locked` — the directory is open elsewhere: by another process (another poe-node
///     on the same data directory) or by another `db` of this process;
///   - `is corrupt: <detail>` — RocksDB reported corruption, CURRENT or a MANIFEST holds
///     garbage, or a file the database references is missing;
///   - `does not exist` — no database there and `options::create_if_missing` is off;
///   - `is not a directory` — the path names a regular file;
///   - `no space left` — the device is full;
///   - anything else carries RocksDB's own status text.
/// - `errc::invalid_argument` for caller mistakes: an unknown or empty column-family name, or
///   a `db` that was moved from or closed.
///
/// A failed write leaves the store unchanged: single writes and batches are atomic.

#include "poe/core/error.hpp"
#include "poe/core/types.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poe::store {

/// How a database is opened.
struct options {
  /// fsync the write-ahead log on every write (unless a write overrides it, see
  /// `write_mode`). Off: a write survives a crash of the process but may be lost in a crash
  /// of the machine.
  bool sync = false;
  /// Create the directory and an empty database when none exists.
  bool create_if_missing = true;
  /// Refuse puts and batches ("no space left: ...") while the file system holding the store
  /// has less than this many bytes free (0: never). RocksDB itself is kept from running into
  /// a full disk: the reserve leaves room for its memtable flushes and compactions.
  std::uint64_t min_free_bytes = 0;
};

/// Durability of one write.
enum class write_mode {
  configured, ///< as `options::sync` of the database
  sync,       ///< fsync the write-ahead log before returning
  no_sync,    ///< return once the write is in the OS page cache
};

/// How a read uses the block cache (one 8 MiB LRU cache for the whole process).
enum class read_mode {
  cached, ///< keep the blocks read in the cache (small, hot keys: the default)
  once,   ///< leave the cache as it is: large values read once per request (media chunks),
          ///< which would otherwise evict the hot keys and keep 8 MiB resident after the job
};

/// Writes to apply together: all of them or none. Records operations only; column-family names
/// are resolved by `db::write`, which rejects the whole batch when one of them is unknown.
class batch {
public:
  /// Sets `key` to `value` in column family `cf`.
  void put(std::string_view cf, byte_view key, byte_view value);
  /// Removes `key` from column family `cf` (removing a missing key is not an error).
  void erase(std::string_view cf, byte_view key);

  /// Number of recorded operations.
  std::size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  /// Forgets all recorded operations.
  void clear();

private:
  friend class db;
  struct op {
    bool is_put;
    std::uint32_t cf; ///< index into cfs_
    bytes key;
    bytes value;
  };
  std::uint32_t cf_index(std::string_view cf);

  std::vector<std::string> cfs_; ///< distinct column-family names, in order of first use
  std::vector<op> ops_;
};

/// An open database. Movable, not copyable; the destructor closes it (see `close`).
/// Safe to use from several threads at once, except `close` and moving.
class db {
public:
  /// Called by `for_each` for every entry; returns false to stop the iteration.
  using visitor = std::function<bool(byte_view key, byte_view value)>;

  /// Opens the database in `dir`, creating the directory and the database when missing (unless
  /// `opts.create_if_missing` is off). Opens every column family in `column_families` —
  /// creating those that do not exist yet — and every one that already exists on disk
  /// (RocksDB requires that), plus RocksDB's own "default". Names must be non-empty.
  static result<db> open(const std::filesystem::path& dir, std::vector<std::string> column_families,
                         options opts = {});

  db(db&&) noexcept;
  db& operator=(db&&) noexcept;
  db(const db&) = delete;
  db& operator=(const db&) = delete;
  ~db();

  /// The directory this database lives in.
  const std::filesystem::path& path() const;
  /// Names of all open column families, sorted.
  std::vector<std::string> column_families() const;

  /// The value of `key` in `cf`, or nullopt when absent.
  result<std::optional<bytes>> get(std::string_view cf, byte_view key,
                                   read_mode mode = read_mode::cached) const;
  /// Whether `key` is present in `cf`.
  result<bool> contains(std::string_view cf, byte_view key) const;
  /// Sets `key` to `value` in `cf`.
  status put(std::string_view cf, byte_view key, byte_view value,
             write_mode mode = write_mode::configured);
  /// Removes `key` from `cf` (removing a missing key is not an error).
  status erase(std::string_view cf, byte_view key, write_mode mode = write_mode::configured);
  /// Applies every operation of `b` atomically. Fails without writing anything when `b` names
  /// an unknown column family. An empty batch is a no-op.
  status write(const batch& b, write_mode mode = write_mode::configured);

  /// Calls `fn` for every entry of `cf` whose key starts with `prefix` (all entries when
  /// `prefix` is empty), in ascending bytewise key order, until `fn` returns false. Sees a
  /// consistent snapshot taken at the call; the views passed to `fn` are valid during the call
  /// only. With `from`, the walk starts at the first key >= `from` (a seek, not a scan).
  status for_each(std::string_view cf, byte_view prefix, const visitor& fn,
                  byte_view from = {}) const;

  /// Flushes every column family's memtable to disk and syncs the write-ahead log. For
  /// shutdown and checkpoints; not needed for durability when writes are synced.
  status flush();
  /// Bytes held in memory by every column family's memtables (written, not yet flushed):
  /// what an idle node gives back with flush(). 0 when closed.
  std::uint64_t memtable_bytes() const;
  /// Bytes held by the block cache, which every database of the process shares. 0 when closed.
  std::uint64_t block_cache_bytes() const;
  /// Flushes and closes the database, reporting errors the destructor would swallow. The `db`
  /// is unusable afterwards (its calls fail with `invalid_argument`); closing twice is a no-op.
  status close();

private:
  struct impl;
  explicit db(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace poe::store
