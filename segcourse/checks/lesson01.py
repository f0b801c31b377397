"""Learner checks of lesson 01, semantic segmentation.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import metrics
from ._core import _array, _close, _number, learner_check
from ._refuse import LIBRARY, Watch

__all__ = ["check_median_frequency_weights", "check_weighted_cross_entropy", "check_aligned_flip",
           "check_crop_resize_pair", "check_block_mean_camera", "check_effect_summary", "check_train_steps"]


def _show(value: Any) -> str:
    """A number as a learner reads it: ``0.5``, ``nan``, ``inf``, never ``np.float64(0.5)``."""
    value = float(value)
    return str(value) if not np.isfinite(value) else f"{round(value, 4):g}"


def _shows(values: Any) -> str:
    return "[" + ", ".join(_show(v) for v in np.ravel(values)) + "]"


def _public(name: str) -> str:
    """A watched call's name as a learner writes it: ``skimage.transform._warps.resize`` -> ``skimage.transform.resize``."""
    return ".".join(part for part in name.split(".") if not part.startswith("_"))


def _refuse_library(call: Watch, what: str, does: str) -> None:
    """Refuse a right answer that called a watched function outside ``segcourse`` (``does``: what that call does).

    ``Watch.refuse`` says only "a library function that computes it for you"; this hint says what the
    call does in this exercise.
    """
    outside = [name for name in call.seen if not name.startswith("segcourse")]
    if outside:
        raise AssertionError(f"your {what} calls {_public(outside[0])}: it gives the right numbers, but {does}, "
                             f"and this exercise asks you to write that part yourself with numpy.")


class _TorchWatch(Watch):
    """A :class:`Watch` that also notes calls of torch's C builtins named in ``builtins``.

    ``torch.log_softmax``, ``x.log_softmax`` and ``F.avg_pool2d`` are C functions, which the
    Python ``call`` events of :class:`Watch` never see; ``sys.setprofile`` reports them as
    ``c_call`` events. A call made from inside torch (``F.log_softmax`` calling the method) is
    torch's own, not the learner's, and is skipped.

    >>> import torch
    >>> call = _TorchWatch(LIBRARY, builtins={"log_softmax"})
    >>> call(lambda z: torch.log_softmax(torch.as_tensor(z), 0).shape[0], np.zeros(3), what="loss")
    3
    >>> call.seen
    ['torch.log_softmax']
    """

    def __init__(self, rules: Any, builtins: Any = ()) -> None:
        super().__init__(rules)
        self.builtins = frozenset(builtins)

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event == "c_call":
            name = getattr(arg, "__name__", "")
            if name not in self.builtins or (frame.f_globals.get("__name__") or "").startswith("torch"):
                return
            owner = getattr(arg, "__module__", None) or type(getattr(arg, "__self__", None)).__module__ or ""
            if owner.startswith("torch"):
                full = f"torch.{name}"
                if full not in self.seen and len(self.seen) < 8:
                    self.seen.append(full)
            return
        super()._profile(frame, event, arg)


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
            raise AssertionError(f"you returned {arr.size} {name} for {k} classes: your count has a bin for every "
                                 f"id up to 255, but 255 is the ignore label, not a class. Unlabelled pixels "
                                 f"belong to no class and count nowhere.")
        if arr.shape != (k,):
            raise AssertionError(f"return one of each per class, shape ({k},); your {name} have shape {arr.shape}. "
                                 f"A class with no pixels (here the last one) still has an entry.")
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
        mean_f = np.where(present, want_f[present].mean() / np.where(present, want_f, 1), 0)
        if np.allclose(got, mean_f, atol=1e-6):
            hint = (f"you divided the MEAN frequency ({_show(want_f[present].mean())}) by each class's; median "
                    f"frequency balancing divides the MEDIAN of the classes that occur "
                    f"({_show(np.median(want_f[present]))}): w = median(f) / f.")
        elif np.allclose(got, all_median, atol=1e-6):
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
    for mark, dtype in ((9, np.uint8), (-1, np.int64)):      # the same maps, unlabelled pixels marked 9, then -1
        other = np.where(MFW_MAPS == 255, mark, MFW_MAPS.astype(np.int64)).astype(dtype)
        want_f, want = _median_frequency(other, 5, ignore_index=mark)
        try:
            freq, got = _pair(call(median_frequency_weights, other.copy(), 5, mark, what="median_frequency_weights"), 5)
            right = np.allclose(freq, want_f, atol=1e-6) and np.allclose(got, want, atol=1e-6)
        except (AssertionError, ValueError):
            right = False
        if not right:
            raise AssertionError(f"with ignore_index={mark} (the same two maps, their unlabelled pixels marked {mark} "
                                 f"instead of 255) your answer differs from the one you gave for 255: you compared "
                                 f"with a hard-coded 255, or cut the counts to the first K bins, instead of using the "
                                 f"ignore_index argument. Data sets use other ignore labels too (torch's own default "
                                 f"is -100): select the pixels with label_maps != ignore_index, then count them.")
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
    _refuse_library(call, "median_frequency_weights", "it computes the weights for you")
    call.refuse("median_frequency_weights")
    print("check_median_frequency_weights: all cases pass")


# ---------------------------------------------------------------------------- weighted cross-entropy
def _torch_ce(logits: Any, target: Any, weights: Any, ignore_index: int = 255) -> float:
    import torch

    return float(torch.nn.functional.cross_entropy(
        torch.as_tensor(np.asarray(logits, np.float64)), torch.as_tensor(np.asarray(target, np.int64)),
        weight=torch.as_tensor(np.asarray(weights, np.float64)), ignore_index=ignore_index))


def _log_softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    z = z - z.max(axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis, keepdims=True))


