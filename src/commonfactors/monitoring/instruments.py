"""Routine outcome monitoring instruments: score range, direction, clinical cutoff and reliable-change value.

Every preset value carries where it comes from and how far it was checked (``status``, as in the project's
notes on therapist effects and monitoring):

- ``"seen"``: read in the primary source or its abstract;
- ``"secondary"``: read only in a text quoting the source;
- ``"not seen"``: the primary source was looked for and not found; the value is the one commonly quoted.

None of the presets' values has been checked against the instrument's manual, so ``checked`` is false for all
of them: state your own values (``reliability``/``sd``, ``rc_change``, ``cutoff``) when you have the manual
or a norm sample. Every value can be overridden; an overridden value is marked ``source = "given"``.

Presets
-------
ORS   Outcome Rating Scale (Miller, Duncan, Brown, Sparks & Claud 2003, J. Brief Ther. 2(2):91-100): four
      visual-analogue items, total 0-40, higher is better; clinical cutoff 25 for adults (28 for ages 13-18,
      32 for ages 6-12: give ``cutoff``), reliable change 5 points.
SRS   Session Rating Scale (alliance; Duncan, Miller et al. 2003, J. Brief Ther. 3(1):3-12): four items,
      0-40, higher is better; cutoff 36; no reliable-change value is published with it.
OQ45  Outcome Questionnaire-45.2 (Lambert et al.): 45 items scored 0-4, total 0-180, lower is better; US
      cutoff 63/64 (between 63 and 64), reliable change 14 points. Dutch norms (Timman et al. 2017, abstract
      seen): cutoff 56, reliable change 18.
PHQ9  Patient Health Questionnaire-9: nine items scored 0-3, total 0-27, lower is better; below 10 is the
      functional range (10 is clinical); reliable change 5.66 points (one trial's table, PMC10472176).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import InputError

#: status of a value given by the user rather than a preset
GIVEN = "given"


@dataclass(frozen=True, slots=True)
class Sourced:
    """One value of an instrument with its source and how far it was checked."""

    value: float | None
    source: str
    status: str  # "seen", "secondary", "not seen" or "given"

    @property
    def checked(self) -> bool:
        """True only for a value read in its primary source, or given by the user."""
        return self.status in ("seen", GIVEN)

    def to_dict(self) -> dict:
        return {"value": self.value, "source": self.source, "status": self.status, "checked": self.checked}


@dataclass(frozen=True, slots=True)
class Instrument:
    """A monitoring instrument's scoring, with each value's source (:class:`Sourced`).

    ``cutoff`` separates the clinical from the functional range. ``clinical_at_cutoff`` says on which side a
    score equal to the cutoff falls (PHQ-9: 10 is clinical; ORS: 25 is not). ``rc_change`` is the smallest
    change in score points counted as reliable (a change of at least this many points).
    """

    name: str
    title: str
    higher_is_better: Sourced
    low: Sourced
    high: Sourced
    cutoff: Sourced
    rc_change: Sourced
    clinical_at_cutoff: bool = False
    notes: tuple[str, ...] = field(default=())

    def values(self) -> dict[str, Sourced]:
        return {"higher_is_better": self.higher_is_better, "low": self.low, "high": self.high,
                "cutoff": self.cutoff, "rc_change": self.rc_change}

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "clinical_at_cutoff": self.clinical_at_cutoff,
                **{k: v.to_dict() for k, v in self.values().items()}, "notes": list(self.notes)}


_ORS_SOURCE = "Miller, Duncan, Brown, Sparks & Claud (2003), J. Brief Ther. 2(2):91-100"
_ORS_QUOTED = "quoted in a PCOMS scoring summary (scribd 'cheatsheet')"
_SRS_SOURCE = ("Duncan, Miller, Sparks, Claud, Reynolds, Brown & Johnson (2003), J. Brief Ther. 3(1):3-12; "
               f"{_ORS_QUOTED}")
_OQ_SOURCE = "Lambert et al., OQ-45.2 manual (US norms)"
_PHQ_SOURCE = "PHQ-9 (Kroenke, Spitzer & Williams 2001, J. Gen. Intern. Med. 16(9):606-613)"
_PHQ_RCI = "one trial's table of reliable-change values (PMC10472176)"

#: the presets, by name (upper case)
INSTRUMENTS: dict[str, Instrument] = {
    "ORS": Instrument(
        name="ORS", title="Outcome Rating Scale",
        higher_is_better=Sourced(True, f"{_ORS_SOURCE}; {_ORS_QUOTED}", "secondary"),
        low=Sourced(0.0, f"{_ORS_SOURCE} (four 10-cm visual-analogue items)", "not seen"),
        high=Sourced(40.0, f"{_ORS_SOURCE} (four 10-cm visual-analogue items)", "not seen"),
        cutoff=Sourced(25.0, f"{_ORS_SOURCE}, adults (28 for ages 13-18, 32 for ages 6-12); {_ORS_QUOTED}",
                       "secondary"),
        rc_change=Sourced(5.0, f"{_ORS_SOURCE}; {_ORS_QUOTED}", "secondary"),
        clinical_at_cutoff=False,
        notes=("scores below the cutoff are in the clinical range",)),
    "SRS": Instrument(
        name="SRS", title="Session Rating Scale (alliance)",
        higher_is_better=Sourced(True, _SRS_SOURCE, "secondary"),
        low=Sourced(0.0, _SRS_SOURCE, "secondary"),
        high=Sourced(40.0, _SRS_SOURCE, "secondary"),
        cutoff=Sourced(36.0, _SRS_SOURCE, "secondary"),
        rc_change=Sourced(None, "none published; give rc_change, or reliability and sd", "not seen"),
        clinical_at_cutoff=False,
        notes=("an alliance measure: scores below the cutoff suggest a strained alliance",)),
    "OQ45": Instrument(
        name="OQ45", title="Outcome Questionnaire-45.2",
        higher_is_better=Sourced(False, _OQ_SOURCE, "not seen"),
        low=Sourced(0.0, f"{_OQ_SOURCE} (45 items scored 0-4)", "not seen"),
        high=Sourced(180.0, f"{_OQ_SOURCE} (45 items scored 0-4)", "not seen"),
        cutoff=Sourced(63.5, f"{_OQ_SOURCE}: 63/64, i.e. 64 and above clinical; Dutch norms 56 (Timman "
                             "et al. 2017, abstract seen)", "not seen"),
        rc_change=Sourced(14.0, f"{_OQ_SOURCE}; Dutch norms 18 (Timman et al. 2017, abstract seen)",
                          "not seen"),
        clinical_at_cutoff=True),
    "PHQ9": Instrument(
        name="PHQ9", title="Patient Health Questionnaire-9",
        higher_is_better=Sourced(False, f"{_PHQ_SOURCE}; {_PHQ_RCI}", "secondary"),
        low=Sourced(0.0, f"{_PHQ_SOURCE} (nine items scored 0-3); {_PHQ_RCI}", "secondary"),
        high=Sourced(27.0, f"{_PHQ_SOURCE} (nine items scored 0-3); {_PHQ_RCI}", "secondary"),
        cutoff=Sourced(10.0, f"{_PHQ_SOURCE}: below 10 functional; {_PHQ_RCI}", "secondary"),
        rc_change=Sourced(5.66, _PHQ_RCI, "secondary"),
        clinical_at_cutoff=True,
        notes=("scores of 10 and above are in the clinical range",)),
}

#: names accepted by :func:`instrument`: the presets and "custom"
INSTRUMENT_NAMES = (*INSTRUMENTS, "custom")


def instrument(name: str | Instrument | None = None, *, higher_is_better: bool | None = None,
               low: float | None = None, high: float | None = None, cutoff: float | None = None,
               rc_change: float | None = None) -> Instrument:
    """A preset (``"ORS"``, ``"SRS"``, ``"OQ45"``, ``"PHQ9"``, any case; or an :class:`Instrument`) with the
    given values overriding its own, or a ``"custom"`` instrument (also ``name=None``) built from the given
    values only.

    A custom instrument needs ``higher_is_better``; its range is unbounded unless ``low``/``high`` are given,
    and it has no cutoff or reliable-change value unless given.

    Raises
    ------
    InputError
        An unknown name, a custom instrument without ``higher_is_better``, or a range with ``low >= high``.
    """
    if isinstance(name, Instrument):
        key = None
    else:
        key = "custom" if name is None else str(name).upper().replace("-", "").replace(" ", "")
    key = {"OQ452": "OQ45", "CUSTOM": "custom"}.get(key, key)
    if key is not None and key not in INSTRUMENT_NAMES:
        raise InputError(f"unknown instrument {name!r}", expected=f"one of {', '.join(INSTRUMENT_NAMES)}")
    given = {"higher_is_better": higher_is_better, "low": low, "high": high, "cutoff": cutoff,
             "rc_change": rc_change}
    if key == "custom":
        if higher_is_better is None:
            raise InputError("a custom instrument needs its direction",
                             expected="higher_is_better=True or False (--higher-is-better / "
                                      "--lower-is-better)")
        none = Sourced(None, "not given", GIVEN)
        base = Instrument(name="custom", title="custom instrument", higher_is_better=none,
                          low=Sourced(float("-inf"), "not given: unbounded", GIVEN),
                          high=Sourced(float("inf"), "not given: unbounded", GIVEN), cutoff=none,
                          rc_change=none)
    else:
        base = name if key is None else INSTRUMENTS[key]
    changes = {k: Sourced(bool(v) if k == "higher_is_better" else float(v), "given", GIVEN)
               for k, v in given.items() if v is not None}
    out = replace(base, **changes)
    if not out.low.value < out.high.value:
        raise InputError(f"the score range {out.low.value:g} to {out.high.value:g} is empty",
                         expected="low < high")
    return out
