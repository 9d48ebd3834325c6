"""Case diagnostics, bias diagnostics and subgroups at scale: time and peak memory.

- ``influence`` with k = 100,000 (with and without a moderator) against ``meta_analysis`` fits of the same
  data: the k leave-one-out models must cost less than 100 fits (the peer: one fit timed, times 100), not
  k fits;
- ``bias_tests`` (Egger twice, Begg, trim and fill, fail-safe N, PET-PEESE, 3PSM) with k = 100,000 against
  500 ``meta_analysis`` fits (trim and fill alone refits the model at each of its iterations);
- ``meta_analysis(by=...)`` with 10,000 levels (k = 100,000) against the same 10,000 models fitted by a
  loop of ``meta_analysis`` calls, one per level (target: by= at least as fast as the loop).

Memory is tracemalloc's peak (numpy registers its buffers with it) of one call after a warm-up, reported
as arrays of k doubles: O(k) means a bounded number of them.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
from _harness import Record, best_of

K = 100_000
LEVELS = 10_000
SEED = 20240611


def simulate(k: int = K, seed: int = SEED):
    """vi ~ U(0.01, 0.2), a moderator x ~ N(0, 1), yi ~ N(0.3 + 0.1 x, vi + 0.05), a level in 0..LEVELS-1."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, size=k)
    x = rng.normal(size=k)
    return rng.normal(0.3 + 0.1 * x, np.sqrt(vi + 0.05)), vi, x, rng.integers(0, LEVELS, size=k)


def _peak_mb(fn):
    """(result, tracemalloc peak in MB) of one call."""
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, peak


def _record(name: str, peer_name: str, ours, peer, repeat: int, times: int = 1):
    """``ours`` against ``times`` calls of ``peer`` (one timed, multiplied); target: at least as fast.
    Returns the Record and the result of ``ours``."""
    rec = Record(name=name, peer_name=peer_name, target=1.0)
    ours()                                                   # warm-up: imports, caches
    rec.ours = best_of(ours, repeat)
    rec.peer = times * best_of(peer, repeat)
    result, peak = _peak_mb(ours)
    rec.notes.append(f"tracemalloc peak {peak:.0f} MB ({peak * 2**20 / (8 * K):.1f} arrays of k doubles); "
                     f"best of {repeat}")
    return rec, result


def run() -> list[Record]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                       # small levels warn (k = 1, 2), kept in results
        return _run()


def _run() -> list[Record]:
    import commonfactors as cf

    yi, vi, x, level = simulate()
    one_fit = lambda: cf.meta_analysis(yi=yi, vi=vi)          # noqa: E731
    one_fit_x = lambda: cf.meta_analysis(yi=yi, vi=vi, mods=x)  # noqa: E731
    records = [rec for rec, _ in (
        _record(f"influence k={K:,}", "100 meta_analysis fits", lambda: cf.influence(yi=yi, vi=vi), one_fit,
                3, times=100),
        _record(f"influence k={K:,}, one moderator", "100 meta-regression fits",
                lambda: cf.influence(yi=yi, vi=vi, mods=x), one_fit_x, 3, times=100),
        _record(f"bias_tests k={K:,}", "500 meta_analysis fits", lambda: cf.bias_tests(yi=yi, vi=vi), one_fit,
                1, times=500),
    )]
    order = np.argsort(level, kind="stable")
    bounds = np.searchsorted(level[order], np.arange(LEVELS + 1))
    groups = [order[bounds[g]:bounds[g + 1]] for g in range(LEVELS)]

    def loop():
        return [cf.meta_analysis(yi=yi[g], vi=vi[g]) for g in groups if g.size]

    rec, by = _record(f"meta_analysis by= {LEVELS:,} levels, k={K:,}", "a loop of meta_analysis per level",
                      lambda: cf.meta_analysis(yi=yi, vi=vi, by=level), loop, 1)
    same = all(a.coefficients == b.coefficients and a.tau2 == b.tau2
               for a, b in zip(by.results, loop(), strict=True))
    rec.checks_ok = same
    rec.notes.append(f"every level's model identical to the loop's: {same}")
    records.append(rec)
    return records
