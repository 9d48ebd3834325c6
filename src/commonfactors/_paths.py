"""Where the shipped ``data/`` and ``analyses/`` folders are, for a source tree and for an installed wheel.

In the repository both folders sit at the root, next to ``src/`` (DESIGN.md's layout). A built wheel
(``pip install .``, ``pip wheel .``) carries them inside the package, as ``commonfactors/_data`` and
``commonfactors/_analyses`` (``pyproject.toml`` maps the two subpackages onto the root folders with
setuptools' ``package-dir``). :func:`shipped_dir` prefers the source tree, so that an editable install
(``pip install -e .``) or a clone on ``sys.path`` reads the files being edited, and otherwise returns the
installed copy, found with :func:`importlib.resources.files`.

Only :mod:`pathlib` is imported at module level, so ``commonfactors datasets list`` stays a cold start
without pandas; :mod:`importlib.resources` is imported only when the source tree is absent.
"""

from __future__ import annotations

from pathlib import Path

#: The repository root when this module runs from a source tree (``src/commonfactors/_paths.py`` ->
#: ``parents[2]``); for an installed wheel it is some folder of the environment without ``pyproject.toml``.
SOURCE_ROOT = Path(__file__).resolve().parents[2]

#: Folder at the repository root -> subpackage of ``commonfactors`` holding it inside a wheel.
PACKAGED = {"data": "_data", "analyses": "_analyses"}


def shipped_dir(name: str) -> Path:
    """Folder ``name`` ("data" or "analyses"): the source tree's if present, else the installed copy.

    The source tree counts as present when ``SOURCE_ROOT`` holds ``pyproject.toml`` and the folder ``name``.
    The installed copy is ``importlib.resources.files("commonfactors") / PACKAGED[name]``; pip installs
    wheels unpacked on the file system, where that is a :class:`pathlib.Path`. The folder is not checked
    for existence: the callers raise their own ``InputError`` naming it when it is missing.
    """
    packaged = PACKAGED[name]
    source = SOURCE_ROOT / name
    if (SOURCE_ROOT / "pyproject.toml").is_file() and source.is_dir():
        return source
    from importlib.resources import files

    return Path(files(__package__).joinpath(packaged))
