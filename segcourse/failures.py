"""Segmentation practice: per-sample scores, failure buckets backed by numbers, annotation QC.

A segmentation project is first a data and evaluation project. This module turns predictions
and targets into the evidence a report needs: one row per sample (so the mean cannot hide a bad
one), failure samples sorted into the three buckets of the practice text -- **boundary error**,
**missed small region**, **class confusion** -- each with the measured number behind it, and
checks of the annotations themselves.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from scipy import ndimage

from . import metrics
from ._validate import as_label_array, check_bool, check_float, check_int, check_num_classes, check_same_shape

__all__ = [
    "CHECKLIST_STEPS",
    "per_sample_report",
    "label_boundary_band",
    "bucket_failures",
    "next_step",
    "check_annotations",
    "agreement",
]

BUCKETS = ("boundary", "small_region", "class_confusion")

#: The project checklist, in order: (key, what to do when it is not done yet).
CHECKLIST_STEPS = (
    ("classes_defined", "First narrow down the class definitions."),
    ("mask_quality_checked", "First sample-check the mask annotation quality."),
    ("baseline_ready", "First build a minimal baseline."),
    ("failure_buckets_defined", "First bucket the failure samples."),
)
_DONE = "You can continue with targeted optimization."


def _batch(preds: Any, targets: Any, num_classes: int) -> tuple[np.ndarray, np.ndarray, int]:
    k = check_num_classes(num_classes)
    p = as_label_array(preds, "preds", ndims=(2, 3))
    t = as_label_array(targets, "targets", ndims=(2, 3))
    check_same_shape(p, t)
    if p.ndim == 2:
        p, t = p[None], t[None]
    for arr, name in ((p, "preds"), (t, "targets")):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            raise ValueError(f"{name} contains class ids outside 0..{k - 1} (num_classes={k})")
    return p, t, k


def label_boundary_band(label_map: Any, dilation_ratio: float = 0.02) -> np.ndarray:
    """Pixels within the boundary-IoU distance of a change of class (both sides of every edge).

    >>> lm = np.array([[0, 0, 0, 1, 1, 1]] * 3)
    >>> label_boundary_band(lm).astype(int)[0]
    array([0, 0, 1, 1, 0, 0])
    """
    lm = as_label_array(label_map, "label_map", ndims=(2, 3))
    band = np.zeros(lm.shape, bool)
    for c in np.unique(lm):  # union of every class's inner band, the image edge not counted as an edge
        band |= metrics.boundary_band(lm == c, dilation_ratio, image_border=False)
    return band


def per_sample_report(preds: Any, targets: Any, num_classes: int, class_names: Sequence[str] | None = None,
                      dilation_ratio: float = 0.02) -> list[dict[str, Any]]:
    """One row per sample: IoU of each class, mIoU, mean Dice, boundary IoU, area of each class.

    Boundary IoU is averaged over the classes present in the target.

    >>> rows = per_sample_report([[[0, 1], [1, 1]]], [[[0, 0], [1, 1]]], 2, ["bg", "fg"])
    >>> rows[0]["iou_fg"], round(rows[0]["miou"], 3), rows[0]["area_fg"]
    (0.6666666666666666, 0.583, 2)
    """
    p, t, k = _batch(preds, targets, num_classes)
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for {k} classes")
    rows = []
    for i, (pi, ti) in enumerate(zip(p, t)):
        cm = metrics.confusion_matrix(pi, ti, k)
        ious = metrics.iou_from_confusion(cm)
        dices = metrics.dice_from_confusion(cm)
        present = np.unique(ti)
        b = [metrics.boundary_iou(pi == c, ti == c, dilation_ratio) for c in present]
        row: dict[str, Any] = {"sample": i}
        row.update({f"iou_{n}": float(v) for n, v in zip(names, ious)})
        row["miou"] = float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")
        row["dice"] = float(np.nanmean(dices)) if np.isfinite(dices).any() else float("nan")
        row["boundary_iou"] = float(np.nanmean(b)) if len(b) else float("nan")
        row.update({f"area_{n}": int(a) for n, a in zip(names, cm.sum(1))})
        rows.append(row)
    return rows


def bucket_failures(
    preds: Any,
    targets: Any,
    num_classes: int,
    class_names: Sequence[str] | None = None,
    fail_below: float = 0.9,
    dilation_ratio: float = 0.02,
    boundary_fraction: float = 0.5,
    small_area: int = 40,
    small_recall: float = 0.5,
    confusion_fraction: float = 0.1,
    min_confused_pixels: int = 20,
    worst_k: int = 3,
) -> dict[str, Any]:
    """Sort failing samples (mIoU < ``fail_below``) into the three buckets, with evidence.

    * **boundary** -- at least ``boundary_fraction`` of the wrong pixels (not counting missed
      small regions) lie in the boundary band: the outline is roughly right, the edge is not.
    * **small_region** -- a ground-truth component smaller than ``small_area`` pixels whose
      recall is below ``small_recall``: which class, where, how big, how much was found.
    * **class_confusion** -- at least ``confusion_fraction`` of a true class's pixels (and at
      least ``min_confused_pixels``) were predicted as one other class: which pair, how much.

    A sample may sit in several buckets. Returns ``samples`` (per failing sample: mIoU, buckets,
    evidence), ``buckets`` (sample indices per bucket), ``worst`` (the ``worst_k`` lowest-mIoU
    samples of each bucket) and ``counts``.

    >>> t = np.zeros((1, 20, 20), int); t[0, 5:15, 5:15] = 1
    >>> p = np.roll(t, 1, axis=2)                       # shifted one pixel: a boundary error
    >>> res = bucket_failures(p, t, 2, fail_below=0.95)
    >>> res["buckets"]["boundary"], round(res["samples"][0]["evidence"]["boundary"]["fraction_in_band"], 2)
    ([0], 1.0)
    """
    for name, v in (("fail_below", fail_below), ("boundary_fraction", boundary_fraction),
                    ("small_recall", small_recall), ("confusion_fraction", confusion_fraction)):
        check_float(v, name, lo=0, hi=1)
    check_float(dilation_ratio, "dilation_ratio", lo=0)
    check_int(small_area, "small_area", minimum=1)
    check_int(min_confused_pixels, "min_confused_pixels", minimum=0)
    check_int(worst_k, "worst_k", minimum=0)
    p, t, k = _batch(preds, targets, num_classes)
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    samples = []
    structure = ndimage.generate_binary_structure(2, 1)
    for i, (pi, ti) in enumerate(zip(p, t)):
        cm = metrics.confusion_matrix(pi, ti, k)
        ious = metrics.iou_from_confusion(cm)
        miou = float(np.nanmean(ious))
        if miou >= fail_below:
            continue
        evidence: dict[str, Any] = {}
        wrong = pi != ti
        # missed small regions
        missed_pixels = np.zeros(ti.shape, bool)
        missed = []
        for c in np.unique(ti):
            comps, n = ndimage.label(ti == c, structure)
            if not n:
                continue
            areas = np.bincount(comps.ravel(), minlength=n + 1)
            hits = np.bincount(comps.ravel(), weights=(pi == c).ravel(), minlength=n + 1)
            for cid in np.nonzero((areas < small_area) & (np.arange(n + 1) > 0))[0]:
                recall = hits[cid] / areas[cid]
                if recall < small_recall:
                    ys, xs = np.nonzero(comps == cid)
                    missed.append({"class": names[c], "area": int(areas[cid]), "recall": float(recall),
                                   "center": (int(ys.mean()), int(xs.mean()))})
                    missed_pixels |= comps == cid
        if missed:
            evidence["small_region"] = {"missed": missed, "count": len(missed)}
        # boundary errors (wrong pixels of missed small regions are explained already)
        rest = wrong & ~missed_pixels
        if rest.any():
            band = label_boundary_band(ti, dilation_ratio)
            frac = float(rest[band].sum() / rest.sum())
            if frac >= boundary_fraction:
                evidence["boundary"] = {"fraction_in_band": frac, "wrong_pixels": int(rest.sum())}
        # class confusion: the largest off-diagonal share of a true class
        off = cm.astype(float)
        np.fill_diagonal(off, 0)
        share = np.divide(off, cm.sum(1, keepdims=True), out=np.zeros_like(off), where=cm.sum(1, keepdims=True) > 0)
        a, b = np.unravel_index(np.argmax(share), share.shape)
        if share[a, b] >= confusion_fraction and cm[a, b] >= min_confused_pixels:
            evidence["class_confusion"] = {"true": names[a], "predicted": names[b], "pixels": int(cm[a, b]),
                                           "fraction_of_true_class": float(share[a, b])}
        samples.append({"sample": i, "miou": miou, "buckets": [b_ for b_ in BUCKETS if b_ in evidence],
                        "evidence": evidence})
    buckets = {b: [s["sample"] for s in samples if b in s["buckets"]] for b in BUCKETS}
    by_sample = {s["sample"]: s for s in samples}
    worst = {b: sorted(ids, key=lambda j: by_sample[j]["miou"])[:worst_k] for b, ids in buckets.items()}
    return {"samples": samples, "buckets": buckets, "worst": worst,
            "counts": {b: len(v) for b, v in buckets.items()}, "failing": len(samples), "total": len(p)}


def next_step(checklist: Mapping[str, bool]) -> str:
    """The project checklist: return the first step that is not done yet.

    >>> next_step({"classes_defined": True, "mask_quality_checked": True,
    ...            "baseline_ready": True, "failure_buckets_defined": False})
    'First bucket the failure samples.'
    """
    if not isinstance(checklist, Mapping):
        raise TypeError(f"checklist must be a dict of step -> True/False, got {type(checklist).__name__}")
    missing = [key for key, _ in CHECKLIST_STEPS if key not in checklist]
    if missing:
        raise ValueError(f"checklist is missing {missing}; it needs the keys {[k for k, _ in CHECKLIST_STEPS]}")
    for key, _ in CHECKLIST_STEPS:
        check_bool(checklist[key], f"checklist[{key!r}]")
    for key, advice in CHECKLIST_STEPS:
        if not checklist[key]:
            return advice
    return _DONE


def check_annotations(label_maps: Any, num_classes: int, unlabeled: int | None = 255, speck_area: int = 4,
                      thin_ok: Sequence[int] = (), min_image_fraction: float = 0.02) -> list[dict[str, Any]]:
    """Annotation QC: list every suspicious thing found in a set of label maps.

    Kinds of finding: ``out_of_range`` (ids >= num_classes other than ``unlabeled``),
    ``unlabeled_gap`` (pixels left at ``unlabeled``), ``speck`` (a region smaller than
    ``speck_area`` pixels), ``thin`` (a region nowhere wider than one pixel); classes in ``thin_ok``
    are thin or tiny by definition (lane markings) and are not checked for either; ``inconsistent_id`` (an id used in fewer than ``min_image_fraction`` of
    the images: often one annotator's private convention).

    >>> lm = np.zeros((2, 8, 8), int); lm[0, 2, 2] = 1; lm[1, 0, 0] = 255
    >>> sorted({f["kind"] for f in check_annotations(lm, num_classes=2)})
    ['speck', 'unlabeled_gap']
    """
    k = check_num_classes(num_classes)
    if unlabeled is not None:
        check_int(unlabeled, "unlabeled")
    check_int(speck_area, "speck_area", minimum=1)
    check_float(min_image_fraction, "min_image_fraction", lo=0, hi=1)
    lm = as_label_array(label_maps, "label_maps", ndims=(2, 3))
    if lm.ndim == 2:
        lm = lm[None]
    findings: list[dict[str, Any]] = []
    n = len(lm)
    structure = ndimage.generate_binary_structure(2, 1)
    images_with = {}
    for i, m in enumerate(lm):
        ids, counts = np.unique(m, return_counts=True)
        for cid, cnt in zip(ids.tolist(), counts.tolist()):
            images_with[cid] = images_with.get(cid, 0) + 1
            if unlabeled is not None and cid == unlabeled:
                findings.append({"sample": i, "kind": "unlabeled_gap", "class": cid, "pixels": cnt})
            elif cid < 0 or cid >= k:
                findings.append({"sample": i, "kind": "out_of_range", "class": cid, "pixels": cnt})
        for cid in ids.tolist():
            if cid == unlabeled or not 0 <= cid < k:
                continue
            comps, nc = ndimage.label(m == cid, structure)
            if not nc:
                continue
            areas = np.bincount(comps.ravel(), minlength=nc + 1)
            if cid in thin_ok:  # classes that are thin or tiny by definition (lane dashes)
                continue
            for comp in np.nonzero((areas < speck_area) & (np.arange(nc + 1) > 0))[0]:
                ys, xs = np.nonzero(comps == comp)
                findings.append({"sample": i, "kind": "speck", "class": cid, "pixels": int(areas[comp]),
                                 "at": (int(ys[0]), int(xs[0]))})
            if (comps > 0).all():  # one region fills the image: no edge inside it, nothing thin
                continue
            width = ndimage.maximum(ndimage.distance_transform_cdt(comps > 0, metric="taxicab"), comps,
                                    np.arange(1, nc + 1))
            for comp, w in zip(range(1, nc + 1), np.atleast_1d(width)):
                if w <= 1 and areas[comp] >= speck_area:
                    findings.append({"sample": i, "kind": "thin", "class": cid, "pixels": int(areas[comp])})
    for cid, count in images_with.items():
        if cid != unlabeled and count <= max(1, min_image_fraction * n) and n >= 10:
            findings.append({"sample": None, "kind": "inconsistent_id", "class": cid, "images": count})
    return findings


def agreement(mask_a: Any, mask_b: Any, num_classes: int) -> dict[str, Any]:
    """Inter-annotator agreement: per-class IoU of two annotations of the same images.

    No model can be *measured* above the agreement of the labels it is scored against.

    >>> a = [[0, 1, 1, 0]]; b = [[0, 1, 0, 0]]
    >>> res = agreement(a, b, 2)
    >>> res["per_class_iou"].round(3).tolist(), round(res["miou"], 3)
    ([0.667, 0.5], 0.583)
    """
    ious = metrics.per_class_iou(mask_a, mask_b, num_classes)
    return {"per_class_iou": ious, "miou": float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan"),
            "pixel_agreement": metrics.pixel_accuracy(mask_a, mask_b, num_classes)}
