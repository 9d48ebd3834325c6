"""Overlap-aware decomposition of explained outcome variance: general dominance weights.

When factors are correlated, their squared correlations with the outcome overlap and adding them
counts shared variance several times. Dominance analysis instead splits the outcome's R2 from all
factors together: each factor's *general dominance weight* is its increment to R2 averaged first
over all subsets of the other factors of one size, then over the sizes (Budescu 1993; Azen &
Budescu 2003). This equals the Shapley value of R2, and the weights sum to R2 exactly.

All R2 values come from the correlation matrix alone: for a subset S of factors,
R2(S) = r_S' R_SS^{-1} r_S, with R_SS the correlations among the factors in S and r_S their
correlations with the outcome.

References
----------
Budescu, D. V. (1993). Dominance analysis: A new approach to the problem of relative importance of
predictors in multiple regression. *Psychological Bulletin*, 114(3), 542-551.
doi:10.1037/0033-2909.114.3.542
Azen, R., & Budescu, D. V. (2003). The dominance analysis approach for comparing predictors in
multiple regression. *Psychological Methods*, 8(2), 129-148. doi:10.1037/1082-989X.8.2.129
(conditional dominance as the average increment at each subset size; general dominance as the
average of those averages).
Goodnight, J. H. (1979). A tutorial on the SWEEP operator. *The American Statistician*, 33(3), 149-158.
doi:10.1080/00031305.1979.10482685 (each subset's R2 from its parent's by one sweep; see :func:`subset_r2`).
Lindeman, R. H., Merenda, P. F., & Gold, R. Z. (1980). *Introduction to Bivariate and Multivariate
Analysis*. Scott, Foresman, p. 119 ff. (the same quantity as an average over all orderings).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from ..errors import InputError

#: Numerical tolerance for symmetry of a user-supplied matrix (entries are usually printed to 2-3 decimals).
SYMMETRY_TOL = 1e-8
#: Smallest eigenvalue accepted as positive definite.
PD_TOL = 1e-10
#: Most factors a dominance analysis takes. Its work and memory double with each factor (the R2 of all 2**p
#: subsets): at 20 factors each matrix (each Monte Carlo draw) takes about 0.1 s, in 40 MB.
MAX_FACTORS = 20
#: Memory the sweeps of subset R2 work in: a core's L2 cache on common machines (larger batches run slower).
WORK_BYTES = 4 * 2**20


@dataclass(frozen=True)
class CorrelationMatrix:
    """A validated correlation matrix: factors first, the outcome last.

    R : float64 array of shape (p + 1, p + 1).
    names : the p factor names, in the order of R's first p rows.
    source : the file it came from, if any.
    """

    R: np.ndarray
    names: tuple[str, ...]
    source: str | None = None

    @property
    def Rxx(self) -> np.ndarray:
        return self.R[:-1, :-1]

    @property
    def rxy(self) -> np.ndarray:
        return self.R[:-1, -1]


def check_correlation_matrix(
    data, *, outcome: str = "outcome", source: str | None = None
) -> CorrelationMatrix:
    """Validate a labelled correlation matrix once, at the boundary.

    Parameters
    ----------
    data : pandas.DataFrame
        Square, with the same names as index (first column of the CSV) and columns (header row), one of
        them ``outcome``. Values are correlations.
    outcome : str
        Name of the outcome's row and column.
    source : str, optional
        File name for error messages (defaults to ``data.attrs["source"]``).

    Returns
    -------
    CorrelationMatrix
        Reordered so that the outcome is last.

    Raises
    ------
    InputError
        Names of rows and columns differ; no ``outcome`` row or column; more than :data:`MAX_FACTORS`
        factors; a value that is missing, not a number, or outside [-1, 1]; a diagonal other than 1; an
        asymmetric or non-positive-definite matrix.
    """
    source = source or (data.attrs.get("source") if hasattr(data, "attrs") else None)
    rows = [str(x).strip() for x in data.index]
    cols = [str(x).strip() for x in data.columns]
    if len(set(rows)) != len(rows) or len(set(cols)) != len(cols):
        dup = next(n for n in rows + cols if (rows.count(n) > 1 or cols.count(n) > 1))
        raise InputError(
            f"the name {dup!r} appears twice",
            file=source,
            expected="each factor named once in the header row and once in the first column",
        )
    if outcome not in rows or outcome not in cols:
        where = "row" if outcome not in rows else "column"
        raise InputError(
            f"no {where} named {outcome!r}",
            file=source,
            expected=f"the outcome's row and column named {outcome!r} (rows: {', '.join(rows)})",
        )
    if set(rows) != set(cols) or len(rows) != len(cols):
        only_r = [n for n in rows if n not in cols]
        only_c = [n for n in cols if n not in rows]
        raise InputError(
            f"row names and column names do not match (rows only: {only_r or 'none'}; columns only: "
            f"{only_c or 'none'})",
            file=source,
            expected="a square matrix with the same names in the header row and the first column",
        )
    if len(rows) < 2:
        raise InputError(
            "the matrix has only the outcome", file=source, expected="at least one factor besides the outcome"
        )
    check_factor_count(len(rows) - 1, source)
    order = [n for n in rows if n != outcome] + [outcome]
    R = np.empty((len(order), len(order)))
    for i, rn in enumerate(order):
        ri = rows.index(rn)
        for j, cn in enumerate(order):
            v = data.iloc[ri, cols.index(cn)]
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise InputError(
                    f"got {v!r}",
                    file=source,
                    row=f"row {rn!r}",
                    column=cn,
                    expected="a correlation (a number in [-1, 1])",
                ) from None
            if not np.isfinite(x):
                raise InputError(
                    f"got {v!r}",
                    file=source,
                    row=f"row {rn!r}",
                    column=cn,
                    expected="a correlation (a number in [-1, 1]); missing values are not allowed",
                )
            if abs(x) > 1:
                raise InputError(
                    f"got {x:g}",
                    file=source,
                    row=f"row {rn!r}",
                    column=cn,
                    expected="a correlation in [-1, 1]",
                )
            R[i, j] = x
    for i, n in enumerate(order):
        if abs(R[i, i] - 1) > SYMMETRY_TOL:
            raise InputError(
                f"got {R[i, i]:g} on the diagonal",
                file=source,
                row=f"row {n!r}",
                column=n,
                expected="1 (a variable's correlation with itself)",
            )
    asym = np.abs(R - R.T)
    if asym.max() > SYMMETRY_TOL:
        i, j = np.unravel_index(np.argmax(asym), asym.shape)
        raise InputError(
            f"the matrix is not symmetric: {R[i, j]:g} but {R[j, i]:g} in row {order[j]!r}, "
            f"column {order[i]!r}",
            file=source,
            row=f"row {order[i]!r}",
            column=order[j],
            expected="a symmetric correlation matrix",
        )
    R = (R + R.T) / 2
    lam = np.linalg.eigvalsh(R)[0]
    if lam <= PD_TOL:
        raise InputError(
            f"the matrix is not positive definite (smallest eigenvalue {lam:.3g})",
            file=source,
            expected="correlations that can occur together (a positive definite matrix)",
        )
    return CorrelationMatrix(R=R, names=tuple(order[:-1]), source=source)


def subset_r2(R) -> np.ndarray:
    """R2 of the outcome on every subset of the factors, each subset by one sweep of its parent's.

    Parameters
    ----------
    R : array of shape (..., p + 1, p + 1)
        Correlation matrices (a batch over the leading axes), factors first, outcome last, positive
        definite; at most :data:`MAX_FACTORS` factors.

    Returns
    -------
    array of shape (..., 2**p)
        Entry ``mask`` is R2(S) for the subset S whose bit i is set when factor i is in S;
        R2(S) = r_S' R_SS^{-1} r_S, and R2 of the empty set is 0.

    Notes
    -----
    Factors enter in their order. The subsets of factors 0..h-1 carry C_S, the covariance matrix of the
    factors h..p-1 and the outcome left after regressing them on S; sweeping C_S on factor h (Goodnight
    1979) gives C of S + {h}: C_jk - C_jh C_hk / C_hh, the partial covariances. So each subset costs one
    rank-one update of the parent's matrix (the subset without its highest factor), of the size of the
    factors after that one: on average a constant number of operations per subset, against a p x p solve
    each. R2(S) = 1 - C_S[y, y], the outcome's variance left. Matrices are processed in batches of at
    most :data:`WORK_BYTES`.

    References
    ----------
    Goodnight, J. H. (1979). A tutorial on the SWEEP operator. *The American Statistician*, 33(3),
    149-158. doi:10.1080/00031305.1979.10482685
    """
    R = np.asarray(R, dtype=float)
    p = R.shape[-1] - 1
    out = np.empty((int(np.prod(R.shape[:-2])), 2**p))
    for rows, r2 in _batched_r2(R):
        out[rows] = r2.T
    return out.reshape(R.shape[:-2] + (2**p,))


def _batched_r2(R: np.ndarray):
    """For each batch of the matrices R (..., p + 1, p + 1), flattened, of at most :func:`batch_size`: its
    rows (a slice) and the R2 of every subset, (2**p, rows), by :func:`_swept_r2`."""
    p = R.shape[-1] - 1
    check_factor_count(p)
    flat = R.reshape((-1, p + 1, p + 1))
    step = batch_size(p)
    for a in range(0, flat.shape[0], step):
        yield slice(a, a + step), _swept_r2(np.moveaxis(flat[a : a + step], 0, -1))


def _swept_r2(C: np.ndarray) -> np.ndarray:
    """R2 of every subset for the B problems in the columns of C (m, m, B), as an array (2**(m - 1), B).

    A problem: the residual covariances of m - 1 factors and the outcome (last), given the factors swept
    before. Problems whose sweep fits in :data:`WORK_BYTES` are swept together; a larger one has its
    first factor swept, and the two problems that leaves (without and with it) are solved in turn, so that
    every sweep works in the cache whatever p.
    """
    m, B = C.shape[0], C.shape[-1]
    per = working_bytes(m - 1)
    if per * B <= WORK_BYTES:
        for _ in range(m - 1):
            C = _sweep_first(C)
        return (1.0 - C[0, 0]).reshape(-1, B)  # column mask * B + b: R2 of subset mask in problem b
    if B > 1:
        step = max(1, WORK_BYTES // per)
        return np.concatenate([_swept_r2(C[..., a : a + step]) for a in range(0, B, step)], axis=1)
    return _swept_r2(_sweep_first(C)).reshape(-1, 1)  # row 2 * mask + bit of the first factor


def _sweep_first(C: np.ndarray) -> np.ndarray:
    """Sweep the B problems in the columns of C (m, m, B) on their first factor: (m - 1, m - 1, 2 B), the
    columns without it then the same columns with it."""
    B = C.shape[-1]
    rest = C[1:, 1:]
    swept = np.empty(rest.shape[:2] + (2 * B,))
    swept[..., :B] = rest
    with_h = swept[..., B:]
    np.multiply(C[1:, :1], C[:1, 1:] / C[:1, :1], out=with_h)
    np.subtract(rest, with_h, out=with_h)  # Goodnight (1979): C_jk - C_jh C_hk / C_hh
    return swept


def working_bytes(p: int) -> int:
    """Peak bytes of the sweeps of :func:`subset_r2` per correlation matrix of p factors, all at once: the
    largest step's input, output and pivot row, and the R2 of the 2**p subsets."""
    step = max((2**h * ((p - h + 1) ** 2 + 2 * (p - h) ** 2 + p - h) for h in range(p)), default=0)
    return 8 * (step + 2 * 2**p)


