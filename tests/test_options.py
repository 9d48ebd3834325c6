"""The models' options: one vocabulary, one normaliser, the same answer and the same error everywhere.

The level rule is metafor's (reference page ``misc-options``, "Specifying the Confidence Level"): a value
of at least 1 is a percent, one in [0.5, 1) a proportion, one below 0.5 a two-sided alpha.
"""

from __future__ import annotations

import warnings
from typing import get_args

import numpy as np
import pytest

import commonfactors as cf
from cli_run import in_process
from commonfactors.errors import InputError
from commonfactors.models import tau2
from commonfactors.models._options import (
    TEST_ALIASES,
    TESTS,
    BatchMethod,
    Method,
    Test,
    UnweightedMethod,
    WeightedMethod,
    normalize_level,
    normalize_options,
)

YI = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02]
VI = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53, 0.07]
CLUSTER = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7]

#: every public model function with options: (call, its options, whether its result has an interval)
FUNCTIONS = {
    "meta_analysis": (lambda **o: cf.meta_analysis(yi=YI, vi=VI, **o), {"method", "test", "level"}, True),
    "fit_many": (lambda **o: cf.fit_many(np.array([YI]), np.array([VI]), **o), {"method", "test", "level"},
                 True),
    "multilevel_meta_analysis": (lambda **o: cf.multilevel_meta_analysis(yi=YI, vi=VI, cluster=CLUSTER, **o),
                                 {"method", "test", "level"}, True),
    "influence": (lambda **o: cf.influence(yi=YI, vi=VI, **o), {"method", "test", "level"}, False),
    "leave_one_out": (lambda **o: cf.leave_one_out(yi=YI, vi=VI, **o), {"method", "test", "level"}, True),
    "cumulative": (lambda **o: cf.cumulative(yi=YI, vi=VI, **o), {"method", "test", "level"}, True),
    "baujat": (lambda **o: cf.baujat(yi=YI, vi=VI, **o), {"method"}, False),
    "bias_tests": (lambda **o: cf.bias_tests(yi=YI, vi=VI, **o), {"method", "test", "level"}, False),
    "egger_test": (lambda **o: cf.egger_test(yi=YI, vi=VI, **o), {"method", "test", "level"}, True),
    "pet_peese": (lambda **o: cf.pet_peese(yi=YI, vi=VI, **o), {"method", "test", "level"}, True),
    "trim_and_fill": (lambda **o: cf.trim_and_fill(yi=YI, vi=VI, **o), {"method", "test", "level"}, True),
    "selection_model": (lambda **o: cf.selection_model(yi=YI, vi=VI, **o), {"level"}, True),
    "funnel_data": (lambda **o: cf.funnel_data(yi=YI, vi=VI, **o), {"method"}, False),
}


def _with(option: str) -> list[str]:
    return [name for name, (_, options, _) in FUNCTIONS.items() if option in options]


