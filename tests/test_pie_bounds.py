"""The factor pie within bounds: subset R2 by sweeps against direct solves, general dominance against the
brute force over all orderings, and draws or factors that would not fit refused before any work.

References: Goodnight, J. H. (1979). A tutorial on the SWEEP operator. The American Statistician, 33(3),
149-158 (the update of each subset from its parent); Budescu (1993) and Azen & Budescu (2003) (general
dominance); Lindeman, Merenda & Gold (1980) (the same weights as an average over all orderings).
"""

import itertools
import json
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from commonfactors.cli import main
from commonfactors.errors import InputError
from commonfactors.factors import dominance, pie
from commonfactors.factors.corpool import pool_correlation_matrices
from commonfactors.factors.dominance import MAX_FACTORS, equicorrelated, general_dominance, subset_r2
from commonfactors.factors.pie import PieWarning, additive_pie, dominance_pie
from test_dominance import brute_force_orders
from tolerances import ALGEBRA_ATOL, ALGEBRA_RTOL, IDENTITY_RTOL

#: R2 is a proportion: the sweep and a fresh solve per subset agree to this absolute difference
SUBSET_R2_ATOL = 1e-12
#: a refused run reads its input and stops: the interpreter with pandas and numpy, far below what it refused
REFUSED_MAXRSS_BYTES = 400 * 2**20


def random_correlation(rng, p: int, n: int | None = None) -> np.ndarray:
    """A positive definite correlation matrix of p factors and the outcome (last), from n random rows."""
    X = rng.normal(size=(n or 4 * p + 10, p + 1)) @ (np.eye(p + 1) + 0.3 * rng.normal(size=(p + 1, p + 1)))
    return np.corrcoef(X.T)


def direct_subset_r2(R) -> np.ndarray:
    """R2(S) = r_S' R_SS^{-1} r_S by np.linalg.solve for every subset S (bit i of the index: factor i)."""
    p = R.shape[0] - 1
    out = np.zeros(2**p)
    for mask in range(1, 2**p):
        S = [i for i in range(p) if mask >> i & 1]
        out[mask] = R[S, p] @ np.linalg.solve(R[np.ix_(S, S)], R[S, p])
    return out


def matrix_csv(folder, R, name="m.csv") -> str:
    names = [f"f{i}" for i in range(R.shape[0] - 1)] + ["outcome"]
    path = folder / name
    pd.DataFrame(np.round(R, 6), index=names, columns=names).to_csv(path)
    return str(path)


#: runs ``commonfactors ARGS`` from a fresh small interpreter and writes the child's peak resident memory
#: (KiB) and CPU seconds to the file named first. Measured from pytest itself, the child's peak would include
#: pytest's own memory: Linux counts the parent's pages the child held until it ran the new program.
MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen([sys.executable, "-m", "commonfactors.cli", *sys.argv[2:]])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(tmp_path, *args) -> tuple[int, str, str, int, float]:
    """``commonfactors ARGS`` in a new process: exit code, stdout, stderr, and the child's own peak resident
    memory in bytes and CPU seconds (from wait4: the work it did, whatever else the machine runs)."""
    usage = tmp_path / "usage.txt"
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(usage), *map(str, args)], capture_output=True,
                          text=True, timeout=600)
    maxrss_kib, cpu = usage.read_text().split()
    return proc.returncode, proc.stdout, proc.stderr, int(maxrss_kib) * 1024, float(cpu)


def assert_refused(res, *fragments):
    code, stdout, stderr, maxrss, cpu = res
    assert code == 2, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    assert stdout == ""
    assert maxrss < REFUSED_MAXRSS_BYTES, maxrss
    assert cpu < 5, cpu  # the refused work would take minutes


# --- the algorithm -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", range(1, 11))
def test_swept_subset_r2_equals_a_solve_per_subset(p):
    rng = np.random.default_rng(100 + p)
    for R in (random_correlation(rng, p), random_correlation(rng, p, n=p + 3)):  # the second near singular
        assert np.allclose(subset_r2(R), direct_subset_r2(R), rtol=0, atol=SUBSET_R2_ATOL)


