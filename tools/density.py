"""How much a lesson asks of its reader: ``python tools/course.py density``.

A lesson's **main body** is every cell before its first ``Appendix`` or ``Extra`` heading; the
appendix is what a learner may skip. For each part this counts

* the words of its markdown cells,
* the non-blank, non-comment lines of its code cells (summed over cells, so splitting a cell
  changes nothing),
* the numbers its markdown reads (each must be printed by a cell: ``tests/test_prose_numbers.py``).

``BUDGET`` holds each lesson's ceiling for the main body; ``tests/test_density.py`` fails when a
lesson grows past it, so a lesson can only get longer by raising its budget in a reviewed commit.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
APPENDIX = re.compile(r"^#{1,3} (Appendix|Extra)\b")
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")

# lesson -> (markdown words, code lines) allowed in the main body: session 14's counts after its cuts
# (main bodies were 1,469-3,656 words and 231-672 code lines before them), plus at most 3 %
BUDGET: dict[str, tuple[int, int]] = {
    "00": (1480, 200),
    "01": (1950, 275),
    "02": (1950, 465),
    "03": (2400, 420),
    "04": (2520, 415),
    "05": (2380, 350),
    "06": (2250, 355),
}


def _is_appendix(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "markdown" and bool(APPENDIX.match(cell.source.strip()))


def count(cells: list) -> dict[str, int]:
    """Words, code lines, prose numbers and cells of a list of notebook cells."""
    md = [c.source for c in cells if c.cell_type == "markdown"]
    code = [c.source for c in cells if c.cell_type == "code"]
    return {
        "words": sum(len(s.split()) for s in md),
        "code_lines": sum(1 for s in code for line in s.splitlines()
                          if line.strip() and not line.strip().startswith("#")),
        "prose_numbers": sum(len(NUMBER.findall(s)) for s in md),
        "cells": len(cells),
    }


def lesson_density(path: Path) -> dict[str, dict[str, int]]:
    """``{"main": {...}, "appendix": {...}}`` for one notebook (see :func:`count`)."""
    nb = nbformat.read(path, as_version=4)
    cut = next((i for i, c in enumerate(nb.cells) if _is_appendix(c)), len(nb.cells))
    return {"main": count(nb.cells[:cut]), "appendix": count(nb.cells[cut:])}


def density_table(root: Path = ROOT) -> str:
    """The Markdown table of every lesson's main body and appendix, with its budget."""
    rows = ["| lesson | main: words / code lines / prose numbers / cells | budget (words / code) "
            "| appendix: words / code lines |", "|---|---|---|---|"]
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        d = lesson_density(path)
        m, a = d["main"], d["appendix"]
        w, c = BUDGET.get(path.name[:2], ("-", "-"))
        rows.append(f"| {path.stem} | {m['words']:,} / {m['code_lines']} / {m['prose_numbers']} / {m['cells']} "
                    f"| {w:,} / {c} | {a['words']:,} / {a['code_lines']} |".replace("-,", "-"))
    return "\n".join(rows) + "\n"
