"""Learner checks of lesson 00, masks and IoU.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written. Each exercise
is a variant the lesson did not print: Dice per image of a batch (the lesson scores one pair), a
mask from logits by sigmoid and threshold, a confusion matrix from per-class scores (argmax over
the class axis first), the mean over images of each image's mean IoU (the lesson pools), a mean
car IoU under the three conventions for two empty masks (0, 1, skipped), the boundary IoU of two
masks from a dilation ratio (exercise 7: ``d`` from the image diagonal, then both bands; the lesson
calls ``metrics.boundary_iou``), which pair of classes a confusion matrix confuses, and class ids
from a colour-coded mask and back (a dict table, ids that are not 0, 1, 2, ..., a batch, 255 for
colours in no row). ``check_boundary_band`` (one band ``d`` pixels wide) is kept for other uses.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import re
import sys

import numpy as np

from .. import metrics
from ._core import _array, _call, _close, _number, _plain, learner_check
from ._refuse import LIBRARY, USE_NUMPY, Watch

__all__ = ["check_dice_per_image", "check_iou_at_threshold", "check_confusion_from_scores",
           "check_image_mean_iou", "check_painted_mask", "check_empty_conventions", "check_boundary_band",
           "check_boundary_iou",
           "check_confused_pair", "check_rgb_to_ids"]


#: scipy's boolean dissimilarities: ``1 - dice(a, b)`` is Dice, ``1 - jaccard(a, b)`` is IoU.
SCIPY: tuple[tuple[str, frozenset[str]], ...] = (("scipy.spatial.distance", frozenset({"dice", "jaccard"})),)

#: torchmetrics computes Dice/F1, IoU, confusion matrices and mean IoU (exercises 1 to 4): every
#: function of it is watched, as in lesson 03's checks.
TORCHMETRICS: tuple[tuple[str, None], ...] = (("torchmetrics", None),)


def _refuse_torchmetrics(call: Watch, what: str) -> None:
    """Fail with a hint if the learner's ``what`` called a torchmetrics function (``TORCHMETRICS``).

    >>> watch = Watch(TORCHMETRICS)
    >>> _refuse_torchmetrics(watch, "dice_per_image")      # nothing called: nothing to refuse
    >>> watch.seen = ["torchmetrics.functional.classification.f_beta.binary_f1_score"]
    >>> _refuse_torchmetrics(watch, "dice_per_image")
    Traceback (most recent call last):
    ...
    AssertionError: your dice_per_image calls torchmetrics.functional.classification.f_beta.binary_f1_score: ...
    """
    seen = [name for name in call.seen if name.split(".", 1)[0] == "torchmetrics" and not name.endswith(".<module>")]
    if seen:
        raise AssertionError(f"your {what} calls {seen[0]}: torchmetrics computes the metric for you, and this "
                             f"exercise asks you to write it yourself. Replace the call with {USE_NUMPY}.")


def _refuse(call: Watch, what: str) -> None:
    """``call.refuse(what)``, but a call into sklearn or scipy is refused with its own reason.

    A call into sklearn or scipy is named as what it is: a function that computes the score for you.

    >>> watch = Watch(SCIPY)
    >>> watch.seen = ["scipy.spatial.distance.dice"]
    >>> _refuse(watch, "dice_per_image")
    Traceback (most recent call last):
    ...
    AssertionError: your dice_per_image calls scipy.spatial.distance.dice: it gives the right numbers, but it computes the score for you, ...
    """
    first = call.seen[0] if call.seen else ""
    if first and first.split(".", 1)[0] in ("sklearn", "scipy"):
        raise AssertionError(f"your {what} calls {first}: it gives the right numbers, but it computes the score for "
                             f"you, and this exercise asks you to write it yourself. Replace the call with {USE_NUMPY}.")
    call.refuse(what)


TRUTH = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]
PRED = [[1, 0, 0], [1, 1, 0], [0, 0, 0]]


def _show(value: Any) -> str:
    """A number as a learner reads it: ``0.5``, ``nan``, never ``np.float64(0.5)``."""
    value = float(value)
    return "nan" if np.isnan(value) else f"{round(value, 4):g}"


def _shows(values: Sequence[Any]) -> str:
    return "[" + ", ".join(_show(v) for v in np.ravel(values)) + "]"


# ----------------------------------------------------------------------------------- Dice per image
def _dice_per_image(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    p, t = np.asarray(pred) != 0, np.asarray(target) != 0
    inter = np.count_nonzero(p & t, axis=(1, 2))
    total = np.count_nonzero(p, axis=(1, 2)) + np.count_nonzero(t, axis=(1, 2))
    return np.divide(2.0 * inter, total, out=np.full(len(p), np.nan), where=total > 0)


def _first_batch() -> tuple[np.ndarray, np.ndarray]:
    """Lesson 00's 3×3 pair, two empty masks, a one-pixel prediction on an empty target, a mask with itself."""
    empty = np.zeros((3, 3), bool)
    one = empty.copy()
    one[1, 1] = True
    pred = np.stack([np.array(PRED, bool), empty, one, np.array(TRUTH, bool)])
    target = np.stack([np.array(TRUTH, bool), empty, empty, np.array(TRUTH, bool)])
    return pred, target


@learner_check
def check_dice_per_image(dice_per_image: Callable) -> None:
    """Check ``dice_per_image(pred, target)``: one Dice per image of a batch ``(N, H, W)``.

    Nonzero values are object (masks saved as 8-bit images hold 0 and 255); an image whose two
    masks are both empty gets NaN.

    The answer must be the learner's own numpy: one that calls ``segcourse`` (or
    ``sklearn.metrics``, or ``scipy.spatial.distance.dice``) is refused once its numbers are right.

    >>> check_dice_per_image(lambda p, t: np.zeros(len(p)))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: image 0 is lesson 00's 3×3 pair: Dice 2·2 / (3 + 3) = 0.6667, yours is 0
    """
    call = Watch(LIBRARY + SCIPY + TORCHMETRICS + (("sklearn.metrics", {"f1_score", "jaccard_score"}),))
    pred, target = _first_batch()
    want = _dice_per_image(pred, target)
    raw = _plain(call(dice_per_image, pred, target, what="dice_per_image"))
    if np.ndim(raw) == 0 and not isinstance(raw, (dict, str)) and raw is not None:
        pooled = metrics.dice(pred, target)
        extra = " (that is the Dice of all pixels pooled)" if _close(_number(raw, "dice_per_image"), pooled, 1e-6) else ""
        raise AssertionError(f"you returned one number for a batch of {len(pred)} images{extra}: return one Dice "
                             f"per image, an array of shape ({len(pred)},). Count over axes (1, 2) only.")
    got = _array(raw, "dice_per_image").astype(float)
    if got.shape != want.shape:
        raise AssertionError(f"for a batch of shape {pred.shape} return shape {want.shape}, one Dice per image; "
                             f"yours has shape {got.shape}. Count over the pixel axes (1, 2), not axis 0.")
    if _close(got[0], 0.5, 1e-6):
        raise AssertionError("image 0 is lesson 00's 3×3 pair: your 0.5 is its IoU. Dice is "
                             "2|P ∩ T| / (|P| + |T|) = 2·2 / (3 + 3) = 0.6667.")
    if not _close(got[0], want[0], 1e-6) and _close(got[0], metrics.dice(pred, target), 1e-6):
        raise AssertionError(f"image 0 is lesson 00's 3×3 pair: Dice 2·2 / (3 + 3) = 0.6667, yours is "
                             f"{_show(got[0])}, the Dice of all {len(pred)} images pooled: you summed over the whole "
                             f"batch; sum over axes (1, 2) only, so that each image gets its own Dice.")
    if _close(got[0], want[0] / 2, 1e-6):
        raise AssertionError(f"image 0 is lesson 00's 3×3 pair: Dice 2·2 / (3 + 3) = 0.6667, yours is "
                             f"{_show(got[0])}, half of it: you forgot the 2 in 2|P ∩ T|. |P| + |T| counts each "
                             f"overlapping pixel twice, so the numerator counts it twice too.")
    if _close(got[0], 1.0, 1e-6):
        raise AssertionError("image 0 is lesson 00's 3×3 pair: Dice 2·2 / (3 + 3) = 0.6667, yours is 1 = 2·2 / 4: "
                             "you divided 2|P ∩ T| by the union |P ∪ T|. Dice divides by |P| + |T|, which counts "
                             "the overlap twice, as the 2 in the numerator does.")
    if not _close(got[0], want[0], 1e-6):
        raise AssertionError(f"image 0 is lesson 00's 3×3 pair: Dice 2·2 / (3 + 3) = 0.6667, yours is {_show(got[0])}")
    if not np.isnan(got[1]):
        raise AssertionError(f"image 1 has two empty masks: your Dice is {_show(got[1])}. 0/0 has no value; return NaN "
                             f"for that image so that a mean over images can skip it (np.nanmean).")
    if not _close(got[2], 0.0):
        raise AssertionError(f"image 2 predicts one pixel on an empty target: your Dice is {_show(got[2])}, it must "
                             f"be 0 (nothing overlaps; only *both* empty is NaN)")
    if not _close(got[3], 1.0, 1e-9):
        raise AssertionError(f"image 3 is a mask compared with itself: Dice 1, yours is {_show(got[3])}")
    # masks as 8-bit images store 0 and 255
    p255, t255 = pred.astype(np.uint8) * 255, target.astype(np.uint8) * 255
    got = _array(call(dice_per_image, p255, t255, what="dice_per_image"), "dice_per_image").astype(float)
    if got.shape != want.shape or not np.allclose(got, want, atol=1e-6, equal_nan=True):
        raise AssertionError(f"on the same masks stored as 0/255 uint8 your Dice is {_shows(got)}, on bool masks "
                             f"{_shows(want)}: turn them into bool first (mask != 0). uint8 arithmetic wraps at 256 "
                             f"(255 * 255 = 1, 255 + 255 = 254) and a sum of values counts 255 per pixel.")
    # two nonzero values that share no bit: 1 & 2 is 0
    ones, twos = np.array(TRUTH, np.uint8)[None], 2 * np.array(TRUTH, np.uint8)[None]
    got = _array(call(dice_per_image, ones, twos, what="dice_per_image"), "dice_per_image").astype(float)
    if got.shape != (1,) or not _close(got[0], 1.0, 1e-6):
        bitwise = " (bitwise, 1 & 2 is 0)" if got.shape == (1,) and _close(got[0], 0.0) else ""
        raise AssertionError(f"pred holds 1 and target holds 2 on the same 3 pixels: both say 'object' there, so "
                             f"Dice is 1; yours is {_shows(got)}{bitwise}. & on raw values compares bits, not "
                             f"'object or not': turn each mask into bool first (mask != 0).")
    rng = np.random.default_rng(7)
    for _ in range(10):
        n, h, w = (int(v) for v in rng.integers(2, 10, 3))
        p = rng.random((n, h, w)) < rng.uniform(0.05, 0.7)
        t = rng.random((n, h, w)) < rng.uniform(0.05, 0.7)
        want = _dice_per_image(p, t)
        got = _array(call(dice_per_image, p, t, what="dice_per_image"), "dice_per_image").astype(float)
        if got.shape != want.shape or not np.allclose(got, want, atol=1e-6, equal_nan=True):
            raise AssertionError(f"on random masks of shape {p.shape} expected {_shows(want)}, got "
                                 f"{_shows(got) if got.size < 12 else got.shape}: count pixels per image (axes 1 and 2)")
    _refuse_torchmetrics(call, "dice_per_image")
    _refuse(call, "dice_per_image")
    print("check_dice_per_image: all cases pass")


# ---------------------------------------------------------------------------------- threshold
def _iou_at(logits: np.ndarray, target: np.ndarray, threshold: float) -> float:
    prob = 1.0 / (1.0 + np.exp(-np.asarray(logits, float)))
    return metrics.iou(prob > threshold, np.asarray(target) != 0)


def _threshold_fits(iou_at_threshold: Callable, call: Callable, logits: np.ndarray, target: np.ndarray,
                    mask_of: Callable) -> bool:
    """Whether the learner's IoU equals that of ``mask_of(logits, t)`` at every threshold the check uses."""
    for t_ in (0.5, 0.7, 0.3, 0.9):
        try:
            got = _number(call(iou_at_threshold, logits, target, t_, what="iou_at_threshold"), "iou_at_threshold")
        except Exception:                        # a probe that fails says nothing
            return False
        if not _close(got, metrics.iou(mask_of(logits, t_), target != 0), 1e-6):
            return False
    return True


