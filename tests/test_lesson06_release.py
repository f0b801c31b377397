"""Lesson 06's release keeps every exercise's statement (review 06s13 P1-1: exercise 7's heading had slid
into exercise 6's graded answer cell, which nbgrader replaces with "YOUR ANSWER HERE")."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
HEADING = re.compile(r"^## (\d+) ·", re.M)


def _headings(nb, *, solution_cells: bool) -> list[str]:
    return [m.group(1) for cell in nb.cells if cell.cell_type == "markdown"
            if bool(cell.metadata.get("nbgrader", {}).get("solution")) == solution_cells
            for m in HEADING.finditer(cell.source)]


def test_lesson06_every_exercise_heading_is_released():
    solution = nbformat.read(ROOT / "solutions" / "06_clicks_to_masks.ipynb", as_version=4)
    release = nbformat.read(ROOT / "exercises" / "06_clicks_to_masks.ipynb", as_version=4)
    assert not _headings(solution, solution_cells=True), "an exercise heading sits inside a graded answer cell"
    want = _headings(solution, solution_cells=False)
    assert want == [str(k) for k in range(1, len(want) + 1)], want
    assert [m.group(1) for cell in release.cells if cell.cell_type == "markdown"
            for m in HEADING.finditer(cell.source)] == want
