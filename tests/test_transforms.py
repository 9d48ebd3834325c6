"""Back-transformations to the natural scale, against metafor 3.8-1's transf functions
(tests/reference/transforms.R)."""

import math

import numpy as np
import pytest

from commonfactors._transforms import TRANSFORMS, back_transform, natural_scale
from reference import load

REF = load("transforms")


@pytest.mark.parametrize("transf, key", [("ztor", "ztor"), ("ilogit", "ilogit"), ("iarcsin", "iarcsin"),
                                         ("exp", "exp"), ("ipft", "ipft_hm")])
def test_back_transforms_equal_metafor(transf, key):
    case = REF[key]
    got = back_transform(transf, case["x"], ni=case.get("ni"))
    np.testing.assert_allclose(got, case["value"], rtol=1e-12, atol=1e-300)


def test_scalars_nan_and_none():
    assert back_transform("ztor", 0.0) == 0.0 and isinstance(back_transform("exp", 1.0), float)
    assert math.isnan(back_transform("exp", math.nan)) and back_transform("none", 0.25) == 0.25
    with pytest.raises(ValueError, match="unknown transformation"):
        back_transform("sqrt", 1.0)


def test_natural_scales_of_the_measures():
    assert natural_scale("ZCOR") == ("ztor", "r") and natural_scale("or") == ("exp", "odds ratio")
    assert natural_scale("PLO")[0] == "ilogit" and natural_scale("PFT")[0] == "ipft"
    assert natural_scale("SMD") is None and natural_scale(None) is None and natural_scale("COR") is None
    assert {t for t, _ in [natural_scale(m) for m in ("ZCOR", "OR", "PLO", "PAS", "PFT")]} <= set(TRANSFORMS)
