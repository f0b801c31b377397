"""Learner checks of lesson 03, instance segmentation.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._core import _array, _call, _close, _count, _number, learner_check

__all__ = ["check_count_cells", "check_panoptic_quality", "check_split_cells", "check_distance_target"]

# the held-back images check_split_cells scores the learner's pipeline on (never shown in the lesson).
# Their cells are about three times the lesson's radius, so the lesson's min_distance=2 over-splits
# them: measured pooled PQ min_distance 2: 0.872 (89 objects for 80 cells), 3: 0.919, 4-6: 0.931,
# 8: 0.922, 10: 0.897, 20: 0.858; connected components 0.390.
SPLIT_HELD_BACK = dict(n=24, size=128, seed=2024, overlap=0.2, isolated=0.5, radius=(18.0, 26.0), num_cells=(2, 5))
SPLIT_PASS_PQ = 0.90


@learner_check
def check_count_cells(count_cells: Callable) -> None:
    """Check ``count_cells(mask, min_size)``: 8-connected regions with at least ``min_size`` pixels.

    >>> from scipy import ndimage
    >>> def count_cells(mask, min_size):
    ...     labels, n = ndimage.label(np.asarray(mask), structure=np.ones((3, 3)))
    ...     return int(np.sum(np.bincount(labels.ravel())[1:] >= min_size))
    >>> check_count_cells(count_cells)
    check_count_cells: all cases pass
    """
    from scipy import ndimage

    def call(mask, min_size):
        return _count(_call(count_cells, np.asarray(mask), min_size, what="count_cells"), "count_cells")

    square = np.zeros((4, 4), int)
    square[1:3, 1:3] = 1             # one 2×2 cell in a ring of 12 background pixels
    got = call(square, 1)
    if got == 2:
        raise AssertionError("one 2×2 square in a 4×4 mask is 1 cell; you counted 2: the background (label 0 of "
                             "ndimage.label, the first entry of np.bincount) is not a cell. Drop it before counting")
    if got != 1:
        raise AssertionError(f"{square.tolist()} with min_size=1 has 1 cell; you counted {got!r}")
    diag = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
    got = call(diag, 1)
    if got == 2:
        raise AssertionError("two squares that touch only at a corner are 1 object under 8-connectivity (edges and "
                             "corners); you counted 2, as 4-connectivity does: pass structure=np.ones((3, 3))")
    if got != 1:
        raise AssertionError(f"{diag.tolist()} with min_size=1 has 1 object (8-connectivity); you counted {got!r}")
    if call(np.zeros((3, 3), int), 1) != 0:
        raise AssertionError("an empty mask has 0 objects: count regions of the mask, not the background")
    specks = np.zeros((6, 8), int)
    specks[0, 0] = 1                 # 1 pixel
    specks[3:5, 0] = 1               # 2 pixels
    specks[1:4, 4:7] = 1             # 9 pixels
    got = call(specks, 2)
    if got == 3:
        raise AssertionError("with min_size=2 the 1-pixel speck is not a cell: drop regions smaller than min_size")
    if got == 1:
        raise AssertionError("a region of exactly min_size pixels counts (size >= min_size, not >)")
    if got != 2:
        raise AssertionError(f"regions of 1, 2 and 9 pixels with min_size=2 are 2 cells; you counted {got!r}")
    rng = np.random.default_rng(5)
    for _ in range(15):
        m = rng.random((14, 14)) < 0.35
        size = int(rng.integers(1, 5))
        labels, _n = ndimage.label(m, structure=np.ones((3, 3)))
        want = int(np.sum(np.bincount(labels.ravel())[1:] >= size))
        got = call(m, size)
        if got != want:
            raise AssertionError(f"a random 14×14 mask has {want} 8-connected regions of at least {size} pixels; "
                                 f"you counted {got!r}")
    print("check_count_cells: all cases pass")


@learner_check
def check_panoptic_quality(panoptic_quality: Callable) -> None:
    """Check ``panoptic_quality(pred, gt)`` -> PQ (a float) for one thing class.

    >>> from segcourse import instances
    >>> check_panoptic_quality(lambda p, g: instances.panoptic_quality(p, g)["pq"])
    check_panoptic_quality: all cases pass
    """
    from .. import instances

    zero_tp = ("with no match (TP = 0), SQ = Σ IoU / TP divides by zero: compute PQ = Σ IoU / (TP + FP/2 + FN/2) "
               "directly, which is 0 here")

    def call(pred, gt):
        try:
            got = _number(_call(panoptic_quality, np.asarray(pred), np.asarray(gt), what="panoptic_quality"),
                          "panoptic_quality")
        except AssertionError as exc:
            if "ZeroDivisionError" in str(exc):
                raise AssertionError(f"{exc}; {zero_tp}") from None
            raise
        if np.isnan(got) and (np.any(pred) or np.any(gt)):
            raise AssertionError(f"panoptic_quality returned NaN for pred {np.asarray(pred).tolist()} and truth "
                                 f"{np.asarray(gt).tolist()}; {zero_tp}. Return NaN only when both maps are empty")
        return got

    gt = np.array([[1, 1, 0, 0]])
    half = np.array([[1, 0, 0, 0]])  # IoU exactly 0.5: not a match
    got = call(half, gt)
    if _close(got, 0.5, 1e-9):
        raise AssertionError("IoU exactly 0.5 is not a match: a match needs IoU > 0.5 (strictly). Then TP=0, FP=1, FN=1 and PQ=0")
    if not _close(got, 0.0):
        raise AssertionError(f"for pred {half.tolist()} vs truth {gt.tolist()} PQ is 0.0, yours is {got!r}")
    gt = np.array([[1, 1, 1, 1, 0, 2, 2]])
    pred = np.array([[3, 3, 3, 0, 0, 0, 0]])
    got = call(pred, gt)
    if _close(got, 0.75):
        raise AssertionError("0.75 is SQ (the mean IoU of matched pairs); PQ also multiplies by RQ = TP / (TP + FP/2 + FN/2)")
    if _close(got, 0.0):
        raise AssertionError("predicted id 3 covers 3 of the 4 pixels of true id 1 (IoU 0.75), yet you found no match: "
                             "ids are arbitrary positive numbers, so match by IoU, not by equal ids. PQ is 0.5 here")
    if not _close(got, 0.5, 1e-9):
        raise AssertionError(f"one match with IoU 0.75 and one missed object: PQ = 0.75 / (1 + 0 + 0.5) = 0.5; yours is {got!r}")
    empty, one = np.zeros((3, 4), int), np.zeros((3, 4), int)
    one[1, 1:3] = 4
    for p, g, side in ((empty, one, "the prediction is empty (every true object missed: TP 0, FN 1)"),
                       (one, empty, "the truth is empty (every prediction a false positive: TP 0, FP 1)")):
        got = call(p, g)
        if not _close(got, 0.0):
            raise AssertionError(f"when {side}, PQ = 0 / (0 + 0.5) = 0; yours is {got!r}")
    got = call(empty, empty)
    if not _close(got, float("nan")):
        raise AssertionError(f"with no object on either side there is nothing to score: return NaN (float('nan')), "
                             f"not {got!r}")
    rng = np.random.default_rng(9)
    for _ in range(15):
        gt = np.zeros((16, 16), int)
        for k in range(1, 5):
            y, x = rng.integers(0, 12, 2)
            gt[y:y + 4, x:x + 4] = k * 7  # ids need not be 1..k
        pred = np.roll(gt, int(rng.integers(-1, 2)), axis=1)
        ids = np.unique(pred[pred > 0])
        relabel = np.zeros(int(pred.max()) + 1, int)
        relabel[ids] = rng.permutation(len(ids)) + 1     # the prediction numbers its cells its own way
        pred = relabel[pred]
        want = instances.panoptic_quality(pred, gt)["pq"]
        got = call(pred, gt)
        if not _close(got, want, 1e-6):
            raise AssertionError(f"on random instance maps expected PQ {want:.4f}, got {got!r}; ids are arbitrary positive "
                                 f"numbers (0 is background), so match by IoU, not by equal ids")
    print("check_panoptic_quality: all cases pass")


@learner_check
def check_split_cells(split_cells: Callable) -> None:
    """Check ``split_cells(mask)`` -> an instance map, scored with pooled PQ on held-back images.

    The images (``SPLIT_HELD_BACK``: larger cells than the lesson's, more overlap) are drawn here and
    never shown; the pipeline passes with a pooled PQ of at least ``SPLIT_PASS_PQ``.

    >>> from segcourse import instances
    >>> check_split_cells(lambda m: instances.separate_touching(m, min_distance=5))
    check_split_cells: pooled PQ on 24 held-back images is at least 0.9
    """
    from .. import data, instances

    held = data.touching_cells(**SPLIT_HELD_BACK)
    preds = []
    for mask in held.labels:
        out = _array(_call(split_cells, mask.copy(), what="split_cells"), "split_cells")
        if out.shape != mask.shape:
            raise AssertionError(f"split_cells must return one id per pixel, shape {mask.shape}; got shape {out.shape}")
        if not np.issubdtype(out.dtype, np.integer) and not np.array_equal(out, np.round(out)):
            raise AssertionError("split_cells must return integer ids (0 background, 1, 2, ... one per cell), "
                                 "not a distance map or probabilities")
        out = np.round(out).astype(np.int64)
        if (out < 0).any():
            raise AssertionError("split_cells returned negative ids; use 0 for background and 1, 2, ... for cells")
        if np.any(out[mask == 0] != 0):
            raise AssertionError("split_cells labels background pixels: flood only inside the mask "
                                 "(watershed(..., mask=mask))")
        if np.any(out[mask == 1] == 0):
            raise AssertionError("split_cells leaves cell pixels unlabelled: every mask pixel belongs to some cell")
        preds.append(out)
    res = instances.dataset_panoptic_quality(preds, held.instances)
    n_pred = sum(len(np.unique(p)) - 1 for p in preds)
    n_true = sum(int(t.max()) for t in held.instances)
    n_comp = sum(instances.label_components(m).max() for m in held.labels)
    if res["pq"] < SPLIT_PASS_PQ:
        pq = round(res["pq"], 3)
        if n_pred <= n_comp:
            raise AssertionError(f"pooled PQ {pq} < {SPLIT_PASS_PQ} on the held-back images: you found {n_pred} objects, "
                                 f"no more than the {n_comp} connected components, for {n_true} cells. Touching cells "
                                 f"stay merged: put one marker on each peak of the distance transform and flood "
                                 f"-distance from the markers")
        if n_pred > n_true:
            raise AssertionError(f"pooled PQ {pq} < {SPLIT_PASS_PQ}: you found {n_pred} objects for {n_true} cells, so "
                                 f"cells are split into pieces: too many markers. Raise min_distance (these cells are "
                                 f"about three times larger than the lesson's, so the lesson's min_distance=2 is too small for them) or "
                                 f"smooth the distance map")
        raise AssertionError(f"pooled PQ {pq} < {SPLIT_PASS_PQ}: you found {n_pred} objects for {n_true} cells, so "
                             f"touching cells are still merged (TP {res['tp']}, FP {res['fp']}, FN {res['fn']}): "
                             f"lower min_distance so that each cell keeps its own peak")
    print(f"check_split_cells: pooled PQ on {len(preds)} held-back images is at least {SPLIT_PASS_PQ}")


def _distance_target_reference(inst: np.ndarray) -> np.ndarray:
    from ..instances import instance_distance_map

    d = instance_distance_map(inst)
    peak = np.zeros(int(inst.max()) + 1)
    np.maximum.at(peak, inst.ravel(), d.ravel())
    return np.divide(d, peak[inst], out=np.zeros_like(d), where=inst > 0)


@learner_check
def check_distance_target(distance_target: Callable) -> None:
    """Check ``distance_target(instances)``: each pixel's distance to the nearest pixel outside its
    own instance, divided by that instance's largest such distance (every cell peaks at 1; 0 on
    background).

    >>> from segcourse.checks.lesson03 import _distance_target_reference
    >>> check_distance_target(_distance_target_reference)
    check_distance_target: all cases pass
    """

    def call(inst):
        out = _array(_call(distance_target, inst.copy(), what="distance_target"), "distance_target")
        if out.shape != inst.shape:
            raise AssertionError(f"distance_target must return one value per pixel, shape {inst.shape}; got {out.shape}")
        return out.astype(np.float64)

    two = np.zeros((7, 13), int)
    two[1:6, 1:6] = 1
    two[1:6, 6:11] = 2          # two 5×5 cells that touch along a column
    got = call(two)
    if np.isnan(got).any():
        raise AssertionError("distance_target returned NaN: divide only inside cells (background stays 0, no 0 / 0)")
    if np.any(got[two == 0] != 0):
        raise AssertionError("background pixels must be 0 in the target")
    peak = got[two == 1].max()
    if peak > 0 and got[3, 5] > 0.5 * peak and got[3, 6] > 0.5 * peak:
        raise AssertionError("where two cells touch the target must dip to a valley (here 1/3 of the peak), but yours "
                             "stays high: you measured the distance to the background of the merged mask. Measure, for "
                             "each cell, the distance to the nearest pixel that is NOT in the same cell")
    if got.max() > 1 + 1e-6:
        raise AssertionError(f"the largest value is {round(float(got.max()), 3)}: divide each cell's distances by that "
                             f"cell's own maximum, so every cell peaks at 1")
    small = np.zeros((9, 14), int)
    small[1:4, 1:4] = 3          # a 3×3 cell
    small[1:8, 5:12] = 9         # a 7×7 cell, ids need not be 1..k
    got = call(small)
    if _close(round(float(got[small == 3].max()), 6), round(2 / 4, 6), 1e-6):
        raise AssertionError("the small cell peaks at 0.5: you divided by the largest distance of the whole image; "
                             "divide each cell by its own maximum so that every cell peaks at 1")
    want = _distance_target_reference(small)
    if not np.allclose(got, want, atol=1e-6):
        raise AssertionError(f"for cells with ids 3 and 9 each cell must peak at 1; yours peak at "
                             f"{round(float(got[small == 3].max()), 3)} and {round(float(got[small == 9].max()), 3)}; "
                             f"ids are arbitrary positive numbers (0 is background)")
    edge = np.zeros((6, 8), int)
    edge[0:4, 0:4] = 5           # a 4×4 cell in the image corner: the image edge is outside the cell
    got = call(edge)
    want = _distance_target_reference(edge)
    if not np.allclose(got, want, atol=1e-6):
        if got[0, 0] > want[0, 0] + 1e-6:   # the corner is far from the background inside the image
            raise AssertionError(f"a cell touching the image edge: its edge pixels must be at distance 1 (the image "
                                 f"edge counts as outside the cell), so the corner pixel is "
                                 f"{round(float(want[0, 0]), 3)}, yours is {round(float(got[0, 0]), 3)}. "
                                 f"distance_transform_edt does not see beyond the image: np.pad the cell with one "
                                 f"pixel of background first")
        raise AssertionError(f"for a 4×4 cell in the image corner the target is {np.round(want[:4, :4], 3).tolist()}; "
                             f"yours is {np.round(got[:4, :4], 3).tolist()}")
    if np.any(call(np.zeros((4, 4), int)) != 0):
        raise AssertionError("an image without cells has a target of all zeros")
    from .. import data

    for inst in data.touching_cells(6, seed=31, overlap=0.2).instances:
        want = _distance_target_reference(inst)
        got = call(inst)
        if not np.allclose(got, want, atol=1e-6):
            bad = np.argwhere(~np.isclose(got, want, atol=1e-6))[0]
            raise AssertionError(f"on touching cells the target at pixel {tuple(int(v) for v in bad)} should be "
                                 f"{round(float(want[tuple(bad)]), 3)}, yours is {round(float(got[tuple(bad)]), 3)}: use the "
                                 f"Euclidean distance (ndimage.distance_transform_edt) to the nearest pixel outside the cell")
    print("check_distance_target: all cases pass")
