"""Plots from result objects (``res.plot_forest(ax=None)`` and the others): a registry of drawing functions.

The result classes sit below the drawing code in the layer order: the figures need models (a funnel's
contours, a Baujat plot's leave-one-out fits) and matplotlib, and a result object needs neither to be
printed or saved. This leaf keeps the two apart. :mod:`commonfactors.report.figures` registers each drawing
function here under its name when it is imported; a result's ``plot_*`` method calls :func:`draw`, which
imports that module by name the first time a plot is asked for (a plug-in, as matplotlib finds its
backends by name). So a result class imports nothing above it, and matplotlib is loaded only when a plot
is drawn.
"""

from __future__ import annotations

import importlib

#: the module whose import fills :data:`DRAWERS`
DRAWING_MODULE = "commonfactors.report.figures"
#: plot name -> (drawing function, the options it gets from Python and the command line unless given)
DRAWERS: dict[str, tuple] = {}


def register(name: str, **defaults):
    """Register the decorated drawing function as plot ``name``. It takes a result and ``ax`` (an Axes to
    draw into, or None for a figure of its own) and returns the figure; ``defaults`` are the options a
    plot drawn from Python or the command line gets unless given (the report passes its own)."""

    def decorate(fn):
        DRAWERS[name] = (fn, defaults)
        return fn

    return decorate


def draw(name: str, result, ax=None, **options):
    """Draw plot ``name`` of ``result`` into ``ax`` (a new figure when None) and return the plot's Axes
    (the one with the data; a forest plot's text columns are Axes beside it)."""
    if name not in DRAWERS:
        importlib.import_module(DRAWING_MODULE)
    fn, defaults = DRAWERS[name]
    fig = fn(result, ax=ax, **{**defaults, **options})
    return ax if ax is not None else fig.axes[0]
