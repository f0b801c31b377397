"""The exercise points of every lesson, read from the nbgrader metadata of ``solutions/``.

``python tools/course.py points`` prints the Markdown the README embeds between
``<!-- points-table -->`` and ``<!-- /points-table -->``; ``tests/test_classroom.py`` checks the
README holds exactly this text, so the README's totals can never drift from the notebooks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
START, STOP = "<!-- points-table -->", "<!-- /points-table -->"


def lesson_points(path: Path) -> list[tuple[str, int, bool]]:
    """``(grade_id, points, automatic)`` of every graded cell of one solution notebook, in order."""
    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            out.append((meta["grade_id"], int(meta["points"]), cell.cell_type == "code" and not meta.get("solution")))
    return out


def points_table(root: Path = ROOT) -> str:
    """The Markdown table of points per lesson (automatic / by hand) and the course total."""
    rows = ["| exercise notebook | automatic | by hand | points | graded cells (points; *by hand*) |",
            "|---|---:|---:|---:|---|"]
    total_auto = total_hand = 0
    for path in sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb")):
        cells = lesson_points(path)
        auto = sum(p for _, p, a in cells if a)
        hand = sum(p for _, p, a in cells if not a)
        total_auto, total_hand = total_auto + auto, total_hand + hand
        listed = ", ".join(f"`{g}` {p}" if a else f"*`{g}` {p}*" for g, p, a in cells)
        rows.append(f"| [`{path.stem}`](exercises/{path.name}) | {auto} | {hand} | {auto + hand} | {listed} |")
    rows.append(f"| **all** | **{total_auto}** | **{total_hand}** | **{total_auto + total_hand}** | |")
    return "\n".join(rows) + "\n"


def readme_table(readme: Path = ROOT / "README.md") -> str:
    """The table currently embedded in the README (between the two markers)."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or STOP not in text:
        raise ValueError(f"{readme.name} lacks the {START} ... {STOP} markers")
    return text.split(START, 1)[1].split(STOP, 1)[0].strip("\n") + "\n"


def update_readme(readme: Path = ROOT / "README.md", root: Path = ROOT) -> bool:
    """Write the current table into the README; True if it changed."""
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    new = f"{head}{START}\n{points_table(root)}{STOP}{rest.split(STOP, 1)[1]}"
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    print(points_table(), end="")
