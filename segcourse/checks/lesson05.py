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
from ._refuse import LIBRARY, Watch

__all__ = ["check_practice_masks", "check_small_region_sensitivity", "check_report", "check_trap_score",
           "check_boundary_enrichment"]

#: What exercises 1, 2, 5 and 6 may not call: segcourse, and the metric functions of sklearn and
#: torchmetrics that compute the answer (review 05s9 P1-2: ``jaccard_score`` passed exercises 2 and 5).
NOT_YOURS = LIBRARY + (("sklearn.metrics", {"jaccard_score", "confusion_matrix"}), ("torchmetrics", None))


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


def _scores_of(p: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The reference (per-sample IoUs of class 1, their NaN-skipping mean, the pooled IoU) of a 0/1 set."""
    a1, b1 = p == 1, g == 1
    inter, union = (a1 & b1).sum((1, 2)), (a1 | b1).sum((1, 2))
    ious = np.array([i / u if u else np.nan for i, u in zip(inter, union)], float)
    mean = float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")
    pooled = float(inter.sum() / union.sum()) if union.sum() else float("nan")
    return ious, mean, pooled


#: The check's own sets, on which ``set_scores`` must be right too (an answer that only fits the
#: learner's masks, or returns typed-in numbers, fails here): (what, pred masks, gt masks).
#: The second set's first prediction has a pixel outside its target, so recall (overlap / |gt|) is
#: not IoU there, even when every prediction in the learner's own set lies inside its target.
_SETS = (
    ("lesson 05's two 3×3 samples, the second prediction missing its top row, and an empty sample",
     np.array([[[0, 0, 1], [0, 1, 1], [0, 0, 1]], [[0, 0, 0], [1, 0, 0], [1, 0, 0]], [[0, 0, 0]] * 3]),
     np.array([[[0, 0, 1], [0, 1, 1], [0, 1, 1]], [[1, 1, 0], [1, 1, 0], [1, 0, 0]], [[0, 0, 0]] * 3])),
    ("a 6×6 bool set: a 4×4 object half found plus a stray pixel, a 2×2 object found, two empty samples",
     np.array([np.pad(np.ones((2, 4), bool), ((1, 3), (1, 1))) | (np.arange(36).reshape(6, 6) == 35),
               np.pad(np.ones((2, 2), bool), 2),
               np.zeros((6, 6), bool), np.zeros((6, 6), bool)]),
     np.array([np.pad(np.ones((4, 4), bool), 1), np.pad(np.ones((2, 2), bool), 2),
               np.zeros((6, 6), bool), np.zeros((6, 6), bool)])),
)


def _compare_scores(p: np.ndarray, g: np.ndarray, answer: Any, where: str) -> None:
    """Compare what ``set_scores`` returned on the set ``p``, ``g`` with the reference; a hint names the cause."""
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__len__") or len(answer) != 3:
        raise AssertionError(f"{where}set_scores returned a {_core._kind(answer)}: return three things,\n"
                             f"ious, mean_iou, pooled_iou (return ious, mean_iou, pooled_iou)")
    ious, mean_iou, pooled_iou = answer
    want, want_mean, want_pooled = _scores_of(p, g)
    try:
        got = to_numpy(ious, "ious").astype(float).ravel() if not np.isscalar(ious) else np.asarray(ious, float).ravel()
    except (TypeError, ValueError):
        raise AssertionError(f"{where}ious must be a list of numbers, one per sample;\ngot a {_core._kind(ious)}") from None
    if len(got) != len(want):
        raise AssertionError(f"{where}one IoU per sample: {len(want)} samples, {len(got)} values in ious")
    if not np.allclose(got, want, atol=1e-4, equal_nan=True):
        if np.allclose(got, _scores_of((p != 1) * 1, (g != 1) * 1)[0], atol=1e-4, equal_nan=True):
            raise AssertionError(f"{where}the per-sample IoUs are {_show(want)},\nyou returned {_show(got)}: "
                                 f"yours are the IoU of the background (class 0,\nevery pixel that is not 1), "
                                 f"not of the object: score class 1, the pixels == 1")
        empty = np.isnan(want) & ~np.isnan(got)
        if empty.any():
            raise AssertionError(f"{where}sample {int(np.argmax(empty))}: both masks are empty, so IoU is 0/0;\n"
                                 f"the course convention is NaN (np.nan), not {_show(got[empty][0])}")
        a1, b1 = p == 1, g == 1
        inter, size_a, size_b = (a1 & b1).sum((1, 2)), a1.sum((1, 2)), b1.sum((1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            causes = {
                "Dice (2·overlap / (|pred| + |gt|)), not IoU": 2 * inter / (size_a + size_b),
                "the share of pixels that agree (pixel accuracy), not IoU": (p == g).mean((1, 2)),
                "the IoU of the background (class 0), not of class 1": _scores_of(~a1 * 1, ~b1 * 1)[0],
                "overlap / the ground truth's size (recall), not / the union": inter / size_b,
                "overlap / the prediction's size (precision), not / the union": inter / size_a,
                "overlap / (|pred| + |gt|): that sum counts the overlap twice;\n"
                "the union is |pred| + |gt| - overlap": inter / (size_a + size_b),
            }
        known = ~np.isnan(want)
        cause = next((name for name, v in causes.items() if np.allclose(got[known], v[known], atol=1e-4)), None)
        why = (f"yours are {cause}" if cause else
               "IoU = (pixels 1 in both) / (pixels 1 in either), one value per sample")
        raise AssertionError(f"{where}the per-sample IoUs are {_show(want)},\n"
                             f"you returned {_show(got)}: {why}")
    if not _close(mean_iou, want_mean, 1e-4):
        if _close(mean_iou, float("nan")) or _close(mean_iou, float(np.nan_to_num(want).mean()), 1e-4):
            hint = "\nuse np.nanmean: a NaN sample (two empty masks) is skipped,\nnot counted as NaN or as 0"
        elif _close(mean_iou, want_pooled, 1e-4):
            hint = "\nthat is the pooled IoU (all overlaps over all unions),\nnot the mean of the per-sample values"
        elif _close(mean_iou, metrics.mean_iou((p == 1).astype(int), (g == 1).astype(int), 2), 1e-4):
            hint = ("\nthat is segcourse's metrics.mean_iou: the IoU of background and object,\n"
                    "pooled over all samples and averaged; the exercise asks for the mean of\n"
                    "your per-sample IoUs of class 1 (np.nanmean(ious))")
        else:
            hint = ""
        raise AssertionError(f"{where}mean_iou should be the mean of the per-sample values,\n"
                             f"{want_mean:.4f}; you returned {_show(mean_iou)}{hint}")
    if pooled_iou is None:
        raise AssertionError(f"{where}set_scores returns no pooled IoU (None): pooled_iou is every\n"
                             f"overlap summed over every union summed, {want_pooled:.4f} here")
    if not _close(pooled_iou, want_pooled, 1e-4):
        hint = ("that is the mean of the per-sample IoUs: pool first,\nsum every overlap and every union, then divide once"
                if _close(pooled_iou, want_mean, 1e-4) else
                "pooled IoU = (sum of all overlaps) / (sum of all unions)")
        raise AssertionError(f"{where}pooled_iou should be {want_pooled:.4f}; you returned {_show(pooled_iou)}:\n{hint}")


def _mask_sizes(*sets: Any) -> str:
    """The distinct sizes of the masks in ``sets`` ("3×3 and 4×4"), or "" when they are one size
    or are not lists of 2-D masks.

    >>> _mask_sizes([[[0, 1], [1, 0]]], [[[0, 0, 0], [0, 1, 0], [0, 0, 0]]])
    '2×2 and 3×3'
    """
    seen = []
    try:
        for masks in sets:
            for m in masks:
                shape = np.shape(m)
                if len(shape) == 2 and shape not in seen:
                    seen.append(shape)
    except (TypeError, ValueError):
        return ""
    if len(seen) < 2:
        return ""
    names = [f"{r}×{c}" for r, c in sorted(seen)]
    return ", ".join(names[:-1]) + " and " + names[-1]


@learner_check
def check_practice_masks(pred_masks: Any, gt_masks: Any, set_scores: Callable) -> None:
    """Check the practice exercise: a new set of masks, and ``set_scores`` that scores a set.

    ``set_scores(pred_masks, gt_masks)`` returns ``(ious, mean_iou, pooled_iou)``: the per-sample
    IoUs of class 1, their mean and the pooled IoU (all overlaps summed over all unions summed).
    The learner's set must hold at least one sample whose two masks are both empty: two empty
    masks have no IoU, the course convention (lesson 00) is NaN, and the mean skips such samples
    (``np.nanmean``). The samples with an object must not all score the same (the mean would
    equal each of them and hide nothing), and the set's mean and pooled IoU must differ by more
    than 0.02 (objects of different sizes). ``set_scores`` is then run on the learner's set and on
    the check's own sets (``_SETS``); it must not call a ``segcourse`` function (``metrics.iou``
    of the stack is the pooled IoU): the exercise asks for plain Python or numpy. Masks are 0/1 (or
    bool): 0/255 masks fail with a hint to convert them. Torch tensors are read like arrays.

    >>> p = [[[1, 1], [0, 0]], [[0, 1], [0, 0]], [[0, 0], [0, 0]]]   # every object found exactly
    >>> check_practice_masks(p, p, lambda pred, gt: ([1.0, 1.0, float("nan")], 1.0, 1.0))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: all your samples with an object score 1: when every sample
    scores the same, the mean equals each of them and hides nothing; change
    the masks so that one sample is clearly worse than another
    """
    try:
        p, g = to_numpy(pred_masks, "pred_masks"), to_numpy(gt_masks, "gt_masks")
    except (TypeError, ValueError) as exc:
        sizes = _mask_sizes(pred_masks, gt_masks)
        if sizes:
            raise AssertionError(f"every mask must be the same size, so the set stacks into one array;\n"
                                 f"yours come in the sizes {sizes}: make them all one size") from None
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
    want, set_mean, set_pooled = _scores_of(p, g)
    scored = want[np.isfinite(want)]
    if len(scored) < 2:
        raise AssertionError(f"{len(scored)} of your samples has an object (a pixel 1 in pred or gt):\n"
                             f"build at least two samples with an object, besides the empty one")
    if np.ptp(scored) < 1e-9:
        raise AssertionError(f"all your samples with an object score {_show(scored[0])}: when every sample\n"
                             f"scores the same, the mean equals each of them and hides nothing; change\n"
                             f"the masks so that one sample is clearly worse than another")
    if abs(set_mean - set_pooled) <= 0.02:
        raise AssertionError(f"on your masks the mean IoU ({set_mean:.4f}) and the pooled IoU ({set_pooled:.4f})\n"
                             f"are (almost) equal, so they cannot show when the two differ: make\n"
                             f"one object larger than the other, so its union weighs more")
    call = Watch(NOT_YOURS)   # plain Python or numpy only
    mine = call(set_scores, pred_masks, gt_masks, what="set_scores")
    theirs = [call(set_scores, sp, sg, what="set_scores") for _, sp, sg in _SETS]
    call.refuse("set_scores")   # a library call is refused before its numbers are compared
    _compare_scores(p, g, mine, "")
    for (what, sp, sg), answer in zip(_SETS, theirs):
        _compare_scores(sp, sg, answer, f"on the check's set ({what}):\n")
    print(f"check_practice_masks: per-sample {np.round(want, 4).tolist()}, mean {set_mean:.4g}, "
          f"pooled {set_pooled:.4g}; set_scores also right on the check's {len(_SETS)} sets")


def _moved(mask: np.ndarray, shift: int) -> np.ndarray:
    """``mask`` moved ``shift`` columns right (left when negative); what leaves the image is lost."""
    out = np.zeros_like(mask)
    if shift >= 0:
        out[:, shift:] = mask[:, :mask.shape[1] - shift]
    else:
        out[:, :shift] = mask[:, -shift:]
    return out


def _iou_of(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else float("nan")


def _shift_cases() -> list[tuple[str, np.ndarray, int]]:
    """(what, mask, shift): squares with room around them, a rectangle, lines, masks at the image's
    edges, seeded blobs, no shift, shifts of 2 and -1, an empty mask; 0/1 ints and bools."""
    cases = []
    for side in (2, 3, 5, 10, 32):
        m = np.zeros((side + 4, side + 4), bool); m[2:2 + side, 2:2 + side] = True
        cases.append((f"a {side}×{side} square", m, 1))
    m = np.zeros((8, 8), int); m[2:6, 2:6] = 1
    cases += [("a 4×4 square (0/1 ints)", m, 2), ("a 4×4 square (0/1 ints)", m, -1), ("a 4×4 square (0/1 ints)", m, 0)]
    m = np.zeros((6, 10), bool); m[2:4, 2:8] = True
    cases.append(("a 2×6 rectangle (2 rows, 6 columns)", m, 1))
    m = np.zeros((12, 6), bool); m[1:11, 3] = True
    cases.append(("a vertical line 1 px wide (a lane marking)", m, 1))
    m = np.zeros((5, 10), bool); m[2, 2:8] = True
    cases.append(("a horizontal line 6 px long", m, -2))
    m = np.zeros((6, 6), bool); m[1:4, 3:] = True
    cases.append(("a 3×3 square touching the right edge", m, 1))
    m = np.zeros((6, 6), int); m[2:5, :3] = 1
    cases.append(("a 3×3 square touching the left edge", m, -1))
    rng = np.random.default_rng(5)
    for shift in (1, -2):
        m = rng.random((12, 12)) < 0.35
        cases.append((f"a random 12×12 mask, {int(m.sum())} px", m, shift))
    cases.append(("an empty 6×6 mask", np.zeros((6, 6), bool), 1))
    return cases


def _call_case(shifted_iou: Callable, what: str, mask: np.ndarray, shift: int, call: Callable = _call) -> Any:
    """``call(shifted_iou, mask, shift)`` (a :class:`Watch` notes segcourse calls); a crash names the
    case, and the cause where it is a typical one."""
    try:
        return call(shifted_iou, mask.copy(), shift, what="shifted_iou")
    except AssertionError as exc:
        if "crashed" not in str(exc):
            raise
        hint = ""
        if shift == 0:
            hint = ("\nwith shift 0, m[:, :-0] is m[:, :0], an empty slice: treat shift 0 on its own\n"
                    "(or slice up to m.shape[1] - shift)")
        elif "slice indices must be integers" in str(exc) or "float" in str(exc):
            hint = "\nslice with whole numbers: the shift is an int, keep it one (no / 2)"
        raise AssertionError(f"{exc}\non {what}, shift {shift}{hint}") from None


@learner_check
def check_small_region_sensitivity(shifted_iou: Callable) -> None:
    """Check ``shifted_iou(mask, shift)``: the IoU of a mask with itself moved ``shift`` columns.

    Positive ``shift`` moves right, negative left; pixels moved past the image's edge are lost (not
    wrapped around, as ``np.roll`` would); an empty mask has no IoU (NaN). Tested on squares,
    a rectangle, 1-px lines, masks touching the edges, random masks and an empty one; a typical
    mistake is named in the hint. A right answer that calls a ``segcourse`` function (such as
    ``metrics.iou``) is refused: the exercise asks for plain Python or numpy (``scipy.ndimage.shift``
    is allowed), as exercise 1 does.

    >>> check_small_region_sensitivity(lambda mask, shift: 1.0)   # a mask scored against itself
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: a 2×2 square moved by 1 px: IoU 0.3333, yours 1.
    the two masks are identical: the shifted copy was not used
    (or the shift was 0)
    """
    cases = _shift_cases()
    want = np.array([_iou_of(m != 0, _moved(m != 0, k)) for _, m, k in cases])
    call = Watch(NOT_YOURS)   # plain Python or numpy (scipy.ndimage.shift too), no segcourse or sklearn metric
    got = np.array([_number(_call_case(shifted_iou, what, m, shift, call), "shifted_iou") for what, m, shift in cases])
    call.refuse("shifted_iou")
    right = np.isclose(got, want, rtol=0, atol=1e-6, equal_nan=True)
    if right.all():
        side2, side32 = want[0], want[4]
        print(f"check_small_region_sensitivity: all {len(cases)} cases pass (2×2 square -> {side2:.3f}, "
              f"32×32 -> {side32:.3f}, 1-px line -> 0)")
        return
    from scipy import ndimage

    with np.errstate(all="ignore"):
        def each(rule: Callable) -> np.ndarray:
            return np.array([rule(m != 0, k) for _, m, k in cases], float)
        size = each(lambda m, k: float(m.sum()))
        inter = each(lambda m, k: np.count_nonzero(m & _moved(m, k)))
        moved_size = each(lambda m, k: float(_moved(m, k).sum()))
        causes = [  # what typical mistakes return in every case, and their cause
            ([each(lambda m, k: _iou_of(m, np.roll(m, k, axis=1)))],
             "np.roll wraps the pixels pushed past the image's edge back in on the\nother side: "
             "they are lost instead (a shifted annotation ends at the edge);\nfill the columns the "
             "mask leaves behind with 0 (slicing, or scipy.ndimage.shift)"),
            ([each(lambda m, k: _iou_of(m, _moved(m.T, k).T)), each(lambda m, k: _iou_of(m, np.roll(m, k, axis=0)))],
             "you moved the mask down (along the rows, axis 0): move it right,\nalong the columns (axis 1)"),
            ([each(lambda m, k: _iou_of(m, _moved(m, -k)))],
             "you moved the mask the wrong way: a positive shift moves it to the\nright (to higher column indices)"),
            ([each(lambda m, k: _iou_of(m, _moved(m, abs(k))))],
             "you moved the mask by abs(shift), always to the right: a negative\nshift moves it to the LEFT "
             "(to lower column indices), and near an\nedge the two directions lose different pixels"),
            ([each(lambda m, k: _iou_of(m, _moved(m, 1))), each(lambda m, k: _iou_of(m, np.roll(m, 1, axis=1)))],
             "you always moved the mask by one pixel: use the shift you are given"),
            ([each(lambda m, k: (np.sqrt(m.sum()) - 1) / (np.sqrt(m.sum()) + 1))],
             "that is the formula (side - 1) / (side + 1) of a square moved one pixel:\nit holds for "
             "nothing else; count the overlap and the union of the two masks"),
            ([each(lambda m, k: _iou_of(m, ndimage.shift(m, (0, k)) != 0)),
              each(lambda m, k: _iou_of(m, ndimage.shift(m.astype(float), (0, k)) > 0)),
              each(lambda m, k: _iou_of(m, ndimage.shift(m.astype(float), (0, k)) != 0))],
             "scipy.ndimage.shift interpolates (order=3 by default): the moved mask\n"
             "is not 0/1, and its blurred edge counts as object; pass order=0"),
            ([2 * inter / (size + moved_size)], "that is Dice (2·overlap / (|A| + |B|)), not IoU"),
            ([inter / size], "that is the overlap over the mask's area, not over the union"),
            ([np.ones(len(cases))], "the two masks are identical: the shifted copy was not used\n(or the shift was 0)"),
            ([np.floor(want)], "overlap // union (integer division) rounds every IoU below 1\n"
                               "down to 0: divide with /"),
            ([100 * want], "that is a percentage: return the IoU as a fraction from 0 to 1"),
        ]
    scored = ~np.isnan(want)  # a mistake is recognised on the masks with an object
    why = next((text for options, text in causes
                if any(np.allclose(got[scored], v[scored], rtol=0, atol=1e-6) for v in options)), None)
    if right[scored].all():
        why = "an empty mask has no object, so it has no IoU (0/0): return NaN, not a number"
    i = int(np.argmax(~right))
    what, _, shift = cases[i]
    raise AssertionError(f"{what} moved by {shift} px: IoU {_show(want[i])}, yours {_show(got[i])}.\n"
                         f"{why or 'IoU = overlap / union of the mask and its moved copy'}")


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
    if not re.search(r"\d", _digits(text)):
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


#: How an explanation names each failure bucket (lower case, hyphens read as spaces).
_BUCKET_WORDS = {
    "false_positive_class": r"false positive|stray|false alarm|spurious",
    "small_region": r"small region|small object|missed small",
    "boundary": r"boundar|edge",
    "class_confusion": r"confus|mistaken for",
}


def _bucket_name(bucket: str) -> str:
    return {"false_positive_class": "false-positive class"}.get(bucket, bucket.replace("_", " "))


_UNITS = dict(zip("one two three four five six seven eight nine".split(), range(1, 10)))
_TEENS = dict(zip("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split(),
                  range(10, 20)))
_TENS = dict(zip("twenty thirty forty fifty sixty seventy eighty ninety".split(), range(20, 100, 10)))


def _digits(text: str) -> str:
    """Counts written in words as digits: "twelve" -> "12", "thirty-two" -> "32", "nine of" -> "9 of".

    Words from ten up are always counts; "one" to "nine" only before "of" or after "all" ("nine of
    the twelve", "all three"), so that "one bucket" stays a word.

    >>> _digits("Twelve of the sixty fail, all three knobs; thirty-two of them, one bucket")
    '12 of the 60 fail, all 3 knobs; 32 of them, one bucket'
    """
    def tens(m: re.Match) -> str:
        return str(_TENS[m.group(1).lower()] + (_UNITS[m.group(2).lower()] if m.group(2) else 0))
    text = re.sub(rf"\b({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS)}))?\b", tens, text, flags=re.I)
    text = re.sub(rf"\b({'|'.join(_TEENS)})\b", lambda m: str(_TEENS[m.group(1).lower()]), text, flags=re.I)
    units = "|".join(_UNITS)
    text = re.sub(rf"\b({units})(?=\s+(?:out\s+)?of\b)", lambda m: str(_UNITS[m.group(1).lower()]), text, flags=re.I)
    return re.sub(rf"\b(all\s+)({units})\b", lambda m: m.group(1) + str(_UNITS[m.group(2).lower()]), text, flags=re.I)


def _check_against_data(text: str, page: str, preds: Any, targets: Any) -> None:
    """The explanation's main bucket and its count, and the page's failing count, against the data."""
    from ..failures import bucket_failures

    text = _digits(text)     # "twelve failing samples" cites a count as well as "12" does

    try:
        p, t = to_numpy(preds, "preds"), to_numpy(targets, "targets")
        k = int(max(p.max(initial=0), t.max(initial=0))) + 1
        buckets = bucket_failures(p, t, max(k, 2))
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"pass the predictions and labels the report is about:\n{exc}") from None
    said = re.search(r"(\d+) of (\d+) samples fail", page)
    if said and (int(said.group(1)), int(said.group(2))) != (buckets["failing"], buckets["total"]):
        raise AssertionError(f"the report says {said.group(1)} of {said.group(2)} samples fail, but "
                             f"{buckets['failing']} of\n{buckets['total']} of these scenes fail: write the page "
                             f"from this run's\nbuckets (failures.bucket_failures on these predictions)")
    # the explanation's own failing count (review 05s10b P2-2: "All 60 samples fail" passed; 12 do)
    failing, total = buckets["failing"], buckets["total"]
    for n, m, every in _fail_counts(text):   # "N of the failing M" and "N fail" (N up to the count) may be a bucket's
        if ((m is not None and not ((m == failing and n <= m) or (n, m) == (failing, total)))
                or (m is None and (n > failing or (every and n != failing)))):
            wrote = f"{n} of {m}" if m is not None else f"{n}"
            raise AssertionError(f"your explanation says {wrote} samples fail, but {buckets['failing']} of the "
                                 f"{buckets['total']}\nsamples fail (the failing count your bucket cell "
                                 f"printed): cite that count")
    # the primary bucket (the one whose correction gains most) splits the failing samples without overlap
    counts = {b: n for b, n in buckets["primary_counts"].items() if b is not None}
    if not buckets["failing"] or not max(counts.values()):
        return
    top = [b for b, n in counts.items() if n == max(counts.values())]
    facts = "primary bucket: " + ", ".join(f"{_bucket_name(b)} {n}" for b, n in counts.items() if n)
    overlapping = ("; in each bucket, overlapping: "
                   + ", ".join(f"{_bucket_name(b)} {n}" for b, n in buckets["counts"].items() if n))
    mentions = _bucket_mentions(text)
    if not mentions:
        raise AssertionError(f"your explanation names no failure bucket: say which one holds most\n"
                             f"failing samples ({', '.join(_bucket_name(b) for b in counts)})")
    negated = [m for m in mentions if m["negated"] and m["bucket"] in top]
    if negated:
        raise AssertionError(f"your explanation says '{negated[0]['near']}' about the\n"
                             f"{_bucket_name(negated[0]['bucket'])} bucket, but it holds the most failing "
                             f"samples\n(samples per bucket: {facts}): say what the counts show")
    claimed = [m for m in mentions if m["dominant"] and not m["negated"]]
    if not claimed:   # "<bucket>: N of M failing samples" says it with the counts (review 05s9 P2-10)
        of_all = {float(n) for n, m in re.findall(r"\b(\d+) (?:of|out of) (?:the |all )?(\d+)\b", text.lower())
                  if int(m) == buckets["failing"] and 2 * int(n) > int(m)}
        claimed = [m for m in mentions if m["bucket"] in top and not m["negated"] and of_all & set(m["beside"])]
    if not claimed:
        raise AssertionError("your explanation does not say which bucket holds MOST failing\n"
                             "samples: write it as 'most failing samples are <bucket> errors',\n"
                             "'<bucket> errors dominate' or '<bucket>: N of M failing samples'")
    wrong_main = [m["bucket"] for m in claimed if m["bucket"] not in top]
    if wrong_main:
        second = (f";\nif {_bucket_name(wrong_main[0])} is a second bucket, say so with 'too', 'also' or "
                  f"'as well'\n('{_bucket_name(wrong_main[0])} errors appear in N of them too')"
                  if any(m["bucket"] in top for m in claimed) else "")
        raise AssertionError(f"your explanation names {_bucket_name(wrong_main[0])} as a main bucket, but most "
                             f"failing samples have\n{_bucket_name(top[0])} as their PRIMARY bucket ({facts}"
                             f"{overlapping}):\nname the bucket with the largest primary count{second}")
    joined = _joined_to_main(text, top)
    if joined:
        raise AssertionError(f"your explanation puts {_bucket_name(joined)} beside {_bucket_name(top[0])} as what "
                             f"most failing\nsamples are, but each sample has one primary bucket ({facts}"
                             f"{overlapping}):\nname the bucket with the largest primary count alone")
    hedged = _hedged_second(text, top)
    if hedged:
        raise AssertionError(f"your explanation leaves open whether {_bucket_name(hedged)} is the primary "
                             f"bucket\n('or', 'maybe', 'perhaps'), but the counts decide it ({facts}"
                             f"{overlapping}):\nname the bucket with the largest primary count, without a hedge")
    shares = {float(counts[b]) for b in top} | {float(round(100 * counts[b] / buckets["failing"])) for b in top}
    fine = shares | {float(buckets["failing"]), float(buckets["total"])}
    stray = [n for m in mentions if m["bucket"] in top and not m["negated"] for n in m["beside"]
             if n == int(n) and n not in fine]
    if stray:
        raise AssertionError(f"your explanation puts {stray[0]:g} beside the {_bucket_name(top[0])} bucket, but it "
                             f"is the\nprimary bucket of {counts[top[0]]} of the {buckets['failing']} failing samples "
                             f"({facts}{overlapping}):\ncite the primary count your bucket cell printed")
    # the clause that calls the bucket the main one may hold its count anywhere (review 05s9b P2-3:
    # "Stray car regions are the primary bucket for all 12 failing samples")
    if not any(shares & set(m["in_clause"]) for m in claimed if m["bucket"] in top):
        cited = [n for m in claimed if m["bucket"] in top for n in m["in_clause"]
                 if n == int(n) and n != buckets["failing"]]
        if cited:   # a count, but the wrong one (review 05s10 P3: "11" or "60" was told "not how many")
            raise AssertionError(f"your explanation gives {cited[0]:g} as the {_bucket_name(top[0])} bucket's count, "
                                 f"but the count is\n{counts[top[0]]}: it is the primary bucket of {counts[top[0]]} of "
                                 f"the {buckets['failing']} failing samples\n({facts}{overlapping}):\n"
                                 f"cite the primary count your bucket cell printed")
        raise AssertionError(f"your explanation names the {_bucket_name(top[0])} bucket but not how many\n"
                             f"failing samples it is the primary bucket of: cite that count (or its\n"
                             f"share in %) next to the bucket's name, as your bucket cell printed it")
    _check_change(text, top[0])


def _change_scopes(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into pieces (at . ; , ! ? : and "but", "so", "while", "whereas", "instead", and
    before a new subject "i" or "we"), each with whether a negation stands before it in its piece:
    "I would not add augmentation or more data" denies both changes, "; I would use a higher
    resolution" is a new piece. "without" denies only the 3 words after it ("add scenes without
    that class and ..." still proposes what follows "and")."""
    flat = re.sub(_NOT_NEGATIONS, " ", " ".join(text.lower().replace("-", " ").replace("_", " ").split()))
    out = []
    for piece in re.split(r"[.;,!?:](?:\s|$)|\b(?:but|so|while|whereas|instead)\b|(?=\b(?:i|we)\b)", flat):
        cut = re.search(rf"\b(?:{_NEGATION_CHANGE})\b", piece)
        if cut:
            rest = piece[cut.start():]
            if cut.group() == "without":
                scope = re.match(r"without(?:\s+\S+){0,3}", rest).group()
                out += [(piece[:cut.start()], False), (scope, True), (rest[len(scope):], False)]
            else:
                out += [(piece[:cut.start()], False), (rest, True)]
        else:
            out.append((piece, False))
    return out


def _proposals(text: str, negated: bool = False) -> dict[str, list[str]]:
    """bucket -> the words of ``text`` that propose its change, outside a negation's scope (inside
    it with ``negated=True``: the changes the text denies).

    A match of another bucket's words inside a match of the same place's words of an earlier
    bucket in ``_REMEDY_WORDS`` is not counted twice ("more examples" of the scenes is data)."""
    found: dict[str, list[str]] = {}
    for piece, denied in _change_scopes(text):
        if denied != negated:
            continue
        spans = []
        for bucket, pattern in _REMEDY_WORDS.items():
            for m in re.finditer(pattern, piece):
                if any(a <= m.start() < b or m.start() <= a < m.end() for a, b, _ in spans):
                    continue
                spans.append((m.start(), m.end(), bucket))
                found.setdefault(bucket, []).append(m.group())
    return found


def _check_change(text: str, main: str) -> None:
    """The change ``text`` proposes must be the ``main`` bucket's (lesson 05 section 8's
    ``calls_for``), not negated, not another bucket's; for the false-positive class an augmentation
    must add the noise (colour or brightness alone is the knob the exercise's table clears)."""
    proposed = _proposals(text)
    others = [b for b in proposed if b != main]
    if main not in proposed:
        named = "".join(f"\n('{proposed[b][0]}' is the change for the {_bucket_name(b)} bucket)" for b in sorted(others))
        said_no = _proposals(text, negated=True).get(main)
        denied = (f"\n(your text denies '{said_no[0]}': a 'not' or 'no' stands before it)" if said_no else "")
        raise AssertionError(f"say what you would change next for the {_bucket_name(main)} bucket{named}:\n"
                             f"lesson 05 section 8 pairs it with {_REMEDY_NAMES[main]}{denied}")
    if others:
        b = others[0]
        raise AssertionError(f"you propose '{proposed[b][0]}', the change for the {_bucket_name(b)} bucket,\n"
                             f"but the {_bucket_name(main)} bucket holds most failing samples: lesson 05\n"
                             f"section 8 pairs it with {_REMEDY_NAMES[main]}")
    if main == "false_positive_class":
        _check_min_size_scope(text)
    if main == "false_positive_class" and not (any(re.search(_STRONG_FP_CHANGE, w) for w in proposed[main])
                                               or re.search(_WHICH_DATA, " ".join(text.lower().split()))):
        weak = ", ".join(dict.fromkeys(proposed[main]))
        if all(re.fullmatch(_POST_PROCESS, w) for w in proposed[main]):
            raise AssertionError(f"you propose only '{weak}', which does not say what it would\n"
                                 f"remove: lesson 05 section 8 relabels the predicted car regions of\n"
                                 f"5 px or less (a minimum region size for the stray class)")
        raise AssertionError(f"you propose only '{weak}', which does not say what the\n"
                             f"scenes lack: exercise 3's knob table shows lighting alone fails\n"
                             f"no sample, and with the training noise put back 2 fail (4 with the\n"
                             f"lighting put back): augment with the noise, or add data like\n"
                             f"the failing scenes (their camera), not just 'more data'")


def _check_min_size_scope(text: str) -> None:
    """A minimum region size proposed in a sentence that applies it to every class is refused:
    lesson 05 section 8 measured it (64 failing held-out scenes against 28: lane dashes are small
    regions too); the false-positive bucket's remedy is a minimum size for the stray class."""
    for sentence in re.split(r"[.;!?](?:\s|$)", " ".join(text.lower().replace("-", " ").split())):
        sized = [w for w in _proposals(sentence).get("false_positive_class", []) if re.search(_MIN_SIZE, w)]
        every = [m for m in re.finditer(_EVERY_CLASS, sentence)      # "cars only, not every class" is fine
                 if not re.search(rf"\b(?:{_NEGATION_CHANGE})\b(?:\s+\S+){{0,2}}\s*$", sentence[:m.start()])]
        if sized and every:
            raise AssertionError(f"you propose '{sized[0]}' for every class, but lesson 05 section 8\n"
                                 f"measured that: 64 failing held-out scenes against 28 before, as\n"
                                 f"lane dashes are small regions too; a minimum size is a rule per\n"
                                 f"class: apply it to the stray class (cars) only")
        if sized and not re.search(_CLASS_NAMED, sentence):     # review 05s14 item 7: which class?
            raise AssertionError(f"you propose '{sized[0]}' but name no class it applies to:\n"
                                 f"lesson 05 section 8 relabels the predicted car regions of 5 px\n"
                                 f"or less; a minimum size is a rule per class: name the stray class")


#: Words that say a bucket is the main one, and words that deny or belittle it (before the bucket's
#: name: "not a false-positive problem"; after it: "false positives are rare").
_DOMINANT = r"most|mostly|dominat\w*|largest|biggest|main|mainly|majority|primary|all|every"
_NEGATION_BEFORE = r"not|no|never|nor|neither|isn't|aren't|isnt|arent|rare|rarely|few|hardly|none|seldom|without"
_NEGATION_AFTER = r"rare|rarely|few|hardly|seldom|never"
#: After a bucket's name, words that deny it the main place when a word of ``_DOMINANT`` follows within
#: 3 words ("false positives are not the primary bucket", "boundary isn't the main one").
_DENIED_MAIN = r"not|isn't|aren't|isnt|arent|never|neither"
#: Phrases whose negative word denies nothing ("no doubt, false positives dominate").
_NOT_NEGATIONS = r"\b(?:no doubt|without doubt|no question|not only|not just)\b"
#: How many words around a bucket's name a count or a "most" may sit; a number this close to the
#: main bucket's name must be one of its counts.
_NEAR_WORDS = 8
_BESIDE_WORDS = 4
#: The change each bucket calls for (lesson 05 section 8's ``calls_for``), and the words that propose it.
_REMEDY_NAMES = {"false_positive_class": "more data like the failing scenes\n"
                                         "(or augmentation), or a minimum region size for the stray class",
                 "small_region": "another loss (Dice, class weights) or oversampling",
                 "boundary": "higher input resolution or a boundary-aware loss",
                 "class_confusion": "more examples where the classes meet, clearer class definitions"}
#: Words that deny the changes after them, up to the next cut of :func:`_change_scopes`.
_NEGATION_CHANGE = (r"not|no|never|nor|neither|without|rather than|instead of|isn't|aren't|isnt|arent|"
                    r"wouldn't|wouldnt|won't|wont|don't|dont|avoid|skip")
#: Of the false-positive class's change words, those that name data or the noise (the others,
#: "augment", "jitter", "colour", "brightness", "lighting", name a change that does not say which).
#: Bare "more data" says no more than bare "augmentation" (review 05s9 P2-10): a data proposal counts
#: when the text says which data (``_WHICH_DATA``).
#: Post-processing (review 05s12b N1: lesson 05 section 8 relabels predicted car regions of 5 px or
#: less): a change that names a minimum size or small regions says what it removes
#: (``_MIN_SIZE``); bare "post-process" does not.
_POST_PROCESS = r"post ?process\w*"
_MIN_SIZE = (r"min(?:imum)?(?: \w+)? size|size (?:threshold|filter)|"
             r"(?:remov|drop|delet|relabel|filter|discard|suppress)\w* (?:the |all |every )?(?:\w+ ){0,3}?(?:small|tiny)"
             r"(?: \w+){0,3}? (?:regions?|blobs?|components?|specks?|islands?)|"
             r"(?:regions?|blobs?|components?|specks?) (?:of|below|under|smaller than) \d+ ?(?:px|pixels?)")
#: What applies a minimum size to every class (lane dashes are small regions too).
#: A class of the road scenes named in a sentence (a minimum region size must name the class it prunes).
_CLASS_NAMED = r"\b(?:cars?|roads?|sidewalks?|lanes?|(?:lane )?markings?|sky|skies)\b"
_EVERY_CLASS = r"\b(?:every|each|all(?: the)?(?: \d+| five)?) class(?:es)?\b|\bclasses alike\b"
_STRONG_FP_CHANGE = rf"noise|noisy|like the failing|{_MIN_SIZE}"
_WHICH_DATA = (r"noise|noisy|like (?:the|these|those) (?:failing|shifted|project)|like (?:them|these|those)\b|"
               r"like the ones|(?:shifted|new|project'?s?|same|this|that|the|failing scenes'?) camera|camera (?:like|of)|"
               r"(?:scenes|images|data|examples|samples) (?:without|with(?:out)? (?:that|the|this) class|from the)|"
               r"where the (?:model|images?) (?:fails?|lacks?)|lighting and (?:contrast|noise)")
_REMEDY_WORDS = {
    "false_positive_class": r"(?:add|more|new|other|extra|annotate)(?: \w+)? (?:data|images|scenes|examples|samples)|"
                            r"collect\w*|annotat\w*|augment\w*|jitter\w*|noise|noisy|colou?r|brightness|lighting|"
                            rf"like the failing|{_MIN_SIZE}|{_POST_PROCESS}",
    "small_region": r"dice|class weight|weighted loss|oversampl|focal|another loss|different loss|new loss",
    "boundary": r"resolution|boundary.aware|boundary loss|upsampl",
    "class_confusion": r"class definition|clearer|where the classes meet|more examples",
}


def _unsized(flat: str) -> str:
    """``flat`` with each minimum-size change ("remove small regions of all classes") read as "size
    rule": its "small regions" propose a change, they do not name the small-region bucket."""
    return re.sub(_MIN_SIZE, lambda m: "size rule" + " x" * (len(m.group().split()) - 2), flat)


def _joined_to_main(text: str, top: list[str]) -> str | None:
    """A bucket that ``text`` joins to the main one with "and", "or" or "plus" in a clause that says
    "most" ("most failing samples are false positives and boundary errors"), or None."""
    flat = _unsized(re.sub(_NOT_NEGATIONS, " ", text.lower().replace("-", " ").replace("_", " ")))
    names = "|".join(f"(?P<{b}>{p})" for b, p in _BUCKET_WORDS.items())
    for clause in re.split(r"[.;!?](?:\s|$)|\bbut\b|\bwhile\b|\bwhereas\b|\band\b(?=\s+\d)", flat):
        if not re.search(rf"\b(?:{_DOMINANT})\b", clause):
            continue
        found = [(m.lastgroup, m.start(), m.end()) for m in re.finditer(names, clause)]
        for (a, _, end), (b, start, _) in zip(found, found[1:]):
            between = clause[end:start].split()
            if a != b and {a, b} & set(top) and len(between) <= 4 and {"and", "or", "plus", "&"} & set(between):
                return b if a in top else a
    return None


#: Words that leave a claim open: "maybe boundary", "or perhaps boundary".
_HEDGE = r"or|maybe|perhaps|possibly|probably|might|either"
#: A "second" bucket so qualified is named as a second one, not as a possible primary one.
_SECOND = r"\b(?:too|also|as well|appears?|appeared|occurs?|occurred)\b"


def _hedged_second(text: str, top: list[str]) -> str | None:
    """A bucket other than the main one that ``text`` offers as a possible primary bucket (a word of
    ``_HEDGE`` up to 2 words before its name, in a sentence that names the main bucket and says "most"
    or "primary"): "Maybe the false-positive class is primary, or maybe boundary" (review 05s10b P2-2)."""
    flat = _unsized(re.sub(_NOT_NEGATIONS, " ", text.lower().replace("-", " ").replace("_", " ")))
    for sentence in re.split(r"[.;!?](?:\s|$)", flat):
        if not re.search(rf"\b(?:{_DOMINANT})\b", sentence):
            continue
        if not any(re.search(_BUCKET_WORDS[b], sentence) for b in top):
            continue
        for bucket, pattern in _BUCKET_WORDS.items():
            if bucket in top:
                continue
            for m in re.finditer(rf"\b(?:{_HEDGE})\b(?:\s+\S+){{0,2}}?\s+(?:{pattern})", sentence):
                if not re.search(_SECOND, sentence[m.end():m.end() + 60].split(",")[0]):
                    return bucket
    return None


def _fail_counts(text: str) -> list[tuple[int, int | None, bool]]:
    """The failing counts ``text`` states: "12 of 60 samples fail" -> (12, 60, False), "all 60 samples
    fail" -> (60, None, True); not "12 failing samples", which may count a bucket's share of them."""
    flat = " ".join(_digits(text).lower().split())
    found = re.finditer(r"(\ball\s+)?\b(\d+)\s+(?:(?:out\s+)?of\s+(?:the\s+|all\s+)?(\d+)\s+)?(?:\w+\s+)?"
                        r"(?:samples?|scenes?|images?)\s+(?:(?!not\b|never\b|do\b|did\b|don|didn)\w+\s+)?"
                        r"fail(?:s|ed)?\b", flat)
    return [(int(m.group(2)), int(m.group(3)) if m.group(3) else None, bool(m.group(1))) for m in found]


def _also(words: list, first: int, last: int, clause: str = "") -> bool:
    """Whether the bucket name at word indices ``first`` to ``last`` is qualified as a second one:
    "too", "as well" or "appear(s) in" after it, up to the next comma, bucket name or 8 words ("boundary 11 as
    well", "boundary errors appear in 11 of them too"), or "also" up to 2 words before it or right
    after it ("also boundary", "boundary also holds 11"; not "... also dominate")."""
    after = []
    for i in range(last + 1, min(len(words), last + 9)):
        if "," in clause[words[i - 1].end():words[i].start()] or any(
                re.match(p, clause[words[i].start():]) for p in _BUCKET_WORDS.values()):
            break   # a comma or the next bucket's name ends this name's qualifiers
        after.append(words[i].group())
    if "too" in after or any(a == "as" and b == "well" for a, b in zip(after, after[1:])):
        return True
    if any(re.fullmatch(r"appears?|appeared|occurs?|occurred", a) and b == "in" for a, b in zip(after, after[1:])):
        return True
    before = [w.group() for w in words[max(0, first - 2):first]]
    later = after[after.index("also") + 1] if "also" in after[:3] and after.index("also") + 1 < len(after) else ""
    return "also" in before or ("also" in after[:3] and not re.fullmatch(rf"(?:{_DOMINANT})\w*", later))


def _bucket_mentions(text: str) -> list[dict]:
    """Every bucket named in ``text``: is it called the main one, is it negated, which numbers sit beside it.

    The text is cut into clauses (at . ; ! ?, "but"/"while"/"whereas" and an "and" before a number,
    not at ":"); a bucket is
    dominant when a word of ``_DOMINANT`` is in its clause and no other bucket's name is nearer to
    that word; a number belongs to the nearest bucket name of its clause, at most ``_NEAR_WORDS``
    words away (``numbers``), sits beside it within ``_BESIDE_WORDS`` (``beside``), or anywhere in
    the clause (``in_clause``, for the clause that calls the bucket the main one). A negation
    counts up to 3 words before the name (``_NEGATION_BEFORE``) or 3 after it (``_NEGATION_AFTER``).
    """
    if re.search(r"[{}]", text):
        raise AssertionError("your explanation pastes a dict ({...}): write in words which bucket\n"
                             "holds most failing samples and how many")
    flat = _unsized(re.sub(_NOT_NEGATIONS, " ", text.lower().replace("-", " ").replace("_", " ")))
    out, said_main = [], False
    for clause in re.split(r"[.;!?](?:\s|$)|\bbut\b|\bwhile\b|\bwhereas\b|\band\b(?=\s+\d)", flat):
        words = list(re.finditer(r"[a-z']+|\d+(?:\.\d+)?", clause))
        # "... is not the primary bucket; boundary is": a short clause that ends in "is" after a
        # clause about the main bucket names its bucket as the main one (review 05s10 P1-2)
        elliptic = said_main and len(words) <= 4 and bool(re.search(r"\b(?:is|are|does|do)\s*$", clause))
        said_main = bool(re.search(rf"\b(?:{_DOMINANT})\b", clause))
        at = lambda pos: sum(w.start() < pos for w in words)  # noqa: E731 (word index of a character)
        here = [(b, at(m.start()), at(m.end()) - 1) for b, pattern in _BUCKET_WORDS.items()
                for m in re.finditer(pattern, clause)]
        strong = [i for i, w in enumerate(words) if re.fullmatch(_DOMINANT, w.group())]
        leading = [h for h in here if not _also(words, h[1], h[2], clause)]   # "boundary 11 as well" is not a main one
        nearest = ({min(leading, key=lambda h: min(abs(h[1] - i), abs(h[2] - i)))[0] for i in strong}
                   if leading else set())
        nearest |= {h[0] for h in leading} if elliptic else set()
        gap = lambda h, i: max(h[1] - i, i - h[2], 0)  # noqa: E731 (words between a name and word i)
        comma = lambda h, i: "," in (clause[words[i].end():words[h[1]].start()] if i < h[1]  # noqa: E731
                                     else clause[words[h[2]].end():words[i].start()])
        size = lambda i: i + 1 < len(words) and re.fullmatch(r"px|pixels?", words[i + 1].group())  # noqa: E731
        owner = {i: min(here, key=lambda h: (comma(h, i), gap(h, i)))   # a comma parts a number from a name
                 for i, w in enumerate(words) if here and w.group()[0].isdigit() and not size(i)}  # "5 px": no count
        for bucket, first, last in here:
            mine = [(float(words[i].group()), gap(h, i)) for i, h in owner.items() if h == (bucket, first, last)]
            before = [w.group() for w in words[max(0, first - 3):first] if re.fullmatch(_NEGATION_BEFORE, w.group())]
            after = [w.group() for w in words[last + 1:last + 4] if re.fullmatch(_NEGATION_AFTER, w.group())]
            # "<bucket> is not (the) primary / main ...": a "not" after the name denies it the main place
            # (review 05s10 P1-2: "The false-positive class is not the primary bucket ...; boundary is")
            after += [" ".join(x.group() for x in words[j:j + 4]) for j in range(last + 1, min(last + 4, len(words)))
                      if re.fullmatch(_DENIED_MAIN, words[j].group())
                      and any(re.fullmatch(_DOMINANT, x.group()) for x in words[j + 1:j + 4])]
            no = (before + after or [None])[0]
            out.append({"bucket": bucket, "dominant": bucket in nearest, "negated": no is not None,
                        "near": no, "numbers": [n for n, d in mine if d <= _NEAR_WORDS],
                        "beside": [n for n, d in mine if d <= _BESIDE_WORDS], "in_clause": [n for n, _ in mine]})
    return out


@learner_check
def check_report(path: str | os.PathLike, explanation: str | None = None, preds: Any = None,
                 targets: Any = None) -> None:
    """Check the portfolio report written in THIS run: sections, embedded images, your explanation.

    ``path`` is what :func:`segcourse.report.write_report` returned and ``explanation`` the
    learner's own text, passed to it as ``notes=``. A file written before this kernel imported
    :mod:`segcourse.checks` (an old report lying in the folder) fails, and so does a page that
    does not hold this explanation: the check verifies this run's work, not whatever file exists.
    With ``preds`` and ``targets`` (the scenes the report is about) the explanation is tested
    against the data: the check buckets the failures itself
    (:func:`segcourse.failures.bucket_failures`), and the explanation must name the bucket that
    holds the most failing samples and cite that count; the page must state this run's count of
    failing samples.

    >>> import tempfile
    >>> words = "Most of the 12 failing samples are class confusion in dark light; I would add colour jitter."
    >>> path = Path(tempfile.mkdtemp()) / "portfolio.html"
    >>> _ = path.write_text("<h2>Triplets</h2><p>an old page</p>", encoding="utf-8")
    >>> check_report(path, words)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: the report lacks the 'Per-class IoU' section
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
    if preds is not None or targets is not None:
        _check_against_data(text, flat, preds, targets)
        print("check_report: every section present, images embedded, your explanation included "
              "and true to the bucket counts")
        return
    print("check_report: every section present, images embedded, your explanation included")


# ----------------------------------------------------------------------------- exercise 5: the per-image trap
def _class_ious(p: np.ndarray, t: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(IoU of each class 0..k-1, NaN where neither map has it; its pixels in the target; in the prediction)."""
    inter = np.array([np.count_nonzero((p == c) & (t == c)) for c in range(k)], float)
    union = np.array([np.count_nonzero((p == c) | (t == c)) for c in range(k)], float)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    return iou, np.array([np.count_nonzero(t == c) for c in range(k)]), np.array([np.count_nonzero(p == c) for c in range(k)])


def _trap_ref(p: np.ndarray, t: np.ndarray) -> tuple[float, float, bool]:
    """The reference (per-image mIoU, mIoU over the target's classes, whether it is the trap)."""
    iou, in_t, _ = _class_ious(p, t)
    per_image, over_target = float(np.nanmean(iou)), float(iou[in_t > 0].mean())
    return per_image, over_target, bool(per_image < 0.9 <= over_target)


def _trap_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(what, prediction, target): 8×8 label maps of classes 0 to 4, sky/road/sidewalk rows as in the lesson."""
    t = np.zeros((8, 8), int)
    t[3:6], t[6:] = 1, 2
    stray = t.copy(); stray[4, 2:5] = 4                       # 3 car pixels where the target has no car
    lane_t = t.copy(); lane_t[4, 1:3] = 3                      # a lane marking of 2 px ...
    both = stray.copy(); both[6] = 1                           # stray car and a sidewalk row called road
    halves = np.zeros((8, 8), int); halves[:, 4:] = 4          # two classes only: 0 and 4
    halves_p = halves.copy(); halves_p[0, 4:6] = 0
    edge_t = np.zeros((8, 8), int); edge_t[2, 1:6] = 1         # classes 0 and 1; 1 of road's 5 pixels called car:
    edge_p = edge_t.copy(); edge_p[2, 5] = 4                   # road 4/5, sky 1, so exactly 0.9 over the target
    return [("a trap: 3 stray car pixels where the target has no car", stray, t),
            ("a missed class: the target's 2-px lane marking predicted as road", t, lane_t),
            ("stray car pixels and a sidewalk row called road", both, t),
            ("a perfect prediction", t.copy(), t),
            ("a target of classes 0 and 4 only, 2 pixels of 4 called 0", halves_p, halves),
            ("exactly 0.9 over the target's classes: 1 of 5 road pixels called car", edge_p, edge_t)]


def _trap_answer(value: Any) -> tuple[float, float, bool]:
    """The learner's return value as (float, float, bool), or an AssertionError that says what it was."""
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise AssertionError(f"trap_score returned {_show(value) if not isinstance(value, (tuple, list)) else len(value)}"
                             f"{'' if not isinstance(value, (tuple, list)) else ' values'}: return three things,\n"
                             "(per-image mIoU, mIoU over the target's classes, is it the trap)")
    a, b = _number(value[0], "trap_score's first value"), _number(value[1], "trap_score's second value")
    flag = _core._plain(value[2])
    if not isinstance(flag, (bool, np.bool_)):
        raise AssertionError(f"trap_score's third value is of type {type(flag).__name__}: return True or False\n"
                             "(is the sample the per-image trap?)")
    return a, b, bool(flag)


@learner_check
def check_trap_score(trap_score: Callable) -> None:
    """Check ``trap_score(pred, target)`` -> (per-image mIoU, mIoU over the target's classes, is it the trap).

    The per-image mIoU averages the IoU over every class in the target *or* the prediction (a class
    in neither has no IoU and is skipped, not counted as 0); the second score averages only over the
    classes the target has; the sample is the trap when it fails the 0.9 line per image but passes
    over its target's classes. Tested on small label maps: a trap, a missed class, a sample that
    fails either way, a perfect one, a target of two classes. Averaging over the prediction's
    classes, the pooled IoU, a missing class counted as 0 and Dice are named in the hint. Plain
    Python or numpy only: an answer that calls a ``segcourse`` function is refused.

    >>> check_trap_score(lambda pred, target: (1.0, 1.0, False))   # typed-in numbers
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: a trap: 3 stray car pixels where the target has no car: yours
    (1, 1, False), expected (0.7188, 0.9583, True).
    per-image mIoU = the mean IoU over the classes in the target or the prediction
    """
    cases = _trap_cases()
    call = Watch(NOT_YOURS)
    answers = [call(trap_score, p.copy(), t.copy(), what="trap_score") for _, p, t in cases]
    call.refuse("trap_score")   # a library call is refused before its numbers are compared
    for (what, p, t), answer in zip(cases, answers):
        want = _trap_ref(p, t)
        got = _trap_answer(answer)
        if np.allclose(got[:2], want[:2], rtol=0, atol=1e-6) and got[2] == want[2]:
            continue
        iou, in_t, in_p = _class_ious(p, t)
        inter = np.array([np.count_nonzero((p == c) & (t == c)) for c in range(5)])
        union = np.array([np.count_nonzero((p == c) | (t == c)) for c in range(5)])
        dice = np.where(in_t + in_p > 0, 2 * inter / np.maximum(in_t + in_p, 1), np.nan)
        causes = [
            (float(iou[(in_p > 0) & (in_t > 0)].mean()), "you skipped a class the target has but the model missed:\n"
                                                          "it counts, with IoU 0 (average over every class the TARGET has)"),
            (float(iou[in_p > 0].mean()), "you averaged over the classes the PREDICTION has: average over\n"
                                          "the TARGET's classes (a class it has but the model missed counts, as 0)"),
            (float(inter.sum() / union.sum()), "that is the pooled IoU (all overlaps over all unions): average the\n"
                                               "IoU of each class instead, one number per class"),
            (float(np.nan_to_num(iou).mean()), "a class in neither map has no IoU (0/0, NaN): skip it, do not count\n"
                                               "it as 0 (np.nanmean, or only the classes present)"),
            (float(np.nan_to_num(iou[:int(max(p.max(), t.max())) + 1]).mean()),
             "a class in neither map has no IoU (0/0, NaN): skip it, do not count\nit as 0 (np.nanmean, or only "
             "the classes present)"),
            (float(np.nanmean(dice)), "that is the mean Dice (2·overlap / (|P| + |T|)), not the mean IoU"),
            (float(np.mean(p == t)), "that is the pixel accuracy, not a mean IoU"),
            (float(iou[in_t > 0].mean()), "you averaged over the target's classes: that is the second value;\n"
                                          "the per-image mIoU takes every class in the target OR the prediction"),
            (float(np.nanmean(iou)), "that is the per-image mIoU (target or prediction): the second value\n"
                                     "averages only over the classes the TARGET has"),
        ]
        shown = f"yours ({_show(got[0])}, {_show(got[1])}, {got[2]}), expected ({_show(want[0])}, {_show(want[1])}, {want[2]})."
        if abs(want[0] - want[1]) > 1e-6 and np.allclose(got[:2], want[1::-1], rtol=0, atol=1e-6):   # review 05s10b P3
            raise AssertionError(f"{what}: {shown}\nyour two scores are right but swapped: return the per-image mIoU\n"
                                 "first, then the mIoU over the target's classes")
        for i, truth in ((0, want[0]), (1, want[1])):
            if abs(got[i] - truth) > 1e-6:
                why = next((text for v, text in causes if abs(got[i] - v) <= 1e-6 and abs(v - truth) > 1e-6), None)
                first = ("per-image mIoU = the mean IoU over the classes in the target or the prediction" if i == 0 else
                         "the second value = the mean IoU over the classes the target has")
                raise AssertionError(f"{what}: {shown}\n{why or first}")
        if want[1] == 0.9:
            raise AssertionError(f"{what}: {shown}\na sample at exactly 0.9 passes the line (only a score BELOW 0.9\n"
                                 "fails): test over_target >= 0.9, not > 0.9")
        raise AssertionError(f"{what}: {shown}\nthe trap is a sample that FAILS per image (below 0.9) but PASSES\n"
                             "over its target's classes (0.9 or more): both conditions")
    print(f"check_trap_score: all {len(cases)} cases pass (the trap: per image "
          f"{_trap_ref(*cases[0][1:])[0]:.3f}, over the target's classes {_trap_ref(*cases[0][1:])[1]:.3f})")


# ----------------------------------------------------------------------------- exercise 6: boundary enrichment
def _band_of(t: np.ndarray, d: int = 1) -> np.ndarray:
    """Pixels with another class within ``d`` pixels (a (2d+1)² square; the border repeated outward)."""
    padded, band = np.pad(t, d, mode="edge"), np.zeros(t.shape, bool)
    for dy in range(-d, d + 1):
        for dx in range(-d, d + 1):
            band |= padded[d + dy:d + dy + t.shape[0], d + dx:d + dx + t.shape[1]] != t
    return band


def _stray_of(p: np.ndarray, t: np.ndarray, connect: int = 2) -> np.ndarray:
    """Every predicted region (8-connected; 4 with ``connect=1``) that holds no true pixel of its class."""
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(2, connect)
    stray = np.zeros(t.shape, bool)
    for c in np.unique(p):
        regions, n = ndimage.label(p == c, structure)
        touch = np.bincount(regions.ravel(), weights=(t == c).ravel(), minlength=n + 1)
        stray |= np.isin(regions, np.nonzero((touch == 0) & (np.arange(n + 1) > 0))[0])
    return stray


def _removed_of(p: np.ndarray, t: np.ndarray, connect: int = 2, size_only: bool = False) -> np.ndarray:
    """Lesson 05 section 6's false-positive rule, as :func:`segcourse.failures.bucket_failures` applies it:
    the stray regions are removed when one of them has a class the target lacks, or when they hold
    ``MIN_STRAY_PIXELS`` or more in all; otherwise they stay among the wrong pixels. ``size_only=True``
    forgets the class the target lacks (a typical slip)."""
    stray = _stray_of(p, t, connect)
    absent = bool(np.setdiff1d(np.unique(p[stray]), np.unique(t)).size) and not size_only
    return stray if absent or stray.sum() >= MIN_STRAY_PIXELS else np.zeros(t.shape, bool)


MIN_STRAY_PIXELS = 20   # bucket_failures' min_confused_pixels: the false-positive bucket's threshold


def _enrichment_ref(p: np.ndarray, t: np.ndarray, band: np.ndarray, connect: int | None = 2, always: bool = False,
                    size_only: bool = False) -> tuple[float, float, float]:
    """(share of the wrong pixels left after the false-positive rule that lie in the band, the band's
    share of the image, their ratio); NaN when no such wrong pixel is left. ``connect=None`` keeps the
    strays; ``always=True`` removes them even under the 20-px rule (a typical slip)."""
    wrong = p != t
    if connect is not None:
        wrong &= ~(_stray_of(p, t, connect) if always else _removed_of(p, t, connect, size_only))
    share = float(band.mean())
    if not wrong.any():
        return float("nan"), share, float("nan")
    frac = float((wrong & band).sum() / wrong.sum())
    return frac, share, frac / share


def _enrichment_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(what, prediction, target, band): 16×16 maps, sky / road / sidewalk rows and a car."""
    t = np.zeros((16, 16), int)
    t[6:11], t[11:] = 1, 2
    t[7:9, 3:7] = 4
    band = _band_of(t)
    shifted = np.roll(t, 1, axis=0); shifted[0] = t[0]            # every edge one row down
    rng = np.random.default_rng(3)
    scattered = t.copy()
    flip = rng.permutation(t.size)[:int((shifted != t).sum())]      # as many wrong pixels, at random
    scattered.flat[flip] = (t.flat[flip] + 1) % 5
    blob = shifted.copy(); blob[1:5, 8:13] = 2                     # + a 20-px stray sidewalk blob in the sky
    speck = shifted.copy(); speck[1:3, 8:11] = 2                   # + a 6-px one: under 20 px, the rule keeps it
    bleed = t.copy(); bleed[11:14, 9:13] = 1                        # road painted over the sidewalk, joined
    bleed[14, 13] = 1                                               # to the true road (and by a corner only)
    inner = t.copy(); inner[1:5, 8:13] = 2                         # only the stray blob is wrong
    no_car = t.copy(); no_car[7:9, 3:7] = 1                        # a target without a car...
    lone = np.roll(no_car, 1, axis=0); lone[0] = no_car[0]
    lone[2, 9:12] = 4                                              # ...and a 3-px stray car in its sky
    return [("every edge one pixel off", shifted, t, band),
            ("every edge one pixel off and a 20-px stray sidewalk blob in the sky", blob, t, band),
            ("every edge one pixel off and a 6-px stray sidewalk blob in the sky (under 20 px)", speck, t, band),
            ("road painted over the sidewalk, joined to the true road", bleed, t, band),
            ("as many wrong pixels at random", scattered, t, band),
            ("only a 20-px stray sidewalk blob in the sky is wrong", inner, t, band),
            ("every edge one pixel off and a 3-px stray car where the target has no car", lone, no_car,
             _band_of(no_car)),
            ("a perfect prediction (no wrong pixel)", t.copy(), t, band)]


def _enrichment_answer(value: Any) -> tuple[float, float, float]:
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != 3:
        raise AssertionError(f"boundary_enrichment returned {_show(value)}: return three things,\n"
                             "(fraction_in_band, band_share, enrichment)")
    return tuple(_number(v, f"boundary_enrichment's {n}")           # type: ignore[return-value]
                 for v, n in zip(value, ("fraction_in_band", "band_share", "enrichment")))


def _enrichment_hint(got: tuple, want: tuple, p: np.ndarray, t: np.ndarray, band: np.ndarray) -> str:
    """The cause of a wrong (fraction, share, enrichment), as a hint line."""
    all_wrong = p != t
    wrong = all_wrong & ~_removed_of(p, t)
    n_wrong, n_band, size = wrong.sum(), band.sum(), t.size
    def same(a: float, b: float) -> bool:
        return bool(np.isclose(a, b, rtol=0, atol=1e-6, equal_nan=True))
    frac, share, ratio = got
    if n_wrong == 0 and not (np.isnan(frac) and np.isnan(ratio)):
        return (("every wrong pixel lies in a stray region, so none is left: the\nshare in the band is 0/0: "
                 if all_wrong.any() else "with no wrong pixel the share of wrong pixels in the band is 0/0:\n")
                + "return NaN (float('nan')) for fraction_in_band and enrichment, not a number")
    if not same(frac, want[0]):
        n_stray = int(_stray_of(p, t).sum())
        lacks = sorted(set(np.unique(p[_stray_of(p, t)]).tolist()) - set(np.unique(t).tolist()))
        causes = [(_enrichment_ref(p, t, band, size_only=True)[0] if lacks else np.inf,
                   f"you kept the stray regions because they hold only {n_stray} px, but\n"
                   f"one has class {lacks[0] if lacks else ''}, which the target lacks: the false-positive\n"
                   "bucket takes such a region whatever its size, so remove it (step 1)"),
                  (_enrichment_ref(p, t, band, always=True)[0],
                   f"you removed stray regions the rule keeps: here they hold {n_stray} px\n"
                   "in all, every one of a class the target has. Under 20 px (and with\n"
                   "no class the target lacks) the false-positive bucket does not take\n"
                   "them, so they stay among the wrong pixels (step 1)"),
                  (_enrichment_ref(p, t, band, None)[0],
                   "you counted the wrong pixels of the stray regions too: first remove\n"
                   "every predicted region (8-connected) that holds no true pixel of\n"
                   "its class (here they hold 20 px or more, or have a class the target\n"
                   "lacks: lesson 05 section 6's false-positive rule), then share\n"
                   "out the wrong pixels that are left"),
                  (_enrichment_ref(p, t, band, 1)[0],
                   "you joined pixels by their edges only (4-connected): a region of\n"
                   "the rule is 8-connected, so pixels that touch at a corner belong\n"
                   "to one region (ndimage.generate_binary_structure(2, 2))"),
                  ((wrong & band).sum() / max(n_band, 1), "that is the share of the BAND that is wrong: divide the wrong\n"
                                                          "pixels in the band by ALL wrong pixels, not by the band"),
                  ((wrong & band).sum() / size, "that is a share of the whole image: divide the wrong pixels in\n"
                                                "the band by all wrong pixels"),
                  ((~all_wrong & band).sum() / max((~all_wrong).sum(), 1),
                   "you counted the RIGHT pixels (pred == target):\ncount the wrong ones (pred != target)"),
                  (100 * want[0], "that is a percentage: return a fraction from 0 to 1"),
                  ((wrong & ~band).sum() / max(n_wrong, 1), "that is the share OUTSIDE the band: count the wrong pixels\n"
                                                            "where band is True")]
        return next((why for v, why in causes if same(frac, v)),
                    "fraction_in_band = (wrong pixels in the band) / (all wrong pixels),\n"
                    "both counted after the stray regions are removed")
    if not same(share, want[1]):
        causes = [(n_band, "that is the band's pixel count: divide it by the image's pixels"),
                  (100 * want[1], "that is a percentage: return a fraction from 0 to 1"),
                  (1 - want[1], "that is the share OUTSIDE the band")]
        return next((why for v, why in causes if same(share, v)),
                    "band_share = (pixels in the band) / (pixels in the image): where\nrandom errors would land")
    causes = [(want[1] / want[0] if want[0] else np.nan, "you divided the other way: enrichment = fraction_in_band / band_share"),
              (want[0] - want[1], "that is a difference: enrichment is the ratio fraction_in_band / band_share")]
    return next((why for v, why in causes if same(ratio, v)), "enrichment = fraction_in_band / band_share")


@learner_check
def check_boundary_enrichment(boundary_enrichment: Callable, pred: Any, target: Any) -> None:
    """Check ``boundary_enrichment(pred, target, band)`` -> (fraction_in_band, band_share, enrichment).

    The rule of :func:`segcourse.failures.bucket_failures`: first remove the stray regions (each
    predicted region, 8-connected, that holds no true pixel of its class: the false-positive
    bucket) when one of them has a class the target lacks or they hold 20 px or more in all (under
    20 px, all of the target's classes, they stay); ``fraction_in_band`` is the share of the wrong pixels left (``pred != target``) that
    lie in the boundary band, ``band_share`` the band's share of the image (where errors at random
    would land), ``enrichment`` their ratio; with no wrong pixel left the first and the last are
    NaN (0/0). Tested on the check's 16×16 maps (a one-pixel shift, with and without a stray blob of
    20 px or of 6 px, a 3-px stray car where the target has no car,
    road bleeding into the sidewalk, random errors, a stray blob alone, a perfect prediction), then
    on the learner's sample (``pred``, ``target``, the band of
    :func:`segcourse.failures.label_boundary_band`) against the boundary evidence of
    :func:`segcourse.failures.bucket_failures`. Plain numpy (and ``scipy.ndimage.label``): a
    ``segcourse`` call is refused.

    >>> check_boundary_enrichment(lambda p, t, band: (0.5, 0.25, 2.0), [[0, 1], [1, 1]], [[0, 1], [1, 1]])
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: every edge one pixel off: yours (0.5, 0.25, 2), expected (1, 0.3203, 3.122).
    fraction_in_band = (wrong pixels in the band) / (all wrong pixels),
    both counted after the stray regions are removed
    """
    from ..failures import bucket_failures, label_boundary_band

    try:
        p, t = to_numpy(pred, "pred"), to_numpy(target, "target")
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"pass the sample's prediction and target (two label maps):\n{exc}") from None
    if p.shape != t.shape or p.ndim != 2:
        raise AssertionError(f"pred and target must be two label maps of one sample, the same\n"
                             f"shape: got {p.shape} and {t.shape}")
    band = label_boundary_band(t)
    cases = _enrichment_cases() + [("your sample", p, t, band)]
    call = Watch(NOT_YOURS)
    use = "numpy (pred != target, boolean masks, .sum(), .mean())"
    answers = []
    for what, cp, ct, cb in cases:
        try:
            answers.append(call(boundary_enrichment, cp.copy(), ct.copy(), cb.copy(), what="boundary_enrichment"))
        except AssertionError as exc:
            call.refuse("boundary_enrichment", use=use)   # a crash inside the helper: the helper is the cause
            if "ZeroDivisionError" not in str(exc):
                raise
            left = int(((cp != ct) & ~_removed_of(cp, ct)).sum())
            why = ("no wrong pixel is left, so fraction_in_band is 0/0: return NaN"
                   if not left else f"{left} wrong pixels are left, {int(((cp != ct) & ~_removed_of(cp, ct) & cb).sum())}"
                   f" of them in the band")
            raise AssertionError(f"{exc}\non {what}: {why};\n"
                                 f"enrichment divides by band_share, never by fraction_in_band") from None
    call.refuse("boundary_enrichment", use=use)
    for (what, cp, ct, cb), answer in zip(cases, answers):
        got, want = _enrichment_answer(answer), _enrichment_ref(cp, ct, cb)
        if not np.allclose(got, want, rtol=0, atol=1e-6, equal_nan=True):
            raise AssertionError(f"{what}: yours ({', '.join(_show(v) for v in got)}), expected "
                                 f"({', '.join(_show(v) for v in want)}).\n{_enrichment_hint(got, want, cp, ct, cb)}")
    frac, share, ratio = _enrichment_ref(p, t, band)
    k = int(max(p.max(initial=0), t.max(initial=0))) + 1
    scored = bucket_failures(p[None], t[None], max(k, 2), fail_below=1.0)["samples"]   # every sample below a perfect 1
    ev = scored[0]["evidence"].get("boundary") if scored else None
    left = int(((p != t) & ~_removed_of(p, t)).sum())
    same = ev is not None and ev["wrong_pixels"] == left      # no small region missed: the same pixels
    if same:
        assert abs(ev["enrichment"] - ratio) < 1e-9, "the check disagrees with bucket_failures"
    print(f"check_boundary_enrichment: all {len(cases)} cases pass; your sample: {left} wrong pixels outside its stray "
          f"regions, {frac:.0%} of them in the band, which covers {share:.0%} of the image: {ratio:.2f} × its share"
          + (f" (bucket_failures: {ev['enrichment']:.2f}, the same)" if same else ""))
