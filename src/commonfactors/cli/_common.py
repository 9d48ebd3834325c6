"""Helpers shared by the subcommands: reading FILE_OR_DATASET, printing results in each format."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..errors import InputError

FORMATS_TABLE = click.Choice(["text", "json", "csv"])
FORMATS = click.Choice(["text", "json"])


def read_input(file_or_dataset: str, *, light: bool = True):
    """A table from a file path, or from a shipped dataset's ID.

    CSV/TSV files are read without pandas (``io.read_raw``) when ``light`` is true, for a fast start;
    other formats go through ``io.read_table``.
    """
    path = Path(file_or_dataset)
    if path.exists():
        from .. import io

        if light and path.suffix.lower() in (".csv", ".tsv", ".txt") and path.stat().st_size < 5_000_000:
            return io.read_raw(path)
        return io.read_table(path)
    if os.sep not in file_or_dataset and "." not in file_or_dataset:
        try:
            from ..datasets import load_dataset
        except ImportError:  # the dataset catalogue is not installed in this build
            load_dataset = None
        if load_dataset is not None:
            return load_dataset(file_or_dataset)
    raise InputError("no such file or dataset", file=file_or_dataset,
                     expected="a path to a data file, or a dataset ID from 'commonfactors datasets list'")


def effect_columns(fn):
    """The FILE_OR_DATASET argument and the columns of a univariate model's input: --yi, --vi (or --sei),
    --slab, with metafor's names."""
    for decorator in reversed([
        click.argument("file_or_dataset"),
        click.option("--yi", default="yi", show_default=True, metavar="COLUMN", help="Effect sizes."),
        click.option("--vi", default="vi", show_default=True, metavar="COLUMN", help="Sampling variances."),
        click.option("--sei", default=None, metavar="COLUMN", help="Standard errors (instead of --vi)."),
        click.option("--slab", default=None, metavar="COLUMN", help="Study labels."),
    ]):
        fn = decorator(fn)
    return fn


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=None, allow_nan=False))
