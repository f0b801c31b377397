"""The course website, built from the committed notebooks and opened from disk in headless Chromium
with the network off.

Builds the site with ``tools/website.py`` (Sphinx, warnings as errors), then for every page — the landing
page, every lesson, every exercise — checks in a real browser that it loads, that every figure
decodes (``naturalWidth > 0``), that math is typeset by the MathJax copy inside the site (MathJax 3, SVG output), that every
internal link points to a file that exists, that nothing tries the network, and that the console
stays free of errors. It also runs a search and keeps screenshots of two pages
(``build/site-screenshots/``) for a person to look at.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(importlib.util.find_spec("myst_nb") is None,
                                reason="the site's dev dependencies are not installed")
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="Chromium is not installed (Debian package 'chromium'); the browser check needs it")
FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _load_site_builder():
    spec = importlib.util.spec_from_file_location("course_website", ROOT / "tools" / "website.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


#: The launch buttons need a repository address; a checkout may have no origin remote (then the site has
#: no buttons, tests/test_website.py), so the test site is built for this one.
TEST_REPO_URL = "https://github.com/segcourse-test/segcourse"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEGCOURSE_REPO_URL", TEST_REPO_URL)
        _load_site_builder().build(out)
    return out


def _pages(site: Path) -> list[Path]:
    pages = [site / "README.html"]
    for folder in ("notebooks", "exercises"):
        pages += sorted((site / folder).glob("*.html"))
    return pages


def test_every_notebook_has_a_page(site):
    for folder in ("notebooks", "exercises"):
        names = {p.stem for p in (ROOT / folder).glob("[0-9][0-9]_*.ipynb")}
        assert names, f"no notebooks in {folder}/"
        assert names == {p.stem for p in (site / folder).glob("*.html")}
    # solutions are never published
    assert not (site / "solutions").exists()
    assert "BEGIN SOLUTION" not in "".join(p.read_text() for p in (site / "exercises").glob("*.html"))


@needs_chromium
def test_pages_in_a_real_browser_offline(site):
    playwright = pytest.importorskip("playwright.sync_api")
    shots = ROOT / "build" / "site-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with playwright.sync_playwright() as pw:
        profile = site.parent / f"{site.name}-chromium-profile"
        ctx = pw.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS,
                                                    offline=True, viewport={"width": 1300, "height": 900})
        network: list[str] = []

        def block(route):  # anything that is not a file of the site is a failure (and never leaves the machine)
            network.append(route.request.url)
            route.abort()

        ctx.route(lambda url: not url.startswith("file://"), block)
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            n_math = 0
            for path in _pages(site):
                errors.clear()
                page.goto(path.as_uri(), wait_until="load")
                name = str(path.relative_to(site))
                # every figure decodes
                bad = page.eval_on_selector_all("img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0))"
                                                ".map(i => i.getAttribute('src'))")
                problems += [f"{name}: image does not decode: {src}" for src in bad]
                # math typeset by the site's own MathJax 3 (SVG output): every math node rendered, no errors
                count = page.eval_on_selector_all(".math", "els => els.length")
                if count:
                    n_math += count
                    page.wait_for_function("n => document.querySelectorAll('.math mjx-container').length >= n",
                                           arg=count, timeout=60_000)
                    if page.eval_on_selector_all("mjx-merror", "els => els.length"):
                        problems.append(f"{name}: MathJax reports an error")
                # internal links resolve to files of the site
                hrefs = page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)")
                for href in hrefs:
                    url = urlparse(href)
                    if url.scheme == "file" and not Path(unquote(url.path)).exists():
                        problems.append(f"{name}: broken link {href}")
                # a launch badge (Binder) on every lesson and exercise page
                binder = page.eval_on_selector_all("a[href*='mybinder.org']", "as => as.map(a => a.href)")
                if name != "README.html" and not binder:
                    problems.append(f"{name}: no Binder launch link")
                problems += [f"{name}: Binder link to another repository: {b}" for b in binder
                             if "/v2/gh/segcourse-test/segcourse/" not in b]
                problems += [f"{name}: {e}" for e in errors]
                if name in ("README.html", "notebooks/00_masks_and_iou.html"):
                    page.screenshot(path=str(shots / (path.stem + ".png")), full_page=False)
            assert n_math > 0, "no math found on any page: the check above would be vacuous"
            # the search works from disk, offline
            page.goto((site / "search.html").as_uri() + "?q=confusion")
            page.wait_for_selector("#search-results li", timeout=30_000)
            hits = page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.href)")
            if not any("notebooks/" in h for h in hits):
                problems.append(f"search for 'confusion' found no lesson: {hits[:5]}")
            problems += [f"network request attempted: {u}" for u in network]
        finally:
            ctx.close()
    assert not problems, "\n".join(problems)
