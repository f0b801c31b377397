"""Figures for segmentation evidence: overlays, triplets, error maps, evidence cards.

Viz draws arrays and numbers it is given; it never computes a metric itself (scores come from
:mod:`segcourse.metrics` or :mod:`segcourse.failures`). Everything works headless (Agg).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.legend import Legend
from matplotlib.legend_handler import HandlerPatch
from matplotlib.patches import Patch
from scipy import ndimage

from ._validate import (as_binary, as_images, as_label_array, check_axes, check_enough_colours, check_float,
                        check_int, check_label_range, check_nonnegative, check_same_size, check_score, to_numpy)
from . import palette as _pal
from .masks import PALETTE, check_colors

__all__ = [
    "ERROR_COLOURS",
    "OUTCOME_LABELS",
    "overlay",
    "legend_handles",
    "outcome_handles",
    "outcome_legend",
    "show_mask",
    "triplet",
    "task_outputs",
    "fault_notes",
    "error_map",
    "boundary_error_map",
    "confidence_map",
    "per_class_bar",
    "per_sample_strip",
    "failure_gallery",
    "evidence_card",
    "click_evidence_card",
    "errors_over_image",
    "matched_handle",
    "instance_overlay",
    "matched_overlay",
    "matched_instance_colours",
    "instance_match_map",
]

#: Colours of the error map (RGB uint8), all from :mod:`segcourse.palette`: true positive, false
#: positive, false negative, true negative; for several classes "correct" (grey) and "wrong class"
#: (magenta). No outcome or error colour is within CIEDE2000 20 of any class colour of any data set.
ERROR_COLOURS = {
    **{k: _pal.OUTCOME_COLOURS[k] for k in ("TP", "FP", "FN")},
    "TN": _pal.NEUTRAL_COLOURS["TN"], "correct": _pal.NEUTRAL_COLOURS["correct"],
    "wrong class": _pal.ERROR_COLOURS["wrong"], "ignored": _pal.NEUTRAL_COLOURS["ignored"],
    "boundary error": _pal.ERROR_COLOURS["boundary error"], "interior error": _pal.ERROR_COLOURS["interior error"],
}

#: What each outcome means in a legend.
OUTCOME_LABELS = {"TP": "TP: found (matched)", "FP": "FP: false alarm (prediction only)",
                  "FN": "FN: missed (truth only)"}


def _palette(palette: Any) -> np.ndarray:
    return PALETTE if palette is None else check_colors(palette, "palette")


def _label_map(mask: Any, name: str, palette: Any) -> np.ndarray:
    """A 2-D label map whose ids all have a colour in the palette."""
    lm = as_label_array(mask, name, ndims=(2,))
    pal = _palette(palette)
    if lm.size and (lm.min() < 0 or lm.max() >= len(pal)):
        check_label_range(lm, name, len(pal))  # raises, naming the ids
    return lm


def _image(image: Any) -> np.ndarray:
    """An image for display, in the package convention: float in [0, 1] (uint8 divided by 255).

    Grayscale ``(H, W)`` or ``(H, W, 1)`` is repeated to RGB; float images outside [0, 1] raise.
    """
    img = to_numpy(image, "image")
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim == 3 and img.shape[-1] == 1:
        img = np.repeat(img, 3, -1)
    return as_images(img, "image", single=True)


def overlay(image: Any, mask: Any, alpha: float = 0.45, palette: Any = None,
            skip_background: bool = True) -> np.ndarray:
    """Blend a label map over an image with the palette colours; returns (H, W, 3) floats.

    Background (class 0) is left uncoloured unless ``skip_background=False``.

    >>> img = np.zeros((2, 2, 3)); out = overlay(img, [[0, 1], [1, 0]], alpha=0.5)
    >>> out[0, 0].tolist(), [round(float(v), 3) for v in out[0, 1]]
    ([0.0, 0.0, 0.0], [0.451, 0.312, 0.0])
    """
    img = _image(image)
    lm = _label_map(mask, "mask", palette)
    if lm.shape != img.shape[:2]:
        raise ValueError(f"mask {lm.shape} and image {img.shape[:2]} must have the same height and width")
    check_float(alpha, "alpha", lo=0, hi=1)
    colours = _palette(palette)[lm].astype(np.float32) / 255
    out = (1 - alpha) * img + alpha * colours
    if skip_background:
        out = np.where(lm[..., None] > 0, out, img)
    return out


def _scores(scores: Any, name: str = "scores") -> dict[str, float]:
    """``{name: number}`` for display; strings, None and bools raise naming the key (NaN is allowed).

    Entries that are sequences (e.g. ``"per_class"``) are left out: they are drawn elsewhere.
    """
    if not isinstance(scores, Mapping):
        raise TypeError(f"{name} must be a dict such as {{'mIoU': 0.91}}, got {type(scores).__name__}")
    return {str(k): check_score(v, f"{name}[{k!r}]") for k, v in scores.items() if np.ndim(v) == 0}


def legend_handles(class_names: Sequence[str], palette: Any = None) -> list[Patch]:
    """Legend patches, one per class, in palette colours.

    More classes than the palette has colours (the course palette has 16) raise a ``ValueError``
    that says to pass ``palette=``.

    >>> [h.get_label() for h in legend_handles(["bg", "road"])]
    ['0 bg', '1 road']
    >>> legend_handles([f"c{i}" for i in range(17)])
    Traceback (most recent call last):
    ...
    ValueError: class_names has 17 classes but the palette has only 16 colours; pass palette= with one 0..255 RGB colour per class, shape (17, 3)
    """
    pal = _palette(palette)
    check_enough_colours(len(class_names), pal)
    return [Patch(facecolor=pal[i] / 255, edgecolor="black", label=f"{i} {name}")
            for i, name in enumerate(class_names)]


def outcome_handles(kinds: Sequence[str] = ("TP", "FP", "FN"), fn_outline: bool = False,
                    labels: Mapping[str, str] | None = None) -> list[Patch]:
    """Legend patches for the outcome colours of :mod:`segcourse.palette` (TP / FP / FN, also "TN").

    Parameters
    ----------
    kinds : which outcomes, in order.
    fn_outline : draw FN as an outline (for figures that outline missed objects).
    labels : text per outcome (default :data:`OUTCOME_LABELS`).

    Returns
    -------
    list of matplotlib.patches.Patch

    >>> [h.get_label() for h in outcome_handles()]
    ['TP: found (matched)', 'FP: false alarm (prediction only)', 'FN: missed (truth only)']
    >>> tuple(round(v * 255) for v in outcome_handles(["FN"])[0].get_facecolor()[:3])
    (40, 40, 230)
    """
    text = {**OUTCOME_LABELS, "TN": "TN: background in both", **(labels or {})}
    handles = []
    for k in kinds:
        if k not in ERROR_COLOURS or k not in text:
            raise ValueError(f"unknown outcome {k!r}; expected some of 'TP', 'FP', 'FN', 'TN'")
        colour = np.array(ERROR_COLOURS[k]) / 255
        if k == "FN" and fn_outline:
            handles.append(Patch(facecolor="none", edgecolor=colour, linewidth=2, label=text[k] + " (outline)"))
        else:
            handles.append(Patch(facecolor=colour, edgecolor="black", linewidth=0.5, label=text[k]))
    return handles


def outcome_legend(ax=None, kinds: Sequence[str] = ("TP", "FP", "FN"), fn_outline: bool = False,
                   labels: Mapping[str, str] | None = None, **kwargs: Any):
    """Draw the TP / FP / FN legend under ``ax`` (or, for a figure, along its bottom).

    Parameters
    ----------
    ax : matplotlib Axes or Figure; ``None`` draws under the current axes.
    kinds, fn_outline, labels : as for :func:`outcome_handles`.
    **kwargs : passed to ``legend`` (e.g. ``ncol=1``, ``loc=...``).

    Returns
    -------
    matplotlib.legend.Legend

    >>> fig, ax = plt.subplots(); [t.get_text()[:2] for t in outcome_legend(ax).get_texts()]
    ['TP', 'FP', 'FN']
    >>> plt.close(fig)
    """
    if ax is None:
        ax = plt.gca()
    handles = outcome_handles(kinds, fn_outline, labels)
    if isinstance(ax, plt.Figure):
        options = dict(loc="lower center", ncol=len(handles), frameon=False, fontsize=9)
    else:
        options = dict(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=1, frameon=False, fontsize=8)
    return ax.legend(handles=handles, **{**options, **kwargs})


def show_mask(ax, mask: Any, palette: Any = None, title: str | None = None) -> None:
    """Draw a label map on ``ax`` in palette colours (nearest-neighbour, no axes).

    ``ax=None`` draws on the current axes (``plt.gca()``, a new figure if there is none).

    >>> show_mask(None, [[0, 1], [1, 2]], title="mask"); plt.gca().get_title()
    'mask'
    >>> plt.close("all")
    """
    lm = _label_map(mask, "mask", palette)
    if ax is None:
        ax = plt.gca()
    check_axes(ax)
    ax.imshow(_palette(palette)[lm], interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def triplet(image: Any, target: Any, pred: Any, class_names: Sequence[str] | None = None,
            palette: Any = None, title: str | None = None, scores: dict | None = None):
    """Image / ground truth / prediction side by side, with a class legend (the portfolio figure).

    ``scores`` (e.g. ``{"mIoU": 0.91}``, computed elsewhere) are written under the prediction;
    they must be numbers (a string or None raises). ``image``, ``target`` and ``pred`` must have
    the same height and width, and the palette a colour for every class name.

    >>> fig = triplet(np.zeros((4, 4, 3)), np.zeros((4, 4), int), np.ones((4, 4), int), ["bg", "fg"])
    >>> [ax.get_title() for ax in fig.axes]
    ['image', 'ground truth', 'prediction']
    >>> plt.close(fig)
    """
    img = _image(image)
    t = _label_map(target, "target", palette)
    p = _label_map(pred, "pred", palette)
    check_same_size(image=img.shape, target=t.shape, pred=p.shape)
    shown = _scores(scores) if scores else {}
    if class_names:
        check_enough_colours(len(class_names), _palette(palette))
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.3))
    axes[0].imshow(img, interpolation="nearest")
    axes[0].set_title("image")
    axes[0].set_axis_off()
    show_mask(axes[1], t, palette, "ground truth")
    show_mask(axes[2], p, palette, "prediction")
    if shown:
        axes[2].text(0.5, -0.08, "   ".join(f"{k} {v:.3f}" for k, v in shown.items()),
                     transform=axes[2].transAxes, ha="center", va="top")
    if class_names:
        fig.legend(handles=legend_handles(class_names, palette), loc="lower center",
                   ncol=min(len(class_names), 6), frameon=False, bbox_to_anchor=(0.5, -0.02))
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1 if class_names else 0, 1, 1))
    return fig


def task_outputs(image: Any, label_map: Any, instances: Any, class_names: Sequence[str], palette: Any = None,
                 colours: Mapping[int, Any] | None = None, object_name: str = "object"):
    """One picture, four answers: a class label, boxes, a label map and instance masks, side by side.

    The boxes are the bounding boxes of the ``instances`` (each drawn in that instance's colour,
    with a black halo); the class legend below the panels gives the colours of ``label_map``.

    Parameters
    ----------
    image : the image, ``(H, W)`` or ``(H, W, 3)``.
    label_map : ``(H, W)`` class ids (the semantic segmentation).
    instances : ``(H, W)`` instance ids, 0 background, 1..n one object each (e.g. from
        ``scipy.ndimage.label``).
    class_names : one name per class id; ``palette`` must have a colour for each.
    palette : class colours (default: the course's generic palette).
    colours : ``{instance id: 0..255 RGB}``, one colour per instance for its box and its mask
        (default: :data:`segcourse.palette.INSTANCE_COLOURS` in turn).
    object_name : what an instance is, for the titles ("car" gives "'contains a car'", "3 boxes").

    Returns
    -------
    matplotlib.figure.Figure
        The figure, with four panels.

    >>> inst = np.zeros((6, 6), int); inst[1:3, 1:3] = 1; inst[4:, 3:] = 2
    >>> fig = task_outputs(np.zeros((6, 6, 3)), (inst > 0).astype(int), inst, ["bg", "box"], object_name="box")
    >>> [ax.get_title().replace("\\n", " ") for ax in fig.axes]
    ["class label: 'contains a box'", 'detection: 2 boxes', 'semantic segmentation: one class per pixel', 'instance segmentation: one mask per box']
    >>> plt.close(fig)
    """
    from matplotlib import patheffects

    img = _image(image)
    t = _label_map(label_map, "label_map", palette)
    inst = as_label_array(instances, "instances", ndims=(2,))
    check_same_size(image=img.shape, label_map=t.shape, instances=inst.shape)
    check_enough_colours(len(class_names), _palette(palette))
    boxes = ndimage.find_objects(inst)
    colours = dict(colours or {})
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.2))
    axes[0].imshow(img, interpolation="nearest")
    axes[0].set_title(f"class label:\n'contains a {object_name}'" if boxes else f"class label:\n'no {object_name}'")
    axes[1].imshow(img, interpolation="nearest")
    for k, b in enumerate(boxes, start=1):
        if b is None:
            continue
        colour = colours.get(k, _pal.INSTANCE_COLOURS[(k - 1) % len(_pal.INSTANCE_COLOURS)])
        (y0, y1), (x0, x1) = (b[0].start, b[0].stop), (b[1].start, b[1].stop)
        axes[1].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                        color=np.asarray(colour, float) / 255, lw=1.5,
                                        path_effects=[patheffects.withStroke(linewidth=3, foreground="black")]))
    n = sum(b is not None for b in boxes)
    axes[1].set_title(f"detection:\n{n} box{'es' if n != 1 else ''}")
    show_mask(axes[2], t, palette, title="semantic segmentation:\none class per pixel")
    instance_overlay(img, inst, ax=axes[3], alpha=0.8, colours=colours, legend=False,
                     title=f"instance segmentation:\none mask per {object_name}")
    for ax in axes:
        ax.set_axis_off()
    fig.legend(handles=legend_handles(class_names, palette), loc="lower center", ncol=min(len(class_names), 6),
               frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def fault_notes(target: Any, pred: Any, faults: Mapping[str, Any]) -> list[str]:
    """One failure note per named fault: how many pixels it makes wrong, and where they lie.

    ``faults`` maps a description to a bool mask of the pixels that fault touched; only the
    pixels where ``pred`` differs from ``target`` count. A wrong pixel lies "on a class edge" when
    its 3x3 neighbourhood in ``target`` holds more than one class (cyan in :func:`evidence_card`
    and :func:`errors_over_image`) and "inside" otherwise (magenta).

    >>> t = np.zeros((4, 6), int); t[:, 3:] = 1
    >>> p = t.copy(); p[:, 3] = 0; p[0, 5] = 0
    >>> fault_notes(t, p, {"edge moved": np.arange(6) == 3, "one pixel": np.arange(6) == 5})
    ['edge moved: 4 px wrong, 4 on a class edge, 0 inside', 'one pixel: 1 px wrong, 0 on a class edge, 1 inside']
    """
    t = as_label_array(target, "target", ndims=(2,))
    p = as_label_array(pred, "pred", ndims=(2,))
    check_same_size(target=t.shape, pred=p.shape)
    edge = _class_edges(t)
    notes = []
    for name, fault in faults.items():
        wrong = np.broadcast_to(np.asarray(fault, bool), t.shape) & (p != t)
        notes.append(f"{name}: {int(wrong.sum())} px wrong, {int((wrong & edge).sum())} on a class edge, "
                     f"{int((wrong & ~edge).sum())} inside")
    return notes


def error_codes(target: Any, pred: Any, ignore_index: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Per-pixel error category: for binary masks TN/TP/FP/FN, otherwise correct/wrong class.

    Returns the code map and the category name of each code.

    >>> codes, names = error_codes([[0, 1, 1, 0]], [[0, 1, 0, 1]])
    >>> [names[c] for c in codes[0]]
    ['TN', 'TP', 'FN', 'FP']
    """
    t = as_label_array(target, "target", ndims=(2,))
    p = as_label_array(pred, "pred", ndims=(2,))
    if t.shape != p.shape:
        raise ValueError(f"pred has shape {p.shape} but target has shape {t.shape}; they must match")
    ignored = (t == ignore_index) if ignore_index is not None else np.zeros(t.shape, bool)
    binary = set(np.unique(t[~ignored])) <= {0, 1} and set(np.unique(p[~ignored])) <= {0, 1}
    if binary:
        names = ["TN", "TP", "FP", "FN", "ignored"]
        codes = np.select([(t == 1) & (p == 1), (t == 0) & (p == 1), (t == 1) & (p == 0)], [1, 2, 3], 0)
    else:
        names = ["correct", "wrong class", "ignored"]
        codes = (t != p).astype(int)
    codes[ignored] = len(names) - 1
    return codes, names


def error_map(target: Any, pred: Any, ax=None, ignore_index: int | None = None, title: str = "errors"):
    """Colour every pixel by what went wrong: TP / FP / FN (binary) or correct / wrong class.

    Returns the RGB image (uint8) it drew.

    >>> rgb = error_map([[0, 1]], [[1, 1]])
    >>> rgb[0, 0].tolist() == list(ERROR_COLOURS["FP"]), rgb[0, 1].tolist() == list(ERROR_COLOURS["TP"])
    (True, True)
    >>> plt.close("all")
    """
    codes, names = error_codes(target, pred, ignore_index)
    colours = np.array([ERROR_COLOURS[n] for n in names], np.uint8)
    rgb = colours[codes]
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 3.4))
    ax.imshow(rgb, interpolation="nearest")
    ax.set_title(title)
    ax.set_axis_off()
    present = np.unique(codes)
    ax.legend(handles=[Patch(facecolor=colours[c] / 255, edgecolor="black", label=names[c]) for c in present],
              loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=len(present), frameon=False, fontsize=8)
    return rgb


def boundary_error_map(target: Any, pred: Any, boundary: Any, ax=None, title: str = "where the errors are"):
    """Wrong pixels split into those inside the boundary band and those in region interiors.

    ``boundary`` is the band to test against (from :func:`segcourse.metrics.boundary_band`, or
    the union of the per-class bands computed by :mod:`segcourse.failures`): a bool or 0/1 mask;
    other values (a label map, a distance map) raise. Returns the RGB image it drew.

    >>> rgb = boundary_error_map([[0, 1]], [[1, 1]], [[True, False]])
    >>> rgb[0, 0].tolist() == list(ERROR_COLOURS["boundary error"])
    True
    >>> boundary_error_map([[0, 1]], [[1, 1]], [[0, 2]])
    Traceback (most recent call last):
    ...
    ValueError: boundary is not a binary mask: it holds the values [0, 2]. The boundary band is a bool (or 0/1) mask, e.g. from segcourse.metrics.boundary_band
    >>> plt.close("all")
    """
    t = as_label_array(target, "target", ndims=(2,))
    p = as_label_array(pred, "pred", ndims=(2,))
    band = as_binary(boundary, "boundary", ndims=(2,),
                     hint="The boundary band is a bool (or 0/1) mask, e.g. from segcourse.metrics.boundary_band")
    if not (t.shape == p.shape == band.shape):
        raise ValueError(f"target {t.shape}, pred {p.shape} and boundary {band.shape} must have the same shape")
    wrong = t != p
    rgb = np.zeros(t.shape + (3,), np.uint8)
    rgb[...] = _pal.NEUTRAL_COLOURS["TN"]
    rgb[band] = _pal.NEUTRAL_COLOURS["band"]
    rgb[wrong & band] = ERROR_COLOURS["boundary error"]
    rgb[wrong & ~band] = ERROR_COLOURS["interior error"]
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 3.4))
    ax.imshow(rgb, interpolation="nearest")
    ax.set_title(title)
    ax.set_axis_off()
    ax.legend(handles=[Patch(facecolor=np.array(ERROR_COLOURS[k]) / 255, label=k)
                       for k in ("boundary error", "interior error")]
              + [Patch(facecolor=np.array(_pal.NEUTRAL_COLOURS["band"]) / 255, label="band")],
              loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=1, frameon=False, fontsize=8)
    return rgb


def confidence_map(probabilities: Any, kind: str = "max", ax=None, title: str | None = None) -> np.ndarray:
    """Per-pixel confidence from class probabilities ``(K, H, W)``: max probability or entropy.

    Low confidence concentrates at boundaries and on thin structures; that is where to look.
    ``probabilities`` must be probabilities (in [0, 1], summing to 1 over the first axis):
    logits raise with a hint to apply softmax, a channel-last ``(H, W, K)`` array with a hint to
    move the class axis first.

    >>> p = np.stack([np.full((2, 2), 0.9), np.full((2, 2), 0.1)])
    >>> confidence_map(p).round(2).tolist()
    [[0.9, 0.9], [0.9, 0.9]]
    >>> plt.close("all")
    """
    prob = np.asarray(to_numpy(probabilities, "probabilities"), dtype=np.float64)
    if prob.ndim != 3:
        raise ValueError(f"probabilities has shape {prob.shape}; expected (K, H, W)")
    if prob.size:
        if not np.isfinite(prob).all():
            raise ValueError("probabilities contains NaN or infinity")
        sums = prob.sum(0)
        if prob.min() < 0 or prob.max() > 1 or not np.allclose(sums, 1, atol=1e-3):
            if prob.min() >= 0 and np.allclose(prob.sum(-1), 1, atol=1e-3):
                raise ValueError(f"probabilities has shape {prob.shape} and sums to 1 over its last axis: it looks "
                                 f"channel-last (H, W, K); use np.moveaxis(p, -1, 0)")
            raise ValueError("probabilities must lie in [0, 1] and sum to 1 over the class axis (axis 0); "
                             "for logits apply softmax first (torch.softmax(logits, 0))")
    if kind == "max":
        value, label, cmap, vmin, vmax = prob.max(0), "max probability", _pal.CONFIDENCE_CMAP, 1 / len(prob), 1
    elif kind == "entropy":
        value = -(prob * np.log(np.clip(prob, 1e-12, 1))).sum(0)
        label, cmap, vmin, vmax = "entropy (nats)", _pal.LOG_CMAP, 0, np.log(len(prob))
    else:
        raise ValueError(f"kind must be 'max' or 'entropy', got {kind!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.2))
    im = ax.imshow(value, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, label=label)
    ax.set_title(title or f"confidence ({label})")
    ax.set_axis_off()
    return value


def per_class_bar(ious: Sequence[float], class_names: Sequence[str], palette: Any = None, ax=None,
                  title: str = "per-class IoU"):
    """Bar chart of per-class scores; NaN (class absent) is shown as "n/a", not as 0."""
    vals = np.asarray(ious, dtype=float)
    if len(vals) != len(class_names):
        raise ValueError(f"{len(vals)} scores but {len(class_names)} class names")
    pal = _palette(palette)
    check_enough_colours(len(vals), pal, "ious")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    bars = ax.bar(range(len(vals)), np.nan_to_num(vals), color=pal[: len(vals)] / 255, edgecolor="black")
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, (0 if np.isnan(v) else v) + 0.02,
                "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", fontsize=9)
    ax.set_xticks(range(len(vals)), class_names, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("IoU")
    ax.set_title(title)
    return ax


def per_sample_strip(ious: Sequence[float], worst: int = 3, ax=None, title: str = "per-sample IoU"):
    """Every sample's score as a dot next to the mean, the worst ``worst`` samples labelled.

    The mean alone hides bad samples; the strip shows the spread it hides.
    """
    vals = np.asarray(ious, dtype=float)
    check_int(worst, "worst", minimum=0)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 2.4))
    rng = np.random.default_rng(0)
    y = rng.uniform(-0.25, 0.25, len(vals))
    ax.scatter(vals, y, s=14, alpha=0.6, color="C0", label="samples")
    mean = np.nanmean(vals) if np.isfinite(vals).any() else np.nan
    ax.axvline(mean, color="C3", lw=2, label=f"mean {mean:.3f}")
    order = np.argsort(np.where(np.isnan(vals), np.inf, vals))[:worst]
    for i in order:
        ax.annotate(f"#{i}", (vals[i], y[i]), xytext=(0, 8), textcoords="offset points", ha="center", fontsize=8, color="C3")
    ax.set_yticks([])
    ax.set_xlim(min(0.0, np.nanmin(vals) - 0.05) if np.isfinite(vals).any() else 0, 1.02)
    ax.set_xlabel("IoU")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return ax


def failure_gallery(images: Any, targets: Any, preds: Any, ious: Sequence[float], k: int = 4,
                    palette: Any = None, notes: Sequence[str] | None = None, ids: Sequence[int] | None = None):
    """The ``k`` lowest-scoring samples as rows of image / ground truth / prediction / errors.

    ``ids`` names the samples in titles (default: their position in the arrays given).
    """
    vals = np.asarray(ious, dtype=float)
    check_int(k, "k", minimum=1)
    if len(vals) == 0:
        raise ValueError("failure_gallery needs at least one sample (ious is empty)")
    order = np.argsort(np.where(np.isnan(vals), np.inf, vals))[:k]
    fig, axes = plt.subplots(len(order), 4, figsize=(9, 2.4 * len(order) + 0.6), squeeze=False)
    shown: set[str] = set()
    for row, i in enumerate(order):
        axes[row, 0].imshow(_image(images[i]), interpolation="nearest")
        axes[row, 0].set_axis_off()
        axes[row, 0].set_title(f"#{i if ids is None else ids[i]}  IoU {vals[i]:.3f}", fontsize=9)
        show_mask(axes[row, 1], targets[i], palette, "ground truth" if row == 0 else None)
        show_mask(axes[row, 2], preds[i], palette, "prediction" if row == 0 else None)
        codes, names = error_codes(targets[i], preds[i])
        axes[row, 3].imshow(np.array([ERROR_COLOURS[n] for n in names], np.uint8)[codes], interpolation="nearest")
        axes[row, 3].set_axis_off()
        axes[row, 3].set_title("errors" if notes is None else notes[row], fontsize=9)
        shown.update(names[c] for c in np.unique(codes))
    kinds = [n for n in ("TN", "TP", "FP", "FN", "correct", "wrong class", "ignored") if n in shown]
    fig.legend(handles=[Patch(facecolor=np.array(ERROR_COLOURS[n]) / 255, edgecolor="black", linewidth=0.5, label=n)
                        for n in kinds], loc="lower center", ncol=len(kinds), frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.6 / (2.4 * len(axes) + 0.6), 1, 1))
    return fig


#: Wrong regions of at most this many pixels get a ring in the evidence card (they are too small to see).
RING_MAX_PIXELS = 3
#: Rings are drawn only when there are at most this many such regions (more would hide the image).
RING_MAX_COUNT = 12


def _class_edges(label_map: np.ndarray) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood holds more than one class (the edges of the class regions)."""
    return ndimage.maximum_filter(label_map, size=3) != ndimage.minimum_filter(label_map, size=3)


def _small_regions(wrong: np.ndarray, max_pixels: int = RING_MAX_PIXELS) -> np.ndarray:
    """``(n, 2)`` row, column centres of the 8-connected regions of ``wrong`` with at most ``max_pixels``
    pixels and no other wrong pixel within 2 px (isolated specks, not pieces of a longer edge)."""
    lab, n = ndimage.label(wrong, structure=np.ones((3, 3), int))
    if n == 0:
        return np.zeros((0, 2))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    keep = []
    for k in np.flatnonzero(sizes <= max_pixels) + 1:
        near = ndimage.binary_dilation(lab == k, structure=np.ones((5, 5), bool))
        if not (near & wrong & (lab != k)).any():
            keep.append(int(k))
    return np.array(ndimage.center_of_mass(wrong, lab, keep)).reshape(-1, 2)


def _ring_handle():
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle="none", marker="o", markersize=8, markerfacecolor="none",
                  markeredgecolor="black", markeredgewidth=1.5,
                  label=f"ring: an isolated wrong region of 1 to {RING_MAX_PIXELS} px")


def _draw_rings(ax, centres: np.ndarray) -> None:
    """A black ring with a white halo around each centre (visible on dark and light pixels); not
    clipped by the axes, so a ring at the image's border stays a whole ring."""
    for colour, width in (("white", 3.0), ("black", 1.5)):
        ax.scatter(centres[:, 1], centres[:, 0], s=110, facecolors="none", edgecolors=colour, linewidths=width,
                   clip_on=False)


class _ClassEdgeSwatch(Patch):
    """A legend swatch of short stripes in the class colours: "an edge drawn in its class's colour"."""

    def __init__(self, label: str, colours: Any):
        super().__init__(facecolor="none", edgecolor="black", linewidth=0.5, label=label)
        self.colours = np.asarray(colours, float).reshape(-1, 3) / 255


class _ClassEdgeHandler(HandlerPatch):
    """Draws a :class:`_ClassEdgeSwatch` as vertical stripes of its class colours."""

    def create_artists(self, legend, orig_handle, xdescent, ydescent, width, height, fontsize, trans):
        from matplotlib.patches import Rectangle

        n = len(orig_handle.colours)
        artists = [Rectangle((-xdescent + k * width / n, -ydescent), width / n, height,
                             facecolor=orig_handle.colours[k], edgecolor="none", transform=trans) for k in range(n)]
        artists.append(Rectangle((-xdescent, -ydescent), width, height, facecolor="none", edgecolor="black",
                                 linewidth=0.5, transform=trans))
        return artists


def errors_over_image(image: Any, target: Any, pred: Any, boundary: Any = None, ax=None, palette: Any = None,
                      title: str = "true outlines and errors", legend: bool = True) -> np.ndarray:
    """The image in light grey, the outline of every **true** region (``target``) in its class
    colour, and each wrong pixel painted over it: cyan on a class edge, magenta inside a region.

    A class edge is ``boundary`` when given (a bool band, e.g. from
    :func:`segcourse.failures.label_boundary_band`), otherwise every pixel whose 3x3 neighbourhood
    in ``target`` holds more than one class. Wrong regions of 1 to :data:`RING_MAX_PIXELS` pixels
    (too small to see at a figure's size) get a ring when there are at most :data:`RING_MAX_COUNT`
    of them. Returns the ``(H, W, 3)`` float image drawn.

    >>> t = np.zeros((6, 6), int); t[:, 3:] = 1; p = t.copy(); p[0, 3] = 0; p[4, 1] = 1
    >>> out = errors_over_image(np.zeros((6, 6)), t, p)
    >>> [tuple(int(round(v * 255)) for v in out[r, c]) for r, c in [(0, 3), (4, 1)]]
    [(0, 250, 240), (180, 0, 205)]
    >>> plt.close("all")
    """
    from skimage.segmentation import find_boundaries

    img = _image(image)
    t = _label_map(target, "target", palette)
    p = _label_map(pred, "pred", palette)
    check_same_size(image=img.shape, target=t.shape, pred=p.shape)
    if boundary is None:
        band = _class_edges(t)
    else:
        band = as_binary(boundary, "boundary", ndims=(2,),
                         hint="The boundary band is a bool (or 0/1) mask, e.g. from segcourse.metrics.boundary_band")
        check_same_size(target=t.shape, boundary=band.shape)
    wrong = t != p
    shown = np.repeat(0.55 + 0.3 * img.mean(-1, keepdims=True), 3, -1)
    rim = find_boundaries(t, mode="inner") & ~wrong
    shown[rim] = _palette(palette)[t[rim]] / 255
    cyan, magenta = (np.array(ERROR_COLOURS[k]) / 255 for k in ("boundary error", "interior error"))
    shown[wrong & band], shown[wrong & ~band] = cyan, magenta
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 3.4))
    ax.imshow(shown, interpolation="nearest")
    ax.set_title(title)
    ax.set_axis_off()
    centres = _small_regions(wrong)
    ringed = 0 < len(centres) <= RING_MAX_COUNT
    if ringed:
        _draw_rings(ax, centres)
        ax.set_xlim(-0.5, t.shape[1] - 0.5)
        ax.set_ylim(t.shape[0] - 0.5, -0.5)
    if legend:
        edge = "boundary band" if boundary is not None else "class edge"
        present = np.unique(t)
        handles = [_ClassEdgeSwatch("true class edge, in its class colour", _palette(palette)[present]),
                   Patch(facecolor=cyan, edgecolor="black", linewidth=0.5,
                         label=f"wrong, on a {edge} ({int((wrong & band).sum())} px)"),
                   Patch(facecolor=magenta, edgecolor="black", linewidth=0.5,
                         label=f"wrong, inside a region ({int((wrong & ~band).sum())} px)")]
        if ringed:
            handles.append(_ring_handle())
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=1, frameon=False,
                  fontsize=8)
    return shown


