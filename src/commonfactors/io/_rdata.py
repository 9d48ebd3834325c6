"""R .rds and .RData files, through pyreadr."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from ._common import _library_read, _numbered, _reissue


def _read_r(path: Path, name: str | None):
    """An .rds data frame, or a data frame in an .RData file (the only one, or the one named)."""
    import pyreadr

    objects, caught = _library_read(path, "an R .rds/.RData", lambda: pyreadr.read_r(os.fspath(path)))
    frames = {k: v for k, v in objects.items() if hasattr(v, "columns") and list(v.columns) != [None]}
    if not frames:
        raise InputError(f"holds {_r_objects(objects, caught)}, not a data frame", file=path,
                         expected="an R data frame saved with saveRDS(df) or save(df, file = ...)")
    _reissue(path, caught)
    if name is not None:
        if name not in frames:
            raise InputError(f"has no data frame {name!r}", file=path,
                             expected=f"one of {', '.join(map(repr, frames))}")
        df = frames[name]
    elif len(frames) == 1:
        df = next(iter(frames.values()))
    else:
        raise InputError(f"holds {len(frames)} data frames ({', '.join(map(repr, frames))})", file=path,
                         expected="table= naming the one to read")
    return _numbered(df)


_R_TYPES = {"f": "numeric", "i": "integer", "b": "logical"}


def _r_objects(objects: dict, caught) -> str:
    """What an R file without a data frame holds, in words: pyreadr turns a vector into a one-column table
    named None, and skips lists (with a warning)."""
    vectors = [f"{'an' if k is None else repr(k) + ', an'} R vector of {len(v)} "
               f"{_R_TYPES.get(v.dtypes.iloc[0].kind, 'character')} values" for k, v in objects.items()]
    if vectors:
        return " and ".join(vectors)
    if any("Lists" in str(w.message) for w in caught):
        return "an R list (or another object that is not a table)"
    return "no object pyreadr can read"
