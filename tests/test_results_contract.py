"""The contract every result class keeps (results/__init__.py; STYLE.md section 7, as scikit-learn's
check_estimator): frozen, ``summary()`` returns a Summary (never prints), ``__repr__`` is its text,
``to_frame()`` a DataFrame, ``to_dict()`` plain JSON (NaN -> None, ``allow_nan=False``) with the keys of
the command line contract (DESIGN.md, and the issues for ``pie``, ``factors show``, ``reproduce``,
``fit_many``), and its warnings both in ``summary()`` and in the JSON.

Each result class has one or more factories in RESULTS (name -> callable returning an instance), and
``test_every_result_class_has_a_factory`` fails when a result class is added without one.
"""

import dataclasses
import importlib
import inspect
import json
import math
import pkgutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
import commonfactors.results
from commonfactors._format import Summary

YI = [-0.889, -1.585, -1.348, -1.442, -0.218, -0.786, -1.621, 0.012, -0.469, -1.371, -0.339, 0.446, -0.017]
VI = [0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.533, 0.071]
GROUP = ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a"]
FRAME = pd.DataFrame({"yi": YI, "vi": VI, "g": GROUP, "x": np.arange(13.0)})
MATRIX = pd.DataFrame([[1, 0.3, 0.28], [0.3, 1, 0.2], [0.28, 0.2, 1]],
                      index=["alliance", "empathy", "outcome"], columns=["alliance", "empathy", "outcome"])
CORRELATIONS = pd.DataFrame(  # long format, one row per study and pair (as tests/test_corpool.py)
    [("s1", "alliance", "outcome", 0.30, 120), ("s1", "empathy", "outcome", 0.25, 120),
     ("s1", "alliance", "empathy", 0.40, 120), ("s2", "alliance", "outcome", 0.20, 80),
     ("s3", "alliance", "outcome", 0.35, 150), ("s3", "empathy", "outcome", 0.10, 150),
     ("s3", "alliance", "empathy", 0.55, 150)],
    columns=["study", "var1", "var2", "r", "n"])


THERAPY = pd.read_csv(Path(__file__).parent / "data" / "therapist_effects" / "balanced.csv")
THERAPY_SITES = pd.read_csv(Path(__file__).parent / "data" / "therapist_effects" / "sites.csv")


def _multilevel(**kw):
    return cf.multilevel_meta_analysis(cf.load_dataset("assink2016"), yi="yi", vi="vi", cluster="study",
                                       within="esid", **kw)


def _correlation_pool():
    from commonfactors.factors.corpool import pool_correlation_matrices

    return pool_correlation_matrices(CORRELATIONS)


def _sensitivity():
    from commonfactors.factors.pie import dominance_sensitivity

    return dominance_sensitivity({"alliance": 0.28, "empathy": 0.2}, rho=(0.0, 0.3))


def _reproduce():
    from commonfactors.reproduce import run

    return run(["molloy2014"])


def _icc_pool():
    from commonfactors.factors.therapist_icc import pool_therapist_iccs, published_therapist_iccs

    return pool_therapist_iccs(published_therapist_iccs(), study="study")


def _dataset():
    from commonfactors.datasets import describe

    return describe("bcg")


