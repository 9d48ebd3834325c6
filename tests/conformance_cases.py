"""Loader for metafor 3.8-1 conformance cases (tests/conformance/cases.json).

R's JSON artefacts are normalised here, once: the string "NA" and the empty object {} (R's NULL,
e.g. no prediction interval in a common-effect model) both become None.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent / "conformance"


def _normalise(x):
    if isinstance(x, dict):
        return None if not x else {k: _normalise(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_normalise(v) for v in x]
    if x == "NA":
        return None
    return x


def load_cases(kind: str) -> list[dict]:
    cases = json.loads((HERE / "cases.json").read_text())["cases"]
    out = []
    for c in cases:
        if c["kind"] == kind:
            c = dict(c, expected=_normalise(c["expected"]))
            out.append(c)
    return out


def input_path(case) -> Path:
    return HERE / case["input"]


#: the number of cases per kind in metafor 3.8-1's set: the grid may grow, never silently shrink
CASE_COUNTS = {"effect_size": 20, "rma": 171, "metareg": 42, "bias": 7, "influence": 7, "multilevel": 6}
