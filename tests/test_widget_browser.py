"""The MaskEditor in a real JupyterLab, driven through headless Chromium with Playwright.

Starts a throwaway JupyterLab on 127.0.0.1, opens a notebook with an editor, drags across cells,
and checks both the readout in the page and the kernel's ``.mask``; then undo. It also measures
the click -> readout latency and the render time of a 32x32 editor (printed; run with ``-s``).
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest
from _lab import running_lab

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (Debian package 'chromium'); the real-browser widget test needs it")

TRUTH = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    work = root / "work"
    work.mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"from segcourse.widgets import MaskEditor\ned = MaskEditor(shape=(3, 3), target={TRUTH})\ned"),
        nbformat.v4.new_code_cell('print("MASK", int(ed.mask.sum()), ed.mask.tolist())'),
        nbformat.v4.new_code_cell("big = MaskEditor(shape=(32, 32), num_classes=3)\nbig"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, work / "editor.ipynb")
    with running_lab(root, [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={work}"]) as lab:
        yield lab


def _cell_center(box, rows, cols, r, c):
    return box["x"] + (c + 0.5) * box["width"] / cols, box["y"] + (r + 0.5) * box["height"] / rows


def test_drag_paint_readout_kernel_mask_and_undo(lab):
    from playwright.sync_api import sync_playwright

    timings = {}
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(lab["root"] / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=["--disable-gpu", "--disable-quic"], viewport={"width": 1400, "height": 1000})
        try:
            page = ctx.new_page()
            page.goto(f"{lab['url']}/lab/workspaces/t{secrets.token_hex(4)}/tree/editor.ipynb?token={lab['token']}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_selector("text=/\\|\\s*Idle/", timeout=60_000)  # kernel idle in the status bar
            page.locator(".jp-Cell").nth(0).click()
            page.keyboard.press("Shift+Enter")
            paint = page.locator(".segcourse-paint").first
            paint.wait_for(timeout=60_000)
            readout = page.locator(".segcourse-readout").first
            page.wait_for_function("() => document.querySelector('.segcourse-readout').textContent.includes('IoU')", timeout=30_000)
            assert readout.text_content().startswith("IoU 0.000")  # empty vs the 3-cell target
            assert paint.get_attribute("data-rows") == "3" and paint.get_attribute("data-cols") == "3"

            # drag from (0, 0) down to (1, 0) and across to (1, 1): the seed's prediction
            box = paint.bounding_box()
            page.mouse.move(*_cell_center(box, 3, 3, 0, 0))
            page.mouse.down()
            page.mouse.move(*_cell_center(box, 3, 3, 1, 0), steps=4)
            page.mouse.move(*_cell_center(box, 3, 3, 1, 1), steps=4)
            page.mouse.up()
            page.wait_for_function("() => document.querySelector('.segcourse-readout').textContent.startsWith('IoU 0.500')", timeout=10_000)
            assert "Dice 0.667" in readout.text_content()

            # the kernel sees the same mask
            page.locator(".jp-Cell").nth(1).click()
            page.keyboard.press("Shift+Enter")
            page.wait_for_selector("text=/MASK 3/", timeout=20_000)
            out = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea").text_content()
            assert "[[1, 0, 0], [1, 1, 0], [0, 0, 0]]" in out

            # undo removes the whole stroke (one step); the readout follows
            page.locator(".segcourse-undo").first.click()
            page.wait_for_function("() => document.querySelector('.segcourse-readout').textContent.startsWith('IoU 0.000')", timeout=10_000)

            # click latency: one click on (0, 1) -> readout updated (IoU 1/3)
            start = time.perf_counter()
            page.mouse.click(*_cell_center(box, 3, 3, 0, 1))
            page.wait_for_function("() => document.querySelector('.segcourse-readout').textContent.startsWith('IoU 0.333')", timeout=10_000)
            timings["click_to_readout_ms"] = (time.perf_counter() - start) * 1e3

            # a 32x32 editor renders
            page.locator(".jp-Cell").nth(2).click()
            start = time.perf_counter()
            page.keyboard.press("Shift+Enter")
            page.wait_for_selector(".segcourse-paint[data-rows='32']", timeout=30_000)
            timings["render_32x32_s"] = time.perf_counter() - start
            big = page.locator(".segcourse-paint[data-rows='32']")
            bbox = big.bounding_box()
            # in-page latency: pointerdown on the grid -> the readout text changes (MutationObserver)
            page.evaluate("""() => {
                const paint = document.querySelectorAll('.segcourse-paint')[1];
                const readout = document.querySelectorAll('.segcourse-readout')[1];
                window.__lat = [];
                paint.addEventListener('pointerdown', () => { window.__t0 = performance.now(); }, true);
                new MutationObserver(() => { if (window.__t0) { window.__lat.push(performance.now() - window.__t0); window.__t0 = 0; } })
                    .observe(readout, {childList: true, characterData: true, subtree: true});
            }""")
            for n, (r, c) in enumerate([(5, 5), (6, 9), (20, 3), (30, 30), (12, 17)], start=1):
                start = time.perf_counter()
                page.mouse.click(*_cell_center(bbox, 32, 32, r, c))
                page.wait_for_function(f"() => window.__lat.length >= {n}", timeout=10_000)
                timings.setdefault("click_to_readout_32x32_ms_playwright", []).append((time.perf_counter() - start) * 1e3)
            timings["click_to_readout_32x32_ms_in_page"] = page.evaluate("() => window.__lat")
            page.screenshot(path=str(lab["root"] / "editor.png"))
        finally:
            ctx.close()
    rounded = {k: [round(x, 1) for x in v] if isinstance(v, list) else round(v, 3) for k, v in timings.items()}
    print("\nMaskEditor browser timings:", json.dumps(rounded))
    assert timings["render_32x32_s"] < 30
