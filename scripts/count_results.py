#!/usr/bin/env python3
"""Sums the results of a meson test run. Each test program reports lines
'N passed, N failed[, N skipped]' (a wrapper script running two programs prints two); their
sum is what counts. A program without one counts as a single passed, failed or skipped test
by its exit status. Exits 1 if anything failed."""
import json
import re
import sys

SUMMARY = re.compile(r"^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$")


def main(path):
    passed = failed = skipped = 0
    with open(path) as log:
        for line in log:
            test = json.loads(line)
            result = test.get("result", "")
            counts = None
            for out_line in (test.get("stdout") or "").splitlines():
                m = SUMMARY.match(out_line.strip())
                if m:
                    found = [int(g or 0) for g in m.groups()]
                    counts = [a + b for a, b in zip(counts, found)] if counts else found
            if counts:
                p, f, s = counts
                if result not in ("OK", "SKIP", "EXPECTEDFAIL") and f == 0:
                    f = 1  # crashed or timed out after printing its summary
                passed, failed, skipped = passed + p, failed + f, skipped + s
            elif result == "OK":
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
            if result not in ("OK", "SKIP"):
                print(f"failed: {test.get('name')} ({result})", file=sys.stderr)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
