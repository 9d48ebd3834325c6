"""The catalogue of shipped datasets (``data/``): list, describe, load, cite, export and validate.

Everything the catalogue knows comes from one Frictionless Data Package descriptor,
``data/datapackage.json`` (Frictionless Data, "Data Package" and "Table Schema" specifications v1,
https://specs.frictionlessdata.io): one resource per CSV file with its source, licence, citation,
snapshot, field schema and known quirks. Listing, describing and citing read only that JSON (no
pandas import), so ``commonfactors datasets list`` starts fast; :func:`load_dataset` and
:func:`list_datasets` import pandas when called.

The data folder is the repository's ``data/`` when running from a source tree (an editable install,
``pip install -e .``), otherwise the copy a built wheel installs as ``commonfactors/_data``
(:func:`commonfactors._paths.shipped_dir`).
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from . import _format
from ._io_write import atomic_path, write_atomic
from ._paths import shipped_dir
from .errors import InputError

#: The curated data folder: ``<repository>/data`` in a source tree, ``commonfactors/_data`` once installed.
DATA_DIR = shipped_dir("data")
DESCRIPTOR = DATA_DIR / "datapackage.json"

_INTEGER = re.compile(r"^[+-]?\d+$")
_CATALOGUE_COLUMNS = ("id", "title", "k", "rows", "measure", "licence")


@functools.lru_cache(maxsize=1)
def _package() -> dict:
    if not DESCRIPTOR.exists():
        raise InputError("the dataset catalogue is not installed", file=DESCRIPTOR,
                         expected="the data/ folder next to src/ in a clone, or commonfactors/_data in an "
                                  "installed wheel (reinstall commonfactors: pip install .)")
    return json.loads(DESCRIPTOR.read_text(encoding="utf-8"))


def dataset_ids() -> list[str]:
    """The IDs of the shipped datasets, in catalogue order."""
    return [r["name"] for r in _package()["resources"]]


def _resource(id: str) -> dict:
    for r in _package()["resources"]:
        if r["name"] == id:
            return r
    ids = dataset_ids()
    close = difflib.get_close_matches(str(id), ids, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(f"no dataset {id!r}{hint}", expected=f"a dataset ID: {', '.join(ids)}")


def _path(res: dict) -> Path:
    return DATA_DIR / res["path"]


def _licence(res: dict) -> str:
    return ", ".join(lic["name"] for lic in res.get("licenses", []))


def catalogue() -> list[dict]:
    """One plain dict per dataset (``id, title, k, rows, measure, licence``), read from the descriptor only.

    ``k`` is the number of studies (``None`` for tables of published estimates), ``rows`` the number
    of data rows of the file (rows can be effect sizes or arms nested in studies).
    """
    return [{"id": r["name"], "title": r["title"], "k": r.get("k"), "rows": r["rows"],
             "measure": r.get("measure"), "licence": _licence(r)} for r in _package()["resources"]]


def list_datasets():
    """The shipped datasets as a tidy table.

    Returns
    -------
    pandas.DataFrame
        One row per dataset: ``id`` (what :func:`load_dataset` takes), ``title``, ``k`` (number of
        studies; missing for tables of published estimates), ``rows`` (rows of the file),
        ``measure`` (the effect-size measure, in metafor's ``escalc`` names) and ``licence``
        (SPDX-style licence name).

    Examples
    --------
    >>> import commonfactors as cf
    >>> table = cf.list_datasets()
    >>> print(table[table.id.isin(["bcg", "lopez2019"])].drop(columns="title").to_string(index=False))
           id  k  rows measure          licence
          bcg 13    13      RR GPL-2.0-or-later
    lopez2019 76   172    SMCR GPL-2.0-or-later
    """
    import pandas as pd

    return pd.DataFrame(catalogue(), columns=list(_CATALOGUE_COLUMNS)).astype({"k": "Int64"})


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """Everything the catalogue says about one dataset (from ``data/datapackage.json``).

    ``fields`` is the Frictionless field schema (one dict per column: name, type, description,
    optional unit and constraints); ``head`` the first rows of the file as strings.
    """

    id: str
    title: str
    path: str
    k: int | None
    rows: int
    measure: str | None
    effect: dict
    raw_effect: dict
    citation: dict
    related: tuple[dict, ...]
    licence: str
    licenses: tuple[dict, ...]
    sources: tuple[dict, ...]
    snapshot: dict
    provenance: str
    quirks: tuple[str, ...]
    fields: tuple[dict, ...]
    head: tuple[dict, ...]

    def summary(self) -> _format.Summary:
        lines = [self.title, "", f"id:          {self.id}", f"file:        {self.path}"]
        k = f"{self.k} studies, " if self.k is not None else ""
        lines.append(f"size:        {k}{self.rows} rows, {len(self.fields)} columns")
        if self.measure:
            lines.append(f"measure:     {self.measure}  ({_mapping(self.effect)})")
        if self.raw_effect:
            lines.append(f"recompute:   {_mapping(self.raw_effect)}")
        lines += [f"licence:     {self.licence}", f"citation:    {format_citation(self.citation, 'apa')}",
                  f"snapshot:    {self.snapshot.get('version', '')} ({self.snapshot.get('date', '')})",
                  f"provenance:  data/{self.provenance}"]
        if self.quirks:
            lines += ["", "Known quirks:"] + [f"  - {q}" for q in self.quirks]
        schema = [[f["name"], f["type"], f.get("unit", ""), describe_constraints(f), f.get("description", "")]
                  for f in self.fields]
        lines += ["", "Columns:", _left_table(["name", "type", "unit", "constraints", "description"], schema)]
        if self.head:
            shown = [f["name"] for f in self.fields][:8]
            more = len(self.fields) - len(shown)
            which = f" (first {len(shown)} of {len(self.fields)} columns)" if more else ""
            lines += ["", f"First {len(self.head)} rows{which}:",
                      _left_table(shown, [[_clip(row.get(c, "")) for c in shown] for row in self.head])]
        return _format.Summary("\n".join(lines))

    def to_frame(self):
        """The field schema as a table: ``name, type, unit, required, constraints, description``."""
        import pandas as pd

        return pd.DataFrame([{"name": f["name"], "type": f["type"], "unit": f.get("unit", ""),
                              "required": bool(f.get("constraints", {}).get("required", False)),
                              "constraints": describe_constraints(f), "description": f.get("description", "")}
                             for f in self.fields])

    def to_dict(self) -> dict:
        return _format.jsonable({name: getattr(self, name) for name in self.__dataclass_fields__})

    def __repr__(self) -> str:
        return str(self.summary())


def _mapping(spec: dict) -> str:
    parts = [f"{k}={v}" for k, v in spec.items() if k not in ("measure", "note")]
    note = f"; {spec['note']}" if spec.get("note") else ""
    return f"measure={spec.get('measure')}, " + ", ".join(parts) + note


def _left_table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned columns (text tables: schema, raw cells)."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in [header, *rows])


def _clip(s: str, width: int = 24) -> str:
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 3] + "..."


def describe_constraints(field: dict) -> str:
    c = field.get("constraints", {})
    out = []
    if c.get("required"):
        out.append("required")
    if c.get("unique"):
        out.append("unique")
    if "minimum" in c and "maximum" in c:
        out.append(f"{c['minimum']}..{c['maximum']}")
    elif "minimum" in c:
        out.append(f">= {c['minimum']}")
    elif "maximum" in c:
        out.append(f"<= {c['maximum']}")
    if "enum" in c:
        levels = [str(v) for v in c["enum"]]
        out.append("one of " + "|".join(levels) if len(levels) <= 6 else f"{len(levels)} levels")
    if "pattern" in c:
        out.append(f"matches {c['pattern']}")
    if "minLength" in c:
        out.append(f"length >= {c['minLength']}")
    return ", ".join(out)


def _head(res: dict, n: int = 5) -> tuple[dict, ...]:
    with open(_path(res), newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return tuple(row for _, row in zip(range(n), reader, strict=False))


def describe(id: str) -> DatasetInfo:
    """The catalogue entry of a dataset: source, licence, citation, snapshot, schema, quirks, first rows.

    Parameters
    ----------
    id : str
        A dataset ID (see :func:`list_datasets`).

    Returns
    -------
    DatasetInfo
        ``summary()`` is the text ``commonfactors datasets show ID`` prints, ``to_frame()`` the
        field schema, ``to_dict()`` the JSON.

    Raises
    ------
    InputError
        Unknown ID (the message lists the IDs and suggests the closest one).

    Examples
    --------
    >>> from commonfactors.datasets import describe
    >>> info = describe("bcg")
    >>> info.k, info.measure, info.effect["ai"], info.citation["doi"]
    (13, 'RR', 'tpos', '10.1001/jama.1994.03510330076038')
    """
    res = _resource(id)
    return DatasetInfo(
        id=res["name"], title=res["title"], path=f"data/{res['path']}", k=res.get("k"), rows=res["rows"],
        measure=res.get("measure"), effect=dict(res.get("effect", {})),
        raw_effect=dict(res.get("raw_effect", {})),
        citation=dict(res["citation"]), related=tuple(res.get("related", ())), licence=_licence(res),
        licenses=tuple(res.get("licenses", ())), sources=tuple(res.get("sources", ())),
        snapshot=dict(res.get("snapshot", {})), provenance=res.get("provenance", ""),
        quirks=tuple(res.get("quirks", ())), fields=tuple(res["schema"]["fields"]), head=_head(res))


def _record_lines(path: Path) -> list[int]:
    """The file line number on which each data record starts (header = line 1).

    Quoted fields may hold line breaks, so record i does not always start on line i + 2.
    """
    starts = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        last = reader.line_num
        for _ in reader:
            starts.append(last + 1)
            last = reader.line_num
    return starts


def _dtype(field: dict) -> str:
    if field["type"] == "integer":
        # columns with missing values become float64, as pandas.read_csv does, so NaN survives
        return "int64" if field.get("constraints", {}).get("required") else "float64"
    if field["type"] == "number":
        return "float64"
    return "str"


def load_dataset(id: str):
    """A shipped dataset as a DataFrame, indexed by file line number, with its metadata in ``attrs``.

    Parameters
    ----------
    id : str
        A dataset ID (see :func:`list_datasets`), e.g. ``"bcg"``, ``"lopez2019"``,
        ``"metapsy_depression_psyctr"``.

    Returns
    -------
    pandas.DataFrame
        The file's columns with the types of its schema (integer columns with missing values as
        float64). The index is the **file line number** of each row (header = line 1), as
        :func:`commonfactors.io.read_table` gives, so errors name the row a user sees in the file.
        ``attrs``: ``source`` (path of the CSV), ``dataset`` (the ID), ``title``, ``citation``
        (APA text), ``doi``, ``licence``, ``measure``, ``effect`` (column mapping of the stored
        effect sizes) and ``schema`` (the Frictionless field list).

    Raises
    ------
    InputError
        Unknown ID, as :func:`describe`.

    Examples
    --------
    >>> import commonfactors as cf
    >>> bcg = cf.load_dataset("bcg")
    >>> bcg.shape, int(bcg.index[0]), bcg.attrs["licence"]
    ((13, 9), 2, 'GPL-2.0-or-later')
    >>> int(bcg.loc[2, "tpos"]), bcg.loc[2, "author"]
    (4, 'Aronson')
    """
    import pandas as pd

    res = _resource(id)
    path = _path(res)
    fields = res["schema"]["fields"]
    missing = res["schema"].get("missingValues", [""])
    df = pd.read_csv(path, dtype={f["name"]: _dtype(f) for f in fields}, keep_default_na=False,
                     na_values=missing, encoding="utf-8")
    df.index = pd.Index(_record_lines(path))
    df.attrs.update({
        "source": str(path), "dataset": res["name"], "title": res["title"],
        "citation": format_citation(res["citation"], "apa"), "doi": res["citation"].get("doi"),
        "licence": _licence(res), "measure": res.get("measure"), "effect": dict(res.get("effect", {})),
        "schema": [dict(f) for f in fields],
    })
    return df


# --- citations --------------------------------------------------------------------------------------


def _surname(author: str) -> str:
    return author.split(",")[0].strip()


def _apa_authors(authors: list[str]) -> str:
    # APA 7th ed. (2020), section 9.8: list up to 20 authors, "&" before the last; from 21, the
    # first 19, an ellipsis, then the last.
    if len(authors) == 1:
        return authors[0]
    if len(authors) > 20:
        return ", ".join(authors[:19]) + ", . . . " + authors[-1]
    return ", ".join(authors[:-1]) + ", & " + authors[-1]


def _apa(c: dict) -> str:
    year = c.get("year") or "n.d."
    title = c["title"].rstrip(".")
    text = f"{_apa_authors(c['authors'])} ({year}). {title}"
    if c.get("type") == "article":
        issue = f"({c['number']})" if c.get("number") else ""
        pages = f", {c['pages'].replace('-', '–')}" if c.get("pages") else ""
        text += f". {c['journal']}, {c.get('volume', '')}{issue}{pages}."
    else:
        kind = "[Data set]" if c.get("type") == "dataset" else ""
        version = f" ({c['version']})" if c.get("version") else ""
        note = f" ({c['note']})" if c.get("note") else ""
        text += f"{version}{note} {kind}".rstrip() + "."
        if c.get("publisher"):
            text += f" {c['publisher']}."
    if c.get("doi"):
        text += f" https://doi.org/{c['doi']}"
    elif c.get("url"):
        text += f" {c['url']}"
    return text


def _bibtex_key(c: dict) -> str:
    name = re.sub(r"[^A-Za-z]", "", _surname(c["authors"][0]).split()[0]) or "anon"
    return f"{name}{c.get('year') or ''}"


def _bibtex(c: dict) -> str:
    entry = {"article": "article", "manual": "manual"}.get(c.get("type"), "misc")

    def author(a: str) -> str:  # corporate authors (no initials) are braced so BibTeX keeps them whole
        return a if re.search(r",\s*[A-Z]\.", a) else "{" + a + "}"

    items = [("author", " and ".join(author(a) for a in c["authors"])), ("title", "{" + c["title"] + "}")]
    for key in ("journal", "year", "volume", "number", "pages", "publisher", "version", "note", "doi", "url"):
        if c.get(key) not in (None, ""):
            value = str(c[key]).replace("-", "--") if key == "pages" else str(c[key])
            items.append((key, value))
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in items)
    return f"@{entry}{{{_bibtex_key(c)},\n{body}\n}}"


def format_citation(citation: dict, style: str = "apa") -> str:
    """A citation dict of the descriptor as ``"bibtex"`` or ``"apa"`` (APA 7th edition) text."""
    if style == "bibtex":
        return _bibtex(citation)
    if style == "apa":
        return _apa(citation)
    raise ValueError(f"style must be 'bibtex' or 'apa', got {style!r}")


def cite(id: str, style: str = "bibtex") -> str:
    """How to cite a shipped dataset: its primary source, as BibTeX or APA text.

    Parameters
    ----------
    id : str
        A dataset ID.
    style : {"bibtex", "apa"}
        Output style. Default ``"bibtex"``.

    Raises
    ------
    InputError
        Unknown ID.
    ValueError
        ``style`` is neither ``"bibtex"`` nor ``"apa"``.

    Examples
    --------
    >>> from commonfactors.datasets import cite
    >>> print(cite("molloy2014", style="apa")[:73])
    Molloy, G. J., O'Carroll, R. E., & Ferguson, E. (2014). Conscientiousness
    >>> print(cite("molloy2014").splitlines()[0])
    @article{Molloy2014,
    """
    if style not in ("bibtex", "apa"):
        raise ValueError(f"style must be 'bibtex' or 'apa', got {style!r}")
    return format_citation(_resource(id)["citation"], style)


# --- export -----------------------------------------------------------------------------------------


def export(id: str, out) -> Path:
    """Write a shipped dataset to ``out``: ``.csv`` (a byte-identical copy) or ``.parquet``.

    The file is written atomically (a temporary file, then renamed), so a failure leaves no
    partial output. Parquet needs pyarrow and stores the columns with their schema types (the
    line-number index is not written).

    Raises
    ------
    InputError
        Unknown ID, or an extension other than ``.csv`` / ``.parquet``.
    """
    res = _resource(id)
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        write_atomic(out, _path(res).read_bytes())
    elif suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("writing Parquet needs the pyarrow package", file=out,
                             expected="pip install pyarrow, or an output file ending in .csv") from None
        df = load_dataset(id)
        df.attrs = {}  # pandas would store attrs as Parquet metadata; provenance lives in the descriptor
        with atomic_path(out) as tmp:
            df.to_parquet(tmp, index=False, engine="pyarrow")
    else:
        raise InputError(f"cannot tell the output format from {out.suffix or 'a name without extension'!r}",
                         file=out, expected="an output file ending in .csv or .parquet")
    return out


# --- validation against the descriptor ----------------------------------------------------------------


def _parse(value: str, typ: str):
    if typ == "integer":
        return int(value) if _INTEGER.match(value.strip()) else None
    if typ == "number":
        try:
            return float(value)
        except ValueError:
            return None
    return value


def _conforms(value, cell: str, c: dict) -> bool:
    """A parsed (non-missing) cell against the field's constraints; ``value`` None = wrong type."""
    if value is None:
        return False
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        if ("minimum" in c and value < c["minimum"]) or ("maximum" in c and value > c["maximum"]):
            return False
    if "enum" in c and value not in c["enum"]:
        return False
    if "pattern" in c and re.fullmatch(c["pattern"], cell) is None:
        return False
    return len(cell) >= c.get("minLength", 0)


def _expected(field: dict) -> str:
    what = {"integer": "an integer", "number": "a number", "string": "text"}.get(field["type"], field["type"])
    detail = describe_constraints(field)
    return f"{what} ({detail})" if detail else what


def validate(id: str) -> list[str]:
    """Check a shipped file against its own descriptor; returns the problems found (empty = valid).

    Implements the parts of the Frictionless Table Schema v1 the descriptor uses: the header names
    the fields in order; ``missingValues``; field types ``integer``, ``number`` (``NaN``/``Inf``
    allowed), ``string``; constraints ``required``, ``unique``, ``minimum``, ``maximum``, ``enum``,
    ``pattern``, ``minLength``; and the resource's ``bytes`` and ``hash`` (sha256).
    Each problem is one line naming the file, row (file line number) and column.
    """
    res = _resource(id)
    path = _path(res)
    where = f"data/{res['path']}"
    problems: list[str] = []
    raw = path.read_bytes()
    if "bytes" in res and len(raw) != res["bytes"]:
        problems.append(f"{where}: {len(raw)} bytes; expected {res['bytes']} (descriptor 'bytes')")
    if "hash" in res:
        algo, _, digest = res["hash"].rpartition(":")
        if hashlib.new(algo or "md5", raw).hexdigest() != digest:
            problems.append(f"{where}: {algo} hash differs from the descriptor's")
    schema = res["schema"]
    fields = schema["fields"]
    missing = set(schema.get("missingValues", [""]))
    seen: dict[str, dict] = {f["name"]: {} for f in fields if f.get("constraints", {}).get("unique")}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        names = [f["name"] for f in fields]
        if header != names:
            problems.append(f"{where}, row 1: header {header}; expected the schema's fields {names}")
            return problems
        last, nrows = reader.line_num, 0
        for cells in reader:
            line, last = last + 1, reader.line_num
            nrows += 1
            if len(cells) != len(fields):
                problems.append(f"{where}, row {line}: {len(cells)} fields; expected {len(fields)}")
                continue
            for f, cell in zip(fields, cells, strict=True):
                at = f"{where}, row {line}, column {f['name']!r}"
                if cell in missing:
                    if f.get("constraints", {}).get("required"):
                        problems.append(f"{at}: missing; expected {_expected(f)}")
                    continue
                value = _parse(cell, f["type"])
                if not _conforms(value, cell, f.get("constraints", {})):
                    problems.append(f"{at}: got {cell!r}; expected {_expected(f)}")
                elif f["name"] in seen:
                    if value in seen[f["name"]]:
                        problems.append(f"{where}, row {line}, column {f['name']!r}: {cell!r} repeats row "
                                        f"{seen[f['name']][value]}; expected unique values")
                    seen[f["name"]][value] = line
    if nrows != res["rows"]:
        problems.append(f"{where}: {nrows} data rows; expected {res['rows']} (descriptor 'rows')")
    return problems
