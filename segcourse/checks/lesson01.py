"""Learner checks of lesson 01, semantic segmentation.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import metrics
from ._core import _array, _close, _number, _plain, learner_check
from ._refuse import LIBRARY, Watch

__all__ = ["check_median_frequency_weights", "check_weighted_cross_entropy", "check_aligned_flip",
           "check_worst_confusions"]


def _show(value: Any) -> str:
    """A number as a learner reads it: ``0.5``, ``nan``, ``inf``, never ``np.float64(0.5)``."""
    value = float(value)
    return str(value) if not np.isfinite(value) else f"{round(value, 4):g}"


def _shows(values: Any) -> str:
    return "[" + ", ".join(_show(v) for v in np.ravel(values)) + "]"


# ------------------------------------------------------------------------ median frequency weights
def _frequencies(label_maps: Any, k: int, ignore_index: int) -> np.ndarray:
    lm = np.asarray(label_maps).ravel()
    counts = np.bincount(lm[lm != ignore_index].astype(np.int64), minlength=k)[:k]
    return counts / counts.sum()


def _median_frequency(label_maps: Any, k: int, ignore_index: int = 255) -> tuple[np.ndarray, np.ndarray]:
    freq = _frequencies(label_maps, k, ignore_index)
    present = freq > 0
    return freq, np.where(present, np.median(freq[present]) / np.where(present, freq, 1.0), 0.0)


#: Two 3×4 maps, K = 5: pixel counts 10, 6, 3, 1 for classes 0..3, none of class 4, and 4 pixels of 255.
MFW_MAPS = np.array([[[0, 0, 0, 0], [0, 0, 1, 1], [255, 2, 1, 3]],
                     [[0, 0, 0, 0], [1, 1, 1, 255], [255, 2, 2, 255]]], dtype=np.uint8)


def _pair(raw: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The learner's ``(frequencies, weights)``, or an AssertionError that says what came back instead."""
    if isinstance(raw, (tuple, list)) and len(raw) == 2:
        freq = _array(raw[0], "median_frequency_weights' frequencies").astype(float)
        weights = _array(raw[1], "median_frequency_weights' weights").astype(float)
    else:
        got = _array(raw, "median_frequency_weights")
        if got.ndim == 2 and got.shape[0] == 2:          # np.stack([freq, weights])
            return got[0].astype(float), got[1].astype(float)
        raise AssertionError(f"return two arrays, (frequencies, weights); yours is one array of shape {got.shape}. "
                             f"The check needs your frequencies too: median(f) / f is the same whatever the "
                             f"frequencies are divided by, so only the frequencies show what you counted.")
    for name, arr in (("frequencies", freq), ("weights", weights)):
        if arr.shape == (256,) or (arr.ndim == 1 and arr.size > k):
            raise AssertionError(f"you returned {arr.size} {name} for {k} classes: 255 is the ignore label, not a "
                                 f"class. Drop those pixels first (label_maps[label_maps != ignore_index]), then "
                                 f"np.bincount(..., minlength=num_classes)")
        if arr.shape != (k,):
            raise AssertionError(f"return one of each per class, shape ({k},); your {name} have shape {arr.shape}. "
                                 f"A class with no pixels still has an entry: np.bincount(..., minlength=num_classes)")
    return freq, weights


