"""Coverage of the ICC's profile-likelihood interval (and, for comparison, of a Wald interval) in small
practices: seeded simulations of the random-intercept model, fitted by the closed-form REML engine.

Model: y_ij = b0 + b1 x_ij + u_j + e_ij, u_j ~ N(0, s2_t), e_ij ~ N(0, 1), s2_t = icc / (1 - icc), so the
true ICC is s2_t / (s2_t + 1) = icc. The covariate x (an intake score) is drawn once per condition and kept
for every replicate (a fixed design), so all replicates of a condition share X and are fitted together as
lanes of ``commonfactors.models._lmm`` (one pass of the sums, one vectorised REML minimisation).

Intervals at the 95% level, for each replicate:

- **profile**: {theta: d(theta) - d(theta_hat) <= chi2_1(0.95)}, d the REML criterion profiled over beta and
  sigma2, mapped through icc = theta^2 / (1 + theta^2) (THERAPISTS.md section 2); the library's
  ``_lmm.profile_theta_t`` computes it for one data set; here its roots are found for all lanes at once by
  bisection on the library's criterion (the two agree, checked below);
- **Wald on the theta scale**: theta_hat +- z se(theta_hat), se from the observed information of the
  profiled criterion, Var(theta_hat) = 2 / d''(theta_hat) (d = -2 log-likelihood), the lower end
  truncated at 0, mapped through theta^2 / (1 + theta^2) (the map is monotone, so the interval is that of
  the delta method on the theta scale). At a boundary fit (theta_hat = 0) d''(0) = 2 dd/dtau at tau = 0;
- **Wald on the ICC scale** (the delta method): icc_hat +- z se(theta_hat) 2 theta_hat / (1 + theta_hat^2)^2,
  the lower end truncated at 0 (a boundary fit gives the empty-width interval [0, 0]).

Acceptance (THERAPISTS.md section 5, item 3): with 2,000 replications per condition, profile coverage in
[0.93, 0.97] (Monte Carlo s.e. about 0.005). The Wald coverage is printed, not asserted: it falls short with
few therapists or a small ICC, which is why the profile interval is the default.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from commonfactors.models import _lmm

#: chi-square(1) quantile at 0.95 and the normal one at 0.975
Q95 = 3.841458820694124
Z975 = 1.959963984540054
#: (therapists, clients per therapist, true ICC), THERAPISTS.md section 2's table
CONDITIONS = [(20, 10, 0.05), (30, 12, 0.08), (100, 10, 0.02), (120, 25, 0.05)]
REPS = 2000
SEED = 20261205


def simulate(m: int, per: int, icc: float, reps: int, seed: int):
    """(X, Y, groups): X (n, 2) = [1, x] shared by the replicates, Y (n, reps), groups (n,)."""
    rng = np.random.default_rng([seed, m, per, round(icc * 1000)])
    groups = np.repeat(np.arange(m), per)
    n = groups.shape[0]
    x = rng.normal(0.0, 1.0, n)
    X = np.column_stack((np.ones(n), x))
    u = rng.normal(0.0, math.sqrt(icc / (1.0 - icc)), (m, reps))
    Y = 0.5 + 0.6 * x[:, None] + u[groups] + rng.normal(0.0, 1.0, (n, reps))
    return X, Y, groups


def _crit(theta, st):
    return _lmm.evaluate(theta * theta, 0.0, st, reml=True).crit


def _bisect(lo, hi, rising, steps: int = 64):
    """Each lane's root of ``rising`` (negative at lo, positive at hi) by bisection: 64 halvings of a
    bracket at most a factor of 2 wide (or [0, theta_hat]) leave it below 1e-18 of its width."""
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        up = rising(mid) > 0
        lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
    return 0.5 * (lo + hi)


def profile_intervals(st, theta_hat, crit_hat):
    """The profile interval of theta for every lane, {theta: d(theta) - d(theta_hat) <= chi2_1(0.95)}:
    the lower root in [0, theta_hat] (0 when d(0) is within the bound), the upper one bracketed by doubling
    from max(2 theta_hat, 1e-3) (inf beyond theta = 1e4), both by bisection, all lanes at once. The
    library's ``_lmm.profile_theta_t`` (one data set) must give the same roots (checked below)."""
    L = theta_hat.shape[0]

    def excess(th):
        return _crit(th, st) - crit_hat - Q95

    hi_hi = np.maximum(2.0 * theta_hat, 1e-3)
    open_ = excess(hi_hi) <= 0
    while open_.any() and (hi_hi[open_] < 1e4).any():
        hi_hi = np.where(open_, 2.0 * hi_hi, hi_hi)
        open_ = open_ & (excess(hi_hi) <= 0)
    hi_lo = np.where(hi_hi > np.maximum(2.0 * theta_hat, 1e-3), hi_hi / 2, theta_hat)
    high = np.where(open_, np.inf, _bisect(hi_lo, hi_hi, excess))
    low = _bisect(np.zeros(L), theta_hat.copy(), lambda th: -excess(th))
    return np.where(excess(np.zeros(L)) <= 0, 0.0, low), high


