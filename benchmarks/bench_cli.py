"""`commonfactors pool` on the 13-study BCG file from a cold start vs Rscript with metafor doing the same.

Both sides are whole processes (interpreter start, imports, reading the CSV, the REML fit, printing),
timed as wall clock, median of 5 runs each. Target: ours <= 0.5x R's time (a speedup >= 2).
"""

from __future__ import annotations

import json
import sys

from _harness import ROOT, Record, median_wall, rscript

BCG = ROOT / "tests" / "conformance" / "inputs" / "model_bcg_RR.csv"
RUNS = 5


def run() -> list[Record]:
    rec = Record(name="pool bcg (13 studies), cold start", peer_name="Rscript + metafor", target=2.0)
    cmd = [sys.executable, "-m", "commonfactors.cli", "pool", str(BCG), "--yi", "yi", "--vi", "vi",
           "--method", "REML", "--format", "json"]
    ours, proc = median_wall(cmd, RUNS, cwd=ROOT)
    if proc.returncode != 0:
        rec.skipped = f"`commonfactors pool` failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
        return [rec]
    rec.ours = ours
    tau2 = json.loads(proc.stdout)["tau2"]
    rec.notes.append(f"ours: `python -m commonfactors.cli pool ... --format json`, tau2 = {tau2:.10g}")
    r = rscript()
    if r is None:
        rec.skipped = "Rscript with metafor is not on PATH"
        return [rec]
    code = (f'suppressMessages(library(metafor)); d <- read.csv("{BCG}"); '
            'r <- rma(yi, vi, data=d, method="REML"); print(r); cat(sprintf("%.10g\\n", r$tau2))')
    rec.peer, proc_r = median_wall([r, "-e", code], RUNS)
    if proc_r.returncode != 0:
        rec.skipped = f"Rscript failed: {proc_r.stderr.strip()[-300:]}"
        return [rec]
    tau2_r = float(proc_r.stdout.split()[-1])
    rec.checks_ok = abs(tau2 - tau2_r) <= 1e-4 * tau2_r  # metafor's default stopping rule (threshold 1e-5)
    rec.notes.append(f"R: Rscript -e 'library(metafor); rma(...)', default settings, tau2 = {tau2_r:.10g}")
    return [rec]
