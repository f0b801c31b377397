"""Learner checks of lesson 00, masks and IoU.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import metrics
from ._core import _array, _call, _close, _number, _plain, learner_check

__all__ = ["check_iou", "check_dice", "check_confusion_matrix", "check_mean_iou", "check_painted_mask"]


TRUTH = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]
PRED = [[1, 0, 0], [1, 1, 0], [0, 0, 0]]


def _random_pairs(seed: int, n: int = 25):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        shape = tuple(rng.integers(2, 12, 2))
        if rng.random() < 0.3:
            shape = (int(rng.integers(2, 4)),) + shape  # a batch
        p = rng.random(shape) < rng.uniform(0.1, 0.7)
        t = rng.random(shape) < rng.uniform(0.1, 0.7)
        yield p, t


def _check_overlap(fn: Callable, name: str, ref: Callable, seed_value: float) -> None:
    got = _number(_call(fn, np.array(PRED), np.array(TRUTH), what=name), name)
    if not _close(got, seed_value, 1e-6):
        hint = ""
        if name == "iou" and _close(got, 2 / 3, 1e-3):
            hint = " That is the Dice value: IoU divides by the union |P ∪ T| = 4, not by the mean size."
        if name == "iou" and _close(got, 2.0, 1e-9):
            hint = " You returned the intersection count: divide it by the union."
        if name == "dice" and _close(got, 0.5, 1e-9):
            hint = " That is the IoU. Dice is 2|P ∩ T| / (|P| + |T|)."
        raise AssertionError(f"{name} of lesson 00's 3×3 masks should be {seed_value:.4f}, yours is {got!r}.{hint}")
    empty = np.zeros((3, 3), bool)
    got = _number(_call(fn, empty, empty, what=name), name)
    if not _close(got, float("nan")):
        raise AssertionError(
            f"your {name} of two empty masks is {got!r}; both masks agree everywhere, but 0/0 has no value — "
            f"the course convention is to return NaN (np.nan) so that averages can skip such images.")
    one = empty.copy(); one[1, 1] = True
    got = _number(_call(fn, one, empty, what=name), name)
    if not _close(got, 0.0):
        raise AssertionError(f"your {name} of a one-pixel prediction against an empty target is {got!r}; "
                             f"nothing overlaps, so it must be 0.0 (only *both* empty is NaN)")
    got = _number(_call(fn, one, one, what=name), name)
    if not _close(got, 1.0):
        raise AssertionError(f"your {name} of a mask with itself is {got!r}; identical masks score 1.0")
    for p, t in _random_pairs(7):
        want = ref(p, t)
        got = _number(_call(fn, p, t, what=name), name)
        if not _close(got, want, 1e-6):
            extra = " (this case is a batch of shape (N, H, W): count over all images)" if p.ndim == 3 else ""
            raise AssertionError(f"on random masks of shape {p.shape} your {name} is {got!r}, expected {want:.6f}{extra}. "
                                 f"Check that you count pixels, not rows, and use & for intersection and | for union.")
    p, t = next(_random_pairs(8))
    got = _number(_call(fn, p.astype(np.uint8), t.astype(np.uint8), what=name), name)
    if not _close(got, ref(p, t), 1e-6):
        raise AssertionError(f"your {name} gives {got!r} for 0/1 uint8 masks but {ref(p, t):.6f} is right: convert to bool "
                             f"first (mask.astype(bool)); uint8 arithmetic overflows and & on 0/1 ints is not logical AND of masks")


@learner_check
def check_iou(iou: Callable) -> None:
    """Check a learner's ``iou(pred, target)`` for binary masks.

    >>> check_iou(metrics.iou)
    check_iou: all cases pass
    """
    _check_overlap(iou, "iou", metrics.iou, 0.5)
    print("check_iou: all cases pass")


@learner_check
def check_dice(dice: Callable) -> None:
    """Check a learner's ``dice(pred, target)`` for binary masks.

    >>> check_dice(metrics.dice)
    check_dice: all cases pass
    """
    _check_overlap(dice, "dice", metrics.dice, 2 / 3)
    print("check_dice: all cases pass")


@learner_check
def check_confusion_matrix(confusion_matrix: Callable) -> None:
    """Check a learner's ``confusion_matrix(pred, target, num_classes)`` (rows = truth).

    >>> check_confusion_matrix(metrics.confusion_matrix)
    check_confusion_matrix: all cases pass
    """
    pred = np.array([[0, 1, 1], [1, 2, 2]])
    target = np.array([[0, 0, 1], [1, 1, 2]])
    want = metrics.confusion_matrix(pred, target, 3)
    got = _array(_call(confusion_matrix, pred, target, 3, what="confusion_matrix"), "confusion_matrix")
    if got.shape != (3, 3):
        raise AssertionError(f"with num_classes=3 the matrix must be 3×3, yours has shape {got.shape}")
    if np.array_equal(got, want.T):
        raise AssertionError("your matrix is transposed: rows must be the ground truth (target) and columns the prediction, "
                             "so cm[i, j] counts pixels of true class i predicted as j")
    if not np.array_equal(got, want):
        raise AssertionError(f"for pred={pred.tolist()} and target={target.tolist()} expected\n{want}\nbut got\n{got}")
    got = _array(_call(confusion_matrix, np.zeros((2, 2), int), np.zeros((2, 2), int), 4, what="confusion_matrix"), "confusion_matrix")
    if got.shape != (4, 4):
        raise AssertionError("classes that never occur still get a row and a column: use num_classes, not the ids you see "
                             f"(np.bincount(..., minlength=K*K)); your shape is {got.shape}")
    rng = np.random.default_rng(3)
    for _ in range(20):
        k = int(rng.integers(2, 20))
        shape = (int(rng.integers(1, 3)), 40, 40)
        t = rng.integers(0, k, shape).astype(np.uint8)
        p = rng.integers(0, k, shape).astype(np.uint8)
        got = _array(_call(confusion_matrix, p, t, k, what="confusion_matrix"), "confusion_matrix")
        if not np.array_equal(got, metrics.confusion_matrix(p, t, k)):
            raise AssertionError(f"wrong counts on random uint8 label maps with K={k}: K*t + p overflows uint8 when K*K > 256 — "
                                 f"convert to a wider integer type (astype(np.int64)) before computing the index")
    print("check_confusion_matrix: all cases pass")


@learner_check
def check_mean_iou(mean_iou: Callable) -> None:
    """Check a learner's ``mean_iou(pred, target, num_classes)`` (NaN classes skipped).

    >>> check_mean_iou(metrics.mean_iou)
    check_mean_iou: all cases pass
    """
    t = np.array([[0, 0], [1, 1]])
    p = np.array([[0, 1], [1, 1]])
    want = metrics.mean_iou(p, t, 4)
    got = _number(_call(mean_iou, p, t, 4, what="mean_iou"), "mean_iou")
    if _close(got, (0.5 + 2 / 3) / 4, 1e-6):
        raise AssertionError(f"your mean IoU is {got:.4f}: classes 2 and 3 appear in neither mask and were counted as 0. "
                             f"An absent class has no IoU (NaN); average only the classes that occur (np.nanmean).")
    if not _close(got, want, 1e-6):
        raise AssertionError(f"mean_iou(pred={p.tolist()}, target={t.tolist()}, num_classes=4) should be {want:.4f}, yours is {got!r}")
    rng = np.random.default_rng(11)
    for _ in range(20):
        k = int(rng.integers(2, 7))
        t = rng.integers(0, k, (2, 9, 9))
        p = np.where(rng.random(t.shape) < 0.6, t, rng.integers(0, k, t.shape))
        want = metrics.mean_iou(p, t, k)
        got = _number(_call(mean_iou, p, t, k, what="mean_iou"), "mean_iou")
        if not _close(got, want, 1e-6):
            raise AssertionError(f"on random label maps (K={k}, batch of 2) expected {want:.6f}, got {got!r}: "
                                 f"compute each class's IoU over all pixels of the batch, then average the classes")
    print("check_mean_iou: all cases pass")

def _painted_array(mask: Any, editor: Any) -> np.ndarray:
    """The learner's painted mask as an array; text pictures are parsed with mask_from_string."""
    from ..masks import mask_from_string

    if editor is not None and not isinstance(mask, str):
        raise AssertionError('write your answer as text: copy the rows printed under\n'
                             'the editor into painted = """...""". Grading re-runs the\n'
                             'notebook, where your mouse strokes do not exist.')
    if isinstance(mask, str):
        try:
            return mask_from_string(mask)
        except (TypeError, ValueError) as exc:
            raise AssertionError(f"your mask text cannot be read: {exc}\n"
                                 f"write one line per row, '.' = background, '#' = painted") from None
    try:
        return np.asarray(_plain(getattr(mask, "mask", mask)))
    except Exception:  # ragged lists and the like
        raise AssertionError("give the mask as text, a list of rows, or an array") from None