def evidence_card(image: Any, target: Any, pred: Any, class_names: Sequence[str], scores: dict,
                  boundary: Any = None, notes: Sequence[str] = (), palette: Any = None,
                  prediction_overlay: bool = False):
    """Evidence card: image, target, prediction, per-class IoU, the errors over the image, an error
    map and the scores and notes, in one figure; returns ``(figure, summary_text)``.

    ``scores`` holds numbers computed elsewhere: ``iou`` / ``dice`` / ``boundary_iou`` (floats)
    and ``per_class`` (sequence of per-class IoU). A score that is not a number (a string, None)
    raises naming its key. ``notes`` are failure notes. ``boundary`` (a bool band) splits the
    wrong pixels into boundary and interior errors; without it the error map shows TP / FP / FN
    (two classes) or correct / wrong class. The panel "true outlines and errors"
    (:func:`errors_over_image`) rings wrong regions too small to see.
    Both error panels use one meaning per colour: cyan a wrong pixel on a class edge (or in
    ``boundary``), magenta a wrong pixel inside a region; without ``boundary`` the error map
    splits the wrong pixels by class edge (a 3x3 neighbourhood holding two classes), as the
    outline panel does, and shows the right pixels on class edges in grey.
    ``prediction_overlay=True`` (default off) draws the prediction over the image (:func:`overlay`,
    class colours, the figure's legend) in place of that error map.

    >>> t = np.zeros((8, 8), int); t[4:, :] = 1; p = t.copy(); p[6, 6] = 0
    >>> fig, text = evidence_card(np.zeros((8, 8)), t, p, ["sky", "road"], {"mIoU": 0.98}, notes=["one pixel"])
    >>> print(text)
    Metric
    mIoU: 0.980
    <BLANKLINE>
    Failure notes
    - one pixel
    >>> plt.close(fig)
    """
    shown = _scores(scores)
    check_enough_colours(len(class_names), _palette(palette))
    lines = [f"{k}: {v:.3f}" for k, v in shown.items()]
    summary = "\n".join(["Metric"] + lines + ["", "Failure notes"] + [f"- {n}" for n in notes])
    img = _image(image)
    t = _label_map(target, "target", palette)
    h, w = t.shape
    side = 2.9                                             # inches per image panel
    fig = plt.figure(figsize=(4 * side + 0.4, 2 * side * min(max(h / w, 0.6), 1.4) + 2.2))
    grid = fig.add_gridspec(2, 4, height_ratios=[1, 1], hspace=0.3, wspace=0.16,
                            left=0.03, right=0.99, top=0.9, bottom=0.16)
    ax = [fig.add_subplot(grid[0, i]) for i in range(3)]
    ax[0].imshow(img, interpolation="nearest"); ax[0].set_title("input image"); ax[0].set_axis_off()
    show_mask(ax[1], target, palette, "target")
    show_mask(ax[2], pred, palette, "prediction")
    if "per_class" in scores:
        bar = fig.add_subplot(grid[0, 3])
        per_class_bar(scores["per_class"], class_names, palette, ax=bar)
        bar.tick_params(axis="x", labelsize=8)
        bar.set_ylabel("")                                 # the title says IoU; the label would touch the prediction
    errors_over_image(image, target, pred, boundary, ax=fig.add_subplot(grid[1, 0]), palette=palette)
    err_ax = fig.add_subplot(grid[1, 1])
    if prediction_overlay:
        err_ax.imshow(overlay(image, pred, alpha=0.6, palette=palette, skip_background=False),
                      interpolation="nearest")
        err_ax.set_title("prediction over the image")
        err_ax.set_axis_off()
    elif boundary is not None:
        boundary_error_map(target, pred, boundary, ax=err_ax, title="boundary example")
    else:                                                  # the outline panel's colours, by class edge
        boundary_error_map(t, _label_map(pred, "pred", palette), _class_edges(t), ax=err_ax, title="errors")
        edge_labels = {"boundary error": "wrong, on a class edge", "interior error": "wrong, inside a region",
                       "band": "right, on a class edge"}
        for text in err_ax.get_legend().get_texts():
            text.set_text(edge_labels.get(text.get_text(), text.get_text()))
    wrong = t != _label_map(pred, "pred", palette)
    centres = _small_regions(wrong)
    if prediction_overlay:
        pass                                               # the outline panel rings the small wrong regions
    elif 0 < len(centres) <= RING_MAX_COUNT:
        _draw_rings(err_ax, centres)
        err_ax.set_xlim(-0.5, w - 0.5)
        err_ax.set_ylim(h - 0.5, -0.5)
        old = err_ax.get_legend()
        handles, labels = list(old.legend_handles), [x.get_text() for x in old.get_texts()]
        ring = _ring_handle()
        err_ax.legend(handles + [ring], labels + [ring.get_label()], loc="upper center",
                      bbox_to_anchor=(0.5, -0.02), ncol=1, frameon=False, fontsize=8)
    else:
        old = err_ax.get_legend()
        handles, labels = list(old.legend_handles), [x.get_text() for x in old.get_texts()]
        err_ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=1, frameon=False,
                      fontsize=8)
    text_ax = fig.add_subplot(grid[1, 2:])
    text_ax.set_axis_off()
    text_ax.text(0.02, 1, summary, va="top", family="monospace", fontsize=8.5, wrap=True)
    fig.legend(handles=legend_handles(class_names, palette), loc="upper center", ncol=len(class_names),
               frameon=False, bbox_to_anchor=(0.5, 1.0))
    return fig, summary


def click_evidence_card(image: Any, target: Any, pred: Any, clicks: Sequence[Any], curves: Mapping[str, Sequence[float]],
                        summary: str, colours: Mapping[str, Any] | None = None, margin: int = 6,
                        title: str = "Evidence card"):
    """Evidence card of one object segmented with clicks (lesson 06): the image zoomed on the
    object with its clicks, the last mask against the truth, IoU-vs-clicks curves and a text
    summary; returns the figure.

    Parameters
    ----------
    image : 2-D grey crop (shown with a 1 to 99 % percentile stretch of the zoomed window).
    target, pred : bool masks of the crop's shape: the true object and the last predicted mask.
    clicks : ``((row, col), positive)`` pairs; a green plus marks a positive click, a red cross a negative one.
    curves : method name -> IoU after each click (numbers computed elsewhere), drawn with the
        thresholds 0.85 (solid) and 0.90 (dashed).
    summary : text printed under the panels.
    colours : method name -> colour (0..1 RGB or a matplotlib colour); default palette series colours.
    margin : pixels around the object's bounding box in the zoomed panels.
    title : the figure's title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = np.zeros((16, 16), bool); t[4:10, 4:10] = True; p = t.copy(); p[4, 4:8] = False
    >>> fig = click_evidence_card(np.zeros((16, 16)), t, p, [((6, 6), True), ((4, 5), True)],
    ...                           {"a method": [0.6, 0.89]}, "two clicks")
    >>> [ax.get_title().splitlines()[-1] for ax in fig.axes[:2]]
    ['and its 2 clicks', '32 found, 0 false, 4 missed pixels']
    >>> plt.close(fig)
    """
    from matplotlib.lines import Line2D

    img = np.asarray(to_numpy(image, "image"), float)
    t, p = as_binary(target, "target", (2,)), as_binary(pred, "pred", (2,))
    check_same_size(image=img.shape, target=t.shape, pred=p.shape)
    if not t.any():
        raise ValueError("target is empty: the card zooms on the object")
    h, w = t.shape
    rr, cc = np.nonzero(t)
    side = min(h, w, max(np.ptp(rr), np.ptp(cc)) + 1 + 2 * margin)
    r0, c0 = (int(np.clip((v.min() + v.max() + 1) // 2 - side // 2, 0, n - side)) for v, n in ((rr, h), (cc, w)))
    window = np.s_[r0:r0 + side, c0:c0 + side]
    extent = (c0 - 0.5, c0 + side - 0.5, r0 + side - 0.5, r0 - 0.5)
    lo, hi = np.percentile(img[window], (1, 99))
    green, red, blue, tn = (_pal.rgb(c) for c in (*(_pal.OUTCOME_COLOURS[k] for k in ("TP", "FP", "FN")),
                                                  _pal.NEUTRAL_COLOURS["TN"]))
    fig = plt.figure(figsize=(11, 6.6))
    grid = fig.add_gridspec(2, 3, width_ratios=[1, 1, 1.2], height_ratios=[1, 0.62])
    ax_img, ax_err, ax_curve = (fig.add_subplot(grid[0, j]) for j in range(3))
    ax_text = fig.add_subplot(grid[1, :])
    ax_img.imshow(img[window], cmap="gray", vmin=lo, vmax=hi, extent=extent)
    ax_img.contour(t, levels=[0.5], colors=["white"], linewidths=1.5)
    for (r, c), positive in clicks:
        ax_img.plot(c, r, "P" if positive else "X", ms=7, mfc=green if positive else red, mec="black", mew=0.8)
    ax_img.set_title(f"image (grey {lo:.2f} to {hi:.2f})\nand its {len(clicks)} clicks", fontsize=9)
    outcome = np.zeros((h, w, 3)) + tn
    outcome[t & p], outcome[p & ~t], outcome[t & ~p] = green, red, blue
    ax_err.imshow(outcome[window], extent=extent)
    ax_err.set_title(f"last mask against the truth\n{(t & p).sum()} found, {(p & ~t).sum()} false, "
                     f"{(t & ~p).sum()} missed pixels", fontsize=9)
    for ax in (ax_img, ax_err):
        ax.set_xlim(extent[:2]); ax.set_ylim(extent[2:]); ax.set_xticks([]); ax.set_yticks([])
    for k, (name, ious) in enumerate(curves.items()):
        colour = (colours or {}).get(name, _pal.rgb(_pal.SERIES[k % len(_pal.SERIES)]))
        ax_curve.plot(np.arange(1, len(ious) + 1), ious, color=colour, ls=("-", ":", "--", "-.")[k % 4], marker="o",
                      ms=3, lw=1.5, label=name)
    ax_curve.axhline(0.85, color="black", lw=0.8); ax_curve.axhline(0.90, color="black", lw=0.8, ls="--")
    ax_curve.set_ylim(0, 1); ax_curve.set_xlabel("clicks"); ax_curve.set_ylabel("IoU with the truth")
    ax_curve.set_title("IoU after each click", fontsize=9)
    ax_curve.legend(handles=ax_curve.get_legend_handles_labels()[0] + [
        Line2D([], [], color="black", lw=0.8, label="IoU 0.85"), Line2D([], [], color="black", lw=0.8, ls="--",
                                                                         label="IoU 0.90")], loc="lower right", fontsize=7.5)
    ax_text.set_axis_off()
    ax_text.text(0.02, 0.98, summary, va="top", family="monospace", fontsize=9)
    fig.legend(handles=[Line2D([], [], color="white", lw=1.5, label="true outline"),
                        Patch(color=green, label="found (TP)"), Patch(color=red, label="false (FP)"),
                        Patch(color=blue, label="missed (FN)"), Patch(color=tn, label="neither (TN)"),
                        Line2D([], [], marker="P", ls="", mfc=green, mec="black", ms=9, label="positive click"),
                        Line2D([], [], marker="X", ls="", mfc=red, mec="black", ms=9, label="negative click")],
               loc="lower center", ncol=4, fontsize=9, facecolor="0.6")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 0.96), w_pad=0.5)
    return fig


class MatchedSwatch(Patch):
    """A legend swatch of stripes in the first instance colours: "any instance colour" (see :func:`matched_handle`)."""

    def __init__(self, label: str, n_colours: int = 4):
        super().__init__(facecolor="none", edgecolor="black", linewidth=0.5, label=label)
        self.n_colours = n_colours


class _StripedHandler(HandlerPatch):
    """Draws a :class:`MatchedSwatch` as vertical stripes of :data:`segcourse.palette.INSTANCE_COLOURS`."""

    def create_artists(self, legend, orig_handle, xdescent, ydescent, width, height, fontsize, trans):
        from matplotlib.patches import Rectangle

        n = orig_handle.n_colours
        table = _pal.INSTANCE_COLOURS
        artists = [Rectangle((-xdescent + k * width / n, -ydescent), width / n, height,
                             facecolor=table[k % len(table)] / 255, edgecolor="none", transform=trans)
                   for k in range(n)]
        artists.append(Rectangle((-xdescent, -ydescent), width, height, facecolor="none", edgecolor="black",
                                 linewidth=0.5, transform=trans))
        return artists


Legend.update_default_handler_map({MatchedSwatch: _StripedHandler(), _ClassEdgeSwatch: _ClassEdgeHandler()})


def matched_handle(label: str = "matched: same colour as its partner", n_colours: int = 4) -> MatchedSwatch:
    """A legend handle for "a matched instance, in its pair's colour": stripes of the first ``n_colours``
    instance colours, so that it reads as "any of these colours" and not as one colour (a grey
    swatch looks like a grey object). Works in any ``ax.legend(handles=[...])``.

    >>> fig, ax = plt.subplots(); leg = ax.legend(handles=[matched_handle("matched")])
    >>> [t.get_text() for t in leg.get_texts()], matched_handle().n_colours
    (['matched'], 4)
    >>> plt.close(fig)
    """
    if not isinstance(label, str):
        raise TypeError(f"label must be a string, got {type(label).__name__}")
    check_int(n_colours, "n_colours", minimum=2)
    return MatchedSwatch(label, n_colours)


def instance_overlay(image: Any, labels: Any, ax=None, alpha: float | None = None, title: str | None = None,
                     colours: Mapping[int, Any] | None = None, legend: bool | None = None,
                     alarm_alpha: float | None = None):
    """Each instance in its own colour, with its contour, over the image.

    ``labels`` holds instance ids: 0 background, 1, 2, ... objects (any size of id); negative
    ids raise instead of picking colours from the end of the colour table.

    Parameters
    ----------
    image : the image, ``(H, W)`` or ``(H, W, 3)``.
    labels : ``(H, W)`` instance ids.
    ax : where to draw (default: a new figure).
    alpha : how strongly the colours cover the image (default 0.45; 0.6 with ``colours``, so
        that the FP and FN colours read as such).
    title : default "N instances".
    colours : ``{instance id: 0..255 RGB}``, e.g. one of the two dicts of
        :func:`matched_instance_colours`, so that a matched prediction and its true object share a
        colour; ids not in it take :data:`segcourse.palette.INSTANCE_COLOURS` in turn (as when
        ``colours`` is None).
    legend : draw the matched / FP / FN legend (default: when ``colours`` is given).
    alarm_alpha : how strongly instances in the FP or FN colour cover the image (default: ``alpha``);
        1.0 keeps them the palette's colours over bright pixels, where a blend would look like an
        instance colour.

    Returns
    -------
    numpy.ndarray
        The ``(H, W, 3)`` float image drawn.

    >>> instance_overlay(np.zeros((1, 2, 3)), [[0, -1]])
    Traceback (most recent call last):
    ...
    ValueError: labels contains negative instance ids [-1]; instance ids are 0 or positive (0 is background)
    >>> lab = np.zeros((5, 5), int); lab[1:4, 1:4] = 9                # one object; its rim is drawn white
    >>> out = instance_overlay(np.zeros((5, 5)), lab, alpha=1.0, colours={9: (220, 0, 55)})
    >>> tuple(int(round(v * 255)) for v in out[2, 2]), out[1, 1].tolist()
    ((220, 0, 55), [1.0, 1.0, 1.0])
    >>> plt.close("all")
    """
    from skimage.segmentation import find_boundaries

    img = _image(image)
    lab = as_label_array(labels, "labels", ndims=(2,))
    check_nonnegative(lab, "labels", "instance ids")
    if lab.shape != img.shape[:2]:
        raise ValueError(f"labels {lab.shape} and image {img.shape[:2]} must have the same height and width")
    alpha = (0.45 if colours is None else 0.6) if alpha is None else check_float(alpha, "alpha", lo=0, hi=1)
    alarm_alpha = alpha if alarm_alpha is None else check_float(alarm_alpha, "alarm_alpha", lo=0, hi=1)
    ids, lab = np.unique(lab, return_inverse=True)   # relabel to 0..k-1 first: ids may be huge (2**31-1)
    lab = lab.reshape(img.shape[:2])
    if ids[0] != 0:  # no background pixel: shift so that index 0 stays "background"
        ids, lab = np.concatenate([[0], ids]), lab + 1
    table = _pal.INSTANCE_COLOURS
    rgb = np.zeros((len(ids), 3), np.float32)
    rgb[1:] = table[np.arange(len(ids) - 1) % len(table)] / 255
    given = {} if colours is None else {int(k): v for k, v in colours.items()}
    for n, i in enumerate(ids[1:], start=1):
        if int(i) in given:
            rgb[n] = check_colors(np.reshape(given[int(i)], (1, 3)), f"colours[{int(i)}]")[0] / 255
    ids = ids[1:]
    weight = np.full(len(rgb), alpha, np.float32)
    alarm = [np.array(ERROR_COLOURS[k], np.float32) / 255 for k in ("FP", "FN")]
    for n in range(1, len(rgb)):
        if int(ids[n - 1]) in given and any(np.allclose(rgb[n], a) for a in alarm):
            weight[n] = alarm_alpha
    w = weight[lab][..., None]
    out = np.where(lab[..., None] > 0, (1 - w) * img + w * rgb[lab], img)
    out[find_boundaries(lab, mode="inner")] = 1.0
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 3.4))
    ax.imshow(out, interpolation="nearest")
    ax.set_title(title or f"{len(ids)} instances")
    ax.set_axis_off()
    if legend or (legend is None and colours is not None):
        used = {tuple(int(v) for v in np.reshape(c, 3)) for c in given.values()}
        alarms = {tuple(ERROR_COLOURS[k]) for k in ("FP", "FN")}
        handles = [matched_handle()] if used - alarms or not used else []
        handles += [h for k, h in zip(("FP", "FN"), outcome_handles(("FP", "FN"))) if tuple(ERROR_COLOURS[k]) in used]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=1, frameon=False, fontsize=8)
    return out


def matched_overlay(image: Any, labels: Any, colours: Mapping[int, Any], ax=None, title: str | None = None,
                    missed: Any = None, extra: Sequence[tuple[Any, str]] = ()):
    """One panel of a prediction-against-truth comparison: instances in their match colours
    (:func:`matched_instance_colours`), FP and FN at full strength, and a legend under the panel.

    Parameters
    ----------
    image : the image, ``(H, W)`` or ``(H, W, 3)``.
    labels : ``(H, W)`` instance ids.
    colours : ``{instance id: 0..255 RGB}``, one of the two dicts of :func:`matched_instance_colours`.
    ax : where to draw (default: a new figure).
    title : the panel's title.
    missed : optional ``(H, W)`` mask of true objects nobody matched, outlined in the FN colour.
    extra : more ``(legend handle, text)`` pairs for the legend.

    Returns
    -------
    numpy.ndarray
        The ``(H, W, 3)`` float image drawn (without the outline of ``missed``).

    >>> lab = np.zeros((6, 6), int); lab[1:5, 1:5] = 3
    >>> out = matched_overlay(np.ones((6, 6)), lab, {3: ERROR_COLOURS["FP"]})   # FP over white: not blended
    >>> tuple(int(round(v * 255)) for v in out[2, 2]), [t.get_text() for t in plt.gca().get_legend().get_texts()]
    ((220, 0, 55), ['FP: no partner'])
    >>> plt.close("all")
    """
    from matplotlib.legend_handler import HandlerTuple

    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 3.4))
    out = instance_overlay(image, labels, ax=ax, title=title, colours=colours, legend=False, alarm_alpha=1.0)
    used = {tuple(int(v) for v in np.reshape(c, 3)) for c in colours.values()}
    handles: list[Any] = []
    texts: list[str] = []
    if used - {tuple(ERROR_COLOURS[k]) for k in ("FP", "FN")}:
        handles.append(matched_handle())
        texts.append("matched: each pair shares a colour")
    for k, text in (("FP", "FP: no partner"), ("FN", "FN: missed")):
        if tuple(ERROR_COLOURS[k]) in used:
            handles.append(Patch(facecolor=np.array(ERROR_COLOURS[k]) / 255, edgecolor="black", linewidth=0.5))
            texts.append(text)
    if missed is not None and np.any(missed):
        fn = np.array(ERROR_COLOURS["FN"]) / 255
        ax.contour(as_binary(missed, "missed"), levels=[0.5], colors=[fn], linewidths=1.5)
        handles.append(Patch(facecolor="none", edgecolor=fn, linewidth=2))
        texts.append("FN: missed (outline)")
    handles += [h for h, _ in extra]
    texts += [t for _, t in extra]
    if handles:
        ax.legend(handles, texts, handler_map={tuple: HandlerTuple(ndivide=None, pad=0)}, loc="upper center",
                  bbox_to_anchor=(0.5, -0.02), frameon=False, fontsize=8)
    return out


def matched_instance_colours(pred_labels: Any, gt_labels: Any, match: Any = None,
                             iou_threshold: float = 0.5) -> tuple[dict[int, tuple], dict[int, tuple]]:
    """Colours that let truth and prediction be compared panel to panel: a matched prediction
    takes its true object's colour, an unmatched prediction the FP colour, a missed true object
    the FN colour (:mod:`segcourse.palette`).

    Pass the two dicts to :func:`instance_overlay` as ``colours=``. A true object's colour depends
    only on the truth map (the k-th true id takes the k-th instance colour), so several
    predictions compared with one truth colour their matches alike.

    Parameters
    ----------
    pred_labels, gt_labels : ``(H, W)`` instance maps (0 = background).
    match : the result of :func:`segcourse.instances.match_instances` for these maps (computed
        with ``iou_threshold`` when None).
    iou_threshold : used only when ``match`` is None.

    Returns
    -------
    (dict, dict)
        ``{prediction id: RGB}`` and ``{true id: RGB}`` (0..255 tuples).

    >>> gt = np.array([[1, 1, 0, 2, 2]]); pred = np.array([[7, 7, 0, 0, 8]])
    >>> pred_c, gt_c = matched_instance_colours(pred, gt)
    >>> pred_c[7] == gt_c[1], pred_c[8] == ERROR_COLOURS["FP"], gt_c[2] == ERROR_COLOURS["FN"]
    (True, True, True)
    """
    from .instances import match_instances

    if match is None:
        match = match_instances(pred_labels, gt_labels, iou_threshold)
    table = _pal.INSTANCE_COLOURS
    gt_ids = np.unique(as_label_array(gt_labels, "gt_labels", ndims=(2,)))
    rank = {int(g): k for k, g in enumerate(gt_ids[gt_ids > 0])}   # a true object's colour depends on it alone
    pred_c: dict[int, tuple] = {}
    gt_c: dict[int, tuple] = {}
    for pid, gid, _ in match["pairs"]:
        pred_c[int(pid)] = gt_c[int(gid)] = tuple(int(v) for v in table[rank[int(gid)] % len(table)])
    for pid in match["unmatched_pred"]:
        pred_c[int(pid)] = tuple(ERROR_COLOURS["FP"])
    for gid in match["unmatched_gt"]:
        gt_c[int(gid)] = tuple(ERROR_COLOURS["FN"])
    return pred_c, gt_c


def instance_match_map(image: Any, pred_labels: Any, gt_labels: Any, match: Any, ax=None, title: str | None = None):
    """Matched predictions (TP, filled), unmatched predictions (FP, filled) and missed true objects
    (FN, drawn as outlines on top, so they show even where a wrong prediction covers them), over
    the darkened image.

    ``match`` is the result of :func:`segcourse.instances.match_instances` for these two maps.
    Returns the RGB image (float, 0..1) it drew.

    >>> from segcourse.instances import match_instances
    >>> gt = np.zeros((8, 8), int); gt[1:4, 1:4] = 1; gt[5:8, 5:8] = 2
    >>> pred = np.zeros((8, 8), int); pred[1:4, 1:4] = 3; pred[0, 6:8] = 4
    >>> rgb = instance_match_map(np.zeros((8, 8)), pred, gt, match_instances(pred, gt))
    >>> [tuple(np.round(rgb[r, c] * 255).astype(int).tolist()) for r, c in [(2, 2), (0, 7), (5, 5)]]
    [(30, 240, 100), (220, 0, 55), (40, 40, 230)]
    >>> plt.close("all")
    """
    from skimage.segmentation import find_boundaries

    img = _image(image)
    p = as_label_array(pred_labels, "pred_labels", ndims=(2,))
    g = as_label_array(gt_labels, "gt_labels", ndims=(2,))
    if not (img.shape[:2] == p.shape == g.shape):
        raise ValueError(f"image {img.shape[:2]}, pred_labels {p.shape} and gt_labels {g.shape} must have the same shape")
    colour = {k: np.array(ERROR_COLOURS[k], np.float32) / 255 for k in ("TP", "FP", "FN")}
    out = 0.5 * img
    tp = np.isin(p, [pid for pid, _, _ in match["pairs"]])
    fp = np.isin(p, match["unmatched_pred"])
    out[tp] = colour["TP"]
    out[fp] = colour["FP"]
    missed = np.isin(g, match["unmatched_gt"])
    rim = find_boundaries(np.where(missed, g, 0), mode="inner") & missed
    rim |= ndimage.binary_dilation(rim, iterations=1) & missed       # two pixels wide, inside the object
    out[rim] = colour["FN"]
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 3.4))
    ax.imshow(out, interpolation="nearest")
    ax.set_title(title or f"TP {match['tp']}  FP {match['fp']}  FN {match['fn']}")
    ax.set_axis_off()
    outcome_legend(ax, fn_outline=True, labels={"TP": "TP: matched prediction", "FP": "FP: unmatched prediction",
                                                "FN": "FN: missed object"})
    return out


# ------------------------------------------------------- instance figures: swatches, legends under a panel, zooms
# (moved from the first cell of lesson 03, where they were 45 lines of plumbing before any content)
from matplotlib.legend_handler import HandlerTuple as _HandlerTuple  # noqa: E402
from matplotlib.patches import Rectangle as _Rectangle  # noqa: E402


class Swatch(tuple):
    """A legend swatch made of several patches side by side, e.g. the instance colours of "matched",
    which has no one colour. Its text is the attribute ``label``; :func:`legend_below` draws it.

    >>> s = Swatch([Patch(facecolor="red"), Patch(facecolor="blue")]); s.label = "two colours"
    >>> len(s), s.label
    (2, 'two colours')
    """

    label: str = ""


def matched_swatch(label: str = "matched: each pair shares a colour", n_colours: int = 4) -> Swatch:
    """A :class:`Swatch` of the first ``n_colours`` instance colours, for "matched" objects.

    Parameters
    ----------
    label : str
        The legend text.
    n_colours : int
        How many instance colours of :data:`segcourse.palette.INSTANCE_COLOURS` to show, at least 2.

    Returns
    -------
    Swatch
        Patches with a thin black edge, ``label`` set.

    Examples
    --------
    >>> s = matched_swatch()
    >>> len(s), s.label
    (4, 'matched: each pair shares a colour')
    >>> matched_swatch(n_colours=1)
    Traceback (most recent call last):
    ...
    ValueError: n_colours must be at least 2 (one colour would read as one object), got 1
    """
    if not isinstance(label, str):
        raise TypeError(f"label must be a string, got {type(label).__name__}")
    n = check_int(n_colours, "n_colours")
    if not 2 <= n <= len(_pal.INSTANCE_COLOURS):
        raise ValueError(f"n_colours must be at least 2 (one colour would read as one object), got {n}"
                         if n < 2 else f"n_colours must be at most {len(_pal.INSTANCE_COLOURS)}, got {n}")
    swatch = Swatch(Patch(facecolor=np.asarray(c) / 255, edgecolor="black", linewidth=0.5)
                    for c in _pal.INSTANCE_COLOURS[:n])
    swatch.label = label
    return swatch


def legend_below(ax: Any, handles: Sequence[Any] | None = None, **kw: Any) -> Legend:
    """A legend under the panel ``ax``, where it hides no pixel of the image.

    Parameters
    ----------
    ax : matplotlib Axes
        The panel.
    handles : sequence of artists or :class:`Swatch`, optional
        The entries; a swatch's text is its ``label``, an artist's its ``get_label()``. ``None``: the
        panel's labelled artists.
    **kw
        Passed on to ``ax.legend`` (``ncol=2``, ...).

    Returns
    -------
    matplotlib.legend.Legend

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> leg = legend_below(ax, [matched_swatch(), Patch(facecolor="red", label="FP")])
    >>> [t.get_text() for t in leg.get_texts()]
    ['matched: each pair shares a colour', 'FP']
    >>> plt.close(fig)
    """
    check_axes(ax)
    if handles is not None:
        handles = list(handles)
        kw["labels"] = [getattr(h, "label", None) or h.get_label() for h in handles]
    kw.setdefault("fontsize", 8)
    return ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False,
                     handler_map={Swatch: _HandlerTuple(ndivide=None, pad=0)}, **kw)


def cluster_box(mask: Any, inst: Any, margin: int = 3) -> tuple[slice, slice]:
    """(rows, cols) slices around the blob of ``mask`` that holds the most cells of ``inst``, plus a margin.

    A blob's count is the number of distinct values of ``inst`` under it, background included (so
    a blob of a predicted mask that spills onto background counts one more); ties go to the first blob.

    Parameters
    ----------
    mask : (H, W) array of 0/1
        The binary mask whose 4-connected blobs are candidates.
    inst : (H, W) int array
        An instance map (0 background); a blob's cells are the distinct ids under it.
    margin : int
        Pixels added on each side, clipped at the image edge.

    Returns
    -------
    tuple of two slices
        For indexing (``image[box]``) and for :func:`zoom` / :func:`mark_box`.

    Examples
    --------
    >>> inst = np.zeros((10, 12), int); inst[1:3, 1:3] = 1; inst[5:8, 4:7] = 2; inst[5:8, 7:10] = 3
    >>> cluster_box(inst > 0, inst, margin=1)      # the blob of cells 2 and 3
    (slice(4, 9, None), slice(3, 11, None))
    """
    m = as_binary(mask, "mask", ndims=(2,))
    labels = as_label_array(inst, "inst", ndims=(2,))
    if m.shape != labels.shape:
        raise ValueError(f"mask {m.shape} and inst {labels.shape} must have the same shape")
    pad = check_int(margin, "margin", minimum=0)
    blobs, n = ndimage.label(m)
    if n == 0:
        raise ValueError("mask has no blob (no pixel is 1): there is no cluster to box")
    n_in = ndimage.labeled_comprehension(labels, blobs, np.arange(1, n + 1), lambda v: len(np.unique(v)), int, 0)
    box = ndimage.find_objects((blobs == 1 + int(np.argmax(n_in))).astype(int))[0]
    return tuple(slice(max(sl.start - pad, 0), min(sl.stop + pad, size)) for sl, size in zip(box, m.shape))


def _box(box: Any) -> tuple[slice, slice]:
    if not (isinstance(box, tuple) and len(box) == 2 and all(isinstance(s, slice) and s.start is not None
                                                             and s.stop is not None for s in box)):
        raise TypeError(f"box must be a (rows, cols) pair of slices with a start and a stop (as cluster_box returns), "
                        f"got {box!r}")
    return box


def zoom(ax: Any, box: tuple[slice, slice]) -> None:
    """Show only ``box`` of an image panel (pixel centres are whole numbers).

    Examples
    --------
    >>> fig, ax = plt.subplots(); _ = ax.imshow(np.zeros((10, 12)))
    >>> zoom(ax, (slice(4, 9), slice(3, 11)))
    >>> [float(v) for v in (*ax.get_xlim(), *ax.get_ylim())]
    [2.5, 10.5, 8.5, 3.5]
    >>> plt.close(fig)
    """
    check_axes(ax)
    rows, cols = _box(box)
    ax.set_xlim(cols.start - 0.5, cols.stop - 0.5)
    ax.set_ylim(rows.stop - 0.5, rows.start - 0.5)


def mark_box(ax: Any, box: tuple[slice, slice], colour: str = "white") -> _Rectangle:
    """Outline ``box`` (dashed) on a full image panel, to show where a zoomed panel looks.

    Examples
    --------
    >>> fig, ax = plt.subplots(); _ = ax.imshow(np.zeros((10, 12)))
    >>> r = mark_box(ax, (slice(4, 9), slice(3, 11)))
    >>> r.get_xy(), r.get_width(), r.get_height()
    ((2.5, 3.5), 8, 5)
    >>> plt.close(fig)
    """
    check_axes(ax)
    rows, cols = _box(box)
    return ax.add_patch(_Rectangle((cols.start - 0.5, rows.start - 0.5), cols.stop - cols.start, rows.stop - rows.start,
                                   fill=False, edgecolor=colour, linestyle="--", linewidth=1))


__all__ += ["Swatch", "matched_swatch", "legend_below", "cluster_box", "zoom", "mark_box"]


# ------------------------------------------------------- zoomed rows: the whole image above, a box enlarged below
# (moved from lesson 03, cell "predicted: interior / boundary", where they made a 41-line plotting cell)

def enlarge(a: Any, box: tuple[slice, slice], k: int = 4) -> np.ndarray:
    """The ``box`` of an image or map with each pixel repeated ``k`` × ``k`` times.

    Outlines drawn on the result are 1/``k`` of a source pixel wide, so small objects stay visible.

    Examples
    --------
    >>> enlarge(np.arange(6).reshape(2, 3), (slice(0, 2), slice(1, 3)), k=2)
    array([[1, 1, 2, 2],
           [1, 1, 2, 2],
           [4, 4, 5, 5],
           [4, 4, 5, 5]])
    """
    rows, cols = _box(box)
    k = check_int(k, "k", minimum=1)
    return np.asarray(a)[rows, cols].repeat(k, 0).repeat(k, 1)


def zoom_rows(axes: Any, box: tuple[slice, slice], draw: Any, k: int = 4) -> None:
    r"""Draw a figure twice: row 0 the whole image, row 1 the ``box`` enlarged ``k`` × ``k``.

    ``draw(row, view)`` draws one row; ``view(a)`` returns what that row shows of an image or map
    ``a`` (the whole of it, or :func:`enlarge` of the box). Afterwards each top panel gets the box
    outlined (:func:`mark_box`) and each bottom panel the title "the dashed box, enlarged:" over its
    top panel's title.

    Examples
    --------
    >>> fig, axes = plt.subplots(2, 1, squeeze=False)
    >>> def draw(row, view):
    ...     _ = axes[row, 0].imshow(view(np.zeros((10, 12)))); axes[row, 0].set_title("map")
    >>> zoom_rows(axes, (slice(2, 6), slice(3, 8)), draw)
    >>> axes[1, 0].get_images()[0].get_array().shape, axes[1, 0].get_title()
    ((16, 20), 'the dashed box, enlarged:\nmap')
    >>> plt.close(fig)
    """
    box = _box(box)
    axes = np.asarray(axes)
    if axes.ndim != 2 or axes.shape[0] != 2:
        raise ValueError(f"axes must be a 2-row grid of panels (plt.subplots(2, n)), got shape {axes.shape}")
    if not callable(draw):
        raise TypeError(f"draw must be a function draw(row, view), got {type(draw).__name__}")
    for row, view in ((0, np.asarray), (1, lambda a: enlarge(a, box, k))):
        draw(row, view)
    for ax_top, ax in zip(*axes):
        mark_box(ax_top, box)
        ax.set_title(f"the dashed box, enlarged:\n{ax_top.get_title()}", fontsize=10)
        ax_top.title.set_fontsize(10)


