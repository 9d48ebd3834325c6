"""Moderator formulas are data: parsed, checked against a short grammar, and only then evaluated.

formulaic evaluates each factor of a formula (``log(year)``, ``I(ablat**2)``) as a Python expression, so a
formula from a shared script or report spec could otherwise run any code. Here the formula is parsed by
formulaic's parser, which evaluates nothing, and every factor's expression is checked with Python's
``ast`` before anything runs. A formula may contain:

- columns of the data (names that are not Python identifiers in backticks: ```my col```);
- ``C(x)`` or, as R users write it, ``factor(x)``: ``x`` as categories in treatment coding, optionally with
  ``Treatment('level')`` or ``Treatment(reference='level')`` naming the reference level;
- interactions ``a:b`` and ``a*b`` (formula operators, never evaluated as Python);
- ``I(...)`` with ``+ - * / **`` and unary minus on columns and numbers;
- the functions ``log``, ``log2``, ``log10``, ``exp``, ``sqrt``, ``abs`` (one argument), ``pmin``/``pmax``
  (R's parallel minimum and maximum, two or more arguments), ``poly(x, degree)`` (R's orthogonal
  polynomials), ``scale(x)`` and ``center(x)``.

Anything else (attribute access, subscripts, strings outside ``Treatment()``, other keywords, lambdas,
comprehensions, calls of anything else, names that are neither a column nor one of these functions) is an
InputError naming the term. Evaluation then sees only these functions (:func:`context`).
"""

from __future__ import annotations

import ast
import difflib
import functools
from typing import NamedTuple

import numpy as np

from .errors import InputError

#: functions of one numeric argument, with the numpy function that computes them
UNARY = {"log": np.log, "log2": np.log2, "log10": np.log10, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}
#: R's parallel minimum and maximum, two or more arguments
PARALLEL = ("pmin", "pmax")
#: the most products of terms a formula may expand to ((a + b + c)**3 forms 27)
MAX_PRODUCTS = 5000
#: arithmetic allowed inside I() and the functions' arguments
OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)

EXPECTED = ("columns, numbers, C()/factor() (with Treatment('level') for the reference level), a:b and a*b, "
            "I() with + - * / ** and the functions log, log2, log10, exp, sqrt, abs, pmin, pmax, "
            "poly(x, degree), scale and center")

_WHAT = {
    ast.Attribute: "attribute access", ast.Subscript: "a subscript", ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.Compare: "a comparison", ast.BoolOp: "and/or",
    ast.IfExp: "if/else", ast.NamedExpr: "an assignment", ast.Starred: "unpacking",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Set: "a set", ast.Dict: "a dict",
    ast.JoinedStr: "an f-string", ast.Slice: "a slice",
}


def pmin(*x):
    """R's ``pmin``: the element-wise minimum of two or more arguments."""
    return functools.reduce(np.minimum, x)


def pmax(*x):
    """R's ``pmax``: the element-wise maximum of two or more arguments."""
    return functools.reduce(np.maximum, x)


def context() -> dict:
    """The only names a checked formula's expressions are evaluated with (besides the data's columns).

    ``C``, ``Treatment``, ``I``, ``poly``, ``scale`` and ``center`` are formulaic's (``poly`` computes R's
    orthogonal polynomials, ``stats::poly``: Chambers, J. M. & Hastie, T. J. (1992). Statistical Models in S,
    Wadsworth; ``Treatment`` takes patsy's ``reference=``); ``factor`` is ``C``.
    """
    from formulaic.transforms import TRANSFORMS

    own = {name: TRANSFORMS[name] for name in ("C", "Treatment", "I", "poly", "scale", "center")}
    return {**own, "factor": own["C"], **UNARY, "pmin": pmin, "pmax": pmax}


class CheckedFormula(NamedTuple):
    """A parsed formula whose every factor passed the grammar.

    formula : formulaic.Formula, the parsed formula to materialise (never parsed again).
    columns : the data columns it uses, in order of appearance.
    numeric : the columns used in arithmetic or functions (they must hold numbers).
    references : (column, level, term) for each ``Treatment(...)`` reference level.
    """

    formula: object
    columns: tuple
    numeric: frozenset
    references: tuple