@learner_check
def check_iou_at_threshold(iou_at_threshold: Callable) -> None:
    """Check ``iou_at_threshold(logits, target, threshold)``: IoU of ``sigmoid(logits) > threshold``.

    An answer that calls ``segcourse`` (or ``sklearn.metrics.jaccard_score``,
    ``scipy.spatial.distance.jaccard`` or ``torchmetrics``) is refused once its numbers are right.

    >>> check_iou_at_threshold(lambda z, t, th: 0.0)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: at threshold 0.5 your mask is the background: ...
    """
    call = Watch(LIBRARY + SCIPY + TORCHMETRICS + (("sklearn.metrics", {"jaccard_score"}),))
    logits = np.array([[-3.0, -0.4, 0.3], [0.8, 1.2, 2.5], [-1.5, 0.6, 4.0]])
    target = np.array([[0, 0, 0], [1, 1, 1], [0, 1, 1]])
    for th in (0.5, 0.7, 0.3, 0.9):
        want = _iou_at(logits, target, th)
        got = _number(call(iou_at_threshold, logits, target, th, what="iou_at_threshold"), "iou_at_threshold")
        if _close(got, want, 1e-6):
            continue
        tanh_mask = np.tanh(logits) > th
        if _close(got, metrics.iou(tanh_mask, target != 0), 1e-6) and _threshold_fits(
                iou_at_threshold, call, logits, target, lambda z, t_: np.tanh(z) > t_):
            raise AssertionError(f"at threshold {th} your IoU {_show(got)} is that of tanh(z) > {th}: tanh squashes a "
                                 f"logit into -1 to 1, so it is no probability (tanh(0) is 0, not 0.5). The "
                                 f"probability is the sigmoid, 1 / (1 + exp(-z)), which maps 0 to 0.5.")
        if _close(got, metrics.iou(logits > th, target != 0), 1e-6):
            raise AssertionError(f"at threshold {th} your IoU {_show(got)} is that of logits > {th}: the threshold is "
                                 f"a probability, so apply the sigmoid 1 / (1 + exp(-z)) first, then compare")
        if _close(got, metrics.iou(1 / (1 + np.exp(-logits)) <= th, target != 0), 1e-6):
            raise AssertionError(f"at threshold {th} your mask is the background: object is where the "
                                 f"probability is ABOVE the threshold (prob > threshold)")
        mask = 1 / (1 + np.exp(-logits)) > th
        if _close(got, metrics.dice(mask, target != 0), 1e-6):
            raise AssertionError(f"at threshold {th} your {_show(got)} is the Dice of the mask, 2|P ∩ T| / (|P| + |T|); "
                                 f"the IoU is {_show(want)}: divide the intersection by the union |P ∪ T|.")
        if _close(got, float(np.mean(mask == (target != 0))), 1e-6):
            raise AssertionError(f"at threshold {th} your {_show(got)} is the pixel accuracy, the share of pixels "
                                 f"the mask gets right, background (TN) included; the IoU is {_show(want)}: "
                                 f"TP / (TP + FP + FN), with no TN term.")
        inter, total = np.count_nonzero(mask & (target != 0)), np.count_nonzero(mask) + np.count_nonzero(target)
        if total and _close(got, inter / total, 1e-6):
            raise AssertionError(f"at threshold {th} your {_show(got)} is |P ∩ T| / (|P| + |T|) = {inter} / {total}: "
                                 f"|P| + |T| counts each overlapping pixel twice, so it is not the union. The union "
                                 f"is |P ∪ T| = |P| + |T| - |P ∩ T|, and the IoU is {_show(want)}.")
        if th != 0.5 and _close(got, _iou_at(logits, target, 0.5), 1e-6):
            raise AssertionError(f"at threshold {th} your IoU {_show(got)} is the one at 0.5 (logits > 0): your mask "
                                 f"does not use the threshold argument, so every threshold gives the same mask. "
                                 f"Compare the probability with threshold, not with a fixed number.")
        raise AssertionError(f"for logits={logits.tolist()}, target={target.tolist()} and threshold {th} the IoU "
                             f"is {_show(want)}, yours is {_show(got)}")
    # a tie: logit 0 is probability exactly 0.5; "above the threshold" leaves it out
    tie, tie_target = np.array([[0.0, 2.0], [-2.0, 1.0]]), np.array([[0, 1], [0, 1]])
    got = _number(call(iou_at_threshold, tie, tie_target, 0.5, what="iou_at_threshold"), "iou_at_threshold")
    if not _close(got, 1.0, 1e-9):
        if _close(got, 2 / 3, 1e-6):
            raise AssertionError(f"for logits={tie.tolist()}, target={tie_target.tolist()} at threshold 0.5 your IoU is "
                                 f"{_show(got)}, expected 1: the logit 0 has probability exactly 0.5, equal to the "
                                 f"threshold, and you kept it (>=). Object is where the probability is ABOVE the "
                                 f"threshold: prob > threshold.")
        raise AssertionError(f"for logits={tie.tolist()}, target={tie_target.tolist()} at threshold 0.5 the IoU is 1, "
                             f"yours is {_show(got)}")
    got = _number(call(iou_at_threshold, np.full((2, 2), -5.0), np.zeros((2, 2), int), 0.5, what="iou_at_threshold"),
                  "iou_at_threshold")
    if not np.isnan(got):
        raise AssertionError(f"nothing is predicted and the target is empty: your IoU is {_show(got)}, the course "
                             f"returns NaN for two empty masks (0/0)")
    big = np.array([[-800.0, 800.0], [900.0, -900.0]])
    got = _number(call(iou_at_threshold, big, np.array([[0, 1], [0, 0]]), 0.5, what="iou_at_threshold"), "iou_at_threshold")
    if not _close(got, 0.5, 1e-9):
        raise AssertionError(f"logits of ±800 and ±900 (very confident pixels) give IoU {_show(got)}, expected 0.5: "
                             f"exp(z) / (1 + exp(z)) is inf / inf = NaN there. Write the sigmoid as "
                             f"1 / (1 + exp(-z)), which gives 0 or 1 (or compare z with log(t / (1 - t))).")
    rng = np.random.default_rng(5)
    for _ in range(8):
        shape = tuple(int(v) for v in rng.integers(2, 12, 2))
        t = rng.random(shape) < 0.4
        z = rng.normal(0, 2, shape) + 2 * t
        th = float(rng.choice([0.2, 0.5, 0.65, 0.8]))
        want = _iou_at(z, t, th)
        got = _number(call(iou_at_threshold, z, t.astype(np.uint8), th, what="iou_at_threshold"), "iou_at_threshold")
        if not _close(got, want, 1e-6):
            raise AssertionError(f"on random logits of shape {shape} at threshold {th}: expected {_show(want)}, got {_show(got)}")
    _refuse_torchmetrics(call, "iou_at_threshold")
    _refuse(call, "iou_at_threshold")
    print("check_iou_at_threshold: all cases pass")


# ------------------------------------------------------------------------- confusion from scores
#: How many more Python steps the answer may take on the large case than on the small one. An
#: answer without a Python loop over pixels takes exactly as many on both (the images and classes
#: are the same; only H and W grow); a loop over pixels or rows adds at least one per row.
LOOP_SLACK = 20


def _python_steps(fn: Callable, *args: Any, what: str) -> int:
    """How many Python-level events (calls and lines, in any Python function) ``fn(*args)`` runs.

    Counted with :func:`sys.settrace`, so the count is the same on every machine and under any
    load, unlike a time. numpy's C code (``argmax``, ``bincount``, ...) is one step however large
    its array; a ``for`` loop, a comprehension, ``np.vectorize`` or ``np.apply_along_axis`` over
    the pixels adds steps per pixel. ``collections.Counter`` counts in C but over one Python
    object per pixel: a call into it is refused outright, and so is an answer that removes the
    trace hook (``sys.settrace(None)``). A tracer already installed (a coverage tool) is restored.
    """
    count, counter, removed = 0, False, False

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count, counter
        count += 1
        if event == "call" and frame.f_code.co_qualname.startswith("Counter.") \
                and frame.f_globals.get("__name__") == "collections":
            counter = True                           # C code behind it iterates the pixels as Python objects
        return tracer

    def traced(*a: Any) -> Any:
        nonlocal removed
        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            result = fn(*a)
            removed = sys.gettrace() is not tracer
            return result
        finally:
            sys.settrace(previous)

    _call(traced, *args, what=what)
    if removed:
        raise AssertionError(f"your {what} switched off the check's step counter: after it ran, the trace hook the "
                             f"check installed (sys.settrace) was gone. The check counts your function's Python "
                             f"steps to see whether it loops over the pixels; remove sys.settrace / sys.setprofile "
                             f"(and any debugger or profiler) from your function.")
    if counter:
        raise AssertionError(COUNTER_HINT.format(what=what))
    return count


COUNTER_HINT = ("your {what} counts with collections.Counter: Counter(zip(target.tolist(), labels.tolist())) turns "
                "every pixel into a Python object and counts them one by one, a Python loop over the pixels "
                "hidden inside Counter's C code. Let numpy count: one index K * target + label per pixel, then "
                "np.bincount(index, minlength=K*K).")


def _loop_case(h: int) -> tuple[np.ndarray, np.ndarray]:
    """Two images, K = 3, ``h × h`` pixels: the same classes and images at every size."""
    rng = np.random.default_rng(12)
    return rng.normal(0, 1, (2, 3, h, h)), rng.integers(0, 3, (2, h, h))


def _refuse_pixel_loop(confusion_from_scores: Callable) -> None:
    """Fail if the answer's Python steps grow with the number of pixels (a Python loop over them)."""
    small, large = _loop_case(4), _loop_case(32)
    _python_steps(confusion_from_scores, *small, what="confusion_from_scores")   # first call: lazy imports
    n_small = _python_steps(confusion_from_scores, *small, what="confusion_from_scores")
    n_large = _python_steps(confusion_from_scores, *large, what="confusion_from_scores")
    if n_large > n_small + LOOP_SLACK:
        raise AssertionError(
            f"your numbers are right, but your function runs a Python loop over the pixels: on 2 images of 4×4 "
            f"pixels it takes {n_small} Python steps, on 2 images of 32×32 it takes {n_large} (64 times the pixels). "
            f"A for loop over pixels or rows, a list comprehension, np.vectorize, np.apply_along_axis or "
            f"collections.Counter over the pixels all do this. "
            f"Let numpy do the counting: labels = scores.argmax(axis=1), one index K * target + label per pixel, "
            f"then np.bincount(index, minlength=K*K).")

def _cm_from_scores(scores: np.ndarray, target: np.ndarray, axis: int = 1) -> np.ndarray:
    k = np.shape(scores)[1]
    labels = np.argmax(scores, axis=axis)
    return metrics.confusion_matrix(labels, target, k)


def _uses_max_not_argmax(fn: Callable) -> bool:
    """Whether ``fn``'s source takes a ``max`` of the scores and never an ``argmax`` (comments left out)."""
    import inspect

    try:
        code = re.sub(r"#.*", "", inspect.getsource(fn))
    except (OSError, TypeError):
        return False
    return bool(re.search(r"(\.|\bnp\.)a?max\s*\(", code)) and "argmax" not in code


@learner_check
def check_confusion_from_scores(confusion_from_scores: Callable) -> None:
    """Check ``confusion_from_scores(scores, target)``: rows = truth, scores ``(N, K, H, W)``.

    An answer that calls ``segcourse`` (or ``sklearn.metrics.confusion_matrix``) is refused once
    its numbers are right, and so is one whose number of Python steps grows with the number of
    pixels (a Python loop over them; counted with ``sys.settrace``, never timed). The counts must
    be integers (``np.histogram2d``'s floats are refused). Last, target pixels of 255 (void) must
    be left out of the matrix.

    >>> check_confusion_from_scores(lambda s, t: np.zeros((2, 2), int))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: scores of shape (N, K, H, W) = (3, 3, 3, 3) have K = 3 classes: ...
    """
    call = Watch(LIBRARY + TORCHMETRICS + (("sklearn.metrics", {"confusion_matrix"}),))
    rng = np.random.default_rng(2)
    target = rng.integers(0, 3, (3, 3, 3))          # N = K = H = W = 3: argmax over a wrong axis still runs
    scores = rng.normal(0, 1, (3, 3, 3, 3)) + 2.0 * np.moveaxis(np.eye(3)[target], -1, 1)
    want = _cm_from_scores(scores, target)
    max_hint = ("you took the largest score (max) at each pixel, not its class: scores.max(axis=1) is how sure the "
                "model is, scores.argmax(axis=1) is which class it picks. The label map is the argmax.")
    try:
        got = _array(call(confusion_from_scores, scores, target, what="confusion_from_scores"),
                     "confusion_from_scores")
    except AssertionError as exc:
        if _uses_max_not_argmax(confusion_from_scores):
            raise AssertionError(f"your function failed ({str(exc).splitlines()[0][:120]}); {max_hint}") from None
        raise
    if (got.shape != (3, 3) or not np.array_equal(got, want)) and _uses_max_not_argmax(confusion_from_scores):
        raise AssertionError(f"on a batch of 3 images with K = 3 your matrix is wrong: {max_hint}")
    if got.shape != (3, 3):
        raise AssertionError(f"scores of shape (N, K, H, W) = {scores.shape} have K = 3 classes: return a 3×3 matrix; "
                             f"yours has shape {got.shape}. First labels = scores.argmax(1), then count pairs.")
    if not np.array_equal(got, want) and np.array_equal(got, want.T):
        raise AssertionError("your matrix is transposed: rows must be the ground truth (target) and columns the "
                             "prediction, so cm[i, j] counts pixels of true class i predicted as j")
    for axis in (0, 2, 3):
        if not np.array_equal(got, want) and np.array_equal(got, _cm_from_scores(scores, target, axis)):
            raise AssertionError(f"you took the argmax over axis {axis}; the class axis of scores (N, K, H, W) is "
                                 f"axis 1: labels = scores.argmax(axis=1)")
    if not np.array_equal(got, want):
        raise AssertionError(f"on a batch of 3 images with K = 3 expected\n{want}\nbut got\n{got.astype(int)}")
    if got.dtype.kind not in "iu":
        raise AssertionError(f"your counts are right, but of dtype {got.dtype}: a confusion matrix counts pixels, "
                             f"so it holds integers (np.histogram2d, for one, returns floats). Count with "
                             f"np.bincount, which returns integers, or convert with .astype(np.int64).")
    # one-hot scores, and a class that never occurs
    t = np.array([[[0, 1], [1, 0]]])
    onehot = np.moveaxis(np.eye(4)[t], -1, 1)
    raw = call(confusion_from_scores, onehot, t, what="confusion_from_scores")
    got = _array(raw, "confusion_from_scores")
    if got.shape != (4, 4):
        raise AssertionError(f"with 4 score channels the matrix is 4×4 even when classes 2 and 3 never occur: take K "
                             f"from scores.shape[1] and use np.bincount(..., minlength=K*K); your shape is {got.shape}")
    if not np.array_equal(got, metrics.confusion_matrix(t, t, 4)):
        raise AssertionError(f"for a one-hot stack of the target itself expected a diagonal matrix "
                             f"{np.diag(metrics.confusion_matrix(t, t, 4)).tolist()} on the diagonal, got\n{got.astype(int)}")
    for _ in range(6):
        k = int(rng.integers(17, 24))
        t = rng.integers(0, k, (2, 12, 12)).astype(np.uint8)
        s = rng.normal(0, 1, (2, k, 12, 12)).astype(np.float32)
        got = _array(call(confusion_from_scores, s, t, what="confusion_from_scores"), "confusion_from_scores")
        if not np.array_equal(got, _cm_from_scores(s, t)):
            raise AssertionError(f"wrong counts with a uint8 target and K = {k}: K * target overflows uint8 (it wraps "
                                 f"at 256); convert to a wider integer type (astype(np.int64)) before computing the index")
    _refuse_torchmetrics(call, "confusion_from_scores")
    _refuse(call, "confusion_from_scores")
    _refuse_pixel_loop(confusion_from_scores)
    # void pixels (target 255) are left out
    t = np.array([[[0, 1, 255], [2, 255, 1]]])
    s = np.moveaxis(np.eye(3)[np.array([[[0, 2, 1], [2, 0, 1]]])], -1, 1)
    valid = t != 255
    want = np.bincount(3 * t[valid] + s.argmax(1)[valid], minlength=9).reshape(3, 3)
    head = (f"target {t.tolist()} has 2 void pixels (255): leave them out, so the matrix counts the "
            f"{int(valid.sum())} other pixels")
    try:
        got = _array(call(confusion_from_scores, s, t, what="confusion_from_scores"), "confusion_from_scores")
    except AssertionError as exc:
        raise AssertionError(f"{head}. Your function crashed: {exc}. K * 255 + label lies past the K * K cells: "
                             f"keep = target != 255, then count only target[keep] and labels[keep].") from None
    if got.shape != (3, 3) or not np.array_equal(got, want):
        counted = f"; yours counts {int(np.sum(got))}" if got.shape == (3, 3) else f"; yours has shape {got.shape}"
        raise AssertionError(f"{head}{counted}. Expected\n{want}\nKeep = target != 255, then count only "
                             f"target[keep] and labels[keep].")
    print("check_confusion_from_scores: all cases pass")