__all__ += ["enlarge", "zoom_rows"]


# ------------------------------------------------------- per-instance fates: truth panel, fate panel, merges, rings
# (moved from lesson 04, where they were the plotting plumbing of five cells)

#: Outline of a prediction that merges two or more true objects: the palette's "merge" error colour
#: (lavender), no class colour of any data set (magenta means "wrong pixel", red FP, blue FN).
MERGE_COLOUR: tuple[int, int, int] = _pal.ERROR_COLOURS["merge"]


def merged_groups(pred: Any, gt: Any) -> list[list[int]]:
    """:func:`segcourse.instances.merged_groups` (true ids held together by one prediction), under
    the name the figures' lessons call.

    >>> merged_groups(np.array([[5, 5, 5, 5, 0, 6, 6]]), np.array([[1, 1, 2, 2, 0, 3, 3]]))
    [[1, 2]]
    """
    from .instances import merged_groups as _merged_groups   # the figures' helper, computed in instances

    return _merged_groups(pred, gt)


def truth_panel(ax: Any, image: Any, pred: Any, gt: Any, title: str | None = None, match: Any = None,
                method: str | None = None) -> np.ndarray:
    """The truth drawn in the colours of its matches to ``pred``; the true objects ``pred`` missed
    outlined in the FN colour (not filled, so the image under them stays visible).

    Parameters
    ----------
    ax : matplotlib Axes
        Where to draw.
    image : (H, W) or (H, W, 3) array
        The image under the objects.
    pred, gt : (H, W) int arrays
        Predicted and true instance maps (0 = background).
    title : str, optional
        The panel's title.
    match : dict, optional
        :func:`segcourse.instances.match_instances` of ``pred`` and ``gt`` (computed when None).
    method : str, optional
        The name of the method ``pred`` comes from; the FN legend entry then says who missed them.

    Returns
    -------
    numpy.ndarray
        The ``(H, W, 3)`` float image drawn (see :func:`matched_overlay`).

    Examples
    --------
    >>> gt = np.zeros((6, 6), int); gt[:3, :3] = 1; gt[3:, 3:] = 2
    >>> pred = np.where(gt == 1, 7, 0)                   # finds nucleus 1, misses nucleus 2
    >>> fig, ax = plt.subplots()
    >>> out = truth_panel(ax, np.zeros((6, 6)), pred, gt, "truth")
    >>> out[1, 1].tolist() == out[4, 4].tolist()         # the missed one is outlined, not filled
    False
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['matched: each pair shares a colour', 'FN: missed (outline)']
    >>> _ = truth_panel(ax, np.zeros((6, 6)), pred, gt, "truth", method="Otsu")
    >>> ax.get_legend().get_texts()[-1].get_text()
    'FN: missed by Otsu (outline)'
    >>> plt.close(fig)
    """
    from .instances import match_instances

    check_axes(ax)
    p = as_label_array(pred, "pred", ndims=(2,))
    g = as_label_array(gt, "gt", ndims=(2,))
    check_same_size(pred=p.shape, gt=g.shape)
    m = match_instances(p, g) if match is None else match
    missed = np.isin(g, m["unmatched_gt"])
    colours = {i: c for i, c in matched_instance_colours(p, g, m)[1].items() if i not in m["unmatched_gt"]}
    out = matched_overlay(image, np.where(missed, 0, g), colours, ax=ax, title=title, missed=missed)
    if method and ax.get_legend() is not None:
        for text in ax.get_legend().get_texts():
            if text.get_text().startswith("FN: missed"):
                text.set_text(text.get_text().replace("FN: missed", f"FN: missed by {method}", 1))
    return out


def ring_objects(ax: Any, labels: Any, ids: Sequence[int], text: str = "ringed: too small to see") -> Any:
    """Ring objects too small to see at the figure's size (a black ring with a white halo, as the
    error maps ring isolated wrong pixels) and return the ring's legend handle.

    Parameters
    ----------
    ax : matplotlib Axes
        The image panel.
    labels : (H, W) int array
        The instance map the ids belong to.
    ids : sequence of int
        The objects to ring, each at its centre of mass.
    text : str
        The legend text of the returned handle.

    Returns
    -------
    matplotlib.lines.Line2D
        A legend handle (a ring), ``text`` as its label.

    Examples
    --------
    >>> lab = np.zeros((9, 9), int); lab[2, 2] = 4; lab[6:8, 6:8] = 5
    >>> fig, ax = plt.subplots(); _ = ax.imshow(lab)
    >>> h = ring_objects(ax, lab, [4, 5], "ringed: 2 specks")
    >>> h.get_label(), [c.get_offsets().tolist() for c in ax.collections][0]
    ('ringed: 2 specks', [[2.0, 2.0], [6.5, 6.5]])
    >>> plt.close(fig)
    """
    from matplotlib.lines import Line2D

    check_axes(ax)
    lab = as_label_array(labels, "labels", ndims=(2,))
    ids = [int(i) for i in ids]
    if ids:
        _draw_rings(ax, np.array(ndimage.center_of_mass(lab > 0, lab, ids)).reshape(-1, 2))
    return Line2D([], [], linestyle="none", marker="o", markersize=8, markerfacecolor="none", markeredgecolor="black",
                  markeredgewidth=1.5, label=text)


def fate_panel(ax: Any, image: Any, pred: Any, gt: Any, title: str | None = None, ring_below: int = 50,
               legend: bool = True) -> tuple[Any, list[int], list[int]]:
    """Each prediction by its fate against the truth: matched (its true object's colour), unmatched
    (FP), true objects nobody matched outlined (FN); merges outlined in :data:`MERGE_COLOUR`;
    unmatched predictions under ``ring_below`` pixels ringed, as they are too small to see.

    A merge is a prediction that holds two or more true objects (:func:`merged_groups`). Its outline
    is solid if it matches none of them (an FP; its true objects are then not outlined as FN, so
    that their outlines do not cut the one prediction in two), dashed if it matches one (the others
    are FN, outlined).

    Parameters
    ----------
    ax : matplotlib Axes
        Where to draw.
    image : (H, W) or (H, W, 3) array
        The image under the objects.
    pred, gt : (H, W) int arrays
        Predicted and true instance maps (0 = background).
    title : str, optional
        Prefix of the title; the counts "(TP n, FP n, FN n)" follow it.
    ring_below : int
        Unmatched predictions smaller than this many pixels are ringed (0: none).
    legend : bool
        Draw the legend under the panel (False: remove it, e.g. to share one legend between panels).

    Returns
    -------
    (dict, list of int, list of int)
        The match, the merging predictions that match none of their objects (solid outlines),
        and all merging predictions.

    Examples
    --------
    >>> gt = np.zeros((8, 8), int); gt[:4, :4] = 1; gt[:4, 4:] = 2; gt[6:, 6:] = 3
    >>> pred = np.zeros((8, 8), int); pred[:4] = 9; pred[7, 0] = 8   # 9 merges 1 and 2; 8 is a speck
    >>> fig, ax = plt.subplots()
    >>> m, merging, merges = fate_panel(ax, np.zeros((8, 8)), pred, gt, "demo")
    >>> ax.get_title(), merging, merges
    ('demo (TP 0, FP 2, FN 3)', [9], [9])
    >>> [t.get_text() for t in ax.get_legend().get_texts()][-1]
    'ringed: an FP under 50 px'
    >>> plt.close(fig)
    """
    from matplotlib.lines import Line2D

    from .instances import match_instances

    check_axes(ax)
    p = as_label_array(pred, "pred", ndims=(2,))
    g = as_label_array(gt, "gt", ndims=(2,))
    check_same_size(pred=p.shape, gt=g.shape)
    m = match_instances(p, g)
    merges = [int(i) for i in np.unique(p) if i and merged_groups(np.where(p == i, i, 0), g)]
    merging = [i for i in merges if i in m["unmatched_pred"]]
    held = np.isin(g, sum(merged_groups(np.where(np.isin(p, merging), p, 0), g), []))
    colour = np.array(MERGE_COLOUR) / 255
    extra = []
    if merging:
        extra.append((Patch(facecolor=np.array(ERROR_COLOURS["FP"]) / 255, edgecolor=colour, linewidth=2),
                      "merge, matching none of its objects\n(FP; its objects are FN, not outlined)"))
    if len(merges) > len(merging):
        extra.append((Line2D([], [], color=colour, linewidth=2, linestyle="--"),
                      "merge, matching one of its objects\n(the others are FN, outlined)"))
    areas = np.bincount(p.ravel())
    small = [int(i) for i in m["unmatched_pred"] if areas[i] < ring_below and i not in merges]
    if small:
        ring = ring_objects(ax, p, small, f"ringed: an FP under {ring_below} px")
        extra.append((ring, ring.get_label()))
    matched_overlay(image, p, matched_instance_colours(p, g, m)[0], ax=ax,
                    title=f"{title + ' ' if title else ''}(TP {m['tp']}, FP {m['fp']}, FN {m['fn']})",
                    missed=np.isin(g, m["unmatched_gt"]) & ~held, extra=extra)
    for i in merges:
        ax.contour(p == i, levels=[0.5], colors=[colour], linewidths=2, linestyles="solid" if i in merging else "dashed")
    if not legend and ax.get_legend() is not None:
        ax.get_legend().remove()
    return m, merging, merges


__all__ += ["MERGE_COLOUR", "merged_groups", "truth_panel", "ring_objects", "fate_panel"]


def score_grid(ax: Any, scores: Any, row_names: Sequence[str], col_names: Sequence[str], chosen: tuple[int, int],
               *, xlabel: str = "", title: str = "", label: str = "score") -> Any:
    """A table of scores as a heat map: each cell coloured by its score and printed in it, the
    ``chosen`` cell boxed in black (legend "chosen" under the panel), a colour bar labelled ``label``.

    Parameters
    ----------
    ax : matplotlib Axes
        Where to draw.
    scores : (R, C) array
        One score per setting: rows and columns are two knobs (or pairs of knobs).
    row_names, col_names : sequence of str
        Tick labels of the rows and columns.
    chosen : (int, int)
        Row and column of the chosen setting.
    xlabel, title, label : str
        The x-axis label, the title and the colour bar's label.

    Returns
    -------
    matplotlib.image.AxesImage
        The heat map.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> im = score_grid(ax, np.array([[0.5, 0.7], [0.6, 0.7]]), ["a", "b"], ["1", "2"], (0, 1), label="PQ")
    >>> [t.get_text() for t in ax.texts], ax.get_legend().get_texts()[0].get_text()
    (['0.500', '0.700', '0.600', '0.700'], 'chosen')
    >>> plt.close(fig)
    """
    check_axes(ax)
    grid = np.asarray(scores, dtype=float)
    if grid.ndim != 2 or grid.shape != (len(row_names), len(col_names)):
        raise ValueError(f"scores must have shape ({len(row_names)}, {len(col_names)}), got {grid.shape}")
    im = ax.imshow(grid, cmap=_pal.CONFIDENCE_CMAP, aspect="auto")
    for (r, c), v in np.ndenumerate(grid):
        ax.text(c, r, f"{v:.3f}", ha="center", va="center", fontsize=8, color="black" if v > np.nanmean(grid) else "white")
    box = dict(fill=False, lw=2.5, edgecolor="black")
    ax.add_patch(_Rectangle((chosen[1] - 0.5, chosen[0] - 0.5), 1, 1, **box))
    ax.set_xticks(range(len(col_names)), list(col_names))
    ax.set_yticks(range(len(row_names)), list(row_names))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, label=label)
    ax.legend([_Rectangle((0, 0), 1, 1, **box)], ["chosen"], loc="upper center", bbox_to_anchor=(0.5, -0.1),
              frameon=False)
    return im


__all__ += ["score_grid"]


def most_extra_objects_window(pred: Any, gt: Any, size: int = 128, step: int = 32,
                              cols: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
    """The square window where a prediction has the most objects in excess of the truth, to zoom on.

    Windows of ``size`` x ``size`` start every ``step`` pixels; an object counts in a window when
    any of its pixels lies in it. The first window of the highest excess wins (row-major order).

    Parameters
    ----------
    pred, gt : 2-D instance maps of one shape (0 = background).
    size, step : the window's side and the stride between windows, in pixels.
    cols : ``(start, stop)``: only windows inside these columns (a region of the image); default all.

    Returns
    -------
    tuple
        ``(row, col, objects of pred, objects of gt)``: the window's top-left corner and its counts.

    Examples
    --------
    >>> gt = np.zeros((8, 8), int); gt[1, 1] = 1; gt[6, 6] = 2
    >>> pred = gt.copy(); pred[5, 4], pred[7, 5] = 3, 4          # two specks beside the second object
    >>> most_extra_objects_window(pred, gt, size=4, step=2)
    (4, 2, 2, 0)
    """
    p, g = np.asarray(pred), np.asarray(gt)
    if p.shape != g.shape or p.ndim != 2:
        raise ValueError(f"pred and gt must be 2-D maps of one shape, got {p.shape} and {g.shape}")
    c_start, c_stop = cols if cols is not None else (0, g.shape[1])
    count = lambda labels, r, c: len(np.unique(labels[r:r + size, c:c + size])) - 1 + int(  # noqa: E731
        not (labels[r:r + size, c:c + size] == 0).any())        # no background pixel: id 0 was not there to drop
    windows = [(r, c) for r in range(0, g.shape[0] - size + 1, step) for c in range(c_start, c_stop - size + 1, step)]
    if not windows:
        raise ValueError(f"no {size}x{size} window fits in rows 0 to {g.shape[0]} and columns {c_start} to {c_stop}")
    r0, c0 = max(windows, key=lambda w: count(p, *w) - count(g, *w))
    return r0, c0, count(p, r0, c0), count(g, r0, c0)


__all__ += ["most_extra_objects_window"]


def band_figure(target: Any, pred: Any, band_target: Any, band_pred: Any, d: int, crop: int = 2,
                pred_title: str = "prediction (1 px right) and its band"):
    """Lesson 00's boundary-band figure: each mask with its band, then the two bands compared.

    The first two panels show a mask in light grey and its band in the neutral band grey (red and
    blue stay reserved for FP and FN); the second also outlines the target's pixel edges, dashed.
    The third is :func:`error_map` of the two bands. All three are cropped to the masks' bounding
    box plus ``crop`` pixels, in a square view.

    Parameters
    ----------
    target, pred : (H, W) bool arrays
        The two masks.
    band_target, band_pred : (H, W) bool arrays
        Their bands (:func:`segcourse.metrics.boundary_band`), computed by the caller.
    d : int
        The band's width in pixels, for the first panel's title.
    crop : int
        How many pixels around the masks stay in view.
    pred_title : str
        The second panel's title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, one row of three panels, its legend under the first two.

    Examples
    --------
    >>> t = np.zeros((8, 8), bool); t[2:6, 2:6] = True
    >>> p = np.roll(t, 1, axis=1)
    >>> inner = lambda m: m & ~ndimage.binary_erosion(m, np.ones((3, 3)))
    >>> fig = band_figure(t, p, inner(t), inner(p), 1)
    >>> [ax.get_title() for ax in fig.axes]
    ['target and its band (d = 1 px)', 'prediction (1 px right) and its band', 'band vs band: TP / FP / FN']
    >>> [t_.get_text() for t_ in fig.legends[0].get_texts()]
    ['mask, inside', 'band', "dashed: the target's outline, drawn on the prediction"]
    >>> plt.close(fig)
    """
    t, p = as_binary(target, "target"), as_binary(pred, "pred")
    bt, bp = as_binary(band_target, "band_target"), as_binary(band_pred, "band_pred")
    colours = np.array([(255, 255, 255), (200, 200, 200), _pal.NEUTRAL_COLOURS["band"]], np.uint8)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    for ax, mask, band, title in [(axes[0], t, bt, f"target and its band (d = {d} px)"),
                                  (axes[1], p, bp, pred_title)]:
        ax.imshow(colours[np.where(band, 2, mask.astype(int))], interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    (y0, y1), (x0, x1) = [(i.min(), i.max()) for i in np.nonzero(t)]        # the target's pixel edges
    axes[1].add_patch(_Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False, ec="black", lw=1.2,
                                 ls="--"))
    fig.legend(handles=[Patch(facecolor=colours[i] / 255, edgecolor="black", label=lab)
                        for i, lab in [(1, "mask, inside"), (2, "band")]]
               + [plt.Line2D([], [], color="black", ls="--", label="dashed: the target's outline, drawn on the prediction")],
               loc="lower left", bbox_to_anchor=(0.02, 0), ncol=3, frameon=False, fontsize=10)
    error_map(bt, bp, ax=axes[2], title="band vs band: TP / FP / FN")
    ys, xs = np.nonzero(t | p)
    half = max(np.ptp(ys), np.ptp(xs)) / 2 + crop + 0.5               # a square view: squares stay square
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    for ax in axes:
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy + half, cy - half)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


__all__ += ["band_figure"]


def outline_merges(ax: Any, pred: Any, gt: Any, view: Any = None) -> list[Any]:
    """Outline in :data:`MERGE_COLOUR` (lavender) each prediction that covers at least a tenth of each of two
    or more true objects, the merge rule of :func:`segcourse.instances.fp_fn_kinds`: solid if it matches
    none of them (a merge FP, as ``fp_fn_kinds`` counts them), dashed if it matches one.

    ``view(a)`` maps each array to what the panel shows (a :func:`zoom_rows` row); by default the whole
    map. Returns the legend handles of the outlines drawn (none when nothing merges).

    Examples
    --------
    >>> gt = np.zeros((8, 8), int); gt[:4, :4] = 1; gt[:4, 4:] = 2
    >>> pred = np.zeros((8, 8), int); pred[:4] = 9                  # 9 merges 1 and 2, matching neither
    >>> fig, ax = plt.subplots()
    >>> [h.get_label() for h in outline_merges(ax, pred, gt)]
    ['merge (a tenth or more of 2+ cells), matching none: FP']
    >>> pred[:4, :2] = 0; pred[:4, 4:] = 7                           # 9 holds half of 1; 7 matches 2
    >>> [h.get_label() for h in outline_merges(ax, pred, gt)]
    []
    >>> pred[:4, 4] = 9                                              # 9 takes a tenth of 2 too (4 of its 16 px)
    >>> [h.get_label() for h in outline_merges(ax, pred, gt)]
    ['merge (a tenth or more of 2+ cells), matching none: FP']
    >>> plt.close(fig)
    """
    from matplotlib.lines import Line2D

    from .instances import match_instances

    check_axes(ax)
    p = as_label_array(pred, "pred", ndims=(2,))
    g = as_label_array(gt, "gt", ndims=(2,))
    check_same_size(pred=p.shape, gt=g.shape)
    view = np.asarray if view is None else view
    unmatched = set(match_instances(p, g)["unmatched_pred"])
    size = np.bincount(g.ravel())
    merges = []
    for i in np.unique(p):                    # fp_fn_kinds' rule: at least a tenth of each of 2+ true objects
        ids, n = np.unique(g[p == i], return_counts=True)
        if i and np.sum((ids > 0) & (n >= 0.1 * size[ids])) >= 2:
            merges.append(int(i))
    colour = np.array(MERGE_COLOUR) / 255
    styles = set()
    for i in merges:
        shown = view(p == i)
        if shown.any():
            style = "solid" if i in unmatched else "dashed"
            ax.contour(shown, levels=[0.5], colors=[colour], linewidths=2, linestyles=style)
            styles.add(style)
    handles = []
    if "solid" in styles:
        handles.append(Patch(facecolor=np.array(_pal.OUTCOME_COLOURS["FP"]) / 255, edgecolor=colour, linewidth=2,
                             label="merge (a tenth or more of 2+ cells), matching none: FP"))
    if "dashed" in styles:
        handles.append(Line2D([], [], color=colour, linewidth=2, linestyle="--",
                              label="merge (a tenth or more of 2+ cells), matching one"))
    return handles


__all__ += ["outline_merges"]


def instance_card(image: Any, pred: Any, gt: Any, scores: Mapping[str, float], notes: Sequence[str] = (),
                  band: Any = None, marks: Mapping[str, Sequence[int]] | None = None, rim: Any = None):
    """Evidence card for instances: the image, the truth (:func:`truth_panel`), each prediction by its
    fate (:func:`fate_panel`), a boundary example, the wrong pixels split by a boundary band, and the
    scores and failure notes; returns ``(figure, summary_text)``.

    Parameters
    ----------
    image : (H, W) array
        The grey image, values in [0, 1].
    pred, gt : (H, W) int arrays
        Predicted and true instance maps (0 = background).
    scores : mapping name -> float
        Numbers computed elsewhere, printed in the text panel.
    notes : sequence of str
        Failure notes.
    band : (H, W) bool array, optional
        A boundary band: the wrong pixels (nucleus vs background) are drawn cyan in it, magenta outside it.
    marks : mapping name -> true ids, optional
        Objects the notes talk about (``{"merge": [3, 4], "split": [7]}``): their true outlines are drawn in
        :data:`MERGE_COLOUR` on the truth panel, and each name labels them on the truth and prediction panels.
    rim : (box, pred_id, gt_id, value), optional
        A boundary example: the crop ``box`` with the true outline (white) and the prediction's (dashed).

    Returns
    -------
    (matplotlib Figure, str)

    Examples
    --------
    >>> gt = np.zeros((16, 8), int); gt[1:5, 1:5] = 1; gt[8:12, 1:4] = 2; gt[8:12, 4:7] = 3
    >>> pred = np.where(gt > 1, 9, gt)                     # 2 and 3 merged into 9
    >>> fig, text = instance_card(np.zeros((16, 8)), pred, gt, {"PQ": 0.5}, ["one merge"], marks={"merge": [2, 3]})
    >>> print(text)
    Metric
    PQ: 0.500
    <BLANKLINE>
    Failure notes
    - one merge
    >>> [t.get_text() for t in fig.axes[1].texts]
    ['merge']
    >>> plt.close(fig)
    """
    from matplotlib import patheffects
    from matplotlib.lines import Line2D

    shown = _scores(dict(scores))
    summary = "\n".join(["Metric"] + [f"{k}: {v:.3f}" for k, v in shown.items()] + ["", "Failure notes"]
                        + [f"- {n}" for n in notes])
    img = np.asarray(image, float)
    p = as_label_array(pred, "pred", ndims=(2,))
    g = as_label_array(gt, "gt", ndims=(2,))
    check_same_size(pred=p.shape, gt=g.shape)
    h, w = g.shape
    fig = plt.figure(figsize=(12.4, 2 * 3.0 * min(max(h / w, 0.6), 1.6) + 3.4))
    grid = fig.add_gridspec(2, 4, hspace=0.32, wspace=0.12, left=0.02, right=0.99, top=0.96, bottom=0.1)
    ax = [fig.add_subplot(grid[0, i]) for i in range(4)]
    ax[0].imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax[0].set_title("input image")
    ax[0].set_axis_off()
    truth_panel(ax[1], img, p, g, f"target: {len(np.unique(g)) - 1} objects")
    m = fate_panel(ax[2], img, p, g, "prediction")[0]
    colour = np.array(MERGE_COLOUR) / 255
    halo = [patheffects.withStroke(linewidth=3, foreground="black")]
    for name, ids in (marks or {}).items():
        sel = np.isin(g, list(ids))
        if not sel.any():
            continue
        ax[1].contour(sel, levels=[0.5], colors=[colour], linewidths=2)
        rows, cols = np.nonzero(sel)
        at = (cols.max() + 1, rows.min()) if cols.max() < 0.6 * w else (cols.min() - 1, rows.min())
        side = "left" if cols.max() < 0.6 * w else "right"
        for a in ax[1:3]:
            a.annotate(name, xy=at, xytext=(16 if side == "left" else -16, -14), textcoords="offset points",
                       ha=side, color=colour, fontsize=10, fontweight="bold", path_effects=halo,
                       arrowprops=dict(arrowstyle="-", color=colour, lw=1.5))
    if marks:
        leg = ax[1].get_legend()
        handles = list(leg.legend_handles) + [Line2D([], [], color=colour, linewidth=2)]
        labels = [t.get_text() for t in leg.get_texts()] + ["the notes' objects (true outline)"]
        ax[1].legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False, fontsize=8)
    if rim is not None:
        box, pid, gid, value = rim
        pair = np.array(matched_instance_colours(p, g, m)[0].get(pid, ERROR_COLOURS["FP"])) / 255
        ax[3].imshow(img[box], cmap="gray", vmin=0, vmax=1)
        ax[3].contour(g[box] == gid, levels=[0.5], colors="white", linewidths=2)
        ax[3].contour(p[box] == pid, levels=[0.5], colors=[pair], linewidths=2, linestyles="dashed")
        ax[3].set_title(f"boundary example: IoU {value:.3f}")
        legend_below(ax[3], [Line2D([], [], color="white", linewidth=2, path_effects=halo, label="annotation"),
                             Line2D([], [], color=pair, linewidth=2, linestyle="--", label="prediction")])
    ax[3].set_axis_off()
    if band is not None:
        err = fig.add_subplot(grid[1, 0])
        rgb = boundary_error_map((g > 0).astype(int), (p > 0).astype(int), band, ax=err,
                                 title="errors (band: 2 px of a rim)")
        lit = np.array(_pal.NEUTRAL_COLOURS["correct"], np.uint8)   # the band's dark grey is hard to see on TN
        rgb[np.all(rgb == np.array(_pal.NEUTRAL_COLOURS["band"], np.uint8), axis=-1)] = lit
        err.images[0].set_data(rgb)
        legend = err.get_legend()
        for text, patch in zip(legend.get_texts(), legend.get_patches()):
            if text.get_text() == "band":
                patch.set_facecolor(lit / 255)
                patch.set_edgecolor("black")
            text.set_text({"boundary error": "wrong, in the band", "interior error": "wrong, outside the band",
                           "band": "band, correct"}.get(text.get_text(), text.get_text()))
    text_ax = fig.add_subplot(grid[1, 1:])
    text_ax.set_axis_off()
    text_ax.text(0.02, 1, summary, va="top", family="monospace", fontsize=9, wrap=True)
    return fig, summary


__all__ += ["instance_card"]


def legend_words(fig: Any, words: Mapping[str, str]) -> int:
    """Rename legend entries of a drawn figure: every entry whose text is a key of ``words``, in the
    figure's own legends and in each axes' legend, takes ``words[text]``; the others stay.

    Use it when two panels name the same pixels in different words (lesson 05's evidence card:
    "boundary error" on one panel, "wrong, on a boundary band" on the other).

    Parameters
    ----------
    fig : a matplotlib figure.
    words : old text -> new text.

    Returns
    -------
    int, how many entries were renamed.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], label="boundary error"); _ = ax.plot([1, 0], label="other"); _ = ax.legend()
    >>> legend_words(fig, {"boundary error": "wrong, on a boundary band"})
    1
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['wrong, on a boundary band', 'other']
    >>> plt.close(fig)
    """
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    renamed = 0
    for text in [t for legend in legends for t in legend.get_texts()]:
        if text.get_text() in words:
            text.set_text(words[text.get_text()])
            renamed += 1
    return renamed


def bucket_gallery(images: Any, targets: Any, preds: Any, scores: Sequence[float],
                   bucket_masks: Sequence[Mapping[str, Any]], colours: Mapping[str, Any],
                   class_names: Sequence[str], ids: Sequence[int] | None = None, palette: Any = None):
    """A :func:`failure_gallery` whose last column colours each wrong pixel by the failure bucket that
    explains it (lesson 05 section 6): rows image / ground truth / prediction / wrong pixels by
    bucket, lowest score first; a class legend on top, a bucket legend below.

    Parameters
    ----------
    images, targets, preds : the samples, (N, H, W[, 3]) and (N, H, W).
    scores : one score per sample, printed in the row's title ("#id: mIoU ...").
    bucket_masks : one dict per sample, bucket name -> bool (H, W) mask of the wrong pixels it
        explains (:func:`segcourse.failures.bucket_pixels`); ``"no bucket"`` may be one of them.
    colours : bucket name -> 0..255 RGB colour, one for each bucket that may appear.
    class_names : for the class legend.
    ids : the samples' names in titles (default: their positions).
    palette : class colours (default: the course palette).

    Returns
    -------
    matplotlib figure.

    Examples
    --------
    >>> t = np.zeros((2, 6, 6), int); t[:, 2:4, 2:4] = 1
    >>> p = t.copy(); p[0, 0, 0] = 1
    >>> parts = [{"false_positive_class": p[0] != t[0]}, {}]
    >>> fig = bucket_gallery(np.zeros((2, 6, 6)), t, p, [0.7, 1.0], parts,
    ...                      {"false_positive_class": (200, 0, 0)}, ["bg", "obj"], ids=[5, 9])
    >>> [a.get_title() for a in fig.axes[::4]], [t.get_text() for t in fig.legends[1].get_texts()]
    (['#5: mIoU 0.700', '#9: mIoU 1.000'], ['false positive class', 'correct'])
    >>> plt.close(fig)
    """
    vals = np.asarray(scores, dtype=float)
    if len(bucket_masks) != len(vals):
        raise ValueError(f"bucket_masks needs one dict per sample: {len(bucket_masks)} for {len(vals)} samples")
    names = list(range(len(vals))) if ids is None else list(ids)
    fig = failure_gallery(images, targets, preds, vals, k=len(vals), palette=palette, ids=names)
    fig.legends.clear()                                    # the plain gallery's error legend: replaced below
    correct = _pal.NEUTRAL_COLOURS["correct"]
    shown: list[str] = []
    for row, i in enumerate(np.argsort(np.where(np.isnan(vals), np.inf, vals), kind="stable")):
        fig.axes[4 * row].set_title(f"#{names[i]}: mIoU {vals[i]:.3f}", fontsize=9)
        canvas = np.full(np.shape(targets[i]) + (3,), correct, np.uint8)
        for bucket, mask in bucket_masks[i].items():
            mask = np.asarray(mask, bool)
            canvas[mask] = colours[bucket]
            if mask.any() and bucket not in shown:
                shown.append(bucket)
        fig.axes[4 * row + 3].images[0].set_data(canvas)
        fig.axes[4 * row + 3].set_title("wrong pixels by bucket", fontsize=9)
    fig.legend(handles=legend_handles(class_names, palette), loc="upper center", ncol=len(class_names),
               frameon=False, fontsize=9)
    order = [b for b in colours if b in shown]
    fig.legend(handles=[Patch(facecolor=np.array(colours[b]) / 255, edgecolor="black", linewidth=0.5,
                              label=b.replace("_", " ")) for b in order]
               + [Patch(facecolor=np.array(correct) / 255, edgecolor="black", linewidth=0.5, label="correct")],
               loc="lower center", ncol=5, frameon=False, fontsize=9, title="last column")
    height = fig.get_size_inches()[1]
    fig.tight_layout(rect=(0, 0.5 / height, 1, 1 - 0.4 / height))
    return fig


__all__ += ["legend_words", "bucket_gallery"]


# ------------------------------------------------------- one row label for zoom_rows (review 03s10b P3-8)

def zoom_row_label(axes: Any, text: str = "the dashed box, enlarged 4 ×") -> None:
    """Replace the repeated titles of :func:`zoom_rows`' bottom row by one row label.

    :func:`zoom_rows` titles every bottom panel "the dashed box, enlarged:" over its top panel's
    title, two lines per panel that say the same thing. This clears those titles and writes
    ``text`` once, rotated, left of the bottom row (the top row keeps its titles).

    Parameters
    ----------
    axes : the 2-row grid that :func:`zoom_rows` drew.
    text : the row label.

    Examples
    --------
    >>> fig, axes = plt.subplots(2, 2)
    >>> def draw(row, view):
    ...     for ax in axes[row]:
    ...         _ = ax.imshow(view(np.zeros((10, 12)))); ax.set_title("map")
    >>> zoom_rows(axes, (slice(2, 6), slice(3, 8)), draw)
    >>> zoom_row_label(axes)
    >>> [ax.get_title() for ax in axes[1]], axes[1, 0].texts[-1].get_text(), axes[0, 1].get_title()
    (['', ''], 'the dashed box, enlarged 4 ×', 'map')
    >>> plt.close(fig)
    """
    axes = np.asarray(axes)
    if axes.ndim != 2 or axes.shape[0] != 2:
        raise ValueError(f"axes must be the 2-row grid of zoom_rows, got shape {axes.shape}")
    for ax in axes[1]:
        ax.set_title("")
    axes[1, 0].text(-0.04, 0.5, text, transform=axes[1, 0].transAxes, rotation=90, ha="right", va="center",
                    fontsize=10)


__all__ += ["zoom_row_label"]


def confusion_heatmap(cm: Any, class_names: Sequence[str], palette: Any = None, ax=None,
                      title: str = "confusion, row-normalised") -> np.ndarray:
    """Heatmap of a confusion matrix, each row divided by its true-class pixels, shares in the cells.

    Rows are the true class, columns the predicted class. A row whose class has no true pixel is
    left blank and marked "-" (nothing to divide). Each class name carries a swatch of its class
    colour; the colour bar (:data:`palette.CONFIDENCE_CMAP`, 0 to 1) reads the shares.

    Parameters
    ----------
    cm : (K, K) pixel counts, ``cm[true, predicted]`` (``metrics.confusion_matrix``).
    class_names : K names.
    palette : class colours (default: the course's generic palette).
    ax : where to draw (default: a new figure).
    title : the panel's title.

    Returns
    -------
    The (K, K) row-normalised shares (NaN for a row without true pixels).

    >>> shares = confusion_heatmap([[3, 1], [0, 0]], ["road", "car"])
    >>> shares[0].tolist(), bool(np.isnan(shares[1]).all())
    ([0.75, 0.25], True)
    >>> [t.get_text() for t in plt.gca().texts][:3]
    ['75%', '25%', '-']
    >>> plt.close("all")
    """
    counts = np.asarray(cm, dtype=float)
    k = len(class_names)
    if counts.shape != (k, k):
        raise ValueError(f"cm must be {k}×{k} for {k} class names, got shape {counts.shape}")
    pal = _palette(palette)
    check_enough_colours(k, pal, "class_names")
    rows = counts.sum(1, keepdims=True)
    shares = np.divide(counts, rows, out=np.full_like(counts, np.nan), where=rows > 0)
    return _share_matrix(ax, shares, class_names, pal, title, "share of the true class's pixels",
                         [[f"{v:.0%}" for v in row] for row in shares], fontsize=8)


