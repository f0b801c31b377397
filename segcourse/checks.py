"""Automatic checks for the exercises: each tests a learner's answer on many cases and, when it
is wrong, fails with a hint that teaches rather than just "wrong".

Every check raises :class:`CheckFailed`, an ``AssertionError`` (so nbgrader, nbval and pytest
treat it as a failed test), and prints nothing on success but a one-line confirmation on stdout.
In a Jupyter kernel, importing this module registers an IPython handler that shows a failed check
as one short message -- ``CheckFailed: <the hint>`` -- instead of a traceback through this module;
the cell still ends in an error, so nbgrader still scores it as failed.

Writing a new check
-------------------
Decorate it with :func:`learner_check` and call the learner's code only through :func:`_call`::

    @learner_check
    def check_thing(thing):
        got = _number(_call(thing, np.zeros((2, 2)), what="thing"), "thing")
        if got != 0:
            raise AssertionError(f"thing of an empty mask is 0, yours is {got!r}")
        print("check_thing: all cases pass")

That one line gives the check what grading under nbgrader needs:

* warnings and numpy floating-point warnings raised while it runs are silenced, and the
  learner's writes to ``sys.stderr`` are swallowed: a grade cell that writes anything to stderr
  scores 0 even when it passes;
* *any* exception -- from the learner's code, from a return value the check cannot read (a
  dict, a generator, a ragged list, a tensor with ``requires_grad``), or from a bad argument to
  the check -- ends as one :class:`CheckFailed` whose hint lines are at most 80 characters
  (``nbgrader validate`` cuts lines at 87), never as an internal traceback;
* the check's own frames are hidden from pytest's tracebacks (``__tracebackhide__``); in Jupyter
  the handler above shows no traceback at all (IPython ignores ``__tracebackhide__``).

:func:`_call` passes deep copies of the inputs, so a learner function that modifies its
arguments in place cannot change the check's reference computation.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import html
import io
import os
import re
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import metrics
from ._validate import to_numpy

__all__ = [
    "CheckFailed",
    "learner_check",
    "check_iou",
    "check_dice",
    "check_confusion_matrix",
    "check_mean_iou",
    "check_practice_masks",
    "check_small_region_sensitivity",
    "check_painted_mask",
    "check_report",
    "check_pixel_shares",
    "check_iou_from_confusion",
    "check_aligned_flip",
    "check_count_objects",
    "check_panoptic_quality",
    "check_soft_dice",
    "check_transposed_output_size",
    "check_receptive_field",
    "check_skip_choice",
]

#: When this module was imported (the kernel session that runs the checks); see check_report.
_LOADED_AT = time.time()

TRUTH = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]
PRED = [[1, 0, 0], [1, 1, 0], [0, 0, 0]]

#: Longest hint line; ``nbgrader validate`` truncates error lines at 87 characters.
HINT_WIDTH = 80


def _wrap(message: str, width: int = HINT_WIDTH) -> str:
    """Wrap every line of ``message`` to ``width`` characters (long words are broken too)."""
    lines = []
    for line in str(message).splitlines() or [""]:
        lines += textwrap.wrap(line, width, break_long_words=True, break_on_hyphens=False) or [""]
    return "\n".join(lines)


class CheckFailed(AssertionError):
    """A check found a mistake in the learner's answer; the message is the hint.

    An ``AssertionError``, so pytest, nbval and nbgrader count it as a failed test. In a Jupyter
    kernel it is shown as one short message, without a traceback (see :func:`register_ipython_handler`).

    Examples
    --------
    >>> issubclass(CheckFailed, AssertionError)
    True
    >>> raise CheckFailed("IoU of a mask with itself is 1.0")
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: IoU of a mask with itself is 1.0
    """


def _show_check_failed(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """IPython custom exception handler: a failed check as ``CheckFailed: <hint>``, no traceback.

    The shell shows the returned lines as the cell's error output (in a kernel: an ``error``
    message with ``ename`` ``CheckFailed``), so the cell still fails under nbgrader and nbclient.
    """
    stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: " + str(value).replace("\n", "\n" + " " * (len(etype.__name__) + 2))]
    shell._showtraceback(etype, value, stb)  # IPython >= 8 leaves the showing to the handler
    return stb


def register_ipython_handler(shell: Any = None) -> bool:
    """Show failed checks in IPython / Jupyter as one short message (done on import inside a kernel).

    IPython ignores ``__tracebackhide__``, so without this a failed check shows the learner the
    frames of this module above the hint. The handler only changes how a :class:`CheckFailed`
    is shown: the cell still raises, nbgrader still records it as failed. Another library's
    custom exception handler, if one is registered, is left in place.

    Parameters
    ----------
    shell : an IPython ``InteractiveShell``; default: the running one, if any.

    Returns
    -------
    bool
        True if the handler is registered now; False outside IPython or when another handler is.

    Examples
    --------
    >>> register_ipython_handler()  # plain Python (doctest): no IPython shell, nothing to do
    False
    """
    if shell is None:
        ipython = sys.modules.get("IPython")  # never import IPython just to look: plain Python has none running
        shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    current = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if any(getattr(e, "__qualname__", "") != "CheckFailed" or getattr(e, "__module__", "") != __name__ for e in current):
        return False  # someone else's handler: IPython holds only one
    shell.set_custom_exc((CheckFailed,), _show_check_failed)
    return True


register_ipython_handler()  # inside a kernel: from the first `import segcourse.checks` (or `from ... import`) on


def learner_check(check: Callable) -> Callable:
    """Make ``check`` safe to run on any learner answer under grading (see the module docstring).

    >>> @learner_check
    ... def check_positive(fn):
    ...     if not _number(_call(fn, 1, what="fn"), "fn") > 0:
    ...         raise AssertionError("fn(1) must be positive")
    >>> check_positive(lambda x: {"a": 1})
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: fn returned a dict; return one number (a float)
    >>> check_positive(lambda x: np.float64(0) / 0)    # no RuntimeWarning reaches stderr
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: fn(1) must be positive
    """

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # noqa: F841  (read by pytest and IPython)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                return check(*args, **kwargs)
            except AssertionError as exc:
                message = str(exc)
            except Exception as exc:  # the check could not even read the answer or an argument
                message = (f"{check.__name__} could not use what it was given "
                           f"({type(exc).__name__}: {exc}). Check the arguments and what your "
                           f"function returns.")
        raise CheckFailed(_wrap(message)) from None

    wrapper.__learner_check__ = True
    return wrapper


def _call(fn: Callable, *args: Any, what: str) -> Any:
    """Call the learner's ``fn`` on deep copies of ``args``; any failure is an AssertionError."""
    __tracebackhide__ = True  # noqa: F841
    if not callable(fn):
        raise AssertionError(f"pass your function itself (e.g. check_iou(iou)), not {type(fn).__name__}")
    args = copy.deepcopy(args)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return fn(*args)
    except NotImplementedError:
        raise AssertionError(f"{what} still raises NotImplementedError: replace the stub with your code") from None
    except AssertionError as exc:
        raise AssertionError(f"{what} raised AssertionError: {exc}") from None
    except Exception as exc:  # a crash is a failed check, with the reason
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise AssertionError(f"{what} crashed with {type(exc).__name__}: {text[:200]}") from None