# ------------------------------------------------------------------------------ image mean IoU
def _image_miou(pred: np.ndarray, target: np.ndarray, k: int) -> float:
    return float(np.nanmean([metrics.mean_iou(p, t, k) for p, t in zip(pred, target)]))


#: Two 2×3 images, K = 4: image 0 invents class 2 (predicted, not in its target); class 3 occurs nowhere.
MIOU_PRED = np.array([[[0, 0, 2], [1, 1, 1]], [[0, 1, 1], [1, 1, 0]]])
MIOU_TARGET = np.array([[[0, 0, 0], [1, 1, 1]], [[0, 1, 1], [1, 1, 1]]])
#: One 2×3 image, K = 3: the model never predicts class 2, which its target has (a missed class).
MISSED_PRED = np.array([[[0, 0, 1], [1, 1, 1]]])
MISSED_TARGET = np.array([[[0, 0, 2], [1, 1, 1]]])


def _class_first(p: np.ndarray, t: np.ndarray, k: int) -> float:
    """Each class averaged over the images first, then the classes (a typical wrong answer)."""
    import warnings

    with warnings.catch_warnings():                  # a class in no image: nanmean of all-NaN, on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(np.nanmean(np.array([metrics.per_class_iou(a, b, k) for a, b in zip(p, t)]), 0)))


def _batch_classes(p: np.ndarray, t: np.ndarray, k: int) -> float:
    """Every image averaged over the classes of the whole batch, a class it lacks scored 0 (a typical wrong answer)."""
    batch = np.union1d(np.unique(p), np.unique(t))
    return float(np.mean([np.nan_to_num(metrics.per_class_iou(a, b, k))[batch].mean() for a, b in zip(p, t)]))


#: Three 2×3 images, K = 3, on which ``_class_first`` and ``_batch_classes`` differ (MIOU_* does not tell them apart).
SPLIT_PRED = np.array([[[0, 0, 1], [1, 1, 1]], [[0, 2, 2], [0, 0, 0]], [[1, 1, 1], [1, 0, 1]]])
SPLIT_TARGET = np.array([[[0, 0, 0], [1, 1, 1]], [[0, 0, 2], [0, 0, 0]], [[1, 1, 1], [1, 1, 1]]])


def _miou_hint(p: np.ndarray, t: np.ndarray, k: int, got: float, probe: Callable[[], Any] | None = None) -> str:
    """The cause of a wrong ``image_mean_iou`` on ``(p, t)``, as far as the typical mistakes go.

    ``probe()``, when given, is the learner's score on ``SPLIT_*`` (None if it raised): it tells the
    two answers apart that give the same number on ``MIOU_*``.
    """
    per_image = [metrics.per_class_iou(a, b, k) for a, b in zip(p, t)]
    target_only = np.mean([np.nanmean(v[np.unique(b)]) for v, b in zip(per_image, t)])
    pred_only = np.mean([np.nanmean(v[np.unique(a)]) for v, a in zip(per_image, p)])
    tp_only = np.mean([np.mean([v[c] for c in range(k) if ((a == c) & (b == c)).any()] or [np.nan])
                       for v, a, b in zip(per_image, p, t)])
    missed = any(np.setdiff1d(b, a).size for a, b in zip(p, t))      # a target class the model never predicts
    as_zero = np.mean([np.nan_to_num(v).mean() for v in per_image])
    if np.isnan(got):
        return ("class 3 is in neither mask of either image, so its IoU is 0 / 0 = NaN, and "
                "np.mean of anything with a NaN is NaN. Average only the classes that occur in the image's "
                "prediction or target: np.nanmean, or keep the classes whose union > 0.")
    if missed and (_close(got, pred_only, 1e-6) or _close(got, tp_only, 1e-6)):
        return ("you averaged only the prediction's classes (or only the classes with TP > 0). A class the "
                "model misses entirely has IoU 0 and stays in the mean: class 2 is in the target and never predicted. Average the classes in the prediction OR "
                "the target (union > 0).")
    if len(p) > 1 and _close(got, metrics.mean_iou(p, t, k), 1e-6):
        return ("that is the mIoU of all pixels pooled over the batch. Compute each image's mIoU on its own, "
                "then average the images.")
    if _close(got, target_only, 1e-6):
        return ("you averaged only the classes of the target. Image 0 predicts class 2, which its target lacks: "
                "that false alarm has IoU 0 and must stay in the mean (classes in prediction OR target).")
    if _close(got, as_zero, 1e-6):
        return ("class 3 is in neither mask and was counted as 0. An absent class has no IoU (NaN): "
                "average the classes that occur (np.nanmean).")
    batch_first = _close(got, _batch_classes(p, t, k), 1e-6) and not _close(got, as_zero, 1e-6)
    if batch_first and _close(got, _class_first(p, t, k), 1e-6) and probe is not None:
        split = probe()                                      # both fit here: the split case decides
        batch_first = split is not None and _close(split, _batch_classes(SPLIT_PRED, SPLIT_TARGET, 3), 1e-6)
    if batch_first:
        return ("in every image you averaged the classes of the whole batch, scoring a class this image lacks as "
                "0. A class in neither mask of an image has no IoU there (NaN): average each image over the "
                "classes of its own prediction or target.")
    if _close(got, _class_first(p, t, k), 1e-6):
        return ("you averaged each class over the images first, then the classes (class first). Average the "
                "classes within each image first, then the images: each image weighs the same.")
    if _close(got, float(np.nanmean(np.array(per_image))), 1e-6):
        return ("you took one nanmean over all image × class cells, so an image with more classes weighs more. "
                "Average each image's classes first, then take the plain mean of the images.")
    if _close(got, float(np.mean([metrics.mean_dice(a, b, k) for a, b in zip(p, t)])), 1e-6):
        return ("that is the mean Dice per image, 2|P ∩ T| / (|P| + |T|) per class; IoU divides the "
                "intersection by the union.")
    cells = [np.bincount(k * np.ravel(b) + np.ravel(a), minlength=k * k).reshape(k, k) for a, b in zip(p, t)]
    weighted = np.mean([np.trace(c) / (2 * c.sum() - np.trace(c)) for c in cells])
    if _close(got, float(weighted), 1e-6):
        return ("you divided each image's summed intersections by its summed unions (ΣTP / ΣU over the classes), "
                "so a class with many pixels weighs more, and a small class that is missed barely counts. mIoU "
                "gives each class the same weight: one IoU per class, then their mean.")
    if _close(got, float(np.mean(p == t)), 1e-6):
        return ("that is the pixel accuracy, the share of pixels with the right class. IoU scores each class "
                "on its own, TP / (TP + FP + FN), then averages the classes.")
    return "per image: IoU of each class from its own pixels, mean over the classes that occur."


@learner_check
def check_image_mean_iou(image_mean_iou: Callable) -> None:
    """Check ``image_mean_iou(pred, target, num_classes)``: the mean over images of each image's mIoU.

    Each image's mIoU averages the classes that occur in that image's prediction or target (a
    class in neither is NaN and skipped; a class the model invents, or misses entirely, scores 0
    and counts).

    An answer that calls ``segcourse`` (or ``sklearn.metrics.jaccard_score``,
    ``scipy.spatial.distance.jaccard`` or ``torchmetrics``) is refused once its numbers are right.

    >>> check_image_mean_iou(lambda p, t, k: 0.0)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: image_mean_iou(pred=..., target=..., num_classes=3) should be ...
    """
    call = Watch(LIBRARY + SCIPY + TORCHMETRICS + (("sklearn.metrics", {"jaccard_score"}),))
    for p, t, k in ((MISSED_PRED, MISSED_TARGET, 3), (MIOU_PRED, MIOU_TARGET, 4)):
        want = _image_miou(p, t, k)
        got = _number(call(image_mean_iou, p, t, k, what="image_mean_iou"), "image_mean_iou")
        if not _close(got, want, 1e-6):
            def probe() -> float | None:
                try:
                    return _number(call(image_mean_iou, SPLIT_PRED.copy(), SPLIT_TARGET.copy(), 3,
                                        what="image_mean_iou"), "image_mean_iou")
                except Exception:                # a probe that fails says nothing
                    return None
            raise AssertionError(f"image_mean_iou(pred={p.tolist()}, target={t.tolist()}, num_classes={k}) should "
                                 f"be {_show(want)}, yours is {_show(got)}: {_miou_hint(p, t, k, got, probe)}")
    rng = np.random.default_rng(11)
    for _ in range(10):
        k = int(rng.integers(2, 7))
        t = rng.integers(0, k, (3, 7, 7))
        p = np.where(rng.random(t.shape) < 0.6, t, rng.integers(0, k, t.shape))
        want = _image_miou(p, t, k)
        got = _number(call(image_mean_iou, p, t, k, what="image_mean_iou"), "image_mean_iou")
        if not _close(got, want, 1e-6):
            raise AssertionError(f"on random label maps (K = {k}, batch of 3) expected {_show(want)}, got {_show(got)}: "
                                 f"one mIoU per image, then their mean")
    _refuse_torchmetrics(call, "image_mean_iou")
    _refuse(call, "image_mean_iou")
    print("check_image_mean_iou: all cases pass")


# ------------------------------------------------------------------------------------- painting
def _painted_array(mask: Any, editor: Any) -> np.ndarray:
    """The learner's painted mask as an array; text pictures are parsed with mask_from_string."""
    from ..masks import mask_from_string

    if editor is not None and not isinstance(mask, str):
        raise AssertionError('write your answer as text: copy the rows printed under\n'
                             'the editor into painted = """...""". Grading re-runs the\n'
                             'notebook, where your mouse strokes do not exist.')
    if isinstance(mask, str):
        try:
            return mask_from_string(mask)
        except (TypeError, ValueError) as exc:
            raise AssertionError(f"your mask text cannot be read: {exc}\n"
                                 f"write one line per row, '.' = background, '#' = painted") from None
    try:
        return np.asarray(_plain(getattr(mask, "mask", mask)))
    except Exception:  # ragged lists and the like
        raise AssertionError("give the mask as text, a list of rows, or an array") from None


@learner_check
def check_painted_mask(mask: Any, target: Any, goal: float, tol: float = 1e-9, editor: Any = None,
                       min_fp: int = 0, min_fn: int = 0) -> None:
    """Check a painted mask reaches IoU ``goal`` against ``target``.

    ``min_fp`` and ``min_fn`` ask for at least that many false positives (painted, not in the
    target) and false negatives (in the target, not painted), so that the goal cannot be met by
    leaving out target pixels alone.

    ``mask`` is a text picture (one line per row, ``.`` background, ``#`` painted), a list of
    rows, an array or a :class:`~segcourse.widgets.MaskEditor`. Pass the ``editor`` the learner
    painted in to require the text form: autograding re-runs the notebook in a fresh kernel,
    where mouse strokes do not exist, so only an answer written into the notebook is gradeable.

    >>> check_painted_mask([[1, 0, 0], [1, 1, 0], [0, 0, 0]], [[1, 1, 0], [1, 0, 0], [0, 0, 0]], 0.5)
    check_painted_mask: IoU 0.500 as asked
    >>> check_painted_mask('''
    ...     #..
    ...     ##.
    ...     ...''', [[1, 1, 0], [1, 0, 0], [0, 0, 0]], 0.5, editor="the editor painted in")
    check_painted_mask: IoU 0.500 as asked
    """
    m = _painted_array(mask, editor)
    t = np.asarray(_plain(target))
    if m.shape != t.shape:
        raise AssertionError(f"your mask has shape {m.shape}, the target {t.shape}:\n"
                             f"paint on the same grid (one text line per row)")
    got = metrics.iou(m > 0, t > 0, zero_division=1.0)
    fp, fn = int(np.count_nonzero((m > 0) & ~(t > 0))), int(np.count_nonzero(~(m > 0) & (t > 0)))
    if abs(got - goal) <= tol and (fp < min_fp or fn < min_fn):
        missing = "false positive (a painted pixel outside the target)" if fp < min_fp else \
            "false negative (a target pixel left unpainted)"
        raise AssertionError(f"IoU {got:.3f} as asked, but with {fp} FP and {fn} FN: this exercise\n"
                             f"asks for at least {min_fp} FP and {min_fn} FN. Add a {missing}\n"
                             f"and rebalance: IoU = TP / (TP + FP + FN).")
    if abs(got - goal) > tol:
        direction = ("add pixels the target has, or remove ones it lacks" if got < goal
                     else "you overlap too well: add a false positive or leave a pixel out")
        raise AssertionError(f"your mask has IoU {got:.3f} with the target, the goal is {goal:.3f}:\n{direction}")
    print(f"check_painted_mask: IoU {got:.3f} as asked")


