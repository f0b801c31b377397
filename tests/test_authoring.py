"""Authoring: every lesson is a py:percent source paired with its executed, canonical .ipynb.

These are the cheap parts of ``python tools/course.py check`` (no kernel, no nbgrader), plus the
proofs that opening and saving a notebook (nbformat, and JupyterLab's jupytext contents manager)
changes no byte, and that pytest never imports the paired .py files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import course  # noqa: E402

NAMES = course.lesson_names()
PAIRED = sorted(p for folder in course.SOURCES for p in (ROOT / folder).glob("*.ipynb"))
COMMITTED = PAIRED + sorted((ROOT / "exercises").glob("*.ipynb"))


def test_lessons_are_discovered_with_all_their_files():
    assert {"00_masks_and_iou", "01_semantic_segmentation", "03_instance_segmentation",
            "05_segmentation_practice"} <= set(NAMES)
    for name in NAMES:
        for folder in course.SOURCES:
            assert (ROOT / folder / f"{name}.py").exists() and (ROOT / folder / f"{name}.ipynb").exists()
        assert (ROOT / "exercises" / f"{name}.ipynb").exists()


def test_check_finds_nothing_stale():
    """`python tools/course.py check --fast`: pairs in sync, canonical layout, executed, no widget state."""
    assert course.problems(NAMES, fast=True) == []


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_open_and_save_leaves_the_notebook_byte_identical(path):
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    assert nbformat.writes(nb) + "\n" == text


@pytest.mark.parametrize("path", PAIRED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_py_and_ipynb_hold_the_same_cells(path):
    from_py = jupytext.read(path.with_suffix(".py"))
    from_ipynb = nbformat.read(path, as_version=4)
    assert len(from_py.cells) == len(from_ipynb.cells)
    for a, b in zip(from_py.cells, from_ipynb.cells):
        assert (a.cell_type, a.source) == (b.cell_type, b.source)
        for key in ("nbgrader", "tags"):
            assert a.metadata.get(key) == b.metadata.get(key), (key, b.source[:60])


def test_saving_in_jupyterlab_with_jupytext_changes_no_file(tmp_path):
    """JupyterLab saves through jupytext's contents manager: load and save every pair, compare bytes."""
    from jupytext import TextFileContentsManager

    shutil.copy(ROOT / "jupytext.toml", tmp_path)
    for folder in course.SOURCES:
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("reports", "__pycache__"))
    cm = TextFileContentsManager(root_dir=str(tmp_path))
    for ipynb in PAIRED:
        rel = ipynb.relative_to(ROOT).as_posix()
        cm.save(cm.get(rel), rel)
        for suffix in (".ipynb", ".py"):
            saved = (tmp_path / rel).with_suffix(suffix).read_bytes()
            assert saved == ipynb.with_suffix(suffix).read_bytes(), f"saving {rel} rewrites its {suffix}"
    assert not list((tmp_path / "notebooks").glob("*.md")), "no stray formats are paired"


def test_exercises_are_not_paired():
    config = jupytext.config.load_jupytext_config(str(ROOT / "exercises" / "00_masks_and_iou.ipynb"))
    assert config.default_formats(str(ROOT / "exercises" / "00_masks_and_iou.ipynb")) is None
    assert config.default_formats(str(ROOT / "notebooks" / "00_masks_and_iou.ipynb")) == \
        "notebooks///ipynb,notebooks///py:percent"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nbval_markers_are_tags_not_comments(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        assert not re.search(r"#\s*(NBVAL_|PYTEST_VALIDATE_)", cell.source), cell.source[:80]


def test_pytest_does_not_collect_the_paired_sources():
    res = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "notebooks", "solutions"],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    collected = [line for line in res.stdout.splitlines() if "::" in line]
    assert collected and all(line.split("::")[0].endswith(".ipynb") for line in collected)


def test_a_new_lesson_is_picked_up_without_registration(tmp_path):
    for folder in ("notebooks", "solutions", "exercises"):
        (tmp_path / folder).mkdir()
    (tmp_path / "notebooks" / "06_new_topic.py").write_text("# %%\nprint(1)\n")
    assert course.lesson_names(tmp_path) == ["06_new_topic"]
    assert course.resolve(["06"], tmp_path) == ["06_new_topic"]
    found = course.problems(["06_new_topic"], fast=True, root=tmp_path)
    assert any("solutions/06_new_topic.ipynb is missing" in line for line in found)
    assert any("one of .py/.ipynb is missing" in line for line in found)


def test_readme_learning_path_links_every_lesson():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"(notebooks/{name}.ipynb)" in readme, name


def _sanitize(text: str) -> str:
    """Apply .ci/nbval_sanitize.cfg with nbval's own parser, in file order, as nbval does."""
    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns((ROOT / ".ci" / "nbval_sanitize.cfg").read_text()):
        text = re.sub(regex, replace, text)
    return text


def test_a_progress_bar_is_committed_finished_and_compares_with_a_fresh_run():
    """tqdm.auto's text form is the bar as first drawn (0 %): committed, it would read as a run that never
    started. tidy() keeps the finished bar; nbval's sanitizer makes a re-run's 0 % bar compare equal."""
    drawn = "training:   0%|          | 0/70 [00:00<?, ?step/s]"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={
        "text/plain": drawn, course.WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0}})]
    out = course.tidy(nb).cells[0].outputs[0]
    assert course.WIDGET_VIEW not in out.data
    assert out.data["text/plain"] == "training: 100%|██████████| 70/70"
    assert _sanitize(out.data["text/plain"]) == _sanitize(drawn) == "training:PROGRESS BAR"
    # a printed line that merely contains a percentage is left alone
    assert _sanitize("lane marking: 98.3% of lane pixels found") == "lane marking: 98.3% of lane pixels found"
