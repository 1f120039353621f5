#!/usr/bin/env python3
"""Independent RFC 6962 reference (hashlib only), written straight from the RFC's recursive
definitions. Prints, for every tree size n in 0..N, the root and the audit path of every leaf.
Leaf i is the byte string bytes((i*31 + j) % 256 for j in range((i % 7) * 5)).

Output lines:  "root <n> <hex>"  and  "path <n> <m> <hex,hex,...>"
"""
import hashlib
import sys


def H(b):
    return hashlib.sha256(b).digest()


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return H(b"")
    if n == 1:
        return H(b"\x00" + leaves[0])
    k = split(n)
    return H(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m, leaves):
    n = len(leaves)
    if n <= 1:
        return []
    k = split(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def leaf(i):
    return bytes((i * 31 + j) % 256 for j in range((i % 7) * 5))


N = int(sys.argv[1])
for n in range(N + 1):
    leaves = [leaf(i) for i in range(n)]
    print("root", n, mth(leaves).hex())
    for m in range(n):
        print("path", n, m, ",".join(p.hex() for p in path(m, leaves)))
