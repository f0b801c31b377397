"""Learner checks of lesson 02, inside a segmentation network.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written. An answer
that calls segcourse (or, for the upsampling exercise, runs torch's transposed convolution to
measure what it should compute) is seen by the shared :class:`._refuse.Watch` and refused once
its numbers are right, so a wrong answer hears about its mistake first.
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterator

import numpy as np

from ._core import _call, _close, _kind, _number, _plain, learner_check
from ._refuse import LIBRARY, Watch

__all__ = ["check_soft_dice", "check_exact_upsampling", "check_dilation_to_see", "check_pooled_lane_iou",
           "check_unet", "check_matching_weight", "check_unsure_on_boundary",
           "check_weighted_bn_statistics", "check_paired_crops"]


def _shown(value: Any) -> str:
    """A learner's value for a message: numpy and torch scalars as plain numbers (never ``np.float64(0.0)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if type(value).__module__.startswith("torch") and hasattr(value, "numel") and value.numel() == 1:
        value = value.detach().cpu().item()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_shown(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


#: The Python code of torch's convolution layers (``nn.ConvTranspose2d(...)(x)`` runs ``forward``, which
#: calls ``_output_padding``). ``torch.conv_transpose2d`` (``F.conv_transpose2d``) is a built-in, which a
#: profile hook's call event does not see: the upsampling check's dilation of ``HUGE`` refuses it, as no
#: tensor that size fits in memory.
CONV_LAYERS: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("torch.nn.modules.conv", frozenset({"forward", "_output_padding", "_conv_forward"})),)
_SHOWN_AS = {"torch.nn.modules.conv.forward": "nn.ConvTranspose2d (a convolution layer's forward pass)",
             "torch.nn.modules.conv._output_padding": "nn.ConvTranspose2d (its output_padding helper)",
             "torch.nn.modules.conv._conv_forward": "nn.Conv2d (a convolution layer's forward pass)"}


def _refuse(call: Watch, what: str, task: str, library_hint: str = "") -> None:
    """Raise if the answer called segcourse (or a watched torch function, with ``library_hint``).

    Names the module machinery leaves behind are not calls of the answer: ``segcourse.__getattr__``
    (a lazy import) and ``<module>`` (a module imported inside the answer).
    """
    seen = [name for name in call.seen if not name.rsplit(".", 1)[-1].startswith(("__", "<"))]
    ours = [name for name in seen if name.startswith("segcourse")]
    if ours:
        raise AssertionError(f"{what} calls {ours[0]}, a segcourse function: the exercise is to write {task} "
                             f"yourself, so the check does not accept an answer that calls segcourse")
    if seen and library_hint:
        raise AssertionError(f"{what} calls {_SHOWN_AS.get(seen[0], seen[0])}: {library_hint}")


def _call_own(call: Watch, fn: Any, *args: Any, what: str, task: str, library_hint: str = "") -> Any:
    """``call(fn, *args)``. A crash inside a borrowed function is refused with the borrowing hint; otherwise
    the check names the answer's mistakes first and calls :func:`_refuse` last, once every case is right."""
    try:
        return call(fn, *args, what=what)
    except AssertionError:
        _refuse(call, what, task, library_hint)
        raise


class _OverBudget(BaseException):
    """Raised inside a learner's function that runs past the check's time budget (a BaseException, so that
    ``_call``'s ``except Exception`` does not turn it into a crash report)."""


@contextlib.contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`_OverBudget` in the code run inside the block once ``seconds`` have passed.

    On the main thread (a notebook kernel, pytest) a ``SIGALRM`` timer interrupts even a tight loop; a
    timer set before (e.g. by pytest-timeout) is restored with its remaining time. Elsewhere (another
    thread, or no ``setitimer``) a trace function checks the clock at every line the block runs.

    >>> with _time_budget(0.05):
    ...     sum(range(10))
    45
    >>> try:
    ...     with _time_budget(0.05):
    ...         while True:
    ...             pass
    ... except _OverBudget:
    ...     print("stopped")
    stopped
    """
    start = time.monotonic()
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def on_alarm(signum: int, frame: Any) -> None:
            raise _OverBudget

        previous = signal.signal(signal.SIGALRM, on_alarm)
        earlier, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if earlier:                                     # someone else's timer: give it back what is left
                signal.setitimer(signal.ITIMER_REAL, max(earlier - (time.monotonic() - start), 1e-3))
        return
    deadline, fired = start + seconds, []

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if fired:                           # raise once: the block's own clean-up must run untraced
            return None
        if time.monotonic() > deadline:
            fired.append(True)
            raise _OverBudget
        return tracer

    before = sys.gettrace()
    frames, frame = [], sys._getframe(1)
    while frame is not None:                # the frames already running (the block's own one too) trace
        frames.append((frame, frame.f_trace))   # only through f_trace; settrace covers the new ones
        frame.f_trace = tracer
        frame = frame.f_back
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(before)
        for frame, trace in frames:
            frame.f_trace = trace


#: Seconds a learner's ``exact_upsampling`` may take on one case: the formula answers in microseconds.
UPSAMPLING_BUDGET = 0.5

IGNORE = 255  #: the "do not score this pixel" label of the soft-Dice exercise
HUGE = 2**40  #: a dilation of the upsampling exercise that the formula answers and no tensor can hold


def _masked_dice(logits: Any, target: Any, eps: float = 1.0, ignore_index: int = IGNORE, mask_probs: bool = True,
                 keep_all: bool = False, per_image: bool = False, probs: Any = None, mask_one_hot: bool = True,
                 present_unmasked: bool = False) -> Any:
    """Soft Dice loss that leaves the pixels labelled ``ignore_index`` out of every sum (and variants of it)."""
    import torch.nn.functional as F

    k = logits.shape[1]
    valid = (target != ignore_index)[:, None].float()                       # (N, 1, H, W)
    raw = F.one_hot(target.masked_fill(target == ignore_index, 0), k).permute(0, 3, 1, 2).float()
    one_hot = raw * valid if mask_one_hot else raw
    prob = logits.softmax(1) if probs is None else probs
    if mask_probs:
        prob = prob * valid
    dims = (2, 3) if per_image else (0, 2, 3)
    dice = (2 * (prob * one_hot).sum(dims) + eps) / (prob.sum(dims) + one_hot.sum(dims) + eps)
    present = (raw if present_unmasked else one_hot).sum(dims) > 0
    return 1 - (dice if keep_all else dice[present]).mean()


def _dice_cases(seed: int):
    """(logits, target, eps, what) cases: ignored pixels, a single image, absent classes, a tiny class, other eps."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    for n, k, h, w, eps in [(2, 3, 5, 6, 1.0), (1, 4, 7, 7, 0.5), (3, 5, 4, 8, 2.0)]:
        target = torch.randint(0, k, (n, h, w), generator=gen)
        target[torch.rand(n, h, w, generator=gen) < 0.3] = IGNORE      # about 30 % of the pixels not scored
        yield torch.randn(n, k, h, w, generator=gen) * 3, target, eps, f"random logits, batch of {n}, eps={eps:g}"
    target = torch.zeros(2, 6, 6, dtype=torch.long)
    target[0, :3] = 1
    target[1, :, :2] = IGNORE                           # classes 2 and 3 never occur; a band is ignored
    yield torch.randn(2, 4, 6, 6, generator=gen) * 3, target, 1.0, "classes 2 and 3 absent, a band of ignored pixels"
    target = torch.ones(2, 6, 6, dtype=torch.long)
    target[0, 3:] = 2
    target[:, :, 4:] = IGNORE                           # class 0 occurs nowhere among the scored pixels
    yield torch.randn(2, 3, 6, 6, generator=gen) * 3, target, 1.0, "no scored pixel of class 0, a band of ignored pixels"
    target = torch.full((1, 8, 8), IGNORE, dtype=torch.long)
    target[0, 2:6, 2:6] = 0
    target[0, 4, 4] = 2                                 # a one-pixel class inside a scored square
    yield torch.randn(1, 3, 8, 8, generator=gen), target, 0.001, "a class of one pixel, eps=0.001"


@learner_check
def check_soft_dice(soft_dice: Callable) -> None:
    """Check ``soft_dice(logits, target, eps=1.0, ignore_index=255)``: soft Dice loss that skips ignored pixels.

    ``logits`` (N, K, H, W) float tensor, ``target`` (N, H, W) long tensor in which ``ignore_index``
    marks pixels that must not count; the sums run over the whole batch and over the scored pixels
    only; classes absent from the scored pixels are left out of the mean. An answer that calls a
    segcourse function (such as ``train.dice_loss``) is refused: the exercise is to write it.

    >>> from segcourse.train import dice_loss
    >>> check_soft_dice(lambda logits, target, eps=1.0, ignore_index=255: dice_loss(logits, target, eps))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: soft_dice calls segcourse.train.dice_loss, a segcourse function: the...
    """
    import torch
    import torch.nn.functional as F

    if not callable(soft_dice):
        _call(soft_dice, what="soft_dice")         # says what to pass instead
    call = Watch(LIBRARY)

    def given(*args: Any) -> Any:
        """soft_dice on these very tensors (no copy): what it does to them in place stays visible."""
        return functools.partial(soft_dice, *args)
    task = "the masked soft Dice (softmax, one-hot, sums over the scored pixels)"

    for logits, target, eps, what in _dice_cases(0):
        want = float(_masked_dice(logits, target, eps))
        passed = target.clone()
        try:
            got = _call_own(call, given(logits.clone(), passed, eps, IGNORE), what="soft_dice", task=task)
        except AssertionError as exc:
            if "smaller than num_classes" in str(exc):
                raise AssertionError(f"on {what}: {str(exc).rstrip('.')}. The ignore label {IGNORE} is not a class id, so "
                                     f"F.one_hot(target, K) cannot encode it: replace it first "
                                     f"(target.masked_fill(target == ignore_index, 0)), then multiply the one-hot "
                                     f"by the mask of scored pixels") from None
            raise
        if not torch.equal(passed, target):
            changed = int((passed != target).sum())
            raise AssertionError(f"on {what}: your soft_dice changed {changed} labels of the target it was given, in "
                                 f"place (e.g. target[target == ignore_index] = 0): the caller's labels are then wrong "
                                 f"for everything after the loss (and the ignored pixels no longer marked). Leave "
                                 f"target as it is: build a new tensor with target.masked_fill(target == ignore_index, "
                                 f"0), or work on target.clone()")
        if isinstance(got, torch.Tensor):
            if got.numel() != 1:
                raise AssertionError(f"soft_dice must return one number (a 0-d tensor), yours has shape {tuple(got.shape)}: "
                                     f"average the per-class Dice values")
            got_value = float(got.detach())
        else:
            got_value = got
        if _close(got_value, want, 1e-5):
            continue
        v = lambda **kw: float(_masked_dice(logits, target, **{"eps": eps, **kw}))  # noqa: E731
        safe = target.masked_fill(target == IGNORE, 0)
        hints = [
            (v(eps=1.0), f"your soft_dice ignores its eps argument: called with eps={eps:g} it returns the loss for "
                         f"eps=1; use the eps it is given"),
            (v(mask_probs=False), "the ignored pixels still count in the sum of the probabilities: multiply the "
                                  "softmax by the mask of scored pixels (target != ignore_index) before summing"),
            (float(_masked_dice(logits, safe, eps, ignore_index=-1)),
             "you scored the ignored pixels as class 0: leave pixels labelled ignore_index out of every sum"),
            (float(_masked_dice(logits, target.clamp(max=logits.shape[1] - 1), eps, ignore_index=-1)),
             f"the ignored pixels were scored as class {logits.shape[1] - 1}, the last class (target.clamp(max=K - 1) "
             f"turns the label {IGNORE} into it, e.g. to call train.dice_loss): leave pixels labelled ignore_index "
             f"out of every sum"),
            (v(mask_one_hot=False), "the one-hot target is not masked: the ignored pixels, replaced by class 0, "
                                    "still count as class-0 pixels in Σ t; multiply the one-hot by the mask of "
                                    "scored pixels too"),
            (v(present_unmasked=True), "a class that occurs only among the ignored pixels counts as present in your "
                                       "mean: compute `present` from the masked one-hot (after multiplying by the "
                                       "mask of scored pixels), not from the one-hot of the filled-in target"),
            (v(probs=logits), "you used the raw logits: apply softmax over the class axis first (logits.softmax(1))"),
            (v(probs=torch.sigmoid(logits)), "you used a sigmoid: with several classes use softmax over the class axis "
                                             "(dim 1) so the probabilities sum to 1"),
            (v(probs=logits.softmax(-1)), "softmax ran over the wrong axis: the classes are dim 1 of (N, K, H, W)"),
            (v(probs=F.one_hot(logits.argmax(1), logits.shape[1]).permute(0, 3, 1, 2).float()),
             "If you took the argmax (hard labels) instead of the probabilities: that is the Dice score of a label "
             "map, which has no gradient; use the softmax probabilities p = logits.softmax(1)"),
            (v(keep_all=True), "you averaged over every class, also those absent from the scored pixels: an absent "
                               "class has no Dice — keep only the classes present"),
            (v(eps=0.0), "no smoothing term: add eps to the numerator and the denominator, "
                         "(2·inter + eps) / (total + eps)"),
            (v(per_image=True), "you computed Dice per image and averaged: sum over the whole batch "
                                "(dims 0, 2, 3) before dividing"),
            (1 - want, "you returned the mean Dice score; the loss is 1 - mean Dice (0 when perfect)"),
        ]
        for value, hint in hints:
            if _close(got_value, value, 1e-5):
                raise AssertionError(f"on {what}: soft_dice is {got_value:.4f}, expected {want:.4f}. "
                                     f"{hint[0].upper()}{hint[1:]}")
        raise AssertionError(f"on {what}: soft_dice is {_shown(got_value)}, expected {want:.4f}. Per class: "
                             f"(2·Σ p·t + eps) / (Σ p + Σ t + eps), sums over the scored pixels of the batch; "
                             f"then 1 - mean over the classes present")
    logits, target, eps, _ = next(_dice_cases(1))
    logits.requires_grad_()
    got = _call_own(call, given(logits, target, eps, IGNORE), what="soft_dice", task=task)
    if not isinstance(got, torch.Tensor) or not got.requires_grad:
        raise AssertionError("soft_dice must return a torch tensor that carries a gradient (a loss must be "
                             "differentiable): use torch operations, no .item(), .numpy() or argmax")
    perfect = torch.full((1, 2, 3, 3), -20.0)
    t = torch.zeros(1, 3, 3, dtype=torch.long)
    t[0, 0] = 1
    t[0, 2, 2] = IGNORE
    perfect[0, 1, 0] = perfect[0, 0, 1:] = 20.0
    perfect[0, :, 2, 2] = torch.tensor([-20.0, 20.0])      # wrong, but on an ignored pixel
    got = _call_own(call, given(perfect, t, 1.0, IGNORE), what="soft_dice", task=task)
    got = float(got.detach()) if isinstance(got, torch.Tensor) else got
    if not _close(got, 0.0, 1e-4):
        raise AssertionError(f"a confident prediction that is right on every scored pixel (and wrong only on an ignored "
                             f"one) must give a loss of 0, yours gives {_shown(got)}")
    _refuse(call, "soft_dice", task)
    print("check_soft_dice: all cases pass")


