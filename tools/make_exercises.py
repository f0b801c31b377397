"""Generate exercises/ from solutions/ (the single source of truth).

In every solution cell (nbgrader ``solution: true``) the code between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` becomes ``raise NotImplementedError()`` at the same indentation; a solved
free-text (markdown) answer becomes "YOUR ANSWER HERE". Outputs and execution counts are cleared.
Stub cells and the check cells after them are tagged ``raises-exception`` so "Run All" and nbval
run to the end. ``python tools/make_exercises.py --check`` exits 1 if exercises/ is out of date.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB_MD = "YOUR ANSWER HERE"


def stub_source(src: str) -> str:
    """Replace every solution region by a NotImplementedError stub.

    >>> print(stub_source("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION"))
    def f():
        raise NotImplementedError()
    """
    out, inside = [], False
    for line in src.splitlines():
        if line.strip() == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}raise NotImplementedError()")
            inside = True
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("a ### BEGIN SOLUTION has no matching ### END SOLUTION")
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(solution)
    nb.metadata.pop("widgets", None)
    after_stub = False
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        tags = [t for t in cell.metadata.get("tags", []) if t != "raises-exception"]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if meta.get("solution"):
                cell.source = stub_source(cell.source)
                tags.append("raises-exception")
                after_stub = True
            elif meta.get("grade") and after_stub:
                tags.append("raises-exception")
        elif meta.get("solution"):
            cell.source = STUB_MD
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when exercises/ is stale")
    args = ap.parse_args(argv)
    stale = []
    for src in sorted((ROOT / "solutions").glob("*.ipynb")):
        text = render(make_exercise(nbformat.read(src, as_version=4)))
        dst = ROOT / "exercises" / src.name
        if not dst.exists() or dst.read_text() != text:
            stale.append(dst.relative_to(ROOT).as_posix())
            if not args.check:
                dst.write_text(text)
    if args.check and stale:
        print("out of date (run python tools/make_exercises.py):", ", ".join(stale))
        return 1
    print(("up to date" if args.check else "written: " + (", ".join(stale) or "nothing changed")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
