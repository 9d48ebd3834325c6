"""Result of monitor(): routine outcome monitoring of session-by-session scores."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .._format import Summary, fmt, jsonable, table
from ._table import Printable

#: the per-client table's columns (to_frame, records, the CSV), therapist after client when given
CLIENT_COLUMNS = ("client", "therapist", "n_sessions", "first_session", "last_session", "intake", "last",
                  "change", "rc", "reliable_change", "category", "clinical_at_intake", "early_responder",
                  "early_residual", "flagged", "first_flagged_session")
SESSION_COLUMNS = ("client", "therapist", "session", "score", "expected", "sd", "bound", "off_track",
                   "deteriorated", "flag")


@dataclass(frozen=True, slots=True, repr=False)
class MonitorResult(Printable):
    """Result of monitor(). Field names are the JSON keys; nothing is rounded.

    ``instrument``: the instrument's values, each with ``value``, ``source``, ``status``, ``checked``.
    ``reliable_change``: how reliable change was judged (``method`` "Jacobson-Truax" with ``sd``,
    ``reliability``, ``se_measurement``, ``s_diff``; or "points"), ``rc_change`` the smallest reliable change
    in points, ``critical``. ``cutoff``: the clinical cutoff used (``value``, ``kind``, ``source``).
    ``counts``: clients per category (clients with two sessions or more). ``early``: early response by rule
    (reliable improvement by session ``early["session"]``) and the mean residual from the expected curve.
    ``flags``: not-on-track flags (a score worse than the one-sided ``1 - alpha`` prediction bound, or a
    reliable deterioration from intake): clients flagged, their rate, and how flagged and unflagged clients
    ended. ``client_table``/``session_table``: the tables as columns (``clients``/``sessions``: one dict per
    row); ``therapists``: counts per therapist, one dict each. ``curves``: the fitted expected-change model
    (None when the data could not identify it).
    """

    instrument: dict
    higher_is_better: bool
    reliable_change: dict
    cutoff: dict
    n_clients: int
    n_rows: int
    n_single_session: int
    single_session: tuple
    counts: dict
    early: dict
    flags: dict
    alpha: float
    client_table: dict  # column -> list, one entry per client (CLIENT_COLUMNS)
    session_table: dict  # column -> list, one entry per score after intake (SESSION_COLUMNS)
    therapists: tuple | None
    curves: dict | None
    curves_note: str
    warnings: tuple[str, ...] = ()

    @property
    def clients(self) -> list[dict]:
        """The per-client table, one dict per client."""
        return _rows(self.client_table)

    @property
    def sessions(self) -> list[dict]:
        """The per-score table, one dict per score after intake."""
        return _rows(self.session_table)

    def records(self) -> list[dict]:
        """The per-client table as a list of dicts (the command line's CSV)."""
        return self.clients

    def to_frame(self):
        """One row per client (:data:`CLIENT_COLUMNS`)."""
        import pandas as pd

        return pd.DataFrame(dict(self.client_table), columns=list(self.client_table))

    def sessions_frame(self):
        """One row per score after intake (:data:`SESSION_COLUMNS`)."""
        import pandas as pd

        return pd.DataFrame(dict(self.session_table), columns=list(self.session_table))

    def to_dict(self) -> dict:
        return jsonable({
            "instrument": self.instrument, "higher_is_better": self.higher_is_better,
            "reliable_change": self.reliable_change, "cutoff": self.cutoff, "n_clients": self.n_clients,
            "n_rows": self.n_rows, "n_single_session": self.n_single_session,
            "single_session": list(self.single_session), "counts": self.counts, "early": self.early,
            "flags": self.flags, "alpha": self.alpha, "curves": self.curves, "curves_note": self.curves_note,
            "clients": self.clients, "sessions": self.sessions,
            "therapists": None if self.therapists is None else [dict(t) for t in self.therapists],
            "warnings": list(self.warnings)})

    def summary(self) -> Summary:
        ins = self.instrument
        direction = "higher is better" if self.higher_is_better else "lower is better"
        lines = [f"Routine Outcome Monitoring ({ins['name']}: {ins['title']}; {direction})", "",
                 "Instrument values used:", ""]
        rows = []
        lo, hi = ins["low"], ins["high"]
        span = f"{_num(lo['value'])} to {_num(hi['value'])}" if lo["value"] != float("-inf") else "unbounded"
        rows.append(["range", span, lo["status"], lo["source"]])
        rc = self.reliable_change
        if rc["method"] == "Jacobson-Truax":
            rows.append(["reliability", fmt(rc["reliability"], 3), "given", "given"])
            rows.append(["sd", fmt(rc["sd"], 4), "given" if rc["sd_source"] == "given" else "from data",
                         rc["sd_source"]])
            rows.append(["reliable change", f">{fmt(rc['rc_change'], 4)} (S_diff {fmt(rc['s_diff'], 4)})",
                         "given", "Jacobson & Truax (1991)"])
        else:
            rows.append(["reliable change", f">={_num(rc['rc_change'])} points", rc.get("status", "given"),
                         rc["source"]])
        cut = self.cutoff
        if cut.get("value") is not None:
            value = fmt(cut["value"], 4) if cut["kind"] in ("a", "b", "c") else _num(cut["value"])
            rows.append(["cutoff", value,
                         cut.get("status") or "", cut["source"]])
        else:
            rows.append(["cutoff", "none", "", cut["source"]])
        lines.append(table(["", "value", "status"], [r[:3] for r in rows]))
        lines += ["", "Sources:"] + [f"  {r[0]}: {r[3]}" for r in rows]
        lines += ["", f"Clients: {self.n_clients} ({self.n_rows} scores); "
                      f"{self.n_single_session} with one session (no category)", ""]
        total = sum(self.counts.values())
        lines.append("Jacobson & Truax categories (intake to last session):")
        lines.append("")
        lines.append(table(["", "n", "%"], [[k, str(v), _pct(v, total)] for k, v in self.counts.items()]))
        e = self.early
        lines += ["", f"Early responders (reliable improvement by session {e['session']}): "
                      f"{e['n_responders']} of {e['n_assessed']} "
                      f"({_pct(e['n_responders'], e['n_assessed'])}%)"]
        if e.get("mean_residual") is not None:
            lines.append(f"Mean early residual from the expected curve (positive = better than expected): "
                         f"{fmt(e['mean_residual'], 4)}")
        f = self.flags
        level = fmt(100 * (1 - self.alpha), 0)
        lines += ["", f"Not on track (a score worse than the one-sided {level}% prediction bound, or a "
                      "reliable deterioration from intake):",
                  f"  {f['n_flagged']} of {f['n_clients']} clients flagged "
                  f"({_pct(f['n_flagged'], f['n_clients'])}%); {f['n_scores_flagged']} of {f['n_scores']} "
                  f"scores after intake ({f['n_off_track']} beyond the bound, {f['n_deteriorated']} reliably "
                  "worse than intake)", ""]
        keys = list(self.counts)
        lines.append(table(["how they ended", *keys],
                           [["flagged", *(str(f["flagged_outcomes"][k]) for k in keys)],
                            ["not flagged", *(str(f["not_flagged_outcomes"][k]) for k in keys)]]))
        if self.therapists:
            lines += ["", "Per therapist:", ""]
            head = ["therapist", "clients", *keys, "flagged", "early"]
            body = [[str(t["therapist"]), str(t["n_clients"]), *(str(t[k]) for k in keys),
                     str(t["n_flagged"]), f"{t['n_early_responders']}/{t['n_early_assessed']}"]
                    for t in self.therapists]
            lines.append(table(head, body))
        c = self.curves
        lines.append("")
        if c is not None:
            lines += [f"Expected curves ({c['n_clients']} clients, {c['n']} scores after intake; "
                      f"REMLcrit {fmt(c['reml_crit'], 4)}):", "",
                      table(["", "estimate", "se"], [[x["name"], fmt(x["estimate"]), fmt(x["se"])]
                                                     for x in c["coefficients"]]), "",
                      f"Random effects per client: SD intercept {fmt(c['sd_intercept'])}, SD log(session) "
                      f"{fmt(c['sd_slope'])}, corr {fmt(c['corr'], 3)}; residual SD {fmt(c['sigma'])}", ""]
            lines += textwrap.wrap(self.curves_note, 110)
        else:
            lines.append("Expected curves were not fitted (see the warnings): the flags are reliable "
                         "deteriorations from intake only.")
        return Summary("\n".join(lines), notes=self.warnings)


def _rows(columns: dict) -> list[dict]:
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _num(x) -> str:
    if x is None:
        return "NA"
    x = float(x)
    return f"{x:g}" if x == x else "NA"


def _pct(k, n) -> str:
    return fmt(100.0 * k / n, 1) if n else "NA"