def _kind(value: Any) -> str:
    return type(value).__name__


def _plain(value: Any) -> Any:
    """torch tensors (also with requires_grad, on a GPU) -> numpy; anything else unchanged."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().float().numpy() if value.is_floating_point() else value.detach().cpu().numpy()
    return value


def _number(value: Any, what: str) -> float:
    """The learner's return value as one float, or an AssertionError that says what it was."""
    value = _plain(value)
    if isinstance(value, (dict, set, str, bytes)) or value is None or callable(value) or hasattr(value, "__next__"):
        raise AssertionError(f"{what} returned a {_kind(value)}; return one number (a float)")
    arr = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray, np.generic)) else None
    if arr is not None:
        if arr.size != 1 or arr.dtype == object:
            raise AssertionError(f"{what} returned {_kind(value)} of shape {np.shape(value)}; return one number")
        value = arr.reshape(-1)[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} returned a {_kind(value)}; return one number (a float)") from None


def _array(value: Any, what: str) -> np.ndarray:
    """The learner's return value as a numeric numpy array, or an AssertionError."""
    value = _plain(value)
    if isinstance(value, (dict, set, str, bytes)) or value is None or callable(value) or hasattr(value, "__next__"):
        raise AssertionError(f"{what} returned a {_kind(value)}; return a numpy array")
    if isinstance(value, (list, tuple)):
        value = [_plain(v) for v in value]
    try:
        arr = np.asarray(value)
    except ValueError:
        raise AssertionError(f"{what} returned a ragged list (rows of different lengths); return a numpy array") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise AssertionError(f"{what} returned {_kind(value)} of dtype {arr.dtype}; return a numeric numpy array")
    return arr


def _count(value: Any, what: str) -> int | float:
    """A count: an integer number, not a label map."""
    value = _plain(value)
    if np.ndim(value) if isinstance(value, (list, tuple, np.ndarray)) else False:
        raise AssertionError(f"{what} returned an array of shape {np.shape(value)}: return the number of "
                             f"objects (an int), not the label map")
    return _number(value, what)


def _close(a: Any, b: float, tol: float = 1e-9) -> bool:
    try:
        a = float(_plain(a))
    except (TypeError, ValueError):
        return False
    return (np.isnan(a) and np.isnan(b)) or abs(a - b) <= tol


def _random_pairs(seed: int, n: int = 25):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        shape = tuple(rng.integers(2, 12, 2))
        if rng.random() < 0.3:
            shape = (int(rng.integers(2, 4)),) + shape  # a batch
        p = rng.random(shape) < rng.uniform(0.1, 0.7)
        t = rng.random(shape) < rng.uniform(0.1, 0.7)
        yield p, t


def _check_overlap(fn: Callable, name: str, ref: Callable, seed_value: float) -> None:
    got = _number(_call(fn, np.array(PRED), np.array(TRUTH), what=name), name)
    if not _close(got, seed_value, 1e-6):
        hint = ""
        if name == "iou" and _close(got, 2 / 3, 1e-3):
            hint = " That is the Dice value: IoU divides by the union |P ∪ T| = 4, not by the mean size."
        if name == "iou" and _close(got, 2.0, 1e-9):
            hint = " You returned the intersection count: divide it by the union."
        if name == "dice" and _close(got, 0.5, 1e-9):
            hint = " That is the IoU. Dice is 2|P ∩ T| / (|P| + |T|)."
        raise AssertionError(f"{name} of lesson 00's 3×3 masks should be {seed_value:.4f}, yours is {got!r}.{hint}")
    empty = np.zeros((3, 3), bool)
    got = _number(_call(fn, empty, empty, what=name), name)
    if not _close(got, float("nan")):
        raise AssertionError(
            f"your {name} of two empty masks is {got!r}; both masks agree everywhere, but 0/0 has no value — "
            f"the course convention is to return NaN (np.nan) so that averages can skip such images.")
    one = empty.copy(); one[1, 1] = True
    got = _number(_call(fn, one, empty, what=name), name)
    if not _close(got, 0.0):
        raise AssertionError(f"your {name} of a one-pixel prediction against an empty target is {got!r}; "
                             f"nothing overlaps, so it must be 0.0 (only *both* empty is NaN)")
    got = _number(_call(fn, one, one, what=name), name)
    if not _close(got, 1.0):
        raise AssertionError(f"your {name} of a mask with itself is {got!r}; identical masks score 1.0")
    for p, t in _random_pairs(7):
        want = ref(p, t)
        got = _number(_call(fn, p, t, what=name), name)
        if not _close(got, want, 1e-6):
            extra = " (this case is a batch of shape (N, H, W): count over all images)" if p.ndim == 3 else ""
            raise AssertionError(f"on random masks of shape {p.shape} your {name} is {got!r}, expected {want:.6f}{extra}. "
                                 f"Check that you count pixels, not rows, and use & for intersection and | for union.")
    p, t = next(_random_pairs(8))
    got = _number(_call(fn, p.astype(np.uint8), t.astype(np.uint8), what=name), name)
    if not _close(got, ref(p, t), 1e-6):
        raise AssertionError(f"your {name} gives {got!r} for 0/1 uint8 masks but {ref(p, t):.6f} is right: convert to bool "
                             f"first (mask.astype(bool)); uint8 arithmetic overflows and & on 0/1 ints is not logical AND of masks")


@learner_check
def check_iou(iou: Callable) -> None:
    """Check a learner's ``iou(pred, target)`` for binary masks.

    >>> check_iou(metrics.iou)
    check_iou: all cases pass
    """
    _check_overlap(iou, "iou", metrics.iou, 0.5)
    print("check_iou: all cases pass")