# ------------------------------------------------------------------------- empty-mask conventions
def _conventions(intersection: np.ndarray, union: np.ndarray) -> tuple[float, float, float]:
    """The mean IoU with two empty masks (union 0) scored 0, scored 1, and skipped (NaN if all are)."""
    i, u = np.asarray(intersection, float), np.asarray(union, float)
    empty = u == 0
    iou = np.divide(i, u, out=np.zeros_like(u), where=~empty)
    skipped = float(iou[~empty].mean()) if (~empty).any() else float("nan")
    return float(iou.mean()), float(np.where(empty, 1.0, iou).mean()), skipped


#: Eight images: car IoUs 0.8, 0.5 and 0.75, four car-free images (union 0) and one false alarm
#: (a car predicted where there is none: union 9, intersection 0, a real 0).
CONVENTION_CASE = (np.array([40, 0, 0, 35, 0, 0, 0, 12]), np.array([50, 0, 0, 70, 0, 0, 9, 16]))


@learner_check
def check_empty_conventions(car_means: Callable) -> None:
    """Check ``car_means(intersection, union)``: the mean car IoU under the 0, 1 and skip conventions.

    ``intersection`` and ``union`` hold each image's car pixel counts; an image with union 0 has
    two empty masks. The answer is ``(as_zero, as_one, skipped)``: the mean over all images with
    such an image scored 0, scored 1, and the mean over the other images only.

    >>> check_empty_conventions(lambda i, u: (0.0, 1.0, 0.5))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: for intersection=[40, 0, 0, 35, 0, 0, 0, 12] and union=[50, 0, 0, 70, 0, 0, 9, 16] ...
    """
    call = Watch(LIBRARY)
    cases = [CONVENTION_CASE, (np.array([3, 0, 5]), np.array([4, 0, 5])),
             (np.array([0, 7, 0, 0]), np.array([0, 7, 0, 2])), (np.array([0, 0]), np.array([0, 0]))]
    rng = np.random.default_rng(6)
    for _ in range(4):
        u = rng.integers(0, 20, 9) * (rng.random(9) < 0.6)
        cases.append((rng.integers(0, u + 1), u))
    names = ("as_zero", "as_one", "skipped")
    for inter, union in cases:
        want = _conventions(inter, union)
        try:
            raw = _plain(call(car_means, inter.copy(), union.copy(), what="car_means"))
        except AssertionError as exc:
            if "crashed with ZeroDivisionError" not in str(exc):
                raise
            why = ("no image has a car in either mask, so the skipped mean has no image to average: its count is 0. "
                   "The course returns NaN for that mean, as it does for two empty masks." if (union == 0).all() else
                   "an image with union 0 (two empty masks) has IoU 0 / 0, and Python's / raises where numpy "
                   "gives nan. Give those images the convention's value (or leave them out) before you divide.")
            raise AssertionError(f"for intersection={inter.tolist()} and union={union.tolist()} your car_means "
                                 f"raised ZeroDivisionError: {why}") from None
        if isinstance(raw, (dict, str)) or not hasattr(raw, "__len__") or len(raw) != 3:
            raise AssertionError("return three numbers, (as_zero, as_one, skipped): the mean with two empty masks "
                                 "scored 0, scored 1, and left out")
        got = [_number(v, "car_means") for v in raw]
        if all(_close(g, w, 1e-6) for g, w in zip(got, want)):
            continue
        head = (f"for intersection={inter.tolist()} and union={union.tolist()} expected (as_zero, as_one, skipped) "
                f"= ({', '.join(_show(w) for w in want)}), yours is ({', '.join(_show(g) for g in got)}):")
        empty, miss = union == 0, (union > 0) & (inter == 0)
        iou = np.divide(inter, union, out=np.zeros(len(union)), where=~empty)
        pooled = inter.sum() / union.sum() if union.sum() else float("nan")
        if not all(np.isnan(w) for w in want[:2]) and sorted(map(_show, got)) == sorted(map(_show, want)):
            hint = "the right three numbers in another order: return (as_zero, as_one, skipped)."
        elif miss.any() and _close(got[1], float(np.where(inter == 0, 1.0, iou).mean()), 1e-6) \
                and not _close(want[1], float(np.where(inter == 0, 1.0, iou).mean()), 1e-6):
            hint = (f"your as_one also scores 1 for the {int(miss.sum())} image(s) with intersection 0 but union > 0: "
                    f"a car missed (or predicted where there is none) is a real 0 under every convention. Only an "
                    f"image with union 0, two empty masks, gets the convention's 1: test union == 0, not IoU == 0.")
        elif not empty.all() and any(np.isnan(g) for g in got[:2]):
            k = next(n for n, g in zip(names[:2], got[:2]) if np.isnan(g))
            hint = (f"{k} is nan: 0 / 0 of an image with union 0 gave NaN, and np.mean of anything with a NaN is NaN. "
                    f"Put the convention's number in for those images before the mean.")
        elif not empty.all() and np.isnan(got[2]):
            hint = "skipped is nan: np.mean does not skip NaN; np.nanmean (or a mean over union > 0 only) does."
        elif not empty.all() and _close(got[2], want[0], 1e-6) and not _close(want[2], want[0], 1e-6):
            hint = ("your skipped mean divides by every image, car-free ones too: that is as_zero. Leave the images "
                    "with union 0 out of the sum AND out of the count.")
        elif miss.any() and (inter > 0).any() and _close(got[2], float(iou[inter > 0].mean()), 1e-6):
            hint = ("your skipped mean also drops the images with intersection 0 but union > 0: a car predicted where "
                    "there is none (or a car missed) is a real 0 and stays in the mean. Skip only union 0.")
        elif _close(got[2], pooled, 1e-6) and not _close(want[2], pooled, 1e-6):
            hint = ("your skipped is sum(intersection) / sum(union), all pixels pooled: the convention is about a mean "
                    "over images, one IoU per image.")
        elif empty.all() and not np.isnan(got[2]):
            hint = "no image has a car in either mask: the skipped mean has nothing to average, so it is NaN."
        else:
            hint = "per image IoU = intersection / union; union 0 -> 0, 1, or left out; then the mean over images."
        raise AssertionError(f"{head} {hint}")
    call.refuse("car_means")
    zero, one, skipped = _conventions(*CONVENTION_CASE)
    print(f"check_empty_conventions: all cases pass. With 4 of 8 images car-free (the first case), the mean car "
          f"IoU is {zero:.4f} if they score 0, {one:.4f} if they score 1, {skipped:.4f} if they are left out")


# ------------------------------------------------------------------------------- boundary band
def _band(mask: np.ndarray, d: int) -> np.ndarray:
    """The reference: ``metrics.boundary_band`` with the dilation ratio that gives exactly ``d`` pixels."""
    m = np.asarray(mask) != 0
    return metrics.boundary_band(m, dilation_ratio=d / float(np.hypot(*m.shape[-2:])))


def _eroded(m: np.ndarray, d: int, structure: np.ndarray | None = None, border: int = 0) -> np.ndarray:
    from scipy import ndimage

    if d <= 0:
        return m.copy()
    return ndimage.binary_erosion(m, structure=structure, iterations=d, border_value=border)


def _band_cases() -> list[tuple[np.ndarray, int, str]]:
    """(mask, d, what it is): a square away from the edge, one touching the edge, a disc, random blobs."""
    square = np.zeros((12, 12), bool)
    square[3:9, 2:10] = True
    edge = np.zeros((10, 10), bool)
    edge[:6, :7] = True
    yy, xx = np.mgrid[:15, :15]
    disc = (yy - 7) ** 2 + (xx - 7) ** 2 <= 30
    cases = [(square, 1, "a 6×8 rectangle inside a 12×12 image"), (square, 2, "the same rectangle"),
             (disc, 2, "a disc of radius 5.5"), (edge, 1, "a rectangle touching the image's top and left edges")]
    rng = np.random.default_rng(21)
    from scipy import ndimage
    for _ in range(4):
        h, w = (int(v) for v in rng.integers(10, 20, 2))
        blob = ndimage.binary_opening(rng.random((h, w)) < 0.6)
        cases.append((blob, int(rng.integers(1, 4)), f"random blobs in a {h}×{w} image"))
    return cases


@learner_check
def check_boundary_band(boundary_band: Callable) -> None:
    """Check ``boundary_band(mask, d)``: the mask pixels within ``d`` pixels of its outline.

    The band is the mask minus its erosion by a 3×3 square applied ``d`` times, with pixels
    outside the image counted as background (``metrics.boundary_band`` with the dilation ratio
    that gives ``d`` pixels); the answer is a bool mask of the input's shape. Typical mistakes get
    their cause named: the outer band (dilation minus mask) or both sides (dilation minus
    erosion), the default cross-shaped structure of ``ndimage.binary_erosion``, a width off by
    one, an image edge that is not a boundary, a 0/1 integer array instead of bool, masks stored
    as 0/255. An answer that calls ``segcourse`` is refused once its numbers are right.

    >>> check_boundary_band(lambda m, d: np.asarray(m) != 0)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: for a 6×8 rectangle inside a 12×12 image and d = 1 ...
    """
    from scipy import ndimage

    call = Watch(LIBRARY)
    square3 = np.ones((3, 3), bool)
    for mask, d, what in _band_cases():
        want = _band(mask, d)
        raw = _plain(call(boundary_band, mask.copy(), d, what="boundary_band"))
        got = _array(raw, "boundary_band")
        if got.shape != want.shape:
            raise AssertionError(f"for a mask of shape {mask.shape} return a band of the same shape; yours has "
                                 f"shape {got.shape}")
        g = got != 0
        if not np.array_equal(g, want):
            m = mask
            outer = ndimage.binary_dilation(m, square3, iterations=d) & ~m
            both = outer | want
            cross = m & ~_eroded(m, d)
            no_edge = m & ~_eroded(m, d, square3, border=1)
            euclid = m & (ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1] <= d)
            euclid_edge = m & (ndimage.distance_transform_edt(m) <= d)     # the image edge not counted
            head = f"for {what} and d = {d} your band differs from the expected one in {int((g != want).sum())} pixels:"
            if np.array_equal(g, outer):
                hint = ("yours is the OUTER band, the pixels just outside the mask (dilation minus mask). Boundary "
                        "IoU's band is inside: the mask minus its erosion.")
            elif np.array_equal(g, both):
                hint = ("yours covers both sides of the outline (dilation minus erosion). Boundary IoU's band is "
                        "only inside: the mask minus its erosion.")
            elif (np.array_equal(g, cross) or np.array_equal(g, euclid) or np.array_equal(g, euclid_edge)) \
                    and not np.array_equal(g, no_edge):                  # no_edge: the image-edge hint below
                edt = "a straight-line (Euclidean) distance, distance_transform_edt <= d, where a diagonal step is √2"
                cross_why = "ndimage.binary_erosion's default structure, a cross"
                why = (cross_why if not (np.array_equal(g, euclid) or np.array_equal(g, euclid_edge)) else edt
                       if not np.array_equal(g, cross) else f"{cross_why}, or {edt}")
                hint = (f"your band misses pixels that touch the background only at a corner, as {why} does. The "
                        f"band counts steps in all 8 directions (chessboard distance): erode with a 3×3 square, "
                        f"structure=np.ones((3, 3)).")
            elif d > 1 and np.array_equal(g, _band(m, d - 1)):
                hint = f"yours is {d - 1} pixel(s) wide, one too thin: erode d = {d} times (iterations=d)."
            elif np.array_equal(g, _band(m, d + 1)):
                hint = f"yours is {d + 1} pixels wide, one too wide: erode d = {d} times, not d + 1."
            elif np.array_equal(g, m & ~ndimage.minimum_filter(m, size=d + 1, mode="constant")):
                hint = (f"a window of size d + 1 = {d + 1} is not d pixels on each side of a pixel: the square that "
                        f"reaches d pixels in every direction is 2 * d + 1 = {2 * d + 1} wide.")
            elif np.array_equal(g, no_edge):
                hint = ("along the image edge your band is missing: pixels outside the image count as background "
                        "(binary_erosion's border_value=0), so a mask touching the edge has a band there too.")
            elif np.array_equal(g, m & _eroded(m, d, square3)):
                hint = "yours is the eroded mask itself, the inside; the band is what erosion removes: mask & ~eroded."
            elif not (g & ~m).any() and np.array_equal(g, m):
                hint = "yours is the whole mask; the band is only the pixels that erosion removes: mask & ~eroded."
            else:
                hint = "the band is mask & ~eroded, eroded = d erosions by a 3×3 square, outside = background."
            raise AssertionError(f"{head} {hint}")
        if got.dtype != bool:
            raise AssertionError(f"your band has the right pixels but dtype {got.dtype}: return a bool mask (the "
                                 f"band is used with &, | and ~; on 0/1 integers ~1 is -2, not False).")
    # masks stored as 8-bit images hold 0 and 255
    mask, d, _ = _band_cases()[0]
    got = _array(call(boundary_band, mask.astype(np.uint8) * 255, d, what="boundary_band"), "boundary_band")
    if got.shape != mask.shape or not np.array_equal(got != 0, _band(mask, d)) or got.dtype != bool:
        raise AssertionError("for the same rectangle stored as 0/255 uint8 your band differs: turn the mask into bool "
                             "first (mask != 0); ~255 is 0 in uint8 and 255 - 255 * eroded wraps around.")
    call.refuse("boundary_band")
    print("check_boundary_band: all cases pass")


