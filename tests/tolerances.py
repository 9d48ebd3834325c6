"""Every tolerance of the test suite, in one place (cf. metafor's tests/testthat/settings.r).

Source of the metafor tolerances: shared/conformance/README.md (cases run to convergence, so these are
the agreement of two converged computations, not of metafor's default stopping rules).
"""

import math

METAFOR_RTOL = {"effect_size": 1e-8, "rma": 1e-6, "metareg": 1e-6, "bias": 1e-5, "influence": 1e-5,
                "multilevel": 1e-5}
#: fields held to a looser tolerance, whatever the kind (Q-profile intervals; selection model; CR2)
METAFOR_RTOL_FIELD = {"tau2_ci": 1e-5, "i2_ci": 1e-5, "h2_ci": 1e-5, "selection_3psm": 1e-3, "robust": 1e-4,
                      "cr2": 1e-4}
ATOL_FLOOR = 1e-10  # absolute differences below this always agree
IDENTITY_RTOL = 1e-12  # identities and oracles (direct algebra, properties)


def printed(decimals: int) -> float:
    """Tolerance for a value printed in a paper: half a unit in the last printed digit."""
    return 0.5 * 10.0**-decimals


def rtol_for(kind: str, field: str) -> float:
    return METAFOR_RTOL_FIELD.get(field, METAFOR_RTOL[kind])


def agrees(got, expected, rtol: float, atol: float = ATOL_FLOOR) -> bool:
    """Recursive comparison: NaN equals NaN (R's NA), lists by position, dicts by key."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(agrees(got.get(k), v, rtol, atol) for k, v in expected.items())
    if isinstance(expected, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(expected)
                and all(agrees(g, e, rtol, atol) for g, e in zip(got, expected, strict=True)))
    if isinstance(expected, str):
        return got == expected
    e = float("nan") if expected is None else float(expected)
    g = float("nan") if got is None else float(got)
    if math.isnan(e):
        return math.isnan(g)
    if math.isinf(e):
        return g == e
    return abs(g - e) <= atol + rtol * abs(e)


def assert_agrees(got, expected, *, rtol: float, atol: float = ATOL_FLOOR, what: str = "") -> None:
    assert agrees(got, expected, rtol, atol), f"{what}: got {got!r}, expected {expected!r} (rtol {rtol:g})"
