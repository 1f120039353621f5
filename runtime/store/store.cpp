#include "poe/store/store.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <system_error>
#include <utility>

namespace poe::store {

namespace {

namespace fs = std::filesystem;

/// An empty span may carry a null pointer; RocksDB passes slice data to memcmp, so an empty
/// view becomes RocksDB's empty slice (which points at "").
rocksdb::Slice to_slice(byte_view v) {
  if (v.empty()) return {};
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

byte_view to_view(const rocksdb::Slice& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool contains_text(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string quoted(const fs::path& dir) {
  return "store '" + dir.string() + "'";
}

/// Translates a RocksDB status into a poe error whose message names the store and the cause.
/// `existing` tells whether `dir` already held a database (CURRENT present) when the failing
/// call started: a missing file is then damage, not absence.
error to_error(const fs::path& dir, const rocksdb::Status& s, bool existing) {
  const std::string text = s.ToString();
  // RocksDB 7.8 reports a held LOCK file as an IOError with subcode kNone, in two wordings:
  // "lock hold by current process, acquire time ..." when this process holds it (RocksDB's
  // in-process table of locked files), and "While lock file: <dir>/LOCK: Resource temporarily
  // unavailable" when fcntl(F_SETLK) finds another process holding it.
  if (s.IsIOError() && contains_text(text, "lock hold by current process"))
    return fail(errc::io_error, quoted(dir) + " is locked: it is already open in this process");
  if (s.IsIOError() && contains_text(text, "While lock file"))
    return fail(errc::io_error, quoted(dir) +
                                    " is locked by another process (is another poe-node using this "
                                    "data directory?): " +
                                    text);
  if (s.IsCorruption()) return fail(errc::io_error, quoted(dir) + " is corrupt: " + text);
  // CURRENT naming a MANIFEST that is gone is reported as IOError(PathNotFound).
  if (existing && s.IsPathNotFound())
    return fail(errc::io_error,
                quoted(dir) + " is corrupt: a file it references is missing: " + text);
  if (s.IsNoSpace()) return fail(errc::io_error, quoted(dir) + ": no space left: " + text);
  return fail(errc::io_error, quoted(dir) + ": " + text);
}

/// RocksDB options for a node's store. Defaults are tuned for a dedicated database server;
/// a node shares its machine with transcoding and networking, so resources are bounded.
rocksdb::DBOptions make_db_options(const options& opts) {
  rocksdb::DBOptions o;
  o.create_if_missing = opts.create_if_missing;
  o.create_missing_column_families = true;
  // The default (-1) keeps every SST file open forever; a long-lived node would then run out
  // of file descriptors, which it also needs for sockets and media files.
  o.max_open_files = 256;
  // Bound RocksDB's info LOG files in the data directory (default: unbounded count).
  o.keep_log_file_num = 4;
  o.max_log_file_size = 16u << 20;
  // Two background threads match the machines poe targets; more only compete with encoding.
  o.max_background_jobs = 2;
  // Every column family's memtables together hold at most 32 MiB (a node opens one per role,
  // each could otherwise hold 2 x 16 MiB): past it the largest is flushed.
  o.db_write_buffer_size = 32u << 20;
  // Recover to the last consistent point of the WAL after a crash (the RocksDB default,
  // spelled out because durability depends on it).
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  return o;
}

rocksdb::ColumnFamilyOptions make_cf_options() {
  rocksdb::ColumnFamilyOptions o;
  // 16 MiB memtables instead of 64 MiB: a node opens several column families, each with up to
  // two memtables, and most of its data (media) lives outside RocksDB.
  o.write_buffer_size = 16u << 20;
  o.max_write_buffer_number = 2;
  // Bloom filters (10 bits per key, ~1 % false positives): asking for a key that is not there
  // (a new chunk, an unknown transaction) is answered without reading a data block. Without
  // them every such miss read a neighbour's block, a whole value for 256 KiB chunks.
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // One block cache of 8 MiB for every column family of the process (RocksDB gives each
  // column family its own 8 MiB by default: 80 MiB for a node of every role). Chunks are read
  // once per request and mostly served from the gateway's own cache; the cache keeps indexes,
  // filters' neighbours and the chain's hot keys.
  static const auto cache = rocksdb::NewLRUCache(8u << 20);
  t.block_cache = cache;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

/// Whether a directory without CURRENT still holds database files. RocksDB would then write a
/// fresh CURRENT and MANIFEST over the remains (and lose the data), so we refuse instead.
bool has_orphan_db_files(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("MANIFEST-") || name.ends_with(".sst") || name.ends_with(".log"))
      return true;
  }
  return false;
}

} // namespace

// ---------------------------------------------------------------- batch

std::uint32_t batch::cf_index(std::string_view cf) {
  for (std::size_t i = 0; i < cfs_.size(); ++i)
    if (cfs_[i] == cf) return static_cast<std::uint32_t>(i);
  cfs_.emplace_back(cf);
  return static_cast<std::uint32_t>(cfs_.size() - 1);
}

void batch::put(std::string_view cf, byte_view key, byte_view value) {
  ops_.push_back(
      op{true, cf_index(cf), bytes(key.begin(), key.end()), bytes(value.begin(), value.end())});
}

void batch::erase(std::string_view cf, byte_view key) {
  ops_.push_back(op{false, cf_index(cf), bytes(key.begin(), key.end()), {}});
}

void batch::clear() {
  cfs_.clear();
  ops_.clear();
}

// ---------------------------------------------------------------- db

struct db::impl {
  fs::path dir;
  options opts;
  std::unique_ptr<rocksdb::DB> rdb;
  /// Handles by name; std::less<> allows lookup by string_view.
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> cfs;

  ~impl() { static_cast<void>(shut_down()); }

  /// Releases the handles and closes the database. Idempotent.
  rocksdb::Status shut_down() {
    if (!rdb) return rocksdb::Status::OK();
    auto s = rocksdb::Status::OK();
    for (auto& [name, h] : cfs) {
      auto d = rdb->DestroyColumnFamilyHandle(h);
      if (s.ok() && !d.ok()) s = d;
    }
    cfs.clear();
    auto c = rdb->Close();
    if (s.ok() && !c.ok()) s = c;
    rdb.reset();
    return s;
  }

  result<rocksdb::ColumnFamilyHandle*> handle(std::string_view cf) const {
    if (!rdb) return fail(errc::invalid_argument, quoted(dir) + " is closed");
    auto it = cfs.find(cf);
    if (it == cfs.end())
      return fail(errc::invalid_argument,
                  quoted(dir) + " has no column family '" + std::string{cf} + "'");
    return it->second;
  }

  rocksdb::WriteOptions write_options(write_mode mode) const {
    rocksdb::WriteOptions w;
    w.sync = mode == write_mode::sync || (mode == write_mode::configured && opts.sync);
    return w;
  }

  status check(const rocksdb::Status& s) const {
    if (s.ok()) return {};
    return to_error(dir, s, true);
  }

  /// A write is refused for lack of space: RocksDB then keeps the error and refuses every
  /// later write until Resume() (which first flushes what the WAL holds) succeeds.
  mutable std::atomic<bool> out_of_space{false};

  /// The reserve check: errc::io_error "no space left" when the file system holding the
  /// store has less than `opts.min_free_bytes` + `incoming` bytes free.
  status check_room(std::size_t incoming) const {
    if (opts.min_free_bytes == 0) return {};
    struct statvfs fs {};
    if (::statvfs(dir.c_str(), &fs) != 0) return {}; // cannot tell: let RocksDB decide
    auto free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (free_bytes >= opts.min_free_bytes + incoming) return {};
    return fail(errc::io_error, quoted(dir) + ": no space left: " +
                                  std::to_string(free_bytes >> 20) + " MiB free, " +
                                  std::to_string(opts.min_free_bytes >> 20) +
                                  " MiB kept in reserve (store.min-free-mib)");
  }

  /// Before a write: after a full disk, try to resume, so that writes work again as soon as
  /// the operator has made room (until then they keep failing with "no space left").
  void before_write() const {
    if (out_of_space.load(std::memory_order_relaxed) && rdb->Resume().ok())
      out_of_space.store(false, std::memory_order_relaxed);
  }

  /// Like check, for writes.
  status check_write(const rocksdb::Status& s) const {
    if (s.IsNoSpace()) out_of_space.store(true, std::memory_order_relaxed);
    return check(s);
  }
};

db::db(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
db::db(db&&) noexcept = default;
db& db::operator=(db&&) noexcept = default;
db::~db() {
  if (impl_) static_cast<void>(close());
}

result<db> db::open(const fs::path& dir, std::vector<std::string> column_families, options opts) {
  for (const auto& name : column_families)
    if (name.empty())
      return fail(errc::invalid_argument, quoted(dir) + ": empty column family name");

  // Check the directory ourselves: RocksDB creates only the last path component, and its
  // messages for these cases do not say which store is meant.
  std::error_code ec;
  const auto st = fs::status(dir, ec);
  if (fs::exists(st) && !fs::is_directory(st))
    return fail(errc::io_error, quoted(dir) + " is not a directory");
  if (!fs::exists(st)) {
    if (!opts.create_if_missing)
      return fail(errc::io_error, quoted(dir) + " does not exist (create_if_missing is off)");
    fs::create_directories(dir, ec);
    if (ec)
      return fail(errc::io_error, quoted(dir) + ": cannot create the directory: " + ec.message());
  }

  const bool existing = fs::exists(dir / "CURRENT", ec);
  if (!existing && has_orphan_db_files(dir))
    return fail(errc::io_error,
                quoted(dir) + " is corrupt: CURRENT is missing but database files remain");
  if (!existing && !opts.create_if_missing)
    return fail(errc::io_error, quoted(dir) + " does not exist (create_if_missing is off)");

  const auto db_opts = make_db_options(opts);
  const auto cf_opts = make_cf_options();

  // RocksDB refuses to open a database unless every existing column family is opened: open
  // the union of the requested, the existing and "default".
  std::set<std::string> names(column_families.begin(), column_families.end());
  names.insert(rocksdb::kDefaultColumnFamilyName);
  if (existing) {
    std::vector<std::string> on_disk;
    auto s = rocksdb::DB::ListColumnFamilies(db_opts, dir.string(), &on_disk);
    if (!s.ok()) return to_error(dir, s, existing);
    names.insert(on_disk.begin(), on_disk.end());
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names)
    descriptors.emplace_back(name, cf_opts);

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_opts, dir.string(), descriptors, &handles, &raw);
  if (!s.ok()) return to_error(dir, s, existing);

  auto p = std::make_unique<impl>();
  p->dir = dir;
  p->opts = opts;
  p->rdb.reset(raw);
  for (auto* h : handles)
    p->cfs.emplace(h->GetName(), h);
  return db{std::move(p)};
}

const fs::path& db::path() const {
  static const fs::path none;
  return impl_ ? impl_->dir : none;
}

std::vector<std::string> db::column_families() const {
  std::vector<std::string> out;
  if (impl_)
    for (const auto& [name, h] : impl_->cfs)
      out.push_back(name);
  return out;
}

result<std::optional<bytes>> db::get(std::string_view cf, byte_view key, read_mode mode) const {
  if (!impl_) return fail(errc::invalid_argument, "store was moved from");
  auto h = impl_->handle(cf);
  if (!h) return h.err();
  rocksdb::PinnableSlice value;
  rocksdb::ReadOptions ro;
  ro.fill_cache = mode == read_mode::cached;
  auto s = impl_->rdb->Get(ro, *h, to_slice(key), &value);
  if (s.IsNotFound()) return std::optional<bytes>{};
  if (!s.ok()) return impl_->check(s).err();
  const auto v = to_view(value);
  return std::optional<bytes>{bytes(v.begin(), v.end())};
}

result<bool> db::contains(std::string_view cf, byte_view key) const {
  if (!impl_) return fail(errc::invalid_argument, "store was moved from");
  auto h = impl_->handle(cf);
  if (!h) return h.err();
  std::string ignored; // not filled: no value_found flag is passed
  // Cheap negative answers from the memtable and bloom filters; a positive "may exist" is
  // confirmed with a pinned read (no copy of the value).
  if (!impl_->rdb->KeyMayExist(rocksdb::ReadOptions{}, *h, to_slice(key), &ignored, static_cast<bool*>(nullptr)))
    return false;
  rocksdb::PinnableSlice value;
  auto s = impl_->rdb->Get(rocksdb::ReadOptions{}, *h, to_slice(key), &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return impl_->check(s).err();
  return true;
}

status db::put(std::string_view cf, byte_view key, byte_view value, write_mode mode) {
  if (!impl_) return fail(errc::invalid_argument, "store was moved from");
  auto h = impl_->handle(cf);
  if (!h) return h.err();
  if (auto room = impl_->check_room(key.size() + value.size()); !room) return room;
  impl_->before_write();
  return impl_->check_write(
      impl_->rdb->Put(impl_->write_options(mode), *h, to_slice(key), to_slice(value)));
}

status db::erase(std::string_view cf, byte_view key, write_mode mode) {
  if (!impl_) return fail(errc::invalid_argument, "store was moved from");
  auto h = impl_->handle(cf);
  if (!h) return h.err();
  impl_->before_write();
  return impl_->check_write(impl_->rdb->Delete(impl_->write_options(mode), *h, to_slice(key)));
}

status db::write(const batch& b, write_mode mode) {
  if (!impl_) return fail(errc::invalid_argument, "store was moved from");
  // Resolve every name before building anything, so an unknown one writes nothing.
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  handles.reserve(b.cfs_.size());
  for (const auto& name : b.cfs_) {
    auto h = impl_->handle(name);
    if (!h) return h.err();
    handles.push_back(*h);
  }
  if (b.empty()) return {};
  // Reserved up front: a batch of many records grown by doubling copies itself each time, and
  // once past the mmap threshold each copy maps fresh pages.
  std::size_t need = 12; // RocksDB's header
  for (const auto& o : b.ops_) need += o.key.size() + o.value.size() + 16; // tag, cf, 2 varints
  rocksdb::WriteBatch wb(need);
  for (const auto& o : b.ops_) {
    auto s = o.is_put ? wb.Put(handles[o.cf], to_slice(o.key), to_slice(o.value))
                      : wb.Delete(handles[o.cf], to_slice(o.key));
    if (!s.ok()) return impl_->check(s);
  }
  if (auto room = impl_->check_room(wb.GetDataSize()); !room) return room;
  impl_->before_write();
  return impl_->check_write(impl_->rdb->Write(impl_->write_options(mode), &wb));
}

status db::for_each(std::string_view cf, byte_view prefix, const visitor& fn,
                    byte_view from) const {
  if (!impl_) return fail(errc::invalid_argument, "store was moved from");
  auto h = impl_->handle(cf);
  if (!h) return h.err();
  const auto pre = to_slice(prefix);
  std::unique_ptr<rocksdb::Iterator> it{impl_->rdb->NewIterator(rocksdb::ReadOptions{}, *h)};
  for (it->Seek(from.empty() ? pre : to_slice(from)); it->Valid() && it->key().starts_with(pre);
       it->Next())
    if (!fn(to_view(it->key()), to_view(it->value()))) break;
  return impl_->check(it->status());
}

status db::flush() {
  if (!impl_ || !impl_->rdb) return fail(errc::invalid_argument, "store is closed");
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (const auto& [name, h] : impl_->cfs)
    handles.push_back(h);
  rocksdb::FlushOptions fo;
  fo.wait = true;
  if (auto st = impl_->check(impl_->rdb->Flush(fo, handles)); !st) return st;
  return impl_->check(impl_->rdb->FlushWAL(/*sync=*/true));
}

std::uint64_t db::memtable_bytes() const {
  if (!impl_ || !impl_->rdb) return 0;
  std::uint64_t total = 0;
  for (const auto& [name, h] : impl_->cfs) {
    std::uint64_t v = 0;
    if (impl_->rdb->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) total += v;
  }
  return total;
}

std::uint64_t db::block_cache_bytes() const {
  if (!impl_ || !impl_->rdb || impl_->cfs.empty()) return 0;
  std::uint64_t v = 0;
  impl_->rdb->GetIntProperty(impl_->cfs.begin()->second, rocksdb::DB::Properties::kBlockCacheUsage, &v);
  return v;
}

status db::close() {
  if (!impl_ || !impl_->rdb) return {};
  auto flushed = flush();
  auto closed = impl_->check(impl_->shut_down());
  if (!flushed) return flushed;
  return closed;
}

} // namespace poe::store
