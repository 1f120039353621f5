// Scenarios:
// - put/get/erase per column family; an empty value is present, a missing key is nullopt
// - column families are isolated: the same key holds different values in each
// - unknown or empty column-family names are invalid_argument errors that name the family
// - reopening keeps the data, opens the existing families and creates newly requested ones
// - a batch spans column families and applies atomically, in order; a batch naming an
//   unknown family fails and writes nothing
// - sync mode (per database and per write) works, and synced writes survive a process that
//   dies without closing the store
// - for_each visits exactly the keys with the prefix, in bytewise order, stops when asked,
//   and handles 0xff prefixes
// - flush writes SST files; close reports errors, is idempotent, and makes the db unusable;
//   a moved-from db fails cleanly
// - locked: a second open in the same process and an open from another process both fail
//   with "is locked", and the lock is released on close
// - corrupt: garbage in CURRENT (with or without newline), CURRENT naming a missing
//   MANIFEST, a garbage MANIFEST, and a missing CURRENT beside database files all fail with
//   "is corrupt" and do not crash; the last one leaves the files untouched
// - a path that is a regular file, or lies below one, and a missing store with
//   create_if_missing off fail with clear errors
//
// The cross-process cases re-execute this binary (fork + exec of /proc/self/exe) to run the
// hidden test case "store child process" in a fresh process: a forked child without exec
// would inherit RocksDB's in-process table of locked files and never reach fcntl.

#include "poe/store/store.hpp"

#include "../core/test_util.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

using namespace poe;
using namespace poe::store;
namespace fs = std::filesystem;
using poe::test::temp_dir;

namespace {

bytes b(std::string_view s) {
  return poe::test::to_bytes(s);
}

std::string str(byte_view v) {
  return std::string(v.begin(), v.end());
}

bool has(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

/// Opens or fails the test.
db must_open(const fs::path& dir, std::vector<std::string> cfs, options opts = {}) {
  auto d = db::open(dir, std::move(cfs), opts);
  if (!d) FAIL("open failed: " << d.err().message);
  return std::move(d).value();
}

std::optional<std::string> get_str(const db& d, std::string_view cf, std::string_view key) {
  auto v = d.get(cf, b(key));
  REQUIRE(v);
  if (!v->has_value()) return std::nullopt;
  return std::string((*v)->begin(), (*v)->end());
}

/// Every (key, value) of `cf` with `prefix`, in iteration order.
std::vector<std::pair<std::string, std::string>> scan(const db& d, std::string_view cf,
                                                      const bytes& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  auto st = d.for_each(cf, prefix, [&](byte_view k, byte_view v) {
    out.emplace_back(str(k), str(v));
    return true;
  });
  REQUIRE(st);
  return out;
}

void write_file(const fs::path& p, std::string_view content) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<fs::path> files_starting_with(const fs::path& dir, std::string_view prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
  return out;
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.insert(e.path().filename().string());
  return out;
}

/// A store with one key, closed again: ready to be damaged.
void make_store(const fs::path& dir) {
  auto d = must_open(dir, {"blocks"});
  REQUIRE(d.put("blocks", b("k"), b("v")));
  REQUIRE(d.close());
}

// ------------------------------------------------ child process (fork + exec of this binary)

constexpr const char* child_test_name = "store child process";
constexpr int child_open_failed = 10;
constexpr int child_wrote = 11;
constexpr int child_open_succeeded = 12;

/// Runs `mode` on `dir` in a fresh process; returns its exit code and what it wrote to `out`.
int run_child(const std::string& mode, const fs::path& dir, const fs::path& out) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    setenv("POE_STORE_CHILD_MODE", mode.c_str(), 1);
    setenv("POE_STORE_CHILD_DIR", dir.c_str(), 1);
    setenv("POE_STORE_CHILD_OUT", out.c_str(), 1);
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO); // keep Catch2's report of the child quiet
    execl("/proc/self/exe", "test_store", child_test_name, static_cast<char*>(nullptr));
    _exit(127);
  }
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  REQUIRE(WIFEXITED(wstatus));
  return WEXITSTATUS(wstatus);
}

} // namespace

