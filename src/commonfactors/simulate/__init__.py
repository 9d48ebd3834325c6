"""Simulated data with known truth.

- :func:`simulate_practice` (:mod:`.practice`): clients of therapists (in sites) scored session by session
  on an outcome measure, with a stated therapist ICC.
- :func:`simulation_study` (:mod:`.study`): simulation studies of meta-analytic estimators over a grid of
  conditions, in this process or on Dask.
- :func:`bootstrap` and :func:`permutation_test` (:mod:`.bootstrap`): bootstraps and permutation tests of a
  fitted meta-analysis.
"""

from .bootstrap import bootstrap, permutation_test
from .practice import CLIENT_DEFAULTS, simulate_practice
from .study import simulation_study

__all__ = ["CLIENT_DEFAULTS", "bootstrap", "permutation_test", "simulate_practice", "simulation_study"]
