"""Result objects shared by all models: frozen, unrounded, computed completely at fit time.

The contract every result class keeps (checked in tests/test_results_contract.py):
``summary()`` returns a :class:`commonfactors._format.Summary` (never prints), ``to_frame()`` a tidy
DataFrame, ``to_dict()`` exactly the JSON of the command line contract (NaN -> None), and
``__repr__`` the summary text. One module per owner inside this package; names re-exported here.
"""

from __future__ import annotations

import importlib

_EXPORTS: dict[str, str] = {
    # name -> submodule of commonfactors.results
    "Coefficient": "meta",
    "MetaResult": "meta",
    "SubgroupResult": "meta",
    "MultilevelResult": "multilevel",
    "NetworkResult": "network",
    "TherapistResult": "therapists",
    "ReproduceResult": "reproduce",
    "ElementEstimate": "factors",
    "ElementResult": "factors",
    "PieResult": "factors",
    "PieSlice": "factors",
    "Share": "factors",
    "CorrelationPoolResult": "factors",
    "PooledCorrelation": "factors",
    "SensitivityResult": "factors",
    "SensitivityRow": "factors",
    "BatchResult": "batch",
    "BinaryResult": "binary",
    "BiasResult": "bias",
    "RegressionTest": "bias",
    "RankTest": "bias",
    "TrimFillResult": "bias",
    "FailSafeN": "bias",
    "PetPeeseResult": "bias",
    "SelectionModelResult": "bias",
    "FunnelData": "bias",
    "InfluenceResult": "influence",
    "LeaveOneOutResult": "influence",
    "CumulativeResult": "influence",
    "BaujatResult": "influence",
    "MonitorResult": "monitoring",
    "SimulationResult": "simulation",
    "BootstrapResult": "simulation",
    "ClusterBootstrapResult": "simulation",
    "PermutationResult": "simulation",
}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
