"""commonfactors: meta-analysis of what drives psychotherapy outcomes.

The public API is re-exported lazily (PEP 562), so ``import commonfactors`` stays light: it imports
neither scipy.optimize, formulaic, matplotlib nor jinja2.
"""

from __future__ import annotations

import importlib

from .errors import (
    BoundaryWarning,
    CommonFactorsWarning,
    ConvergenceWarning,
    DroppedRowsWarning,
    InputError,
    SmallKWarning,
)

__version__ = "0.1.0"

#: public name -> module (relative to the package) that defines it
_EXPORTS: dict[str, str] = {
    "effect_sizes": "effects",
    "MEASURES": "effects",
    "d_to_r": "effects",
    "r_to_d": "effects",
    "d_to_logor": "effects",
    "logor_to_d": "effects",
    "d_from_t": "effects",
    "d_from_f": "effects",
    "d_from_p": "effects",
    "meta_analysis": "models.univariate",
    "mantel_haenszel": "models.binary",
    "peto": "models.binary",
    "METHODS": "models._options",
    "additive_pie": "factors.pie",
    "dominance_pie": "factors.pie",
    "dominance_sensitivity": "factors.pie",
    "pool_correlations_pairwise": "factors.pie",
    "pool_correlation_matrices": "factors.corpool",
    "published_pies": "factors.pie",
    "pool_therapist_iccs": "factors.therapist_icc",
    "element_estimates": "factors.taxonomy",
    "list_elements": "factors.taxonomy",
    "read_table": "io",
    "multilevel_meta_analysis": "models.multilevel",
    "network_meta_analysis": "models.network",
    "therapist_effects": "models.therapists",
    "therapist_development": "models.development",
    "therapist_benchmark": "models.development",
    "aggregate_effects": "models.multilevel",
    "load_dataset": "datasets",
    "list_datasets": "datasets",
    "fit_many": "models.batch",
    "bias_tests": "models.bias",
    "egger_test": "models.bias",
    "rank_test": "models.bias",
    "trim_and_fill": "models.bias",
    "fail_safe_n": "models.bias",
    "pet_peese": "models.bias",
    "selection_model": "models.bias",
    "funnel_data": "models.bias",
    "influence": "models.influence",
    "leave_one_out": "models.influence",
    "cumulative": "models.influence",
    "baujat": "models.influence",
    "monitor": "monitoring",
    "reliable_change": "monitoring",
    "clinical_cutoffs": "monitoring",
    "INSTRUMENTS": "monitoring",
    "simulate_practice": "simulate",
    "simulation_study": "simulate",
    "bootstrap": "simulate",
    "permutation_test": "simulate",
    "cluster_bootstrap": "simulate",
}

__all__ = [
    "InputError", "CommonFactorsWarning", "ConvergenceWarning", "BoundaryWarning", "SmallKWarning",
    "DroppedRowsWarning", *_EXPORTS,
]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