// Hidden ("[.]"): run only by run_child, never by ctest. Exits the process directly so neither
// destructors nor Catch2 get to close the store.
TEST_CASE("store child process", "[.][child]") {
  const char* mode = std::getenv("POE_STORE_CHILD_MODE");
  const char* dir = std::getenv("POE_STORE_CHILD_DIR");
  const char* out = std::getenv("POE_STORE_CHILD_OUT");
  if (!mode || !dir || !out) return;
  if (std::string_view{mode} == "open") {
    auto d = db::open(dir, {"blocks"});
    if (d) std::_Exit(child_open_succeeded);
    write_file(out, d.err().message);
    std::_Exit(child_open_failed);
  }
  if (std::string_view{mode} == "write-and-die") {
    // Synced writes, then death without close: only the WAL can bring them back.
    auto d = db::open(dir, {"blocks"}, options{.sync = true});
    if (!d) {
      write_file(out, d.err().message);
      std::_Exit(child_open_failed);
    }
    batch bt;
    bt.put("blocks", b("b1"), b("batched"));
    bool ok = d->put("blocks", b("p1"), b("put")).ok() && d->write(bt).ok() &&
              d->erase("blocks", b("gone")).ok();
    write_file(out, ok ? "ok" : "write failed");
    std::_Exit(child_wrote);
  }
  std::_Exit(2);
}

// ------------------------------------------------ basic operations

TEST_CASE("put, get and erase per column family") {
  temp_dir tmp("poe-store");
  auto d = must_open(tmp.path, {"blocks", "receipts"});

  CHECK(get_str(d, "blocks", "k1") == std::nullopt);
  REQUIRE(d.put("blocks", b("k1"), b("v1")));
  CHECK(get_str(d, "blocks", "k1") == "v1");
  REQUIRE(d.put("blocks", b("k1"), b("v2")));
  CHECK(get_str(d, "blocks", "k1") == "v2");
  CHECK(*d.contains("blocks", b("k1")));

  REQUIRE(d.erase("blocks", b("k1")));
  CHECK(get_str(d, "blocks", "k1") == std::nullopt);
  CHECK_FALSE(*d.contains("blocks", b("k1")));
  CHECK(d.erase("blocks", b("never-there")));

  // An empty value is present; binary keys and values round-trip.
  REQUIRE(d.put("receipts", b("empty"), {}));
  CHECK(get_str(d, "receipts", "empty") == "");
  CHECK(*d.contains("receipts", b("empty")));
  const bytes key{0x00, 0xff, 0x00}, value{0xde, 0xad, 0x00, 0xbe, 0xef};
  REQUIRE(d.put("receipts", key, value));
  CHECK(d.get("receipts", key)->value() == value);

  CHECK(d.column_families() == std::vector<std::string>{"blocks", "default", "receipts"});
  CHECK(d.path() == tmp.path);
}

TEST_CASE("column families are isolated") {
  temp_dir tmp("poe-store");
  auto d = must_open(tmp.path, {"a", "b"});
  REQUIRE(d.put("a", b("key"), b("in a")));
  REQUIRE(d.put("b", b("key"), b("in b")));
  CHECK(get_str(d, "a", "key") == "in a");
  CHECK(get_str(d, "b", "key") == "in b");
  CHECK(get_str(d, "default", "key") == std::nullopt);
  REQUIRE(d.erase("a", b("key")));
  CHECK(get_str(d, "a", "key") == std::nullopt);
  CHECK(get_str(d, "b", "key") == "in b");
  CHECK(scan(d, "a", {}).empty());
  CHECK(scan(d, "b", {}).size() == 1);
}

TEST_CASE("unknown and empty column-family names are errors naming them") {
  temp_dir tmp("poe-store");
  auto d = must_open(tmp.path, {"blocks"});

  auto g = d.get("nope", b("k"));
  REQUIRE_FALSE(g);
  CHECK(g.err().code == errc::invalid_argument);
  CHECK(has(g.err().message, "no column family 'nope'"));
  CHECK(has(g.err().message, tmp.path.string()));

  auto p = d.put("nope", b("k"), b("v"));
  REQUIRE_FALSE(p);
  CHECK(has(p.err().message, "'nope'"));
  CHECK_FALSE(d.erase("nope", b("k")));
  CHECK_FALSE(d.contains("nope", b("k")));
  auto it = d.for_each("nope", {}, [](byte_view, byte_view) { return true; });
  REQUIRE_FALSE(it);
  CHECK(has(it.err().message, "'nope'"));

  auto bad = db::open(tmp / "other", {"ok", ""});
  REQUIRE_FALSE(bad);
  CHECK(bad.err().code == errc::invalid_argument);
  CHECK(has(bad.err().message, "empty column family name"));
}

