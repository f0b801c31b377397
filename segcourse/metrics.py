"""Overlap metrics for segmentation masks: IoU, Dice, per-class scores, boundary IoU.

Every function takes numpy arrays, torch tensors or nested lists of matching shape, either one
mask ``(H, W)`` or a batch ``(N, H, W)`` (a batch is scored as one big image: pixels are pooled).
The confusion matrix is the one shared primitive: per-class IoU, Dice and pixel accuracy are all
read from it.

Conventions
-----------
* ``pred`` comes first, ``target`` (the ground truth) second: ``f(pred, target)`` everywhere
  (note that scikit-learn's order is the opposite, ``(y_true, y_pred)``).
* Confusion matrix rows are ground truth, columns are prediction.
* A class that appears in neither ``pred`` nor ``target`` has no IoU: it is NaN and is left out
  of means (it does not count as 0, and it does not count as 1).
* Two empty binary masks agree perfectly, but IoU = 0/0 is undefined; ``zero_division`` decides
  what is returned (NaN by default, so that an average over samples can skip it).

Validation happens once, in the public functions. The private helpers (``_confusion_matrix``,
``_per_class_iou``, ``_iou_from_cm``, ``_boundary_band``, ...) take arrays a public function (or
:func:`_labels_pair`) has already checked, so a caller that scores many slices of one checked
batch (``failures.bucket_failures``) does not convert and re-check them at every step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from ._validate import (
    to_numpy,
    as_binary,
    as_label_array,
    check_label_range,
    check_num_classes,
    check_same_shape,
)

__all__ = [
    "confusion_matrix",
    "iou",
    "dice",
    "per_class_iou",
    "per_class_dice",
    "mean_iou",
    "mean_dice",
    "pixel_accuracy",
    "iou_from_confusion",
    "dice_from_confusion",
    "boundary_band",
    "boundary_iou",
    "MAX_CM_CLASSES",
    "MAX_CLASSES",
]

_CHUNK = 1 << 18  # pixels per bincount call: keeps the index array in cache
_TORCH_FROM = 1 << 16  # above this many pixels, count with torch (no int64 copy of the index)


def _pair_counts(target: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Count (target, pred) pairs with one bincount per chunk over the index ``K*t + p``.

    The index is built in the narrowest dtype that can hold ``K*K - 1``, so uint8 inputs never
    overflow and the arithmetic touches as few bytes as possible. ``np.bincount`` copies its
    input to int64 first; ``torch.bincount`` counts a uint8/int16 index as it is, which is why
    large inputs go through torch (same counts, about 1.5x faster).
    """
    k2 = num_classes * num_classes
    t = np.ascontiguousarray(target).reshape(-1)
    p = np.ascontiguousarray(pred).reshape(-1)
    counts = np.zeros(k2, dtype=np.int64)
    if t.size >= _TORCH_FROM and k2 <= 1 << 15:
        import torch

        dtype = torch.uint8 if k2 <= 1 << 8 else torch.int16
        tt = torch.from_numpy(t.astype(np.int64, copy=False) if t.dtype.kind == "u" and t.itemsize > 1 else t)
        tp = torch.from_numpy(p.astype(np.int64, copy=False) if p.dtype.kind == "u" and p.itemsize > 1 else p)
        total = torch.zeros(k2, dtype=torch.int64)
        for start in range(0, t.size, _CHUNK):
            idx = tt[start : start + _CHUNK].to(dtype) * num_classes
            idx += tp[start : start + _CHUNK].to(dtype)
            total += torch.bincount(idx, minlength=k2)
        counts += total.numpy()
    else:
        dtype = np.uint8 if k2 <= 1 << 8 else np.uint16 if k2 <= 1 << 16 else np.int64
        for start in range(0, t.size, _CHUNK):
            idx = t[start : start + _CHUNK].astype(dtype, copy=False) * dtype(num_classes)
            idx += p[start : start + _CHUNK].astype(dtype, copy=False)
            counts += np.bincount(idx, minlength=k2)
    return counts.reshape(num_classes, num_classes)


#: Largest K for which :func:`confusion_matrix` builds its dense (K, K) matrix (128 MiB of int64).
MAX_CM_CLASSES = 4096
#: Largest K for the per-class scores (a (K,) vector; only the classes that occur are counted).
MAX_CLASSES = 1 << 20


