"""The warnings of the model functions: each emitted once, at the user's call, and kept for the result.

A public model function validates its input with :func:`validated`, collects what it and the fits it
makes have to say in a :class:`Notes`, and returns ``notes()`` as its result's ``warnings``. Every warning
points at the user's call (:func:`user_stacklevel`), however deep the computation that noticed it.
"""

from __future__ import annotations

import os
import sys
import warnings

from .._checks import EffectData, effect_data

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside this package, so warnings point at the user's call."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


class Notes:
    """The warnings of a computation made of several steps, for its result's ``warnings``: each message
    is emitted once (``warnings.warn``) and kept in order; ``notes()`` is the tuple of messages."""

    def __init__(self, initial=()):
        self.items: list[str] = list(initial)

    def add(self, message: str, category) -> None:
        """Keep ``message`` and emit it once, pointing at the user's call."""
        if message not in self.items:
            self.items.append(message)
            warnings.warn(message, category, stacklevel=user_stacklevel())

    def run(self, context: str, function, *args, **kwargs):
        """``function(*args, **kwargs)`` (a fit inside a larger computation), its warnings kept and emitted
        once, prefixed by ``context``."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = function(*args, **kwargs)
        for c in caught:
            self.add(f"{context}: {c.message}", c.category)
        return result

    def __call__(self) -> tuple[str, ...]:
        return tuple(self.items)


def validated(data, **kwargs) -> tuple[EffectData, Notes]:
    """``_checks.effect_data(data, **kwargs)``, the boundary of every public model function. The
    validation's warnings (dropped rows) are re-emitted at the user's call and returned as the first
    :class:`Notes` of the result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ed = effect_data(data, **kwargs)
    for c in caught:
        warnings.warn(c.message, c.category, stacklevel=user_stacklevel())
    return ed, Notes(str(c.message) for c in caught)