def _exact_upsampling(kernel: int, stride: int, dilation: int = 1, dilate: bool = True, limit: bool = True,
                      clip: bool = True, output_padding: bool = True,
                      dilate_limit: bool = True) -> tuple[int, int] | None:
    """(padding, output_padding) with the smallest padding for which ``nn.ConvTranspose2d(kernel, stride,
    padding, output_padding, dilation)`` maps every side n to stride·n; None if PyTorch accepts no such pair.

    Out = (n - 1)·stride - 2·padding + dilation·(kernel - 1) + output_padding + 1 = stride·n, so
    output_padding = 2·padding - excess with excess = dilation·(kernel - 1) + 1 - stride; PyTorch needs
    padding >= 0 and 0 <= output_padding < max(stride, dilation). The flags give typical mistakes:
    no dilation in the stamp's width (``dilate``) or in the limit too (``dilate_limit``, the limit becomes
    stride), no limit on output_padding, a negative padding, or no output_padding at all.

    >>> _exact_upsampling(3, 2), _exact_upsampling(2, 1), _exact_upsampling(3, 2, 2)
    ((1, 1), None, (2, 1))
    """
    excess = (dilation if dilate else 1) * (kernel - 1) + 1 - stride
    if not output_padding:
        return max(excess // 2, 0) if clip else excess // 2, 0
    padding = -(-excess // 2)                       # the smallest padding with 2·padding >= excess
    if clip:
        padding = max(padding, 0)
    extra = 2 * padding - excess
    if limit and not 0 <= extra < max(stride, dilation if dilate_limit else 1):
        return None
    return padding, extra


#: (kernel, stride, dilation, what) of the upsampling check: TinyUNet's 2×2, the classic 3×3 and 4×4
#: stride-2 kernels, stride 1, kernels narrower than the stride, two sizes no pair reaches, dilation
#: that makes an output_padding possible at stride 1, and a dilation of 2**40.
UPSAMPLING_CASES = [(2, 2, 1, "TinyUNet's 2×2 kernel, stride 2"), (4, 2, 1, "a 4×4 kernel, stride 2"),
                    (3, 2, 1, "a 3×3 kernel, stride 2"), (3, 1, 1, "a 3×3 kernel, stride 1"),
                    (1, 4, 1, "a 1×1 kernel, stride 4"), (2, 4, 1, "a 2×2 kernel, stride 4"),
                    (5, 3, 1, "a 5×5 kernel, stride 3"), (2, 1, 1, "a 2×2 kernel, stride 1"),
                    (3, 2, 2, "a 3×3 kernel, stride 2, dilation 2"), (3, 1, 2, "a 3×3 kernel, stride 1, dilation 2"),
                    (2, 1, 3, "a 2×2 kernel, stride 1, dilation 3"), (4, 1, 1, "a 4×4 kernel, stride 1"),
                    (3, 2, HUGE, "a 3×3 kernel, stride 2, dilation 2**40")]


@learner_check
def check_exact_upsampling(exact_upsampling: Callable) -> None:
    """Check ``exact_upsampling(kernel, stride, dilation=1)``: the (padding, output_padding) pair with the
    smallest padding for which a transposed convolution multiplies every input side by ``stride``, or None.

    The answers are compared with :func:`_exact_upsampling` (its pairs are checked against
    ``nn.ConvTranspose2d`` in the tests); a wrong answer is diagnosed from all cases together, so a
    hint names the mistake that explains every one of them. An answer that runs a transposed
    convolution to measure sizes is refused: the exercise asks to solve the size formula.

    >>> check_exact_upsampling(lambda k, s, d=1: (max(0, (k - s) // 2), 0))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: for a 3×3 kernel, stride 2 (kernel 3, stride 2, dilation 1): expected (1, 1), yours
    is (0, 0)...
    """
    call = Watch(LIBRARY + CONV_LAYERS)
    task = "the padding from the output-size formula"
    no_library = ("running torch's transposed convolution measures sizes instead of solving for them: the exercise "
                  "asks you to solve the output-size formula for padding and output_padding")
    wants, gots = [], []
    for k, s, d, what in UPSAMPLING_CASES:
        wants.append(_exact_upsampling(k, s, d))
        try:
            with _time_budget(UPSAMPLING_BUDGET):
                got = _call_own(call, exact_upsampling, k, s, d, what="exact_upsampling", task=task,
                                library_hint=no_library)
        except _OverBudget:
            raise AssertionError(f"for {what}: your exact_upsampling was still running after {UPSAMPLING_BUDGET:g} s, "
                                 f"so the check stopped it. A search over padding or output_padding loops over up to "
                                 f"{'2**40' if d == HUGE else 'dilation·kernel'} values here: solve the formula for "
                                 f"output_padding instead of searching, (size - 1)·stride - 2·padding + "
                                 f"dilation·(kernel - 1) + output_padding + 1 = stride·size, which answers at "
                                 f"once for any dilation") from None
        except AssertionError as exc:
            if d != HUGE or " calls " in str(exc):       # a crash, or a refusal of a watched call: as it is
                raise
            raise AssertionError(f"for {what}: {str(exc).rstrip('.')}. No tensor that wide fits in memory, but the "
                                 f"formula answers at once: solve (size - 1)·stride - 2·padding + dilation·(kernel - 1) "
                                 f"+ output_padding + 1 = stride·size for padding and output_padding instead of "
                                 f"running (or searching with) a convolution") from None
        if isinstance(got, list):
            got = tuple(got)
        if isinstance(got, tuple):
            got = tuple(int(v) if isinstance(v, (int, np.integer, float, np.floating)) and not isinstance(v, bool)
                        and float(v).is_integer() else v for v in got)
        gots.append(got)
    wrong = [i for i, (g, w) in enumerate(zip(gots, wants)) if g != w]
    if not wrong:
        _refuse(call, "exact_upsampling", task, no_library)
        print(f"check_exact_upsampling: all {len(UPSAMPLING_CASES)} cases pass")
        return
    i = wrong[0]
    k, s, d, what = UPSAMPLING_CASES[i]
    head = f"for {what} (kernel {k}, stride {s}, dilation {d}): expected {_shown(wants[i])}, yours is {_shown(gots[i])}."
    if any(isinstance(g, (int, float, np.integer, np.floating)) and not isinstance(g, bool) for g in gots):
        raise AssertionError(f"{head} Your exact_upsampling returns one number (an output size?): the exercise asks "
                             f"for the pair (padding, output_padding) that makes the output side stride·size, or None")
    if not all(g is None or (isinstance(g, tuple) and len(g) == 2) for g in gots):
        raise AssertionError(f"{head} Return a pair (padding, output_padding) of ints, or None when no pair works")
    formula = "(size - 1)·stride - 2·padding + dilation·(kernel - 1) + output_padding + 1"
    variants = [
        (dict(dilate=False, dilate_limit=False), "you left out the dilation everywhere (your answers are those of "
                                                 "dilation 1): a kernel with dilation d spreads its taps d pixels "
                                                 "apart, so one stamp spans dilation·(kernel - 1) + 1 pixels, not "
                                                 "kernel, and PyTorch's limit is output_padding < max(stride, "
                                                 "dilation), not stride"),
        (dict(dilate=False), "you left out the dilation: a kernel with dilation d spreads its taps d pixels apart, "
                             "so one stamp spans dilation·(kernel - 1) + 1 pixels, not kernel"),
        (dict(output_padding=False), "padding crops 2 rows at a time, so when dilation·(kernel - 1) + 1 - stride "
                                     "is odd it cannot cancel it: round the padding up and add the missing row back "
                                     "with output_padding = 1 (on one side); when the stamps are narrower than the "
                                     "stride, output_padding adds all the missing rows"),
        (dict(limit=False), "PyTorch refuses output_padding >= max(stride, dilation) (it would add rows no stamp "
                            "reached): when the smallest padding needs such an output_padding, no pair works, so "
                            "return None"),
        (dict(clip=False, limit=False), "padding cannot be negative: when the stamps are narrower than the stride, "
                                        "keep padding 0 and add the missing rows with output_padding"),
        (dict(clip=False), "padding cannot be negative: when the stamps are narrower than the stride, keep padding 0 "
                           "and add the missing rows with output_padding"),
        (dict(dilate_limit=False), "PyTorch's limit is output_padding < max(stride, dilation), not stride: with a "
                                   "dilation larger than the stride, output_padding may reach dilation - 1, so a pair "
                                   "exists where you returned None"),
    ]
    for kw, hint in variants:       # the mistake that explains every case, not just the first wrong one
        if all(g == _exact_upsampling(k_, s_, d_, **kw) for g, (k_, s_, d_, _) in zip(gots, UPSAMPLING_CASES)):
            raise AssertionError(f"{head} {hint[0].upper()}{hint[1:]}")
    swapped = [w[::-1] if w else w for w in wants]
    if all(g == w for g, w in zip(gots, swapped)):
        raise AssertionError(f"{head} Your pairs are the right numbers in the wrong order: return (padding, "
                             f"output_padding)")
    if isinstance(gots[i], tuple) and wants[i] is not None and len(gots[i]) == 2:
        p, op = gots[i]
        if (isinstance(p, int) and isinstance(op, int) and p > wants[i][0] and 0 <= op < max(s, d)
                and 2 * p - op == wants[i][0] * 2 - wants[i][1]):
            raise AssertionError(f"{head} Your pair works, but it is not the one with the smallest padding: each "
                                 f"extra padding crops 2 rows, which output_padding must add back")
    if gots[i] is None:
        raise AssertionError(f"{head} A pair exists here: solve {formula} = stride·size for output_padding, "
                             f"2·padding - (dilation·(kernel - 1) + 1 - stride), and take the smallest padding "
                             f">= 0 that makes it >= 0")
    raise AssertionError(f"{head} Set {formula} equal to stride·size and solve it for output_padding. "
                         f"output_padding only adds rows, so it cannot be negative: take the smallest padding >= 0 "
                         f"that keeps it >= 0 (with odd extra rows, round the padding up, not down); return None "
                         f"if no output_padding below max(stride, dilation) is left")


def _dilation_to_see(layers: list[tuple[int, int, int]], size: int, kernel: int = 3, jump: bool = True,
                     dilate: bool = True, ceil: bool = True, at_least_one: bool = True, stack: bool = True,
                     jump_first: bool = False, rounded: bool = False) -> int:
    """Smallest dilation of one more ``kernel``×``kernel`` stride-1 convolution on top of ``layers``
    ((kernel, stride, dilation) from the input up) at which an output pixel sees at least ``size``
    input pixels: the stack sees r pixels with a step of ``j`` between its features, and the new
    layer adds dilation·(kernel - 1)·j. The flags give typical mistakes (``rounded``: Python's round()
    instead of the ceiling).

    >>> _dilation_to_see([(3, 1, 1), (3, 1, 1)] + ([(2, 2, 1), (3, 1, 1), (3, 1, 1)]) * 3, 128)
    4
    """
    r, j = 1, 1
    for k, s, d in layers:
        if jump_first:
            j *= s
        r += (d if dilate else 1) * (k - 1) * j
        if not jump_first:
            j *= s
    if not stack:
        r = 1
    need = (size - r) / ((kernel - 1) * (j if jump else 1))
    d = math.ceil(need) if ceil else math.floor(need) + 1
    if rounded:
        d = round(need)
    return max(d, 1) if at_least_one else d


_TWO = [(3, 1, 1), (3, 1, 1)]
#: (layers, size, kernel, what) of the dilation check.
DILATION_CASES = [([], 9, 3, "no layers below, to see 9 pixels"),
                  (_TWO, 9, 3, "two 3×3 convolutions, to see 9 pixels"),
                  (_TWO, 12, 3, "two 3×3 convolutions, to see 12 pixels"),
                  (_TWO, 4, 3, "two 3×3 convolutions, to see 4 pixels (they already do)"),
                  (_TWO + ([(2, 2, 1)] + _TWO) * 3, 128, 3, "the TinyUNet encoder, to see 128 pixels"),
                  ([(7, 2, 1), (3, 2, 1), (3, 1, 1), (3, 1, 1)], 224, 3, "a ResNet-like stem, to see 224 pixels"),
                  ([(3, 1, 2), (3, 1, 4)], 64, 3, "two dilated 3×3 convolutions (dilation 2, then 4), to see 64 pixels"),
                  ([(3, 2, 1), (3, 1, 2), (1, 1, 1)], 64, 5, "a strided, a dilated and a 1×1 conv, a 5×5 kernel on top, "
                                                            "to see 64 pixels"),
                  (_TWO + [(2, 2, 1)], 20, 2, "two convs and a pooling, a 2×2 kernel on top, to see 20 pixels"),
                  (_TWO, 10, 5, "two 3×3 convolutions, a 5×5 kernel on top, to see 10 pixels")]


@learner_check
def check_dilation_to_see(dilation_to_see: Callable) -> None:
    """Check ``dilation_to_see(layers, size, kernel=3)``: the smallest dilation (an int >= 1) of one more
    ``kernel``×``kernel`` stride-1 convolution on top of ``layers`` at which an output pixel sees at
    least ``size`` input pixels.

    >>> check_dilation_to_see(lambda layers, size, kernel=3: max(1, -(-(size - 1) // (kernel - 1))))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: for two 3×3 convolutions, to see 9 pixels [(3, 1, 1), (3, 1, 1)], kernel 3: expected...
    """
    call = Watch(LIBRARY)
    task = "the receptive-field sum"
    for layers, size, kernel, what in DILATION_CASES:
        want = _dilation_to_see(layers, size, kernel)
        where = f"for {what} {layers}, kernel {kernel}"
        try:
            got = _call_own(call, dilation_to_see, [tuple(t) for t in layers], size, kernel, what="dilation_to_see",
                            task=task)
        except AssertionError as exc:
            if "values to unpack" in str(exc):
                raise AssertionError(f"{where}: {str(exc).rstrip('.')}. Each layer is now a (kernel, stride, "
                                     f"dilation) triple, not the lesson's (kernel, stride) pair: unpack three values "
                                     f"(for k, s, d in layers) and use the dilation") from None
            raise
        if isinstance(got, (float, np.floating)) and float(got).is_integer():
            if int(got) == want:
                raise AssertionError(f"{where}: yours is {float(got)!r}, the right value but a float. A dilation is a "
                                     f"whole number and nn.Conv2d(dilation=...) takes an int: return an int "
                                     f"(math.ceil returns one; a division / gives a float)")
            got = int(got)
        if isinstance(got, (int, np.integer)) and not isinstance(got, bool) and int(got) == want:
            continue
        if isinstance(got, (float, np.floating)):
            raise AssertionError(f"{where}: expected {want}, yours is {_shown(got)}. A dilation is a whole number: "
                                 f"round the division up (math.ceil, or -(-a // b)) to the smallest dilation that "
                                 f"reaches {size} pixels")
        hints = [
            (dict(jump=False), "the new layer sits on top of the stack, where neighbouring features are the "
                               "product of all the strides below apart: each of its taps is jump input pixels "
                               "from the next, so it adds dilation·(kernel - 1)·jump, not dilation·(kernel - 1)"),
            (dict(dilate=False), "the layers below have dilations too: a dilated kernel spans dilation·(k - 1) + 1 "
                                 "pixels, so each adds dilation·(k - 1)·jump to the receptive field"),
            (dict(jump_first=True), "you multiplied the jump by a layer's own stride before adding its "
                                    "dilation·(k - 1): a layer's stride only widens the layers *after* it"),
            (dict(stack=False), "the stack below already sees r pixels (the lesson's receptive-field sum): the new "
                                "layer only has to add size - r of them"),
            (dict(ceil=False), "when size - r divides exactly by (kernel - 1)·jump, that quotient is enough: round up "
                               "(math.ceil), do not take floor + 1"),
            (dict(rounded=True), f"Python's round() rounds to the nearest whole number, so a quotient like 1.25 becomes 1, "
                                 f"which falls short of {size} pixels: the smallest dilation that reaches size is "
                                 f"the ceiling (math.ceil, or -(-a // b))"),
            (dict(at_least_one=False), "when the stack already sees enough, the answer is an ordinary convolution: "
                                       "dilation 1 (a dilation below 1 does not exist)"),
        ]
        for kw, hint in hints:
            value = _dilation_to_see(layers, size, kernel, **kw)
            if got == value and value != want:
                raise AssertionError(f"{where}: expected {want}, yours is {_shown(got)}. {hint[0].upper()}{hint[1:]}")
        r, jump = 1, 1
        for k, s_, d in layers:
            r, jump = r + d * (k - 1) * jump, jump * s_
        if isinstance(got, (int, np.integer)) and int(got) == r and r != want:
            raise AssertionError(f"{where}: expected {want}, yours is {_shown(got)}. {r} is the receptive field of the "
                                 f"stack itself; the exercise asks for the dilation of one more {kernel}×{kernel} "
                                 f"layer on top, the smallest with which an output pixel sees {size} pixels")
        need = (size - r) / ((kernel - 1) * jump)
        if need > 0 and isinstance(got, (int, np.integer)) and int(got) in {math.floor(need), max(1, math.floor(need))}:
            raise AssertionError(f"{where}: expected {want}, yours is {_shown(got)}. You rounded the quotient "
                                 f"(size - r) / ((kernel - 1)·jump) = {need:.3g} *down* (math.floor, int() or //): "
                                 f"a dilation of {_shown(got)} falls short of {size} pixels. Round it up: math.ceil, "
                                 f"or -(-a // b)")
        raise AssertionError(f"{where}: expected {want}, yours is {_shown(got)}. The stack sees r = 1 + Σ "
                             f"dilation·(k - 1)·jump pixels, with jump the product of the strides below; the new "
                             f"layer adds dilation·(kernel - 1)·jump: solve r + dilation·(kernel - 1)·jump >= size "
                             f"for the smallest whole dilation >= 1")
    _refuse(call, "dilation_to_see", task)
    print(f"check_dilation_to_see: all {len(DILATION_CASES)} cases pass")


@functools.lru_cache(maxsize=None)     # the reference scenes are the same on every call
def _pooled_lane_iou(factor: int = 8, how: str = "max", per_scene: bool = False, axes: tuple[int, int] = (2, 4)) -> float:
    """Lane IoU of the reference scenes' lane masks stored at 1/``factor`` and blown back up: ``how`` "max"
    keeps a block whose pixels hold any lane (max-pooling), "max ids" max-pools the class ids and keeps a
    block whose largest id is the lane's 3 (a car, 4, hides it), "mean" a block that is more than half lane
    (average pooling, then > 0.5), "nearest" its top-left pixel (section 1 of
    the lesson); ``per_scene`` averages the scenes' IoUs instead of pooling their pixels; ``axes`` are the
    axes of ``reshape(n, side, factor, side, factor)`` pooled over ((1, 3) pools across blocks).

    >>> round(_pooled_lane_iou(), 4), round(_pooled_lane_iou(how="nearest"), 4), round(_pooled_lane_iou(how="max ids"), 4)
    (0.0982, 0.0483, 0.097)
    """
    from ..data import road_scenes

    labels = road_scenes(200, seed=4242).labels
    lane = labels == 3
    n, side = lane.shape[0], lane.shape[1] // factor
    if how == "max":
        coarse = lane.reshape(n, side, factor, side, factor).any(axes)
    elif how == "max ids":
        coarse = labels.reshape(n, side, factor, side, factor).max(axes) == 3
    elif how == "mean":
        coarse = lane.reshape(n, side, factor, side, factor).mean(axes) > 0.5
    else:
        coarse = lane[:, ::factor, ::factor]
    up = coarse.repeat(factor, 1).repeat(factor, 2)
    if per_scene:
        return float(np.mean([(u & t).sum() / (u | t).sum() for u, t in zip(up, lane) if (u | t).any()]))
    return float((up & lane).sum() / (up | lane).sum())


@learner_check
def check_pooled_lane_iou(pooled_lane_iou: Any) -> None:
    """Check the lane IoU of the reference lane masks max-pooled to 1/8 and blown back up (one IoU, all
    200 scenes pooled).

    >>> check_pooled_lane_iou(0.0483)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: pooled_lane_iou is 0.0483: that is section 1's subsampling...
    """
    from ._core import _number

    got = _number(pooled_lane_iou, "pooled_lane_iou")
    want = _pooled_lane_iou()
    if _close(got, want, 1e-4):
        print(f"check_pooled_lane_iou: right — max-pooling keeps the block of every lane pixel (recall 1.000), but "
              f"each block is 8 pixels wide: lane IoU {want:.3f} at the bottleneck, against {_pooled_lane_iou(how='nearest'):.3f} "
              f"for one pixel per block. A label map this coarse says *that* a block holds a lane, not *where* in "
              f"it. The bottleneck's many channels can keep more; section 8's runs show what the skips add")
        return
    hints = [
        (_pooled_lane_iou(how="nearest"), "that is section 1's subsampling, one pixel of each block; max-pooling "
                                          "keeps a block when any of its 64 pixels is a lane: the maximum of "
                                          "the block, not one pixel of it"),
        (_pooled_lane_iou(per_scene=True), "you averaged the IoUs of the scenes; pool the pixels of all 200 scenes "
                                           "into one intersection and one union"),
        (_pooled_lane_iou(4), "that is the IoU at 1/4 (4×4 blocks); TinyUNet's bottleneck is at 1/8: 8×8 blocks"),
        (_pooled_lane_iou(2), "that is the IoU at 1/2 (2×2 blocks); TinyUNet's bottleneck is at 1/8: 8×8 blocks"),
        (_pooled_lane_iou(how="mean"), "if you averaged each block and kept it above 0.5: that is average "
                                       "pooling, and a one- or two-pixel lane never fills half of an 8×8 block; "
                                       "max-pooling keeps a block when *any* of its pixels is a lane"),
        (_pooled_lane_iou(how="max ids"), "you pooled the class ids: a car (4) in a block outranks its lane (3), "
                                          "so the block is lost; pool the lane mask lane = ref.labels == 3 instead"),
        (_pooled_lane_iou(axes=(1, 3)), "you pooled over the wrong axes: after a reshape to (scene, block row, "
                                        "row in the block, block column, column in the block) the axes 1 and 3 "
                                        "count the blocks and 2 and 4 the pixels inside a block: pool over axes "
                                        "2 and 4"),
        (1.0, "that is the share of lane pixels kept (every one is), not the IoU: the union also counts the "
              "non-lane pixels of every kept block"),
    ]
    for value, hint in hints:
        if _close(got, value, 1e-4):
            raise AssertionError(f"pooled_lane_iou is {got:.4f}: {hint}")
    for digits in (1, 2, 3):
        if got == round(want, digits) or got == round(float(np.float32(want)), digits):
            raise AssertionError(f"pooled_lane_iou is {_shown(got)}: you rounded it to {digits} decimal{'s' * (digits > 1)}. Do not "
                                 f"round: return the IoU as computed, the check compares it to 4 decimals")
    raise AssertionError(f"pooled_lane_iou is {_shown(got)}, which is not the pooled lane IoU: lane = ref.labels == 3; keep each "
                         f"8×8 block that holds a lane pixel, repeat each block back to 8×8 pixels, then one IoU "
                         f"(intersection / union) over all 200 scenes")


#: What the UNet check trains: binary lane-marking masks of 32×32 road scenes, where a lane is one or
#: two pixels wide and a decoder that only sees the 8×8 bottleneck cannot place it. Lanes are about
#: 1.5 % of the pixels; cross-entropy weighs them ``lane_weight`` times a background pixel. Without
#: the weight, a run can settle where every lane pixel gets a lane probability just under 0.5 and
#: none is ever predicted: the model answer did so with torch seed 4 (held-out mIoU 0.493, also with
#: 160 steps, lr 0.02 or 0.003, or weight 5) and scored 0.883 with seed 7, so the check used to
#: retry; with weight 20 no seed of 0 to 31 comes near the threshold, and one run decides.
UNET_TRAINING = dict(steps=80, batch_size=16, lr=0.01, lane_weight=20.0, n_train=200, n_val=50, seed=0,
                     threshold=0.90)
#: Held-out mIoU of ``train_lane_unet`` with torch seeds 0 to REFERENCE_SEEDS - 1 (the seed builds
#: the network and picks its training scenes and batches), measured on one CPU: the model answer
#: scored 0.988 to 1.000 (>= ANSWER_FLOOR), the same network without its skips 0.702 to 0.787
#: (<= NO_SKIP_CEILING), an untrained one 0.007 to 0.493. About 2.4 s of CPU time per run.
REFERENCE_SEEDS = 32
ANSWER_FLOOR = 0.980
NO_SKIP_CEILING = 0.800
UNET_PARAMETERS = (25_000, 35_000)  #: allowed parameter count of the exercise's UNet (3 -> 5 classes, width 8)


def _lane_data(n: int, seed: int) -> tuple[Any, Any]:
    """Road scenes at 32×32 as (images, lane-or-not labels) tensors."""
    import torch

    from ..data import road_scenes

    d = road_scenes(n, size=32, seed=seed)
    return torch.tensor(d.images).permute(0, 3, 1, 2).contiguous(), torch.tensor(d.labels == 3).long()


def train_lane_unet(model: Any, steps: int = UNET_TRAINING["steps"], seed: int = 0) -> float:
    """Train ``model`` (3 input channels, 2 classes) to find lane markings; return its held-out mIoU.

    The exercise's fixed budget: ``steps`` Adam steps of 16 scenes with a one-cycle learning rate,
    cross-entropy (lanes weighted ``UNET_TRAINING["lane_weight"]``) plus soft Dice, then the mIoU
    (lane and not-lane) on 50 scenes it never saw. It runs on one thread with deterministic
    algorithms (the caller's settings are restored), so a seed gives the same score on every run
    on one computer.

    >>> import torch
    >>> from segcourse.models import TinyUNet
    >>> _ = torch.manual_seed(0)
    >>> train_lane_unet(TinyUNet(3, 2, width=4), steps=2) < 1.0
    True
    """
    import torch
    import torch.nn.functional as F

    from .._validate import check_int
    from ..train import dice_loss

    steps, seed = check_int(steps, "steps", minimum=1), check_int(seed, "seed", minimum=0)
    cfg = UNET_TRAINING
    x, y = _lane_data(cfg["n_train"], 10_000 + seed)
    vx, vy = _lane_data(cfg["n_val"], 20_000)
    gen = torch.Generator().manual_seed(seed)
    weight = torch.tensor([1.0, cfg["lane_weight"]])
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)                  # a network this small trains fastest on one thread
    torch.use_deterministic_algorithms(True)
    try:
        params = [p for p in model.parameters() if p.requires_grad]
        if params:
            opt = torch.optim.Adam(params, lr=cfg["lr"])
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps, pct_start=0.2)
            model.train()
            for _ in range(steps):
                idx = torch.randint(len(x), (cfg["batch_size"],), generator=gen)
                out = model(x[idx])
                loss = F.cross_entropy(out, y[idx], weight=weight) + dice_loss(out, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        return float(_eval_miou(model, vx, vy))
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _eval_miou(model: Any, vx: Any, vy: Any) -> float:
    import torch

    from ..metrics import mean_iou

    model.eval()
    with torch.no_grad():
        pred = model(vx).argmax(1).numpy()
    return mean_iou(pred, vy.numpy(), 2)


def _forward_trace(model: Any, x: Any, kinds: tuple, record: Any) -> list:
    """Run ``model(x)`` without gradients and return ``record(module, args, out)`` for every module of one of
    ``kinds``, in execution order (a forward hook fires when its module finishes); the hooks are removed after."""
    import torch

    events: list = []
    handles = [m.register_forward_hook(lambda module, args, out: events.append(record(module, args, out)))
               for m in model.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return events


def _after_upsampling(model: Any, x: Any) -> tuple[list[tuple[int, int]], int]:
    """(channels out of each ConvTranspose2d, input channels of the first Conv2d the forward pass runs after it),
    and how many ConvTranspose2d the forward pass runs."""
    from torch import nn

    calls = _forward_trace(model, x, (nn.Conv2d, nn.ConvTranspose2d), lambda module, args, out: (
        ("up", int(out.shape[1])) if isinstance(module, nn.ConvTranspose2d) else ("conv", int(args[0].shape[1]))))
    # a forward hook runs when a module finishes, so a Conv2d that follows an upsampling is recorded after it
    pairs = [(c, nxt[1]) for (kind, c), nxt in zip(calls, calls[1:]) if kind == "up" and nxt[0] == "conv"]
    return pairs, sum(kind == "up" for kind, _ in calls)


def _decoder_kernels(model: Any, x: Any) -> list[tuple[int, ...]]:
    """The kernel sizes of the nn.Conv2d the forward pass runs after its first ConvTranspose2d (the decoder's,
    the head last), in execution order."""
    from torch import nn

    kinds = _forward_trace(model, x, (nn.Conv2d, nn.ConvTranspose2d), lambda module, args, out: (
        "up" if isinstance(module, nn.ConvTranspose2d) else tuple(module.kernel_size)))
    after = kinds[kinds.index("up"):] if "up" in kinds else []
    return [k for k in after if k != "up"]


def _decoder_convs(model: Any, x: Any) -> int:
    """How many 3×3 nn.Conv2d the forward pass runs after its first ConvTranspose2d, the head (the last
    convolution) left out."""
    return _decoder_kernels(model, x)[:-1].count((3, 3))


def _unrectified_decoder_conv(model: Any, x: Any) -> int | None:
    """The number (1, 2, ...) of the first decoder convolution (one run after the first ConvTranspose2d)
    whose output reaches the next convolution still holding negative values with no activation layer
    between them: a convolution with no ReLU after it. None when every one is rectified (a functional
    ``F.relu`` leaves no module behind, but its output is never negative).
    """
    from torch import nn

    acts = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
            nn.Softplus, nn.Hardswish, nn.Tanh, nn.Sigmoid)
    events = _forward_trace(model, x, (nn.Conv2d, nn.ConvTranspose2d) + acts, lambda module, args, out: (
        ("up", float(args[0].min())) if isinstance(module, nn.ConvTranspose2d) else
        ("conv", float(args[0].min())) if isinstance(module, nn.Conv2d) else ("act", 0.0)))
    in_decoder, pending, k = False, None, 0
    for kind, low in events:
        if kind == "act":
            pending = None
            continue
        if pending is not None and low < 0:     # F.relu leaves no event, but its output is never negative
            return pending
        pending = None
        if kind == "up":
            in_decoder = True
        elif in_decoder:
            k += 1
            pending = k                         # the head is last: nothing after it is checked
    return None


def _skip_effects(model: Any, x: Any) -> list[float]:
    """For each max-pooling the forward pass runs: how much the output moves when the pooled features
    change where the pooling cannot see it.

    Before the k-th pooling runs, every value that is not the maximum of its 2×2 block is lowered by 1
    (in place). The pooled result is bit for bit the same, so only a path that bypasses the pooling
    — a skip connection — can carry the change to the output.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    with torch.no_grad():
        base = model(x)
        calls = []
        counter = {"k": 0, "target": None}

        def pre_hook(module, args):
            k = counter["k"]
            counter["k"] += 1
            if counter["target"] is None:
                calls.append(k)
            elif k == counter["target"]:
                feats = args[0]
                _, idx = F.max_pool2d(feats, 2, return_indices=True)
                flat = feats.flatten(2)
                keep = torch.zeros_like(flat, dtype=torch.bool).scatter_(2, idx.flatten(2), True)
                flat.sub_((~keep).float())                     # in place: the skip holds this same tensor

        handles = [m.register_forward_pre_hook(pre_hook) for m in pools]
        try:
            model(x)                                            # count the poolings
            effects = []
            for target in list(calls):
                counter.update(k=0, target=target)
                effects.append(float((model(x) - base).abs().max()))
        finally:
            for h in handles:
                h.remove()
    return effects


def _unregistered(model: Any) -> tuple[str, str, str] | None:
    """(attribute, container kind, layer class) of the first layer that ``model`` or one of its submodules
    keeps in a plain list, tuple or dict attribute without registering it anywhere; None if there is none.

    PyTorch registers a module held directly as an attribute, or in ``nn.ModuleList`` / ``nn.ModuleDict`` /
    ``nn.Sequential``; one inside a plain container stays in ``__dict__``, outside ``.parameters()``, and
    module hooks never see it run.

    >>> from torch import nn
    >>> class Listed(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.ups = [nn.ConvTranspose2d(4, 2, 2, stride=2)]
    >>> _unregistered(Listed())
    ('ups', 'list', 'ConvTranspose2d')
    >>> _unregistered(nn.Sequential(nn.Conv2d(1, 1, 3))) is None
    True
    """
    from torch import nn

    registered = {id(m) for m in model.modules()}
    for owner in model.modules():
        for name, value in vars(owner).items():
            if name.startswith("_") or not isinstance(value, (list, tuple, dict)):
                continue
            items = value.values() if isinstance(value, dict) else value
            for item in items:
                if isinstance(item, nn.Module) and id(item) not in registered:
                    return name, type(value).__name__, type(item).__name__
    return None


@learner_check
def check_unet(unet_class: Callable) -> None:
    """Check a learner's UNet class: shapes, skip connections, size, and a short training run.

    ``unet_class(in_channels, num_classes, width)`` must build an ``nn.Module`` that pools twice
    with ``nn.MaxPool2d(2)``, concatenates a skip at each level, and returns logits of the input's
    height and width. Trained once for a fixed budget on lane masks (:func:`train_lane_unet`), it
    must reach a held-out mIoU above ``UNET_TRAINING["threshold"]``; the model answer stays above
    ``ANSWER_FLOOR`` and one without skips below ``NO_SKIP_CEILING`` on every seed tried. Only
    pass/fail is printed: the score differs in its last digits between computers.

    >>> from segcourse.models import TinyUNet
    >>> check_unet(lambda c, k, w: TinyUNet(c, k, width=w, depth=2))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: your UNet is built from segcourse's TinyUNet: write it yourself from...
    """
    import torch
    from torch import nn

    torch.manual_seed(0)
    task = "the UNet from nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d and nn.ConvTranspose2d"
    build = Watch(LIBRARY)
    model = build(unet_class, 3, 5, 8, what="your UNet class")    # a segcourse class: said below
    if isinstance(model, nn.Module):
        borrowed = sorted({type(m).__name__ for m in model.modules() if type(m).__module__.startswith("segcourse")})
        if borrowed:
            raise AssertionError(f"your UNet is built from segcourse's {', '.join(borrowed)}: write it yourself from "
                                 f"nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d and nn.ConvTranspose2d")
    if not isinstance(model, nn.Module):
        raise AssertionError(f"calling your class must build a torch nn.Module, yours gave a {type(model).__name__}: "
                             f"write class MyUNet(nn.Module) with __init__ and forward")
    loose = _unregistered(model)
    if loose:
        name, kind, layer = loose
        modules = "nn.ModuleDict" if kind == "dict" else "nn.ModuleList"
        raise AssertionError(f"your UNet keeps its {layer} layers in self.{name}, a plain Python {kind}: PyTorch does "
                             f"not register layers held in a plain Python list or dict, so their weights are not in "
                             f"model.parameters() (the optimiser never trains them), .eval() and .to(device) skip "
                             f"them, and the check cannot see them run. Use {modules}(...) instead of the {kind}")
    model.eval()
    forward = Watch(LIBRARY)
    for n, h, w in [(2, 32, 32), (1, 64, 64), (3, 32, 48), (1, 16, 16)]:
        x = torch.rand(n, 3, h, w)
        with torch.no_grad():
            out = _call_own(forward, model, x, what="your UNet's forward", task=task)
        if not isinstance(out, torch.Tensor):
            raise AssertionError(f"forward must return the logits as a tensor, yours returned a {type(out).__name__}")
        shape = tuple(out.shape)
        if shape != (n, 5, h, w):
            if len(shape) == 4 and shape[2:] != (h, w) and shape[2] < h:
                why = ("the output is smaller than the input: give every 3×3 convolution padding=1 so that it keeps "
                       "the size, and use ConvTranspose2d(kernel_size=2, stride=2) to double it")
            elif len(shape) == 4 and shape[2:] != (h, w):
                why = "each ConvTranspose2d(c_in, c_out, kernel_size=2, stride=2) must exactly undo one MaxPool2d(2)"
            elif len(shape) == 4 and shape[1] != 5:
                why = "the last layer must give one channel per class: a 1×1 Conv2d(width, num_classes)"
            else:
                why = "return logits of shape (N, num_classes, H, W)"
            raise AssertionError(f"on an input of shape {(n, 3, h, w)} (num_classes=5) your UNet returns {shape}, "
                                 f"expected {(n, 5, h, w)}: {why}")
    if not any(isinstance(m, nn.MaxPool2d) for m in model.modules()):
        raise AssertionError("your UNet has no nn.MaxPool2d module: pool with self.pool = nn.MaxPool2d(2) "
                             "(F.max_pool2d cannot be seen by the check)")
    effects = _skip_effects(model, torch.rand(2, 3, 32, 32))
    if len(effects) != 2:
        raise AssertionError(f"your forward pass runs {len(effects)} max-poolings; this UNet has two levels below "
                             f"the input (32 -> 16 -> 8), so pool exactly twice (the lesson's HandUNet has depth 3: three poolings)")
    for level, moved in enumerate(effects):
        if not moved > 1e-6:
            raise AssertionError(f"no skip connection at level {level}: changing the encoder features of level {level} "
                                 f"where max-pooling does not look leaves the output unchanged. Keep the features "
                                 f"before each pooling and torch.cat them with the upsampled ones in the decoder")
    pairs, n_up = _after_upsampling(model, torch.rand(1, 3, 32, 32))
    if n_up != 2:
        raise AssertionError(f"your forward pass runs {n_up} nn.ConvTranspose2d layers; this UNet upsamples twice "
                             f"(8 -> 16 -> 32), each time with a learned nn.ConvTranspose2d(c_in, c_in // 2, "
                             f"kernel_size=2, stride=2) held as an attribute"
                             + (" (F.interpolate or nn.Upsample is not what this exercise asks)" if n_up == 0 else ""))
    for c_up, c_in in pairs:
        if c_in != 2 * c_up:
            how = ("it takes as many channels as the upsampling gives: you add the skip to the upsampled features "
                   "(as the lesson's HandUNet does)" if c_in == c_up else f"it takes {c_in}")
            raise AssertionError(f"a ConvTranspose2d gives {c_up} channels and the first convolution after it takes "
                                 f"{c_in}: {how}. This UNet concatenates: torch.cat([upsampled, skip], dim=1) has "
                                 f"2·{c_up} = {2 * c_up} channels, so that convolution needs in_channels={2 * c_up}")
    unrectified = _unrectified_decoder_conv(model.eval(), torch.rand(2, 3, 32, 32))
    if unrectified is not None:
        raise AssertionError(f"decoder convolution {unrectified} (counted from the first upsampling) hands negative "
                             f"values to the next layer: no ReLU follows it. Without a non-linearity between them, "
                             f"stacked convolutions collapse into one linear map. Follow each 3×3 convolution of the "
                             f"decoder by nn.BatchNorm2d(c_out) and nn.ReLU(), as in the encoder")
    if not any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        raise AssertionError("your UNet has no nn.BatchNorm2d: follow each 3×3 convolution by nn.BatchNorm2d(c_out) "
                             "and then nn.ReLU. Without batch norm this network does not learn the thin lanes in the "
                             "check's short training budget")
    kernels = _decoder_kernels(model.eval(), torch.rand(1, 3, 32, 32))
    n_dec, others = kernels[:-1].count((3, 3)), len(kernels[:-1]) - kernels[:-1].count((3, 3))
    if n_dec != 4:
        other = f" (and {others} of another size)" if others else ""
        raise AssertionError(f"{n_dec} of your decoder convolutions are 3×3{other}, expected 4: two 3×3 per level, as "
                             f"in the encoder (Conv2d-BatchNorm2d-ReLU twice after each torch.cat), then the 1×1 head. "
                             + ("With one per level, each level's features get one 3×3 look instead of two"
                                if n_dec == 2 and not others else
                                "A 1×1 convolution mixes channels but does not look at neighbours: make both "
                                "convolutions of each level 3×3" if others else
                                "Count them in your forward: one upsampling, a concatenation, then two 3×3 "
                                "convolutions, at each of the two levels"))
    if kernels and kernels[-1] != (1, 1):
        size = "×".join(map(str, kernels[-1]))
        raise AssertionError(f"your head (the last convolution, the one that gives the class logits) is {size}: make "
                             f"it a 1×1 Conv2d(width, num_classes), which scores each pixel from its own features; "
                             f"the 3×3 convolutions before it already look at the neighbours")
    count = sum(p.numel() for p in model.parameters())
    low, high = UNET_PARAMETERS
    if count < low // 2:
        raise AssertionError(f"your UNet has only {count:,} parameters, expected between {low:,} and {high:,} for "
                             f"width 8: layers kept in a plain Python list (or dict) are not registered with the "
                             f"module; hold them in nn.ModuleList / nn.Sequential or as attributes")
    if not low <= count <= high:
        raise AssertionError(f"your UNet has {count:,} parameters, expected between {low:,} and {high:,} for width 8: "
                             f"channels width, 2·width, 4·width; two 3×3 convs per level; a 2×2 ConvTranspose2d "
                             f"up; two 3×3 convs after each concatenation; a 1×1 head")
    _refuse(build, "your UNet class", task)                 # e.g. layers made by models.conv_block
    _refuse(forward, "your UNet's forward", task)
    threshold, seed = UNET_TRAINING["threshold"], UNET_TRAINING["seed"]
    torch.manual_seed(seed)
    model = _call(unet_class, 3, 2, 8, what="your UNet class")
    try:
        score = train_lane_unet(model, seed=seed)
    except Exception as exc:
        raise AssertionError(f"training your UNet crashed with {type(exc).__name__}: {str(exc)[:200]}") from None
    if not score > threshold:
        stuck = (" It hardly ever predicts a lane pixel (or predicts lane almost everywhere): the mIoU is near 0.5."
                 if score < 0.55 else "")
        raise AssertionError(f"after {UNET_TRAINING['steps']} training steps your UNet finds the lane markings with a "
                             f"held-out mIoU below {threshold:.2f} (the model answer scores above "
                             f"{ANSWER_FLOOR:.2f} and one without skips at most {NO_SKIP_CEILING:.2f} on every seed "
                             f"the course tried).{stuck} Are all layers registered (nn.ModuleList, not a Python "
                             f"list), does forward use them all, and do the parameters require gradients?")
    print(f"check_unet: output shapes right on 4 input sizes, a skip at both levels, {count:,} parameters "
          f"(allowed {low:,} to {high:,}); "
          f"after {UNET_TRAINING['steps']} training steps on lane masks (a lane pixel weighted "
          f"{UNET_TRAINING['lane_weight']:g} times in the cross-entropy), held-out mIoU above {threshold:.2f} "
          f"(the course's answer, seeds 0 to {REFERENCE_SEEDS - 1}: above {ANSWER_FLOOR:.2f}; without skips: at most "
          f"{NO_SKIP_CEILING:.2f})")


#: The matching-weight exercise: the batch of the soft-Dice exercise (16 road scenes of 32×32, seed 7,
#: the left quarter of every label map not scored) and a fresh TinyUNet of width 8 built with torch seed 0.
MATCHING_BATCH = dict(n=16, size=32, seed=7, model_seed=0, unscored_columns=8)
#: How close the lanes' share of the weighted cross-entropy's gradient must come to the Dice's share
#: (about 0.06 in lane weight on this batch).
SHARE_TOLERANCE = 0.001
#: How close a wrong lane weight must be to a typical mistake's value for that mistake's hint: a weight
#: picked from a sweep (3.0) is not the ratio of the shares (3.011).
HINT_TOLERANCE = 0.005


@functools.lru_cache(maxsize=2)
def _matching_batch(mask: bool = True) -> tuple[Any, Any]:
    """(logits, target) of the exercise: the fresh UNet's logits (detached) and the label maps, 255 on the
    left quarter (``mask=False``: every pixel scored)."""
    import torch

    from .. import data, models

    b = MATCHING_BATCH
    batch = data.road_scenes(b["n"], size=b["size"], seed=b["seed"])
    x = torch.tensor(batch.images).permute(0, 3, 1, 2)
    y = torch.tensor(batch.labels).long()
    if mask:
        y[:, :, :b["unscored_columns"]] = IGNORE
    with torch.random.fork_rng():                       # the learner's random state is left alone
        torch.manual_seed(b["model_seed"])
        net = models.TinyUNet(3, 5, width=8)
    with torch.no_grad():
        logits = net(x)
    return logits, y


def _class_shares(loss_fn: Callable, logits: Any, target: Any) -> np.ndarray:
    """Share of the gradient (summed |d loss / d logits| over the classes) on each class's scored pixels."""
    z = logits.detach().clone().requires_grad_()
    loss_fn(z, target.clone()).backward()
    size = z.grad.abs().sum(1)
    per_class = np.array([float(size[target == c].sum()) for c in range(logits.shape[1])])
    return per_class / per_class.sum()


def _weighted_ce(weight: float, cls: int = 3) -> Callable:
    import torch
    import torch.nn.functional as F

    w = torch.ones(5)
    w[cls] = weight
    return lambda z, t: F.cross_entropy(z, t, weight=w, ignore_index=IGNORE)


def _matching_weight(target_share: float, cls: int = 3, mask: bool = True) -> float:
    """The weight of class ``cls`` (the others 1) at which weighted cross-entropy gives it ``target_share``
    of the gradient, by bisection between 1 and 1000 to 0.01 (the share grows with the weight)."""
    logits, y = _matching_batch(mask)
    low, high = 1.0, 1000.0
    while high - low > 0.01:
        mid = (low + high) / 2
        low, high = (mid, high) if _class_shares(_weighted_ce(mid, cls), logits, y)[cls] < target_share else (low, mid)
    return low


@learner_check
def check_matching_weight(lane_weight: Any, soft_dice: Callable) -> None:
    """Check the lane weight at which weighted cross-entropy gives the lanes your soft Dice's gradient share.

    ``lane_weight``: one number, found on the exercise's batch (every other class weighs 1); ``soft_dice``:
    the learner's soft Dice of the earlier exercise, whose lane share is the target (so a mistake there
    is not counted twice). The answer passes when, with that weight, the lanes' share of the weighted
    cross-entropy's gradient is within :data:`SHARE_TOLERANCE` of the Dice's lane share.

    >>> check_matching_weight(1.0, lambda z, t, eps=1.0, ignore_index=255: _masked_dice(z, t, eps, ignore_index))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: lane_weight is 1: it gives the lanes a share of 0.0166 of the gradient, your soft Dice...
    """
    got = _number(lane_weight, "lane_weight")
    logits, y = _matching_batch()

    def lane_share(z: Any, t: Any) -> float:
        return float(_class_shares(soft_dice, z, t)[3])

    dice_share = _call(lane_share, logits, y, what="your soft_dice")
    if not math.isfinite(dice_share) or not 0 < dice_share < 1:
        raise AssertionError(f"your soft_dice gives the lanes a gradient share of {_shown(dice_share)}, not a share "
                             f"between 0 and 1: finish the soft-Dice exercise first")
    want = _matching_weight(dice_share)
    if not math.isfinite(got) or got <= 0:
        raise AssertionError(f"lane_weight is {_shown(got)}: a class weight is a positive "
                             f"number (the other classes weigh 1)")
    got_share = float(_class_shares(_weighted_ce(got), logits, y)[3])
    if abs(got_share - dice_share) <= SHARE_TOLERANCE:
        print(f"check_matching_weight: right — a lane weight of {want:.1f} gives the lanes your soft Dice's share "
              f"({dice_share:.3f}) of the cross-entropy gradient on this batch")
        return
    freq = np.bincount(y[y != IGNORE].numpy(), minlength=5) / int((y != IGNORE).sum())
    plain = _class_shares(_weighted_ce(1.0), logits, y)
    hints = [
        (np.median(freq) / freq[3], "if you took the median-frequency weight of step 3: step 1 asks for the "
                                    "weight at "
                                    "which cross-entropy gives the lanes your Dice's share of the gradient"),
        (1.0, "if you kept the weight at 1: that is plain cross-entropy; raise the lane weight until the lanes' "
              "share of the gradient reaches "
              "your Dice's"),
        (dice_share / plain[3], "if you divided your Dice's lane share by plain cross-entropy's: the share does "
                                "not grow in proportion to the weight (the divisor grows too); bisect"),
        (_matching_weight(_class_shares(_masked_dice, *_matching_batch(False))[3], mask=False),
         "if you scored the unscored left quarter too: use y (255 on the left quarter) and "
         "ignore_index=255"),
    ]
    shown = (f"lane_weight is {_shown(got)}: it gives the lanes a share of {got_share:.4f} of the gradient, your soft "
             f"Dice {dice_share:.4f}")
    for value, hint in hints:
        if abs(got - value) <= HINT_TOLERANCE:
            raise AssertionError(f"{shown}: {hint}")
    raise AssertionError(f"{shown}: bisect between 1 and 1000 on the lanes' share of the gradient of "
                         f"F.cross_entropy(logits, y, weight=w, ignore_index=255), w all ones but the lane "
                         f"weight, until it is within {SHARE_TOLERANCE} of your Dice's lane share")


def _unsure_on_boundary(confidence: Any, labels: Any, level: float = 0.99, *, wrap: bool = False,
                        one_sided: bool = False, diagonal: bool = False, at_most: bool = False,
                        scenes_rolled: bool = False, filtered: bool = False,
                        gradient: bool = False) -> tuple[int, int]:
    """(pixels with confidence below ``level``, how many of them lie on a class boundary) of one label map
    ``(H, W)`` or a batch ``(N, H, W)``. A boundary pixel has a 4-neighbour inside its own scene with another
    true class. The keywords make the typical wrong answers: ``wrap`` (``np.roll(labels, ±1, axis) != labels``
    on the rows and columns: the edges wrap around),
    ``one_sided`` (only the second pixel of each differing pair),
    ``diagonal`` (8-neighbours), ``at_most`` (``<=`` level), ``scenes_rolled`` (one-scene slicing,
    ``t[1:, :] != t[:-1, :]`` and ``t[:, 1:] != t[:, :-1]``, used on a batch: its axes 0 and 1 are the scenes
    and the rows), ``filtered`` (``maximum_filter(labels, size=3) != minimum_filter(labels, size=3)``, on
    what it is given: on a batch the 3×3×3 window also reaches the neighbouring scenes, and on any input the
    diagonals; the lesson's ``class_edges`` uses a 2-D 4-neighbour footprint, which crashes on a batch), ``gradient``
    (``np.gradient(labels) != 0`` along the rows and the columns: inside the image its central difference
    compares the two neighbours of a pixel with each other, so it misses a 1-pixel-wide stripe).

    >>> labels = np.array([[0, 0, 1], [0, 0, 1], [2, 2, 2]])
    >>> _unsure_on_boundary(np.full((3, 3), 0.5), labels)
    (9, 8)
    """
    labels = np.asarray(labels)
    confidence = np.asarray(confidence, dtype=float)
    if filtered:
        from scipy import ndimage

        band = ndimage.maximum_filter(labels, size=3) != ndimage.minimum_filter(labels, size=3)
        unsure = confidence < level
        return int(unsure.sum()), int((unsure & band).sum())
    if labels.ndim == 2:               # one scene: the lesson's cell pasted on it is right
        labels, confidence = labels[None], confidence[None]
        scenes_rolled = False
    edge = np.zeros(labels.shape, bool)
    rows = labels[:, 1:, :] != labels[:, :-1, :]
    cols = labels[:, :, 1:] != labels[:, :, :-1]
    edge[:, 1:, :] |= rows
    edge[:, :, 1:] |= cols
    if scenes_rolled:                        # the lesson's cell, axes 0 and 1 of a batch: scenes and rows
        edge = np.zeros(labels.shape, bool)
        down, right = labels[1:, :] != labels[:-1, :], labels[:, 1:] != labels[:, :-1]
        edge[1:, :] |= down
        edge[:-1, :] |= down
        edge[:, 1:] |= right
        edge[:, :-1] |= right
    elif gradient:                           # central differences: the two neighbours compared with each other
        edge = (np.gradient(labels, axis=1) != 0) | (np.gradient(labels, axis=2) != 0)
    elif wrap:                               # np.roll both ways along rows and columns: the edges wrap around
        edge = np.zeros(labels.shape, bool)
        for axis in (1, 2):
            for shift in (1, -1):
                edge |= np.roll(labels, shift, axis) != labels
    elif not one_sided:
        edge[:, :-1, :] |= rows
        edge[:, :, :-1] |= cols
    if diagonal:
        down_right = labels[:, 1:, 1:] != labels[:, :-1, :-1]
        down_left = labels[:, 1:, :-1] != labels[:, :-1, 1:]
        edge[:, 1:, 1:] |= down_right
        edge[:, :-1, :-1] |= down_right
        edge[:, 1:, :-1] |= down_left
        edge[:, :-1, 1:] |= down_left
    unsure = confidence <= level if at_most else confidence < level
    return int(unsure.sum()), int((unsure & edge).sum())


def _unsure_cases() -> list[tuple[Any, Any, float, str]]:
    """(confidence, labels, level, what): one scene, then batches; confidences on a 0.005 grid so that some
    equal ``level`` exactly, and class edges that touch the image border (where ``np.roll`` wraps)."""
    rng = np.random.default_rng(20)
    cases = []
    small = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2], [2, 2, 2, 2]])
    cases.append((np.full((4, 4), 0.5), small, 0.99, "one 4×4 scene, every pixel unsure"))
    for n, side, level in [(1, 9, 0.99), (3, 8, 0.99), (4, 12, 0.9), (2, 7, 0.95)]:
        blocks = rng.integers(0, 3, (n, side // 3 + 1, side // 3 + 1)).repeat(3, 1).repeat(3, 2)[:, :side, :side]
        conf = np.round(rng.uniform(0.85, 1.0, (n, side, side)) / 0.005) * 0.005
        if n == 1:
            blocks, conf = blocks[0], conf[0]
        cases.append((conf, blocks, level, f"{n} scene{'s' if n > 1 else ''} of {side}×{side}, level {level}"))
    stripes = np.zeros((2, 7, 7), int)
    stripes[0, :, 3] = 1                     # a 1-pixel-wide lane marking down the middle of scene 0
    stripes[1, 2, :] = 2                     # and one across scene 1
    cases.append((np.full((2, 7, 7), 0.5), stripes, 0.99, "2 scenes of 7×7 with a 1-pixel-wide stripe, all unsure"))
    return cases


@learner_check
def check_unsure_on_boundary(unsure_on_boundary: Callable) -> None:
    """Check ``unsure_on_boundary(confidence, labels, level=0.99)``: the pair (number of pixels with
    confidence below ``level``, how many of them lie on a class boundary) for one scene ``(H, W)`` or a batch
    ``(N, H, W)``, a boundary pixel being one with a 4-neighbour of another true class in the same scene.

    >>> check_unsure_on_boundary(lambda confidence, labels, level=0.99: _unsure_on_boundary(
    ...     confidence, labels, level, wrap=True))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: on one 4×4 scene, every pixel unsure: expected (16, 10), yours is (16, 16)...
    """
    call = Watch(LIBRARY)
    task = "the boundary band"
    cases = _unsure_cases()
    answers = []
    for conf, labels, level, what in cases:
        try:
            got = _plain(_call_own(call, unsure_on_boundary, conf, labels, level, what="unsure_on_boundary",
                                   task=task))
        except AssertionError as crash:       # the lesson's class_edges (2-D footprint) pasted on a batch
            if "footprint.ndim" not in str(crash):
                raise
            raise AssertionError(f"{crash} (on {what}). If you pasted the lesson's class_edges (section 5): "
                                 f"its footprint four is 2-D, for one scene (H, W); on a batch (N, H, W) loop "
                                 f"over the scenes, or use the 3-D footprint four[None], which keeps each "
                                 f"pixel's 4 neighbours inside its own scene") from None
        if isinstance(got, np.ndarray) and got.shape == (2,):
            got = tuple(got)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise AssertionError(f"on {what}: unsure_on_boundary returned {_kind(got)}; return a pair of counts "
                                 f"(n_unsure, n_on_boundary), e.g. (int(unsure.sum()), int((unsure & edge).sum())); "
                                 f"the share is n_on_boundary / n_unsure, computed after the call")
        answers.append((_number(got[0], "the first count"), _number(got[1], "the second count")))
    hints = [
        (dict(at_most=True), "if you wrote confidence <= level: the unsure pixels are those strictly below "
                             "it (confidence < level)"),
        (dict(wrap=True), "if you used np.roll (labels != np.roll(labels, ±1, axis)): it wraps around, so a "
                          "pixel on the last row or column is compared with the first; compare neighbours "
                          "by slicing (labels[..., 1:, :] != labels[..., :-1, :]) so the border has none"),
        (dict(scenes_rolled=True), "if you compared t[1:, :] != t[:-1, :] and t[:, 1:] != t[:, :-1] on a batch: "
                                   "its axes 0 and 1 are then the scenes and the rows, so it compares pixels of "
                                   "different scenes; use the last two axes (rows and columns)"),
        (dict(one_sided=True), "if you marked only one side of each class edge: a boundary pixel is any "
                               "pixel whose neighbour has another class, so mark both pixels of every "
                               "differing pair"),
        (dict(filtered=True), "if you used maximum_filter(labels, size=3) != minimum_filter(labels, size=3): "
                              "size=3 on a batch (N, H, W) is a 3×3×3 window, so it mixes neighbouring scenes, "
                              "and its square also holds the diagonals; compare each pixel with its 4 "
                              "neighbours within its own scene (the lesson's class_edges uses footprint=four)"),
        (dict(gradient=True), "if you used np.gradient(labels) != 0: you compared the neighbours with each other, "
                              "not with the pixel (its central difference is labels[i + 1] - labels[i - 1]), so "
                              "a 1-pixel-wide stripe, whose two neighbours share a class, is not on a boundary; "
                              "compare each pixel with each of its 4 neighbours"),
        (dict(diagonal=True), "if you compared diagonal neighbours too: a boundary here uses the 4 "
                              "neighbours (up, down, left, right) only"),
        (dict(fixed=0.99), "if you wrote 0.99 instead of the level argument: use the level the function "
                           "is given"),
    ]

    def variant(kw: dict, conf: Any, labels: Any, level: float) -> tuple[int, int]:
        kw = dict(kw)
        return _unsure_on_boundary(conf, labels, kw.pop("fixed", level), **kw)

    for (conf, labels, level, what), got in zip(cases, answers):
        want = _unsure_on_boundary(conf, labels, level)
        if got == want:
            continue
        head = f"on {what}: expected {want}, yours is ({_shown(got[0])}, {_shown(got[1])})."
        if got[::-1] == want:
            raise AssertionError(f"{head} Your pair is the wrong way round: first every unsure pixel, then those on "
                                 f"a boundary")
        if got[0] == want[0] and want[0] and _close(got[1], want[1] / want[0], 1e-6) and want[1] != got[1]:
            raise AssertionError(f"{head} The second value is the share of unsure pixels on a boundary: return "
                                 f"counts, not a share (the share is n_on_boundary / n_unsure, computed after the call)")
        everywhere = [h for kw, h in hints if all(variant(kw, *c[:3]) == a for c, a in zip(cases, answers))]
        here = [h for kw, h in hints if variant(kw, conf, labels, level) == got]
        for hint in (everywhere or here)[:1]:
            raise AssertionError(f"{head} {hint[0].upper()}{hint[1:]}")
        if got[0] == want[0]:
            raise AssertionError(f"{head} The unsure count is right; the boundary count is not. A pixel is on a "
                                 f"boundary when its up, down, left or right neighbour, inside the same scene, "
                                 f"has another true class")
        raise AssertionError(f"{head} Count the pixels with confidence < level, then those of them whose 4-neighbour "
                             f"in the same scene has another true class")
    _refuse(call, "unsure_on_boundary", task)
    print(f"check_unsure_on_boundary: all {len(cases)} cases pass")


BN_BATCH_SIZES = (5, 2, 9)  #: images per batch in the batch-norm check: unequal, so the weighting shows


def _bn_layers(model: Any) -> list[Any]:
    from torch import nn

    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def _weighted_bn(model: Any, batches: list[Any], how: str = "weighted") -> Any:
    """A copy of ``model`` whose batch-norm running statistics are the average of the batches' statistics,
    each batch weighted by its number of images (``how``: "weighted"; "equal" is the lesson's
    ``momentum=None``, "default" keeps momentum 0.1, "last" keeps only the last batch, "concat" runs
    one pass over all the images concatenated).

    >>> import torch
    >>> from segcourse.models import TinyUNet
    >>> torch.manual_seed(0) and None
    >>> net = TinyUNet(3, 5, width=4)
    >>> out = _weighted_bn(net, [torch.rand(3, 3, 16, 16), torch.rand(1, 3, 16, 16)])
    >>> out.training, bool((out.down[0][0][1].running_mean != net.down[0][0][1].running_mean).any())
    (False, True)
    """
    import copy

    import torch

    model = copy.deepcopy(model)
    layers = _bn_layers(model)
    for layer in layers:
        layer.reset_running_stats()
    model.train()
    seen = 0
    if how == "concat":
        batches, how = [torch.cat(list(batches))], "last"
    with torch.no_grad():
        for batch in batches:
            n = batch.shape[0]
            for layer in layers:
                layer.momentum = {"weighted": n / (seen + n), "equal": None, "default": 0.1, "last": 1.0}[how]
            model(batch)
            seen += n
    for layer in layers:
        layer.momentum = 0.1
    return model.eval()


def _bn_case() -> tuple[Any, list[Any]]:
    """A small TinyUNet with running statistics that are not the defaults, and batches of unequal size."""
    import torch

    from ..models import TinyUNet

    with torch.random.fork_rng():
        torch.manual_seed(11)
        net = TinyUNet(3, 5, width=4)
        for layer in _bn_layers(net):
            layer.running_mean.uniform_(-1, 1)
            layer.running_var.uniform_(0.5, 2)
        batches = [torch.rand(n, 3, 16, 16) * (1 + i) for i, n in enumerate(BN_BATCH_SIZES)]
    return net.eval(), batches


def _bn_stats(model: Any) -> list[Any]:
    return [t.detach().clone() for layer in _bn_layers(model) for t in (layer.running_mean, layer.running_var)]


def _bn_same(a: list[Any], b: list[Any], tol: float = 1e-4) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and bool(((x - y).abs() <= tol * (1 + y.abs())).all())
                                    for x, y in zip(a, b))


@learner_check
def check_weighted_bn_statistics(weighted_bn_statistics: Callable) -> None:
    """Check ``weighted_bn_statistics(model, batches)``: a copy of ``model``, in eval mode, whose batch-norm
    running means and variances are the averages of the statistics of ``batches`` (a list of image
    tensors), each batch weighted by its number of images; ``model`` itself is left unchanged.

    >>> check_weighted_bn_statistics(lambda model, batches: _weighted_bn(model, batches, how="equal"))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: the running statistics differ from the weighted average of the batches'. In...
    """
    import torch
    from torch import nn

    net, batches = _bn_case()
    before = _bn_stats(net)
    weights = [p.detach().clone() for p in net.parameters()]

    def run(model: Any, data: list[Any]) -> tuple[Any, Any]:   # _call passes copies: keep the one given
        return weighted_bn_statistics(model, data), model

    got, given = _call(run, net, batches, what="weighted_bn_statistics")
    if not isinstance(got, nn.Module):
        raise AssertionError(f"weighted_bn_statistics returned {_kind(got)}; return the recalibrated copy of the "
                             f"model (an nn.Module)")
    if len(_bn_layers(got)) != len(_bn_layers(net)):
        raise AssertionError("the returned model has not the same batch-norm layers as the one given: return a "
                             "copy of it (copy.deepcopy(model)) with new running statistics")
    mine = _bn_stats(got)
    want = _bn_stats(_weighted_bn(net, batches))
    if not _bn_same(mine, want):
        sizes = ", ".join(map(str, BN_BATCH_SIZES))
        means = [float(_bn_stats(_weighted_bn(net, [b]))[0][0]) for b in batches]   # first layer, channel 0
        weighted = sum(n * m for n, m in zip(BN_BATCH_SIZES, means)) / sum(BN_BATCH_SIZES)
        numbers = (f"In the first batch-norm layer, channel 0: your running mean is {float(mine[0][0]):.4f}; the "
                   f"batches of {sizes} images have means {', '.join(f'{m:.4f}' for m in means)}, whose average "
                   f"weighted by images is {weighted:.4f} (plain average {sum(means) / len(means):.4f}).")
        hints = [
            ("equal", "If you set momentum=None as the lesson's recalibrate_bn does: every batch then counts the "
                      "same, whatever its size; here each batch must count in proportion to its images"),
            ("default", "If you kept batch norm's default momentum (0.1): the running statistics are then an "
                        "exponential average, mostly the old values; set the momentum before each batch"),
            ("last", "Only the last batch counts in your statistics (momentum 1 throughout?): the momentum must "
                     "shrink as images accumulate, so that the earlier batches keep their share"),
            ("concat", "You ran all the images through in one batch (concatenated): the mean comes out right, "
                       "but that variance also holds the spread *between* the batches' means, which an average "
                       "of per-batch variances does not; run the batches one at a time"),
        ]
        reset = [torch.zeros_like(t) if i % 2 == 0 else torch.ones_like(t) for i, t in enumerate(before)]
        if _bn_same(mine, before) or _bn_same(mine, reset):
            raise AssertionError("the running statistics did not change (or are only reset): run the batches "
                                 "through the copy in training mode (model.train()); in eval mode batch norm only "
                                 "reads them")
        for how, hint in hints:
            if _bn_same(mine, _bn_stats(_weighted_bn(net, batches, how))):
                raise AssertionError(f"the running statistics differ from the weighted average of the batches'. "
                                     f"{numbers} {hint}")
        names = [name for name, m in got.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        same = [_bn_same(mine[2 * i:2 * i + 2], want[2 * i:2 * i + 2]) for i in range(len(names))]
        if same[0] and not all(same):
            first = same.index(False)
            raise AssertionError(f"the first batch-norm layer's statistics are right, but layer {first + 1} "
                                 f"({names[first]}) and the deeper ones are not. {numbers} A deeper layer's input "
                                 f"depends on how the layers before it normalise: the batches must run through the "
                                 f"copy in training mode (model.train()), so that every layer normalises with the "
                                 f"batch's own statistics, as in training; in eval mode the deeper layers see inputs "
                                 f"normalised with the old running statistics")
        if _bn_same(mine[0::2], want[0::2]):
            raise AssertionError(f"your running means are right, the running variances are not: in the first "
                                 f"batch-norm layer, channel 0, your running_var is {float(mine[1][0]):.4f}, expected "
                                 f"{float(want[1][0]):.4f}. Batch norm's running_var stores each batch's *unbiased* "
                                 f"variance (divisor n·H·W - 1, var(unbiased=True)), not the biased one it normalises "
                                 f"with (divisor n·H·W): average those, weighted by images")
        raise AssertionError(f"the running statistics differ from the average of the batches' statistics, each "
                             f"batch weighted by its images. {numbers} Reset them, then choose each batch's "
                             f"momentum so that, after it, every batch so far counts in proportion to its images")
    if got is given or not _bn_same(_bn_stats(given), before, 0.0):
        raise AssertionError("the model you were given has new running statistics too: work on a copy "
                             "(copy.deepcopy(model)) so the caller keeps the original")
    if got.training:
        raise AssertionError("the returned model is in training mode: return it in eval mode (model.eval()), "
                             "so that it uses the new running statistics")
    if not all(torch.equal(p, q) for p, q in zip(got.parameters(), weights)):
        raise AssertionError("the model's weights changed: recalibration only re-estimates the batch-norm "
                             "statistics (no optimiser step)")
    print(f"check_weighted_bn_statistics: right: the running statistics of all {len(_bn_layers(net))} batch-norm "
          f"layers match, for batches of {', '.join(map(str, BN_BATCH_SIZES))} images")


#: The paired-crop exercise: scenes of H×W = 12×20 cropped to 8×8, so 5 row offsets and 13 column offsets;
#: CROP_CALLS draws of scene 0 must reach every offset and flip about half of the time.
CROP_CASE = dict(n=3, height=12, width=20, crop=8)
CROP_CALLS = 300


def _position_scenes(n: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Scenes whose pixels say where they are: image channel 0 is (row + 1) / 32, channel 1 (column + 1) / 32,
    channel 2 the scene (0.5 + scene / 10); the label of a pixel is row · width + column (uint8).

    >>> images, labels = _position_scenes(2, 3, 4)
    >>> images.shape, images.dtype, int(labels[1, 2, 3]), round(float(images[1, 2, 3, 2]), 6)
    ((2, 3, 4, 3), dtype('float32'), 11, 0.6)
    """
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    images = np.zeros((n, height, width, 3), np.float32)
    images[..., 0], images[..., 1] = (rows + 1) / 32, (cols + 1) / 32
    images[..., 2] = (0.5 + np.arange(n) / 10)[:, None, None]
    labels = np.broadcast_to(rows * width + cols, (n, height, width)).astype(np.uint8)
    return images, labels


def _crop_place(rows: np.ndarray, cols: np.ndarray) -> tuple[int, int, str] | str:
    """(first row, first column, "flipped" or "kept") of a crop whose pixels came from ``rows`` × ``cols``
    (each a 2-D map of source positions), or what is wrong with it: "upside down", "not a crop"."""
    r, c = rows[:, 0], cols[0, :]
    if not ((rows == r[:, None]).all() and (cols == c[None, :]).all()):
        return "not a crop"
    if (np.diff(r) == -1).all() and len(r) > 1:
        return "upside down"
    if not (np.diff(r) == 1).all():
        return "not a crop"
    if (np.diff(c) == 1).all():
        return int(r[0]), int(c[0]), "kept"
    if (np.diff(c) == -1).all():
        return int(r[0]), int(c[-1]), "flipped"
    return "not a crop"


def _read_pair(got: Any, i: int, crop: int, width: int) -> tuple[tuple[int, int, str], Any]:
    """Check one ``dataset[i]`` of the position scenes and return where its crop was taken (and the pair)."""
    import torch

    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise AssertionError(f"dataset[{i}] returned {_kind(got)}; return the pair (image, label map)")
    x, y = got
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise AssertionError(f"dataset[{i}] returned ({_kind(x)}, {_kind(y)}); return two torch tensors "
                             f"(torch.from_numpy(...)), as a DataLoader batches them")
    if tuple(x.shape) == (crop, crop, 3):
        raise AssertionError(f"the image has shape {tuple(x.shape)}, channels last as stored; a network wants "
                             f"channels first, (3, {crop}, {crop}): .permute(2, 0, 1)")
    if tuple(x.shape) != (3, crop, crop) or tuple(y.shape) != (crop, crop):
        raise AssertionError(f"with crop={crop}, dataset[{i}] returned an image of shape {tuple(x.shape)} and a label "
                             f"map of shape {tuple(y.shape)}; expected (3, {crop}, {crop}) and ({crop}, {crop}): cut "
                             f"crop rows and crop columns out of both (x[:, r:r + crop, c:c + crop], "
                             f"y[r:r + crop, c:c + crop] once the image is channels first)")
    if x.dtype != torch.float32:
        raise AssertionError(f"the image is {x.dtype}; keep it torch.float32, as stored")
    if y.dtype != torch.int64:
        raise AssertionError(f"the label map is {y.dtype}; F.cross_entropy wants class ids as torch.int64: .long()")
    x, y = x.detach().cpu().numpy(), y.cpu().numpy()
    scene = float(np.median(x[2]))
    if np.allclose(x[0], x[0].flat[0]) and abs(x[0].flat[0] - 0.5) < 0.35 and not np.allclose(x[2], scene):
        raise AssertionError("the colour channels are in reverse order: you flipped the channel axis (on an "
                             "(H, W, 3) array the last axis is the colour, not the columns); flip the columns, "
                             "the last axis once the image is (3, H, W)")
    if np.isclose(x, 0.5 + i / 10, atol=1e-6).any() and not np.allclose(x[2], 0.5 + i / 10, atol=1e-6):
        raise AssertionError(f"dataset[{i}]'s image holds scene {i}'s values in the wrong places: pixels "
                             f"scrambled: (H, W, 3) needs .permute(2, 0, 1), not .reshape (which keeps the "
                             f"memory order and only relabels the axes)")
    if not np.allclose(x[2], 0.5 + i / 10, atol=1e-6):
        raise AssertionError(f"dataset[{i}] returned an image that is not scene {i}: index the stored arrays "
                             f"with i")
    place = _crop_place(np.rint(x[0] * 32).astype(int) - 1, np.rint(x[1] * 32).astype(int) - 1)
    if place == "upside down":
        raise AssertionError("the image is upside down: you flipped the rows (the vertical axis); a road scene "
                             "is flipped left-right, along the columns (the last axis of (3, H, W))")
    if isinstance(place, str):
        raise AssertionError(f"dataset[{i}]'s image is not a {crop}×{crop} window of the scene, kept or flipped "
                             f"left-right: cut rows r to r + crop and columns c to c + crop")
    ys = _crop_place(y // width, y % width)
    if ys == "upside down":
        raise AssertionError("the label map is upside down: you flipped its rows; flip its columns, as the "
                             "image's")
    if isinstance(ys, str):
        raise AssertionError(f"dataset[{i}]'s label map is not a {crop}×{crop} window of the scene's labels")
    if ys != place:
        (r, c, f), (ry, cy, fy) = place, ys
        if (r, c) != (ry, cy) and f == fy:
            why = ("you drew an offset for the image and another for the label map: draw one (r, c) for the pair "
                   "and cut both there")
        elif (r, c) == (ry, cy):
            why = ("you flipped only one of the two (or tossed a coin for each): toss one coin for the pair and "
                   "flip both, or neither")
        else:
            why = "the two were cut at different places and flipped differently: one offset and one coin for the pair"
        raise AssertionError(f"the image and its label map do not line up: the image is the window at row {r}, "
                             f"column {c}, {f}; the label map the window at row {ry}, column {cy}, {fy}. Whatever "
                             f"moves the image's pixels must move the labels' the same way: {why}")
    return place, got


@learner_check
def check_paired_crops(dataset_class: Callable) -> None:
    """Check ``dataset_class(images, labels, crop)`` (images ``(N, H, W, 3)`` float32, labels ``(N, H, W)``
    uint8, numpy): ``dataset[i]`` is scene ``i`` as the pair (image ``(3, crop, crop)`` float32, labels
    ``(crop, crop)`` int64), a window at a random offset, flipped left-right half of the time, both moved
    together; every offset from 0 to ``H - crop`` (and ``W - crop``) possible; drawn with torch's random
    numbers, so ``torch.manual_seed`` repeats them.

    >>> class Centre:
    ...     def __init__(self, images, labels, crop):
    ...         self.images, self.labels, self.crop = images, labels, crop
    ...     def __len__(self):
    ...         return len(self.images)
    ...     def __getitem__(self, i):
    ...         import torch
    ...         x = torch.from_numpy(self.images[i]).permute(2, 0, 1)[:, 2:10, 6:14]
    ...         return x, torch.from_numpy(self.labels[i]).long()[2:10, 6:14]
    >>> check_paired_crops(Centre)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: every call of dataset[0] cut the same window, flipped the same way...
    """
    import torch

    n, height, width, crop = (CROP_CASE[k] for k in ("n", "height", "width", "crop"))
    images, labels = _position_scenes(n, height, width)
    dataset = _call(dataset_class, images, labels, crop, what="your Dataset class")
    size = _call(len, dataset, what="len(dataset)")
    if size != n:
        raise AssertionError(f"len(dataset) is {_shown(size)} for {n} scenes: return len(self.images)")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        places = [_read_pair(_call(dataset.__getitem__, 0, what="dataset[0]"), 0, crop, width)[0]
                  for _ in range(CROP_CALLS)]
        for i in range(1, n):
            _read_pair(_call(dataset.__getitem__, i, what=f"dataset[{i}]"), i, crop, width)
        runs = []
        for _ in range(2):
            torch.manual_seed(1)
            runs.append([_read_pair(_call(dataset.__getitem__, i % n, what="dataset[i]"), i % n, crop, width)[0]
                         for i in range(6)])
    rows, cols = {p[0] for p in places}, {p[1] for p in places}
    flipped = sum(p[2] == "flipped" for p in places)
    if len(set(places)) == 1:
        raise AssertionError(f"every call of dataset[0] cut the same window, flipped the same way, "
                             f"{CROP_CALLS} calls in a row: draw the offset and the coin inside __getitem__, anew at "
                             f"every call (torch.randint, torch.rand), not once in __init__")
    if runs[0] != runs[1]:
        raise AssertionError("after the same torch.manual_seed, your Dataset cut other windows: draw the offsets and "
                             "the coin with torch (torch.randint, torch.rand), not numpy's or Python's random, so "
                             "that torch.manual_seed repeats them (and each DataLoader worker gets its own stream)")
    for axis, seen, side in (("row", rows, height), ("column", cols, width)):
        last = side - crop
        if seen != set(range(last + 1)):
            if max(seen) == last - 1:
                why = (f"the last offset, {last}, never came: torch.randint's upper bound is excluded, so draw "
                       f"from torch.randint({side} - crop + 1, ())")
            elif axis == "column" and max(seen) == height - crop:
                why = (f"no offset beyond {height - crop}: you drew the column offset from the number of rows; "
                       f"the columns allow 0 to W - crop = {last}")
            else:
                why = f"every offset from 0 to {side} - crop = {last} should be possible"
            raise AssertionError(f"in {CROP_CALLS} calls of dataset[0] on {height}×{width} scenes with crop={crop}, "
                                 f"the {axis} offsets were {sorted(seen)}: {why}")
    if not 0.35 * CROP_CALLS <= flipped <= 0.65 * CROP_CALLS:
        raise AssertionError(f"dataset[0] came out flipped in {flipped} of {CROP_CALLS} calls: flip half of the time "
                             f"(if torch.rand(()) < 0.5)")
    print(f"check_paired_crops: right: image (3, {crop}, {crop}) float32 and labels ({crop}, {crop}) int64, cut and "
          f"flipped together; in {CROP_CALLS} calls every row offset 0 to {height - crop} and column offset 0 to "
          f"{width - crop}, flipped {flipped} times; the same windows again after the same torch.manual_seed")