def _ce_variants(logits: np.ndarray, target: np.ndarray, weights: np.ndarray,
                 ignore_index: int = 255) -> dict[str, float]:
    """Typical wrong answers' values, by name (each computed the way that mistake computes it)."""
    logits, target = np.asarray(logits, float), np.asarray(target)
    keep = target != ignore_index
    t = np.where(keep, target, 0).astype(np.int64)
    wk = np.asarray(weights, float)

    def mean(logp: np.ndarray, w_of: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        nll = -np.take_along_axis(logp, t[:, None], 1)[:, 0]
        return nll, wk[t] if w_of is None else wk[w_of]

    with np.errstate(all="ignore"):
        logp = _log_softmax(logits)
        nll, w = mean(logp)
        p = np.exp(logp)
        clip_nll, _ = mean(np.log(np.clip(p, 1e-12, None)))
        axis_nll, _ = mean(_log_softmax(logits, -1))
        _, w_pred = mean(logp, logits.argmax(1))
        per_image = [(w[i] * nll[i])[keep[i]].sum() / w[i][keep[i]].sum() for i in range(len(t)) if keep[i].any()]
        out = {"count": (w * nll)[keep].sum() / keep.sum(), "unweighted": nll[keep].mean(),
               "all pixels": (w * nll)[keep].sum() / w.sum(),     # an ignored pixel's stand-in weight (class 0) kept
               "sum": (w * nll)[keep].sum(), "predicted": (w_pred * nll)[keep].sum() / w_pred[keep].sum(),
               "clip": (w * clip_nll)[keep].sum() / w[keep].sum(), "axis": (w * axis_nll)[keep].sum() / w[keep].sum(),
               "mean weight": (w * nll)[keep].mean() / wk.mean(),
               "per image": float(np.mean(per_image)) if len(per_image) > 1 else np.nan}
    return {k: float(v) for k, v in out.items()}


#: What each typical wrong answer of exercise 2 did, by the name :func:`_ce_variants` gives it.
CE_HINTS = {
    "unweighted": "that is the unweighted mean: multiply each pixel's loss by the weight of its TRUE class.",
    "count": ("you divided by the number of pixels. torch's weighted mean divides by the sum of the weights of the "
              "counted pixels: sum(w[t] * loss) / sum(w[t])."),
    "all pixels": ("the ignored pixel still counts in your denominator. Ignored pixels take no part at all: neither "
                   "in the sum of losses nor in the sum of weights."),
    "sum": ("that is the weighted SUM of the losses: a mean divides it by the sum of the weights of the counted "
            "pixels, sum(w[t] * loss) / sum(w[t]), so the loss does not grow with the image size."),
    "predicted": ("you weighted each pixel by the class the logits PREDICT (their argmax); a class weight belongs to "
                  "the pixel's TRUE class, target, whatever the model says."),
    "clip": ("log(clip(softmax, 1e-12)) caps every pixel's loss at -log(1e-12) = 27.6, so a very confident wrong "
             "pixel counts far less than torch counts it. Stay in log space: z - max(z) - log(sum(exp(z - max(z)))) "
             "is finite without a clip."),
    "axis": ("your softmax runs over the last axis, the image's width: it mixes the pixels of a row. The classes lie "
             "on axis 1 of (N, K, H, W): take max, exp and sum over axis=1 (keepdims=True)."),
    "mean weight": ("you divided the mean of w[t] * loss by the mean of the class weights. torch divides the sum of "
                    "w[t] * loss by the sum of the weights of the same pixels, w[t]: the pixels decide the weights, "
                    "not the list of classes."),
    "per image": ("you averaged one weighted mean per image. torch takes ONE weighted mean over all the labelled "
                  "pixels of the batch: an image with fewer labelled pixels must not count as much as a full one."),
}


def _ce_hint(got: float, logits: Any, target: Any, weights: Any, ignore_index: int = 255,
             skip: tuple[str, ...] = ()) -> str | None:
    """The hint for the first typical wrong answer whose value ``got`` matches, else None."""
    want = _torch_ce(logits, target, weights, ignore_index)
    for name, value in _ce_variants(logits, target, weights, ignore_index).items():
        if name not in skip and not _close(value, want, 1e-6 * max(1.0, abs(want))) \
                and _close(got, value, 1e-6 * max(1.0, abs(value))):
            return CE_HINTS[name]
    return None


#: torch's C functions (and Tensor methods) that compute the log-softmax for the learner.
CE_TORCH_BUILTINS = frozenset({"log_softmax", "softmax", "logsumexp", "_log_softmax", "_softmax"})

#: One 1×2 image, K = 2, both pixels labelled: the left one has a logit gap of 1000 against its true class
#: (loss 1000, a softmax of exp(-1000) = 0.0), the right one is sure and right (loss 0). Torch gives 500.
CE_GAP_LOGITS = np.array([[[[0.0, 1000.0]], [[1000.0, 0.0]]]])
CE_GAP_TARGET = np.array([[[0, 0]]])
CE_GAP_WEIGHTS = np.array([1.0, 2.0])

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
    (``nn.CrossEntropyLoss`` calls the first), torch's ``log_softmax``, ``softmax`` or ``logsumexp``
    (functions or Tensor methods) or ``segcourse`` is refused once its numbers are right;
    ``scipy.special``'s ``log_softmax``, ``softmax`` and ``logsumexp`` are refused too: the stable
    log-softmax is half of the exercise.

    >>> check_weighted_cross_entropy(lambda logits, target, w, ignore_index=255: 0.0)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: on a 2×3 image without ignored pixels (K = 3, weights [1, 2, 0.5]) torch ...
    """
    call = _TorchWatch(LIBRARY + (("torch.nn.functional", {"cross_entropy", "nll_loss", "log_softmax", "softmax"}),
                                  ("scipy.special", {"log_softmax", "softmax", "logsumexp"})),
                       builtins=CE_TORCH_BUILTINS)
    logits, target, weights = CE_LOGITS, CE_TARGET, CE_WEIGHTS
    clean = np.where(target == 255, 0, target)
    want = _torch_ce(logits, clean, weights)
    got = _number(call(weighted_cross_entropy, logits, clean, weights, 255, what="weighted_cross_entropy"),
                  "weighted_cross_entropy")
    if not _close(got, want, 1e-6):
        hint = _ce_hint(got, logits, clean, weights) or (
            "per pixel: loss = -log(softmax(logits over axis 1)[true class]); then the weighted mean.")
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
        hint = _ce_hint(got, logits, target, weights) or (
            "drop the pixels whose target is 255, then take the weighted mean of the others.")
        raise AssertionError(f"with one pixel labelled 255 torch gives {_show(want)}, yours is {_show(got)}: {hint}")
    big = logits * 400.0
    want = _torch_ce(big, target, weights)
    got = _number(call(weighted_cross_entropy, big, target, weights, 255, what="weighted_cross_entropy"),
                  "weighted_cross_entropy")
    if not _close(got, want, 1e-6 * max(1.0, abs(want))):
        if np.isinf(got):
            hint = ("your loss is inf. Either exp(1200) overflows (float64 ends near exp(709)), or, if you "
                    "subtracted ONE maximum over the whole array, a pixel whose logits all lie far below it "
                    "underflows to exp(...) = 0 for every class, and log(0) = -inf. Subtract each pixel's own "
                    "maximum (over axis 1, keepdims=True).")
        elif not np.isfinite(got):
            hint = ("exp(1200) overflows (float64 ends near exp(709)), so a sum of exps becomes inf and inf / inf "
                    "is nan. The softmax does not change when every logit of a pixel moves by the same amount.")
        else:
            hint = _ce_hint(got, big, target, weights) or (
                "your loss is finite but wrong: per pixel, -log softmax = log(sum(exp(z - max(z)))) - (z[true] - "
                "max(z)), over axis 1.")
        raise AssertionError(f"with logits 400 times larger torch gives {_show(want)}, yours is {_show(got)}: {hint}")
    want = _torch_ce(CE_GAP_LOGITS, CE_GAP_TARGET, CE_GAP_WEIGHTS)
    got = _number(call(weighted_cross_entropy, CE_GAP_LOGITS.copy(), CE_GAP_TARGET.copy(), CE_GAP_WEIGHTS, 255,
                       what="weighted_cross_entropy"), "weighted_cross_entropy")
    if not _close(got, want, 1e-6 * max(1.0, abs(want))):
        if not np.isfinite(got):
            hint = ("the softmax underflowed: the true class's probability exp(-1000) is 0.0 in float64, and "
                    "log(0) = -inf. The log of a softmax is finite even where the softmax itself is 0: stay in "
                    "log space.")
        else:
            hint = _ce_hint(got, CE_GAP_LOGITS, CE_GAP_TARGET, CE_GAP_WEIGHTS) or (
                "per pixel: loss = -log softmax(logits over axis 1)[true class]; then the weighted mean.")
        raise AssertionError(f"on a 1×2 image (K = 2) whose left pixel has logits [0, 1000] and target 0 (a very "
                             f"confident wrong prediction) torch gives {_show(want)}, yours is {_show(got)}: {hint}")
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
            hint = _ce_hint(got, z, t, w)
            raise AssertionError(f"on random logits (K = {k}, a batch of 2, some pixels 255) torch gives "
                                 f"{_show(want)}, yours is {_show(got)}" + (f": {hint}" if hint else ""))
    t = CE_TARGET.astype(np.int64).copy()
    t[t == 255] = -100                                   # torch's own default ignore label
    want = _torch_ce(logits, t, weights, -100)
    try:
        got = _number(call(weighted_cross_entropy, logits.copy(), t, weights, -100, what="weighted_cross_entropy"),
                      "weighted_cross_entropy")
        right = _close(got, want, 1e-6)
    except AssertionError:
        right = False
    if not right:
        # Probe: the same pixel labelled K + 4 (a positive id that is no class, not 255) with ignore_index=K + 4.
        # An answer that honours the argument but clamps the target (clamp(max=K-1), np.minimum) is right here:
        # its trouble is only that a negative label stays negative after the clamp and indexes from the end.
        mark = logits.shape[1] + 4
        probe = np.where(CE_TARGET == 255, mark, CE_TARGET).astype(np.int64)
        try:
            uses_argument = _close(_number(call(weighted_cross_entropy, logits.copy(), probe, weights, mark,
                                                what="weighted_cross_entropy"), "weighted_cross_entropy"),
                                   _torch_ce(logits, probe, weights, mark), 1e-6)
        except AssertionError:
            uses_argument = False
        if uses_argument:
            raise AssertionError(f"with ignore_index=-100 (torch's own default; the pixel that was 255 is -100 now) "
                                 f"torch gives {_show(want)}, and your answer is wrong or crashes, though it is right "
                                 f"with ignore_index={mark}: a clamp (clamp(max=K-1), np.minimum) leaves a negative "
                                 f"ignore label negative, and a negative index counts from the END of the class "
                                 f"axis (or crashes). Replace the ignored targets with a valid class before you "
                                 f"index: keep = target != ignore_index; t = np.where(keep, target, 0).")
        raise AssertionError(f"with ignore_index=-100 (torch's own default; the pixel that was 255 is -100 now) "
                             f"torch gives {_show(want)}, and your answer is wrong or crashes: you compared with a "
                             f"hard-coded 255, not with the ignore_index argument. Select the pixels with "
                             f"target != ignore_index.")
    whole = [name for name in call.seen if name.startswith("segcourse") or name.endswith(("cross_entropy", "nll_loss"))]
    if call.seen and not whole:                        # only a library's log-softmax / softmax / logsumexp
        raise AssertionError(f"your weighted_cross_entropy calls {_public(call.seen[0])}: it gives the right numbers, "
                             f"but the stable log-softmax is half of this exercise, and that call does it for you. "
                             f"Write it in numpy: subtract each pixel's largest logit (over axis 1), then "
                             f"z - log(sum(exp(z))) over axis 1.")
    call.seen = whole + [name for name in call.seen if name not in whole]   # name the whole loss first
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
    if same(fi, img[::-1, ::-1, ::-1]) or (same(fl, lm[::-1, ::-1]) and not same(fi, img[:, ::-1])):
        raise AssertionError("np.flip without an axis reverses every axis: rows, columns and (for the image) the "
                             "colour channels. A horizontal flip reverses the columns only: np.flip(x, axis=1)")
    if same(fi, img[::-1]) or same(fl, lm[::-1]):
        raise AssertionError("that is a vertical flip (rows reversed); a horizontal flip reverses the columns, axis 1")
    if same(fi, img[:, :, ::-1]):
        raise AssertionError("you reversed the colour channels (the last axis); flip the width axis, axis 1")
    if not (same(fi, img[:, ::-1]) and same(fl, lm[:, ::-1])):
        raise AssertionError("the result is not a horizontal flip of both image and mask")
    call.refuse("flip_pair")
    print("check_aligned_flip: all cases pass")


# ------------------------------------------------------------------------------ crop + resize pair
def _resize_ref(image: Any, label_map: Any, box: tuple[int, int, int, int],
                mask_order: str = "nearest", corners: bool = False,
                swap: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``box = (top, left, height, width)`` and resize it back: image bilinear, mask nearest.

    Output pixel ``i`` samples the crop at ``y = (i + 0.5) * height / H - 0.5`` (pixel centres,
    clipped to the crop); ``corners=True`` uses ``i * (height - 1) / (H - 1)`` instead (a typical
    mistake). ``mask_order="bilinear"`` interpolates the class ids (the mistake the check catches);
    ``"floor"`` indexes the mask with ``floor(y)``, a wrong rounding of the nearest index ``floor(y + 0.5)``.
    ``swap=True`` gives each pair of neighbours the other's weight (the far pixel weighs more: a mistake).
    """
    img, lm = np.asarray(image, float), np.asarray(label_map)
    big_h, big_w = lm.shape
    t, l, h, w = box
    img, lm = img[t:t + h, l:l + w], lm[t:t + h, l:l + w]

    def positions(n: int, m: int) -> np.ndarray:
        if corners:
            return np.arange(n) * (m - 1) / (n - 1)
        return np.clip((np.arange(n) + 0.5) * m / n - 0.5, 0, m - 1)

    def bilinear(x: np.ndarray) -> np.ndarray:
        y, xx = positions(big_h, h), positions(big_w, w)
        y0, x0 = np.floor(y).astype(int), np.floor(xx).astype(int)
        y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
        wy, wx = y - y0, xx - x0
        if swap:
            wy, wx = 1 - wy, 1 - wx
        wy = wy.reshape((-1, 1) + (1,) * (x.ndim - 2))
        wx = wx.reshape((1, -1) + (1,) * (x.ndim - 2))
        top = x[y0][:, x0] * (1 - wx) + x[y0][:, x1] * wx
        bottom = x[y1][:, x0] * (1 - wx) + x[y1][:, x1] * wx
        return top * (1 - wy) + bottom * wy

    if mask_order == "bilinear":
        out_lm = bilinear(lm.astype(float))
    elif mask_order == "floor":                           # floor(y) rounds down: not the nearest pixel
        out_lm = lm[np.floor(positions(big_h, h)).astype(int)][:, np.floor(positions(big_w, w)).astype(int)]
    else:
        ny = np.floor(positions(big_h, h) + 0.5).astype(int)
        nx = np.floor(positions(big_w, w) + 0.5).astype(int)
        out_lm = lm[ny][:, nx]
    return bilinear(img), out_lm


#: Libraries that resize in one call.
RESIZE_LIBRARY = (("skimage.transform", {"resize", "rescale", "warp", "resize_local_mean"}),
                  ("scipy.ndimage", {"zoom", "map_coordinates", "affine_transform"}),
                  ("torch.nn.functional", {"interpolate", "upsample", "grid_sample"}),
                  ("PIL", {"resize"}), ("cv2", None))


def _crop_case() -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int], str]:
    """A 12×16 scene whose crop holds a column of class 1 next to a column of class 3 (no class 2)."""
    lm = np.zeros((12, 16), np.int64)
    lm[3:, 3:9] = 1
    lm[3:, 9:13] = 3                                  # ids 1 | 3 side by side: interpolation would invent 2
    lm[6:9, 5:7] = 4
    rng = np.random.default_rng(1)
    img = np.stack([lm / 4.0, rng.random(lm.shape), rng.random(lm.shape)], -1)   # channel 0 encodes the class
    return img, lm, (2, 4, 9, 12), "a 12×16 scene cropped to rows 2 to 10, columns 4 to 15 (box (2, 4, 9, 12))"


