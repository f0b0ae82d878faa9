"""Print the share of mutants killed per package after `mutmut run` (see docs/testing.md).

Reads `mutmut results --all true` ("module.path.mutant: status" per line). A mutant counts as
killed when a test failed on it or it ran into the timeout (the tests noticed the change);
"survived", "no tests" and the rest count against the share.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

DETECTED = {"killed", "timeout"}


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    by_package: dict[str, Counter[str]] = defaultdict(Counter)
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if not sep or not name.startswith("wedsync_success."):
            continue
        by_package[name.split(".")[1]][status] += 1
    total: Counter[str] = Counter()
    print(f"{'package':<10} {'killed':>7} {'total':>6} {'share':>7}  statuses")
    for package, statuses in sorted(by_package.items()):
        total.update(statuses)
        _row(package, statuses)
    _row("all", total)
    return 0


def _row(label: str, statuses: Counter[str]) -> None:
    n = sum(statuses.values())
    killed = sum(statuses[s] for s in DETECTED)
    share = f"{killed / n:.1%}" if n else "-"
    detail = ", ".join(f"{s} {c}" for s, c in sorted(statuses.items()))
    print(f"{label:<10} {killed:>7} {n:>6} {share:>7}  {detail}")


if __name__ == "__main__":
    raise SystemExit(main())
