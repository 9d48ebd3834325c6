"""The layer order of the package (README, Architecture): each module imports only from the layers below it.

Imports are read from the source with :mod:`ast`, those inside functions included, and checked against
:data:`ALLOWED`, one row per top-level module or subpackage. :data:`RAISES_INPUT_ERROR` says which modules
may raise ``InputError`` (the boundary, and public entry points that check their own arguments), and
``import commonfactors`` is checked in a fresh interpreter to stay light.
"""

import ast
import subprocess
import sys
from graphlib import TopologicalSorter
from pathlib import Path

import pytest

import commonfactors

PACKAGE = Path(commonfactors.__file__).parent
HEAVY = ("scipy", "pandas", "formulaic", "matplotlib", "jinja2")

_LEAVES = ("errors", "_distributions", "_format", "_io_write", "_paths", "_transforms", "_plotting")
#: top-level module or subpackage -> what it may import from the package ("commonfactors": the public API
#: of the package itself). Its own submodules are always allowed. Bottom to top, as the README draws it.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_distributions": set(),
    "_format": set(),
    "_io_write": set(),
    "_paths": set(),
    "_transforms": set(),
    "_plotting": set(),  # the registry report.figures fills: results draw without importing report
    "_numbers": {"errors"},
    "_formula": {"errors"},
    "_design": {"errors", "_numbers", "_formula"},
    "_checks": {"errors", "_numbers", "_design"},
    "io": {"errors", "_checks", "_numbers"},
    "datasets": {*_LEAVES, "io"},
    "effects": {"errors", "_checks", "_numbers", "_distributions"},
    "results": {"errors", "_format", "_transforms", "_plotting"},
    "models": {"errors", "_checks", "_distributions", "_format", "_transforms", "effects", "results"},
    "reproduce": {*_LEAVES, "results"},
    # synthetic practices with known truth; simulation studies (dask imported when run) and bootstraps
    "simulate": {"errors", "_distributions", "_io_write", "_checks", "models", "results"},
    # the pie's Monte Carlo draws run in blocks through simulate._dask (in this process or on Dask)
    "factors": {*_LEAVES, "_checks", "_numbers", "datasets", "effects", "models", "results", "simulate"},
    "monitoring": {"errors", "_checks", "_numbers", "_distributions", "_format", "models", "results"},
    "report": {*_LEAVES, "commonfactors", "datasets", "effects", "models", "results", "reproduce", "factors",
               "io", "simulate"},  # simulate: the simulation page runs a small study at build time
    "cli": {*_LEAVES, "_checks", "io", "datasets", "effects", "models", "results", "reproduce", "factors",
            "report", "simulate", "monitoring"},
    "commonfactors": {"errors"},  # the package's __init__: the rest is re-exported lazily, by name
}

