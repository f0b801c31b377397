"""Lesson 02's checks: each passes the reference and rejects each typical wrong answer with its hint."""

import copy

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
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0, ignore_index=255: dice_loss(z, t.clamp(max=z.shape[1] - 1), eps),
           "ignored pixels were scored as class 2, the last class")
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0, ignore_index=255: dice_loss(z, t.masked_fill(t == 255, 0), eps),
           "scored the ignored pixels as class 0")
    _fails(checks.check_soft_dice, wrong(probs=lambda v: v), "softmax")
    _fails(checks.check_soft_dice, wrong(probs=torch.sigmoid), "sigmoid")
    _fails(checks.check_soft_dice, wrong(probs=lambda v: v.softmax(-1)), "wrong axis")
    _fails(checks.check_soft_dice, wrong(all_classes=True), "absent")
    _fails(checks.check_soft_dice, wrong(eps=0.0), "smoothing")
    _fails(checks.check_soft_dice, wrong(per_image=True), "per image")
    _fails(checks.check_soft_dice, wrong(probs=lambda v: F.one_hot(v.argmax(1), v.shape[1]).permute(0, 3, 1, 2).float()),
           "argmax (hard labels)")
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
        checks.check_exact_upsampling(lambda k, s, d=1: (np.float64(0.5), np.int64(0)))
    assert "np.float64" not in str(info.value) and "(0.5, 0)" in str(info.value)
    with pytest.raises(AssertionError) as info:
        checks.check_dilation_to_see(lambda layers, size, kernel=3: np.float64(2.5))
    assert "np.float64" not in str(info.value) and "2.5" in str(info.value)


