"""The command line's error contract, across every subcommand (DESIGN.md "Conventions"; STYLE.md section 7).

Bad user input -- a missing file, an unknown dataset ID, a misspelled column, a bad value -- gives exit code
2, exactly one line on stderr (starting "Error: " and saying what was wrong), nothing on stdout, no
traceback, and no output file (or folder) when ``--out`` is given. Every case runs in-process through
click's CliRunner; one case per command also runs as a real subprocess, because the exit code and the
stderr text a shell sees are the contract.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from commonfactors.cli import COMMANDS, main

HERE = Path(__file__).parent
BCG_YI_VI = HERE / "conformance" / "inputs" / "model_bcg_RR.csv"  # yi, vi of the 13 BCG trials (RR)
MATRIX = ",alliance,empathy,outcome\nalliance,1,.3,.28\nempathy,.3,1,.2\noutcome,.28,.2,1\n"
COUNTS = "trial,tpos,tneg,cpos,cneg\n1,4,119,11,128\n2,6,300,29,274\n3,3,228,11,209\n"  # first 3 BCG trials

#: (id, arguments, a fragment of the expected message, the --out target the command must not create).
#: Placeholders: {dir} is a fresh folder holding the input files written by ``inputs()``.
CASES = [
    # pool
    ("pool-missing-file", ["pool", "{dir}/nofile.csv"], "no such file or dataset", None),
    ("pool-unknown-dataset", ["pool", "nosuchdataset"], "no dataset 'nosuchdataset'", None),
    ("pool-misspelled-column", ["pool", "{dir}/bcg.csv", "--yi", "yy"], "no column 'yy'", None),
    ("pool-bad-vi", ["pool", "{dir}/bad_vi.csv"], "row 4, column 'vi': got -0.5", None),
    ("pool-bad-option", ["pool", "{dir}/bcg.csv", "--method", "XX"], "Invalid value for '--method'", None),
    # bias
    ("bias-missing-file", ["bias", "{dir}/nofile.csv"], "no such file or dataset", None),
    ("bias-unknown-dataset", ["bias", "nosuchdataset"], "no dataset 'nosuchdataset'", None),
    ("bias-misspelled-column", ["bias", "{dir}/bcg.csv", "--vi", "v"], "no column 'v'", None),
    ("bias-bad-vi", ["bias", "{dir}/bad_vi.csv"], "row 4, column 'vi': got -0.5", None),
    # influence
    ("influence-missing-file", ["influence", "{dir}/nofile.csv"], "no such file or dataset", None),
    ("influence-unknown-dataset", ["influence", "nosuchdataset"], "no dataset 'nosuchdataset'", None),
    ("influence-misspelled-column", ["influence", "{dir}/bcg.csv", "--yi", "y"], "no column 'y'", None),
    ("influence-bad-vi", ["influence", "{dir}/bad_vi.csv"], "row 4, column 'vi': got -0.5", None),
    # effects (--out with --format csv)
    *[
        (f"effects-{name}", ["effects", source, "--measure", "RR", "--ai", ai, "--bi", "tneg", "--ci", "cpos",
                             "--di", "cneg", *extra, "--format", "csv", "--out", "{dir}/es.csv"],
         message, "{dir}/es.csv")
        for name, source, ai, extra, message in [
            ("missing-file", "{dir}/nofile.csv", "tpos", [], "no such file or dataset"),
            ("unknown-dataset", "nosuchdataset", "tpos", [], "no dataset 'nosuchdataset'"),
            ("misspelled-column", "bcg", "tposs", [], "no column 'tposs' (did you mean 'tpos'?)"),
            ("bad-count", "{dir}/bad_counts.csv", "tpos", [], "row 3, column 'tpos': got -3"),
            ("bad-add", "{dir}/counts.csv", "tpos", ["--add", "-1"], "expected a number >= 0"),
        ]
    ],
    # datasets (IDs, not files)
    ("datasets-show-unknown", ["datasets", "show", "nosuchdataset"], "no dataset 'nosuchdataset'", None),
    ("datasets-cite-unknown", ["datasets", "cite", "nosuchdataset"], "no dataset 'nosuchdataset'", None),
    ("datasets-export-unknown", ["datasets", "export", "nosuchdataset", "--out", "{dir}/d.csv"],
     "no dataset 'nosuchdataset'", "{dir}/d.csv"),
    ("datasets-export-bad-extension", ["datasets", "export", "bcg", "--out", "{dir}/d.xyz"],
     "cannot tell the output format", "{dir}/d.xyz"),
    # factors (element names, not files)
    ("factors-show-unknown", ["factors", "show", "alliances"], "no element 'alliances'", None),
    ("factors-bad-format", ["factors", "list", "--format", "xml"], "Invalid value for '--format'", None),
    # pie (--correlations FILE)
    ("pie-missing-file", ["pie", "--correlations", "{dir}/nofile.csv", "--n", "100"], "does not exist", None),
    ("pie-misspelled-outcome", ["pie", "--correlations", "{dir}/misnamed.csv", "--n", "100"],
     "no row named 'outcome'", None),
    ("pie-bad-correlation", ["pie", "--correlations", "{dir}/bad_r.csv", "--n", "100"],
     "got 1.3; expected a correlation in [-1, 1]", None),
    ("pie-bad-draws", ["pie", "--draws", "5"], "expected an integer >= 100", None),
    # convert (numbers, not files)
    ("convert-bad-correlation", ["convert", "r", "d", "1.5"], "expected a correlation in (-1, 1)", None),
    ("convert-bad-metric", ["convert", "q", "d", "2"], "Invalid value for 'FROM'", None),
    # plot (--out FIG)
    ("plot-bad-suffix", ["plot", "forest", "{dir}/bcg.csv", "--out", "{dir}/f.jpg"],
     "expected a .png, .svg or .pdf file", "{dir}/f.jpg"),
    ("plot-misspelled-column", ["plot", "forest", "{dir}/bcg.csv", "--yi", "yy", "--out", "{dir}/f.png"],
     "no column 'yy'", "{dir}/f.png"),
    # reproduce (analysis IDs)
    ("reproduce-unknown", ["reproduce", "nosuchanalysis"], "no analysis 'nosuchanalysis'", None),
    ("reproduce-ids-and-all", ["reproduce", "molloy2014", "--all"], "not both", None),
    # report (--out DIR)
    *[
        (f"report-{name}", ["report", source, *extra, "--quiet", "--out", "{dir}/site"], message,
         "{dir}/site")
        for name, source, extra, message in [
            ("missing-file", "{dir}/nofile.csv", [], "no such file or dataset"),
            ("unknown-dataset", "nosuchdataset", [], "no dataset 'nosuchdataset'"),
            ("misspelled-column", "{dir}/bcg.csv", ["--yi", "yy"], "no column 'yy'"),
            ("bad-vi", "{dir}/bad_vi.csv", [], "row 4, column 'vi': got -0.5"),
        ]
    ],
    # report-all takes no input: only its options can be wrong
    ("report-all-bad-option", ["report-all", "--out", "{dir}/site", "--bogus"], "No such option '--bogus'",
     "{dir}/site"),
    # the command group itself
    ("unknown-command", ["poool", "{dir}/bcg.csv"], "No such command 'poool'", None),
    # therapists (--plot FIG)
    ("therapists-missing-file", ["therapists", "{dir}/nofile.csv", "--therapist", "t", "--outcome", "y",
                                 "--plot", "{dir}/cat.png"], "no such file or dataset", "{dir}/cat.png"),
    ("therapists-misspelled-column", ["therapists", "{dir}/bcg.csv", "--therapist", "vi", "--outcome", "yy",
                                      "--plot", "{dir}/cat.png"], "no column 'yy'", "{dir}/cat.png"),
    # network (--plot graph --out FIG)
    ("network-missing-file", ["network", "{dir}/nofile.csv", "--treatment", "t", "--events", "e", "--n", "n",
                              "--measure", "OR", "--plot", "graph", "--out", "{dir}/net.png"],
     "no such file or dataset", "{dir}/net.png"),
    ("network-misspelled-column", ["network", "{dir}/bcg.csv", "--study", "yi", "--treatment", "vii",
                                   "--events", "yi", "--n", "vi", "--measure", "OR", "--plot", "graph",
                                   "--out", "{dir}/net.png"], "no column 'vii'", "{dir}/net.png"),
    # monitor
    ("monitor-missing-file", ["monitor", "{dir}/nofile.csv", "--client", "c", "--session", "s", "--score",
                              "y", "--instrument", "ORS"], "no such file or dataset", None),
    ("monitor-misspelled-column", ["monitor", "{dir}/bcg.csv", "--client", "yi", "--session", "vi", "--score",
                                   "yy", "--instrument", "ORS"], "no column 'yy'", None),
    ("monitor-bad-session", ["monitor", "{dir}/bcg.csv", "--client", "yi", "--session", "vi", "--score", "yi",
                             "--instrument", "ORS"], "column 'vi': got 0.", None),
    # simulate-practice
    ("simulate-practice-bad-icc", ["simulate-practice", "--icc", "1.2", "--out", "{dir}/sim.csv"],
     "icc = 1.2; expected a number in [0, 1)", "{dir}/sim.csv"),
    ("simulate-practice-sites", ["simulate-practice", "--site-icc", "0.1", "--out", "{dir}/sim.csv"],
     "site_icc = 0.1 without sites", "{dir}/sim.csv"),
    # simulate
    ("simulate-bad-k", ["simulate", "--k", "1,5", "--reps", "10", "--seed", "1", "--out", "{dir}/sim.csv"],
     "k='1'; expected whole numbers of studies >= 2", "{dir}/sim.csv"),
    ("simulate-bad-out", ["simulate", "--reps", "10", "--seed", "1", "--out", "{dir}/sim.txt"],
     "expected a .csv or .parquet file", "{dir}/sim.txt"),
]

#: one case per command, run again as a real subprocess
SUBPROCESS = {
    "pool-missing-file", "bias-unknown-dataset", "influence-bad-vi", "effects-bad-count",
    "datasets-export-unknown", "factors-show-unknown", "pie-missing-file", "reproduce-unknown",
    "report-misspelled-column", "report-all-bad-option", "convert-bad-correlation",
    "plot-misspelled-column", "simulate-practice-bad-icc", "therapists-misspelled-column",
    "network-misspelled-column", "monitor-misspelled-column", "simulate-bad-k",
}


def inputs(folder: Path) -> Path:
    """The input files the cases read: good and bad versions of each kind of input."""
    shutil.copy(BCG_YI_VI, folder / "bcg.csv")
    lines = BCG_YI_VI.read_text().splitlines()
    yi = lines[3].split(",")[0]
    lines[3] = f"{yi},-0.5"  # row 4 as an editor counts (header = row 1)
    (folder / "bad_vi.csv").write_text("\n".join(lines) + "\n")
    (folder / "counts.csv").write_text(COUNTS)
    (folder / "bad_counts.csv").write_text(COUNTS.replace("\n2,6,", "\n2,-3,"))
    (folder / "misnamed.csv").write_text(MATRIX.replace("outcome", "outcom"))
    (folder / "bad_r.csv").write_text(MATRIX.replace(".3", "1.3"))
    return folder


def _fill(items, folder: Path) -> list[str]:
    return [a.replace("{dir}", str(folder)) for a in items]


def _check(code: int, stdout: str, stderr: str, message: str, out: str | None, folder: Path) -> None:
    lines = stderr.splitlines()
    assert code == 2, (code, stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ") and message in lines[0], lines[0]
    assert "Traceback" not in stderr + stdout
    assert stdout == ""
    if out is not None:
        assert not Path(out.replace("{dir}", str(folder))).exists()
    # nothing half-written next to the output either (atomic writes use temporary files in the same folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["bcg.csv", "bad_vi.csv", "counts.csv", "bad_counts.csv", "misnamed.csv", "bad_r.csv"])


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(case, tmp_path):
    _, args, message, out = case
    folder = inputs(tmp_path)
    res = CliRunner().invoke(main, _fill(args, folder))
    assert isinstance(res.exception, SystemExit), res.exception  # not an uncaught exception
    _check(res.exit_code, res.stdout, res.stderr, message, out, folder)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in SUBPROCESS],
                         ids=[c[0] for c in CASES if c[0] in SUBPROCESS])
def test_bad_input_exits_2_with_one_line_in_a_shell(case, tmp_path):
    _, args, message, out = case
    folder = inputs(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "commonfactors.cli", *_fill(args, folder)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    _check(proc.returncode, proc.stdout, proc.stderr, message, out, folder)


def test_every_command_is_covered():
    """A new subcommand must bring its error cases here, and each command runs once as a subprocess."""
    covered = {c[1][0] for c in CASES}
    assert set(COMMANDS) <= covered
    assert {c[1][0] for c in CASES if c[0] in SUBPROCESS} == set(COMMANDS)
    assert SUBPROCESS <= {c[0] for c in CASES}
