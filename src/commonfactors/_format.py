"""Number formatting and the Summary object shared by results, the command line and reports.

Numbers are never rounded in the engine; digits are applied only here, when printing.
"""

from __future__ import annotations

import html
import math


def fmt(x, digits: int = 4) -> str:
    """A number with ``digits`` decimals; NaN/None as 'NA' (as R prints)."""
    if x is None:
        return "NA"
    if isinstance(x, (int,)) and not isinstance(x, bool):
        return str(x)
    x = float(x)
    if math.isnan(x):
        return "NA"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return f"{x:.{digits}f}"


def fmt_p(p, digits: int = 4) -> str:
    """A p-value as metafor prints it: '<.0001' below the printed precision."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "NA"
    if p < 10.0**-digits:
        return "<." + "0" * (digits - 1) + "1"
    return f"{p:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Right-aligned columns (the first column left-aligned), as R prints a matrix."""
    cols = list(zip(header, *rows, strict=True))
    widths = [max(len(c) for c in col) for col in cols]
    lines = []
    for r in [header, *rows]:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def jsonable(x):
    """Plain JSON types: NaN/inf -> None, numpy scalars -> Python numbers, tuples -> lists."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        return jsonable(x.tolist())
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        return None if math.isnan(x) or math.isinf(x) else x
    return x


class Summary:
    """A printable summary: ``str()`` is the metafor-like text, ``_repr_html_``/``as_html()`` for pages.

    ``notes`` (warnings) are listed in a footer.
    """

    def __init__(self, text: str, notes=()):
        self.text = text
        self.notes = tuple(notes)

    def as_text(self) -> str:
        if not self.notes:
            return self.text
        return self.text + "\n\nWarnings:\n" + "\n".join(f"  - {n}" for n in self.notes)

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__

    def as_html(self) -> str:
        return f'<pre class="cf-summary">{html.escape(self.as_text())}</pre>'

    def _repr_html_(self) -> str:
        return self.as_html()