@learner_check
def check_dice(dice: Callable) -> None:
    """Check a learner's ``dice(pred, target)`` for binary masks.

    >>> check_dice(metrics.dice)
    check_dice: all cases pass
    """
    _check_overlap(dice, "dice", metrics.dice, 2 / 3)
    print("check_dice: all cases pass")


@learner_check
def check_confusion_matrix(confusion_matrix: Callable) -> None:
    """Check a learner's ``confusion_matrix(pred, target, num_classes)`` (rows = truth).

    >>> check_confusion_matrix(metrics.confusion_matrix)
    check_confusion_matrix: all cases pass
    """
    pred = np.array([[0, 1, 1], [1, 2, 2]])
    target = np.array([[0, 0, 1], [1, 1, 2]])
    want = metrics.confusion_matrix(pred, target, 3)
    got = _array(_call(confusion_matrix, pred, target, 3, what="confusion_matrix"), "confusion_matrix")
    if got.shape != (3, 3):
        raise AssertionError(f"with num_classes=3 the matrix must be 3×3, yours has shape {got.shape}")
    if np.array_equal(got, want.T):
        raise AssertionError("your matrix is transposed: rows must be the ground truth (target) and columns the prediction, "
                             "so cm[i, j] counts pixels of true class i predicted as j")
    if not np.array_equal(got, want):
        raise AssertionError(f"for pred={pred.tolist()} and target={target.tolist()} expected\n{want}\nbut got\n{got}")
    got = _array(_call(confusion_matrix, np.zeros((2, 2), int), np.zeros((2, 2), int), 4, what="confusion_matrix"), "confusion_matrix")
    if got.shape != (4, 4):
        raise AssertionError("classes that never occur still get a row and a column: use num_classes, not the ids you see "
                             f"(np.bincount(..., minlength=K*K)); your shape is {got.shape}")
    rng = np.random.default_rng(3)
    for _ in range(20):
        k = int(rng.integers(2, 20))
        shape = (int(rng.integers(1, 3)), 40, 40)
        t = rng.integers(0, k, shape).astype(np.uint8)
        p = rng.integers(0, k, shape).astype(np.uint8)
        got = _array(_call(confusion_matrix, p, t, k, what="confusion_matrix"), "confusion_matrix")
        if not np.array_equal(got, metrics.confusion_matrix(p, t, k)):
            raise AssertionError(f"wrong counts on random uint8 label maps with K={k}: K*t + p overflows uint8 when K*K > 256 — "
                                 f"convert to a wider integer type (astype(np.int64)) before computing the index")
    print("check_confusion_matrix: all cases pass")


@learner_check
def check_mean_iou(mean_iou: Callable) -> None:
    """Check a learner's ``mean_iou(pred, target, num_classes)`` (NaN classes skipped).

    >>> check_mean_iou(metrics.mean_iou)
    check_mean_iou: all cases pass
    """
    t = np.array([[0, 0], [1, 1]])
    p = np.array([[0, 1], [1, 1]])
    want = metrics.mean_iou(p, t, 4)
    got = _number(_call(mean_iou, p, t, 4, what="mean_iou"), "mean_iou")
    if _close(got, (0.5 + 2 / 3) / 4, 1e-6):
        raise AssertionError(f"your mean IoU is {got:.4f}: classes 2 and 3 appear in neither mask and were counted as 0. "
                             f"An absent class has no IoU (NaN); average only the classes that occur (np.nanmean).")
    if not _close(got, want, 1e-6):
        raise AssertionError(f"mean_iou(pred={p.tolist()}, target={t.tolist()}, num_classes=4) should be {want:.4f}, yours is {got!r}")
    rng = np.random.default_rng(11)
    for _ in range(20):
        k = int(rng.integers(2, 7))
        t = rng.integers(0, k, (2, 9, 9))
        p = np.where(rng.random(t.shape) < 0.6, t, rng.integers(0, k, t.shape))
        want = metrics.mean_iou(p, t, k)
        got = _number(_call(mean_iou, p, t, k, what="mean_iou"), "mean_iou")
        if not _close(got, want, 1e-6):
            raise AssertionError(f"on random label maps (K={k}, batch of 2) expected {want:.6f}, got {got!r}: "
                                 f"compute each class's IoU over all pixels of the batch, then average the classes")
    print("check_mean_iou: all cases pass")


@learner_check
def check_practice_masks(pred_masks: Any, gt_masks: Any, ious: Any, mean_iou: Any) -> None:
    """Check the practice exercise: a new set of masks, its per-sample IoU and their mean.

    Two empty masks have no IoU: the course convention (lesson 00) is NaN, and the mean skips
    such samples (``np.nanmean``). Masks are 0/1 (or bool): 0/255 masks (as image files store
    them) fail with a hint to convert them, instead of being scored as empty. Torch tensors
    (also with ``requires_grad``) are read like arrays.

    >>> p = [[[1, 0], [0, 0]], [[1, 1], [0, 0]], [[0, 0], [0, 0]]]
    >>> g = [[[1, 1], [0, 0]], [[1, 1], [0, 0]], [[0, 0], [0, 0]]]
    >>> check_practice_masks(p, g, [0.5, 1.0, float("nan")], 0.75)
    check_practice_masks: per-sample [0.5, 1.0, nan], mean 0.75
    """
    try:
        p, g = to_numpy(pred_masks, "pred_masks"), to_numpy(gt_masks, "gt_masks")
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"pred_masks and gt_masks must be lists of equal-sized\n"
                             f"2-D masks (rows of 0/1): {exc}") from None
    if p.shape != g.shape or p.ndim != 3 or len(p) < 2:
        raise AssertionError(f"build at least two samples of matching 2-D masks:\n"
                             f"pred_masks {p.shape}, gt_masks {g.shape}")
    for arr, name in ((p, "pred_masks"), (g, "gt_masks")):
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise AssertionError(f"{name} has dtype {arr.dtype}; masks hold the numbers 0 and 1")
        values = np.unique(arr)
        if not np.isin(values, [0, 1]).all():
            hint = ("these look like 0/255 masks (as image files store them):\nconvert with (mask > 0).astype(int)"
                    if np.isin(values, [0, 255]).all() else "every pixel is 0 (background) or 1 (object)")
            raise AssertionError(f"{name} holds the values {values[:6].tolist()}; practice masks\n"
                                 f"are binary, 0/1: {hint}")
    want = np.array([metrics.iou(a == 1, b == 1) for a, b in zip(p, g)], float)
    try:
        got = to_numpy(ious, "ious").astype(float).ravel() if not np.isscalar(ious) else np.asarray(ious, float).ravel()
    except (TypeError, ValueError):
        raise AssertionError(f"ious must be a list of numbers, one per sample;\ngot {type(ious).__name__}") from None
    if len(got) != len(want):
        raise AssertionError(f"one IoU per sample: {len(want)} samples, {len(got)} values in ious")
    if not np.allclose(got, want, atol=1e-4, equal_nan=True):
        empty = np.isnan(want) & ~np.isnan(got)
        if empty.any():
            raise AssertionError(f"sample {int(np.argmax(empty))}: both masks are empty, so IoU is 0/0;\n"
                                 f"the course convention is NaN (np.nan), not {got[empty][0]!r}")
        raise AssertionError(f"the per-sample IoUs of your masks are {np.round(want, 4).tolist()},\n"
                             f"you reported {np.round(got, 4).tolist()}")
    want_mean = float(np.nanmean(want)) if np.isfinite(want).any() else float("nan")
    if not _close(mean_iou, want_mean, 1e-4):
        hint = ("\nuse np.nanmean: a NaN sample (two empty masks) is skipped"
                if _close(mean_iou, float("nan")) or _close(mean_iou, float(np.nan_to_num(want).mean()), 1e-4) else "")
        raise AssertionError(f"mean_iou should be the mean of the per-sample values,\n"
                             f"{want_mean:.4f}; you have {mean_iou!r}{hint}")
    if np.allclose(want[np.isfinite(want)], 0.8):
        raise AssertionError("your masks give 0.8 everywhere, like the original example:\n"
                             "change them so mean_iou moves")
    print(f"check_practice_masks: per-sample {np.round(want, 4).tolist()}, mean {want_mean:.4g}")


