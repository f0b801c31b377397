"""Instance segmentation: from one merged blob per class to separate, counted objects.

A semantic mask says *which pixels are cell*; it cannot say *how many cells* when they touch.
This module turns masks into instance label maps (0 = background, any positive id = one object),
matches predicted instances to ground-truth ones, and scores them the way the field does:
panoptic quality (Kirillov et al., 2019) and COCO-style average precision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

from ._validate import (as_binary, as_label_array, check_float, check_int, check_nonnegative, check_same_shape,
                        to_numpy)

__all__ = [
    "label_components",
    "separate_touching",
    "instance_distance_map",
    "watershed_from_distance",
    "iou_matrix",
    "MatchResult",
    "match_instances",
    "panoptic_quality",
    "dataset_panoptic_quality",
    "average_precision",
    "dataset_average_precision",
    "count_error",
    "instances_from_boundary_classes",
    "boundary_class_map",
]


def _instance_map(x: Any, name: str) -> np.ndarray:
    arr = as_label_array(x, name, ndims=(2,))
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} contains negative ids; instance ids are 0 (background) or positive")
    return arr


def label_components(mask: Any, connectivity: int = 1) -> np.ndarray:
    """Connected components of a binary mask: the naive "instances from a semantic mask".

    ``connectivity=1`` joins pixels that share an edge (4-neighbours), ``2`` also corners
    (8-neighbours). Objects that touch end up as one component: that is the lesson.

    >>> m = [[1, 1, 0, 1],
    ...      [1, 1, 0, 1],
    ...      [0, 0, 1, 0]]
    >>> label_components(m, connectivity=1)
    array([[1, 1, 0, 2],
           [1, 1, 0, 2],
           [0, 0, 3, 0]], dtype=int32)
    >>> int(label_components(m, connectivity=2).max())   # the corner joins all three
    1
    """
    if connectivity not in (1, 2):
        raise ValueError(f"connectivity must be 1 (edges) or 2 (edges and corners), got {connectivity!r}")
    m = as_binary(mask, "mask", ndims=(2,))
    labels, _ = ndimage.label(m, structure=ndimage.generate_binary_structure(2, connectivity))
    return labels.astype(np.int32)


def separate_touching(mask: Any, min_distance: int = 3, smooth: float = 0.0, connectivity: int = 1) -> np.ndarray:
    """Split touching objects: distance transform, one marker per peak, marker-based watershed.

    The distance to the background peaks near each object's centre and dips at the "neck"
    where two objects touch; flooding from the peaks (scikit-image's watershed) puts the border
    along the neck. ``min_distance`` is the smallest allowed distance between two centres (in
    pixels): larger values merge more, smaller values split more. ``smooth`` (a Gaussian sigma in
    pixels, 0 = off) blurs the distance map first, which removes spurious peaks on ragged outlines
    such as hand-drawn or predicted masks.

    >>> m = np.zeros((12, 20), bool)
    >>> yy, xx = np.mgrid[:12, :20]
    >>> m |= (yy - 6) ** 2 + (xx - 6) ** 2 < 25; m |= (yy - 6) ** 2 + (xx - 13) ** 2 < 25
    >>> int(label_components(m).max()), int(separate_touching(m, min_distance=3).max())
    (1, 2)
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    m = as_binary(mask, "mask", ndims=(2,))
    check_int(min_distance, "min_distance", minimum=1)
    check_float(smooth, "smooth", lo=0)
    components = label_components(m, connectivity)
    dist = ndimage.distance_transform_edt(m)
    if smooth:
        dist = ndimage.gaussian_filter(dist, smooth) * m
    peaks = peak_local_max(dist, min_distance=min_distance, labels=components, exclude_border=False)
    markers = np.zeros(m.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # a component without a peak (tiny or flat) still gets one marker
    missing = np.setdiff1d(np.unique(components[m]), np.unique(components[markers > 0]))
    for cid in missing:
        y, x = np.argwhere(components == cid)[0]
        markers[y, x] = markers.max() + 1
    labels = watershed(-dist, markers, mask=m, connectivity=connectivity)
    return labels.astype(np.int32)


def instance_distance_map(instance_labels: Any) -> np.ndarray:
    """Each pixel's Euclidean distance to the nearest pixel outside its own instance (0 on background).

    Unlike the distance transform of the merged mask, this map drops to 1 where two instances
    touch, so it has one hill per instance even when their union has a single peak: a training
    target from which a model can learn where one object ends (StarDist and Cellpose learn close
    relatives of it). Computed instance by instance (scipy ``distance_transform_edt`` on each
    object's bounding box, padded by one background pixel).

    >>> inst = [[1, 1, 1, 2, 2, 2, 2, 0]] * 3
    >>> instance_distance_map(inst)[1]
    array([1., 2., 1., 1., 2., 2., 1., 0.])
    """
    inst = _instance_map(instance_labels, "instance_labels")
    out = np.zeros(inst.shape, np.float64)
    for idx, box in enumerate(ndimage.find_objects(inst), start=1):
        if box is None:
            continue
        crop = np.pad(inst[box] == idx, 1)
        out[box] = np.where(inst[box] == idx, ndimage.distance_transform_edt(crop)[1:-1, 1:-1], out[box])
    return out


def watershed_from_distance(dist: Any, mask: Any = None, min_distance: int = 2, threshold: float = 0.0,
                            connectivity: int = 1, return_markers: bool = False):
    """Instances from any distance-like map: one marker per peak, then a marker-based watershed.

    The map can be the distance transform of a mask (:func:`separate_touching`), a target made by
    :func:`instance_distance_map`, or a model's prediction of it. Markers are the local maxima of
    ``dist`` that are at least ``min_distance`` pixels apart and higher than ``threshold``
    (scikit-image ``peak_local_max``); each connected region of ``mask`` that gets no marker
    still gets one; then ``watershed(-dist, markers, mask=mask)`` floods downhill from the
    markers. ``mask`` defaults to ``dist > threshold``.

    Returns the instance map (int32), and the marker map too with ``return_markers=True``.

    >>> yy, xx = np.mgrid[:12, :20]
    >>> two = ((yy - 6) ** 2 + (xx - 6) ** 2 < 25) | ((yy - 6) ** 2 + (xx - 13) ** 2 < 25)
    >>> labels, markers = watershed_from_distance(ndimage.distance_transform_edt(two), two, return_markers=True)
    >>> int(labels.max()), int((markers > 0).sum())
    (2, 2)
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    d = np.asarray(to_numpy(dist, "dist"), dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"dist must be a 2-D map (H, W), got shape {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("dist contains NaN or infinity; pass a finite distance map")
    check_int(min_distance, "min_distance", minimum=1)
    check_float(threshold, "threshold")
    if connectivity not in (1, 2):
        raise ValueError(f"connectivity must be 1 (edges) or 2 (edges and corners), got {connectivity!r}")
    m = d > threshold if mask is None else as_binary(mask, "mask", ndims=(2,))
    check_same_shape(m, d)
    components = label_components(m, connectivity)
    peaks = peak_local_max(d, min_distance=min_distance, threshold_abs=threshold, labels=components,
                           exclude_border=False)
    markers = np.zeros(m.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    missing = np.setdiff1d(np.unique(components[m]), np.unique(components[markers > 0]))
    for cid in missing:   # a region without a peak (flat or tiny) still becomes one object
        where = np.argwhere(components == cid)
        y, x = where[np.argmax(d[tuple(where.T)])]
        markers[y, x] = markers.max() + 1
    labels = watershed(-d, markers, mask=m, connectivity=connectivity).astype(np.int32)
    return (labels, markers) if return_markers else labels


def _ids_and_index(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(labels, return_inverse=True)``, by a bincount when the ids are small (sorting is slower)."""
    flat = np.asarray(labels).ravel()
    top = int(flat.max(initial=0))
    if flat.size and np.issubdtype(flat.dtype, np.integer) and flat.min() >= 0 and top <= 4 * flat.size:
        present = np.bincount(flat, minlength=top + 1) > 0
        return np.flatnonzero(present).astype(flat.dtype), (np.cumsum(present) - 1)[flat]
    ids, index = np.unique(flat, return_inverse=True)
    return ids, index.ravel()


def iou_matrix(pred_labels: Any, gt_labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU of every (predicted, ground-truth) instance pair, from one bincount.

    Returns ``(ious, pred_ids, gt_ids)`` with ``ious[i, j]`` the IoU of ``pred_ids[i]`` and
    ``gt_ids[j]``.

    >>> ious, p, g = iou_matrix([[1, 1, 0, 2]], [[5, 5, 5, 0]])
    >>> ious.round(3), p.tolist(), g.tolist()
    (array([[0.667],
           [0.   ]]), [1, 2], [5])
    """
    p = _instance_map(pred_labels, "pred_labels")
    g = _instance_map(gt_labels, "gt_labels")
    check_same_shape(p, g)
    pred_ids, p_idx = _ids_and_index(p)
    gt_ids, g_idx = _ids_and_index(g)
    # index 0 of each may be background; keep it in the count, drop it afterwards
    inter = np.bincount(p_idx.ravel() * len(gt_ids) + g_idx.ravel(), minlength=len(pred_ids) * len(gt_ids))
    inter = inter.reshape(len(pred_ids), len(gt_ids)).astype(np.float64)
    area_p = inter.sum(1)
    area_g = inter.sum(0)
    keep_p = pred_ids > 0
    keep_g = gt_ids > 0
    inter = inter[keep_p][:, keep_g]
    union = area_p[keep_p][:, None] + area_g[keep_g][None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0), pred_ids[keep_p], gt_ids[keep_g]


@dataclass
class MatchResult:
    """Outcome of one-to-one matching; read fields as ``r.tp`` or ``r["tp"]``."""

    tp: int
    fp: int
    fn: int
    pairs: list[tuple[int, int, float]] = field(default_factory=list)  # (pred id, gt id, IoU)
    unmatched_pred: list[int] = field(default_factory=list)
    unmatched_gt: list[int] = field(default_factory=list)

    def __getitem__(self, key: str):
        return getattr(self, key)

    def keys(self) -> list[str]:
        return ["tp", "fp", "fn", "pairs", "unmatched_pred", "unmatched_gt"]


def match_instances(pred_labels: Any, gt_labels: Any, iou_threshold: float = 0.5) -> MatchResult:
    """Match predicted to ground-truth instances one-to-one; a match needs IoU > threshold.

    For thresholds >= 0.5 the match is unique (two instances cannot both overlap one object by
    more than half); for lower thresholds the assignment maximising total IoU is used.

    >>> gt   = [[1, 1, 0, 2, 2]]
    >>> pred = [[7, 7, 0, 0, 8]]
    >>> r = match_instances(pred, gt)
    >>> r.tp, r["fp"], r.fn, r.pairs
    (1, 1, 1, [(7, 1, 1.0)])
    """
    check_float(iou_threshold, "iou_threshold", lo=0, hi=1, hi_open=True)
    ious, pred_ids, gt_ids = iou_matrix(pred_labels, gt_labels)
    candidate = ious > iou_threshold
    if iou_threshold >= 0.5:
        rows, cols = np.nonzero(candidate)
    else:
        rows, cols = linear_sum_assignment(np.where(candidate, ious, 0), maximize=True)
        ok = candidate[rows, cols]
        rows, cols = rows[ok], cols[ok]
    pairs = [(int(pred_ids[r]), int(gt_ids[c]), float(ious[r, c])) for r, c in zip(rows, cols)]
    unmatched_pred = sorted(set(pred_ids.tolist()) - {p for p, _, _ in pairs})
    unmatched_gt = sorted(set(gt_ids.tolist()) - {g for _, g, _ in pairs})
    return MatchResult(len(pairs), len(unmatched_pred), len(unmatched_gt), pairs, unmatched_pred, unmatched_gt)


def panoptic_quality(pred_labels: Any, gt_labels: Any) -> dict[str, float]:
    """Panoptic quality of one "thing" class (Kirillov et al., 2019).

    Matches need IoU > 0.5. ``SQ`` = mean IoU of matched pairs (how good the masks are),
    ``RQ`` = TP / (TP + FP/2 + FN/2) (an F1 score of detection), ``PQ = SQ * RQ``
    = Σ matched IoU / (TP + FP/2 + FN/2). All NaN when both maps are empty.

    Notes
    -----
    A. Kirillov, K. He, R. Girshick, C. Rother, P. Dollár. "Panoptic Segmentation", CVPR 2019.

    >>> gt   = [[1, 1, 1, 1, 0, 2, 2]]
    >>> pred = [[3, 3, 3, 0, 0, 0, 0]]
    >>> {k: round(v, 3) for k, v in panoptic_quality(pred, gt).items()}
    {'pq': 0.5, 'sq': 0.75, 'rq': 0.667, 'tp': 1, 'fp': 0, 'fn': 1}
    """
    r = match_instances(pred_labels, gt_labels, 0.5)
    denom = r.tp + 0.5 * r.fp + 0.5 * r.fn
    if denom == 0:
        return {"pq": float("nan"), "sq": float("nan"), "rq": float("nan"), "tp": 0, "fp": 0, "fn": 0}
    iou_sum = sum(i for _, _, i in r.pairs)
    sq = iou_sum / r.tp if r.tp else 0.0
    return {"pq": iou_sum / denom, "sq": sq, "rq": r.tp / denom, "tp": r.tp, "fp": r.fp, "fn": r.fn}


def dataset_panoptic_quality(preds: Sequence[Any], gts: Sequence[Any]) -> dict[str, float]:
    """Panoptic quality over a data set, as Kirillov et al. define it: TP, FP, FN and the matched
    IoUs are pooled over all images first, then ``PQ = Σ IoU / (TP + FP/2 + FN/2)``.

    So ``PQ = SQ × RQ`` holds for the returned numbers, which it does not for means of per-image
    PQ, SQ and RQ (an image with few objects weighs as much as one with many, and an image with
    no match has SQ 0).

    >>> gts   = [[[1, 1, 0, 2, 2]], [[1, 1, 1, 0, 0]]]
    >>> preds = [[[1, 1, 0, 0, 0]], [[3, 3, 3, 0, 4]]]
    >>> res = dataset_panoptic_quality(preds, gts)
    >>> {k: round(v, 3) for k, v in res.items()}
    {'pq': 0.667, 'sq': 1.0, 'rq': 0.667, 'tp': 2, 'fp': 1, 'fn': 1}
    """
    if len(preds) != len(gts):
        raise ValueError(f"preds has {len(preds)} instance maps but gts has {len(gts)}; give one per image")
    tp = fp = fn = 0
    iou_sum = 0.0
    for p, g in zip(preds, gts):
        r = match_instances(p, g, 0.5)
        tp, fp, fn = tp + r.tp, fp + r.fp, fn + r.fn
        iou_sum += sum(i for _, _, i in r.pairs)
    denom = tp + 0.5 * fp + 0.5 * fn
    if denom == 0:
        return {"pq": float("nan"), "sq": float("nan"), "rq": float("nan"), "tp": 0, "fp": 0, "fn": 0}
    return {"pq": iou_sum / denom, "sq": iou_sum / tp if tp else 0.0, "rq": tp / denom, "tp": tp, "fp": fp, "fn": fn}


def _scores_array(scores: Any, pred_ids: np.ndarray) -> np.ndarray:
    if isinstance(scores, dict):
        missing = set(pred_ids.tolist()) - set(scores)
        if missing:
            raise ValueError(f"scores has no confidence for predicted id(s) {sorted(missing)}")
        s = np.array([scores[i] for i in pred_ids], float)
    else:
        s = np.asarray(to_numpy(scores, "scores"), float)
        if s.shape != pred_ids.shape:
            raise ValueError(f"scores must have one value per predicted instance ({len(pred_ids)}), got {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores contains NaN or infinity; every prediction needs a finite confidence")
    return s


def _thresholds(iou_thresholds: Any) -> np.ndarray:
    thresholds = np.atleast_1d(np.asarray(iou_thresholds, float))
    if thresholds.ndim != 1 or not len(thresholds) or not np.isfinite(thresholds).all() \
            or (thresholds < 0).any() or (thresholds > 1).any():
        raise ValueError(f"iou_thresholds must be IoU values in [0, 1], got {np.asarray(iou_thresholds).tolist()}")
    return thresholds


def _greedy_tp(ious: np.ndarray, t: float) -> np.ndarray:
    """Rows in score order; each takes the unmatched column it overlaps most with IoU >= t."""
    taken = np.zeros(ious.shape[1], bool)
    tp = np.zeros(ious.shape[0], bool)
    for i in range(ious.shape[0]):  # greedy in score order, as COCOeval
        cand = np.where(~taken & (ious[i] >= min(t, 1 - 1e-10)), ious[i], -1)
        j = int(np.argmax(cand)) if len(cand) else -1
        if j >= 0 and cand[j] >= 0:
            taken[j] = True
            tp[i] = True
    return tp


def _interpolated_ap(tp: np.ndarray, n_gt: int) -> float:
    ctp = np.cumsum(tp)
    recall = ctp / n_gt
    precision = ctp / np.arange(1, len(tp) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    idx = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
    interp = np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)] if len(precision) else 0, 0)
    return float(interp.mean())


def dataset_average_precision(preds: Sequence[Any], scores: Sequence[Any], gts: Sequence[Any],
                              iou_thresholds: Sequence[float] = np.linspace(0.5, 0.95, 10)) -> dict[str, Any]:
    """COCO mask AP over a data set: matches are made per image, then every prediction of every
    image is ranked by its score in one list (as COCOeval does), per IoU threshold and averaged.

    ``scores[i]`` gives the confidences of image ``i``'s predicted ids (as in
    :func:`average_precision`).

    >>> gts = [[[1, 1, 0, 2, 2]], [[1, 1, 0, 0, 0]]]
    >>> preds = [[[1, 1, 0, 2, 0]], [[0, 0, 0, 5, 5]]]
    >>> res = dataset_average_precision(preds, [{1: 0.9, 2: 0.8}, {5: 0.95}], gts, iou_thresholds=[0.5])
    >>> round(res["ap"], 3)      # ranked: a false positive (0.95), then two hits: 2 of 3 objects
    0.442
    """
    if not (len(preds) == len(scores) == len(gts)):
        raise ValueError(f"preds, scores and gts must have one entry per image, got {len(preds)}, {len(scores)}, {len(gts)}")
    per_image = []
    for p, s, g in zip(preds, scores, gts):
        ious, pred_ids, gt_ids = iou_matrix(p, g)
        sc = _scores_array(s, pred_ids)
        order = np.argsort(-sc, kind="stable")
        per_image.append((ious[order], sc[order], len(gt_ids)))
    n_gt = sum(n for _, _, n in per_image)
    all_scores = np.concatenate([sc for _, sc, _ in per_image]) if per_image else np.zeros(0)
    rank = np.argsort(-all_scores, kind="mergesort")
    per_t = {}
    for t in _thresholds(iou_thresholds):
        if n_gt == 0:
            per_t[round(float(t), 2)] = float("nan")
            continue
        tp = np.concatenate([_greedy_tp(ious, t) for ious, _, _ in per_image]) if per_image else np.zeros(0, bool)
        per_t[round(float(t), 2)] = _interpolated_ap(tp[rank], n_gt)
    vals = [v for v in per_t.values() if not np.isnan(v)]
    return {"ap": float(np.mean(vals)) if vals else float("nan"), "ap_per_threshold": per_t}


def average_precision(pred_labels: Any, scores: Any, gt_labels: Any,
                      iou_thresholds: Sequence[float] = np.linspace(0.5, 0.95, 10)) -> dict[str, Any]:
    """COCO-style mask AP for one image and one class, per IoU threshold and averaged.

    ``scores`` maps each predicted id to its confidence (dict, or a sequence aligned with the
    sorted predicted ids). Predictions are taken in order of decreasing score; each one is
    matched to the unmatched ground-truth instance it overlaps most with IoU >= threshold (as
    COCOeval does); precision is interpolated at 101 recall points.

    >>> gt = [[1, 1, 0, 2, 2]]
    >>> res = average_precision([[1, 1, 0, 2, 0]], {1: 0.9, 2: 0.8}, gt, iou_thresholds=[0.5, 0.75])
    >>> res["ap_per_threshold"]   # instance 2 overlaps its object with IoU 0.5 exactly
    {0.5: 1.0, 0.75: 0.504950495049505}
    """
    ious, pred_ids, gt_ids = iou_matrix(pred_labels, gt_labels)
    thresholds = _thresholds(iou_thresholds)
    s = _scores_array(scores, pred_ids)
    ious = ious[np.argsort(-s, kind="stable")]
    per_t = {}
    for t in thresholds:
        per_t[round(float(t), 2)] = _interpolated_ap(_greedy_tp(ious, t), len(gt_ids)) if len(gt_ids) else float("nan")
    vals = [v for v in per_t.values() if not np.isnan(v)]
    return {"ap": float(np.mean(vals)) if vals else float("nan"), "ap_per_threshold": per_t}


def count_error(pred_labels: Any, gt_labels: Any) -> int:
    """Predicted minus true number of instances (negative: objects were merged or missed).

    >>> count_error([[1, 1, 0, 1]], [[1, 1, 0, 2]])
    -1
    """
    p = _instance_map(pred_labels, "pred_labels")
    g = _instance_map(gt_labels, "gt_labels")
    check_same_shape(p, g)
    return int(len(np.unique(p[p > 0])) - len(np.unique(g[g > 0])))


def boundary_class_map(instance_labels: Any, boundary: int = 2) -> np.ndarray:
    """Instance map -> 3-class training target: 0 background, 1 interior, 2 boundary.

    The boundary class is each instance's inner outline (scikit-image ``find_boundaries``), so
    touching instances are separated by it. :func:`instances_from_boundary_classes` undoes it.

    >>> boundary_class_map([[1, 1, 1, 2, 2, 2]] * 3)   # the image edge is not a boundary
    array([[1, 1, 2, 2, 1, 1],
           [1, 1, 2, 2, 1, 1],
           [1, 1, 2, 2, 1, 1]], dtype=uint8)
    """
    from skimage.segmentation import find_boundaries

    boundary = check_int(boundary, "boundary", minimum=0, maximum=255)
    if boundary in (0, 1):
        raise ValueError(f"boundary={boundary} collides with background (0) or interior (1); use 2 or more")
    inst = _instance_map(instance_labels, "instance_labels")
    out = (inst > 0).astype(np.uint8)
    out[find_boundaries(inst, mode="inner") & (inst > 0)] = boundary
    return out


def instances_from_boundary_classes(label_map: Any, interior: int = 1, boundary: int = 2, connectivity: int = 1) -> np.ndarray:
    """Instances from a 3-class prediction (background / interior / boundary).

    Interior pixels are split into components (the boundary class separates touching objects),
    then each component is grown back over the boundary pixels it touches (watershed on the
    distance to the interior). Ids other than ``interior`` and ``boundary`` count as background;
    negative ids raise.

    >>> lm = [[1, 1, 2, 2, 1, 1],
    ...       [1, 1, 2, 2, 1, 1]]
    >>> instances_from_boundary_classes(lm)
    array([[1, 1, 1, 2, 2, 2],
           [1, 1, 1, 2, 2, 2]], dtype=int32)
    """
    from skimage.segmentation import watershed

    lm = as_label_array(label_map, "label_map", ndims=(2,))
    check_nonnegative(lm, "label_map")
    interior, boundary = check_int(interior, "interior", minimum=0), check_int(boundary, "boundary", minimum=0)
    if interior == boundary:
        raise ValueError(f"interior and boundary must be different class ids, both are {interior}")
    seeds = label_components(lm == interior, connectivity)
    foreground = (lm == interior) | (lm == boundary)
    dist = ndimage.distance_transform_edt(lm != interior)
    return watershed(dist, seeds, mask=foreground, connectivity=connectivity).astype(np.int32)


def touching_pairs(instance_labels: Any, dist: Any) -> list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
    """Pairs of touching instances with a hill each, and the distance map along the line between their tops.

    Each instance's top is the first pixel of its maximum of ``dist`` (``ndimage.maximum_position``).
    A pair qualifies when the two instances touch (share an edge), both tops are hilltops (no pixel
    of the 3 × 3 window around a top is higher) and the straight line between the tops crosses no
    third instance (nor background). The map is sampled along that line every half pixel, by linear
    interpolation (``ndimage.map_coordinates``): a neck between two cells is a dip in the samples.

    Returns a list of ``(id a, id b, rows, cols, samples)``, one per qualifying pair.

    >>> yy, xx = np.mgrid[:12, :20]
    >>> two = ((yy - 6) ** 2 + (xx - 6) ** 2 < 25) | ((yy - 6) ** 2 + (xx - 13) ** 2 < 25)
    >>> inst = np.where(two, 1 + (xx >= 10), 0)           # two discs that touch, cut at column 10
    >>> [(a, b, round(float(s[0]), 1), round(float(s.min()), 1)) for a, b, _, _, s in
    ...  touching_pairs(inst, ndimage.distance_transform_edt(two))]
    [(1, 2, 5.0, 4.0)]
    """
    inst = _instance_map(instance_labels, "instance_labels")
    d = np.asarray(to_numpy(dist, "dist"), dtype=np.float64)
    check_same_shape(inst, d)
    ids = np.unique(inst[inst > 0])
    tops = ndimage.maximum_position(d, inst, ids)
    hilltop = d == ndimage.maximum_filter(d, size=3)
    pairs = []
    for x in range(len(ids)):
        for y in range(x + 1, len(ids)):
            (ya, xa), (yb, xb) = tops[x], tops[y]
            n = 2 * int(np.hypot(yb - ya, xb - xa)) + 1
            rr, cc = np.linspace(ya, yb, n), np.linspace(xa, xb, n)
            on_line = set(inst[np.round(rr).astype(int), np.round(cc).astype(int)].tolist())
            touch = np.any(ndimage.binary_dilation(inst == ids[x]) & (inst == ids[y]))
            if touch and on_line == {ids[x], ids[y]} and hilltop[tops[x]] and hilltop[tops[y]]:
                pairs.append((int(ids[x]), int(ids[y]), rr, cc, ndimage.map_coordinates(d, [rr, cc], order=1)))
    return pairs


def fp_fn_kinds(pred_maps: Sequence[Any], truth_maps: Sequence[Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Sort the false positives and false negatives of instance maps (matches at IoU > 0.5) by kind.

    An unmatched prediction is a **merge** when it covers at least a tenth of two or more true
    instances, a **split piece** when it covers (a tenth of) one true instance that another
    prediction matches, and **other** otherwise. A missed true instance is **inside a merge** when a
    merge covers it, **covered by a match** when a prediction matched to another instance covers at
    least half of it, and **other** otherwise. The tenth and the half are choices.

    Returns ``(fp_kinds, fn_kinds)``: counts summed over all images.

    >>> truth = [[1, 1, 1, 0, 2, 2, 2, 0, 3, 3, 3, 3]]
    >>> pred  = [[5, 5, 5, 5, 5, 5, 5, 0, 6, 6, 6, 7]]     # 5 merges cells 1 and 2; 7 is a piece of 3
    >>> fp_fn_kinds([pred], [truth])
    ({'merge': 1, 'split piece': 1, 'other': 0}, {'inside a merge': 2, 'covered by a match': 0, 'other': 0})
    """
    if len(pred_maps) != len(truth_maps):
        raise ValueError(f"pred_maps has {len(pred_maps)} instance maps but truth_maps has {len(truth_maps)}")
    fp_kinds = {"merge": 0, "split piece": 0, "other": 0}
    fn_kinds = {"inside a merge": 0, "covered by a match": 0, "other": 0}
    for pred_, truth_ in zip(pred_maps, truth_maps):
        pred, truth = _instance_map(pred_, "pred"), _instance_map(truth_, "truth")
        m = match_instances(pred, truth)
        matched_truth = {g for _, g, _ in m.pairs}
        cell_size = np.bincount(truth.ravel())
        in_merge = set()
        for p in m.unmatched_pred:
            ids_, overlap = np.unique(truth[pred == p], return_counts=True)
            covered = [g for g, n in zip(ids_, overlap) if g != 0 and n >= 0.1 * cell_size[g]]
            kind = "merge" if len(covered) >= 2 else "split piece" if covered and covered[0] in matched_truth else "other"
            fp_kinds[kind] += 1
            if kind == "merge":
                in_merge |= set(covered)
        matched_pred = {p for p, _, _ in m.pairs}
        for g in m.unmatched_gt:
            if g in in_merge:
                fn_kinds["inside a merge"] += 1
            elif any(p in matched_pred and np.mean(pred[truth == g] == p) >= 0.5 for p in np.unique(pred[truth == g])):
                fn_kinds["covered by a match"] += 1
            else:
                fn_kinds["other"] += 1
    return fp_kinds, fn_kinds


__all__ += ["touching_pairs", "fp_fn_kinds"]


def tile_outcomes(pred_labels: Any, gt_labels: Any, tile: int = 64) -> np.ndarray:
    """Per square tile of an instance map: the summed IoU of its matches and its TP, FP and FN.

    Each object belongs to the tile that holds its centre of mass: a true instance (matched or
    missed) to the tile of its own centre, an unmatched prediction (FP) to the tile of its centre.
    The tiles are the units that :func:`tile_bootstrap` resamples.

    Parameters
    ----------
    pred_labels, gt_labels : 2-D instance maps of one shape (0 = background), each side a multiple of ``tile``.
    tile : side of a tile in pixels.

    Returns
    -------
    numpy.ndarray
        Shape ``(4, n_tiles)``, tiles in row-major order; rows: summed IoU of the matches, TP, FP, FN.

    Examples
    --------
    >>> gt = np.zeros((4, 4), int); gt[0, 0] = 1; gt[3, 3] = 2
    >>> pred = np.zeros((4, 4), int); pred[0, 0] = 5; pred[0, 3] = 6    # 1 found; 2 missed; 6 false
    >>> tile_outcomes(pred, gt, tile=2)
    array([[1., 0., 0., 0.],
           [1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 0., 1.]])
    """
    pred, gt = _instance_map(pred_labels, "pred_labels"), _instance_map(gt_labels, "gt_labels")
    check_same_shape(pred, gt)
    tile = check_int(tile, "tile", minimum=1)
    if gt.shape[0] % tile or gt.shape[1] % tile:
        raise ValueError(f"the map's sides {gt.shape} must be multiples of tile={tile}")
    m = match_instances(pred, gt)
    n_cols = gt.shape[1] // tile

    def where(labels: np.ndarray, i: int) -> int:
        cy, cx = ndimage.center_of_mass(labels == i)
        return int(cy // tile) * n_cols + int(cx // tile)

    out = np.zeros((4, gt.size // tile ** 2))
    for _, g, v in m.pairs:
        out[[0, 1], where(gt, g)] += v, 1
    for p in m.unmatched_pred:
        out[2, where(pred, p)] += 1
    for g in m.unmatched_gt:
        out[3, where(gt, g)] += 1
    return out


def tile_bootstrap(preds: Any, gt_labels: Any, tile: int = 64, n_resamples: int = 2000,
                   seed: int = 0, metric: str = "pq") -> dict[str, Any]:
    """Paired tile bootstrap of panoptic quality (or Dice): how much it moves when the objects move.

    Cut the region into tiles (:func:`tile_outcomes`), draw as many tiles as it holds with
    replacement, and recompute PQ = summed IoU / (TP + FP/2 + FN/2) from what the drawn tiles hold;
    repeat ``n_resamples`` times. Every map in ``preds`` uses the **same** draws, so the difference
    of two maps' resampled PQs is a paired bootstrap of their difference.

    Parameters
    ----------
    preds : mapping name -> 2-D instance map (one shape, that of ``gt_labels``).
    gt_labels : 2-D true instance map.
    tile : side of a tile in pixels; the map's sides must be multiples of it.
    n_resamples : number of resamples.
    seed : seed of ``numpy.random.default_rng`` that draws the tiles.
    metric : ``"pq"`` or ``"dice"``. ``"dice"`` resamples the same tiles, drawn by the same
        ``seed``, and recomputes Dice = 2 |pred ∩ truth| / (|pred| + |truth|) of the foreground
        pixels (label > 0) that the drawn tiles hold, so a PQ and a Dice bootstrap of one seed pair
        tile for tile.

    Returns
    -------
    dict
        ``n_tiles`` (int); ``pq`` (or ``dice``): name -> the score of all tiles once (for PQ the
        full-sample PQ, as :func:`panoptic_quality` gives it); ``resamples``: name -> array of
        ``n_resamples`` scores.

    Examples
    --------
    >>> gt = np.zeros((4, 4), int); gt[0, 0] = 1; gt[3, 3] = 2
    >>> a = np.zeros((4, 4), int); a[0, 0] = 5; a[0, 3] = 6            # 1 found; 2 missed; 6 false
    >>> out = tile_bootstrap({"a": a, "truth": gt}, gt, tile=2, n_resamples=3)
    >>> out["n_tiles"], round(out["pq"]["a"], 3), out["pq"]["truth"]
    (4, 0.5, 1.0)
    >>> out["resamples"]["a"].shape
    (3,)

    Dice of the foreground pixels, with the same draws:

    >>> gt = np.zeros((4, 4), int); gt[:2, :2] = 1
    >>> a = np.zeros((4, 4), int); a[:2, :1] = 7; a[3, 3] = 8           # half of 1 found; 8 false
    >>> out = tile_bootstrap({"a": a, "truth": gt}, gt, tile=2, n_resamples=3, metric="dice")
    >>> out["n_tiles"], round(out["dice"]["a"], 3), out["dice"]["truth"], out["resamples"]["a"].shape
    (4, 0.571, 1.0, (3,))
    >>> tile_bootstrap({"a": a}, gt, tile=2, metric="iou")
    Traceback (most recent call last):
    ...
    ValueError: metric must be 'pq' or 'dice', got 'iou'
    """
    if metric not in ("pq", "dice"):
        raise ValueError(f"metric must be 'pq' or 'dice', got {metric!r}")
    if not isinstance(preds, dict) or not preds:
        raise ValueError("preds must be a non-empty dict: name -> instance map")
    n_resamples = check_int(n_resamples, "n_resamples", minimum=1)
    if metric == "dice":
        return _tile_bootstrap_dice(preds, gt_labels, tile, n_resamples, seed)
    tiles = {k: tile_outcomes(v, gt_labels, tile) for k, v in preds.items()}
    n_tiles = next(iter(tiles.values())).shape[1]
    draws = np.random.default_rng(seed).integers(0, n_tiles, (n_resamples, n_tiles))

    def pq_of(t: np.ndarray, d: np.ndarray) -> np.ndarray:
        iou, tp, fp, fn = t[:, d].sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return iou / (tp + fp / 2 + fn / 2)

    return {"n_tiles": n_tiles, "pq": {k: float(pq_of(t, np.arange(n_tiles))) for k, t in tiles.items()},
            "resamples": {k: pq_of(t, draws) for k, t in tiles.items()}}


def _tile_bootstrap_dice(preds: dict, gt_labels: Any, tile: int, n_resamples: int, seed: int) -> dict[str, Any]:
    """:func:`tile_bootstrap` with ``metric="dice"`` (``preds`` and ``n_resamples`` already checked)."""
    tile = check_int(tile, "tile", minimum=1)
    gt = _instance_map(gt_labels, "gt_labels") > 0
    if gt.shape[0] % tile or gt.shape[1] % tile:
        raise ValueError(f"the map's sides {gt.shape} must be multiples of tile={tile}")

    def per_tile(mask: np.ndarray) -> np.ndarray:          # pixel counts per tile, row-major as tile_outcomes
        rows, cols = mask.shape[0] // tile, mask.shape[1] // tile
        return mask.reshape(rows, tile, cols, tile).sum(axis=(1, 3)).ravel().astype(float)

    counts = {}
    for name, labels in preds.items():
        pred = _instance_map(labels, f"preds[{name!r}]")
        check_same_shape(pred, gt)
        counts[name] = np.stack([per_tile((pred > 0) & gt), per_tile(pred > 0) + per_tile(gt)])
    n_tiles = gt.size // tile ** 2
    draws = np.random.default_rng(seed).integers(0, n_tiles, (n_resamples, n_tiles))   # as the PQ bootstrap

    def dice_of(c: np.ndarray, d: np.ndarray) -> np.ndarray:
        both, total = c[:, d].sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 2 * both / total

    return {"n_tiles": n_tiles, "dice": {k: float(dice_of(c, np.arange(n_tiles))) for k, c in counts.items()},
            "resamples": {k: dice_of(c, draws) for k, c in counts.items()}}


__all__ += ["tile_outcomes", "tile_bootstrap"]


def rim_iou(pred_labels: Any, gt_labels: Any, pred_id: int, gt_id: int, size: int = 32) -> tuple[Any, float]:
    """Boundary IoU of prediction ``pred_id`` and true object ``gt_id`` in the ``size`` × ``size``
    crop centred on the true object (moved inside the map at its edges).

    Parameters
    ----------
    pred_labels, gt_labels : 2-D instance maps of one shape (0 = background).
    pred_id, gt_id : the prediction and the true object to compare.
    size : side of the crop (even; at most the map's sides).

    Returns
    -------
    (tuple of slice, float)
        The crop (usable as ``gt_labels[box]``) and :func:`segcourse.metrics.boundary_iou` of the
        two objects in it.

    Examples
    --------
    >>> gt = np.zeros((40, 40), int); gt[10:20, 10:20] = 3
    >>> box, b = rim_iou(gt * 2, gt, 6, 3)                 # the same square: its rim matches exactly
    >>> box, round(b, 3)
    ((slice(0, 32, None), slice(0, 32, None)), 1.0)
    """
    from .metrics import boundary_iou

    pred = as_label_array(pred_labels, "pred_labels", ndims=(2,))
    gt = as_label_array(gt_labels, "gt_labels", ndims=(2,))
    check_same_shape(pred, gt)
    half = size // 2
    cy, cx = (int(round(v)) for v in ndimage.center_of_mass(gt == gt_id))
    cy, cx = min(max(cy, half), gt.shape[0] - half), min(max(cx, half), gt.shape[1] - half)
    box = np.s_[cy - half:cy + half, cx - half:cx + half]
    return box, float(boundary_iou(pred[box] == pred_id, gt[box] == gt_id))


def split_objects(pred_labels: Any, gt_labels: Any, share: float = 0.2) -> np.ndarray:
    """True objects that two or more predictions each cover by at least ``share`` of the object's pixels.

    Examples
    --------
    >>> gt = np.array([[1, 1, 1, 1, 0, 2, 2]])
    >>> pred = np.array([[5, 5, 6, 6, 0, 7, 7]])           # object 1 cut in two halves; 2 found whole
    >>> split_objects(pred, gt).tolist()
    [1]
    >>> split_objects(pred, gt, share=0.6).tolist()        # each half covers only half of it
    []
    """
    pred = as_label_array(pred_labels, "pred_labels", ndims=(2,))
    gt = as_label_array(gt_labels, "gt_labels", ndims=(2,))
    check_same_shape(pred, gt)
    ids, areas = np.unique(gt[gt > 0], return_counts=True)
    both = (gt > 0) & (pred > 0)
    if not both.any():
        return np.zeros(0, gt.dtype)
    pairs, overlap = np.unique(np.stack([gt[both], pred[both]]), axis=1, return_counts=True)
    big = overlap >= share * areas[np.searchsorted(ids, pairs[0])]
    hit, pieces = np.unique(pairs[0][big], return_counts=True)
    return hit[pieces >= 2]


def predicted_distance(net: Any, grey: Any, tint: Any = (1.0, 1.0, 1.0)) -> np.ndarray:
    """A one-output network's sigmoid on a grey image, the grey value times ``tint`` per channel.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Conv2d(3, 1, 1); _ = torch.nn.init.zeros_(net.weight); _ = torch.nn.init.zeros_(net.bias)
    >>> predicted_distance(net, np.ones((4, 5), np.float32)).shape, float(predicted_distance(net, np.ones((2, 2)))[0, 0])
    ((4, 5), 0.5)
    """
    import torch

    g = np.asarray(grey, np.float32)[..., None] * np.asarray(tint, np.float32)
    with torch.no_grad():
        out = torch.sigmoid(net(torch.from_numpy(np.ascontiguousarray(g)).permute(2, 0, 1)[None]))
    return out[0, 0].numpy()


def distance_instances(dist: Any, fg: float, seed_min: float, min_distance: int,
                       out_shape: "tuple[int, int] | None" = None) -> np.ndarray:
    """Instances from a predicted distance: pixels above ``fg`` are object; peaks above ``seed_min``,
    at least ``min_distance`` pixels apart, seed a watershed of ``-dist`` within them; the labels are
    resized (nearest neighbour) to ``out_shape`` when given.

    Examples
    --------
    >>> d = np.zeros((7, 15)); d[1:6, 1:6] = 0.5; d[1:6, 9:14] = 0.5; d[3, 3] = d[3, 11] = 1.0
    >>> lab = distance_instances(d, 0.1, 0.6, 2)
    >>> int(lab.max()), distance_instances(d, 0.1, 0.6, 2, out_shape=(14, 30)).shape
    (2, (14, 30))
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed
    from skimage.transform import resize

    d = np.asarray(dist, float)
    mask = d > fg
    peaks = peak_local_max(d, min_distance=int(min_distance), threshold_abs=seed_min, labels=ndimage.label(mask)[0],
                           exclude_border=False)
    markers = np.zeros(d.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-d, markers, mask=mask)
    if out_shape is not None:
        labels = resize(labels, out_shape, order=0, preserve_range=True, anti_aliasing=False)
    return labels.astype(np.int32)


__all__ += ["rim_iou", "split_objects", "predicted_distance", "distance_instances"]


def paired_intervals(resamples: Any, pairs: Sequence[tuple[str, str]], level: float = 0.95) -> dict[str, dict[str, Any]]:
    """Paired bootstrap intervals of score differences, one row per pair of methods.

    Parameters
    ----------
    resamples : mapping name -> 1-D array
        One score per resample for each method, all drawn on the same resamples (as
        :func:`tile_bootstrap` returns them).
    pairs : sequence of (a, b)
        The differences to read, each as ``a`` minus ``b``.
    level : float
        The central share of the resampled differences the interval holds.

    Returns
    -------
    dict
        ``"a - b"`` -> ``{"95% from": low, "to": high, "favouring the first": "n of N",
        "separated": "yes" or "no"}`` (the first key names ``level``); separated means the
        interval excludes 0.

    Examples
    --------
    >>> r = {"a": np.array([0.6, 0.7, 0.8, 0.9]), "b": np.array([0.5, 0.65, 0.7, 0.85])}
    >>> row = paired_intervals(r, [("a", "b")], level=0.5)["a - b"]
    >>> round(row["50% from"], 3), round(row["to"], 3), row["favouring the first"], row["separated"]
    (0.05, 0.1, '4 of 4', 'yes')
    """
    level = check_float(level, "level")
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level}")
    tail = 100 * (1 - level) / 2
    out = {}
    for a, b in pairs:
        diff = np.asarray(resamples[a], float) - np.asarray(resamples[b], float)
        lo, hi = np.percentile(diff, [tail, 100 - tail])
        out[f"{a} - {b}"] = {f"{100 * level:.0f}% from": float(lo), "to": float(hi),
                             "favouring the first": f"{int(np.sum(diff > 0)):,} of {len(diff):,}",
                             "separated": "yes" if lo > 0 or hi < 0 else "no"}
    return out


__all__ += ["paired_intervals"]


def failure_buckets(pred: Any, gt: Any, share: float = 0.2) -> dict[str, Any]:
    """Sort every missed true object (no prediction matches it with IoU above 0.5) into one bucket.

    The buckets are tried in this order, so each missed object is counted once: ``"merge"`` when a
    prediction holds more than half of it and of another true object (``viz.merged_groups``), else
    ``"split"`` when two or more predictions each cover at least ``share`` of it
    (:func:`split_objects`), else ``"missed"`` (no prediction over it, or one too small or offset).

    Parameters
    ----------
    pred, gt : (H, W) int arrays
        Predicted and true instance maps (0 = background).
    share : float
        The share of a true object a piece must cover to count towards a split, in (0, 1].

    Returns
    -------
    dict
        ``{"merge": [ids], "split": [ids], "missed": [ids], "merging predictions": int,
        "false positives": int}``: the missed true ids of each bucket (ascending), the number of
        predictions that merge two or more true objects, and the number of unmatched predictions.

    Examples
    --------
    >>> gt = np.array([[1, 1, 0, 2, 2, 0, 3, 3, 3, 3, 0, 4, 4]])
    >>> pred = np.array([[5, 5, 5, 5, 5, 0, 6, 6, 7, 7, 0, 0, 0]])   # 1+2 merged, 3 cut in two, 4 not found
    >>> failure_buckets(pred, gt)
    {'merge': [1, 2], 'split': [3], 'missed': [4], 'merging predictions': 1, 'false positives': 3}
    >>> failure_buckets(pred, gt, share=0)
    Traceback (most recent call last):
    ...
    ValueError: share must be a finite number > 0 and <= 1, got 0
    """
    p = _instance_map(pred, "pred")
    g = _instance_map(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred has shape {p.shape} but gt has shape {g.shape}: they must match pixel for pixel")
    share = check_float(share, "share", lo=0, hi=1, lo_open=True)
    m = match_instances(p, g)
    groups = merged_groups(p, g)
    merged = {int(i) for grp in groups for i in grp}
    cut = {int(i) for i in split_objects(p, g, share=share)}
    missed = sorted(int(i) for i in m.unmatched_gt)
    return {"merge": [i for i in missed if i in merged],
            "split": [i for i in missed if i in cut and i not in merged],
            "missed": [i for i in missed if i not in merged and i not in cut],
            "merging predictions": len(groups), "false positives": int(m.fp)}


def typical_isolated_object(labels: Any, region: Any = None, size: int = 32, margin: int = 4
                            ) -> tuple[int, tuple[slice, slice]]:
    """An isolated object of typical size, and a ``size``×``size`` crop centred on it.

    The candidates lie wholly inside ``region``, share no edge with another object, and their
    bounding box's longest side is at most ``size - margin`` pixels (so that the crop holds the whole
    object with room around it); of these, the one whose area is closest to the median area of all
    objects in ``labels`` (the lowest id on a tie).

    Parameters
    ----------
    labels : (H, W) int array
        Instance map (0 = background).
    region : pair of slices, optional
        Where to look (e.g. ``np.s_[:, 256:]``); default: the whole map.
    size : int
        Side of the square crop, in pixels.
    margin : int
        How much shorter than ``size`` the object's longest side must be.

    Returns
    -------
    (int, (slice, slice))
        The object's id and the crop, in the coordinates of ``labels``.

    Examples
    --------
    >>> labels = np.zeros((20, 40), int)
    >>> labels[2:6, 2:6] = 1; labels[2:6, 6:10] = 2     # touching: refused
    >>> labels[12:16, 12:17] = 3; labels[12:14, 25:27] = 4
    >>> typical_isolated_object(labels, size=8, margin=2)
    (3, (slice(10, 18, None), slice(10, 18, None)))
    >>> typical_isolated_object(labels, size=4, margin=4)
    Traceback (most recent call last):
    ...
    ValueError: no object of labels lies wholly in region, touches no other and is at most 0 px long (size - margin); pass a larger size or a smaller margin
    """
    lab = _instance_map(labels, "labels")
    size = check_int(size, "size", minimum=1)
    margin = check_int(margin, "margin", minimum=0)
    inside = np.zeros(lab.shape, bool)
    try:
        inside[region if region is not None else np.s_[:, :]] = True
    except (IndexError, TypeError) as err:
        raise TypeError(f"region must be a pair of slices such as np.s_[:, 256:], got {region!r}") from err
    areas = np.bincount(lab.ravel())
    present = np.nonzero(areas[1:])[0] + 1
    boxes = ndimage.find_objects(lab)
    out = np.setdiff1d(lab[~inside], [0])                                # objects with a pixel outside the region
    touching = set()
    for a, b in ((lab[:, :-1], lab[:, 1:]), (lab[:-1], lab[1:])):
        edge = (a > 0) & (b > 0) & (a != b)
        touching |= set(a[edge].tolist()) | set(b[edge].tolist())
    candidates = [int(i) for i in present if i not in out and i not in touching
                  and max(s.stop - s.start for s in boxes[i - 1]) <= size - margin]
    if not candidates:
        raise ValueError(f"no object of labels lies wholly in region, touches no other and is at most "
                         f"{size - margin} px long (size - margin); pass a larger size or a smaller margin")
    median = np.median(areas[present])
    best = min(candidates, key=lambda i: abs(areas[i] - median))
    cy, cx = ((s.start + s.stop) // 2 for s in boxes[best - 1])
    half = size // 2
    return best, (slice(cy - half, cy - half + size), slice(cx - half, cx - half + size))


__all__ += ["failure_buckets", "typical_isolated_object"]


def merged_groups(pred: Any, gt: Any) -> list[list[int]]:
    """True ids held together by one prediction: for each predicted object that holds more than half
    of each of two or more true objects, those true ids (``viz.merged_groups`` draws these).

    Parameters
    ----------
    pred, gt : (H, W) int arrays
        Predicted and true instance maps (0 = background).

    Returns
    -------
    list of list of int
        One list of true ids (ascending) per merging prediction, in the order of the prediction ids.

    Examples
    --------
    >>> gt = np.array([[1, 1, 2, 2, 0, 3, 3]])
    >>> pred = np.array([[5, 5, 5, 5, 0, 6, 6]])     # 5 holds nuclei 1 and 2; 6 holds 3 alone
    >>> merged_groups(pred, gt)
    [[1, 2]]
    >>> merged_groups(pred, gt[:, :3])
    Traceback (most recent call last):
    ...
    ValueError: pred has shape (1, 7) but gt has shape (1, 3): they must match pixel for pixel
    """
    p = as_label_array(pred, "pred", ndims=(2,))
    g = as_label_array(gt, "gt", ndims=(2,))
    if p.shape != g.shape:
        raise ValueError(f"pred has shape {p.shape} but gt has shape {g.shape}: they must match pixel for pixel")
    both = (p > 0) & (g > 0)
    if not both.any():
        return []
    (pids, ids), n_inside = np.unique(np.stack([p[both], g[both]]), axis=1, return_counts=True)   # overlap per pair
    held = n_inside > 0.5 * np.bincount(g.ravel())[ids]          # more than half of the true object inside
    groups = [ids[held & (pids == c)].tolist() for c in np.unique(pids[held])]
    return [[int(i) for i in grp] for grp in groups if len(grp) >= 2]
