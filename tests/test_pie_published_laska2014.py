"""Laska, K. M., Gurman, A. S., & Wampold, B. E. (2014). Expanding the lens of evidence-based practice in
psychotherapy: A common factors perspective. Psychotherapy, 51(4), 467-481. doi:10.1037/a0034332.

Its "% of outcome variability" per factor, reproduced from the d values by r^2 with r = d / sqrt(d^2 + 4)
(Wampold & Imel 2015's conversion; Borenstein et al. 2009 eq. 7.7). **secondary**: the percentages were seen
only in secondary sources (data/published/README.md, section A; data/published/pies.csv), and the d inputs
are the README's arithmetic check, not read from the article's table. Tolerance: half a unit in the last
printed digit (percent printed to 1 decimal).
"""

import pytest

from commonfactors.factors import convert, published_pies
from tolerances import printed

# category (as in pies.csv) -> (d, % of outcome variability as published)
LASKA = {
    "goal consensus / collaboration": (0.72, 11.5),
    "empathy": (0.63, 9.0),
    "alliance": (0.57, 7.5),
    "positive regard / affirmation": (0.56, 7.3),
    "congruence / genuineness": (0.49, 5.7),
    "competence": (0.14, 0.5),
}


@pytest.mark.parametrize("category", list(LASKA))
def test_percent_of_variance_from_d(category):
    d, pct = LASKA[category]
    assert 100 * convert.d_to_share(d) == pytest.approx(pct, abs=printed(1))


def test_adherence_below_one_tenth_of_a_percent():
    assert 100 * convert.d_to_share(0.04) < 0.1  # published as "<0.1%"


def test_the_shipped_pie_rows_carry_the_same_numbers_and_the_secondary_flag():
    pies = published_pies()
    rows = pies[pies["source"].str.startswith("Laska")].set_index("category")
    assert set(rows["verified"]) == {"secondary"}
    for category, (_, pct) in LASKA.items():
        assert rows.loc[category, "share"] == pytest.approx(pct / 100, abs=1e-12)
    assert rows.loc["treatment differences", "share_text"] == "<1"
