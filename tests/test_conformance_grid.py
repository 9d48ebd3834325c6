"""The metafor 3.8-1 case grid cannot silently shrink (PyMARE's 'covers every combination' idea)."""

import pytest

from conformance_cases import CASE_COUNTS, load_cases


@pytest.mark.parametrize("kind", sorted(CASE_COUNTS))
def test_case_grid_is_complete(kind):
    assert len(load_cases(kind)) == CASE_COUNTS[kind]
