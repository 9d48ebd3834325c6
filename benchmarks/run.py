"""Run the benchmarks: `python benchmarks/run.py [NAME ...]` (what `make bench` runs).

Every ``benchmarks/bench_<name>.py`` module with a ``run()`` function is a benchmark; give names
(e.g. ``batch cli``) to run only those. Prints a table (name, ours, peer, ratio, target, pass/fail)
and writes ``benchmarks/results/latest.json``. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import RESULTS, table, write_json  # noqa: E402


def modules(names: list[str]) -> list[str]:
    found = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if not names:
        return found
    wanted = [f"bench_{n.removeprefix('bench_')}" for n in names]
    unknown = [w for w in wanted if w not in found]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; available: "
                         f"{', '.join(f.removeprefix('bench_') for f in found)}")
    return wanted


def main(argv: list[str]) -> int:
    records = []
    for name in modules(argv):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        records += importlib.import_module(name).run()
    print(table(records))
    out = RESULTS / "latest.json"
    write_json(records, out)
    print(f"\nwritten: {out.relative_to(HERE.parent)}")
    return 1 if any(r.passed is False for r in records) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