@learner_check
def check_small_region_sensitivity(shifted_iou: Callable) -> None:
    """Check ``shifted_iou(side)``: IoU of a side×side square with itself shifted one pixel right.

    >>> check_small_region_sensitivity(lambda s: (s - 1) / (s + 1))
    check_small_region_sensitivity: side 2 -> 0.333, side 32 -> 0.939
    """
    for side in (2, 3, 5, 10, 32):
        want = (side - 1) / (side + 1)
        got = _number(_call(shifted_iou, side, what="shifted_iou"), "shifted_iou")
        if not _close(got, want, 1e-6):
            raise AssertionError(f"for a {side}×{side} square shifted by one pixel the IoU is {want:.4f} "
                                 f"((side-1)·side overlap over (side+1)·side union); yours is {got!r}. "
                                 f"Leave room around the square so the shift does not push it off the image.")
    print(f"check_small_region_sensitivity: side 2 -> {1 / 3:.3f}, side 32 -> {31 / 33:.3f}")


def _painted_array(mask: Any, editor: Any) -> np.ndarray:
    """The learner's painted mask as an array; text pictures are parsed with mask_from_string."""
    from .masks import mask_from_string

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
def check_painted_mask(mask: Any, target: Any, goal: float, tol: float = 1e-9, editor: Any = None) -> None:
    """Check a painted mask reaches IoU ``goal`` against ``target``.

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
    if abs(got - goal) > tol:
        direction = ("add pixels the target has, or remove ones it lacks" if got < goal
                     else "you overlap too well: add a false positive or leave a pixel out")
        raise AssertionError(f"your mask has IoU {got:.3f} with the target, the goal is {goal:.3f}:\n{direction}")
    print(f"check_painted_mask: IoU {got:.3f} as asked")


#: Texts the course writes for the learner; an "own explanation" must not be one of them.
_PLACEHOLDERS = {"", "your answer here", "todo", "tbd", "..."}


def _own_explanation(explanation: Any) -> str:
    """Validate the learner's explanation; return it with whitespace normalised."""
    from .report import IMPROVEMENTS

    if explanation is None:
        raise AssertionError("pass your explanation too: check_report(path, explanation)")
    if not isinstance(explanation, str):
        raise AssertionError(f"explanation must be text (a str), got {type(explanation).__name__}")
    text = " ".join(explanation.split())
    if text.strip(" .").lower() in _PLACEHOLDERS:
        raise AssertionError("explanation is empty: say in your own words which bucket\n"
                             "dominates, the number that shows it, and what you would do next")
    if any(" ".join(v.split()) in text for v in IMPROVEMENTS.values()):
        raise AssertionError("explanation copies the report's automatic advice:\n"
                             "write your own, from the numbers you printed")
    if len(text.split()) < 12:
        raise AssertionError(f"explanation has {len(text.split())} words: write at least 12, in your\n"
                             f"own words (which bucket, which number, what next)")
    if not re.search(r"\d", text):
        raise AssertionError("explanation cites no number: back it with one you printed\n"
                             "(a bucket count, an IoU, a share of pixels)")
    return text


@learner_check
def check_report(path: str | os.PathLike, explanation: str | None = None) -> None:
    """Check the portfolio report written in THIS run: sections, embedded images, your explanation.

    ``path`` is what :func:`segcourse.report.write_report` returned and ``explanation`` the
    learner's own text, passed to it as ``notes=``. A file written before this kernel imported
    :mod:`segcourse.checks` (an old report lying in the folder) fails, and so does a page that
    does not hold this explanation: the check verifies this run's work, not whatever file exists.

    >>> import tempfile
    >>> words = "Most of the 12 failing samples are class confusion in dark light; I would add colour jitter."
    >>> page = ("<h2>Triplets</h2><h2>Per-class IoU</h2><h2>Failure samples by bucket</h2><img src='data:,'>"
    ...         f"<p>{words}</p><h2>What I would improve next</h2>")
    >>> path = Path(tempfile.mkdtemp()) / "portfolio.html"
    >>> _ = path.write_text(page, encoding="utf-8")
    >>> check_report(path, words)
    check_report: every section present, images embedded, your explanation included
    """
    try:
        p = Path(path)
    except TypeError:
        raise AssertionError(f"pass the path write_report returned, not {type(path).__name__}") from None
    if not p.is_file():
        raise AssertionError(f"the report does not exist: call report.write_report(...)\n"
                             f"first and pass the path it returns. Path: {p}")
    if p.stat().st_mtime < _LOADED_AT - 2.0:  # 2 s: coarse file-system clocks
        raise AssertionError(f"the report is an old file, written before this kernel\n"
                             f"started: re-run the cell that calls write_report. Path: {p}")
    page = p.read_text(encoding="utf-8", errors="replace")
    for section in ("Triplets", "Per-class IoU", "Failure samples by bucket", "What I would improve next"):
        if section not in page:
            raise AssertionError(f"the report lacks the '{section}' section")
    if "<img" not in page or 'src="http' in page or "src='http" in page:
        raise AssertionError("the report must embed its images (data: URIs),\nnot link to files or the web")
    text = _own_explanation(explanation)
    if html.escape(text) not in " ".join(page.split()):
        raise AssertionError("the report does not contain your explanation:\n"
                             "pass it as write_report(..., notes=explanation, overwrite=True)")
    print("check_report: every section present, images embedded, your explanation included")


