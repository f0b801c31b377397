"""Lesson 02's checks: each passes the reference and rejects each typical wrong answer with its hint."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segcourse import checks
from segcourse.models import TinyUNet
from segcourse.train import dice_loss


def _fails(check, answer, *words):
    with pytest.raises(AssertionError) as info:
        check(answer)
    message = " ".join(str(info.value).split())  # hints are wrapped at 80 characters for nbgrader
    for w in words:
        assert w in message, message


def _dice(logits, target, eps=1.0, ignore_index=255, probs=lambda z: z.softmax(1), all_classes=False, per_image=False,
          mask_probs=True):
    scored = (target != ignore_index)[:, None].float()
    p = probs(logits) * (scored if mask_probs else 1)
    one_hot = F.one_hot(target.masked_fill(target == ignore_index, 0), logits.shape[1]).permute(0, 3, 1, 2).float() * scored
    dims = (2, 3) if per_image else (0, 2, 3)
    dice = (2 * (p * one_hot).sum(dims) + eps) / (p.sum(dims) + one_hot.sum(dims) + eps)
    keep = one_hot.sum(dims) > 0
    return 1 - (dice if all_classes else dice[keep]).mean()


def test_soft_dice_check_passes_the_reference_and_a_rewrite():
    checks.check_soft_dice(_dice)
    checks.check_soft_dice(lambda z, t, eps=1.0, ignore_index=255: _dice(z, t, eps, ignore_index))


def test_soft_dice_check_rejects_typical_mistakes():
    def wrong(**kw):
        return lambda z, t, eps=1.0, ignore_index=255: _dice(z, t, **{"eps": eps, **kw})
    _fails(checks.check_soft_dice, wrong(eps=1.0), "ignores its eps argument", "eps=0.5")
    _fails(checks.check_soft_dice, wrong(mask_probs=False), "ignored pixels still count")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0, ignore_index=255: dice_loss(z, t.masked_fill(t == 255, 0), eps),
           "scored the ignored pixels as class 0")
    _fails(checks.check_soft_dice, wrong(probs=lambda v: v), "softmax")
    _fails(checks.check_soft_dice, wrong(probs=torch.sigmoid), "sigmoid")
    _fails(checks.check_soft_dice, wrong(probs=lambda v: v.softmax(-1)), "wrong axis")
    _fails(checks.check_soft_dice, wrong(all_classes=True), "absent")
    _fails(checks.check_soft_dice, wrong(eps=0.0), "smoothing")
    _fails(checks.check_soft_dice, wrong(per_image=True), "per image")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0, ignore_index=255: 1 - _dice(z, t, eps), "1 - mean Dice")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0, ignore_index=255: float(_dice(z, t, eps).detach()), "gradient")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0, ignore_index=255: torch.zeros(z.shape[1]), "one number")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0: _dice(z, t, eps), "soft_dice crashed")  # no ignore_index argument

    def present_before_masking(z, t, eps=1.0, ignore_index=255):   # counts class 0 present when any pixel is ignored
        one_hot = F.one_hot(t.masked_fill(t == ignore_index, 0), z.shape[1]).permute(0, 3, 1, 2).float()
        scored = (t != ignore_index)[:, None].float()
        p, m = z.softmax(1) * scored, one_hot * scored
        dice = (2 * (p * m).sum((0, 2, 3)) + eps) / (p.sum((0, 2, 3)) + m.sum((0, 2, 3)) + eps)
        return 1 - dice[one_hot.sum((0, 2, 3)) > 0].mean()
    _fails(checks.check_soft_dice, present_before_masking, "no scored pixel of class 0", "from the masked one-hot")

    def one_hot_not_masked(z, t, eps=1.0, ignore_index=255):
        one_hot = F.one_hot(t.masked_fill(t == ignore_index, 0), z.shape[1]).permute(0, 3, 1, 2).float()
        p = z.softmax(1) * (t != ignore_index)[:, None].float()
        dice = (2 * (p * one_hot).sum((0, 2, 3)) + eps) / (p.sum((0, 2, 3)) + one_hot.sum((0, 2, 3)) + eps)
        return 1 - dice[one_hot.sum((0, 2, 3)) > 0].mean()
    _fails(checks.check_soft_dice, one_hot_not_masked, "one-hot target is not masked")

    def lesson_soft_dice(z, t, eps=1.0, ignore_index=255):          # the lesson's, copied: no ignore label
        one_hot = F.one_hot(t, z.shape[1]).permute(0, 3, 1, 2).float()
        p = z.softmax(1)
        dice = (2 * (p * one_hot).sum((0, 2, 3)) + eps) / (p.sum((0, 2, 3)) + one_hot.sum((0, 2, 3)) + eps)
        return 1 - dice[one_hot.sum((0, 2, 3)) > 0].mean()
    _fails(checks.check_soft_dice, lesson_soft_dice, "255 is not a class id")

    def stub(z, t, eps=1.0, ignore_index=255):
        raise NotImplementedError()
    _fails(checks.check_soft_dice, stub, "NotImplementedError")


def test_soft_dice_check_does_not_let_the_learner_mutate_inputs():
    def mutating(z, t, eps=1.0, ignore_index=255):
        out = _dice(z, t, eps, ignore_index)
        z.data.zero_()
        return out
    checks.check_soft_dice(mutating)


def test_soft_dice_check_refuses_an_answer_that_overwrites_the_target():
    def overwriting(z, t, eps=1.0, ignore_index=255):     # right value, but the caller's labels are changed
        scored = t != ignore_index
        t[~scored] = 0
        return _dice(z, t.masked_fill(~scored, ignore_index), eps, ignore_index)
    _fails(checks.check_soft_dice, overwriting, "in place", "target.clone()")


def test_check_messages_print_plain_numbers():
    with pytest.raises(AssertionError) as info:
        checks.check_soft_dice(lambda z, t, eps=1.0, ignore_index=255: np.float64(0.25))
    assert "np.float64" not in str(info.value) and "0.25" in str(info.value)
    with pytest.raises(AssertionError) as info:
        checks.check_transposed_output_size(lambda n, k, s, p=0, op=0, d=1: np.float64(0.5))
    assert "np.float64" not in str(info.value) and "0.5" in str(info.value)
    with pytest.raises(AssertionError) as info:
        checks.check_receptive_field(lambda layers: np.float64(2.5))
    assert "np.float64" not in str(info.value) and "2.5" in str(info.value)


def reference_size(n, k, s, p=0, op=0, d=1):
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def test_transposed_output_size_check():
    checks.check_transposed_output_size(reference_size)
    checks.check_transposed_output_size(lambda n, k, s, p=0, op=0, d=1: float(reference_size(n, k, s, p, op, d)))
    fails = lambda fn, *words: _fails(checks.check_transposed_output_size, fn, *words)  # noqa: E731
    fails(lambda n, k, s, p=0, op=0, d=1: (n + 2 * p - d * (k - 1) - 1) // s + 1, "ordinary convolution")
    fails(lambda n, k, s, p=0, op=0, d=1: n * s, "kernel = stride")
    fails(lambda n, k, s, p=0, op=0, d=1: (n - 1) * s - 2 * p + k + op, "left out the dilation")
    fails(lambda n, k, s, p=0, op=0, d=1: (n - 1) * s - 2 * p + d * k + op, "between the taps")
    fails(lambda n, k, s, p=0, op=0, d=1: reference_size(n, k, s, p, op, d) + op, "ONE side", "not twice")
    fails(lambda n, k, s, p=0, op=0, d=1: reference_size(n, k, s, p, op, d) + 2 * p, "subtract 2·padding")
    fails(lambda n, k, s, p=0, op=0, d=1: reference_size(n, k, s, p, op, d) + p, "not padding")
    fails(lambda n, k, s, p=0, op=0, d=1: reference_size(n, k, s, p, op, d) - op, "add it")
    fails(lambda n, k, s, p=0, op=0, d=1: reference_size(n, k, s, p, op, d) - 1, "off by one")
    fails(lambda n, k, s, p=0, op=0, d=1: "8", "return an int")
    fails(lambda n, k, s, p=0, op=0: reference_size(n, k, s, p, op), "crashed")   # no dilation argument


def test_transposed_output_size_check_refuses_any_convolution_that_measures():
    """torch.convolution(transposed=True) and the aten op are not watched by name: the 2**40 case catches them."""
    def via_convolution(n, k, s, p=0, op=0, d=1):
        return torch.convolution(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), None, [s, s], [p, p], [d, d], True,
                                 [op, op], 1).shape[-1]
    _fails(checks.check_transposed_output_size, via_convolution, "1099511627776 (2**40)", "formula answers at once")

    def via_aten(n, k, s, p=0, op=0, d=1):
        return torch.ops.aten.convolution(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), None, [s, s], [p, p],
                                          [d, d], True, [op, op], 1).shape[-1]
    _fails(checks.check_transposed_output_size, via_aten, "(2**40)", "instead of running a convolution")


def test_function_checks_refuse_segcourse_and_the_library_one_liner():
    """An answer that measures the size with torch's transposed convolution, or calls segcourse (the
    check's own reference included), is refused with a hint saying so; the hooks are removed afterwards."""
    import sys

    from segcourse.checks.lesson02 import _masked_dice

    def measured(n, k, s, p=0, op=0, d=1):     # right on every case, but not the formula
        layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d)
        return layer(torch.zeros(1, 1, n, n)).shape[-1]
    _fails(checks.check_transposed_output_size, measured, "calls nn.ConvTranspose2d", "formula")
    functional = lambda n, k, s, p=0, op=0, d=1: F.conv_transpose2d(  # noqa: E731
        torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, output_padding=op, dilation=d).shape[-1]
    _fails(checks.check_transposed_output_size, functional, "conv_transpose2d", "formula")
    _fails(checks.check_soft_dice, _masked_dice, "calls segcourse.checks.lesson02._masked_dice", "yourself")

    def via_dice_loss(logits, target, eps=1.0, ignore_index=255):   # right numbers, segcourse's loss
        keep = target != ignore_index
        return dice_loss(logits.permute(0, 2, 3, 1)[keep].T[None, :, :, None], target[keep][None, :, None], eps)
    _fails(checks.check_soft_dice, via_dice_loss, "calls segcourse.train.dice_loss", "yourself")
    from segcourse import metrics
    _fails(checks.check_receptive_field, lambda layers: reference_rf(layers) * int(metrics.iou(np.ones(2), np.ones(2))),
           "calls segcourse.metrics.iou", "yourself")
    # a wrong answer that also calls segcourse hears about its mistake first
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0, ignore_index=255: dice_loss(z, t.masked_fill(t == 255, 0), eps),
           "scored the ignored pixels as class 0")
    assert sys.getprofile() is None


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

    def lesson_cell(layers):                  # the lesson's (kernel, stride) version, pasted
        r, jump = 1, 1
        for k, s in layers:
            r += (k - 1) * jump
            jump *= s
        return r
    _fails(checks.check_receptive_field, lesson_cell, "unpack", "(kernel, stride, dilation) triple")