@learner_check
def check_median_frequency_weights(median_frequency_weights: Callable) -> None:
    """Check ``median_frequency_weights(label_maps, num_classes, ignore_index=255)`` -> ``(frequencies, weights)``.

    A class's frequency is its share of the pixels that are not ``ignore_index`` (so the
    frequencies sum to 1); its weight is the median frequency of the classes that occur divided by
    its own; a class with no pixels gets weight 0. An answer that calls ``segcourse`` (or
    ``sklearn``'s ``compute_class_weight``) is refused once its numbers are right.

    >>> check_median_frequency_weights(lambda label_maps, num_classes, ignore_index=255:
    ...                                (np.zeros(num_classes), np.zeros(num_classes)))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: frequency of a class = its pixels / the pixels that are not 255, ...
    """
    call = Watch(LIBRARY + (("sklearn.utils", {"compute_class_weight"}),))
    lm, k = MFW_MAPS, 5
    want_f, want = _median_frequency(lm, k)
    freq, got = _pair(call(median_frequency_weights, lm.copy(), k, 255, what="median_frequency_weights"), k)
    counts = np.bincount(lm[lm != 255].astype(np.int64), minlength=k)
    if not np.allclose(freq, want_f, atol=1e-6):
        n_void, n_all = int((lm == 255).sum()), lm.size
        if np.allclose(freq, counts / n_all, atol=1e-6):
            hint = (f"your frequencies sum to {_show(freq.sum())}, not 1: the {n_void} pixels labelled 255 (the "
                    f"ignore label) are in your denominator. They belong to no class: divide the counts by the "
                    f"{n_all - n_void} pixels that are not ignore_index, not by all {n_all}.")
        elif np.allclose(freq, want, atol=1e-6) and np.allclose(got, want_f, atol=1e-6):
            hint = "you returned (weights, frequencies): return them the other way round, (frequencies, weights)."
        elif np.allclose(freq, counts, atol=1e-6):
            hint = f"those are pixel counts; a frequency is a share: divide by the {counts.sum()} labelled pixels."
        else:
            hint = "frequency of a class = its pixels / the pixels that are not 255, counted over the whole batch."
        raise AssertionError(f"{hint} Two 3×4 maps with pixel counts 10, 6, 3, 1, 0 (and 4 pixels of 255) have "
                             f"frequencies {_shows(want_f)}; yours are {_shows(freq)}.")
    if not np.isfinite(got[4]) or got[4] != 0:
        raise AssertionError(f"class 4 has no pixels: your weight is {_show(got[4])}. There is nothing to up-weight "
                             f"(and 1/0 would give inf): give an absent class weight 0")
    if not np.allclose(got, want, atol=1e-6):
        present = want_f > 0
        inverse = np.where(present, 1 / np.where(present, want_f, 1), 0)
        all_median = np.where(present, np.median(want_f) / np.where(present, want_f, 1), 0)
        if np.allclose(got, all_median, atol=1e-6):
            hint = ("you took the median over all 5 classes, the absent one's 0 included; take it over the classes "
                    "that occur (f > 0).")
        elif got[0] != 0 and np.allclose(got[:4] / got[0], inverse[:4] / inverse[0]):
            hint = ("your weights are inverse frequency (1 / f, the lesson's formula) scaled differently. Median "
                    "frequency balancing divides the MEDIAN frequency by each class's: w = median(f) / f, so a "
                    "class of median frequency gets weight 1.")
        else:
            hint = ("weight = median of the frequencies of the classes that occur / the class's frequency.")
        raise AssertionError(f"for two 3×4 maps with pixel counts 10, 6, 3, 1, 0 (and 4 pixels of 255) expected "
                             f"weights {_shows(want)}, got {_shows(got)}: {hint}")
    rng = np.random.default_rng(4)
    for _ in range(8):
        k = int(rng.integers(2, 8))
        maps = rng.integers(0, k, (2, 9, 9)).astype(np.uint8)
        maps[rng.random(maps.shape) < 0.1] = 255
        want_f, want = _median_frequency(maps, k)
        freq, got = _pair(call(median_frequency_weights, maps, k, 255, what="median_frequency_weights"), k)
        if not (np.allclose(freq, want_f, atol=1e-6) and np.allclose(got, want, atol=1e-6)):
            raise AssertionError(f"on random uint8 label maps (K = {k}, some pixels 255) expected frequencies "
                                 f"{_shows(want_f)} and weights {_shows(want)}, got {_shows(freq)} and {_shows(got)}")
    call.refuse("median_frequency_weights")
    print("check_median_frequency_weights: all cases pass")


# ---------------------------------------------------------------------------- weighted cross-entropy
def _torch_ce(logits: Any, target: Any, weights: Any, ignore_index: int = 255) -> float:
    import torch

    return float(torch.nn.functional.cross_entropy(
        torch.as_tensor(np.asarray(logits, np.float64)), torch.as_tensor(np.asarray(target, np.int64)),
        weight=torch.as_tensor(np.asarray(weights, np.float64)), ignore_index=ignore_index))