def _shown(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_formula(mods: str, columns, *, source=None, k: int) -> CheckedFormula:
    """Parse the moderator formula ``mods`` and check every factor against the grammar of the module.

    ``columns`` are the data's column names and ``k`` the number of rows (a ``poly()`` degree is below it).
    Nothing in the formula is evaluated. Raises InputError naming the first term that breaks the grammar.
    """
    from formulaic import Formula
    from formulaic.formula import SimpleFormula
    from formulaic.parser import DefaultFormulaParser

    columns = tuple(map(str, columns))
    text = mods.strip()
    if not text.startswith("~"):
        text = "~ " + text
    try:
        products = _products(DefaultFormulaParser().get_ast(text))
        if products > MAX_PRODUCTS:
            raise InputError(f"the moderator formula {_shown(mods)!r} expands to more than {MAX_PRODUCTS} "
                             "products of terms", file=source, expected="fewer or lower-order interactions")
        formula = Formula(text)
    except InputError:
        raise
    except Exception as e:  # formulaic raises many exception types for syntax errors
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"cannot parse the moderator formula {_shown(mods)!r}: {_shown(first, 200)}",
                         file=source, expected="an R-style formula such as '~ ablat + C(alloc)'") from None
    if not isinstance(formula, SimpleFormula):
        raise InputError(f"the moderator formula {_shown(mods)!r} has a left-hand side or several parts",
                         file=source, expected="one right-hand side such as '~ ablat + C(alloc)'")
    found: dict[str, None] = {}
    numeric: set[str] = set()
    references: list[tuple] = []
    for term in formula:
        for factor in term.factors:
            check = _FactorCheck(factor.expr, columns, source=source, k=k)
            check.factor(factor.eval_method.value)
            found.update(dict.fromkeys(check.columns))
            numeric |= check.numeric
            references += check.references
    return CheckedFormula(formula, tuple(found), frozenset(numeric), tuple(references))


def _products(tree) -> int:
    """An upper bound on the products of terms formulaic forms to expand a formula's operator tree.

    ``(a + b + c + d)**10`` forms 4^10 products and ``(a + b) * (c + d) * ...`` grows as 3^n: both are
    bounded here before formulaic expands them (capped at MAX_PRODUCTS + 1, so the bound stays small).
    Walked without recursion: ``a + a + ... + a`` nests as deep as it is long.
    """
    sizes: dict[int, int] = {}
    stack = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        args = getattr(node, "args", None)
        if args is None:  # a token: one term
            sizes[id(node)] = 1
        elif not ready:
            stack += [(node, True), *((arg, False) for arg in args)]
        else:
            sizes[id(node)] = _combined(node, [sizes[id(arg)] for arg in args])
    return sizes[id(tree)]


def _combined(node, sizes: list[int]) -> int:
    symbol = node.operator.symbol
    if len(sizes) == 1 or symbol in ("+", "-", "|"):
        n = sum(sizes)
    elif symbol in ("**", "^"):
        power = str(node.args[1])
        n = sizes[0] ** min(int(power), 64) if power.isdigit() else sizes[0]
    else:  # ':', '*', '/', '%in%', '~': at most every product plus both sides
        n = sizes[0] * sizes[1] + sizes[0] + sizes[1]
    return min(n, MAX_PRODUCTS + 1)


