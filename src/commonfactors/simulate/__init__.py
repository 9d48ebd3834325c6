"""Simulated data with known truth.

- :func:`simulate_practice` (:mod:`.practice`): clients of therapists (in sites) scored session by session
  on an outcome measure, with a stated therapist ICC.
- :func:`simulation_study` (:mod:`.study`): simulation studies of meta-analytic estimators over a grid of
  conditions, in this process or on Dask.
- :func:`bootstrap` and :func:`permutation_test` (:mod:`.resampling`): bootstraps and permutation tests of a
  fitted meta-analysis; :func:`cluster_bootstrap` of a three-level model, clusters resampled.
- :func:`icc_coverage_study` (:mod:`.therapists`): coverage of the therapist ICC's profile and Wald
  intervals in simulated practices.

The names are imported when first used, so that :mod:`._dask` (which the pie's intervals run through) does
not bring in the fitting engines. No submodule shares a name with a function here: importing a submodule
binds its name in this package, which would hide a function of that name.
"""

from importlib import import_module

_WHERE = {
    "CLIENT_DEFAULTS": "practice",
    "simulate_practice": "practice",
    "simulation_study": "study",
    "bootstrap": "resampling",
    "permutation_test": "resampling",
    "cluster_bootstrap": "resampling",
    "icc_coverage_study": "therapists",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
