"""Learner checks of lesson 01, semantic segmentation.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import metrics
from ._core import _array, _call, learner_check

__all__ = ["check_pixel_shares", "check_iou_from_confusion", "check_aligned_flip"]


@learner_check
def check_pixel_shares(pixel_shares: Callable) -> None:
    """Check ``pixel_shares(label_maps, num_classes)``: the fraction of pixels of each class.

    >>> check_pixel_shares(lambda lm, k: np.bincount(np.ravel(lm), minlength=k) / np.size(lm))
    check_pixel_shares: all cases pass
    """
    lm = np.array([[[0, 0], [1, 3]], [[0, 0], [0, 1]]])
    want = np.array([5, 2, 0, 1, 0]) / 8
    got = _array(_call(pixel_shares, lm, 5, what="pixel_shares"), "pixel_shares").astype(float)
    if got.shape != (5,):
        raise AssertionError(f"return one share per class (num_classes=5 -> shape (5,)); yours has shape {got.shape}. "
                             f"A class with no pixels still gets a share of 0: np.bincount(..., minlength=num_classes)")
    if np.allclose(got, [5, 2, 0, 1, 0]):
        raise AssertionError("these are pixel counts: divide by the total number of pixels to get shares that sum to 1")
    if not np.allclose(got, want):
        raise AssertionError(f"for a batch of two 2×2 maps expected {want.tolist()}, got {got.tolist()}: count over all images together")
    print("check_pixel_shares: all cases pass")


@learner_check
def check_iou_from_confusion(iou_from_confusion: Callable) -> None:
    """Check ``iou_from_confusion(cm)``: per-class IoU read off a confusion matrix.

    >>> check_iou_from_confusion(metrics.iou_from_confusion)
    check_iou_from_confusion: all cases pass
    """
    cm = np.array([[3, 1, 0], [2, 4, 0], [0, 0, 0]])
    want = metrics.iou_from_confusion(cm)
    got = _array(_call(iou_from_confusion, cm, what="iou_from_confusion"), "iou_from_confusion").astype(float)
    tp = np.diag(cm)
    if got.shape == want.shape and np.allclose(np.nan_to_num(got), tp / np.maximum(cm.sum(1), 1)):
        raise AssertionError("that is recall (TP / row sum): IoU also counts the false positives, TP / (row sum + column sum - TP)")
    if got.shape != want.shape or not np.allclose(got[:2], want[:2]):
        raise AssertionError(f"for cm={cm.tolist()} expected {np.round(want, 4).tolist()}, got {np.round(got, 4).tolist()}")
    if not np.isnan(got[2]):
        raise AssertionError(f"class 2 has no pixels in truth or prediction: its IoU is 0/0, so NaN — yours is {got[2]!r}")
    print("check_iou_from_confusion: all cases pass")


@learner_check
def check_aligned_flip(flip_pair: Callable) -> None:
    """Check ``flip_pair(image, label_map)``: a horizontal flip of both, still aligned.

    The answer may be numpy arrays or torch tensors (float32 is fine: images are compared to
    1e-6).

    >>> check_aligned_flip(lambda img, lm: (img[:, ::-1], lm[:, ::-1]))
    check_aligned_flip: all cases pass
    >>> import torch
    >>> check_aligned_flip(lambda img, lm: (torch.as_tensor(img).flip(1), torch.as_tensor(lm).flip(1)))
    check_aligned_flip: all cases pass
    """
    rng = np.random.default_rng(0)
    lm = rng.integers(0, 4, (6, 8))
    img = np.stack([lm / 4.0, rng.random((6, 8)), rng.random((6, 8))], -1)  # channel 0 encodes the class
    out = _call(flip_pair, img.copy(), lm.copy(), what="flip_pair")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise AssertionError("return a pair: (flipped image, flipped label map)")
    fi, fl = _array(out[0], "flip_pair's image"), _array(out[1], "flip_pair's mask")
    if fi.shape != img.shape or fl.shape != lm.shape:
        raise AssertionError(f"shapes changed: image {img.shape} -> {fi.shape}, mask {lm.shape} -> {fl.shape}")

    def same(a: np.ndarray, b: np.ndarray) -> bool:  # float32 answers (torch's default) are exact to 1e-7 here
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=1e-6))

    if same(fi, img[:, ::-1]) and same(fl, lm):
        raise AssertionError("the image was flipped but the mask was not: every flip must move both together")
    if same(fl, lm[:, ::-1]) and same(fi, img):
        raise AssertionError("the mask was flipped but the image was not")
    if same(fi, img[::-1]) or same(fl, lm[::-1]):
        raise AssertionError("that is a vertical flip (rows reversed); a horizontal flip reverses the columns, axis 1")
    if same(fi, img[:, :, ::-1]):
        raise AssertionError("you reversed the colour channels (the last axis); flip the width axis, axis 1")
    if not (same(fi, img[:, ::-1]) and same(fl, lm[:, ::-1])):
        raise AssertionError("the result is not a horizontal flip of both image and mask")
    print("check_aligned_flip: all cases pass")