@learner_check
def check_painted_mask(mask: Any, target: Any, goal: float, tol: float = 1e-9, editor: Any = None) -> None:
    """Check a painted mask reaches IoU ``goal`` against ``target``.

    ``mask`` is a text picture (one line per row, ``.`` background, ``#`` painted), a list of
    rows, an array or a :class:`~segcourse.widgets.MaskEditor`. Pass the ``editor`` the learner
    painted in to require the text form: autograding re-runs the notebook in a fresh kernel,
    where mouse strokes do not exist, so only an answer written into the notebook is gradeable.

    >>> check_painted_mask([[1, 0, 0], [1, 1, 0], [0, 0, 0]], [[1, 1, 0], [1, 0, 0], [0, 0, 0]], 0.5)
    check_painted_mask: IoU 0.500 as asked
    >>> check_painted_mask('''
    ...     #..
    ...     ##.
    ...     ...''', [[1, 1, 0], [1, 0, 0], [0, 0, 0]], 0.5, editor="the editor painted in")
    check_painted_mask: IoU 0.500 as asked
    """
    m = _painted_array(mask, editor)
    t = np.asarray(_plain(target))
    if m.shape != t.shape:
        raise AssertionError(f"your mask has shape {m.shape}, the target {t.shape}:\n"
                             f"paint on the same grid (one text line per row)")
    got = metrics.iou(m > 0, t > 0, zero_division=1.0)
    if abs(got - goal) > tol:
        direction = ("add pixels the target has, or remove ones it lacks" if got < goal
                     else "you overlap too well: add a false positive or leave a pixel out")
        raise AssertionError(f"your mask has IoU {got:.3f} with the target, the goal is {goal:.3f}:\n{direction}")
    print(f"check_painted_mask: IoU {got:.3f} as asked")
