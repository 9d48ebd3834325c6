"""Reliable change and clinical significance (Jacobson & Truax 1991).

Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to defining meaningful
change in psychotherapy research. J. Consult. Clin. Psychol., 59(1), 12-19.

- Standard error of measurement ``SE = s1 * sqrt(1 - r_xx)``; standard error of a difference
  ``S_diff = sqrt(2) * SE`` (the sqrt(2) of Christensen & Mendoza 1986); reliable change index
  ``RC = (x2 - x1) / S_diff``, reliable when ``|RC| > 1.96`` (the critical value is a parameter).
  ``s1`` is the pretest SD of the sample or of a norm group, ``r_xx`` a test-retest reliability where one is
  available: name both when reporting (Maassen 2004 compares the variants of SE).
- Cutoffs, with a dysfunctional (clinical) population of mean ``M_dys``, SD ``s_dys`` and a functional one of
  mean ``M_fun``, SD ``s_fun``, written for scales on which higher is better:
  ``a = M_dys + 2 s_dys`` (two SDs beyond the clinical mean), ``b = M_fun - 2 s_fun`` (within two SDs of the
  functional mean), ``c = (s_fun M_dys + s_dys M_fun) / (s_dys + s_fun)`` (where the two distributions meet);
  on scales where lower is better the signs of ``2 s`` flip, and ``c`` is the same.
- Categories of a client who starts in the clinical range: *recovered* (reliable improvement and ends on the
  functional side of the cutoff), *improved* (reliable improvement only), *unchanged*, *deteriorated*
  (reliable worsening). A client already on the functional side at intake cannot recover: reported apart,
  "not clinical at intake".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

#: J&T's critical value: a change beyond 1.96 S_diff is unlikely (p < .05) without real change
CRITICAL = 1.96

RECOVERED, IMPROVED, UNCHANGED, DETERIORATED = "recovered", "improved", "unchanged", "deteriorated"
NOT_CLINICAL = "not clinical at intake"
#: every category, in the order tables show them
CATEGORIES = (RECOVERED, IMPROVED, UNCHANGED, DETERIORATED, NOT_CLINICAL)


@dataclass(frozen=True, slots=True)
class ReliableChange:
    """Reliable change of pre-post pairs (Jacobson & Truax 1991).

    ``se_measurement`` (SE) and ``s_diff`` are NaN when the reliable-change value ``rc_change`` was given in
    score points instead of ``sd`` and ``reliability``; then ``s_diff = rc_change / critical`` is implied and
    ``rc`` is the change in units of it. ``change = post - pre``; ``rc`` the reliable change index;
    ``direction`` is ``"improved"``, ``"unchanged"`` or ``"deteriorated"`` (by ``higher_is_better``).
    Scalars for scalar input, arrays of shape (n,) otherwise.
    """

    change: object
    rc: object
    direction: object
    se_measurement: float
    s_diff: float
    critical: float
    rc_change: float  # the smallest reliable change in score points: critical * s_diff, or as given
    higher_is_better: bool

    @property
    def reliable(self):
        """Whether each change is reliable (``direction`` is not "unchanged")."""
        d = np.asarray(self.direction)
        out = d != UNCHANGED
        return bool(out) if d.ndim == 0 else out


def _positive(x, name, *, low=0.0, high=None, expected):
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{name} is {x!r}", expected=expected) from None
    if not (math.isfinite(v) and v > low and (high is None or v < high)):
        raise InputError(f"{name} is {v:g}", expected=expected)
    return v


def rc_parameters(*, sd=None, reliability=None, rc_change=None, critical=CRITICAL):
    """(se_measurement, s_diff, rc_change) from ``sd`` and ``reliability``, or from ``rc_change`` alone.

    Raises
    ------
    InputError
        Neither or both ways given, ``sd <= 0``, ``reliability`` outside [0, 1), ``rc_change <= 0``.
    """
    critical = _positive(critical, "the critical value", expected="a number > 0, such as 1.96")
    by_sd = sd is not None or reliability is not None
    if by_sd and rc_change is not None:
        raise InputError("both rc_change and sd/reliability were given",
                         expected="either the reliable-change value in points (rc_change) or sd and "
                                  "reliability")
    if rc_change is not None:
        rc_change = _positive(rc_change, "rc_change", expected="a reliable-change value in score points > 0")
        return float("nan"), rc_change / critical, rc_change
    if sd is None or reliability is None:
        raise InputError("the reliable change needs sd and reliability together, or rc_change",
                         expected="sd (the pretest SD of the sample or of a norm group) and reliability "
                                  "(test-retest where available), or rc_change in score points")
    sd = _positive(sd, "sd", expected="a standard deviation > 0")
    r = float(reliability)
    if not (0.0 <= r < 1.0):
        raise InputError(f"reliability is {r:g}", expected="a reliability coefficient in [0, 1)")
    se = sd * math.sqrt(1.0 - r)
    s_diff = math.sqrt(2.0) * se
    return se, s_diff, critical * s_diff


def reliable_change(pre, post, *, sd=None, reliability=None, rc_change=None, critical=CRITICAL,
                    higher_is_better=True) -> ReliableChange:
    """Jacobson & Truax's (1991) reliable change index of pre-post pairs.

    ``RC = (post - pre) / S_diff`` with ``S_diff = sqrt(2) * sd * sqrt(1 - reliability)``; a change is
    reliable when ``|RC| > critical``. With ``rc_change`` (the smallest reliable change in score points, as
    instrument manuals publish it) instead of ``sd`` and ``reliability``, a change of at least ``rc_change``
    points is reliable (``S_diff = rc_change / critical``).

    Parameters
    ----------
    pre, post : float or array_like of shape (n,)
        Scores at intake and at the later assessment.
    sd : float
        The pretest standard deviation (of the sample, or of a norm group).
    reliability : float
        The scale's reliability, in [0, 1) (test-retest where available).
    rc_change : float
        Reliable-change value in score points (instead of ``sd`` and ``reliability``).
    critical : float
        Critical value of ``|RC|``, 1.96 by default.
    higher_is_better : bool
        Direction of the scale: which sign of a reliable change is an improvement.

    Examples
    --------
    >>> from commonfactors.monitoring import reliable_change
    >>> res = reliable_change(47.5, 32.5, sd=7.5, reliability=0.80)
    >>> round(res.s_diff, 4), round(res.rc, 4), res.direction
    (4.7434, -3.1623, 'deteriorated')
    """
    se, s_diff, threshold = rc_parameters(sd=sd, reliability=reliability, rc_change=rc_change,
                                          critical=critical)
    x1, x2 = np.asarray(pre, dtype=np.float64), np.asarray(post, dtype=np.float64)
    change = x2 - x1
    rc = change / s_diff
    sign = 1.0 if higher_is_better else -1.0
    if rc_change is not None:  # a change of at least rc_change points
        better, worse = sign * change >= threshold, sign * change <= -threshold
    else:
        better, worse = sign * rc > critical, sign * rc < -critical
    direction = np.where(better, IMPROVED, np.where(worse, DETERIORATED, UNCHANGED)).astype(object)
    if x1.ndim == 0 and x2.ndim == 0:
        change, rc, direction = float(change), float(rc), str(direction)
    return ReliableChange(change=change, rc=rc, direction=direction, se_measurement=se, s_diff=s_diff,
                          critical=float(critical), rc_change=threshold,
                          higher_is_better=bool(higher_is_better))


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Jacobson & Truax's cutoffs a, b and c (None where the functional norms were not given)."""

    a: float
    b: float | None
    c: float | None
    higher_is_better: bool

    def recommended(self) -> float:
        """c when the functional norms are known (J&T's recommendation when the distributions overlap),
        else a."""
        return self.c if self.c is not None else self.a


