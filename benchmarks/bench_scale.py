"""Case diagnostics, bias diagnostics and subgroups at scale: time and peak memory.

- ``influence`` with k = 100,000 (with and without a moderator) against ``meta_analysis`` fits of the same
  data: the k leave-one-out models must cost less than 100 fits (the peer: one fit timed, times 100), not
  k fits;
- ``bias_tests`` (Egger twice, Begg, trim and fill, fail-safe N, PET-PEESE, 3PSM) with k = 100,000 against
  500 ``meta_analysis`` fits (trim and fill alone refits the model at each of its iterations);
- ``meta_analysis(by=...)`` with 10,000 levels (k = 100,000) against the same 10,000 models fitted by a
  loop of ``meta_analysis`` calls, one per level (target: by= at least as fast as the loop; each level's
  model the same to 1e-10 relative: the levels are fitted together by the batched engine);
- ``cumulative`` with k = 10,000 against ``meta_analysis`` of every prefix (the peer: 100 prefixes at
  j = 100, 200, ..., 10,000 timed, times 100, the sum over j of a cost linear in j); memory must stay O(k)
  (the k models kept would hold k^2 / 2 doubles per array).

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
K_CUMULATIVE = 10_000
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


def _record(name: str, peer_name: str, ours, peer, repeat: int, times: int = 1, k: int = K):
    """``ours`` against ``times`` calls of ``peer`` (one timed, multiplied); target: at least as fast.
    Returns the Record and the result of ``ours``."""
    rec = Record(name=name, peer_name=peer_name, target=1.0)
    ours()                                                   # warm-up: imports, caches
    rec.ours = best_of(ours, repeat)
    rec.peer = times * best_of(peer, repeat)
    result, peak = _peak_mb(ours)
    rec.notes.append(f"tracemalloc peak {peak:.0f} MB ({peak * 2**20 / (8 * k):.1f} arrays of k doubles); "
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
    same = all(_close((a.estimate, a.se, a.tau2, a.q), (b.estimate, b.se, b.tau2, b.q))
               for a, b in zip(by.results, loop(), strict=True))
    rec.checks_ok = same
    rec.notes.append(f"every level's estimate, se, tau2 and Q those of the loop to 1e-10: {same}")
    records.append(rec)
    records.append(_cumulative(cf, yi[:K_CUMULATIVE], vi[:K_CUMULATIVE]))
    return records


def _close(a, b, rtol: float = 1e-10) -> bool:
    return bool(np.allclose(a, b, rtol=rtol, atol=0.0))


def _cumulative(cf, yi, vi) -> Record:
    k = yi.shape[0]
    prefixes = np.linspace(k // 100, k, 100).astype(int)

    def sample():
        return [cf.meta_analysis(yi=yi[:j], vi=vi[:j]) for j in prefixes]

    rec, cum = _record(f"cumulative k={k:,}", "meta_analysis of every prefix (100 timed, x 100)",
                       lambda: cf.cumulative(yi=yi, vi=vi), sample, 1, times=k // prefixes.size, k=k)
    fits = sample()
    same = (_close([cum.estimate[j - 1] for j in prefixes], [r.estimate for r in fits], 1e-8)
            and _close([cum.tau2[j - 1] for j in prefixes], [r.tau2 for r in fits], 1e-8))
    rec.checks_ok = same
    rec.notes.append(f"estimate and tau2 of the sampled prefixes those of meta_analysis to 1e-8: {same}")
    return rec
