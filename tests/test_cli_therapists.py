"""``commonfactors therapists``: the numbers of lme4 (and lmerTest) on the files of tests/data/therapists/,
from tests/reference/therapists_cli.R; every format; the caterpillar plot; aliases; one-line errors with
nothing written.

Tolerances (THERAPISTS.md section 5): variance components, ICC and its profile interval 1e-6 relative
(lme4 run to convergence, bobyqa rhoend 1e-12; the interval's roots by uniroot, tol 1e-12), the REML
criterion 1e-8 relative, fixed effects and EB effects 1e-6.
"""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import in_a_process, in_process
from reference import load

REF = load("therapists_cli")
ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / REF["data"]["clients"]
SESSIONS = ROOT / REF["data"]["sessions"]
BASE = [CLIENTS, "--client", "client", "--therapist", "therapist", "--outcome", "post", "--baseline", "pre"]
LONG = [SESSIONS, "--client", "client", "--therapist", "therapist", "--outcome", "score", "--session",
        "session"]


def run_json(*args) -> dict:
    res = in_process("therapists", *args, "--format", "json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def assert_fit(out: dict, ref: dict, *, ranef: bool = True) -> None:
    for key in ("var_therapist", "var_residual", "icc"):
        if key not in ref:
            continue
        assert out[key] == pytest.approx(ref[key], rel=1e-6), key
    assert out["reml_crit"] == pytest.approx(ref["reml_crit"], rel=1e-8)
    if "loglik" in ref:
        assert out["loglik"] == pytest.approx(ref["loglik"], rel=1e-8)
    if "n_clients" in ref:
        assert (out["n_therapists"], out["n_clients"]) == (ref["n_therapists"], ref["n_clients"])
    coef = ref["coefficients"]
    np.testing.assert_allclose([c["estimate"] for c in out["coefficients"]], coef["estimate"], rtol=1e-6)
    np.testing.assert_allclose([c["se"] for c in out["coefficients"]], coef["se"], rtol=1e-6)
    if ranef:
        by_id = {r["therapist"]: r for r in out["ranef"]}
        assert sorted(by_id) == sorted(ref["ranef"]["therapist"])
        eb = [by_id[t]["eb"] for t in ref["ranef"]["therapist"]]
        se = [by_id[t]["se"] for t in ref["ranef"]["therapist"]]
        np.testing.assert_allclose(eb, ref["ranef"]["eb"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(se, ref["ranef"]["se"], rtol=1e-6)


@pytest.mark.parametrize(("method", "key"), [("REML", "icc"), ("ML", "icc_ml")])
def test_client_level_file_equals_lme4(method, key):
    out = run_json(*BASE, "--method", method)
    ref = REF[key]
    assert_fit(out, ref)
    assert out["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-6)
    assert out["ci_high"] == pytest.approx(ref["ci_high"], rel=1e-6)
    assert (out["method"], out["ci_method"], out["level"], out["dropped"]) == (method, "profile", 95, 0)
    assert out["singular"] is False and out["var_site"] is None


def test_contract_keys_in_json():
    out = run_json(*BASE)
    contract = {"icc", "ci_low", "ci_high", "var_therapist", "var_residual", "n_therapists", "n_clients",
                "dropped", "singular", "method", "ci_method", "level", "coefficients", "ranef", "var_site"}
    assert contract <= set(out)
    assert set(out["ranef"][0]) == {"therapist", "n", "eb", "se", "ci_low", "ci_high", "flag"}


def test_moderators_equal_lme4():
    out = run_json(*BASE, "--mods", "~ age")
    assert_fit(out, REF["mods"])
    assert [c["term"] for c in out["coefficients"]] == ["(Intercept)", "pre", "age"]


def test_random_sites_equal_lme4():
    out = run_json(*BASE, "--site", "site")
    ref = REF["site_random"]
    assert_fit(out, ref, ranef=False)
    assert out["var_site"] == pytest.approx(ref["var_site"], rel=1e-6)
    share = ref["var_therapist"] / (ref["var_therapist"] + ref["var_site"] + ref["var_residual"])
    assert out["icc"] == pytest.approx(share, rel=1e-6)


def test_fixed_sites_equal_lme4():
    out = run_json(*BASE, "--site", "site", "--site-effect", "fixed")
    assert_fit(out, REF["site_fixed"], ranef=False)
    assert out["var_site"] is None and len(out["coefficients"]) == 7


def test_session_level_file_first_and_last_score_equal_lme4():
    res = in_process("therapists", *LONG, "--format", "json")
    assert res.returncode == 0
    out, ref = json.loads(res.stdout), REF["sessions"]
    assert_fit(out, ref)
    assert out["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-6)
    assert out["ci_high"] == pytest.approx(ref["ci_high"], rel=1e-6)
    assert out["dropped"] == ref["dropped"] == 5
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "5 clients" in warnings[0] and out["warnings"] == [warnings[0][9:]]


def test_text_says_flagged_against_expected():
    res = in_process("therapists", *BASE)
    assert res.returncode == 0 and res.stderr == ""
    out = run_json(*BASE)
    k = sum(r["flag"] != 0 for r in out["ranef"])
    assert k == out["n_flagged"] > 0
    line = f"{k} therapists' intervals exclude 0; about 1.5 expected by chance at the 95% level"
    assert res.stdout.count(line) == 1
    assert f"ICC (therapist) = {REF['icc']['icc']:.4f}" in res.stdout
    assert "expected by chance alone" not in res.stdout  # said once


def test_level_changes_the_expected_count():
    res = in_process("therapists", *BASE, "--level", "90")
    assert "about 3.0 expected by chance at the 90% level" in res.stdout


def test_csv_is_one_row_per_therapist():
    res = in_process("therapists", *BASE, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == 30 and list(rows[0]) == ["therapist", "n", "eb", "se", "ci_low", "ci_high", "flag"]
    ref = dict(zip(REF["icc"]["ranef"]["therapist"], REF["icc"]["ranef"]["eb"], strict=True))
    assert all(float(r["eb"]) == pytest.approx(ref[r["therapist"]], rel=1e-6, abs=1e-8) for r in rows)
    assert sum(int(r["n"]) for r in rows) == 337


def test_hidden_aliases_and_both_spellings_refused():
    aliased = run_json(CLIENTS, "--patient", "client", "--therapist", "therapist", "--post", "post", "--pre",
                       "pre")
    assert aliased == run_json(*BASE)
    res = in_process("therapists", *BASE, "--pre", "pre")
    assert res.returncode == 2 and "give --baseline or --pre, not both" in res.stderr
    help_text = in_process("therapists", "--help").stdout
    assert "--client" in help_text and "--patient" not in help_text and "--pre " not in help_text


def test_bootstrap_interval_reproducible_with_a_seed():
    args = [*BASE, "--ci", "bootstrap", "--n-boot", "200", "--seed", "7"]
    first, second = run_json(*args), run_json(*args)
    assert first == second
    assert first["ci_method"] == "bootstrap" and first["n_boot"] == 200
    assert first["ci_low"] < first["icc"] < first["ci_high"]
    assert first["icc"] == pytest.approx(REF["icc"]["icc"], rel=1e-6)
    assert run_json(*BASE, "--ci", "bootstrap", "--n-boot", "200", "--seed", "8")["ci_low"] != first["ci_low"]


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_plot_writes_the_caterpillar_and_prints_the_same(tmp_path, suffix):
    target = tmp_path / f"caterpillar.{suffix}"
    res = in_process("therapists", *BASE, "--plot", target)
    assert res.returncode == 0 and res.stdout == in_process("therapists", *BASE).stdout
    head = target.read_bytes()[:8]
    assert {"png": head == b"\x89PNG\r\n\x1a\n", "svg": b"<?xml" in head, "pdf": head[:4] == b"%PDF"}[suffix]
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_time_fits_the_development_model_as_lmertest():
    """--time: post ~ pre + years + (1 + years | therapist); fixed effects, Satterthwaite df, SDs and
    correlation of intercepts and slopes, each therapist's random slope as lme4/lmerTest (1e-5; df and
    the SDs 1e-4, THERAPISTS.md section 5 item 5)."""
    out = run_json(*BASE, "--time", "years")
    ref = REF["development"]
    got = {c["term"]: c for c in out["coefficients"]}
    for i, term in enumerate(ref["term"]):
        assert got[term]["estimate"] == pytest.approx(ref["estimate"][i], rel=1e-5), term
        assert got[term]["se"] == pytest.approx(ref["se"][i], rel=1e-5), term
        assert got[term]["df"] == pytest.approx(ref["df"][i], rel=1e-4), term
        assert got[term]["stat"] == pytest.approx(ref["t"][i], rel=1e-5), term
        assert got[term]["pval"] == pytest.approx(ref["pval"][i], rel=1e-3), term
    assert out["slope"] == got["years"]["estimate"]
    for key, r_key in (("sd_intercept", "sd_intercept"), ("sd_slope", "sd_slope"), ("corr", "cor"),
                       ("sigma", "sigma")):
        assert out[key] == pytest.approx(ref[r_key], rel=1e-4), key
    assert out["reml_crit"] == pytest.approx(ref["reml_crit"], rel=1e-8)
    rows = _csv(*BASE, "--time", "years")
    slopes = {r["therapist"]: r["ranef_slope"] for r in rows}
    assert len(rows) == 30
    np.testing.assert_allclose([float(slopes[t]) for t in ref["ranef_therapist"]], ref["ranef_slope"],
                               rtol=1e-4, atol=1e-6)


def test_time_text_and_plot(tmp_path):
    res = in_process("therapists", *BASE, "--time", "years", "--plot", tmp_path / "slopes.png")
    assert res.returncode == 0 and "(1 + years | therapist)" in res.stdout
    assert "expected by chance" not in res.stdout  # slopes are not centred on 0: no count by chance
    assert (tmp_path / "slopes.png").read_bytes()[:4] == b"\x89PNG"


def _csv(*args) -> list[dict]:
    res = in_process("therapists", *args, "--format", "csv")
    assert res.returncode == 0, res.stderr
    return list(csv.DictReader(io.StringIO(res.stdout)))


def _bad_files(folder: Path) -> dict:
    lines = CLIENTS.read_text().splitlines()
    two = list(lines)
    two[2] = two[2].replace("C0002,T01", "C0001,T02")  # row 3: client C0001 again, under another therapist
    (folder / "two.csv").write_text("\n".join(two) + "\n")
    bad = list(lines)
    bad[4] = ",".join(bad[4].split(",")[:4] + ["n/a?"] + bad[4].split(",")[5:])  # row 5, column post
    (folder / "bad.csv").write_text("\n".join(bad) + "\n")
    long = SESSIONS.read_text().splitlines()
    (folder / "dup.csv").write_text("\n".join([*long, long[1]]) + "\n")
    return {"two": folder / "two.csv", "bad": folder / "bad.csv", "dup": folder / "dup.csv"}


ERRORS = [
    ("missing-column", ["{clients}", "--therapist", "therapist", "--outcome", "postt"], "no column 'postt'"),
    ("client-under-two", ["{two}", "--client", "client", "--therapist", "therapist", "--outcome", "post"],
     "row 3, column 'therapist': client 'C0001' is under therapist 'T02'"),
    ("bad-value", ["{bad}", "--therapist", "therapist", "--outcome", "post"],
     "row 5, column 'post': got 'n/a?'"),
    ("duplicate-session", ["{dup}", "--client", "client", "--therapist", "therapist", "--outcome", "score",
                           "--session", "session"], "has session 8 twice"),
    ("plot-suffix", ["{clients}", "--therapist", "therapist", "--outcome", "post"],
     "expected a .png, .svg or"),
    ("no-outcome", ["{clients}", "--therapist", "therapist"], "missing option --outcome"),
    ("site-effect-alone", ["{clients}", "--therapist", "therapist", "--outcome", "post", "--site-effect",
                           "fixed"], "--site-effect needs --site"),
    ("n-boot-without-bootstrap", ["{clients}", "--therapist", "therapist", "--outcome", "post", "--n-boot",
                                  "50"], "options of --ci bootstrap"),
    ("time-with-site", ["{clients}", "--therapist", "therapist", "--outcome", "post", "--time", "years",
                        "--site", "site"], "cannot be combined with --time"),
    ("time-with-session", ["{dup}", "--client", "client", "--therapist", "therapist", "--outcome", "score",
                           "--session", "session", "--time", "session"], "leave out --session"),
    ("session-without-client", ["{dup}", "--therapist", "therapist", "--outcome", "score", "--session",
                                "session"], "--session needs --client"),
]


@pytest.mark.parametrize(("name", "args", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_one_line_exit_2_no_plot_written(tmp_path, name, args, message):
    files = {**_bad_files(tmp_path), "clients": CLIENTS}
    plot = tmp_path / ("fig.jpg" if name == "plot-suffix" else "fig.png")
    before = sorted(p.name for p in tmp_path.iterdir())
    res = in_process("therapists", *[a.format(**files) for a in args], "--plot", plot)
    assert res.returncode == 2, res.stderr
    assert res.stdout == "" and len(res.stderr.splitlines()) == 1 and message in res.stderr, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no figure, no temporary file


def test_in_a_process_exit_code_and_one_line(tmp_path):
    files = _bad_files(tmp_path)
    res = in_a_process("therapists", files["two"], "--client", "client", "--therapist", "therapist",
                       "--outcome", "post", "--format", "json")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith("Error: ") and len(res.stderr.splitlines()) == 1
    ok = in_a_process("therapists", *BASE, "--format", "json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["icc"] == pytest.approx(REF["icc"]["icc"], rel=1e-6)


def test_plot_where_a_file_stands_for_a_folder_one_line_nothing_printed(tmp_path):
    (tmp_path / "report").write_text("a file, not a folder")
    res = in_process("therapists", *BASE, "--plot", tmp_path / "report" / "cat.png")
    assert res.returncode == 2 and res.stdout == ""
    assert len(res.stderr.splitlines()) == 1 and "is a file, not a folder" in res.stderr, res.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