@learner_check
def check_pixel_shares(pixel_shares: Callable) -> None:
    """Check ``pixel_shares(label_maps, num_classes)``: the fraction of pixels of each class.

    >>> check_pixel_shares(lambda lm, k: np.bincount(np.ravel(lm), minlength=k) / np.size(lm))
    check_pixel_shares: all cases pass
    """
    lm = np.array([[[0, 0], [1, 3]], [[0, 0], [0, 1]]])
    want = np.array([5, 2, 0, 1, 0]) / 8
    got = _array(_call(pixel_shares, lm, 5, what="pixel_shares"), "pixel_shares").astype(float)
    if got.shape != (5,):
        raise AssertionError(f"return one share per class (num_classes=5 -> shape (5,)); yours has shape {got.shape}. "
                             f"A class with no pixels still gets a share of 0: np.bincount(..., minlength=num_classes)")
    if np.allclose(got, [5, 2, 0, 1, 0]):
        raise AssertionError("these are pixel counts: divide by the total number of pixels to get shares that sum to 1")
    if not np.allclose(got, want):
        raise AssertionError(f"for a batch of two 2×2 maps expected {want.tolist()}, got {got.tolist()}: count over all images together")
    print("check_pixel_shares: all cases pass")


@learner_check
def check_iou_from_confusion(iou_from_confusion: Callable) -> None:
    """Check ``iou_from_confusion(cm)``: per-class IoU read off a confusion matrix.

    >>> check_iou_from_confusion(metrics.iou_from_confusion)
    check_iou_from_confusion: all cases pass
    """
    cm = np.array([[3, 1, 0], [2, 4, 0], [0, 0, 0]])
    want = metrics.iou_from_confusion(cm)
    got = _array(_call(iou_from_confusion, cm, what="iou_from_confusion"), "iou_from_confusion").astype(float)
    tp = np.diag(cm)
    if got.shape == want.shape and np.allclose(np.nan_to_num(got), tp / np.maximum(cm.sum(1), 1)):
        raise AssertionError("that is recall (TP / row sum): IoU also counts the false positives, TP / (row sum + column sum - TP)")
    if got.shape != want.shape or not np.allclose(got[:2], want[:2]):
        raise AssertionError(f"for cm={cm.tolist()} expected {np.round(want, 4).tolist()}, got {np.round(got, 4).tolist()}")
    if not np.isnan(got[2]):
        raise AssertionError(f"class 2 has no pixels in truth or prediction: its IoU is 0/0, so NaN — yours is {got[2]!r}")
    print("check_iou_from_confusion: all cases pass")


@learner_check
def check_aligned_flip(flip_pair: Callable) -> None:
    """Check ``flip_pair(image, label_map)``: a horizontal flip of both, still aligned.

    The answer may be numpy arrays or torch tensors (float32 is fine: images are compared to
    1e-6).

    >>> check_aligned_flip(lambda img, lm: (img[:, ::-1], lm[:, ::-1]))
    check_aligned_flip: all cases pass
    >>> import torch
    >>> check_aligned_flip(lambda img, lm: (torch.as_tensor(img).flip(1), torch.as_tensor(lm).flip(1)))
    check_aligned_flip: all cases pass
    """
    rng = np.random.default_rng(0)
    lm = rng.integers(0, 4, (6, 8))
    img = np.stack([lm / 4.0, rng.random((6, 8)), rng.random((6, 8))], -1)  # channel 0 encodes the class
    out = _call(flip_pair, img.copy(), lm.copy(), what="flip_pair")
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
    print("check_aligned_flip: all cases pass")


@learner_check
def check_count_objects(count_objects: Callable) -> None:
    """Check ``count_objects(mask)``: number of 4-connected regions of a binary mask.

    >>> from scipy import ndimage
    >>> check_count_objects(lambda m: ndimage.label(np.asarray(m))[1])
    check_count_objects: all cases pass
    """
    from scipy import ndimage

    diag = np.array([[1, 0], [0, 1]])
    got = _count(_call(count_objects, diag, what="count_objects"), "count_objects")
    if got == 1:
        raise AssertionError("two pixels that touch only at a corner are 2 objects under 4-connectivity (edges only); "
                             "you used 8-connectivity (structure=np.ones((3, 3)))")
    if got != 2:
        raise AssertionError(f"[[1, 0], [0, 1]] has 2 objects (4-connectivity); you counted {got!r}")
    if _count(_call(count_objects, np.zeros((3, 3), int), what="count_objects"), "count_objects") != 0:
        raise AssertionError("an empty mask has 0 objects")
    rng = np.random.default_rng(5)
    for _ in range(20):
        m = rng.random((12, 12)) < 0.4
        want = ndimage.label(m)[1]
        got = _count(_call(count_objects, m, what="count_objects"), "count_objects")
        if got != want:
            raise AssertionError(f"a random 12×12 mask has {want} objects, you counted {got!r}: use scipy.ndimage.label")
    print("check_count_objects: all cases pass")


