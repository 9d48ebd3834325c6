"""`commonfactors report` of 10,000 studies vs reading the file with pandas and drawing one matplotlib figure.

Both sides are whole processes from a cold start on the same generated file (study, year, yi, vi; seeded),
timed as wall clock, median of 3 runs each, run alternately so both see the same load. The report fits the
model, runs the bias tests, the influence diagnostics, the Baujat and the cumulative analysis, draws four
figures (PNG and SVG) and writes the page with its CSV tables; the peer reads the CSV and saves one scatter
plot of yi against sqrt(vi) as PNG and SVG, the least any report of the file does. Each side's peak memory
is its process's maximum resident set size, read in a wrapper process of its own.

Target: the report within 20 times the peer's time (a ratio >= 0.05), and under 1 GB peak memory.
"""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import Record

K = 10_000
RUNS = 3
MEMORY_LIMIT_MB = 1024

#: run a command, then print its exit code and peak RSS in kB (the only child of this wrapper)
_PROBE = ("import resource, subprocess, sys; "
          "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
          "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
          "sys.stderr.write(p.stderr[-500:])")

_PEER = """
import sys
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

d = pd.read_csv(sys.argv[1])
fig = Figure(figsize=(6.0, 4.6), dpi=150, layout="constrained")
ax = fig.add_subplot()
ax.scatter(d["yi"], np.sqrt(d["vi"]), s=8)
ax.set_ylim(ax.get_ylim()[::-1])
for ext in ("png", "svg"):
    fig.savefig(f"{sys.argv[2]}.{ext}")
"""


def _studies(path: Path) -> Path:
    rng = np.random.default_rng(3)
    vi = rng.uniform(0.01, 0.2, K)
    yi = rng.normal(0.3, np.sqrt(vi + 0.04))
    year = rng.integers(1960, 2024, K)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["study", "year", "yi", "vi"])
        w.writerows([f"Study {i + 1} $5 vs $10", year[i], f"{yi[i]:.6f}", f"{vi[i]:.6f}"] for i in range(K))
    return path


def _measured(cmd: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (MB) of one run of ``cmd`` (exit status 0 required)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PROBE, *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    code, peak_kb = map(int, proc.stdout.split())
    if code != 0:
        raise RuntimeError(f"exit {code}: {proc.stderr.strip()}")
    return wall, peak_kb // 1024


def run() -> list[Record]:
    rec = Record(name=f"report of {K:,} studies, cold start", peer_name="pandas + one matplotlib figure",
                 target=0.05)
    with tempfile.TemporaryDirectory() as tmp:
        data = _studies(Path(tmp) / "studies.csv")
        ours = [sys.executable, "-m", "commonfactors.cli", "report", str(data), "--out", f"{tmp}/site",
                "--quiet"]
        peer = [sys.executable, "-c", _PEER, str(data), f"{tmp}/scatter"]
        times = {"ours": [], "peer": []}
        peaks = {"ours": 0, "peer": 0}
        try:
            for _ in range(RUNS):
                for side, cmd in (("ours", ours), ("peer", peer)):
                    wall, peak = _measured(cmd)
                    times[side].append(wall)
                    peaks[side] = max(peaks[side], peak)
        except RuntimeError as e:
            rec.skipped = f"a run failed: {e}"
            return [rec]
        page = (Path(tmp) / "site" / "index.html").stat().st_size
        figures = sum(p.stat().st_size for p in (Path(tmp) / "site" / "figures").iterdir())
    rec.ours = statistics.median(times["ours"])
    rec.peer = statistics.median(times["peer"])
    rec.checks_ok = peaks["ours"] < MEMORY_LIMIT_MB
    rec.notes.append(f"peak RSS: report {peaks['ours']} MB (limit {MEMORY_LIMIT_MB} MB), "
                     f"peer {peaks['peer']} MB")
    rec.notes.append(f"page {page / 1e3:.0f} kB, figures {figures / 1e6:.1f} MB (PNG and SVG)")
    return [rec]