def _share_matrix(ax, shares, class_names, pal, title, bar_label, cell_text, fontsize):
    """Draw a (K, K) share matrix with a class-colour swatch by each name (``confusion_heatmap`` and
    ``confusion_by_column``): ``cell_text[t][p]`` is written in each cell, "-" where the share is NaN."""
    k = len(class_names)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.2))
    shown = ax.imshow(np.ma.masked_invalid(shares), cmap=_pal.CONFIDENCE_CMAP, vmin=0, vmax=1)
    for t in range(k):
        for p in range(k):
            v = shares[t, p]
            ax.text(p, t, "-" if np.isnan(v) else cell_text[t][p], ha="center", va="center", fontsize=fontsize,
                    color="black" if np.isnan(v) or v >= 0.5 else "white")
    ax.set_xticks(range(k), class_names, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), class_names)
    for i in range(k):                       # a class-colour swatch beside each row and column name
        ax.scatter([-0.85], [i], marker="s", s=60, color=pal[i] / 255, edgecolor="black", lw=0.5, clip_on=False)
        ax.scatter([i], [k - 0.15], marker="s", s=60, color=pal[i] / 255, edgecolor="black", lw=0.5, clip_on=False)
    ax.set_xlim(-0.5, k - 0.5)
    ax.set_ylim(k - 0.5, -0.5)
    ax.tick_params(axis="y", pad=14)
    ax.tick_params(axis="x", pad=12)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    ax.figure.colorbar(shown, ax=ax, label=bar_label)
    return shares


__all__ += ["confusion_heatmap"]


# ------------------------------------------------------- lesson 01's figures, drawn by one call each

def image_label_grid(images: Sequence[Any], label_maps: Sequence[Any], class_names: Sequence[str],
                     palette: Any = None, titles: Sequence[str] | None = None,
                     figsize: tuple[float, float] = (10, 5)):
    """Images on the top row, their label maps below, a row label on the left and one class legend.

    Parameters
    ----------
    images : ``n`` RGB images ``(H, W, 3)``.
    label_maps : ``n`` label maps ``(H, W)``, drawn in ``palette``'s class colours.
    class_names : the names of the legend's classes.
    palette : ``(K, 3)`` uint8 class colours (default: the course palette).
    titles : one title per column (optional).
    figsize : the figure's size in inches.

    Returns
    -------
    The figure; its axes form a ``(2, n)`` grid.

    Examples
    --------
    >>> fig = image_label_grid(np.zeros((2, 4, 4, 3)), np.zeros((2, 4, 4), int), ["a", "b"], titles=["x", "y"])
    >>> fig.axes[0].get_title(), len(fig.legends[0].get_texts())
    ('x', 2)
    >>> plt.close(fig)
    """
    if len(images) != len(label_maps):
        raise ValueError(f"give one label map per image: {len(images)} images, {len(label_maps)} label maps")
    fig, axes = plt.subplots(2, len(images), figsize=figsize, squeeze=False)
    for col, (img, lm) in enumerate(zip(images, label_maps)):
        axes[0, col].imshow(np.asarray(img))
        show_mask(axes[1, col], lm, palette)
        if titles is not None:
            axes[0, col].set_title(titles[col], fontsize=9)
    for ax in axes.ravel():
        ax.set_axis_off()
    for row, text in enumerate(("image", "label map")):
        axes[row, 0].text(-0.06, 0.5, text, transform=axes[row, 0].transAxes, rotation=90, ha="right", va="center")
    fig.legend(handles=legend_handles(class_names, palette), loc="lower center", ncol=len(class_names), frameon=False)
    fig.tight_layout(rect=(0.03, 0.06, 1, 1), h_pad=1.5)
    return fig


def confusion_rates_figure(rates: Any, class_names: Sequence[str], title: str = "rows sum to 1",
                           figsize: tuple[float, float] = (5.6, 4)):
    """A row-normalised confusion matrix (rows = truth) with each rate written in its cell and a colour bar.

    Parameters
    ----------
    rates : ``(K, K)`` rates in [0, 1], each row the share of one true class's pixels.
    class_names : the ``K`` class names, on both axes.
    title : the axes' title.
    figsize : the figure's size in inches.

    Returns
    -------
    The figure (its first axes hold the matrix, the second the colour bar).

    Examples
    --------
    >>> fig = confusion_rates_figure(np.array([[0.9, 0.1], [0.25, 0.75]]), ["road", "car"])
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['0.90', '0.10', '0.25', '0.75']
    >>> plt.close(fig)
    """
    rates = np.asarray(rates, float)
    k = len(class_names)
    if rates.shape != (k, k):
        raise ValueError(f"rates must be ({k}, {k}) for {k} class names, got shape {rates.shape}")
    fig, ax = plt.subplots(figsize=figsize)
    shown = ax.imshow(rates, cmap=_pal.CONFIDENCE_CMAP, vmin=0, vmax=1)
    fig.colorbar(shown, ax=ax, label="share of the true class's pixels", shrink=0.8)
    ax.set_xticks(range(k), class_names, rotation=35, ha="right")
    ax.set_yticks(range(k), class_names)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{rates[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="black" if rates[i, j] > 0.5 else "white")
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return fig


def class_iou_curves(curves: Mapping[str, Any], class_names: Sequence[str], palette: Any = None,
                     ylabel: str = "held-out IoU", figsize: tuple[float, float] = (10, 3.6)):
    """One panel per run: each class's IoU at each evaluation, in the class colours, one shared legend.

    Parameters
    ----------
    curves : run name -> ``(x, ious)``: ``n`` x values (e.g. images seen) and ``(n, K)`` IoUs.
    class_names : the ``K`` class names.
    palette : ``(K, 3)`` uint8 class colours (default: the course palette).
    ylabel : the left panel's y label.
    figsize : the figure's size in inches.

    Returns
    -------
    The figure (one axes per run, sharing the y axis from -0.08 so that a curve at 0 stays visible).

    Examples
    --------
    >>> fig = class_iou_curves({"CE": ([1, 2], [[0.5, 0.0], [0.9, 0.0]])}, ["road", "lane"])
    >>> fig.axes[0].get_title(), len(fig.axes[0].lines)
    ('CE', 3)
    >>> plt.close(fig)
    """
    colours = _palette(palette)
    fig, axes = plt.subplots(1, len(curves), figsize=figsize, sharey=True, squeeze=False)
    for ax, (label, (x, ious)) in zip(axes[0], curves.items()):
        ious = np.asarray(ious, float)
        for c, name in enumerate(class_names):
            ax.plot(x, ious[:, c], "o-", color=colours[c] / 255, label=name, markeredgecolor="black",
                    markeredgewidth=0.5, zorder=3, clip_on=False)
        ax.axhline(0, color="0.6", lw=0.8, zorder=1)
        ax.set(title=label, xlabel="training images seen", ylim=(-0.08, 1.04))
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(ylabel)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=len(class_names), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def label_map_row(image: Any, maps: Mapping[str, Any], class_names: Sequence[str], palette: Any = None,
                  image_title: str = "image", figsize: tuple[float, float] = (12, 3.9)):
    """An image and several label maps of it side by side (titled by ``maps``' keys), one class legend.

    Parameters
    ----------
    image : an RGB image ``(H, W, 3)``.
    maps : title -> label map ``(H, W)`` (ground truth, predictions...).
    class_names : the names of the legend's classes.
    palette : ``(K, 3)`` uint8 class colours (default: the course palette).
    image_title : the image's title.
    figsize : the figure's size in inches.

    Returns
    -------
    The figure.

    Examples
    --------
    >>> fig = label_map_row(np.zeros((4, 4, 3)), {"truth": np.zeros((4, 4), int)}, ["a", "b"])
    >>> [ax.get_title() for ax in fig.axes]
    ['image', 'truth']
    >>> plt.close(fig)
    """
    fig, axes = plt.subplots(1, 1 + len(maps), figsize=figsize)
    axes[0].imshow(np.asarray(image))
    axes[0].set_title(image_title, fontsize=10)
    axes[0].set_axis_off()
    for ax, (title, lm) in zip(axes[1:], maps.items()):
        show_mask(ax, lm, palette)
        ax.set_title(title, fontsize=10)
    fig.legend(handles=legend_handles(class_names, palette), loc="lower center", ncol=len(class_names), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def score_histograms(scores: Mapping[str, Any], bins: Any, xlabel: str = "mIoU of one scene",
                     figsize: tuple[float, float] = (10, 3.4)):
    """One histogram per group of per-scene scores, each with a dashed line at its median.

    Parameters
    ----------
    scores : title -> the scores of that group's scenes.
    bins : the histogram's bin edges, shared by every panel.
    xlabel : the x label.
    figsize : the figure's size in inches.

    Returns
    -------
    The figure (one axes per group, sharing both axes).

    Examples
    --------
    >>> fig = score_histograms({"a": [0.8, 0.9, 0.95]}, bins=np.linspace(0.6, 1, 5))
    >>> fig.axes[0].get_legend().get_texts()[-1].get_text()
    'median 0.900'
    >>> plt.close(fig)
    """
    fig, axes = plt.subplots(1, len(scores), figsize=figsize, sharex=True, sharey=True, squeeze=False)
    for ax, (label, v) in zip(axes[0], scores.items()):
        v = np.asarray(v, float)
        ax.hist(v, bins=bins, color="0.55", edgecolor="black", linewidth=0.4, label=f"scenes ({len(v)})")
        ax.axvline(np.median(v), color="black", ls="--", lw=1.2, label=f"median {np.median(v):.3f}")
        ax.set(title=label, xlabel=xlabel)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("number of scenes")
    fig.tight_layout()
    return fig


__all__ += ["image_label_grid", "confusion_rates_figure", "class_iou_curves", "label_map_row", "score_histograms"]


# ------------------------------------------------------- lesson 02's figures (session 11: denser lesson)

def heat_row(maps: Mapping[str, Any], label: str, cmap: str = _pal.LOG_CMAP, vmin: float | None = None,
             vmax: float | None = None, image: Any = None, figsize: tuple[float, float] | None = None,
             extend: str = "neither") -> tuple[Any, np.ndarray]:
    """One row of heat maps that share one colour bar, optionally after an RGB image.

    Parameters
    ----------
    maps : panel title -> 2-D array, drawn left to right.
    label : the colour bar's label.
    cmap, vmin, vmax : the colour scale shared by every panel.
    image : an RGB image ``(H, W, 3)`` drawn first, titled "image", or ``None``.
    figsize : the figure size (default: 2.6 inches a panel by 2.9).
    extend : the colour bar's ``extend`` ("max" when values above ``vmax`` are clipped).

    Returns
    -------
    (figure, axes)

    Examples
    --------
    >>> fig, axes = heat_row({"a": np.zeros((4, 4)), "b": np.ones((2, 2))}, "value", vmin=0, vmax=1)
    >>> [ax.get_title() for ax in axes], len(fig.axes)
    (['a', 'b'], 3)
    >>> plt.close(fig)
    """
    panels = ([("image", np.asarray(image))] if image is not None else []) + list(maps.items())
    if not maps:
        raise ValueError("maps is empty: give at least one panel")
    fig, axes = plt.subplots(1, len(panels), figsize=figsize or (2.6 * len(panels), 2.9), squeeze=False)
    axes = axes[0]
    im = None
    for ax, (title, m) in zip(axes, panels):
        if image is not None and ax is axes[0]:
            ax.imshow(m)
        else:
            im = ax.imshow(np.asarray(m), cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.colorbar(im, ax=axes, fraction=0.015, pad=0.01, label=label, extend=extend)
    return fig, axes


def mask_grid(cells: Sequence[Sequence[tuple[str, Any, str] | None]], class_names: Sequence[str], palette: Any = None,
              panel: float = 2.1, heat_label: str = "value", vmin: float = 0.0, vmax: float = 1.0) -> tuple[Any, np.ndarray]:
    """A grid of RGB images, label maps and heat maps with one class legend below.

    Parameters
    ----------
    cells : rows of ``(kind, array, title)`` with kind ``"image"`` (RGB), ``"mask"`` (class ids) or
        ``"heat"`` (a 2-D array on one shared colour scale), or ``None`` for an empty panel.
    class_names : the legend's classes.
    palette : class colours (default: the course palette).
    panel : inches per panel.
    heat_label, vmin, vmax : the heat maps' colour bar label and scale (a bar is drawn only when
        there is a heat map).

    Returns
    -------
    (figure, axes) with axes of shape (rows, columns).

    Examples
    --------
    >>> m = np.array([[0, 1], [1, 0]])
    >>> fig, axes = mask_grid([[("image", np.zeros((2, 2, 3)), "scene"), ("mask", m, "labels")],
    ...                        [None, ("mask", m, "prediction")]], ["sky", "road"])
    >>> axes.shape, axes[1, 1].get_title(), axes[1, 0].get_title()
    ((2, 2), 'prediction', '')
    >>> fig, axes = mask_grid([[("heat", np.eye(3), "map")]], ["sky"], heat_label="activation")
    >>> fig.axes[-1].get_ylabel()
    'activation'
    >>> plt.close("all")
    """
    rows, cols = len(cells), max(len(r) for r in cells)
    fig, axes = plt.subplots(rows, cols, figsize=(panel * cols, panel * rows + 0.4), squeeze=False)
    heat = None
    for r, row in enumerate(cells):
        for c in range(cols):
            ax, cell = axes[r, c], row[c] if c < len(row) else None
            ax.set_axis_off()
            if cell is None:
                continue
            kind, a, title = cell
            if kind == "image":
                ax.imshow(np.asarray(a))
            elif kind == "mask":
                show_mask(ax, a, palette)
            elif kind == "heat":
                heat = ax.imshow(np.asarray(a), cmap=_pal.LOG_CMAP, vmin=vmin, vmax=vmax)
            else:
                raise ValueError(f"kind must be 'image', 'mask' or 'heat', got {kind!r}")
            ax.set_title(title, fontsize=9)
    fig.legend(handles=legend_handles(class_names, palette), loc="lower center", ncol=len(class_names), frameon=False,
               fontsize=9)
    fig.tight_layout(rect=(0, 0.35 / fig.get_size_inches()[1], 1, 1))
    if heat is not None:
        fig.colorbar(heat, ax=axes, fraction=0.02, pad=0.01, label=heat_label)
    return fig, axes


def series_lines(ax: Any, series: Mapping[str, tuple[Sequence[float], Any]], style: str = "-",
                 labels: bool = True) -> None:
    """Draw a few runs' curves in the series colours (never a class colour), one marker each.

    Parameters
    ----------
    ax : the axes.
    series : name -> (steps, values); values may be a 2-D array (one row a seed): the first row is
        drawn as the line, the lowest to highest over the rows as a band.
    style : the line style ("-" or "--").
    labels : whether the lines get legend labels (their names).

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> series_lines(ax, {"a": ([1, 2], [0.1, 0.2]), "b": ([1, 2], [[0.3, 0.4], [0.2, 0.5]])})
    >>> [line.get_label() for line in ax.get_lines()], len(ax.collections)
    (['a', 'b'], 1)
    >>> plt.close(fig)
    """
    if len(series) > len(_pal.SERIES):
        raise ValueError(f"at most {len(_pal.SERIES)} series, got {len(series)}")
    for (name, (steps, values)), colour, marker in zip(series.items(), _pal.SERIES, "os^"):
        values = np.atleast_2d(np.asarray(values, dtype=float))
        if len(values) > 1:
            ax.fill_between(steps, values.min(0), values.max(0), color=_pal.rgb(colour), alpha=0.2, lw=0)
        ax.plot(steps, values[0], style, color=_pal.rgb(colour), marker=marker, markersize=4,
                label=name if labels else None)


__all__ += ["heat_row", "mask_grid", "series_lines"]


# ------------------------------------------- lesson 03's zoomed instance figures (session 11: the lesson's draw bodies)

def _toy_cluster() -> tuple:
    """A 20 × 24 toy: two touching cells and a lone one, an image, and objects that merge the pair."""
    truth = np.zeros((20, 24), np.int32)
    truth[4:12, 3:9], truth[4:12, 9:15], truth[14:18, 18:22] = 1, 2, 3
    image = np.stack([(truth > 0) * 0.8] * 3, -1)
    return image, truth, np.where(truth == 2, 1, truth)


def instance_rows_figure(image: Any, truth: Any, objects: Mapping[str, Any], maps: Sequence[tuple] = (),
                         box: tuple[slice, slice] | None = None, truth_from: str | None = None,
                         figsize: tuple[float, float] | None = None) -> Any:
    """Maps, predicted objects and the truth of one image, drawn twice: whole, and a box enlarged 4 × 4.

    Columns, left to right: each of ``maps`` (``(title, array, colours)``: a class map drawn with
    :func:`show_mask` and its class legend, where ``colours`` is ``(class_names, palette)``; or
    ``(title, array, None)``: the raw image), then each of ``objects`` (``{title: instance map}``,
    coloured by :func:`matched_instance_colours`, unmatched objects in the FP colour, merges
    outlined by :func:`outline_merges`, with TP/FP/FN in the title), then the truth, coloured as
    matched by ``objects[truth_from]`` (default: the last), its missed cells in the FN colour. Row 2
    enlarges ``box`` (default :func:`cluster_box`, the blob with the most cells); legends sit under
    row 2.

    Parameters
    ----------
    image : (H, W, 3) the image under the outlines.
    truth : (H, W) the true instance map.
    objects : ``{title: (H, W) instance map}``, one column each.
    maps : ``(title, (H, W) array, (class_names, palette) or None)`` columns before the objects.
    box : (rows, cols) slices of the enlarged part.
    truth_from : which entry of ``objects`` colours the truth (and names its missed cells).
    figsize : the figure size; default 3.25 in per column, 6.8 in high.

    Returns
    -------
    The figure; its axes form a 2 × n grid.

    Examples
    --------
    >>> image, truth, merged = _toy_cluster()
    >>> fig = instance_rows_figure(image, truth, {"merged": merged})
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['merged: TP 1 FP 1 FN 2', 'truth: 3 cells']
    >>> [t.get_text() for t in fig.axes[3].get_legend().get_texts()]
    ['matched: each pair shares a colour', 'FN: missed by merged']
    >>> plt.close(fig)
    """
    from . import instances

    truth = np.asarray(truth)
    names = list(objects)
    truth_from = truth_from or names[-1]
    n_col = len(maps) + len(names) + 1
    fig, axes = plt.subplots(2, n_col, figsize=figsize or (3.25 * n_col, 6.8), squeeze=False)
    box = box if box is not None else cluster_box(truth > 0, truth)
    match = {n: instances.match_instances(np.asarray(o), truth) for n, o in objects.items()}

    def draw(row: int, view: Any) -> None:
        for col, (title, arr, colours) in enumerate(maps):
            if colours is None:
                axes[row, col].imshow(view(np.asarray(arr))); axes[row, col].set_title(title); axes[row, col].set_axis_off()
            else:
                show_mask(axes[row, col], view(np.asarray(arr)), colours[1], title)
        for col, name in enumerate(names, start=len(maps)):
            o, r = np.asarray(objects[name]), match[name]
            instance_overlay(view(image), view(o), ax=axes[row, col], legend=False,
                             colours=matched_instance_colours(o, truth, r)[0],
                             title=f"{name}: TP {r.tp} FP {r.fp} FN {r.fn}")
            merges = outline_merges(axes[row, col], o, truth, view)
            if row:
                legend_below(axes[1, col], [matched_swatch()]
                             + (outcome_handles(("FP",), labels={"FP": "FP: unmatched prediction"}) if r.fp else [])
                             + merges)
        r = match[truth_from]
        instance_overlay(view(image), view(truth), ax=axes[row, -1], legend=False, title=f"truth: {int(truth.max())} cells",
                         colours=matched_instance_colours(np.asarray(objects[truth_from]), truth, r)[1])

    zoom_rows(axes, box, draw)
    zoom_row_label(axes)
    for col, (_, _, colours) in enumerate(maps):
        if colours is not None:
            legend_below(axes[1, col], legend_handles(*colours), ncol=1)
    r = match[truth_from]
    legend_below(axes[1, -1], [matched_swatch()]
                 + (outcome_handles(("FN",), labels={"FN": f"FN: missed by {truth_from}"}) if r.fn else []))
    fig.tight_layout()
    return fig


__all__ += ["instance_rows_figure"]


def distance_rows_figure(image: Any, distance: Any, objects: Any, markers: Any, truth: Any,
                         name: str = "learned", box: tuple[slice, slice] | None = None) -> Any:
    """A predicted distance map with its markers, the objects seeded from it and the truth, whole and enlarged.

    Columns: the map (magma, its colour bar) with one grey circle per marker; the objects coloured
    by :func:`matched_instance_colours`, cell pixels given no id hatched in the "wrong" error colour;
    the truth, its missed cells in the FN colour. Row 2 enlarges ``box`` 4 × 4 (default
    :func:`cluster_box`); the legends sit under row 2.

    Parameters
    ----------
    image : (H, W, 3) the image under the outlines.
    distance : (H, W) the predicted distance map.
    objects : (H, W) the instance map seeded from it.
    markers : (H, W) the markers (non-zero where one lies).
    truth : (H, W) the true instance map.
    name : the objects' name in their panel's title.
    box : (rows, cols) slices of the enlarged part.

    Returns
    -------
    The figure: a 2 × 3 grid and the colour bar.

    Examples
    --------
    >>> image, truth, merged = _toy_cluster()
    >>> markers = np.zeros_like(truth); markers[8, 6] = markers[15, 20] = 1
    >>> fig = distance_rows_figure(image, ndimage.distance_transform_edt(truth > 0), merged, markers, truth)
    >>> [ax.get_title() for ax in fig.axes[:3]]
    ['predicted distance, markers', 'learned: TP 1 FP 1 FN 2', 'truth: 3 cells']
    >>> [t.get_text() for t in fig.axes[4].get_legend().get_texts()]
    ['matched: each pair shares a colour', 'cell pixel with no id']
    >>> plt.close(fig)
    """
    from . import instances

    truth, objects, distance = np.asarray(truth), np.asarray(objects), np.asarray(distance)
    box = box if box is not None else cluster_box(truth > 0, truth)
    r = instances.match_instances(objects, truth)
    obj_colours, truth_colours = matched_instance_colours(objects, truth, r)
    no_id = (truth > 0) & (objects == 0)                     # cell pixels below the threshold: hatched
    no_id_style = dict(facecolor=np.array(_pal.ERROR_COLOURS["wrong"]) / 255, hatch="xx", edgecolor="black",
                       linewidth=0)
    marker_map, line_colour = np.asarray(markers) > 0, _pal.rgb(_pal.SERIES[0])
    fig, axes = plt.subplots(2, 3, figsize=(10, 6.8))

    def draw(row: int, view: Any) -> None:
        size = 1 if row == 0 else 4                          # row 1 draws each pixel 4 × 4
        im = axes[row, 0].imshow(view(distance), cmap="magma", vmin=distance.min(), vmax=distance.max())
        axes[row, 0].set_axis_off()
        axes[row, 0].set_title("predicted distance, markers")
        at = np.argwhere(view(marker_map)[::size, ::size]) * size + (size - 1) / 2
        axes[row, 0].plot(at[:, 1], at[:, 0], "o", ms=6, mfc="none", mec=line_colour, mew=2, label="marker (peak)")
        instance_overlay(view(image), view(objects), ax=axes[row, 1], title=f"{name}: TP {r.tp} FP {r.fp} FN {r.fn}",
                         colours=obj_colours, legend=False)
        for y_, x_ in np.argwhere(view(no_id)[::size, ::size]):
            axes[row, 1].add_patch(plt.Rectangle((x_ * size - 0.5, y_ * size - 0.5), size, size, **no_id_style))
        instance_overlay(view(image), view(truth), ax=axes[row, 2], title=f"truth: {int(truth.max())} cells",
                         colours=truth_colours, legend=False)
        if row == 0:
            fig.colorbar(im, ax=axes[0, 0], fraction=0.046, label="predicted distance (px)")

    zoom_rows(axes, box, draw)
    zoom_row_label(axes)
    legend_below(axes[1, 0])
    legend_below(axes[1, 1], [matched_swatch(), Patch(**no_id_style, label="cell pixel with no id")])
    legend_below(axes[1, 2], [matched_swatch(), *outcome_handles(("FN",), labels={"FN": "FN: missed cell"})])
    fig.tight_layout()
    return fig


__all__ += ["distance_rows_figure"]


def ranking_curve(recall: Any, precision: Any, envelope: Any, hit: Any, ax: Any = None) -> Any:
    """Precision after each ranked prediction, COCO's envelope over it, and its hits and false positives.

    Draws the joined precision (black), the envelope (best precision at this recall or beyond) as a
    wide step line, its drop to 0 beyond the last recall (dotted), a black dot per hit and an
    FP-coloured cross per false positive, with a legend.

    Parameters
    ----------
    recall, precision, envelope : (n,) after each of the n ranked predictions.
    hit : (n,) 1 where the prediction matches a true object, 0 for a false positive.
    ax : the axes (default: a new 5.2 × 3.4 in figure).

    Returns
    -------
    The axes.

    Examples
    --------
    >>> hit = np.array([1, 0, 1]); p = np.cumsum(hit) / np.arange(1, 4); r = np.cumsum(hit) / 3
    >>> ax = ranking_curve(r, p, np.maximum.accumulate(p[::-1])[::-1], hit)
    >>> len(ax.get_legend().get_texts()), ax.get_xlabel()
    (5, 'recall')
    >>> plt.close(ax.figure)
    """
    recall, precision, envelope, hit = (np.asarray(a) for a in (recall, precision, envelope, hit))
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 3.4))
    series = _pal.rgb(_pal.SERIES[2])
    ax.plot(recall, precision, color="black", lw=1, label="precision after each prediction (joined)")
    ax.step(np.r_[0, recall], np.r_[envelope[0], envelope], where="pre", color=series, lw=3, alpha=0.6,
            label="COCO's envelope: best precision at this recall or beyond")
    ax.plot([recall[-1], recall[-1], 1], [envelope[-1], 0, 0], color=series, lw=3, alpha=0.6, ls=":",
            label="beyond the last recall: precision 0")
    ax.plot(recall[hit == 1], precision[hit == 1], "o", color="black", label="a hit")
    ax.plot(recall[hit == 0], precision[hit == 0], "x", ms=8, mew=2, color=np.array(_pal.OUTCOME_COLOURS["FP"]) / 255,
            label="a false positive")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(-0.03, 1.05),
           title="precision-recall of the toy ranking")
    ax.legend(loc="lower left", fontsize=8)
    ax.figure.tight_layout()
    return ax


__all__ += ["ranking_curve"]


def named_pixels(target: Any, pred: Any, palette: Any = None, names: Sequence[str] = ("background", "object")):
    """Truth, prediction and the error map of two small binary masks, each pixel labelled TP, FP,
    FN or TN (lesson 00 §2); returns the figure.

    Parameters
    ----------
    target, pred : two binary masks of one shape, small enough to write in each pixel.
    palette : class colours of the two masks (default: the course palette).
    names : the legend's names of the classes 0 and 1.

    Examples
    --------
    >>> fig = named_pixels([[1, 1], [0, 0]], [[1, 0], [1, 0]])
    >>> sorted(t.get_text() for t in fig.axes[2].texts)
    ['FN', 'FP', 'TN', 'TP']
    >>> plt.close(fig)
    """
    t, p = np.asarray(target), np.asarray(pred)
    codes, code_names = error_codes(t, p)
    fig, axes = plt.subplots(1, 3, figsize=(8, 3.4))
    show_mask(axes[0], t, palette, title="truth")
    show_mask(axes[1], p, palette, title="prediction")
    axes[0].legend(handles=legend_handles(list(names), palette), loc="upper center", bbox_to_anchor=(1.1, -0.02),
                   ncol=2, frameon=False, fontsize=9)
    error_map(t, p, ax=axes[2], title="each pixel named")
    for (y, x), c in np.ndenumerate(codes):
        ink = "white" if code_names[c] in ("TN", "FN") else "black"
        axes[2].text(x, y, code_names[c], ha="center", va="center", fontsize=11, color=ink)
    for ax in axes[:2]:
        ax.set_xticks([]); ax.set_yticks([])
    fig.tight_layout()
    return fig


def overlay_figure(panels: Mapping[str, Any], outline: Any, handles: Sequence[Any],
                   outline_label: str = "mask outline (white, on the overlay)", figsize: tuple = (8, 3.0)):
    """A row of pictures (an image, its mask, the overlay, ...), the mask's outline in white on the
    last one, and a legend below: ``handles`` plus the outline; returns the figure.

    A 2-D panel is shown in grey levels from 0 to 255; an RGB panel as it is.

    Examples
    --------
    >>> m = np.zeros((6, 6), bool); m[2:4, 2:4] = True
    >>> fig = overlay_figure({"image": np.zeros((6, 6, 3)), "overlay": np.ones((6, 6, 3))}, m, [])
    >>> [ax.get_title() for ax in fig.axes], [t.get_text() for t in fig.legends[0].get_texts()]
    (['image', 'overlay'], ['mask outline (white, on the overlay)'])
    >>> plt.close(fig)
    """
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, squeeze=False)
    for ax, (title, img) in zip(axes[0], panels.items()):
        img = np.asarray(img)
        if img.ndim == 2:
            ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    axes[0, -1].contour(np.asarray(outline, dtype=float), levels=[0.5], colors="white", linewidths=0.8)
    ring = Patch(facecolor="none", edgecolor="black", label=outline_label)
    fig.legend(handles=list(handles) + [ring], loc="lower center", ncol=len(handles) + 1, frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def threshold_figure(prob: Any, truth: Any, grid: Sequence[float], marked: Sequence[float]):
    """The probability map with the true outline, and IoU of ``prob > t`` against ``truth`` for
    each ``t`` of ``grid`` (``marked`` as dots); returns the figure.

    Examples
    --------
    >>> truth = np.zeros((4, 4), bool); truth[1:3, 1:3] = True
    >>> fig = threshold_figure(np.where(truth, 0.8, 0.2), truth, [0.1, 0.5, 0.9], [0.5])
    >>> fig.axes[1].lines[0].get_ydata().tolist()
    [0.25, 1.0, 0.0]
    >>> plt.close(fig)
    """
    prob, truth = np.asarray(prob, dtype=float), np.asarray(truth, dtype=bool)

    def iou(t: float) -> float:
        m = prob > t
        return float((m & truth).sum() / (m | truth).sum()) if (m | truth).any() else float("nan")

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    shown = axes[0].imshow(prob, cmap=_pal.CONFIDENCE_CMAP, vmin=0, vmax=1)
    axes[0].contour(truth.astype(float), levels=[0.5], colors="white", linewidths=0.8)
    axes[0].set_title("sigmoid(logit); white: true outline")
    axes[0].set_axis_off()
    fig.colorbar(shown, ax=axes[0], label="probability of 'defect'")
    axes[1].plot(list(grid), [iou(t) for t in grid], color=_pal.rgb(_pal.SERIES[1]), label="IoU of prob > threshold")
    axes[1].plot(list(marked), [iou(t) for t in marked], "o", color="black", label="printed thresholds")
    axes[1].set(xlabel="threshold", ylabel="IoU with the truth", ylim=(0, 1.02), title="IoU against the threshold")
    axes[1].legend(loc="lower center", fontsize=8)
    fig.tight_layout()
    return fig


def zoom_card(image: Any, target: Any, pred: Any, class_names: Sequence[str], scores: Mapping[str, Any],
              crops: Mapping[str, tuple[slice, slice]], notes: Sequence[str] = (), palette: Any = None, k: int = 4):
    """An evidence card in one figure: image, target, prediction and per-class IoU on top; below,
    each crop of ``crops`` enlarged ``k`` times with its wrong pixels outlined in white, and the
    scores and notes as text. The legend lists only the classes present in target or prediction.
    Returns ``(figure, summary_text)``.

    Examples
    --------
    >>> t = np.zeros((8, 8), int); t[4:, :] = 1; p = t.copy(); p[6, 6] = 0
    >>> fig, text = zoom_card(np.zeros((8, 8)), t, p, ["sky", "road", "car"], {"mIoU": 0.98},
    ...                       {"one pixel": (slice(5, 8), slice(5, 8))}, notes=["one pixel wrong"])
    >>> print(text)
    Metric
    mIoU: 0.980
    <BLANKLINE>
    Failure notes
    - one pixel wrong
    >>> [x.get_text() for x in fig.legends[0].get_texts()]
    ['0 sky', '1 road', 'wrong pixels (white outline)']
    >>> plt.close(fig)
    """
    shown = _scores({key: v for key, v in scores.items() if key != "per_class"})
    summary = "\n".join(["Metric"] + [f"{key}: {v:.3f}" for key, v in shown.items()] + ["", "Failure notes"]
                        + [f"- {n}" for n in notes])
    pal = _palette(palette)
    t = _label_map(target, "target", palette)
    p = _label_map(pred, "pred", palette)
    fig = plt.figure(figsize=(11, 6.6))
    grid = fig.add_gridspec(2, 4, hspace=0.3, wspace=0.16, left=0.03, right=0.99, top=0.88, bottom=0.04)
    top = [fig.add_subplot(grid[0, i]) for i in range(3)]
    top[0].imshow(_image(image), interpolation="nearest"); top[0].set_title("input image"); top[0].set_axis_off()
    show_mask(top[1], t, palette, "target")
    show_mask(top[2], p, palette, "prediction")
    if "per_class" in scores:
        bar = fig.add_subplot(grid[0, 3])
        per_class_bar(scores["per_class"], class_names, palette, ax=bar)
        bar.tick_params(axis="x", labelsize=8)
        bar.set_ylabel("")
    block = np.ones((k, k), np.uint8)
    for i, (title, (rows, cols)) in enumerate(crops.items()):
        ax = fig.add_subplot(grid[1, i])
        ax.imshow(np.kron(pal[p[rows, cols]], block[..., None]), interpolation="nearest")
        ax.contour(np.kron(t[rows, cols] != p[rows, cols], block).astype(float), levels=[0.5], colors="white",
                   linewidths=1.2)
        ax.set_title(f"{title} (×{k})", fontsize=9)
        ax.set_axis_off()
    text_ax = fig.add_subplot(grid[1, len(crops):])
    text_ax.set_axis_off()
    text_ax.text(0.02, 1, summary, va="top", family="monospace", fontsize=8.5, wrap=True)
    present = sorted(set(np.unique(t).tolist()) | set(np.unique(p).tolist()))
    present = [c for c in present if c < len(class_names)]
    wrong = Patch(facecolor="none", edgecolor="black", label="wrong pixels (white outline)")
    handles = [legend_handles(class_names, palette)[c] for c in present] + [wrong]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, 1.0))
    return fig, summary


