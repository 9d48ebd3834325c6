"""``commonfactors plot``: the report's figures from the command line, written atomically, deterministically,
with the study labels the report uses."""

import os
import subprocess
import sys

import pytest

from cli_run import in_process


@pytest.mark.parametrize("kind, source, extra", [
    ("forest", "molloy2014", []), ("funnel", "molloy2014", []), ("baujat", "molloy2014", []),
    ("cumulative", "molloy2014", ["--order", "year"])])
@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_each_figure_in_each_format_is_written_deterministically(tmp_path, kind, source, extra, suffix):
    out = tmp_path / f"{kind}.{suffix}"
    res = in_process("plot", kind, source, *extra, "--out", out)
    assert res.returncode == 0, res.stderr
    first = out.read_bytes()
    assert len(first) > 1000 and res.stdout.strip() == str(out)
    assert in_process("plot", kind, source, *extra, "--out", out).returncode == 0
    assert out.read_bytes() == first


def test_the_forest_plot_labels_studies_and_names_the_measure(tmp_path):
    out = tmp_path / "forest.svg"
    assert in_process("plot", "forest", "molloy2014", "--out", out).returncode == 0
    svg = out.read_text()
    # molloy2014: authors and year, as the report labels them; the axis names the measure (ZCOR)
    assert "Axelsson et al., 2009" in svg and "Wiebe &amp; Christensen, 1997" in svg
    assert "Fisher's r-to-z transformed correlation" in svg


def test_the_variance_pie(tmp_path):
    out = tmp_path / "pie.png"
    res = in_process("plot", "pie", "--out", out)
    assert res.returncode == 0 and out.stat().st_size > 10_000


@pytest.mark.parametrize("args, message", [
    (["forest", "molloy2014", "--out", "f.jpg"], "expected a .png, .svg or .pdf file"),
    (["forest", "--out", "f.png"], "plot forest needs FILE_OR_DATASET"),
    (["pie", "molloy2014", "--out", "f.png"], "no FILE"),
    (["forest", "nosuchdataset", "--out", "f.png"], "no dataset 'nosuchdataset'"),
])
def test_bad_input_is_one_line_and_no_file(tmp_path, args, message):
    res = in_process("plot", *[str(tmp_path / a) if a.startswith("f.") else a for a in args])
    assert res.returncode == 2 and message in res.stderr and res.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_the_file_gets_the_users_umask(tmp_path):
    out = tmp_path / "forest.png"
    code = ("import os, sys; os.umask(0o027); from commonfactors.cli import main; "
            "sys.argv = ['commonfactors', 'plot', 'forest', 'molloy2014', '--out', sys.argv[1]]; main()")
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, capture_output=True, timeout=120)
    assert os.stat(out).st_mode & 0o777 == 0o640


def test_nested_effect_sizes_are_said_unless_drawn_one_row_per_study(tmp_path):
    out = tmp_path / "forest.png"
    res = in_process("plot", "forest", "assink2016", "--out", out)
    assert res.returncode == 0
    assert res.stderr.count("100 effect sizes from 17 studies are not independent") == 1
    assert "not independent" not in in_process("plot", "forest", "assink2016", "--cluster", "study",
                                               "--out", out).stderr
