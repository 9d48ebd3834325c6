"""Therapist effects at 20,000 clients in 500 therapists (synthetic, seeded): the library and the command.

1. ``therapist_effects(..., ci="profile")`` (validating the columns, the REML fit, the ICC's profile
   interval and the therapists' EB effects) against lme4's ``lmer(post ~ pre + (1 | therapist))`` fit
   alone, timed inside R on a warm session (best of 5, data already loaded; ours best of 10). Target:
   ours <= 0.2 x lme4 (a speedup >= 5). Check: the ICC agrees with lme4 run to convergence within 1e-6
   relative.
2. The same against statsmodels' ``MixedLM(...).fit(reml=True)`` (arrays, no formula), best of 3 each,
   called alternately. Target: a speedup >= 5; check: the ICC within 1e-4 relative (statsmodels' own
   stopping rule).
3. ``commonfactors therapists FILE --format json`` from a cold start (interpreter, imports, reading the
   CSV, fit, interval, EB effects, printing) against ``Rscript`` doing the same with lme4: ``read.csv``,
   ``lmer``, the ICC's profile interval from the REML criterion (``devFunOnly = TRUE`` and ``uniroot``)
   and ``ranef(condVar = TRUE)``, printed. Median of 5 each. Target: ours faster (a speedup >= 1).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from shutil import which

import numpy as np
from _harness import ROOT, Record, interleaved, median_wall, run_r

SEED = 20261205
N_THERAPISTS = 500
PER_THERAPIST = 40
ICC = 0.05


def simulate(m: int = N_THERAPISTS, per: int = PER_THERAPIST, icc: float = ICC, seed: int = SEED):
    """m therapists x per clients: pre ~ N(25, 6), post = 10 + 0.6 pre + u_j + e, e ~ N(0, 16) and
    var(u) / (var(u) + 16) = icc. Returns a DataFrame (client, therapist, pre, post)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    j = np.repeat(np.arange(m), per)
    n = j.shape[0]
    pre = np.round(rng.normal(25.0, 6.0, n), 1)
    u = rng.normal(0.0, np.sqrt(icc / (1 - icc) * 16.0), m)
    post = np.round(10.0 + 0.6 * pre + u[j] + rng.normal(0.0, 4.0, n), 2)
    return pd.DataFrame({"client": [f"C{i:05d}" for i in range(n)], "therapist": [f"T{t:03d}" for t in j],
                         "pre": pre, "post": post})


def lme4_rscript() -> str | None:
    """Path of Rscript when R with lme4 is usable here, else None."""
    path = which("Rscript")
    if path is None:
        return None
    ok = subprocess.run([path, "-e", "suppressMessages(library(lme4))"], capture_output=True)
    return path if ok.returncode == 0 else None


R_FIT = """
suppressMessages(library(lme4))
d <- read.csv("DATA")
fit <- function() lmer(post ~ pre + (1 | therapist), data = d, REML = TRUE)
invisible(fit())
times <- sapply(1:5, function(i) { t0 <- proc.time()[["elapsed"]]; fit(); proc.time()[["elapsed"]] - t0 })
m <- fit()
t0 <- proc.time()[["elapsed"]]
ci <- suppressWarnings(suppressMessages(confint(m, method = "profile", oldNames = FALSE)))
t_confint <- proc.time()[["elapsed"]] - t0
m <- lmer(post ~ pre + (1 | therapist), data = d, REML = TRUE,
          control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))
vc <- as.data.frame(VarCorr(m))
icc <- vc$vcov[1] / sum(vc$vcov)
cat(sprintf("%.17g", c(min(times), t_confint, icc)), sep = "\\n")
"""

#: Rscript doing what `commonfactors therapists FILE --format json` does: fit, ICC with its profile interval,
#: the therapists' EB effects with their conditional variances, printed
R_COMMAND = """
suppressMessages(library(lme4))
d <- read.csv("DATA")
m <- lmer(post ~ pre + (1 | therapist), data = d, REML = TRUE)
dev <- lmer(post ~ pre + (1 | therapist), data = d, REML = TRUE, devFunOnly = TRUE)
th <- getME(m, "theta"); d0 <- dev(th); f <- function(t) dev(t) - d0 - qchisq(0.95, 1)
lo <- if (f(0) <= 0) 0 else uniroot(f, c(0, th), tol = 1e-10)$root
hi <- uniroot(f, c(th, th + 1), extendInt = "upX", tol = 1e-10)$root
vc <- as.data.frame(VarCorr(m))
re <- ranef(m, condVar = TRUE)$therapist
print(summary(m)); print(head(re))
cat(sprintf("%.10g", c(vc$vcov[1] / sum(vc$vcov), lo^2 / (1 + lo^2), hi^2 / (1 + hi^2))), sep = "\\n")
"""