def test_skip_choice_check():
    checks.check_skip_choice("c")
    checks.check_skip_choice(" C ")
    _fails(checks.check_skip_choice, "a", "positions")
    _fails(checks.check_skip_choice, "b", "receptive field")
    _fails(checks.check_skip_choice, "d", "forward pass")
    _fails(checks.check_skip_choice, "e", "one letter")
    _fails(checks.check_skip_choice, None, "one letter")
    _fails(checks.check_skip_choice, "YOUR ANSWER HERE", "one letter")


# ------------------------------------------------------------------------------- check_unet
def _block(c_in, c_out):
    conv = lambda i, o: [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]  # noqa: E731
    return nn.Sequential(*conv(c_in, c_out), *conv(c_out, c_out))


class CatUNet(nn.Module):
    """The exercise's model answer; ``skips`` lists the levels that get their skip connection."""

    def __init__(self, in_channels=3, num_classes=5, width=8, skips=(0, 1), padding=1):
        super().__init__()
        c = [width, 2 * width, 4 * width]
        self.skips = skips
        self.enc = nn.ModuleList([_block(in_channels, c[0]), _block(c[0], c[1]), _block(c[1], c[2])])
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList([nn.ConvTranspose2d(c[1], c[0], 2, stride=2), nn.ConvTranspose2d(c[2], c[1], 2, stride=2)])
        self.dec = nn.ModuleList([_block(2 * c[0], c[0]), _block(2 * c[1], c[1])])
        self.head = nn.Conv2d(c[0], num_classes, 1)

    def forward(self, x):
        e0 = self.enc[0](x)
        e1 = self.enc[1](self.pool(e0))
        x = self.enc[2](self.pool(e1))
        for level, skip in ((1, e1), (0, e0)):
            x = self.ups[level](x)
            x = self.dec[level](torch.cat([x, skip if level in self.skips else x], 1))
        return self.head(x)