def clinical_cutoffs(dysfunctional_mean, dysfunctional_sd, functional_mean=None, functional_sd=None, *,
                     higher_is_better=True) -> Cutoffs:
    """Jacobson & Truax's (1991) cutoffs between the dysfunctional and the functional population.

    Higher is better: ``a = M_dys + 2 s_dys``, ``b = M_fun - 2 s_fun``,
    ``c = (s_fun M_dys + s_dys M_fun) / (s_dys + s_fun)``; lower is better: ``a = M_dys - 2 s_dys``,
    ``b = M_fun + 2 s_fun``, same ``c``. b and c need the functional mean and SD.

    Examples
    --------
    >>> from commonfactors.monitoring import clinical_cutoffs
    >>> clinical_cutoffs(40, 7.5, 60, 7.5)
    Cutoffs(a=55.0, b=45.0, c=50.0, higher_is_better=True)
    """
    m1 = float(dysfunctional_mean)
    s1 = _positive(dysfunctional_sd, "the dysfunctional SD", expected="a standard deviation > 0")
    sign = 1.0 if higher_is_better else -1.0
    a = m1 + sign * 2.0 * s1
    if (functional_mean is None) != (functional_sd is None):
        raise InputError("the functional norms need both a mean and an SD",
                         expected="functional_mean and functional_sd together")
    if functional_mean is None:
        return Cutoffs(a=a, b=None, c=None, higher_is_better=bool(higher_is_better))
    m0 = float(functional_mean)
    s0 = _positive(functional_sd, "the functional SD", expected="a standard deviation > 0")
    b = m0 - sign * 2.0 * s0
    c = (s0 * m1 + s1 * m0) / (s1 + s0)
    return Cutoffs(a=a, b=b, c=c, higher_is_better=bool(higher_is_better))


def clinical(score, cutoff: float, *, higher_is_better: bool, clinical_at_cutoff: bool = False):
    """Whether each score is in the clinical range: on the worse side of ``cutoff`` (a score equal to it
    counts as clinical when ``clinical_at_cutoff``)."""
    x = np.asarray(score, dtype=np.float64)
    if higher_is_better:
        return x <= cutoff if clinical_at_cutoff else x < cutoff
    return x >= cutoff if clinical_at_cutoff else x > cutoff


def categories(pre, post, change: ReliableChange, cutoff: float | None = None, *,
               clinical_at_cutoff: bool = False) -> np.ndarray:
    """Jacobson & Truax's categories of each client (object array of shape (n,)).

    With a ``cutoff``: ``"recovered"`` (reliable improvement, clinical at intake, not clinical at the end),
    ``"improved"``, ``"unchanged"``, ``"deteriorated"``, and ``"not clinical at intake"`` for clients whose
    intake score is already on the functional side. Without a cutoff: the direction of reliable change only.
    """
    direction = np.atleast_1d(np.asarray(change.direction, dtype=object)).copy()
    if cutoff is None:
        return direction
    hib = change.higher_is_better
    at_intake = np.atleast_1d(clinical(pre, cutoff, higher_is_better=hib,
                                       clinical_at_cutoff=clinical_at_cutoff))
    at_end = np.atleast_1d(clinical(post, cutoff, higher_is_better=hib,
                                    clinical_at_cutoff=clinical_at_cutoff))
    out = direction
    out[(direction == IMPROVED) & at_intake & ~at_end] = RECOVERED
    out[~at_intake] = NOT_CLINICAL
    return out
