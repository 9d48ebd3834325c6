"""The benchmark harness: records, timing helpers, the table and the JSON file.

A benchmark module is any ``benchmarks/bench_*.py`` with a function ``run() -> list[Record]``;
``run.py`` finds them by name, so adding a benchmark (multilevel, io, ...) is adding one module.
Ratios are always measured against a peer in the same run, on the same machine, never against
stored numbers.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Record:
    """One comparison. ``ours``/``peer`` are seconds (per fit when ``unit`` says so).

    ``speedup`` is peer / ours (how many times faster we are); ``target`` is the minimum speedup, or None
    for a ratio that is measured and reported without a verdict. A record whose peer could not run has
    ``skipped`` set to the reason and no verdict.
    """

    name: str
    peer_name: str
    target: float | None
    ours: float | None = None
    peer: float | None = None
    unit: str = "s"
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    checks_ok: bool = True  # agreement checks (same tau2, ...) that must hold for a pass

    @property
    def speedup(self) -> float | None:
        if self.ours is None or self.peer is None or self.ours <= 0:
            return None
        return self.peer / self.ours

    @property
    def passed(self) -> bool | None:
        if self.skipped is not None or self.speedup is None or self.target is None:
            return None
        return self.speedup >= self.target and self.checks_ok

    def to_dict(self) -> dict:
        return {**asdict(self), "speedup": self.speedup, "passed": self.passed}


def best_of(fn, repeat: int = 3) -> float:
    """Minimum wall time of ``repeat`` calls (the least-disturbed run on a shared machine)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def interleaved(ours, peer, repeat: int = 5) -> tuple[float, float]:
    """Minimum wall times of two functions called alternately, so both see the same machine load."""
    t_ours, t_peer = [], []
    for _ in range(repeat):
        t_ours.append(best_of(ours, 1))
        t_peer.append(best_of(peer, 1))
    return min(t_ours), min(t_peer)


def median_wall(cmd: list[str], repeat: int = 5, **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    """Median wall time of ``repeat`` runs of a command (cold starts); returns it and the last run."""
    times, proc = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            break
    return statistics.median(times), proc


def rscript() -> str | None:
    """Path of Rscript when R and metafor are usable here, else None."""
    from shutil import which

    path = which("Rscript")
    if path is None:
        return None
    ok = subprocess.run([path, "-e", "suppressMessages(library(metafor))"], capture_output=True)
    return path if ok.returncode == 0 else None


def run_r(code: str, *, timeout: float = 600) -> str:
    """Run an R script with Rscript and return its stdout (raises on failure)."""
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as f:
        f.write(code)
    try:
        proc = subprocess.run([rscript() or "Rscript", f.name], capture_output=True, text=True,
                              timeout=timeout)
    finally:
        os.unlink(f.name)
    if proc.returncode != 0:
        raise RuntimeError(f"Rscript failed: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def _fmt_time(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if x < 1e-3:
        return f"{x * 1e6:.1f} us{unit[1:]}"
    if x < 1:
        return f"{x * 1e3:.1f} ms{unit[1:]}"
    return f"{x:.2f} s{unit[1:]}"


def table(records: list[Record]) -> str:
    header = ["benchmark", "ours", "peer", "peer time", "ratio", "target", "result"]
    rows = []
    for r in records:
        verdict = "skip" if r.skipped else {True: "pass", False: "FAIL", None: "-"}[r.passed]
        verdict = "measured" if r.target is None and not r.skipped else verdict
        rows.append([r.name, _fmt_time(r.ours, r.unit), r.peer_name, _fmt_time(r.peer, r.unit),
                     "-" if r.speedup is None else f"{r.speedup:,.1f}x",
                     "-" if r.target is None else f">= {r.target:g}x", verdict])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in records:
        for note in ([f"skipped: {r.skipped}"] if r.skipped else []) + r.notes:
            lines.append(f"  [{r.name}] {note}")
    return "\n".join(lines)


def machine() -> dict:
    import platform

    import numpy

    return {"python": sys.version.split()[0], "numpy": numpy.__version__, "platform": platform.platform(),
            "cpus": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def write_json(records: list[Record], path: Path) -> None:
    """Atomic write: a temporary file in the same directory, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), "benchmarks": [r.to_dict() for r in records]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
