"""Routine outcome monitoring: reliable and clinically significant change (Jacobson & Truax 1991), instrument
presets with their sources, early response, and not-on-track flags against expected curves fitted from the
user's own data (not the proprietary OQ-Analyst or Better Outcomes Now algorithms).

- :func:`reliable_change`, :func:`clinical_cutoffs` (:mod:`.rci`);
- :data:`INSTRUMENTS`, :func:`instrument` (:mod:`.instruments`): ORS, SRS, OQ-45, PHQ-9;
- :func:`fit_curves`, :func:`predict` (:mod:`.trajectories`): the expected-change model and its bounds;
- :func:`monitor`: all of it for a long table of session scores, returning a MonitorResult.
"""

from __future__ import annotations

from ._monitor import CURVES_NOTE, monitor
from .instruments import INSTRUMENT_NAMES, INSTRUMENTS, Instrument, Sourced, instrument
from .rci import CATEGORIES, Cutoffs, ReliableChange, categories, clinical_cutoffs, reliable_change
from .trajectories import CurveModel, fit_curves, predict

__all__ = ["monitor", "reliable_change", "clinical_cutoffs", "categories", "CATEGORIES", "Cutoffs",
           "ReliableChange", "INSTRUMENTS", "INSTRUMENT_NAMES", "Instrument", "Sourced", "instrument",
           "CurveModel", "fit_curves", "predict", "CURVES_NOTE"]