def _result(name: str, **options) -> tuple[dict, str]:
    """The result's dictionary and its printed summary (which shows the intervals of every result)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cf.CommonFactorsWarning)  # the same data: the same warnings
        res = FUNCTIONS[name][0](**options)
    return res.to_dict(), str(res.summary())


def _error(name: str, **options) -> InputError:
    with pytest.raises(InputError) as info:
        _result(name, **options)
    return info.value


def test_the_vocabulary_is_the_estimators_of_tau2():
    assert get_args(UnweightedMethod) == tau2.METHODS
    assert get_args(WeightedMethod) == tau2.WEIGHTED_METHODS
    assert get_args(Method) == tau2.METHODS + tau2.WEIGHTED_METHODS
    assert set(get_args(BatchMethod)) <= set(get_args(Method))
    assert set(get_args(Test)) == set(TESTS) | set(TEST_ALIASES)
    assert set(TEST_ALIASES.values()) <= set(TESTS)


@pytest.mark.parametrize(("level", "percent"), [(95, 95.0), (0.95, 95.0), (0.05, 95.0), (90.0, 90.0),
                                                (0.9, 90.0), (0.1, 90.0), (1, 1.0), (0.5, 50.0),
                                                (np.float32(80), 80.0)])
def test_level_is_a_percent_a_proportion_or_an_alpha_as_metafor(level, percent):
    assert normalize_level(level) == pytest.approx(percent, rel=1e-6)


@pytest.mark.parametrize("level", [0, 100, 150, -5, float("nan"), float("inf"), True, "abc", None])
def test_bad_level_is_an_input_error(level):
    with pytest.raises(InputError, match=rf"^level={level!r} is not (a number|between 0 and 100); expected a "
                                         r"percent \(95\), a proportion \(0\.95\) or a two-sided alpha"):
        normalize_level(level)


def test_normalize_options_returns_the_canonical_spelling():
    assert normalize_options("reml", "HKSJ", 0.9) == ("REML", "knha", 90.0)
    assert normalize_options("dl", "Hk", 0.05) == ("DL", "knha", 95.0)


@pytest.mark.parametrize("name", _with("level"))
def test_level_90_as_percent_proportion_or_alpha_gives_the_same_interval(name):
    at90 = _result(name, level=90)
    assert _result(name, level=0.9) == at90
    assert _result(name, level=0.1) == at90
    if FUNCTIONS[name][2]:
        assert _result(name, level=95) != at90   # the interval depends on the level


@pytest.mark.parametrize("name", _with("test"))
def test_hksj_is_accepted_wherever_knha_is(name):
    try:
        knha = _result(name, test="knha")
    except InputError as e:                      # the three-level model has no Knapp-Hartung test
        assert str(_error(name, test="hksj")) == str(e).replace("'knha'", "'hksj'")
        return
    assert _result(name, test="hksj") == knha
    assert _result(name, test="HKSJ") == knha


@pytest.mark.parametrize("name", _with("method"))
def test_method_is_case_insensitive(name):
    assert _result(name, method="ml") == _result(name, method="ML")


def test_a_bad_method_is_the_same_error_everywhere():
    messages = {name: str(_error(name, method="XYZ")) for name in _with("method")}
    allowed = ", ".join(get_args(Method))
    assert messages.pop("fit_many") == f"method='XYZ' is not one of {', '.join(get_args(BatchMethod))}"
    assert messages.pop("multilevel_meta_analysis") == "method='XYZ' is not one of REML, ML"
    assert set(messages.values()) == {f"method='XYZ' is not one of {allowed}"}


def test_a_bad_test_and_a_bad_level_are_the_same_error_everywhere():
    tests = {name: str(_error(name, test="wald")) for name in _with("test")}
    assert tests.pop("multilevel_meta_analysis") == "test='wald' is not one of z, t"
    assert set(tests.values()) == {"test='wald' is not one of z, t, knha (or its alias hksj)"}
    levels = {str(_error(name, level=100)) for name in _with("level")}
    assert len(levels) == 1 and levels.pop().startswith("level=100 is not between 0 and 100; expected")


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    path = tmp_path_factory.mktemp("options") / "studies.csv"
    path.write_text("yi,vi,cl\n" + "".join(f"{y},{v},{c}\n" for y, v, c in zip(YI, VI, CLUSTER, strict=True)))
    return path


@pytest.mark.parametrize(("command", "options"), [
    ("pool", ("--level", "0.9", "--test", "HKSJ")),
    ("pool", ("--level", "0.1", "--test", "hksj", "--method", "reml")),
    ("pool", ("--cluster", "cl", "--level", "0.9")),
    ("influence", ("--test", "HKSJ", "--method", "reml")),
    ("bias", ("--method", "reml")),
])
def test_the_command_line_reads_options_as_the_models(studies, command, options):
    canonical = {"0.9": "90", "0.1": "90", "HKSJ": "knha", "hksj": "knha", "reml": "REML"}
    same = in_process(command, studies, *options, "--format", "json")
    assert same.returncode == 0
    assert same.stdout == in_process(command, studies, *(canonical.get(o, o) for o in options),
                                     "--format", "json").stdout


@pytest.mark.parametrize(("options", "message"), [
    (("--level", "100"), "level=100.0 is not between 0 and 100; expected a percent (95)"),
    (("--cluster", "cl", "--level", "100"), "level=100.0 is not between 0 and 100; expected a percent (95)"),
    (("--cluster", "cl", "--test", "hksj"), "test='hksj' is not one of z, t"),
    (("--cluster", "cl", "--method", "DL"), "method='DL' is not one of REML, ML"),
])
def test_a_bad_option_is_exit_2_with_the_models_message(studies, options, message):
    proc = in_process("pool", studies, *options)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.splitlines()) == 1
