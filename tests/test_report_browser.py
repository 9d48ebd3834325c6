"""The report site in a real browser: headless Chromium from Debian's ``chromium`` package, driven by
Playwright (never a downloaded browser).

Opens the pages of the site built once per session from the shipped data (``built_site`` in
tests/conftest.py) at a desktop width (1280 px) and a phone width (390 px) and checks what a reader would
see: no console error or failed request, nothing fetched from the network, every image loaded
(``naturalWidth > 0``), the page never wider than the window, no element sticking out of its container
(a table wider than the page sits in a wrapper that scrolls sideways: the wrapper scrolls, not the page),
no table header cut or wrapped and no number wrapped. The reproduction table sorts and filters. A
screenshot of each page at each width is kept in the test's temporary folder (``screenshots/``), never
in git.

The fast test visits one page of each kind; the slow one visits every page.
CI installs the browser with ``apt-get install -y chromium`` and ``pip install playwright``.
"""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
WIDTHS = (1280, 390)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                     "(apt-get install -y chromium)"),
    pytest.mark.filterwarnings("ignore::commonfactors.CommonFactorsWarning"),
]

#: What the page looks like to a reader, measured in the browser: for each problem a short description.
LAYOUT = r"""() => {
  const problems = [];
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : "");
  const scroller = el => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (a.matches("main, body, html")) { return null; }
      if (s.overflowX === "auto" || s.overflowX === "scroll") { return a; }
    }
    return null;
  };
  // lines of text in an element: a rectangle of its text starting below the ones before it is a new line
  const lineCount = el => {
    const range = document.createRange(); range.selectNodeContents(el);
    const rects = Array.from(range.getClientRects()).filter(r => r.width > 0).sort((a, b) => a.top - b.top);
    let lines = 0, bottom = -Infinity;
    for (const r of rects) { if (r.top >= bottom - 1) { lines += 1; } bottom = Math.max(bottom, r.bottom); }
    return lines;
  };
  const main = document.querySelector("main");
  const right = main.getBoundingClientRect().right + 1;
  // no element wider than the page's column, unless a scrolling wrapper holds it
  for (const el of main.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || scroller(el) || el.closest("details:not([open])")) { continue; }
    if (box.right > right) {
      problems.push(`${name(el)} sticks out of the page by ${Math.round(box.right - right)} px`);
    }
  }
  // no text running out of its block (a long word or address in a heading, a paragraph, a list)
  const blocks = "h1, h2, h3, h4, p, li, dt, dd, figcaption, summary, div:not(.table-wrap)";
  for (const el of main.querySelectorAll(blocks)) {
    if (scroller(el) || el.closest("details:not([open])") || el.clientWidth === 0) { continue; }
    if (el.scrollWidth > el.clientWidth + 1) {
      const text = el.textContent.trim().slice(0, 40);
      problems.push(`${name(el)} "${text}" runs ${el.scrollWidth - el.clientWidth} px out of its box`);
    }
  }
  // a wrapper wider inside than outside scrolls (it is the wrapper that scrolls, not the page)
  for (const wrap of main.querySelectorAll(".table-wrap, pre")) {
    if (wrap.closest("details:not([open])")) { continue; }
    const s = getComputedStyle(wrap);
    if (wrap.scrollWidth > wrap.clientWidth + 1 && !(s.overflowX === "auto" || s.overflowX === "scroll")) {
      problems.push(`${name(wrap)} is cut, not scrolled`);
    }
  }
  // headers never cut or wrapped; numbers never wrapped or cut
  for (const th of main.querySelectorAll("th")) {
    if (th.closest("details:not([open])")) { continue; }
    if (th.scrollWidth > th.clientWidth + 1) { problems.push(`header "${th.textContent.trim()}" is cut`); }
    const lines = lineCount(th.querySelector("button") || th);
    if (lines > 1) { problems.push(`header "${th.textContent.trim()}" wraps onto ${lines} lines`); }
  }
  for (const td of main.querySelectorAll("td.num")) {
    if (td.closest("details:not([open])") || !td.textContent.trim()) { continue; }
    const lines = lineCount(td);
    if (lines > 1) { problems.push(`number "${td.textContent.trim()}" wraps`); }
    if (td.scrollWidth > td.clientWidth + 1) { problems.push(`number "${td.textContent.trim()}" is cut`); }
  }
  for (const img of document.images) {
    if (!(img.complete && img.naturalWidth > 0)) {
      problems.push(`image ${img.getAttribute("src")} did not load`);
    }
  }
  const page = document.documentElement.scrollWidth - window.innerWidth;
  if (page > 0) { problems.push(`the page is ${page} px wider than the window`); }
  return problems;
}"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def built(built_site):
    return built_site  # the session's one build (tests/conftest.py), shared with test_report_site.py


def _visit(built, browser, shots: Path, pages: list[Path]) -> list[str]:
    """Open ``pages`` at each of :data:`WIDTHS`; the problems found (:data:`LAYOUT`, console errors,
    failed or remote requests), a screenshot of each page kept in ``shots``."""
    problems = []
    note = problems.append

    def console(m):
        if m.type == "error":
            note(f"console {m.type}: {m.text}")

    def request(r):
        if not r.url.startswith(("file:", "data:")):
            note(f"remote: {r.url}")

    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("console", console)
        page.on("pageerror", lambda e: note(f"page error: {e}"))
        page.on("requestfailed", lambda r: note(f"failed: {r.url}"))
        page.on("request", request)
        for path in pages:
            response = page.goto(path.as_uri(), wait_until="load")
            assert response is None or response.ok, path.name
            assert page.title().endswith("commonfactors report")
            images = page.evaluate("document.images.length")
            assert images or path.name in ("analysis-published_estimates.html", "reproduction.html"), \
                f"{path.name} has no figure"
            problems += [f"{path.name} at {width} px: {p}" for p in page.evaluate(LAYOUT)]
            shot = shots / f"{path.stem}-{width}.png"
            page.screenshot(path=str(shot), full_page=page.evaluate("document.body.scrollHeight") < 12000)
            assert shot.stat().st_size > 5_000
        context.close()
    return problems


def test_pages_of_each_kind_fit_at_desktop_and_phone_widths(built, browser, tmp_path_factory):
    shots = tmp_path_factory.mktemp("screenshots")
    names = ["index.html", "reproduction.html", "factor-relationship.html", "dataset-bcg.html",
             "analysis-dorn2007.html"]
    problems = _visit(built, browser, shots, [built / n for n in names])
    assert problems == []
    assert len(list(shots.glob("*.png"))) == len(names) * len(WIDTHS)


@pytest.mark.slow
def test_every_page_fits_at_desktop_and_phone_widths(built, browser, tmp_path_factory):
    shots = tmp_path_factory.mktemp("screenshots")
    pages = sorted(built.glob("*.html"))
    assert len(pages) > 10
    assert _visit(built, browser, shots, pages) == []


def test_reproduction_table_sorts_and_filters(built, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto((built / "reproduction.html").as_uri(), wait_until="load")
    rows = "document.querySelectorAll('#reproduction-table tbody tr')"
    total = page.evaluate(f"{rows}.length")
    assert total > 200

    def column(i):
        return page.evaluate(f"Array.from({rows}).filter(r => !r.hidden).map(r => r.cells[{i}].dataset.sort)")

    page.click("#reproduction-table th:nth-child(3) button")  # reproduced, ascending
    values = [float(v) for v in column(2) if v]
    assert values == sorted(values) and len(values) > 100
    assert all(v == "" for v in column(2)[len(values):])  # rows without a number last
    page.click("#reproduction-table th:nth-child(3) button")  # descending
    values = [float(v) for v in column(2) if v]
    assert values == sorted(values, reverse=True)

    page.select_option("form.filter select", "differs")
    shown = page.evaluate(f"Array.from({rows}).filter(r => !r.hidden).map(r => r.dataset.verdict)")
    assert shown and set(shown) == {"differs"}
    page.fill("form.filter input[type=search]", "dorn2007")
    text = page.evaluate(f"Array.from({rows}).filter(r => !r.hidden).map(r => r.textContent)")
    assert len(text) == 2 and all("dorn2007" in t for t in text)
    output = page.evaluate("document.querySelector('form.filter output').textContent")
    assert output == f"2 of {total} rows shown"
    page.select_option("form.filter select", "")
    page.fill("form.filter input[type=search]", "")
    assert page.evaluate(f"Array.from({rows}).filter(r => !r.hidden).length") == total
    context.close()
