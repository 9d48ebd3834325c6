"""The report at many studies, and text from data drawn as typed (``commonfactors.report``).

Labels such as ``Smith $5 vs $10`` or ``$\\frac{1}{$`` are study names, not mathtext: the figures keep them
as typed and render them to PNG and SVG. A report of thousands of studies stays a readable page: figures
of bounded size, tables cut to ``content.TABLE_ROWS`` rows with the whole table in a linked CSV file, and the
rule that cut them stated on the page; at 10,000 studies (slow) it runs in under 1 GB.
"""

import csv
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import commonfactors as cf
from cli_run import in_a_process
from commonfactors.report import content, figures, site

pytestmark = pytest.mark.filterwarnings("ignore::commonfactors.CommonFactorsWarning")

#: study labels that matplotlib would read as mathtext (the second one does not even parse as mathtext)
MATH_LIKE = ["Smith $5 vs $10", "Lee $\\frac{1}{$ 2003", "Kim a_b^c {x} $y$"]


def _labels_data(k: int = 6):
    rng = np.random.default_rng(11)
    slab = MATH_LIKE + [f"study {i}" for i in range(k - len(MATH_LIKE))]
    return slab, rng.normal(0.3, 0.3, k), rng.uniform(0.01, 0.1, k), np.arange(1990.0, 1990.0 + k)


