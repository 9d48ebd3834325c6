"""One REML fit with k = 1,000,000 studies: commonfactors.meta_analysis vs PyMARE's REML on the same data.

Target: >= 10x faster, with the same tau2 (1e-6 relative). Memory is reported as tracemalloc's peak
(numpy registers its buffers with tracemalloc): it should be O(k), a few arrays of k doubles.
A second row times fit_many on the same data as one meta-analysis (m = 1), against the same PyMARE run.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
from _harness import Record, interleaved

K = 1_000_000
SEED = 20240502


def simulate(k: int = K, seed: int = SEED):
    """vi ~ U(0.01, 0.2), yi ~ N(0.3, vi + 0.05)."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, size=k)
    return rng.normal(0.3, np.sqrt(vi + 0.05)), vi


def _timed_peak(fn):
    """(result, wall seconds, tracemalloc peak in MB) of one call."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, elapsed, peak


def run() -> list[Record]:
    import commonfactors as cf

    yi, vi = simulate()
    cf.meta_analysis(yi=yi[:100], vi=vi[:100], method="REML")  # warm up imports
    cf.fit_many(yi[:100], vi[:100], method="REML")
    fits = [(f"REML one fit k={K:,} (meta_analysis)", lambda: cf.meta_analysis(yi=yi, vi=vi, method="REML"),
             lambda res: res.tau2),
            (f"REML one fit k={K:,} (fit_many, m=1)", lambda: cf.fit_many(yi, vi, method="REML"),
             lambda res: float(res.tau2[0]))]
    records = [Record(name=name, peer_name="PyMARE", target=10.0) for name, _, _ in fits]
    try:
        from pymare.estimators import VarianceBasedLikelihoodEstimator
    except ImportError as e:
        for rec in records:
            rec.skipped = f"PyMARE is not installed ({e})"
        return records
    y, v, X = yi[:, None], vi[:, None], np.ones((K, 1))

    def fit_pymare():
        return VarianceBasedLikelihoodEstimator(method="REML").fit(y, v, X)

    est, _, peak_p = _timed_peak(fit_pymare)
    tau2_p = float(np.asarray(est.params_["tau2"]).ravel()[0])
    for rec, (_, fit, tau2_of) in zip(records, fits, strict=True):
        res, _, peak = _timed_peak(fit)
        tau2 = tau2_of(res)
        rec.ours, rec.peer = interleaved(fit, fit_pymare)  # best of 5 each, alternating: the same load
        rel = abs(tau2_p - tau2) / tau2
        rec.checks_ok = rel <= 1e-6
        rec.notes.append(f"ours: tau2 = {tau2:.10g}; tracemalloc peak {peak:.0f} MB "
                         f"({peak * 2**20 / (8 * K):.1f} arrays of k doubles)")
        rec.notes.append(f"PyMARE {__import__('pymare').__version__}: tau2 = {tau2_p:.10g} (relative "
                         f"difference {rel:.1e}), tracemalloc peak {peak_p:.0f} MB; both best of 5 calls, "
                         "alternating")
    return records
