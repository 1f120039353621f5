#!/usr/bin/env python3
"""Independent reference (hashlib only) for the ledger's state root (docs/protocol.md,
"Ledger state root"), written from the leaf definitions, not from the C++ code.

Usage: state_root_ref.py V0_DER_HEX V1_DER_HEX A_DER_HEX

The scenario (ledger_test.cpp, "state root known answer") on chain "poe-kat":
  genesis: validators V0 (stake 1000), V1 (stake 2500); balances A 5000, X = 0x42 * 32 7;
           unbonding_blocks 10
  h1, proposer V0: A transfers 300 to X, fee 2          (A nonce 0)
  h1, proposer V1: A stakes 1200 as executor, fee 1     (A nonce 1)
  h2, proposer V0: V0 unstakes 400 validator, fee 0      (V0 nonce 0) -> releases at h12
  slash V1 validator 100000 ppm (floor(2500 * 0.1) = 250), then V1 is removed (jailed)
  evidence id 0x55 * 32 is recorded as spent
  begin_block(12) releases V0's 400

Prints "genesis <root>", "after <root>", "released <root>".
"""
import hashlib
import struct
import sys

H = lambda b: hashlib.sha256(b).digest()
u64 = lambda v: struct.pack(">Q", v)
VALIDATOR, EXECUTOR = 1, 2


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return H(b"")
    if n == 1:
        return H(b"\x00" + leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return H(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def root(accounts, stakes, unbonding, keys, jailed, pool, spent=(), treasury=0, books=()):
    leaves = []
    for i, (bal, nonce) in accounts.items():
        leaves.append(b"\x01" + i + u64(bal) + u64(nonce))
    for (i, role), v in stakes.items():
        leaves.append(b"\x02" + i + bytes([role]) + u64(v))
    for (i, role, release), v in unbonding.items():
        leaves.append(b"\x03" + i + bytes([role]) + u64(release) + u64(v))
    for i, der in keys.items():
        leaves.append(b"\x04" + i + struct.pack(">H", len(der)) + der)
    for i in jailed:
        leaves.append(b"\x05" + i)
    leaves.append(b"\x06\x01" + u64(pool))
    leaves.append(b"\x06\x02" + u64(treasury))
    for e in spent:
        leaves.append(b"\x07" + e)
    for bpi, book in books:  # book: the log book's encoding (size, last, subtree roots)
        leaves.append(b"\x08" + bpi + book)
    return mth(sorted(leaves)).hex()


v0_der, v1_der, a_der = (bytes.fromhex(x) for x in sys.argv[1:4])
v0, v1, a = H(v0_der), H(v1_der), H(a_der)
x = b"\x42" * 32
keys = {v0: v0_der, v1: v1_der}

accounts = {a: (5000, 0), x: (7, 0)}
stakes = {(v0, VALIDATOR): 1000, (v1, VALIDATOR): 2500}
print("genesis", root(accounts, stakes, {}, keys, [], 0))

accounts = {a: (5000 - 302 - 1201, 2), x: (7 + 300, 0), v0: (2, 1), v1: (1, 0)}
stakes = {(a, EXECUTOR): 1200, (v0, VALIDATOR): 600, (v1, VALIDATOR): 2250}
unbonding = {(v0, VALIDATOR, 12): 400}
keys[a] = a_der
spent = [b"\x55" * 32]
print("after", root(accounts, stakes, unbonding, keys, [v1], 250, spent))

accounts[v0] = (402, 1)
print("released", root(accounts, stakes, {}, keys, [v1], 250, spent))
