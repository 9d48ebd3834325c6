"""Moderator formulas are data, never executed code (src/commonfactors/_formula.py).

Each hostile formula below would create the file ``marker`` in the working folder if its Python were
evaluated (``test_each_payload_runs_when_evaluated_as_python`` proves it, so the "no marker" assertions
can fail). Through the Python API and through ``pool`` and ``influence`` in a real process, each must give
one line naming the term, exit code 2, no marker and the user's file byte-identical. Valid formulas build
the design numpy computes directly (the metafor meta-regression cases live in test_conformance_metareg.py).
"""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors import InputError
from commonfactors._checks import effect_data

MARKER = "marker"

#: (id, the factor expression, a fragment the message must name)
HOSTILE = [
    ("exploit",
     "I(ablat.__class__.__init__.__globals__['__builtins__']['__import__']('os').system('touch marker'))",
     "uses '.__class__' (attribute access)"),
    ("import", "I(__import__('os').system('touch marker'))", "'__import__()'"),
    ("open", "I(open('marker', 'w'))", "'open()'"),
    ("dataframe-method", "ablat.to_csv('marker')", "'.to_csv' (attribute access)"),
    ("eval", "I(eval(\"open('marker', 'w')\"))", "'eval()'"),
    ("exec", "I(exec(\"open('marker', 'w')\"))", "'exec()'"),
    ("subscript", "I(ablat[0:1].to_csv('marker'))", "(a subscript)"),
    ("lambda", "I((lambda: open('marker', 'w'))())", "(a lambda)"),
    ("getattr", "I(getattr(ablat, 'to_csv')('marker'))", "'getattr()'"),
    ("dunder-name", "I(__builtins__['open']('marker', 'w'))", "__builtins__"),
    ("call-through-a-column", "I(ablat.apply(lambda v: open('marker', 'w')))", "'.apply' (attribute access)"),
    ("keyword-unpacking", "I(pmin(ablat, year, **{'x': open('marker', 'w')}))", "'**' in pmin()"),
    ("keyword-out", "log(ablat, where=open('marker', 'w'))", "'where=' in log()"),
    ("C-second-argument", "C(alloc, eval(\"open('marker', 'w')\"))", "'eval()'"),
    ("Treatment-level", "C(alloc, Treatment(open('marker', 'w')))", "'open()'"),
    ("poly-degree", "poly(ablat, __import__('os').system('touch marker'))", "'__import__()'"),
    ("comprehension", "I([open('marker', 'w') for v in ablat])", "(a comprehension)"),
    ("walrus", "I((f := open('marker', 'w')))", "(an assignment)"),
    ("f-string", "I(f\"{open('marker', 'w')}\")", "(an f-string)"),
    ("backticks", "I(`__import__`('os').system('touch marker'))", "'__import__()'"),
]
IDS = [h[0] for h in HOSTILE]


@pytest.fixture(scope="module")
def bcg():
    return cf.effect_sizes(cf.load_dataset("bcg"), measure="RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")


@pytest.fixture
def bcg_csv(bcg, tmp_path):
    path = tmp_path / "bcg_es.csv"
    bcg.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("expr, fragment", [h[1:] for h in HOSTILE], ids=IDS)
def test_each_payload_runs_when_evaluated_as_python(expr, fragment, bcg, tmp_path, monkeypatch):
    """The control: evaluated as formulaic would without the check, each payload creates the marker."""
    from formulaic.utils.code import sanitize_variable_names

    from commonfactors._formula import context

    monkeypatch.chdir(tmp_path)
    names = {c: bcg[c] for c in bcg.columns}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's complaints about a file object as where=
        try:
            eval(sanitize_variable_names(expr, names, {}), {}, {**context(), **names})  # noqa: S307
        except Exception:
            pass  # many payloads fail after their side effect
    assert (tmp_path / MARKER).exists()


