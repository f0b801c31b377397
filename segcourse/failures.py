"""Segmentation practice: per-sample scores, failure buckets backed by numbers, annotation QC.

A segmentation project is first a data and evaluation project. This module turns predictions
and targets into the evidence a report needs: one row per sample (so the mean cannot hide a bad
one), failure samples sorted into failure buckets -- **false-positive class**, **boundary error**,
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
    "bucket_pixels",
    "next_step",
    "check_annotations",
    "agreement",
]

BUCKETS = ("false_positive_class", "small_region", "boundary", "class_confusion")

#: The project checklist, in order: (key, what to do when it is not done yet).
CHECKLIST_STEPS = (
    ("classes_defined", "First narrow down the class definitions."),
    ("mask_quality_checked", "First sample-check the mask annotation quality."),
    ("baseline_ready", "First build a minimal baseline."),
    ("failure_buckets_defined", "First bucket the failure samples."),
)
_DONE = "You can continue with targeted optimization."


def _batch(preds: Any, targets: Any, num_classes: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The one validation of a public function's (preds, targets): (N, H, W) label arrays with ids
    in ``0..K-1``. Everything after it uses metrics' private helpers, which do not check again."""
    k = metrics._check_max_classes(check_num_classes(num_classes), metrics.MAX_CM_CLASSES)  # a dense (K, K) per sample
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
    return _label_boundary_band(as_label_array(label_map, "label_map", ndims=(2, 3)), dilation_ratio)


def _label_boundary_band(lm: np.ndarray, dilation_ratio: float) -> np.ndarray:
    """:func:`label_boundary_band` of a checked integer label array."""
    band = np.zeros(lm.shape, bool)
    for c in np.unique(lm):  # union of every class's inner band, the image edge not counted as an edge
        band |= metrics._boundary_band(lm == c, dilation_ratio, image_border=False)
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
        cm = metrics._confusion_matrix(pi, ti, k)
        ious = metrics._iou_from_cm(cm)
        dices = metrics._dice_from_cm(cm)
        present = np.unique(ti)
        b = [metrics._boundary_iou(pi == c, ti == c, dilation_ratio) for c in present]
        row: dict[str, Any] = {"sample": i}
        row.update({f"iou_{n}": float(v) for n, v in zip(names, ious)})
        row["miou"] = float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")
        row["dice"] = float(np.nanmean(dices)) if np.isfinite(dices).any() else float("nan")
        row["boundary_iou"] = float(np.nanmean(b)) if len(b) else float("nan")
        row.update({f"area_{n}": int(a) for n, a in zip(names, cm.sum(1))})
        rows.append(row)
    return rows


def _miou(pi: np.ndarray, ti: np.ndarray, k: int) -> float:
    ious = metrics._iou_from_cm(metrics._confusion_matrix(pi, ti, k))
    return float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")


def _check_rules(dilation_ratio: float, boundary_enrichment: float, small_area: int, min_area: int,
                 small_recall: float, confusion_fraction: float, min_confused_pixels: int) -> None:
    """Validate the bucket rules' parameters (shared by :func:`bucket_failures` and :func:`bucket_pixels`)."""
    for name, v in (("small_recall", small_recall), ("confusion_fraction", confusion_fraction)):
        check_float(v, name, lo=0, hi=1)
    check_float(dilation_ratio, "dilation_ratio", lo=0)
    check_float(boundary_enrichment, "boundary_enrichment", lo=0)
    check_int(small_area, "small_area", minimum=1)
    check_int(min_area, "min_area", minimum=1)
    check_int(min_confused_pixels, "min_confused_pixels", minimum=0)


