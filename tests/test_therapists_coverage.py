"""Coverage of the ICC's profile-likelihood interval (and, for comparison, of Wald intervals) in small
practices: :func:`commonfactors.simulate.therapists.icc_coverage_study`, seeded simulations of the
random-intercept model fitted by the closed-form REML engine, in blocks of replicates run through the
simulation machinery (in this process or on Dask).

Acceptance (THERAPISTS.md section 5, item 3): with 2,000 replications per condition, profile coverage in
[0.93, 0.97] (Monte Carlo s.e. about 0.005). The Wald coverage is printed, not asserted: it falls short with
few therapists or a small ICC (on the ICC scale), which is why the profile interval is the default.
"""

from __future__ import annotations

import numpy as np
import pytest

from commonfactors.errors import InputError
from commonfactors.models import _lmm
from commonfactors.simulate import icc_coverage_study
from commonfactors.simulate.therapists import design, fit_replicates, replicates

#: chi-square(1) quantile at 0.95
Q95 = 3.841458820694124
#: (therapists, clients per therapist, true ICC), THERAPISTS.md section 2's table
CONDITIONS = [(20, 10, 0.05), (30, 12, 0.08), (100, 10, 0.02), (120, 25, 0.05)]
REPS = 2000
SEED = 20261205


def _lines(table) -> str:
    out = []
    for (m, per, icc), rows in table.groupby(["therapists", "clients", "icc"], sort=False):
        cov = dict(zip(rows["interval"], rows["coverage"], strict=True))
        first = rows.iloc[0]
        out.append(f"{m} x {per}, ICC {icc:.2f}: profile {cov['profile']:.3f}, Wald on the theta scale "
                   f"{cov['wald']:.3f}, on the ICC scale {cov['wald_icc']:.3f}, fits at ICC = 0 "
                   f"{100 * first['boundary']:.1f}% ({first['reps']} replications, MC s.e. "
                   f"{rows['coverage_mcse'].iloc[0]:.3f})")
    return "\n".join(out)


def test_the_vectorised_profile_is_the_library_interval():
    """Each lane's fit and interval equal the library's one-data-set functions (``fit``,
    ``profile_theta_t``), boundary fits included."""
    X, groups = design(20, 10, np.random.SeedSequence(SEED + 1))
    Y = replicates(X, groups, 0.05, 40, np.random.SeedSequence(SEED + 2))
    out = fit_replicates(X, Y, groups)
    assert out["boundary"].any()  # the check covers fits at ICC = 0 too
    lows, highs = out["profile_theta"]
    for r in range(40):
        st = _lmm.sums(X, Y[:, r], groups)
        one = _lmm.fit(st, reml=True)
        assert one.theta[0, 0] == pytest.approx(out["theta"][r], rel=1e-8, abs=1e-12)
        low, high = _lmm.profile_theta_t(st, reml=True, theta_hat=float(one.theta[0, 0]),
                                         crit_hat=float(one.ev.crit[0]), q=Q95)
        assert low == pytest.approx(lows[r], rel=1e-8, abs=1e-12)
        assert high == pytest.approx(highs[r], rel=1e-8)


def test_profile_coverage_in_a_loose_band_with_few_replications():
    """300 replications of 30 therapists x 12 clients at ICC .08 (MC s.e. 0.013): the profile interval
    covers between 0.90 and 0.99; an interval of the wrong width (say a Wald-type 0.86, or a 99% one)
    falls outside."""
    table = icc_coverage_study([(30, 12, 0.08)], reps=300, seed=SEED, block=100)
    print(_lines(table))
    profile = table[table["interval"] == "profile"].iloc[0]
    assert profile["failures"] == 0
    assert 0.90 <= profile["coverage"] <= 0.99
    assert profile["coverage_mcse"] == pytest.approx(np.sqrt(profile["coverage"] * (1 - profile["coverage"])
                                                             / 300))


def test_the_table_is_tidy_and_another_seed_gives_another_table():
    table = icc_coverage_study([(12, 5, 0.1), (15, 4, 0.2)], reps=60, seed=1, block=25)
    assert list(table["interval"]) == ["profile", "wald", "wald_icc"] * 2
    assert list(table["reps"]) == [60] * 6 and table["converged"].le(60).all()
    assert table["coverage"].between(0, 1).all()
    other = icc_coverage_study([(12, 5, 0.1), (15, 4, 0.2)], reps=60, seed=2, block=25)
    assert not other["coverage"].equals(table["coverage"])


def test_a_local_cluster_of_two_processes_gives_the_same_table():
    """Blocks run by two Dask worker processes, finishing in any order: the table of one process."""
    grid = [(12, 5, 0.1), (15, 4, 0.2)]
    here = icc_coverage_study(grid, reps=90, seed=3, block=20)
    assert icc_coverage_study(grid, reps=90, seed=3, block=20, workers=2).equals(here)


@pytest.mark.parametrize("bad", [[(1, 5, 0.1)], [(10, 5, 1.0)], [(10, 5)], [(10.5, 5, 0.1)], [], "x"])
def test_conditions_are_checked(bad):
    with pytest.raises(InputError, match="condition"):
        icc_coverage_study(bad, reps=10)


@pytest.mark.slow
def test_profile_coverage():
    """2,000 seeded replications per condition: profile coverage in [0.93, 0.97]; the Wald coverage
    printed."""
    table = icc_coverage_study(CONDITIONS, reps=REPS, seed=SEED)
    print(_lines(table))
    profile = table[table["interval"] == "profile"]
    assert (profile["failures"] == 0).all()
    assert profile["coverage"].between(0.93, 0.97).all(), profile.to_string()
