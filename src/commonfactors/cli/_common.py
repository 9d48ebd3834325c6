"""Helpers shared by the subcommands: reading FILE_OR_DATASET, printing results in each format."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import get_args

import click

from ..errors import InputError
from ..models._options import TEST_ALIASES, TESTS, Method, UnweightedMethod

FORMATS_TABLE = click.Choice(["text", "json", "csv"])
FORMATS = click.Choice(["text", "json"])


def method_option(*, weighted: bool = False, help: str | None = None):
    """``--method``: the models' estimators of tau2 (GENQ, which needs ``--weights``, only if ``weighted``);
    any case, as the models."""
    names = get_args(Method if weighted else UnweightedMethod)
    return click.option("--method", type=click.Choice(names, case_sensitive=False), default="REML",
                        show_default=True, help=help)


#: ``--test``: the models' tests and their aliases, any case
test_option = click.option("--test", type=click.Choice(TESTS + tuple(TEST_ALIASES), case_sensitive=False),
                           default="z", show_default=True,
                           help="z, t, or Knapp-Hartung (knha; hksj is an alias).")
#: ``--level``: read by the models' rule, as metafor
level_option = click.option("--level", type=float, default=95.0, show_default=True,
                            help="Confidence level: a percent (95), a proportion (0.95) or an alpha (0.05).")


def _remember_sheet(ctx, param, value):
    ctx.meta[_SHEET] = value
    return value


_SHEET = "commonfactors.sheet"
#: ``--sheet``: the sheet of an .xlsx workbook that :func:`read_input` reads, kept in the click context
sheet_option = click.option("--sheet", metavar="NAME|N", expose_value=False, callback=_remember_sheet,
                            help="The sheet of an .xlsx workbook to read, by name or number (1 = the first "
                                 "tab). Default: the first visible sheet.")


def read_input(file_or_dataset: str, *, light: bool = True):
    """A table from a file path, or from a shipped dataset's ID.

    CSV/TSV files are read without pandas (``io.read_raw``) when ``light`` is true, for a fast start;
    other formats go through ``io.read_table``, with the workbook sheet given by ``--sheet``.
    """
    path = Path(file_or_dataset)
    ctx = click.get_current_context(silent=True)
    sheet = ctx.meta.get(_SHEET) if ctx is not None else None
    if path.exists():
        from .. import io

        if sheet is not None and io.FORMATS.get(path.suffix.lower()) != "excel":
            raise InputError(f"--sheet {sheet} was given, but this is not an .xlsx workbook", file=path,
                             expected="--sheet only with .xlsx files")
        if light and path.suffix.lower() in (".csv", ".tsv", ".txt") and path.stat().st_size < 5_000_000:
            return io.read_raw(path)
        return io.read_table(path, table=sheet)
    if os.sep not in file_or_dataset and "." not in file_or_dataset:
        try:
            from ..datasets import load_dataset
        except ImportError:  # the dataset catalogue is not installed in this build
            load_dataset = None
        if load_dataset is not None:
            return load_dataset(file_or_dataset)
    raise InputError("no such file or dataset", file=file_or_dataset,
                     expected="a path to a data file, or a dataset ID from 'commonfactors datasets list'")


def source_file(file_or_dataset: str) -> Path | None:
    """The file FILE_OR_DATASET reads: the path when it exists, else a shipped dataset's file, else None."""
    path = Path(file_or_dataset)
    if path.exists():
        return path
    from .. import datasets

    if file_or_dataset in datasets.dataset_ids():
        return datasets.DATA_DIR / datasets.describe(file_or_dataset).path.removeprefix("data/")
    return None


def refuse_input_as_output(out, source) -> None:
    """Raise InputError when the output file ``out`` is the input file ``source``, whatever the spelling
    (``./x``, an absolute path, a symbolic or hard link: compared with ``os.path.samefile``)."""
    if out is None or source is None:
        return
    try:
        same = os.path.samefile(out, source)
    except OSError:  # the output does not exist yet
        return
    if same:
        raise InputError(f"is the input file {str(source)!r}; writing there would destroy it", file=out,
                         expected="another output file (--out)")


def refuse_folder_holding_input(out_dir, source) -> None:
    """Raise InputError when the output folder ``out_dir``, which a report replaces, holds the input file."""
    if source is None:
        return
    folder, source = Path(out_dir).resolve(), Path(source).resolve()
    if source.is_relative_to(folder):
        raise InputError(f"holds the input file {str(source)!r}; a report replaces this folder", file=out_dir,
                         expected="an output folder that does not hold the input")


def effect_columns(fn):
    """The FILE_OR_DATASET argument and the columns of a univariate model's input: --yi, --vi (or --sei),
    --slab, with metafor's names."""
    for decorator in reversed([
        click.argument("file_or_dataset"),
        click.option("--yi", default="yi", show_default=True, metavar="COLUMN", help="Effect sizes."),
        click.option("--vi", default="vi", show_default=True, metavar="COLUMN", help="Sampling variances."),
        click.option("--sei", default=None, metavar="COLUMN", help="Standard errors (instead of --vi)."),
        click.option("--slab", default=None, metavar="COLUMN", help="Study labels."),
        sheet_option,
    ]):
        fn = decorator(fn)
    return fn


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=None, allow_nan=False))
