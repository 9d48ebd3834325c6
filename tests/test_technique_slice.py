"""The technique slice of the pie from a network's Dodo-bird estimate (factors/technique_network.py,
additive_pie(technique=...), pie --technique-network, factors show technique).

Reference: the Q-profile interval of tau2_technique and the Dodo-bird test's p-value of the synthetic
SMD network, computed by tests/reference/network.R from metafor 3.8-1's rma.mv fit (tests/reference/
network.json, "synthetic_smd"): the confidence distribution's quantiles at 2.5% and 97.5% must be that
interval and its mass at 0 that p-value (RTOL 1e-6 relative, ATOL 1e-7 absolute, as
tests/test_network.py). The Monte Carlo draws are checked within their sampling error.
"""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import commonfactors as cf
from commonfactors.errors import InputError
from commonfactors.factors.technique_network import _qprofile, technique_component
from reference import HERE, load

MD = pd.read_csv(HERE.parent / "data" / "network_md.csv")
REF = load("network")["synthetic_smd"]["dodo"]
RTOL, ATOL = 1e-6, 1e-7


def fit(measure="SMD", active=("B", "C", "D")):
    return cf.network_meta_analysis(MD, study="study", treatment="trt", mean="mean", sd="sd", n="n",
                                    measure=measure, reference="A", active=list(active) if active else None)


@pytest.fixture(scope="module")
def res():
    return fit()


def test_confidence_distribution_is_the_q_profile(res):
    q = _qprofile(res.to_dict(), res.dodo, None)
    assert q.q(0.0) == pytest.approx(REF["q"], rel=RTOL)
    np.testing.assert_allclose(q.tau2(np.array([0.025, 0.975])), REF["tau2_technique_ci"], rtol=RTOL,
                               atol=ATOL)
    # Q(t) = df at the Paule-Mandel estimate
    assert q.q(REF["tau2_technique"]) == pytest.approx(2.0, rel=1e-6)
    p = REF["pval"]
    t = q.tau2(np.array([p * (1 - 1e-6), p * (1 + 1e-6)]))
    assert t[0] == 0.0 and 0 < t[1] < 1e-6  # mass p at tau2 = 0, continuous above


def test_component_and_its_draws(res):
    c = technique_component(res)
    assert c.factor == "technique" and c.metric == "share" and c.element == "treatment-differences"
    assert c.estimate == pytest.approx(REF["tau2_technique"] / (1 + REF["tau2_technique"]), rel=RTOL)
    assert c.sources[0].startswith("from data: the Dodo-bird test") and "B, C, D" in c.sources[0]
    n = 200_000
    x = c.draw(np.random.default_rng(7), n)
    p = REF["pval"]
    assert abs(np.mean(x == 0) - p) < 4 * math.sqrt(p * (1 - p) / n)
    lo, hi = (t / (1 + t) for t in REF["tau2_technique_ci"])
    assert abs(np.mean(x <= hi) - 0.975) < 4 * math.sqrt(0.975 * 0.025 / n)
    assert abs(np.mean(x < lo) - 0.025) < 4 * math.sqrt(0.975 * 0.025 / n)


def test_json_gives_the_same_slice(res):
    d = json.loads(json.dumps(res.to_dict()))
    a, b = technique_component(res), technique_component(d, source="net.json")
    assert a.estimate == b.estimate and "(net.json)" in b.sources[0]
    np.testing.assert_array_equal(a.draw(np.random.default_rng(1), 1000),
                                  b.draw(np.random.default_rng(1), 1000))


def test_additive_pie_takes_the_slice(res):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pie = cf.additive_pie(technique=res, draws=20_000, seed=3)
        default = cf.additive_pie(draws=20_000, seed=3)
    by = {s.factor: s for s in pie.components}
    assert [s.factor for s in pie.components] == [s.factor for s in default.components]
    t = by["technique"]
    assert t.share == pytest.approx(res.dodo["share"], rel=1e-12)
    assert t.sources[0].startswith("from data:")
    assert t.ci_low < t.share < t.ci_high
    assert not any(w.startswith("technique: no interval") for w in pie.warnings)
    assert {s.factor: s.share for s in pie.components if s.factor != "technique"} == \
        {s.factor: s.share for s in default.components if s.factor != "technique"}


@pytest.mark.parametrize(("kw", "match"), [({"active": None}, "no Dodo-bird test"),
                                           ({"measure": "MD"}, "measure is 'MD'")])
def test_fits_that_cannot_give_a_share(kw, match):
    with pytest.raises(InputError, match=match):
        technique_component(fit(**kw))


def test_a_mapping_without_the_network_keys():
    with pytest.raises(InputError, match="no 'treatments'"):
        technique_component({"icc": 0.1}, source="x.json")


@pytest.fixture(scope="module")
def net_json(tmp_path_factory, res):
    path = tmp_path_factory.mktemp("net") / "net.json"
    path.write_text(json.dumps(res.to_dict()))
    return str(path)


def test_command_line_pie_and_factors_show(net_json, res):
    from commonfactors.cli import main

    runner = CliRunner()
    out = runner.invoke(main, ["pie", "--technique-network", net_json, "--format", "json"])
    assert out.exit_code == 0, out.output
    t = next(c for c in json.loads(out.stdout)["components"] if c["factor"] == "technique")
    assert t["share"] == pytest.approx(res.dodo["share"], rel=1e-12) and net_json in t["sources"][0]
    show = runner.invoke(main, ["factors", "show", "technique", "--technique-network", net_json,
                                "--format", "json"])
    assert show.exit_code == 0, show.output
    assert json.loads(show.stdout)["pie_slice"]["origin"].startswith("from data: the Dodo-bird test")
    text = runner.invoke(main, ["factors", "show", "technique", "--technique-network", net_json])
    assert "technique slice of the pie: from data" in text.stdout
    default = runner.invoke(main, ["factors", "show", "technique", "--format", "json"])
    assert json.loads(default.stdout)["pie_slice"]["origin"].startswith("published estimate: Cuijpers")


def test_command_line_errors(net_json, tmp_path):
    from commonfactors.cli import main

    runner = CliRunner()
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    for args in (["pie", "--technique-network", str(bad)],
                 ["pie", "--method", "dominance", "--technique-network", net_json],
                 ["factors", "show", "therapist", "--technique-network", net_json]):
        out = runner.invoke(main, args)
        assert out.exit_code == 2, (args, out.output)
        assert "Traceback" not in out.output and len(out.stderr.strip().splitlines()) == 1, out.stderr
    no_dodo = tmp_path / "no_dodo.json"
    no_dodo.write_text(json.dumps(fit(active=None).to_dict()))
    out = runner.invoke(main, ["pie", "--technique-network", str(no_dodo)])
    assert out.exit_code == 2 and "no Dodo-bird test" in out.stderr
