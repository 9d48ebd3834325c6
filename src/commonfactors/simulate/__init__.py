"""Synthetic data with known truth: :func:`simulate_practice`, clients of therapists (in sites) scored
session by session on an outcome measure, with a stated therapist ICC (:mod:`.practice`)."""

from .practice import CLIENT_DEFAULTS, simulate_practice

__all__ = ["CLIENT_DEFAULTS", "simulate_practice"]
