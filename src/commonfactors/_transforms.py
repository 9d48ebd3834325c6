"""Back-transformations of pooled effect sizes to the scale readers expect (metafor's ``transf`` functions).

A meta-analysis of Fisher's z, a log odds ratio or a logit proportion is computed on that scale, where the
sampling distribution is close to normal, but reported on the natural one: r, the odds ratio, the
proportion. Each transformation here is monotone increasing, so the limits of an interval map to the limits
of the back-transformed interval (the standard error has no counterpart on the natural scale).

:data:`NATURAL` says which measure has which natural scale; :func:`back_transform` applies one.
"""

from __future__ import annotations

import math

#: the transformations ``transf=`` accepts ("auto" picks the measure's natural scale, "none" keeps the
#: model's scale)
TRANSFORMS = ("auto", "none", "exp", "ztor", "ilogit", "iarcsin", "ipft")

#: measure -> (transformation, the name of the natural scale)
NATURAL: dict[str, tuple[str, str]] = {
    "ZCOR": ("ztor", "r"),
    "OR": ("exp", "odds ratio"),
    "RR": ("exp", "risk ratio"),
    "IRR": ("exp", "incidence rate ratio"),
    "ROM": ("exp", "ratio of means"),
    "PLN": ("exp", "proportion"),
    "PLO": ("ilogit", "proportion"),
    "PAS": ("iarcsin", "proportion"),
    "PFT": ("ipft", "proportion"),
}


#: the scale each transformation leads to, when it is asked for by name
_SCALES = {"exp": "exp", "ztor": "r", "ilogit": "proportion", "iarcsin": "proportion", "ipft": "proportion"}


def choose(transf: str, measure: str | None) -> tuple[str, str] | None:
    """(transformation, scale name) for ``transf`` ("auto": the measure's natural scale, "none": none);
    None when the estimate stays on the model's scale."""
    if transf == "none":
        return None
    if transf == "auto":
        return natural_scale(measure)
    auto = natural_scale(measure)
    return (transf, auto[1] if auto is not None and auto[0] == transf else _SCALES[transf])


def natural(transf: str, measure: str | None, estimate, ci_low, ci_high, pi_low=math.nan, pi_high=math.nan,
            *, ni=None) -> dict | None:
    """The estimate and its confidence and prediction intervals back-transformed, as metafor's
    ``predict(res, transf=)``: ``{"scale", "transf", "estimate", "ci_low", "ci_high", "pi_low", "pi_high"}``,
    or None when ``transf`` (see :func:`choose`) keeps the model's scale. Miller's "ipft" needs the
    studies' sample sizes ``ni``; without them there is no block (None)."""
    chosen = choose(transf, measure)
    if chosen is None or (chosen[0] == "ipft" and ni is None):
        return None
    t, scale = chosen
    values = back_transform(t, [estimate, ci_low, ci_high, pi_low, pi_high], ni=ni)
    return {"scale": scale, "transf": t, **dict(zip(("estimate", "ci_low", "ci_high", "pi_low", "pi_high"),
                                                    map(float, values), strict=True))}


def natural_scale(measure: str | None) -> tuple[str, str] | None:
    """(transformation, scale name) of ``measure``'s natural scale; None when the model's scale is already
    the natural one (SMD, MD, COR, PR, ...) or the measure is unknown."""
    return NATURAL.get(str(measure).upper()) if measure is not None else None


def _ipft(t, n):
    """The inverse of Freeman & Tukey's double arcsine t = (asin sqrt(x / (n + 1)) + asin sqrt((x + 1) /
    (n + 1))) / 2 of x events in n (Miller, 1978, The American Statistician 32(4), 138: p = (1 - sgn(cos 2t)
    sqrt(1 - (sin 2t + (sin 2t - 1 / sin 2t) / n)^2)) / 2), with ``n`` the harmonic mean of the studies'
    sample sizes for a pooled value (Miller's suggestion). Values beyond the transformation of 0 or 1 events
    per person map to 0 or 1."""
    import numpy as np

    t = np.asarray(t, dtype=float)
    s = np.sin(2.0 * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 0.5 * (1.0 - np.sign(np.cos(2.0 * t)) * np.sqrt(1.0 - (s + (s - 1.0 / s) / n) ** 2))

    def pft(prop):  # the double arcsine of a proportion prop with n observations
        x = prop * n
        return 0.5 * (math.asin(math.sqrt(x / (n + 1))) + math.asin(math.sqrt((x + 1) / (n + 1))))

    return np.where(t < pft(0.0), 0.0, np.where(t > pft(1.0), 1.0, p))


def back_transform(transf: str, x, *, ni=None):
    """``x`` (a number or an array) on the natural scale by ``transf``: "exp", "ztor" (r = tanh z),
    "ilogit" (p = 1 / (1 + exp(-x))), "iarcsin" (p = sin(x)^2 on [0, pi/2], the inverse of the arcsine
    square root), "ipft" (Miller's inverse of the double arcsine, with the harmonic mean of ``ni``), "none".
    NaN stays NaN."""
    import numpy as np  # here, not at import: the command line builds its options from this module

    x = np.asarray(x, dtype=float)
    if transf == "none":
        out = x
    elif transf == "exp":
        out = np.exp(x)
    elif transf == "ztor":
        out = np.tanh(x)
    elif transf == "ilogit":
        e = np.exp(-np.abs(x))  # 1 / (1 + exp(-x)), without overflow and exact in both tails
        out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    elif transf == "iarcsin":
        out = np.where(x < 0, 0.0, np.where(x > math.pi / 2, 1.0, np.sin(x) ** 2))
    elif transf == "ipft":
        n = np.asarray(ni, dtype=float)
        out = _ipft(x, 1.0 / np.mean(1.0 / n[np.isfinite(n)]))
    else:
        raise ValueError(f"unknown transformation {transf!r}")
    out = np.where(np.isnan(x), np.nan, out)
    return float(out) if out.ndim == 0 else out