# ------------------------------------------------------------------------------- boundary IoU
def _biou(p: np.ndarray, t: np.ndarray, band: Callable, dice: bool = False) -> float:
    """IoU (or Dice) of ``band(p)`` and ``band(t)``; NaN when both bands are empty."""
    bp, bt = band(p), band(t)
    union, inter = np.count_nonzero(bp | bt), np.count_nonzero(bp & bt)
    if dice:
        total = np.count_nonzero(bp) + np.count_nonzero(bt)
        return 2 * inter / total if total else float("nan")
    return inter / union if union else float("nan")


def _boundary_iou_cases() -> list[tuple[np.ndarray, np.ndarray, float, str]]:
    """(pred, target, dilation_ratio, what): d rounds up, rounds down, is below 1; an image edge; blobs."""
    rect_t = np.zeros((24, 32), bool)
    rect_t[6:18, 8:26] = True
    rect_p = np.roll(rect_t, (1, 2), axis=(0, 1))
    yy, xx = np.mgrid[:30, :40]
    disc_t = (yy - 15) ** 2 + (xx - 20) ** 2 <= 81
    disc_p = (yy - 15) ** 2 + (xx - 21) ** 2 <= 100
    small_t = np.zeros((8, 6), bool)
    small_t[2:6, 1:5] = True
    small_p = np.zeros((8, 6), bool)
    small_p[2:7, 1:4] = True
    edge_t = np.zeros((10, 10), bool)
    edge_t[:6, :7] = True
    edge_p = np.zeros((10, 10), bool)
    edge_p[:5, :7] = True
    cases = [(rect_p, rect_t, 0.055, "a 12×18 rectangle and the same moved by (1, 2) in a 24×32 image"),
             (disc_p, disc_t, 0.075, "two discs (radius 9 and 10) in a 30×40 image"),
             (small_p, small_t, 0.02, "two small rectangles in an 8×6 image"),
             (edge_p, edge_t, 0.1, "two rectangles touching the top and left edges of a 10×10 image")]
    rng = np.random.default_rng(23)
    from scipy import ndimage
    for _ in range(3):
        h, w = (int(v) for v in rng.integers(12, 30, 2))
        t = ndimage.binary_opening(rng.random((h, w)) < 0.6)
        p = ndimage.binary_opening(np.where(rng.random((h, w)) < 0.15, ~t, t))
        cases.append((p, t, float(rng.choice([0.03, 0.06, 0.1])), f"random blobs in a {h}×{w} image"))
    return cases


def _biou_hint(p: np.ndarray, t: np.ndarray, ratio: float, got: float,
               probe: Callable[[float], Any] | None = None) -> str:
    """The cause of a wrong boundary IoU, as far as the typical mistakes go.

    ``probe(r)``, when given, is the learner's score of the same pair at dilation ratio ``r`` (or
    None if it raised). A cause is named only when it also explains the probes, so that two causes
    that give the same number on this pair (``int()`` and the longer side, say) are told apart.
    """
    from scipy import ndimage

    h, w = t.shape
    diag = float(np.hypot(h, w))
    x = ratio * diag
    d = max(1, int(round(x)))
    square = np.ones((3, 3), bool)
    probes = [(ratio, got)]
    if probe is not None:                        # dilation_ratio × diagonal = 1.9, 2.6, 3.3, 4.45 and 0.3 px
        probes += [(r_, probe(r_)) for r_ in np.array([1.9, 2.6, 3.3, 4.45, 0.3]) / diag]
        probes = [(r_, v) for r_, v in probes if v is not None]

    def fits(score: Callable[[float], float]) -> bool:
        return all(_close(v, score(r_), 1e-9) for r_, v in probes)

    def banded(band: Callable[[np.ndarray, int], np.ndarray], size: Callable[[float], int]) -> Callable:
        return lambda r_: _biou(p, t, lambda m: band(m, size(r_)))

    def inner(m: np.ndarray, d_: int, structure: Any = square, border: int = 0) -> np.ndarray:
        return m & ~_eroded(m, d_, structure, border)

    def scipy_inner(m: np.ndarray, d_: int) -> np.ndarray:      # scipy's own iterations=0: erode until stable
        return m & ~ndimage.binary_erosion(m, square, iterations=d_)

    def edt_band(m: np.ndarray, d_: int, pad: int) -> np.ndarray:
        return m & (ndimage.distance_transform_edt(np.pad(m, pad))[pad:h + pad, pad:w + pad] <= d_)

    right = lambda r_: max(1, int(round(r_ * diag)))           # noqa: E731
    formula = (f"d = max(1, round(dilation_ratio * diagonal)) = max(1, round({ratio} × {diag:.1f})) = {d}, with "
               f"the diagonal sqrt(H² + W²) = np.hypot(H, W).")
    if int(round(x)) == 0:                       # the floor of 1 forgotten: d = 0
        if fits(banded(scipy_inner, lambda r_: int(round(r_ * diag)))):
            return (f"dilation_ratio × diagonal = {ratio} × {diag:.1f} = {x:.2f} rounds to d = 0, and "
                    f"binary_erosion(..., iterations=0) does not mean 'no erosion': it erodes until nothing "
                    f"changes, so your band is the whole mask and your score is the mask IoU. d is at least 1: "
                    f"d = max(1, round(dilation_ratio * diagonal)).")
        if fits(banded(inner, lambda r_: int(round(r_ * diag)))):
            return (f"dilation_ratio × diagonal = {ratio} × {diag:.1f} = {x:.2f} gives d = 0, and 0 "
                    f"erosions leave an empty band. d is at least 1: d = max(1, round(dilation_ratio * diagonal)).")
    sides = ((lambda r_: max(1, int(round(r_ * max(h, w)))), f"the longer side, {max(h, w)} px"),
             (lambda r_: max(1, int(round(r_ * (h + w)))), f"H + W = {h + w} px"),
             (lambda r_: max(1, int(round(r_ * np.sqrt(h * w)))), f"sqrt(H · W) = {np.sqrt(h * w):.1f} px, the side "
              f"of a square of the same area"))
    for size, what in sides:
        if size(ratio) != d and fits(banded(inner, size)):
            return (f"your band is {size(ratio)} px wide: you multiplied dilation_ratio by {what}, not by the "
                    f"diagonal. {formula}")
    no_edge = fits(banded(lambda m, d_: inner(m, d_, square, 1), right))      # the image-edge hint below
    for pad in (1, 0):
        if not no_edge and fits(banded(lambda m, d_: edt_band(m, d_, pad), right)):
            return ("your band is round: distance_transform_edt <= d measures straight-line (Euclidean) distance, "
                    "where a diagonal step is √2. Erosion by a 3×3 square is chessboard distance, where a "
                    "diagonal step is 1: erode d times with structure=np.ones((3, 3)), or use "
                    "distance_transform_cdt(..., metric='chessboard').")
    roundings = ((lambda r_: max(1, int(np.floor(r_ * diag))), f"int(), which rounds {x:.2f} down"),
                 (lambda r_: max(1, int(np.ceil(r_ * diag))), f"np.ceil, which rounds {x:.2f} up"))
    for size, how in roundings:
        if size(ratio) != d and fits(banded(inner, size)):
            return f"your band is {size(ratio)} px wide, from {how}; {formula}"
    cross = ndimage.generate_binary_structure(2, 1)
    one_px = [lambda r_, s=s_, b=b_: _biou(p, t, lambda m: inner(m, 1, s, b)) for s_ in (square, cross) for b_ in (0, 1)]
    if d != 1 and any(fits(score) for score in one_px):
        return (f"your band is 1 px wide at every dilation_ratio, and here d = {d}: you eroded once, fixed d at 1, or "
                f"used skimage's find_boundaries, which marks only the outermost pixels and has no width. Erode d "
                f"times (iterations=d) with {formula}")
    for step in (1, -1):
        if d + step > 0 and fits(banded(inner, lambda r_: right(r_) + step)):
            return (f"your band is {d + step} px wide, not d = {d}: erode d times (iterations=d), and keep what the "
                    f"erosion removed.")
    outer = lambda m: ndimage.binary_dilation(m, square, iterations=d) & ~m          # noqa: E731
    both = lambda m: ndimage.binary_dilation(m, square, iterations=d) & ~_eroded(m, d, square)  # noqa: E731
    checks_ = [(_biou(p, t, lambda m: inner(m, d, None)), "your erosion uses binary_erosion's default structure, a "
                "cross, so the band misses pixels that touch the background only at a corner: erode with a 3×3 "
                "square, structure=np.ones((3, 3))."),
               (_biou(p, t, lambda m: inner(m, d, square, 1)), "along the image edge your bands are missing: pixels "
                "outside the image count as background (binary_erosion's border_value=0), so a mask touching the "
                "edge has a band there too."),
               (_biou(p, t, outer), "you compared the OUTER bands (dilation minus mask). Boundary IoU's band is "
                "inside each mask: the mask minus its erosion."),
               (_biou(p, t, both), "your bands cover both sides of the outline (dilation minus erosion). Boundary "
                "IoU's band is only inside: the mask minus its erosion."),
               (_biou(p, t, lambda m: m), "that is the mask IoU. Boundary IoU compares only the bands: "
                "|band(pred) & band(target)| / |band(pred) | band(target)|."),
               (_biou(p, t, lambda m: inner(m, d), dice=True), "that is the Dice of the two bands, 2|A ∩ B| / "
                "(|A| + |B|); boundary IoU divides their intersection by their union."),
               (_biou(p, t, lambda m: m & _eroded(m, d, square)), "you compared the eroded masks, the insides; the "
                "band is what the erosion removes: mask & ~eroded.")]
    for value, hint in checks_:
        if _close(got, value, 1e-9):
            return hint
    return ("band = mask & ~(mask eroded d times by a 3×3 square, outside = background), "
            "d = max(1, round(dilation_ratio * np.hypot(H, W))); boundary IoU = IoU of the two bands.")


@learner_check
def check_boundary_iou(boundary_iou: Callable) -> None:
    """Check ``boundary_iou(pred, target, dilation_ratio)``: the IoU of the two masks' boundary bands.

    ``d = max(1, round(dilation_ratio * hypot(H, W)))``; each band is the mask minus its erosion
    by a 3×3 square applied ``d`` times, pixels outside the image counted as background
    (``metrics.boundary_iou``). Two empty masks give NaN. Typical mistakes get their cause named:
    ``d`` rounded down or up, from a side (or ``sqrt(H·W)``) instead of the diagonal, fixed at 1
    (one erosion, or ``find_boundaries``), or 0 without the floor of 1
    (scipy's ``iterations=0`` then erodes until nothing changes: the band is the whole mask); a
    Euclidean band (``distance_transform_edt``); a band one pixel off, cross-shaped, outer, on both
    sides or missing along the image edge; the mask IoU; the Dice of the bands; masks stored as
    0/255. A cause is named only when it also explains the answer's scores at five more ratios.
    An answer that calls ``segcourse`` is refused once its numbers are right.

    >>> check_boundary_iou(lambda p, t, r: 0.5)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: for a 12×18 rectangle and the same moved by (1, 2) ...
    """
    call = Watch(LIBRARY)
    for p, t, ratio, what in _boundary_iou_cases():
        want = metrics.boundary_iou(p, t, ratio)
        d = max(1, int(round(ratio * np.hypot(*t.shape))))
        head = (f"for {what}, dilation_ratio={ratio} (d = {d} px): boundary IoU {_show(want)}, "
                f"yours is")
        try:
            got = _number(call(boundary_iou, p.copy(), t.copy(), ratio, what="boundary_iou"), "boundary_iou")
        except AssertionError as exc:
            more = (" With dilation_ratio × diagonal below 0.5, round gives 0, and 0 erosions leave an empty band; "
                    "d is at least 1: max(1, round(...))." if round(ratio * np.hypot(*t.shape)) == 0 else "")
            raise AssertionError(f"for {what}, dilation_ratio={ratio}: {exc}.{more}") from None
        if not _close(got, want, 1e-9):
            def probe(r_: float, p: np.ndarray = p, t: np.ndarray = t) -> float | None:
                try:
                    return _number(call(boundary_iou, p.copy(), t.copy(), r_, what="boundary_iou"), "boundary_iou")
                except Exception:                # a probe that fails says nothing
                    return None
            raise AssertionError(f"{head} {_show(got)}: {_biou_hint(p, t, ratio, got, probe)}")
    empty = np.zeros((6, 6), bool)
    try:
        got = _number(call(boundary_iou, empty, empty.copy(), 0.1, what="boundary_iou"), "boundary_iou")
    except AssertionError as exc:
        raise AssertionError(f"for two empty 6×6 masks: {exc}. Both bands are empty, 0 / 0: return NaN, as "
                             f"the course does for two empty masks.") from None
    if not np.isnan(got):
        raise AssertionError(f"for two empty 6×6 masks your boundary IoU is {_show(got)}: both bands are empty, "
                             f"0 / 0, and the course returns NaN for that.")
    p, t, ratio, what = _boundary_iou_cases()[0]
    got = _number(call(boundary_iou, p.astype(np.uint8) * 255, t.astype(np.uint8) * 255, ratio, what="boundary_iou"),
                  "boundary_iou")
    if not _close(got, metrics.boundary_iou(p, t, ratio), 1e-9):
        raise AssertionError(f"for {what} stored as 0/255 uint8 your boundary IoU is {_show(got)}, on bool masks "
                             f"{_show(metrics.boundary_iou(p, t, ratio))}: turn the masks into bool first (mask != 0); "
                             f"~255 is 0 in uint8.")
    call.refuse("boundary_iou")
    print("check_boundary_iou: all cases pass")