def batch_size(p: int) -> int:
    """Correlation matrices of p factors swept together within :data:`WORK_BYTES` (at least one)."""
    return max(1, WORK_BYTES // working_bytes(p))


def memory_bytes(p: int) -> int:
    """Bytes :func:`general_dominance` holds at most for p factors besides its output, whatever the number of
    matrices, 8 bytes a subset each: the sweeps (:data:`WORK_BYTES`, or one matrix's two largest steps when
    larger), two weights, and the R2 of one matrix's subsets five times over (pieces, joined, 1 - residual,
    weighted, folded)."""
    return max(WORK_BYTES, 16 * 2**p) + 8 * 7 * 2**p


def check_factor_count(p: int, source: str | None = None) -> None:
    """Refuse more than :data:`MAX_FACTORS` factors at once: dominance analysis takes 2**p subsets."""
    if p > MAX_FACTORS:
        raise InputError(
            f"{p} factors: dominance analysis needs the R2 of all 2^{p} subsets of them",
            file=source,
            expected=f"at most {MAX_FACTORS} factors (2^{MAX_FACTORS} = {2**MAX_FACTORS:,} subsets)",
        )


def conditional_dominance(r2_subsets) -> np.ndarray:
    """Average increment of each factor to R2 at each subset size (Azen & Budescu 2003).

    Parameters
    ----------
    r2_subsets : array of shape (..., 2**p), from :func:`subset_r2`.

    Returns
    -------
    array of shape (..., p, p)
        Entry [i, s] is the mean of R2(S + {i}) - R2(S) over the C(p - 1, s) subsets S of size s
        without factor i.
    """
    r2 = np.asarray(r2_subsets, dtype=float)
    p = int(np.log2(r2.shape[-1]))
    out = np.zeros(r2.shape[:-1] + (p, p))
    sizes = np.array([bin(m).count("1") for m in range(2**p)])
    for i in range(p):
        without = np.array([m for m in range(2**p) if not m >> i & 1])
        inc = r2[..., without | (1 << i)] - r2[..., without]
        for s in range(p):
            sel = sizes[without] == s
            out[..., i, s] = inc[..., sel].sum(axis=-1) / comb(p - 1, s)
    return out


def general_dominance(R) -> np.ndarray:
    """General dominance weights: each factor's conditional dominance averaged over subset sizes.

    Parameters
    ----------
    R : array of shape (..., p + 1, p + 1)
        Correlation matrices, factors first and the outcome last.

    Returns
    -------
    array of shape (..., p)
        The weights; they sum to the R2 of all p factors (Budescu 1993; Azen & Budescu 2003).

    Notes
    -----
    The average over sizes of the average increment at each size gives each increment
    R2(S + {i}) - R2(S), |S| = s, the weight w_s = 1 / (p C(p - 1, s)), the Shapley weight s! (p - 1 - s)!
    / p! (Lindeman et al. 1980), with w_p = 0. So the weight of factor i is the sum over the subsets T
    holding i of (w_{|T|-1} + w_{|T|}) R2(T), less the sum over all T of w_{|T|} R2(T); the first sums, for
    every i at once, come from folding the 2**p terms in halves on each factor (2 x 2**p additions in all).
    The subset R2 come from :func:`subset_r2`, in batches of at most :data:`WORK_BYTES`.
    """
    R = np.asarray(R, dtype=float)
    p = R.shape[-1] - 1
    check_factor_count(p)
    with_i, every = _shapley_weights(p)
    out = np.empty((int(np.prod(R.shape[:-2])), p))
    for rows, r2 in _batched_r2(R):
        out[rows] = (_sums_with_each_factor(r2 * with_i[:, None]) - np.einsum("k,kn->n", every, r2)).T
    return out.reshape(R.shape[:-2] + (p,))


def _shapley_weights(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Per subset T (index mask): w_{|T|-1} + w_{|T|} and w_{|T|} (see :func:`general_dominance`)."""
    w = np.array([0.0] + [1.0 / (p * comb(p - 1, s)) for s in range(p)] + [0.0])  # w[1 + s]; none at -1, p
    masks = np.arange(2**p)
    size = np.zeros(2**p, dtype=np.int64)
    for i in range(p):
        size += masks >> i & 1
    return w[size] + w[size + 1], w[size + 1]


def _sums_with_each_factor(c: np.ndarray) -> np.ndarray:
    """For c of shape (2**p, n) over the subsets (index mask), the (p, n) sums over the subsets holding each
    factor: the top factor's are the upper half; adding the halves leaves the same problem on p - 1."""
    p = c.shape[0].bit_length() - 1
    out = np.empty((p, c.shape[1]))
    for i in reversed(range(p)):
        half = c.shape[0] // 2
        out[i] = c[half:].sum(axis=0)
        c = c[:half] + c[half:]
    return out


def equicorrelated(rxy, rho: float) -> np.ndarray:
    """The matrix with factor-outcome correlations ``rxy`` and every inter-factor correlation ``rho``.

    Returns an array of shape (p + 1, p + 1), factors first and the outcome last.
    """
    rxy = np.asarray(rxy, dtype=float)
    p = rxy.shape[0]
    R = np.full((p + 1, p + 1), float(rho))
    R[:p, p] = R[p, :p] = rxy
    np.fill_diagonal(R, 1.0)
    return R


def is_positive_definite(R) -> np.ndarray:
    """Whether each matrix in a batch of symmetric matrices has its smallest eigenvalue above PD_TOL."""
    return np.linalg.eigvalsh(np.asarray(R, dtype=float))[..., 0] > PD_TOL
