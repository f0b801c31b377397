"""Drift test: every number a lesson states in its prose is printed by a cell of the same lesson.

A lesson's markdown says "PQ 0.680", "51 of 300 fail", "7.6 %"; its code cells print the
numbers. When code, data or weights change, the outputs change with them, but prose does not:
this test reads every committed lesson (notebooks/*.ipynb, executed) and fails on each number
in a markdown cell that appears in no text output of that notebook.

What counts as a number in the prose
    decimals (``0.815``), percentages (``7.6 %``, ``38%``) and whole numbers from 10 up
    (``51 failing``, ``200 images``). Whole numbers below 10 are left out: in prose they are
    almost always names or settings (class 1, step 3, 2 px, 4-connectivity), not measurements.
    Inline code, code blocks and LaTeX are left out (they show code and definitions).
What counts as printed
    the same value in any text output (stream, ``text/plain``, ``text/html``, ``text/markdown``)
    at the precision the prose states it: prose ``0.84`` is backed by an output ``0.839`` (it
    rounds to it), prose ``38%`` by ``38%`` or by ``0.38``; signs and thousands separators are
    ignored (``−3`` = ``-3``, ``9,920`` = ``9920``). A claim is checked at the precision it is
    written with, so "about 0.7" is backed by any printed 0.65-0.75: state results to the digits
    the output prints when the digits matter.
What is exempt
    the numbers inside the phrases of ``ALLOWED`` below: definitions, not measurements. The
    list is short on purpose and gives a reason for each entry; a number that is a result
    must be printed instead.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: (pattern, reason): numbers inside a match of the pattern are definitions, not claims.
ALLOWED: list[tuple[str, str]] = [
    (r"\b(?:[Ll]essons?|[Ss]ections?|§|[Ee]xercises?|[Cc]hapters?)\s+\d+(?:\s*(?:[–-]|and|,|&)\s*\d+)*",
     "references to lesson, section or exercise numbers name a place in the course"),
    (r"\bet al\.?,?\s*\(?\d{4}\)?|\(\d{4}\)|\b(?:19|20)\d{2}[a-z]?\)",
     "publication years in citations (Kirillov et al. 2019)"),
    (r"\b\d+\s*[×x]\s*\d+(?:\s*[×x]\s*\d+)?\b", "array and kernel sizes (3×3, 64×64) are set in the code"),
    (r"\b(?:Python|torch|PyTorch|numpy|jupytext|nbgrader|scikit-image|version)\s+\d+(?:\.\d+)+",
     "software versions"),
    (r"\bIoU\s*(?:is\s+)?(?:above|over|of at least|at least|of|>|≥|>=)\s*0\.5\b|\b0\.5\s+(?:IoU\s+)?(?:threshold|cut-?off)",
     "0.5 is the IoU threshold of instance matching and of a probability cut: a definition"),
]
_ALLOWED = [re.compile(p) for p, _ in ALLOWED]

_NUMBER = re.compile(r"(?<![\w.])[−-]?(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(\.\d+)?(?!\.?\d)"  # no backtracking
                     r"(?:st|nd|rd|th|px)?(\s?%)?(?!\w)")                              # 99.8th, 40px
_STRIP = [
    re.compile(r"```.*?```", re.S),          # code blocks
    re.compile(r"`[^`\n]*`"),                # inline code
    re.compile(r"\$\$.*?\$\$", re.S),        # display maths
    re.compile(r"\$[^$\n]+\$"),              # inline maths
    re.compile(r"<[^>\n]+>"),                # html tags (their attributes hold sizes, colours)
    re.compile(r"\]\([^)\s]*\)"),            # link targets
]


def _mask(text: str) -> str:
    """Blank out code, maths, tags, link targets and allowed phrases (keeping offsets)."""
    for pat in _STRIP + _ALLOWED:
        text = pat.sub(lambda m: " " * len(m.group()), text)
    return text


def prose_numbers(markdown: str) -> list[tuple[float, int, bool, str]]:
    """Numbers stated in a markdown text: (value, decimals, is_percent, the words around it).

    >>> [(v, d, pct) for v, d, pct, _ in prose_numbers("mIoU 0.815, 7.6 % of pixels; 51 failing of 300 in lesson 03")]
    [(0.815, 3, False), (7.6, 1, True), (51.0, 0, False), (300.0, 0, False)]
    >>> [v for v, *_ in prose_numbers("the 99.8th percentile, a 40px car, AP50, 3D, 12.5x")]
    [99.8, 40.0]
    >>> prose_numbers("a 3×3 mask, class 2, `fail_below=0.9`, Kirillov et al. 2019, IoU above 0.5")
    []
    """
    masked = _mask(markdown)
    found = []
    for m in _NUMBER.finditer(masked):
        whole, frac, pct = m.group(1), m.group(2) or "", bool(m.group(3))
        value = float(whole.replace(",", "") + frac)
        decimals = len(frac) - 1 if frac else 0
        if not frac and not pct and value < 10:
            continue
        ctx = markdown[max(0, m.start() - 40):m.end() + 25].replace("\n", " ")
        found.append((value, decimals, pct, ctx.strip()))
    return found


def output_numbers(text: str) -> list[tuple[float, bool]]:
    """Every number in an output text: (absolute value, is_percent).

    >>> output_numbers("PQ 0.839 | 38% | −3 cells | 9,920 images")
    [(0.839, False), (38.0, True), (3.0, False), (9920.0, False)]
    """
    out = []
    for m in re.finditer(r"(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(\.\d+)?(?:[eE]([+-]?\d+))?(\s?%)?", text):
        value = float(m.group(1).replace(",", "") + (m.group(2) or "") + (f"e{m.group(3)}" if m.group(3) else ""))
        out.append((value, bool(m.group(4))))
    return out


def backed(value: float, decimals: int, pct: bool, printed: list[tuple[float, bool]]) -> bool:
    """Does some printed number show ``value`` at the precision the prose states it?

    >>> backed(0.84, 2, False, [(0.839, False)]), backed(0.84, 2, False, [(0.85, False)])
    (True, False)
    >>> backed(38, 0, True, [(0.38, False)]), backed(0.38, 2, False, [(38.0, True)]), backed(51, 0, False, [(51.2, False)])
    (True, True, False)
    """
    def rounds_to(y: float) -> bool:
        return math.isclose(round(y, decimals), value, abs_tol=10 ** -(decimals + 3))

    for y, y_pct in printed:
        if rounds_to(y) and (decimals or y == int(y) or pct):  # a whole-number claim needs a whole number
            return True
        if pct and not y_pct and rounds_to(100 * y):
            return True
        if not pct and y_pct and rounds_to(y / 100):
            return True
    return False


def _texts(cell: dict) -> list[str]:
    texts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            texts.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
        for key in ("text/plain", "text/html", "text/markdown"):
            data = out.get("data", {}).get(key)
            if data:
                texts.append("".join(data) if isinstance(data, list) else data)
    return texts


def unbacked_numbers(path: Path) -> list[str]:
    """Every prose number of the notebook at ``path`` that no output of it prints."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    printed = [n for cell in nb["cells"] if cell["cell_type"] == "code" for t in _texts(cell)
               for n in output_numbers(t)]
    missing = []
    for idx, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for value, decimals, pct, ctx in prose_numbers(source):
            if not backed(value, decimals, pct, printed):
                shown = f"{value:.{decimals}f}{' %' if pct else ''}"
                missing.append(f"cell {idx}: {shown}  in  “…{ctx}…”")
    return missing


def test_the_extractor_finds_claims_and_skips_definitions():
    md = ("The watershed lifts PQ to 0.680 and cuts the count error to 1.29; 38% of images are counted right; "
          "51 failing samples; see lesson 01 and §5; a 3×3 mask; Kirillov et al. 2019; `min_distance=2`; "
          "matched when the IoU above 0.5; $\\frac{12}{13}$.")
    assert [(v, d, p) for v, d, p, _ in prose_numbers(md)] == [(0.68, 3, False), (1.29, 2, False), (38, 0, True),
                                                             (51, 0, False)]
    printed = output_numbers("PQ 0.680 | count 1.29 | 38% | failing: 51")
    assert all(backed(v, d, p, printed) for v, d, p, _ in prose_numbers(md))
    assert not backed(0.68, 3, False, output_numbers("PQ 0.681"))   # one digit of drift is caught
    assert not backed(52, 0, False, printed)


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_prose_number_is_printed(path):
    missing = unbacked_numbers(path)
    assert not missing, (f"{path.name}: {len(missing)} number(s) in the prose appear in no output of the "
                         f"notebook (print them, or correct the prose):\n  " + "\n  ".join(missing))