RESULTS = {
    "MetaResult": lambda: cf.meta_analysis(yi=YI, vi=VI),
    "MetaResult_FE": lambda: cf.meta_analysis(yi=YI, vi=VI, method="FE"),
    "MetaResult_mods": lambda: cf.meta_analysis(FRAME, mods="~ x + g", test="knha"),
    "MetaResult_k2": lambda: cf.meta_analysis(yi=YI[:2], vi=VI[:2]),  # with warnings
    "SubgroupResult": lambda: cf.meta_analysis(FRAME, by="g"),
    "BatchResult": lambda: cf.fit_many(np.array([YI, YI[::-1]]), np.array([VI, VI])),
    "MultilevelResult": lambda: _multilevel(),
    "MultilevelResult_robust": lambda: _multilevel(robust="cr2"),
    "MultilevelResult_mods_robust": lambda: _multilevel(mods="~ deltype", robust="cr2"),
    "BiasResult": lambda: cf.bias_tests(yi=YI, vi=VI),
    "RegressionTest": lambda: cf.egger_test(yi=YI, vi=VI),
    "RankTest": lambda: cf.rank_test(yi=YI, vi=VI),
    "TrimFillResult": lambda: cf.trim_and_fill(yi=YI, vi=VI),
    "FailSafeN": lambda: cf.fail_safe_n(yi=YI, vi=VI),
    "PetPeeseResult": lambda: cf.pet_peese(yi=YI, vi=VI),
    "SelectionModelResult": lambda: cf.selection_model(yi=YI, vi=VI),
    "FunnelData": lambda: cf.funnel_data(yi=YI, vi=VI),
    "BinaryResult": lambda: cf.mantel_haenszel(cf.load_dataset("bcg"), ai="tpos", bi="tneg", ci="cpos",
                                               di="cneg"),
    "InfluenceResult": lambda: cf.influence(yi=YI, vi=VI),
    "LeaveOneOutResult": lambda: cf.leave_one_out(yi=YI, vi=VI),
    "CumulativeResult": lambda: cf.cumulative(yi=YI, vi=VI),
    "BaujatResult": lambda: cf.baujat(yi=YI, vi=VI),
    "PieResult": lambda: cf.additive_pie(draws=200, seed=1),
    "PieResult_dominance": lambda: cf.dominance_pie(MATRIX, n=300, draws=200, seed=1),
    "ElementResult": lambda: cf.element_estimates("alliance"),
    "SensitivityResult": _sensitivity,
    "CorrelationPoolResult": _correlation_pool,
    "ReproduceResult": _reproduce,
    "DatasetInfo": _dataset,
    "TherapistResult": lambda: cf.therapist_effects(THERAPY, "post", "therapist", baseline="pre"),
    "TherapistResult_sites": lambda: cf.therapist_effects(THERAPY_SITES, "post", "therapist", site="site"),
    "IccPoolResult": _icc_pool,
    "DevelopmentResult": lambda: cf.therapist_development(
        pd.read_csv(Path(__file__).parent / "data" / "development_slopes.csv"), "y", "therapist", "time",
        client="client", baseline="baseline"),
    "NetworkResult": lambda: cf.network_meta_analysis(
        pd.read_csv(Path(__file__).parent / "data" / "network_hasselblad1998.csv"), study="study",
        treatment="trt", events="xi", n="ni", measure="OR", reference="no_contact", small_values="bad",
        active=["ind_counseling", "grp_counseling", "self_help"]),
    "MonitorResult": lambda: cf.monitor(
        pd.read_csv(Path(__file__).parent / "data" / "monitoring_ors.csv"), client="client",
        session="session", score="ors", therapist="therapist", instrument="ORS"),
    "SimulationResult": lambda: cf.simulation_study(k=(5,), tau2=(0.1,), reps=50, method=("DL",), seed=1),
    "BootstrapResult": lambda: cf.bootstrap(cf.meta_analysis(yi=YI, vi=VI), n_boot=200, seed=1),
    "ClusterBootstrapResult": lambda: cf.cluster_bootstrap(yi=YI, vi=VI, cluster=GROUP, n_boot=50, seed=1),
    "PermutationResult": lambda: cf.permutation_test(cf.meta_analysis(FRAME, mods="~ x"), n_perm=50, seed=1),
}

#: DESIGN.md's `pool` contract
POOL_KEYS = {"k", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
             "se_tau2", "tau2_ci", "i2", "i2_ci", "h2", "h2_ci", "q", "q_df", "q_pval", "method", "test",
             "warnings"}
MODS_KEYS = {"coefficients", "qm", "qm_df", "qm_pval", "r2", "qe", "qe_pval"}
COEFFICIENT_KEYS = {"name", "estimate", "se", "stat", "pval", "ci_low", "ci_high"}
MULTILEVEL_KEYS = {"k", "n_clusters", "estimate", "se", "ci_low", "ci_high", "sigma2", "loglik", "q"}
MULTILEVEL_MODS_KEYS = {"k", "n_clusters", "coefficients", "qm", "qm_df", "qm_pval", "sigma2", "loglik", "qe"}
ROBUST_KEYS = {"se", "df", "ci_low", "ci_high", "pval"}
ROBUST_MODS_KEYS = {"coefficients", "qm", "qm_df", "qm_pval"}
#: DESIGN.md's `bias` contract, per method
BIAS_KEYS = {
    "egger": {"stat", "pval", "limit_estimate"},
    "egger_classical": {"stat", "pval", "df"},
    "begg": {"tau", "pval"},
    "trim_and_fill": {"k0", "estimate", "se", "tau2"},
    "fail_safe_n": {"fsnum"},
    "pet": {"estimate", "se"},
    "peese": {"estimate", "se"},
    "selection_3psm": {"estimate", "se", "tau2", "delta", "lrt", "lrt_pval"},
}
#: the therapists command's keys
THERAPIST_KEYS = {"icc", "ci_low", "ci_high", "var_therapist", "var_residual", "n_therapists", "n_clients",
                  "dropped", "singular", "method", "ci_method", "level", "coefficients", "ranef", "var_site",
                  "warnings"}
