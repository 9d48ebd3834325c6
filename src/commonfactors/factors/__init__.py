"""Factor contributions to psychotherapy outcome: the taxonomy of factors and elements with their
estimates, conversions between metrics, and variance pies (additive and overlap-aware) with intervals.

Modules: :mod:`.taxonomy` (factors, elements, their estimates), :mod:`.convert` (r, d, Fisher's z,
shares of variance, ICCs), :mod:`.pie` (additive and dominance pies, sensitivity, correlations pooled pair by
pair, published pies), :mod:`.dominance` (general dominance weights from a correlation matrix),
:mod:`.corpool` (GLS pooling of correlation matrices, stage 1 of MASEM), :mod:`.therapist_icc` (therapist ICCs
pooled across studies; the therapist slice of the pie from data), :mod:`.technique_network` (the technique
slice of the pie from a network meta-analysis's Dodo-bird estimate).
"""

from .corpool import olkin_siotani, pool_correlation_matrices
from .pie import (
    additive_pie,
    component,
    dominance_pie,
    dominance_sensitivity,
    pool_correlations_pairwise,
    published_pies,
)
from .taxonomy import FACTORS, element_estimates, list_elements
from .technique_network import technique_component
from .therapist_icc import pool_therapist_iccs, published_therapist_iccs, therapist_component

__all__ = [
    "FACTORS",
    "additive_pie",
    "component",
    "dominance_pie",
    "dominance_sensitivity",
    "element_estimates",
    "list_elements",
    "olkin_siotani",
    "pool_correlation_matrices",
    "pool_correlations_pairwise",
    "pool_therapist_iccs",
    "published_pies",
    "published_therapist_iccs",
    "technique_component",
    "therapist_component",
]
