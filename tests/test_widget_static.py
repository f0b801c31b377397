"""Where the MaskEditor cannot run (the course website, a notebook viewer, a lesson opened without its
kernel), its output is a picture of its state with "Interactive in JupyterLab: run this cell there to
paint", not the text ``MaskEditor(shape=(3, 3), ...)``."""

from __future__ import annotations

import base64
import importlib.util
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segcourse.widgets import STATIC_NOTE, MaskEditor

ROOT = Path(__file__).resolve().parents[1]
TRUTH = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]


def _bundle(ed: MaskEditor) -> dict:
    b = ed._repr_mimebundle_()
    return b[0] if isinstance(b, tuple) else b


def _image(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def test_the_output_carries_a_picture_next_to_the_live_widget():
    ed = MaskEditor(shape=(3, 3), target=TRUTH)
    data = _bundle(ed)
    assert "application/vnd.jupyter.widget-view+json" in data  # JupyterLab still draws the live widget
    assert data["text/plain"] == repr(ed) == "MaskEditor(shape=(3, 3), num_classes=2, painted=0, target=yes)"
    img = _image(data["image/png"])
    assert img.format == "PNG" and img.width >= 300 and img.height >= 200
    assert img.info.get("Description") == STATIC_NOTE == "Interactive in JupyterLab: run this cell there to paint"


def test_the_picture_shows_the_current_mask():
    ed = MaskEditor(shape=(3, 3), target=TRUTH)
    before = np.asarray(_image(_bundle(ed)["image/png"]).convert("RGB"))
    ed.paint(0, 0, 1)
    ed.paint(1, 0, 1)
    after = np.asarray(_image(_bundle(ed)["image/png"]).convert("RGB"))
    assert before.shape == after.shape and (before != after).any()
    # the painted class's colour fills the grid only once something is painted (before: its legend patch only)
    fg = np.array(Image.new("RGB", (1, 1), ed.palette[1]).getpixel((0, 0)))
    assert (before == fg).all(-1).sum() < 300 and (after == fg).all(-1).sum() > 1000
    ed.undo()
    ed.undo()
    assert np.array_equal(np.asarray(_image(_bundle(ed)["image/png"]).convert("RGB")), before)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (10, 14), (32, 32)])
def test_every_editor_size_has_a_picture(shape):
    rng = np.random.default_rng(0)
    ed = MaskEditor(mask=rng.integers(0, 3, shape), num_classes=3, target=rng.integers(0, 3, shape))
    img = Image.open(io.BytesIO(ed.snapshot_png()))
    assert 300 <= img.width <= 600 and 150 <= img.height <= 600


