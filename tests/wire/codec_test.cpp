// Scenarios:
// - every object round-trips through its canonical encoding, field for field
// - encoding is deterministic and canonical: decode(b) re-encodes to exactly b
// - a non-canonical encoding of the same object (flat array with segment table) is refused
// - field bounds: wrong-size ids, unsorted params, bad chain id, unknown type
// - seal_object / open with real keys

#include "poe/wire/codec.hpp"
#include "samples.hpp"

#include <algorithm>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <catch2/catch.hpp>

#include "poe/schemas/task.capnp.h"

using namespace poe;

namespace {

template <class T, class Decode>
void round_trip(const T& v, Decode decode) {
  auto b = wire::encode(v);
  CHECK(b.size() % 8 == 0);
  CHECK(wire::encode(v) == b);
  auto back = decode(b, wire::limits{});
  REQUIRE(back);
  CHECK(*back == v);
  CHECK(wire::encode(*back) == b);
  CHECK(wire::object_hash(*back) == sha256::digest(b));
}

} // namespace

TEST_CASE("objects round-trip through canonical bytes") {
  round_trip(test::sample_task(), wire::decode_task);
  round_trip(test::sample_result(), wire::decode_task_result);
  round_trip(test::sample_receipt(), wire::decode_step_receipt);
  round_trip(test::sample_log_block(), wire::decode_log_block);
  round_trip(test::sample_header(), wire::decode_poe_header);
  round_trip(test::sample_envelope(), wire::decode_envelope);
  // Empty lists and defaults too.
  task t;
  t.kind = "compute";
  round_trip(t, wire::decode_task);
  task_result r;
  round_trip(r, wire::decode_task_result);
}

TEST_CASE("different objects have different hashes") {
  auto a = test::sample_receipt();
  auto b = a;
  b.reexecuted = false;
  CHECK(wire::object_hash(a) != wire::object_hash(b));
}

TEST_CASE("non-canonical encodings are refused") {
  auto t = test::sample_task();
  // A segment table in front of the same content.
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<poe::schema::Task>();
  b.setRequestId(capnp::Data::Reader(t.id.data.data(), 16));
  b.setKind("transcode");
  auto flat = capnp::messageToFlatArray(msg);
  auto raw = flat.asBytes();
  CHECK_FALSE(wire::decode_task(byte_view{raw.begin(), raw.size()}));

  // A single segment whose kind was overwritten: leftover bytes make it non-canonical.
  capnp::MallocMessageBuilder msg2;
  auto b2 = msg2.initRoot<poe::schema::Task>();
  b2.setKind("a-much-longer-kind-that-gets-replaced");
  b2.setRequestId(capnp::Data::Reader(t.id.data.data(), 16));
  b2.setSubmitter(capnp::Data::Reader(t.submitter.data.data(), 32));
  b2.setKind("compute");
  auto seg = msg2.getSegmentsForOutput()[0].asBytes();
  auto r = wire::decode_task(byte_view{seg.begin(), seg.size()});
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("canonical") != std::string::npos);

  // Non-zero padding after a text field.
  auto good = wire::encode(t);
  auto pos = std::search(good.begin(), good.end(), t.kind.begin(), t.kind.end()) - good.begin();
  auto bad = good;
  bad[pos + t.kind.size() + 2] = 'x'; // "transcode\0" + padding to 16 bytes
  CHECK(wire::decode_task(bad).err().message.find("canonical") != std::string::npos);
}

TEST_CASE("field bounds are enforced") {
  auto t = test::sample_task();
  t.params = {{"z", "1"}, {"a", "2"}};
  auto unsorted = wire::decode_task(wire::encode(t));
  REQUIRE_FALSE(unsorted);
  CHECK(unsorted.err().message.find("sorted") != std::string::npos);

  t = test::sample_task();
  t.kind = std::string(65, 'k');
  CHECK(wire::decode_task(wire::encode(t)).err().message.find("kind") != std::string::npos);

  auto h = test::sample_header();
  h.signature.resize(65);
  CHECK(wire::decode_poe_header(wire::encode(h)).err().message.find("64 or 256") != std::string::npos);

  auto e = test::sample_envelope();
  e.chain_id = "bad chain";
  CHECK_FALSE(wire::decode_envelope(wire::encode(e)));
  e = test::sample_envelope();
  e.type = static_cast<msg_type>(999);
  CHECK(wire::decode_envelope(wire::encode(e)).err().message.find("unknown message type") != std::string::npos);

  auto big = wire::encode(test::sample_task());
  wire::limits small;
  small.max_bytes = 64;
  CHECK(wire::decode_task(big, small).err().message.find("exceed") != std::string::npos);
}

TEST_CASE("sealed objects open with the right key and domain") {
  auto key = *private_key::generate(key_type::ed25519);
  auto env = wire::seal_object(key, "poe-devnet", msg_type::log_block, test::sample_log_block());
  auto decoded = wire::decode_envelope(wire::encode(env));
  REQUIRE(decoded);
  auto signer = open(*decoded, "poe-devnet", msg_type::log_block);
  REQUIRE(signer);
  CHECK(signer->id() == key.id());
  auto inner = wire::decode_log_block(decoded->payload);
  REQUIRE(inner);
  CHECK(*inner == test::sample_log_block());
}