# ------------------------------------------------------------------------------- confused pair
@learner_check
def check_confused_pair(answer: Any, cm: Any, names: Sequence[str]) -> None:
    """Check ``answer``: the two class names whose pixels ``cm`` (rows truth, columns prediction) mixes up most.

    The pair is the off-diagonal cell pair ``cm[i, j] + cm[j, i]`` with the largest sum; the order
    of the two names does not matter.

    >>> cm = [[50, 0, 1], [0, 30, 9], [2, 4, 20]]
    >>> check_confused_pair(("b", "c"), cm, ["a", "b", "c"])
    check_confused_pair: b and c, 13 pixels mixed up
    >>> check_confused_pair(("a", "a"), cm, ["a", "b", "c"])
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: name two different classes: ...
    """
    c = np.asarray(_plain(cm))
    names = [str(n) for n in names]
    if isinstance(answer, str) or not hasattr(answer, "__len__") or len(answer) != 2:
        raise AssertionError('answer with two class names, e.g. confused = ("sky", "road")')
    pair = [str(a).strip().lower() for a in answer]
    lower = [n.lower() for n in names]
    unknown = [a for a in pair if a not in lower]
    if unknown:
        raise AssertionError(f"{unknown[0]!r} is not one of the classes {names}")
    i, j = (lower.index(a) for a in pair)
    if i == j:
        raise AssertionError(f"name two different classes: {names[i]!r} with itself is the diagonal, "
                             f"the pixels it gets right")
    mixed = c + c.T
    np.fill_diagonal(mixed, -1)
    bi, bj = np.unravel_index(int(mixed.argmax()), mixed.shape)
    if {i, j} != {int(bi), int(bj)}:
        big = int(np.argmax(np.diag(c)))
        single = np.where(np.eye(len(c), dtype=bool), -1, c)
        si, sj = np.unravel_index(int(single.argmax()), single.shape)
        if {i, j} == {int(si), int(sj)}:
            hint = (f"The largest single cell is cm[{si}, {sj}], but a pair is mixed up in both directions: add "
                    f"cm[i, j] and cm[j, i].")
        elif big in (i, j) and big not in (int(bi), int(bj)):
            hint = f"{names[big]!r} has the largest diagonal count: it is right most often, not confused."
        else:
            upper = mixed[np.triu_indices(len(c), 1)]
            rank = 1 + int((upper > mixed[i, j]).sum())
            lesson = ", the one the lesson's §6 confuses," if {names[i], names[j]} == {"road", "sidewalk"} else ""
            hint = (f"That pair{lesson} is only number {rank} of the {upper.size} pairs of this matrix: add "
                    f"cm[i, j] + cm[j, i] for every pair.")
        raise AssertionError(f"{names[i]} and {names[j]} mix up {int(mixed[i, j])} pixels, cm[{i}, {j}] + "
                             f"cm[{j}, {i}]; another pair of off-diagonal cells holds more. {hint} Look off the "
                             f"diagonal: rows are the truth, columns the prediction.")
    print(f"check_confused_pair: {names[i]} and {names[j]}, {int(mixed[i, j])} pixels mixed up")


# ------------------------------------------------------------------------------- colours to ids
#: Pascal VOC's first four colours (background, aeroplane, bicycle, bird): they share channels,
#: (128, 0, 0) agrees with (0, 0, 0) on green and blue. VOC's void border is (224, 224, 192).
VOC_TABLE = {0: (0, 0, 0), 1: (128, 0, 0), 2: (0, 128, 0), 3: (128, 128, 0)}
#: Cityscapes' label ids are not 0, 1, 2, ...: road 7, sidewalk 8, sky 23, car 26.
CITYSCAPES_TABLE = {7: (128, 64, 128), 8: (244, 35, 232), 23: (70, 130, 180), 26: (0, 0, 142)}
#: Colours in no table: VOC's void border and a blended edge pixel.
VOID_COLOUR, BLEND_COLOUR = (224, 224, 192), (64, 64, 0)


def _rgb_to_ids(rgb: Any, table: dict) -> np.ndarray:
    """The reference: the id whose colour matches in all three channels, 255 where none does."""
    rgb = np.asarray(rgb)
    ids = np.full(rgb.shape[:-1], 255, np.int64)
    for k, colour in table.items():
        ids[(rgb == np.asarray(colour)).all(axis=-1)] = k
    return ids


def _colour_variants(rgb: np.ndarray, table: dict) -> dict[str, np.ndarray]:
    """What the typical wrong answers return on ``rgb``, by the cause the hint names."""
    keys, colours = np.array(list(table)), np.array(list(table.values()))
    eq = rgb[..., None, :].astype(np.int64) == colours.astype(np.int64)      # (..., C, 3)
    every, some = eq.all(-1), eq.any(-1)
    dist = ((rgb[..., None, :].astype(np.int64) - colours) ** 2).sum(-1)
    same_sum = rgb.astype(np.int64).sum(-1)[..., None] == colours.astype(np.int64).sum(-1)      # (..., C)
    return {"no_any": keys[every.argmax(-1)],
            "any": np.where(some.any(-1), keys[some.argmax(-1)], 255),
            "any_last": np.where(some.any(-1), keys[::-1][some[..., ::-1].argmax(-1)], 255),
            "nearest": keys[dist.argmin(-1)],
            "positions": np.where(every.any(-1), every.argmax(-1), 255),
            "sum_first": np.where(same_sum.any(-1), keys[same_sum.argmax(-1)], 255),
            "sum_last": np.where(same_sum.any(-1), keys[::-1][same_sum[..., ::-1].argmax(-1)], 255)}


def _mask_image(rows: list[list[int]], table: dict, blend: tuple[int, int] | None = None) -> np.ndarray:
    """An RGB mask (uint8) from rows of ids: 255 is VOC's void colour; ``blend`` is one blended pixel."""
    colours = {**table, 255: VOID_COLOUR}
    rgb = np.array([[colours[v] for v in row] for row in rows], np.uint8)
    if blend is not None:
        rgb[blend] = BLEND_COLOUR
    return rgb


def _ids_hint(got: np.ndarray, want: np.ndarray, rgb: np.ndarray, table: dict, rgb_to_ids: Callable,
              call: Callable) -> str:
    """The cause of a wrong label map, as far as the typical mistakes go."""
    v = _colour_variants(rgb, table)
    void = want == 255
    if np.array_equal(got, v["any"]) or np.array_equal(got, v["any_last"]):
        return ("yours matches a pixel to a table colour that agrees with it in ANY channel (.any(-1)): (128, 0, 0) "
                "agrees with (0, 0, 0) on green and blue. A pixel has a class only when all three channels agree: "
                ".all(axis=-1) over the channel axis.")
    if np.array_equal(got, v["sum_first"]) or np.array_equal(got, v["sum_last"]):
        return ("yours compares the SUM of the three channels, and different colours can have the same sum: "
                "(128, 0, 0) and (0, 128, 0) both sum to 128, so one class gets the other's id. A colour matches "
                "only when r, g and b each agree.")
    if np.array_equal(got, v["no_any"]):
        return (f"the {int(void.sum())} pixels with a colour in no row of the table should be 255 (void); yours gives "
                f"them id {_show(got[void][0])}, the first class: argmax of a row of all False is its first index (and "
                f"a lookup array filled with zeros gives 0). Keep 255 where no colour matches: "
                f"np.where(same.any(-1), ..., 255).")
    if np.array_equal(got, v["nearest"]):
        return ("yours gives each pixel the class of the NEAREST colour, so the void border and a blended pixel get a "
                "class no annotator gave. Only an exact match in all three channels has a class; anything else is "
                "255 (void).")
    if np.array_equal(got, v["positions"]) and not np.array_equal(v["positions"], want):
        return (f"yours holds the ROW of the table, {sorted(set(np.unique(got).tolist()) - {255})}; the ids are the "
                f"table's keys, {list(table)}: Cityscapes calls road 7, not 0. Map the row through "
                f"keys = np.array(list(table)).")
    if (got == -1).any() and np.array_equal(np.where(got == -1, 255, got.astype(np.int64)), want):
        return (f"yours holds -1 where 255 belongs: dtype {got.dtype} cannot hold 255. Use np.uint8 or a wider "
                f"integer type.")
    try:
        wide = _plain(call(rgb_to_ids, rgb.astype(np.int64), dict(table), what="rgb_to_ids"))
    except AssertionError:
        wide = None
    if np.shape(wide) == want.shape and np.array_equal(np.asarray(wide), want):
        return ("on the same picture as int64 yours is right, on uint8 it is not: uint8 arithmetic wraps at 256 "
                "(200 + 100 is 44, 128 * 256 is 0). Convert with rgb.astype(np.int64) before any arithmetic.")
    return ("a pixel gets the key of the table colour equal to it in all three channels (r, g, b), and 255 where no "
            "colour is equal.")


def _ids_to_rgb(ids: Any, table: dict) -> np.ndarray:
    """The reference: each id's colour, VOC's void colour for 255, uint8 ``ids.shape + (3,)``."""
    lut = np.zeros((256, 3), np.uint8)
    lut[list(table)] = list(table.values())
    lut[255] = VOID_COLOUR
    return lut[np.asarray(ids)]


def _check_ids_to_rgb(ids_to_rgb: Callable, rgb_to_ids: Callable, call: Callable) -> None:
    """``ids_to_rgb(ids, table)`` on Cityscapes ids with void pixels, one image and a batch, then the round trip."""
    one = np.array([[23, 23, 23], [7, 26, 8], [7, 7, 255]], np.uint8)
    cases = [("the 3×3 Cityscapes label map", one, CITYSCAPES_TABLE),
             ("a batch of 2 Cityscapes label maps, shape (2, 3, 3)", np.stack([one, one[::-1]]), CITYSCAPES_TABLE),
             ("a 2×4 VOC label map", np.array([[0, 1, 2, 3], [3, 255, 0, 1]], np.uint8), VOC_TABLE)]
    for what, ids, table in cases:
        want = _ids_to_rgb(ids, table)
        head = f"ids_to_rgb on {what} {ids.tolist()} with table {table}"
        try:
            raw = _plain(call(ids_to_rgb, ids.copy(), dict(table), what="ids_to_rgb"))
        except AssertionError as exc:
            more = (" The ids are not row numbers: car is 26 and the table has 4 rows, and 255 is in no row. "
                    "Build a row for every possible id, 0 to 255." if "index" in str(exc) else "")
            raise AssertionError(f"{head}: {exc}.{more}") from None
        got = _array(raw, "ids_to_rgb")
        if got.ndim == want.ndim and not np.array_equal(got, want) \
                and np.array_equal(np.moveaxis(got, 0, -1), want):
            raise AssertionError(f"{head}: your colours are right but the colour axis comes first, shape "
                                 f"{got.shape}; an RGB picture has the colour last: shape {want.shape}.")
        if got.shape != want.shape:
            raise AssertionError(f"{head}: return an RGB picture of shape {want.shape} (ids.shape + (3,), colour "
                                 f"last); yours has shape {got.shape}.")
        void = np.asarray(ids) == 255
        if not np.array_equal(got[~void], want[~void]):
            raise AssertionError(f"{head}: some class pixels have the wrong colour. Expected\n{want.tolist()}\n"
                                 f"yours is\n{got.tolist()}\nEach pixel gets the colour table[id].")
        if not np.array_equal(got, want):
            raise AssertionError(f"{head}: the void pixels (255) should be VOC's void colour {VOID_COLOUR}, yours "
                                 f"are {got[void][0].tolist()}. 255 is no class: give it its own colour, so that "
                                 f"the way back finds no class there and returns 255 again.")
        if got.dtype != np.uint8:
            raise AssertionError(f"{head}: your colours are right but of dtype {got.dtype}; an RGB picture is uint8 "
                                 f"(0 to 255 per channel), as PIL and the rgb_to_ids input expect.")
        back = _array(_plain(call(rgb_to_ids, got, dict(table), what="rgb_to_ids")), "rgb_to_ids")
        if not np.array_equal(back, ids):
            raise AssertionError(f"the round trip ids -> ids_to_rgb -> rgb_to_ids on {what} does not give the ids "
                                 f"back: {back.tolist()}")


