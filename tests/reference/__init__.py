"""Reference numbers written by the R scripts of this folder (one ``<topic>.R`` per ``<topic>.json``;
README.md says how to regenerate them and with which versions)."""

import json
from pathlib import Path

from conformance_cases import _normalise

HERE = Path(__file__).parent


def load(topic: str) -> dict:
    """The numbers of ``<topic>.json``, R's NA (``"NA"``) and NULL (``{}``) as None."""
    return _normalise(json.loads((HERE / f"{topic}.json").read_text()))
