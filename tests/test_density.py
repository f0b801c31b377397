"""Each lesson's main body stays within its budget of words and code lines (tools/density.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import density  # noqa: E402

LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_every_lesson_has_a_budget():
    assert {p.name[:2] for p in LESSONS} == set(density.BUDGET)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_main_body_within_budget(path):
    words, code = density.BUDGET[path.name[:2]]
    main = density.lesson_density(path)["main"]
    assert main["words"] <= words, f"{path.name}: {main['words']} markdown words in the main body, budget {words}"
    assert main["code_lines"] <= code, f"{path.name}: {main['code_lines']} code lines in the main body, budget {code}"


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s[3:]) if s.startswith("md:") else nbformat.v4.new_code_cell(s)
                for s in cells]
    return nb


def test_splitting_a_cell_changes_no_count(tmp_path):
    one = _nb("md:# Lesson\nTwo words.", "a = 1\n# a comment\n\nb = 2\nprint(a + b)", "md:## Appendix A\nMore text here.",
              "c = 3")
    two = _nb("md:# Lesson\nTwo words.", "a = 1\n# a comment", "\nb = 2\nprint(a + b)", "md:## Appendix A\nMore text here.",
              "c = 3")
    counts = []
    for i, nb in enumerate((one, two)):
        nbformat.write(nb, tmp_path / f"{i}.ipynb")
        counts.append(density.lesson_density(tmp_path / f"{i}.ipynb"))
    assert counts[0]["main"]["code_lines"] == counts[1]["main"]["code_lines"] == 3
    assert counts[0]["main"]["words"] == 4 and counts[0]["appendix"]["words"] == 6
    assert counts[0]["appendix"]["code_lines"] == 1


def test_prose_numbers_are_counted(tmp_path):
    nbformat.write(_nb("md:IoU 0.412 on 1,273 pixels of 3 scenes; ids 0-4 and x2."), tmp_path / "n.ipynb")
    assert density.lesson_density(tmp_path / "n.ipynb")["main"]["prose_numbers"] == 5
