"""Interactive segmentation: clicks to masks, the simulated annotator, NoC, click-seeded baselines, a click UNet.

An object is selected by **positive** clicks (inside it) and **negative** clicks (outside it);
a method turns the clicks into the object's mask. The standard protocol (Xu et al., CVPR 2016;
RITM, Sofiiuk et al., ICIP 2022; SAM's evaluation) replaces the person by a **simulated
annotator**: each next click goes to the deepest error pixel -- the pixel farthest from the
border of its kind of error (a distance transform of the error), not necessarily inside the
largest error region (:func:`in_largest_error_region` counts how often it is) -- positive where the
object was missed, negative where background was taken. **NoC@85 / NoC@90** is the number of
clicks needed to reach IoU 0.85 / 0.90, capped at 20 (an object never reached counts 20).

Every method is a *predictor* with the signature the click widget calls::

    predict(image, positive, negative, previous) -> bool mask

``positive`` / ``negative`` are lists of ``(row, col)``; ``previous`` is the last mask or ``None``.
:func:`random_walker_predictor` and :func:`watershed_predictor` are classical, seeded by the
clicks (scikit-image); :func:`click_predictor` wraps a click-conditioned :class:`TinyUNet` whose
input is the grey image, a positive and a negative click map and the previous mask (RITM).

``python -m segcourse.interactive train``
    trains the shipped click model on synthetic objects, then fine-tunes it on the nuclei of the
    left half of the real image (lesson 04's training region), and writes ``clicks.pt`` and its
    card ``clicks.json``.
``python -m segcourse.interactive evaluate``
    NoC@85/90 and IoU after each click of every method on synthetic objects, the held-out nuclei
    (right half) and the coins photo; stored in the card.
``python -m segcourse.interactive loop``
    the annotation loop (model proposes, simulated annotator corrects, model fine-tuned), next
    images chosen by uncertainty or at random, several seeds; stored in the card.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from scipy import ndimage as ndi

from . import data as sdata
from ._validate import as_binary, check_float, check_int, check_seed, to_numpy
from .models import WEIGHTS_DIR, TinyUNet

__all__ = ["MAX_CLICKS", "CLICK_RADIUS", "next_click", "number_of_clicks", "click_maps", "simulate_clicks",
           "noc_summary", "in_largest_error_region", "border_cut_nuclei", "random_walker_predictor", "watershed_predictor", "click_predictor", "click_model",
           "train_click_model", "evaluate_methods", "synthetic_objects", "nuclei_objects", "coins_objects", "load_click_model",
           "proposal_entropy"]

MAX_CLICKS = 20
CLICK_RADIUS = 3  # pixels: a click is drawn as a small disk in the click maps
CROP = 64
Predictor = Callable[[np.ndarray, list, list, "np.ndarray | None"], np.ndarray]


# ------------------------------------------------------------------------------------------- the protocol
def next_click(pred: Any, target: Any, clicked: Any = None) -> tuple[tuple[int, int], bool]:
    """Where the simulated annotator clicks next, and whether the click is positive.

    The missed pixels (``target & ~pred``) and the false pixels (``pred & ~target``) are the two
    kinds of error. Each error pixel's distance to the nearest pixel outside its kind of error (or
    to the image border: the error maps are padded by 1 px of background first) is computed with a
    Euclidean distance transform; pixels already clicked (``clicked``: a list of ``(row, col)`` or
    a boolean map) get distance 0, so the annotator never clicks the same pixel twice. The click
    goes to the pixel with the largest distance -- the deepest error pixel not yet clicked, which
    need not lie in the largest error region -- and is positive only if the deepest missed
    pixel is *strictly* deeper than the deepest false one (a tie gives a negative click). Ties
    between pixels go to the first pixel in row-major order. This is RITM's ``Clicker``
    (Sofiiuk et al. 2022; saic-vul/ritm_interactive_segmentation, ``isegm/inference/clicker.py``,
    ``_get_next_click``: padding, ``not_clicked_map``, ``is_positive = fn_max_dist > fp_max_dist``).

    Returns ``((row, col), positive)``. Raises ``ValueError`` when the prediction is perfect or
    every error pixel has been clicked already.

    >>> target = np.zeros((5, 7), bool); target[1:4, 2:5] = True
    >>> next_click(np.zeros_like(target), target)          # nothing predicted: the centre, positive
    ((2, 3), True)
    >>> next_click(np.zeros_like(target), target, clicked=[(2, 3)])   # the centre was clicked: the next-deepest pixel
    ((1, 2), True)
    >>> pred = target.copy(); pred[:, :] = True            # everything predicted: a negative click
    >>> next_click(pred, target)[1]
    False
    """
    p = as_binary(pred, "pred", ndims=(2,))
    t = as_binary(target, "target", ndims=(2,))
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have the same shape, got {p.shape} and {t.shape}")
    fn, fp = t & ~p, p & ~t
    if not fn.any() and not fp.any():
        raise ValueError("pred equals target: there is no error left to click on")
    # pad with False so that the image border counts as the edge of an error region (RITM pads by 1 px too)
    d_fn = ndi.distance_transform_edt(np.pad(fn, 1))[1:-1, 1:-1]
    d_fp = ndi.distance_transform_edt(np.pad(fp, 1))[1:-1, 1:-1]
    done = _clicked_map(clicked, t.shape)
    if done is not None:  # RITM: fn_mask_dt * not_clicked_map -- a clicked pixel is never chosen again
        d_fn[done] = 0
        d_fp[done] = 0
    if d_fn.max() == 0 and d_fp.max() == 0:
        raise ValueError("every error pixel has been clicked already: there is no new pixel to click on")
    positive = bool(d_fn.max() > d_fp.max())  # RITM's tie rule: positive only if strictly deeper
    d = d_fn if positive else d_fp
    r, c = np.unravel_index(int(np.argmax(d)), d.shape)
    return (int(r), int(c)), positive


def _clicked_map(clicked: Any, shape: tuple[int, int]) -> np.ndarray | None:
    """``clicked`` (``None``, a list of ``(row, col)`` or a boolean map) as a boolean map of ``shape``, or ``None``."""
    if clicked is None:
        return None
    if isinstance(clicked, np.ndarray) and clicked.ndim == 2:
        done = as_binary(clicked, "clicked", ndims=(2,))
        if done.shape != tuple(shape):
            raise ValueError(f"clicked must have the shape of target {tuple(shape)}, got {done.shape}")
        return done
    done = np.zeros(shape, bool)
    for r, c in _points(clicked, "clicked", shape):
        done[r, c] = True
    return done


def number_of_clicks(ious: Sequence[float], threshold: float = 0.85, max_clicks: int = MAX_CLICKS) -> int:
    """NoC: the number of clicks after which IoU first reaches ``threshold``; ``max_clicks`` if never.

    ``ious[k]`` is the IoU after ``k + 1`` clicks. Only the first ``max_clicks`` entries count.

    >>> number_of_clicks([0.5, 0.86, 0.9], 0.85)
    2
    >>> number_of_clicks([0.5, 0.6], 0.85)         # never reached: the cap
    20
    """
    values = np.asarray(to_numpy(ious, "ious"), dtype=float).ravel()
    check_float(threshold, "threshold", lo=0, hi=1)
    max_clicks = check_int(max_clicks, "max_clicks", minimum=1)
    if np.isnan(values).any():
        raise ValueError("ious must not contain NaN (an empty object has no IoU)")
    reached = np.flatnonzero(values[:max_clicks] >= threshold)
    return int(reached[0]) + 1 if reached.size else max_clicks


def click_maps(positive: Sequence, negative: Sequence, shape: tuple[int, int], radius: int = CLICK_RADIUS) -> np.ndarray:
    """Two float32 maps of shape ``(2, H, W)``: disks of ``radius`` around the positive and the negative clicks.

    >>> m = click_maps([(2, 2)], [], (5, 5), radius=1)
    >>> m[0].astype(int).tolist()[1:4], float(m[1].sum())
    ([[0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0]], 0.0)
    """
    radius = check_int(radius, "radius", minimum=0)
    h, w = (check_int(int(s), "shape", minimum=1) for s in shape)
    out = np.zeros((2, h, w), np.float32)
    for k, clicks in enumerate((positive, negative)):
        pts = _points(clicks, "positive" if k == 0 else "negative", (h, w))
        if not pts:
            continue
        seeds = np.ones((h, w), bool)
        for r, c in pts:
            seeds[r, c] = False
        out[k] = ndi.distance_transform_edt(seeds) <= radius
    return out


def _points(clicks: Any, name: str, shape: tuple[int, int]) -> list[tuple[int, int]]:
    pts = []
    for p in list(clicks):
        if len(p) != 2:
            raise ValueError(f"{name} must be a list of (row, col) pairs, got {p!r}")
        r, c = int(p[0]), int(p[1])
        if not (0 <= r < shape[0] and 0 <= c < shape[1]):
            raise ValueError(f"{name} click {(r, c)} lies outside the image of shape {shape}")
        pts.append((r, c))
    return pts


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def simulate_clicks(predict: Predictor, image: np.ndarray, target: Any, max_clicks: int = MAX_CLICKS,
                    stop_at: float | None = None, keep_masks: bool = False) -> dict[str, Any]:
    """Run the simulated annotator against ``predict`` on one object.

    Click 1 goes to the centre of the object (:func:`next_click` of an empty prediction); each
    further click goes to the deepest error pixel of the last prediction that was not clicked
    before (:func:`next_click` with ``clicked``). Returns
    ``ious`` (IoU after each click), ``clicks`` (``((row, col), positive)`` in order),
    ``positive`` / ``negative`` (the clicks) and ``pred`` (the last mask); with ``keep_masks``
    also ``masks``, the mask after each click. With ``stop_at`` the run ends once IoU reaches it
    (fewer entries in ``ious``). A perfect mask is kept, and so is a mask whose every error pixel
    has been clicked already: the annotator stops clicking (``clicks`` is shorter than ``ious``).

    >>> t = np.zeros((16, 16), bool); t[4:12, 4:12] = True
    >>> disk = lambda img, pos, neg, prev: click_maps(pos, neg, img.shape, radius=4)[0] > 0  # a disk per positive click
    >>> run = simulate_clicks(disk, np.zeros((16, 16)), t, max_clicks=2)
    >>> [round(v, 2) for v in run["ious"]], run["clicks"]
    ([0.71, 0.71], [((7, 7), True), ((3, 7), False)])
    >>> simulate_clicks(lambda img, pos, neg, prev: t, np.zeros((16, 16)), t, max_clicks=3)["ious"]  # perfect at once
    [1.0, 1.0, 1.0]
    """
    t = as_binary(target, "target", ndims=(2,))
    if not t.any():
        raise ValueError("target is empty: there is no object to click on")
    max_clicks = check_int(max_clicks, "max_clicks", minimum=1)
    pos: list[tuple[int, int]] = []
    neg: list[tuple[int, int]] = []
    pred = np.zeros_like(t)
    prev = None
    ious: list[float] = []
    clicks: list[tuple[tuple[int, int], bool]] = []
    masks: list[np.ndarray] = []
    done = np.zeros(t.shape, bool)  # the pixels clicked so far (RITM's not_clicked_map, negated)
    for _ in range(max_clicks):
        stuck = ious and ((pred == t).all() or (done | ~(pred ^ t)).all())
        if stuck:  # perfect, or every error pixel clicked already: the annotator stops and keeps the mask
            ious.append(ious[-1])
            masks.append(pred)
            continue
        (r, c), positive = next_click(pred, t, clicked=done)
        done[r, c] = True
        (pos if positive else neg).append((r, c))
        clicks.append(((r, c), positive))
        pred = np.asarray(predict(image, list(pos), list(neg), prev), dtype=bool)
        prev = pred
        ious.append(_iou(pred, t))
        masks.append(pred)
        if stop_at is not None and ious[-1] >= stop_at:
            break
    out = {"ious": ious, "clicks": clicks, "positive": pos, "negative": neg, "pred": pred}
    if keep_masks:
        out["masks"] = masks
    return out


def noc_summary(curves: Sequence[Sequence[float]], max_clicks: int = MAX_CLICKS) -> dict[str, Any]:
    """NoC@85 and NoC@90 (mean, median, share never reached, NoF) and the mean IoU after 1, 3, 5 clicks.

    ``nof`` is RITM's NoF (number of failures): how many objects never reach the threshold within
    ``max_clicks`` clicks; ``never`` is the same as a share of the objects. (RITM's code counts the
    objects whose NoC equals the cap, which also counts an object first reached at the last click.)

    >>> s = noc_summary([[0.9, 0.95], [0.5, 0.86]], max_clicks=2)
    >>> s["noc85"], s["noc90"]["never"], s["noc90"]["nof"], s["iou_at"]["1"]
    ({'mean': 1.5, 'median': 1.5, 'never': 0.0, 'nof': 0, 'per_object': [1, 2]}, 0.5, 1, 0.7)
    """
    out: dict[str, Any] = {"n": len(curves)}
    for t in (85, 90):
        noc = [number_of_clicks(c, t / 100, max_clicks) for c in curves]
        never = [not (np.asarray(c[:max_clicks]) >= t / 100).any() for c in curves]
        out[f"noc{t}"] = {"mean": round(float(np.mean(noc)), 4), "median": float(np.median(noc)),
                          "never": round(float(np.mean(never)), 4), "nof": int(np.sum(never)), "per_object": noc}
    out["iou_at"] = {str(k): round(float(np.mean([c[min(k, len(c)) - 1] for c in curves])), 4)
                     for k in (1, 3, 5, 10, 20) if k <= max_clicks}
    out["mean_curve"] = [round(float(np.mean([c[min(k, len(c)) - 1] for c in curves])), 4) for k in range(1, max_clicks + 1)]
    return out


def in_largest_error_region(run: dict[str, Any], target: Any) -> list[bool]:
    """For clicks 2, 3, ... of a simulated run: is the click inside the largest error region before it?

    The error regions of the mask before click ``k`` are the 4-connected groups of missed pixels
    and of false pixels; the largest is the one with the most pixels (Xu et al. 2016 click at the
    centre of that region). ``run`` is a :func:`simulate_clicks` result made with
    ``keep_masks=True``. Returns one bool per click after the first.

    >>> t = np.zeros((12, 12), bool); t[2:10, 2:10] = True
    >>> grow = lambda img, pos, neg, prev: click_maps(pos, [], img.shape, radius=2 * len(pos))[0] > 0
    >>> run = simulate_clicks(grow, np.zeros((12, 12)), t, max_clicks=3, keep_masks=True)
    >>> in_largest_error_region(run, t)
    [True, True]
    """
    if not isinstance(run, dict) or "masks" not in run or "clicks" not in run:
        raise ValueError("run must be a simulate_clicks(...) result made with keep_masks=True (it needs 'masks' and 'clicks')")
    t = as_binary(target, "target", ndims=(2,))
    hits = []
    for k in range(1, len(run["clicks"])):
        prev = np.asarray(run["masks"][k - 1], bool)
        labels, sizes = [], []
        for err in (t & ~prev, prev & ~t):
            lab, n = ndi.label(err)
            labels.append(lab)
            sizes.append(np.bincount(lab.ravel(), minlength=n + 1)[1:])
        which = int(np.argmax([s.max() if s.size else -1 for s in sizes]))   # missed first: it wins a tie
        (r, c), _ = run["clicks"][k]
        hits.append(bool(labels[which][r, c] == int(np.argmax(sizes[which])) + 1))
    return hits


# -------------------------------------------------------------------------------- classical baselines
def _markers(shape: tuple[int, int], positive: Sequence, negative: Sequence, radius: int) -> np.ndarray:
    """1 = object seeds, 2 = background seeds (negative clicks and the image border), 0 = unknown."""
    maps = click_maps(positive, negative, shape, radius)
    markers = np.zeros(shape, np.int32)
    markers[[0, -1], :] = 2
    markers[:, [0, -1]] = 2
    markers[maps[1] > 0] = 2
    markers[maps[0] > 0] = 1
    return markers


def _grey(image: Any) -> np.ndarray:
    img = np.asarray(to_numpy(image, "image"), dtype=np.float32)
    if img.ndim == 3 and img.shape[-1] in (3, 4):
        img = img[..., :3].mean(-1)
    if img.ndim != 2:
        raise ValueError(f"image must be (H, W) grey or (H, W, 3) colour, got shape {img.shape}")
    if img.size and img.max() > 1.0:
        img = img / 255.0
    return img


def random_walker_predictor(beta: float = 130.0, radius: int = 1) -> Predictor:
    """A predictor that runs scikit-image's random walker seeded by the clicks.

    Positive clicks seed the object, negative clicks and the image border seed the background;
    each unknown pixel takes the seed its random walk reaches first with the higher probability
    (Grady 2006); ``beta`` sets how strongly an intensity edge stops the walk.

    >>> img = np.zeros((20, 20), np.float32); img[5:15, 5:15] = 1
    >>> mask = random_walker_predictor()(img, [(10, 10)], [], None)
    >>> int(mask.sum())
    100
    """
    from skimage.segmentation import random_walker

    beta = check_float(beta, "beta", lo=0, lo_open=True)

    def predict(image: Any, positive: Sequence, negative: Sequence, previous: Any = None) -> np.ndarray:
        img = _grey(image)
        if not list(positive):
            return np.zeros(img.shape, bool)
        markers = _markers(img.shape, positive, negative, radius)
        with warnings.catch_warnings():  # "probability range outside [0, 1]" within the solver's tolerance
            warnings.simplefilter("ignore")
            return random_walker(img, markers, beta=beta, mode="cg_j", tol=1e-3) == 1

    return predict


def watershed_predictor(radius: int = 1) -> Predictor:
    """A predictor that floods the Sobel gradient of the image from the clicks (marker watershed).

    >>> img = np.zeros((20, 20), np.float32); img[5:15, 5:15] = 1
    >>> int(watershed_predictor()(img, [(10, 10)], [], None).sum())  # the four corner pixels go to the background
    96
    """
    from skimage.filters import sobel
    from skimage.segmentation import watershed

    def predict(image: Any, positive: Sequence, negative: Sequence, previous: Any = None) -> np.ndarray:
        img = _grey(image)
        if not list(positive):
            return np.zeros(img.shape, bool)
        return watershed(sobel(img), _markers(img.shape, positive, negative, radius)) == 1

    return predict


# ------------------------------------------------------------------------------------- the click UNet
def click_model(width: int = 8, seed: int = 0) -> TinyUNet:
    """A :class:`TinyUNet` for clicks: 4 inputs (grey image, positive map, negative map, previous mask), 2 outputs.

    >>> click_model().config["in_channels"]
    4
    """
    torch.manual_seed(check_seed(seed))
    return TinyUNet(in_channels=4, num_classes=2, width=check_int(width, "width", minimum=1))


def _inputs(images: np.ndarray, pos_maps: np.ndarray, neg_maps: np.ndarray, prev: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack([images, pos_maps, neg_maps, prev], 1).astype(np.float32))


def _pad_to(img: np.ndarray, step: int = 8) -> tuple[np.ndarray, tuple[int, int]]:
    h, w = img.shape
    ph, pw = (-h) % step, (-w) % step
    return np.pad(img, ((0, ph), (0, pw))), (h, w)


def click_predictor(model: torch.nn.Module, radius: int = CLICK_RADIUS) -> Predictor:
    """A predictor (the click widget's signature) backed by a click-conditioned model.

    The model sees the grey image, the click maps (:func:`click_maps`) and the previous mask (zeros
    before the first click); images whose sides are not multiples of 8 are zero-padded.

    >>> predict = click_predictor(click_model(width=4))
    >>> predict(np.zeros((20, 20)), [(5, 5)], [], None).shape
    (20, 20)
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch module (e.g. load_click_model()), got {type(model).__name__}")

    def predict(image: Any, positive: Sequence, negative: Sequence, previous: Any = None) -> np.ndarray:
        img = _grey(image)
        maps = click_maps(positive, negative, img.shape, radius)
        prev = np.zeros(img.shape, np.float32) if previous is None else np.asarray(previous, np.float32)
        chans = [_pad_to(a)[0] for a in (img, maps[0], maps[1], prev)]
        model.eval()
        with torch.no_grad():
            logits = model(torch.from_numpy(np.stack(chans)[None].astype(np.float32)))
        return (logits[0, 1] > logits[0, 0]).numpy()[: img.shape[0], : img.shape[1]]

    return predict


def _random_inside(target: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """A random pixel of the object, away from its border (the inner half of its distance transform)."""
    d = ndi.distance_transform_edt(np.pad(target, 1))[1:-1, 1:-1]
    inner = np.argwhere(d >= max(1.0, 0.5 * d.max()))
    r, c = inner[rng.integers(len(inner))]
    return int(r), int(c)


def train_click_model(model: torch.nn.Module, images: np.ndarray, targets: np.ndarray, steps: int = 300,
                      batch_size: int = 32, lr: float = 3e-3, seed: int = 0, max_corrections: int = 3,
                      progress: bool = True, sample_weights: Any = None) -> dict[str, Any]:
    """Train a click model with simulated clicks (RITM's iterative scheme); returns the loss history.

    Each sample gets a first positive click at a random pixel inside its object; then, for
    0..``max_corrections`` rounds drawn at random, the model (without gradients) predicts, the
    simulated annotator adds a corrective click (:func:`next_click`) and the prediction becomes
    the previous-mask input. The step's loss is the cross-entropy of the model's answer to the
    last clicks. Random flips and quarter turns; Adam with a cosine-decayed learning rate.
    ``sample_weights`` (one per image, any positive scale) makes some images more likely in a
    batch, e.g. half nuclei and half synthetic objects when fine-tuning (against forgetting).

    >>> imgs = np.zeros((4, 16, 16), np.float32); t = np.zeros((4, 16, 16), bool); t[:, 4:12, 4:12] = True
    >>> hist = train_click_model(click_model(width=4), imgs, t, steps=2, batch_size=2, progress=False)
    >>> len(hist["loss"])
    2
    """
    images = np.asarray(images, np.float32)
    targets = np.asarray(targets, bool)
    if images.ndim != 3 or images.shape != targets.shape:
        raise ValueError(f"images and targets must be (N, H, W) of the same shape, got {images.shape} and {targets.shape}")
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_float(lr, "lr", lo=0, lo_open=True)
    rng = np.random.default_rng(check_seed(seed))
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    bar = range(steps)
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(bar, desc="click model", unit="step")
    hist: dict[str, list] = {"loss": []}
    start = time.perf_counter()
    n = len(images)
    prob = None
    if sample_weights is not None:
        w = np.asarray(to_numpy(sample_weights, "sample_weights"), float).ravel()
        if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"sample_weights must be {n} non-negative numbers (one per image) with a positive sum, "
                             f"got shape {w.shape}")
        prob = w / w.sum()
    for _ in bar:
        idx = rng.integers(0, n, batch_size) if prob is None else rng.choice(n, batch_size, p=prob)
        k = rng.integers(0, 4, batch_size)
        flip = rng.random(batch_size) < 0.5
        img = np.stack([np.rot90(np.flip(images[i], 1) if f else images[i], kk) for i, kk, f in zip(idx, k, flip)])
        tgt = np.stack([np.rot90(np.flip(targets[i], 1) if f else targets[i], kk) for i, kk, f in zip(idx, k, flip)])
        pos = [[_random_inside(t, rng)] for t in tgt]
        neg: list[list] = [[] for _ in tgt]
        prev = np.zeros(tgt.shape, np.float32)
        rounds = rng.integers(0, max_corrections + 1, batch_size)
        for r in range(int(rounds.max())):
            model.eval()
            maps = np.stack([click_maps(p, q, t.shape) for p, q, t in zip(pos, neg, tgt)])
            with torch.no_grad():
                logits = model(_inputs(img, maps[:, 0], maps[:, 1], prev))
            pred = (logits[:, 1] > logits[:, 0]).numpy()
            for j in np.flatnonzero(rounds > r):
                if (pred[j] == tgt[j]).all():
                    continue
                if not (np.asarray(pred[j]) ^ tgt[j]).any():
                    continue
                try:
                    (rr, cc), positive = next_click(pred[j], tgt[j], clicked=pos[j] + neg[j])
                except ValueError:  # every error pixel clicked already
                    continue
                (pos[j] if positive else neg[j]).append((rr, cc))
                prev[j] = pred[j]
        model.train()
        maps = np.stack([click_maps(p, q, t.shape) for p, q, t in zip(pos, neg, tgt)])
        logits = model(_inputs(img, maps[:, 0], maps[:, 1], prev))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(tgt.astype(np.int64)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        hist["loss"].append(round(loss.item(), 5))
    model.eval()
    hist["train_seconds"] = round(time.perf_counter() - start, 1)
    return hist


# ------------------------------------------------------------------------------------------- the data
def _crop_at(image: np.ndarray, mask: np.ndarray, centre: tuple[float, float], cols: tuple[int, int],
             size: int = CROP) -> tuple[np.ndarray, np.ndarray]:
    """The size×size window centred on ``centre``, shifted to stay inside rows 0..H and columns ``cols``."""
    h = image.shape[0]
    r0 = int(np.clip(round(centre[0]) - size // 2, 0, h - size))
    c0 = int(np.clip(round(centre[1]) - size // 2, cols[0], cols[1] - size))
    return image[r0:r0 + size, c0:c0 + size].copy(), mask[r0:r0 + size, c0:c0 + size].copy()


def synthetic_objects(n: int = 100, seed: int = 7000) -> tuple[np.ndarray, np.ndarray]:
    """``n`` grey 64×64 images of touching synthetic cells and one object's mask in each (the cell with id 1).

    >>> imgs, masks = synthetic_objects(3)
    >>> imgs.shape, masks.dtype
    ((3, 64, 64), dtype('bool'))
    """
    d = sdata.touching_cells(check_int(n, "n", minimum=1), seed=check_seed(seed), radius=(7.0, 13.0), num_cells=(3, 7))
    return d.images.mean(-1).astype(np.float32), d.instances == 1


def _nuclei_region(side: str, info: bool = False) -> Any:
    image, labels = sdata.nuclei_image(normalize=True)
    cols = (0, 256) if side == "left" else (256, 512)
    imgs, masks = [], []
    where: dict[str, list] = {"rows": [], "cols": [], "corner": [], "touching": []}
    for i in np.unique(labels)[1:]:
        rr, cc = np.nonzero(labels == i)
        # nuclei of this half only, at least 1 px from the image's border and the middle line (a nucleus
        # 1 px from the border can still be one the border cut: border_cut_nuclei lists those, and they
        # are kept; lesson 06 counts how much they change its table)
        if cc.min() < cols[0] + 1 or cc.max() > cols[1] - 2 or rr.min() < 1 or rr.max() > 510 or len(rr) < 30:
            continue
        if info:
            box = labels[max(rr.min() - 1, 0):rr.max() + 2, max(cc.min() - 1, 0):cc.max() + 2]
            ring = ndi.binary_dilation(box == i, np.ones((3, 3), bool)) & (box != i)
            where["rows"].append((rr.min(), rr.max()))
            where["cols"].append((cc.min(), cc.max()))
            centre = (round(rr.mean()) - CROP // 2, round(cc.mean()) - CROP // 2)
            where["corner"].append((int(np.clip(centre[0], 0, image.shape[0] - CROP)),
                                    int(np.clip(centre[1], cols[0], cols[1] - CROP))))
            where["touching"].append(bool((box[ring] > 0).any()))
            continue
        img, m = _crop_at(image, labels == i, (rr.mean(), cc.mean()), cols)
        imgs.append(img)
        masks.append(m)
    if info:
        return {**{k: np.array(v, dtype=bool if k == "touching" else int) for k, v in where.items()},
                "shape": np.array(image.shape[:2])}
    return imgs, masks


def nuclei_object_info(region: str = "right") -> dict[str, np.ndarray]:
    """Where each object of :func:`nuclei_objects` lies in the full image, in the same order.

    Returns ``rows`` and ``cols`` (first and last image row / column of the nucleus, shape (n, 2)),
    ``corner`` (the crop's top-left pixel in the image, (n, 2)), ``touching`` (True where the
    nucleus shares an edge or a corner with another annotated nucleus, (n,)) and ``shape`` (the
    image's height and width).

    >>> info = nuclei_object_info("right")
    >>> info["cols"].shape[1], bool((info["cols"][:, 0] >= 256).all()), info["touching"].dtype
    (2, True, dtype('bool'))
    """
    if region not in ("left", "right"):
        raise ValueError(f"region must be 'left' (training) or 'right' (test), got {region!r}")
    return _nuclei_region(region, info=True)  # type: ignore[return-value]


def border_cut_nuclei(region: str = "right") -> dict[str, Any]:
    """The nuclei of :func:`nuclei_objects` that the image's border seems to cut (lesson 06's border forensics).

    The loader keeps every nucleus at least 1 px from the border. For each one that comes exactly
    1 px from an edge, compare the image's grey on the border line just beyond the nucleus's pixels
    with the halfway point between the nucleus's mean grey and the background's median grey. A
    nucleus is **cut** when the grey beyond it is brighter than halfway *and* that border line
    holds fewer than 10 annotated pixels (the annotation stops 1 px short of that border, so a
    nucleus running past it was drawn only up to there). A bright border line that is annotated
    (10 or more labelled pixels) is taken as the nucleus's end: a judgement, not a proof.

    Parameters
    ----------
    region : ``"right"`` (the test nuclei) or ``"left"`` (the training nuclei).

    Returns
    -------
    dict with ``border_annotated`` (labelled pixels on the image's ``top`` / ``bottom`` / ``left``
    / ``right`` line), ``background`` (the median grey of unlabelled pixels), ``near`` (one dict
    per nucleus 1 px from an edge: ``nucleus``, ``edge``, ``on_line`` (its pixels on the line 1 px
    inside), ``beyond`` / ``inside`` (mean grey beyond the edge / of the whole nucleus), ``bright``,
    ``cut``) and ``cut`` (the indices of the cut nuclei, in :func:`nuclei_objects` order).

    Examples
    --------
    >>> border_cut_nuclei("right")["cut"]
    [21, 24]
    >>> border_cut_nuclei("middle")
    Traceback (most recent call last):
    ...
    ValueError: region must be 'left' (training) or 'right' (test), got 'middle'
    """
    if region not in ("left", "right"):
        raise ValueError(f"region must be 'left' (training) or 'right' (test), got {region!r}")
    image, labels = sdata.nuclei_image(normalize=True)
    info = _nuclei_region(region, info=True)
    h, w = labels.shape
    lines = {"top": (np.s_[0, :], np.s_[1, :]), "bottom": (np.s_[h - 1, :], np.s_[h - 2, :]),
             "left": (np.s_[:, 0], np.s_[:, 1]), "right": (np.s_[:, w - 1], np.s_[:, w - 2])}
    border = {edge: int((labels[out] > 0).sum()) for edge, (out, _) in lines.items()}
    background = float(np.median(image[labels == 0]))
    near, cut = [], []
    for i, ((r0, r1), (c0, c1)) in enumerate(zip(info["rows"], info["cols"])):
        close = {"top": r0 == 1, "bottom": r1 == h - 2, "left": c0 == 1, "right": c1 == w - 2}
        for edge in (e for e, is_close in close.items() if is_close):
            ids, counts = np.unique(labels[r0:r1 + 1, c0:c1 + 1], return_counts=True)
            whole = labels == ids[1:][np.argmax(counts[1:])]                # the nucleus in the full image
            out, inside = lines[edge]
            on_line = whole[inside]
            beyond, grey = float(image[out][on_line].mean()), float(image[whole].mean())
            bright = beyond > (background + grey) / 2
            is_cut = bool(bright and border[edge] < 10)
            near.append({"nucleus": i, "edge": edge, "on_line": int(on_line.sum()), "beyond": beyond,
                         "inside": grey, "bright": bool(bright), "cut": is_cut})
            if is_cut:
                cut.append(i)
    return {"border_annotated": border, "background": background, "near": near, "cut": cut}


def nuclei_objects(region: str = "right") -> tuple[np.ndarray, np.ndarray]:
    """64×64 crops around each whole nucleus of one half of the real image, and its mask.

    ``"left"`` is lesson 04's training region (fine-tuning), ``"right"`` the test region; a crop
    never reaches across the middle. Nuclei with a pixel on the image's outermost rows or columns
    or next to the middle line, and slivers under 30 px, are left out; a nucleus 1 px from the border
    is kept, although the border may still cut it (:func:`border_cut_nuclei` lists those).

    >>> imgs, masks = nuclei_objects("right")
    >>> imgs.shape[1:], bool(masks.any(axis=(1, 2)).all())
    ((64, 64), True)
    """
    if region not in ("left", "right"):
        raise ValueError(f"region must be 'left' (training) or 'right' (test), got {region!r}")
    imgs, masks = _nuclei_region(region)
    return np.stack(imgs), np.stack(masks)


def coins_objects(scale: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """64×64 crops of the coins photo (scaled by ``scale``), one coin each, with its mask.

    The coin masks are made as in lesson 04: Sobel edges, a marker watershed (dark < 30,
    bright > 150) and hole filling; then connected components.

    >>> imgs, masks = coins_objects()
    >>> len(imgs), imgs.shape[1:]
    (24, (64, 64))
    """
    from skimage.filters import sobel
    from skimage.segmentation import watershed
    from skimage.transform import rescale

    coins = sdata.coins_image()
    markers = np.zeros(coins.shape, np.int32)
    markers[coins < 30] = 1
    markers[coins > 150] = 2
    fg = ndi.binary_fill_holes(watershed(sobel(coins), markers) == 2)
    labels, _ = ndi.label(fg)
    sizes = np.bincount(labels.ravel())
    keep = [i for i in range(1, len(sizes)) if sizes[i] > 200]
    img = rescale(coins / 255.0, scale, anti_aliasing=True).astype(np.float32)
    lab = rescale(labels, scale, order=0, preserve_range=True, anti_aliasing=False).astype(np.int32)
    img = np.pad(img, CROP // 2, mode="edge")
    lab = np.pad(lab, CROP // 2)
    out_i, out_m = [], []
    for i in keep:
        rr, cc = np.nonzero(lab == i)
        a, m = _crop_at(img, lab == i, (rr.mean(), cc.mean()), (0, img.shape[1]))
        out_i.append(a)
        out_m.append(m)
    return np.stack(out_i), np.stack(out_m)


# ------------------------------------------------------------------------------------ shipped model + CLI
RECIPE: dict[str, Any] = dict(width=8, synthetic_n=2000, synthetic_seed=1000, steps=400, batch_size=32, lr=3e-3,
                              finetune_steps=300, finetune_lr=1e-3, finetune_mix=0.5, seed=0, max_corrections=3)


def load_click_model(stage: str = "fine-tuned") -> TinyUNet:
    """The shipped click model (weights checked against the card's sha256), in eval mode.

    ``stage="fine-tuned"`` (the default) is the model after fine-tuning on the training nuclei;
    ``"synthetic only"`` the same model before, trained on synthetic objects only.

    >>> model = load_click_model()
    >>> model.config["in_channels"], model.card["recipe"]["width"]
    (4, 8)
    """
    from .models import _CARD_FIX, pretrained

    if stage not in ("fine-tuned", "synthetic only"):
        raise ValueError(f"stage must be 'fine-tuned' or 'synthetic only', got {stage!r}")
    model = pretrained("clicks")
    if stage == "synthetic only":
        info = model.card["synthetic_only"]
        path = WEIGHTS_DIR / info["weights"]
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != info["sha256"]:
            raise ValueError(f"the weights file {path} is missing or does not match its card's sha256; {_CARD_FIX}")
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def load_click_model_from(folder: Path, stage: str) -> TinyUNet:
    """A click model from ``folder`` (``clicks.json`` and its weights), for the CLI's later steps."""
    card = json.loads((Path(folder) / "clicks.json").read_text())
    model = TinyUNet(**card["model"])
    name = "clicks.pt" if stage == "fine-tuned" else "clicks_synthetic_only.pt"
    model.load_state_dict(torch.load(Path(folder) / name, map_location="cpu", weights_only=True))
    return model.eval()


def evaluate_methods(methods: dict[str, Predictor], sets: dict[str, tuple[np.ndarray, np.ndarray]],
                     max_clicks: int = MAX_CLICKS, progress: bool = False,
                     keep_runs: bool = False) -> dict[str, dict[str, Any]]:
    """Simulate the annotator for every method on every object; ``{set: {method: noc_summary}}``.

    With ``keep_runs`` each summary also holds ``runs``: every object's :func:`simulate_clicks`
    result, masks included.

    >>> t = np.zeros((16, 16), bool); t[4:12, 4:12] = True
    >>> res = evaluate_methods({"box": lambda img, pos, neg, prev: t}, {"one": (np.zeros((1, 16, 16)), t[None])},
    ...                        max_clicks=2, keep_runs=True)
    >>> res["one"]["box"]["noc85"]["mean"], len(res["one"]["box"]["runs"][0]["masks"])
    (1.0, 2)
    """
    out: dict[str, dict[str, Any]] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=sum(len(m) for _, m in sets.values()) * len(methods), desc="simulated annotator", unit="object")
    for set_name, (imgs, masks) in sets.items():
        out[set_name] = {}
        for name, predict in methods.items():
            runs = []
            for im, m in zip(imgs, masks):
                runs.append(simulate_clicks(predict, im, m, max_clicks, keep_masks=keep_runs))
                if bar is not None:
                    bar.update()
            out[set_name][name] = noc_summary([r["ious"] for r in runs], max_clicks)
            if keep_runs:
                out[set_name][name]["runs"] = runs
    if bar is not None:
        bar.close()
    return out


def _env() -> dict[str, Any]:
    from .experiments import _cpu_name

    return {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "device": "cpu", "device_name": f"CPU ({_cpu_name()}, {torch.get_num_threads()} threads)"}


def _write_card(out: Path, model: torch.nn.Module | None, card: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if model is not None:
        tmp = out / "clicks.pt.tmp"
        torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
        os.replace(tmp, out / "clicks.pt")
    card["sha256"] = hashlib.sha256((out / "clicks.pt").read_bytes()).hexdigest()
    if (out / "clicks_synthetic_only.pt").is_file():
        card["synthetic_only"] = {"weights": "clicks_synthetic_only.pt",
                                  "sha256": hashlib.sha256((out / "clicks_synthetic_only.pt").read_bytes()).hexdigest()}
    tmp = out / "clicks.json.tmp"
    tmp.write_text(json.dumps(card, indent=1) + "\n")
    os.replace(tmp, out / "clicks.json")


def train_shipped(out: Path, recipe: dict[str, Any] = RECIPE) -> dict[str, Any]:
    """Train on synthetic objects, then fine-tune on the left-half nuclei; write ``clicks.pt`` / ``clicks.json``."""
    r = recipe
    imgs, masks = synthetic_objects(r["synthetic_n"], r["synthetic_seed"])
    model = click_model(r["width"], r["seed"])
    t0 = time.process_time()
    h1 = train_click_model(model, imgs, masks, r["steps"], r["batch_size"], r["lr"], r["seed"], r["max_corrections"])
    synthetic_only = copy.deepcopy(model)
    li, lm = nuclei_objects("left")
    # fine-tuning batches mix the nuclei with the synthetic objects (a share finetune_mix of each batch, on
    # average, is synthetic): fine-tuning on nuclei alone made the model forget the synthetic objects
    mix = r.get("finetune_mix", 0.0)
    w = np.r_[np.full(len(li), (1 - mix) / len(li)), np.full(len(imgs), mix / len(imgs))]
    h2 = train_click_model(model, np.concatenate([li, imgs]), np.concatenate([lm, masks]), r["finetune_steps"],
                           r["batch_size"], r["finetune_lr"], r["seed"] + 1, r["max_corrections"], sample_weights=w)
    cpu = round(time.process_time() - t0, 1)
    card = {"name": "clicks", "weights": "clicks.pt", "model": dict(model.config), "recipe": dict(r),
            "parameters": sum(p.numel() for p in model.parameters()),
            "data": {"synthetic": f"synthetic_objects({r['synthetic_n']}, seed={r['synthetic_seed']})",
                     "finetune": f"nuclei_objects('left'): {len(li)} whole nuclei of the left half (lesson 04's training region), "
                                 f"mixed with the synthetic objects: on average a share {mix} of each batch is synthetic"},
            "inputs": ["grey image", "positive clicks (disks of radius 3)", "negative clicks", "previous mask"],
            "training": {"synthetic_seconds": h1["train_seconds"], "finetune_seconds": h2["train_seconds"],
                         "cpu_seconds": cpu, "final_loss": [h1["loss"][-1], h2["loss"][-1]], **_env()},
            "command": "python -m segcourse.interactive train --threads 1 --out segcourse/weights", "recorded": datetime.date.today().isoformat()}
    out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.contiguous() for k, v in synthetic_only.state_dict().items()}, out / "clicks_synthetic_only.pt.tmp")
    os.replace(out / "clicks_synthetic_only.pt.tmp", out / "clicks_synthetic_only.pt")
    _write_card(out, model, card)
    return card


LOOP: dict[str, Any] = dict(rounds=4, per_round=8, steps=40, batch_size=16, lr=1e-3, target_iou=0.85, seeds=(0, 1, 2))


def proposal_entropy(model: torch.nn.Module, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Mean per-pixel entropy (bits) of the model's answer to one click at each object's centre.

    The uncertainty score of :func:`annotation_loop`: for each object, ``p`` = the model's
    probability of "object" at every pixel after one positive click at the object's deepest pixel
    (zero previous mask), and the mean of ``-(p log2 p + (1 - p) log2 (1 - p))`` over the crop
    (0 bits where the model is sure, 1 bit at ``p = 0.5``).

    >>> model = click_model(width=2, seed=0)
    >>> m = np.zeros((1, 16, 16), bool); m[0, 4:12, 4:12] = True
    >>> e = proposal_entropy(model.eval(), np.zeros((1, 16, 16), np.float32), m)
    >>> e.shape, bool(0 <= e[0] <= 1)
    ((1,), True)
    """
    first = [next_click(np.zeros_like(m), m)[0] for m in masks]
    maps = np.stack([click_maps([c], [], m.shape) for c, m in zip(first, masks)])
    with torch.no_grad():
        prob = torch.softmax(model(_inputs(images, maps[:, 0], maps[:, 1], np.zeros(masks.shape, np.float32))), 1)[:, 1]
    p = prob.clamp(1e-6, 1 - 1e-6)
    return (-(p * p.log2() + (1 - p) * (1 - p).log2())).mean((1, 2)).numpy()


_proposal_entropy = proposal_entropy  # the old, private name


def annotation_loop(strategy: str, seed: int, model: torch.nn.Module, pool: tuple[np.ndarray, np.ndarray],
                    heldout: tuple[np.ndarray, np.ndarray], loop: dict[str, Any] = LOOP) -> dict[str, Any]:
    """The model proposes, the simulated annotator corrects, the model is fine-tuned; repeat.

    Each round picks ``per_round`` objects of the unlabelled ``pool`` -- the most uncertain ones
    (highest mean entropy of the one-click proposal) or random ones -- and the annotator clicks
    each until IoU ``target_iou`` (cap 20); the mask it ends with becomes the label, or the true mask
    where 20 clicks did not reach ``target_iou`` (the annotator draws it by hand). The model is
    then fine-tuned on all labels so far. Returns the clicks spent and the held-out mean IoU after
    one click (and mean NoC@85) after each round; round 0 is the model before any annotation.
    """
    if strategy not in ("uncertainty", "random"):
        raise ValueError(f"strategy must be 'uncertainty' or 'random', got {strategy!r}")
    rng = np.random.default_rng(check_seed(seed))
    model = copy.deepcopy(model).eval()
    images, masks = pool
    unlabelled = list(range(len(images)))
    labelled_img: list[np.ndarray] = []
    labelled_mask: list[np.ndarray] = []
    spent = 0

    def heldout_score() -> dict[str, float]:
        curves = [simulate_clicks(click_predictor(model), im, m, max_clicks=MAX_CLICKS, stop_at=loop["target_iou"])["ious"]
                  for im, m in zip(*heldout)]
        return {"iou_1": round(float(np.mean([c[0] for c in curves])), 4),
                "noc85": round(float(np.mean([number_of_clicks(c, loop["target_iou"]) for c in curves])), 4)}

    rows = [{"round": 0, "clicks": 0, "labelled": 0, **heldout_score()}]
    for r in range(1, loop["rounds"] + 1):
        if strategy == "uncertainty":
            ent = proposal_entropy(model, images[unlabelled], masks[unlabelled])
            chosen = [unlabelled[i] for i in np.argsort(-ent, kind="stable")[: loop["per_round"]]]
        else:
            chosen = [unlabelled[i] for i in rng.choice(len(unlabelled), loop["per_round"], replace=False)]
        for i in chosen:
            run = simulate_clicks(click_predictor(model), images[i], masks[i], stop_at=loop["target_iou"])
            spent += len(run["clicks"])
            labelled_img.append(images[i])
            # the annotator's last mask is the label; where 20 clicks did not reach the target IoU the
            # annotator outlines the object by hand instead (the true mask), and those 20 clicks are spent
            labelled_mask.append(run["pred"] if run["ious"][-1] >= loop["target_iou"] else masks[i])
            unlabelled.remove(i)
        train_click_model(model, np.stack(labelled_img), np.stack(labelled_mask), loop["steps"], loop["batch_size"],
                          loop["lr"], seed * 100 + r, progress=False)
        rows.append({"round": r, "clicks": spent, "labelled": len(labelled_img), **heldout_score()})
    return {"strategy": strategy, "seed": seed, "rows": rows}


def _loop_task(task: tuple[str, int, str, int]) -> dict[str, Any]:
    """One annotation-loop run of ``main`` (also in a worker process)."""
    strategy, seed, folder, threads = task
    torch.set_num_threads(threads)
    run = annotation_loop(strategy, seed, load_click_model_from(Path(folder), "synthetic only"), nuclei_objects("left"),
                          nuclei_objects("right"))
    print(json.dumps(run), flush=True)
    return run


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m segcourse.interactive", description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["train", "evaluate", "loop"])
    p.add_argument("--out", type=Path, default=Path("segcourse_models"),
                   help="folder of clicks.pt / clicks.json (default ./segcourse_models; the shipped ones: segcourse/weights)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--synthetic-n", type=int, default=100, help="synthetic objects to evaluate on")
    p.add_argument("--jobs", type=int, default=1, help="loop: runs in parallel processes")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.command == "train":
        card = train_shipped(a.out)
        print(json.dumps(card["training"]))
        return
    card = json.loads((a.out / "clicks.json").read_text())
    model = load_click_model_from(a.out, "fine-tuned")
    if a.command == "evaluate":
        synth_only = load_click_model_from(a.out, "synthetic only")
        methods = {"random walker": random_walker_predictor(), "marker watershed": watershed_predictor(),
                   "click UNet, synthetic only": click_predictor(synth_only.eval()),
                   "click UNet, fine-tuned": click_predictor(model.eval())}
        sets = {"synthetic": synthetic_objects(a.synthetic_n), "nuclei (test half)": nuclei_objects("right"),
                "coins": coins_objects()}
        t0 = time.perf_counter()
        evaluation = {"max_clicks": MAX_CLICKS, "command": "python -m segcourse.interactive evaluate",
                      "results": evaluate_methods(methods, sets, progress=True),
                      "wall_seconds": round(time.perf_counter() - t0, 1), **_env()}
        card = json.loads((a.out / "clicks.json").read_text())  # re-read: `loop` may have written its part meanwhile
        card["evaluation"] = evaluation
        _write_card(a.out, None, card)
        for s, res in card["evaluation"]["results"].items():
            for m, v in res.items():
                print(f"{s:20s} {m:28s} NoC@85 {v['noc85']['mean']:5.2f} (median {v['noc85']['median']:g}, never "
                      f"{v['noc85']['never']:.0%}, NoF@85 {v['noc85']['nof']})  NoC@90 {v['noc90']['mean']:5.2f}  IoU@1/3/5 "
                      f"{v['iou_at']['1']:.2f}/{v['iou_at']['3']:.2f}/{v['iou_at']['5']:.2f}")
        return
    t0 = time.perf_counter()
    tasks = [(strategy, seed, str(a.out), a.threads) for seed in LOOP["seeds"] for strategy in ("uncertainty", "random")]
    if a.jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(a.jobs) as pool:
            runs = pool.map(_loop_task, tasks, chunksize=1)
    else:
        runs = [_loop_task(t) for t in tasks]
    card = json.loads((a.out / "clicks.json").read_text())  # re-read: `evaluate` may have written its part meanwhile
    card["annotation_loop"] = {"setup": {**LOOP, "start": "click UNet, synthetic only", "pool": "nuclei_objects('left')",
                                         "heldout": "nuclei_objects('right')"},
                               "command": f"python -m segcourse.interactive loop --jobs {a.jobs}", "runs": runs,
                               "wall_seconds": round(time.perf_counter() - t0, 1), **_env()}
    _write_card(a.out, None, card)


if __name__ == "__main__":
    main()


# ----------------------------------------------------------------------------- runs as a recorded history
def runs_to_history(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The runs of ``evaluate_methods(..., keep_runs=True)`` as plain JSON values, masks packed.

    Each run keeps its IoUs and clicks as lists and its masks as one string (the boolean masks
    packed 8 to a byte, zlib-compressed, base64), so a lesson can record them with
    ``experiments.recorded_or_run``; :func:`runs_from_history` restores them exactly.

    >>> t = np.zeros((16, 16), bool); t[4:12, 4:12] = True
    >>> res = evaluate_methods({"box": lambda img, pos, neg, prev: t}, {"one": (np.zeros((1, 16, 16)), t[None])},
    ...                        max_clicks=2, keep_runs=True)
    >>> hist = runs_to_history(res)
    >>> sorted(hist["one"]["box"][0]), hist["one"]["box"][0]["clicks"]
    (['clicks', 'ious', 'masks', 'shape'], [[7, 7, True]])
    """
    import base64
    import zlib

    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for set_name, by_method in results.items():
        out[set_name] = {}
        for name, summary in by_method.items():
            if "runs" not in summary:
                raise ValueError(f"{set_name!r}/{name!r} has no runs: evaluate with keep_runs=True")
            rows = []
            for run in summary["runs"]:
                if "masks" not in run:
                    raise ValueError("each run needs its masks: evaluate with keep_runs=True")
                masks = np.asarray(run["masks"], bool)
                rows.append({"ious": [float(v) for v in run["ious"]],
                             "clicks": [[int(r), int(c), bool(p)] for (r, c), p in run["clicks"]],
                             "shape": list(masks.shape),
                             "masks": base64.b64encode(zlib.compress(np.packbits(masks).tobytes(), 9)).decode("ascii")})
            out[set_name][name] = rows
    return out


def runs_from_history(history: dict[str, dict[str, list[dict[str, Any]]]],
                      max_clicks: int = MAX_CLICKS) -> dict[str, dict[str, Any]]:
    """Undo :func:`runs_to_history`: ``{set: {method: noc_summary + runs}}``, as ``evaluate_methods`` returns it.

    Every run gets back ``ious``, ``clicks`` (``((row, col), positive)``), ``positive``, ``negative``,
    ``masks`` and ``pred`` (the last mask); the summaries are recomputed from the IoUs.

    >>> t = np.zeros((16, 16), bool); t[4:12, 4:12] = True
    >>> res = evaluate_methods({"box": lambda img, pos, neg, prev: t}, {"one": (np.zeros((1, 16, 16)), t[None])},
    ...                        max_clicks=2, keep_runs=True)
    >>> back = runs_from_history(runs_to_history(res), max_clicks=2)
    >>> back["one"]["box"]["noc85"] == res["one"]["box"]["noc85"], bool((back["one"]["box"]["runs"][0]["pred"] == t).all())
    (True, True)
    >>> back["one"]["box"]["runs"][0]["clicks"]
    [((7, 7), True)]
    """
    import base64
    import zlib

    out: dict[str, dict[str, Any]] = {}
    for set_name, by_method in history.items():
        out[set_name] = {}
        for name, rows in by_method.items():
            runs = []
            for row in rows:
                shape = tuple(int(v) for v in row["shape"])
                bits = np.frombuffer(zlib.decompress(base64.b64decode(row["masks"])), np.uint8)
                masks = np.unpackbits(bits, count=int(np.prod(shape))).astype(bool).reshape(shape)
                clicks = [((int(r), int(c)), bool(p)) for r, c, p in row["clicks"]]
                runs.append({"ious": [float(v) for v in row["ious"]], "clicks": clicks,
                             "positive": [rc for rc, p in clicks if p], "negative": [rc for rc, p in clicks if not p],
                             "pred": masks[-1], "masks": list(masks)})
            out[set_name][name] = noc_summary([r["ious"] for r in runs], max_clicks) | {"runs": runs}
    return out


__all__ += ["runs_to_history", "runs_from_history"]


# ----------------------------------------------------------------------------- recorded runs, forced clicks
def recorded_click_runs(name: str, methods: dict[str, Predictor], sets: dict[str, tuple[np.ndarray, np.ndarray]],
                        max_clicks: int = MAX_CLICKS, directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """Every object's simulated-annotator run, as recorded when the course was built (masks included).

    One call for ``runs_from_history(experiments.recorded_or_run(name, lambda: runs_to_history(
    evaluate_methods(methods, sets, max_clicks, keep_runs=True))), max_clicks)``: the methods run
    only when the course is built with ``--record``; otherwise the recorded runs are read back.

    Parameters
    ----------
    name : the recorded run's name, ``"NN_words"`` (e.g. ``"06_nuclei_runs"``).
    methods : method name -> ``predict(image, positive, negative, previous_mask) -> mask``.
    sets : set name -> ``(images, masks)``.
    max_clicks : clicks per object.
    directory : where the runs lie (default: the package's ``results/runs``).

    Returns
    -------
    dict
        ``{set: {method: noc_summary + runs}}``, as :func:`evaluate_methods` with ``keep_runs=True``.

    Examples
    --------
    >>> import tempfile
    >>> from segcourse import experiments
    >>> folder = tempfile.mkdtemp()
    >>> t = np.zeros((1, 16, 16), bool); t[0, 4:12, 4:12] = True
    >>> box = {"box": lambda img, pos, neg, prev: t[0]}
    >>> os.environ[experiments.RECORD_ENV] = "1"           # what ``build NN --record`` sets
    >>> rec = recorded_click_runs("09_box", box, {"one": (np.zeros((1, 16, 16)), t)}, 2, folder)
    >>> del os.environ[experiments.RECORD_ENV]
    >>> back = recorded_click_runs("09_box", {}, {}, 2, folder)   # read back: nothing runs
    >>> back["one"]["box"]["noc85"]["mean"], back["one"]["box"]["runs"][0]["clicks"]
    (1.0, [((7, 7), True)])
    """
    from . import experiments

    if not isinstance(name, str) or not name[:2].isdigit():
        raise ValueError(f"name must be a recorded run's name 'NN_words', got {name!r}")
    if not isinstance(methods, dict) or not isinstance(sets, dict):
        raise TypeError(f"methods and sets must be dicts, got {type(methods).__name__} and {type(sets).__name__}")
    max_clicks = check_int(max_clicks, "max_clicks", minimum=1)
    history = experiments.recorded_or_run(
        name, lambda: runs_to_history(evaluate_methods(methods, sets, max_clicks, keep_runs=True)), directory)
    return runs_from_history(history, max_clicks)


def pasted_predictor(predict: Predictor, radius: int = 0) -> Predictor:
    """``predict`` forced to obey its clicks: the clicks pasted into its mask after every call.

    Every pixel within ``radius`` of a positive click becomes object, then every pixel within
    ``radius`` of a negative click background (``radius=0``: the clicked pixels only; the click
    UNet's own input disks have radius :data:`CLICK_RADIUS`).

    Parameters
    ----------
    predict : ``predict(image, positive, negative, previous_mask) -> mask``.
    radius : the pasted disk's radius in px (0 or more).

    Returns
    -------
    callable
        A predictor with the same signature.

    Examples
    --------
    >>> empty = lambda img, pos, neg, prev: np.zeros(img.shape, bool)
    >>> int(pasted_predictor(empty)(np.zeros((5, 5)), [(2, 2)], [], None).sum())   # the clicked pixel
    1
    >>> pasted_predictor(empty, radius=1)(np.zeros((5, 5)), [(2, 2)], [(2, 3)], None).astype(int)[1:4, 1:4]
    array([[0, 1, 0],
           [1, 0, 0],
           [0, 1, 0]])
    >>> pasted_predictor(empty, radius=-1)
    Traceback (most recent call last):
    ...
    ValueError: radius must be at least 0, got -1
    """
    if not callable(predict):
        raise TypeError(f"predict must be a function predict(image, positive, negative, previous), got {predict!r}")
    radius = check_int(radius, "radius", minimum=0)

    def pasted(image: Any, positive: Sequence, negative: Sequence, previous: Any = None) -> np.ndarray:
        mask = np.asarray(predict(image, positive, negative, previous), bool)
        maps = click_maps(positive, negative, mask.shape, radius=radius)
        return (mask | (maps[0] > 0)) & ~(maps[1] > 0)

    return pasted


__all__ += ["recorded_click_runs", "pasted_predictor"]


# ------------------------------------------------------------------ lesson 06's analysis helpers
def contradicted(run: dict[str, Any]) -> list[bool]:
    """For each click of a run: does the mask right after it contradict it?

    A positive click is contradicted when its pixel lies outside the next mask, a negative click
    when it lies inside. ``run`` is a :func:`simulate_clicks` result made with ``keep_masks=True``.

    Parameters
    ----------
    run : dict with ``clicks`` (``((row, col), positive)`` in order) and ``masks`` (one per click).

    Returns
    -------
    list of bool, one per click.

    Examples
    --------
    >>> m = np.zeros((4, 4), bool); m[1, 1] = True
    >>> contradicted({"clicks": [((1, 1), True), ((1, 1), False), ((2, 2), True)], "masks": [m, m, m]})
    [False, True, True]
    >>> contradicted({"clicks": []})
    Traceback (most recent call last):
    ...
    ValueError: run must be a simulate_clicks(...) result made with keep_masks=True (it needs 'clicks' and 'masks'), got the keys ['clicks']
    """
    if not isinstance(run, dict) or "masks" not in run or "clicks" not in run:
        keys = sorted(run) if isinstance(run, dict) else type(run).__name__
        raise ValueError("run must be a simulate_clicks(...) result made with keep_masks=True "
                         f"(it needs 'clicks' and 'masks'), got the keys {keys}")
    return [bool(np.asarray(mask)[tuple(rc)]) != bool(positive)
            for (rc, positive), mask in zip(run["clicks"], run["masks"])]


def shift_band(truth: Any) -> np.ndarray:
    """The 1-px-shift band: the pixels a 1-px shift of the outline of ``truth``, out or in, can flip.

    ``binary_dilation(truth) & ~binary_erosion(truth)`` with ndimage's default 4-connected cross.

    Parameters
    ----------
    truth : 2-D bool (or 0/1) mask of one object.

    Returns
    -------
    numpy.ndarray of bool, the mask's shape.

    Examples
    --------
    >>> t = np.zeros((7, 7), bool); t[2:5, 2:5] = True
    >>> shift_band(t).astype(int)[1:6, 1:6]
    array([[0, 1, 1, 1, 0],
           [1, 1, 1, 1, 1],
           [1, 1, 0, 1, 1],
           [1, 1, 1, 1, 1],
           [0, 1, 1, 1, 0]])
    >>> shift_band(np.full((3, 3), 2))
    Traceback (most recent call last):
    ...
    ValueError: truth is not a binary mask: it holds the values [2]. shift_band takes one object's 0/1 (or bool) mask
    """
    t = as_binary(truth, "truth", ndims=(2,), hint="shift_band takes one object's 0/1 (or bool) mask")
    return ndi.binary_dilation(t) & ~ndi.binary_erosion(t)


def tolerant_iou(pred: Any, truth: Any) -> float:
    """IoU without the pixels a 1-px shift of the true outline (out or in, 4-connected) can flip.

    The pixels of :func:`shift_band` of ``truth`` are left out of both intersection and union, so
    an outline moved by 1 px scores 1.0. NaN when nothing is left to score.

    Parameters
    ----------
    pred, truth : 2-D bool (or 0/1) masks of one shape: a predicted mask and the true object.

    Returns
    -------
    float

    Examples
    --------
    >>> t = np.zeros((9, 9), bool); t[2:7, 2:7] = True
    >>> from scipy import ndimage
    >>> tolerant_iou(ndimage.binary_dilation(t), t), tolerant_iou(ndimage.binary_erosion(t), t)
    (1.0, 1.0)
    >>> tolerant_iou(np.zeros((9, 9), bool), t)
    0.0
    >>> tolerant_iou(np.zeros((8, 8), bool), t)
    Traceback (most recent call last):
    ...
    ValueError: pred and truth must have one shape, got (8, 8) and (9, 9)
    """
    p, t = as_binary(pred, "pred", ndims=(2,)), as_binary(truth, "truth", ndims=(2,))
    if p.shape != t.shape:
        raise ValueError(f"pred and truth must have one shape, got {p.shape} and {t.shape}")
    keep = ~shift_band(t)
    union = ((p | t) & keep).sum()
    return float(((p & t) & keep).sum() / union) if union else float("nan")


def zoomed(predict: Predictor, mask: Any, half: int = 16) -> Predictor:
    """``predict`` run on a 2x enlarged window of ``2 * half`` px around ``mask``'s object, shrunk back.

    A naive version of RITM's zoom-in: the window is centred on the object (moved inside the
    image where needed), each pixel becomes a 2x2 block, the clicks inside the window are moved
    to the enlarged window's coordinates, and the answer is shrunk back by a 2x2 majority vote.
    Outside the window the mask is background. (RITM zooms to the box of the current mask.)

    Parameters
    ----------
    predict : ``predict(image, positive, negative, previous_mask) -> mask``.
    mask : 2-D bool mask of the object, used only to place the window.
    half : half the window's side in px (at least 1; the window must fit in the image).

    Returns
    -------
    callable
        A predictor with the same signature.

    Examples
    --------
    >>> t = np.zeros((16, 16), bool); t[6:9, 6:9] = True
    >>> disk = lambda img, pos, neg, prev: click_maps(pos, neg, img.shape, radius=2)[0] > 0
    >>> int(disk(np.zeros((16, 16)), [(7, 7)], [], None).sum())       # a radius-2 disk
    13
    >>> int(zoomed(disk, t, half=4)(np.zeros((16, 16)), [(7, 7)], [], None).sum())   # half as wide
    3
    >>> zoomed(disk, t, half=9)
    Traceback (most recent call last):
    ...
    ValueError: half must fit the image: a window of 18 px in a (16, 16) mask, got half=9
    """
    if not callable(predict):
        raise TypeError(f"predict must be a function predict(image, positive, negative, previous), got {predict!r}")
    m = as_binary(mask, "mask", ndims=(2,))
    if not m.any():
        raise ValueError("mask is empty: there is no object to zoom on")
    half = check_int(half, "half", minimum=1)
    if 2 * half > min(m.shape):
        raise ValueError(f"half must fit the image: a window of {2 * half} px in a {m.shape} mask, got half={half}")
    rr, cc = np.nonzero(m)
    r0, c0 = (int(np.clip(round(v.mean()) - half, 0, n - 2 * half)) for v, n in zip((rr, cc), m.shape))
    win = np.s_[r0:r0 + 2 * half, c0:c0 + 2 * half]

    def enlarge(a: np.ndarray) -> np.ndarray:       # each pixel of the window becomes a 2x2 block
        return np.kron(np.asarray(a)[win], np.ones((2, 2), np.asarray(a).dtype))

    def inside(clicks: Sequence) -> list[tuple[int, int]]:
        return [(2 * (r - r0), 2 * (c - c0)) for r, c in clicks if 0 <= r - r0 < 2 * half and 0 <= c - c0 < 2 * half]

    def predict_zoomed(image: Any, positive: Sequence, negative: Sequence, previous: Any = None) -> np.ndarray:
        big = predict(enlarge(image), inside(positive), inside(negative), None if previous is None else enlarge(previous))
        out = np.zeros(np.shape(image), bool)
        out[win] = np.asarray(big, float).reshape(2 * half, 2, 2 * half, 2).mean((1, 3)) >= 0.5
        return out

    return predict_zoomed


def corrective_sample(model: torch.nn.Module, image: Any, target: Any, first: tuple[int, int]) -> dict[str, Any]:
    """One training sample with one corrective round, as :func:`train_click_model` builds it.

    The model answers a first positive click (no gradients); the simulated annotator adds a
    corrective click where that answer is wrong (:func:`next_click`); the answer becomes the
    previous-mask input, and the loss scores the model's answer to both clicks.

    Parameters
    ----------
    model : a click model (:func:`click_model`, :func:`load_click_model`).
    image : 2-D grey crop, sides multiples of 8.
    target : 2-D bool mask of the object, the image's shape.
    first : ``(row, col)`` of the first, positive click.

    Returns
    -------
    dict
        ``first_pred`` (the answer to click 1), ``click`` (``((row, col), positive)``, the
        corrective click), ``pred`` (the answer to both clicks), ``pixel_loss`` (per-pixel
        cross-entropy of that answer, nats) and ``loss`` (its mean: the sample's loss).

    Examples
    --------
    >>> t = np.zeros((16, 16), bool); t[4:12, 4:12] = True
    >>> s = corrective_sample(click_model(width=4), np.zeros((16, 16)), t, (8, 8))
    >>> s["pixel_loss"].shape, round(float(s["pixel_loss"].mean()), 5) == round(s["loss"], 5)
    ((16, 16), True)
    >>> corrective_sample(click_model(width=4), np.zeros((16, 16)), t, (0, 0))
    Traceback (most recent call last):
    ...
    ValueError: first must be a positive click inside the target, got (0, 0)
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch module (e.g. load_click_model()), got {type(model).__name__}")
    img = _grey(image)
    t = as_binary(target, "target", ndims=(2,))
    if t.shape != img.shape:
        raise ValueError(f"target must have the image's shape {img.shape}, got {t.shape}")
    r, c = (int(v) for v in first)
    if not (0 <= r < t.shape[0] and 0 <= c < t.shape[1]) or not t[r, c]:
        raise ValueError(f"first must be a positive click inside the target, got {tuple(first)}")
    predict = click_predictor(model)
    first_pred = predict(img, [(r, c)], [], None)
    click, positive = next_click(first_pred, t, clicked=[(r, c)])
    pos, neg = [(r, c)] + [click] * positive, [click] * (not positive)
    maps = click_maps(pos, neg, t.shape)
    model.eval()
    with torch.no_grad():
        logits = model(_inputs(img[None], maps[None, 0], maps[None, 1], first_pred[None].astype(np.float32)))
        pixel = torch.nn.functional.cross_entropy(logits, torch.from_numpy(t[None].astype(np.int64)), reduction="none")
    return {"first_pred": first_pred, "click": (click, positive), "pred": (logits[0, 1] > logits[0, 0]).numpy(),
            "pixel_loss": pixel[0].numpy(), "loss": float(pixel.mean())}


__all__ += ["contradicted", "shift_band", "tolerant_iou", "zoomed", "corrective_sample"]
