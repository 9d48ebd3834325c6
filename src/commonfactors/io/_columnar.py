"""Parquet (through pyarrow) and JSON tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ._common import (
    _empty_error,
    _library_read,
    _no_rows_error,
    _numbered,
    _read_bytes,
    _reissue,
    _typed_frame,
)
from ._text import _decode


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    # pyarrow raises ArrowInvalid for a bad footer, OSError for a truncated file
    df, caught = _library_read(path, "a Parquet", lambda: pq.read_table(path).to_pandas())
    _reissue(path, caught)
    return _numbered(df)


_JSON_TABLE = "JSON records [{...}, ...] or columns {\"yi\": [...], ...}"


class _DuplicateKey(Exception):
    def __init__(self, key: str, number: int):
        super().__init__(key)
        self.key, self.number = key, number


class _UniqueKeys:
    """``object_pairs_hook`` for json.loads: a dict per JSON object, refusing a key given twice (the
    standard library keeps the last silently). Objects close in document order, so for records the
    n-th object is record n."""

    def __init__(self):
        self.count = 0

    def __call__(self, pairs):
        self.count += 1
        obj = dict(pairs)
        if len(obj) < len(pairs):
            seen = set()
            key = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise _DuplicateKey(key, self.count)
        return obj


def _read_json(path: Path):
    """Records ``[{"yi": 0.1, "vi": 0.02}, ...]`` or columns ``{"yi": [...], "vi": [...]}``."""
    import json

    raw = _read_bytes(path)
    if not raw.strip():
        raise _empty_error(path)
    text, _ = _decode(raw)
    objects = _UniqueKeys()
    try:
        obj = json.loads(text, object_pairs_hook=objects)
    except json.JSONDecodeError as e:
        raise InputError(f"is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}", file=path,
                         expected=_JSON_TABLE) from None
    except RecursionError:
        raise InputError("nests JSON arrays or objects too deeply to be read", file=path,
                         expected=_JSON_TABLE + ", two levels deep") from None
    except _DuplicateKey as e:
        records = text.lstrip().startswith("[")
        raise InputError(f"the key {e.key!r} appears twice in " + (f"record {e.number}" if records
                                                                   else "an object"),
                         file=path, row=e.number + 1 if records else None, column=e.key,
                         expected="each key once per object") from None
    if isinstance(obj, list):
        columns: dict[str, list] = {}
        for i, rec in enumerate(obj):
            if not isinstance(rec, dict):
                raise InputError(f"record {i + 1} is a JSON {type(rec).__name__}, not an object", file=path,
                                 row=i + 2, expected="a list of objects, one per study")
            for k in rec:
                columns.setdefault(str(k), [None] * len(obj))
            for k, v in rec.items():
                columns[str(k)][i] = v
    elif isinstance(obj, dict) and obj and all(isinstance(v, list) for v in obj.values()):
        lengths = {k: len(v) for k, v in obj.items()}
        if len(set(lengths.values())) > 1:
            raise InputError("the columns have different lengths ("
                             + ", ".join(f"{k!r}: {n}" for k, n in lengths.items()) + ")", file=path,
                             expected="one value per study in every column")
        columns = {str(k): list(v) for k, v in obj.items()}
    else:
        raise InputError(f"holds a JSON {type(obj).__name__} that is neither records nor columns", file=path,
                         expected=_JSON_TABLE)
    n = len(next(iter(columns.values()))) if columns else 0
    if n == 0:
        raise _no_rows_error(path)
    for k, vals in columns.items():
        for i, v in enumerate(vals):
            if isinstance(v, (dict, list)):
                raise InputError(f"got a nested JSON {type(v).__name__}", file=path, row=i + 2, column=k,
                                 expected="a number, text or null")
    return _typed_frame(columns, np.arange(2, n + 2))