#: modules that may raise InputError: the boundary, and public entry points checking their own arguments
RAISES_INPUT_ERROR = {
    "_checks": "validation of in-memory data",
    "_numbers": "table cells that are not numbers",
    "_design": "moderators: values, levels, collinearity",
    "_formula": "moderator formulas outside the whitelist",
    "io": "user files",
    "cli": "command-line arguments and files",
    "datasets": "an unknown dataset ID",
    "reproduce": "an unknown analysis ID",
    "effects": "effect_sizes() and the conversions: measures and their arguments",
    "models._options": "the declared options of every model, checked in one place",
    "models._notes": "the entry of the public model functions: a fitted model given as their data",
    "models.univariate": "user weights, subgroups",
    "models.multilevel": "cluster and within-cluster labels",
    "models.therapists": "therapist_effects(): clients, sessions, sites and its options",
    "models.development": "therapist_development(): clients, therapists, times and its options",
    "models.batch": "fit_many(): arrays of shape (m, k)",
    "models.network": "network_meta_analysis(): its options, reference and active treatments, the network",
    "models._network_data": "network_meta_analysis()'s arm-level and contrast-level tables",
    "models.influence": "the order of a cumulative meta-analysis",
    "models.bias": "the options of the small-study tests",
    "factors": "pies: components, correlation matrices, Monte Carlo settings",
    "simulate": "the arguments of simulate_practice(), simulation_study(), bootstrap(), permutation_test()",
    "report": "the output folder and the columns a report names",
    "monitoring": "monitor(), reliable change, instruments: their arguments and the session scores",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _imports(tree: ast.Module, path: Path) -> list[tuple[str, str | None, bool]]:
    """(module, name or None, at module level) for every import in ``path``, relative imports resolved.

    ``from . import io`` gives ("commonfactors.io", None, ...): a name that is a submodule counts as that
    module; ``from .x import f`` gives ("commonfactors.x", "f", ...).
    """
    top = {id(node) for node in tree.body}
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, None, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub.startswith("commonfactors") and _is_module(sub):
                    found.append((sub, None, id(node) in top))
                else:
                    found.append((target, a.name, id(node) in top))
    return found


def _raises_input_error(tree: ast.Module) -> bool:
    calls = (n.func for n in ast.walk(tree) if isinstance(n, ast.Call))
    return any(getattr(f, "id", getattr(f, "attr", None)) == "InputError" for f in calls)


SOURCES = sorted(PACKAGE.rglob("*.py"))
TREES = {_module_name(p): (ast.parse(p.read_text(encoding="utf-8")), p) for p in SOURCES}
IMPORTS = {m: _imports(tree, p) for m, (tree, p) in TREES.items()}


def _own(module: str) -> list[tuple[str, str | None]]:
    """The package-internal imports of ``module``."""
    return [(m, n) for m, n, _ in IMPORTS[module] if m == "commonfactors" or m.startswith("commonfactors.")]


def _unit(module: str) -> str:
    """The row of :data:`ALLOWED` a module belongs to: its top-level module or subpackage."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "commonfactors"


def _in(module: str, layer: str) -> bool:
    return module == f"commonfactors.{layer}" or module.startswith(f"commonfactors.{layer}.")


def _layer(layer: str) -> list[str]:
    return [m for m in IMPORTS if _in(m, layer)]


def test_the_import_parser_sees_the_package():
    assert {"commonfactors.errors", "commonfactors.models.tau2", "commonfactors.cli.pool"} <= set(IMPORTS)
    assert ("commonfactors.results.meta", "MetaResult") in _own("commonfactors.models.univariate")
    assert ("commonfactors.io", None) in _own("commonfactors.cli._common")  # `from .. import io`
    assert ("commonfactors._design", "design_matrix") in _own("commonfactors._checks")


def test_the_layer_table_covers_the_package_and_has_no_cycle():
    assert {_unit(m) for m in IMPORTS} <= set(ALLOWED)
    order = list(TopologicalSorter(ALLOWED).static_order())  # raises CycleError on a cycle
    assert order.index("_checks") < order.index("models") and order.index("results") < order.index("models")


def test_the_table_keeps_models_apart_from_files_and_results_apart_from_models():
    assert not ALLOWED["models"] & {"io", "datasets", "report", "cli"}  # models know nothing of files
    # result objects format, back-transform, and draw through the registry
    assert ALLOWED["results"] <= {"_format", "_transforms", "_plotting", "errors"}
    assert all(not ALLOWED[leaf] for leaf in _LEAVES)
    assert [u for u in ALLOWED if {"cli", "report"} & ALLOWED[u]] == ["cli"]  # report only from the cli


@pytest.mark.parametrize("module", sorted(IMPORTS))
def test_each_module_imports_only_from_the_layers_below(module):
    unit = _unit(module)
    bad = [(m, n) for m, n in _own(module) if _unit(m) != unit and _unit(m) not in ALLOWED[unit]]
    assert not bad, f"{module} ({unit!r}) may import only {sorted(ALLOWED[unit])}, but imports {bad}"


@pytest.mark.parametrize("module", _layer("report"))
def test_report_uses_only_public_model_functions(module):
    bad = [(m, n) for m, n in _own(module) if _in(m, "models")
           and (any(part.startswith("_") for part in m.split(".")) or n is None or n.startswith("_"))]
    assert not bad, f"{module} reaches into model internals: {bad}"


@pytest.mark.parametrize("module", sorted(m for m in TREES if _raises_input_error(TREES[m][0])))
def test_input_errors_are_raised_at_the_boundary_or_where_documented(module):
    assert any(_in(module, where) for where in RAISES_INPUT_ERROR), (
        f"{module} raises InputError; only the boundary and the documented entry points may "
        f"({', '.join(RAISES_INPUT_ERROR)})")


@pytest.mark.parametrize("module", sorted(IMPORTS))
def test_heavy_libraries_are_imported_lazily(module):
    """scipy, pandas, formulaic, matplotlib and jinja2 only inside the functions that need them (fast start);
    scipy.stats nowhere (distributions come from commonfactors._distributions)."""
    top = [m for m, _, at_top in IMPORTS[module] if at_top and m.split(".")[0] in HEAVY]
    assert not top, f"{module} imports {top} at module level"
    assert not [m for m, _, _ in IMPORTS[module] if m.startswith("scipy.stats")]


def test_import_commonfactors_stays_light():
    code = ("import sys, commonfactors; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