@learner_check
def check_crop_resize_pair(crop_resize_pair: Callable) -> None:
    """Check ``crop_resize_pair(image, label_map, box)``: crop both, resize both back to the input size.

    ``box = (top, left, height, width)``. The image is resized **bilinearly**, the label map by
    **nearest neighbour**: output pixel ``i`` samples the crop at ``y = (i + 0.5) * height / H - 0.5``
    (clipped to ``[0, height - 1]``); the mask takes the label of the nearest crop pixel,
    ``floor(y + 0.5)``. The test crops put class ids 1 and 3 side by side, so a mask resized with
    interpolation shows the invented id 2. Images are compared to 1e-6 (float32 is fine).

    An answer that calls ``segcourse`` (``data.augment``) or a one-call resize (scikit-image's
    ``resize`` or ``rescale``, ``scipy.ndimage.zoom`` or ``map_coordinates``, torch's
    ``interpolate``, PIL's ``resize``) is refused once its result is right.

    >>> check_crop_resize_pair(lambda img, lm, box: (img, lm))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: on a 12×16 scene cropped to rows 2 to 10, ... nothing was cropped ...
    """
    call = Watch(LIBRARY + RESIZE_LIBRARY)
    img, lm, box, what = _crop_case()
    rng = np.random.default_rng(4)
    img2 = rng.random((10, 10, 3))
    lm2 = rng.integers(0, 5, (10, 10))
    cases = [(img, lm, box, what), (img2, lm2, (1, 2, 7, 6), "a random 10×10 scene with box (1, 2, 7, 6)"),
             (img2.astype(np.float32), lm2.astype(np.uint8), (0, 0, 10, 10), "the whole 10×10 float32 scene (box (0, 0, 10, 10))")]
    for x, m, b, where in cases:
        try:
            out = call(crop_resize_pair, x.copy(), m.copy(), b, what="crop_resize_pair")
        except AssertionError as exc:                    # the learner's crash, as the check reports it
            if "could not be broadcast" not in str(exc):
                raise
            raise AssertionError(f"on {where} your {exc} The image has a channel axis, (H, W, 3), "
                                 f"but the mask has none: weights shaped (H, 1) line up with the image's columns and "
                                 f"channels, not its rows. Give the image's row weights the shape (H, 1, 1) and its "
                                 f"column weights (1, W, 1).") from None
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise AssertionError("return a pair: (resized image, resized label map)")
        gi = _array(out[0], "crop_resize_pair's image").astype(float)
        gl = _array(out[1], "crop_resize_pair's label map")
        want_i, want_l = _resize_ref(x, m, b)
        if gi.shape != want_i.shape or gl.shape != want_l.shape:
            raise AssertionError(f"on {where}: return the input's shapes, image {want_i.shape} and label map "
                                 f"{want_l.shape}; yours are {gi.shape} and {gl.shape}. Resize the crop back to "
                                 f"the full size, as the model reads one size only.")
        t, l, h, w = b
        invented = set(np.unique(gl).tolist()) - set(np.unique(m[t:t + h, l:l + w]).tolist())
        if invented or not np.allclose(gl, np.round(gl)):
            bad = sorted(invented)[:3] if invented else "non-integer values"
            raise AssertionError(f"on {where}: your label map holds {bad}, which the crop does not contain: you "
                                 f"interpolated the class ids. Halfway between id 1 (road) and id 3 (lane marking) "
                                 f"lies 2 (sidewalk), a class that is not there. Resize the mask by nearest "
                                 f"neighbour: every output pixel copies ONE crop pixel, index floor(y + 0.5).")
        if gl.dtype.kind not in "iub":
            raise AssertionError(f"on {where}: your label map has dtype {gl.dtype}, a float: class ids are integers "
                                 f"(the input's is {np.asarray(m).dtype}). A float mask cannot index a palette or "
                                 f"feed np.bincount and invites interpolation: return the copied crop pixels in the "
                                 f"input's integer dtype.")
        library = [".".join(part for part in name.split(".") if not part.startswith("_"))   # skimage.transform.resize
                   for name in call.seen if not name.startswith("segcourse")]
        if library and not (np.array_equal(gl, want_l) and np.allclose(gi, want_i, rtol=0, atol=1e-6)):
            raise AssertionError(f"on {where}: your crop_resize_pair calls {library[0]}, and this exercise refuses "
                                 f"it: write the resize yourself with numpy. Its numbers differ too: at the border "
                                 f"it pads or reflects beyond the crop (and may smooth first), where this exercise "
                                 f"clips the sample position y = (i + 0.5) * height / H - 0.5 to [0, height - 1].")
        bil_i, bil_l = _resize_ref(x, m, b, mask_order="bilinear")
        if not np.array_equal(gl, want_l):
            if np.array_equal(gl, np.round(bil_l)) or np.array_equal(gl, np.floor(bil_l)):
                raise AssertionError(f"on {where}: your label map was interpolated and then rounded: a pixel between "
                                     f"two classes gets a label from arithmetic on ids, not from a pixel. Resize the "
                                     f"mask by nearest neighbour (index floor(y + 0.5)).")
            if h != gl.shape[0] and np.array_equal(gl, _resize_ref(x, m, b, corners=True)[1]):
                raise AssertionError(f"on {where}: your mask samples at i * (height - 1) / (H - 1) (corners aligned); "
                                     f"this exercise samples pixel centres, y = (i + 0.5) * height / H - 0.5.")
            if np.array_equal(gl, _resize_ref(x, m, b, mask_order="floor")[1]):
                raise AssertionError(f"on {where}: your mask takes the crop pixel at floor(y), which rounds DOWN: "
                                     f"y = 2.75 gives row 2, though row 3 is nearer. The box is right; the rounding "
                                     f"is not. The nearest pixel is floor(y + 0.5) (and floor(x + 0.5)).")
            if t < h and l < w and gl.shape == want_l.shape and np.array_equal(gl, _resize_ref(x, m, (t, l, h - t, w - l))[1]):
                raise AssertionError(f"on {where}: your crop ends at row {h - 1} and column {w - 1}: you read the box "
                                     f"as (top, left, bottom, right). Its last two numbers are the crop's height and "
                                     f"width, counted from top and left.")
            if np.array_equal(gl, _resize_ref(x, m, (0, 0) + m.shape)[1]):
                raise AssertionError(f"on {where}: nothing was cropped from your label map: cut rows top to "
                                     f"top + height - 1 and columns left to left + width - 1 first, from both.")
            raise AssertionError(f"on {where}: your label map does not line up with the image's crop. Cut the same "
                                 f"box from both, then copy, for every output pixel, the crop pixel nearest to "
                                 f"y = (i + 0.5) * height / H - 0.5 (and likewise for x).")
        if not np.allclose(gi, want_i, rtol=0, atol=1e-6):
            near = want_l.astype(float)
            if np.allclose(gi, _resize_ref(x, m, (0, 0) + m.shape)[0], atol=1e-6):
                hint = "nothing was cropped from your image: cut the same box from image and mask."
            elif np.allclose(gi[..., 0], near / 4.0, atol=1e-6) and b == box:
                hint = ("your image was resized by nearest neighbour, like the mask. Colours may be mixed: "
                        "resize the image bilinearly, so that an edge stays smooth.")
            elif h != gi.shape[0] and np.allclose(gi, _resize_ref(x, m, b, corners=True)[0], atol=1e-6):
                hint = ("you sample at i * (height - 1) / (H - 1) (corners aligned); this exercise samples pixel "
                        "centres, y = (i + 0.5) * height / H - 0.5, clipped to [0, height - 1].")
            elif np.allclose(gi, _resize_ref(x, m, b, swap=True)[0], atol=1e-6):
                hint = ("your weights are swapped: the far neighbour weighs more. With dy = y - floor(y), the "
                        "row floor(y) is the nearer one when dy is small, so it must get the larger weight.")
            else:
                hint = ("each output pixel mixes the 4 crop pixels around (y, x): a pixel weighs more the nearer "
                        "(y, x) lies to it, linearly in y and in x, and the four weights sum to 1. At the border, "
                        "clip y to [0, height - 1] (and x to [0, width - 1]) rather than padding or reflecting.")
            r, c = np.argwhere(~np.isclose(gi, want_i, atol=1e-6).all(-1))[0]
            raise AssertionError(f"on {where}: {hint} Row {r}, column {c} should be {_shows(want_i[r, c])}, "
                                 f"yours is {_shows(gi[r, c])}.")
    if call.seen and not call.seen[0].startswith("segcourse"):
        raise AssertionError(f"your crop_resize_pair calls {_public(call.seen[0])}: it gives the right numbers, but "
                             f"it resizes for you, and this exercise asks you to write the resize yourself with "
                             f"numpy, where the two rules for image and mask differ.")
    call.refuse("crop_resize_pair")
    print("check_crop_resize_pair: all cases pass")