#: DESIGN.md's `influence` contract (per-study lists) and what cli/influence.py documents besides
INFLUENCE_LISTS = {"leave1out_estimate", "leave1out_tau2", "rstudent", "cooks_d", "dffits", "hat", "weight"}
#: issue 5's `pie` contract
PIE_KEYS = {"method", "draws", "seed", "components", "unexplained", "r2"}
PIE_COMPONENT_KEYS = {"factor", "share", "ci_low", "ci_high", "sources"}
SHARE_KEYS = {"share", "ci_low", "ci_high"}
#: issue 5's `factors show`: each estimate with its metric, k, N, CI, PI, I2 and source
ELEMENT_ESTIMATE_KEYS = {"estimate", "metric", "k", "n", "ci_low", "ci_high", "pi_low", "pi_high", "i2",
                         "source", "verified", "origin"}
#: fit_many (issue 3): one list per field, plus method, test, level, warnings
BATCH_KEYS = {"k", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
              "se_tau2", "i2", "h2", "q", "q_df", "q_pval", "converged", "method", "test", "level",
              "warnings"}
#: per-study results of models/influence.py (no command of their own: their documented fields)
LEAVE1OUT_KEYS = {"estimate", "se", "stat", "pval", "ci_low", "ci_high", "q", "q_pval", "tau2", "i2", "h2"}
PER_STUDY = {
    "LeaveOneOutResult": LEAVE1OUT_KEYS,
    "CumulativeResult": LEAVE1OUT_KEYS | {"order_value"},
    "BaujatResult": {"x", "y"},
}