TEST_CASE("reopening keeps data and adds new column families") {
  temp_dir tmp("poe-store");
  {
    auto d = must_open(tmp.path, {"a", "b"});
    REQUIRE(d.put("a", b("x"), b("1")));
    REQUIRE(d.put("b", b("y"), b("2")));
  } // closed by the destructor
  {
    // Only "c" is requested: "a" and "b" exist on disk and are opened too.
    auto d = must_open(tmp.path, {"c"});
    CHECK(d.column_families() == std::vector<std::string>{"a", "b", "c", "default"});
    CHECK(get_str(d, "a", "x") == "1");
    CHECK(get_str(d, "b", "y") == "2");
    CHECK(scan(d, "c", {}).empty());
    REQUIRE(d.put("c", b("z"), b("3")));
    REQUIRE(d.close());
  }
  auto d = must_open(tmp.path, {});
  CHECK(d.column_families() == std::vector<std::string>{"a", "b", "c", "default"});
  CHECK(get_str(d, "c", "z") == "3");
}

// ------------------------------------------------ batches

TEST_CASE("a batch applies atomically across column families, in order") {
  temp_dir tmp("poe-store");
  auto d = must_open(tmp.path, {"blocks", "index"});
  REQUIRE(d.put("index", b("old"), b("x")));

  batch bt;
  CHECK(bt.empty());
  bt.put("blocks", b("h1"), b("block 1"));
  bt.put("index", b("height/1"), b("h1"));
  bt.erase("index", b("old"));
  bt.put("blocks", b("tmp"), b("t"));
  bt.erase("blocks", b("tmp")); // later operations win
  CHECK(bt.size() == 5);
  REQUIRE(d.write(bt));

  CHECK(get_str(d, "blocks", "h1") == "block 1");
  CHECK(get_str(d, "index", "height/1") == "h1");
  CHECK(get_str(d, "index", "old") == std::nullopt);
  CHECK(get_str(d, "blocks", "tmp") == std::nullopt);

  bt.clear();
  CHECK(bt.empty());
  CHECK(d.write(bt)); // an empty batch is a no-op
  CHECK(d.write(batch{}, write_mode::sync));
}

TEST_CASE("a batch naming an unknown column family fails and writes nothing") {
  temp_dir tmp("poe-store");
  auto d = must_open(tmp.path, {"blocks", "index"});
  REQUIRE(d.put("index", b("keep"), b("original")));

  batch bt;
  bt.put("blocks", b("h1"), b("block 1"));
  bt.put("index", b("keep"), b("overwritten"));
  bt.put("missing", b("k"), b("v"));
  bt.erase("index", b("keep"));
  auto st = d.write(std::move(bt));
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::invalid_argument);
  CHECK(has(st.err().message, "'missing'"));

  CHECK(get_str(d, "blocks", "h1") == std::nullopt);
  CHECK(get_str(d, "index", "keep") == "original");
}

// ------------------------------------------------ durability

TEST_CASE("sync mode: synced writes survive a process that dies without closing") {
  temp_dir tmp("poe-store");
  const auto dir = tmp.path / "db";
  {
    // Sync per database and per write both work in-process.
    auto d = must_open(dir, {"blocks"}, options{.sync = true});
    REQUIRE(d.put("blocks", b("gone"), b("to be erased by the child")));
    REQUIRE(d.put("blocks", b("k"), b("v"), write_mode::no_sync));
    REQUIRE(d.close());
    auto e = must_open(dir, {"blocks"});
    REQUIRE(e.put("blocks", b("s"), b("synced"), write_mode::sync));
    REQUIRE(e.erase("blocks", b("k"), write_mode::sync));
  }
  const int code = run_child("write-and-die", dir, tmp.path / "child.txt");
  INFO(read_file(tmp.path / "child.txt"));
  REQUIRE(code == child_wrote);
  REQUIRE(read_file(tmp.path / "child.txt") == "ok");

  // The child died holding the lock; the kernel released it with the process.
  auto d = must_open(dir, {"blocks"});
  CHECK(get_str(d, "blocks", "p1") == "put");
  CHECK(get_str(d, "blocks", "b1") == "batched");
  CHECK(get_str(d, "blocks", "gone") == std::nullopt);
  CHECK(get_str(d, "blocks", "s") == "synced");
  CHECK(get_str(d, "blocks", "k") == std::nullopt);
}

