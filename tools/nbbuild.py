"""Tiny helpers to write and execute course notebooks from Python lists of cells.

Lessons are authored in ``tools/lessons/*.py`` and solved exercises in ``tools/solutions/*.py``
as lists of ``md(...)`` and ``code(...)`` cells; ``python tools/nbbuild.py notebooks/00_masks_and_iou.ipynb``
(or ``solutions/...``) rebuilds and executes one. Then ``python tools/make_exercises.py``. The
committed ``.ipynb`` (executed, with outputs) is what learners and nbval read.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def md(text: str, **metadata) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n"), metadata=metadata)


def code(src: str, tags: tuple[str, ...] = (), **metadata) -> nbformat.NotebookNode:
    if tags:
        metadata = {**metadata, "tags": list(tags)}
    return nbformat.v4.new_code_cell(textwrap.dedent(src).strip("\n"), metadata=metadata)


NBGRADER_LOCKED = {"grade": False, "locked": True, "schema_version": 3, "solution": False, "task": False}


def solution(src: str, grade_id: str) -> nbformat.NotebookNode:
    """A code cell the learner completes (nbgrader solution cell)."""
    return code(src, nbgrader={"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                               "solution": True, "task": False})


def check(src: str, grade_id: str, points: int) -> nbformat.NotebookNode:
    """A locked, auto-graded check cell worth ``points``."""
    return code(src, nbgrader={"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                               "schema_version": 3, "solution": False, "task": False})


def answer(text: str, grade_id: str, points: int) -> nbformat.NotebookNode:
    """A free-text answer cell, graded by hand (the solution text becomes YOUR ANSWER HERE)."""
    return md(text, nbgrader={"grade": True, "grade_id": grade_id, "locked": False, "points": points,
                              "schema_version": 3, "solution": True, "task": False})


def locked(cell_fn, src: str, grade_id: str) -> nbformat.NotebookNode:
    """A read-only cell (setup code or instructions)."""
    return cell_fn(src, nbgrader={**NBGRADER_LOCKED, "grade_id": grade_id})


def new_notebook(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def strip_volatile(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop saved widget state (megabytes, random ids) and execution timing metadata."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            out.get("metadata", {}).pop("execution", None)
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 600) -> float:
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - start


def write(nb: nbformat.NotebookNode, path: Path, run: bool = True) -> float:
    seconds = execute(nb, path.parent) if run else 0.0
    strip_volatile(nb)
    nbformat.validate(nb)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    return seconds


def load_lesson(name: str, folder: str = "lessons"):
    src = ROOT / "tools" / folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


if __name__ == "__main__":
    for target in sys.argv[1:]:
        path = (ROOT / target).resolve()
        lesson = load_lesson(path.stem, "solutions" if path.parent.name == "solutions" else "lessons")
        secs = write(new_notebook(lesson.CELLS), path)
        print(f"{target}: executed in {secs:.1f} s")
