"""fit_many REML over 10,000 meta-analyses of k = 20: vs PyMARE's batched REML and vs metafor's rma in a loop.

Targets: >= 5x PyMARE (the whole batch), >= 1,000x metafor per fit (metafor timed on 200 fits with its
default settings, scaled per fit), and tau2 within 1e-6 (relative, absolute floor 1e-10) of metafor
run to convergence (threshold 1e-12) on those 200 meta-analyses.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from _harness import Record, best_of, interleaved, rscript, run_r

M, K, N_R = 10_000, 20, 200
SEED = 20240501


def simulate(m: int = M, k: int = K, seed: int = SEED):
    """m meta-analyses of k studies: vi ~ U(0.01, 0.2), yi ~ N(0.3, vi + 0.05)."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, size=(m, k))
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    return yi, vi


#: metafor's rma in a loop: timed with default settings, then refitted to convergence for the check
R_LOOP = """
suppressMessages(library(metafor))
Y <- as.matrix(read.csv("YFILE", header=FALSE)); V <- as.matrix(read.csv("VFILE", header=FALSE))
fit <- function(i, ...) rma(Y[i, ], V[i, ], method="REML", ...)
invisible(fit(1))
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(nrow(Y))) try(fit(i), silent=TRUE)
elapsed <- proc.time()[["elapsed"]] - t0
failed <- 0
converged <- function(i) tryCatch(fit(i, control=list(threshold=1e-12, maxiter=1000)), error=function(e) {
  failed <<- failed + 1  # Fisher scoring two-cycles: metafor's remedy is step halving
  fit(i, control=list(threshold=1e-12, maxiter=10000, stepadj=0.5))
})
tau2 <- vapply(seq_len(nrow(Y)), function(i) converged(i)$tau2, 0)
cat(sprintf("%.17g", elapsed / nrow(Y)), failed, sprintf("%.17g", tau2), sep="\\n")
"""


def run() -> list[Record]:
    import commonfactors as cf

    yi, vi = simulate()
    res = cf.fit_many(yi, vi, method="REML")  # also warms up the imports
    notes = [f"{M:,} meta-analyses of k = {K}; {int(res.converged.sum()):,} converged; "
             f"{int((res.tau2 == 0).sum()):,} with tau2 = 0"]
    pymare = _vs_pymare(yi, vi, res, notes)
    ours = pymare.ours if pymare.ours is not None else best_of(lambda: cf.fit_many(yi, vi, method="REML"), 5)
    return [pymare, _vs_metafor(yi, vi, res, ours)]


def _vs_pymare(yi, vi, res, notes) -> Record:
    import commonfactors as cf

    rec = Record(name=f"fit_many REML m={M:,} k={K}", peer_name="PyMARE", target=5.0, notes=list(notes))
    try:
        from pymare.estimators import VarianceBasedLikelihoodEstimator
    except ImportError as e:
        rec.skipped = f"PyMARE is not installed ({e})"
        return rec
    # PyMARE's batch axis is the second one: y, v of shape (k, m), one column per meta-analysis
    y, v, X = yi.T.copy(), vi.T.copy(), np.ones((K, 1))

    def fit():
        return VarianceBasedLikelihoodEstimator(method="REML").fit(y, v, X)

    est = fit()
    rec.ours, rec.peer = interleaved(lambda: cf.fit_many(yi, vi, method="REML"), fit, repeat=7)
    tau2_pm = np.asarray(est.params_["tau2"]).ravel()
    rec.notes.append(f"PyMARE {__import__('pymare').__version__} (its default search tolerance): "
                     f"{_agreement(tau2_pm, res.tau2)} with ours")
    return rec


def _vs_metafor(yi, vi, res, ours) -> Record:
    per_fit = ours / M
    rec = Record(name=f"fit_many REML per fit (k={K})", peer_name="metafor rma loop", target=1000.0,
                 ours=per_fit, unit="s/fit")
    if rscript() is None:
        rec.skipped = "Rscript with metafor is not on PATH"
        return rec
    with tempfile.TemporaryDirectory() as tmp:
        yfile, vfile = Path(tmp) / "yi.csv", Path(tmp) / "vi.csv"
        np.savetxt(yfile, yi[:N_R], delimiter=",", fmt="%.17g")
        np.savetxt(vfile, vi[:N_R], delimiter=",", fmt="%.17g")
        out = run_r(R_LOOP.replace("YFILE", str(yfile)).replace("VFILE", str(vfile)))

    values = [float(x) for x in out.split()]
    rec.peer, failed, tau2_r = values[0], int(values[1]), np.array(values[2:])
    ok = np.abs(res.tau2[:N_R] - tau2_r) <= 1e-10 + 1e-6 * np.abs(tau2_r)
    rec.checks_ok = bool(ok.all())
    rec.notes.append(f"metafor timed on {N_R} fits (default settings), per fit; against metafor run to "
                     f"convergence (threshold 1e-12): {_agreement(res.tau2[:N_R], tau2_r)}; metafor's Fisher "
                     f"scoring failed on {failed} of them (refitted with stepadj=0.5)")
    return rec


def _agreement(tau2, reference) -> str:
    """'tau2 agrees within 1e-6 relative (absolute floor 1e-10) on n/m; largest absolute difference d'."""
    diff = np.abs(tau2 - reference)
    ok = diff <= 1e-10 + 1e-6 * np.abs(reference)
    return (f"tau2 agrees within 1e-6 relative (absolute floor 1e-10) on {int(ok.sum()):,}/{ok.size:,}; "
            f"largest absolute difference {diff.max():.1e}")
