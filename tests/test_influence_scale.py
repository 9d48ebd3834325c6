"""influence() computes the k leave-one-out models together (models/_leave_one_out.py): oracle tests
against brute force, i.e. ``meta_analysis`` fitted to each of the k subsets without one study, with the
diagnostics' definitions (Viechtbauer & Cheung, 2010, Res. Synth. Methods 1(2), 112-125, eq. 12-16)
written out here; and its memory at k = 20,000 (slow).
"""

import math
import tracemalloc
import warnings

import numpy as np
import pytest

import commonfactors as cf

#: every estimator influence() supports (all of meta_analysis' but GENQ, which needs user weights)
METHODS = ["REML", "ML", "DL", "HE", "HS", "SJ", "EB", "PM", "PMM", "FE"]
#: the fast path and the refits solve tau2 to ~1e-12 (tau2.RTOL); the diagnostics agree to
ORACLE_RTOL = 1e-8


def _data(seed: int, k: int, moderators: bool):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.005, 0.3, k)
    x = 40.0 + 10.0 * rng.normal(size=k)                 # a moderator away from 0, as absolute latitudes
    tau2 = rng.uniform(0.0, 0.2)
    yi = 0.2 + (0.03 * (x - 40.0) if moderators else 0) + rng.normal(0.0, np.sqrt(vi + tau2))
    return yi, vi, (x if moderators else None)


def _brute_force(yi, vi, x, method, test):
    """The diagnostics from k separate meta_analysis fits (metafor's influence.rma.uni definitions)."""
    k = yi.shape[0]
    X = np.ones((k, 1)) if x is None else np.column_stack([np.ones(k), x])
    full = cf.meta_analysis(yi=yi, vi=vi, mods=x, method=method, test=test)
    b = np.array([c.estimate for c in full.coefficients])
    w = full.weights
    A = np.linalg.inv(X.T @ (X * w[:, None]))
    hat = w * np.einsum("ij,jk,ik->i", X, A, X)
    out = {n: np.empty(k) for n in ("leave1out_estimate", "leave1out_tau2", "leave1out_q", "rstudent",
                                     "dffits", "cooks_d", "cov_ratio")}
    out["dfbetas"] = np.empty((k, X.shape[1]))
    for i in range(k):
        keep = np.arange(k) != i
        r = cf.meta_analysis(yi=yi[keep], vi=vi[keep], mods=None if x is None else x[keep], method=method,
                             test=test)
        bi = np.array([c.estimate for c in r.coefficients])
        Xk, yk, wk = X[keep], yi[keep], 1.0 / (vi[keep] + r.tau2)
        Ak = np.linalg.inv(Xk.T @ (Xk * wk[:, None]))
        resid = yk - Xk @ (Ak @ (Xk.T @ (wk * yk)))
        s2 = float(np.sum(wk * resid**2)) / (k - 1 - X.shape[1]) if test == "knha" else 1.0
        diff = b - bi
        out["leave1out_estimate"][i], out["leave1out_tau2"][i], out["leave1out_q"][i] = bi[0], r.tau2, r.q
        out["rstudent"][i] = (yi[i] - X[i] @ bi) / math.sqrt(s2 * (vi[i] + r.tau2) + X[i] @ r.vcov @ X[i])
        out["dffits"][i] = X[i] @ diff / math.sqrt(s2 * hat[i] * (r.tau2 + vi[i]))
        out["cooks_d"][i] = diff @ np.linalg.inv(full.vcov) @ diff
        out["cov_ratio"][i] = np.linalg.det(r.vcov) / np.linalg.det(full.vcov)
        w_all = 1.0 / (vi + r.tau2)
        out["dfbetas"][i] = diff / np.sqrt(s2 * np.diag(np.linalg.inv(X.T @ (X * w_all[:, None]))))
    return out