def _ce_variants(logits: np.ndarray, target: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """Typical wrong averages of the per-pixel losses, by name."""
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    keep = target != 255
    t = np.where(keep, target, 0).astype(np.int64)
    nll = -np.take_along_axis(logp, t[:, None], 1)[:, 0][keep]
    w = np.asarray(weights, float)[t[keep]]
    every = np.asarray(weights, float)[t]   # the weight of every pixel, an ignored one's through its stand-in class 0
    return {"count": float((w * nll).sum() / keep.sum()), "unweighted": float(nll.mean()),
            "all pixels": float((w * nll).sum() / every.sum())}


#: One 2×3 image, K = 3, one pixel labelled 255 (the top-right corner).
CE_LOGITS = np.array([[[[2.0, -1.0, 0.5], [0.2, 1.5, -0.3]],
                       [[0.1, 0.8, 3.0], [1.0, -0.5, 0.4]],
                       [[-1.0, 0.3, 0.2], [2.2, 0.0, 1.1]]]])
CE_TARGET = np.array([[[0, 1, 255], [2, 0, 1]]])
CE_WEIGHTS = np.array([1.0, 2.0, 0.5])


@learner_check
def check_weighted_cross_entropy(weighted_cross_entropy: Callable) -> None:
    """Check ``weighted_cross_entropy(logits, target, class_weights, ignore_index=255)`` against torch.

    The value of ``torch.nn.functional.cross_entropy(logits, target, weight=class_weights,
    ignore_index=255)``: the weighted mean of ``-log softmax(logits)[true class]`` over the pixels
    not labelled ``ignore_index``, divided by the sum of their weights.

    The answer is the learner's numpy: one that calls torch's ``cross_entropy`` or ``nll_loss``
    (``nn.CrossEntropyLoss`` calls the first) or ``segcourse`` is refused once its numbers are right.

    >>> check_weighted_cross_entropy(lambda logits, target, w, ignore_index=255: 0.0)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: on a 2×3 image without ignored pixels (K = 3, weights [1, 2, 0.5]) torch ...
    """
    call = Watch(LIBRARY + (("torch.nn.functional", {"cross_entropy", "nll_loss"}),))
    logits, target, weights = CE_LOGITS, CE_TARGET, CE_WEIGHTS
    clean = np.where(target == 255, 0, target)
    want = _torch_ce(logits, clean, weights)
    got = _number(call(weighted_cross_entropy, logits, clean, weights, 255, what="weighted_cross_entropy"),
                  "weighted_cross_entropy")
    if not _close(got, want, 1e-6):
        variants = _ce_variants(logits, clean, weights)
        if _close(got, variants["unweighted"], 1e-6):
            hint = "that is the unweighted mean: multiply each pixel's loss by the weight of its TRUE class."
        elif _close(got, variants["count"], 1e-6):
            hint = ("you divided by the number of pixels. torch's weighted mean divides by the sum of the weights "
                    "of the pixels: sum(w[t] * loss) / sum(w[t]).")
        else:
            hint = "per pixel: loss = -log(softmax(logits over axis 1)[true class]); then the weighted mean."
        raise AssertionError(f"on a 2×3 image without ignored pixels (K = 3, weights [1, 2, 0.5]) torch gives "
                             f"{_show(want)}, yours is {_show(got)}: {hint}")
    want = _torch_ce(logits, target, weights)
    try:
        got = _number(call(weighted_cross_entropy, logits, target, weights, 255, what="weighted_cross_entropy"),
                      "weighted_cross_entropy")
    except AssertionError as exc:
        if "crashed" not in str(exc):
            raise
        raise AssertionError(f"{exc}\nThe pixel labelled 255 is not a class: select the pixels with "
                             f"target != ignore_index before you index the log-probabilities or the weights.") from None
    if not _close(got, want, 1e-6):
        variants = _ce_variants(logits, target, weights)
        if _close(got, variants["all pixels"], 1e-6):
            hint = ("the ignored pixel still counts in your denominator. Ignored pixels take no part at all: "
                    "neither in the sum of losses nor in the sum of weights.")
        elif _close(got, variants["count"], 1e-6):
            hint = "divide by the sum of the weights of the counted pixels, not by how many there are."
        else:
            hint = "drop the pixels whose target is 255, then take the weighted mean of the others."
        raise AssertionError(f"with one pixel labelled 255 torch gives {_show(want)}, yours is {_show(got)}: {hint}")
    big = logits * 400.0
    want = _torch_ce(big, target, weights)
    got = _number(call(weighted_cross_entropy, big, target, weights, 255, what="weighted_cross_entropy"),
                  "weighted_cross_entropy")
    if not _close(got, want, 1e-6 * max(1.0, abs(want))):
        raise AssertionError(f"with logits 400 times larger torch gives {_show(want)}, yours is {_show(got)}: "
                             f"exp(1200) overflows. Subtract each pixel's largest logit before exp "
                             f"(log-sum-exp), or use scipy.special.log_softmax.")
    rng = np.random.default_rng(6)
    for _ in range(6):
        k = int(rng.integers(2, 6))
        t = rng.integers(0, k, (2, 5, 6))
        t[rng.random(t.shape) < 0.15] = 255
        t[0, 0, 0] = 0
        z = rng.normal(0, 2, (2, k, 5, 6))
        w = rng.uniform(0.2, 5, k)
        want = _torch_ce(z, t, w)
        got = _number(call(weighted_cross_entropy, z, t, w, 255, what="weighted_cross_entropy"), "weighted_cross_entropy")
        if not _close(got, want, 1e-6 * max(1.0, abs(want))):
            raise AssertionError(f"on random logits (K = {k}, a batch of 2, some pixels 255) torch gives "
                                 f"{_show(want)}, yours is {_show(got)}")
    call.refuse("weighted_cross_entropy")
    print("check_weighted_cross_entropy: all cases pass")


@learner_check
def check_aligned_flip(flip_pair: Callable) -> None:
    """Check ``flip_pair(image, label_map)``: a horizontal flip of both, still aligned.

    The answer may be numpy arrays or torch tensors (float32 is fine: images are compared to
    1e-6).

    An answer that calls ``segcourse`` (``data.augment``) is refused once its result is right.

    >>> check_aligned_flip(lambda img, lm: (np.zeros_like(img), np.zeros_like(lm)))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: the result is not a horizontal flip of both image and mask
    """
    call = Watch(LIBRARY)
    rng = np.random.default_rng(0)
    lm = rng.integers(0, 4, (6, 8))
    img = np.stack([lm / 4.0, rng.random((6, 8)), rng.random((6, 8))], -1)  # channel 0 encodes the class
    out = call(flip_pair, img.copy(), lm.copy(), what="flip_pair")
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
    call.refuse("flip_pair")
    print("check_aligned_flip: all cases pass")


# ------------------------------------------------------------------------------ worst confusions
def _rates(cm: Any, by: str = "row") -> np.ndarray:
    """``cm[i, j]`` divided by its row sum (``by="row"``), column sum or the total; 0 where that is 0."""
    cm = np.asarray(cm, float)
    total = {"row": cm.sum(1, keepdims=True), "column": cm.sum(0, keepdims=True), "all": np.full_like(cm, cm.sum())}[by]
    total = np.broadcast_to(total, cm.shape)
    return np.divide(cm, total, out=np.zeros_like(cm), where=total > 0)


def _ranked(values: np.ndarray, top: int, diagonal: bool = False, skip_rows: Any = ()) -> list[tuple[int, int, float]]:
    """The ``top`` largest cells of ``values`` (off the diagonal unless ``diagonal``), largest first."""
    cells = [(i, j) for i in range(values.shape[0]) for j in range(values.shape[1])
             if (diagonal or i != j) and i not in skip_rows]
    cells.sort(key=lambda ij: -values[ij])
    return [(i, j, float(values[i, j])) for i, j in cells[:top]]


def _worst_confusions(cm: Any, top: int = 3) -> list[tuple[int, int, float]]:
    cm = np.asarray(cm)
    return _ranked(_rates(cm), top, skip_rows=set(np.flatnonzero(cm.sum(1) == 0).tolist()))


def _triples(raw: Any, top: int) -> list[tuple[int, int, float]]:
    """The learner's list of ``(true, predicted, rate)``, or an AssertionError that says what came back."""
    raw = _plain(raw)
    if isinstance(raw, np.ndarray):
        raw = raw.tolist()
    if not isinstance(raw, (list, tuple)) or not all(isinstance(t, (list, tuple, np.ndarray)) and len(t) == 3 for t in raw):
        raise AssertionError(f"return a list of (true class, predicted class, rate) triples, largest rate first; "
                             f"yours is {type(raw).__name__}" + (f" {raw!r:.80}" if not isinstance(raw, (list, tuple)) else ""))
    if len(raw) != top:
        raise AssertionError(f"with top={top} return {top} triples; yours has {len(raw)}")
    out = []
    for i, j, r in raw:
        try:
            out.append((int(i), int(j), float(_plain(r))))
        except (TypeError, ValueError):
            raise AssertionError(f"each triple is (int, int, float): true class, predicted class, rate; got "
                                 f"({i!r}, {j!r}, {r!r})") from None
    return out


def _fmt(triples: list[tuple[int, int, float]]) -> str:
    return "[" + ", ".join(f"({i}, {j}, {_show(r)})" for i, j, r in triples) + "]"


#: K = 4, rows = truth. Largest count: 1 -> 2 (120 pixels of 1,000); largest row rate: 3 -> 1 (30 of 50,
#: 0.6); largest column rate (a share of a predicted class): 1 -> 2 (120 of 127). Class 2 has no pixels.
WC_CM = np.array([[800, 10, 0, 40],
                  [60, 800, 120, 20],
                  [0, 0, 0, 0],
                  [3, 30, 7, 10]])


def _same_ranking(got: list[tuple[int, int, float]], cm: np.ndarray, want: list[tuple[int, int, float]]) -> bool:
    """Same rates in the same order, each the rate of an off-diagonal cell it names (ties in any order)."""
    rates, rows = _rates(cm), np.asarray(cm).sum(1)
    return (np.allclose([r for *_, r in got], [r for *_, r in want], atol=1e-6)
            and len({(i, j) for i, j, _ in got}) == len(got)
            and all(0 <= i < len(cm) and 0 <= j < len(cm) and i != j and rows[i] > 0 and abs(rates[i, j] - r) < 1e-6
                    for i, j, r in got))


@learner_check
def check_worst_confusions(worst_confusions: Callable) -> None:
    """Check ``worst_confusions(cm, top=3)``: the ``top`` largest off-diagonal rates of a confusion matrix.

    ``cm[i, j]`` counts pixels of true class ``i`` predicted as ``j``; the rate of a cell is
    ``cm[i, j] / cm[i].sum()`` (the share of class ``i``'s pixels called ``j``). Return a list of
    ``(i, j, rate)``, largest rate first, skipping the diagonal and the classes with no true pixels.
    An answer that calls ``segcourse`` is refused once its numbers are right.

    >>> check_worst_confusions(lambda cm, top=3: [(0, 0, 0.0)] * top)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: on the 4×4 matrix ... the 3 largest rates are ...
    """
    call = Watch(LIBRARY)
    cm, top = WC_CM, 3
    want = _worst_confusions(cm, top)
    got = _triples(call(worst_confusions, cm.copy(), top, what="worst_confusions"), top)
    pairs = [(i, j) for i, j, _ in got]
    if not _same_ranking(got, cm, want):
        by_count = _ranked(cm.astype(float), top)
        if any(i == j for i, j in pairs):
            hint = (f"your list holds the diagonal cell ({pairs[[i == j for i, j in pairs].index(True)][0]}, "
                    f"{pairs[[i == j for i, j in pairs].index(True)][0]}): the diagonal counts the pixels that are right. "
                    f"A confusion is off the diagonal, i != j.")
        elif pairs == [(i, j) for i, j, _ in by_count]:
            hint = ("you ranked the cells by pixel count. Class 1 has 1,000 pixels and class 3 only 50: 30 of 50 "
                    "(0.6) is a worse confusion than 120 of 1,000 (0.12). Divide each row by its sum first.")
        elif pairs == [(i, j) for i, j, _ in _ranked(_rates(cm, "column"), top)]:
            hint = ("you divided by the column sums: that is the share of the PREDICTED class's pixels. The rate of "
                    "a confusion is a share of the TRUE class (the row): cm[i, j] / cm[i].sum().")
        elif pairs == [(i, j) for i, j, _ in want[::-1]]:
            hint = "your list is in the wrong order: largest rate first."
        elif pairs == [(i, j) for i, j, _ in want] and np.allclose([r for *_, r in got],
                                                                     [_rates(cm, "all")[i, j] for i, j in pairs]):
            hint = "your rates are shares of all pixels; divide by the row sum, the pixels of the true class."
        else:
            hint = "rate = cm[i, j] / cm[i].sum(), off the diagonal, largest first."
        raise AssertionError(f"on the 4×4 matrix {cm.tolist()} (rows = truth) the {top} largest rates are {_fmt(want)}, "
                             f"yours are {_fmt(got)}: {hint}")
    # a class with no true pixels (row 2 here, and row 0 below) is skipped, never a NaN and never a crash
    rng = np.random.default_rng(8)
    for _ in range(6):
        k = int(rng.integers(3, 7))
        cm = rng.choice(400, (k, k), replace=False) + np.diag(rng.integers(500, 5000, k))
        cm[int(rng.integers(0, k))] = 0
        top = int(rng.integers(1, k))
        want = _worst_confusions(cm, top)
        got = _triples(call(worst_confusions, cm.copy(), top, what="worst_confusions"), top)
        if any(not np.isfinite(r) for *_, r in got):
            raise AssertionError(f"your rates include {_fmt(got)}: a class with no true pixels (its row sums to 0) has "
                                 f"no rates; skip that row instead of dividing 0 by 0")
        if not _same_ranking(got, cm, want):
            raise AssertionError(f"on a random {k}×{k} matrix with top={top} expected {_fmt(want)}, got {_fmt(got)}")
    call.refuse("worst_confusions")
    print("check_worst_confusions: all cases pass")