@learner_check
def check_panoptic_quality(panoptic_quality: Callable) -> None:
    """Check ``panoptic_quality(pred, gt)`` -> PQ (a float) for one thing class.

    >>> from segcourse import instances
    >>> check_panoptic_quality(lambda p, g: instances.panoptic_quality(p, g)["pq"])
    check_panoptic_quality: all cases pass
    """
    from . import instances

    gt = np.array([[1, 1, 0, 0]])
    half = np.array([[1, 0, 0, 0]])  # IoU exactly 0.5: not a match
    got = _number(_call(panoptic_quality, half, gt, what="panoptic_quality"), "panoptic_quality")
    if _close(got, 0.5, 1e-9):
        raise AssertionError("IoU exactly 0.5 is not a match: a match needs IoU > 0.5 (strictly). Then TP=0, FP=1, FN=1 and PQ=0")
    if not _close(got, 0.0):
        raise AssertionError(f"for pred {half.tolist()} vs truth {gt.tolist()} PQ is 0.0, yours is {got!r}")
    gt = np.array([[1, 1, 1, 1, 0, 2, 2]])
    pred = np.array([[3, 3, 3, 0, 0, 0, 0]])
    got = _number(_call(panoptic_quality, pred, gt, what="panoptic_quality"), "panoptic_quality")
    if _close(got, 0.75):
        raise AssertionError("0.75 is SQ (the mean IoU of matched pairs); PQ also multiplies by RQ = TP / (TP + FP/2 + FN/2)")
    if not _close(got, 0.5, 1e-9):
        raise AssertionError(f"one match with IoU 0.75 and one missed object: PQ = 0.75 / (1 + 0 + 0.5) = 0.5; yours is {got!r}")
    rng = np.random.default_rng(9)
    for _ in range(15):
        gt = np.zeros((16, 16), int)
        for k in range(1, 5):
            y, x = rng.integers(0, 12, 2)
            gt[y:y + 4, x:x + 4] = k * 7  # ids need not be 1..k
        pred = np.roll(gt, int(rng.integers(-1, 2)), axis=1)
        want = instances.panoptic_quality(pred, gt)["pq"]
        got = _number(_call(panoptic_quality, pred, gt, what="panoptic_quality"), "panoptic_quality")
        if not _close(got, want, 1e-6):
            raise AssertionError(f"on random instance maps expected PQ {want:.4f}, got {got!r}; ids are arbitrary positive "
                                 f"numbers (0 is background), so match by IoU, not by equal ids")
    print("check_panoptic_quality: all cases pass")


@learner_check
def check_percentile_normalize(normalize: Callable) -> None:
    """Check ``normalize(image, low, high)``: percentile ``low`` -> 0, ``high`` -> 1, clipped, float.

    >>> from segcourse import data
    >>> check_percentile_normalize(data.normalize_percentile)
    check_percentile_normalize: all cases pass
    """
    from . import data

    ramp = np.arange(101, dtype=np.uint16).reshape(1, 101)
    got = _array(_call(normalize, ramp, 10, 90, what="normalize"), "normalize")
    if got.shape != ramp.shape:
        raise AssertionError(f"the output must keep the image's shape {ramp.shape}; yours has shape {got.shape}")
    if not np.issubdtype(got.dtype, np.floating):
        raise AssertionError(f"return floats (e.g. float32): yours has dtype {got.dtype}, so values between 0 and 1 were lost")
    if np.allclose(got, ramp / 100.0, atol=1e-3):
        raise AssertionError("you divided by the maximum (min-max scaling): use np.percentile(image, [low, high]) so a few "
                             "saturated pixels cannot squash the range of everything else")
    if got.min() < -1e-6 or got.max() > 1 + 1e-6:
        raise AssertionError(f"values run from {got.min():.3f} to {got.max():.3f}: clip to [0, 1] (np.clip) — pixels above the "
                             f"high percentile are saturated, not 'more than 1'")
    want = data.normalize_percentile(ramp, 10, 90)
    if not np.allclose(got, want, atol=1e-4):
        i = int(np.argmax(np.abs(got - want)))
        raise AssertionError(f"on a ramp 0..100 with low=10, high=90 value {i} should map to {want.ravel()[i]:.3f}, yours gives "
                             f"{got.ravel()[i]:.3f}: (x - p_low) / (p_high - p_low), with the percentiles of this image")
    img = np.random.default_rng(0).gamma(2.0, 20.0, (32, 32)).astype(np.uint16)
    img[0, :3] = 60000  # three hot pixels
    got = _array(_call(normalize, img, 1, 99.8, what="normalize"), "normalize").astype(float)
    if not np.allclose(got, data.normalize_percentile(img, 1, 99.8), atol=1e-4):
        raise AssertionError("on a 16-bit image with three saturated pixels your result differs from the percentile mapping: "
                             "compute the percentiles on float values of *this* image, not fixed numbers like 255 or 65535")
    print("check_percentile_normalize: all cases pass")


@learner_check
def check_matching_f1(f1_at_50: Callable) -> None:
    """Check ``f1_at_50(pred, gt)``: instance F1 after one-to-one matching at IoU > 0.5.

    >>> from segcourse import instances
    >>> def f1(p, g):
    ...     m = instances.match_instances(p, g, 0.5)
    ...     return 2 * m.tp / (2 * m.tp + m.fp + m.fn) if m.tp + m.fp + m.fn else float("nan")
    >>> check_matching_f1(f1)
    check_matching_f1: all cases pass
    """
    from . import instances

    def ref(p, g):
        m = instances.match_instances(p, g, 0.5)
        total = 2 * m.tp + m.fp + m.fn
        return 2 * m.tp / total if total else float("nan")

    gt = np.array([[1, 1, 0, 2, 2, 0, 3, 3]])
    pred = np.array([[5, 5, 0, 6, 0, 0, 0, 0]])  # one match, one half-overlap (IoU 0.5: no match), one miss
    same_ids = np.array([[3, 3, 0, 1, 1, 0, 2, 2]])  # perfect masks, ids permuted
    if not _close(_number(_call(f1_at_50, same_ids, gt, what="f1_at_50"), "f1_at_50"), 1.0, 1e-9):
        raise AssertionError("ids are arbitrary labels: match instances by IoU, not by equal ids (a permutation of ids is still F1 = 1)")
    got = _number(_call(f1_at_50, pred, gt, what="f1_at_50"), "f1_at_50")
    if _close(got, 2 * 2 / (2 * 2 + 0 + 1), 1e-6):
        raise AssertionError("IoU exactly 0.5 is not a match: a match needs IoU > 0.5 (strictly)")
    if _close(got, 1 / 3, 1e-6) or _close(got, 0.5, 1e-6):
        raise AssertionError(f"got {got!r}: that is precision or recall alone, or counts ids rather than matches; "
                             f"F1 = 2·TP / (2·TP + FP + FN)")
    if not _close(got, ref(pred, gt), 1e-6):
        raise AssertionError(f"pred {pred.tolist()} vs truth {gt.tolist()}: TP 1, FP 1, FN 2, so F1 = 2/5 = 0.4; yours is {got!r}")
    empty = np.zeros((4, 4), int)
    if not _close(_number(_call(f1_at_50, empty, empty, what="f1_at_50"), "f1_at_50"), float("nan")):
        raise AssertionError("with no instances in either map F1 is 0/0: return NaN (float('nan'))")
    rng = np.random.default_rng(21)
    for _ in range(15):
        g = np.zeros((20, 20), int)
        for k in range(1, 6):
            y, x = rng.integers(0, 16, 2)
            g[y:y + 4, x:x + 4] = 10 * k
        p = np.roll(g, int(rng.integers(-2, 3)), axis=int(rng.integers(0, 2)))
        p[rng.random(p.shape) < 0.05] = 0
        got = _number(_call(f1_at_50, p, g, what="f1_at_50"), "f1_at_50")
        if not _close(got, ref(p, g), 1e-6):
            raise AssertionError(f"on random instance maps expected F1 {ref(p, g):.4f}, got {got!r}: each predicted and each true "
                                 f"instance can be used in at most one match")
    print("check_matching_f1: all cases pass")


