# Shared types of the poe wire format.
# Conventions: hashes and node ids are 32-byte Data, request ids 16-byte Data; integers are
# Cap'n Proto little-endian as always; objects are hashed and signed over their canonical
# encoding (capnp::canonicalize: one segment, no segment table, no leftover space).
@0xfd2e1b12411740fe;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("poe::schema");

struct Param {
  key @0 :Text;
  value @1 :Text;
}