def test_sweeps_split_to_fit_the_cache_give_the_same_r2(monkeypatch):
    """With a tiny work area, each matrix is split by its first factors (and batches into single matrices):
    the same numbers as one batch, and as the direct solves."""
    rng = np.random.default_rng(5)
    Rs = np.stack([random_correlation(rng, 7) for _ in range(3)])
    whole, whole_gd = subset_r2(Rs), general_dominance(Rs)
    monkeypatch.setattr(dominance, "WORK_BYTES", 2000)
    assert dominance.working_bytes(7) > dominance.WORK_BYTES  # the split path runs
    split = subset_r2(Rs)
    assert np.array_equal(split, whole)
    for R, r2 in zip(Rs, split, strict=True):
        assert np.allclose(r2, direct_subset_r2(R), rtol=0, atol=SUBSET_R2_ATOL)
    assert np.allclose(general_dominance(Rs), whole_gd, rtol=IDENTITY_RTOL, atol=ALGEBRA_ATOL)


@pytest.mark.parametrize("p", [1, 2, 4, 6])
def test_general_dominance_equals_the_average_over_all_orderings(p):
    R = random_correlation(np.random.default_rng(p), p)
    gd = general_dominance(R)
    assert np.allclose(gd, brute_force_orders(R), rtol=ALGEBRA_RTOL, atol=ALGEBRA_ATOL)
    assert gd.sum() == pytest.approx(direct_subset_r2(R)[-1], rel=IDENTITY_RTOL)


def test_batches_of_any_shape_equal_one_matrix_at_a_time():
    rng = np.random.default_rng(11)
    Rs = np.stack([random_correlation(rng, 5) for _ in range(6)]).reshape(2, 3, 6, 6)
    gd, r2 = general_dominance(Rs), subset_r2(Rs)
    assert gd.shape == (2, 3, 5) and r2.shape == (2, 3, 32)
    for idx in itertools.product(range(2), range(3)):
        assert np.array_equal(r2[idx], subset_r2(Rs[idx]))  # the same operations on each matrix
        assert np.allclose(gd[idx], general_dominance(Rs[idx]), rtol=IDENTITY_RTOL, atol=ALGEBRA_ATOL)


def test_too_many_factors_are_refused_before_any_work():
    R = np.eye(MAX_FACTORS + 2)
    message = rf"{MAX_FACTORS + 1} factors: .*; expected at most {MAX_FACTORS} "
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=message):
            general_dominance(R)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # the 2**21 subsets (16 MiB of R2 alone) were never allocated


# --- the pies: memory bounded, budgets checked first ------------------------------------------------------


def _dominance_peak(R, draws) -> int:
    names = [f"f{i}" for i in range(R.shape[0] - 1)] + ["outcome"]
    frame = pd.DataFrame(R, index=names, columns=names)
    tracemalloc.start()
    try:
        dominance_pie(frame, n=5000, draws=draws, seed=2)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_dominance_pie_memory_grows_only_by_what_each_draw_keeps():
    """Ten times the draws cost only the kept weights of the extra draws: no (draws, 2**p) subset R2 and no
    (draws, p + 1, p + 1) matrices at once (before, 50,000 draws of 8 factors held 100 MB of subset R2)."""
    R = equicorrelated(np.linspace(0.1, 0.4, 8), 0.3)
    small, large = _dominance_peak(R, 5000), _dominance_peak(R, 50000)
    assert large - small < 45000 * 8 * (8 + 8)


def test_chunks_of_draws_give_the_numbers_of_one_batch(monkeypatch):
    """The kept draws are the first valid ones of the seed's stream whatever the chunk size."""
    R = random_correlation(np.random.default_rng(9), 4, n=60)
    names = ["a", "b", "c", "d", "outcome"]
    frame = pd.DataFrame(R, index=names, columns=names)
    with pytest.warns(PieWarning, match="not positive definite"):  # some draws are redrawn: order matters
        one = dominance_pie(frame, n=40, draws=3000, seed=4)
    monkeypatch.setattr(pie, "DRAW_CHUNK", 257)
    with pytest.warns(PieWarning, match="not positive definite"):
        chunked = dominance_pie(frame, n=40, draws=3000, seed=4)
    assert one.rejected_draws > 0 and chunked.rejected_draws > 0
    for a, b in zip(one.components, chunked.components, strict=True):
        assert (a.share, a.ci_low, a.ci_high) == pytest.approx((b.share, b.ci_low, b.ci_high), rel=1e-12)
    r2_one, r2_chunked = (one.r2.ci_low, one.r2.ci_high), (chunked.r2.ci_low, chunked.r2.ci_high)
    assert r2_one == pytest.approx(r2_chunked, rel=1e-12)


