# StepReceipt → LogBlock → PoE header (seed 004).
@0xd3ca3698fdf3defd;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("poe::schema");

struct StepReceipt {
  requestId @0 :Data;     # 16 bytes
  kind @1 :Text;
  executor @2 :Data;      # node id
  resultHash @3 :Data;    # SHA-256 of the result's canonical bytes
  poe @4 :Data;           # PoE v1 commitment
  poeSig @5 :Data;        # executor's signature over result ‖ poe
  verifier @6 :Data;      # node id
  verifiedMs @7 :UInt64;
  reexecuted @8 :Bool;
  workUnits @9 :UInt64;
  resultBytes @10 :UInt64;
}

struct LogBlock {
  bpiId @0 :Data;
  sequence @1 :UInt64;
  prev @2 :Data;          # hash of the previous LogBlock of this BPI (zero for the first)
  receiptsRoot @3 :Data;  # RFC 6962 root over the receipts' canonical bytes
  receiptCount @4 :UInt32;
  firstMs @5 :UInt64;
  lastMs @6 :UInt64;
  workUnits @7 :UInt64;   # Σ of the receipts' work units (rent's complexity part)
  resultBytes @8 :UInt64; # Σ of the receipts' result bytes (rent's storage part)
}

# Seed 004's header. The fixed 176/368-byte binary form is defined in docs/protocol.md;
# this is the same object for use inside other Cap'n Proto messages.
struct PoEHeader {
  bpiId @0 :Data;
  logbookRoot @1 :Data;
  executionHash @2 :Data;
  timestamp @3 :UInt64;
  rentPayment @4 :UInt64;
  signature @5 :Data;     # 64 bytes (Ed25519) or 256 bytes (RSA-2048)
}
