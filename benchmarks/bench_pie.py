"""`pie --method dominance` with 12 factors and the default 10,000 draws.

Ours: general dominance weights from the subset R2 swept from their parents (factors/dominance.py), in
cache-sized batches. Peer, in the same run: the straightforward computation, one batched np.linalg.solve per
subset over all the draws and the conditional dominance averaged over sizes (what the pie did before),
timed on 500 of the same draws and scaled to 10,000 (its work is linear in the draws). Target: >= 10x, with
the same weights (1e-10). The notes give the whole pie in this process (wall time and tracemalloc peak) and
the command in a new process (wall time and the child's peak resident memory).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _harness import Record, best_of

P = 12
DRAWS = 10_000
PEER_DRAWS = 500
N = 3000
SEED = 20241205


def correlation_matrix(p: int = P, seed: int = SEED) -> np.ndarray:
    """A positive definite correlation matrix of p factors and the outcome (last), from 4,000 random rows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4000, p + 1)) @ (np.eye(p + 1) + 0.15 * rng.normal(size=(p + 1, p + 1)))
    return np.corrcoef(X.T).round(3)


def drawn_matrices(R: np.ndarray, draws: int, n: float = N, seed: int = SEED) -> np.ndarray:
    """Positive definite draws tanh(atanh(r) + N(0, 1) / sqrt(n - 3)), as the pie draws them."""
    from commonfactors.factors.dominance import is_positive_definite

    rng = np.random.default_rng(seed)
    p1 = R.shape[0]
    iu = np.triu_indices(p1, 1)
    Rd = np.empty((2 * draws, p1, p1))
    vals = np.tanh(np.arctanh(R[iu]) + rng.standard_normal((2 * draws, len(iu[0]))) / np.sqrt(n - 3))
    Rd[:, iu[0], iu[1]] = Rd[:, iu[1], iu[0]] = vals
    Rd[:, np.arange(p1), np.arange(p1)] = 1.0
    return Rd[is_positive_definite(Rd)][:draws]


def solve_per_subset(Rs: np.ndarray) -> np.ndarray:
    """The peer: R2(S) = r_S' R_SS^{-1} r_S by one batched np.linalg.solve per subset, then the conditional
    dominance at each size averaged over sizes (Azen & Budescu 2003)."""
    from commonfactors.factors.dominance import conditional_dominance

    p = Rs.shape[-1] - 1
    r2 = np.zeros(Rs.shape[:-2] + (2**p,))
    for mask in range(1, 2**p):
        idx = [i for i in range(p) if mask >> i & 1]
        rs = Rs[..., idx, p]
        beta = np.linalg.solve(Rs[..., idx, :][..., :, idx], rs[..., None])[..., 0]
        r2[..., mask] = np.sum(rs * beta, axis=-1)
    return conditional_dominance(r2).mean(axis=-1)


def _pie_in_process(frame) -> tuple[float, float]:
    """Wall seconds (best of 3) and tracemalloc peak (MB, one more run) of the whole dominance pie."""
    import warnings

    from commonfactors.factors.pie import PieWarning, dominance_pie

    def pie():
        with warnings.catch_warnings():  # rejected draws are reported in the result; not timed here
            warnings.simplefilter("ignore", PieWarning)
            return dominance_pie(frame, n=N, draws=DRAWS, seed=1)

    wall = best_of(pie, 3)
    tracemalloc.start()
    pie()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return wall, peak


#: runs a command from a fresh small interpreter and writes its peak resident memory (KiB) to the file named
#: first: measured from this process, the child's peak would include this one's memory (Linux counts the
#: parent's pages a child held until it ran the new program)
MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _pie_in_a_process(frame) -> tuple[float, float, int]:
    """Wall seconds, peak resident memory (MB) and exit code of `commonfactors pie` in a new process."""
    with tempfile.TemporaryDirectory() as folder:
        path, usage = Path(folder) / "matrix.csv", Path(folder) / "usage.txt"
        frame.to_csv(path)
        t0 = time.perf_counter()
        command = [sys.executable, "-m", "commonfactors.cli", "pie", "--method", "dominance",
                   "--correlations", str(path), "--n", str(N), "--format", "json"]
        proc = subprocess.run([sys.executable, "-c", MEASURE, str(usage), *command])
        return time.perf_counter() - t0, int(usage.read_text()) / 1024, proc.returncode


def run() -> list[Record]:
    import pandas as pd

    from commonfactors.factors.dominance import general_dominance

    R = correlation_matrix()
    Rs = drawn_matrices(R, DRAWS)
    rec = Record(name=f"pie dominance, {P} factors, {DRAWS:,} draws (weights)", peer_name="solve per subset",
                 target=10.0)
    gd = general_dominance(Rs)
    part = Rs[:PEER_DRAWS]
    peer_gd = solve_per_subset(part)
    diff = float(np.max(np.abs(peer_gd - gd[:PEER_DRAWS])))
    rec.checks_ok = diff <= 1e-10
    rec.ours = best_of(lambda: general_dominance(Rs), 3)
    rec.peer = best_of(lambda: solve_per_subset(part), 1) * DRAWS / PEER_DRAWS
    names = [f"f{i}" for i in range(P)] + ["outcome"]
    frame = pd.DataFrame(R, index=names, columns=names)
    wall, peak = _pie_in_process(frame)
    cli_wall, cli_rss, code = _pie_in_a_process(frame)
    rec.notes.append(f"same weights: largest difference {diff:.1e} over {PEER_DRAWS} draws; peer timed on "
                     f"{PEER_DRAWS} draws x {DRAWS // PEER_DRAWS}")
    rec.notes.append(f"whole pie in this process: {wall:.2f} s (best of 3), tracemalloc peak {peak:.0f} MB")
    rec.notes.append(f"`commonfactors pie` in a new process: {cli_wall:.2f} s, peak resident {cli_rss:.0f} MB"
                     f" (exit {code})")
    rec.checks_ok = rec.checks_ok and code == 0
    return [rec]
