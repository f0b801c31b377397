"""Lesson 02's checks: each passes the reference and rejects each typical wrong answer with its hint."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segcourse import checks
from segcourse.train import dice_loss


def _fails(check, answer, *words):
    with pytest.raises(AssertionError) as info:
        check(answer)
    message = " ".join(str(info.value).split())  # hints are wrapped at 80 characters for nbgrader
    for w in words:
        assert w in message, message


def _dice(logits, target, eps=1.0, probs=lambda z: z.softmax(1), all_classes=False, per_image=False):
    p = probs(logits)
    one_hot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).float()
    dims = (2, 3) if per_image else (0, 2, 3)
    dice = (2 * (p * one_hot).sum(dims) + eps) / (p.sum(dims) + one_hot.sum(dims) + eps)
    keep = one_hot.sum(dims) > 0
    return 1 - (dice if all_classes else dice[keep]).mean()


def test_soft_dice_check_passes_the_reference_and_a_rewrite():
    checks.check_soft_dice(dice_loss)
    checks.check_soft_dice(lambda z, t, eps=1.0: _dice(z, t, eps))


def test_soft_dice_check_rejects_typical_mistakes():
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: _dice(z, t, probs=lambda v: v), "softmax")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: _dice(z, t, probs=torch.sigmoid), "sigmoid")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: _dice(z, t, probs=lambda v: v.softmax(-1)), "wrong axis")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: _dice(z, t, all_classes=True), "absent")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: _dice(z, t, eps=0.0), "smoothing")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: _dice(z, t, per_image=True), "per image")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: 1 - _dice(z, t), "1 - mean Dice")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: float(_dice(z, t).detach()), "gradient")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: 1 - (z.softmax(1).argmax(1) == t).float().mean(), "expected")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: torch.zeros(z.shape[1]), "one number")

    def stub(z, t, eps=1.0):
        raise NotImplementedError()
    _fails(checks.check_soft_dice, stub, "NotImplementedError")


def test_soft_dice_check_does_not_let_the_learner_mutate_inputs():
    def mutating(z, t, eps=1.0):
        out = _dice(z, t, eps)
        z.data.zero_()
        return out
    checks.check_soft_dice(mutating)


def reference_size(n, k, s, p=0, op=0):
    return (n - 1) * s - 2 * p + k + op


def test_transposed_output_size_check():
    checks.check_transposed_output_size(reference_size)
    checks.check_transposed_output_size(lambda n, k, s, p=0, op=0: float(reference_size(n, k, s, p, op)))
    _fails(checks.check_transposed_output_size, lambda n, k, s, p=0, op=0: (n + 2 * p - k) // s + 1, "ordinary convolution")
    _fails(checks.check_transposed_output_size, lambda n, k, s, p=0, op=0: n * s, "kernel = stride")
    _fails(checks.check_transposed_output_size, lambda n, k, s, p=0, op=0: (n - 1) * s + k + op, "subtract 2·padding")
    _fails(checks.check_transposed_output_size, lambda n, k, s, p=0, op=0: (n - 1) * s - p + k + op, "not padding")
    _fails(checks.check_transposed_output_size, lambda n, k, s, p=0, op=0: (n - 1) * s - 2 * p + k, "output_padding")
    _fails(checks.check_transposed_output_size, lambda n, k, s, p=0, op=0: (n - 1) * s - 2 * p + k + op - 1, "off by one")
    _fails(checks.check_transposed_output_size, lambda n, k, s, p=0, op=0: "8", "return an int")


def reference_rf(layers):
    r, jump = 1, 1
    for k, s, d in layers:
        r += d * (k - 1) * jump
        jump *= s
    return r


def test_receptive_field_check():
    checks.check_receptive_field(reference_rf)

    def jump_first(layers):
        r, jump = 1, 1
        for k, s, d in layers:
            jump *= s
            r += d * (k - 1) * jump
        return r
    _fails(checks.check_receptive_field, jump_first, "before adding")
    _fails(checks.check_receptive_field, lambda layers: 1 + sum(d * (k - 1) for k, s, d in layers), "left the jump out")
    _fails(checks.check_receptive_field, lambda layers: reference_rf([(k, s, 1) for k, s, d in layers]), "dilation")
    _fails(checks.check_receptive_field, lambda layers: reference_rf(layers) - 1, "start from 1")
    _fails(checks.check_receptive_field, lambda layers: int(np.prod([k for k, s, d in layers])), "do not multiply")
    _fails(checks.check_receptive_field, lambda layers: 42, "expected")


def test_skip_choice_check():
    checks.check_skip_choice("c")
    checks.check_skip_choice(" C ")
    _fails(checks.check_skip_choice, "a", "positions")
    _fails(checks.check_skip_choice, "b", "receptive field")
    _fails(checks.check_skip_choice, "d", "forward pass")
    _fails(checks.check_skip_choice, "e", "one letter")
    _fails(checks.check_skip_choice, None, "one letter")
    _fails(checks.check_skip_choice, "YOUR ANSWER HERE", "one letter")
