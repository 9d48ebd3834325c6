"""The report site (``commonfactors.report.site``, ``commonfactors report`` / ``report-all``).

One full build from the shipped data (the session fixture ``built_site`` of tests/conftest.py, shared with
the browser test) is checked for its pages, the reproduction table,
offline use and links; user reports check escaping, determinism, atomic writes and the command line.
Pinned numbers are metafor 3.8-1's (tests/reference/report.R; R calls beside them).
"""

import csv
import html
import html.parser
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import commonfactors as cf
from commonfactors import datasets, reproduce
from commonfactors.cli import main
from commonfactors.report import content, render, site
from commonfactors.report._staging import SITE_MARKER
from reference import load

pytestmark = pytest.mark.filterwarnings("ignore::commonfactors.CommonFactorsWarning")

# metafor 3.8-1, tests/reference/report.R
REFERENCE = load("report")
# res <- rma(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
BCG_REML_PRINTED = tuple(REFERENCE["bcg_reml"]["printed"])  # c(res$b, res$tau2) as print(res) shows them
# tanh(rma(measure="ZCOR", ri=ri, ni=ni, data=dat.molloy2014)$b)
MOLLOY_R = REFERENCE["molloy2014_zcor_reml"]["r"]


class _Page(html.parser.HTMLParser):
    """Tags and attributes of one page, table rows by id, and the text."""

    def __init__(self, text: str):
        super().__init__()
        self.tags, self.ids, self.rows, self._row, self.text = [], set(), {}, None, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "tr" and "id" in attrs:
            self._row = attrs["id"]
            self.rows[self._row] = []

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._row is not None and data.strip():
            self.rows[self._row].append(data.strip())


