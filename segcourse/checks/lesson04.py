"""Learner checks of lesson 04, real images.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._core import _array, _call, _close, _number, learner_check

__all__ = ["check_percentile_normalize", "check_matching_f1"]


@learner_check
def check_percentile_normalize(normalize: Callable) -> None:
    """Check ``normalize(image, low, high)``: percentile ``low`` -> 0, ``high`` -> 1, clipped, float.

    >>> from segcourse import data
    >>> check_percentile_normalize(data.normalize_percentile)
    check_percentile_normalize: all cases pass
    """
    from .. import data

    ramp = np.arange(101, dtype=np.uint16).reshape(1, 101)
    got = _array(_call(normalize, ramp, 10, 90, what="normalize"), "normalize")
    if got.shape != ramp.shape:
        raise AssertionError(f"the output must keep the image's shape {ramp.shape}; yours has shape {got.shape}")
    if not np.issubdtype(got.dtype, np.floating):
        raise AssertionError(f"return floats (e.g. float32): yours has dtype {got.dtype}, so values between 0 and 1 were lost")
    if np.allclose(got, ramp / 100.0, atol=1e-3):
        raise AssertionError("you divided by the maximum (min-max scaling): use np.percentile(image, [low, high]) so a few "
                             "saturated pixels cannot squash the range of everything else")
    if got.min() < -1e-6 or got.max() > 1 + 1e-6:
        raise AssertionError(f"values run from {got.min():.3f} to {got.max():.3f}: clip to [0, 1] (np.clip) — pixels above the "
                             f"high percentile are saturated, not 'more than 1'")
    want = data.normalize_percentile(ramp, 10, 90)
    if not np.allclose(got, want, atol=1e-4):
        i = int(np.argmax(np.abs(got - want)))
        raise AssertionError(f"on a ramp 0..100 with low=10, high=90 value {i} should map to {want.ravel()[i]:.3f}, yours gives "
                             f"{got.ravel()[i]:.3f}: (x - p_low) / (p_high - p_low), with the percentiles of this image")
    img = np.random.default_rng(0).gamma(2.0, 20.0, (32, 32)).astype(np.uint16)
    img[0, :3] = 60000  # three hot pixels
    got = _array(_call(normalize, img, 1, 99.8, what="normalize"), "normalize").astype(float)
    if not np.allclose(got, data.normalize_percentile(img, 1, 99.8), atol=1e-4):
        raise AssertionError("on a 16-bit image with three saturated pixels your result differs from the percentile mapping: "
                             "compute the percentiles on float values of *this* image, not fixed numbers like 255 or 65535")
    print("check_percentile_normalize: all cases pass")


@learner_check
def check_matching_f1(f1_at_50: Callable) -> None:
    """Check ``f1_at_50(pred, gt)``: instance F1 after one-to-one matching at IoU > 0.5.

    >>> from segcourse import instances
    >>> def f1(p, g):
    ...     m = instances.match_instances(p, g, 0.5)
    ...     return 2 * m.tp / (2 * m.tp + m.fp + m.fn) if m.tp + m.fp + m.fn else float("nan")
    >>> check_matching_f1(f1)
    check_matching_f1: all cases pass
    """
    from .. import instances

    def ref(p, g):
        m = instances.match_instances(p, g, 0.5)
        total = 2 * m.tp + m.fp + m.fn
        return 2 * m.tp / total if total else float("nan")

    gt = np.array([[1, 1, 0, 2, 2, 0, 3, 3]])
    pred = np.array([[5, 5, 0, 6, 0, 0, 0, 0]])  # one match, one half-overlap (IoU 0.5: no match), one miss
    same_ids = np.array([[3, 3, 0, 1, 1, 0, 2, 2]])  # perfect masks, ids permuted
    if not _close(_number(_call(f1_at_50, same_ids, gt, what="f1_at_50"), "f1_at_50"), 1.0, 1e-9):
        raise AssertionError("ids are arbitrary labels: match instances by IoU, not by equal ids (a permutation of ids is still F1 = 1)")
    got = _number(_call(f1_at_50, pred, gt, what="f1_at_50"), "f1_at_50")
    if _close(got, 2 * 2 / (2 * 2 + 0 + 1), 1e-6):
        raise AssertionError("IoU exactly 0.5 is not a match: a match needs IoU > 0.5 (strictly)")
    if _close(got, 1 / 3, 1e-6) or _close(got, 0.5, 1e-6):
        raise AssertionError(f"got {got!r}: that is precision or recall alone, or counts ids rather than matches; "
                             f"F1 = 2·TP / (2·TP + FP + FN)")
    if not _close(got, ref(pred, gt), 1e-6):
        raise AssertionError(f"pred {pred.tolist()} vs truth {gt.tolist()}: TP 1, FP 1, FN 2, so F1 = 2/5 = 0.4; yours is {got!r}")
    empty = np.zeros((4, 4), int)
    if not _close(_number(_call(f1_at_50, empty, empty, what="f1_at_50"), "f1_at_50"), float("nan")):
        raise AssertionError("with no instances in either map F1 is 0/0: return NaN (float('nan'))")
    rng = np.random.default_rng(21)
    for _ in range(15):
        g = np.zeros((20, 20), int)
        for k in range(1, 6):
            y, x = rng.integers(0, 16, 2)
            g[y:y + 4, x:x + 4] = 10 * k
        p = np.roll(g, int(rng.integers(-2, 3)), axis=int(rng.integers(0, 2)))
        p[rng.random(p.shape) < 0.05] = 0
        got = _number(_call(f1_at_50, p, g, what="f1_at_50"), "f1_at_50")
        if not _close(got, ref(p, g), 1e-6):
            raise AssertionError(f"on random instance maps expected F1 {ref(p, g):.4f}, got {got!r}: each predicted and each true "
                                 f"instance can be used in at most one match")
    print("check_matching_f1: all cases pass")
