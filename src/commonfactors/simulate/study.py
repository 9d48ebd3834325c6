"""Simulation studies of meta-analytic estimators over a grid of conditions (:func:`simulation_study`), run in
this process or on Dask (``dask.distributed``): a local cluster of worker processes, or a running cluster
given by its scheduler's address.

One task is a block of replications of one condition, generated with numpy and fitted with
:func:`commonfactors.fit_many` (:mod:`._engine`). Each block's random stream is a child of
``SeedSequence(seed)`` indexed by (condition, block), and a condition's sums are added in block order, so the
table is the same whatever ran the blocks, in which order and in how many processes. Each finished condition
is written to a checkpoint folder; a rerun of the same study resumes from it.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from .._io_write import atomic_path, write_atomic
from ..errors import InputError
from ..models._options import TESTS, normalize_level, normalize_options
from ..models.batch import METHODS
from ..results.simulation import SimulationResult
from ._dask import run_tasks
from ._engine import METRICS, SELECTIONS, Condition, add, measures, run_block, size_range

#: replications per block (the unit of work of a worker) unless given
BLOCK = 2000


def simulation_study(*, k=(5, 20), tau2=(0.0, 0.1), effect=(0.0,), sizes=("20-200",), metric=("SMD",),
                     selection=("none",), weight: float = 0.5, reps: int = 1000, method=("DL", "REML"),
                     test=("z", "knha"), level: float = 95, seed: int | None = None, workers: int = 0,
                     scheduler: str | None = None, block: int = BLOCK, out=None,
                     progress: bool | None = None) -> SimulationResult:
    r"""Run a simulation study: every condition of the grid ``k`` x ``tau2`` x ``effect`` x ``sizes`` x
    ``metric`` x ``selection`` (in this order, the last varying fastest), ``reps`` meta-analyses each, fitted
    by every ``method`` x ``test``.

    Parameters
    ----------
    k : sequence of int
        Studies per meta-analysis (>= 2).
    tau2 : sequence of float
        Between-study variance of the true effects (>= 0).
    effect : sequence of float
        True mean effect mu (0: the rejection rate is the type I error rate).
    sizes : sequence of str
        Total sample size of each study: ``"N"`` or ``"LO-HI"`` (uniform integers), at least 4.
    metric : sequence of {"SMD", "ZCOR"}
        Effect size generated (:func:`._engine.draw_studies`): Hedges' g from two normal groups, or
        Fisher's z.
    selection : sequence of {"none", "step"}
        Publication bias: none, or a step selection function (:func:`._engine.publish`): studies with
        one-sided p < .025 always published, others with probability ``weight`` (Hedges, 1992; Vevea &
        Hedges, 1995).
    weight : float in (0, 1]
        Publication probability of a study with p >= .025 under "step".
    reps : int
        Replications per condition (>= 2).
    method, test : sequences of str
        Estimators of tau2 and tests of :func:`commonfactors.fit_many`, all applied to the same data.
    level : float
        Confidence level of the CI and PI (metafor's rule: 95, 0.95 and 0.05 all mean 95%).
    seed : int, optional
        Seed of the run (default: fresh entropy, reported in the result so the run can be repeated).
    workers : int
        0 or 1: run in this process; N >= 2: start a ``dask.distributed.LocalCluster`` of N worker processes
        on the loopback interface (no dashboard) for the run.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``) to run on instead.
    block : int
        Replications per block, the unit of work sent to a worker (part of the random streams: the same
        block size gives the same table).
    out : path, optional
        Write the table here (``.csv`` or ``.parquet``, atomically). Each finished condition is checkpointed
        in the folder ``<out>.parts/``; a rerun with the same settings resumes from it, and the folder is
        removed once the table is written.
    progress : bool, optional
        A progress line on stderr (conditions done, fits per second); default: when stderr is a terminal.

    Returns
    -------
    SimulationResult
        One row per condition x method x test with bias, empirical SE, RMSE, coverage of the CI and the
        prediction interval, rejection rate, mean CI width and tau2 bias, each with its Monte Carlo SE
        (Morris, White & Crowther, 2019, Stat. Med. 38(11), 2074-2102, Table 6; :func:`._engine.measures`),
        and the count of fits that did not converge.

    Raises
    ------
    InputError
        A grid value, option or the checkpoint folder (of another run) is not as expected.

    References
    ----------
    IntHout, J., Ioannidis, J. P. A., & Borm, G. F. (2014). The Hartung-Knapp-Sidik-Jonkman method for
    random effects meta-analysis is straightforward and considerably outperforms the standard
    DerSimonian-Laird method. BMC Medical Research Methodology, 14, 25. (A result this reproduces.)
    """
    conditions, settings = _settings(k=k, tau2=tau2, effect=effect, sizes=sizes, metric=metric,
                                     selection=selection, weight=weight, reps=reps, method=method, test=test,
                                     level=level, seed=seed, block=block)
    workers = _count("workers", workers, 0)
    parts = _Parts(Path(str(out) + ".parts"), settings) if out is not None else None
    if parts is not None and seed is None:  # a rerun without a seed resumes with the seed drawn at first
        saved = parts.saved()
        if saved is not None and {**saved, "seed": settings["seed"]} == settings:
            settings["seed"] = saved["seed"]
    if out is not None:
        _check_out(out)
    done = parts.load() if parts is not None else {}
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = _Progress(len(conditions), len(done), show)

    def finished(i, sums):
        done[i] = sums
        if parts is not None:
            parts.save(i, sums)

    pending = [i for i in range(len(conditions)) if i not in done]
    sizes_ = _blocks(settings["reps"], settings["block"])
    tasks = [(i, b, size) for i in pending for b, size in enumerate(sizes_)]
    args = (settings["methods"], settings["tests"], settings["level"], settings["seed"])
    try:
        if tasks:
            _run(conditions, tasks, args, finished, bar, workers=workers, scheduler=scheduler)
    finally:
        bar.close()  # the line ends before any message, Ctrl-C's included
    rows = []
    for i, c in enumerate(conditions):
        for j, (meth, tst) in enumerate(itertools.product(settings["methods"], settings["tests"])):
            rows.append({"condition": i, **c.to_dict(), "method": meth, "test": tst, **measures(done[i][j])})
    result = SimulationResult(rows=tuple(rows), seed=settings["seed"], reps=settings["reps"],
                              block=settings["block"], level=settings["level"])
    if out is not None:
        write_table(result, out)
        parts.remove()
    return result


# --------------------------------------------------------------------------------------------------
# Settings, checked once


def _values(name, values, convert, ok, expected):
    values = [values] if isinstance(values, (str, int, float)) else list(values)
    if not values:
        raise InputError(f"{name} has no value", expected=expected)
    out = []
    for v in values:
        try:
            x = convert(v)
        except (TypeError, ValueError, OverflowError):
            x = None
        if x is None or not ok(x):
            raise InputError(f"{name}={v!r}", expected=expected)
        out.append(x)
    if len(set(out)) != len(out):
        raise InputError(f"{name} has a value twice ({', '.join(map(str, out))})", expected="distinct values")
    return out


def _int(v):
    if isinstance(v, bool):
        raise TypeError
    if isinstance(v, (int, np.integer)):
        return int(v)
    f = float(v)
    if not f.is_integer():
        raise ValueError
    return int(f)


def _count(name, v, least):
    try:
        n = _int(v)
    except (TypeError, ValueError, OverflowError):
        n = None
    if n is None or n < least:
        raise InputError(f"{name}={v!r}", expected=f"a whole number >= {least}")
    return n


def _sizes(v):
    lo, _ = size_range(str(v))
    if lo < 4:
        raise ValueError(v)
    return str(v).strip()


def _settings(*, k, tau2, effect, sizes, metric, selection, weight, reps, method, test, level, seed, block):
    finite = math.isfinite
    ks = _values("k", k, _int, lambda x: 2 <= x <= 100_000, "whole numbers of studies >= 2")
    tau2s = _values("tau2", tau2, float, lambda x: finite(x) and 0 <= x <= 100, "variances in [0, 100]")
    effects = _values("effect", effect, float, lambda x: finite(x) and abs(x) <= 10, "effects in [-10, 10]")
    size_specs = _values("sizes", sizes, _sizes, lambda x: True,
                         "total sample sizes as N or LO-HI (whole numbers, 4 <= LO <= HI)")
    metrics = _values("metric", metric, lambda x: str(x).upper(), lambda x: x in METRICS,
                      f"one of {', '.join(METRICS)}")
    selections = _values("selection", selection, lambda x: str(x).lower(), lambda x: x in SELECTIONS,
                         f"one of {', '.join(SELECTIONS)}")
    try:
        w = float(weight)
    except (TypeError, ValueError):
        w = math.nan
    if not 0 < w <= 1:
        raise InputError(f"weight={weight!r}", expected="a publication probability in (0, 1]")
    methods = _values("method", method, lambda x: normalize_options(x, "z", 95, methods=METHODS)[0],
                      lambda x: True, f"estimators among {', '.join(METHODS)}")
    tests = _values("test", test, lambda x: normalize_options("REML", x, 95, tests=TESTS)[1], lambda x: True,
                    f"tests among {', '.join(TESTS)}")
    level = normalize_level(level)
    reps = _count("reps", reps, 2)
    block = _count("block", block, 1)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy) % 2**63  # printable, and an int64 for other tools
    else:
        seed = _count("seed", seed, 0)
    conditions = [Condition(k=a, tau2=b, effect=c, sizes=d, metric=e, selection=f,
                            weight=w if f == "step" else 1.0)
                  for a, b, c, d, e, f in itertools.product(ks, tau2s, effects, size_specs, metrics,
                                                            selections)]
    settings = {"conditions": [c.to_dict() for c in conditions], "methods": methods, "tests": tests,
                "level": level, "seed": seed, "reps": reps, "block": block}
    return conditions, settings


def _blocks(reps: int, block: int) -> list[int]:
    n = math.ceil(reps / block)
    return [min(block, reps - b * block) for b in range(n)]


def _check_out(out) -> None:
    suffix = Path(str(out)).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError(f"out={str(out)!r} has the suffix {suffix or 'none'!r}",
                         expected="a .csv or .parquet file")


def write_table(result: SimulationResult, out) -> None:
    """Write the result's table to ``out`` atomically: CSV (missing values ``NA``, as R's ``write.csv``) or
    Parquet, by the suffix."""
    table = result.to_frame()
    if Path(str(out)).suffix.lower() == ".parquet":
        with atomic_path(out) as tmp:
            table.to_parquet(tmp, index=False)
    else:
        write_atomic(out, table.to_csv(index=False, na_rep="NA", lineterminator="\n"))


# --------------------------------------------------------------------------------------------------
# Checkpoints


class _Parts:
    """The checkpoint folder: ``run.json`` (the settings) and ``condition-NNNNN.json`` per finished condition
    (its sums per method x test, floats written exactly), each written atomically."""

    def __init__(self, folder: Path, settings: dict):
        self.folder, self.settings = folder, settings

    def saved(self) -> dict | None:
        """The settings of the run checkpointed in the folder, or None."""
        try:
            return json.loads((self.folder / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def load(self) -> dict:
        if not self.folder.exists():
            return {}
        if not self.folder.is_dir():
            raise InputError(f"{self.folder} is a file",
                             expected="the checkpoint folder of this run, or nothing")
        if self.saved() != self.settings:
            raise InputError(f"{self.folder} holds the checkpoints of another run (other settings)",
                             expected="the same settings to resume, or the folder removed to start anew")
        done = {}
        for f in sorted(self.folder.glob("condition-*.json")):
            data = json.loads(f.read_text(encoding="utf-8"))
            if len(data["sums"]) == len(self.settings["methods"]) * len(self.settings["tests"]):
                done[int(data["condition"])] = [list(map(float, s)) for s in data["sums"]]
        return done

    def save(self, i: int, sums: list) -> None:
        if not (self.folder / "run.json").exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / "run.json", json.dumps(self.settings))
        write_atomic(self.folder / f"condition-{i:05d}.json",
                     json.dumps({"condition": i, "sums": sums}))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Running the blocks


class _Progress:
    """``simulate: 3/8 conditions, 41,000 fits/s`` on stderr, rewritten in place; silent when not shown."""

    def __init__(self, total: int, done: int, show: bool):
        self.total, self.done, self.show = total, done, show
        self.fits, self.start, self.last = 0, time.perf_counter(), 0.0

    def update(self, fits: int = 0, conditions: int = 0) -> None:
        self.fits += fits
        self.done += conditions
        now = time.perf_counter()
        if self.show and (conditions or now - self.last > 0.5):
            self.last = now
            rate = self.fits / max(now - self.start, 1e-9)
            sys.stderr.write(f"\rsimulate: {self.done}/{self.total} conditions, {rate:,.0f} fits/s ")
            sys.stderr.flush()

    def close(self) -> None:
        if self.show:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _ordered(sums_by_block: dict, n_blocks: int) -> list:
    """A condition's sums per method x test: its blocks added in block order (the same floating-point sums
    whatever order they finished in)."""
    total = None
    for b in range(n_blocks):
        part = sums_by_block[b]
        total = [add(None if total is None else total[j], p) for j, p in enumerate(part)]
    return total


def _as_list(out: dict, methods, tests) -> list:
    return [out[(m, t)] for m, t in itertools.product(methods, tests)]


def _run(conditions, tasks, args, finished, bar, *, workers, scheduler):
    """Run the blocks ``tasks`` ((condition, block, size) each) through :func:`._dask.run_tasks`; call
    ``finished(condition, sums)`` as soon as a condition's blocks are all in (sums added in block order)."""
    methods, tests = args[0], args[1]
    per = len(methods) * len(tests)
    n_blocks: dict[int, int] = {}
    for i, _, _ in tasks:
        n_blocks[i] = n_blocks.get(i, 0) + 1
    blocks: dict[int, dict] = {}

    def on_result(t, out):
        i, b, size = tasks[t]
        blocks.setdefault(i, {})[b] = _as_list(out, methods, tests)
        bar.update(fits=size * per)
        if len(blocks[i]) == n_blocks[i]:
            finished(i, _ordered(blocks.pop(i), n_blocks[i]))
            bar.update(conditions=1)

    run_tasks(run_block, [(conditions[i], *args, i, b, size) for i, b, size in tasks], on_result,
              workers=workers, scheduler=scheduler)