def _parse(path: Path) -> _Page:
    return _Page(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built(built_site):
    return built_site  # the session's one build (tests/conftest.py), shared with the browser test


@pytest.fixture(scope="module")
def reproduction():
    return reproduce.run_all()


def _pageable() -> list[str]:
    return [c["id"] for c in datasets.catalogue() if datasets.describe(c["id"]).effect]


def test_every_page_is_built(built):
    expected = {"index.html", "reproduction.html", *(f"factor-{f}.html" for f in content.FACTOR_PAGES),
                *(f"analysis-{i}.html" for i in reproduce.analysis_ids()),
                *(f"dataset-{d}.html" for d in _pageable()),
                *(page for _, page, *_ in site.EXTRA_PAGES)}  # pages of their own modules (practice, ...)
    assert {p.name for p in built.glob("*.html")} == expected
    assert set(content.FACTOR_PAGES) == {"relationship", "client", "technique", "therapist", "expectancy"}
    assert not list(built.parent.glob(".reports.*"))  # the staging folder was moved, not left behind


def test_reproduction_table_lists_every_published_number(built, reproduction):
    page = _parse(built / "reproduction.html")
    rows = {r["id"]: r for r in reproduction.rows}
    anchors = {content.slug(i): r for i, r in rows.items()}
    assert set(page.rows) == set(anchors)
    for anchor, r in anchors.items():
        cells = page.rows[anchor]
        assert r["verdict"] in cells and r["verified"] in cells, anchor
    with open(datasets.DATA_DIR / "published" / "estimates.csv", newline="", encoding="utf-8") as fh:
        n_published = sum(1 for _ in csv.DictReader(fh))
    assert sum(a.startswith("published-estimates-line") for a in page.rows) == n_published
    molloy = page.rows["molloy2014-r"]
    assert molloy[5:9] == ["0.15", f"{MOLLOY_R:.3f}", f"{MOLLOY_R - 0.15:.3f}", "0.0050"]
    assert "reproduced" in molloy
    text = " ".join(page.text)
    for verdict, n in reproduction.counts.items():
        assert f"{n} {verdict}" in re.sub(r"\s+", " ", text)


def test_pages_open_offline_and_every_link_resolves(built):
    for path in built.glob("*.html"):
        page = _parse(path)
        raw = path.read_text(encoding="utf-8")
        loaders = ("link", "iframe", "object", "embed")
        assert not any(tag in loaders for tag, _ in page.tags), path.name
        scripts = [attrs for tag, attrs in page.tags if tag == "script"]
        assert scripts == [{}], path.name  # the site's own table script, inlined: nothing loaded
        assert "@import" not in raw and "url(" not in raw
        for tag, attrs in page.tags:
            if tag == "img":
                assert (built / attrs["src"]).is_file(), (path.name, attrs["src"])
                assert not attrs["src"].startswith(("http:", "https:", "//"))
            if tag == "a" and "href" in attrs:
                href = attrs["href"]
                if href.startswith(("https://", "http://")):  # citations (DOIs) are links, not resources
                    continue
                target, _, anchor = href.partition("#")
                target_path = built / target if target else path
                assert target_path.is_file(), (path.name, href)
                if anchor and target_path.suffix == ".html":
                    assert anchor in _parse(target_path).ids, (path.name, href)


def test_dataset_page_shows_data_model_summary_forest_and_funnel(built):
    page = _parse(built / "dataset-bcg.html")
    text = " ".join(page.text)
    for number in BCG_REML_PRINTED:
        assert number in text
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text  # summary().as_html()
    assert "Regression Test" in text or "Egger" in text  # the bias tests
    srcs = [a["src"] for t, a in page.tags if t == "img"]
    kinds = ("forest", "funnel", "baujat", "cumulative")
    assert srcs == [f"figures/bcg-rr-reml-z-{kind}.png" for kind in kinds]
    for src in srcs:
        assert (built / src).with_suffix(".svg").is_file()
    hrefs = [a.get("href") for t, a in page.tags if t == "a"]
    assert "data/bcg.csv" in hrefs and "https://doi.org/10.1001/jama.1994.03510330076038" in hrefs
    assert (built / "data" / "bcg.csv").read_bytes() == (datasets.DATA_DIR / "bcg.csv").read_bytes()


# dat <- escalc(measure="OR", ai=n.ctrl.rec, bi=n.ctrl.non, ci=n.cbt.rec, di=n.cbt.non,
#               data=dat.landenberger2005)
# which(influence(rma(yi, vi, data=dat))$is.infl)                       # row 54, file line 55
LANDENBERGER_INFLUENTIAL = dict(zip(REFERENCE["landenberger2005_or_reml"]["influential"],
                                    REFERENCE["landenberger2005_or_reml"]["slab"], strict=True))
# which(influence(rma(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg))$is.infl)
BCG_INFLUENTIAL = REFERENCE["bcg_reml"]["influential"]  # integer(0)


def _influence_rows(page: _Page, raw: str) -> list[tuple[str, bool]]:
    """(study, flagged) per row of the influence table (a row is flagged when it has class "flagged");
    a list, as study labels repeat (landenberger2005 has two rows each for four studies)."""
    table = raw.split('<table class="influence">')[1].split("</table>")[0]
    rows = re.findall(r'<tr( class="flagged")?><td class="num">\d+</td><td>([^<]*)</td>', table)
    return [(html.unescape(study), bool(flag)) for flag, study in rows]


def test_dataset_page_has_influence_and_sensitivity(built):
    raw = (built / "dataset-landenberger2005.html").read_text(encoding="utf-8")
    page = _Page(raw)
    text = re.sub(r"\s+", " ", " ".join(page.text))
    assert "Influence and sensitivity" in text
    rows = _influence_rows(page, raw)
    assert len(rows) == 58
    assert [s for s, flagged in rows if flagged] == list(LANDENBERGER_INFLUENTIAL.values())
    assert "1 of 58 studies is flagged as influential by metafor's rules" in text
    srcs = [a["src"] for t, a in page.tags if t == "img"]
    assert "figures/landenberger2005-or-reml-z-baujat.png" in srcs
    assert not any(s.endswith("-cumulative.png") for s in srcs)  # no year column
    assert "the data have no year column" in text

    bcg_raw = (built / "dataset-bcg.html").read_text(encoding="utf-8")
    bcg = _Page(bcg_raw)
    assert not any(flagged for _, flagged in _influence_rows(bcg, bcg_raw)) and not BCG_INFLUENTIAL
    bcg_text = re.sub(r"\s+", " ", " ".join(bcg.text))
    assert "No study is flagged as influential" in bcg_text
    assert "added in order of the column year" in bcg_text  # the caption names the column


def test_nested_datasets_are_never_pooled_as_independent(built):
    nested = [d for d in _pageable() if datasets.describe(d).rows > (datasets.describe(d).k or 0)]
    assert {"assink2016", "metapsy_depression_psyctr", "metapsy_ptsd_psyctr", "metapsy_total_response",
            "hasselblad1998", "lopez2019"} <= set(nested)
    arms = {"hasselblad1998", "lopez2019"}  # rows are treatment arms: their average is not an effect
    for d in nested:
        info = datasets.describe(d)
        text = re.sub(r"\s+", " ", " ".join(_parse(built / f"dataset-{d}.html").text))
        unit = "arms" if d in arms else "effect sizes"
        assert f"{info.rows} {unit} from {info.k} studies" in text
        title = ("Average over treatment arms, not a treatment effect (" if d in arms
                 else "Three-level model (")
        assert title in text and "CR2 cluster-robust inference" in text
        assert "Egger (three-level, CR2)" in text
        assert "Pooled as independent" in text  # the model of the figures, labelled as such
        if d not in arms:  # the forest plot: one row per study
            assert f"One row per study: the {info.rows} effect sizes of {info.k} studies" in text
    for page in ("analysis-assink2016.html", "analysis-metapsy_depression.html"):
        text = " ".join(_parse(built / page).text)
        assert "Three-level model (" in text and text.count("Pooled estimate") == 1


def test_pages_give_the_headline_on_the_natural_scale(built):
    natural = load("report_natural")  # metafor's predict(res, transf=), tests/reference/report_natural.R
    for d, key, scale in (("bcg", "bcg_rr", "risk ratio (exp)"),
                          ("molloy2014", "molloy2014_zcor", "r (ztor)"),
                          ("metapsy_total_response", "metapsy_total_response", "risk ratio (exp)"),
                          ("hasselblad1998", "hasselblad1998", "proportion (ilogit)")):
        ref = natural[key]["natural"]
        text = re.sub(r"\s+", " ", " ".join(_parse(built / f"dataset-{d}.html").text))
        name, transf = scale.split(" (")
        line = (f"On the {name} scale ({transf} {ref['estimate']:.4f} [{ref['ci_low']:.4f}, "
                f"{ref['ci_high']:.4f}]; prediction interval [{ref['pi_low']:.4f}, {ref['pi_high']:.4f}]")
        assert line in text, d
    lopez = re.sub(r"\s+", " ", " ".join(_parse(built / "dataset-lopez2019.html").text))
    assert "On the " not in lopez and "not a treatment effect" in lopez  # a standardised mean change
    ptsd = _parse(built / "dataset-metapsy_ptsd_psyctr.html")
    srcs = [a["src"] for t, a in ptsd.tags if t == "img"]
    assert srcs[:2] == [f"figures/metapsy-ptsd-psyctr-smd-reml-z-forest{page}.png" for page in ("", "-2")]


def test_analysis_page_shows_its_rows_and_one_headline_model(built, reproduction):
    rows = [r for r in reproduction.rows if r["id"].startswith("vanhouwelingen2002_bcg:")]
    page = _parse(built / "analysis-vanhouwelingen2002_bcg.html")
    assert set(page.rows) == {content.slug(r["id"]) for r in rows}
    specs = list(dict.fromkeys((r["model"]["measure"].split(" ")[0], r["model"]["estimator"],
                                r["model"]["test"]) for r in rows))
    assert specs[0] == ("OR", "FE", "z")  # the common-effect odds ratio of van Houwelingen et al. (2002)
    assert len(specs) > 1  # the other models are named, not shown
    srcs = [a["src"] for t, a in page.tags if t == "img"]
    assert srcs == [f"figures/bcg-or-fe-z-{kind}.png" for kind in ("forest", "funnel")]
    text = re.sub(r"\s+", " ", " ".join(page.text))
    assert "Fixed-Effects Model (k = 13)" in text  # metafor's heading for method="FE"
    assert text.count("Pooled estimate") == 1
    assert f"also fits {len(specs) - 1} other model" in text
    for name in ("assink2016", "dorn2007"):  # a three-level model; one arm's proportions (PLO)
        other = " ".join(_parse(built / f"analysis-{name}.html").text)
        assert "cannot be refitted from the dataset's effect-size columns" in other


def test_index_shows_the_pie_with_intervals(built):
    pie = cf.additive_pie()
    text = " ".join(_parse(built / "index.html").text)
    for c in pie.components:
        assert f"{100 * c.ci_low:.2f}, {100 * c.ci_high:.2f}" in text
    assert (built / "figures" / "variance-pie.png").is_file()
    assert (built / "data" / "published" / "pies.csv").is_file()


def test_index_gives_the_answer_first_and_a_short_reproduction_summary(built, reproduction):
    raw = (built / "index.html").read_text(encoding="utf-8")
    page = _Page(raw)
    text = re.sub(r"\s+", " ", " ".join(page.text))
    assert text.index("The variance pie") < text.index("Reproduction of published estimates") < text.index(
        "Reproduced publications")
    pie = cf.additive_pie()
    assert f"All factors together: {100 * pie.r2.share:.2f}% of outcome variance" in text
    for verdict, n in reproduction.counts.items():
        assert f"{n} {verdict}" in text
    # the largest differences, relative to the published number, computed here from the rows
    differs = [r for r in reproduction.rows if r["verdict"] == "differs"
               and isinstance(r["difference"], (int, float)) and isinstance(r["published"], (int, float))]
    differs.sort(key=lambda r: -abs(r["difference"] / r["published"]))
    largest = differs[:content.LARGEST]
    assert largest[0]["id"].startswith("dorn2007:")  # the placebo response's interval: 3.45 points off
    table = raw.split("The largest differences")[1].split("</table>")[0]
    links = re.findall(r'<a href="reproduction.html#([^"]+)">', table)
    assert links == [content.slug(r["id"]) for r in largest]
    for r in largest:
        assert f"{100 * abs(r['difference'] / r['published']):.2f}%" in table
    assert ("a", {"class": "more", "href": "reproduction.html"}) in page.tags
    assert raw.count("<tr") < 30  # the full table is on its own page, not inline
    for anchor in links:
        assert anchor in _parse(built / "reproduction.html").ids


def test_reproduction_page_is_sortable_filterable_and_cites_by_short_label(built, reproduction):
    raw = (built / "reproduction.html").read_text(encoding="utf-8")
    page = _Page(raw)
    assert ("form", {"class": "filter", "data-filter-for": "reproduction-table"}) in page.tags
    assert sum(1 for t, a in page.tags if t == "button" and a.get("class") == "sort") == 8
    citations = list(dict.fromkeys(r["citation"] for r in reproduction.rows))
    refs = [a["id"] for t, a in page.tags
            if t == "li" and a.get("id", "").startswith("reproduction-table-ref-")]
    assert len(refs) == len(citations)
    # every row's [n] points at its full reference, which is also its hover text
    for r in reproduction.rows[:40]:
        n = citations.index(r["citation"]) + 1
        link = f'href="#reproduction-table-ref-{n}" title="{html.escape(r["citation"], quote=True)}"'
        assert link.replace("&#x27;", "&#39;") in raw.replace("&#x27;", "&#39;"), r["id"]
    # the sort keys are the unrounded numbers
    molloy = next(r for r in reproduction.rows if r["id"] == "molloy2014:r")
    assert f'data-sort="{float(molloy["reproduced"])!r}"' in raw


def _cells(raw: str, anchor: str) -> list[tuple[str, str]]:
    """(data-sort, shown text) of the number cells of the table row ``anchor``."""
    row = raw.split(f'<tr id="{anchor}"')[1].split("</tr>")[0]
    return re.findall(r'<td class="(?:num|words)" data-sort="([^"]*)">([^<]*)</td>', row)


def test_every_number_of_the_reproduction_tables_is_the_rows_number(built, reproduction):
    """On the reproduction page and on each analysis page, each row's published, reproduced, difference
    and tolerance cells show the row's number, rounded (within half a unit of the last digit shown), and
    sort by it unrounded."""
    pages = {"reproduction.html": reproduction.rows}
    for r in reproduction.rows:
        pages.setdefault(f"analysis-{r['id'].split(':')[0]}.html", []).append(r)
    checked = 0
    for name, rows in pages.items():
        raw = (built / name).read_text(encoding="utf-8")
        for r in rows:
            cells = _cells(raw, content.slug(r["id"]))
            assert len(cells) == 4, (name, r["id"])
            for (key, shown), column in zip(cells, ("published", "reproduced", "difference", "tolerance"),
                                            strict=True):
                value = r[column]
                if not isinstance(value, (int, float)):
                    assert key == "", (name, r["id"])
                    assert shown in ("\u2013", html.escape(str(value), quote=True)), (name, r["id"])
                    continue
                assert float(key) == float(value), (name, r["id"], column)
                decimals = len(shown.split(".")[1]) if "." in shown else 0
                assert abs(float(shown) - value) <= 0.5 * 10.0**-decimals + 1e-12, (name, r["id"], column)
                checked += 1
    assert checked > 700


def test_no_page_shows_markup_syntax_or_a_negative_zero(built):
    for path in built.glob("*.html"):
        raw = path.read_text(encoding="utf-8")
        assert not re.search(r"-0\.0+(?![0-9])", " ".join(_Page(raw).text)), path.name
        # prose outside the results' printed summaries (<pre>, where '**' are R's significance codes)
        text = " ".join(_Page(re.sub(r"<pre.*?</pre>", "", raw, flags=re.S)).text)
        assert "``" not in text and "**" not in text, path.name
    assert content.number(-0.0004, 2) == "0.00" and content.number(-0.004, 3) == "-0.004"
    from commonfactors.report import figures

    assert figures._fmt(-0.0004, 2) == "0.00" and figures._fmt(-0.2, 1) == "-0.2"
    berkey = (built / "analysis-berkey1995_bcg.html").read_text(encoding="utf-8")
    assert "<code>bcg</code>" in berkey and "<p>" in berkey.split("What the script reproduces")[1]


def test_factor_page_numbers_are_the_estimates_and_missing_intervals_say_why(built):
    from commonfactors.factors.taxonomy import ELEMENTS, element_estimates

    raw = (built / "factor-relationship.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", " ".join(_Page(raw).text))
    missing = 0
    for e in [e for e in ELEMENTS if e.factor == "relationship"]:
        section = raw.split(f'<h3 id="{e.name}">')[1].split("<h3")[0]
        cells = re.findall(r'<td class="num">([^<]*)</td>', section)
        for est in element_estimates(e.name).estimates:
            assert f"{est.estimate:.3f}" in cells or not math.isfinite(est.estimate), (e.name, est.label)
            if math.isfinite(est.ci_low) and math.isfinite(est.ci_high):
                assert f"[{est.ci_low:.3f}, {est.ci_high:.3f}]" in cells
            else:
                missing += 1
    assert missing > 0
    assert text.count("none published") + text.count("no number") >= missing
    assert "publishes none, and none is made up here" in text


def test_factor_pages_list_the_elements_and_their_estimates(built):
    from commonfactors.factors.taxonomy import ELEMENTS

    for factor in content.FACTOR_PAGES:
        page = _parse(built / f"factor-{factor}.html")
        for e in ELEMENTS:
            if e.factor == factor:
                assert e.name in page.ids
    technique = _parse(built / "factor-technique.html")
    assert ("a", {"href": "dataset-metapsy_depression_psyctr.html"}) in technique.tags


# ---------------------------------------------------------------------------------------------------
# user reports, atomic builds, the command line

def _write(path: Path, rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture
def hostile(tmp_path):
    return _write(tmp_path / "mine.csv", [
        ["study", "yi", "vi"],
        ["<script>alert(1)</script>", 0.2, 0.04],
        ['Smith & Jones "2001"', 0.5, 0.02],
        ["<img src=x onerror=alert(2)>", 0.1, 0.05],
        ["Lee", 0.35, 0.03],
    ])


def test_labels_are_shown_as_text_not_markup(tmp_path, hostile):
    result = CliRunner().invoke(main, ["report", str(hostile), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    raw = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert raw.count("<script") == 1 and "<script>alert" not in raw and "<img src=x" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert "Smith &amp; Jones &#34;2001&#34;" in raw
    assert (tmp_path / "out" / "data" / "mine.csv").read_bytes() == hostile.read_bytes()


def test_user_report_is_byte_identical_when_rebuilt(tmp_path, hostile):
    data = cf.read_table(hostile)
    for run in ("a", "b"):
        site.build_report(data, tmp_path / run, slab="study", source=hostile, progress=False)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert {"index.html", SITE_MARKER, "data/mine.csv", *(f"figures/mine-csv-{kind}.{ext}" for kind in (
        "forest", "funnel", "baujat") for ext in ("png", "svg"))} == {p.as_posix() for p in files}
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_progress_counter_on_stderr(tmp_path, hostile, capsys):
    site.build_report(cf.read_table(hostile), tmp_path / "out", progress=True)
    err = capsys.readouterr().err
    assert "[1/2] model, bias tests and figures" in err and "[2/2] page" in err


def test_rebuild_replaces_the_folder_and_keeps_its_readme(tmp_path, hostile):
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text("generated site; see make reports\n")
    (out / SITE_MARKER).write_text("")
    (out / "stale.html").write_text("old")
    site.build_report(cf.read_table(hostile), out, progress=False)
    assert (out / "README.md").read_text() == "generated site; see make reports\n"
    assert not (out / "stale.html").exists() and (out / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv", "out"]


def test_interrupted_site_build_leaves_the_previous_site(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "index.html").write_text("previous site")
    (out / "README.md").write_text("readme")
    (out / SITE_MARKER).write_text("")
    calls = []
    original = render.Writer.page

    def page_then_interrupt(self, name, template, **context):
        calls.append(name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, name, template, **context)

    monkeypatch.setattr(render.Writer, "page", page_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        site.build_site(out, progress=False)
    assert len(calls) == 3
    assert sorted(p.name for p in out.iterdir()) == [SITE_MARKER, "README.md", "index.html"]
    assert (out / "index.html").read_text() == "previous site"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]  # no staging folder left


def test_interrupted_first_build_leaves_nothing(tmp_path, hostile, monkeypatch):
    from commonfactors.report import figures

    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(figures, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        site.build_report(cf.read_table(hostile), tmp_path / "out", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv"]


def test_report_computes_effect_sizes_with_measure(tmp_path):
    out = tmp_path / "bcg"
    result = CliRunner().invoke(main, ["report", str(datasets.DATA_DIR / "bcg.csv"), "--measure", "RR",
                                       "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg",
                                       "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out / "index.html")
    text = " ".join(_parse(out / "index.html").text)
    assert "RR computed from ai = tpos, bi = tneg, ci = cpos, di = cneg" in text
    for number in BCG_REML_PRINTED:
        assert number in text
    assert "Aronson, 1948" in text  # labels from the author and year columns


def test_report_of_a_shipped_dataset_uses_its_catalogue_entry(tmp_path):
    out = tmp_path / "molloy"
    args = ["report", "molloy2014", "--out", str(out), "--method", "DL", "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    text = " ".join(_parse(out / "index.html").text)
    assert "Molloy, G. J." in text and "tau^2 estimator: DL" in text
    assert (out / "data" / "molloy2014.csv").is_file() and (out / "data" / "molloy2014.txt").is_file()


@pytest.mark.parametrize("args, message", [
    (["--yi", "nope", "--vi", "vi"], "column 'nope'"),
    (["--ai", "yi"], "--ai needs --measure"),
    (["--measure", "RR"], "--measure RR needs its columns"),
    (["--vi", "vi", "--sei", "vi"], "either --vi or --sei"),
])
def test_report_errors_exit_2_in_one_line_without_output(tmp_path, hostile, args, message):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["report", str(hostile), "--out", str(out), "--quiet", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv"]


def test_report_all_builds_the_site_into_out(tmp_path, monkeypatch):
    seen = {}

    def fake_build_site(out_dir, progress=True):
        seen.update(out_dir=out_dir, progress=progress)
        return Path(out_dir)

    monkeypatch.setattr(site, "build_site", fake_build_site)
    result = CliRunner().invoke(main, ["report-all", "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert seen == {"out_dir": str(tmp_path / "r"), "progress": False}
    assert result.output.strip() == str(tmp_path / "r" / "index.html")


@pytest.mark.slow
def test_site_is_byte_identical_when_rebuilt(built, tmp_path):
    again = site.build_site(tmp_path / "reports", progress=False, workers=1)  # and without worker processes
    files = sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (built / rel).read_bytes() == (again / rel).read_bytes(), rel