class _FactorCheck:
    """Checks one factor of a formula (``ablat``, ``C(alloc)``, ``I(ablat**2)``) without evaluating it."""

    def __init__(self, expr: str, columns: tuple, *, source, k: int):
        self.expr, self.all_columns, self.source, self.k = expr, columns, source, k
        self.columns: list[str] = []
        self.numeric: set[str] = set()
        self.references: list[tuple] = []
        self.aliases: dict[str, str] = {}

    def factor(self, eval_method: str) -> None:
        if eval_method == "literal":
            self.literal()
        elif eval_method == "lookup":
            self.column(self.expr)
        else:
            try:
                self.top(self.parse())
            except RecursionError:
                self.fail("is nested too deeply")

    def literal(self) -> None:
        try:
            value = ast.literal_eval(self.expr)
        except (ValueError, SyntaxError):
            value = None
        if not _is_number(value):
            self.fail(f"uses {self.expr!r}, which is not a number")

    def parse(self) -> ast.expr:
        from formulaic.utils.code import sanitize_variable_names

        try:  # backticks name columns that are not Python names: `my col` -> my_col (aliases maps back)
            return ast.parse(sanitize_variable_names(self.expr, {}, self.aliases), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self.fail("is not a valid expression")

    # the grammar: a factor is a column, C()/factor(), I(), poly(), scale(), center() or a numeric expression
    def top(self, node: ast.expr) -> None:
        name = _called_name(node)
        if name in ("C", "factor"):
            self.categorical(node)
        elif name == "I":
            self.arguments(node, 1, 1)
            self.numeric_expr(node.args[0])
        elif name == "poly":
            self.poly(node)
        elif name in ("scale", "center"):
            self.arguments(node, 1, 1)
            self.numeric_expr(node.args[0])
        else:
            self.numeric_expr(node)

    def categorical(self, node: ast.Call) -> None:
        self.arguments(node, 1, 2)
        first = node.args[0]
        if not isinstance(first, ast.Name):
            self.reject(first, f"{node.func.id}() takes a column")
        column = self.column(self.aliases.get(first.id, first.id))
        if len(node.args) == 2:
            self.references.append((column, self.treatment(node.args[1]), self.expr))

    def treatment(self, node: ast.expr):
        if _called_name(node) != "Treatment":
            self.reject(node, "the second argument of C() or factor() is Treatment('level')")
        self.arguments(node, 0, 1, keywords=("reference",))
        given = [*node.args, *(kw.value for kw in node.keywords)]
        if len(given) != 1:
            self.reject(node, "Treatment() takes one reference level")
        level = given[0]
        if not (isinstance(level, ast.Constant) and isinstance(level.value, (str, int, float))
                and not isinstance(level.value, bool)):
            self.reject(level, "the reference level is a quoted level or a number")
        return level.value

    def poly(self, node: ast.Call) -> None:
        self.arguments(node, 1, 2, keywords=("degree",))
        self.numeric_expr(node.args[0])
        given = [*node.args[1:], *(kw.value for kw in node.keywords)]
        if len(given) != 1:
            self.reject(node, "poly() takes a column and a degree")
        degree = given[0]
        if not isinstance(degree, ast.Constant):
            self.reject(degree, "the degree of poly() is a whole number")
        if not (type(degree.value) is int and 1 <= degree.value < self.k):
            self.fail(f"has the degree {degree.value!r}", expected=f"a whole number from 1 to {self.k - 1} "
                      "(below the number of studies) as the degree of poly()")

    def numeric_expr(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.numeric.add(self.column(self.aliases.get(node.id, node.id)))
        elif isinstance(node, ast.Constant) and _is_number(node.value):
            pass
        elif isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            self.numeric_expr(node.left)
            self.numeric_expr(node.right)
            if isinstance(node.op, ast.Pow) and not self.mentions_column(node):
                self.reject(node, "a power of numbers alone; write the number")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self.numeric_expr(node.operand)
        elif _called_name(node) in UNARY:
            self.arguments(node, 1, 1)
            self.numeric_expr(node.args[0])
        elif _called_name(node) in PARALLEL:
            self.arguments(node, 2, None)
            for arg in node.args:
                self.numeric_expr(arg)
        else:
            self.reject(node)

    def mentions_column(self, node: ast.expr) -> bool:
        return any(isinstance(n, ast.Name) for n in ast.walk(node))

    def arguments(self, node: ast.Call, low: int, high: int | None, keywords=()) -> None:
        """Between ``low`` and ``high`` positional arguments, no ``*``/``**``, keywords only ``keywords``."""
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.reject(arg)
        for kw in node.keywords:
            if kw.arg not in keywords:
                shown = "**" if kw.arg is None else f"{kw.arg}="
                self.fail(f"uses {shown!r} in {node.func.id}() (a keyword that is not allowed)")
        n = len(node.args)
        if n < low or (high is not None and n > high):
            wanted = f"{low}" if low == high else f"{low} or more" if high is None else f"{low} to {high}"
            self.fail(f"calls {node.func.id}() with {n} argument{'s' if n != 1 else ''}",
                      expected=f"{wanted} in {node.func.id}(); {EXPECTED}")

    def column(self, name: str) -> str:
        if name not in self.all_columns:
            close = difflib.get_close_matches(name, self.all_columns, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(f"uses {_shown(name, 60)!r}, which is not a column{hint}",
                      expected=f"a column; the columns are {', '.join(map(repr, self.all_columns))}")
        self.columns.append(name)
        return name

    def reject(self, node: ast.AST, why: str | None = None) -> None:
        """Fail on ``node``, or first on what it is built from when that is already outside the grammar."""
        inner = node.func if isinstance(node, ast.Call) else getattr(node, "value", None)
        if isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)) and not isinstance(inner, ast.Name):
            self.numeric_expr(inner)  # raises on an earlier offence: 'a.__class__.mro' names '.__class__'
        if why is None:
            why = _what(node)
        if isinstance(node, ast.Attribute):
            shown = f".{node.attr}"
        else:
            shown = f"{node.func.id}()" if _called_name(node) else _unparse(node)
        self.fail(f"uses {_shown(shown, 60)!r} ({why})")

    def fail(self, problem: str, expected: str = EXPECTED) -> None:
        raise InputError(f"the moderator formula term {_shown(self.expr)!r} {problem}", file=self.source,
                         expected=expected)


def _called_name(node: ast.AST) -> str | None:
    return node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except (RecursionError, ValueError):
        return type(node).__name__


def _what(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        return "a call of a function that is not allowed" if isinstance(node.func, ast.Name) \
            else "a call of something other than a listed function"
    if isinstance(node, ast.Name):
        return "not a column"
    if isinstance(node, ast.Constant):
        return "a string outside Treatment()" if isinstance(node.value, (str, bytes)) else "not a number"
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return "an operator other than + - * / ** and unary minus"
    return _WHAT.get(type(node), f"Python {type(node).__name__} syntax")