@pytest.mark.parametrize("moderators", [False, True], ids=["intercept", "moderator"])
@pytest.mark.parametrize("method", METHODS)
def test_influence_equals_k_separate_refits(method, moderators):
    for seed, k, test in ((1, 8, "z"), (2, 16, "knha"), (3, 27, "t")):
        yi, vi, x = _data(seed, k, moderators)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = _brute_force(yi, vi, x, method, test)
            got = cf.influence(yi=yi, vi=vi, mods=x, method=method, test=test)
        assert got.warnings == ()
        for name, values in expected.items():
            np.testing.assert_allclose(getattr(got, name), values, rtol=ORACLE_RTOL, atol=1e-12,
                                       err_msg=f"{method} k={k} {test}: {name}")


def test_influence_far_from_the_full_estimate_equals_refits():
    """One outlier with a tiny variance: without it tau2 drops far from the full-data value (outside the
    series' radius), so the sums are computed directly for that study."""
    yi, vi, _ = _data(4, 25, False)
    yi[3], vi[3] = 4.0, 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _brute_force(yi, vi, None, "REML", "z")
        got = cf.influence(yi=yi, vi=vi)
    assert expected["leave1out_tau2"][3] < 0.5 * np.median(expected["leave1out_tau2"])
    for name, values in expected.items():
        np.testing.assert_allclose(getattr(got, name), values, rtol=ORACLE_RTOL, atol=1e-12, err_msg=name)


def test_influence_study_that_identifies_a_level_is_nan_with_a_warning():
    """Without the only study of a level, the dummy's coefficient is not estimable: NaN, as before."""
    yi, vi, _ = _data(5, 10, False)
    group = np.array(["a"] * 9 + ["b"])
    import pandas as pd

    df = pd.DataFrame({"yi": yi, "vi": vi, "g": group})
    with pytest.warns(cf.errors.SmallKWarning, match="cannot be fitted without study 10"):
        res = cf.influence(df, mods="~ g", slab=[str(i) for i in range(1, 11)])
    assert np.isnan(res.rstudent[9]) and np.isfinite(res.rstudent[:9]).all()


@pytest.mark.slow
def test_influence_memory_is_linear_in_k():
    """k = 20,000 studies with a moderator: peak memory of the computation below 35 MB (16 MB measured;
    the inputs take 0.5 MB, and a k x k matrix of the textbook formulas would take 3.2 GB)."""
    yi, vi, x = _data(6, 20_000, True)
    cf.influence(yi=yi[:50], vi=vi[:50], mods=x[:50])     # imports (formulaic) outside the count
    tracemalloc.start()
    res = cf.influence(yi=yi, vi=vi, mods=x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.isfinite(res.rstudent).all()
    assert peak < 35e6, f"peak {peak / 1e6:.1f} MB"


LEAVE1OUT_COLUMNS = ("estimate", "se", "stat", "pval", "ci_low", "ci_high", "q", "q_pval", "tau2", "i2", "h2")


@pytest.mark.parametrize("method", METHODS)
def test_leave_one_out_and_baujat_equal_k_separate_refits(method):
    for seed, k, test in ((7, 6, "z"), (8, 19, "knha"), (9, 33, "t")):
        yi, vi, _ = _data(seed, k, False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits = [cf.meta_analysis(yi=np.delete(yi, i), vi=np.delete(vi, i), method=method, test=test)
                    for i in range(k)]
            full = cf.meta_analysis(yi=yi, vi=vi, method=method)
            fits_z = fits if test == "z" else [
                cf.meta_analysis(yi=np.delete(yi, i), vi=np.delete(vi, i), method=method) for i in range(k)]
            loo = cf.leave_one_out(yi=yi, vi=vi, method=method, test=test)
            bj = cf.baujat(yi=yi, vi=vi, method=method)
        assert loo.warnings == () and bj.warnings == ()
        for name in LEAVE1OUT_COLUMNS:
            np.testing.assert_allclose(getattr(loo, name), [getattr(r, name) for r in fits], rtol=ORACLE_RTOL,
                                       atol=1e-12, err_msg=f"{method} k={k} {test}: {name}")
        # Baujat's y: (b - b_(-i))^2 / Var(b_(-i)) (metafor's baujat, models without moderators)
        expected_y = [(full.estimate - r.estimate) ** 2 / r.se**2 for r in fits_z]
        np.testing.assert_allclose(bj.y, expected_y, rtol=ORACLE_RTOL, atol=1e-14, err_msg=f"{method} k={k}")