def wald_intervals(st, theta_hat):
    """theta_hat +- z se on the theta scale, se^2 = 2 / d''(theta_hat); d''(theta) from the analytic
    derivative dd/dtau (tau = theta^2): dd/dtheta = 2 theta dd/dtau, differentiated numerically (central
    differences, step 1e-4 max(theta, 0.01)); at theta = 0, d''(0) = 2 dd/dtau. Lower end truncated at 0."""
    def dd_dtheta(th):
        return 2.0 * th * _lmm.evaluate(th * th, 0.0, st, reml=True).grad_t

    h = 1e-4 * np.maximum(theta_hat, 0.01)
    second = np.where(theta_hat > 0,
                      (dd_dtheta(theta_hat + h) - dd_dtheta(np.maximum(theta_hat - h, 0.0))) /
                      (theta_hat + h - np.maximum(theta_hat - h, 0.0)),
                      2.0 * _lmm.evaluate(np.zeros_like(theta_hat), 0.0, st, reml=True).grad_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(2.0 / second)
    return np.maximum(theta_hat - Z975 * se, 0.0), theta_hat + Z975 * se


def icc_of(theta):
    return np.where(np.isinf(theta), 1.0, theta * theta / (1.0 + theta * theta))


def study(m: int, per: int, icc: float, reps: int = REPS, seed: int = SEED) -> dict:
    """Coverage of both intervals, the share of boundary fits, and the fits themselves (for checks)."""
    X, Y, groups = simulate(m, per, icc, reps, seed)
    st = _lmm.sums(X, Y, groups)
    fit = _lmm.fit(st, reml=True, lanes=reps)
    theta_hat, crit_hat = fit.theta[:, 0], fit.ev.crit
    lo, hi = profile_intervals(st, theta_hat, crit_hat)
    w_lo, w_hi = wald_intervals(st, theta_hat)
    covered = (icc_of(lo) <= icc) & (icc <= icc_of(hi))
    w_covered = (icc_of(w_lo) <= icc) & (icc <= icc_of(w_hi))
    # the delta method on the ICC scale: se(icc) = se(theta) 2 theta / (1 + theta^2)^2
    se_theta = (w_hi - theta_hat) / Z975
    icc_hat, se_icc = icc_of(theta_hat), se_theta * 2 * theta_hat / (1 + theta_hat**2) ** 2
    d_covered = (np.maximum(icc_hat - Z975 * se_icc, 0.0) <= icc) & (icc <= icc_hat + Z975 * se_icc)
    return {"profile": float(covered.mean()), "wald": float(w_covered.mean()),
            "delta": float(d_covered.mean()), "boundary": float(np.mean(theta_hat < _lmm.SINGULAR_TOL)),
            "converged": bool(fit.converged.all()),
            "X": X, "Y": Y, "groups": groups, "theta": theta_hat, "crit": crit_hat, "low": lo, "high": hi}


def _line(m, per, icc, out, reps) -> str:
    se = math.sqrt(0.95 * 0.05 / reps)
    return (f"{m} x {per}, ICC {icc:.2f}: profile {out['profile']:.3f}, Wald on the theta scale "
            f"{out['wald']:.3f}, on the ICC scale {out['delta']:.3f}, fits at ICC = 0 "
            f"{100 * out['boundary']:.1f}% ({reps} replications, MC s.e. {se:.3f})")


def test_the_vectorised_profile_is_the_library_interval():
    """Each lane's fit and interval equal the library's one-data-set functions (``fit``,
    ``profile_theta_t``), boundary fits included."""
    out = study(20, 10, 0.05, reps=40, seed=SEED + 1)
    assert out["boundary"] > 0  # the check covers fits at ICC = 0 too
    for r in range(40):
        st = _lmm.sums(out["X"], out["Y"][:, r], out["groups"])
        one = _lmm.fit(st, reml=True)
        assert one.theta[0, 0] == pytest.approx(out["theta"][r], rel=1e-8, abs=1e-12)
        low, high = _lmm.profile_theta_t(st, reml=True, theta_hat=float(one.theta[0, 0]),
                                         crit_hat=float(one.ev.crit[0]), q=Q95)
        assert low == pytest.approx(out["low"][r], rel=1e-8, abs=1e-12)
        assert high == pytest.approx(out["high"][r], rel=1e-8)


def test_profile_coverage_in_a_loose_band_with_few_replications():
    """300 replications of 30 therapists x 12 clients at ICC .08 (MC s.e. 0.013): the profile interval
    covers between 0.90 and 0.99; an interval of the wrong width (say a Wald-type 0.86, or a 99% one)
    falls outside."""
    out = study(30, 12, 0.08, reps=300)
    print(_line(30, 12, 0.08, out, 300))
    assert out["converged"]
    assert 0.90 <= out["profile"] <= 0.99


@pytest.mark.slow
@pytest.mark.parametrize(("m", "per", "icc"), CONDITIONS, ids=[f"{m}x{p}-icc{i}" for m, p, i in CONDITIONS])
def test_profile_coverage(m, per, icc):
    """2,000 seeded replications: profile coverage in [0.93, 0.97]; the Wald coverage printed."""
    out = study(m, per, icc)
    print(_line(m, per, icc, out, REPS))
    assert out["converged"]
    assert 0.93 <= out["profile"] <= 0.97
