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


@learner_check
def check_practice_masks(pred_masks: Any, gt_masks: Any, ious: Any, mean_iou: Any) -> None:
    """Check the practice exercise: a new set of masks, its per-sample IoU and their mean.

    Two empty masks have no IoU: the course convention (lesson 00) is NaN, and the mean skips
    such samples (``np.nanmean``). Masks are 0/1 (or bool): 0/255 masks (as image files store
    them) fail with a hint to convert them, instead of being scored as empty. Torch tensors
    (also with ``requires_grad``) are read like arrays.

    >>> p = [[[1, 0], [0, 0]], [[1, 1], [0, 0]], [[0, 0], [0, 0]]]
    >>> g = [[[1, 1], [0, 0]], [[1, 1], [0, 0]], [[0, 0], [0, 0]]]
    >>> check_practice_masks(p, g, [0.5, 1.0, float("nan")], 0.75)
    check_practice_masks: per-sample [0.5, 1.0, nan], mean 0.75
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
                                 f"the course convention is NaN (np.nan), not {got[empty][0]!r}")
        raise AssertionError(f"the per-sample IoUs of your masks are {np.round(want, 4).tolist()},\n"
                             f"you reported {np.round(got, 4).tolist()}")
    want_mean = float(np.nanmean(want)) if np.isfinite(want).any() else float("nan")
    if not _close(mean_iou, want_mean, 1e-4):
        hint = ("\nuse np.nanmean: a NaN sample (two empty masks) is skipped"
                if _close(mean_iou, float("nan")) or _close(mean_iou, float(np.nan_to_num(want).mean()), 1e-4) else "")
        raise AssertionError(f"mean_iou should be the mean of the per-sample values,\n"
                             f"{want_mean:.4f}; you have {mean_iou!r}{hint}")
    if np.allclose(want[np.isfinite(want)], 0.8):
        raise AssertionError("your masks give 0.8 everywhere, like the original example:\n"
                             "change them so mean_iou moves")
    print(f"check_practice_masks: per-sample {np.round(want, 4).tolist()}, mean {want_mean:.4g}")


@learner_check
def check_small_region_sensitivity(shifted_iou: Callable) -> None:
    """Check ``shifted_iou(side)``: IoU of a side×side square with itself shifted one pixel right.

    >>> check_small_region_sensitivity(lambda s: (s - 1) / (s + 1))
    check_small_region_sensitivity: side 2 -> 0.333, side 32 -> 0.939
    """
    for side in (2, 3, 5, 10, 32):
        want = (side - 1) / (side + 1)
        got = _number(_call(shifted_iou, side, what="shifted_iou"), "shifted_iou")
        if not _close(got, want, 1e-6):
            raise AssertionError(f"for a {side}×{side} square shifted by one pixel the IoU is {want:.4f} "
                                 f"((side-1)·side overlap over (side+1)·side union); yours is {got!r}. "
                                 f"Leave room around the square so the shift does not push it off the image.")
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
    if html.escape(text) not in " ".join(page.split()):
        raise AssertionError("the report does not contain your explanation:\n"
                             "pass it as write_report(..., notes=explanation, overwrite=True)")
    print("check_report: every section present, images embedded, your explanation included")
