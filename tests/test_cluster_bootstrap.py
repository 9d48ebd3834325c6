"""Cluster bootstrap of a three-level model (commonfactors.simulate.cluster_bootstrap), against metafor's
rma.mv refitted in an R loop over clusters drawn with replacement (tests/reference/cluster_bootstrap.R):
the same fits on the same resamples, and percentile intervals and bootstrap SDs within Monte Carlo error of
R's."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors.errors import InputError
from commonfactors.simulate import cluster_bootstrap
from commonfactors.simulate._engine import block_seed
from commonfactors.simulate.resampling import resample_rows
from reference import load
from tolerances import METAFOR_RTOL

REF = load("cluster_bootstrap")
DATA = Path(__file__).parent / "conformance" / "inputs" / "ml_assink2016.csv"
RTOL = METAFOR_RTOL["multilevel"]


@pytest.fixture(scope="module")
def assink():
    return pd.read_csv(DATA)


def _resampled(frame, pick):
    """The rows of the drawn clusters, relabelled 0, 1, ... (a cluster drawn twice is two clusters)."""
    frame = frame.sort_values(["cluster", "within"], kind="stable").reset_index(drop=True)
    ids = np.unique(frame["cluster"])
    starts = np.searchsorted(frame["cluster"], ids)
    sizes = np.diff(np.append(starts, len(frame)))
    rows, codes = resample_rows(starts, sizes, np.asarray(pick))
    out = frame.iloc[rows].reset_index(drop=True)
    out["cluster"] = codes
    return out


def _fit(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a variance at the boundary in some resamples
        return cf.multilevel_meta_analysis(frame, cluster="cluster", within="within")


@pytest.mark.parametrize("case", REF["fixed"], ids=["first", "second", "third"])
def test_a_resample_is_fitted_as_metafor_fits_it(assink, case):
    res = _fit(_resampled(assink, case["pick"]))
    assert res.estimate == pytest.approx(case["estimate"], rel=RTOL)
    assert res.sigma2 == pytest.approx(case["sigma2"], rel=RTOL, abs=1e-8)


def test_each_replicate_is_the_model_on_its_resample(assink):
    """The first replicates are the three-level model fitted to the clusters their stream draws."""
    b = cluster_bootstrap(assink, cluster="cluster", within="within", n_boot=5, seed=11)
    rng = np.random.default_rng(block_seed(11, 0, 0))
    for r in range(5):
        res = _fit(_resampled(assink, rng.integers(0, REF["n_clusters"], size=REF["n_clusters"])))
        assert b.boot_estimate[r] == pytest.approx(res.estimate, rel=1e-12)
        assert b.boot_sigma2[r] == pytest.approx(res.sigma2, rel=1e-10, abs=1e-14)


def test_percentile_intervals_and_sds_agree_with_r(assink):
    b = cluster_bootstrap(assink, cluster="cluster", within="within", n_boot=3000, seed=8)
    assert b.estimate == pytest.approx(REF["estimate"], rel=RTOL)
    assert b.sigma2 == pytest.approx(REF["sigma2"], rel=RTOL)
    assert b.n_clusters == REF["n_clusters"] and b.boot_sigma2.shape == (3000, 2)
    # R's loop: no failure in 1,500; none here either (a resample whose between-cluster variance ends near 0,
    # 7e-7, converges by the Newton decrement, where a relative move test alone ran to the iteration limit)
    assert b.failures == 0
    ours = {"estimate": (b.estimate_ci, b.estimate_se, b.boot_estimate),
            "sigma2_1": (b.sigma2_ci[0], b.sigma2_se[0], b.boot_sigma2[:, 0]),
            "sigma2_2": (b.sigma2_ci[1], b.sigma2_se[1], b.boot_sigma2[:, 1])}
    for name, ((low, high), se, draws) in ours.items():
        case = REF[f"{name}_boot"]
        # R's order statistics at ranks n p -+ 3.5 sqrt(n p (1 - p)) bound its exact bootstrap quantile with
        # probability > 0.999; ours, from 3,000 replicates, is compared with the band widened by its own
        # binomial spread (the same order statistics of our replicates)
        own = np.quantile(draws, [0.025 - 3.5 * np.sqrt(0.025 * 0.975 / 3000),
                                  0.025 + 3.5 * np.sqrt(0.025 * 0.975 / 3000)])
        # (plus 1e-8: a variance at the boundary is 0 here and about 1e-11 in metafor's optimiser)
        lo_band, hi_band = case["low_band"], case["high_band"]
        assert lo_band[0] - (low - own[0]) - 1e-8 <= low <= lo_band[1] + (own[1] - low) + 1e-8, name
        own = np.quantile(draws, [0.975 - 3.5 * np.sqrt(0.025 * 0.975 / 3000),
                                  0.975 + 3.5 * np.sqrt(0.025 * 0.975 / 3000)])
        assert hi_band[0] - (high - own[0]) - 1e-8 <= high <= hi_band[1] + (own[1] - high) + 1e-8, name
        # SDs: each about sd / sqrt(2 n) off (normal theory), 4 combined of them
        band = 4 * case["se"] * np.sqrt(1 / (2 * REF["n"]) + 1 / (2 * 3000)) + 0.01 * case["se"]
        assert se == pytest.approx(case["se"], abs=band), name


def test_the_same_on_a_local_cluster_of_two_processes(assink):
    here = cluster_bootstrap(assink, cluster="cluster", within="within", n_boot=300, seed=4)
    there = cluster_bootstrap(assink, cluster="cluster", within="within", n_boot=300, seed=4, workers=2)
    assert np.array_equal(here.boot_estimate, there.boot_estimate)
    assert np.array_equal(here.boot_sigma2, there.boot_sigma2)
    other = cluster_bootstrap(assink, cluster="cluster", within="within", n_boot=300, seed=5)
    assert not np.array_equal(here.boot_estimate, other.boot_estimate)


def test_result_table_summary_and_json(assink):
    b = cluster_bootstrap(assink, cluster="cluster", within="within", n_boot=50, seed=1)
    frame = b.to_frame()
    assert list(frame["parameter"]) == ["estimate", "sigma2_1", "sigma2_2"]
    assert frame["observed"].tolist() == pytest.approx([b.estimate, *b.sigma2])
    d = json.loads(json.dumps(b.to_dict(), allow_nan=False))
    assert d["kind"] == "cluster" and d["n_boot"] == 50 and d["n_clusters"] == 17
    assert "Cluster bootstrap" in str(b.summary()) and "sigma2_1" in repr(b)
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.n_boot = 3
    with pytest.raises(ValueError):
        b.boot_estimate[0] = 1.0


def test_the_functions_are_not_hidden_by_their_modules():
    """The package's names are functions even after every submodule was imported."""
    import commonfactors.simulate.practice
    import commonfactors.simulate.resampling
    import commonfactors.simulate.study
    import commonfactors.simulate.therapists  # noqa: F401
    from commonfactors import simulate

    for name in simulate.__all__:
        assert not isinstance(getattr(simulate, name), type(simulate)), name
        assert getattr(cf, name, getattr(simulate, name)) is getattr(simulate, name), name


def test_bad_input_is_an_input_error(assink):
    with pytest.raises(InputError, match="n_boot"):
        cluster_bootstrap(assink, cluster="cluster", n_boot=1)
    with pytest.raises(InputError, match="cluster"):
        cluster_bootstrap(assink, cluster="study", n_boot=10)
    singles = assink.drop_duplicates("cluster")
    with pytest.raises(InputError):
        cluster_bootstrap(singles, cluster="cluster", n_boot=10)
