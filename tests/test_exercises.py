"""exercises/ is exactly nbgrader's release of solutions/; solutions are valid nbgrader sources."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.preprocessors.clearsolutions import ClearSolutions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import course  # noqa: E402

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
BEGIN, END = ClearSolutions.begin_solution_delimeter.default_value, ClearSolutions.end_solution_delimeter.default_value


def test_there_are_solutions_and_matching_exercises():
    assert len(SOLUTIONS) >= 4
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")) == [p.name for p in SOLUTIONS]


def test_exercises_are_nbgraders_release_of_the_solutions():
    """Regenerate with nbgrader's generate_assignment (a temporary course) and compare the text.

    Nothing is normalised: the release is deterministic (checksums are md5 of cell sources)."""
    names = [p.stem for p in SOLUTIONS]
    released = course.release(names)
    stale = [n for n in names if (ROOT / "exercises" / f"{n}.ipynb").read_text(encoding="utf-8") != released[n]]
    assert not stale, f"exercises differ from nbgrader's release: {stale}; run: python tools/course.py build"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_carry_nbgrader_metadata(path):
    nb = nbformat.read(path, as_version=4)
    ids = []
    solution_cells = grade_cells = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            assert cell.cell_type == "markdown", "every code cell needs nbgrader metadata"
            continue
        assert meta["schema_version"] == 3 and "grade_id" in meta
        ids.append(meta["grade_id"])
        if meta.get("solution") and cell.cell_type == "code":
            solution_cells += 1
            assert BEGIN in cell.source and END in cell.source
        if meta.get("grade"):
            grade_cells += 1
            assert meta["points"] > 0
            if cell.cell_type == "code":
                assert meta["locked"] and "checks.check_" in cell.source
    assert len(ids) == len(set(ids)), "grade_id values must be unique"
    assert solution_cells >= 2 and grade_cells >= 3


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_exercises_have_stubs_not_solutions(path):
    ex = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    text = "\n".join(c.source for c in ex.cells)
    assert BEGIN not in text and re.search(r"# YOUR CODE HERE\n\s*raise NotImplementedError\(\)", text)
    for cell in ex.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked"):
            assert cell.metadata.get("editable") is False and cell.metadata.get("deletable") is False
        if meta:
            assert meta.get("checksum"), "nbgrader's checksum is what autograde uses to spot edited cells"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_nbval_lets_exactly_the_stubs_and_their_checks_raise(path):
    """conftest.py reads nbgrader's metadata: each stub and each grade cell after it may raise."""
    ex = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    code = [c for c in ex.cells if c.cell_type == "code"]
    allowed = course.cells_allowed_to_raise(ex)
    stubs = {i for i, c in enumerate(code) if "raise NotImplementedError()" in c.source}
    assert stubs and stubs <= allowed
    for i in allowed - stubs:
        assert code[i].metadata["nbgrader"]["grade"] and "checks.check_" in code[i].source
    assert 0 not in allowed, "the set-up cell must run"
    assert all("tags" not in c.metadata for c in code), "no nbval tags are written into the exercises"


HEADING = re.compile(r"^#{1,4} .+$", re.M)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_heading_of_the_solution_reaches_the_learner(path):
    """A heading swallowed by a free-text answer cell vanishes from the release with that cell's text.

    Lesson 06 shipped exercise 7 with no statement: a lost ``# %% [markdown]`` line had put its heading and
    task inside exercise 6's graded answer cell, which nbgrader replaces with "YOUR ANSWER HERE".
    """
    solution = nbformat.read(path, as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    inside_answers = [h for c in solution.cells if c.cell_type == "markdown"
                      and c.metadata.get("nbgrader", {}).get("solution") for h in HEADING.findall(c.source)]
    assert not inside_answers, f"headings inside a free-text answer cell (the learner never sees them): {inside_answers}"

    def headings(nb):
        return [h for c in nb.cells if c.cell_type == "markdown" for h in HEADING.findall(c.source)]

    assert headings(exercise) == headings(solution)
