# A signed, domain-separated message. The signature covers
#   "poe/sig/v1" ‖ len(chainId) ‖ chainId ‖ type (u16 BE) ‖ payload
# so a signature for one chain or one purpose never verifies for another.
@0xea0dd42bb5aac144;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("poe::schema");

struct Envelope {
  chainId @0 :Text;
  type @1 :UInt16;        # poe::msg_type
  signerKey @2 :Data;     # DER SubjectPublicKeyInfo; signer id = SHA-256 of it
  payload @3 :Data;       # canonical bytes of the inner object
  signature @4 :Data;
}
