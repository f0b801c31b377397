"""A self-contained HTML portfolio page for a segmentation project (images embedded).

It holds what a failure analysis should show instead of one colourful mask: image /
ground truth / prediction triplets, per-class IoU, the failure samples of each bucket with a
one-line explanation, and "what I would improve next", filled from the buckets.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from . import viz
from ._files import atomic_write, check_target
from ._validate import check_score, get_key

__all__ = ["write_report", "explain", "card_notes", "IMPROVEMENTS"]

IMPROVEMENTS = {
    "false_positive_class": "Stop the model predicting regions that are not there: train on images like the failing "
                            "ones (noise, lighting) and on images without the class, or drop predicted regions below "
                            "a minimum size; report IoU pooled over the data set or over the classes each target has, "
                            "so one stray pixel does not count as a whole failed class.",
    "boundary": "Sharpen edges: train at higher input resolution, add a boundary-aware loss "
                "(Dice or boundary loss), and check that annotators follow one boundary standard.",
    "small_region": "Recover small regions: weight rare classes in the loss (or add Dice), "
                    "oversample images containing them, and avoid downsampling that erases them.",
    "class_confusion": "Separate confused classes: add examples where they meet, revisit whether "
                       "the class definitions are distinct enough, and add colour/lighting augmentation.",
}


def explain(sample: dict[str, Any]) -> str:
    """One line per failing sample, from its measured evidence, ending with its per-class IoU row.

    ``sample`` is one entry of ``bucket_failures(...)["samples"]``. Each bucket's part says the
    number that put the sample there and (``+0.123``) how much the sample's mIoU would rise if
    only the pixels that bucket explains were corrected. A missing key or a score that is not a
    number (None, a string) raises a ``ValueError``/``TypeError`` naming it; NaN is shown as is.

    >>> explain({"sample": 3, "miou": 0.7, "evidence": {"boundary": {"fraction_in_band": 0.8, "wrong_pixels": 40}}})
    'sample 3 (mIoU 0.700): boundary error, 80% of the 40 wrong pixels lie in the boundary band'
    >>> explain({"sample": 5, "miou": 0.5, "primary": "false_positive_class",
    ...          "per_class_iou": {"bg": 1.0, "car": 0.0, "lane": float("nan")},
    ...          "evidence": {"false_positive_class": {"miou_gain": 0.5, "miou_without": 1.0, "pixels": 2,
    ...              "classes": [{"class": "car", "pixels": 2, "regions": 1, "absent_from_target": True}]}}})
    'sample 5 (mIoU 0.500), mainly false positive class: false-positive class (+0.500), car 2 px in 1 region(s) where the target has no car; mIoU over the classes the target has 1.000 | per-class IoU: bg 1.000, car 0.000, lane -'
    >>> explain({"sample": 3, "miou": None, "evidence": {}})
    Traceback (most recent call last):
    ...
    TypeError: sample['miou'] must be a number such as 0.91 (NaN for "no value"), got None (NoneType)
    """
    hint = "pass one entry of bucket_failures(...)['samples']"

    def key(d: Any, k: str, where: str) -> Any:
        return get_key(d, k, where, hint)

    def num(d: Any, k: str, where: str) -> float:
        return check_score(key(d, k, where), f"{where}[{k!r}]")

    parts = []
    ev = key(sample, "evidence", "sample")
    if not isinstance(ev, Mapping):
        raise TypeError(f"sample['evidence'] must be a dict of bucket -> evidence, got {type(ev).__name__}; {hint}")
    miou = num(sample, "miou", "sample")
    head = f"sample {key(sample, 'sample', 'sample')} (mIoU {miou:.3f})"

    def gain(e: dict[str, Any], where: str) -> str:
        return f" (+{num(e, 'miou_gain', where):.3f})" if "miou_gain" in e else ""

    if "false_positive_class" in ev:
        w = "sample['evidence']['false_positive_class']"
        f = ev["false_positive_class"]
        groups = key(f, "classes", w)
        texts = []
        for j, g in enumerate(groups):
            gw = f"{w}['classes'][{j}]"
            texts.append(f"{key(g, 'class', gw)} {key(g, 'pixels', gw)} px in {key(g, 'regions', gw)} region(s)"
                         + (f" where the target has no {g['class']}" if key(g, "absent_from_target", gw) else ""))
        text = f"false-positive class{gain(f, w)}, {', '.join(texts)}"
        if any(g["absent_from_target"] for g in groups):
            text += f"; mIoU over the classes the target has {num(f, 'miou_without', w):.3f}"
        parts.append(text)
    if "small_region" in ev:
        w = "sample['evidence']['small_region']"
        m = key(ev["small_region"], "missed", w)
        descs = []
        for j, x in enumerate(m[:3]):
            xw = f"{w}['missed'][{j}]"
            descs.append(f"{key(x, 'class', xw)} of {key(x, 'area', xw)} px (recall {num(x, 'recall', xw):.0%})")
        desc = ", ".join(descs)
        parts.append(f"missed {len(m)} small region(s){gain(ev['small_region'], w)}: {desc}")
    if "boundary" in ev:
        w = "sample['evidence']['boundary']"
        b = ev["boundary"]
        frac, wrong = num(b, "fraction_in_band", w), key(b, "wrong_pixels", w)
        text = f"boundary error{gain(b, w)}, {frac:.0%} of the {wrong} wrong pixels lie in the boundary band"
        if "band_share" in b:
            text = (f"boundary error{gain(b, w)}, {frac:.0%} of the other {wrong} wrong pixels "
                    f"lie in the boundary band, which covers {num(b, 'band_share', w):.0%} of the image")
        parts.append(text)
    if "class_confusion" in ev:
        w = "sample['evidence']['class_confusion']"
        c = ev["class_confusion"]
        away = " away from the edges" if "pixels_with_band" in c else ""
        parts.append(f"class confusion{gain(c, w)}, {num(c, 'fraction_of_true_class', w):.0%} of {key(c, 'true', w)} "
                     f"({key(c, 'pixels', w)} px) predicted as {key(c, 'predicted', w)}{away}")
    if sample.get("primary"):
        head += f", mainly {str(sample['primary']).replace('_', ' ')}"
    line = head + ": " + "; ".join(parts or ["no bucket matched"])
    if "per_class_iou" in sample:
        per_class = key(sample, "per_class_iou", "sample")
        vals = {n: check_score(v, f"sample['per_class_iou'][{n!r}]") for n, v in per_class.items()}
        line += " | per-class IoU: " + ", ".join(f"{n} {v:.3f}" if v == v else f"{n} -" for n, v in vals.items())
    return line


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def write_report(path: str | os.PathLike, images: Any, targets: Any, preds: Any, class_names: Sequence[str],
                 per_class_iou: Sequence[float], per_sample_miou: Sequence[float], buckets: dict[str, Any],
                 palette: Any = None, title: str = "Segmentation project report", overwrite: bool = False,
                 notes: str = "", n_triplets: int = 3) -> Path:
    """Write the portfolio page to ``path`` (HTML, every image embedded); return the path.

    All numbers are passed in (from :mod:`segcourse.metrics` and
    :func:`segcourse.failures.bucket_failures`); nothing is recomputed here. Scores must be
    numbers (NaN allowed, None or a string raises naming its position) and ``buckets`` must hold
    what ``bucket_failures`` returns for every bucket it lists. Refuses to replace an existing
    file unless ``overwrite=True``; the file is written atomically.
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"the report is an HTML page; give a path ending in .html, got {path.name}")
    check_target(path, overwrite)   # a folder, or an existing file without overwrite=True: refuse before any work
    if isinstance(n_triplets, bool) or not isinstance(n_triplets, (int, np.integer)) or n_triplets < 1:
        raise ValueError(f"n_triplets must be a positive integer, got {n_triplets!r}")
    ious = np.array([check_score(v, f"per_sample_miou[{i}]") for i, v in enumerate(per_sample_miou)], float)
    class_ious = np.array([check_score(v, f"per_class_iou[{i}]") for i, v in enumerate(per_class_iou)], float)
    if not isinstance(buckets, Mapping):
        raise TypeError(f"buckets must be the dict bucket_failures(...) returns, got {type(buckets).__name__}")
    hint = "pass the dict bucket_failures(...) returns"
    for field in ("worst", "counts"):
        unknown = [b for b in buckets.get(field, {}) if b not in IMPROVEMENTS]
        if unknown:
            raise ValueError(f"buckets[{field!r}] has unknown bucket(s) {unknown}; the buckets are {list(IMPROVEMENTS)}")
    worst = buckets.get("worst", {})
    if worst:
        counts = get_key(buckets, "counts", "buckets", hint)
        samples = get_key(buckets, "samples", "buckets", hint)
        known = {get_key(x, "sample", "an entry of buckets['samples']", hint) for x in samples}
        for bucket, ids in worst.items():
            get_key(counts, bucket, "buckets['counts']", hint)
            missing = [i for i in ids if i not in known]
            if missing:
                raise ValueError(f"buckets['worst'][{bucket!r}] lists sample(s) {missing} that buckets['samples'] "
                                 f"does not describe; {hint}")
    if len(ious) != len(images):
        raise ValueError(f"{len(ious)} per-sample scores for {len(images)} images")
    order = np.argsort(-np.nan_to_num(ious, nan=-1))
    best = order[: max(1, n_triplets)]
    sections = [f"<h1>{html.escape(title)}</h1>"]
    if notes:
        sections.append(f"<p>{html.escape(notes)}</p>")
    sections.append("<h2>Triplets: image / ground truth / prediction</h2>")
    for i in best:
        fig = viz.triplet(images[i], targets[i], preds[i], class_names, palette, title=f"sample {i}", scores={"mIoU": ious[i]})
        sections.append(f'<img alt="triplet of sample {i}" src="{_png(fig)}">')
    sections.append("<h2>Per-class IoU</h2><table><tr><th>class</th><th>IoU</th></tr>")
    sections += [f"<tr><td>{html.escape(n)}</td><td>{'n/a' if np.isnan(v) else f'{v:.3f}'}</td></tr>"
                 for n, v in zip(class_names, class_ious)]
    sections.append("</table>")
    fig, ax = plt.subplots(1, 2, figsize=(10, 3))
    viz.per_class_bar(class_ious, class_names, palette, ax=ax[0])
    viz.per_sample_strip(ious, ax=ax[1])
    sections.append(f'<img alt="per-class IoU and per-sample spread" src="{_png(fig)}">')
    sections.append(f"<p>Mean of per-sample mIoU: {np.nanmean(ious):.3f}; worst sample: {np.nanmin(ious):.3f}. "
                    f"{buckets.get('failing', 0)} of {buckets.get('total', len(ious))} samples fail.</p>")
    sections.append("<h2>Failure samples by bucket</h2>")
    by_sample = {s["sample"]: s for s in buckets.get("samples", [])}
    for bucket, ids in buckets.get("worst", {}).items():
        sections.append(f"<h3>{bucket.replace('_', ' ')} ({buckets['counts'][bucket]} samples)</h3>")
        if not ids:
            sections.append("<p>No sample in this bucket.</p>")
            continue
        lines = [explain(by_sample[i]) for i in ids]
        fig = viz.failure_gallery([images[i] for i in ids], [targets[i] for i in ids], [preds[i] for i in ids],
                                  [by_sample[i]["miou"] for i in ids], k=len(ids), palette=palette, ids=ids)
        sections.append(f'<img alt="{bucket} failures" src="{_png(fig)}"><ul>'
                        + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>")
    sections.append("<h2>What I would improve next</h2><ol>")
    ranked = sorted(buckets.get("counts", {}).items(), key=lambda kv: -kv[1])
    for bucket, count in ranked:
        if count:
            sections.append(f"<li><b>{bucket.replace('_', ' ')}</b> ({count} samples): {html.escape(IMPROVEMENTS[bucket])}</li>")
    if not any(c for _, c in ranked):
        sections.append("<li>No failing samples at this threshold: raise the bar or test on harder data.</li>")
    sections.append("</ol>")
    style = ("body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}"
             "img{max-width:100%;display:block;margin:.5em 0}table{border-collapse:collapse}"
             "td,th{border:1px solid #bbb;padding:.2em .8em;text-align:left}h2{border-bottom:1px solid #ddd}")
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(sections)}</body></html>\n")
    return atomic_write(path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"), overwrite=overwrite)


def card_notes(sample: Mapping[str, Any], score: float, stray: Mapping[str, Sequence[int]],
               qc: Sequence[Mapping[str, Any]]) -> list[str]:
    """The evidence card's notes for one failing sample, one measured fact a line.

    Parameters
    ----------
    sample : one entry of ``bucket_failures(...)["samples"]``.
    score : the sample's mIoU over the classes its target has.
    stray : class name -> sizes (px) of the predicted regions that hold no true pixel of that class.
    qc : the sample's findings of ``check_annotations`` (each with ``kind`` and ``pixels``).

    Returns
    -------
    list of str: the sample and its score, the primary bucket and its gain, the stray regions,
    the boundary and class-confusion evidence (when the sample has it), the QC findings and the
    small regions missed.

    >>> s = {"sample": 7, "primary": "boundary", "evidence": {"boundary": {"miou_gain": 0.05,
    ...      "fraction_in_band": 0.8, "band_share": 0.25}}}
    >>> for line in card_notes(s, 0.81, {"car": [3, 5]}, [{"kind": "thin", "pixels": 9}]):
    ...     print(line)
    sample 7: lowest mIoU over its target's classes (0.810)
    primary bucket: boundary, fixing it +0.050 mIoU
    stray regions: car 2 (8 px, largest 5 px)
    boundary: 80% of its other wrong pixels lie in the band (25% of the image), fixing them +0.050
    annotation QC: 1 finding(s) in #7: thin of 9 px
    small regions missed: 0 (true regions of 4 to 39 px found below 50 %)
    """
    i, ev = sample["sample"], sample["evidence"]
    check_score(score, "score")
    notes = [f"sample {i}: lowest mIoU over its target's classes ({score:.3f})",
             f"primary bucket: {sample['primary'].replace('_', ' ')}, fixing it +{ev[sample['primary']]['miou_gain']:.3f} mIoU",
             "stray regions: " + (", ".join(f"{c} {len(v)} ({sum(v)} px, largest {max(v)} px)"
                                            for c, v in stray.items()) or "none")]
    if "boundary" in ev:
        b = ev["boundary"]
        notes.append(f"boundary: {b['fraction_in_band']:.0%} of its other wrong pixels lie in the band "
                     f"({b['band_share']:.0%} of the image), fixing them +{b['miou_gain']:.3f}")
    if "class_confusion" in ev:
        cc = ev["class_confusion"]
        notes.append(f"class confusion: {cc['fraction_of_true_class']:.0%} of {cc['true']} ({cc['pixels']} px) "
                     f"predicted as {cc['predicted']} away from the edges")
    missed = ev.get("small_region", {}).get("missed", [])
    notes += [f"annotation QC: {len(qc)} finding(s) in #{i}"
              + (": " + ", ".join(f"{f['kind']} of {f['pixels']} px" for f in qc) if qc else ""),
              f"small regions missed: {len(missed)} (true regions of 4 to 39 px found below 50 %)"]
    return notes