def _keys_of(name: str, d: dict) -> None:
    """Assert the contract's keys for the result ``name`` (exactly, where the contract is exhaustive)."""
    base = name.split("_")[0]
    if name in ("MetaResult", "MetaResult_FE", "MetaResult_k2"):
        assert set(d) == POOL_KEYS
    elif name == "MetaResult_mods":
        assert set(d) == POOL_KEYS | MODS_KEYS
        assert d["coefficients"][0]["name"] == "intrcpt"
        assert all(set(c) == COEFFICIENT_KEYS for c in d["coefficients"])
    elif base == "SubgroupResult":
        assert set(d) == {"by", "subgroups", "q_between", "q_between_df", "q_between_pval", "method", "test",
                          "warnings"}
        assert all(POOL_KEYS <= set(s) for s in d["subgroups"])
    elif base == "BatchResult":
        assert set(d) == BATCH_KEYS
    elif base == "MultilevelResult":
        mods = "mods" in name
        assert (MULTILEVEL_MODS_KEYS if mods else MULTILEVEL_KEYS) | {"warnings"} <= set(d)
        assert len(d["sigma2"]) == 2  # [between, within]
        if "robust" in name:
            assert set(d["robust"]) == (ROBUST_MODS_KEYS if mods else ROBUST_KEYS)
            if mods:
                assert all(set(c) == ROBUST_KEYS for c in d["robust"]["coefficients"])
                assert len(d["robust"]["qm_df"]) == 2  # [df1, df2] of the HTZ F test
        else:
            assert "robust" not in d
        if mods:
            assert all(COEFFICIENT_KEYS <= set(c) for c in d["coefficients"])
    elif base == "BiasResult":
        assert set(d) == set(BIAS_KEYS) | {"k", "method", "direction", "warnings"}  # the favourable direction
        for method, keys in BIAS_KEYS.items():
            assert keys <= set(d[method]), method
    elif base == "RegressionTest":
        assert BIAS_KEYS["egger"] <= set(d)
    elif base == "RankTest":
        assert BIAS_KEYS["begg"] <= set(d)
    elif base == "TrimFillResult":
        assert BIAS_KEYS["trim_and_fill"] <= set(d)
    elif base == "FailSafeN":
        assert BIAS_KEYS["fail_safe_n"] <= set(d)
    elif base == "PetPeeseResult":
        assert set(d) == {"pet", "peese"}
        assert BIAS_KEYS["pet"] <= set(d["pet"]) and BIAS_KEYS["peese"] <= set(d["peese"])
    elif base == "SelectionModelResult":
        assert BIAS_KEYS["selection_3psm"] <= set(d)
    elif base == "BinaryResult":  # the keys of pool --method MH (tests/test_binary.py)
        assert {"k", "method", "measure", "level", "estimate", "se", "stat", "pval", "ci_low", "ci_high",
                "natural", "q", "q_df", "q_pval", "i2", "h2", "warnings"} <= set(d)
    elif base == "FunnelData":
        assert set(d) == {"points", "contours", "estimate", "pseudo_ci"}
    elif base == "InfluenceResult":
        assert set(d) == INFLUENCE_LISTS | {"leave1out_q", "cov_ratio", "influential", "dfbetas", "slab", "k",
                                            "method", "warnings"}
        assert all(len(d[c]) == d["k"] for c in INFLUENCE_LISTS)
    elif base in PER_STUDY:
        assert set(d) == PER_STUDY[base] | {"k", "method", "slab", "warnings"}
        assert all(len(d[c]) == len(d["slab"]) for c in PER_STUDY[base])
    elif base == "PieResult":
        assert PIE_KEYS | {"warnings"} <= set(d)
        assert all(set(c) == PIE_COMPONENT_KEYS for c in d["components"])
        assert set(d["unexplained"]) == SHARE_KEYS == set(d["r2"])
    elif base == "ElementResult":
        assert set(d) == {"element", "factor", "description", "estimates", "warnings"}
        assert d["estimates"] and all(ELEMENT_ESTIMATE_KEYS <= set(e) for e in d["estimates"])
    elif base == "SensitivityResult":
        assert {"sensitivity", "warnings"} <= set(d)
        assert all(set(row) == {"assumed_r", "components", "r2", "valid"} for row in d["sensitivity"])
    elif base == "CorrelationPoolResult":
        assert set(d) == {"method", "k", "n", "names", "outcome", "correlations", "matrix", "vcov", "q",
                          "q_df", "q_pval", "level", "v_from", "warnings"}
    elif base == "ReproduceResult":
        assert set(d) == {"analyses", "counts", "rows", "warnings"}
    elif base == "TherapistResult":  # the therapists command's JSON
        assert THERAPIST_KEYS <= set(d)
        assert all(set(c) == {"term", "estimate", "se", "stat", "pval", "ci_low", "ci_high"}
                   for c in d["coefficients"])
        assert all(set(r) == {"therapist", "n", "eb", "se", "ci_low", "ci_high", "flag"} for r in d["ranef"])
    elif base == "DatasetInfo":
        assert {"id", "title", "k", "rows", "measure", "licence", "citation", "fields"} <= set(d)
    elif base == "IccPoolResult":  # pooled therapist ICCs (factors.therapist_icc)
        assert set(d) == {"k", "icc", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q",
                          "q_df", "q_pval", "method", "level", "source", "origin", "studies", "warnings"}
        assert all(set(s) == {"study", "icc", "n_therapists", "n_clients", "vi", "weight"}
                   for s in d["studies"])
    elif base == "NetworkResult":  # the network command's JSON (network meta-analysis)
        assert {"reference", "method", "tau2", "k", "treatments", "effects", "league", "pscore",
                "inconsistency", "dodo", "warnings"} <= set(d)
        assert all({"treatment", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high"} <= set(e)
                   for e in d["effects"])
        assert {"q", "df", "pval"} <= set(d["inconsistency"])
        assert {"q", "df", "pval", "tau2_technique"} <= set(d["dodo"])
    elif base == "DevelopmentResult":  # the therapists command's JSON with --time (development model)
        assert {"model", "outcome", "therapist", "time", "method", "level", "n", "n_therapists", "dropped",
                "singular", "converged", "slope", "slope_se", "slope_df", "slope_pval", "slope_ci_low",
                "slope_ci_high", "sd_intercept", "sd_slope", "corr", "sigma", "reml_crit", "loglik",
                "coefficients", "slopes", "warnings"} <= set(d)
    elif base == "MonitorResult":  # the monitor command's JSON (routine outcome monitoring)
        assert {"instrument", "reliable_change", "cutoff", "counts", "early", "flags", "clients", "sessions",
                "therapists", "curves", "curves_note", "warnings"} <= set(d)
        assert all({"client", "category", "rc", "flagged", "early_responder"} <= set(c) for c in d["clients"])
        assert all({"session", "expected", "bound", "flag"} <= set(s) for s in d["sessions"])
    elif base == "SimulationResult":  # the simulate command's JSON: one row per condition x estimator
        assert set(d) == {"seed", "reps", "block", "level", "rows", "warnings"}
        assert all({"condition", "k", "tau2", "method", "test", "bias", "bias_mcse", "coverage",
                    "coverage_mcse", "failures"} <= set(r) for r in d["rows"])
    elif base == "BootstrapResult":
        assert {"kind", "n_boot", "seed", "estimate", "estimate_ci", "tau2", "tau2_ci", "failures"} <= set(d)
    elif base == "ClusterBootstrapResult":
        assert {"kind", "n_boot", "seed", "estimate", "estimate_ci", "sigma2", "sigma2_ci", "n_clusters",
                "failures"} <= set(d)
    elif base == "PermutationResult":
        assert {"coefficients", "qm", "qm_pval", "n_perm", "exact"} <= set(d)
        assert all(set(c) == {"name", "estimate", "stat", "pval"} for c in d["coefficients"])
    else:
        raise AssertionError(f"no contract keys for {name}")


def _plain_json(x):
    if isinstance(x, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in x.items())
    if isinstance(x, list):
        return all(_plain_json(v) for v in x)
    if isinstance(x, float):
        return math.isfinite(x)
    return x is None or isinstance(x, (str, int, bool))


def _result_classes() -> set[type]:
    """Every dataclass defined in commonfactors.results (and datasets.DatasetInfo) that has summary()."""
    classes = set()
    for mod in pkgutil.iter_modules(commonfactors.results.__path__):
        module = importlib.import_module(f"commonfactors.results.{mod.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            own = obj.__module__ == module.__name__ and not obj.__name__.startswith("_")  # not a shared base
            if own and dataclasses.is_dataclass(obj) and hasattr(obj, "summary"):
                classes.add(obj)
    return classes


_CACHE: dict = {}


@pytest.fixture(params=sorted(RESULTS))
def named_result(request):
    """Each result once per test session (some factories fit models or run an analysis script)."""
    name = request.param
    if name not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warnings are checked through the result's own `warnings`
            _CACHE[name] = RESULTS[name]()
    return name, _CACHE[name]


def test_every_result_class_has_a_factory():
    defined = {c.__name__ for c in _result_classes()}
    assert defined <= {n.split("_")[0] for n in RESULTS}, sorted(defined - {n.split("_")[0] for n in RESULTS})


def test_every_exported_result_class_is_covered():
    exported = {n for n in commonfactors.results._EXPORTS
                if hasattr(getattr(commonfactors.results, n), "summary")}
    assert exported <= {n.split("_")[0] for n in RESULTS}


def test_frozen(named_result):
    _, res = named_result
    assert dataclasses.is_dataclass(res)
    assert type(res).__dataclass_params__.frozen
    field = dataclasses.fields(res)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(res, field, None)


def test_summary_returns_a_summary_and_repr_is_its_text(named_result, capsys):
    name, res = named_result
    assert type(res).__name__ == name.split("_")[0]
    s = res.summary()
    assert isinstance(s, Summary) and capsys.readouterr().out == ""
    assert repr(res) == str(s) and str(s).strip()
    assert s.as_html().startswith("<pre")


def test_to_dict_is_plain_json_with_the_contract_keys(named_result):
    name, res = named_result
    d = res.to_dict()
    assert _plain_json(d)
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    _keys_of(name, d)


def test_warnings_are_in_the_summary_and_the_json(named_result):
    _, res = named_result
    found = tuple(getattr(res, "warnings", ()))
    if "warnings" in res.to_dict():
        assert res.to_dict()["warnings"] == list(found)
    text = str(res.summary())
    for w in found:
        assert w in text


def test_a_result_with_warnings_shows_them():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = RESULTS["MetaResult_k2"]()
    assert res.warnings and all(w in str(res.summary()) for w in res.warnings)


def test_to_frame_is_a_dataframe(named_result):
    _, res = named_result
    frame = res.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 1
    if hasattr(res, "records"):  # the pandas-free rows the command line writes as CSV
        assert frame.columns.tolist() == list(res.records()[0])
