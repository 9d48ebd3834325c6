"""Plots from result objects: ``res.plot_forest(ax=None)``, ``plot_funnel``, ``plot_baujat``,
``plot_cumulative``; the forest plot at large k, one row per study for nested effect sizes, and its axis on
the natural scale. The aggregated rows are checked against metafor 3.8-1's ``aggregate(..., rho = 0)``
(tests/reference/plot_forest.R)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import commonfactors as cf
from cli_run import in_process
from commonfactors.errors import CommonFactorsWarning, InputError
from commonfactors.report import figures
from reference import load

YI = [0.10, 0.30, 0.35, 0.65, -0.05, 0.42]
VI = [0.010, 0.020, 0.015, 0.040, 0.030, 0.012]
Z95 = 1.959963984540054


@pytest.fixture(scope="module")
def res():
    return cf.meta_analysis(yi=YI, vi=VI, slab=[f"Study {i}" for i in range(1, 7)])


def _labels(ax):
    return [t.get_text() for t in ax.get_yticklabels()]


@pytest.mark.filterwarnings("ignore::commonfactors.errors.SmallKWarning")  # the first cumulative steps
@pytest.mark.parametrize("make, method", [
    (lambda r: r, "plot_forest"), (lambda r: r, "plot_funnel"), (lambda r: r, "plot_baujat"),
    (lambda r: cf.cumulative(yi=YI, vi=VI), "plot_cumulative"),
    (lambda r: cf.baujat(yi=YI, vi=VI), "plot_baujat"),
    (lambda r: cf.funnel_data(yi=YI, vi=VI), "plot_funnel")])
def test_each_method_returns_the_axes_it_drew_into(res, make, method):
    result = make(res)
    own = getattr(result, method)()  # a figure of its own
    assert isinstance(own, Axes) and own.collections
    fig = Figure(figsize=(8, 5))
    given = fig.add_subplot()
    assert getattr(result, method)(ax=given) is given and given.collections  # the user's Axes, drawn into


def test_the_forest_in_a_given_axes_keeps_its_rows_and_printed_columns(res):
    fig = Figure(figsize=(9, 4))
    ax = res.plot_forest(ax=fig.add_subplot(), xlabel="Hedges' g")
    assert _labels(ax)[:6] == [f"Study {i}" for i in range(1, 7)]
    assert ax.get_xlabel().startswith("Hedges' g")
    printed = [t.get_text() for a in ax.child_axes for t in a.texts]  # estimate [CI] and weight columns
    assert f"{YI[0]:.2f} [{YI[0] - Z95 * VI[0] ** 0.5:.2f}, {YI[0] + Z95 * VI[0] ** 0.5:.2f}]" in printed


def test_a_forest_of_200_studies_labels_every_study():
    rng = np.random.default_rng(7)
    k = 200
    res = cf.meta_analysis(yi=rng.normal(0.3, 0.2, k), vi=rng.uniform(0.01, 0.05, k),
                           slab=[f"Author {i}, {1980 + i % 40}" for i in range(k)])
    ax = res.plot_forest()
    assert _labels(ax)[:k] == [f"Author {i}, {1980 + i % 40}" for i in range(k)]
    assert ax.figure.get_figheight() == pytest.approx(1.9 + figures.TALL_ROW * k)
    # the report's page keeps its limit: the same model there is drawn without study labels
    assert len(_labels(figures.forest(res).axes[0])) == 2


def test_beyond_the_label_limit_the_studies_are_sorted_and_counted():
    rng = np.random.default_rng(8)
    k = 30
    res = cf.meta_analysis(yi=rng.normal(0.3, 0.2, k), vi=rng.uniform(0.01, 0.05, k))
    ax = res.plot_forest(labels=20)
    assert len(_labels(ax)) == 2 and f"{k} studies sorted by effect size" in ax.get_xlabel()


def test_a_page_draws_its_rows_with_the_pooled_estimate_of_all():
    rng = np.random.default_rng(9)
    k = 120
    res = cf.meta_analysis(yi=rng.normal(0.3, 0.2, k), vi=rng.uniform(0.01, 0.05, k),
                           slab=[f"S{i}" for i in range(1, k + 1)])
    ax = res.plot_forest(rows=slice(50, 100))
    assert _labels(ax)[:50] == [f"S{i}" for i in range(51, 101)]
    assert f"Random-effects model (REML), k = {k}" in _labels(ax)
    assert "rows 51 to 100 of 120" in ax.get_xlabel()
    # the squares keep the sizes of the whole plot: the same study has the same square on either figure
    whole = res.plot_forest().collections[1].get_sizes()
    np.testing.assert_allclose(ax.collections[1].get_sizes(), whole[50:100], rtol=1e-12)
    with pytest.raises(InputError, match="select none of the 120 rows"):
        res.plot_forest(rows=slice(200, 250))


def test_the_command_line_draws_a_page(tmp_path):
    out = tmp_path / "page.svg"
    res = in_process("plot", "forest", "metapsy_depression_psyctr", "--page", "2", "--out", out)
    assert res.returncode == 0, res.stderr
    assert b"rows 51 to 100 of" in out.read_bytes()


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_saved_plots_are_deterministic(tmp_path, res, suffix):
    files = []
    for name in ("a", "b"):
        ax = res.plot_forest(transf="exp")
        files += figures.save(ax.figure, tmp_path / name, formats=(suffix,), public=False)
    assert files[0].read_bytes() == files[1].read_bytes() and files[0].stat().st_size > 1000


def test_one_row_per_study_is_metafors_aggregate_with_rho_0():
    # metafor 3.8-1: aggregate(escalc(measure = "GEN", yi = yi, vi = vi, data = dat.assink2016),
    #                          cluster = study, rho = 0)
    ref = load("plot_forest")
    data = cf.load_dataset("assink2016")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CommonFactorsWarning)
        res = cf.meta_analysis(data, yi="yi", vi="vi")
    ax = res.plot_forest(cluster=data["study"].to_numpy())
    m = len(ref["study"])
    assert _labels(ax)[:m] == [str(s) for s in ref["study"]]
    yi = ax.collections[1].get_offsets()[:, 0]  # the squares, top to bottom
    segments = np.array([s[:, 0] for s in ax.collections[0].get_segments()])  # the interval of each row
    vi = ((segments[:, 1] - segments[:, 0]) / (2 * Z95)) ** 2
    np.testing.assert_allclose(yi, ref["yi"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(vi, ref["vi"], rtol=1e-9)
    assert "one row per study, 100 effect sizes in 17 studies" in ax.get_xlabel()
    assert "k = 100" in _labels(ax)[m]  # the pooled model is the one fitted to every effect size


def test_the_axis_on_the_natural_scale(res):
    ax = res.plot_forest(transf="exp")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in ticks
    np.testing.assert_allclose(np.exp(ax.get_xticks()), [float(t) for t in ticks], rtol=1e-12)
    printed = [t.get_text() for a in ax.figure.axes[1:] for t in a.texts]
    assert f"{np.exp(res.estimate):.2f} [{np.exp(res.ci_low):.2f}, {np.exp(res.ci_high):.2f}]" in printed


@pytest.mark.filterwarnings("ignore::commonfactors.errors.SmallKWarning")  # the first cumulative steps
def test_funnel_and_cumulative_axes_on_the_natural_scale(res):
    cum = cf.cumulative(yi=YI, vi=VI)
    for ax in (res.plot_funnel(transf="exp"), cum.plot_cumulative(transf="exp")):
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert "1" in ticks
        np.testing.assert_allclose(np.exp(ax.get_xticks()), [float(t) for t in ticks], rtol=1e-12)
    printed = [t.get_text() for a in ax.figure.axes[1:] for t in a.texts]
    first = f"{np.exp(cum.estimate[0]):.2f} [{np.exp(cum.ci_low[0]):.2f}, {np.exp(cum.ci_high[0]):.2f}]"
    assert first in printed


def test_the_command_line_labels_funnel_and_cumulative_axes_on_the_natural_scale(tmp_path):
    for kind in ("funnel", "cumulative"):
        out = tmp_path / f"{kind}.svg"
        assert in_process("plot", kind, "bcg", "--out", out).returncode == 0
        assert b"(axis: " in out.read_bytes()
        assert in_process("plot", kind, "bcg", "--transf", "none", "--out", out).returncode == 0
        assert b"(axis: " not in out.read_bytes()


@pytest.mark.parametrize("kwargs, message", [
    ({"cluster": ["a", "b"]}, "cluster has 2 values for 6 effect sizes"),
    ({"transf": "ipft"}, "transf is 'ipft'; expected one of exp, ztor, ilogit, iarcsin")])
def test_bad_options_are_one_line_input_errors(res, kwargs, message):
    with pytest.raises(InputError, match=message):
        res.plot_forest(**kwargs)


def test_the_command_line_draws_one_row_per_study(tmp_path):
    out = tmp_path / "forest.svg"
    args = ("plot", "forest", "assink2016", "--cluster", "study", "--out", out)
    assert in_process(*args).returncode == 0
    first = out.read_bytes()
    assert b"inverse-variance average" in first
    assert in_process(*args).returncode == 0 and out.read_bytes() == first


@pytest.mark.parametrize("args, message", [
    (("funnel", "assink2016", "--cluster", "study"), "--cluster is an option of plot forest only"),
    (("funnel", "bcg", "--page", "1"), "--page is an option of plot forest only"),
    (("forest", "bcg", "--page", "2"), "--page is 2; expected 1 to 1 (13 rows, 50 a page)"),
    (("forest", "assink2016", "--cluster", "nope"), "column 'nope': no such column"),
    (("forest", "bcg", "--transf", "ipft"), "--transf is 'ipft'")])
def test_bad_plot_options_exit_2_without_a_file(tmp_path, args, message):
    out = tmp_path / "figure.png"
    res = in_process("plot", *args, "--out", out)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_in_a_notebook_the_figure_is_made_through_pyplot_to_be_shown():
    # a fresh interpreter running a cell in an IPython shell, as Jupyter does: the figure is pyplot's
    # current figure, which the notebook shows below the cell; elsewhere it is a plain Figure that nothing
    # global keeps
    pytest.importorskip("IPython")
    cell = (f"import commonfactors as cf\nres = cf.meta_analysis(yi={YI}, vi={VI})\nax = res.plot_forest()\n"
            "import matplotlib.pyplot as plt\nprint(len(plt.get_fignums()), plt.gcf() is ax.figure)")
    code = ("import matplotlib; matplotlib.use('Agg')\n"
            "from IPython.core.interactiveshell import InteractiveShell\n"
            f"InteractiveShell.instance().run_cell({cell!r})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True"]


def test_outside_a_notebook_no_figure_is_kept_by_pyplot(res):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    res.plot_funnel()
    assert plt.get_fignums() == before
