"""Synthetic practices: clients of therapists (in sites), scored at every session on an outcome measure.

The data are made up, by a stated model with known variance components, so that therapist-effect,
development and monitoring analyses can be checked against the truth. No real client is in them.

The model (client i of therapist j in site s, session t = 1, ..., T, T = ``n_sessions``)::

    x_i   ~ N(mu_x, sd_x^2)                                      true intake level (client intercept)
    D_i   = delta + beta (x_i - mu_x) + c_i + u_j + w_s + (gamma + b_j) tau_i     change by session T
    y_it  = x_i + D_i ln(t) / ln(T) + e_it                       observed score, log-shaped improvement

with c_i ~ N(0, sd_c^2) (the client's own rate of change: a client random slope on ln t), u_j ~ N(0,
var_therapist), w_s ~ N(0, var_site), b_j ~ N(0, slope_sd^2) (the therapist's change per year of
experience), e_it ~ N(0, sd_e^2) (session-to-session measurement error) and tau_i the therapist's
years of experience when client i starts (uniform on [0, ``years``]; 0 without ``years``). Scores are
rounded to ``decimals`` and kept inside ``scale`` (values beyond a bound are set to it: a ceiling, as on
visual-analogue measures). Higher scores are better, as on the Outcome Rating Scale (0-40).

**What ``icc`` means.** Regress the final-session score y_iT on the observed intake score y_i1 (the
model of :func:`commonfactors.therapist_effects` with ``session=``: baseline = first score, outcome =
last). Given y_i1, the part of y_iT that varies between clients of one therapist has variance

    var_residual = (1 + beta)^2 sd_x^2 sd_e^2 / (sd_x^2 + sd_e^2) + sd_c^2 + sd_e^2

(x_i given its noisy measurement y_i1 keeps the variance sd_x^2 sd_e^2 / (sd_x^2 + sd_e^2), the
conditional variance of two jointly normal variables). ``icc`` and ``site_icc`` are the shares of the
total post-treatment variance left after intake adjustment::

    icc      = var_therapist / (var_site + var_therapist + var_residual)
    site_icc = var_site      / (var_site + var_therapist + var_residual)

for clients who complete the planned sessions, at years of experience 0: the "adjusted ICC" (lme4's
``VarCorr`` ratio of a model with the intake score as covariate), the therapist share after intake
severity that Wampold & Brown (2005) report. Clients
who drop out keep a fraction ln(L) / ln(T) of their change at their last session L, so an analysis of
last observed scores sees a smaller therapist share; with sites analysed as if absent, the site
variance is folded into the therapist share (Firth et al. 2019).

References
----------
Miller, S. D., Duncan, B. L., et al. (2003). *Journal of Brief Therapy*, 2(2), 91-100 (the Outcome Rating
Scale: four visual-analogue items, higher is better; the 0-40 total as it is commonly described).
Wampold, B. E., & Brown, G. S. (2005). *J. Consult. Clin. Psychol.*, 73(5), 914-923 (about 5% of outcome
variance between therapists after intake severity).
Firth, N., Saxon, D., Stiles, W. B., & Barkham, M. (2019). *J. Consult. Clin. Psychol.*, 87, 345 (clinics
and therapists in a three-level model).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import InputError

#: Parameters of the client-level model, with their defaults: illustrative values on an ORS-like 0-40
#: scale (intake below the ORS adult cutoff of 25), not norms of any instrument.
CLIENT_DEFAULTS = {
    "intake_mean": 19.0,  # mu_x
    "intake_sd": 5.0,  # sd_x
    "change": 7.0,  # delta: expected change by the last planned session at average intake
    "change_intake": -0.3,  # beta: change per point of intake above average (more severe, more change)
    "change_sd": 4.0,  # sd_c: SD of the clients' own change
    "error_sd": 2.0,  # sd_e: session-to-session measurement error
}


def simulate_practice(
    n_therapists: int = 50,
    n_clients: int = 20,
    icc: float = 0.05,
    n_sessions: int = 8,
    *,
    sites: int | None = None,
    site_icc: float = 0.0,
    slope_sd: float = 0.0,
    years: float | None = None,
    years_slope: float = 0.0,
    dropout: float = 0.0,
    intake_mean: float = CLIENT_DEFAULTS["intake_mean"],
    intake_sd: float = CLIENT_DEFAULTS["intake_sd"],
    change: float = CLIENT_DEFAULTS["change"],
    change_intake: float = CLIENT_DEFAULTS["change_intake"],
    change_sd: float = CLIENT_DEFAULTS["change_sd"],
    error_sd: float = CLIENT_DEFAULTS["error_sd"],
    scale: tuple[float, float] | None = (0.0, 40.0),
    decimals: int | None = 1,
    seed: int | None = None,
):
    """Simulate a practice's session-by-session outcome scores with a known therapist ICC.

    Parameters
    ----------
    n_therapists : int
        Therapists (>= 2).
    n_clients : int
        Clients per therapist (>= 1).
    icc : float
        Therapists' share of the intake-adjusted post-treatment variance, in [0, 1) (module docstring).
    n_sessions : int
        Planned sessions per client, T (>= 2); session 1 is intake.
    sites : int, optional
        Number of sites; therapists are assigned to them in turn (therapist 1 to site 1, 2 to 2, ...).
    site_icc : float
        Sites' share of the same variance (needs ``sites``); ``icc + site_icc < 1``.
    slope_sd : float
        SD of the therapists' change in effect per year of experience, b_j (needs ``years``).
    years : float, optional
        Adds a column ``years``: the therapist's years of experience when the client starts, uniform
        on [0, years].
    years_slope : float
        The average change in a therapist's effect per year of experience, gamma (needs ``years``).
    dropout : float
        Probability that a client stops before the planned last session, in [0, 1]; the last session
        is then uniform on 1, ..., T - 1, independently of everything else (missing completely at random).
    intake_mean, intake_sd, change, change_intake, change_sd, error_sd : float
        mu_x, sd_x, delta, beta, sd_c, sd_e of the model (defaults: :data:`CLIENT_DEFAULTS`).
    scale : (float, float) or None
        The instrument's range; scores beyond it are set to the bound. None keeps every value.
    decimals : int or None
        Scores rounded to this many decimals (1: ORS totals are read to 0.1); None keeps them unrounded.
    seed : int, optional
        Seed of ``numpy.random.default_rng`` (>= 0); the same seed gives the same practice.

    Returns
    -------
    pandas.DataFrame
        One row per client and session attended, sorted by therapist, client and session: ``client``
        ("C0001", ...), ``therapist`` ("T01", ...), ``site`` ("S1", ...; with ``sites``), ``session``
        (1, 2, ...), ``score``, ``years`` (with ``years``). ``attrs["synthetic"]`` is True;
        ``attrs["truth"]`` holds the true ``icc``, ``site_icc``, ``var_therapist``, ``var_site``,
        ``var_residual``, ``var_slope``, ``years_slope``, ``share_clipped`` (scores set to a bound of
        ``scale``), and per therapist its label, site, effect u_j and slope b_j; ``attrs["parameters"]``
        every argument, the seed included.

    Raises
    ------
    InputError
        An argument outside its range (named, with what was expected).

    Examples
    --------
    >>> from commonfactors.simulate import simulate_practice
    >>> d = simulate_practice(3, 2, icc=0.1, n_sessions=3, seed=1)
    >>> print(d.head(3).to_string(index=False))
    client therapist  session  score
     C0001       T01        1   21.4
     C0001       T01        2   25.7
     C0001       T01        3   27.4
    >>> round(d.attrs["truth"]["icc"], 2), d.attrs["synthetic"]
    (0.1, True)
    """
    import pandas as pd

    m = _count(n_therapists, "n_therapists", 2)
    n = _count(n_clients, "n_clients", 1)
    T = _count(n_sessions, "n_sessions", 2)
    icc = _number(icc, "icc", 0.0, 1.0, high_open=True)
    site_icc = _number(site_icc, "site_icc", 0.0, 1.0, high_open=True)
    if icc + site_icc >= 1:
        raise InputError(f"icc + site_icc = {icc + site_icc:g}", expected="a sum below 1 (the rest is the "
                         "clients' share)")
    n_sites = None if sites is None else _count(sites, "sites", 1)
    if n_sites is not None and n_sites > m:
        raise InputError(f"sites = {n_sites} with {m} therapists", expected="at most one site per therapist")
    if site_icc > 0 and n_sites is None:
        raise InputError(f"site_icc = {site_icc:g} without sites", expected="sites = the number of sites")
    slope_sd = _number(slope_sd, "slope_sd", 0.0)
    years_slope = _number(years_slope, "years_slope")
    if years is not None:
        years = _number(years, "years", 0.0, low_open=True)
    elif slope_sd > 0 or years_slope != 0:
        raise InputError("slope_sd and years_slope need years",
                         expected="years = the longest experience, in years, of the clients' start")
    dropout = _number(dropout, "dropout", 0.0, 1.0)
    mu_x = _number(intake_mean, "intake_mean")
    sd_x = _number(intake_sd, "intake_sd", 0.0)
    delta = _number(change, "change")
    beta = _number(change_intake, "change_intake")
    sd_c = _number(change_sd, "change_sd", 0.0)
    sd_e = _number(error_sd, "error_sd", 0.0)
    lo, hi = _scale(scale)
    if decimals is not None:
        decimals = _count(decimals, "decimals", 0)
    if seed is not None:
        seed = _count(seed, "seed", 0)

    # intake-adjusted residual variance of the final score within a therapist (module docstring)
    reliable = sd_x**2 * sd_e**2 / (sd_x**2 + sd_e**2) if sd_x > 0 and sd_e > 0 else 0.0
    var_residual = (1.0 + beta) ** 2 * reliable + sd_c**2 + sd_e**2
    if var_residual <= 0:
        raise InputError("change_sd and error_sd are both 0",
                         expected="a client-level variance > 0 (change_sd or error_sd > 0)")
    total = var_residual / (1.0 - icc - site_icc)
    var_therapist, var_site = icc * total, site_icc * total

    rng = np.random.default_rng(seed)
    N = m * n
    therapist = np.repeat(np.arange(m), n)
    site_of = np.arange(m) % n_sites if n_sites is not None else np.zeros(m, dtype=int)
    u = rng.normal(0.0, math.sqrt(var_therapist), m)
    w = rng.normal(0.0, math.sqrt(var_site), n_sites or 1)
    b = rng.normal(0.0, slope_sd, m)
    tau = rng.uniform(0.0, years, N) if years is not None else np.zeros(N)
    x = rng.normal(mu_x, sd_x, N)
    c = rng.normal(0.0, sd_c, N)
    D = (delta + beta * (x - mu_x) + c + u[therapist] + w[site_of[therapist]]
         + (years_slope + b[therapist]) * tau)
    t = np.arange(1, T + 1)
    y = x[:, None] + D[:, None] * (np.log(t) / math.log(T))[None, :] + rng.normal(0.0, sd_e, (N, T))
    last = np.full(N, T)
    leave = rng.random(N) < dropout
    last[leave] = rng.integers(1, T, leave.sum())  # uniform on 1, ..., T - 1
    if decimals is not None:
        y = np.round(y, decimals)
    keep = t[None, :] <= last[:, None]
    clipped = keep & ((y < lo) | (y > hi))
    y = np.clip(y, lo, hi)

    ci, si = np.nonzero(keep)  # row-major: by client (hence therapist), then session
    labels = _labels("T", m, 2)
    cols = {"client": _labels("C", N, 4)[ci], "therapist": labels[therapist[ci]]}
    site_labels = np.char.add("S", np.arange(1, (n_sites or 1) + 1).astype(str))
    if n_sites is not None:
        cols["site"] = site_labels[site_of[therapist[ci]]]
    cols["session"] = t[si]
    cols["score"] = y[ci, si]
    if years is not None:
        cols["years"] = np.round(tau, 2)[ci]
    frame = pd.DataFrame({k: (v.astype(object) if v.dtype.kind == "U" else v) for k, v in cols.items()})
    frame.attrs["synthetic"] = True
    frame.attrs["generator"] = "commonfactors.simulate.simulate_practice"
    frame.attrs["parameters"] = {
        "n_therapists": m, "n_clients": n, "icc": icc, "n_sessions": T, "sites": n_sites,
        "site_icc": site_icc, "slope_sd": slope_sd, "years": years, "years_slope": years_slope,
        "dropout": dropout, "intake_mean": mu_x, "intake_sd": sd_x, "change": delta, "change_intake": beta,
        "change_sd": sd_c, "error_sd": sd_e, "scale": None if scale is None else [lo, hi],
        "decimals": decimals, "seed": seed,
    }
    frame.attrs["truth"] = {
        "icc": icc, "site_icc": site_icc, "var_therapist": var_therapist, "var_site": var_site,
        "var_residual": var_residual, "var_slope": slope_sd**2, "years_slope": years_slope,
        "n_clients": N, "n_dropped_out": int(leave.sum()), "share_clipped": float(clipped.sum() / keep.sum()),
        "therapists": {
            "therapist": labels.tolist(),
            "site": (site_labels[site_of].tolist() if n_sites is not None else None),
            "effect": u.tolist(),
            "slope": b.tolist(),
        },
    }
    return frame


def _labels(prefix: str, n: int, width: int) -> np.ndarray:
    """"T01", "T02", ...: ``prefix`` and 1..n zero-padded to at least ``width`` digits, so labels sort."""
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), max(len(str(n)), width)))


def _count(x, name: str, low: int) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        if isinstance(x, float) and x.is_integer():
            x = int(x)
        else:
            raise InputError(f"{name} = {x!r}", expected=f"a whole number >= {low}")
    if x < low:
        raise InputError(f"{name} = {x}", expected=f"a whole number >= {low}")
    return int(x)


def _number(x, name: str, low=None, high=None, *, low_open=False, high_open=False) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(float(x)):
        raise InputError(f"{name} = {x!r}", expected="a finite number")
    v = float(x)
    below = low is not None and (v <= low if low_open else v < low)
    above = high is not None and (v >= high if high_open else v > high)
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = (f"in {left}{low:g}, {high:g}{right}" if high is not None
                else f"{'>' if low_open else '>='} {low:g}")
        raise InputError(f"{name} = {v:g}", expected=f"a number {span}")
    return v


def _scale(scale) -> tuple[float, float]:
    if scale is None:
        return -math.inf, math.inf
    try:
        lo, hi = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise InputError(f"scale = {scale!r}", expected="(low, high), two numbers, or None") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InputError(f"scale = ({lo:g}, {hi:g})", expected="finite bounds with low < high")
    return lo, hi
