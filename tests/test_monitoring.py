"""monitor(): routine outcome monitoring of session scores, and the instrument presets.

Reference numbers: tests/reference/monitoring.R (lme4's expected-curve bounds for
tests/data/monitoring_ors.csv, the DAS Table 2 categories); the presets' values and statuses are
THERAPISTS.md's table (section 3)."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors.errors import InputError
from commonfactors.monitoring import INSTRUMENTS, instrument
from reference import HERE, load

R = load("monitoring")
ORS = pd.read_csv(HERE.parent / "data" / "monitoring_ors.csv")
DAS = pd.read_csv(HERE.parent / "data" / "monitoring_jt1991_das.csv")


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cf.monitor(*args, **kwargs)


def _ors(**kwargs):
    return _quiet(ORS, client="client", session="session", score="ors", therapist="therapist",
                  instrument="ORS", **kwargs)


def _das_long():
    pre = DAS.assign(session=1, score=DAS.pre)
    post = DAS.assign(session=2, score=DAS.post)
    return pd.concat([pre, post])[["couple", "session", "score"]]


def test_das_table_2_through_monitor():
    with pytest.warns(cf.CommonFactorsWarning, match="expected curves not fitted"):
        res = cf.monitor(_das_long(), client="couple", session="session", score="score",
                         higher_is_better=True, reliability=0.96, sd=17.8, cutoff="a")
    assert res.counts == {**R["jt_das"]["counts"], "not clinical at intake": 0}
    assert res.cutoff["value"] == pytest.approx(R["jt_das"]["cutoff_a"], rel=1e-13)
    assert res.reliable_change["s_diff"] == pytest.approx(R["jt_das"]["s_diff"], rel=1e-13)
    assert [c["category"] for c in res.clients] == R["jt_das"]["category"]
    np.testing.assert_allclose([c["rc"] for c in res.clients], R["jt_das"]["rc"], rtol=1e-13)
    assert res.curves is None and all(s["off_track"] is None for s in res.sessions)
    assert res.flags["n_flagged"] == 1  # the one reliable deterioration


def test_ors_sessions_match_lme4_bounds_and_flags_follow_them():
    res = _ors()
    ref = R["predictions"]
    sessions = res.sessions_frame()
    assert list(sessions.client) == ref["client"] and list(sessions.session) == ref["session"]
    np.testing.assert_allclose(sessions.bound, ref["bound"], rtol=1e-6)
    np.testing.assert_allclose(sessions.expected, ref["expected"], rtol=1e-6)
    # a flag is a score below the bound or a reliable deterioration (ORS: 5 points) from intake
    intake = ORS.sort_values("session").groupby("client").ors.first()
    drop = intake[sessions.client].to_numpy() - sessions.score.to_numpy()
    np.testing.assert_array_equal(sessions.deteriorated, drop >= 5)
    np.testing.assert_array_equal(sessions.off_track, sessions.score < sessions.bound)
    np.testing.assert_array_equal(sessions.flag, sessions.off_track | sessions.deteriorated)
    clients = res.to_frame().set_index("client")
    first = sessions[sessions.flag].groupby("client").session.min()
    assert set(first.index) == set(clients.index[clients.flagged == True])  # noqa: E712
    np.testing.assert_array_equal(clients.loc[first.index, "first_flagged_session"], first)
    f = res.flags
    assert f["n_flagged"] == len(first) and sum(f["flagged_outcomes"].values()) == f["n_flagged"]
    assert f["n_clients"] == res.n_clients - res.n_single_session
    assert f["n_scores"] == len(sessions) and f["n_scores_flagged"] == int(sessions.flag.sum())


def test_categories_single_sessions_and_therapists_add_up():
    res = _ors()
    sizes = ORS.groupby("client").size()
    assert res.n_clients == len(sizes) and res.n_single_session == int((sizes == 1).sum()) == 9
    assert sum(res.counts.values()) == res.n_clients - res.n_single_session
    frame = res.to_frame()
    assert frame[frame.n_sessions == 1].category.isna().all()
    intake = ORS.sort_values("session").groupby("client").ors.first()
    last = ORS.sort_values("session").groupby("client").ors.last()
    multi = sizes[sizes > 1].index
    assert res.counts["not clinical at intake"] == int((intake[multi] >= 25).sum())
    recovered = (intake[multi] < 25) & (last[multi] >= 25) & (last[multi] - intake[multi] >= 5)
    assert res.counts["recovered"] == int(recovered.sum())
    per = pd.DataFrame(list(res.therapists))
    assert per.n_clients.sum() == res.n_clients and len(per) == 8
    for k, v in res.counts.items():
        assert per[k].sum() == v
    assert per.n_flagged.sum() == res.flags["n_flagged"]


def test_early_response_by_rule_and_by_residual():
    data = pd.DataFrame({"client": ["a"] * 3 + ["b"] * 3 + ["c"] * 2,
                         "session": [1, 2, 3, 1, 2, 5, 1, 6],
                         "score": [10, 12, 16, 10, 11, 20, 10, 20]})
    res = _quiet(data, client="client", session="session", score="score", instrument="ORS")
    rows = {c["client"]: c for c in res.clients}
    assert rows["a"]["early_responder"] is True  # +6 at session 3
    assert rows["b"]["early_responder"] is False  # +1 by session 4; +10 only at session 5
    assert rows["c"]["early_responder"] is None  # no score after intake by session 4
    assert res.early["n_assessed"] == 2 and res.early["n_responders"] == 1
    # too few scores for the curves: no residual
    assert rows["a"]["early_residual"] is None
    res = _quiet(ORS, client="client", session="session", score="ors", instrument="ORS", early_session=3)
    model = res.curves["coefficients"]
    beta = np.array([c["estimate"] for c in model])
    one = ORS[ORS.client == "c04"].sort_values("session")
    intake, at3 = one.ors.iloc[0], one[one.session == 3].ors.iloc[0]
    expected = beta @ [1, intake, np.log(3), intake * np.log(3)]
    assert {c["client"]: c for c in res.clients}["c04"]["early_residual"] == pytest.approx(at3 - expected)


def test_lower_is_better_flips_direction():
    data = pd.DataFrame({"client": ["a", "a", "b", "b"], "session": [1, 2, 1, 2], "score": [20, 9, 8, 15]})
    res = _quiet(data, client="client", session="session", score="score", instrument="PHQ9")
    rows = {c["client"]: c for c in res.clients}
    assert rows["a"]["category"] == "recovered" and rows["b"]["category"] == "not clinical at intake"
    assert rows["b"]["reliable_change"] == "deteriorated" and rows["b"]["flagged"] is True


def test_the_presets_carry_their_sources_and_statuses():
    status = {name: {k: v.status for k, v in ins.values().items()} for name, ins in INSTRUMENTS.items()}
    assert status["ORS"] == {"higher_is_better": "secondary", "low": "not seen", "high": "not seen",
                             "cutoff": "secondary", "rc_change": "secondary"}
    assert set(status["SRS"].values()) - {"not seen"} == {"secondary"}
    assert set(status["OQ45"].values()) == {"not seen"}
    assert set(status["PHQ9"].values()) == {"secondary"}
    values = {name: (ins.low.value, ins.high.value, ins.higher_is_better.value, ins.cutoff.value,
                     ins.rc_change.value) for name, ins in INSTRUMENTS.items()}
    assert values == {"ORS": (0, 40, True, 25, 5), "SRS": (0, 40, True, 36, None),
                      "OQ45": (0, 180, False, 63.5, 14), "PHQ9": (0, 27, False, 10, 5.66)}
    assert not any(v.checked for ins in INSTRUMENTS.values() for v in ins.values().values())
    ors = instrument("ors", cutoff=28)
    assert ors.cutoff.value == 28 and ors.cutoff.source == "given" and ors.cutoff.checked
    assert ors.rc_change.status == "secondary"


def test_the_text_names_values_sources_and_the_curves():
    res = _ors()
    text = str(res.summary())
    for piece in ("Outcome Rating Scale", "not seen", "secondary", "J. Brief Ther. 2(2):91-100",
                  "recovered", "Early responders", "Not on track", "Per therapist",
                  "not the proprietary OQ-Analyst or Better Outcomes Now"):
        assert piece in text, piece
    assert repr(res) == text
    data = res.to_dict()
    json.dumps(data, allow_nan=False)
    assert {"instrument", "reliable_change", "cutoff", "counts", "early", "flags", "clients", "sessions",
            "therapists", "curves", "curves_note", "warnings"} <= set(data)
    assert data["instrument"]["cutoff"] == {"value": 25.0, "source": INSTRUMENTS["ORS"].cutoff.source,
                                            "status": "secondary", "checked": False}


def test_a_mapping_of_columns_is_accepted():
    cols = {"client": list(DAS.couple) * 2, "session": [1] * 30 + [2] * 30,
            "score": list(DAS.pre) + list(DAS.post)}
    res = _quiet(cols, client="client", session="session", score="score", higher_is_better=True,
                 reliability=0.96, sd=17.8, cutoff="a")
    assert res.counts["recovered"] == 10


def _frame(**change):
    d = pd.DataFrame({"client": ["a", "a", "b", "b"], "therapist": ["t", "t", "u", "u"],
                      "session": [1, 2, 1, 2], "score": [20.0, 25, 18, 30]})
    for col, (i, v) in change.items():
        d[col] = d[col].astype(object)
        d.loc[i, col] = v
    return d


@pytest.mark.parametrize("change, kwargs, message", [
    ({"session": (3, 1)}, {}, "row 3, column 'session': client 'b' has a second score for session 1"),
    ({"therapist": (1, "u")}, {"therapist": "therapist"},
     "row 1, column 'therapist': client 'a' is seen by therapist 't' and by therapist 'u'"),
    ({"score": (2, 41)}, {}, "row 2, column 'score': got 41; expected a score in [0, 40] (ORS)"),
    ({"session": (0, 0)}, {}, "row 0, column 'session': got 0; expected a session number >= 1"),
    ({"score": (1, "high")}, {}, "row 1, column 'score'"),
])
def test_bad_rows_are_one_line_errors_naming_row_and_column(change, kwargs, message):
    with pytest.raises(InputError) as e:
        cf.monitor(_frame(**change), client="client", session="session", score="score", instrument="ORS",
                   **kwargs)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"score": "scroe", "instrument": "ORS"}, "no column 'scroe' (did you mean 'score'?)"),
    ({}, "a custom instrument needs its direction"),
    ({"instrument": "SRS"}, "SRS has no reliable-change value"),
    ({"instrument": "BDI"}, "unknown instrument 'BDI'"),
    ({"instrument": "ORS", "sd": 5}, "sd was given without reliability"),
    ({"instrument": "ORS", "cutoff": "c"}, "cutoff 'c' needs the functional population's norms"),
    ({"instrument": "ORS", "alpha": 0.7}, "alpha is 0.7"),
    ({"instrument": "ORS", "early_session": 1}, "early_session is 1"),
])
def test_bad_arguments_are_one_line_errors(kwargs, message):
    args = {"client": "client", "session": "session", "score": "score", **kwargs}
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        cf.monitor(_frame(), **args)


def test_missing_scores_are_dropped_with_a_warning():
    d = _frame()
    d.loc[3, "score"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cf.monitor(d, client="client", session="session", score="score", instrument="ORS")
    dropped = "1 row with a missing client, session or score omitted (row 3)"
    assert [w.category for w in caught if str(w.message) == dropped] == [cf.DroppedRowsWarning]
    assert dropped in res.warnings
    assert res.n_rows == 3 and res.n_single_session == 1


def test_an_instrument_object_and_overrides_are_used():
    teen = instrument("ORS", cutoff=28)  # the cutoff for ages 13-18
    data = pd.DataFrame({"client": ["a", "a"], "session": [1, 2], "score": [20.0, 27.0]})
    res = _quiet(data, client="client", session="session", score="score", instrument=teen)
    assert res.cutoff["value"] == 28 and res.cutoff["status"] == "given" and res.counts["improved"] == 1
    res = _quiet(data, client="client", session="session", score="score", instrument=teen, rc_change=8)
    assert res.reliable_change["rc_change"] == 8 and res.counts["unchanged"] == 1
    assert res.instrument["cutoff"]["value"] == 28