def test_unet_check_passes_the_model_answer():
    checks.check_unet(CatUNet)


def test_unet_check_rejects_a_unet_without_a_skip():
    _fails(checks.check_unet, lambda c, k, w: CatUNet(c, k, w, skips=()), "no skip connection at level 0")
    _fails(checks.check_unet, lambda c, k, w: CatUNet(c, k, w, skips=(0,)), "no skip connection at level 1")


def test_unet_check_rejects_added_skips():
    class AddUNet(CatUNet):                 # adds each skip (as the lesson's HandUNet does) instead of concatenating
        def __init__(self, in_channels=3, num_classes=5, width=8):
            super().__init__(in_channels, num_classes, width)
            self.dec = nn.ModuleList([_block(width, width), _block(2 * width, 2 * width)])

        def forward(self, x):
            e0 = self.enc[0](x)
            e1 = self.enc[1](self.pool(e0))
            x = self.enc[2](self.pool(e1))
            for level, skip in ((1, e1), (0, e0)):
                x = self.dec[level](self.ups[level](x) + skip)
            return self.head(x)
    _fails(checks.check_unet, AddUNet, "you add the skip", "in_channels=32")


def test_unet_check_rejects_wrong_shapes_sizes_and_borrowed_models():
    class Unpadded(CatUNet):
        def forward(self, x):
            return super().forward(x)[..., 1:-1, 1:-1]
    _fails(checks.check_unet, Unpadded, "padding=1")
    _fails(checks.check_unet, lambda c, k, w: CatUNet(c, 3, w), "one channel per class")
    _fails(checks.check_unet, lambda c, k, w: CatUNet(c, k, 2 * w), "parameters, expected between")
    _fails(checks.check_unet, lambda c, k, w: TinyUNet(c, k, width=w, depth=2), "segcourse's TinyUNet")
    _fails(checks.check_unet, lambda c, k, w: "a UNet", "nn.Module")

    class ThreePools(CatUNet):
        def forward(self, x):
            self.pool(x)
            return super().forward(x)
    _fails(checks.check_unet, ThreePools, "runs 3 max-poolings")

    class Unregistered(CatUNet):
        def __init__(self, *args):
            super().__init__(*args)
            blocks = list(self.enc)
            del self.enc
            self.enc = blocks                             # a plain list: its layers are not parameters
    _fails(checks.check_unet, Unregistered, "plain Python list")

    class Interpolated(CatUNet):               # upsamples with F.interpolate and a 1×1 conv instead
        def __init__(self, *args):
            super().__init__(*args)
            self.ups = nn.ModuleList([nn.Conv2d(u.in_channels, u.out_channels, 1) for u in self.ups])

        def forward(self, x):
            e0 = self.enc[0](x)
            e1 = self.enc[1](self.pool(e0))
            x = self.enc[2](self.pool(e1))
            for level, skip in ((1, e1), (0, e0)):
                x = self.ups[level](F.interpolate(x, scale_factor=2))
                x = self.dec[level](torch.cat([x, skip], 1))
            return self.head(x)
    _fails(checks.check_unet, Interpolated, "runs 0 nn.ConvTranspose2d", "F.interpolate")

    def from_conv_blocks(c, k, w):             # segcourse's building blocks, in an nn.Sequential
        from segcourse import models
        return CatUNet(c, k, w) if models.conv_block(c, w) is None else CatUNet(c, k, w)
    _fails(checks.check_unet, from_conv_blocks, "calls segcourse.models.conv_block", "yourself")


def test_unet_check_asks_for_batch_norm_before_training():
    class NoBatchNorm(CatUNet):
        def __init__(self, *args):
            super().__init__(*args)
            for m in self.modules():
                for name, child in list(m.named_children()):
                    if isinstance(child, nn.BatchNorm2d):
                        setattr(m, name, nn.Identity())
    _fails(checks.check_unet, NoBatchNorm, "no nn.BatchNorm2d", "nn.BatchNorm2d(c_out)")


def test_unet_check_rejects_a_model_that_never_trains():
    class Frozen(CatUNet):
        def __init__(self, *args):
            super().__init__(*args)
            for p in self.parameters():
                p.requires_grad_(False)
    _fails(checks.check_unet, Frozen, "below 0.90")
