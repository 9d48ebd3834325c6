"""The static report site: ``make reports`` / ``commonfactors report-all`` and ``commonfactors report``.

:func:`build_site` runs every analysis in ``analyses/`` (through :func:`commonfactors.reproduce.run_all`),
pools every shipped study-level dataset, and writes an HTML site: an index (what is inside, the variance
pie beside the published pies, the reproduction table), one page per factor, one per reproduced
publication (analysis script) and one per dataset. :func:`build_report` writes the same kind of page for
a user's own data.

Both orchestrate three layers: :mod:`~commonfactors.report.content` prepares the data and fits the models
(what each page shows, as plain data), :mod:`~commonfactors.report.render` draws the figures from it
(:mod:`~commonfactors.report.figures`) and renders the pages with jinja2 templates (autoescaped, offline),
and :mod:`~commonfactors.report._staging` keeps the output folder safe: the site is written into a
temporary folder next to the target and moved into place at the end, so an interrupted build leaves the
previous site (or nothing) behind, never a half-written one; ``README.md`` and ``.gitignore`` of an
existing target folder are carried over.

This layer consumes result objects and public functions only; it never reaches into model internals.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

from . import content, network, practice, simulation
from ._staging import staging
from .render import Writer, draw

# ------------------------------------------------------------------------------------------------------
# pages beside the factors, analyses and datasets

#: Pages of their own modules: (label in the navigation, page file, ``job``, ``write``, arguments of ``job``
#: after the site folder). ``job(root, *args)`` fits the models and draws the figures into the site folder (in
#: a worker process when the build has a pool; it returns plain data), ``write(w, page, nav)`` writes the page
#: and returns its entry for the index (``page``, ``title``, ``blurb``).
EXTRA_PAGES = (
    ("Therapist practice", practice.PAGE, practice.job, practice.write, ()),
    ("Network: smoking", network.NETWORKS["hasselblad1998"][1], network.job, network.write,
     ("hasselblad1998",)),
    ("Network: depression", network.NETWORKS["metapsy"][1], network.job, network.write, ("metapsy",)),
    ("Simulation", simulation.PAGE, simulation.job, simulation.write, ()),
)


def _submit_pages(root, pool) -> list:
    """Start the jobs of :data:`EXTRA_PAGES` (in ``pool`` when given, else later, when their page is
    written)."""
    return [pool.submit(job, str(root), *args) if pool is not None else None
            for _, _, job, _, args in EXTRA_PAGES]


def _write_pages(w, root, futures, nav, bar) -> list[dict]:
    """Write the pages of :data:`EXTRA_PAGES` from their jobs; their entries for the index."""
    entries = []
    for (_, page, job, write, args), future in zip(EXTRA_PAGES, futures, strict=True):
        content_ = future.result() if future is not None else job(str(root), *args)
        entries.append(write(w, content_, nav))
        bar.step(f"page {page}")
    return entries


# ------------------------------------------------------------------------------------------------------
# progress


class _Progress:
    """A progress counter on stderr: ``[ 3/27] dataset bcg``, rewritten in place on a terminal."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled
        self.tty = enabled and sys.stderr.isatty()

    def step(self, what: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = len(str(self.total))
        line = f"[{self.done:>{width}}/{self.total}] {what}"
        if self.tty:
            sys.stderr.write("\r\033[K" + line + ("\n" if self.done == self.total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def build_site(out_dir="reports", progress: bool = True, workers: int | None = None) -> Path:
    """Run every analysis and write the report site into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path
        The site folder (``reports`` for ``make reports``). Built in a temporary folder next to it and
        moved into place at the end; an existing site is replaced (keeping its ``README.md``).
    progress : bool
        Show a progress counter on stderr.
    workers : int, optional
        Processes that fit the models and draw their figures (default: the number of CPUs, at most 4);
        1 draws everything in this process. The output does not depend on it.

    Returns
    -------
    pathlib.Path
        ``out_dir``; open ``index.html``.

    Pages: ``index.html`` (contents, variance pie beside the published pies, reproduction table),
    ``factor-<factor>.html`` (five), ``analysis-<id>.html`` (one per script in ``analyses/``),
    ``dataset-<id>.html`` (one per shipped study-level dataset); figures in ``figures/`` (PNG and SVG),
    the data files in ``data/``. Each analysis page shows one headline model per dataset: the one its first
    row names (measure, estimator, test), refitted on every row of the shipped dataset (the other models'
    numbers are in its reproduction table); a model that cannot be refitted that way (another measure's
    columns, a three-level model) is replaced by the dataset's default model, with a note. A dataset whose
    rows are effect sizes nested in studies (more rows than studies) is pooled with the three-level model
    and CR2 cluster-robust inference, never as independent rows.
    """
    from .. import datasets, reproduce

    pageable = [c["id"] for c in datasets.catalogue() if datasets.describe(c["id"]).effect]
    measures = {d: datasets.describe(d).effect["measure"] for d in pageable}
    ids = reproduce.analysis_ids()
    workers = min(os.cpu_count() or 1, 4) if workers is None else workers
    bar = _Progress(total=2 + len(pageable) + len(ids) + len(content.FACTOR_PAGES) + 1 + len(EXTRA_PAGES),
                    enabled=progress)
    with staging(out_dir) as root, contextlib.ExitStack() as stack:
        w = Writer(root)
        pool = content.pool(workers)
        if pool is not None:
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        jobs = content.Jobs(root, pool)
        extra = _submit_pages(root, pool)  # first: the network with node splitting is the longest job
        default = {d: (measures[d], "REML", "z") for d in pageable}
        for d in sorted(pageable, key=lambda d: -datasets.describe(d).rows):  # largest first
            jobs.submit(d, default[d], sensitivity=True)  # the dataset page's model

        with warnings.catch_warnings(record=True):  # collected by run_all into the result's warnings
            warnings.simplefilter("always")
            repro = reproduce.run_all()
        bar.step("analyses run (reproduction table)")
        by_analysis: dict[str, list[dict]] = {i: [] for i in ids}
        for r in repro.rows:
            by_analysis.setdefault(r["id"].split(":")[0], []).append(r)
        plans = {i: content.plan(by_analysis[i], measures) for i in ids}
        for i in ids:
            for d, specs in plans[i].items():
                jobs.submit(d, specs[0])  # the analysis page's one headline model

        estimates_file = w.copy(content.data_dir() / "published" / "estimates.csv", "published/estimates.csv")
        pie = draw(w, content.pie_context(w, estimates_file))
        bar.step("variance pie")
        dataset_pages = {d: f"dataset-{d}.html" for d in pageable}
        nav = [
            ("index.html#pie", "Variance pie"),
            ("reproduction.html", "Reproduction table"),
            *((f"factor-{f}.html", t) for f, (t, _) in content.FACTOR_PAGES.items()),
            *((page, label) for label, page, *_ in EXTRA_PAGES),
        ]
        factors = []
        for f, (title, blurb) in content.FACTOR_PAGES.items():
            context = draw(w, content.factor_context(f, pie, dataset_pages))
            w.page(f"factor-{f}.html", "factor.html", title=title, factor=context, nav=nav)
            factors.append({"page": f"factor-{f}.html", "title": title, "blurb": blurb})
            bar.step(f"factor {f}")

        titles = {i: content.analysis_title(i) for i in ids}
        infos = {}
        for d in pageable:
            info = infos[d] = content.dataset_data(datasets.describe(d))
            content.copy_dataset(w, d, info)
            users = [{"page": f"analysis-{i}.html", "title": titles[i][1]} for i in ids if d in plans[i]]
            w.page(
                f"dataset-{d}.html",
                "dataset.html",
                title=d,
                page_title=info["title"],
                lead=f"Shipped dataset {d}.",
                data=info,
                fits=[jobs.result(d, default[d])],
                analyses=users,
                nav=nav,
            )
            bar.step(f"dataset {d}")

        analyses = []
        for i in ids:
            rows = by_analysis[i]
            parts = []
            for d, specs in plans[i].items():
                fit = jobs.result(d, specs[0])
                if fit == content.NOT_REDRAWN:
                    fit = {**jobs.result(d, default[d]), "note": content.not_redrawn_note(specs[0])}
                parts.append({"data": infos[d], "page": dataset_pages[d], "fits": [fit],
                              "others": content.other_models_note(specs[1:])})
            doc, title = titles[i]
            context = {
                "id": i,
                "title": title,
                "description": doc,
                "counts": content.verdict_counts(rows),
                "rows": [content.row(r, dataset_pages) for r in rows],
                "datasets": parts,
            }
            w.page(f"analysis-{i}.html", "analysis.html", title=title, analysis=context, nav=nav)
            counts = ", ".join(f"{n} {v}" for v, n in context["counts"] if n)
            analyses.append({"page": f"analysis-{i}.html", "title": title, "counts": counts})
            bar.step(f"analysis {i}")

        reproduction = content.reproduction_context(repro, dataset_pages, estimates_file)
        w.page("reproduction.html", "reproduction.html", title="Reproduction of published estimates", nav=nav,
               reproduction=reproduction)
        extra_pages = _write_pages(w, root, extra, nav, bar)
        w.page(
            "index.html",
            "index.html",
            title="Overview",
            nav=nav,
            factors=factors,
            analyses=analyses,
            datasets=[{"id": d, "title": infos[d]["title"], "page": dataset_pages[d]} for d in pageable],
            pie=pie,
            reproduction=reproduction,
            extra_pages=extra_pages,
        )
        bar.step("index")
    return Path(out_dir)


# ------------------------------------------------------------------------------------------------------
# a user's own data


def build_report(
    data,
    out_dir,
    *,
    yi: str = "yi",
    vi: str | None = None,
    sei: str | None = None,
    measure: str | None = None,
    columns: dict | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    slab: str | None = None,
    title: str | None = None,
    source=None,
    dataset: str | None = None,
    progress: bool = True,
) -> Path:
    """Write a one-page report (``index.html``, figures, a copy of the data) for one dataset.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per study.
    out_dir : str or path
        Output folder, written atomically (a temporary folder moved into place).
    yi, vi, sei : str
        Columns of effect sizes and sampling variances (or standard errors), when the effect sizes are
        already computed.
    measure, columns : str, dict
        An ``effect_sizes`` measure and its escalc arguments (``{"ai": "tpos", ...}``) to compute them.
    method, test, level : str, str, float
        The model (``meta_analysis``'s options).
    slab : str, optional
        Column of study labels (default: the first of ``LABEL_COLUMNS`` present).
    title : str, optional
        Page title (default: the file or dataset name).
    source : path, optional
        The data file, copied into the report and linked.
    dataset : str, optional
        A shipped dataset's ID: its citation and provenance are shown and its files copied.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    from .. import datasets

    bar = _Progress(total=2, enabled=progress)
    prepared = content.prepare(data, yi=yi, vi=vi, sei=sei, measure=measure, columns=columns, slab=slab)
    with staging(out_dir) as root:
        w = Writer(root)
        if dataset is not None:
            prepared.info = content.dataset_data(datasets.describe(dataset))
            content.copy_dataset(w, dataset, prepared.info)
            prepared.cluster = content.study_column(data, prepared.info)
            name = dataset
        else:
            name = Path(source).name if source is not None else "data"
            prepared.info = {
                "id": name,
                "title": title or name,
                "citation": "your data",
                "doi": None,
                "licence": "",
                "snapshot": "",
                "sources": [],
                "quirks": [],
                "rows": len(data),
                "k": None,
                "file": None,
                "file_name": name,
                "provenance": None,
                "provenance_name": "",
            }
            if source is not None and Path(source).is_file():
                prepared.info["file"] = w.copy(Path(source), Path(source).name)
        note = content.nesting_note(prepared) if dataset is not None else ""
        fit = content.model_section(w, prepared, key=content.slug(name) or "data",
                                    title=f"Model: {method}, {test} test", method=method, test=test,
                                    level=level, note=note, sensitivity=True)
        bar.step("model, bias tests and figures")
        w.page(
            "index.html",
            "dataset.html",
            title=title or name,
            page_title=title or prepared.info["title"],
            lead="",
            data=prepared.info,
            fits=[fit],
            analyses=[],
        )
        bar.step("page")
    return Path(out_dir)
