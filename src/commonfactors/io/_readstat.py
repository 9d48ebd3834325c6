"""SPSS .sav and Stata .dta files, through pyreadstat."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..errors import CommonFactorsWarning
from ._common import _library_read, _numbered, _reissue


def _read_readstat(path: Path, fmt: str):
    """SPSS .sav / Stata .dta via pyreadstat; value labels become categories, and a warning says so."""
    import pyreadstat

    if fmt == "spss":
        reader, what = pyreadstat.read_sav, "an SPSS .sav"
    else:
        reader, what = pyreadstat.read_dta, "a Stata .dta"
    (df, meta), caught = _library_read(
        path, what, lambda: reader(os.fspath(path), apply_value_formats=True, formats_as_category=True))
    _reissue(path, caught)
    labelled = [c for c in df.columns if c in (meta.variable_value_labels or {})]
    df = _numbered(df)
    notes = []
    if labelled:
        parts = []
        for c in labelled:
            lab = meta.variable_value_labels[c]
            shown = ", ".join(f"{_plain(k)} = {v!r}" for k, v in list(lab.items())[:4])
            parts.append(f"{c!r} ({shown}{', ...' if len(lab) > 4 else ''})")
        note = f"value labels read as categories: {'; '.join(parts)}"
        notes.append(note)
        warnings.warn(f"{path}: {note}", CommonFactorsWarning, stacklevel=3)
    df.attrs["notes"] = notes
    return df


def _plain(x):
    return int(x) if isinstance(x, float) and x.is_integer() else x
