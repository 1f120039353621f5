#!/usr/bin/env python3
"""Every multi-process test gets ports of its own: ctest -j2 runs them side by side, and two
devnets on one port range fail each other at random (devnet_test.sh and notary_devnet_test.sh
both used 7600.. once). Reads each tests/*.sh's devnet ranges (--base-port, --metrics-base-port,
--gateway-base-port with its -n) and fixed listeners (127.0.0.1:PORT) and fails on an overlap
between two scripts, naming both.

    tests/check_ports.py [TESTS_DIR]
"""
import pathlib
import re
import sys

tests = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
ranges = []  # (first, last, script, what)
for script in sorted(tests.glob("*.sh")):
    text = script.read_text()
    counts = [int(n) for n in re.findall(r"\bup -n (\d+)", text)] or [1]
    n = max(counts)
    for flag in ("--base-port", "--metrics-base-port", "--gateway-base-port"):
        for port in set(re.findall(flag + r"[ =](\d+)", text)):
            ranges.append((int(port), int(port) + n - 1, script.name, f"{flag} {port} (-n {n})"))
    for port in set(re.findall(r"127\.0\.0\.1:(\d{4,5})\b", text)):
        p = int(port)
        if not any(a <= p <= b for a, b, s, _ in ranges if s == script.name):
            ranges.append((p, p, script.name, f"127.0.0.1:{p}"))
clashes = []
for i, (a1, b1, s1, w1) in enumerate(ranges):
    for a2, b2, s2, w2 in ranges[i + 1:]:
        if s1 != s2 and a1 <= b2 and a2 <= b1:
            clashes.append(f"{s1} ({w1}) and {s2} ({w2}) share ports {max(a1, a2)}..{min(b1, b2)}")
for c in clashes:
    print("CLASH:", c)
scripts = len({s for _, _, s, _ in ranges})
print(f"{len(ranges)} port ranges of {scripts} test scripts checked: {'no overlap' if not clashes else f'{len(clashes)} overlaps'}")
sys.exit(1 if clashes else 0)