def _check_ignore(ignore_index: Any) -> int | None:
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))):
        raise TypeError(f"ignore_index must be an integer or None, got {ignore_index!r}")
    return None if ignore_index is None else int(ignore_index)


def _labels_pair(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None, max_classes: int = MAX_CLASSES
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate a (pred, target) pair of label maps; drop pixels whose target is ignored.

    As in torchmetrics, a pixel whose *target* equals ``ignore_index`` is dropped whatever the
    value (inside ``0..K-1`` too, e.g. ``ignore_index=0`` for "ignore background"); predictions
    equal to ``ignore_index`` at other pixels still count as that class.
    """
    k = _check_max_classes(check_num_classes(num_classes), max_classes)
    ignore_index = _check_ignore(ignore_index)
    p = as_label_array(pred, "pred")
    t = as_label_array(target, "target")
    check_same_shape(p, t)
    check_label_range(t, "target", k, ignore_index)
    if ignore_index is not None:
        keep = t != ignore_index
        if not keep.all():
            p, t = p[keep], t[keep]
    check_label_range(p, "pred", k)
    return p, t, k


def _check_max_classes(k: int, max_classes: int = MAX_CLASSES) -> int:
    """``k`` if a function capped at ``max_classes`` can take it; else a ValueError that says what to use."""
    if k > max_classes:
        raise ValueError(
            f"num_classes={k} is more than this function handles ({max_classes}); "
            + (f"a dense {k}x{k} confusion matrix would need {k * k * 8 / 2**30:.1f} GiB. Use per_class_iou / "
               f"mean_iou / pixel_accuracy, which count only the classes that occur"
               if max_classes == MAX_CM_CLASSES else "relabel the ids that occur to 0..K-1 first (np.unique(..., return_inverse=True))"))
    return k


def _confusion_matrix(p: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    """:func:`confusion_matrix` of already-checked label arrays (same shape, ids in ``0..k-1``)."""
    return _pair_counts(t, p, k)


def _class_counts(p: np.ndarray, t: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class true positives, predicted and target pixel counts, each shape (K,).

    Small K reads them off the confusion matrix (the fast counting path); large K uses three
    bincounts, O(K + pixels) memory instead of O(K²).
    """
    if k <= 64:
        cm = _pair_counts(t, p, k)
        return np.diag(cm).copy(), cm.sum(0), cm.sum(1)
    p, t = p.reshape(-1), t.reshape(-1)
    tp = np.bincount(t[p == t], minlength=k)
    return tp, np.bincount(p, minlength=k), np.bincount(t, minlength=k)


def confusion_matrix(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """Count how often each ground-truth class was predicted as each class.

    Parameters
    ----------
    pred, target : array-like of int, shape (H, W) or (N, H, W)
        Predicted and ground-truth label maps (class ids ``0 .. num_classes-1``).
    num_classes : int
        Number of classes K.
    ignore_index : int, optional
        Pixels whose *target* equals this id are not counted, whatever its value (255 for
        "unlabelled", or 0 to ignore background), as in torchmetrics. A *prediction* equal to
        it at another pixel still counts as that class (an error if it is outside 0..K-1).

    ``num_classes`` is capped at :data:`MAX_CM_CLASSES` (4096): the (K, K) matrix is dense.

    Returns
    -------
    np.ndarray of int64, shape (K, K)
        ``cm[i, j]`` = number of pixels of true class ``i`` predicted as class ``j``
        (rows = ground truth, columns = prediction).

    Examples
    --------
    >>> target = [[0, 0, 1], [1, 1, 2]]
    >>> pred   = [[0, 1, 1], [1, 2, 2]]
    >>> confusion_matrix(pred, target, num_classes=3)
    array([[1, 1, 0],
           [0, 2, 1],
           [0, 0, 1]])
    """
    p, t, k = _labels_pair(pred, target, num_classes, ignore_index, MAX_CM_CLASSES)
    return _confusion_matrix(p, t, k)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _check_cm(cm: Any) -> np.ndarray:
    cm = to_numpy(cm, "cm")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square (K, K), got shape {cm.shape}")
    if cm.dtype == bool or not np.issubdtype(cm.dtype, np.number) or np.issubdtype(cm.dtype, np.complexfloating):
        raise TypeError(f"cm has dtype {cm.dtype}; expected non-negative pixel counts")
    if cm.size and not np.isfinite(cm).all():
        raise ValueError("cm contains NaN or infinity; a confusion matrix holds pixel counts")
    if cm.size and cm.min() < 0:
        raise ValueError(f"cm contains negative counts (smallest {cm.min()!r}); a confusion matrix counts pixels")
    return cm


def _iou_from_cm(cm: np.ndarray) -> np.ndarray:
    """:func:`iou_from_confusion` of a checked count matrix (one this module computed)."""
    tp = np.diag(cm).astype(np.float64)
    return _safe_ratio(tp, cm.sum(0) + cm.sum(1) - tp)


def _dice_from_cm(cm: np.ndarray) -> np.ndarray:
    """:func:`dice_from_confusion` of a checked count matrix (one this module computed)."""
    tp = np.diag(cm).astype(np.float64)
    return _safe_ratio(2 * tp, cm.sum(0) + cm.sum(1))


def iou_from_confusion(cm: Any) -> np.ndarray:
    """Per-class IoU ``TP / (TP + FP + FN)`` read off a confusion matrix (NaN where 0/0).

    ``cm`` holds non-negative counts (rows = truth); negative or NaN entries raise.

    >>> iou_from_confusion(np.array([[3, 1], [0, 4]]))
    array([0.75, 0.8 ])
    """
    return _iou_from_cm(_check_cm(cm))


def dice_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class Dice ``2 TP / (2 TP + FP + FN)`` read off a confusion matrix (NaN where 0/0).

    >>> dice_from_confusion(np.array([[3, 1], [0, 4]]))
    array([0.85714286, 0.88888889])
    """
    return _dice_from_cm(_check_cm(cm))


def _per_class_iou(p: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    """:func:`per_class_iou` of already-checked label arrays (same shape, ids in ``0..k-1``)."""
    tp, pc, tc = _class_counts(p, t, k)
    return _safe_ratio(tp.astype(np.float64), pc + tc - tp)


def _per_class_dice(p: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    """:func:`per_class_dice` of already-checked label arrays."""
    tp, pc, tc = _class_counts(p, t, k)
    return _safe_ratio(2 * tp.astype(np.float64), pc + tc)


def per_class_iou(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """IoU of every class, shape (K,); NaN for a class absent from both pred and target.

    Examples
    --------
    >>> target = [[0, 0, 1], [1, 1, 2]]
    >>> pred   = [[0, 1, 1], [1, 2, 2]]
    >>> per_class_iou(pred, target, num_classes=4).round(3)
    array([0.5, 0.5, 0.5, nan])
    """
    return _per_class_iou(*_labels_pair(pred, target, num_classes, ignore_index))


def per_class_dice(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """Dice (F1) of every class, shape (K,); NaN for a class absent from both pred and target.

    >>> per_class_dice([[0, 1], [1, 1]], [[0, 0], [1, 1]], num_classes=2).round(3)
    array([0.667, 0.8  ])
    """
    return _per_class_dice(*_labels_pair(pred, target, num_classes, ignore_index))


def _nanmean(values: np.ndarray) -> float:
    present = values[~np.isnan(values)]
    return float(present.mean()) if present.size else float("nan")


def mean_iou(pred: Any, target: Any, num_classes: int, ignore_index: int | None = None) -> float:
    """Mean of :func:`per_class_iou` over the classes that occur (NaN classes are skipped).

    >>> mean_iou([[0, 1], [1, 1]], [[0, 0], [1, 1]], num_classes=3)  # class 2 absent: skipped
    0.58333...
    """
    return _nanmean(per_class_iou(pred, target, num_classes, ignore_index))


def mean_dice(pred: Any, target: Any, num_classes: int, ignore_index: int | None = None) -> float:
    """Mean of :func:`per_class_dice` over the classes that occur.

    >>> round(mean_dice([[0, 1], [1, 1]], [[0, 0], [1, 1]], num_classes=2), 4)
    0.7333
    """
    return _nanmean(per_class_dice(pred, target, num_classes, ignore_index))


def pixel_accuracy(
    pred: Any, target: Any, num_classes: int | None = None, ignore_index: int | None = None
) -> float:
    """Fraction of (non-ignored) pixels whose predicted class is right.

    With ``num_classes`` the ids are checked against ``0..K-1``; without it any non-negative ids
    are accepted. Pixels whose target equals ``ignore_index`` are not counted. NaN when no pixel
    is left.

    >>> pixel_accuracy([[0, 1], [1, 1]], [[0, 0], [1, 1]])
    0.75
    """
    if num_classes is None:
        ignore_index = _check_ignore(ignore_index)
        p = as_label_array(pred, "pred")
        t = as_label_array(target, "target")
        check_same_shape(p, t)
        for arr, name in ((p, "pred"), (t, "target")):
            neg = arr[arr < 0] if arr.size and arr.min() < 0 else arr[:0]
            if name == "target" and ignore_index is not None:
                neg = neg[neg != ignore_index]
            if neg.size:
                raise ValueError(f"{name} contains negative class id(s) {np.unique(neg)[:5].tolist()}; class ids start at 0")
        if ignore_index is not None:
            keep = t != ignore_index
            p, t = p[keep], t[keep]
    else:
        p, t, _ = _labels_pair(pred, target, num_classes, ignore_index)
    total = p.size
    return float(np.count_nonzero(p == t) / total) if total else float("nan")


def iou(pred: Any, target: Any, zero_division: float = np.nan) -> float:
    """Intersection over union of two binary masks: ``|P & T| / |P | T|``.

    Parameters
    ----------
    pred, target : array-like of bool or 0/1, shape (H, W) or (N, H, W)
    zero_division : float
        Returned when both masks are empty (0/0). Default NaN: "no object, nothing to score".

    Examples
    --------
    Lesson 00's 3x3 check:

    >>> truth = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]
    >>> pred  = [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    >>> iou(pred, truth)
    0.5
    >>> iou([[0, 0]], [[0, 0]]), iou([[0, 0]], [[0, 0]], zero_division=1.0)
    (nan, 1.0)
    """
    p = as_binary(pred, "pred")
    t = as_binary(target, "target")
    check_same_shape(p, t)
    union = np.count_nonzero(p | t)
    if union == 0:
        return float(zero_division)
    return float(np.count_nonzero(p & t) / union)


def dice(pred: Any, target: Any, zero_division: float = np.nan) -> float:
    """Dice coefficient (F1) of two binary masks: ``2 |P & T| / (|P| + |T|)``.

    Dice and IoU rank masks the same way: ``dice = 2 iou / (1 + iou)``.

    >>> truth = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]
    >>> pred  = [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    >>> round(dice(pred, truth), 4)
    0.6667
    """
    p = as_binary(pred, "pred")
    t = as_binary(target, "target")
    check_same_shape(p, t)
    total = np.count_nonzero(p) + np.count_nonzero(t)
    if total == 0:
        return float(zero_division)
    return float(2 * np.count_nonzero(p & t) / total)


def _dilation_pixels(shape: tuple[int, ...], dilation_ratio: float) -> int:
    if not np.isfinite(dilation_ratio) or dilation_ratio < 0:
        raise ValueError(f"dilation_ratio must be a non-negative number, got {dilation_ratio!r}")
    h, w = shape[-2:]
    return max(1, int(round(dilation_ratio * np.hypot(h, w))))


def boundary_band(mask: Any, dilation_ratio: float = 0.02, image_border: bool = True) -> np.ndarray:
    """The inner boundary band of a binary mask: the mask minus its erosion.

    The erosion is by a 3x3 square applied ``d = max(1, round(dilation_ratio * diagonal))``
    times, with pixels outside the image counted as background (Cheng et al., 2021), so a mask
    touching the image edge has a band along it. ``image_border=False`` treats the image edge as
    no boundary (pixels outside repeat the edge): the band then marks only changes of class.
    For a batch ``(N, H, W)`` each image is eroded on its own.

    >>> m = np.zeros((5, 5), bool); m[1:4, 1:4] = True
    >>> boundary_band(m).astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 1, 0, 1, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 0, 0, 0]])
    """
    return _boundary_band(as_binary(mask, "mask"), dilation_ratio, image_border)


def _boundary_band(m: np.ndarray, dilation_ratio: float = 0.02, image_border: bool = True) -> np.ndarray:
    """:func:`boundary_band` of a checked bool mask, (H, W) or (N, H, W)."""
    d = _dilation_pixels(m.shape, dilation_ratio)
    size = (1,) * (m.ndim - 2) + (2 * d + 1, 2 * d + 1)
    if image_border:
        eroded = ndimage.minimum_filter(m, size=size, mode="constant", cval=0)
    else:
        eroded = ndimage.minimum_filter(m, size=size, mode="nearest")
    return m & ~eroded


def boundary_iou(
    pred: Any, target: Any, dilation_ratio: float = 0.02, zero_division: float = np.nan
) -> float:
    """Boundary IoU (Cheng et al., 2021): the IoU of the two masks' boundary bands.

    Unlike mask IoU, it does not let a large interior hide a ragged outline: every pixel of the
    band counts, however big the object.

    Notes
    -----
    B. Cheng, R. Girshick, P. Dollar, A. C. Berg, A. Kirillov. "Boundary IoU: Improving
    Object-Centric Image Segmentation Evaluation", CVPR 2021.

    >>> t = np.zeros((20, 20), bool); t[5:15, 5:15] = True
    >>> p = np.roll(t, 1, axis=1)                 # the same square, one pixel to the right
    >>> round(iou(p, t), 3), round(boundary_iou(p, t), 3)
    (0.818, 0.333)
    """
    p = as_binary(pred, "pred")
    t = as_binary(target, "target")
    check_same_shape(p, t)
    return _boundary_iou(p, t, dilation_ratio, zero_division)


def _boundary_iou(p: np.ndarray, t: np.ndarray, dilation_ratio: float = 0.02, zero_division: float = np.nan) -> float:
    """:func:`boundary_iou` of two checked bool masks of the same shape."""
    bp = _boundary_band(p, dilation_ratio)
    bt = _boundary_band(t, dilation_ratio)
    union = np.count_nonzero(bp | bt)
    if union == 0:
        return float(zero_division)
    return float(np.count_nonzero(bp & bt) / union)


def phantom_blobs(pred: Any, target: Any, cls: int) -> tuple[int, np.ndarray]:
    """Predicted blobs of class ``cls`` that touch no true pixel of it (a blob: 4-connected pixels).

    Returns the number of predicted blobs and the sizes, in pixels, of the phantoms among them.

    >>> t = np.zeros((4, 6), int); t[1:3, 1:3] = 4                # one true car
    >>> p = t.copy(); p[0, 5] = 4; p[3, 4:6] = 4                  # the car, and two stray blobs
    >>> n, sizes = phantom_blobs(p, t, 4)
    >>> n, sizes.tolist()
    (3, [1, 2])
    """
    pred, target = np.asarray(pred), np.asarray(target)
    check_same_shape(pred, target)
    blobs, n = ndimage.label(pred == cls)
    hit = np.unique(blobs[(target == cls) & (blobs > 0)])
    return n, np.bincount(blobs.ravel(), minlength=n + 1)[1:][~np.isin(np.arange(1, n + 1), hit)]


def drop_small_blobs(pred: Any, cls: int, min_size: int) -> np.ndarray:
    """A minimum-area filter: blobs of class ``cls`` smaller than ``min_size`` pixels take the class
    of the nearest pixel outside them (Euclidean distance).

    >>> p = np.ones((3, 5), int); p[1, 1] = 4; p[0:2, 3:5] = 4   # a 1-pixel blob and a 4-pixel one
    >>> drop_small_blobs(p, 4, 2).tolist()
    [[1, 1, 1, 4, 4], [1, 1, 1, 4, 4], [1, 1, 1, 1, 1]]
    """
    pred = np.asarray(pred)
    blobs, n = ndimage.label(pred == cls)
    small = np.isin(blobs, 1 + np.flatnonzero(np.bincount(blobs.ravel(), minlength=n + 1)[1:] < min_size))
    rows, cols = ndimage.distance_transform_edt(small, return_indices=True)[1]
    return pred[rows, cols]


__all__ += ["phantom_blobs", "drop_small_blobs"]