@learner_check
def check_rgb_to_ids(rgb_to_ids: Callable, ids_to_rgb: Callable | None = None) -> None:
    """Check ``rgb_to_ids(rgb, table)``: class ids from a colour-coded mask, 255 for unknown colours.

    ``rgb`` is ``(H, W, 3)`` or a batch ``(N, H, W, 3)``, uint8; ``table`` is a dict
    ``{class id: (r, g, b)}`` whose ids need not be 0, 1, 2, ... The answer is an integer array of
    shape ``rgb.shape[:-1]``. Typical mistakes get their cause named: ``argmax`` without
    ``.any()`` (an unknown colour becomes the first class), ``.any(-1)`` for ``.all(-1)`` (one
    channel is enough), the nearest colour, the table's row instead of its key, int8 for 255,
    uint8 arithmetic, a batch the answer cannot take. An answer that calls ``segcourse`` is
    refused once its numbers are right.

    With ``ids_to_rgb(ids, table)`` given, the check also runs the way back (VOC's void colour for
    255, a uint8 picture, ids that are not row numbers) and the round trip ids -> RGB -> ids.

    >>> check_rgb_to_ids(lambda rgb, table: np.zeros(np.shape(rgb)[:-1], int))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: for the 3×4 VOC-coloured mask with table ...
    """
    call = Watch(LIBRARY)
    cases = [("the 3×4 VOC-coloured mask", _mask_image([[0, 1, 1, 255], [0, 2, 3, 3], [0, 0, 2, 1]], VOC_TABLE,
                                                        blend=(2, 0)), VOC_TABLE),
             ("a 3×3 Cityscapes-coloured mask", _mask_image([[23, 23, 23], [7, 26, 8], [7, 7, 255]],
                                                            CITYSCAPES_TABLE, blend=(1, 0)), CITYSCAPES_TABLE),
             ("a batch of 2 Cityscapes-coloured masks, shape (2, 3, 3, 3)",
              np.stack([_mask_image([[23, 23, 23], [7, 26, 8], [7, 7, 255]], CITYSCAPES_TABLE),
                        _mask_image([[8, 8, 7], [255, 26, 26], [7, 7, 7]], CITYSCAPES_TABLE)]), CITYSCAPES_TABLE)]
    rng = np.random.default_rng(9)
    for _ in range(4):
        c = int(rng.integers(2, 7))
        keys = rng.choice(60, c, replace=False).tolist()
        code = rng.choice(256 ** 3, c + 2, replace=False)               # c + 2 different colours ...
        colours = np.stack([code >> 16, (code >> 8) & 255, code & 255], -1).astype(np.uint8)   # ... two in no row
        table = {int(k): tuple(int(v) for v in col) for k, col in zip(keys, colours[:c])}
        shape = tuple(int(v) for v in rng.integers(2, 6, int(rng.integers(2, 4))))
        cases.append((f"random masks of shape {shape + (3,)} and a table of {c} colours",
                      colours[rng.integers(0, c + 2, shape)], table))
    for n, (what, rgb, table) in enumerate(cases):
        want = _rgb_to_ids(rgb, table)
        head = f"for {what} with table {table}"
        try:
            raw = _plain(call(rgb_to_ids, rgb, dict(table), what="rgb_to_ids"))
        except AssertionError as exc:
            text = str(exc)
            more = (" rgb is uint8, where arithmetic overflows or wraps at 256: convert with rgb.astype(np.int64) before "
                    "any arithmetic." if "uint8" in text else
                    " table is a dict {class id: (r, g, b)}: its keys are the ids, its values the colours "
                    "(np.array(list(table.values())))." if n == 0 and ("slice" in text or "Key" in text) else
                    " Compare along the LAST axis, which works for one image and for a batch alike: "
                    "rgb[..., None, :] == colours." if rgb.ndim > 3 else "")
            raise AssertionError(f"{head}: {text}.{more}") from None
        got = _array(raw, "rgb_to_ids")
        if got.shape != want.shape:
            raise AssertionError(f"{head}: return one id per pixel, shape {want.shape} (rgb.shape[:-1]); yours has "
                                 f"shape {got.shape}. Compare whole colours along the last axis, rgb[..., None, :].")
        if not np.array_equal(got, want):
            hint = _ids_hint(got, want, rgb, table, rgb_to_ids, call)
            raise AssertionError(f"{head}: expected\n{want.tolist()}\nyours is\n{np.asarray(got).tolist()}\n{hint}")
        if not (np.issubdtype(got.dtype, np.integer)):
            raise AssertionError(f"{head}: your ids are right but of dtype {got.dtype}; return integers (a float "
                                 f"label map cannot index a colour table or np.eye(K)).")
    if ids_to_rgb is not None:
        _check_ids_to_rgb(ids_to_rgb, rgb_to_ids, call)
    call.refuse("rgb_to_ids")
    print("check_rgb_to_ids: all cases pass" + ("" if ids_to_rgb is None else ", and the round trip ids -> RGB -> ids"))


# ------------------------------------------------------------------------- one-hot and back
#: A batch of 2 label maps, K = 4: class 3 occurs in neither image, and one pixel is void (255).
ONE_HOT_LABELS = np.array([[[0, 1, 1, 2], [0, 0, 2, 2], [1, 1, 1, 255]],
                           [[2, 2, 0, 0], [1, 2, 0, 0], [1, 1, 1, 1]]], np.uint8)


def _one_hot(labels: Any, k: int) -> np.ndarray:
    """The reference: (N, H, W) ids -> (N, K, H, W) uint8, all zeros at a void pixel (255)."""
    labels = np.asarray(labels)
    return (labels[:, None] == np.arange(k)[None, :, None, None]).astype(np.uint8)


def _from_one_hot(one_hot: Any) -> np.ndarray:
    """The reference: (N, K, H, W) -> (N, H, W) ids, 255 where no channel is 1."""
    one_hot = np.asarray(one_hot) != 0
    return np.where(one_hot.any(axis=1), one_hot.argmax(axis=1), 255)


def _one_hot_hint(got: np.ndarray, labels: np.ndarray, k: int) -> str:
    """The cause of a wrong one-hot batch, as far as the typical mistakes go."""
    want = _one_hot(labels, k)
    n, h, w = labels.shape
    if got.shape == (n, h, w, k):
        return (f"yours has shape {got.shape}, the class axis last: np.eye(K)[labels] puts it there. Model "
                f"outputs are (N, K, H, W): move it to axis 1, np.moveaxis(..., -1, 1).")
    if got.shape == (k, n, h, w):
        return (f"yours has shape {got.shape}, the class axis before the batch axis: the lesson's transpose(2, 0, 1) "
                f"was for one image. A batch is (N, K, H, W): the class axis is axis 1.")
    if got.ndim == 4 and got.shape[0] == n and got.shape[2:] == (h, w) and got.shape[1] != k:
        return (f"yours has {got.shape[1]} channels; num_classes is {k}, and that is the number of channels even when "
                f"the batch lacks a class (class 3 here). Do not count the classes from the data: 255 is void, no "
                f"class.")
    if got.shape != want.shape:
        return f"return shape (N, K, H, W) = {want.shape}; yours has shape {got.shape}."
    void = labels == 255
    g = got != 0
    keep = np.broadcast_to(~void[:, None], g.shape)          # every channel of the class pixels
    if not np.array_equal(g[keep], (want != 0)[keep]):
        return "at some class pixels your channels are wrong: channel c is 1 exactly where labels == c."
    at_void = g.transpose(0, 2, 3, 1)[void]                # (number of void pixels, K)
    if at_void.any():
        c = int(np.argmax(at_void[0]))
        return (f"the void pixel (255) has channel {c} set: void is no class, so all {k} of its channels are 0. "
                f"Clipping or wrapping 255 into 0 to K - 1 invents a class; compare instead: "
                f"labels[:, None] == np.arange(K)[:, None, None] is False for 255 in every channel.")
    return "channel c of image n is 1 exactly where labels[n] == c, and 0 elsewhere (void included)."


@learner_check
def check_one_hot_batch(to_one_hot: Callable, from_one_hot: Callable) -> None:
    """Check ``to_one_hot(labels, num_classes)`` and ``from_one_hot(one_hot)`` on a batch.

    ``labels`` is ``(N, H, W)``; ``to_one_hot`` returns ``(N, K, H, W)`` of 0/1 (any numeric or bool
    dtype), all channels 0 at a void pixel (255). ``from_one_hot`` returns integer ids ``(N, H, W)``,
    255 where no channel is 1, and the round trip gives the labels back. Typical mistakes get their
    cause named: the class axis last or first, K counted from the data, a crash or an invented
    class at the void pixel, argmax over the wrong axis, argmax of an all-zero pixel (0, not 255),
    float ids. An answer that calls ``segcourse`` is refused once its numbers are right.

    >>> check_one_hot_batch(lambda l, k: np.eye(k)[l], lambda o: np.argmax(o, 1))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: to_one_hot on labels [[[0, 1, 1, 2], ...
    """
    call = Watch(LIBRARY + TORCHMETRICS)
    rng = np.random.default_rng(31)
    cases = [(ONE_HOT_LABELS, 4)]
    for _ in range(3):
        k = int(rng.integers(2, 7))
        labels = rng.integers(0, k, tuple(int(v) for v in rng.integers(1, 5, 3))).astype(np.int64)
        labels[rng.random(labels.shape) < 0.1] = 255
        cases.append((labels, k))
    for labels, k in cases:
        head = f"to_one_hot on labels {labels.tolist()} (shape {labels.shape}) with num_classes={k}:"
        try:
            got = _array(call(to_one_hot, labels.copy(), k, what="to_one_hot"), "to_one_hot")
        except AssertionError as exc:
            more = (" 255 is void, not a row of np.eye(K): it has no class, so its K channels are all 0. Compare "
                    "instead of indexing: labels[:, None] == np.arange(K)[:, None, None]." if "index" in str(exc).lower()
                    or "smaller than num_classes" in str(exc) else
                    " labels is a batch (N, H, W): the class axis goes in at axis 1." if "axes" in str(exc) else "")
            raise AssertionError(f"{head} {str(exc).rstrip('.')}.{more}") from None
        want = _one_hot(labels, k)
        if got.shape != want.shape or not np.array_equal(got != 0, want != 0) or not np.isin(got, (0, 1)).all():
            if got.shape == want.shape and not np.isin(got, (0, 1)).all():
                raise AssertionError(f"{head} yours holds values other than 0 and 1: a one-hot stack is 0/1 only.")
            raise AssertionError(f"{head} {_one_hot_hint(got, labels, k)}")
    for labels, k in cases:
        one_hot = _one_hot(labels, k)
        head = f"from_one_hot on the one-hot stack of labels {labels.tolist()} (shape {one_hot.shape}):"
        got = _array(call(from_one_hot, one_hot.copy(), what="from_one_hot"), "from_one_hot")
        if got.shape != labels.shape:
            axis = next((a for a in (0, 2, 3, -1) if np.shape(one_hot.argmax(a)) == got.shape), None)
            more = (f" Yours looks like an argmax over axis {axis}; the class axis of (N, K, H, W) is axis 1."
                    if axis is not None else "")
            raise AssertionError(f"{head} return one id per pixel, shape {labels.shape}; yours has shape "
                                 f"{got.shape}.{more}")
        if not np.array_equal(got, labels):
            void = labels == 255
            if np.array_equal(got[~void], labels[~void]):
                raise AssertionError(f"{head} yours gives the void pixels id {_show(got[void][0])}, not 255: "
                                     f"a pixel whose channels are all 0 has no class, but its argmax (or a "
                                     f"weighted sum of its channels) is 0, the first class. Keep 255 "
                                     f"where no channel is set: np.where(one_hot.any(1), one_hot.argmax(1), 255).")
            raise AssertionError(f"{head} expected\n{labels.tolist()}\nyours is\n{got.tolist()}\nthe id of a pixel is "
                                 f"the channel that holds its 1 (argmax over axis 1), 255 where none does.")
        if got.dtype.kind not in "iu":
            raise AssertionError(f"{head} your ids are right but of dtype {got.dtype}: return integers, a label map "
                                 f"indexes colour tables and np.eye(K).")
        back = _array(call(from_one_hot, _array(call(to_one_hot, labels.copy(), k, what="to_one_hot"),
                                               "to_one_hot"), what="from_one_hot"), "from_one_hot")
        if not np.array_equal(back, labels):
            raise AssertionError(f"the round trip from_one_hot(to_one_hot(labels, {k})) does not give labels "
                                 f"{labels.tolist()} back: {back.tolist()}")
    _refuse_torchmetrics(call, "to_one_hot / from_one_hot")
    call.refuse("to_one_hot / from_one_hot")
    print(f"check_one_hot_batch: all cases pass; labels {ONE_HOT_LABELS.shape} -> one-hot "
          f"{_one_hot(ONE_HOT_LABELS, 4).shape} -> labels, void kept as 255")


__all__ += ["check_one_hot_batch"]


# ------------------------------------------------------------------------------- overlay and note
def _overlay(image: np.ndarray, mask: np.ndarray, colour: Sequence[int], alpha: float) -> np.ndarray:
    """The reference blend: ``(1 - alpha) * image + alpha * colour / 255`` where ``mask != 0``."""
    image = np.asarray(image, dtype=float)
    paint = np.asarray(colour, dtype=float) / 255.0
    return np.where(np.asarray(mask)[..., None] != 0, (1 - alpha) * image + alpha * paint, image)