__all__ += ["named_pixels", "overlay_figure", "threshold_figure", "zoom_card"]


def text_table(rows: Mapping[str, Mapping[str, Any]], formats: Mapping[str, str] | None = None,
               name: str = "") -> str:
    """Rows of values as an aligned plain-text table: one line per row, one column per key.

    Parameters
    ----------
    rows : row name -> {column name: value}; every row has the first row's columns.
    formats : column name -> a format spec (``".3f"``, ``"+d"``, ``","``); other columns print with ``str``.
    name : the header of the row-name column.

    Returns
    -------
    str
        The header line, then one line per row (no trailing newline); each column right-aligned to
        the wider of its header and its values.

    Examples
    --------
    >>> print(text_table({"a": {"PQ": 0.5, "n": 3}, "bb": {"PQ": 0.25, "n": -12}}, {"PQ": ".3f", "n": "+d"}, "model"))
    model |    PQ |   n
        a | 0.500 |  +3
       bb | 0.250 | -12
    """
    formats = dict(formats or {})
    names = list(rows)
    cols = list(rows[names[0]]) if names else []
    cells = [[format(rows[r][c], formats.get(c, "")) for c in cols] for r in names]
    widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(cols)]
    first = max([len(name)] + [len(str(r)) for r in names])
    lines = [" | ".join([name.rjust(first)] + [c.rjust(w) for c, w in zip(cols, widths)])]
    lines += [" | ".join([str(r).rjust(first)] + [v.rjust(w) for v, w in zip(row, widths)])
              for r, row in zip(names, cells)]
    return "\n".join(lines)


def fate_counts(pred: Any, gt: Any, speck_px: int = 25) -> dict[str, Any]:
    """The counts behind a :func:`fate_panel`: matches, merges and the small false positives.

    Parameters
    ----------
    pred, gt : (H, W) int arrays
        Predicted and true instance maps (0 = background).
    speck_px : int
        An unmatched prediction under this many pixels counts as a speck.

    Returns
    -------
    dict
        ``TP``, ``FP``, ``FN``; ``matched IoU (median)`` (nan without a match); ``merges`` (predictions
        holding two or more true objects, :func:`merged_groups`); ``solid`` (those that match none of
        them); ``FN in a merge`` (missed true objects held by a merge); ``FP specks`` (unmatched
        predictions under ``speck_px`` pixels).

    Examples
    --------
    >>> gt = np.zeros((8, 8), int); gt[:4, :4] = 1; gt[:4, 4:] = 2; gt[6:, 6:] = 3
    >>> pred = np.zeros((8, 8), int); pred[:4] = 9; pred[7, 0] = 8; pred[6:, 6:] = 7
    >>> c = fate_counts(pred, gt)
    >>> c["TP"], c["FP"], c["FN"], c["merges"], c["solid"], c["FN in a merge"], c["FP specks"]
    (1, 2, 2, 1, 1, 2, 1)
    """
    from .instances import match_instances

    p = as_label_array(pred, "pred", ndims=(2,))
    g = as_label_array(gt, "gt", ndims=(2,))
    check_same_size(pred=p.shape, gt=g.shape)
    m = match_instances(p, g)
    merges = [int(i) for i in np.unique(p) if i and merged_groups(np.where(p == i, i, 0), g)]
    held = {k for grp in merged_groups(p, g) for k in grp}
    areas = np.bincount(p.ravel())
    return {"TP": int(m.tp), "FP": int(m.fp), "FN": int(m.fn),
            "matched IoU (median)": float(np.median([v for _, _, v in m.pairs])) if m.pairs else float("nan"),
            "merges": len(merges), "solid": sum(i in m.unmatched_pred for i in merges),
            "FN in a merge": len(set(m.unmatched_gt) & held),
            "FP specks": int(sum(areas[i] < speck_px for i in m.unmatched_pred))}


def split_merge_summary(pred: Any, gt: Any) -> dict[str, Any]:
    """True objects cut into pieces and predictions that merge objects, with their sizes.

    Parameters
    ----------
    pred, gt : (H, W) int arrays
        Predicted and true instance maps (0 = background).

    Returns
    -------
    dict
        ``split``: true objects that two or more predictions each cover by at least 20 %
        (:func:`segcourse.instances.split_objects`); ``split px``: their areas, smallest first
        (``"-"`` if none); ``merges``: predictions holding two or more true objects
        (:func:`merged_groups`); ``merged px``: the true pixels each of them holds (``"-"`` if none).

    Examples
    --------
    >>> gt = np.zeros((6, 12), int); gt[:, :6] = 1; gt[:3, 6:] = 2; gt[3:, 6:] = 3
    >>> pred = np.zeros((6, 12), int); pred[:, :3] = 1; pred[:, 3:6] = 2; pred[:, 6:] = 3
    >>> split_merge_summary(pred, gt)
    {'split': 1, 'split px': '36', 'merges': 1, 'merged px': '36'}
    """
    from .instances import split_objects

    p = as_label_array(pred, "pred", ndims=(2,))
    g = as_label_array(gt, "gt", ndims=(2,))
    split = split_objects(p, g)
    joined = merged_groups(p, g)
    return {"split": len(split),
            "split px": ", ".join(str(a) for a in sorted(int((g == i).sum()) for i in split)) or "-",
            "merges": len(joined),
            "merged px": ", ".join(str(int(np.isin(g, grp).sum())) for grp in joined) or "-"}


__all__ += ["text_table", "fate_counts", "split_merge_summary"]


def matched_legend_below(ax: Any) -> Legend:
    """Redraw the legend of ``ax`` under the panel with its "matched…" entry as the multicolour
    :func:`matched_swatch`, as the other panels draw it (a legend rebuilt without the swatch's
    handler shows only the swatch's first colour).

    Parameters
    ----------
    ax : matplotlib Axes
        A panel with a legend.

    Returns
    -------
    matplotlib.legend.Legend
        The new legend: the same texts, in the same order.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> _ = ax.legend([Patch(facecolor="orange"), Patch(facecolor="blue")], ["matched: each pair", "FN"])
    >>> leg = matched_legend_below(ax)
    >>> [t.get_text() for t in leg.get_texts()], len(leg.legend_handles)
    (['matched: each pair', 'FN'], 2)
    >>> plt.close(fig)
    """
    check_axes(ax)
    old = ax.get_legend()
    if old is None:
        raise ValueError("the panel has no legend to redraw")
    handles = []
    for handle, text in zip(old.legend_handles, [t.get_text() for t in old.get_texts()]):
        if text.startswith("matched"):
            handle = matched_swatch(text)
        else:
            handle.set_label(text)
        handles.append(handle)
    return legend_below(ax, handles)


__all__ += ["matched_legend_below"]


def invented_pixels_figure(crop: Any, resized: dict[str, Any], invented: dict[str, Any],
                           class_names: Sequence[str], palette: Any = None, figsize: tuple[float, float] = (10, 4.2)):
    """A mask crop beside its resized versions, each resized pixel with an invented id ringed.

    Parameters
    ----------
    crop : (h, w) the label-map crop before resizing.
    resized : ``{title: (H, W) label map}``, one panel each (e.g. nearest neighbour, bilinear).
    invented : ``{title: (H, W) bool}``, the pixels to ring in the panel of the same title.
    class_names, palette : the classes and their colours (legend and panels).
    figsize : the figure size in inches.

    Returns
    -------
    The figure: one panel for the crop, one per resized map, a legend of the classes and of the ring.

    Examples
    --------
    >>> crop = np.array([[1, 3], [1, 3]])
    >>> big = np.array([[1, 2, 3, 3]] * 4)
    >>> fig = invented_pixels_figure(crop, {"bilinear": big}, {"bilinear": big == 2}, ["a", "b", "c", "d"])
    >>> [ax.get_title().splitlines()[0] for ax in fig.axes]
    ['crop (2×2)', 'bilinear']
    >>> plt.close(fig)
    """
    from matplotlib import patheffects
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, 1 + len(resized), figsize=figsize)
    h, w = np.shape(crop)
    show_mask(axes[0], crop, palette, f"crop ({h}×{w})")
    ring = np.array(_pal.ERROR_COLOURS["wrong"]) / 255
    for ax, (title, lm) in zip(axes[1:], resized.items()):
        mark = np.asarray(invented.get(title, np.zeros(np.shape(lm), bool)))
        show_mask(ax, lm, palette, f"{title}\n{int(mark.sum())} invented pixels ringed")
        rows, cols = np.nonzero(mark)
        ax.scatter(cols, rows, s=38, facecolors="none", edgecolors=[ring], linewidths=1.4,
                   path_effects=[patheffects.withStroke(linewidth=2.6, foreground="white")])
    handles = legend_handles(class_names, palette) + [
        Line2D([], [], ls="none", marker="o", ms=7, mfc="none", mec=ring, mew=1.4,
               label="invented: an id no crop pixel next to it holds")]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig


__all__ += ["invented_pixels_figure"]


