"""The entry of the public model functions and their warnings, each emitted once at the user's call.

A public model function validates its input with :func:`validated` (or takes the studies of a fitted model,
:func:`fitted`), collects what it and the fits it makes have to say in a :class:`Notes`, and returns
``notes()`` as its result's ``warnings``. Every warning points at the user's call (:func:`user_stacklevel`),
however deep the computation that noticed it.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import warnings

from .._checks import EffectData, effect_data
from ..errors import InputError
from ..results.meta import MetaResult

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
    :class:`Notes` of the result.

    ``data`` may be a fitted model (a :class:`MetaResult`, see :func:`fitted`): then its studies, already
    validated, are taken as they are, with its moderators where the function takes ``mods``; a model with
    moderators given to a function that fits none is an InputError."""
    if isinstance(data, MetaResult):
        if data.X.shape[1] > 1 and "mods" not in kwargs:
            names = ", ".join(c.name for c in data.coefficients[1:])
            raise InputError(f"a fitted model with moderators ({names})",
                             expected="a model without moderators, or its yi and vi")
        return EffectData(yi=data.yi, vi=data.vi, X=data.X, names=tuple(c.name for c in data.coefficients),
                          rows=data.rows, slab=data.slab, source=None), Notes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ed = effect_data(data, **kwargs)
    for c in caught:
        warnings.warn(c.message, c.category, stacklevel=user_stacklevel())
    return ed, Notes(str(c.message) for c in caught)


def fitted(function=None, *, options=("method", "test", "level")):
    """Lets a public model function take a fitted model (a :class:`MetaResult`) as its ``data``, as metafor's
    ``influence``, ``leave1out``, ``cumul``, ``regtest``, ``ranktest``, ``trimfill`` and others take a fitted
    ``rma`` object: the function uses the model's studies (:func:`validated`) and, where the call does not
    give them, those of its ``method``, ``test`` and ``level`` that are in ``options`` (metafor's
    ``trimfill`` takes only the method: its filled model has the z test)."""
    if function is None:
        return functools.partial(fitted, options=options)
    taken = [name for name in options if name in inspect.signature(function).parameters]

    @functools.wraps(function)
    def call(data=None, **kwargs):
        if isinstance(data, MetaResult):
            kwargs = {name: getattr(data, name) for name in taken} | kwargs
        return function(data, **kwargs)

    return call