def _glyph(char: str) -> str:
    """The id of ``char``'s glyph in an SVG written with ``svg.fonttype = "path"`` (DejaVu Sans)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont("DejaVu Sans"))
    return f'id="DejaVuSans-{font.get_char_index(ord(char)):x}"'


def _forest():
    slab, yi, vi, _ = _labels_data()
    return figures.forest(cf.meta_analysis(yi=yi, vi=vi, slab=slab), title=MATH_LIKE[0], xlabel=MATH_LIKE[1])


def _cumulative():
    slab, yi, vi, year = _labels_data()
    cum = cf.cumulative(yi=yi, vi=vi, slab=slab, order=year)
    return figures.cumulative_forest(cum, order_label=MATH_LIKE[2], title=MATH_LIKE[0])


def _baujat():
    slab, yi, vi, _ = _labels_data()
    return figures.baujat(cf.meta_analysis(yi=yi, vi=vi, slab=slab), title=MATH_LIKE[2])


def _funnel():
    slab, yi, vi, _ = _labels_data()
    return figures.funnel(cf.meta_analysis(yi=yi, vi=vi, slab=slab), xlabel=MATH_LIKE[0], title=MATH_LIKE[1])


@pytest.mark.parametrize("draw", [_forest, _cumulative, _baujat, _funnel], ids=lambda f: f.__name__[1:])
def test_labels_from_data_are_drawn_as_typed(draw, tmp_path):
    from matplotlib.text import Text

    fig = draw()
    texts = [t for t in fig.findobj(Text) if any(label in t.get_text() for label in MATH_LIKE)]
    assert texts, "no text holds a label"
    assert all(t.get_parse_math() is False for t in texts)
    png, svg = figures.save(fig, tmp_path / "figure")
    assert png.read_bytes().startswith(b"\x89PNG")
    drawn = svg.read_text(encoding="utf-8")
    for line in (line for t in texts for line in t.get_text().split("\n")):
        assert f"<!-- {line} -->" in drawn  # the SVG names each line it draws as paths in a comment
    assert _glyph("$") in drawn and _glyph("\\") in drawn  # drawn as characters, not as mathtext


def test_report_of_math_like_labels_runs_in_a_process(tmp_path):
    data = tmp_path / "labels.csv"
    slab, yi, vi, year = _labels_data()
    with data.open("w", newline="") as f:
        rows = zip(slab, year.astype(int), yi, vi, strict=True)
        csv.writer(f).writerows([["study", "year", "yi", "vi"], *rows])
    before = data.read_bytes()
    res = in_a_process("report", data, "--out", tmp_path / "out", "--quiet")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "Smith $5 vs $10" in page and "Lee $\\frac{1}{$ 2003" in page
    assert len(list((tmp_path / "out" / "figures").glob("*.svg"))) == 4  # forest, funnel, Baujat, cumulative
    assert data.read_bytes() == before


# ------------------------------------------------------------------------------------------------------
# a report of many studies

K = 1200  # above figures.VECTOR_STUDIES: the SVGs embed the study markers as an image


def _write_studies(path: Path, k: int, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.04))
    yi[:3] += 3.0  # three outliers, flagged as influential
    year = rng.integers(1960, 2024, k)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["study", "year", "yi", "vi"])
        w.writerows([f"Study {i + 1} $5 vs $10", year[i], f"{yi[i]:.6f}", f"{vi[i]:.6f}"] for i in range(k))
    return path


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    data = _write_studies(folder / "many.csv", K)
    out = site.build_report(cf.read_table(data), folder / "out", source=data, progress=False)
    return out, (out / "index.html").read_text(encoding="utf-8")


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])  # the IHDR chunk: width, height


def test_many_studies_page_stays_small_with_whole_tables_in_csv(many):
    out, page = many
    assert len(page.encode()) < 100_000
    studies = page.split("Studies in this model")[1].split("</table>")[0]
    assert studies.count("<tr><td") == content.TABLE_ROWS
    assert f"the first {content.TABLE_ROWS} of {K}, in file" in studies
    rows = _csv(out / "tables" / "many-csv-studies.csv")
    assert [r["line"] for r in rows] == [str(i) for i in range(2, K + 2)]  # file lines, header = 1
    assert rows[0]["study"].startswith("Study 1 $5 vs $10, ")
    assert 'href="tables/many-csv-studies.csv"' in studies


def test_many_studies_influence_table_lists_the_flagged_then_the_largest_cooks_distance(many):
    out, page = many
    table = page.split('<table class="influence">')[1].split("</table>")[0]
    shown = re.findall(r'<tr( class="flagged")?><td class="num">(\d+)</td>', table)
    assert len(shown) == content.TABLE_ROWS
    full = _csv(out / "tables" / "many-csv-influence.csv")
    assert len(full) == K and 'href="tables/many-csv-influence.csv"' in page
    flagged = [r["line"] for r in full if r["influential"] == "True"]
    assert {"2", "3", "4"} <= set(flagged)  # the three outliers
    ranked = sorted(full, key=lambda r: (r["influential"] != "True", -float(r["cooks_d"])))  # stable
    expected = [r["line"] for r in ranked][: content.TABLE_ROWS]
    assert [line for _, line in shown] == expected
    assert [bool(flag) for flag, _ in shown] == [line in flagged for line in expected]
    assert f"{len(flagged)} of {K} studies" in page


def test_many_studies_figures_are_bounded_and_their_rules_stated(many):
    out, page = many
    for png in (out / "figures").glob("*.png"):
        width, height = _png_size(png)
        assert width <= figures.WIDTH * figures.DPI and height <= 11 * figures.DPI, png.name
    for svg in (out / "figures").glob("*.svg"):
        assert svg.stat().st_size < 400_000, svg.name  # 10 times less than one vector shape per study
    text = re.sub(r"\s+", " ", page)
    assert f"The rows are not labelled: all {K} studies are drawn, one thin row each" in text
    assert "sorted by effect size" in text
    assert f"With more than {figures.MAX_LABELLED} studies the intervals form a shaded band" in text
    assert re.search(rf"\d of {K} studies labelled", (out / "figures" / "many-csv-baujat.svg").read_text())


def test_figures_of_many_studies_embed_their_markers_and_stay_byte_identical(tmp_path):
    rng = np.random.default_rng(9)
    k = figures.VECTOR_STUDIES + 100
    res = cf.meta_analysis(yi=rng.normal(0.3, 0.3, k), vi=rng.uniform(0.01, 0.2, k))
    for run in ("a", "b"):
        figures.save(figures.forest(res), tmp_path / run / "forest")
        figures.save(figures.funnel(res), tmp_path / run / "funnel")
    for name in ("forest.png", "forest.svg", "funnel.png", "funnel.svg"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in ("forest.svg", "funnel.svg"):
        drawn = (tmp_path / "a" / name).read_text(encoding="utf-8")
        assert drawn.count("<image ") in (1, 2) and len(drawn) < 300_000, name  # an image per layer


@pytest.mark.slow
def test_report_of_10000_studies_peaks_under_1_gb(tmp_path):
    data = _write_studies(tmp_path / "k10000.csv", 10_000)
    # measured in a process of its own: RUSAGE_CHILDREN keeps the largest child this process ever waited for
    probe = ("import resource, subprocess, sys; "
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "sys.stderr.write(p.stderr)")
    cmd = [sys.executable, "-m", "commonfactors.cli", "report", str(data), "--out", str(tmp_path / "out"),
           "--quiet"]
    res = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, timeout=900)
    code, peak_kb = map(int, res.stdout.split())
    assert code == 0, res.stderr
    assert peak_kb * 1024 < 1024**3, f"peak RSS {peak_kb / 1024:.0f} MB"
    assert len((tmp_path / "out" / "index.html").read_bytes()) < 100_000
