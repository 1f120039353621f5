# Tasks and their results (see docs/protocol.md §Objects).
@0x9548f2deb750e27c;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("poe::schema");

using Common = import "common.capnp";

struct Task {
  requestId @0 :Data;              # 16 bytes, allocated at intake
  kind @1 :Text;                   # "transcode", "compute", ...
  params @2 :List(Common.Param);   # sorted by key, unique keys
  inputs @3 :List(Text);           # input CIDs
  submitter @4 :Data;              # 32-byte node id of the coordinator
  createdMs @5 :UInt64;
  anchorHeight @6 :UInt64;         # the block whose id draws the task's deciders (0: none)
}

struct TaskOutput {
  name @0 :Text;
  cid @1 :Text;
  size @2 :UInt64;
}

# PoE v1 is computed over the canonical bytes of a TaskResult.
struct TaskResult {
  requestId @0 :Data;
  kind @1 :Text;
  outputs @2 :List(TaskOutput);
  facts @3 :List(Common.Param);    # media facts, sorted by key
  taskHash @4 :Data;               # 32 bytes: SHA-256 of the task's canonical bytes
}
