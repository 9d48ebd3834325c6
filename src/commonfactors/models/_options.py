"""The models' options in one place: their vocabulary and the one function that checks and normalises them.

Every public model function (and, through them, the command line) passes ``method``, ``test`` and
``level`` through :func:`normalize_options`. A bad option is bad user input: it raises
:class:`~commonfactors.errors.InputError` (a ``ValueError``) naming the allowed values, which the command
line reports in one line with exit status 2. Imports nothing heavy, so the command line can build its
choices from here.
"""

from __future__ import annotations

from typing import Literal, get_args

from ..errors import InputError

#: estimators of tau2 (metafor's ``rma(method=)``); "FE"/"EE"/"CE" fit the common-effect model
UnweightedMethod = Literal["FE", "EE", "CE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM", "PMM"]
#: the generalised Q estimator, which needs user weights
WeightedMethod = Literal["GENQ"]
Method = Literal[UnweightedMethod, WeightedMethod]
#: the estimators ``meta_analysis`` accepts, as ``commonfactors.METHODS``
METHODS: tuple[str, ...] = get_args(UnweightedMethod) + get_args(WeightedMethod)
#: the estimators of the batched engine (``fit_many``)
BatchMethod = Literal["REML", "ML", "DL", "HE", "HS", "SJ", "EB", "PM", "PMM", "FE"]
#: the methods that pool 2x2 tables from their counts: Mantel-Haenszel (``mantel_haenszel``) and Peto's
#: one-step odds ratio (``peto``)
BinaryMethod = Literal["MH", "PETO"]
BINARY_METHODS: tuple[str, ...] = get_args(BinaryMethod)
#: the estimators of the three-level model
MultilevelMethod = Literal["REML", "ML"]
#: tests of the coefficients: normal, t, and Knapp & Hartung's adjusted t
TESTS = ("z", "t", "knha")
#: other names of the tests: Hartung-Knapp-Sidik-Jonkman is Knapp & Hartung's test
TEST_ALIASES = {"hksj": "knha", "hk": "knha"}
#: the accepted spellings of ``test`` (aliases included)
Test = Literal["z", "t", "knha", "hksj", "hk"]
MultilevelTest = Literal["z", "t"]


def normalize_options(method, test, level, *, methods: tuple[str, ...] = get_args(Method),
                      tests: tuple[str, ...] = TESTS) -> tuple[str, str, float]:
    """Check ``method``, ``test`` and ``level`` against the allowed ``methods`` and ``tests``.

    ``method`` is case-insensitive (returned in capitals); ``test`` too (returned in lower case), with
    the aliases of :data:`TEST_ALIASES`. ``level`` follows metafor's rule (its ``misc-options`` page,
    "Specifying the Confidence Level"): a value of at least 1 is a percent, one in [0.5, 1) a proportion
    and one below 0.5 a two-sided alpha, so 95, 0.95 and 0.05 all mean 95 percent; it is returned as a
    percent in (0, 100). Raises InputError naming the allowed values.
    """
    m = method.upper() if isinstance(method, str) else method
    if m not in methods:
        raise InputError(f"method={method!r} is not one of {', '.join(methods)}")
    t = test.lower() if isinstance(test, str) else test
    t = TEST_ALIASES.get(t, t)
    if t not in tests:
        alias = " (or its alias hksj)" if "knha" in tests else ""
        raise InputError(f"test={test!r} is not one of {', '.join(tests)}{alias}")
    return m, t, normalize_level(level)


def normalize_level(level) -> float:
    """A confidence level as a percent in (0, 100), by metafor's rule (see :func:`normalize_options`).

    >>> normalize_level(95), normalize_level(0.9), normalize_level(0.05)
    (95.0, 90.0, 95.0)
    """
    expected = "a percent (95), a proportion (0.95) or a two-sided alpha (0.05), as metafor"
    try:
        lv = float(level) if not isinstance(level, bool) else None
    except (TypeError, ValueError):
        lv = None
    if lv is None:
        raise InputError(f"level={level!r} is not a number", expected=expected)
    if 0.5 <= lv < 1:        # a proportion
        lv *= 100.0
    elif 0 < lv < 0.5:       # a two-sided alpha
        lv = 100.0 * (1.0 - lv)
    if not 0 < lv < 100:
        raise InputError(f"level={level!r} is not between 0 and 100", expected=expected)
    return lv


def check_choice(name: str, value, allowed: tuple[str, ...]) -> None:
    """An InputError unless ``value`` is one of ``allowed`` (an option with no aliases and no case rule)."""
    if value not in allowed:
        raise InputError(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}")
