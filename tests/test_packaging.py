"""Packaging: a built wheel carries ``data/`` and ``analyses/`` (pyproject.toml's ``[tool.setuptools]``), and
``commonfactors._paths.shipped_dir`` finds them in a source tree and in an installed wheel.

The fast tests check the resolution (source tree first, installed copy otherwise) and that the explicit
package list and package-data globs of pyproject.toml cover the tree. The slow ones build a wheel and an
sdist from a copy of this checkout, install the wheel into a throw-away virtual environment (with the
system site-packages for numpy, pandas..., ``--no-deps``), and run the command line from a folder outside
the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from setuptools import find_namespace_packages

import commonfactors
from commonfactors import _paths, datasets, reproduce
from commonfactors.cli import main
from commonfactors.factors import taxonomy
from commonfactors.results.reproduce import VERDICTS
from reference import load
from tolerances import METAFOR_RTOL

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = Path(commonfactors.__file__).resolve().parent


def _setuptools_config() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _files(folder: Path) -> set[str]:
    """Files under ``folder`` (posix paths relative to it), without Python's byte-code caches."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


# ----------------------------------------------------------------------------------------------------------
# resolution


def test_source_tree_is_preferred(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "analyses").mkdir()
    monkeypatch.setattr(_paths, "SOURCE_ROOT", tmp_path)
    assert _paths.shipped_dir("data") == tmp_path / "data"
    assert _paths.shipped_dir("analyses") == tmp_path / "analyses"


def test_installed_copy_without_a_source_tree(tmp_path, monkeypatch):
    # an installed wheel: SOURCE_ROOT is a folder of the environment, without pyproject.toml
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(_paths, "SOURCE_ROOT", tmp_path)
    assert _paths.shipped_dir("data") == PACKAGE_DIR / "_data"
    assert _paths.shipped_dir("analyses") == PACKAGE_DIR / "_analyses"
    # a project root that is not this one (no analyses/ folder): still the installed copy
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    assert _paths.shipped_dir("analyses") == PACKAGE_DIR / "_analyses"
    assert _paths.shipped_dir("data") == tmp_path / "data"


def test_this_checkout_reads_its_own_folders():
    assert _paths.SOURCE_ROOT == ROOT
    assert datasets.DATA_DIR == ROOT / "data"
    assert datasets.DESCRIPTOR == ROOT / "data" / "datapackage.json"
    assert reproduce.ANALYSES_DIR == ROOT / "analyses"
    assert taxonomy.published_path("estimates.csv") == ROOT / "data" / "published" / "estimates.csv"


# ----------------------------------------------------------------------------------------------------------
# pyproject.toml against the tree


def test_package_list_covers_the_tree():
    config = _setuptools_config()
    mapped = {f"commonfactors.{sub}": folder for folder, sub in _paths.PACKAGED.items()}
    assert config["package-dir"] == {"": "src", **mapped}
    expected = set(find_namespace_packages(str(ROOT / "src")))
    for package, folder in mapped.items():
        expected |= {package} | {f"{package}.{p}" for p in find_namespace_packages(str(ROOT / folder))}
    assert set(config["packages"]) == expected
    assert len(config["packages"]) == len(expected)


@pytest.mark.parametrize("folder", sorted(_paths.PACKAGED))
def test_package_data_globs_cover_the_shipped_folders(folder):
    globs = _setuptools_config()["package-data"][f"commonfactors.{_paths.PACKAGED[folder]}"]
    base = ROOT / folder
    matched = {p.relative_to(base).as_posix() for g in globs for p in base.glob(g) if p.is_file()}
    assert matched == _files(base)


# ----------------------------------------------------------------------------------------------------------
# a built wheel, installed outside the repository

# metafor 3.8-1, tests/reference/packaging.R, run to convergence:
#   res <- rma(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg, control=list(threshold=1e-12))
BCG_RR_REML = load("packaging")["bcg_rr_reml"]


