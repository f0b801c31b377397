"""exercises/ is generated from solutions/ and can never drift; solutions are nbgrader-ready."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_exercises  # noqa: E402

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_there_are_solutions_and_matching_exercises():
    assert SOLUTIONS
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")) == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_exercises_are_regenerated_exactly(path):
    expected = make_exercises.render(make_exercises.make_exercise(nbformat.read(path, as_version=4)))
    assert (ROOT / "exercises" / path.name).read_text() == expected, "run: python tools/make_exercises.py"


def test_check_mode_of_the_script():
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "make_exercises.py"), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


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
            assert make_exercises.BEGIN in cell.source and make_exercises.END in cell.source
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
    assert "BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text
    for cell in ex.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            if "raise NotImplementedError()" in cell.source:
                assert "raises-exception" in cell.metadata.get("tags", [])


def test_stub_source_keeps_indentation_and_rejects_unclosed():
    assert make_exercises.stub_source("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\nprint(y)") == \
        "x = 1\nraise NotImplementedError()\nprint(y)"
    with pytest.raises(ValueError):
        make_exercises.stub_source("### BEGIN SOLUTION\nx = 1")