TEST_CASE("flush writes SST files, close is idempotent and final, a moved-from db fails cleanly") {
  temp_dir tmp("poe-store");
  auto d = must_open(tmp.path, {"blocks"});
  REQUIRE(d.put("blocks", b("k"), b("v")));
  REQUIRE(d.flush());
  bool sst = false;
  for (const auto& e : fs::directory_iterator(tmp.path))
    sst = sst || e.path().extension() == ".sst";
  CHECK(sst);

  db moved = std::move(d);
  auto g = d.get("blocks", b("k")); // NOLINT(bugprone-use-after-move): tested on purpose
  REQUIRE_FALSE(g);
  CHECK(g.err().code == errc::invalid_argument);
  CHECK_FALSE(d.put("blocks", b("k"), b("v")));
  CHECK(d.close());
  CHECK(get_str(moved, "blocks", "k") == "v");

  REQUIRE(moved.close());
  CHECK(moved.close()); // twice is a no-op
  auto after = moved.put("blocks", b("k"), b("v"));
  REQUIRE_FALSE(after);
  CHECK(has(after.err().message, "is closed"));
  CHECK_FALSE(moved.flush());

  // Move assignment closes the target's old store, releasing its lock.
  temp_dir tmp2("poe-store");
  auto x = must_open(tmp.path, {});
  x = must_open(tmp2.path, {});
  CHECK(x.path() == tmp2.path);
  CHECK(db::open(tmp.path, {}));
}

TEST_CASE("a read once leaves the block cache as it was, a cached read fills it") {
  temp_dir tmp("poe-store");
  auto d = must_open(tmp.path, {"media"});
  bytes big(200 << 10, 7); // a 200 KiB value (a media chunk's size), one block of its own;
                           // the 8 MiB cache has 16 shards of 512 KiB, so one block fits
  REQUIRE(d.put("media", b("once"), big));
  REQUIRE(d.put("media", b("kept"), big));
  REQUIRE(d.flush()); // from the memtable into an SST file, read through the cache
  auto before = d.block_cache_bytes();
  auto v = d.get("media", b("once"), read_mode::once);
  REQUIRE(v);
  REQUIRE(*v);
  CHECK(**v == big);
  CHECK(d.block_cache_bytes() < before + (big.size() / 2));
  auto w = d.get("media", b("kept"));
  REQUIRE(w);
  REQUIRE(*w);
  CHECK(**w == big);
  CHECK(d.block_cache_bytes() >= before + big.size());
}

// ------------------------------------------------ iteration

TEST_CASE("for_each visits the prefix in bytewise order and stops when asked") {
  temp_dir tmp("poe-store");
  auto d = must_open(tmp.path, {"kv"});
  for (auto k : {"b/1", "a/2", "a", "a/10", "a/1", "a0", "c"})
    REQUIRE(d.put("kv", b(k), b(std::string{"v:"} + k)));

  using kvs = std::vector<std::pair<std::string, std::string>>;
  CHECK(scan(d, "kv", b("a/")) == kvs{{"a/1", "v:a/1"}, {"a/10", "v:a/10"}, {"a/2", "v:a/2"}});
  CHECK(scan(d, "kv", b("a")).size() == 5);
  CHECK(scan(d, "kv", b("a/10")) == kvs{{"a/10", "v:a/10"}});
  CHECK(scan(d, "kv", b("zz")).empty());

  std::vector<std::string> all;
  for (auto& [k, v] : scan(d, "kv", {}))
    all.push_back(k);
  CHECK(all == std::vector<std::string>{"a", "a/1", "a/10", "a/2", "a0", "b/1", "c"});

  std::vector<std::string> first_two;
  REQUIRE(d.for_each("kv", b("a"), [&](byte_view k, byte_view) {
    first_two.push_back(str(k));
    return first_two.size() < 2;
  }));
  CHECK(first_two == std::vector<std::string>{"a", "a/1"});

  // 0xff prefixes: no successor key exists, the scan must still end at the right place.
  REQUIRE(d.put("kv", bytes{0xff}, b("1")));
  REQUIRE(d.put("kv", bytes{0xff, 0xff}, b("2")));
  REQUIRE(d.put("kv", bytes{0xff, 0xff, 0x00}, b("3")));
  REQUIRE(d.put("kv", bytes{0xff, 0xff, 0xff}, b("4")));
  auto ff = scan(d, "kv", bytes{0xff, 0xff});
  REQUIRE(ff.size() == 3);
  CHECK(ff[0].second == "2");
  CHECK(ff[1].second == "3");
  CHECK(ff[2].second == "4");
}

// ------------------------------------------------ locking

TEST_CASE("locked: a second open in the same process fails until the first closes") {
  temp_dir tmp("poe-store");
  auto first = must_open(tmp.path, {"blocks"});
  auto second = db::open(tmp.path, {"blocks"});
  REQUIRE_FALSE(second);
  CHECK(second.err().code == errc::io_error);
  CHECK(has(second.err().message, "store '" + tmp.path.string() + "' is locked"));
  CHECK(has(second.err().message, "already open in this process"));

  REQUIRE(first.close());
  CHECK(db::open(tmp.path, {"blocks"}));
}

