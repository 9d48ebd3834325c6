"""Import direction (DESIGN.md "The data flow", STYLE.md section 2): nothing reaches back.

``errors`` <- ``_checks`` <- ``io``/``effects`` <- ``models`` <- ``results`` <- ``factors`` <- ``report``
<- ``cli``. Imports are read from the source with :mod:`ast` (lazy imports inside functions count too),
and ``import commonfactors`` is checked in a fresh interpreter to stay light.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import commonfactors

PACKAGE = Path(commonfactors.__file__).parent
HEAVY = ("scipy", "pandas", "formulaic", "matplotlib", "jinja2")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _imports(path: Path) -> list[tuple[str, str | None, bool]]:
    """(module, name or None, at module level) for every import in ``path``, relative imports resolved.

    ``from . import io`` gives ("commonfactors.io", None, ...): a name that is a submodule counts as that
    module; ``from .x import f`` gives ("commonfactors.x", "f", ...).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
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


SOURCES = sorted(PACKAGE.rglob("*.py"))
IMPORTS = {_module_name(p): _imports(p) for p in SOURCES}


def _own(module: str) -> list[tuple[str, str | None]]:
    """The package-internal imports of ``module``."""
    return [(m, n) for m, n, _ in IMPORTS[module] if m == "commonfactors" or m.startswith("commonfactors.")]


def _in(module: str, layer: str) -> bool:
    return module == f"commonfactors.{layer}" or module.startswith(f"commonfactors.{layer}.")


def _layer(layer: str) -> list[str]:
    return [m for m in IMPORTS if _in(m, layer)]


def test_the_import_parser_sees_the_package():
    assert {"commonfactors.errors", "commonfactors.models.tau2", "commonfactors.cli.pool"} <= set(IMPORTS)
    assert ("commonfactors.results.meta", "MetaResult") in _own("commonfactors.models.univariate")
    assert ("commonfactors.io", None) in _own("commonfactors.cli._common")  # `from .. import io`


@pytest.mark.parametrize("module", _layer("models"))
def test_models_know_nothing_of_files_reports_or_the_command_line(module):
    bad = [(m, n) for m, n in _own(module) if any(_in(m, x) for x in ("io", "report", "cli", "datasets"))]
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", _layer("report"))
def test_report_uses_only_public_model_functions(module):
    bad = [(m, n) for m, n in _own(module) if _in(m, "models")
           and (any(part.startswith("_") for part in m.split(".")) or n is None or n.startswith("_"))]
    assert not bad, f"{module} reaches into model internals: {bad}"


def test_errors_imports_nothing_from_the_package():
    assert _own("commonfactors.errors") == []


@pytest.mark.parametrize("module", ["commonfactors._distributions", "commonfactors._format",
                                    "commonfactors._io_write"])
def test_leaf_helpers_import_nothing_from_the_package(module):
    assert _own(module) == []


@pytest.mark.parametrize("module", _layer("results"))
def test_results_only_format(module):
    """Result objects compute nothing heavy on access: they need only _format, errors and each other."""
    allowed = ("commonfactors._format", "commonfactors.errors")
    bad = [(m, n) for m, n in _own(module) if not (m in allowed or _in(m, "results"))]
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", [m for m in IMPORTS if not _in(m, "cli")])
def test_only_the_command_line_imports_cli_and_report(module):
    bad = [(m, n) for m, n in _own(module)
           if _in(m, "cli") or (_in(m, "report") and not _in(module, "report"))]
    assert not bad, f"{module} imports {bad}"


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
