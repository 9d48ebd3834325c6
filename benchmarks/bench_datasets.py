"""`commonfactors datasets list` from a cold start vs `python -c "import pandas"`.

The listing needs only the descriptor (data/datapackage.json), so it must start faster than importing
pandas alone. Both sides are whole processes with the same interpreter, timed as wall clock, median of 7
runs each, alternating. Target: ours faster (a speedup >= 1).
"""

from __future__ import annotations

import statistics
import sys

from _harness import ROOT, Record, median_wall

RUNS = 7


def run() -> list[Record]:
    rec = Record(name="datasets list, cold start", peer_name='python -c "import pandas"', target=1.0)
    ours_cmd = [sys.executable, "-m", "commonfactors.cli", "datasets", "list"]
    peer_cmd = [sys.executable, "-c", "import pandas"]
    ours, peer = [], []
    for _ in range(RUNS):
        t, proc = median_wall(ours_cmd, 1, cwd=ROOT)
        if proc.returncode != 0:
            rec.skipped = f"`datasets list` failed (exit {proc.returncode}): {proc.stderr[-300:]}"
            return [rec]
        ours.append(t)
        peer.append(median_wall(peer_cmd, 1, cwd=ROOT)[0])
    rec.ours, rec.peer = statistics.median(ours), statistics.median(peer)
    rows = len(proc.stdout.strip().splitlines())
    rec.notes.append(f"ours: `python -m commonfactors.cli datasets list` ({rows} lines printed); both median "
                     f"of {RUNS} cold starts, alternating")
    return [rec]
