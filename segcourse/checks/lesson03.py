"""Learner checks of lesson 03, instance segmentation.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._core import _call, _close, _count, _number, learner_check

__all__ = ["check_count_objects", "check_panoptic_quality"]


@learner_check
def check_count_objects(count_objects: Callable) -> None:
    """Check ``count_objects(mask)``: number of 4-connected regions of a binary mask.

    >>> from scipy import ndimage
    >>> check_count_objects(lambda m: ndimage.label(np.asarray(m))[1])
    check_count_objects: all cases pass
    """
    from scipy import ndimage

    diag = np.array([[1, 0], [0, 1]])
    got = _count(_call(count_objects, diag, what="count_objects"), "count_objects")
    if got == 1:
        raise AssertionError("two pixels that touch only at a corner are 2 objects under 4-connectivity (edges only); "
                             "you used 8-connectivity (structure=np.ones((3, 3)))")
    if got != 2:
        raise AssertionError(f"[[1, 0], [0, 1]] has 2 objects (4-connectivity); you counted {got!r}")
    if _count(_call(count_objects, np.zeros((3, 3), int), what="count_objects"), "count_objects") != 0:
        raise AssertionError("an empty mask has 0 objects")
    rng = np.random.default_rng(5)
    for _ in range(20):
        m = rng.random((12, 12)) < 0.4
        want = ndimage.label(m)[1]
        got = _count(_call(count_objects, m, what="count_objects"), "count_objects")
        if got != want:
            raise AssertionError(f"a random 12×12 mask has {want} objects, you counted {got!r}: use scipy.ndimage.label")
    print("check_count_objects: all cases pass")


@learner_check
def check_panoptic_quality(panoptic_quality: Callable) -> None:
    """Check ``panoptic_quality(pred, gt)`` -> PQ (a float) for one thing class.

    >>> from segcourse import instances
    >>> check_panoptic_quality(lambda p, g: instances.panoptic_quality(p, g)["pq"])
    check_panoptic_quality: all cases pass
    """
    from .. import instances

    gt = np.array([[1, 1, 0, 0]])
    half = np.array([[1, 0, 0, 0]])  # IoU exactly 0.5: not a match
    got = _number(_call(panoptic_quality, half, gt, what="panoptic_quality"), "panoptic_quality")
    if _close(got, 0.5, 1e-9):
        raise AssertionError("IoU exactly 0.5 is not a match: a match needs IoU > 0.5 (strictly). Then TP=0, FP=1, FN=1 and PQ=0")
    if not _close(got, 0.0):
        raise AssertionError(f"for pred {half.tolist()} vs truth {gt.tolist()} PQ is 0.0, yours is {got!r}")
    gt = np.array([[1, 1, 1, 1, 0, 2, 2]])
    pred = np.array([[3, 3, 3, 0, 0, 0, 0]])
    got = _number(_call(panoptic_quality, pred, gt, what="panoptic_quality"), "panoptic_quality")
    if _close(got, 0.75):
        raise AssertionError("0.75 is SQ (the mean IoU of matched pairs); PQ also multiplies by RQ = TP / (TP + FP/2 + FN/2)")
    if not _close(got, 0.5, 1e-9):
        raise AssertionError(f"one match with IoU 0.75 and one missed object: PQ = 0.75 / (1 + 0 + 0.5) = 0.5; yours is {got!r}")
    rng = np.random.default_rng(9)
    for _ in range(15):
        gt = np.zeros((16, 16), int)
        for k in range(1, 5):
            y, x = rng.integers(0, 12, 2)
            gt[y:y + 4, x:x + 4] = k * 7  # ids need not be 1..k
        pred = np.roll(gt, int(rng.integers(-1, 2)), axis=1)
        want = instances.panoptic_quality(pred, gt)["pq"]
        got = _number(_call(panoptic_quality, pred, gt, what="panoptic_quality"), "panoptic_quality")
        if not _close(got, want, 1e-6):
            raise AssertionError(f"on random instance maps expected PQ {want:.4f}, got {got!r}; ids are arbitrary positive "
                                 f"numbers (0 is background), so match by IoU, not by equal ids")
    print("check_panoptic_quality: all cases pass")