def merged_blob_figure(image: Any, label_map: Any, instances: Any, blob: Any, class_names: Sequence[str],
                       palette: Any = None, title: str = "", instance_label: str = "instance",
                       margin: int = 4, figsize: tuple[float, float] = (8.4, 2.6)):
    """A zoom on one blob: the image, its label map, and each blob pixel coloured by its instance.

    Parameters
    ----------
    image : (H, W, 3) floats in [0, 1].
    label_map : (H, W) class ids.
    instances : (H, W) instance ids (0: none, 1 to 8 shown in :data:`palette.INSTANCE_COLOURS`).
    blob : (H, W) bool, the blob to zoom on (``margin`` pixels around its bounding box).
    class_names, palette : the classes and their colours; the legend lists the classes in the zoom.
    title : the first panel's title.
    instance_label : what an instance is called (legend and third title), e.g. ``"car draw"``.
    margin : pixels kept around the blob.
    figsize : the figure size in inches.

    Returns
    -------
    The figure; the third panel shows the image in dark grey with the blob's instances coloured.

    Examples
    --------
    >>> lm = np.zeros((6, 6), int); lm[2:4, 1:5] = 1
    >>> inst = np.zeros((6, 6), int); inst[2:4, 1:3] = 1; inst[2:4, 3:5] = 2
    >>> fig = merged_blob_figure(np.zeros((6, 6, 3)), lm, inst, lm == 1, ["ground", "car"], title="toy")
    >>> [ax.get_title() for ax in fig.axes]
    ['toy', 'label map: one blob', 'instances in the blob: 2']
    >>> [t.get_text() for t in fig.legends[0].get_texts()][-1]
    'instance 2 (painted last)'
    >>> plt.close(fig)
    """
    image, label_map, instances, blob = (np.asarray(a) for a in (image, label_map, instances, blob))
    rows, cols = np.nonzero(blob)
    box = (slice(max(rows.min() - margin, 0), rows.max() + margin + 1),
           slice(max(cols.min() - margin, 0), cols.max() + margin + 1))
    ids = np.unique(instances[blob])
    colours = _pal.INSTANCE_COLOURS[[8, 7, 5, 1, 2, 3, 4, 6]] / 255     # unlike the class colours first
    shown = np.repeat(image.mean(-1, keepdims=True), 3, -1) * 0.6          # the image in dark grey
    shown[blob] = colours[instances[blob] - 1]
    fig, axes = plt.subplots(1, 3, figsize=figsize)
    for ax, img, name in zip(axes[::2], (image, shown), (title, f"{instance_label}s in the blob: {len(ids)}")):
        ax.imshow(img[box], interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_axis_off()
    show_mask(axes[1], label_map[box], palette, "label map: one blob")
    axes[1].title.set_fontsize(10)
    every = legend_handles(class_names, palette)
    handles = [every[c] for c in np.unique(label_map[box])]
    handles += [Patch(facecolor=colours[k - 1], edgecolor="black",
                      label=f"{instance_label} {k}" + (" (painted last)" if k == ids.max() else "")) for k in ids]
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig


__all__ += ["merged_blob_figure"]


def prediction_over_image(image: Any, target: Any, pred: Any, class_names: Sequence[str], palette: Any = None,
                          title: str = "", outline_class: int | None = None, alpha: float = 0.45,
                          figsize: tuple[float, float] = (9, 3.5)):
    """Image, ground truth, and the prediction laid over the image, one class's true outline in white.

    Parameters
    ----------
    image : (H, W, 3) floats in [0, 1].
    target, pred : (H, W) class ids.
    class_names, palette : the classes and their colours (legend).
    title : the first panel's title.
    outline_class : the class whose TRUE outline is drawn over the prediction (None: none).
    alpha : opacity of the prediction over the image (:func:`overlay`).
    figsize : the figure size in inches.

    Returns
    -------
    The figure, with a legend of the classes and of the outline.

    Examples
    --------
    >>> t = np.zeros((8, 8), int); t[2:5, 2:5] = 1
    >>> fig = prediction_over_image(np.zeros((8, 8, 3)), t, t, ["ground", "car"], title="toy", outline_class=1)
    >>> [ax.get_title() for ax in fig.axes], fig.legends[0].get_texts()[-1].get_text()
    (['toy', 'ground truth', 'prediction over the image'], 'true car outline')
    >>> plt.close(fig)
    """
    from matplotlib import patheffects
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, 3, figsize=figsize)
    axes[0].imshow(image)
    axes[0].set_title(title)
    show_mask(axes[1], target, palette, "ground truth")
    axes[2].imshow(overlay(image, pred, alpha=alpha, palette=palette, skip_background=False),
                   interpolation="nearest")
    axes[2].set_title("prediction over the image")
    handles = legend_handles(class_names, palette)
    if outline_class is not None:
        axes[2].contour(np.asarray(target) == outline_class, levels=[0.5], colors="white", linewidths=1.2)
        handles.append(Line2D([], [], color="white", lw=1.5, label=f"true {class_names[outline_class]} outline",
                              path_effects=[patheffects.withStroke(linewidth=3, foreground="black")]))
    for ax in axes:
        ax.set_axis_off()
    fig.legend(handles=handles, loc="lower center", ncol=6, frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


__all__ += ["prediction_over_image"]


def compare_instances(image: Any, truth: Any, objects: Mapping[str, Any], truth_from: str | None = None,
                      lead: int = 0, figsize: tuple[float, float] | None = None) -> Any:
    """Predicted objects of one image side by side with its truth, in one row, each legend under its panel.

    Each entry of ``objects`` gets a panel coloured by :func:`matched_instance_colours` (a match shares
    its true cell's colour, an unmatched prediction takes the FP colour), its merges outlined by
    :func:`outline_merges` and ``TP FP FN`` in its title; the last panel is the truth, coloured as
    matched by ``objects[truth_from]`` (default: the last entry), the cells it misses in the FN colour.
    ``lead`` empty panels come first, for the caller to draw in (call ``fig.tight_layout()`` after).

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
        The image under the objects, values in [0, 1].
    truth : (H, W) int array
        The true instance map (0 = background).
    objects : mapping of str to (H, W) int array
        ``{name: predicted instance map}``, one panel each, in this order; at least one.
    truth_from : str, optional
        Which entry of ``objects`` colours the truth and names its missed cells.
    lead : int
        Empty panels before the objects (0 or more).
    figsize : (float, float), optional
        The figure size; default 3.25 in per panel, 3.9 in high.

    Returns
    -------
    matplotlib.figure.Figure
        One row of ``lead + len(objects) + 1`` panels.

    Examples
    --------
    >>> image, truth, merged = _toy_cluster()
    >>> fig = compare_instances(image, truth, {"merged": merged, "right": truth}, truth_from="merged", lead=1)
    >>> [ax.get_title() for ax in fig.axes]
    ['', 'merged: TP 1 FP 1 FN 2', 'right: TP 3 FP 0 FN 0', 'truth: 3 cells']
    >>> [t.get_text() for t in fig.axes[1].get_legend().get_texts()][1:]
    ['FP: unmatched prediction', 'merge (a tenth or more of 2+ cells), matching none: FP']
    >>> [t.get_text() for t in fig.axes[3].get_legend().get_texts()]
    ['matched: each pair shares a colour', 'FN: missed by merged']
    >>> plt.close(fig)
    >>> compare_instances(image, truth, {})
    Traceback (most recent call last):
    ...
    ValueError: objects must hold at least one {name: instance map}, got an empty mapping
    """
    from . import instances

    if not isinstance(objects, Mapping):
        raise TypeError(f"objects must be a mapping {{name: instance map}}, got {type(objects).__name__}")
    if not objects:
        raise ValueError("objects must hold at least one {name: instance map}, got an empty mapping")
    if isinstance(lead, bool) or not isinstance(lead, (int, np.integer)) or lead < 0:
        raise ValueError(f"lead must be a whole number of panels, 0 or more, got {lead!r}")
    names = list(objects)
    truth_from = names[-1] if truth_from is None else truth_from
    if truth_from not in objects:
        raise ValueError(f"truth_from must name an entry of objects {names}, got {truth_from!r}")
    g = as_label_array(truth, "truth", ndims=(2,))
    maps = {name: as_label_array(objects[name], f"objects[{name!r}]", ndims=(2,)) for name in names}
    for name, o in maps.items():
        check_same_size(**{"truth": g.shape, f"objects[{name!r}]": o.shape})
    n_col = lead + len(names) + 1
    fig, axes = plt.subplots(1, n_col, figsize=figsize or (3.25 * n_col, 3.9), squeeze=False)
    axes = axes[0]
    for ax in axes[:lead]:
        ax.set_axis_off()
    match = {name: instances.match_instances(o, g) for name, o in maps.items()}
    for ax, name in zip(axes[lead:], names):
        o, r = maps[name], match[name]
        instance_overlay(image, o, ax=ax, legend=False, colours=matched_instance_colours(o, g, r)[0],
                         title=f"{name}: TP {r.tp} FP {r.fp} FN {r.fn}")
        merges = outline_merges(ax, o, g)
        legend_below(ax, [matched_swatch()]
                     + (outcome_handles(("FP",), labels={"FP": "FP: unmatched prediction"}) if r.fp else [])
                     + merges)
    r = match[truth_from]
    instance_overlay(image, g, ax=axes[-1], legend=False, title=f"truth: {int(g.max())} cells",
                     colours=matched_instance_colours(maps[truth_from], g, r)[1])
    legend_below(axes[-1], [matched_swatch()]
                 + (outcome_handles(("FN",), labels={"FN": f"FN: missed by {truth_from}"}) if r.fn else []))
    fig.tight_layout()
    return fig


__all__ += ["compare_instances"]


def class_task_outputs(image: Any, label_map: Any, class_id: int, class_names: Sequence[str], palette: Any = None,
                       object_name: str = "object"):
    """:func:`task_outputs` for one class of a label map: its objects, boxes and instance panel derived here.

    Each connected group of ``class_id`` pixels (4-neighbours; lesson 03 shows why touching
    objects merge) becomes one instance. The instance panel draws them in
    :data:`segcourse.palette.INSTANCE_COLOURS` over the label map in greys, so the image's own
    colours (a car's paint) never sit beside an unrelated instance colour.

    Parameters
    ----------
    image : the image, ``(H, W)`` or ``(H, W, 3)``.
    label_map : ``(H, W)`` class ids.
    class_id : the class whose objects become instances and boxes.
    class_names : one name per class id; ``palette`` must have a colour for each.
    palette : class colours (default: the course's generic palette).
    object_name : what an instance is, for the titles.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The four panels of :func:`task_outputs`.
    boxes : list of tuple
        One ``(y0, y1, x0, x1)`` box per object (rows ``y0:y1``, columns ``x0:x1``), in instance order.

    Examples
    --------
    >>> lm = np.zeros((6, 6), int); lm[1:3, 1:3] = 1; lm[4:, 3:] = 1
    >>> fig, boxes = class_task_outputs(np.zeros((6, 6, 3)), lm, 1, ["bg", "box"], object_name="box")
    >>> boxes, fig.axes[3].get_title().replace("\\n", " ")
    ([(1, 3, 1, 3), (4, 6, 3, 6)], 'instance segmentation: one mask per box')
    >>> class_task_outputs(np.zeros((6, 6, 3)), lm, 2.5, ["bg", "box"])
    Traceback (most recent call last):
    ...
    TypeError: class_id must be an integer class id, got 2.5 (float)
    >>> plt.close("all")
    """
    if isinstance(class_id, bool) or not isinstance(class_id, (int, np.integer)):
        raise TypeError(f"class_id must be an integer class id, got {class_id!r} ({type(class_id).__name__})")
    t = _label_map(label_map, "label_map", palette)
    if not 0 <= class_id < len(class_names):
        raise ValueError(f"class_id must name one of the {len(class_names)} classes (0..{len(class_names) - 1}), "
                         f"got {class_id}")
    inst, _ = ndimage.label(t == class_id)
    boxes = [(b[0].start, b[0].stop, b[1].start, b[1].stop) for b in ndimage.find_objects(inst)]
    fig = task_outputs(image, t, inst, class_names, palette, object_name=object_name)
    ax = fig.axes[3]
    title = ax.get_title()
    ax.clear()
    grey = np.linspace(0.35, 0.8, max(len(class_names), 2))[t]            # one grey per class
    instance_overlay(np.repeat(grey[..., None], 3, axis=2), inst, ax=ax, alpha=0.9, legend=False, title=title)
    instance_legend(ax, len(boxes), object_name)                   # one swatch per instance colour
    ax.set_axis_off()
    return fig, boxes


__all__ += ["class_task_outputs"]


# ----------------------------------------------------------------------------- lesson 06: NoC table, failures, bands
def noc_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Lesson 06's NoC table: one row per method, from :func:`segcourse.interactive.noc_summary` results.

    Parameters
    ----------
    results : method name -> a ``noc_summary`` dict (``noc85``, ``noc90``, ``iou_at``, ``n``).

    Returns
    -------
    str
        An aligned table (:func:`text_table`): NoC@85 (mean, median), NoF@85, NoC@90, NoF@90 and the
        mean IoU after 1, 3, 5 and 20 clicks (those the summaries hold).

    Examples
    --------
    >>> from segcourse.interactive import noc_summary
    >>> print(noc_table({"a": noc_summary([[0.9] * 20, [0.5] * 20])}))
    (n = 2) | NoC@85 | median | NoF@85 | NoC@90 | NoF@90 | IoU@1 | IoU@3 | IoU@5 | IoU@20
          a |  10.50 |   10.5 |      1 |  10.50 |      1 | 0.700 | 0.700 | 0.700 |  0.700
    >>> noc_table({})
    Traceback (most recent call last):
    ...
    ValueError: results must hold at least one method's noc_summary, got {}
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError(f"results must hold at least one method's noc_summary, got {results!r}")
    rows, n = {}, None
    for name, v in results.items():
        if not isinstance(v, Mapping) or not {"noc85", "noc90", "iou_at"} <= set(v):
            raise TypeError(f"results[{name!r}] must be a noc_summary dict (noc85, noc90, iou_at), got {type(v).__name__}")
        n = v.get("n", n)
        rows[name] = {"NoC@85": v["noc85"]["mean"], "median": v["noc85"]["median"], "NoF@85": v["noc85"]["nof"],
                      "NoC@90": v["noc90"]["mean"], "NoF@90": v["noc90"]["nof"]}
        rows[name] |= {f"IoU@{k}": v["iou_at"][k] for k in ("1", "3", "5", "20") if k in v["iou_at"]}
    formats = {"NoC@85": ".2f", "median": ".1f", "NoC@90": ".2f"} | {f"IoU@{k}": ".3f" for k in ("1", "3", "5", "20")}
    return text_table(rows, formats, f"(n = {n})")


def zoom_window(mask: Any, margin: int = 6) -> tuple[Any, tuple[float, float, float, float]]:
    """A square window around ``mask``'s object plus ``margin`` px, kept inside the image.

    Parameters
    ----------
    mask : 2-D bool mask with at least one object pixel.
    margin : pixels around the object's bounding box (0 or more).

    Returns
    -------
    (slice, extent)
        ``np.s_`` of the window, and the ``imshow`` extent that keeps the image's pixel coordinates.

    Examples
    --------
    >>> m = np.zeros((20, 20), bool); m[5:11, 5:11] = True
    >>> zoom_window(m, margin=2)
    ((slice(3, 13, None), slice(3, 13, None)), (2.5, 12.5, 12.5, 2.5))
    >>> zoom_window(np.zeros((4, 4), bool))
    Traceback (most recent call last):
    ...
    ValueError: mask is empty: the window zooms on its object
    """
    m = as_binary(mask, "mask", (2,))
    margin = check_int(margin, "margin", minimum=0)
    if not m.any():
        raise ValueError("mask is empty: the window zooms on its object")
    h, w = m.shape
    rr, cc = np.nonzero(m)
    side = int(min(h, w, max(np.ptp(rr), np.ptp(cc)) + 1 + 2 * margin))
    r0, c0 = (int(np.clip((v.min() + v.max() + 1) // 2 - side // 2, 0, n - side)) for v, n in ((rr, h), (cc, w)))
    return np.s_[r0:r0 + side, c0:c0 + side], (c0 - 0.5, c0 + side - 0.5, r0 + side - 0.5, r0 - 0.5)


def _click_marks(ax: Any, clicks: Sequence[Any], ms: float = 9) -> None:
    """Lesson 06's clicks: a green plus for a positive click, a red cross for a negative one."""
    green, red = (_pal.rgb(_pal.OUTCOME_COLOURS[k]) for k in ("TP", "FP"))
    for (r, c), positive in clicks:
        ax.plot(c, r, "P" if positive else "X", ms=ms, mfc=green if positive else red, mec="black", mew=0.8)


def _outcome_rgb(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    green, red, blue, tn = (_pal.rgb(c) for c in (*(_pal.OUTCOME_COLOURS[k] for k in ("TP", "FP", "FN")),
                                                  _pal.NEUTRAL_COLOURS["TN"]))
    out = np.zeros((*truth.shape, 3)) + tn
    out[truth & pred], out[pred & ~truth], out[truth & ~pred] = green, red, blue
    return out


def click_failure_row(row: Sequence[Any], image: Any, truth: Any, run: Mapping[str, Any], title: str,
                      edge: str | None = None, colour: Any = "C0") -> list[int]:
    """One failure of lesson 06 in three panels: image and clicks, the last mask's outcome, IoU per click.

    Parameters
    ----------
    row : three axes.
    image : 2-D grey crop (1 to 99 % stretch of the zoomed window).
    truth : the true object, a bool mask of the crop's shape.
    run : a ``simulate_clicks(..., keep_masks=True)`` result (``ious``, ``clicks``, ``masks``, ``pred``).
    title : the first panel's title (the grey range is added).
    edge : ``"left"``, ``"right"``, ``"top"`` or ``"bottom"``: the crop's side that is the image's edge,
        drawn as a thick pale-yellow line; ``None``: none.
    colour : the IoU curve's colour.

    Returns
    -------
    list of int
        The (0-based) clicks that the mask right after them contradicts (circled on the curve).

    Examples
    --------
    >>> t = np.zeros((20, 20), bool); t[5:11, 5:11] = True; p = t.copy(); p[5, 5:9] = False
    >>> run = {"ious": [0.5, 0.9], "clicks": [((7, 7), True), ((5, 5), True)], "masks": [p, p], "pred": p}
    >>> fig, axes = plt.subplots(1, 3)
    >>> click_failure_row(axes, np.zeros((20, 20)), t, run, "one nucleus", edge="right")
    [1]
    >>> axes[1].get_title().splitlines()[1]
    '0 false, 4 missed px'
    >>> plt.close(fig)
    """
    img = np.asarray(to_numpy(image, "image"), float)
    t = as_binary(truth, "truth", (2,))
    p = as_binary(run["pred"], "run['pred']", (2,))
    check_same_size(image=img.shape, truth=t.shape, pred=p.shape)
    if edge not in (None, "left", "right", "top", "bottom"):
        raise ValueError(f"edge must be None, 'left', 'right', 'top' or 'bottom', got {edge!r}")
    window, extent = zoom_window(t)
    lo, hi = np.percentile(img[window], (1, 99))
    row[0].imshow(img[window], cmap="gray", vmin=lo, vmax=hi, extent=extent)
    row[0].contour(t, levels=[0.5], colors=["white"], linewidths=1.5)
    _click_marks(row[0], run["clicks"], ms=6)
    row[0].set_title(f"{title}, grey {lo:.2f} to {hi:.2f}", fontsize=8)
    row[1].imshow(_outcome_rgb(t, p)[window], extent=extent)
    row[1].set_title(f"after {len(run['ious'])} clicks: IoU {run['ious'][-1]:.2f}\n{(p & ~t).sum()} false, "
                     f"{(t & ~p).sum()} missed px", fontsize=8)
    for ax in row[:2]:
        ax.set_xlim(extent[:2]); ax.set_ylim(extent[2:]); ax.set_xticks([]); ax.set_yticks([])
        if edge is not None:   # the nucleus goes on beyond the image's edge, unseen
            at = -0.5 if edge in ("left", "top") else t.shape[1 if edge == "right" else 0] - 0.5
            (ax.axvline if edge in ("left", "right") else ax.axhline)(
                at, color=_pal.rgb(_pal.INSTANCE_COLOURS[9]), lw=4, clip_on=False)
    bad = [k for k, ((rc, positive), m) in enumerate(zip(run["clicks"], run["masks"])) if bool(m[rc]) != positive]
    ks = np.arange(1, len(run["ious"]) + 1)
    row[2].plot(ks, run["ious"], "o-", color=colour, ms=3)
    row[2].plot(np.array(bad, int) + 1, np.array(run["ious"])[bad], "o", ms=8, mfc="none", mec="black")
    row[2].axhline(0.85, color="black", lw=0.8); row[2].set_ylim(0, 1); row[2].set_xticks([1, 5, 10, 15, 20])
    row[2].set_title(f"IoU after each click; {len(bad)} of {len(run['clicks'])}\nclicks contradicted", fontsize=8)
    return bad


def noc_scatter(noc_x: Any, noc_y: Any, areas: Any, circled: Sequence[int], xlabel: str, ylabel: str,
                ticks: Sequence[int] = (50, 100, 200, 400, 700), seed: int = 0, name: str = "object"):
    """Lesson 06's per-object NoC comparison: one point per object, coloured by its area (log scale).

    Points are spread by up to 0.3 click (ties would hide each other); the circled objects are
    labelled with their index and area, stacked below the upper-left corner.

    Parameters
    ----------
    noc_x, noc_y : NoC of each object for the two methods (same length).
    areas : each object's area in px (positive).
    circled : indices of the objects to circle and label.
    xlabel, ylabel : the axes' labels.
    ticks : the colour bar's ticks, labelled as plain numbers.
    seed : the spread's random seed.
    name : what an object is called in the labels and the title ("nucleus").

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = noc_scatter([1, 5, 20], [1, 2, 20], [60, 300, 40], [2], "x", "y")
    >>> [t.get_text() for t in fig.axes[1].get_yticklabels()]
    ['50', '100', '200']
    >>> fig.axes[0].texts[0].get_text()
    'object 2 (40 px)'
    >>> plt.close(fig)
    """
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D

    x, y, a = (np.asarray(v, float) for v in (noc_x, noc_y, areas))
    if not x.shape == y.shape == a.shape or x.ndim != 1:
        raise ValueError(f"noc_x, noc_y and areas must be 1-D of one length, got shapes {x.shape}, {y.shape}, {a.shape}")
    if (a <= 0).any():
        raise ValueError(f"areas must be positive (a log colour scale), got minimum {a.min()}")
    circled = [int(i) for i in circled]
    jitter = np.random.default_rng(seed).uniform(-0.3, 0.3, (2, len(x)))
    px, py = x + jitter[0], y + jitter[1]
    fig, ax = plt.subplots(figsize=(6.4, 5))
    sc = ax.scatter(px, py, c=a, cmap=_pal.LOG_CMAP, norm=LogNorm(), s=36, edgecolors="black", linewidths=0.5)
    ax.plot([0, 21], [0, 21], color="0.4", lw=1, ls="--", zorder=0)
    ax.scatter(px[circled], py[circled], s=160, facecolors="none", edgecolors="black", linewidths=1.8)
    for k, i in enumerate(circled):   # labels stacked below the corner, a line to each point
        ax.annotate(f"{name} {i} ({a[i]:.0f} px)", (px[i], py[i]), xytext=(-115, -20 - 19 * k),
                    textcoords="offset points", fontsize=8, arrowprops={"arrowstyle": "-", "color": "0.3", "lw": 0.6})
    ax.set_xlim(0, 21); ax.set_ylim(0, 21); ax.set_xticks([1, 5, 10, 15, 20]); ax.set_yticks([1, 5, 10, 15, 20])
    ax.set_xlabel(xlabel); ax.set_ylabel(ylabel)
    ax.set_title(f"one point per {name} (spread by up to 0.3 click)", fontsize=10)
    bar = fig.colorbar(sc, ax=ax, label="area (px, log scale)")
    shown = [v for v in ticks if a.min() <= v <= a.max()]
    bar.set_ticks(shown, labels=[str(v) for v in shown])
    bar.ax.minorticks_off()
    ax.legend(handles=[Line2D([], [], color="0.4", ls="--", label="as many clicks"),
                       Line2D([], [], marker="o", ls="", mfc="none", mec="black", mew=1.8, ms=12,
                              label="circled: never reaches IoU 0.85")], loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def shift_band_figure(image: Any, truth: Any, pred: Any, titles: tuple[str, str]):
    """Lesson 06's 1-px-shift band: the outline moved 1 px out and in over the image, and a mask's
    errors with the band hatched (the pixels a boundary-tolerant IoU ignores).

    Parameters
    ----------
    image : 2-D grey crop.
    truth, pred : bool masks of the crop's shape: the true object and a predicted mask.
    titles : the two panels' titles.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = np.zeros((20, 20), bool); t[5:11, 5:11] = True; p = t.copy(); p[5, 5:9] = False
    >>> fig = shift_band_figure(np.zeros((20, 20)), t, p, ("shifts", "errors"))
    >>> sorted(h.get_text() for h in fig.legends[0].get_texts())[:2]
    ['1-px-shift band (ignored)', 'background, correct']
    >>> len(fig.axes[1].patches)       # one hatched square per band pixel: 24 just outside, 20 just inside
    44
    >>> plt.close(fig)
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    img = np.asarray(to_numpy(image, "image"), float)
    t, p = as_binary(truth, "truth", (2,)), as_binary(pred, "pred", (2,))
    check_same_size(image=img.shape, truth=t.shape, pred=p.shape)
    if len(titles) != 2:
        raise ValueError(f"titles must be two strings, got {titles!r}")
    band = ndimage.binary_dilation(t) & ~ndimage.binary_erosion(t)
    window, extent = zoom_window(t)
    out_c, in_c = _pal.rgb(_pal.INSTANCE_COLOURS[7]), _pal.rgb(_pal.INSTANCE_COLOURS[1])   # no orange: a prediction
    hatch_c = _pal.rgb(_pal.NEUTRAL_COLOURS["ignored"])
    obj, red, blue = (_pal.rgb(_pal.OUTCOME_COLOURS[k]) for k in ("TP", "FP", "FN"))   # TP green, as in every figure
    tn = _pal.rgb(_pal.NEUTRAL_COLOURS["TN"])
    shown = np.zeros((*t.shape, 3)) + tn
    shown[t] = obj
    shown[p & ~t], shown[t & ~p] = red, blue
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.6))
    lo, hi = np.percentile(img[window], (1, 99))
    axes[0].imshow(img[window], cmap="gray", vmin=lo, vmax=hi, extent=extent)
    for m, colour, ls in ((t, "white", "-"), (ndimage.binary_dilation(t), out_c, "--"),
                          (ndimage.binary_erosion(t), in_c, ":")):
        axes[0].contour(m, levels=[0.5], colors=[colour], linewidths=1.8, linestyles=ls)
    axes[1].imshow(shown[window], extent=extent)
    for r, c in zip(*np.nonzero(band)):                # hatch the band: dark on the light green, light elsewhere
        axes[1].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", lw=0,
                                    edgecolor="0.1" if t[r, c] and p[r, c] else hatch_c))
    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=9)
        ax.set_xlim(extent[:2]); ax.set_ylim(extent[2:]); ax.set_xticks([]); ax.set_yticks([])
    fig.legend(handles=[Line2D([], [], color="white", lw=1.8, label="true outline"),
                        Line2D([], [], color=out_c, lw=1.8, ls="--", label="outline 1 px out"),
                        Line2D([], [], color=in_c, lw=1.8, ls=":", label="outline 1 px in"),
                        Patch(color=tn, label="background, correct"), Patch(color=obj, label="found (predicted, true)"),
                        Patch(facecolor="0.5", edgecolor=hatch_c, lw=0, hatch="///", label="1-px-shift band (ignored)"),
                        Patch(color=red, label="false (predicted only)"), Patch(color=blue, label="missed (true only)")],
               loc="lower center", ncol=3, fontsize=8, facecolor="0.6")
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig


__all__ += ["noc_table", "zoom_window", "click_failure_row", "noc_scatter", "shift_band_figure"]


def invented_panel_figure(crop: Any, resized: Mapping[str, Any], invented: Any, class_names: Sequence[str],
                          palette: Any = None, invented_title: str = "invented",
                          figsize: tuple[float, float] = (12, 3.6)):
    """A mask crop, its resized versions, and one black-and-white panel of the invented pixels.

    Parameters
    ----------
    crop : (h, w) the label-map crop before resizing.
    resized : ``{title: (H, W) label map}``, one panel each (e.g. nearest neighbour, bilinear).
    invented : (H, W) bool, the pixels of one resized map whose id is invented, drawn black on white.
    class_names, palette : the classes and their colours (the legend and the label-map panels).
    invented_title : the invented panel's title, before its pixel count.
    figsize : the figure size in inches.

    Returns
    -------
    The figure: the crop, one panel per resized map, the invented panel, and a legend of the classes.

    Raises
    ------
    ValueError
        If ``invented`` is not 2-D or its shape differs from a resized map's.

    Examples
    --------
    >>> crop = np.array([[1, 3], [1, 3]])
    >>> big = np.array([[1, 2, 3, 3]] * 4)
    >>> fig = invented_panel_figure(crop, {"bilinear": big}, big == 2, ["a", "b", "c", "d"])
    >>> [ax.get_title() for ax in fig.axes]
    ['crop (2×2)', 'bilinear', 'invented: 4 pixels (black)']
    >>> invented_panel_figure(crop, {"bilinear": big}, np.zeros((3, 3), bool), ["a", "b", "c", "d"])
    Traceback (most recent call last):
    ...
    ValueError: invented has shape (3, 3); expected the shape of the resized maps, (4, 4)
    >>> plt.close("all")
    """
    mark = np.asarray(invented)
    shapes = {np.shape(m) for m in resized.values()}
    if mark.ndim != 2 or (shapes and shapes != {mark.shape}):
        expected = next(iter(shapes)) if len(shapes) == 1 else "a 2-D mask"
        raise ValueError(f"invented has shape {mark.shape}; expected the shape of the resized maps, {expected}")
    fig, axes = plt.subplots(1, 2 + len(resized), figsize=figsize)
    h, w = np.shape(crop)
    show_mask(axes[0], crop, palette, f"crop ({h}×{w})")
    for ax, (title, lm) in zip(axes[1:], resized.items()):
        show_mask(ax, lm, palette, title)
    axes[-1].imshow(~mark.astype(bool), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[-1].set_title(f"{invented_title}: {int(mark.astype(bool).sum())} pixels (black)")
    axes[-1].set_xticks([])
    axes[-1].set_yticks([])
    fig.legend(handles=legend_handles(class_names, palette), loc="lower center", ncol=min(len(class_names), 6),
               frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


__all__ += ["invented_panel_figure"]


def card_error_zoom(fig: Any, window: Any, label: str = "zoom") -> Any:
    """Zoom on the error panel of an :func:`instance_card`: a second error panel shows ``window`` of the
    first, two columns wide, outlined (dashed) on the first; the scores and notes move to the last column.

    Parameters
    ----------
    fig : matplotlib Figure
        The figure :func:`instance_card` returned, drawn with a ``band`` (so that it has an error panel).
    window : pair of slices
        The rows and columns of the image to zoom on, e.g. ``np.s_[200:328, 100:228]``.
    label : str
        The start of the zoomed panel's title.

    Returns
    -------
    matplotlib Axes
        The zoomed panel.

    Examples
    --------
    >>> gt = np.zeros((16, 8), int); gt[1:5, 1:5] = 1; gt[8:12, 1:4] = 2
    >>> pred = np.roll(gt, 1, axis=1)
    >>> fig, _ = instance_card(np.zeros((16, 8)), pred, gt, {"PQ": 0.5}, band=gt > 0)
    >>> card_error_zoom(fig, np.s_[6:14, 0:8]).get_title()
    'zoom: rows 6-13, columns 0-7'
    >>> card_error_zoom(fig, np.s_[6:40, 0:8])
    Traceback (most recent call last):
    ...
    ValueError: window must be a pair of slices inside the error panel's 16×8 pixels, got (slice(6, 40, None), slice(0, 8, None))
    >>> plt.close(fig)
    """
    from matplotlib.patches import Rectangle

    panels = [a for a in getattr(fig, "axes", []) if a.get_title().startswith("errors") and a.images]
    if not panels:
        raise ValueError("fig has no error panel: pass the figure of viz.instance_card(..., band=...)")
    err, text_ax = panels[0], fig.axes[-1]
    rgb = np.asarray(err.images[0].get_array())
    h, w = rgb.shape[:2]
    ok = (isinstance(window, tuple) and len(window) == 2 and all(isinstance(s, slice) and s.step in (None, 1)
                                                                 for s in window))
    if ok:
        (r0, r1, _), (c0, c1, _) = window[0].indices(h), window[1].indices(w)
        ok = (window[0].stop is None or window[0].stop <= h) and (window[1].stop is None or window[1].stop <= w) \
            and r1 > r0 and c1 > c0
    if not ok:
        raise ValueError(f"window must be a pair of slices inside the error panel's {h}×{w} pixels, got {window!r}")
    if not isinstance(label, str):
        raise TypeError(f"label must be a string (the zoomed panel's title), got {label!r}")
    grid = err.get_subplotspec().get_gridspec()
    zoom = fig.add_subplot(grid[1, 1:3])
    zoom.imshow(rgb[r0:r1, c0:c1], interpolation="nearest")
    zoom.set_title(f"{label}: rows {r0}-{r1 - 1}, columns {c0}-{c1 - 1}")
    zoom.set_axis_off()
    err.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, linestyle="--", linewidth=1.5,
                            edgecolor="white"))
    text_ax.set_subplotspec(grid[1, 3])
    return zoom


__all__ += ["card_error_zoom"]


# ------------------------------------------------------- lesson 05: precision view, off-band legend, zoomed card

def confusion_by_column(cm: Any, class_names: Sequence[str], palette: Any = None, ax=None,
                        title: str = "confusion, column-normalised") -> np.ndarray:
    """Heatmap of a confusion matrix with each *column* divided by its predicted pixels (precision).

    The companion of :func:`confusion_heatmap` (rows): rows are still the true class, columns the
    predicted class, but a cell reads "of the pixels predicted as this class, the share that truly
    is that one", and the diagonal is each class's precision. Each cell also shows its pixel count.
    A column with no predicted pixel is left blank and marked "-".

    Parameters
    ----------
    cm : (K, K) pixel counts, ``cm[true, predicted]`` (``metrics.confusion_matrix``).
    class_names : K names.
    palette : class colours (default: the course's generic palette).
    ax : where to draw (default: a new figure).
    title : the panel's title.

    Returns
    -------
    The (K, K) column-normalised shares (NaN for a column without predicted pixels).

    Raises
    ------
    ValueError
        If ``cm`` is not K×K for K class names, or holds a negative count.

    Examples
    --------
    >>> shares = confusion_by_column([[3, 1], [0, 1]], ["road", "car"])
    >>> shares[:, 1].tolist()
    [0.5, 0.5]
    >>> [t.get_text() for t in plt.gca().texts][:2]
    ['100%\\n3', '50%\\n1']
    >>> confusion_by_column([[1, 0]], ["road", "car"])
    Traceback (most recent call last):
    ...
    ValueError: cm has shape (1, 2); expected 2×2, one row and one column per class name
    >>> plt.close("all")
    """
    counts = np.asarray(cm, dtype=float)
    k = len(class_names)
    if counts.shape != (k, k):
        raise ValueError(f"cm has shape {counts.shape}; expected {k}×{k}, one row and one column per class name")
    if (counts < 0).any():
        raise ValueError(f"cm holds a negative count ({counts.min():g}); expected pixel counts, 0 or more")
    pal = _palette(palette)
    check_enough_colours(k, pal, "class_names")
    cols = counts.sum(0, keepdims=True)
    shares = np.divide(counts, cols, out=np.full_like(counts, np.nan), where=cols > 0)
    return _share_matrix(ax, shares, class_names, pal, title, "share of the predicted class's pixels",
                         [[f"{v:.0%}\n{int(c)}" for v, c in zip(*row)] for row in zip(shares, counts)], fontsize=7)


def add_off_band_entry(fig: Any, label: str = "correct, off the band") -> int:
    """Add the error map's black pixels (right, and away from the boundary band) to its legend.

    :func:`boundary_error_map` paints correct pixels off the band in ``NEUTRAL_COLOURS["TN"]``
    (near black) but names only the other three colours. Every axes legend of ``fig`` that has a
    band entry (``"band"``, or a text starting with ``"boundary band"``, as :func:`legend_words`
    may have renamed it) gains one entry for them, drawn in the same place and style.

    Parameters
    ----------
    fig : a matplotlib figure.
    label : the new entry's text.

    Returns
    -------
    int, how many legends gained the entry.

    Raises
    ------
    TypeError
        If ``label`` is not a string.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> _ = boundary_error_map([[0, 1]], [[1, 1]], [[True, False]], ax=ax)
    >>> add_off_band_entry(fig)
    1
    >>> [t.get_text() for t in ax.get_legend().get_texts()][-1]
    'correct, off the band'
    >>> add_off_band_entry(fig, label=3)
    Traceback (most recent call last):
    ...
    TypeError: label is 3 (int); expected a string, the legend entry's text
    >>> plt.close(fig)
    """
    if not isinstance(label, str):
        raise TypeError(f"label is {label!r} ({type(label).__name__}); expected a string, the legend entry's text")
    added = 0
    for ax in fig.axes:
        old = ax.get_legend()
        if old is None:
            continue
        texts = [t.get_text() for t in old.get_texts()]
        if label in texts or not any(t == "band" or t.startswith("boundary band") for t in texts):
            continue
        handles = list(old.legend_handles) + [Patch(facecolor=np.array(_pal.NEUTRAL_COLOURS["TN"]) / 255,
                                                    edgecolor="white", linewidth=0.5, label=label)]
        ax.legend(handles, texts + [label], loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=1,
                  frameon=False, fontsize=8)
        added += 1
    return added


def evidence_card_zoomed(image: Any, target: Any, pred: Any, class_names: Sequence[str], scores: dict,
                         boundary: Any, notes: Sequence[str] = (), palette: Any = None, size: int = 16,
                         step: int = 4, words: Mapping[str, str] | None = None):
    """:func:`evidence_card` whose boundary panel zooms on the ``size`` × ``size`` window holding the
    most wrong pixels on the band (searched every ``step`` pixels; the first such window wins a tie).

    Rings and marks outside the window stay hidden, the legends take ``words`` (default: the error
    panels' pixels in one set of words, :func:`legend_words`), and the zoom's legend also names the
    black pixels (:func:`add_off_band_entry`). Returns ``(figure, summary_text, (row, col))``, the
    window's top-left corner.

    Parameters
    ----------
    image, target, pred, class_names, scores, notes, palette : as for :func:`evidence_card`.
    boundary : bool (H, W) band (``failures.label_boundary_band``).
    size : side of the zoom window in pixels, at most the image's smaller side.
    step : search stride in pixels, 1 or more.
    words : legend renames, old text -> new text.

    Raises
    ------
    ValueError
        If ``size`` is larger than the image or ``step`` is below 1.

    Examples
    --------
    >>> t = np.zeros((20, 20), int); t[10:, :] = 1; p = t.copy(); p[9, 12:15] = 1
    >>> band = np.zeros((20, 20), bool); band[9:11] = True          # the rows either side of the edge
    >>> fig, text, corner = evidence_card_zoomed(np.zeros((20, 20)), t, p, ["sky", "road"], {"mIoU": 0.9},
    ...                                          band, size=8, step=4)
    >>> corner, [a.get_title() for a in fig.axes if a.get_title().startswith("boundary zoom")]
    ((4, 8), ['boundary zoom: rows 4-11, columns 8-15'])

    The zoom's legend names a ring only when a ring lies inside the window:

    >>> p2 = t.copy(); p2[9, 4:16] = 1; p2[0, 19] = 1           # one isolated wrong pixel, far from the zoom
    >>> fig, _, _ = evidence_card_zoomed(np.zeros((20, 20)), t, p2, ["sky", "road"], {"mIoU": 0.9}, band, size=8)
    >>> zoom = next(a for a in fig.axes if a.get_title().startswith("boundary zoom"))
    >>> any(x.get_text().startswith("ring") for x in zoom.get_legend().get_texts())
    False
    >>> evidence_card_zoomed(np.zeros((20, 20)), t, p, ["sky", "road"], {"mIoU": 0.9}, t > 0, size=30)
    Traceback (most recent call last):
    ...
    ValueError: size is 30; expected a window side of 1 to 20 px, inside the 20×20 image
    >>> plt.close("all")
    """
    t, p = np.asarray(target), np.asarray(pred)
    band = np.asarray(boundary, bool)
    h, w = t.shape
    if not 1 <= int(size) <= min(h, w):
        raise ValueError(f"size is {size}; expected a window side of 1 to {min(h, w)} px, inside the {h}×{w} image")
    if int(step) < 1:
        raise ValueError(f"step is {step}; expected a search stride of 1 px or more")
    fig, summary = evidence_card(image, t, p, class_names, scores, boundary=band, notes=notes, palette=palette)
    total = np.pad(((t != p) & band).cumsum(0).cumsum(1), ((1, 0), (1, 0)))   # summed-area table
    rows, cols = np.arange(0, h - size + 1, step), np.arange(0, w - size + 1, step)
    r_, c_ = np.ix_(rows, cols)
    grid = total[r_ + size, c_ + size] - total[r_, c_ + size] - total[r_ + size, c_] + total[r_, c_]
    r, c = np.unravel_index(np.argmax(grid), grid.shape)
    r0, c0 = int(rows[r]), int(cols[c])
    zoom_ax = next(a for a in fig.axes if a.get_title() == "boundary example")
    zoom_ax.set(xlim=(c0 - 0.5, c0 + size - 0.5), ylim=(r0 + size - 0.5, r0 - 0.5),
                title=f"boundary zoom: rows {r0}-{r0 + size - 1}, columns {c0}-{c0 + size - 1}")
    for artist in zoom_ax.collections + zoom_ax.patches + zoom_ax.lines:
        artist.set_clip_on(True)                           # rings outside the window stay hidden
    legend = zoom_ax.get_legend()
    centres = _small_regions(t != _label_map(p, "pred", palette))
    in_window = ((centres[:, 0] >= r0 - 0.5) & (centres[:, 0] <= r0 + size - 0.5)
                 & (centres[:, 1] >= c0 - 0.5) & (centres[:, 1] <= c0 + size - 0.5))
    if legend is not None and not in_window.any():         # no ring inside the zoom: no ring in its legend
        entries = [(h_, x.get_text()) for h_, x in zip(legend.legend_handles, legend.get_texts())
                   if not x.get_text().startswith("ring:")]
        zoom_ax.legend([e[0] for e in entries], [e[1] for e in entries], loc="upper center",
                       bbox_to_anchor=(0.5, -0.02), ncol=1, frameon=False, fontsize=8)
    legend_words(fig, {"boundary error": "wrong, on a boundary band", "interior error": "wrong, inside a region",
                       "band": "boundary band, correct"} if words is None else words)
    add_off_band_entry(fig)
    return fig, summary, (r0, c0)


__all__ += ["confusion_by_column", "add_off_band_entry", "evidence_card_zoomed"]


def error_zoom_card(image: Any, target: Any, pred: Any, class_names: Sequence[str], scores: Mapping[str, Any],
                    crops: Mapping[str, tuple[slice, slice]], notes: Sequence[str] = (), palette: Any = None,
                    k: int = 4):
    """:func:`zoom_card` with its crops in the course's error colours: each enlarged crop outlines its
    wrong pixels in :data:`segcourse.palette.ERROR_COLOURS`, cyan where the pixel lies on a class
    edge (its 3×3 neighbourhood in ``target`` holds more than one class, as in :func:`fault_notes`)
    and magenta inside a class. Titles say "enlarged ×k". Returns ``(figure, summary_text)``.

    Examples
    --------
    >>> t = np.zeros((8, 8), int); t[4:, :] = 1; p = t.copy(); p[4, 2] = 0; p[7, 6] = 0
    >>> fig, text = error_zoom_card(np.zeros((8, 8)), t, p, ["sky", "road"], {"mIoU": 0.9},
    ...                             {"two pixels": (slice(3, 8), slice(0, 8))})
    >>> fig.axes[3].get_title(), [x.get_text() for x in fig.legends[0].get_texts()]
    ('two pixels\\n(enlarged ×4)', ['0 sky', '1 road', 'wrong, on a class edge', 'wrong, inside a class'])
    >>> error_zoom_card(np.zeros((8, 8)), t, p, ["sky", "road"], {}, {"c": (slice(0, 2), slice(0, 2))}, k=0)
    Traceback (most recent call last):
    ...
    ValueError: k must be an integer enlargement of at least 1, got 0
    >>> plt.close("all")
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer enlargement of at least 1, got {k!r}")
    fig, summary = zoom_card(image, target, pred, class_names, scores, crops, notes=notes, palette=palette, k=k)
    t = _label_map(target, "target", palette)
    p = _label_map(pred, "pred", palette)
    edge = _class_edges(t)
    wrong = t != p
    colours = {"wrong, on a class edge": (wrong & edge, _pal.ERROR_COLOURS["boundary error"]),
               "wrong, inside a class": (wrong & ~edge, _pal.ERROR_COLOURS["interior error"])}
    block = np.ones((k, k), np.uint8)
    crop_axes = [ax for ax in fig.axes if ax.get_title().endswith(f"(×{k})")]
    for ax, (title, (rows, cols)) in zip(crop_axes, crops.items()):
        for artist in list(ax.collections):             # zoom_card's white outline
            artist.remove()
        for part, colour in colours.values():
            if part[rows, cols].any():
                ax.contour(np.kron(part[rows, cols], block).astype(float), levels=[0.5],
                           colors=[np.array(colour) / 255], linewidths=1.6)
        ax.set_title(f"{title}\n(enlarged ×{k})", fontsize=9)
    old = fig.legends[0]
    handles = [h for h in old.legend_handles if not h.get_label().startswith("wrong pixels")]
    old.remove()
    handles += [Patch(facecolor="none", edgecolor=np.array(c) / 255, linewidth=2, label=name)
                for name, (_, c) in colours.items()]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, 1.0))
    return fig, summary


__all__ += ["error_zoom_card"]


def corrective_sample_figure(image: Any, truth: Any, first: tuple[int, int], sample: Mapping[str, Any]):
    """Lesson 06's training sample with one corrective round: click 1, the answer, the corrective click, the loss.

    Four panels: the image with the true outline and click 1; the model's answer to click 1 (found,
    false, missed) with the corrective click; its answer to both clicks, given the first answer as
    previous mask; the per-pixel cross-entropy of that answer, whose mean is the sample's loss.

    Parameters
    ----------
    image : 2-D grey crop.
    truth : bool mask of the object, the image's shape.
    first : ``(row, col)`` of click 1 (positive).
    sample : :func:`segcourse.interactive.corrective_sample`'s result (``first_pred``, ``click``,
        ``pred``, ``pixel_loss``, ``loss``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = np.zeros((16, 16), bool); t[4:12, 4:12] = True; p = np.zeros_like(t); p[6:10, 6:10] = True
    >>> s = {"first_pred": p, "click": ((4, 4), True), "pred": t, "pixel_loss": np.zeros((16, 16)), "loss": 0.0}
    >>> fig = corrective_sample_figure(np.zeros((16, 16)), t, (8, 8), s)
    >>> [ax.get_title().split(":")[0] for ax in fig.axes[:4]]
    ['click 1 (positive)', 'answer to click 1', 'answer to clicks 1 and 2', 'per-pixel loss']
    >>> plt.close(fig)
    >>> corrective_sample_figure(np.zeros((16, 16)), t, (8, 8), {"loss": 0.0})
    Traceback (most recent call last):
    ...
    ValueError: sample must be interactive.corrective_sample(...)'s result; it lacks ['click', 'first_pred', 'pixel_loss', 'pred']
    """
    from matplotlib.lines import Line2D

    need = {"first_pred", "click", "pred", "pixel_loss", "loss"}
    if not isinstance(sample, Mapping) or not need <= set(sample):
        lacks = sorted(need - set(sample)) if isinstance(sample, Mapping) else sorted(need)
        raise ValueError(f"sample must be interactive.corrective_sample(...)'s result; it lacks {lacks}")
    img = np.asarray(to_numpy(image, "image"), float)
    t = as_binary(truth, "truth", (2,))
    first_pred, pred = as_binary(sample["first_pred"], "first_pred", (2,)), as_binary(sample["pred"], "pred", (2,))
    check_same_size(image=img.shape, truth=t.shape, first_pred=first_pred.shape, pred=pred.shape)
    clicks = [(tuple(first), True), sample["click"]]
    iou = [float((p & t).sum() / max((p | t).sum(), 1)) for p in (first_pred, pred)]
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.6))
    lo, hi = np.percentile(img, (1, 99))
    axes[0].imshow(img, cmap="gray", vmin=lo, vmax=hi)
    axes[0].contour(t, levels=[0.5], colors=["white"], linewidths=1.5)
    axes[1].imshow(_outcome_rgb(t, first_pred))
    axes[2].imshow(_outcome_rgb(t, pred))
    im = axes[3].imshow(np.asarray(sample["pixel_loss"], float), cmap=_pal.LOG_CMAP, vmin=0)
    fig.colorbar(im, ax=axes[3], fraction=0.046, pad=0.03, label="cross-entropy (nats)")
    for ax, shown in zip(axes, (clicks[:1], clicks, clicks, clicks)):
        _click_marks(ax, shown)
        ax.set_axis_off()
    kind = "positive" if sample["click"][1] else "negative"
    axes[0].set_title("click 1 (positive): the deepest\npixel of the true object", fontsize=9)
    axes[1].set_title(f"answer to click 1: IoU {iou[0]:.2f}\nthe annotator's click 2 ({kind})", fontsize=9)
    axes[2].set_title(f"answer to clicks 1 and 2: IoU {iou[1]:.2f}\n(previous mask: the answer to click 1)",
                      fontsize=9)
    axes[3].set_title(f"per-pixel loss: mean {sample['loss']:.3f}\n= the sample's loss", fontsize=9)
    handles = [Line2D([], [], color="white", lw=1.5, label="true outline"),
               *outcome_handles(("TP", "FP", "FN", "TN"), labels={"TP": "found (predicted, true)",
                                "FP": "false (predicted only)", "FN": "missed (true only)", "TN": "neither (TN)"}),
               *(Line2D([], [], marker=m, ls="", mfc=_pal.rgb(_pal.OUTCOME_COLOURS[k]), mec="black", ms=9, label=name)
                 for m, k, name in (("P", "TP", "positive click"), ("X", "FP", "negative click"))
                 if name.startswith("positive") or not sample["click"][1])]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, facecolor="0.6")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


__all__ += ["corrective_sample_figure"]


def click_curves_figure(curves: Mapping[str, Sequence[float]], colours: Mapping[str, Any], title: str,
                        thresholds: tuple[float, float] = (0.85, 0.90)):
    """Lesson 06's IoU-vs-clicks curves of one object, with NoC marked where each curve first reaches a threshold.

    A filled triangle marks the click after which a curve first reaches the first threshold (NoC@85),
    an open one (nudged right) the second (NoC@90); a curve that never reaches a threshold gets no
    mark, and the legend lists the open triangle only if some curve has one.

    Parameters
    ----------
    curves : method name -> IoU after each click.
    colours : method name -> colour (every name of ``curves``).
    title : the axes' title.
    thresholds : the two IoU thresholds, drawn as a solid and a dashed line.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = click_curves_figure({"a": [0.5, 0.86, 0.95], "b": [0.3, 0.4, 0.5]}, {"a": "C0", "b": "C1"}, "one")
    >>> [h.get_label() for h in fig.axes[0].get_legend().legend_handles]
    ['a', 'b', 'IoU 0.85', 'IoU 0.90', 'NoC@85 (filled)', 'NoC@90 (open)']
    >>> plt.close(fig)
    >>> click_curves_figure({"a": [0.5]}, {}, "one")
    Traceback (most recent call last):
    ...
    ValueError: colours must name every method of curves; missing ['a']
    """
    from matplotlib.lines import Line2D

    missing = sorted(set(curves) - set(colours))
    if missing:
        raise ValueError(f"colours must name every method of curves; missing {missing}")
    if not curves:
        raise ValueError("curves must hold at least one method's IoU curve, got none")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    reached_second = False
    for name, ious in curves.items():
        ious = np.asarray(ious, float)
        ks = np.arange(1, len(ious) + 1)
        ax.plot(ks, ious, "o-", color=colours[name], ms=4, label=name)
        for t, fill, dx in ((thresholds[0], colours[name], 0), (thresholds[1], "white", 0.35)):
            if (ious >= t).any():
                n = int(np.argmax(ious >= t))
                ax.plot(n + 1 + dx, ious[n], "^", color=colours[name], mfc=fill, mec="black", ms=10, zorder=3)
                reached_second |= t == thresholds[1]
    marks = [Line2D([], [], color="black", lw=0.8, label=f"IoU {thresholds[0]:.2f}"),
             Line2D([], [], color="black", lw=0.8, ls="--", label=f"IoU {thresholds[1]:.2f}"),
             Line2D([], [], marker="^", ls="", color="0.3", ms=8, label=f"NoC@{round(100 * thresholds[0])} (filled)")]
    marks += [Line2D([], [], marker="^", ls="", color="0.3", mfc="white", ms=8,
                     label=f"NoC@{round(100 * thresholds[1])} (open)")] * reached_second
    ax.axhline(thresholds[0], color="black", lw=0.8); ax.axhline(thresholds[1], color="black", lw=0.8, ls="--")
    n_max = max(len(v) for v in curves.values())
    ax.set_xlim(0.5, n_max + 0.5); ax.set_ylim(0.1, 1)
    ax.set_xticks([k for k in (1, 5, 10, 15, 20) if k <= n_max])
    ax.set_xlabel("clicks"); ax.set_ylabel("IoU with the target"); ax.set_title(title)
    ax.legend(handles=ax.get_legend_handles_labels()[0] + marks, loc="center left", bbox_to_anchor=(1.02, 0.5),
              fontsize=8)
    fig.tight_layout()
    return fig


def click_failures_figure(images: Any, truths: Any, runs: Mapping[int, Mapping[str, Any]], titles: Mapping[int, str],
                          edges: Mapping[int, str] | None = None, colour: Any = "C0", label: str = "IoU"):
    """Lesson 06's failure gallery: one :func:`click_failure_row` per failed object, with one shared legend.

    Parameters
    ----------
    images, truths : the crops and their true masks, indexed by the keys of ``runs``.
    runs : object index -> ``simulate_clicks(..., keep_masks=True)`` result.
    titles : object index -> the row's title.
    edges : object index -> the crop's side that is the image's edge (objects not named: none).
    colour : the IoU curves' colour.
    label : the IoU curve's legend text.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = np.zeros((20, 20), bool); t[5:11, 5:11] = True; p = t.copy(); p[5, 5:9] = False
    >>> run = {"ious": [0.5, 0.9], "clicks": [((7, 7), True), ((5, 5), True)], "masks": [p, p], "pred": p}
    >>> fig = click_failures_figure([np.zeros((20, 20))], [t], {0: run}, {0: "one"}, edges={0: "right"})
    >>> len(fig.axes), len(fig.legends[0].legend_handles)
    (3, 11)
    >>> plt.close(fig)
    >>> click_failures_figure([np.zeros((20, 20))], [t], {0: run}, {})
    Traceback (most recent call last):
    ...
    ValueError: titles must give a title for every object of runs; missing [0]
    """
    from matplotlib.lines import Line2D

    missing = sorted(set(runs) - set(titles))
    if missing:
        raise ValueError(f"titles must give a title for every object of runs; missing {missing}")
    if not runs:
        raise ValueError("runs must hold at least one failed object's run, got none")
    edges = dict(edges or {})
    fig, axes = plt.subplots(len(runs), 3, figsize=(9.6, 3.1 * len(runs)), squeeze=False)
    for row, (i, run) in zip(axes, runs.items()):
        click_failure_row(row, images[i], truths[i], run, titles[i], edge=edges.get(i), colour=colour)
    axes[-1, 2].set_xlabel("clicks")
    green, red, blue = (_pal.rgb(_pal.OUTCOME_COLOURS[k]) for k in ("TP", "FP", "FN"))
    handles = [Line2D([], [], color="white", lw=1.5, label="truth outline"),
               Line2D([], [], color=_pal.rgb(_pal.INSTANCE_COLOURS[9]), lw=4, label="image edge"),
               Patch(color=green, label="found (predicted, true)"), Patch(color=red, label="false (predicted only)"),
               Patch(color=blue, label="missed (true only)"),
               Patch(color=_pal.rgb(_pal.NEUTRAL_COLOURS["TN"]), label="neither (TN)"),
               Line2D([], [], marker="P", ls="", mfc=green, mec="black", ms=9, label="positive click"),
               Line2D([], [], marker="X", ls="", mfc=red, mec="black", ms=9, label="negative click"),
               Line2D([], [], color=colour, marker="o", ms=3, label=label),
               Line2D([], [], color="black", lw=0.8, label="IoU 0.85"),
               Line2D([], [], marker="o", ls="", mfc="none", mec="black", ms=8, label="click contradicted by the mask")]
    if not edges:
        handles.pop(1)
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, facecolor="0.6")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


__all__ += ["click_curves_figure", "click_failures_figure"]


def one_legend(fig: Any, ncol: int | None = None, **kw: Any) -> Legend:
    """Replace the legend of every panel of ``fig`` by one legend under the figure, each entry once.

    The legend hangs below the figure's bottom edge (saved with ``bbox_inches="tight"``, as Jupyter
    shows figures, it is kept): call ``fig.tight_layout()`` after, so that the panels close the gap
    their own legends left. An entry shared by several panels (the "matched" swatch of :func:`compare_instances`, say) is
    drawn once; the entries keep the order in which the panels, left to right, first show them.

    Parameters
    ----------
    fig : matplotlib Figure
        A figure whose panels carry legends (e.g. from :func:`legend_below`); at least one.
    ncol : int, optional
        Columns of the legend; default: as many as entries, at most 3.
    **kw
        Passed on to ``fig.legend``.

    Returns
    -------
    matplotlib.legend.Legend
        The figure's one legend; the panels have none left.

    Examples
    --------
    >>> image, truth, merged = _toy_cluster()
    >>> fig = compare_instances(image, truth, {"merged": merged})
    >>> leg = one_legend(fig)
    >>> [t.get_text() for t in leg.get_texts()]    # doctest: +NORMALIZE_WHITESPACE
    ['matched: each pair shares a colour', 'FP: unmatched prediction',
     'merge (a tenth or more of 2+ cells), matching none: FP', 'FN: missed by merged']
    >>> [ax.get_legend() for ax in fig.axes]
    [None, None]
    >>> one_legend(fig)
    Traceback (most recent call last):
    ...
    ValueError: fig must have at least one panel with a legend, got none among its 2 panels
    >>> plt.close(fig)
    """
    if not hasattr(fig, "axes") or not hasattr(fig, "legend"):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    entries: dict[str, Any] = {}
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    if not legends:
        raise ValueError("fig must have at least one panel with a legend, got none among its "
                         f"{len(fig.axes)} panels")
    swatch_label = matched_swatch().label
    for leg in legends:
        for handle, text in zip(leg.legend_handles, leg.get_texts()):
            label = text.get_text()
            entries.setdefault(label, matched_swatch(label) if label == swatch_label else handle)
        leg.remove()
    if ncol is None:
        ncol = min(3, len(entries))
    elif isinstance(ncol, bool) or not isinstance(ncol, (int, np.integer)) or ncol < 1:
        raise ValueError(f"ncol must be a whole number of columns, 1 or more, got {ncol!r}")
    kw.setdefault("fontsize", 8)
    kw.setdefault("loc", "upper center")             # hanging under the figure: it hides no panel
    kw.setdefault("bbox_to_anchor", (0.5, 0.0))
    return fig.legend(handles=list(entries.values()), labels=list(entries), ncol=ncol, frameon=False, handler_map={Swatch: _HandlerTuple(ndivide=None, pad=0)},
                      **kw)


__all__ += ["one_legend"]


def instance_legend(ax: Any, n: int, name: str = "object", colours: Any = None, **kw: Any) -> Legend:
    """A legend of ``n`` instance swatches ("car 1", "car 2", ...) across the top of ``ax``.

    Parameters
    ----------
    ax : the matplotlib axes that shows the instances.
    n : how many instances, 1 or more (at most one per colour).
    name : what one instance is ("car").
    colours : (N, 3) 0..255 RGB colours of instances 1, 2, ... (default
        :data:`segcourse.palette.INSTANCE_COLOURS`).
    **kw : passed on to ``ax.legend``.

    Returns
    -------
    The legend.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> [t.get_text() for t in instance_legend(ax, 3, "car").get_texts()]
    ['car 1', 'car 2', 'car 3']
    >>> instance_legend(ax, 0)
    Traceback (most recent call last):
    ...
    ValueError: n must be a whole number of instances from 1 to 12, got 0
    >>> plt.close(fig)
    """
    pal = np.asarray(_pal.INSTANCE_COLOURS if colours is None else colours)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(pal):
        raise ValueError(f"n must be a whole number of instances from 1 to {len(pal)}, got {n!r}")
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'car', got {type(name).__name__}")
    handles = [Patch(facecolor=pal[i] / 255, label=f"{name} {i + 1}") for i in range(n)]
    for key, value in dict(loc="upper center", ncol=n, fontsize=8, handlelength=1, columnspacing=0.8).items():
        kw.setdefault(key, value)
    return ax.legend(handles=handles, **kw)


def overlay_error_card(image: Any, target: Any, pred: Any, class_names: Sequence[str], scores: Mapping[str, Any],
                       crops: Mapping[str, tuple[slice, slice]], notes: Sequence[str] = (), palette: Any = None,
                       k: int = 4, alpha: float = 0.7, overlay_alpha: float = 0.7):
    """:func:`zoom_card` with the prediction drawn over the image and its crops' wrong pixels filled.

    The top row's prediction panel is :func:`overlay` of ``pred`` on ``image`` (every class, the
    first one included, weight ``overlay_alpha``). Each enlarged crop shows the prediction's class colours; a wrong pixel is
    blended (``alpha``) with cyan where it lies on a class edge of ``target`` (its 3×3
    neighbourhood holds more than one class, as in :func:`fault_notes`), with magenta inside a
    class; the target's class edges are dashed black lines between pixels. The legend's swatches
    show the two error colours blended over mid-grey. Each crop's title gives its size in pixels.
    Returns ``(figure, summary_text)``.

    Parameters
    ----------
    image : (H, W, 3) image; target, pred : (H, W) label maps.
    class_names, scores, crops, notes, palette, k : as for :func:`zoom_card`.
    alpha : weight of the error colour in a wrong pixel, from 0 to 1.
    overlay_alpha : weight of the class colours over the image in the top row's prediction panel, from 0 to 1.

    Examples
    --------
    >>> t = np.zeros((8, 8), int); t[4:, :] = 1; p = t.copy(); p[4, 2] = 0; p[7, 6] = 0
    >>> fig, text = overlay_error_card(np.zeros((8, 8, 3)), t, p, ["sky", "road"], {"mIoU": 0.9},
    ...                                {"two pixels": (slice(3, 8), slice(0, 8))})
    >>> fig.axes[2].get_title(), fig.axes[3].get_title()
    ('prediction over the image', 'two pixels\\n(5×8 px)')
    >>> [x.get_text() for x in fig.legends[0].get_texts()][2:]
    ['wrong, on a class edge', 'wrong, inside a class', "target's class edges"]
    >>> overlay_error_card(np.zeros((8, 8, 3)), t, p, ["sky", "road"], {}, {}, alpha=2)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be a number from 0 to 1 (the weight of the error colour), got 2
    >>> plt.close("all")
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer enlargement of at least 1, got {k!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number from 0 to 1 (the weight of the error colour), got {alpha!r}")
    if isinstance(overlay_alpha, bool) or not isinstance(overlay_alpha, (int, float)) or not 0 <= overlay_alpha <= 1:
        raise ValueError(f"overlay_alpha must be a number from 0 to 1 (the weight of the class colours), "
                         f"got {overlay_alpha!r}")
    fig, summary = zoom_card(image, target, pred, class_names, scores, crops, notes=notes, palette=palette, k=k)
    pal = _palette(palette).astype(float) / 255
    t = _label_map(target, "target", palette)
    p = _label_map(pred, "pred", palette)
    fig.axes[2].images[0].set_data(overlay(image, p, overlay_alpha, palette=palette, skip_background=False))
    fig.axes[2].set_title("prediction over the image")
    edge, wrong = _class_edges(t), t != p
    colours = {"wrong, on a class edge": (wrong & edge, _pal.ERROR_COLOURS["boundary error"]),
               "wrong, inside a class": (wrong & ~edge, _pal.ERROR_COLOURS["interior error"])}
    crop_axes = [ax for ax in fig.axes if ax.get_title().endswith(f"(×{k})")]
    for ax, (title, (rows, cols)) in zip(crop_axes, crops.items()):
        for artist in list(ax.collections):             # zoom_card's white outline
            artist.remove()
        tc, shown = t[rows, cols], pal[p[rows, cols]]
        for part, colour in colours.values():
            shown[part[rows, cols]] = (1 - alpha) * shown[part[rows, cols]] + alpha * np.array(colour) / 255
        ax.images[0].set_data(np.kron(shown, np.ones((k, k, 1))))
        lines = [[(x * k - 0.5 + k, y * k - 0.5), (x * k - 0.5 + k, y * k - 0.5 + k)]
                 for y, x in zip(*np.nonzero(tc[:, 1:] != tc[:, :-1]))]
        lines += [[(x * k - 0.5, y * k - 0.5 + k), (x * k - 0.5 + k, y * k - 0.5 + k)]
                  for y, x in zip(*np.nonzero(tc[1:, :] != tc[:-1, :]))]
        ax.add_collection(LineCollection(lines, colors="black", linewidths=1.2, linestyles=(0, (2, 2))))
        ax.set_title(f"{title}\n({tc.shape[0]}×{tc.shape[1]} px)", fontsize=9)
    old = fig.legends[0]
    handles = [h for h in old.legend_handles if not h.get_label().startswith("wrong pixels")]
    old.remove()
    handles += [Patch(facecolor=(1 - alpha) * 0.5 + alpha * np.array(c) / 255, edgecolor="none", label=name)
                for name, (_, c) in colours.items()]
    handles.append(Line2D([], [], color="black", linewidth=1.2, linestyle=(0, (2, 2)), label="target's class edges"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, 1.0),
               fontsize=9, columnspacing=1.2)
    return fig, summary


__all__ += ["instance_legend", "overlay_error_card"]


def distance_profile(dist: Any, rows: Any, cols: Any, profile: Any, figsize: tuple[float, float] = (8, 3.4)):
    """A distance map with a line drawn on it, beside the map's values along that line.

    Parameters
    ----------
    dist : 2-D array, the distance map (px).
    rows, cols : 1-D arrays of equal length (at least 2), the line's sample points in pixel coordinates.
    profile : 1-D array of the same length, the map's values at those points.
    figsize : the figure size in inches.

    Returns
    -------
    (figure, axes): the map on the left, the profile on the right; white dots mark the line's two ends.

    Examples
    --------
    >>> d = np.minimum.outer(np.arange(5.0), np.arange(5.0))
    >>> fig, axes = distance_profile(d, np.array([1.0, 3.0]), np.array([1.0, 3.0]), np.array([1.0, 3.0]))
    >>> axes[1].get_xlabel(), len(fig.axes)
    ('position along the line (px)', 3)
    >>> plt.close(fig)
    """
    dist = np.asarray(dist, dtype=float)
    if dist.ndim != 2:
        raise ValueError(f"dist has shape {dist.shape}: expected a 2-D distance map")
    rows, cols, profile = (np.asarray(a, dtype=float) for a in (rows, cols, profile))
    if not (rows.ndim == cols.ndim == profile.ndim == 1 and len(rows) == len(cols) == len(profile) >= 2):
        raise ValueError(f"rows, cols and profile have lengths {len(rows)}, {len(cols)}, {len(profile)}: "
                         "expected three 1-D arrays of one length, at least 2")
    along = np.hypot(rows - rows[0], cols - cols[0])
    dots = dict(ms=7, mfc="white", mec="black", mew=1)
    fig, axes = plt.subplots(1, 2, figsize=figsize)
    im = axes[0].imshow(dist, cmap="magma")
    axes[0].set_title("distance to background")
    axes[0].set_axis_off()
    axes[0].plot(cols, rows, color=_pal.rgb(_pal.SERIES[0]), lw=3)
    axes[0].plot(cols[[0, -1]], rows[[0, -1]], "o", **dots)
    fig.colorbar(im, ax=axes[0], fraction=0.046, label="distance to background (px)")
    axes[1].plot(along, profile, color="black")
    axes[1].plot(along[[0, -1]], profile[[0, -1]], "o", **dots)
    axes[1].set(title="along the line (white dots: the tops)", xlabel="position along the line (px)",
                ylabel="distance to background (px)", ylim=(0, None))
    fig.tight_layout()
    return fig, axes


__all__ += ["distance_profile"]


# ------------------------------------------------------- lesson 04: one call per figure

def _pair_of_slices(window: Any, shape: tuple[int, int], name: str) -> tuple[slice, slice]:
    """``window`` as a pair of unit-step slices inside an image of ``shape``, or ValueError naming ``name``."""
    ok = isinstance(window, tuple) and len(window) == 2 and all(
        isinstance(s, slice) and s.step in (None, 1) and s.start is not None and s.stop is not None for s in window)
    if ok:
        ok = all(0 <= s.start < s.stop <= n for s, n in zip(window, shape))
    if not ok:
        raise ValueError(f"{name} must be a pair of slices with start and stop inside the {shape[0]}×{shape[1]} "
                         f"image, e.g. np.s_[0:64, 0:64], got {window!r}")
    return window


def real_image_overview(toy_image: Any, grey: Any, truth: Any, crop: tuple[slice, slice]):
    """A toy image beside a real one: the toy image, a crop of the real image at the toy's size, the
    whole real image with the crop dashed, and the real image's instances (:func:`instance_overlay`).

    Parameters
    ----------
    toy_image : (h, w, 3) array
        One toy image, values in [0, 1].
    grey : (H, W) float array
        The real image, normalised to [0, 1].
    truth : (H, W) int array
        Its instance annotation (0 = background).
    crop : pair of slices
        The crop of ``grey`` to show beside the toy image, e.g. ``np.s_[192:256, 192:256]``.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> gt = np.zeros((16, 16), int); gt[2:6, 2:6] = 1; gt[9:14, 8:12] = 2
    >>> fig = real_image_overview(np.zeros((8, 8, 3)), gt / 2.0, gt, np.s_[0:8, 0:8])
    >>> [a.get_title() for a in fig.axes]
    ['toy cells (8×8)', 'real, a 8×8 crop', 'percentile-normalised (16×16)', 'ground truth: 2 nuclei']
    >>> real_image_overview(np.zeros((8, 8, 3)), gt / 2.0, gt, np.s_[0:8, 0:40])
    Traceback (most recent call last):
    ...
    ValueError: crop must be a pair of slices with start and stop inside the 16×16 image, e.g. np.s_[0:64, 0:64], got (slice(0, 8, None), slice(0, 40, None))
    >>> plt.close("all")
    """
    from matplotlib import patheffects
    from matplotlib.lines import Line2D

    toy = np.asarray(toy_image)
    if toy.ndim != 3 or toy.shape[-1] != 3:
        raise ValueError(f"toy_image must be an (h, w, 3) RGB image, got shape {toy.shape}")
    g = np.asarray(grey, dtype=float)
    t = as_label_array(truth, "truth", ndims=(2,))
    if g.ndim != 2 or g.shape != t.shape:
        raise ValueError(f"grey must be a 2-D image of truth's shape {t.shape}, got shape {g.shape}")
    rows, cols = _pair_of_slices(crop, g.shape, "crop")
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    axes[0].imshow(toy)
    axes[0].set_title(f"toy cells ({toy.shape[0]}×{toy.shape[1]})")
    axes[1].imshow(g[rows, cols], cmap="gray")
    axes[1].set_title(f"real, a {rows.stop - rows.start}×{cols.stop - cols.start} crop")
    axes[2].imshow(g, cmap="gray")
    axes[2].set_title(f"percentile-normalised ({g.shape[0]}×{g.shape[1]})")
    colour = _pal.rgb(_pal.NEUTRAL_COLOURS["ignored"])
    dashed = {"linestyle": "--", "linewidth": 1.5}
    axes[2].add_patch(_Rectangle((cols.start - 0.5, rows.start - 0.5), cols.stop - cols.start,
                                 rows.stop - rows.start, fill=False, edgecolor=colour, **dashed))
    halo = [patheffects.withStroke(linewidth=3.5, foreground="black")]   # a light line, visible on white
    swatch = Line2D([], [], color=colour, path_effects=halo, **dashed)
    axes[2].legend([swatch], ["the crop (2nd panel)"], loc="upper center", bbox_to_anchor=(0.5, -0.02),
                   frameon=False, fontsize=8, handlelength=3)
    n = len(np.unique(t)) - int((t == 0).any())
    instance_overlay(g, t, ax=axes[3], title=f"ground truth: {n} nuclei")
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def threshold_histograms(values: Mapping[str, Any], chosen: float, chosen_label: str = "chosen"):
    """Step histograms of pixel values, one per region, each with its own Otsu threshold (dashed), and
    the chosen threshold (black), on a log count axis.

    Parameters
    ----------
    values : mapping of str to array
        Region name -> its pixel values in [0, 1] (at most 7 regions).
    chosen : float
        The threshold in use, drawn in black.
    chosen_label : str
        The legend text of the chosen threshold.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fig = threshold_histograms({"train": rng.random(500), "test": rng.random(500) ** 2}, 0.4)
    >>> [t.get_text()[:14] for t in fig.axes[0].get_legend().get_texts()]
    ['train', 'Otsu of the tr', 'test', 'Otsu of the te', 'chosen: 0.400']
    >>> threshold_histograms({}, 0.4)
    Traceback (most recent call last):
    ...
    ValueError: values must map 1 to 7 region names to their pixel values, got 0 regions
    >>> plt.close("all")
    """
    from skimage.filters import threshold_otsu

    if not isinstance(values, Mapping) or not 1 <= len(values) <= 7:
        n = len(values) if isinstance(values, Mapping) else type(values).__name__
        raise ValueError(f"values must map 1 to 7 region names to their pixel values, got {n} regions")
    chosen = check_float(chosen, "chosen", 0, 1)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for k, (name, v) in enumerate(values.items()):
        v = np.ravel(np.asarray(v, dtype=float))
        c = np.array(_pal.INSTANCE_COLOURS[6 * k % len(_pal.INSTANCE_COLOURS)]) / 255
        ax.hist(v, np.linspace(0, 1, 81), histtype="step", color=c, linewidth=1.5, label=name)
        otsu = threshold_otsu(v)
        ax.axvline(otsu, color=c, linestyle="--", label=f"Otsu of the {name}: {otsu:.3f}")
    ax.axvline(chosen, color="black", linewidth=1.5, label=f"{chosen_label}: {chosen:.3f}")
    ax.set_yscale("log")
    ax.set(xlabel="smoothed, percentile-normalised value", ylabel="pixels (log scale)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def shift_zoom_figure(image: Any, full: Any, scaled: Any, truth: Any, window: tuple[slice, slice],
                      speck_px: int = 50):
    """One window, three panels: a model run at full size (its fragments under ``speck_px`` pixels
    ringed, not filled), the same model on the rescaled image, and the truth (missed objects outlined),
    in the colours of :func:`matched_overlay`. Titles give each panel's object count.

    Parameters
    ----------
    image : (H, W) float array; full, scaled, truth : (H, W) int instance maps.
    window : pair of slices, the part of the image to show.
    speck_px : int, fragments smaller than this are ringed.

    Returns
    -------
    tuple
        ``(figure, fragment ids)``: the full-size objects in the window under ``speck_px`` pixels.

    Examples
    --------
    >>> gt = np.zeros((20, 20), int); gt[2:10, 2:10] = 1; gt[12:18, 12:18] = 2
    >>> full = gt.copy(); full[0, 15] = 3
    >>> fig, frags = shift_zoom_figure(gt / 2.0, full, gt, gt, np.s_[0:20, 0:20], speck_px=5)
    >>> frags, [a.get_title() for a in fig.axes]
    ([3], ['model, full size: 3', 'model, scaled ×0.5: 2', 'truth: 2'])
    >>> shift_zoom_figure(gt / 2.0, full, gt, gt, np.s_[0:20, 0:20], speck_px=0)
    Traceback (most recent call last):
    ...
    ValueError: speck_px must be a positive integer (fragments under it are ringed), got 0
    >>> plt.close("all")
    """
    if isinstance(speck_px, bool) or not isinstance(speck_px, (int, np.integer)) or speck_px < 1:
        raise ValueError(f"speck_px must be a positive integer (fragments under it are ringed), got {speck_px!r}")
    t = as_label_array(truth, "truth", ndims=(2,))
    maps = [as_label_array(m, n, ndims=(2,)) for m, n in ((full, "full"), (scaled, "scaled"))]
    for m, n in zip(maps, ("full", "scaled")):
        if m.shape != t.shape:
            raise ValueError(f"{n} must have truth's shape {t.shape}, got {m.shape}")
    win = _pair_of_slices(window, t.shape, "window")
    g = np.asarray(image, dtype=float)[win]
    full_z, scaled_z, truth_z = maps[0][win], maps[1][win], t[win]
    areas = np.bincount(full_z.ravel())
    frags = [int(i) for i in np.unique(full_z) if i and areas[i] < speck_px]
    count = lambda m: len(np.unique(m[m > 0]))  # noqa: E731
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.6))
    ring = ring_objects(axes[0], full_z, frags, f"ringed: {len(frags)} fragments under {speck_px} px (FP)")
    colours = {i: c for i, c in matched_instance_colours(full_z, truth_z)[0].items() if i not in frags}
    matched_overlay(g, np.where(np.isin(full_z, frags), 0, full_z), colours, ax=axes[0],
                    title=f"model, full size: {count(full_z)}", extra=[(ring, ring.get_label())])
    scaled_colours, truth_colours = matched_instance_colours(scaled_z, truth_z)
    matched_overlay(g, scaled_z, scaled_colours, ax=axes[1], title=f"model, scaled ×0.5: {count(scaled_z)}")
    from .instances import match_instances

    missed = [int(i) for i in match_instances(scaled_z, truth_z).unmatched_gt]
    zoom_missed = np.isin(truth_z, missed)
    truth_colours = {i: c for i, c in truth_colours.items() if i not in missed}
    matched_overlay(g, np.where(zoom_missed, 0, truth_z), truth_colours, ax=axes[2],
                    title=f"truth: {count(truth_z)}", missed=zoom_missed)
    fig.tight_layout()
    return fig, frags


def confidence_window(prob: Any, outline: Any, title: str = "P(cell)"):
    """A probability map (:data:`palette.CONFIDENCE_CMAP`, 0 to 1) with a mask's outline in white.

    Parameters
    ----------
    prob : (H, W) float array in [0, 1]; outline : (H, W) bool mask whose outline is drawn.
    title : str, the panel's title.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> m = np.zeros((12, 12), bool); m[3:9, 3:9] = True
    >>> fig = confidence_window(m * 0.9, m, "P(cell)")
    >>> fig.axes[0].get_title(), [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ('P(cell)', ['annotated outline'])
    >>> confidence_window(m * 2.0, m)
    Traceback (most recent call last):
    ...
    ValueError: prob must hold probabilities from 0 to 1, got values from 0 to 2
    >>> plt.close("all")
    """
    from matplotlib import patheffects
    from matplotlib.lines import Line2D

    p = np.asarray(prob, dtype=float)
    m = np.asarray(outline, dtype=bool)
    if p.ndim != 2 or m.shape != p.shape:
        raise ValueError(f"prob and outline must be 2-D arrays of one shape, got {p.shape} and {m.shape}")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"prob must hold probabilities from 0 to 1, got values from {p.min():g} to {p.max():g}")
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    im = ax.imshow(p, cmap=_pal.CONFIDENCE_CMAP, vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, fraction=0.046, label="P(cell)")
    ax.contour(m, levels=[0.5], colors="white", linewidths=0.8)
    halo = [patheffects.withStroke(linewidth=3.5, foreground="black")]   # a white line on a white legend
    legend_below(ax, [Line2D([], [], color="white", linewidth=1.5, path_effects=halo, label="annotated outline")])
    fig.tight_layout()
    return fig


def target_pair(image: Any, target: Any, title: str):
    """An image beside its regression target (magma, 0 to 1, colour bar at the side).

    Examples
    --------
    >>> fig = target_pair(np.zeros((8, 8)), np.full((8, 8), 0.5), "distance / 5")
    >>> [a.get_title() for a in fig.axes[:2]]
    ['image', 'distance / 5']
    >>> target_pair(np.zeros((8, 8)), np.zeros((4, 8)), "t")
    Traceback (most recent call last):
    ...
    ValueError: image and target must be 2-D arrays of one shape, got (8, 8) and (4, 8)
    >>> plt.close("all")
    """
    g, t = np.asarray(image, dtype=float), np.asarray(target, dtype=float)
    if g.ndim != 2 or g.shape != t.shape:
        raise ValueError(f"image and target must be 2-D arrays of one shape, got {g.shape} and {t.shape}")
    if not isinstance(title, str):
        raise TypeError(f"title must be a string (the target panel's title), got {title!r}")
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 6))
    axes[0].imshow(g, cmap="gray")
    axes[0].set_title("image")
    im = axes[1].imshow(t, cmap="magma", vmin=0, vmax=1)
    axes[1].set_title(title)
    fig.colorbar(im, cax=axes[1].inset_axes([1.04, 0.1, 0.05, 0.8]), label="target")   # both panels keep one size
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def fate_row(image: Any, preds: Mapping[str, Any], gt: Any, speck_px: int = 25):
    """One :func:`fate_panel` per prediction, side by side, with only the fullest legend kept; and each
    prediction's :func:`fate_counts`.

    Parameters
    ----------
    image : (H, W) float array; preds : mapping of name -> (H, W) instance map; gt : (H, W) instance map.
    speck_px : int, unmatched predictions under this many pixels are ringed and counted as specks.

    Returns
    -------
    tuple
        ``(figure, {name: fate counts})``.

    Examples
    --------
    >>> gt = np.zeros((12, 12), int); gt[:4, :4], gt[8:, 8:] = 1, 2
    >>> fig, fates = fate_row(np.zeros((12, 12)), {"a": gt, "b": np.roll(gt, 1, axis=0)}, gt, speck_px=2)
    >>> [a.get_title() for a in fig.axes], fates["a"]["TP"]
    (['a (TP 2, FP 0, FN 0)', 'b (TP 2, FP 0, FN 0)'], 2)
    >>> fate_row(np.zeros((12, 12)), {}, gt)
    Traceback (most recent call last):
    ...
    ValueError: preds must map 1 to 4 names to instance maps, got 0
    >>> plt.close("all")
    """
    if not isinstance(preds, Mapping) or not 1 <= len(preds) <= 4:
        n = len(preds) if isinstance(preds, Mapping) else type(preds).__name__
        raise ValueError(f"preds must map 1 to 4 names to instance maps, got {n}")
    fig, axes = plt.subplots(1, len(preds), figsize=(4 * len(preds), 9.5), squeeze=False)
    axes, fates = axes[0], {}
    for ax, (name, pred) in zip(axes, preds.items()):
        fate_panel(ax, image, pred, gt, name, ring_below=speck_px)
        fates[name] = fate_counts(pred, gt, speck_px=speck_px)
    fullest = max(axes, key=lambda a: len(a.get_legend().get_texts()) if a.get_legend() else -1)
    for ax in axes:
        if ax is not fullest and ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.tight_layout(rect=(0, 0, 0.98, 1))   # room for the rings at the right edge
    return fig, fates


def distance_fate_figure(distance: Any, image: Any, pred: Any, gt: Any, name: str, cap_px: int = 5):
    """A predicted distance map, the instances seeded from it by their fate (:func:`fate_panel`), and the
    truth in the colours of its matches (:func:`truth_panel`). Titles give the object counts.

    Examples
    --------
    >>> gt = np.zeros((12, 12), int); gt[:4, :4], gt[8:, 8:] = 1, 2
    >>> fig = distance_fate_figure(np.zeros((12, 12)), np.zeros((12, 12)), gt, gt, "learned")
    >>> [a.get_title() for a in fig.axes[:3]]
    ['predicted distance', 'learned: 2 (TP 2, FP 0, FN 0)', 'truth: 2']
    >>> distance_fate_figure(np.zeros((12, 12)), np.zeros((12, 12)), gt, gt, "learned", cap_px=0)
    Traceback (most recent call last):
    ...
    ValueError: cap_px must be a positive integer (the distance target's cap), got 0
    >>> plt.close("all")
    """
    if isinstance(cap_px, bool) or not isinstance(cap_px, (int, np.integer)) or cap_px < 1:
        raise ValueError(f"cap_px must be a positive integer (the distance target's cap), got {cap_px!r}")
    p, t = as_label_array(pred, "pred", ndims=(2,)), as_label_array(gt, "gt", ndims=(2,))
    count = lambda m: len(np.unique(m[m > 0]))  # noqa: E731
    fig, axes = plt.subplots(1, 3, figsize=(12, 9.5))
    im = axes[0].imshow(distance, cmap="magma", vmin=0, vmax=1)
    axes[0].set_title("predicted distance")
    axes[0].set_axis_off()
    fig.colorbar(im, cax=axes[0].inset_axes([0.1, -0.05, 0.8, 0.025]), orientation="horizontal",
                 label=f"predicted distance / {cap_px} px")      # under the panel: all three keep one size
    fate_panel(axes[1], image, p, t, f"{name}: {count(p)}")
    truth_panel(axes[2], image, p, t, f"truth: {count(t)}", method=name)
    fig.tight_layout()
    return fig


def instance_card_zoomed(image: Any, pred: Any, gt: Any, scores: Mapping[str, float], notes: Sequence[str] = (),
                         band: Any = None, marks: Mapping[str, Sequence[int]] | None = None, rim: Any = None,
                         size: int = 128, step: int = 32):
    """:func:`instance_card` whose error panel is zoomed (:func:`card_error_zoom`) on the ``size`` × ``size``
    window, stepped by ``step``, that holds the most wrong pixels (the first such in row-major order); the
    truth panel gets its match-colour legend and the boundary example is titled by its boundary IoU.

    Returns
    -------
    tuple
        ``(figure, summary_text, window)``: ``window`` is the zoomed pair of slices.

    Examples
    --------
    >>> gt = np.zeros((16, 16), int); gt[1:5, 1:5] = 1; gt[9:14, 9:14] = 2
    >>> pred = np.roll(gt, 1, axis=1)
    >>> fig, _, win = instance_card_zoomed(np.zeros((16, 16)), pred, gt, {"PQ": 0.5}, band=gt > 0, size=8, step=4)
    >>> win                                  # the larger object: 10 wrong pixels against 8
    (slice(8, 16, None), slice(8, 16, None))
    >>> instance_card_zoomed(np.zeros((16, 16)), pred, gt, {"PQ": 0.5}, band=gt > 0, size=32)
    Traceback (most recent call last):
    ...
    ValueError: size must be a positive integer no larger than the 16×16 image, got 32
    >>> plt.close("all")
    """
    p, t = as_label_array(pred, "pred", ndims=(2,)), as_label_array(gt, "gt", ndims=(2,))
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= min(t.shape):
        raise ValueError(f"size must be a positive integer no larger than the {t.shape[0]}×{t.shape[1]} image, "
                         f"got {size!r}")
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"step must be a positive integer (pixels between windows), got {step!r}")
    fig, text = instance_card(image, p, t, scores, notes=notes, band=band, marks=marks, rim=rim)
    target_ax = next((a for a in fig.axes if a.get_title().startswith("target")), None)
    if target_ax is not None:
        matched_legend_below(target_ax)
    if rim is not None:
        rim_ax = next((a for a in fig.axes if a.get_title().startswith("boundary example")), None)
        if rim_ax is not None:
            rim_ax.set_title(f"boundary IoU {rim[3]:.3f}")
    wrong = (p > 0) != (t > 0)
    windows = {(r, c): int(wrong[r:r + size, c:c + size].sum())
               for r in range(0, t.shape[0] - size + 1, step) for c in range(0, t.shape[1] - size + 1, step)}
    r0, c0 = max(windows, key=windows.get)
    window = np.s_[r0:r0 + size, c0:c0 + size]
    card_error_zoom(fig, window, label="errors, zoomed")
    return fig, text, window


__all__ += ["real_image_overview", "threshold_histograms", "shift_zoom_figure", "confidence_window",
            "target_pair", "fate_row", "distance_fate_figure", "instance_card_zoomed"]


def unet_diagram(model: Any, input_shape: Sequence[int] = (1, 3, 64, 64), ax: Any = None) -> tuple[Any, list]:
    """Draw a UNet as a U of boxes, each labelled with the channels and size its block outputs.

    The shapes are measured, not typed in: the model runs once on zeros of ``input_shape`` with a
    forward hook on each block named ``down.N``, ``up.N`` or ``head`` (TinyUNet's names). Encoder
    blocks go down the left arm (one row per pooling), decoder blocks up the right arm; the grey
    arrows are the skips from each encoder level to the decoder block at the same size.

    Parameters
    ----------
    model : torch.nn.Module
        A UNet with ``down`` and ``up`` module lists and a ``head`` (e.g. ``TinyUNet``).
    input_shape : sequence of 4 positive ints
        ``(N, C, H, W)`` of the zero input it is run on.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    fig : matplotlib Figure
    shapes : list of (name, shape) pairs, in the order the blocks ran.

    Examples
    --------
    >>> from segcourse.models import TinyUNet
    >>> fig, shapes = unet_diagram(TinyUNet(3, 5, width=4), (1, 3, 32, 32))
    >>> shapes[0], shapes[3], shapes[-1]
    (('down.0', (1, 4, 32, 32)), ('down.3', (1, 32, 4, 4)), ('head', (1, 5, 32, 32)))
    >>> len(fig.axes[0].patches)   # 4 encoder, 3 decoder blocks and the head
    8
    >>> unet_diagram(TinyUNet(3, 5, width=4), (3, 32, 32))
    Traceback (most recent call last):
    ...
    ValueError: input_shape must be 4 positive ints (N, C, H, W), got (3, 32, 32)
    >>> plt.close("all")
    """
    import torch
    from matplotlib.patches import FancyBboxPatch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (a UNet), got {type(model).__name__}")
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
    if not (isinstance(shape, tuple) and len(shape) == 4
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in shape)):
        raise ValueError(f"input_shape must be 4 positive ints (N, C, H, W), got {input_shape!r}")
    blocks = [(n, m) for n, m in model.named_modules()
              if (n.count(".") == 1 and n.split(".")[0] in ("down", "up")) or n == "head"]
    if not any(n.startswith("down.") for n, _ in blocks) or not any(n == "head" for n, _ in blocks):
        raise TypeError("model must have `down` and `up` module lists and a `head` (TinyUNet's names)")
    shapes: list = []
    hooks = [m.register_forward_hook(lambda m, i, out, n=n: shapes.append((n, tuple(out.shape))))
             for n, m in blocks]
    try:
        with torch.no_grad():
            model(torch.zeros(shape))
    finally:
        for h in hooks:
            h.remove()
    depth = sum(n.startswith("down.") for n, _ in shapes) - 1
    where = {}                                            # name -> (x, y) of the box centre
    for n, _ in shapes:
        kind, _, i = n.partition(".")
        if kind == "down":
            where[n] = (int(i), -int(i))
        elif kind == "up":
            where[n] = (depth + 1 + int(i), -(depth - 1 - int(i)))
        else:
            where[n] = (2 * depth + 1, 0)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.45 * (2 * depth + 2), 0.95 * (depth + 1) + 0.6))
    else:
        fig = ax.figure
    colours = {"down": "#cfe2f3", "up": "#d9ead3", "head": "#fce5cd"}
    for n, s in shapes:
        x, y = where[n]
        ax.add_patch(FancyBboxPatch((x - 0.42, y - 0.3), 0.84, 0.6, boxstyle="round,pad=0.02",
                                    facecolor=colours[n.split(".")[0]], edgecolor="black", linewidth=0.8))
        ax.text(x, y, f"{n}\n{s[1]} ch\n{s[2]}×{s[3]}", ha="center", va="center", fontsize=8)
    arrow = dict(arrowstyle="->", color="black", linewidth=1)
    order = [n for n, _ in shapes]
    for a, b in zip(order, order[1:]):                    # the data path
        (xa, ya), (xb, yb) = where[a], where[b]
        label = "max-pool 2×2" if yb < ya else ("up-conv 2×2" if yb > ya else "")
        ax.annotate("", (xb - 0.42 if xb > xa else xb, yb + (0.3 if yb < ya else -0.3 if yb > ya else 0)),
                    (xa + 0.42 if yb == ya else xa + 0.2, ya - 0.3 if yb < ya else ya + 0.3 if yb > ya else ya),
                    arrowprops=arrow)
        if label and (a == "down.0" or a == f"down.{depth}"):
            ax.text((xa + xb) / 2 + 0.15, (ya + yb) / 2, label, fontsize=7, ha="left", va="center")
    for i in range(depth):                                # the skips
        (xa, ya), (xb, yb) = where[f"down.{i}"], where[f"up.{depth - 1 - i}"]
        ax.annotate("", (xb - 0.42, yb), (xa + 0.42, ya),
                    arrowprops=dict(arrowstyle="->", color="grey", linewidth=1, linestyle="--"))
        ax.text((xa + xb) / 2, ya + 0.06, "skip (added)", fontsize=7, ha="center", va="bottom", color="grey")
    ax.set(xlim=(-0.6, 2 * depth + 1.6), ylim=(-depth - 0.55, 0.55))
    ax.axis("off")
    ax.set_title(f"UNet on a {tuple(shape)} input: each box, its block's output (channels, height×width)",
                 fontsize=9)
    return fig, shapes


__all__ += ["unet_diagram"]


def _click_handles() -> list:
    from matplotlib.lines import Line2D

    return [Line2D([], [], marker=m, ls="", mfc=_pal.rgb(_pal.OUTCOME_COLOURS[k]), mec="black", ms=9, label=name)
            for m, k, name in (("P", "TP", "positive click"), ("X", "FP", "negative click"))]


def outlined_crops(panels: Sequence[tuple[str, Any, Any]], label: str = "the object to select (outline)"):
    """Lesson 06's grey crops side by side (1-99 % stretch), each with its object's outline in white.

    Parameters
    ----------
    panels : ``(title, image, mask)`` per panel; ``mask`` is a bool array of the image's shape, or
        ``None`` for the image alone.
    label : the legend's entry for the outline.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> m = np.zeros((16, 16), bool); m[4:12, 4:12] = True
    >>> fig = outlined_crops([("image", np.eye(16), None), ("object", np.eye(16), m)])
    >>> [ax.get_title() for ax in fig.axes]
    ['image', 'object']
    >>> plt.close(fig)
    >>> outlined_crops([])
    Traceback (most recent call last):
    ...
    ValueError: panels must hold at least one (title, image, mask), got 0
    """
    from matplotlib.lines import Line2D

    if len(panels) == 0:
        raise ValueError(f"panels must hold at least one (title, image, mask), got {len(panels)}")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.6), squeeze=False)
    for ax, (title, image, mask) in zip(axes[0], panels):
        img = np.asarray(to_numpy(image, "image"), float)
        ax.imshow(img, cmap="gray", vmin=np.percentile(img, 1), vmax=np.percentile(img, 99))
        if mask is not None:
            m = as_binary(mask, "mask", (2,))
            check_same_size(image=img.shape, mask=m.shape)
            ax.contour(m, levels=[0.5], colors=["white"], linewidths=1.5)
        ax.set_title(title, fontsize=10); ax.set_axis_off()
    fig.legend(handles=[Line2D([], [], color="white", lw=1.5, label=label)], loc="lower center", fontsize=9,
               facecolor="0.6")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def click_errors_figure(truth: Any, pred: Any, click: tuple[tuple[int, int], bool], title: str):
    """Lesson 06's errors of a guess (found, false, missed, neither) with the annotator's next click.

    Parameters
    ----------
    truth, pred : bool masks of the same 2-D shape.
    click : ``((row, col), positive)``, the next click.
    title : the axes' title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = np.zeros((16, 16), bool); t[4:12, 4:12] = True
    >>> fig = click_errors_figure(t, np.zeros_like(t), ((8, 8), True), "errors")
    >>> len(fig.axes[0].get_legend().legend_handles)
    6
    >>> plt.close(fig)
    >>> click_errors_figure(t, t[:8], ((8, 8), True), "errors")
    Traceback (most recent call last):
    ...
    ValueError: truth has height x width (16, 16) but pred has (8, 16); they must match pixel for pixel
    """
    t, p = as_binary(truth, "truth", (2,)), as_binary(pred, "pred", (2,))
    check_same_size(truth=t.shape, pred=p.shape)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.imshow(_outcome_rgb(t, p))
    _click_marks(ax, [click], ms=13)
    ax.set_title(title); ax.set_axis_off()
    handles = outcome_handles(("TP", "FP", "FN", "TN"), labels={
        "TP": "correct object pixels", "FP": "false (pred only)", "FN": "missed (target only)",
        "TN": "neither (TN)"})
    ax.legend(handles=[*handles, *_click_handles()], loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    fig.tight_layout()
    return fig


def click_runs_grid(image: Any, truth: Any, runs: Mapping[str, Mapping[str, Any]], ns: Sequence[int],
                    mask_colour: Any = None):
    """Lesson 06's simulated runs, one row per method: the mask after the first n clicks, for each n of ``ns``.

    Parameters
    ----------
    image : 2-D grey crop.
    truth : bool mask of the object, the image's shape.
    runs : method name -> :func:`segcourse.interactive.simulate_clicks` result with ``keep_masks=True``
        (``masks``, ``clicks``, ``ious``).
    ns : click counts to show, each from 1 to the number of masks of every run.
    mask_colour : the predicted mask's colour (default: the first instance colour).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = np.zeros((16, 16), bool); t[4:12, 4:12] = True
    >>> run = {"masks": [t, t], "clicks": [((8, 8), True), ((2, 2), False)], "ious": [1.0, 1.0]}
    >>> fig = click_runs_grid(np.zeros((16, 16)), t, {"a": run}, (1, 2))
    >>> fig.axes[1].get_title()
    'a\\n2 clicks: IoU 1.00'
    >>> plt.close(fig)
    >>> click_runs_grid(np.zeros((16, 16)), t, {"a": run}, (3,))
    Traceback (most recent call last):
    ...
    ValueError: ns must lie between 1 and 2 (the masks of run 'a'), got 3
    """
    from matplotlib.lines import Line2D

    img = np.asarray(to_numpy(image, "image"), float)
    t = as_binary(truth, "truth", (2,))
    check_same_size(image=img.shape, truth=t.shape)
    for name, run in runs.items():
        bad = [n for n in ns if not 1 <= n <= len(run["masks"])]
        if bad:
            raise ValueError(f"ns must lie between 1 and {len(run['masks'])} (the masks of run {name!r}), "
                             f"got {bad[0]}")
    colour = np.asarray(_pal.rgb(_pal.INSTANCE_COLOURS[0]) if mask_colour is None else mask_colour, float)
    fig, axes = plt.subplots(len(runs), len(ns), figsize=(2.8 * len(ns), 3.2 * len(runs)), squeeze=False)
    lo, hi = np.percentile(img, (1, 99))
    for row, (name, run) in zip(axes, runs.items()):
        for ax, n in zip(row, ns):
            mask = np.asarray(run["masks"][n - 1], bool)
            ax.imshow(img, cmap="gray", vmin=lo, vmax=hi)
            ax.imshow(np.where(mask[..., None], colour, np.nan), alpha=0.45)
            ax.contour(mask, levels=[0.5], colors=[colour], linewidths=1.2)
            ax.contour(t, levels=[0.5], colors=["white"], linewidths=1)
            _click_marks(ax, run["clicks"][:n], ms=10)
            ax.set_title(f"{name}\n{n} click{'s' * (n > 1)}: IoU {run['ious'][n - 1]:.2f}", fontsize=9)
            ax.set_axis_off()
    fig.legend(handles=[Patch(facecolor=colour, alpha=0.6, edgecolor=colour, label="predicted mask"),
                        Line2D([], [], color="white", label="target outline"), *_click_handles()],
               loc="lower center", ncol=4, fontsize=8, facecolor="0.6")
    fig.tight_layout(rect=(0, 0.04, 1, 1), h_pad=1.5)
    return fig


def click_inputs_figure(inputs: Any, positive: Sequence[bool]):
    """Lesson 06's four input channels of the click UNet: grey image, positive and negative click maps, previous mask.

    Parameters
    ----------
    inputs : array ``(4, H, W)``: image, positive click map, negative click map, previous mask.
    positive : per click so far, whether it was positive (names the clicks in the titles).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = click_inputs_figure(np.zeros((4, 8, 8)), [True, False, True])
    >>> [ax.get_title() for ax in fig.axes[1:3]]
    ['positive clicks 1, 3', 'negative click 2']
    >>> plt.close(fig)
    >>> click_inputs_figure(np.zeros((3, 8, 8)), [True])
    Traceback (most recent call last):
    ...
    ValueError: inputs must have shape (4, H, W) (image, +, -, previous mask), got (3, 8, 8)
    """
    x = np.asarray(to_numpy(inputs, "inputs"), float)
    if x.ndim != 3 or x.shape[0] != 4:
        raise ValueError(f"inputs must have shape (4, H, W) (image, +, -, previous mask), got {x.shape}")
    pos = [str(k + 1) for k, p in enumerate(positive) if p]
    neg = [str(k + 1) for k, p in enumerate(positive) if not p]
    titles = [f"grey image\n(values {x[0].min():.2f} to {x[0].max():.2f})",
              f"positive click{'s' * (len(pos) > 1)} {', '.join(pos)}",
              f"negative click{'s' * (len(neg) > 1)} {', '.join(neg)}",
              f"previous mask\n(its own, after click {len(positive) - 1})"]
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.2))
    for ax, channel, name in zip(axes, x, titles):
        im = ax.imshow(channel, cmap="gray", vmin=0, vmax=1); ax.set_title(name); ax.set_axis_off()
    fig.colorbar(im, ax=axes, fraction=0.02, pad=0.03, label="input value")
    return fig


def mean_click_curves(curves: Mapping[str, Mapping[str, Sequence[float]]], colours: Mapping[str, Any],
                      thresholds: tuple[float, float] = (0.85, 0.90)):
    """Lesson 06's mean IoU-vs-clicks curves, one panel per data set, one line per method.

    Parameters
    ----------
    curves : data set -> method -> mean IoU after each click.
    colours : method -> colour (every method of ``curves``).
    thresholds : two IoU levels, drawn solid and dashed.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = mean_click_curves({"set": {"a": [0.5, 0.9]}}, {"a": "C0"})
    >>> fig.axes[0].get_title()
    'set'
    >>> plt.close(fig)
    >>> mean_click_curves({"set": {"a": [0.5]}}, {})
    Traceback (most recent call last):
    ...
    ValueError: colours must name every method of curves; missing ['a']
    """
    from matplotlib.lines import Line2D

    names = {m for v in curves.values() for m in v}
    missing = sorted(names - set(colours))
    if missing:
        raise ValueError(f"colours must name every method of curves; missing {missing}")
    if not curves:
        raise ValueError("curves must hold at least one data set, got none")
    styles = ["--", ":", "-.", "-"]
    fig, axes = plt.subplots(1, len(curves), figsize=(4.4 * len(curves), 3.8), sharey=True, squeeze=False)
    for ax, (set_name, methods) in zip(axes[0], curves.items()):
        for k, (name, ious) in enumerate(methods.items()):
            ax.plot(np.arange(1, len(ious) + 1), ious, color=colours[name], ls=styles[k % 4], lw=2, label=name)
        ax.axhline(thresholds[0], color="black", lw=0.8); ax.axhline(thresholds[1], color="black", lw=0.8, ls="--")
        n = max(len(v) for v in methods.values())
        ax.set_title(set_name); ax.set_xlabel("clicks"); ax.set_xticks([k for k in (1, 5, 10, 15, 20) if k <= n])
    axes[0][0].set_ylabel("mean IoU after k clicks")
    marks = [Line2D([], [], color="black", lw=0.8, ls=ls, label=f"IoU {t:.2f}") for ls, t in zip(("-", "--"), thresholds)]
    axes[0][-1].legend(handles=axes[0][-1].get_legend_handles_labels()[0] + marks, loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def entropy_extremes_figure(prob: Any, pixel_entropy: Any, masks: Any, clicks: Sequence[tuple[int, int]],
                            picks: Mapping[str, int]):
    """Lesson 06's uncertainty score on chosen pool objects: p(object) and per-pixel entropy, with outline and click.

    Parameters
    ----------
    prob, pixel_entropy : arrays ``(N, H, W)`` in [0, 1] (entropy in bits).
    masks : bool array ``(N, H, W)``, the true objects.
    clicks : ``(row, col)`` of the click each object got.
    picks : row label -> object index (one row of two panels each).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> p = np.full((2, 8, 8), 0.5); m = p > 0
    >>> fig = entropy_extremes_figure(p, p, m, [(4, 4), (4, 4)], {"highest": 0, "lowest": 1})
    >>> fig.axes[0].get_title().splitlines()[0]
    'pool nucleus 0: p(object)'
    >>> plt.close(fig)
    >>> entropy_extremes_figure(p, p, m, [(4, 4), (4, 4)], {"highest": 5})
    Traceback (most recent call last):
    ...
    ValueError: picks must name objects 0 to 1, got 5
    """
    from matplotlib.lines import Line2D

    prob, ent = np.asarray(prob, float), np.asarray(pixel_entropy, float)
    m = as_binary(masks, "masks", (3,))
    check_same_size(prob=prob.shape, pixel_entropy=ent.shape, masks=m.shape)
    bad = [j for j in picks.values() if not 0 <= j < len(prob)]
    if bad:
        raise ValueError(f"picks must name objects 0 to {len(prob) - 1}, got {bad[0]}")
    fig, axes = plt.subplots(len(picks), 2, figsize=(7.4, 3.4 * len(picks)), squeeze=False)
    for row, (which, j) in zip(axes, picks.items()):
        mean = ent[j].mean()
        for ax, values, cmap, label in ((row[0], prob[j], _pal.CONFIDENCE_CMAP, "p(object)"),
                                        (row[1], ent[j], "cividis", "entropy (bits)")):
            im = ax.imshow(values, cmap=cmap, vmin=0, vmax=1)  # both maps linear
            ax.contour(m[j], levels=[0.5], colors=["white"], linewidths=1)
            _click_marks(ax, [(clicks[j], True)], ms=10)
            ax.set_title(f"pool nucleus {j}: {label}\n({which} mean entropy, {mean:.3f} bits)", fontsize=9)
            ax.set_axis_off()
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label=label)
    fig.legend(handles=[Line2D([], [], color="white", lw=1, label="true outline"), _click_handles()[0]],
               loc="lower center", ncol=2, fontsize=8, facecolor="0.6")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


__all__ += ["outlined_crops", "click_errors_figure", "click_runs_grid", "click_inputs_figure", "mean_click_curves",
            "entropy_extremes_figure"]


def class_and_sample_scores(per_class_iou: Sequence[float], class_names: Sequence[str], per_sample: Sequence[float],
                            palette: Any = None, fail_below: float = 0.9, decimals: int = 3):
    """Two panels: the pooled per-class IoU as bars, and every sample's mIoU as a dot beside the mean and the fail line.

    Parameters
    ----------
    per_class_iou : one pooled IoU per class (NaN: class absent, drawn "n/a").
    class_names : one name per class.
    per_sample : one mIoU per sample.
    palette : class colours (RGB uint8 rows), as for :func:`per_class_bar`.
    fail_below : the fail line, drawn dashed.
    decimals : decimals of the bar labels.

    Returns
    -------
    The figure; its axes are (bars, strip).

    Examples
    --------
    >>> fig = class_and_sample_scores([1.0, 0.8766], ["sky", "road"], [0.95, 0.7, 0.99], decimals=3)
    >>> [t.get_text() for t in fig.axes[0].texts], fig.axes[1].get_title()
    (['1.000', '0.877'], 'per-sample mIoU, 3 samples')
    >>> class_and_sample_scores([1.0], ["sky"], [], decimals=3)
    Traceback (most recent call last):
    ...
    ValueError: per_sample must hold at least one score, got 0
    >>> plt.close("all")
    """
    vals = np.asarray(per_sample, dtype=float).ravel()
    if vals.size == 0:
        raise ValueError(f"per_sample must hold at least one score, got {vals.size}")
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)) or decimals < 0:
        raise ValueError(f"decimals must be a non-negative integer, got {decimals!r}")
    if isinstance(fail_below, bool) or not isinstance(fail_below, (int, float)):
        raise TypeError(f"fail_below must be a number (the fail line), got {fail_below!r}")
    grey = {k: _pal.rgb(v) for k, v in _pal.NEUTRAL_COLOURS.items()}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.2))
    per_class_bar(per_class_iou, class_names, palette, ax=left,
                  title=f"per-class IoU, pooled over {vals.size} samples")
    for text, v in zip(left.texts, np.asarray(per_class_iou, dtype=float)):
        if np.isfinite(v):
            text.set_text(f"{v:.{decimals}f}")
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, vals.size)   # spread the dots vertically
    right.scatter(vals, jitter, s=14, alpha=0.7, color=grey["band"], label="one sample")
    right.axvline(np.nanmean(vals), color=grey["TN"], lw=2, label=f"mean {np.nanmean(vals):.3f}")
    right.axvline(fail_below, color=grey["correct"], lw=1, ls="--", label=f"fail line {fail_below}")
    right.set(xlim=(min(np.floor(np.nanmin(vals) * 20) / 20, fail_below - 0.05), 1.005), yticks=[],
              xlabel="mIoU of one sample", title=f"per-sample mIoU, {vals.size} samples")
    right.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def stray_rings(preds: Any, targets: Any, ids: Sequence[int], class_names: Sequence[str], palette: Any = None,
                pixels: Sequence[int] | None = None):
    """One panel per sample: its prediction in the class colours, a ring around each region of a class the target lacks.

    Parameters
    ----------
    preds, targets : label maps, shape (N, H, W).
    ids : the samples to draw (indices into ``preds``).
    class_names : one name per class (the legend).
    palette : class colours (RGB uint8 rows).
    pixels : optional stray-pixel count per drawn sample, for the panel titles.

    Returns
    -------
    The figure.

    Examples
    --------
    >>> t = np.zeros((1, 8, 8), int); p = t.copy(); p[0, 2, 2] = 1
    >>> fig = stray_rings(p, t, [0], ["sky", "car"], pixels=[1])
    >>> fig.axes[0].get_title(), len(fig.axes[0].collections[0].get_offsets())
    ('#0: 1 px', 1)
    >>> stray_rings(p, t, [], ["sky", "car"])
    Traceback (most recent call last):
    ...
    ValueError: ids must name at least one sample, got []
    >>> plt.close("all")
    """
    ids = [int(i) for i in ids]
    if not ids:
        raise ValueError(f"ids must name at least one sample, got {ids}")
    if pixels is not None and len(pixels) != len(ids):
        raise ValueError(f"pixels must hold one count per id ({len(ids)}), got {len(pixels)}")
    pal = _palette(palette)
    ring = np.array(ERROR_COLOURS["FP"]) / 255
    fig, axes = plt.subplots(1, len(ids), figsize=(3.2 * len(ids), 3.6), squeeze=False)
    for k, (ax, i) in enumerate(zip(axes[0], ids)):
        p, t = np.asarray(preds[i]), np.asarray(targets[i])
        absent = np.setdiff1d(np.unique(p), np.unique(t))
        regions, n = ndimage.label(np.isin(p, absent), np.ones((3, 3)))
        ys, xs = (np.array(ndimage.center_of_mass(regions > 0, regions, range(1, n + 1))).reshape(-1, 2).T
                  if n else (np.zeros(0), np.zeros(0)))
        ax.imshow(pal[p]); ax.set_axis_off()
        ax.scatter(xs, ys, s=320, facecolors="none", edgecolors=ring, linewidths=1.2, clip_on=False,
                   label="a predicted class the target does not have")
        ax.set_title(f"#{i}: {pixels[k]} px" if pixels is not None else f"#{i}", fontsize=11)
    fig.suptitle("the predictions: stray regions of a class the target does not have (one ring each)", fontsize=12)
    handles = axes[0][0].get_legend_handles_labels()[0] + legend_handles(class_names, pal)
    fig.legend(handles=handles, loc="lower center", frameon=False, fontsize=10, ncol=len(handles))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def seed_dots(failing_by_arm: Mapping[str, Sequence[int]], baseline: int, labels: Sequence[str] | None = None,
              ylabel: str = "failing held-out\nscenes", title: str | None = None):
    """One column of dots per arm (one dot a seed) against a dashed baseline.

    Parameters
    ----------
    failing_by_arm : arm name -> one count per seed.
    baseline : the count before any change (the dashed line).
    labels : x tick labels (default: the arm names).
    ylabel, title : axis texts.

    Returns
    -------
    The figure.

    Examples
    --------
    >>> fig = seed_dots({"a": [1, 2], "b": [3, 0]}, 2)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()], len(fig.axes[0].collections)
    (['a', 'b'], 2)
    >>> seed_dots({"a": [1]}, 2, labels=["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: labels must hold one label per arm (1), got 2
    >>> plt.close("all")
    """
    from matplotlib.lines import Line2D

    if not failing_by_arm:
        raise ValueError("failing_by_arm must hold at least one arm, got none")
    labels = list(failing_by_arm) if labels is None else list(labels)
    if len(labels) != len(failing_by_arm):
        raise ValueError(f"labels must hold one label per arm ({len(failing_by_arm)}), got {len(labels)}")
    dot, line = _pal.rgb(_pal.SERIES[2]), _pal.rgb(_pal.NEUTRAL_COLOURS["TN"])
    n_seeds = max(len(v) for v in failing_by_arm.values())
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for x, counts in enumerate(failing_by_arm.values()):          # spread sideways, one dot a seed
        ax.scatter(x + np.linspace(-0.16, 0.16, len(counts)), counts, s=40, zorder=3, color=dot)
    ax.axhline(baseline, color=line, ls="--", lw=1)
    ax.set(xticks=range(len(labels)), xticklabels=labels, ylabel=ylabel, xlim=(-0.5, len(labels) - 0.5),
           title=title or f"{n_seeds} seeds per arm")
    ax.legend(handles=[Line2D([], [], marker="o", ls="", color=dot, label=f"one seed (0 to {n_seeds - 1})"),
                       Line2D([], [], ls="--", lw=1, color=line, label=f"before ({baseline})")],
              fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


__all__ += ["class_and_sample_scores", "stray_rings", "seed_dots"]


def draw_class_edges(ax: Any, target: Any, colour: str = "black", title_note: str | None = "black lines: class edges"):
    """Draw the edges between classes of ``target`` over an image axis that shows it (at any whole enlargement).

    Parameters
    ----------
    ax : an axis whose first image shows ``target``'s window, each pixel ``k`` × ``k`` screen pixels.
    target : (h, w) label map of the window shown.
    colour : line colour.
    title_note : appended to the axis title on a new line (None: title unchanged).

    Returns
    -------
    The number of edge segments drawn.

    Examples
    --------
    >>> fig, ax = plt.subplots(); _ = ax.imshow(np.zeros((8, 8)))
    >>> t = np.zeros((4, 4), int); t[2:, :] = 1
    >>> draw_class_edges(ax, t), ax.get_title()
    (4, 'black lines: class edges')
    >>> draw_class_edges(ax, np.zeros((3, 4), int))
    Traceback (most recent call last):
    ...
    ValueError: target of shape (3, 4) does not tile the axis image of shape (8, 8) by a whole factor
    >>> plt.close("all")
    """
    from matplotlib.collections import LineCollection

    t = np.asarray(target)
    if t.ndim != 2:
        raise ValueError(f"target must be a 2-D label map, got shape {t.shape}")
    if not ax.images:
        raise ValueError("ax must show an image (the target's window), it shows none")
    shown = ax.images[0].get_array().shape[:2]
    k = shown[0] // t.shape[0]
    if k < 1 or shown[0] != k * t.shape[0] or shown[1] != k * t.shape[1]:
        raise ValueError(f"target of shape {t.shape} does not tile the axis image of shape {shown} by a whole factor")
    lines = [[(k * (x + 1) - 0.5, k * y - 0.5), (k * (x + 1) - 0.5, k * (y + 1) - 0.5)]
             for y, x in zip(*np.nonzero(t[:, 1:] != t[:, :-1]))]
    lines += [[(k * x - 0.5, k * (y + 1) - 0.5), (k * (x + 1) - 0.5, k * (y + 1) - 0.5)]
              for y, x in zip(*np.nonzero(t[1:, :] != t[:-1, :]))]
    ax.add_collection(LineCollection(lines, colors=colour, linewidths=2.2))
    if title_note:
        ax.set_title(f"{ax.get_title()}\n{title_note}" if ax.get_title() else title_note)
    return len(lines)


__all__ += ["draw_class_edges"]


def loss_and_iou_curves(histories: Mapping[str, Any], class_names: Sequence[str], palette: Any = None,
                        figsize: tuple[float, float] = (13, 3.6)):
    """Training loss per step (left) beside each run's held-out IoU per class (one panel per run).

    Parameters
    ----------
    histories : run name -> a ``train.fit`` history: ``step_loss`` (one loss per step) and ``eval``
        (a list of ``{"step": int, "per_class_iou": [K floats]}``).
    class_names : the ``K`` class names.
    palette : ``(K, 3)`` uint8 class colours (default: the course palette).
    figsize : the figure's size in inches.

    Returns
    -------
    The figure: the loss axes first, then one axes per run, all against the training step.

    Examples
    --------
    >>> h = {"step_loss": [1.5, 1.2, 0.9], "eval": [{"step": 2, "per_class_iou": [0.5, 0.0]},
    ...                                             {"step": 3, "per_class_iou": [0.8, 0.1]}]}
    >>> fig = loss_and_iou_curves({"CE": h}, ["road", "lane"])
    >>> [ax.get_title() for ax in fig.axes], len(fig.axes[0].lines)
    (['training loss', 'CE'], 1)
    >>> plt.close(fig)
    >>> loss_and_iou_curves({}, ["road"])
    Traceback (most recent call last):
    ...
    ValueError: histories must map at least one run name to a train.fit history, got {}
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError(f"histories must map at least one run name to a train.fit history, got {histories!r}")
    for label, h in histories.items():
        if not isinstance(h, Mapping) or "step_loss" not in h or "eval" not in h:
            raise TypeError(f"histories[{label!r}] must be a train.fit history with 'step_loss' and 'eval', "
                            f"got {type(h).__name__}")
    colours = _palette(palette)
    fig, axes = plt.subplots(1, len(histories) + 1, figsize=figsize, squeeze=False)
    loss_ax, run_axes = axes[0, 0], axes[0, 1:]
    for label, h in histories.items():
        loss_ax.plot(np.arange(1, len(h["step_loss"]) + 1), h["step_loss"], label=label)
    loss_ax.set(title="training loss", xlabel="step", ylabel="loss on the batch")
    loss_ax.legend(frameon=False, fontsize=9)
    loss_ax.grid(alpha=0.3)
    for ax, (label, h) in zip(run_axes, histories.items()):
        steps = [e["step"] for e in h["eval"]]
        ious = np.asarray([e["per_class_iou"] for e in h["eval"]], float)
        for c, name in enumerate(class_names):
            ax.plot(steps, ious[:, c], "o-", color=colours[c] / 255, label=name, markeredgecolor="black",
                    markeredgewidth=0.5, zorder=3, clip_on=False)
        ax.axhline(0, color="0.6", lw=0.8, zorder=1)
        ax.set(title=label, xlabel="step", ylim=(-0.08, 1.04))
        ax.grid(alpha=0.3)
    run_axes[0].set_ylabel("held-out IoU")
    for ax in run_axes[1:]:
        ax.sharey(run_axes[0])
    fig.legend(*run_axes[0].get_legend_handles_labels(), loc="lower center", ncol=len(class_names), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


__all__ += ["loss_and_iou_curves"]


def instance_card_row(image: Any, pred: Any, gt: Any, marks: Mapping[str, Sequence[int]] | None = None,
                      rim: Any = None, height: float = 7.0):
    """The top row of :func:`instance_card` alone, four panels: the input image, the truth
    (:func:`truth_panel`, with ``marks``), each prediction by its fate (:func:`fate_panel`) and the
    boundary example ``rim``. The scores and failure notes are left to printed text.

    Parameters
    ----------
    image, pred, gt, marks, rim
        As for :func:`instance_card`.
    height : float
        The figure's height in inches (its width is :func:`instance_card`'s, 12.4).

    Returns
    -------
    matplotlib Figure
        Its four axes, left to right.

    Examples
    --------
    >>> gt = np.zeros((16, 8), int); gt[1:5, 1:5] = 1; gt[8:12, 1:4] = 2; gt[8:12, 4:7] = 3
    >>> pred = np.where(gt > 1, 9, gt)                     # 2 and 3 merged into 9
    >>> fig = instance_card_row(np.zeros((16, 8)), pred, gt, marks={"merge": [2, 3]}, height=4)
    >>> len(fig.axes), fig.axes[0].get_title(), [t.get_text() for t in fig.axes[1].texts]
    (4, 'input image', ['merge'])
    >>> plt.close(fig)
    >>> instance_card_row(np.zeros((16, 8)), pred, gt, height=0)
    Traceback (most recent call last):
    ...
    ValueError: height must be a positive number of inches, got 0
    """
    if isinstance(height, bool) or not isinstance(height, (int, float)) or not height > 0:
        raise ValueError(f"height must be a positive number of inches, got {height!r}")
    fig, _ = instance_card(image, pred, gt, {}, marks=marks, rim=rim)
    fig.axes[-1].remove()                                   # the text panel: the scores are printed instead
    grid = fig.add_gridspec(1, 4, wspace=0.12, left=0.02, right=0.99, top=0.95, bottom=0.12)
    for i, ax in enumerate(fig.axes[:4]):
        ax.set_subplotspec(grid[0, i])
    fig.set_size_inches(12.4, float(height))
    return fig


__all__ += ["instance_card_row"]


def bucket_gallery_by_score(images: Any, targets: Any, preds: Any, scores: Sequence[float],
                            bucket_masks: Sequence[Mapping[str, Any]], class_names: Sequence[str],
                            ids: Sequence[int] | None = None, palette: Any = None,
                            scored_over: str = "over the target's classes"):
    """:func:`bucket_gallery` in lesson 05's bucket colours, each row titled with the image's id, its
    score and what the score is taken over (lesson 05 section 6's gallery in one call).

    The colours: false-positive class red and missed small region blue (the outcome colours FP and
    FN), boundary cyan (the evidence card's edge colour), class confusion peach, no bucket black.

    Parameters
    ----------
    images, targets, preds, scores, bucket_masks, class_names, ids, palette :
        as for :func:`bucket_gallery`.
    scored_over : what the row's score averages over, printed under it, e.g. ``"over the target's
        classes"``; ``""`` prints the score alone.

    Returns
    -------
    matplotlib figure.

    Raises
    ------
    TypeError
        If ``scored_over`` is not a string.

    Examples
    --------
    >>> t = np.zeros((2, 6, 6), int); t[:, 2:4, 2:4] = 1
    >>> p = t.copy(); p[0, 0, 0] = 1
    >>> fig = bucket_gallery_by_score(np.zeros((2, 6, 6)), t, p, [0.7, 1.0],
    ...                               [{"false_positive_class": p[0] != t[0]}, {}], ["bg", "obj"], ids=[5, 9])
    >>> fig.axes[0].get_title()
    "image #5: mIoU 0.700\\n(over the target's classes)"
    >>> bucket_gallery_by_score(np.zeros((2, 6, 6)), t, p, [0.7, 1.0], [{}, {}], ["bg", "obj"], scored_over=1)
    Traceback (most recent call last):
    ...
    TypeError: scored_over must be a string (what the score averages over), got int 1
    """
    if not isinstance(scored_over, str):
        raise TypeError(f"scored_over must be a string (what the score averages over), "
                        f"got {type(scored_over).__name__} {scored_over!r}")
    colours = {"false_positive_class": _pal.OUTCOME_COLOURS["FP"], "small_region": _pal.OUTCOME_COLOURS["FN"],
               "boundary": ERROR_COLOURS["boundary error"], "class_confusion": _pal.INSTANCE_COLOURS[5],
               "no bucket": (0, 0, 0)}
    fig = bucket_gallery(images, targets, preds, scores, bucket_masks, colours, class_names, ids=ids,
                         palette=palette)
    names = list(ids) if ids is not None else list(range(len(scores)))
    for ax, i, s in zip(fig.axes[::4], names, scores):   # the first column: the image
        ax.set_title(f"image #{i}: mIoU {float(s):.3f}" + (f"\n({scored_over})" if scored_over else ""),
                     fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return fig


__all__ += ["bucket_gallery_by_score"]
