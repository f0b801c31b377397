"""Learner checks of lesson 05, segmentation practice.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import metrics
from .._validate import to_numpy
from . import _core
from ._core import _call, _close, _number, learner_check

__all__ = ["check_practice_masks", "check_small_region_sensitivity", "check_report"]


def _show(value: Any) -> str:
    """A learner's value as a hint prints it: plain numbers (``0.5``, ``nan``), never ``np.float64(0.5)``."""
    value = _core._plain(value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return f"a {type(value).__name__}"
    if arr.ndim == 0:
        return f"{float(arr):.4g}"
    return str([float(f"{v:.4g}") for v in arr.ravel()[:8]])


@learner_check
def check_practice_masks(pred_masks: Any, gt_masks: Any, ious: Any, mean_iou: Any, pooled_iou: Any = None) -> None:
    """Check the practice exercise: a new set of masks, its per-sample IoU, their mean and the pooled IoU.

    The set must hold at least one sample whose two masks are both empty: two empty masks have
    no IoU, the course convention (lesson 00) is NaN, and the mean skips such samples
    (``np.nanmean``). ``pooled_iou`` (checked when given) is all intersections summed over all
    unions summed. Masks are 0/1 (or bool): 0/255 masks (as image files store them) fail with a
    hint to convert them, instead of being scored as empty. Torch tensors (also with
    ``requires_grad``) are read like arrays.

    >>> p = [[[1, 0], [0, 0]], [[1, 1], [0, 0]], [[0, 0], [0, 0]]]
    >>> g = [[[1, 1], [0, 0]], [[1, 1], [0, 0]], [[0, 0], [0, 0]]]
    >>> check_practice_masks(p, g, [0.5, 1.0, float("nan")], 0.75, pooled_iou=0.75)
    check_practice_masks: per-sample [0.5, 1.0, nan], mean 0.75, pooled 0.75
    """
    try:
        p, g = to_numpy(pred_masks, "pred_masks"), to_numpy(gt_masks, "gt_masks")
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"pred_masks and gt_masks must be lists of equal-sized\n"
                             f"2-D masks (rows of 0/1): {exc}") from None
    if p.shape != g.shape or p.ndim != 3 or len(p) < 2:
        raise AssertionError(f"build at least two samples of matching 2-D masks:\n"
                             f"pred_masks {p.shape}, gt_masks {g.shape}")
    for arr, name in ((p, "pred_masks"), (g, "gt_masks")):
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise AssertionError(f"{name} has dtype {arr.dtype}; masks hold the numbers 0 and 1")
        values = np.unique(arr)
        if not np.isin(values, [0, 1]).all():
            hint = ("these look like 0/255 masks (as image files store them):\nconvert with (mask > 0).astype(int)"
                    if np.isin(values, [0, 255]).all() else "every pixel is 0 (background) or 1 (object)")
            raise AssertionError(f"{name} holds the values {values[:6].tolist()}; practice masks\n"
                                 f"are binary, 0/1: {hint}")
    empty_pair = [(not (a == 1).any()) and (not (b == 1).any()) for a, b in zip(p, g)]
    if not any(empty_pair):
        raise AssertionError("none of your samples has two empty masks: add one where\n"
                             "pred and gt are both all 0, to show what your mean does\n"
                             "with a sample that has no object (IoU 0/0 = NaN)")
    want = np.array([metrics.iou(a == 1, b == 1) for a, b in zip(p, g)], float)
    try:
        got = to_numpy(ious, "ious").astype(float).ravel() if not np.isscalar(ious) else np.asarray(ious, float).ravel()
    except (TypeError, ValueError):
        raise AssertionError(f"ious must be a list of numbers, one per sample;\ngot {type(ious).__name__}") from None
    if len(got) != len(want):
        raise AssertionError(f"one IoU per sample: {len(want)} samples, {len(got)} values in ious")
    if not np.allclose(got, want, atol=1e-4, equal_nan=True):
        empty = np.isnan(want) & ~np.isnan(got)
        if empty.any():
            raise AssertionError(f"sample {int(np.argmax(empty))}: both masks are empty, so IoU is 0/0;\n"
                                 f"the course convention is NaN (np.nan), not {_show(got[empty][0])}")
        a1, b1 = p == 1, g == 1
        inter, size_a, size_b = (a1 & b1).sum((1, 2)), a1.sum((1, 2)), b1.sum((1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            causes = {
                "Dice (2·overlap / (|pred| + |gt|)), not IoU": 2 * inter / (size_a + size_b),
                "the share of pixels that agree (pixel accuracy), not IoU": (p == g).mean((1, 2)),
                "the IoU of the background (class 0), not of class 1":
                    np.array([metrics.iou(a == 0, b == 0) for a, b in zip(p, g)], float),
                "overlap / the ground truth's size (recall), not / the union": inter / size_b,
                "overlap / the prediction's size (precision), not / the union": inter / size_a,
            }
        known = ~np.isnan(want)
        cause = next((name for name, v in causes.items() if np.allclose(got[known], v[known], atol=1e-4)), None)
        why = (f"yours are {cause}" if cause else
               "IoU = (pixels 1 in both) / (pixels 1 in either), one value per sample")
        raise AssertionError(f"the per-sample IoUs of your masks are {_show(want)},\n"
                             f"you reported {_show(got)}: {why}")
    want_mean = float(np.nanmean(want)) if np.isfinite(want).any() else float("nan")
    a1, b1 = p == 1, g == 1
    want_pooled = float((a1 & b1).sum() / (a1 | b1).sum()) if (a1 | b1).any() else float("nan")
    if not _close(mean_iou, want_mean, 1e-4):
        if _close(mean_iou, float("nan")) or _close(mean_iou, float(np.nan_to_num(want).mean()), 1e-4):
            hint = "\nuse np.nanmean: a NaN sample (two empty masks) is skipped,\nnot counted as NaN or as 0"
        elif _close(mean_iou, want_pooled, 1e-4):
            hint = "\nthat is the pooled IoU (all overlaps over all unions),\nnot the mean of the per-sample values"
        else:
            hint = ""
        raise AssertionError(f"mean_iou should be the mean of the per-sample values,\n"
                             f"{want_mean:.4f}; you have {_show(mean_iou)}{hint}")
    if pooled_iou is not None and not _close(pooled_iou, want_pooled, 1e-4):
        hint = ("that is the mean of the per-sample IoUs: pool first,\nsum every overlap and every union, then divide once"
                if _close(pooled_iou, want_mean, 1e-4) else
                "pooled IoU = (sum of all overlaps) / (sum of all unions)")
        raise AssertionError(f"pooled_iou should be {want_pooled:.4f}; you have {_show(pooled_iou)}:\n{hint}")
    if np.allclose(want[np.isfinite(want)], 0.8):
        raise AssertionError("your masks give 0.8 everywhere, like the original example:\n"
                             "change them so mean_iou moves")
    pooled = f", pooled {want_pooled:.4g}" if pooled_iou is not None else ""
    print(f"check_practice_masks: per-sample {np.round(want, 4).tolist()}, mean {want_mean:.4g}{pooled}")


@learner_check
def check_small_region_sensitivity(shifted_iou: Callable) -> None:
    """Check ``shifted_iou(side)``: IoU of a side×side square with itself shifted one pixel right.

    >>> check_small_region_sensitivity(lambda s: (s - 1) / (s + 1))
    check_small_region_sensitivity: side 2 -> 0.333, side 32 -> 0.939
    """
    sides = np.array([2, 3, 5, 10, 32])
    got = np.array([_number(_call(shifted_iou, int(side), what="shifted_iou"), "shifted_iou") for side in sides])
    want = (sides - 1) / (sides + 1)
    wrong = ~np.isclose(got, want, rtol=0, atol=1e-6)
    if wrong.any():
        causes = [  # what a typical mistake returns for every side, and its cause
            (np.ones(len(sides)), "the two squares are identical: the square fills the image,\nso np.roll wraps the "
                                  "shifted column back (or its result was not used);\nleave room around the square"),
            ((sides - 1) / sides, "that is the overlap over the square's area (or Dice),\nnot over the union"),
            ((sides - 2) / (sides + 2), "that is a shift by two pixels: shift by one"),
            ((sides - 1) ** 2 / (2 * sides ** 2 - (sides - 1) ** 2), "that is a diagonal shift (a row and a column):\n"
                                                                     "shift along one axis only"),
            (np.zeros(len(sides)), "the squares do not overlap at all: shift a copy of the same\n"
                                   "square by one pixel, inside an image with room around it"),
        ]
        why = next((text for values, text in causes if np.allclose(got, values, rtol=0, atol=1e-6)),
                   "overlap (side-1)·side over union (side+1)·side")
        i = int(np.argmax(wrong))
        raise AssertionError(f"for a {sides[i]}×{sides[i]} square shifted by one pixel the IoU is {want[i]:.4f};\n"
                             f"yours is {_show(got[i])}: {why}")
    print(f"check_small_region_sensitivity: side 2 -> {1 / 3:.3f}, side 32 -> {31 / 33:.3f}")

#: Texts the course writes for the learner; an "own explanation" must not be one of them.
_PLACEHOLDERS = {"", "your answer here", "todo", "tbd", "..."}


def _own_explanation(explanation: Any) -> str:
    """Validate the learner's explanation; return it with whitespace normalised."""
    from ..report import IMPROVEMENTS

    if explanation is None:
        raise AssertionError("pass your explanation too: check_report(path, explanation)")
    if not isinstance(explanation, str):
        raise AssertionError(f"explanation must be text (a str), got {type(explanation).__name__}")
    text = " ".join(explanation.split())
    if text.strip(" .").lower() in _PLACEHOLDERS:
        raise AssertionError("explanation is empty: say in your own words which bucket\n"
                             "dominates, the number that shows it, and what you would do next")
    if any(" ".join(v.split()) in text for v in IMPROVEMENTS.values()):
        raise AssertionError("explanation copies the report's automatic advice:\n"
                             "write your own, from the numbers you printed")
    if len(text.split()) < 12:
        raise AssertionError(f"explanation has {len(text.split())} words: write at least 12, in your\n"
                             f"own words (which bucket, which number, what next)")
    if not re.search(r"\d", text):
        raise AssertionError("explanation cites no number: back it with one you printed\n"
                             "(a bucket count, an IoU, a share of pixels)")
    return text


#: An explanation that repeats this many consecutive words of the report's own text copies it.
_COPY_WORDS = 7


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:\.[0-9]+)?%?", text.lower())


def _copied_line(page_without_notes: str, text: str) -> str | None:
    """The report's line (without the learner's notes) that ``text`` repeats word for word, or None."""
    lines = [html.unescape(line).strip() for line in re.split(r"<[^>]+>", page_without_notes)]
    mine = _words(text)
    mine_runs = {tuple(mine[i:i + _COPY_WORDS]) for i in range(len(mine) - _COPY_WORDS + 1)}
    for line in lines:
        theirs = _words(line)
        if any(tuple(theirs[i:i + _COPY_WORDS]) in mine_runs for i in range(len(theirs) - _COPY_WORDS + 1)):
            return line if len(line) <= 70 else line[:67] + "..."
    return None


@learner_check
def check_report(path: str | os.PathLike, explanation: str | None = None) -> None:
    """Check the portfolio report written in THIS run: sections, embedded images, your explanation.

    ``path`` is what :func:`segcourse.report.write_report` returned and ``explanation`` the
    learner's own text, passed to it as ``notes=``. A file written before this kernel imported
    :mod:`segcourse.checks` (an old report lying in the folder) fails, and so does a page that
    does not hold this explanation: the check verifies this run's work, not whatever file exists.

    >>> import tempfile
    >>> words = "Most of the 12 failing samples are class confusion in dark light; I would add colour jitter."
    >>> page = ("<h2>Triplets</h2><h2>Per-class IoU</h2><h2>Failure samples by bucket</h2><img src='data:,'>"
    ...         f"<p>{words}</p><h2>What I would improve next</h2>")
    >>> path = Path(tempfile.mkdtemp()) / "portfolio.html"
    >>> _ = path.write_text(page, encoding="utf-8")
    >>> check_report(path, words)
    check_report: every section present, images embedded, your explanation included
    """
    try:
        p = Path(path)
    except TypeError:
        raise AssertionError(f"pass the path write_report returned, not {type(path).__name__}") from None
    if not p.is_file():
        raise AssertionError(f"the report does not exist: call report.write_report(...)\n"
                             f"first and pass the path it returns. Path: {p}")
    if p.stat().st_mtime < _core._LOADED_AT - 2.0:  # 2 s: coarse file-system clocks
        raise AssertionError(f"the report is an old file, written before this kernel\n"
                             f"started: re-run the cell that calls write_report. Path: {p}")
    page = p.read_text(encoding="utf-8", errors="replace")
    for section in ("Triplets", "Per-class IoU", "Failure samples by bucket", "What I would improve next"):
        if section not in page:
            raise AssertionError(f"the report lacks the '{section}' section")
    if "<img" not in page or 'src="http' in page or "src='http" in page:
        raise AssertionError("the report must embed its images (data: URIs),\nnot link to files or the web")
    text = _own_explanation(explanation)
    flat = " ".join(page.split())
    if html.escape(text) not in flat:
        raise AssertionError("the report does not contain your explanation:\n"
                             "pass it as write_report(..., notes=explanation, overwrite=True)")
    copied = _copied_line(flat.replace(html.escape(text), " "), text)
    if copied:
        raise AssertionError(f"explanation copies a line the report wrote itself:\n\"{copied}\"\n"
                             f"say in your own words what it means and what you would do")
    print("check_report: every section present, images embedded, your explanation included")
