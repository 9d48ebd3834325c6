"""The README's set-up on a Python that refuses to install packages outside a virtual environment.

Debian's and Ubuntu's own ``python3`` refuse ``pip install`` with "externally-managed-environment" (PEP 668:
an ``EXTERNALLY-MANAGED`` file in the standard library's folder); pip itself refuses with
``PIP_REQUIRE_VIRTUALENV=1``. The Makefile must then create the project's ``.venv`` and install there, and
with a virtual environment active it must install into that one. The refusing Pythons used here are the
interpreter behind the one running the tests (outside any virtual environment) with
``PIP_REQUIRE_VIRTUALENV=1``, and Debian's ``/usr/bin/python3`` where it carries the marker.

The full install is marked ``slow`` (about a minute with the package index at hand, several with Debian's
Python, which downloads every dependency): it runs in ``make bench``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = Path(sys.base_prefix) / "bin" / "python3"  # the interpreter outside any virtual environment
DEBIAN = Path("/usr/bin/python3")
MARKED = bool(glob.glob("/usr/lib/python3*/EXTERNALLY-MANAGED")) and DEBIAN.exists()

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def refusing(tmp_path: Path, python: Path, require_virtualenv: bool) -> dict[str, str]:
    """An environment whose ``python3`` is ``python`` and that has no virtual environment active."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python3").symlink_to(python)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    if require_virtualenv:
        env["PIP_REQUIRE_VIRTUALENV"] = "1"
    return env


def project_copy(tmp_path: Path, full: bool) -> Path:
    """The files ``make install`` reads (all of the package with ``full``), in a folder of their own."""
    proj = tmp_path / "project"
    proj.mkdir()
    for name in ("Makefile", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, proj / name)
    if full:
        for name in ("src", "data", "analyses"):
            shutil.copytree(ROOT / name, proj / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return proj


def make(proj: Path, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-C", str(proj), "--no-print-directory", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def creates_env(line: str) -> bool:
    return "-m venv " in line or "uv venv " in line


def installed(python: Path, env: dict[str, str]) -> str:
    return subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], env=env,
                          capture_output=True, text=True, timeout=120).stdout


def test_the_simulated_python_refuses_installs(tmp_path):
    env = refusing(tmp_path, BASE, require_virtualenv=True)
    if subprocess.run(["python3", "-m", "pip", "--version"], env=env, capture_output=True).returncode:
        pytest.skip("the base interpreter has no pip: it installs nothing anyway")
    res = subprocess.run(["python3", "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index", "pip"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "virtualenv" in res.stderr, res.stderr


@pytest.mark.skipif(not MARKED, reason="no Debian python3 with an EXTERNALLY-MANAGED marker here")
def test_debians_python_refuses_installs(tmp_path):
    res = subprocess.run([str(DEBIAN), "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index", "pip"],
                         env=refusing(tmp_path, DEBIAN, require_virtualenv=False),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "externally-managed-environment" in res.stderr, res.stderr


def test_make_creates_and_uses_the_project_environment(tmp_path):
    proj = project_copy(tmp_path, full=False)
    res = make(proj, refusing(tmp_path, BASE, require_virtualenv=True), "-n", "reports", "test")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("using the project environment .venv"), lines[0]
    venv = proj / ".venv"
    create = next(i for i, line in enumerate(lines) if creates_env(line) and str(venv) in line)
    install = next(i for i, line in enumerate(lines) if "pip install" in line and "-e ." in line)
    dev = next(i for i, line in enumerate(lines) if "pip install" in line and '-e ".[dev]"' in line)
    assert create < install < dev, lines
    assert f"{venv}/bin/python" in lines[install] or f"--python {venv}/bin/python" in lines[install]
    assert not any("pip install" in line and str(venv) not in line for line in lines), lines
    assert lines[-1].startswith("python -m pytest"), lines  # run by .venv's python (PATH as activated)


def test_make_uses_an_active_virtual_environment(tmp_path):
    proj = project_copy(tmp_path, full=False)
    active = tmp_path / "active-env"
    subprocess.run([str(BASE), "-m", "venv", "--without-pip", str(active)], check=True, timeout=120)
    env = refusing(tmp_path, BASE, require_virtualenv=True) | {"VIRTUAL_ENV": str(active)}
    res = make(proj, env, "-n", "reports")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"using the active virtual environment {active}", lines[0]
    assert not any(creates_env(line) for line in lines), lines
    assert any("pip install" in line and str(active) in line for line in lines), lines
    assert not (proj / ".venv").exists()


@pytest.mark.slow
@pytest.mark.parametrize("python", [
    pytest.param("base", id="PIP_REQUIRE_VIRTUALENV"),
    pytest.param("debian", id="debian-EXTERNALLY-MANAGED",
                 marks=pytest.mark.skipif(not MARKED, reason="no Debian python3 with the marker here")),
])
def test_make_install_on_a_refusing_python(tmp_path, python):
    proj = project_copy(tmp_path, full=True)
    if python == "base":
        # the base interpreter's own packages are reused (--system-site-packages): only the package is built
        exe, args = BASE, ["VENV_ARGS=--system-site-packages"]
        env = refusing(tmp_path, BASE, require_virtualenv=True)
    else:
        exe, env, args = DEBIAN, refusing(tmp_path, DEBIAN, require_virtualenv=False), []
    before = installed(exe, env)
    try:
        res = make(proj, env, "install", *args, timeout=1800)
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.startswith("using the project environment .venv")
        venv_python = proj / ".venv" / "bin" / "python"
        where = subprocess.run([str(venv_python), "-c", "import sys, commonfactors; "
                                "print(sys.prefix != sys.base_prefix, commonfactors.__file__)"],
                               capture_output=True, text=True, timeout=120, env=env)
        assert where.stdout.split() == ["True", str(proj / "src" / "commonfactors" / "__init__.py")], where
        version = subprocess.run([str(proj / ".venv" / "bin" / "commonfactors"), "--version"],
                                 capture_output=True, text=True, timeout=120)
        assert version.returncode == 0 and "0." in version.stdout, version
        assert installed(exe, env) == before  # the refusing Python itself is untouched
        again = make(proj, env, "install", *args)
        assert again.returncode == 0 and "pip install" not in again.stdout  # installed once
    finally:
        shutil.rmtree(proj / ".venv", ignore_errors=True)
