"""R's whitespace-delimited tables, as ``write.table(df, file)`` writes them and ``read.table`` reads them."""

from __future__ import annotations

import re

#: the delimiter recorded for R's ``read.table(sep = "")`` layout, which ``write.table`` writes: fields
#: separated by runs of spaces and tabs, sniffed only when none of ``, ; \t |`` splits the header
WHITESPACE = " "
_WS_FIELDS = re.compile(r"[^ \t]+")
#: one field of a whitespace-delimited line: quoted (R's escape: \" is a quote, any other backslash stays),
#: unquoted (quotes inside it are kept), a quote that is not closed on this line, or the end of the line
_WS_TOKEN = re.compile(r'[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^ \t"][^ \t]*)|(")|\Z)', re.S)
#: the same alternatives for a whole line at once (quoted, unquoted, an unclosed quote)
_WS_LINE = re.compile(r'"((?:[^"\\]|\\.)*)"|([^ \t"][^ \t]*)|(")', re.S)
_LONE_QUOTE = ("", "", '"')  # what _WS_LINE.findall gives for a quote that the line does not close
_LINE_BREAK = re.compile(r"\r\n?|\n")


class _UnclosedQuote(Exception):
    """A quoted field of a whitespace-delimited file that no later quote closes."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _whitespace_records(text: str):
    """Records of R's ``read.table(sep = "")`` layout: (first line, last line, fields); blank lines give [].

    Fields are separated by runs of spaces and tabs, leading and trailing ones ignored. A field that
    starts with ``"`` runs to the next quote not escaped by a backslash and may span lines; inside it
    ``\\"`` is a quote and any other backslash is kept with the character after it, and its closing
    quote ends the field. A quote inside an unquoted field is part of it. These are the rules of R's
    ``scan()`` (R Core Team, *R Data Import/Export*, section 2.1; ``?scan``, argument ``quote``), which
    ``read.table`` uses on the output of ``write.table(qmethod = "escape")``, checked with R 4.2.

    Raises
    ------
    _UnclosedQuote
        A quote opens a field that no later quote closes (the line it opens on).
    """
    lines = _LINE_BREAK.split(text) if "\r" in text else text.split("\n")
    n = len(lines)
    i = 0
    while i < n:
        line, start = lines[i], i + 1
        if '"' not in line:
            yield start, start, _WS_FIELDS.findall(line)
            i += 1
            continue
        found = _WS_LINE.findall(line)
        if _LONE_QUOTE not in found:  # every quote is closed on this line
            yield start, start, [plain or (quoted.replace('\\"', '"') if "\\" in quoted else quoted)
                                 for quoted, plain, _ in found]
            i += 1
            continue
        fields: list[str] = []
        pos = 0
        while True:
            m = _WS_TOKEN.match(line, pos)
            if m.group(1) is not None:
                fields.append(m.group(1).replace('\\"', '"'))
            elif m.group(2) is not None:
                fields.append(m.group(2))
            elif m.group(3) is not None:  # the quote is closed on a later line, if any: join up to it
                j = next((j for j in range(i + 1, n) if '"' in lines[j]), None)
                if j is None:
                    raise _UnclosedQuote(start)
                line = "\n".join([line, *lines[i + 1: j + 1]])
                i = j
                continue
            else:
                break
            pos = m.end()
        yield start, i + 1, fields
        i += 1
