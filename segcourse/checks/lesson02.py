"""Learner checks of lesson 02, inside a segmentation network.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._core import _call, _close, learner_check

__all__ = ["check_soft_dice", "check_transposed_output_size", "check_receptive_field", "check_skip_choice"]


def _reference_soft_dice(logits: Any, target: Any, eps: float = 1.0) -> float:
    from ..train import dice_loss
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
