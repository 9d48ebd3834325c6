"""General dominance weights (commonfactors.factors.dominance): oracles, a published worked example,
and the boundary checks of a user-supplied correlation matrix.

References: Budescu, D. V. (1993). Psychological Bulletin, 114(3), 542-551; Azen, R., & Budescu, D. V.
(2003). Psychological Methods, 8(2), 129-148.
"""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from commonfactors.errors import InputError
from commonfactors.factors.dominance import (
    check_correlation_matrix,
    conditional_dominance,
    equicorrelated,
    general_dominance,
    subset_r2,
)
from reference import load
from tolerances import ALGEBRA_ATOL, ALGEBRA_RTOL, IDENTITY_RTOL, R_CLOSED_FORM_RTOL, printed

# R's `attitude` data (Chatterjee & Price 1977; 35 clerical employees; outcome `rating`): R 4.2.2,
# tests/reference/dominance.R
ATTITUDE = load("dominance")
# cor(attitude) (order: rating, complaints, privileges, learning, raises, critical, advance)
ATTITUDE_NAMES = ATTITUDE["names"]
ATTITUDE_R = np.array(ATTITUDE["correlation"])


def attitude_matrix():
    """Factors first, outcome last, as the dominance functions take them."""
    order = [1, 2, 3, 4, 5, 6, 0]
    return ATTITUDE_R[np.ix_(order, order)]


# Independent computation in R by ordinary least squares on the raw data (lm over all 64 subsets, increments
# averaged within each subset size, then over sizes, as Azen & Budescu 2003 define general dominance):
# r2 <- function(S) if (!length(S)) 0 else summary(lm(reformulate(S, "rating"), attitude))$r.squared
ATTITUDE_GD_R = ATTITUDE["general_dominance"]
ATTITUDE_R2_R = ATTITUDE["r2"]  # summary(lm(rating ~ ., attitude))$r.squared

# Published worked example: the README of the R package dominanceanalysis (Bustos Navarrete & Coutinho
# Soares, CRAN, "Linear regression" example, `dominanceAnalysis(lm(rating ~ ., attitude))`, "Average
# contribution" = general dominance, printed to 3 decimals), seen at https://r-pkg.org/pkg/dominanceanalysis
# and http://repo.miserver.it.umich.edu/cran/web/packages/dominanceanalysis/readme/README.html
ATTITUDE_GD_PUBLISHED = {
    "complaints": 0.371,
    "learning": 0.156,
    "raises": 0.120,
    "privileges": 0.051,
    "advance": 0.028,
    "critical": 0.007,
}


def brute_force_orders(R):
    """Shapley value by brute force over all p! orderings (Lindeman et al. 1980), R2 solved afresh."""
    p = R.shape[0] - 1

    def r2(S):
        if not S:
            return 0.0
        S = list(S)
        return float(R[S, p] @ np.linalg.solve(R[np.ix_(S, S)], R[S, p]))

    out = np.zeros(p)
    for order in itertools.permutations(range(p)):
        for j, i in enumerate(order):
            out[i] += r2(order[: j + 1]) - r2(order[:j])
    return out / math.factorial(p)


def test_general_dominance_equals_brute_force_over_all_orders():
    R = attitude_matrix()
    assert np.allclose(general_dominance(R), brute_force_orders(R), rtol=ALGEBRA_RTOL, atol=ALGEBRA_ATOL)


def test_general_dominance_equals_brute_force_on_random_matrices():
    rng = np.random.default_rng(7)
    for p in (1, 2, 3, 4, 5):
        X = rng.normal(size=(60, p + 1)) @ rng.normal(size=(p + 1, p + 1))
        R = np.corrcoef(X.T)
        gd = general_dominance(R)
        assert np.allclose(gd, brute_force_orders(R), rtol=ALGEBRA_RTOL, atol=ALGEBRA_ATOL)
        assert gd.sum() == pytest.approx(subset_r2(R)[-1], rel=IDENTITY_RTOL)


def test_general_dominance_matches_lm_over_all_subsets_in_r():
    gd = general_dominance(attitude_matrix())
    assert np.allclose(gd, ATTITUDE_GD_R, rtol=R_CLOSED_FORM_RTOL, atol=ALGEBRA_ATOL)
    assert gd.sum() == pytest.approx(ATTITUDE_R2_R, rel=R_CLOSED_FORM_RTOL)


def test_general_dominance_reproduces_published_attitude_example():
    gd = dict(zip(ATTITUDE_NAMES[1:], general_dominance(attitude_matrix()), strict=False))
    for name, value in ATTITUDE_GD_PUBLISHED.items():
        assert gd[name] == pytest.approx(value, abs=printed(3)), name


def test_weights_sum_to_r2_also_for_batches():
    rng = np.random.default_rng(3)
    Rs = np.stack([np.corrcoef(rng.normal(size=(40, 4)).T) for _ in range(5)])
    gd = general_dominance(Rs)
    assert gd.shape == (5, 3)
    assert np.allclose(gd.sum(axis=1), subset_r2(Rs)[:, -1], rtol=IDENTITY_RTOL)
    for i in range(5):
        assert np.allclose(gd[i], general_dominance(Rs[i]), rtol=IDENTITY_RTOL)


def test_uncorrelated_factors_get_their_squared_correlation():
    R = equicorrelated([0.3, 0.2, 0.1], 0.0)
    assert np.allclose(general_dominance(R), [0.09, 0.04, 0.01], rtol=IDENTITY_RTOL)


def test_conditional_dominance_first_column_is_r_squared():
    R = attitude_matrix()
    cd = conditional_dominance(subset_r2(R))
    assert np.allclose(cd[:, 0], R[:-1, -1] ** 2, rtol=IDENTITY_RTOL)
    assert np.allclose(
        cd[:, -1], subset_r2(R)[-1] - subset_r2(R)[[2**6 - 1 - (1 << i) for i in range(6)]], rtol=ALGEBRA_RTOL
    )


def labelled(R, names):
    return pd.DataFrame(R, index=names, columns=names)


GOOD = labelled([[1, 0.3, 0.28], [0.3, 1, 0.2], [0.28, 0.2, 1]], ["alliance", "empathy", "outcome"])


def test_check_puts_outcome_last_whatever_the_order():
    names = ["outcome", "alliance", "empathy"]
    R = GOOD.loc[names, names]
    cm = check_correlation_matrix(R)
    assert cm.names == ("alliance", "empathy")
    assert np.array_equal(cm.R, GOOD.to_numpy(dtype=float))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda R: R.rename(index={"outcome": "y"}, columns={"outcome": "y"}), r"no row named 'outcome'"),
        (lambda R: R.rename(columns={"empathy": "empath"}), r"row names and column names do not match"),
        (
            lambda R: R.replace(0.3, 1.3),
            r"row 'alliance', column 'empathy': got 1.3; expected a correlation in \[-1, 1\]",
        ),
        (
            lambda R: R.mask(R == 0.2, 0.25).where(
                ~((R.index.to_series() == "outcome").to_numpy()[:, None] & (R.columns == "empathy")), 0.2
            ),
            r"not symmetric",
        ),
        (
            lambda R: labelled([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]], list(R.index)),
            r"not positive definite",
        ),
        (lambda R: R.replace(0.28, "abc"), r"got 'abc'; expected a correlation"),
        (lambda R: R.mask(np.eye(3, dtype=bool), 0.9), r"on the diagonal"),
    ],
)
def test_bad_matrices_raise_one_line_input_errors(edit, message):
    with pytest.raises(InputError, match=message) as e:
        check_correlation_matrix(edit(GOOD.copy().astype(object)), source="m.csv")
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("m.csv")