def _overlay_cases() -> list[tuple[np.ndarray, np.ndarray, tuple[int, int, int], float]]:
    """A 3×4 case with a 0/1 mask, then random images with 0/255 and 0/1/2 masks."""
    rng = np.random.default_rng(41)
    image = np.linspace(0.1, 0.9, 36).reshape(3, 4, 3)
    mask = np.array([[0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    cases = [(image, mask, (230, 159, 0), 0.45)]
    for values, alpha in (((0, 255), 0.3), ((0, 1, 2), 0.6)):
        h, w = (int(v) for v in rng.integers(4, 9, 2))
        cases.append((rng.random((h, w, 3)), rng.choice(values, (h, w)).astype(np.uint8),
                      tuple(int(v) for v in rng.integers(0, 256, 3)), alpha))
    return cases


#: the words a failure note may use for each kind of planted fault: whole words by their stem, so
#: "removed" is not "moved", "whole" is not "hole" and "overlay" is not "over"
FAULT_WORDS: dict[str, tuple[str, ...]] = {
    "shift": ("shift", "moved", "offset", "displaced", "translated"),
    "missing": ("missing", "cut", "lost", "hole", "dropped", "removed", "false negative", "fn"),
    "extra": ("extra", "added", "false positive", "fp", "spill", "leak", "grown"),
}

#: one regex per kind: a word that starts with one of the stems (a word boundary on its left; ``fn``/``fp``
#: are whole words only)
FAULT_PATTERNS: dict[str, str] = {
    "shift": r"\b(shift|move|moving|moved|offset|displac|translat)\w*",
    "missing": r"\b(miss|cut|lost|lose|loses|hole|holes|drop|remov|false[ -]negative|fn\b|under-?segment)\w*",
    "extra": r"\b(extra|add|spill|leak|grow|grown|false[ -]positive|fp\b|over-?segment)\w*",
}

#: how a hint names each kind of fault
FAULT_NAMES: dict[str, str] = {"shift": "a shift", "missing": "a missing-part fault", "extra": "an extra-pixels fault"}


def _kinds_named(note: str) -> list[str]:
    """The kinds of fault that ``note`` names, matched as whole words by their stems.

    >>> _kinds_named("left part of the stain removed: 45 pixels wrong")
    ['missing']
    >>> _kinds_named("in the overlay the whole mask looks off, hard to understand")
    []
    >>> _kinds_named("translated 2 px: 20 missing on the left, 20 extra on the right")
    ['shift', 'missing', 'extra']
    """
    text = note.lower()
    return [kind for kind, pattern in FAULT_PATTERNS.items() if re.search(pattern, text)]


def _fault_kind(faulty: np.ndarray, truth: np.ndarray) -> str:
    """``"shift"`` when ``faulty`` is ``truth`` rolled by at most 3 px, ``"missing"`` when it only drops
    truth pixels, ``"extra"`` when it only adds some, else ``"mixed"``.

    >>> t = np.zeros((6, 6), bool); t[2:4, 2:4] = True
    >>> _fault_kind(np.roll(t, 1, axis=1), t), _fault_kind(t & (np.arange(6) < 3), t)
    ('shift', 'missing')
    """
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            if (dy or dx) and np.array_equal(np.roll(truth, (dy, dx), axis=(0, 1)), faulty):
                return "shift"
    if not (faulty & ~truth).any():
        return "missing"
    if not (truth & ~faulty).any():
        return "extra"
    return "mixed"


def _refuse_in_place(overlay: Callable, img: np.ndarray, mask: np.ndarray, colour: Any, alpha: float) -> None:
    """Fail if ``overlay`` changes the image it is given (the checks' calls get copies, so it is probed here)."""
    import contextlib
    import io

    given = img.copy()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            overlay(given, mask.copy(), colour, alpha)
    except Exception:  # noqa: BLE001  (the checked calls above already ran it without a crash)
        return
    if not np.array_equal(given, img):
        y, x = np.argwhere((given != img).any(axis=-1))[0]
        raise AssertionError(f"your overlay changed the image it was given, in place (pixel ({y}, {x}) was "
                             f"{np.round(img[y, x], 3).tolist()}, is now {np.round(given[y, x], 3).tolist()}): the "
                             f"exercise asks for a new picture, and the image must stay as it was for the next "
                             f"drawing. Blend into image.copy(), or use np.where, which builds a new array.")


@learner_check
def check_overlay_note(overlay: Callable, image: Any, truth: Any, faulty: Any, note: Any) -> None:
    """Check ``overlay(image, mask, colour, alpha)`` pixel by pixel, then the failure ``note`` on ``faulty``.

    ``overlay`` must return ``(1 - alpha) * image + alpha * colour / 255`` where ``mask != 0`` and
    the image unchanged elsewhere, shape ``(H, W, 3)``. ``faulty`` is the
    learner's prediction: ``truth`` with one planted fault (a shift of 1 to 3 px, a missing part or
    extra pixels). ``note`` is one line that names the fault and the number of wrong pixels
    (FP + FN). Typical mistakes get their cause named: a blend over the whole image, colour not
    divided by 255, ``alpha`` on the wrong side, only ``mask == 1`` painted, an ``image`` changed in
    place, a note on another fault.

    >>> blend = lambda im, m, c, a: np.where(np.asarray(m)[..., None] != 0, (1 - a) * im + a * np.array(c) / 255, im)
    >>> t = np.zeros((8, 8), bool); t[2:6, 2:6] = True
    >>> check_overlay_note(blend, np.zeros((8, 8, 3)), t, np.roll(t, 1, 1), "shifted 1 px right: 8 pixels wrong")
    check_overlay_note: the overlay matches on 3 cases; your note names the shift and its 8 wrong pixels
    >>> check_overlay_note(blend, np.zeros((8, 8, 3)), t, np.roll(t, 1, 1), "a part is missing: 8 pixels")
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: your note does not name the fault you planted: ...
    """
    call = Watch(LIBRARY + TORCHMETRICS)
    for img, mask, colour, alpha in _overlay_cases():
        head = f"overlay on a {mask.shape} image, mask values {np.unique(mask).tolist()}, colour {colour}, alpha {alpha}:"
        got = _array(call(overlay, img.copy(), mask.copy(), colour, alpha, what="overlay"), "overlay")
        want = _overlay(img, mask, colour, alpha)
        if got.shape != want.shape:
            raise AssertionError(f"{head} return an RGB picture of shape {want.shape}; yours has shape {got.shape}.")
        if np.allclose(got, want, atol=1e-6):
            continue
        inside = mask != 0
        paint = np.asarray(colour, float)
        if not np.allclose(got[~inside], img[~inside], atol=1e-6):
            if got.max() > 1.5 >= img.max():
                raise AssertionError(f"{head} yours returns values up to {_show(float(got.max()))}, an image of 0 to "
                                     f"255 (uint8?), while the image is floats from 0 to 1: return the blend as "
                                     f"floats in 0..1, without multiplying by 255 or converting to uint8.")
            if np.allclose(got, (1 - alpha) * img + alpha * paint / 255, atol=1e-6):
                raise AssertionError(f"{head} yours blends the colour over the whole image. Blend only where the "
                                     f"mask is nonzero, and keep the image elsewhere: np.where(mask[..., None] != 0, "
                                     f"blend, image).")
            raise AssertionError(f"{head} yours changes pixels outside the mask; keep the image there.")
        if np.allclose(got, _overlay(img, mask, paint * 255, alpha), atol=1e-3):
            raise AssertionError(f"{head} yours blends the colour as 0 to 255 into an image of 0 to 1: divide the "
                                 f"colour by 255 first.")
        if np.allclose(got, _overlay(img, mask, colour, 1 - alpha), atol=1e-6):
            raise AssertionError(f"{head} alpha is on the wrong side: alpha is the weight of the colour, "
                                 f"(1 - alpha) * image + alpha * colour / 255.")
        if np.allclose(got, _overlay(img, mask == 1, colour, alpha), atol=1e-6):
            raise AssertionError(f"{head} yours paints only the pixels where mask == 1; any nonzero value is "
                                 f"'object' (a mask saved as an image holds 0 and 255): use mask != 0.")
        y, x = np.argwhere(~np.isclose(got, want, atol=1e-6).all(-1))[0]
        raise AssertionError(f"{head} pixel ({y}, {x}) should be {np.round(want[y, x], 3).tolist()}, yours is "
                             f"{np.round(got[y, x], 3).tolist()}.")
    call.refuse("overlay")
    _refuse_in_place(overlay, *_overlay_cases()[0])
    t = np.asarray(_plain(truth)) != 0
    f = _array(faulty, "faulty") != 0
    if f.shape != t.shape:
        raise AssertionError(f"faulty must be a mask of the truth's shape {t.shape}; yours has shape {f.shape}")
    wrong = int((f != t).sum())
    if wrong == 0:
        raise AssertionError("faulty equals truth: plant one fault first (shift the mask, cut a part off, "
                             "or add pixels)")
    kind = _fault_kind(f, t)
    if kind == "mixed":
        raise AssertionError(f"faulty both adds {int((f & ~t).sum())} and drops {int((t & ~f).sum())} pixels "
                             f"without being a shift of 1 to 3 px: plant one fault only, so one note explains it.")
    if not isinstance(note, str) or not note.strip():
        raise AssertionError('write the note as one line of text, e.g. note = "..."')
    if "\n" in note.strip() or len(note) > 100:
        raise AssertionError(f"keep the note to one line of at most 100 characters; yours has {len(note)}")
    named = _kinds_named(note)
    others = [k for k in named if k != kind]
    if kind not in named:
        raise AssertionError(f"your note does not name the fault you planted: your faulty mask is "
                             f"{FAULT_NAMES[kind]} of the truth (use a word such as {FAULT_WORDS[kind][0]!r}), "
                             + (f"but your note names {FAULT_NAMES[others[0]]}. " if others else
                                "and your note names none. ")
                             + "Count faulty & ~truth (FP) and truth & ~faulty (FN) to see which it is.")
    if others and kind != "shift":      # a shift has a missing side and an extra side: a note may say so
        raise AssertionError(f"your note names {FAULT_NAMES[kind]} and also {FAULT_NAMES[others[0]]}: your "
                             f"faulty mask is {FAULT_NAMES[kind]} only (FP {int((f & ~t).sum())}, FN "
                             f"{int((t & ~f).sum())}), so name that one kind.")
    # the count: "40 pixels wrong" or "40 wrong" if the note says so, else any "N px/pixels"
    # that is not a distance ("shifted by 2 px")
    numbers = [int(n) for n in re.findall(r"(\d+)\s*(?:px|pixels?)?\s+wrong\b", note)] or \
        [int(n) for n in re.findall(r"(?<!by )\b(\d+)\s*(?:[a-z]+\s+)?(?:px|pixels?)\b", note)]
    if wrong not in numbers:
        raise AssertionError(f"your note should say how many pixels are wrong (FP + FN): count "
                             f"(faulty != truth).sum() and write that number followed by 'pixels' or 'px' "
                             f"(e.g. '{wrong} pixels wrong'); the pixel counts in the note: {numbers or 'none'}.")
    print(f"check_overlay_note: the overlay matches on {len(_overlay_cases())} cases; your note names the "
          f"{kind} and its {wrong} wrong pixels")


# ------------------------------------------------------------------------------- boundary flag
#: whole-word stems that say why boundary IoU flags the shifted prediction: its whole outline moved
#: ("outline" or "contour" alone names the band, not what happened to it: not a reason)
SHIFT_PATTERN = r"\b(shift|move|moving|offset|displac|translat|went|off by|1 ?px|1 pixel|one pixel)\w*"
#: whole-word stems that describe the other prediction, a bite out of one part of the object
#: ("missing", not "miss": "its band misses the truth's band" is a right reason)
BITE_PATTERN = r"\b(bite|bitten|missing|cut|hole|lost|drop|remov|chunk|notch)\w*"


@learner_check
def check_boundary_flag(answer: Any, predictions: dict, truth: Any) -> None:
    """Check ``answer = (name, reason)``: the prediction with the lowest boundary IoU (bands 1 pixel
    wide, as the learner's exercise-7 ``boundary_iou`` gives on a 40×40 image with ratio 0.02)
    against ``truth``, and a reason that says its whole outline moved (a word of
    ``SHIFT_PATTERN``). Only a reason with no such word is read for a bite (``BITE_PATTERN``, the
    other prediction): "moved 1 px right, so its left edge is missing" describes the shift.
    Only the answer is graded: the numbers come from the learner's exercise 7, graded there.

    >>> t = np.zeros((40, 40), bool); t[10:30, 10:30] = True
    >>> cut = t.copy(); cut[10:16, 10:22] = False
    >>> preds = {"A": cut, "B": np.roll(t, 1, axis=1)}
    >>> check_boundary_flag(("B", "the whole outline shifted 1 px"), preds, t)
    check_boundary_flag: boundary IoU (1 px bands) 0.634 for A, 0.333 for B; B flagged, its outline shifted
    >>> check_boundary_flag(("B", "the whole object went 1 px right"), preds, t)
    check_boundary_flag: boundary IoU (1 px bands) 0.634 for A, 0.333 for B; B flagged, its outline shifted
    >>> check_boundary_flag(("B", "contour"), preds, t)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: B is right; now say why in the reason, not which score is lower: ...
    >>> check_boundary_flag(("A", "a part is missing"), preds, t)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: A has the lower mask IoU ...
    """
    if callable(answer):
        raise AssertionError("pass only your answer: checks.check_boundary_flag(flagged, predictions, round_truth); "
                             "the boundary IoUs come from your boundary_iou of exercise 7")
    t = np.asarray(_plain(truth)) != 0
    names = list(predictions)
    masks = {n: np.asarray(predictions[n]) != 0 for n in names}
    square = np.ones((3, 3), bool)
    biou = {n: _biou(masks[n], t, lambda m: m & ~_eroded(m, 1, square)) for n in names}
    miou = {n: metrics.iou(masks[n], t) for n in names}
    if isinstance(answer, str) or not hasattr(answer, "__len__") or len(answer) != 2:
        raise AssertionError(f'answer with a name and a reason, e.g. flagged = ("{names[0]}", "because ...")')
    name, reason = (str(a).strip() for a in answer)
    if name.upper() not in [n.upper() for n in names]:
        raise AssertionError(f"{name!r} is not one of the predictions {names}")
    name = next(n for n in names if n.upper() == name.upper())
    best = min(names, key=lambda n: biou[n])
    if name != best:
        low = min(names, key=lambda n: miou[n])
        why = (f"{name} has the lower mask IoU ({miou[name]:.3f}), but mask IoU counts every pixel; boundary IoU "
               f"compares only the bands along the outlines. " if name == low else "")
        raise AssertionError(f"{why}With bands 1 pixel wide (your boundary_iou of exercise 7, printed above), which "
                             f"prediction's band overlaps the truth's band least? Boundary IoU: "
                             f"{', '.join(f'{n} {biou[n]:.3f}' for n in names)}.")
    text = reason.lower()
    if not re.search(SHIFT_PATTERN, text):
        if re.search(BITE_PATTERN, text):
            raise AssertionError(f"{name} is right, but your reason describes a bite or a missing part: that is the "
                                 f"other prediction. What happened to {name}'s outline, all the way round?")
        raise AssertionError(f"{name} is right; now say why in the reason, not which score is lower: look at "
                             f"{name}'s outline beside the truth's in the picture and describe what happened to it, "
                             f"all the way round ('outline' or 'contour' alone names the band, not what happened)")
    shown = ", ".join(f"{biou[n]:.3f} for {n}" for n in names)
    print(f"check_boundary_flag: boundary IoU (1 px bands) {shown}; {name} flagged, its outline shifted")


__all__ += ["check_overlay_note", "check_boundary_flag"]