def test_a_lesson_page_shows_the_picture_and_the_sentence(tmp_path, monkeypatch):
    """One page, built the way the site is: a notebook with an editor, executed and tidied as
    ``tools/course.py build`` commits it, rendered by Sphinx with docs/conf.py."""
    if importlib.util.find_spec("myst_nb") is None or importlib.util.find_spec("nbclient") is None:
        pytest.skip("the site's dev dependencies are not installed")
    import nbclient
    import nbformat
    from sphinx.cmd.build import build_main

    spec = importlib.util.spec_from_file_location("course_tools", ROOT / "tools" / "course.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    monkeypatch.setenv("SEGCOURSE_REPO_URL", "")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Paint"),
        nbformat.v4.new_code_cell("from segcourse.widgets import MaskEditor\n"
                                  f"ed = MaskEditor(shape=(3, 3), target={TRUTH})\n"
                                  "ed.paint(0, 0, 1); ed.paint(1, 0, 1); ed.paint(1, 1, 1)\ned"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    course.tidy(nb)
    (out,) = nb.cells[1].outputs
    assert set(out["data"]) == {"text/plain", "image/png"}  # what a rebuilt lesson commits

    src = tmp_path / "src"
    for folder in ("notebooks", "exercises"):
        (src / folder).mkdir(parents=True)
        nbformat.write(nb, src / folder / "01_paint.ipynb")
    (src / "README.md").write_text("# A course\n")
    html_out = tmp_path / "site"
    assert build_main(["-W", "-q", "-b", "html", "-c", str(ROOT / "docs"), "-d", str(tmp_path / "doctrees"),
                       str(src), str(html_out)]) == 0
    page = (html_out / "notebooks" / "01_paint.html").read_text()
    imgs = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
    assert len(imgs) == 1, imgs
    img = Image.open(html_out / "notebooks" / imgs[0])
    assert img.info.get("Description") == STATIC_NOTE
    assert "painted=3, target=yes" not in page  # the picture replaces the text form MaskEditor(..., painted=3, ...)
    # no launch buttons without a repository address
    assert "mybinder.org" not in page


# ---------------------------------------------------------------------- ClickSegmenter
from segcourse.palette import INSTANCE_COLOURS, OUTCOME_COLOURS  # noqa: E402
from segcourse.widgets import CLICK_STATIC_NOTE, ClickSegmenter  # noqa: E402


def _square(image, positive, negative, previous):
    """A toy click model: a 9×9 square around each positive click minus a 3×3 one around each negative."""
    out = np.zeros(image.shape[:2], bool)
    for r, c in positive:
        out[max(0, r - 4): r + 5, max(0, c - 4): c + 5] = True
    for r, c in negative:
        out[max(0, r - 1): r + 2, max(0, c - 1): c + 2] = False
    return out


def test_a_click_segmenter_output_is_a_picture_of_the_replayed_clicks():
    target = np.zeros((64, 64), bool)
    target[20:40, 20:40] = True
    seg = ClickSegmenter(np.full((64, 64), 0.5), _square, target=target, clicks=[(30, 30, True), (30, 34, False)])
    data = _bundle(seg)
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"] == "ClickSegmenter(shape=(64, 64), clicks=2 (1 positive, 1 negative), target=yes)"
    img = _image(data["image/png"])
    assert img.info.get("Description") == CLICK_STATIC_NOTE == "Interactive in JupyterLab: run this cell there to click"
    assert 500 <= img.width <= 800 and 300 <= img.height <= 500
    before = np.asarray(img.convert("RGB"))
    count = lambda rgb, colour: int((rgb == np.array(colour)).all(-1).sum())  # noqa: E731
    assert count(before, OUTCOME_COLOURS["TP"]) > 30 and count(before, OUTCOME_COLOURS["FP"]) > 50  # both click colours
    assert count(before, INSTANCE_COLOURS[0]) > 50  # the mask: prediction orange, no outcome colour
    seg.undo()
    after = np.asarray(_image(_bundle(seg)["image/png"]).convert("RGB"))
    # the negative click's mark is gone; the red left is the legend's
    assert count(before, OUTCOME_COLOURS["FP"]) > count(after, OUTCOME_COLOURS["FP"]) > 0


def test_the_same_clicks_give_the_same_picture():
    args = (np.full((32, 32, 3), 128, np.uint8), _square)
    a = ClickSegmenter(*args, clicks=[(10, 10, True)]).snapshot_png()
    b = ClickSegmenter(*args, clicks=[(10, 10, True)]).snapshot_png()
    c = ClickSegmenter(*args, clicks=[(20, 20, True)]).snapshot_png()
    assert a == b and a != c


@pytest.mark.parametrize("shape, k", [((1, 1), 2), ((3, 3), 3), ((4, 20), 5)])
def test_the_snapshot_title_is_not_clipped(shape, k):
    """The readout wraps at " · " to fit the picture: no title text touches its sides."""
    rng = np.random.default_rng(0)
    ed = MaskEditor(mask=rng.integers(0, k, shape), num_classes=k, target=rng.integers(0, k, shape))
    rgb = np.asarray(Image.open(io.BytesIO(ed.snapshot_png())).convert("L"))
    title_band = rgb[:45]
    assert (title_band[:, :3] > 200).all() and (title_band[:, -3:] > 200).all()


def test_click_marks_match_lesson_06():
    """Lesson 06 draws clicks as a green "P" and a red "X" with a black edge and the target as a solid white line;
    the front end draws the same (no dashes, no + / - dots)."""
    from segcourse import widgets

    js = (Path(widgets.__file__).parent / "widget" / "click_segmenter.js").read_text()
    assert "setLineDash" not in js and "ctx.arc" not in js and "const marker = " in js
    assert "dashed" not in widgets.CLICK_LABELS["target"]


def test_the_picture_has_a_legend_and_a_white_target_outline():
    """Legend: the classes' colours and "target (dashed)"; the outline is white on a dark edge, so it shows on
    the dark background (black dashes on dark grey did not)."""
    def white_in_grid(ed: MaskEditor) -> int:
        rgb = np.asarray(Image.open(io.BytesIO(ed.snapshot_png())).convert("RGB")).astype(int)
        bg = np.array(Image.new("RGB", (1, 1), ed.palette[0]).getpixel((0, 0)))
        rows, cols = np.nonzero((rgb == bg).all(-1).sum(1) > 150)[0], np.nonzero((rgb == bg).all(-1).sum(0) > 150)[0]
        grid = rgb[rows.min() + 2: rows.max() - 1, cols.min() + 2: cols.max() - 1]
        return int((grid > 240).all(-1).sum())

    ed = MaskEditor(shape=(3, 3), target=TRUTH, class_names=["background", "painted"])
    hidden = MaskEditor(shape=(3, 3), target=TRUTH, hide_target=True)
    assert white_in_grid(ed) > 200 and white_in_grid(hidden) == 0  # white dashes inside the grid, unless hidden
    assert _legend_labels(ed) == ["background", "painted", "target (dashed)"]  # class names plus the target's entry
    assert _legend_labels(hidden) == ["background", "class 1"]


def _legend_labels(ed: MaskEditor) -> list[str]:
    import matplotlib.figure

    seen: list[str] = []
    real = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        seen.extend(t.get_text() for t in fig.axes[0].get_legend().get_texts())
        return real(fig, *args, **kwargs)

    matplotlib.figure.Figure.savefig = spy
    try:
        ed.snapshot_png()
    finally:
        matplotlib.figure.Figure.savefig = real
    return seen


def test_the_picture_shows_the_image_under_the_mask():
    image = np.zeros((4, 4), np.uint8)
    image[:, 2:] = 255  # right half white, left half black
    ed = MaskEditor(shape=(4, 4), image=image)
    rgb = np.asarray(Image.open(io.BytesIO(ed.snapshot_png())).convert("RGB")).astype(int)
    h, w, _ = rgb.shape
    row = rgb[h // 2 - 20]
    assert (row > 250).all(-1).sum() > 80 and (row < 5).all(-1).sum() > 80  # both halves of the image are seen
    plain = np.asarray(Image.open(io.BytesIO(MaskEditor(shape=(4, 4)).snapshot_png())).convert("RGB")).astype(int)
    assert (plain[h // 2 - 20] < 5).all(-1).sum() < 10  # (the frame only) without an image the background is the palette's grey
    ed.paint(0, 2, 1)
    ed.paint(0, 0, 1)
    painted = np.asarray(Image.open(io.BytesIO(ed.snapshot_png())).convert("RGB")).astype(int)
    fg = np.array(Image.new("RGB", (1, 1), ed.palette[1]).getpixel((0, 0)))
    blend_dark, blend_light = fg // 2, (fg + 255 + 1) // 2
    near = lambda c: (np.abs(painted - c).max(-1) <= 2).sum()  # noqa: E731
    assert near(blend_dark) > 500 and near(blend_light) > 500  # painted pixels are see-through over the image


def test_a_legend_of_many_classes_lists_the_ones_in_use():
    pal = np.stack(np.unravel_index(np.arange(301) * 97, (256, 256, 256)), -1).astype(np.uint8)
    ed = MaskEditor(shape=(2, 2), num_classes=301, palette=pal, class_names=[str(i) for i in range(301)])
    ed.paint(0, 0, 300)
    assert _legend_labels(ed) == ["0", "300", "+299 more classes"]
    assert _legend_labels(MaskEditor(shape=(2, 2), num_classes=3)) == ["background", "class 1", "class 2"]
