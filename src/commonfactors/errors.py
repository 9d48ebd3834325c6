"""The package's one exception for bad user input, and its warning classes.

Nothing else lives here, and this module imports nothing from the package.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. ``str()`` is one line: where (file, row, column), what was found, what was expected.

    ``row`` is the file's line number (header = line 1) for data read from a file, the index label
    for a DataFrame passed in Python, and the position (``element 3``) for bare arrays.
    """

    def __init__(self, problem: str, *, file=None, row=None, column=None, expected=None):
        self.problem, self.file, self.row, self.column, self.expected = problem, file, row, column, expected
        where = [str(file)] if file else []
        if row is not None:
            where.append(row if isinstance(row, str) else f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        text = problem if expected is None else f"{problem}; expected {expected}"
        text = " ".join(text.split())  # always one line
        super().__init__(f"{', '.join(where)}: {text}" if where else text)


class CommonFactorsWarning(UserWarning):
    """Base class of the package's warnings."""


class ConvergenceWarning(CommonFactorsWarning):
    """An iterative estimator stopped before meeting its convergence criterion."""


class BoundaryWarning(CommonFactorsWarning):
    """An estimate sits at the boundary of its space (e.g. tau2 truncated to 0)."""


class SmallKWarning(CommonFactorsWarning):
    """Too few studies for a quantity to be estimated reliably."""


class DroppedRowsWarning(CommonFactorsWarning):
    """Rows were left out of a computation (missing values); the message names them."""
