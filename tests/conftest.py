import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # tests/tolerances.py, tests/conformance_cases.py

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """One report site built from the shipped data (``build_site``), shared by the site and browser tests,
    which only read it. Tests that need a build of their own (interrupted builds, the byte-identical rebuild)
    make it themselves."""
    import warnings

    from commonfactors.report import site

    out = tmp_path_factory.mktemp("site") / "reports"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pages show the warnings; the tests check the pages
        site.build_site(out, progress=False)
    return out


@pytest.fixture(scope="session")
def bcg_rr():
    """The BCG trials' log risk ratios (escalc "RR" of dat.bcg), which many tests pool."""
    import commonfactors as cf

    return cf.effect_sizes(cf.load_dataset("bcg"), measure="RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