# ------------------------------------------------------------------------------ block-mean camera
def _block_mean(images: Any, factor: int, groups: str = "blocks") -> np.ndarray:
    """Each ``factor × factor`` block of ``(N, H, W, C)`` images replaced by its mean colour.

    ``groups="strided"`` averages pixels ``H // factor`` apart instead (a wrong reshape).
    """
    x = np.asarray(images, float)
    n, h, w, c = x.shape
    f = factor
    if groups == "strided":
        small = x.reshape(n, f, h // f, f, w // f, c).mean((1, 3))
    else:
        small = x.reshape(n, h // f, f, w // f, f, c).mean((2, 4))
    return small.repeat(f, 1).repeat(f, 2)


#: One 4×6 image, 3 channels, every value different: each 2×2 block has its own mean in each channel.
CAM_IMAGE = (np.arange(72, dtype=float).reshape(1, 4, 6, 3) * 7 % 61) / 60

#: Libraries that compute the block mean for the learner.
CAM_LIBRARY = (("skimage.transform", {"downscale_local_mean", "rescale", "resize", "pyramid_reduce"}),
               ("skimage.measure", {"block_reduce"}), ("scipy.ndimage", {"zoom"}),
               ("torch.nn.functional", {"interpolate", "upsample", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                                        "adaptive_avg_pool3d", "lp_pool2d"}),
               ("torch.nn.modules.pooling", None), ("PIL", {"resize", "reduce"}))

#: torch's pooling and resizing C functions (``F.avg_pool2d`` is one), which compute the block mean in one call.
CAM_TORCH_BUILTINS = frozenset({"avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                                "adaptive_avg_pool3d", "upsample_bilinear2d", "upsample_nearest2d",
                                "_upsample_bilinear2d_aa"})


#: scipy's moving averages: accepted (read at the right pixel they give the block means), watched only so that a
#: hint can name the one the learner called.
MOVING = frozenset({"uniform_filter", "convolve", "correlate"})


def _camera_hint(got: np.ndarray, x: np.ndarray, f: int, seen: Any = ()) -> str:
    """What a wrong block-mean picture did instead, for the typical mistakes (``seen``: the watched calls)."""
    n, h, w, c = x.shape
    small = _block_mean(x, f)[:, ::f, ::f]

    def same(other: np.ndarray) -> bool:
        return other.shape == got.shape and bool(np.allclose(got, other, atol=1e-6))

    if same(x[:, ::f, ::f].repeat(f, 1).repeat(f, 2)):
        return (f"you kept one pixel of each {f}×{f} block (x[:, ::{f}, ::{f}], subsampling) and dropped the other "
                f"{f * f - 1}. A camera pixel collects the light of its whole area: each block holds the MEAN of "
                f"its {f * f} pixels, so a thin lane mixes with the road next to it.")
    if same(_block_mean(x, f) * f * f):
        return (f"yours is {f * f} times the block mean: a block SUM. Divide by the {f * f} pixels of a block "
                f"(or take .mean over the two block axes instead of .sum).")
    from scipy import ndimage as _nd          # a moving average read at the wrong pixel

    kernel = np.ones((1, f, f, 1)) / (f * f)
    used = next((_public(n) for n in seen if n.rsplit(".", 1)[-1] in MOVING), "")
    candidates = [("scipy.ndimage.uniform_filter", _nd.uniform_filter(x, size=(1, f, f, 1))),
                  (used if used and not used.endswith("uniform_filter") else "a centred convolve",
                   _nd.convolve(x, kernel))]
    if used and not used.endswith("uniform_filter"):
        candidates.reverse()                  # the function the learner called is named first
    for name, moving in candidates:
        right = [o for o in range(f) if np.allclose(moving[:, o::f, o::f], small, atol=1e-6)]
        for o in range(f):
            if right and o not in right and same(moving[:, o::f, o::f].repeat(f, 1).repeat(f, 2)):
                return (f"you read {name}'s moving average at offset {o} of each block ([:, {o}::{f}, "
                        f"{o}::{f}]). Its {f}×{f} window is centred on the pixel, so at offset {o} it reaches "
                        f"outside the block; the window that covers exactly the block sits at offset "
                        f"{right[0]}: read [:, {right[0]}::{f}, {right[0]}::{f}].")
    if same(np.repeat(_block_mean(x, f).mean(-1, keepdims=True), c, -1)) or same(_block_mean(x, f).mean(-1)):
        return "you averaged the 3 colour channels too: average over the block's pixels, each channel on its own."
    if same(_block_mean(x, f, "strided")):
        return (f"your blocks are not neighbouring pixels: each of your means mixes pixels H // {f} rows (and "
                f"W // {f} columns) apart, from all over the image. A camera pixel covers {f}×{f} NEIGHBOURING pixels: "
                f"in a reshape, the axis that runs inside one block must come right after the axis that counts blocks.")
    if same(np.tile(small, (1, f, f, 1))):
        return (f"your picture is the whole small picture laid out {f}×{f} times side by side (tiled); each camera "
                f"pixel should fill one {f}×{f} block where it was, its own neighbours beside it.")
    if same(x.reshape(n, h // f, w // f, f, f, c).mean((3, 4)).repeat(f, 1).repeat(f, 2)):
        return (f"your reshape (N, H/{f}, W/{f}, {f}, {f}, C) keeps numpy's memory order, so each of your groups of "
                f"{f * f} holds {f * f} pixels that follow each other along a ROW, not a {f}×{f} block. Split each "
                f"axis where it lies: (N, H/{f}, {f}, W/{f}, {f}, C), then take the mean over axes 2 and 4.")
    from scipy import ndimage

    if same(ndimage.uniform_filter(x, size=(1, f, f, 1))):
        return (f"that is scipy's moving average read at every pixel: each pixel holds the mean of a {f}×{f} window "
                f"around ITSELF, so the pixels of one block still differ. Read it at one pixel of each block, the "
                f"one whose window is the block (which one depends on the window's offset), and copy that value "
                f"over the block.")
    if f != 2 and same(_block_mean(x, 2)):
        return f"that is the 2×2 block mean: use the factor you are given ({f}), not 2."
    return (f"each {f}×{f} block of neighbouring pixels (rows {f}r to {f}r + {f - 1}, columns likewise) should hold "
            f"the mean colour of its {f * f} pixels, in every pixel of the block.")


def _refuse_block_loop(block_mean_camera: Callable) -> None:
    """Fail if the answer's Python steps grow with the number of blocks (a Python loop over them).

    Counted with ``sys.settrace`` (lesson 00's step counter), never timed: the same on every machine.
    """
    from .lesson00 import LOOP_SLACK, _python_steps

    rng = np.random.default_rng(13)
    small, large = rng.random((1, 4, 4, 3)), rng.random((1, 32, 32, 3))
    _python_steps(block_mean_camera, small, 2, what="block_mean_camera")        # first call: lazy imports
    n_small = _python_steps(block_mean_camera, small, 2, what="block_mean_camera")
    n_large = _python_steps(block_mean_camera, large, 2, what="block_mean_camera")
    if n_large > n_small + LOOP_SLACK:
        raise AssertionError(
            f"your numbers are right, but your function runs a Python loop over the blocks: on one 4×4 image it "
            f"takes {n_small} Python steps, on one 32×32 image {n_large} (64 times the blocks). The exercise asks "
            f"for whole-array numpy: operations on the whole (N, H, W, 3) array at once, whose Python steps do "
            f"not grow with the image.")


@learner_check
def check_block_mean_camera(block_mean_camera: Callable) -> None:
    """Check ``block_mean_camera(images, factor=2)``: what a camera ``factor`` times coarser records.

    ``images`` is ``(N, H, W, 3)`` with H and W multiples of ``factor``. The answer has the same
    shape: every ``factor × factor`` block of neighbouring pixels holds the block's mean colour
    (each channel on its own), i.e. the coarse camera's picture shown at the model's input size.
    An answer that calls ``segcourse``, scikit-image's ``downscale_local_mean``, ``block_reduce``,
    ``rescale`` or ``resize``, ``scipy.ndimage.zoom``, or torch's pooling (``avg_pool2d``,
    ``adaptive_avg_pool2d``, ``nn.AvgPool2d``, ...) or ``interpolate`` is refused once its numbers are right, and
    so is a Python loop over the blocks (its Python steps, counted with ``sys.settrace``, grow with
    the image). A moving average (``scipy.ndimage.uniform_filter`` or a convolution) read at one
    pixel of each block is accepted: its numbers are the block means only when the learner picks
    that pixel (the window's offset) right, which is the same understanding the exercise tests.

    >>> check_block_mean_camera(lambda images, factor=2: images[:, ::factor, ::factor].repeat(factor, 1).repeat(factor, 2))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: on one 4×6 image with factor=2: you kept one pixel of each 2×2 block ...
    """
    call = _TorchWatch(LIBRARY + CAM_LIBRARY + (("scipy.ndimage", MOVING),), builtins=CAM_TORCH_BUILTINS)
    rng = np.random.default_rng(9)
    cases = [(CAM_IMAGE, 2, "one 4×6 image with factor=2"),
             (rng.random((2, 6, 12, 3)), 3, "two 6×12 images with factor=3"),
             (rng.random((1, 8, 8, 3)).astype(np.float32), 4, "one 8×8 float32 image with factor=4")]
    for x, f, what in cases:
        want = _block_mean(x, f)
        got = _array(call(block_mean_camera, x.copy(), f, what="block_mean_camera"), "block_mean_camera").astype(float)
        if got.shape == want[:, ::f, ::f].shape and got.shape != want.shape:
            raise AssertionError(f"on {what} your picture has shape {got.shape}: that is the coarse camera's own "
                                 f"pixels. The model reads {x.shape[1]}×{x.shape[2]} images: show each camera pixel "
                                 f"as a {f}×{f} block, shape {want.shape}.")
        if got.shape != want.shape:
            raise AssertionError(f"on {what} (shape {x.shape}) return the input's shape {want.shape}; yours has "
                                 f"shape {got.shape}.")
        if not np.allclose(got, want, atol=1e-6):
            i, r, c = np.argwhere(~np.isclose(got, want, atol=1e-6).all(-1))[0]
            raise AssertionError(f"on {what}: {_camera_hint(got, x.astype(float), f, call.seen)} Image {i}, row {r}, column "
                                 f"{c} should be {_shows(want[i, r, c])}, yours is {_shows(got[i, r, c])}.")
    _refuse_block_loop(block_mean_camera)
    call.seen = [n for n in call.seen if not (n.startswith("scipy.ndimage") and n.rsplit(".", 1)[-1] in MOVING)]
    if call.seen and not call.seen[0].startswith("segcourse"):
        name = call.seen[0].replace("torch.nn.modules.pooling.__init__", "a torch pooling layer (nn.AvgPool2d, ...)")
        raise AssertionError(f"your block_mean_camera calls {_public(name)}: it gives the right numbers, but it "
                             f"computes the block means for you, and this exercise asks you to write them yourself "
                             f"with numpy.")
    call.refuse("block_mean_camera")
    print("check_block_mean_camera: all cases pass")


# --------------------------------------------------------------------------------- effect summary
def _sign_flip_p(d: np.ndarray, sided: str = "two", strict: bool = False) -> float:
    """Exact sign-flip p-value of the mean of the paired changes ``d``: the share of the ``2 ** n`` sign
    patterns whose mean is at least as far from 0 as the observed one (``sided="one"``: at least as
    large; ``strict``: farther, the wrong ``>``)."""
    import itertools

    d = np.asarray(d, float)
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    means = (signs * d).mean(1)
    obs = d.mean()
    if sided == "one":
        hit = means > obs + 1e-12 if strict else means >= obs - 1e-12
    else:
        hit = np.abs(means) > abs(obs) + 1e-12 if strict else np.abs(means) >= abs(obs) - 1e-12
    return float(hit.mean())


def _effect(before: dict, after: dict, tolerance: float = 0.01) -> tuple[float, float, int, bool, float]:
    """Per-seed changes ``after[s] - before[s]`` over the seeds in both: mean, median, how many exceed
    ``tolerance``, whether every one does, and the two-sided sign-flip p-value of the mean."""
    seeds = [s for s in before if s in after]
    d = np.array([after[s] - before[s] for s in seeds], float)
    improved = int((d > tolerance).sum())
    return float(d.mean()), float(np.median(d)), improved, improved == len(d), _sign_flip_p(d)


#: Five seeds; ``after`` lists them in another order. Changes +0.005, +0.03, +0.04, -0.20, +0.05: one collapse,
#: and one gain smaller than the tolerance 0.01.
EFFECT_BEFORE = {0: 0.60, 1: 0.50, 2: 0.70, 3: 0.40, 4: 0.55}
EFFECT_AFTER = {4: 0.60, 3: 0.20, 2: 0.74, 1: 0.53, 0: 0.605}


def _effect_out(raw: Any) -> tuple[float, float, int, bool, float]:
    if not (isinstance(raw, (tuple, list)) and len(raw) == 5):
        raise AssertionError(f"return five values, (mean, median, improved, clear, p_value); yours is "
                             f"{type(raw).__name__}" + (f" of length {len(raw)}" if isinstance(raw, (tuple, list)) else ""))
    mean, median = _number(raw[0], "effect_summary's mean"), _number(raw[1], "effect_summary's median")
    improved = _number(raw[2], "effect_summary's improved")
    clear = raw[3]
    if not isinstance(clear, (bool, np.bool_)):
        raise AssertionError(f"the fourth value, clear, should be True or False; yours is {clear!r}")
    return mean, median, improved, bool(clear), _number(raw[4], "effect_summary's p_value")


def _unpaired_p(before: np.ndarray, after: np.ndarray) -> float:
    """Exact two-sided permutation p of mean(after) - mean(before) that ignores the pairing: every way of
    splitting the 2n scores into two groups of n (the typical wrong answer of exercise 5)."""
    import itertools

    values, n = np.concatenate([after, before]), len(after)
    obs, hits, total = abs(after.mean() - before.mean()), 0, 0
    for first in itertools.combinations(range(2 * n), n):
        group = np.zeros(2 * n, bool)
        group[list(first)] = True
        hits += abs(values[group].mean() - values[~group].mean()) >= obs - 1e-12
        total += 1
    return hits / total


def _p_hint(got: float, d: np.ndarray, before: np.ndarray | None = None, after: np.ndarray | None = None) -> str:
    """What a wrong sign-flip p-value did, for the typical mistakes (``before``/``after``: the paired scores)."""
    n = len(d)
    if _close(got, _sign_flip_p(d, "one"), 1e-9):
        return ("that is the ONE-sided p-value (flipped means at least as LARGE as yours). The question is whether "
                "the change differs from 0 in either direction: count the patterns whose |mean| is at least "
                "|your mean|.")
    if _close(got, _sign_flip_p(d, strict=True), 1e-9) or _close(got, _sign_flip_p(d, "one", strict=True), 1e-9):
        return ("you counted only the patterns FARTHER from 0 than yours (>). Your own signs are one of the "
                "patterns (and all signs flipped is another): count them with >=, so p is never 0.")
    d_med = np.array(list(__import__("itertools").product((1.0, -1.0), repeat=n))) * d
    if _close(got, float((np.abs(np.median(d_med, 1)) >= abs(np.median(d)) - 1e-12).mean()), 1e-9):
        return "you flipped the signs and compared MEDIANS; this p-value compares the MEANS of the flipped changes."
    if before is not None and _close(got, _unpaired_p(before, after), 1e-9):
        return ("that is an UNPAIRED permutation p: you shuffled the scores between `before` and `after`, which "
                "ignores which seed each score came from. Pair them by seed: flip the sign of each seed's change "
                "after[s] - before[s] and compare the flipped means.")
    if abs(got - _sign_flip_p(d)) < 0.1:
        return (f"yours is close but not exact: with {n} seeds there are only 2**{n} = {2 ** n} sign patterns, so "
                f"list them all (itertools.product((1, -1), repeat=n)) instead of drawing random ones.")
    return (f"flip the signs of the {n} paired changes in every one of the 2**{n} ways, take each pattern's mean, "
            f"and return the share of patterns whose |mean| is at least |the observed mean|.")


@learner_check
def check_effect_summary(effect_summary: Callable) -> None:
    """Check ``effect_summary(before, after, tolerance=0.01)`` -> ``(mean, median, improved, clear, p_value)``.

    ``before`` and ``after`` map a seed to a score. Over the seeds present in both, the change of
    seed ``s`` is ``after[s] - before[s]``; return the changes' mean and median, how many seeds
    improved by MORE than ``tolerance``, ``clear``: whether every paired seed did, and the exact
    two-sided sign-flip p-value of the mean change (the share of the ``2 ** n`` sign patterns whose
    mean is at least as far from 0 as the observed one).

    >>> check_effect_summary(lambda before, after, tolerance=0.01: (0.0, 0.0, 0, False, 1.0))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: on five seeds (changes +0.005, +0.03, +0.04, -0.2, +0.05): expected ...
    """
    call = Watch(LIBRARY + (("scipy.stats", None),))
    b, a = dict(EFFECT_BEFORE), dict(EFFECT_AFTER)
    want = _effect(b, a)
    what = "on five seeds (changes +0.005, +0.03, +0.04, -0.2, +0.05)"
    got = _effect_out(call(effect_summary, dict(b), dict(a), 0.01, what="effect_summary"))
    by_position = np.array(list(a.values())) - np.array(list(b.values()))
    if not (_close(got[0], want[0], 1e-9) and _close(got[1], want[1], 1e-9)):
        if _close(got[0], -want[0], 1e-9) and _close(got[1], -want[1], 1e-9):
            hint = "your changes have the wrong sign: a change is after[s] - before[s], so an improvement is positive."
        elif _close(got[1], float(np.median(by_position)), 1e-9):
            hint = ("you paired the scores by their position in the two dicts, but `after` lists its seeds in "
                    "another order (4, 3, 2, 1, 0): pair them by seed, after[s] - before[s] for each seed s.")
        elif _close(got[1], want[0], 1e-9):
            hint = (f"your median is the mean ({_show(want[0])}). The median is the middle change "
                    f"({_show(want[1])}): one collapsed seed drags the mean, not the median.")
        else:
            hint = "the change of seed s is after[s] - before[s]; then np.mean and np.median of the five changes."
        raise AssertionError(f"{what}: expected mean {_show(want[0])} and median {_show(want[1])}, got "
                             f"{_show(got[0])} and {_show(got[1])}: {hint}")
    if got[2] != want[2]:
        hint = ("count the seeds whose change is MORE than tolerance (0.01), not those above 0: seed 0's +0.005 is "
                "within the tolerance, no improvement." if got[2] == 4 else
                "count the seeds whose change is more than tolerance.")
        raise AssertionError(f"{what}: {want[2]} seeds improved by more than 0.01, you counted {_show(got[2])}: {hint}")
    if got[3] != want[3]:
        raise AssertionError(f"{what}: clear should be False, as seed 3 collapsed (-0.2), though the median (+0.03) "
                             f"exceeds the tolerance. clear asks whether EVERY paired seed improved by more than "
                             f"tolerance: a median or a mean alone hides one collapsed seed.")
    d5 = np.array([a[s] - b[s] for s in b])
    if not _close(got[4], want[4], 1e-9):
        raise AssertionError(f"{what}: the sign-flip p-value of the mean change is {_show(want[4])}, yours is "
                             f"{_show(got[4])}: {_p_hint(got[4], d5, np.array([b[s] for s in b]), np.array([a[s] for s in b]))}")
    # a tolerance other than 0.01, and a change exactly equal to it (0.25 is exact in binary)
    b2, a2 = {0: 0.5, 1: 0.25, 2: 0.0}, {0: 1.0, 1: 0.5, 2: 0.5}
    got = _effect_out(call(effect_summary, dict(b2), dict(a2), 0.25, what="effect_summary"))
    want = _effect(b2, a2, 0.25)
    if got[2] != want[2] or got[3] != want[3]:
        if got[2] == want[2]:
            hint = (f"your count is right, but clear is {got[3]}: clear is about every seed, not about the mean. It "
                    f"is True only when EVERY paired seed improved by more than tolerance (improved == the number "
                    f"of paired seeds); a t-test or a mean above the tolerance answers another question.")
        elif got[2] == 3:
            hint = ("with tolerance=0.25 the changes are 0.5, 0.25 and 0.5: a change EQUAL to the tolerance is not "
                    "more than it (use >, not >=), or you ignored the tolerance argument.")
        else:
            hint = "use the tolerance argument, not a fixed 0.01."
        raise AssertionError(f"with tolerance=0.25 and changes 0.5, 0.25, 0.5 expected improved {want[2]} and clear "
                             f"{want[3]}, got {_show(got[2])} and {got[3]}: {hint}")
    # seeds missing on one side (a crashed run), and a clear improvement
    b3, a3 = {0: 0.5, 1: 0.6, 2: 0.4, 7: 0.9}, {2: 0.5, 1: 0.7, 0: 0.6, 9: 0.1}
    want = _effect(b3, a3)
    try:
        got = _effect_out(call(effect_summary, dict(b3), dict(a3), 0.01, what="effect_summary"))
    except AssertionError as exc:
        if "crashed" not in str(exc):
            raise
        got, crash = None, str(exc).split("\n")[0]
    if got is None:
        raise AssertionError(f"when seed 7 ran only before and seed 9 only after, your effect_summary stopped with an "
                             f"error ({crash}): it looked up a seed that has no pair. Compare only the seeds present "
                             f"in both (0, 1, 2): a seed without its pair says nothing, so skip it (for s in before "
                             f"if s in after).")
    if not (_close(got[0], want[0], 1e-9) and _close(got[1], want[1], 1e-9)
                           and got[2] == want[2] and got[3] == want[3]):
        raise AssertionError(f"when seed 7 ran only before and seed 9 only after, compare the seeds present in both "
                             f"(0, 1, 2; each +0.1): expected {want[:4]}, got {got if got is None else tuple(got[:4])}. "
                             f"A seed without its pair says nothing about the change: skip it (for s in before if s "
                             f"in after).")
    if not _close(got[4], want[4], 1e-9):
        raise AssertionError(f"three seeds that each improved by +0.1: the sign-flip p-value is {_show(want[4])} (2 of "
                             f"the 8 sign patterns, yours and all flipped, have |mean| 0.1), yours is {_show(got[4])}: "
                             f"{_p_hint(got[4], np.full(3, 0.1))} Three seeds can never give p below 0.25.")
    call.refuse("effect_summary")
    print("check_effect_summary: all cases pass")


# --------------------------------------------------------------------------------- training loop
#: The check's class weights (K = 4) and learning rate; the lr is not train.fit's 1e-2, so a hard-coded one shows.
TRAIN_WEIGHTS = np.array([0.5, 1.0, 2.0, 4.0])
TRAIN_LR = 0.05


def _train_case() -> tuple[Any, list]:
    """A tiny conv-BatchNorm net in eval mode (as ``train.evaluate`` leaves a model) and 4 batches of 3 images
    8×8 with K = 4 classes, about 10 % of the pixels labelled 255."""
    import torch

    torch.manual_seed(7)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
                              torch.nn.Conv2d(6, 4, 1))
    net.eval()
    rng = np.random.default_rng(11)
    batches = []
    for _ in range(4):
        labels = rng.integers(0, 4, (3, 8, 8))
        labels[rng.random(labels.shape) < 0.1] = 255
        images = rng.random((3, 3, 8, 8)) + 0.3 * np.where(labels == 255, 0, labels)[:, None]
        batches.append((torch.as_tensor(images, dtype=torch.float32), torch.as_tensor(labels, dtype=torch.int64)))
    return net, batches


def _train_ref(model: Any, batches: list, class_weights: Any, lr: float, mistake: str = "") -> list[float]:
    """The loop body of exercise 6, or the typical wrong answer named by ``mistake``, on a copy of ``model``."""
    import copy

    import torch
    import torch.nn.functional as F

    model = copy.deepcopy(model)
    weight = None if mistake == "unweighted" else torch.as_tensor(np.asarray(class_weights), dtype=torch.float32)
    lr = 1e-2 if mistake == "fixed lr" else lr
    make = (lambda: torch.optim.SGD(model.parameters(), lr=lr)) if mistake == "sgd" else \
        (lambda: torch.optim.AdamW(model.parameters(), lr=lr)) if mistake == "adamw" else \
        (lambda: torch.optim.Adam(model.parameters(), lr=lr))
    opt = make()
    model.eval() if mistake == "eval" else model.train()
    losses = []
    for images, labels in batches:
        if mistake == "optimizer inside":
            opt = make()
        if mistake not in ("no zero_grad", "zero_grad after backward"):
            opt.zero_grad()
        logits = model(images)
        if mistake == "softmax":
            logits = logits.softmax(1)
        reduction = "sum" if mistake == "sum" else "mean"
        loss = F.cross_entropy(logits, labels, weight=weight, ignore_index=255, reduction=reduction)
        if mistake == "pixel mean":
            loss = F.cross_entropy(logits, labels, weight=weight, ignore_index=255, reduction="sum") \
                / (labels != 255).sum()
        loss.backward()
        if mistake == "zero_grad after backward":
            opt.zero_grad()
        opt.step()
        if mistake == "loss after step":
            with torch.no_grad():
                loss = F.cross_entropy(model(images), labels, weight=weight, ignore_index=255)
        losses.append(float(loss.detach()))
    return losses


#: What each typical wrong loop did, by the ``mistake`` name of :func:`_train_ref`.
TRAIN_HINTS = {
    "no zero_grad": ("you never reset the gradients: loss.backward() ADDS to each parameter's .grad, so from the "
                     "second step on every update pushes with the sum of all the gradients so far. Call "
                     "optimizer.zero_grad() once per step, before loss.backward()."),
    "optimizer inside": ("you build a new optimizer at every step: Adam keeps running averages of each gradient, "
                         "and a fresh Adam starts them from zero, so each of your updates is the first step of a "
                         "new Adam. Build the optimizer once, before the loop."),
    "eval": ("the model stays in evaluation mode (the check hands it to you in eval mode, as train.evaluate leaves "
             "it): its BatchNorm layers normalise with their stored running statistics, not with the batch's. Call "
             "model.train() before the loop."),
    "unweighted": ("that is the unweighted cross-entropy: pass the class weights to cross_entropy (weight=, a "
                   "float32 tensor), so a rare class's pixels count more."),
    "sum": ("your loss is the weighted SUM over the pixels; reduction='mean' (the default) divides it by the sum "
            "of the weights of the labelled pixels, as in exercise 2, so the loss does not grow with the batch."),
    "pixel mean": ("you divided the weighted sum by the number of labelled pixels; torch's weighted mean divides "
                   "by the sum of their weights (exercise 2)."),
    "softmax": ("you applied softmax before cross_entropy. cross_entropy takes the raw logits and applies "
                "log_softmax itself: a softmax before it squashes the logits into [0, 1] and the loss barely moves."),
    "fixed lr": (f"your learning rate is 0.01, not the lr argument (the check passes lr={TRAIN_LR}): build the "
                 f"optimizer with lr=lr."),
    "sgd": "you used SGD; this loop uses Adam, as train.fit does: torch.optim.Adam(model.parameters(), lr=lr).",
    "zero_grad after backward": ("you call zero_grad() between loss.backward() and optimizer.step(): it wipes the "
                                 "gradients backward() just computed, so step() moves nothing (the losses are those "
                                 "of the untrained model). Zero the gradients at the START of each step, before "
                                 "backward()."),
    "loss after step": ("your losses are computed AFTER optimizer.step(), with the updated weights: record the loss "
                        "that backward() used, taken before the step (loss.item() of the same loss)."),
    "adamw": ("you used AdamW: it also shrinks every weight a little at each step (weight decay, 0.01 by default), "
              "so from step 2 on the losses drift apart. This loop uses plain Adam, as train.fit does: "
              "torch.optim.Adam(model.parameters(), lr=lr)."),
}

@learner_check
def check_train_steps(train_steps: Callable) -> None:
    """Check ``train_steps(model, batches, class_weights, lr)`` -> one loss per batch, each before its update.

    ``batches`` is a list of ``(images, labels)`` tensors, ``(N, 3, H, W)`` float32 and ``(N, H, W)`` int64
    with unlabelled pixels 255. The loop builds ONE Adam optimizer with ``lr``, puts the model in
    training mode, and for each batch: zero the gradients, forward, weighted cross-entropy with
    ``ignore_index=255``, backward, step. The check runs the learner's loop and its own on
    identical copies of a tiny conv-BatchNorm net (seeded, CPU: deterministic) and compares the
    loss histories to a relative 1e-6 (AdamW's weight decay moves them by 1e-5); a mismatch is matched
    against the typical wrong loops (:data:`TRAIN_HINTS`).
    An answer that calls ``segcourse`` (``train.fit``) is refused.

    >>> check_train_steps(lambda model, batches, class_weights, lr: [0.0] * len(batches))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: on 4 batches of 3 images 8×8 (K = 4, weights [0.5, 1, 2, 4], lr 0.05) the ...
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)            # 8×8 images: more threads only wait for each other (seconds on a busy CPU)
    try:
        _check_train_steps(train_steps)
    finally:
        torch.set_num_threads(threads)
    print("check_train_steps: all cases pass")


def _check_train_steps(train_steps: Callable) -> None:
    import copy

    call = Watch(LIBRARY)
    net, batches = _train_case()
    start = copy.deepcopy(net)                 # a pristine copy for the hints' reference loops
    want = _train_ref(start, batches, TRAIN_WEIGHTS, TRAIN_LR)
    what = (f"on 4 batches of 3 images 8×8 (K = 4, weights {_shows(TRAIN_WEIGHTS)}, lr {TRAIN_LR}) the loop's "
            f"losses are {_shows(want)}")
    try:
        raw = call(train_steps, net, batches, TRAIN_WEIGHTS.copy(), TRAIN_LR, what="train_steps")
    except AssertionError as exc:
        text = str(exc)
        if "out of bounds" in text:
            raise AssertionError(f"{text}\nSome pixels are labelled 255 (unlabelled): they are no class. Pass "
                                 f"ignore_index=255 to cross_entropy so they take no part in the loss.") from None
        if "Double" in text or "dtype" in text:
            raise AssertionError(f"{text}\nclass_weights arrive as a numpy float64 array and the logits are "
                                 f"float32: convert the weights with torch.as_tensor(class_weights, "
                                 f"dtype=torch.float32).") from None
        raise
    if isinstance(raw, (int, float)) or not hasattr(raw, "__len__"):
        raise AssertionError(f"return a list with one loss per batch ({len(batches)} here); yours is "
                             f"{type(raw).__name__}")
    try:
        got = [float(v.detach()) if hasattr(v, "detach") else float(v) for v in raw]
    except (TypeError, ValueError):
        raise AssertionError(f"return one number per batch (loss.item()); yours holds "
                             f"{type(next(iter(raw), None)).__name__}") from None
    if len(got) != len(want):
        raise AssertionError(f"return one loss per batch: {len(batches)} batches, yours has {len(got)} losses")
    if not np.allclose(got, want, rtol=1e-6, atol=1e-7):
        first = int(np.flatnonzero(~np.isclose(got, want, rtol=1e-6, atol=1e-7))[0])
        hint = next((TRAIN_HINTS[m] for m in TRAIN_HINTS
                     if np.allclose(got, _train_ref(start, batches, TRAIN_WEIGHTS, TRAIN_LR, m), rtol=1e-6, atol=1e-7)),
                    "per batch: optimizer.zero_grad(), logits = model(images), loss = cross_entropy(logits, labels, "
                    "weight=..., ignore_index=255), loss.backward(), optimizer.step(); append loss.item().")
        agree = (f"they agree for step{'s' if first > 1 else ''} 1{f' to {first}' if first > 1 else ''} and "
                 f"differ from step {first + 1} on" if first else "they differ from step 1 on")
        raise AssertionError(f"{what}, yours are {_shows(got)}: {agree}. {hint}")
    call.refuse("train_steps", use="torch (an optimizer, cross_entropy, backward, step)")