TEST_CASE("locked: an open from another process fails while this one holds the store") {
  temp_dir tmp("poe-store");
  const auto dir = tmp.path / "db";
  const auto out = tmp.path / "child.txt";
  {
    auto held = must_open(dir, {"blocks"});
    REQUIRE(held.put("blocks", b("k"), b("v")));
    const int code = run_child("open", dir, out);
    const std::string msg = read_file(out);
    INFO("child: exit " << code << ", message: " << msg);
    REQUIRE(code == child_open_failed);
    CHECK(has(msg, "store '" + dir.string() + "' is locked by another process"));
    CHECK(has(msg, "is another poe-node using this data directory?"));
    CHECK(get_str(held, "blocks", "k") == "v"); // the holder is unaffected
  }
  // Released on close: the other process now opens it.
  fs::remove(out);
  CHECK(run_child("open", dir, out) == child_open_succeeded);
}

// ------------------------------------------------ corruption

TEST_CASE("corrupt: garbage in CURRENT") {
  temp_dir tmp("poe-store");
  for (std::string_view garbage : {"\x01\x02garbage without newline", "garbage\n", ""}) {
    INFO("CURRENT = '" << garbage << "'");
    const auto dir = tmp.path / ("db" + std::to_string(garbage.size()));
    make_store(dir);
    write_file(dir / "CURRENT", garbage);
    auto d = db::open(dir, {"blocks"});
    REQUIRE_FALSE(d);
    CHECK(d.err().code == errc::io_error);
    CHECK(has(d.err().message, "store '" + dir.string() + "' is corrupt: "));
  }
}

TEST_CASE("corrupt: CURRENT names a missing MANIFEST") {
  temp_dir tmp("poe-store");
  make_store(tmp.path);
  write_file(tmp.path / "CURRENT", "MANIFEST-999999\n");
  auto d = db::open(tmp.path, {"blocks"});
  REQUIRE_FALSE(d);
  CHECK(has(d.err().message, "is corrupt: a file it references is missing"));
  CHECK(has(d.err().message, "MANIFEST-999999"));
}

TEST_CASE("corrupt: garbage in the MANIFEST") {
  temp_dir tmp("poe-store");
  make_store(tmp.path);
  auto manifests = files_starting_with(tmp.path, "MANIFEST-");
  REQUIRE(!manifests.empty());
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i)
    garbage[i] = static_cast<char>(i * 131 + 7);
  for (const auto& m : manifests)
    write_file(m, garbage);
  auto d = db::open(tmp.path, {"blocks"});
  REQUIRE_FALSE(d);
  CHECK(d.err().code == errc::io_error);
  CHECK(has(d.err().message, "store '" + tmp.path.string() + "' is corrupt: "));
}

TEST_CASE("corrupt: a missing CURRENT beside database files is refused, files untouched") {
  temp_dir tmp("poe-store");
  make_store(tmp.path);
  fs::remove(tmp.path / "CURRENT");
  const auto before = listing(tmp.path);
  auto d = db::open(tmp.path, {"blocks"});
  REQUIRE_FALSE(d);
  CHECK(has(d.err().message, "is corrupt: CURRENT is missing but database files remain"));
  // RocksDB itself would write a fresh CURRENT and MANIFEST-000001 over the remains.
  CHECK(listing(tmp.path) == before);
}

// ------------------------------------------------ bad paths

TEST_CASE("a regular file, a path below one, or a missing store without create fail clearly") {
  temp_dir tmp("poe-store");
  const auto file = tmp.path / "a-file";
  write_file(file, "not a database");

  auto d = db::open(file, {"blocks"});
  REQUIRE_FALSE(d);
  CHECK(d.err().code == errc::io_error);
  CHECK(d.err().message == "store '" + file.string() + "' is not a directory");
  CHECK(read_file(file) == "not a database");

  auto below = db::open(file / "db", {"blocks"});
  REQUIRE_FALSE(below);
  CHECK(has(below.err().message, "cannot create the directory"));

  auto missing = db::open(tmp.path / "missing", {}, options{.create_if_missing = false});
  REQUIRE_FALSE(missing);
  CHECK(has(missing.err().message, "does not exist (create_if_missing is off)"));
  CHECK_FALSE(fs::exists(tmp.path / "missing"));

  // An existing but empty directory is no database either.
  fs::create_directory(tmp.path / "empty");
  auto empty = db::open(tmp.path / "empty", {}, options{.create_if_missing = false});
  REQUIRE_FALSE(empty);
  CHECK(has(empty.err().message, "does not exist"));
}
