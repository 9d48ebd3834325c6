"""The caterpillar plot of therapist effects (``report.figures.caterpillar``, plot "caterpillar"): one point
and one interval per therapist, sorted by effect, n beside each label, labels thinned above 60 therapists,
a line at 0, flagged against expected in the heading; drawn into a given Axes or a figure of its own."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection

from commonfactors._plotting import draw
from commonfactors.report import figures


def ranef_table(m: int, seed: int = 1) -> pd.DataFrame:
    """EB effects of m therapists as the random-intercept model gives them (sigma_t^2 = 1, sigma^2 = 16):
    u_j = sigma_t^2 n_j / (sigma_t^2 n_j + sigma^2) rbar_j with conditional variance
    (1/sigma_t^2 + n_j/sigma^2)^-1."""
    rng = np.random.default_rng(seed)
    n = rng.integers(2, 60, m)
    rbar = rng.normal(0.0, np.sqrt(1.0 + 16.0 / n))
    eb = n / (n + 16.0) * rbar
    se = np.sqrt(1.0 / (1.0 + n / 16.0))
    df = pd.DataFrame({"therapist": [f"T{i:03d}" for i in range(m)], "n": n, "eb": eb, "se": se,
                       "ci_low": eb - 1.959963984540054 * se, "ci_high": eb + 1.959963984540054 * se})
    df["flag"] = np.where(df.ci_low > 0, 1, np.where(df.ci_high < 0, -1, 0))
    return df


class Fitted:
    """What the plot reads of a TherapistResult: ranef, level, n_flagged, expected_flagged."""

    def __init__(self, table, level=95.0):
        self.ranef, self.level = table, level
        self.n_flagged = int(np.count_nonzero(table["flag"]))
        self.expected_flagged = (1 - level / 100) * len(table)


def points_and_intervals(ax):
    points = np.concatenate([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    segments = [s for c in ax.collections if isinstance(c, LineCollection) for s in c.get_segments()]
    return points, segments


@pytest.mark.parametrize("m", [1, 30, 500])
def test_one_point_and_one_interval_per_therapist_sorted(m):
    table = ranef_table(m)
    ax = draw("caterpillar", Fitted(table))
    points, segments = points_and_intervals(ax)
    assert points.shape == (m, 2) and len(segments) == m
    by_row = points[np.argsort(points[:, 1])]
    np.testing.assert_allclose(by_row[:, 0], np.sort(table.eb.to_numpy()))  # lowest at the bottom
    ends = sorted((seg[0][1], seg[0][0], seg[1][0]) for seg in segments)
    order = np.argsort(table.eb.to_numpy(), kind="stable")
    np.testing.assert_allclose([e[1:] for e in ends], table[["ci_low", "ci_high"]].to_numpy()[order])


def test_every_therapist_labelled_with_n_up_to_60():
    table = ranef_table(30)
    ax = draw("caterpillar", Fitted(table))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    order = np.argsort(table.eb.to_numpy(), kind="stable")
    assert labels == [f"{table.therapist[i]} (n = {table.n[i]})" for i in order]


def test_labels_thinned_at_500_therapists_lowest_and_highest_kept():
    table = ranef_table(500)
    fig = figures.caterpillar(Fitted(table))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    order = np.argsort(table.eb.to_numpy(), kind="stable")
    assert len(labels) == figures.CATERPILLAR_LABELS
    assert labels[0].startswith(table.therapist[order[0]] + " ")
    assert labels[-1].startswith(table.therapist[order[-1]] + " ")
    assert "60 of 500 rows labelled" in ax.get_title(loc="left")
    assert fig.get_size_inches()[1] <= 12.0  # bounded at any number of therapists


def test_heading_gives_flagged_against_expected_and_a_line_at_zero():
    table = ranef_table(200, seed=3)
    k = int(np.count_nonzero(table.flag))
    ax = draw("caterpillar", Fitted(table))
    assert f"{k} therapists' intervals exclude 0; about 10 expected by chance at the 95% level" in \
        ax.get_title(loc="left")
    assert any(np.allclose(line.get_xdata(), 0.0) for line in ax.get_lines())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    up, down = int((table.flag == 1).sum()), int((table.flag == -1).sum())
    assert f"above 0 ({up})" in legend and f"below 0 ({down})" in legend


def test_a_table_alone_flags_from_its_intervals_at_95():
    table = ranef_table(40, seed=5).drop(columns="flag")
    ax = draw("caterpillar", table)
    lo, hi = table.ci_low.to_numpy(), table.ci_high.to_numpy()
    k = int(np.count_nonzero((lo > 0) | (hi < 0)))
    assert f"{k} therapist" in ax.get_title(loc="left") and "about 2.0 expected" in ax.get_title(loc="left")


def test_into_a_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    left, ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    assert draw("caterpillar", Fitted(ranef_table(12)), ax=ax) is ax
    assert fig.axes == [left, ax] and not left.collections
    assert points_and_intervals(ax)[0].shape == (12, 2)


def test_one_flagged_therapist_in_the_singular():
    table = ranef_table(20, seed=2)
    table["flag"] = 0
    table.loc[3, "flag"] = 1
    ax = draw("caterpillar", Fitted(table))
    assert "\n1 therapist's interval excludes 0; about 1.0 expected" in ax.get_title(loc="left")


def test_missing_columns_named():
    with pytest.raises(ValueError, match="missing: eb"):
        draw("caterpillar", ranef_table(5).drop(columns="eb"))


def test_written_as_png_svg_pdf(tmp_path):
    fig = figures.caterpillar(Fitted(ranef_table(500)))
    written = figures.save(fig, tmp_path / "cat.png", formats=("png", "svg", "pdf"), public=False)
    assert [p.suffix for p in written] == [".png", ".svg", ".pdf"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and written[2].read_bytes()[:4] == b"%PDF"


def test_results_draw_themselves():
    """TherapistResult.plot_caterpillar (the fitted model's EB effects) and a development model's slopes."""
    import commonfactors as cf

    data = pd.read_csv(Path(__file__).parent / "data" / "therapists" / "clients.csv")
    res = cf.therapist_effects(data, outcome="post", therapist="therapist", baseline="pre")
    ax = res.plot_caterpillar()
    points, segments = points_and_intervals(ax)
    assert points.shape == (res.n_therapists, 2) and len(segments) == res.n_therapists
    np.testing.assert_allclose(np.sort(points[:, 0]), np.sort(res.ranef.eb.to_numpy()))
    assert ax.get_xlabel().startswith("therapist effect on post")
    assert f"{res.n_flagged} therapists' intervals exclude 0; about 1.5 expected" in ax.get_title(loc="left")

    dev = cf.therapist_development(data, outcome="post", therapist="therapist", time="years", baseline="pre")
    ax = draw("caterpillar", dev)
    points, segments = points_and_intervals(ax)
    np.testing.assert_allclose(np.sort(points[:, 0]), np.sort(dev.slopes.slope.to_numpy()))
    assert any(np.allclose(line.get_xdata(), dev.slope) for line in ax.get_lines())  # the average slope
    assert ax.get_xlabel().startswith("change in post per unit of years")
    assert "expected by chance" not in ax.get_title(loc="left")


def test_a_singular_fit_says_so():
    import commonfactors as cf

    data = pd.read_csv(Path(__file__).parent / "data" / "therapist_effects" / "boundary.csv")
    with pytest.warns(UserWarning, match="singular"):
        res = cf.therapist_effects(data, outcome="post", therapist="therapist")
    assert res.singular
    heading = res.plot_caterpillar().get_title(loc="left")
    assert "singular fit: the therapist variance is estimated at 0" in heading
