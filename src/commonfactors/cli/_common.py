"""Helpers shared by the subcommands: their options, reading FILE_OR_DATASET (printing is ``_output``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import get_args

import click

from .._transforms import TRANSFORMS
from ..errors import InputError
from ..models._options import TEST_ALIASES, TESTS, Method, UnweightedMethod


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
        click.option("--yi", default=None, metavar="COLUMN",
                     help="Effect sizes [default: yi, or a shipped dataset's own]."),
        click.option("--vi", default=None, metavar="COLUMN", help="Sampling variances [default: vi]."),
        click.option("--sei", default=None, metavar="COLUMN", help="Standard errors (instead of --vi)."),
        click.option("--slab", default=None, metavar="COLUMN", help="Study labels."),
        sheet_option,
    ]):
        fn = decorator(fn)
    return fn


#: ``--transf``: the back-transformation of pooled estimates
transf_option = click.option(
    "--transf", type=click.Choice(TRANSFORMS, case_sensitive=False), default="auto", show_default=True,
    help="Back-transform pooled estimates: auto (the measure's natural scale: ZCOR to r, log OR/RR/IRR to "
         "ratios, PLO to proportions), none, or a transformation by name.")


def effect_inputs(data, yi, vi, sei, measure):
    """(data, yi, vi, sei, measure) as a model takes them: the columns given; without --yi, --vi and --sei
    a shipped dataset's own effect sizes (its columns, or computed with its measure, as escalc); else the
    columns yi and vi. The measure is --measure, else the file's 'measure' column when it holds one value,
    else the shipped dataset's."""
    effect = data.attrs.get("effect") if yi is None and vi is None and sei is None else None
    if effect:
        measure = measure or effect["measure"]
        if "yi" in effect:
            yi, vi, sei = effect["yi"], effect.get("vi"), effect.get("sei")
        else:
            from ..effects import effect_sizes

            columns = {k: c for k, c in effect.items() if k != "measure"}
            data = effect_sizes(data, effect["measure"], **columns)
            yi, vi = "yi", "vi"
    yi = yi or "yi"
    vi = vi if vi is not None or sei is not None else "vi"
    if measure is None and "measure" in [str(c) for c in data.columns]:
        values = {str(m) for m in data["measure"] if m is not None and str(m) not in ("", "nan", "NA")}
        measure = values.pop() if len(values) == 1 else None
    if measure is None:
        measure = data.attrs.get("measure")
    return data, yi, vi, sei, measure


def dependence_warning(data, slab, cluster) -> str | None:
    """The warning for effect sizes pooled as if independent although they are nested in studies: a shipped
    dataset with more rows than studies, or a --slab column whose labels repeat; None with --cluster."""
    if cluster is not None:
        return None
    ident = data.attrs.get("dataset")
    if ident is not None:
        from ..datasets import describe

        info = describe(ident)
        if info.k is not None and info.rows is not None and info.rows > info.k:
            column = "study" if "study" in [str(c) for c in data.columns] else "STUDY"
            return (f"{info.rows} effect sizes from {info.k} studies are not independent: use --cluster "
                    f"{column} (a three-level model) or aggregate them to one per study")
    if slab is not None and slab in [str(c) for c in data.columns]:
        labels = [str(x) for x in data[slab]]
        if len(set(labels)) < len(labels):
            return (f"{len(labels)} effect sizes from {len(set(labels))} studies (--slab {slab}) are not "
                    f"independent: use --cluster {slab} (a three-level model) or aggregate them to one per "
                    "study")
    return None


def natural_block(res, measure, transf, data=None) -> dict | None:
    """The pooled estimate of ``res`` (a model without moderators) and its intervals back-transformed by
    ``transf`` (:func:`commonfactors._transforms.natural`); the prediction interval where the model gives
    one. Miller's inverse double arcsine takes the column ni."""
    from .._transforms import natural

    ni = None
    if data is not None and "ni" in [str(c) for c in data.columns]:
        ni = [float(x) for x in data["ni"]]
    robust = getattr(res, "robust", None)
    first = (robust or res).coefficients[0]  # the intercept, with cluster-robust limits when asked for
    return natural(transf.lower(), measure, first.estimate, first.ci_low, first.ci_high,
                   getattr(res, "pi_low", float("nan")), getattr(res, "pi_high", float("nan")), ni=ni)


def natural_text(blocks: list[tuple[str, dict]]) -> str:
    """The back-transformed estimates as metafor's ``predict(res, transf=)`` prints them, one row each."""
    scale, transf = blocks[0][1]["scale"], blocks[0][1]["transf"]
    width = max([len(label) for label, _ in blocks] + [0])
    lines = [f"Back-transformed to the {scale} scale ({transf}):", ""]
    head = " " * width + ("  " if width else "") + "    pred   ci.lb   ci.ub   pi.lb   pi.ub"
    lines.append(head)
    for label, b in blocks:
        cells = "".join(f"{_num(b[k]):>8}" for k in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"))
        lines.append(label.ljust(width) + ("  " if width else "") + cells)
    return "\n".join(lines)


def _num(x: float) -> str:
    return "NA" if x != x else f"{x:.4f}"