__all__ += ["check_percentile_normalize", "check_matching_f1"]
# --- lesson 02: inside a segmentation network --------------------------------------------------

def _reference_soft_dice(logits: Any, target: Any, eps: float = 1.0) -> float:
    from .train import dice_loss
    return float(dice_loss(logits, target, eps=eps))


def _dice_cases(seed: int):
    """(logits, target, what) cases: random batches, a single image, absent classes, a tiny class."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    for n, k, h, w in [(2, 3, 5, 6), (1, 4, 7, 7), (3, 5, 4, 8)]:
        yield torch.randn(n, k, h, w, generator=gen) * 3, torch.randint(0, k, (n, h, w), generator=gen), f"random logits, batch of {n}"
    target = torch.zeros(2, 6, 6, dtype=torch.long)
    target[0, :3] = 1                                   # classes 2 and 3 never occur
    yield torch.randn(2, 4, 6, 6, generator=gen) * 3, target, "classes 2 and 3 absent from the target"
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, 4, 4] = 2                                 # a one-pixel class
    yield torch.randn(1, 3, 8, 8, generator=gen), target, "a class of one pixel"


@learner_check
def check_soft_dice(soft_dice: Callable) -> None:
    """Check a learner's ``soft_dice(logits, target, eps=1.0)``: 1 - mean soft Dice over present classes.

    ``logits`` (N, K, H, W) float tensor, ``target`` (N, H, W) long tensor; the sums run over the
    whole batch; classes absent from the target are left out of the mean.

    >>> from segcourse.train import dice_loss
    >>> check_soft_dice(dice_loss)
    check_soft_dice: all cases pass
    """
    import torch
    import torch.nn.functional as F

    for logits, target, what in _dice_cases(0):
        want = _reference_soft_dice(logits, target)
        got = _call(soft_dice, logits.clone(), target.clone(), what="soft_dice")
        if isinstance(got, torch.Tensor):
            if got.numel() != 1:
                raise AssertionError(f"soft_dice must return one number (a 0-d tensor), yours has shape {tuple(got.shape)}: "
                                     f"average the per-class Dice values")
            got_value = float(got.detach())
        else:
            got_value = got
        if _close(got_value, want, 1e-5):
            continue
        k = logits.shape[1]
        prob = logits.softmax(1)
        one_hot = F.one_hot(target, k).permute(0, 3, 1, 2).float()
        present = one_hot.sum((0, 2, 3)) > 0

        def variant(p=prob, eps=1.0, all_classes=False, per_image=False):
            dims = (2, 3) if per_image else (0, 2, 3)
            dice = (2 * (p * one_hot).sum(dims) + eps) / (p.sum(dims) + one_hot.sum(dims) + eps)
            if per_image:
                keep = one_hot.sum((2, 3)) > 0
                return float(1 - dice[keep].mean())
            return float(1 - (dice if all_classes else dice[present]).mean())

        hints = [
            (variant(p=logits), "you used the raw logits: apply softmax over the class axis first "
                                "(logits.softmax(1)), so each pixel's scores become probabilities"),
            (variant(p=torch.sigmoid(logits)), "you used a sigmoid: with several classes use softmax over the "
                                               "class axis (dim 1) so the probabilities sum to 1"),
            (variant(p=logits.softmax(-1)), "softmax ran over the wrong axis: the classes are dim 1 of (N, K, H, W)"),
            (variant(all_classes=True), "you averaged over every class, also those absent from the target: "
                                        "an absent class has no Dice — keep only the classes present"),
            (variant(eps=0.0), "no smoothing term: add eps to the numerator and the denominator, "
                               "(2·inter + eps) / (total + eps), so tiny and empty classes stay defined"),
            (variant(per_image=True), "you computed Dice per image and averaged: sum over the whole batch "
                                      "(dims 0, 2, 3) before dividing, as the reference does"),
            (1 - want, "you returned the mean Dice score; the loss is 1 - mean Dice (0 when perfect)"),
        ]
        for value, hint in hints:
            if _close(got_value, value, 1e-5):
                raise AssertionError(f"on {what}: soft_dice is {got_value:.4f}, expected {want:.4f}. {hint}")
        raise AssertionError(f"on {what}: soft_dice is {got_value!r}, expected {want:.4f}. For each class: "
                             f"(2·Σ p·t + eps) / (Σ p + Σ t + eps), sums over the batch; then 1 - mean over present classes")
    logits, target, _ = next(_dice_cases(1))
    logits.requires_grad_()
    got = _call(soft_dice, logits, target, what="soft_dice")
    if not isinstance(got, torch.Tensor) or not got.requires_grad:
        raise AssertionError("soft_dice must return a torch tensor that carries a gradient (a loss must be "
                             "differentiable): use torch operations, no .item(), .numpy() or argmax")
    perfect = torch.full((1, 2, 3, 3), -20.0)
    t = torch.zeros(1, 3, 3, dtype=torch.long)
    t[0, 0] = 1
    perfect[0, 1, 0] = perfect[0, 0, 1:] = 20.0
    got = _call(soft_dice, perfect, t, what="soft_dice")
    got = float(got.detach()) if isinstance(got, torch.Tensor) else got
    if not _close(got, 0.0, 1e-4):
        raise AssertionError(f"a confident, perfect prediction must give a loss of 0, yours gives {got!r}")
    print("check_soft_dice: all cases pass")


@learner_check
def check_transposed_output_size(transposed_output_size: Callable) -> None:
    """Check ``transposed_output_size(size, kernel, stride, padding=0, output_padding=0)``.

    >>> check_transposed_output_size(lambda n, k, s, p=0, op=0: (n - 1) * s - 2 * p + k + op)
    check_transposed_output_size: all cases pass
    """
    import torch
    from torch import nn

    cases = [(8, 2, 2, 0, 0), (4, 3, 2, 1, 1), (4, 3, 2, 1, 0), (5, 4, 2, 1, 0), (7, 3, 1, 1, 0), (3, 5, 3, 0, 2),
             (10, 4, 4, 2, 0), (1, 3, 2, 0, 0)]
    for n, k, s, p, op in cases:
        layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op)
        want = int(layer(torch.zeros(1, 1, n, n)).shape[-1])
        got = _call(transposed_output_size, n, k, s, p, op, what="transposed_output_size")
        if isinstance(got, (float, np.floating)) and float(got).is_integer():
            got = int(got)
        if isinstance(got, (int, np.integer)) and int(got) == want:
            continue
        setting = f"input {n}, kernel {k}, stride {s}, padding {p}, output_padding {op}"
        hints = [
            (((n + 2 * p - k) // s) + 1, "that is the size of an ordinary convolution, which shrinks; a transposed "
                                         "convolution grows: (size - 1)·stride - 2·padding + kernel + output_padding"),
            (n * s, "size·stride is only right when kernel = stride and padding = 0: the last stamp starts at "
                    "(size - 1)·stride and is kernel wide"),
            ((n - 1) * s + k + op, "padding crops the stamped output on both sides: subtract 2·padding"),
            ((n - 1) * s - p + k + op, "padding is cropped on both sides of the output: subtract 2·padding, not padding"),
            ((n - 1) * s - 2 * p + k, "output_padding adds that many rows/columns on one side: add it"),
            ((n - 1) * s - 2 * p + k + op - 1, "off by one: the first stamp covers kernel pixels, each later one adds "
                                               "stride, so (size - 1)·stride + kernel before cropping"),
        ]
        for value, hint in hints:
            if got == value and value != want:
                raise AssertionError(f"for {setting}: expected {want}, yours is {got!r}. {hint}")
        raise AssertionError(f"for {setting}: nn.ConvTranspose2d gives {want}, yours is {got!r} "
                             f"(return an int: (size - 1)·stride - 2·padding + kernel + output_padding)")
    print("check_transposed_output_size: all cases pass")


@learner_check
def check_receptive_field(receptive_field: Callable) -> None:
    """Check ``receptive_field(layers)`` for layers given as (kernel, stride, dilation) from the input up.

    >>> def rf(layers):
    ...     r, jump = 1, 1
    ...     for k, s, d in layers:
    ...         r += d * (k - 1) * jump
    ...         jump *= s
    ...     return r
    >>> check_receptive_field(rf)
    check_receptive_field: all cases pass
    """
    def ref(layers):
        r, jump = 1, 1
        for k, s, d in layers:
            r += d * (k - 1) * jump
            jump *= s
        return r

    two = [(3, 1, 1), (3, 1, 1)]
    cases = [([(3, 1, 1)], "one 3×3 convolution"),
             (two, "two 3×3 convolutions"),
             (two + [(2, 2, 1)] + two, "two convs, a 2×2 pooling, two convs"),
             (two + ([(2, 2, 1)] + two) * 3, "the TinyUNet encoder down to its bottleneck"),
             ([(7, 2, 1), (3, 2, 1), (3, 1, 1), (3, 1, 1)], "a ResNet-like stem: 7×7 stride 2, pool 3×3 stride 2, two convs"),
             ([(3, 1, 2), (3, 1, 4)], "two dilated 3×3 convolutions (dilation 2, then 4)"),
             ([(3, 2, 1), (3, 1, 2), (1, 1, 1)], "a strided conv, a dilated conv and a 1×1 conv"),
             ([], "no layers at all")]
    for layers, what in cases:
        want = ref(layers)
        got = _call(receptive_field, [tuple(t) for t in layers], what="receptive_field")
        if isinstance(got, (float, np.floating)) and float(got).is_integer():
            got = int(got)
        if isinstance(got, (int, np.integer)) and int(got) == want:
            continue

        def variant(jump_first=False, no_jump=False, no_dilation=False, plus_one=True, multiply=False):
            r, jump = (1 if plus_one else 0), 1
            if multiply:
                r = 1
                for k, s, d in layers:
                    r *= k
                return r
            for k, s, d in layers:
                if jump_first:
                    jump *= s
                r += (1 if no_dilation else d) * (k - 1) * (1 if no_jump else jump)
                if not jump_first:
                    jump *= s
            return r

        hints = [
            (variant(jump_first=True), "you multiplied the jump by the layer's own stride before adding its "
                                       "(k - 1): a layer's stride only widens the layers *after* it"),
            (variant(no_jump=True), "every layer adds (k - 1) times the jump, the product of the strides of "
                                    "the layers before it; you left the jump out"),
            (variant(no_dilation=True), "a dilated kernel spans dilation·(k - 1) + 1 pixels: multiply (k - 1) by "
                                        "the dilation"),
            (variant(plus_one=False), "start from 1: with no layers an output pixel sees exactly one input pixel"),
            (variant(multiply=True), "receptive fields do not multiply: each layer *adds* (k - 1)·jump"),
        ]
        for value, hint in hints:
            if got == value and value != want:
                raise AssertionError(f"for {what} {layers}: expected {want}, yours is {got!r}. {hint}")
        raise AssertionError(f"for {what} {layers}: expected {want}, yours is {got!r}. "
                             f"r = 1 + Σ dilation·(k - 1)·jump, jump = product of the earlier strides")
    print("check_receptive_field: all cases pass")


@learner_check
def check_skip_choice(choice: Any) -> None:
    """Check the multiple-choice answer on why a UNet needs skip connections for thin structures.

    >>> check_skip_choice("c")
    check_skip_choice: right — the skips bring back *where*, which pooling threw away
    """
    hints = {
        "a": "more parameters alone do not bring back positions: the decoder could have as many without skips, "
             "and its coarse features still only say 'a lane somewhere in this 8×8 block'",
        "b": "the receptive field is set by the encoder (68 px at the bottleneck, more than the image); the "
             "skips do not widen it — they add fine, *small*-receptive-field features",
        "d": "the skips are added in the forward pass and carry features, not gradients alone; and "
             "TinyUNet with 3 levels trains fine without help against vanishing gradients",
    }
    if not isinstance(choice, str) or choice.strip().lower() not in ("a", "b", "c", "d"):
        raise AssertionError(f"answer with one letter, 'a', 'b', 'c' or 'd'; you gave {choice!r}")
    c = choice.strip().lower()
    if c != "c":
        raise AssertionError(f"not '{c}': {hints[c]}")
    print("check_skip_choice: right — the skips bring back *where*, which pooling threw away")