def _run(args, cwd, env) -> subprocess.CompletedProcess:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{args}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A wheel and an sdist built from a copy of this checkout (the build writes build/ and *.egg-info
    there, not in the working tree), the wheel installed into a virtual environment; returns the paths
    and how to run its Python from a folder outside the repository."""
    tmp = tmp_path_factory.mktemp("packaging")
    tree = tmp / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    for name in ("src", "data", "analyses"):
        shutil.copytree(ROOT / name, tree / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    outside = tmp / "outside"
    outside.mkdir()

    # pip comes from the system site-packages; packages installed with the venv's python land in the venv
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], tmp, env)
    python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    # setuptools < 70.1 builds wheels with the separate `wheel` package
    has_bdist_wheel = ("import importlib.util, sys; sys.exit(importlib.util.find_spec('wheel') is None and "
                       "importlib.util.find_spec('setuptools.command.bdist_wheel') is None)")
    if subprocess.run([python, "-c", has_bdist_wheel], cwd=tmp, env=env).returncode:
        _run([python, "-m", "pip", "install", "--quiet", "wheel"], tmp, env)

    dist = tmp / "dist"
    _run([python, "-m", "pip", "wheel", str(tree), "--no-deps", "--no-build-isolation", "-w", str(dist)],
         tree, env)
    (wheel,) = dist.glob("commonfactors-*.whl")
    build_sdist = f"from setuptools import build_meta; print(build_meta.build_sdist({str(dist)!r}))"
    sdist_name = _run([python, "-c", build_sdist], tree, env).stdout.strip().splitlines()[-1]
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], tmp, env)
    return {"python": python, "venv": venv, "wheel": wheel, "sdist": dist / sdist_name, "outside": outside,
            "env": env}


def _cli(built, *args) -> str:
    return _run([built["python"], "-m", "commonfactors.cli", *args], built["outside"], built["env"]).stdout


@pytest.mark.slow
def test_wheel_ships_data_and_analyses(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    assert "commonfactors/_data/datapackage.json" in names
    for folder, sub in _paths.PACKAGED.items():
        prefix = f"commonfactors/{sub}/"
        shipped = {n.removeprefix(prefix) for n in names if n.startswith(prefix)}
        assert shipped == _files(ROOT / folder)
    templates = {n for n in names if n.startswith("commonfactors/report/")}
    assert {f"commonfactors/report/{f}" for f in _files(PACKAGE_DIR / "report")} <= templates


@pytest.mark.slow
def test_sdist_ships_data_and_analyses(built):
    with tarfile.open(built["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for folder in _paths.PACKAGED:
        assert {f"{folder}/{f}" for f in _files(ROOT / folder)} <= names
    assert {"pyproject.toml", "README.md", "src/commonfactors/_paths.py"} <= names


@pytest.mark.slow
def test_installed_package_uses_its_own_copy(built):
    code = ("import json, commonfactors; from commonfactors import datasets as d, reproduce as r; "
            "print(json.dumps([commonfactors.__file__, str(d.DATA_DIR), str(r.ANALYSES_DIR)]))")
    out = _run([built["python"], "-c", code], built["outside"], built["env"]).stdout
    init, data, analyses = (Path(p) for p in json.loads(out))
    package = init.parent
    assert package.parent.name == "site-packages"
    assert package.is_relative_to(built["venv"])
    assert data == package / "_data"
    assert analyses == package / "_analyses"


@pytest.mark.slow
def test_installed_datasets_list(built):
    out = json.loads(_cli(built, "datasets", "list", "--format", "json"))
    assert out == {"datasets": datasets.catalogue()}
    # the installed copy is found without pandas, as in tests/test_cli_datasets.py
    code = ("import sys\nfrom commonfactors.cli import main\n"
            "try:\n    main(['datasets', 'list'])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(str('pandas' in sys.modules))")
    out = _run([built["python"], "-c", code], built["outside"], built["env"])
    assert out.stderr.strip() == "False"
    assert out.stdout.splitlines()[1].startswith("bcg")


@pytest.mark.slow
def test_installed_pool_of_a_shipped_dataset_matches_metafor(built):
    effects = _cli(built, "effects", "bcg", "--measure", "RR", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos",
                   "--di", "cneg", "--format", "csv")
    (built["outside"] / "bcg_rr.csv").write_text(effects, encoding="utf-8")
    fit = json.loads(_cli(built, "pool", "bcg_rr.csv", "--format", "json"))
    assert (fit["method"], fit["test"], fit["k"]) == ("REML", "z", BCG_RR_REML["k"])
    for field in ("estimate", "se", "tau2", "q"):
        assert fit[field] == pytest.approx(BCG_RR_REML[field], rel=METAFOR_RTOL["rma"]), field


@pytest.mark.slow
def test_installed_reproduce_all(built):
    out = json.loads(_cli(built, "reproduce", "--all", "--format", "json"))
    assert out["analyses"] == reproduce.analysis_ids()
    assert out["rows"]
    assert all(r["verdict"] in VERDICTS for r in out["rows"])
    source = json.loads(CliRunner().invoke(main, ["reproduce", "--all", "--format", "json"]).stdout)
    assert [(r["id"], r["verdict"]) for r in out["rows"]] == [(r["id"], r["verdict"]) for r in source["rows"]]


@pytest.mark.slow
def test_installed_factors_show(built):
    out = json.loads(_cli(built, "factors", "show", "alliance", "--format", "json"))
    assert out["element"] == "alliance"
    assert out["estimates"]
    source = CliRunner().invoke(main, ["factors", "show", "alliance", "--format", "json"]).stdout
    assert out == json.loads(source)


@pytest.mark.slow
def test_installed_console_script(built):
    script = built["venv"] / ("Scripts" if os.name == "nt" else "bin") / "commonfactors"
    out = _run([str(script), "datasets", "show", "bcg", "--format", "json"], built["outside"], built["env"])
    assert json.loads(out.stdout)["id"] == "bcg"