def reference_upsampling(k, s, d=1):
    """Solved by hand: output_padding = 2·padding - (d·(k - 1) + 1 - s), the smallest padding >= 0."""
    excess = d * (k - 1) + 1 - s
    p = max(0, -(-excess // 2))
    op = 2 * p - excess
    return (p, op) if op < max(s, d) else None


def test_exact_upsampling_reference_matches_conv_transpose2d():
    """Every pair the check expects makes nn.ConvTranspose2d give stride·n; where it expects None, no pair
    PyTorch accepts (padding up to the kernel span, output_padding < max(stride, dilation)) does."""
    from segcourse.checks.lesson02 import HUGE, UPSAMPLING_CASES, _exact_upsampling

    for k, s, d, _ in UPSAMPLING_CASES:
        want = _exact_upsampling(k, s, d)
        assert want == reference_upsampling(k, s, d)
        if d == HUGE:
            continue
        works = [(p, op) for p in range(d * (k - 1) // 2 + 2) for op in range(max(s, d))
                 if all(nn.ConvTranspose2d(1, 1, k, s, p, op, dilation=d)(torch.zeros(1, 1, n, n)).shape[-1] == s * n
                        for n in (3, 5))]
        assert want == (works[0] if works else None), (k, s, d, works)


def test_exact_upsampling_check():
    checks.check_exact_upsampling(reference_upsampling)
    checks.check_exact_upsampling(lambda k, s, d=1: None if reference_upsampling(k, s, d) is None
                                  else list(map(float, reference_upsampling(k, s, d))))   # a list of floats is fine
    fails = lambda fn, *words: _fails(checks.check_exact_upsampling, fn, *words)  # noqa: E731

    fails(lambda k, s, d=1: _ref(k, s, d, dilate=False), "left out the dilation:")
    fails(lambda k, s, d=1: _ref(k, s, 1), "left out the dilation everywhere", "not stride")   # dilation 1 throughout
    fails(lambda k, s, d=1: _ref(k, s, d, output_padding=False), "output_padding = 1")
    fails(lambda k, s, d=1: _ref(k, s, d, limit=False), "max(stride, dilation)", "return None")
    fails(lambda k, s, d=1: _ref(k, s, d, clip=False, limit=False), "cannot be negative")
    fails(lambda k, s, d=1: _ref(k, s, d, dilate_limit=False), "max(stride, dilation), not stride")   # review 02s12
    fails(lambda k, s, d=1: None if reference_upsampling(k, s, d) is None else reference_upsampling(k, s, d)[::-1],
          "wrong order")
    fails(lambda k, s, d=1: (s - 1) * 2 - 2 * 0 + d * (k - 1) + 1, "one number")        # the output size, not a pair
    fails(lambda k, s, d=1: None, "A pair exists here")
    fails(lambda k, s, d=1: (0, 0), "Set", "smallest padding")
    fails(lambda k, s, d=1: "1, 1", "Return a pair")

    def larger_padding(k, s, d=1):            # valid where max(stride, dilation) > 2, but not the smallest padding
        want = reference_upsampling(k, s, d)
        if want and want[1] + 2 < max(s, d):
            return want[0] + 1, want[1] + 2
        return want
    fails(larger_padding, "smallest padding")
    fails(lambda k, s: (0, 0), "crashed")                                 # no dilation argument


def test_exact_upsampling_check_stops_a_search_that_would_not_end():
    """A search over output_padding in range(max(stride, dilation)) loops 2**40 times on the huge case: the
    check stops it after its time budget and says to solve the formula."""
    import time

    def searching(k, s, d=1):
        for p in range(d * k):
            for op in range(max(s, d)):
                if -2 * p + d * (k - 1) + op + 1 - s == 0:
                    return p, op
        return None

    start = time.monotonic()
    _fails(checks.check_exact_upsampling, searching, "dilation 2**40", "still running", "instead of searching")
    assert time.monotonic() - start < 3


def test_time_budget_off_the_main_thread():
    """Off the main thread (no SIGALRM there) the budget falls back on a trace function."""
    import threading

    from segcourse.checks.lesson02 import _OverBudget, _time_budget

    caught = []

    def spin():
        try:
            with _time_budget(0.05):
                while True:
                    pass
        except _OverBudget:
            caught.append(True)

    worker = threading.Thread(target=spin, daemon=True)      # daemon: a failure cannot keep pytest alive
    worker.start()
    worker.join(2)
    assert caught == [True]


def _ref(k, s, d, **kw):
    from segcourse.checks.lesson02 import _exact_upsampling
    return _exact_upsampling(k, s, d, **kw)


def test_exact_upsampling_check_refuses_any_convolution_that_measures():
    """A search that measures with nn.ConvTranspose2d is seen by the Watch; torch.conv_transpose2d (a built-in
    the Watch cannot see), torch.convolution and the aten op fail on the dilation of 2**40."""
    def search(conv):
        def exact_upsampling(k, s, d=1):
            for p in range(d * (k - 1) // 2 + 2):
                for op in range(max(s, d)):
                    if conv(torch.zeros(1, 1, 9, 9), k, s, p, op, d) == 9 * s:
                        return p, op
            return None
        return exact_upsampling

    layer = lambda x, k, s, p, op, d: nn.ConvTranspose2d(1, 1, k, s, p, op, dilation=d)(x).shape[-1]  # noqa: E731
    _fails(checks.check_exact_upsampling, search(layer), "calls nn.ConvTranspose2d", "solve")
    functional = lambda x, k, s, p, op, d: F.conv_transpose2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p,  # noqa: E731
                                                              output_padding=op, dilation=d).shape[-1]
    _fails(checks.check_exact_upsampling, search(functional), "dilation 2**40", "formula answers at once")
    aten = lambda x, k, s, p, op, d: torch.ops.aten.convolution(x, torch.zeros(1, 1, k, k), None, [s, s], [p, p],  # noqa: E731
                                                                [d, d], True, [op, op], 1).shape[-1]
    _fails(checks.check_exact_upsampling, search(aten), "dilation 2**40",
           "instead of running")


def test_function_checks_refuse_segcourse_and_the_library_one_liner():
    """An answer that calls segcourse (the check's own reference included) is refused with a hint saying
    so; the profile hook is removed afterwards."""
    import sys

    from segcourse.checks.lesson02 import _dilation_to_see, _exact_upsampling, _masked_dice

    _fails(checks.check_exact_upsampling, _exact_upsampling, "calls segcourse.checks.lesson02._exact_upsampling",
           "yourself")
    _fails(checks.check_dilation_to_see, _dilation_to_see, "calls segcourse.checks.lesson02._dilation_to_see")
    _fails(checks.check_soft_dice, _masked_dice, "calls segcourse.checks.lesson02._masked_dice", "yourself")

    def via_dice_loss(logits, target, eps=1.0, ignore_index=255):   # right numbers, segcourse's loss
        keep = target != ignore_index
        return dice_loss(logits.permute(0, 2, 3, 1)[keep].T[None, :, :, None], target[keep][None, :, None], eps)
    _fails(checks.check_soft_dice, via_dice_loss, "calls segcourse.train.dice_loss", "yourself")
    from segcourse import metrics
    _fails(checks.check_dilation_to_see,
           lambda layers, size, kernel=3: reference_dilation(layers, size, kernel) * int(metrics.iou(np.ones(2), np.ones(2))),
           "calls segcourse.metrics.iou", "yourself")
    # a wrong answer that also calls segcourse hears about its mistake first
    _fails(checks.check_soft_dice, lambda z, t, eps=1.0, ignore_index=255: dice_loss(z, t.masked_fill(t == 255, 0), eps),
           "scored the ignored pixels as class 0")
    assert sys.getprofile() is None


def reference_dilation(layers, size, kernel=3):
    r, jump = 1, 1
    for k, s, d in layers:
        r += d * (k - 1) * jump
        jump *= s
    return max(1, -(-(size - r) // ((kernel - 1) * jump)))


def test_dilation_to_see_check():
    from segcourse.checks.lesson02 import _dilation_to_see

    checks.check_dilation_to_see(reference_dilation)
    fails = lambda fn, *words: _fails(checks.check_dilation_to_see, fn, *words)  # noqa: E731
    fails(lambda layers, size, kernel=3: float(reference_dilation(layers, size, kernel)), "but a float", "return an int")
    wrong = lambda **kw: lambda layers, size, kernel=3: _dilation_to_see(layers, size, kernel, **kw)  # noqa: E731
    fails(wrong(jump=False), "jump input pixels")
    fails(wrong(dilate=False), "layers below have dilations")
    fails(wrong(jump_first=True), "before adding")
    fails(wrong(stack=False), "already sees r pixels")
    fails(wrong(ceil=False), "floor + 1")
    fails(wrong(at_least_one=False), "dilation 1")
    fails(lambda layers, size, kernel=3: (size - 1) / 3, "whole number")
    fails(lambda layers, size, kernel=3: 42, "solve r + dilation")

    def lesson_cell(layers, size, kernel=3):          # the lesson's (kernel, stride) loop, pasted
        r, jump = 1, 1
        for k, s in layers:
            r += (k - 1) * jump
            jump *= s
        return max(1, -(-(size - r) // ((kernel - 1) * jump)))
    fails(lesson_cell, "unpack", "(kernel, stride, dilation) triple")

    def stack_only(layers, size, kernel=3):           # the lesson's loop with dilation: the stack's own field
        r, jump = 1, 1
        for k, s, d in layers:
            r += d * (k - 1) * jump
            jump *= s
        return r
    fails(stack_only, "receptive field of the stack itself")

    fails(lambda layers, size, kernel=3: max(1, _dilation_to_see(layers, size, kernel, ceil=False) - 1), "round")

    def floored(layers, size, kernel=3):              # floor division instead of the ceiling
        r, jump = 1, 1
        for k, s, d in layers:
            r, jump = r + d * (k - 1) * jump, jump * s
        return max(1, (size - r) // ((kernel - 1) * jump))
    fails(floored, "rounded the quotient", "*down*", "math.ceil")

    def rounded(layers, size, kernel=3):              # round() instead of the ceiling: 1.25 becomes 1
        r, jump = 1, 1
        for k, s, d in layers:
            r, jump = r + d * (k - 1) * jump, jump * s
        return max(1, round((size - r) / ((kernel - 1) * jump)))
    fails(rounded, "round() rounds", "ceiling", "10 pixels")


def test_pooled_lane_iou_check():
    from segcourse import data

    labels = data.road_scenes(200, seed=4242).labels
    lane = labels == 3
    up = lane.reshape(200, 8, 8, 8, 8).max((2, 4)).repeat(8, 1).repeat(8, 2)     # max-pooled, blown back up
    checks.check_pooled_lane_iou((up & lane).sum() / (up | lane).sum())
    checks.check_pooled_lane_iou(torch.tensor(0.09819))
    _fails(checks.check_pooled_lane_iou, 0.0483, "one pixel of each block")
    _fails(checks.check_pooled_lane_iou, 0.0989, "averaged the IoUs of the scenes")
    _fails(checks.check_pooled_lane_iou, 0.2082, "1/4")
    _fails(checks.check_pooled_lane_iou, 1.0, "share of lane pixels kept")
    ids = labels.reshape(200, 8, 8, 8, 8).max((2, 4)) == 3          # class ids pooled: cars hide lanes
    up_ids = ids.repeat(8, 1).repeat(8, 2)
    _fails(checks.check_pooled_lane_iou, (up_ids & lane).sum() / (up_ids | lane).sum(), "pooled the class ids")
    across = lane.reshape(200, 8, 8, 8, 8).any((1, 3)).repeat(8, 1).repeat(8, 2)   # blocks pooled, not pixels
    _fails(checks.check_pooled_lane_iou, (across & lane).sum() / (across | lane).sum(), "wrong axes", "2 and 4")
    mean = (lane.reshape(200, 8, 8, 8, 8).mean((2, 4)) > 0.5).repeat(8, 1).repeat(8, 2)   # average pooling > 0.5
    _fails(checks.check_pooled_lane_iou, (mean & lane).sum() / (mean | lane).sum(), "average pooling")
    _fails(checks.check_pooled_lane_iou, 0.5, "not the pooled lane IoU")
    _fails(checks.check_pooled_lane_iou, 0.098, "rounded it to 3 decimals", "Do not round")
    for wrong in (0.5, 0.0483):                        # a failure never prints the answer
        with pytest.raises(AssertionError) as info:
            checks.check_pooled_lane_iou(wrong)
        assert "0.098" not in str(info.value)
    _fails(checks.check_pooled_lane_iou, "c", "one number")
    _fails(checks.check_pooled_lane_iou, None, "one number")



def test_matching_weight_check():
    """Exercise 6: the weight is judged by the lanes' share of the gradient, against the learner's own Dice."""
    fails = lambda weight, *words, dice=_dice: _fails(lambda w: checks.check_matching_weight(w, dice), weight, *words)  # noqa: E731
    checks.check_matching_weight(3.11, _dice)
    checks.check_matching_weight(torch.tensor(3.12), _dice)
    fails(12.707, "median-frequency weight")
    fails(1.0, "plain cross-entropy")
    fails(3.0115, "does not grow in proportion")
    fails(3.2865, "unscored left quarter")
    fails(5.0, "bisect between 1 and 1000")
    fails(3.0, "bisect between 1 and 1000")            # a sweep's 3.0 is not the ratio of the shares (3.011)
    fails(-1.0, "positive number")
    for wrong in (1.0, 5.0, -1.0):                     # a failure never prints the answer (3.11)
        with pytest.raises(AssertionError) as info:
            checks.check_matching_weight(wrong, _dice)
        assert "3.1" not in str(info.value) and "expected" not in str(info.value)
    fails("3.1", "one number")
    # a wrong Dice (probabilities of the unscored pixels summed too) is not counted twice: the bisection on
    # that Dice's lane share passes, the weight that matches the right Dice does not
    unmasked = lambda z, t, eps=1.0, ignore_index=255: _dice(z, t, eps, ignore_index, mask_probs=False)  # noqa: E731
    from segcourse.checks.lesson02 import _class_shares, _matching_batch, _matching_weight
    own = _matching_weight(_class_shares(unmasked, *_matching_batch())[3])
    checks.check_matching_weight(own, unmasked)

    def stub(logits, target, eps=1.0, ignore_index=255):
        raise NotImplementedError

    fails(3.11, "NotImplementedError", dice=stub)


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


def test_unet_check_rejects_a_decoder_without_relu():
    from segcourse.checks.lesson02 import _unrectified_decoder_conv

    def linear_block(c_in, c_out):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.Conv2d(c_out, c_out, 3, padding=1))

    class LinearDecoder(CatUNet):           # the decoder's convolutions without batch norm and ReLU
        def __init__(self, in_channels=3, num_classes=5, width=8):
            super().__init__(in_channels, num_classes, width)
            self.dec = nn.ModuleList([linear_block(2 * width, width), linear_block(4 * width, 2 * width)])
    _fails(checks.check_unet, LinearDecoder, "decoder convolution 1", "no ReLU follows it", "nn.ReLU()")

    class ReluThenNorm(CatUNet):            # conv, ReLU, then batch norm: rectified, so not refused for it
        def __init__(self, in_channels=3, num_classes=5, width=8):
            super().__init__(in_channels, num_classes, width)
            block = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(o))  # noqa: E731
            self.dec = nn.ModuleList([block(2 * width, width), block(4 * width, 2 * width)])
    assert _unrectified_decoder_conv(ReluThenNorm().eval(), torch.rand(1, 3, 32, 32)) is None
    assert _unrectified_decoder_conv(CatUNet().eval(), torch.rand(1, 3, 32, 32)) is None


def test_unet_check_counts_the_decoder_convolutions():
    from segcourse.checks.lesson02 import _decoder_convs

    class OneConvDecoder(CatUNet):          # one Conv-BN-ReLU per decoder level instead of two
        def __init__(self, in_channels=3, num_classes=5, width=8):
            super().__init__(in_channels, num_classes, width)
            one = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())  # noqa: E731
            self.dec = nn.ModuleList([one(2 * width, width), one(4 * width, 2 * width)])
    _fails(checks.check_unet, OneConvDecoder, "2 of your decoder convolutions are 3×3", "one 3×3 look")

    class WideThenNarrow(CatUNet):          # 3×3 then 1×1 at each decoder level
        def __init__(self, in_channels=3, num_classes=5, width=8):
            super().__init__(in_channels, num_classes, width)
            two = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),  # noqa: E731
                                             nn.Conv2d(o, o, 1), nn.BatchNorm2d(o), nn.ReLU())
            self.dec = nn.ModuleList([two(2 * width, width), two(4 * width, 2 * width)])
    _fails(checks.check_unet, WideThenNarrow, "2 of your decoder convolutions are 3×3 (and 2 of another size)",
           "make both convolutions of each level 3×3")

    class WideHead(CatUNet):                # a 3×3 head
        def __init__(self, in_channels=3, num_classes=5, width=8):
            super().__init__(in_channels, num_classes, width)
            self.head = nn.Conv2d(width, num_classes, 3, padding=1)
    _fails(checks.check_unet, WideHead, "your head (the last convolution", "is 3×3", "1×1 Conv2d(width, num_classes)")
    assert _decoder_convs(CatUNet().eval(), torch.rand(1, 3, 32, 32)) == 4


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
    _fails(checks.check_unet, Unregistered, "plain Python list", "nn.ModuleList")

    class ListedUps(CatUNet):                      # the upsamplings in a plain list: hooks never see them run
        def __init__(self, *args):
            super().__init__(*args)
            ups = list(self.ups)
            del self.ups
            self.ups = ups
    _fails(checks.check_unet, ListedUps, "ConvTranspose2d layers in self.ups", "Use nn.ModuleList")

    class DictDecoder(CatUNet):
        def __init__(self, *args):
            super().__init__(*args)
            dec = dict(enumerate(self.dec))
            del self.dec
            self.dec = dec
    _fails(checks.check_unet, DictDecoder, "plain Python dict", "nn.ModuleDict")

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


def _unsure(confidence, labels, level=0.99):
    """The model answer of exercise 7: 4-neighbour boundary, no wrap-around, one scene or a batch."""
    labels = np.asarray(labels)
    down, right = labels[..., 1:, :] != labels[..., :-1, :], labels[..., :, 1:] != labels[..., :, :-1]
    band = np.zeros(labels.shape, bool)
    band[..., 1:, :] |= down
    band[..., :-1, :] |= down
    band[..., :, 1:] |= right
    band[..., :, :-1] |= right
    unsure = np.asarray(confidence) < level
    return int(unsure.sum()), int((unsure & band).sum())


def test_unsure_on_boundary_check():
    """Exercise 7: the pair (unsure pixels, those on a class boundary), with each typical mistake named."""
    from segcourse.checks.lesson02 import _unsure_on_boundary

    checks.check_unsure_on_boundary(_unsure)
    checks.check_unsure_on_boundary(lambda c, l, level=0.99: np.array(_unsure(c, l, level)))
    checks.check_unsure_on_boundary(lambda c, l, level=0.99: torch.tensor(_unsure(c, l, level)))

    def lesson_cell(confidence, labels, level=0.99):   # one-scene slicing on a batch: axes 0 and 1
        down, right = labels[1:, :] != labels[:-1, :], labels[:, 1:] != labels[:, :-1]
        edge = np.zeros(labels.shape, bool)
        edge[1:, :] |= down; edge[:-1, :] |= down  # noqa: E702
        edge[:, 1:] |= right; edge[:, :-1] |= right  # noqa: E702
        unsure = confidence < level
        return unsure.sum(), (unsure & edge).sum()
    _fails(checks.check_unsure_on_boundary, lesson_cell, "on a batch: its axes 0 and 1", "last two axes")

    def class_edges_pasted(confidence, labels, level=0.99):   # the lesson's class_edges on a batch: crashes
        from scipy import ndimage
        four = ndimage.generate_binary_structure(2, 1)
        band = ndimage.maximum_filter(labels, footprint=four) != ndimage.minimum_filter(labels, footprint=four)
        unsure = confidence < level
        return int(unsure.sum()), int((unsure & band).sum())
    _fails(checks.check_unsure_on_boundary, class_edges_pasted, "class_edges", "four[None]", "loop over the scenes")

    def rolled(confidence, labels, level=0.99):        # the usual two-sided np.roll on the right axes: wraps around
        edge = np.zeros(labels.shape, bool)
        for axis in (-2, -1):
            for shift in (1, -1):
                edge |= np.roll(labels, shift, axis) != labels
        unsure = confidence < level
        return int(unsure.sum()), int((unsure & edge).sum())
    _fails(checks.check_unsure_on_boundary, rolled, "np.roll", "wraps around")
    _fails(checks.check_unsure_on_boundary, lambda c, l, level=0.99: (_unsure(c, l, level)[0],
           _unsure(c, l, level)[1] / _unsure(c, l, level)[0]), "counts, not a share")
    variant = lambda **kw: lambda c, l, level=0.99: _unsure_on_boundary(c, l, level, **kw)  # noqa: E731
    _fails(checks.check_unsure_on_boundary, variant(at_most=True), "confidence <= level")
    _fails(checks.check_unsure_on_boundary, variant(one_sided=True), "one side of each class edge")
    _fails(checks.check_unsure_on_boundary, variant(diagonal=True), "diagonal neighbours")

    def gradient(confidence, labels, level=0.99):      # central differences: a 1-pixel stripe is missed
        edge = (np.gradient(labels, axis=-2) != 0) | (np.gradient(labels, axis=-1) != 0)
        unsure = confidence < level
        return int(unsure.sum()), int((unsure & edge).sum())
    _fails(checks.check_unsure_on_boundary, gradient, "1-pixel-wide stripe", "np.gradient",
           "you compared the neighbours with each other, not with the pixel")

    def filtered(confidence, labels, level=0.99):      # the card cell's idiom, size=3 on the whole batch
        from scipy import ndimage
        band = ndimage.maximum_filter(labels, size=3) != ndimage.minimum_filter(labels, size=3)
        unsure = confidence < level
        return int(unsure.sum()), int((unsure & band).sum())
    _fails(checks.check_unsure_on_boundary, filtered, "maximum_filter", "neighbouring scenes")
    _fails(checks.check_unsure_on_boundary, lambda c, l, level=0.99: _unsure(c, l, 0.99), "level argument")
    _fails(checks.check_unsure_on_boundary, lambda c, l, level=0.99: _unsure(c, l, level)[::-1], "wrong way round")
    _fails(checks.check_unsure_on_boundary, lambda c, l, level=0.99: _unsure(c, l, level)[1] / _unsure(c, l, level)[0],
           "pair of counts")
    _fails(checks.check_unsure_on_boundary, lambda c, l, level=0.99: (_unsure(c, l, level)[0], 0), "boundary count is not")
    _fails(checks.check_unsure_on_boundary, lambda c, l, level=0.99: (0, 0), "Count the pixels")
    _fails(checks.check_unsure_on_boundary, lambda c, l, level=0.99: 1 / 0, "crashed")


def _weighted_bn(model, batches, momentum=lambda n, seen: n / (seen + n), train=True):
    """The model answer of exercise 8 (``momentum`` and ``train`` make the typical mistakes)."""
    import copy

    model = copy.deepcopy(model)
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for layer in layers:
        layer.reset_running_stats()
    model.train(train)
    seen = 0
    with torch.no_grad():
        for batch in batches:
            for layer in layers:
                layer.momentum = momentum(batch.shape[0], seen)
            model(batch)
            seen += batch.shape[0]
    return model.eval()


def test_weighted_bn_statistics_check():
    """Exercise 8: batch-norm statistics weighted by batch size, with each typical mistake named."""
    checks.check_weighted_bn_statistics(_weighted_bn)
    fails = lambda answer, *words: _fails(checks.check_weighted_bn_statistics, answer, *words)  # noqa: E731
    fails(lambda m, b: _weighted_bn(m, b, momentum=lambda n, seen: None), "momentum=None", "your running mean is",
          "weighted by images is")
    fails(lambda m, b: _weighted_bn(m, b, momentum=lambda n, seen: seen / (seen + n) if seen else 1.0), "in proportion")
    fails(lambda m, b: _weighted_bn(m, [torch.cat(b)], momentum=lambda n, seen: 1.0), "concatenated", "between")
    fails(lambda m, b: _weighted_bn(m, b, momentum=lambda n, seen: 0.1), "default momentum")
    fails(lambda m, b: _weighted_bn(m, b, momentum=lambda n, seen: 1.0), "Only the last batch")
    fails(lambda m, b: _weighted_bn(m, b, momentum=lambda n, seen: n / 16), "weighted by its images")
    fails(lambda m, b: _weighted_bn(m, b, train=False), "did not change", "training mode")
    fails(lambda m, b: _weighted_bn(m, b).train(), "training mode: return it in eval mode")
    fails(lambda m, b: None, "nn.Module")

    def hooked(train_mode: bool, unbiased: bool):
        """Weighted per-batch statistics gathered with hooks; the copy runs in training or eval mode and keeps
        the biased or the unbiased variance."""
        def answer(model, batches):
            from segcourse.checks.lesson02 import _bn_layers

            model = copy.deepcopy(model).train(train_mode)
            layers, stats = _bn_layers(model), {}
            hooks = [layer.register_forward_pre_hook(lambda mod, args: stats.setdefault(mod, []).append(
                (args[0].shape[0], args[0].mean((0, 2, 3)), args[0].var((0, 2, 3), unbiased=unbiased))))
                for layer in layers]
            with torch.no_grad():
                for batch in batches:
                    model(batch)
            for h in hooks:
                h.remove()
            for layer in layers:
                total = sum(n for n, _, _ in stats[layer])
                layer.running_mean.copy_(sum(n * m for n, m, _ in stats[layer]) / total)
                layer.running_var.copy_(sum(n * v for n, _, v in stats[layer]) / total)
            return model.eval()
        return answer

    # right weighted means, but the biased variance
    fails(hooked(True, False), "running means are right", "unbiased", "n·H·W - 1")
    # weighted per-batch statistics, but the copy runs in eval mode
    fails(hooked(False, True), "first batch-norm layer's statistics are right, but layer 2", "training mode (model.train())")

    def in_place(model, batches):
        model.load_state_dict(_weighted_bn(model, batches).state_dict())
        return model
    fails(in_place, "work on a copy")

    def steps(model, batches):                       # an optimiser step sneaks in
        out = _weighted_bn(model, batches)
        with torch.no_grad():
            next(out.parameters()).add_(1.0)
        return out
    fails(steps, "weights changed")


# ------------------------------------------------------------------------------- check_paired_crops
def _crops(order="chw", one_offset=True, one_coin=True, flip_axis=-1, high=1, col_from_rows=False, rng="torch",
           long=True, p=0.5):
    """The model answer of the paired-crop exercise; the keywords make the typical mistakes."""
    gen = np.random.default_rng()

    class Crops(torch.utils.data.Dataset):
        def __init__(self, images, labels, crop):
            self.images, self.labels, self.crop = images, labels, crop

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            x = torch.from_numpy(self.images[i])
            x = x.permute(2, 0, 1) if order == "chw" else x.reshape(3, *x.shape[:2]) if order == "reshape" else x
            y = torch.from_numpy(self.labels[i])
            y = y.long() if long else y
            h, w = y.shape
            draw = (lambda k: int(torch.randint(k, ()))) if rng == "torch" else (lambda k: int(gen.integers(k)))
            coin = (lambda: float(torch.rand(()))) if rng == "torch" else (lambda: float(gen.random()))
            r, c = draw(h - self.crop + high), draw((h if col_from_rows else w) - self.crop + high)
            ry, cy = (r, c) if one_offset else (draw(h - self.crop + high), draw(w - self.crop + high))
            x = x[:, r:r + self.crop, c:c + self.crop] if order != "hwc" else x[r:r + self.crop, c:c + self.crop]
            y = y[ry:ry + self.crop, cy:cy + self.crop]
            fx = coin() < p
            fy = fx if one_coin else coin() < p
            x = x.flip(flip_axis) if fx else x
            y = y.flip(-1) if fy else y
            return x, y
    return Crops


def test_paired_crops_check():
    """The new exercise: a paired random crop and flip in a Dataset, each typical mistake named."""
    checks.check_paired_crops(_crops())
    fails = lambda answer, *words: _fails(checks.check_paired_crops, answer, *words)  # noqa: E731
    fails(_crops(one_offset=False), "do not line up", "an offset for the image and another")
    fails(_crops(one_coin=False), "flipped only one of the two")
    fails(_crops(flip_axis=-2), "upside down", "along the columns")
    fails(_crops(order="hwc"), "channels last", "permute(2, 0, 1)")
    fails(_crops(order="reshape"), "pixels scrambled", ".permute(2, 0, 1), not .reshape")
    fails(_crops(high=0), "the last offset, 4, never came", "+ 1")
    fails(_crops(col_from_rows=True), "no offset beyond 4", "number of rows")
    fails(_crops(rng="numpy"), "same torch.manual_seed", "numpy's")
    fails(_crops(long=False), "torch.int64", ".long()")
    fails(_crops(p=1.1), "flipped in 300 of 300")