@pytest.mark.parametrize("expr, fragment", [h[1:] for h in HOSTILE], ids=IDS)
def test_python_api_refuses_without_evaluating(expr, fragment, bcg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = bcg.copy()
    for fit in (cf.meta_analysis, cf.influence):
        with pytest.raises(InputError) as e:
            fit(bcg, mods=f"~ ablat + {expr}")
        message = str(e.value)
        assert "\n" not in message
        assert "the moderator formula term" in message and fragment in message, message
        assert "expected" in message
    assert not (tmp_path / MARKER).exists()
    pd.testing.assert_frame_equal(bcg, before)


def test_message_names_the_exploit_term_and_what_is_allowed(bcg):
    with pytest.raises(InputError, match=r"bcg\.csv: the moderator formula term \"I\(ablat\.__class__.*"
                       r"uses '\.__class__' \(attribute access\); expected columns, numbers, C\(\)/factor\(\)"
                       r".*I\(\) with \+ - \* / \*\* and the functions log, .*exp"):
        cf.meta_analysis(bcg, mods=f"~ {HOSTILE[0][1]}")


def test_multilevel_and_subgroups_refuse_too(bcg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expr = "I(open('marker', 'w'))"
    with pytest.raises(InputError, match=r"'open\(\)'"):
        cf.meta_analysis(bcg, mods=f"~ {expr}", by="alloc")
    with pytest.raises(InputError, match=r"'open\(\)'"):
        cf.multilevel_meta_analysis(bcg, cluster="alloc", mods=f"~ {expr}")
    assert not (tmp_path / MARKER).exists()


def test_a_formula_object_is_not_evaluated_either(bcg, tmp_path, monkeypatch):
    """Only formula strings are read as formulas: formulaic's own Formula objects are refused unparsed."""
    from formulaic import Formula

    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"mods is a SimpleFormula; expected a formula string"):
        cf.meta_analysis(bcg, mods=Formula("~ I(open('marker', 'w'))"))
    assert not (tmp_path / MARKER).exists()


def test_formula_keyword_cannot_write_into_a_column(bcg):
    """``log(ablat, year)`` would be numpy's ``out=year``: it overwrites the user's column."""
    before = bcg.copy()
    for mods in ("~ I(log(ablat, year))", "~ I(log(ablat, out=year))", "~ I(pmin(ablat, year, out=year))"):
        with pytest.raises(InputError, match=r"the moderator formula term 'I\((log|pmin)"):
            cf.meta_analysis(bcg, mods=mods)
    pd.testing.assert_frame_equal(bcg, before)


@pytest.mark.parametrize("mods, fragment", [
    ("~ I(10 ** 10 ** 10)", "a power of numbers alone"),  # Python integers: would run for hours
    ("~ poly(ablat, 100000)", "expected a whole number from 1 to 12"),  # a 13 x 100000 design
    ("~ np", "uses 'np', which is not a column"),  # formulaic's own namespace holds numpy
    ("~ I(ablt ** 2)", "uses 'ablt', which is not a column (did you mean 'ablat'?)"),
    ("~ I(ablat == 1)", "(a comparison)"),
    ("~ I(ablat % 3)", "(an operator other than + - * / ** and unary minus)"),
    ("~ C(alloc, levels=['random'])", "'levels=' in C()"),
    ("~ ablat | year", "has a left-hand side or several parts"),
    ("~ " + "I(" * 300 + "ablat" + ")" * 300, "cannot parse the moderator formula"),
    ("~ I(" + "+".join(["ablat"] * 20000) + ")", "cannot parse the moderator formula"),
    ("~ (ablat + year)**1000000", "expands to more than 5000 products of terms"),  # 2^1000000 products
    ("~ " + "*".join(["(ablat + year)"] * 30), "expands to more than 5000 products of terms"),  # ~3^30
], ids=["int-power", "poly-degree", "numpy", "misspelled", "comparison", "modulo", "levels", "two-parts",
        "nested", "long", "power-of-terms", "products-of-sums"])
def test_other_refusals_are_one_line(mods, fragment, bcg):
    with pytest.raises(InputError) as e:
        cf.meta_analysis(bcg, mods=mods)
    assert fragment in str(e.value) and "\n" not in str(e.value) and len(str(e.value)) < 1000


def test_bad_values_from_a_valid_formula_name_their_row(bcg_csv):
    data = cf.read_table(bcg_csv)
    with pytest.raises(InputError, match=r"bcg_es\.csv, row 6: the moderator formula gives -inf for "
                       r"'log\(ablat - 13\)'"):  # study 5 has ablat 13
        cf.meta_analysis(data, mods="~ log(ablat - 13)")
    with pytest.raises(InputError, match=r"bcg_es\.csv, row 2, column 'alloc': got 'random'; expected a num"):
        cf.meta_analysis(data, mods="~ I(alloc * 100000000)")  # text in arithmetic, not a 10 GB string
    with pytest.raises(InputError, match=r"column 'alloc': the moderator formula term \"C\(alloc, Treatment\("
                       r"'rand'\)\)\" names the reference level 'rand'.*expected one of 'alternate', 'rand"):
        cf.meta_analysis(data, mods="~ C(alloc, Treatment('rand'))")


def _run(cwd, *args):
    return subprocess.run([sys.executable, "-m", "commonfactors.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _assert_refused(proc, fragment, folder, data, before):
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ") and str(data) in lines[0] and fragment in lines[0], lines[0]
    assert "the moderator formula term" in lines[0] and "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout == ""
    assert not (folder / MARKER).exists()
    assert data.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == [data.name]


FAST = ["exploit", "dataframe-method"]  # the others: test_cli_refuses_every_payload_in_a_real_process


@pytest.mark.parametrize("command", ["pool", "influence"])
@pytest.mark.parametrize("expr, fragment", [h[1:] for h in HOSTILE if h[0] in FAST], ids=FAST)
def test_cli_refuses_in_a_real_process(command, expr, fragment, bcg_csv):
    before = bcg_csv.read_bytes()
    proc = _run(bcg_csv.parent, command, bcg_csv, "--mods", f"~ ablat + {expr}")
    _assert_refused(proc, fragment, bcg_csv.parent, bcg_csv, before)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["pool", "influence"])
@pytest.mark.parametrize("expr, fragment", [h[1:] for h in HOSTILE if h[0] not in FAST],
                         ids=[i for i in IDS if i not in FAST])
def test_cli_refuses_every_payload_in_a_real_process(command, expr, fragment, bcg_csv):
    before = bcg_csv.read_bytes()
    proc = _run(bcg_csv.parent, command, bcg_csv, "--mods", f"~ ablat + {expr}")
    _assert_refused(proc, fragment, bcg_csv.parent, bcg_csv, before)


# Valid formulas: the design against numpy computed directly (identities, exact or 1e-12).

def _X(data, mods):
    ed = effect_data(data, mods=mods)
    return ed.X, ed.names


def test_factor_is_C(bcg):
    X_factor, names_factor = _X(bcg, "~ factor(alloc)")
    X_C, names_C = _X(bcg, "~ C(alloc)")
    np.testing.assert_array_equal(X_factor, X_C)
    assert names_C == ("intrcpt", "allocrandom", "allocsystematic")
    assert names_factor == ("intrcpt", "factor(alloc)random", "factor(alloc)systematic")  # metafor's names


@pytest.mark.parametrize("mods, var", [("~ C(alloc, Treatment('random'))", "alloc"),
                                       ("~ C(alloc, Treatment(reference='random'))", "alloc"),
                                       ("~ factor(alloc, Treatment('random'))", "factor(alloc)")])
def test_treatment_sets_the_reference_level(mods, var, bcg):
    X, names = _X(bcg, mods)
    alloc = bcg["alloc"].to_numpy()
    expected = np.column_stack([np.ones(len(alloc)), alloc == "alternate", alloc == "systematic"])
    np.testing.assert_array_equal(X, expected)
    assert names == ("intrcpt", f"{var}alternate", f"{var}systematic")
    # the same model in other coordinates: the 'random' group's fitted mean is the new intercept
    default = cf.meta_analysis(bcg, mods="~ C(alloc)").to_dict()["coefficients"]
    moved = cf.meta_analysis(bcg, mods=mods).to_dict()["coefficients"]
    assert moved[0]["estimate"] == pytest.approx(default[0]["estimate"] + default[1]["estimate"], rel=1e-10)


@pytest.mark.parametrize("mods, direct", [
    ("~ I(ablat**2)", lambda d: d["ablat"] ** 2.0),
    ("~ I(-ablat / 2 + 1)", lambda d: -d["ablat"] / 2 + 1),
    ("~ log(year)", lambda d: np.log(d["year"])),
    ("~ sqrt(ablat) + abs(ablat - 30)",
     lambda d: np.column_stack([np.sqrt(d["ablat"]), np.abs(d["ablat"] - 30)])),
    ("~ I(pmin(ablat, 30))", lambda d: np.minimum(d["ablat"], 30)),
    ("~ pmax(ablat, 30, year - 1940)", lambda d: np.maximum(np.maximum(d["ablat"], 30), d["year"] - 1940)),
    ("~ scale(ablat) + center(year)", lambda d: np.column_stack(
        [(d["ablat"] - d["ablat"].mean()) / d["ablat"].std(ddof=1), d["year"] - d["year"].mean()])),
    ("~ ablat*year", lambda d: np.column_stack([d["ablat"], d["year"], d["ablat"] * d["year"]])),
], ids=["square", "arithmetic", "log", "sqrt-abs", "pmin", "pmax-three", "scale-center", "interaction"])
def test_functions_give_the_design_numpy_computes(mods, direct, bcg):
    X, _ = _X(bcg, mods)
    expected = np.asarray(direct(bcg), dtype=float).reshape(len(bcg), -1)
    np.testing.assert_allclose(X[:, 1:], expected, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(X[:, 0], 1.0)


def test_poly_is_Rs_orthogonal_polynomial(bcg):
    """R's poly(): the centred powers' QR, Q's columns signed so that R's diagonal is positive."""
    X, names = _X(bcg, "~ poly(ablat, 2)")
    x = bcg["ablat"].to_numpy(float)
    q, r = np.linalg.qr(np.vander(x - x.mean(), 3, increasing=True))
    expected = (q * np.sign(np.diag(r)))[:, 1:]
    np.testing.assert_allclose(X[:, 1:], expected, rtol=1e-12, atol=1e-14)
    assert names[1:] == ("poly(ablat, 2)1", "poly(ablat, 2)2")  # metafor's names


def test_backticks_name_a_column_that_is_not_a_python_name(bcg):
    data = bcg.rename(columns={"ablat": "abs lat"})
    X, _ = _X(data, "~ I(`abs lat` ** 2)")
    np.testing.assert_array_equal(X[:, 1], bcg["ablat"].to_numpy(float) ** 2)


def test_interaction_with_a_category_is_named_as_metafor(bcg):
    """metafor 3.8-1, rma(yi, vi, mods = ~ ablat * alloc): intrcpt, ablat, allocrandom, allocsystematic,
    ablat:allocrandom, ablat:allocsystematic."""
    X, names = _X(bcg, "~ ablat * C(alloc)")
    a, alloc = bcg["ablat"].to_numpy(float), bcg["alloc"].to_numpy()
    direct = {"intrcpt": np.ones(len(a)), "ablat": a, "allocrandom": alloc == "random",
              "allocsystematic": alloc == "systematic", "ablat:allocrandom": a * (alloc == "random"),
              "ablat:allocsystematic": a * (alloc == "systematic")}
    assert sorted(names) == sorted(direct) and names[:2] == ("intrcpt", "ablat")
    for j, name in enumerate(names):
        np.testing.assert_array_equal(X[:, j], direct[name], err_msg=name)
