"""Rendering of the report's pages: the jinja2 environment (autoescaped, templates in ``templates/``), the
figures drawn from the content of a page (:func:`draw`), and the writer that puts pages, figures, tables
and copied data files into the site folder.

Templates get plain content (strings, numbers, lists and the links of figures already written); text
from data files is escaped, so a study called ``<script>`` is shown as text. Pages load nothing from the
network: the stylesheet is inlined and the figures are local PNG files (with SVG versions for print).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__

_DIR = Path(__file__).resolve().parent


def env():
    """The templates' environment: autoescaped, undefined names an error, and the one markup path of the
    pages' prose: the filters ``prose`` (paragraphs, :func:`prose`) and ``inline`` (one line,
    :func:`inline`)."""
    import jinja2

    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_DIR / "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    e.filters["prose"] = prose
    e.filters["inline"] = inline
    return e


_INLINE = None


def inline(text) -> object:
    """One line of text from a docstring, a data file or a note, as HTML: escaped, then the inline markup
    of reST and Markdown rendered, never shown as syntax: ````literal```` and ```literal``` as code,
    ``**strong**``, ``*emphasis*``, and web addresses as links. Markup already rendered (a
    ``markupsafe.Markup``) is returned as is."""
    import re

    import markupsafe

    global _INLINE
    if isinstance(text, markupsafe.Markup):
        return text
    if _INLINE is None:
        _INLINE = [
            (re.compile(r"``(.+?)``"), r"<code>\1</code>"),
            (re.compile(r"(?<![\w`])`([^`\s][^`]*?)`(?:_)?(?![\w`])"), r"<code>\1</code>"),
            (re.compile(r"\*\*(\S(?:.*?\S)?)\*\*"), r"<strong>\1</strong>"),
            (re.compile(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])"), r"<em>\1</em>"),
            (re.compile(r"(?<![\w\"=/])(https?://[^\s<>\"]+[^\s<>\".,;:)\]'])"), r'<a href="\1">\1</a>'),
        ]
    html = str(markupsafe.escape(str(text)))
    for pattern, repl in _INLINE[:2]:  # literals first: nothing inside a literal is read as markup
        html = pattern.sub(repl, html)
    out = []
    for part in re.split(r"(<code>.*?</code>)", html):
        if not part.startswith("<code>"):
            for pattern, repl in _INLINE[2:]:
                part = pattern.sub(repl, part)
        out.append(part)
    return markupsafe.Markup("".join(out))


def prose(text) -> object:
    """Text of several paragraphs (a docstring) as HTML: paragraphs at blank lines, lines starting with
    "- " or "* " as a list, the rest of each paragraph's lines joined, and each line's markup by
    :func:`inline`."""
    import markupsafe

    if isinstance(text, markupsafe.Markup):
        return text
    blocks = []
    for para in str(text).strip().split("\n\n"):
        lines = [ln.strip() for ln in para.strip().splitlines() if ln.strip()]
        if not lines:
            continue
        if all(ln.startswith(("- ", "* ")) or not ln.startswith(("- ", "* ")) and i for i, ln in
               enumerate(lines)) and lines[0].startswith(("- ", "* ")):
            items, current = [], []
            for ln in lines:
                if ln.startswith(("- ", "* ")):
                    if current:
                        items.append(" ".join(current))
                    current = [ln[2:]]
                else:
                    current.append(ln)
            items.append(" ".join(current))
            blocks.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
        else:
            blocks.append(f"<p>{inline(' '.join(lines))}</p>")
    return markupsafe.Markup("\n".join(blocks))


def markup(html: str):
    """``html`` built here (a result's summary table), marked as safe to insert unescaped."""
    import markupsafe

    return markupsafe.Markup(html)


def fig_size(fig) -> tuple[int, int]:
    """Display size in CSS pixels (100 per inch; the PNG has 1.5 times as many for sharp screens)."""
    w, h = fig.get_size_inches()
    return int(round(100 * w)), int(round(100 * h))


@dataclass(frozen=True)
class Drawing:
    """A figure a page shows: ``figures.<kind>(*data, **options)``, saved as ``figures/<stem>.png`` and
    ``.svg`` (:func:`draw`). ``data`` are result objects, never the data to fit them."""

    kind: str
    stem: str
    data: tuple
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A whole table of a page (a DataFrame, one row per study), written as ``tables/<stem>.csv``."""

    frame: object
    stem: str


def draw(w: Writer, content):
    """``content`` (dicts and lists, walked) with each :class:`Drawing` replaced by the links of the figure
    drawn, ``{"png", "svg", "size"}`` (None when the figure function has nothing to draw), and each
    :class:`Table` by the link of the CSV file written."""
    if isinstance(content, Drawing):
        from . import figures

        fig = getattr(figures, content.kind)(*content.data, **content.options)
        return None if fig is None else w.figure(fig, content.stem)
    if isinstance(content, Table):
        return w.table(content.frame, content.stem)
    if isinstance(content, dict):
        return {key: draw(w, value) for key, value in content.items()}
    if isinstance(content, list):
        return [draw(w, value) for value in content]
    return content


def preload() -> None:
    """Import what drawing needs (the Agg and SVG backends, the palette), once, before worker processes
    are forked, so that they inherit it."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.backends.backend_svg  # noqa: F401

    from . import figures

    figures.palette()


def forest_rule(rows: int, effects: int, *, clustered: bool = False, pages: int = 1,
                unit: str = "study", command: str | None = None) -> str:
    """What a forest plot's caption says of its rows ("" when it is one figure with every row labelled):
    ``rows`` rows (studies, or arms: ``unit``) of ``effects`` effect sizes, one row per study of nested
    effect sizes when ``clustered``, drawn on ``pages`` figures of labelled rows or, beyond the figures'
    label limit, as one unlabelled figure sorted by effect size; ``command`` draws a page of it."""
    from .figures import MAX_LABELLED, PAGE_ROWS

    plural = "studies" if unit == "study" else f"{unit}s"
    text = []
    if clustered:
        text.append(f"One row per study: the {effects} effect sizes of {rows} studies, each study's row the "
                    "inverse-variance average of its effect sizes (metafor's aggregate() with rho = 0), with "
                    "their weights summed; the diamond and the prediction interval are those of the model "
                    "that treats the effect sizes as independent.")
    if pages > 1:
        text.append(f"The {rows} {plural} are drawn {MAX_LABELLED} to a figure, in file order, on {pages} "
                    "figures (the others below); each shows the whole model's weights and pooled estimate.")
    elif rows > MAX_LABELLED:
        text.append(f"The rows are not labelled: all {rows} {plural} are drawn, one thin row each, sorted by "
                    "effect size (a caterpillar plot), and listed in the table below.")
        if command:
            text.append(f"Labelled figures of {PAGE_ROWS} rows each, in file order: {command} (page 2; "
                        f"{-(-rows // PAGE_ROWS)} pages).")
    return " ".join(text)


def page_caption(index: int, pages: int, rows: int, unit: str = "study") -> str:
    """The caption of the ``index``-th (from 0) of ``pages`` figures of a forest plot of ``rows`` rows,
    ``figures.MAX_LABELLED`` to a figure."""
    from .figures import MAX_LABELLED

    plural = "studies" if unit == "study" else f"{unit}s"
    first, last = index * MAX_LABELLED + 1, min((index + 1) * MAX_LABELLED, rows)
    return f"Forest plot, figure {index + 1} of {pages}: {plural} {first} to {last} of {rows}, in file order."


def cumulative_rule(k: int) -> str:
    """How a cumulative forest plot of ``k`` steps is drawn, for its caption ("" when every step is a row)."""
    from .figures import MAX_LABELLED

    if k <= MAX_LABELLED:
        return ""
    return (f"With more than {MAX_LABELLED} studies the intervals form a shaded band around the line of "
            "cumulative estimates, and the axis marks the values of the column where they change (k = the "
            "studies so far).")


def built_with() -> str:
    """The versions the page footer names."""
    import matplotlib

    return f"Python {sys.version.split()[0]}, matplotlib {matplotlib.__version__}"


class Writer:
    """Writes pages, figures, tables and copies of data files into the site folder ``root``."""

    def __init__(self, root: Path, with_env: bool = True):
        self.root = root
        self.env = env() if with_env else None  # model jobs in worker processes write figures only
        self.css = markup((_DIR / "static" / "site.css").read_text(encoding="utf-8"))
        self.script = markup((_DIR / "static" / "tables.js").read_text(encoding="utf-8"))
        (root / "figures").mkdir(parents=True, exist_ok=True)
        (root / "data").mkdir(parents=True, exist_ok=True)

    def figure(self, fig, stem: str) -> dict:
        from . import figures

        figures.save(fig, self.root / "figures" / stem)
        size = fig_size(fig)
        fig.clear()
        return {"png": f"figures/{stem}.png", "svg": f"figures/{stem}.svg", "size": size}

    def page(self, name: str, template: str, **context) -> None:
        from .._io_write import write_atomic

        context.setdefault("nav", [])
        html = self.env.get_template(template).render(
            css=self.css, script=self.script, version=__version__, built_with=built_with(), **context
        )
        path = self.root / name
        write_atomic(path, html)
        os.chmod(path, 0o644)

    def table(self, frame, stem: str) -> str:
        """Write ``frame`` (one row per study, unrounded) as ``tables/<stem>.csv`` and return its link."""
        from .._io_write import write_atomic

        (self.root / "tables").mkdir(exist_ok=True)
        path = self.root / "tables" / f"{stem}.csv"
        write_atomic(path, frame.to_csv(index=False, lineterminator="\n"))
        os.chmod(path, 0o644)
        return f"tables/{stem}.csv"

    def copy(self, source: Path, relative: str) -> str:
        target = self.root / "data" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        os.chmod(target, 0o644)
        return f"data/{relative}"
