"""The report site in a real browser: headless Chromium from Debian's ``chromium`` package, driven by
Playwright (never a downloaded browser).

Opens every page of the site built once per session from the shipped data (``built_site`` in
tests/conftest.py) and checks that no page logs a console error or fails a request, that every image
loaded (``naturalWidth > 0``) and that nothing was fetched from the network. A full-page screenshot of
each page is kept in the test's temporary folder.
CI installs the browser with ``apt-get install -y chromium`` and ``pip install playwright``.
"""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                     "(apt-get install -y chromium)"),
    pytest.mark.filterwarnings("ignore::commonfactors.CommonFactorsWarning"),
]


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


def test_every_page_loads_without_errors_and_every_image_loads(built, browser, tmp_path_factory):
    shots = tmp_path_factory.mktemp("screenshots")
    pages = sorted(built.glob("*.html"))
    assert len(pages) > 10
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors, remote = [], []
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    for path in pages:
        response = page.goto(path.as_uri(), wait_until="load")
        assert response is None or response.ok, path.name
        images = page.evaluate("Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, "
                               "i.naturalWidth])")
        assert images or path.name.startswith("analysis-published"), f"{path.name} has no figure"
        for src, complete, width in images:
            assert complete and width > 0, f"{path.name}: image {src} did not load"
        assert page.title().endswith("commonfactors report")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path.name} is {overflow} px wider than the window"
        shot = shots / f"{path.stem}.png"
        page.screenshot(path=str(shot), full_page=path.name != "index.html")
        assert shot.stat().st_size > 10_000
    context.close()
    assert errors == []
    assert remote == []  # the site opens offline