def run() -> list[Record]:
    records = [
        Record(name=f"therapist_effects {N_THERAPISTS * PER_THERAPIST:,} clients / {N_THERAPISTS} therapists "
                    "(fit + profile CI + EB)", peer_name="lme4 lmer fit alone (warm)", target=5.0),
        Record(name="therapist_effects, same data", peer_name="statsmodels MixedLM fit", target=5.0),
        Record(name="therapists command, cold start", peer_name="Rscript + lme4, same", target=1.0),
    ]
    import commonfactors as cf

    df = simulate()
    res = None

    def ours():
        nonlocal res
        res = cf.therapist_effects(df, outcome="post", therapist="therapist", client="client", baseline="pre",
                                   ci="profile")

    ours()  # warm: imports
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "practice.csv"
        df.to_csv(csv, index=False)
        _vs_statsmodels(records[1], df, ours, lambda: res)
        t_ours = min(_timed(ours) for _ in range(10))
        r = lme4_rscript()
        if r is None:
            records[0].skipped = records[2].skipped = "Rscript with lme4 is not on PATH"
        else:
            _vs_lme4(records[0], csv, t_ours, res)
        _command(records[2], csv, r, res)
    return records


def _timed(fn) -> float:
    import time

    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _vs_lme4(rec: Record, csv: Path, t_ours: float, res) -> None:
    t_fit, t_confint, icc_r = (float(x) for x in run_r(R_FIT.replace("DATA", str(csv))).split())
    rec.ours, rec.peer = t_ours, t_fit
    rel = abs(res.icc - icc_r) / icc_r
    rec.checks_ok = rel <= 1e-6
    rec.notes.append(f"ICC {res.icc:.8f} [{res.ci_low:.5f}, {res.ci_high:.5f}] (profile); lme4 {icc_r:.8f}, "
                     f"relative difference {rel:.1e}; ours best of 10, lme4 best of 5")
    rec.notes.append(f"lme4's confint(method = 'profile') on the same fit: {t_confint:.2f} s "
                     f"({t_confint / t_ours:,.0f}x our fit + interval)")


def _vs_statsmodels(rec: Record, df, ours, result) -> None:
    try:
        import statsmodels
        from statsmodels.regression.mixed_linear_model import MixedLM
    except ImportError as e:
        rec.skipped = f"statsmodels is not installed ({e})"
        return
    import warnings

    y = df["post"].to_numpy()
    X = np.column_stack([np.ones(len(df)), df["pre"].to_numpy()])
    groups = df["therapist"].to_numpy()
    fitted = {}

    def peer():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted["sm"] = MixedLM(y, X, groups).fit(reml=True)

    rec.ours, rec.peer = interleaved(ours, peer, repeat=3)
    sm = fitted["sm"]
    cov_re = float(np.asarray(sm.cov_re)[0, 0])
    icc_sm = cov_re / (cov_re + float(sm.scale))
    rel = abs(result().icc - icc_sm) / icc_sm
    rec.checks_ok = rel <= 1e-4
    rec.notes.append(f"statsmodels {statsmodels.__version__}: ICC {icc_sm:.8f}, relative difference "
                     f"{rel:.1e} (its own stopping rule); best of 3 each, alternating")


def _command(rec: Record, csv: Path, r: str | None, res) -> None:
    cmd = [sys.executable, "-m", "commonfactors.cli", "therapists", str(csv), "--client", "client",
           "--therapist", "therapist", "--outcome", "post", "--baseline", "pre", "--format", "json"]
    rec.ours, proc = median_wall(cmd, 5, cwd=ROOT)
    if proc.returncode != 0:
        rec.ours = None
        rec.skipped = (f"`commonfactors therapists` failed (exit {proc.returncode}): "
                       f"{proc.stderr.strip()[-300:]}")
        return
    out = json.loads(proc.stdout)
    rec.notes.append(f"ours: python -m commonfactors.cli therapists ... --format json: ICC {out['icc']:.8f} "
                     f"[{out['ci_low']:.6f}, {out['ci_high']:.6f}]")
    if r is None:
        return
    script = Path(csv).with_suffix(".R")
    script.write_text(R_COMMAND.replace("DATA", str(csv)))
    rec.peer, proc_r = median_wall([r, str(script)], 5)
    if proc_r.returncode != 0:
        rec.peer = None
        rec.skipped = f"Rscript failed: {proc_r.stderr.strip()[-300:]}"
        return
    icc_r, lo_r, hi_r = (float(x) for x in proc_r.stdout.split()[-3:])
    worst = max(abs(out["icc"] - icc_r) / icc_r, abs(out["ci_low"] - lo_r) / lo_r,
                abs(out["ci_high"] - hi_r) / hi_r)
    rec.checks_ok = worst <= 1e-5  # lme4's default optimiser stops short of full convergence
    rec.notes.append(f"R: ICC {icc_r:.8f} [{lo_r:.6f}, {hi_r:.6f}] (lme4 defaults; largest relative "
                     f"difference {worst:.1e}); median of 5 cold starts each")


if __name__ == "__main__":  # python benchmarks/bench_therapists.py
    from _harness import table

    print(table(run()))