def _explain(pi: np.ndarray, ti: np.ndarray, cm: np.ndarray, ious: np.ndarray, names: Sequence[str], k: int,
             dilation_ratio: float, boundary_enrichment: float, small_area: int, min_area: int,
             small_recall: float, confusion_fraction: float, min_confused_pixels: int
             ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One sample's buckets: (evidence of each member bucket, the wrong pixels each bucket explains)."""
    structure = ndimage.generate_binary_structure(2, 2)  # a region: pixels joined by an edge or a corner
    evidence: dict[str, Any] = {}
    groups: dict[str, np.ndarray] = {}  # the wrong pixels each bucket explains
    wrong = pi != ti
    # 1. regions of a class predicted where the target has none of that class
    in_target = cm.sum(1) > 0
    ghost = np.zeros(ti.shape, bool)
    ghosts = []
    for c in np.nonzero(cm.sum(0) > 0)[0]:
        comps, n = ndimage.label(pi == c, structure)
        touch = np.bincount(comps.ravel(), weights=(ti == c).ravel(), minlength=n + 1)
        ids = np.nonzero((touch == 0) & (np.arange(n + 1) > 0))[0]
        if len(ids):
            here = np.isin(comps, ids)
            ghost |= here
            ghosts.append({"class": names[c], "pixels": int(here.sum()), "regions": len(ids),
                           "absent_from_target": not in_target[c]})
    if any(g["absent_from_target"] for g in ghosts) or ghost.sum() >= min_confused_pixels:
        groups["false_positive_class"] = ghost
        evidence["false_positive_class"] = {"classes": ghosts, "pixels": int(ghost.sum()),
                                            "miou_without": float(np.nanmean(ious[in_target]))}
    # 2. small ground-truth regions missed (scraps below min_area only counted)
    missed_pixels = np.zeros(ti.shape, bool)
    missed, scraps = [], 0
    for c in np.unique(ti):
        comps, n = ndimage.label(ti == c, structure)
        areas = np.bincount(comps.ravel(), minlength=n + 1)
        hits = np.bincount(comps.ravel(), weights=(pi == c).ravel(), minlength=n + 1)
        recall = hits / np.maximum(areas, 1)
        low = (np.arange(n + 1) > 0) & (areas < small_area) & (recall < small_recall)
        scraps += int((low & (areas < min_area)).sum())
        ids = np.nonzero(low & (areas >= min_area))[0]
        if len(ids):
            centres = ndimage.center_of_mass(np.ones(ti.shape), comps, ids)
            missed += [{"class": names[c], "area": int(areas[j]), "recall": float(recall[j]),
                        "center": (int(round(cy)), int(round(cx)))} for j, (cy, cx) in zip(ids, centres)]
            missed_pixels |= np.isin(comps, ids)
    if missed:
        groups["small_region"] = missed_pixels & wrong
        evidence["small_region"] = {"missed": missed, "count": len(missed), "scraps_missed": scraps}
    explained = np.zeros(ti.shape, bool)
    for g in groups.values():
        explained |= g
    rest = wrong & ~explained
    # 3. boundary: the rest, compared with the band's share of the image
    band = _label_boundary_band(ti, dilation_ratio)
    groups["boundary"] = rest & band
    if rest.any():
        frac = float(rest[band].sum() / rest.sum())
        band_share = float(band.mean())
        if band_share > 0 and frac >= boundary_enrichment * band_share:
            evidence["boundary"] = {"fraction_in_band": frac, "band_share": band_share,
                                    "enrichment": frac / band_share, "wrong_pixels": int(rest.sum())}
    # 4. class confusion away from the band: the largest share of a true class
    inner = rest & ~band
    # int64 before K*t: uint8 labels (the data sets' dtype) wrap around once K*K > 256
    off = np.bincount((ti[inner].astype(np.int64) * k + pi[inner]).ravel(), minlength=k * k).reshape(k, k)
    share = off / np.maximum(cm.sum(1, keepdims=True), 1)
    a, b = np.unravel_index(np.argmax(share), share.shape)
    groups["class_confusion"] = inner & (ti == a) & (pi == b)
    if share[a, b] >= confusion_fraction and off[a, b] >= min_confused_pixels:
        evidence["class_confusion"] = {"true": names[a], "predicted": names[b], "pixels": int(off[a, b]),
                                       "fraction_of_true_class": float(share[a, b]),
                                       "pixels_with_band": int(cm[a, b])}
    return evidence, groups


def bucket_failures(
    preds: Any,
    targets: Any,
    num_classes: int,
    class_names: Sequence[str] | None = None,
    fail_below: float = 0.9,
    dilation_ratio: float = 0.02,
    boundary_enrichment: float = 2.0,
    small_area: int = 40,
    min_area: int = 4,
    small_recall: float = 0.5,
    confusion_fraction: float = 0.1,
    min_confused_pixels: int = 20,
    worst_k: int = 3,
) -> dict[str, Any]:
    """Sort failing samples (mIoU < ``fail_below``) into four buckets, each with its evidence.

    Every wrong pixel of a failing sample is explained at most once, in this order:

    * **false_positive_class** -- a class predicted where the target has none of it: predicted
      regions that touch no true pixel of their class. A class absent from the whole target
      counts from one pixel, since one stray pixel gives that class IoU 0 and a per-image mean
      counts it as a whole failed class (``miou_without`` is the mIoU over the classes the
      target has); regions beside a class the target has count from ``min_confused_pixels``.
    * **small_region** -- a ground-truth region (8-connected) of ``min_area <= area < small_area`` pixels
      whose recall is below ``small_recall``. Components below ``min_area`` (the size
      :func:`check_annotations` calls a speck) are scraps, not objects: they are counted in
      the evidence (``scraps_missed``) but never fill the bucket.
    * **boundary** -- the remaining wrong pixels lie in the boundary band at least
      ``boundary_enrichment`` times as often as pixels at random would: the band covers
      ``band_share`` of the image, so errors spread at random put that share in it.
    * **class_confusion** -- away from the band, at least ``confusion_fraction`` of a true
      class's pixels (and at least ``min_confused_pixels``) were predicted as one other class.

    A sample may sit in several buckets (``overlaps`` counts each combination). For each bucket
    the evidence also holds ``miou_gain``: the sample's mIoU if only the wrong pixels that bucket
    explains were corrected, minus its mIoU. ``primary`` is the member bucket with the largest
    gain, so the primaries partition the failing samples (``None`` when no bucket matched).

    Samples whose mIoU has no value (NaN: no pixel of any class in target or prediction, i.e.
    an image with no pixels) are **not failures**: nothing was wrong in them. They are skipped --
    listed in ``empty`` and left out of ``samples``, every bucket and ``failing`` (``total``
    still counts them).

    Returns ``samples`` (per failing sample: mIoU, per-class IoU, buckets, primary, evidence),
    ``buckets`` (sample indices per bucket), ``worst`` (per bucket, the ``worst_k`` samples it
    costs the most mIoU), ``counts``, ``primary_counts``, ``overlaps``, ``failing``, ``empty``,
    ``total``.

    >>> t = np.zeros((1, 20, 20), int); t[0, 5:15, 5:15] = 1
    >>> p = np.roll(t, 1, axis=2)                       # shifted one pixel: a boundary error
    >>> res = bucket_failures(p, t, 2, fail_below=0.95)
    >>> res["buckets"]["boundary"], round(res["samples"][0]["evidence"]["boundary"]["fraction_in_band"], 2)
    ([0], 1.0)
    >>> p = t.copy(); p[0, 0, 0] = 2                    # one pixel of a class the target lacks
    >>> s = bucket_failures(p, t, 3)["samples"][0]
    >>> s["buckets"], round(s["miou"], 3), round(s["evidence"]["false_positive_class"]["miou_without"], 3)
    (['false_positive_class'], 0.666, 0.998)
    >>> res = bucket_failures(np.zeros((2, 0, 0), int), np.zeros((2, 0, 0), int), 2)   # images without pixels
    >>> res["failing"], res["empty"], res["total"]
    (0, [0, 1], 2)
    """
    check_float(fail_below, "fail_below", lo=0, hi=1)
    _check_rules(dilation_ratio, boundary_enrichment, small_area, min_area, small_recall, confusion_fraction,
                 min_confused_pixels)
    check_int(worst_k, "worst_k", minimum=0)
    p, t, k = _batch(preds, targets, num_classes)
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for {k} classes")
    samples, empty = [], []
    for i, (pi, ti) in enumerate(zip(p, t)):
        cm = metrics._confusion_matrix(pi, ti, k)
        ious = metrics._iou_from_cm(cm)
        if not np.isfinite(ious).any():  # no pixel of any class: nothing to get wrong, not a failure
            empty.append(i)
            continue
        miou = float(np.nanmean(ious))
        if miou >= fail_below:
            continue
        evidence, groups = _explain(pi, ti, cm, ious, names, k, dilation_ratio, boundary_enrichment, small_area,
                                    min_area, small_recall, confusion_fraction, min_confused_pixels)
        for name, ev in evidence.items():
            ev["miou_gain"] = _miou(np.where(groups[name], ti, pi), ti, k) - miou
        members = [b_ for b_ in BUCKETS if b_ in evidence]
        samples.append({"sample": i, "miou": miou, "per_class_iou": dict(zip(names, ious.tolist())),
                        "buckets": members,
                        "primary": max(members, key=lambda b_: evidence[b_]["miou_gain"]) if members else None,
                        "evidence": evidence})
    buckets = {b: [s["sample"] for s in samples if b in s["buckets"]] for b in BUCKETS}
    by_sample = {s["sample"]: s for s in samples}
    worst = {b: sorted(ids, key=lambda j: -by_sample[j]["evidence"][b]["miou_gain"])[:worst_k]
             for b, ids in buckets.items()}
    combos: dict[tuple[str, ...], int] = {}
    for s in samples:
        combos[tuple(s["buckets"])] = combos.get(tuple(s["buckets"]), 0) + 1
    return {"samples": samples, "buckets": buckets, "worst": worst,
            "counts": {b: len(v) for b, v in buckets.items()},
            "primary_counts": {b: sum(s["primary"] == b for s in samples) for b in (*BUCKETS, None)},
            "overlaps": dict(sorted(combos.items(), key=lambda kv: -kv[1])),
            "failing": len(samples), "empty": empty, "total": len(p)}


def bucket_pixels(
    pred: Any,
    target: Any,
    num_classes: int,
    dilation_ratio: float = 0.02,
    boundary_enrichment: float = 2.0,
    small_area: int = 40,
    min_area: int = 4,
    small_recall: float = 0.5,
    confusion_fraction: float = 0.1,
    min_confused_pixels: int = 20,
) -> dict[str, np.ndarray]:
    """Which wrong pixels of one sample each of its buckets explains, for a figure coloured by bucket.

    Runs the rules of :func:`bucket_failures` (same parameters) on one ``(H, W)`` prediction and
    target, whatever its mIoU. Returns a boolean ``(H, W)`` mask per bucket the sample sits in
    (in the order of ``BUCKETS``), each wrong pixel under the first bucket that explains it, and
    ``"no bucket"``: the wrong pixels none of its buckets explains.

    >>> t = np.zeros((20, 20), int); t[5:15, 5:15] = 1
    >>> p = np.roll(t, 1, axis=1); p[0, 0] = 2            # edges one pixel off, one pixel of a class t lacks
    >>> {b: int(m.sum()) for b, m in bucket_pixels(p, t, 3).items()}
    {'false_positive_class': 1, 'boundary': 20, 'no bucket': 0}
    """
    _check_rules(dilation_ratio, boundary_enrichment, small_area, min_area, small_recall, confusion_fraction,
                 min_confused_pixels)
    p, t, k = _batch(pred, target, num_classes)
    if len(p) != 1:
        raise ValueError(f"bucket_pixels takes one sample, (H, W) label maps; got {len(p)} samples")
    pi, ti = p[0], t[0]
    cm = metrics._confusion_matrix(pi, ti, k)
    evidence, groups = _explain(pi, ti, cm, metrics._iou_from_cm(cm), [str(c) for c in range(k)], k, dilation_ratio,
                                boundary_enrichment, small_area, min_area, small_recall, confusion_fraction,
                                min_confused_pixels)
    left = pi != ti
    out = {}
    for b in BUCKETS:
        if b in evidence:
            out[b] = groups[b] & left
            left = left & ~groups[b]
    out["no bucket"] = left
    return out


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
    a, b, k = metrics._labels_pair(mask_a, mask_b, num_classes, None)  # checked once, as per_class_iou does
    ious = metrics._per_class_iou(a, b, k)
    return {"per_class_iou": ious, "miou": float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan"),
            "pixel_agreement": float(np.count_nonzero(a == b) / a.size) if a.size else float("nan")}