def test_over_budget_draws_are_refused_before_allocating():
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"draws = 1,000,000,000 of 3 factors need 67\.1 GiB .* "
                                             r"budget of 2\.0 GiB .*expected at most [\d,]+ draws"):
            additive_pie(_components(), draws=10**9)
        R = random_correlation(np.random.default_rng(1), 6)
        frame = pd.DataFrame(R, index=[*"abcdef", "outcome"], columns=[*"abcdef", "outcome"])
        with pytest.raises(InputError, match=r"draws = 300,000,000 of 6 factors need .* GiB of memory"):
            dominance_pie(frame, n=100, draws=300_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def _components():
    return [pie.component("alliance", "r", 0.278, se=0.02), pie.component("technique", "d", 0.2, se=0.05),
            pie.component("therapist", "icc", 0.05, se=0.3)]


def test_the_budget_is_half_the_machine_when_that_is_less(monkeypatch):
    sizes = {"SC_PHYS_PAGES": 2**18, "SC_PAGE_SIZE": 4096}  # a 1 GiB machine
    monkeypatch.setattr(pie.os, "sysconf", lambda name: sizes[name])
    assert pie.memory_budget() == 2**29
    with pytest.raises(InputError, match=r"budget of 512 MiB"):
        additive_pie(_components(), draws=10_000_000)


def test_the_largest_draws_allowed_run_within_the_budget(monkeypatch):
    """The "at most N draws" of the message is itself accepted (a smaller budget keeps the test quick)."""
    monkeypatch.setattr(pie, "MEMORY_BUDGET", 2**20)
    with pytest.raises(InputError, match=r"at most ([\d,]+) draws") as e:
        additive_pie(_components(), draws=200_000)
    most = int(str(e.value).rsplit("at most ", 1)[1].split()[0].replace(",", ""))
    assert additive_pie(_components(), draws=most, seed=1).draws == most
    with pytest.raises(InputError):
        additive_pie(_components(), draws=most + 1)


def test_dominance_work_beyond_the_limit_is_refused_with_the_draws_that_fit():
    R = np.eye(MAX_FACTORS + 1)
    R[:-1, -1] = R[-1, :-1] = 0.1
    frame = pd.DataFrame(R, index=[*map(str, range(MAX_FACTORS)), "outcome"],
                         columns=[*map(str, range(MAX_FACTORS)), "outcome"])
    most = pie.MAX_SUBSET_R2 // 2**MAX_FACTORS
    with pytest.raises(InputError, match=rf"more than the 2,147,483,648 .* expected at most {most:,} draws"):
        dominance_pie(frame, n=100, draws=10000)


def long_correlations(q: int, k: int) -> pd.DataFrame:
    """k studies each reporting all correlations of q variables (the last one the outcome), r = 0.1."""
    names = [f"v{i}" for i in range(q - 1)] + ["outcome"]
    pairs = itertools.combinations(range(q), 2)
    rows = [(f"s{s}", names[a], names[b], 0.1, 200) for a, b in pairs for s in range(k)]
    return pd.DataFrame(rows, columns=["study", "var1", "var2", "r", "n"])


def test_pooling_more_variables_than_a_pie_takes_is_refused_before_pooling():
    frame = long_correlations(MAX_FACTORS + 2, 2)  # before: 30 s of GLS, then refused by the pie
    cpu = time.process_time()
    with pytest.raises(InputError, match=rf"{MAX_FACTORS + 1} factors: .*expected at most {MAX_FACTORS} "):
        pool_correlation_matrices(frame)
    assert time.process_time() - cpu < 2


def test_pooling_beyond_the_memory_budget_is_refused(monkeypatch):
    frame = long_correlations(4, 3)  # 6 correlations: 7 x 3 x 36 + 2 x 216 doubles = 9,504 bytes
    assert pool_correlation_matrices(frame).k == 3
    monkeypatch.setattr(pie, "MEMORY_BUDGET", 9000)
    message = (r"4 variables in 3 studies: pooling their 6 correlations needs 9,504 bytes of memory, "
               r"more than the budget of 9,000 bytes; expected fewer")
    with pytest.raises(InputError, match=message):
        pool_correlation_matrices(frame)


def test_assumed_correlations_beyond_the_work_limit_are_refused_at_once():
    rxy = {f"f{i}": 0.1 for i in range(MAX_FACTORS)}
    most = pie.MAX_SUBSET_R2 // 2**MAX_FACTORS
    cpu = time.process_time()
    with pytest.raises(InputError, match=rf"expected at most {most:,} assumed correlations"):
        pie.dominance_sensitivity(rxy, rho=[0.1] * (most + 1))
    assert time.process_time() - cpu < 1  # the refused work: 2,049 matrices of 2**20 subsets


@pytest.mark.parametrize("seed", [-1, -(2**70)])
def test_negative_seeds_are_input_errors(seed):
    with pytest.raises(InputError, match=rf"seed = {seed}; expected an integer >= 0"):
        additive_pie(_components(), draws=100, seed=seed)


# --- through the command line, in a real process ----------------------------------------------------------


def test_cli_refuses_a_billion_draws_in_one_line_without_allocating(tmp_path):
    assert_refused(run_measured(tmp_path, "pie", "--draws", 10**9), "draws = 1,000,000,000", "GiB of memory",
                   "budget of", "expected at most")


def test_cli_refuses_a_billion_dominance_draws_naming_the_file(tmp_path):
    path = matrix_csv(tmp_path, random_correlation(np.random.default_rng(3), 6))
    assert_refused(run_measured(tmp_path, "pie", "--correlations", path, "--n", 300, "--draws", 10**9),
                   f"Error: {path}: draws = 1,000,000,000 of 6 factors", "expected at most")


@pytest.mark.parametrize("content, message", [
    (b",a,outcome\na,1,0.3\noutcome,0.3,1\xff\n", "m.csv: not UTF-8 text (invalid start byte); expected"),
    (b",a,outcome\n\na,1,0.3,4\noutcome,0.3,1\n", "m.csv, row 3: 4 cells; expected 3"),  # a blank line counts
    (b",a,outcome\na,1,0.3\noutcome,0.3,1\nb,1,1\n", "m.csv, row 4: more rows than the 2 variables"),
], ids=["latin-1", "blank-line", "extra-row"])
def test_cli_refuses_a_bad_square_file_naming_its_line(tmp_path, content, message):
    (tmp_path / "m.csv").write_bytes(content)
    assert_refused(run_measured(tmp_path, "pie", "--correlations", tmp_path / "m.csv", "--n", 100), message)
    assert (tmp_path / "m.csv").read_bytes() == content


def test_cli_refuses_a_negative_seed_in_one_line(tmp_path):
    assert_refused(run_measured(tmp_path, "pie", "--seed", -5), "seed = -5; expected an integer >= 0")


def test_cli_refuses_more_factors_than_the_maximum_at_once(tmp_path):
    p = MAX_FACTORS + 1
    path = matrix_csv(tmp_path, random_correlation(np.random.default_rng(4), p, n=400))
    before = (tmp_path / "m.csv").read_bytes()
    assert_refused(run_measured(tmp_path, "pie", "--correlations", path, "--n", 300),
                   f"{path}: {p} factors", f"expected at most {MAX_FACTORS} factors")
    assert (tmp_path / "m.csv").read_bytes() == before


def test_cli_refuses_twenty_factors_with_default_draws_naming_the_draws_that_fit(tmp_path):
    path = matrix_csv(tmp_path, random_correlation(np.random.default_rng(6), 20, n=400))
    assert_refused(run_measured(tmp_path, "pie", "--correlations", path, "--n", 300),
                   "draws = 10,000 of 20 factors", "expected at most 2,048 draws with 20 factors")


@pytest.mark.slow
def test_twelve_factors_with_the_default_draws_complete(tmp_path):
    """Took 53-123 s and 1.1 GB before the sweeps; now 3-5 s (a new interpreter included) in 140 MB."""
    R = random_correlation(np.random.default_rng(12), 12, n=3000)
    path = matrix_csv(tmp_path, R)
    code, stdout, stderr, maxrss, _ = run_measured(tmp_path, "pie", "--correlations", path, "--n", 3000,
                                                   "--format", "json")
    assert code == 0, stderr
    res = json.loads(stdout)
    assert res["draws"] == 10000 and len(res["components"]) == 12
    frame = pd.read_csv(path, index_col=0).to_numpy()
    gd = general_dominance(frame)
    assert [c["share"] for c in res["components"]] == pytest.approx(list(gd), rel=IDENTITY_RTOL)
    assert res["r2"]["share"] == pytest.approx(gd.sum(), rel=IDENTITY_RTOL)
    assert all(c["ci_low"] <= c["ci_high"] for c in res["components"])
    assert maxrss < 400 * 2**20


def test_pie_help_speaks_to_users():
    from click.testing import CliRunner

    text = CliRunner().invoke(main, ["pie", "--help"]).output
    flat = " ".join(text.split())
    assert "Monte Carlo draws" in flat
    # the limits the help states are the ones applied
    assert f"not fit in {pie.MEMORY_BUDGET // 2**30} GiB" in flat
    assert f"more than {MAX_FACTORS} factors" in flat
    assert f"more than 2^{pie.MAX_SUBSET_R2.bit_length() - 1} subset R2" in flat
    for word in ("issue", "helper", "session", "task", "todo"):
        assert word not in text.lower(), word
