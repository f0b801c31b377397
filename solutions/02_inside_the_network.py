# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 02 · Inside a segmentation network
#
# Six exercises on lesson 02: the output size of a dilated transposed convolution, the receptive
# field of a stack of layers, a soft Dice loss that skips unlabelled pixels, a UNet you write and
# train yourself, and why a UNet needs its skip connections. Each code exercise is checked
# automatically by the cell after it; the written answer at the end is graded by hand.
# **14 points**: 12 checked automatically, 2 by hand.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segcourse import checks, data, models

torch.set_num_threads(1)

# %% [markdown]
# ## 1 · How big is the output of a dilated transposed convolution? (2 points)
#
# A transposed convolution stamps its kernel once per input pixel, `stride` pixels apart. With
# **dilation** `d` the kernel's `kernel` taps sit `d` pixels apart, so one stamp spans
# `d·(kernel - 1) + 1` pixels instead of `kernel`. Then `padding` crops that many rows and columns
# from *each* side of the stamped image, and `output_padding` adds that many back on *one* side.
# Write `transposed_output_size(size, kernel, stride, padding=0, output_padding=0, dilation=1)`,
# the side of the output for a square input of side `size`, as an `int`, **by hand** from these
# numbers: the check compares it with `nn.ConvTranspose2d` and refuses an answer that runs a
# transposed convolution to measure the size (it also asks for a size of `2**40` pixels, which no
# tensor can hold and the formula answers at once). (The lesson's formula has no dilation: work out
# where the last stamp starts and how wide it is.)

# %% nbgrader={"grade": false, "grade_id": "transposed_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def transposed_output_size(size, kernel, stride, padding=0, output_padding=0, dilation=1):
    ### BEGIN SOLUTION
    last_stamp_start = (size - 1) * stride
    stamp_width = dilation * (kernel - 1) + 1
    return last_stamp_start + stamp_width - 2 * padding + output_padding
    ### END SOLUTION

print("3×3 kernel, stride 2, padding 2, dilation 2 on 8 pixels:", transposed_output_size(8, 3, 2, 2, 0, 2))
print("the same with output_padding 1:", transposed_output_size(8, 3, 2, 2, 1, 2))

# %% nbgrader={"grade": true, "grade_id": "check_transposed_output_size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_transposed_output_size(transposed_output_size)

# %% [markdown]
# ## 2 · Receptive field, with dilation (2 points)
#
# The lesson computed the receptive field of a stack of (kernel, stride) layers. Real networks
# also use **dilated** convolutions: a 3×3 kernel with dilation `d` places its taps `d` pixels
# apart, so it spans `d·(k - 1) + 1` pixels without more weights. Write `receptive_field(layers)`
# for a list of `(kernel, stride, dilation)` tuples, from the input up, returning an `int`
# (a max-pooling is a layer too: `(2, 2, 1)`).

# %% nbgrader={"grade": false, "grade_id": "receptive_field", "locked": false, "schema_version": 3, "solution": true, "task": false}
def receptive_field(layers):
    ### BEGIN SOLUTION
    r, jump = 1, 1
    for kernel, stride, dilation in layers:
        r += dilation * (kernel - 1) * jump
        jump *= stride
    return r
    ### END SOLUTION

two_convs = [(3, 1, 1), (3, 1, 1)]
print("TinyUNet bottleneck:", receptive_field(two_convs + ([(2, 2, 1)] + two_convs) * 3))
print("three 3×3 convs with dilation 1, 2, 4:", receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)]))

# %% nbgrader={"grade": true, "grade_id": "check_receptive_field", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_receptive_field(receptive_field)

# %% [markdown]
# ## 3 · Soft Dice loss that skips unlabelled pixels (3 points)
#
# Real label maps have pixels nobody could label: a blurred border, an object cut by the frame.
# They carry a special value, here `ignore_index = 255`, and must not count in the loss at all.
# Write `soft_dice(logits, target, eps=1.0, ignore_index=255)`: `logits` of shape `(N, K, H, W)`,
# `target` `(N, H, W)` of class ids (a `torch.long` tensor) or `ignore_index`. With `p` the
# softmax probabilities, `t` the one-hot target and `m` the mask of **scored** pixels
# (`target != ignore_index`), for each class `c`, summed over every pixel of the batch:
#
# $$D_c = \frac{2\sum m\,p_c\,t_c + \varepsilon}{\sum m\,p_c + \sum m\,t_c + \varepsilon}$$
#
# Return `1 - ` the mean of `D_c` over the classes **present among the scored pixels**, as a torch
# tensor that keeps its gradient (no `.item()`, no numpy, no argmax). `F.one_hot(target, K)` needs
# ids below `K`: replace the ignored ids first (`target.masked_fill(...)`, which returns a new
# tensor) and mask them out. Leave `target` itself unchanged: the caller still needs its labels.

# %% nbgrader={"grade": false, "grade_id": "soft_dice", "locked": false, "schema_version": 3, "solution": true, "task": false}
def soft_dice(logits, target, eps=1.0, ignore_index=255):
    ### BEGIN SOLUTION
    k = logits.shape[1]
    scored = (target != ignore_index).unsqueeze(1).float()                     # (N, 1, H, W)
    safe = target.masked_fill(target == ignore_index, 0)
    one_hot = F.one_hot(safe, k).permute(0, 3, 1, 2).float() * scored
    prob = logits.softmax(1) * scored
    inter = (prob * one_hot).sum((0, 2, 3))
    denominator = prob.sum((0, 2, 3)) + one_hot.sum((0, 2, 3))
    present = one_hot.sum((0, 2, 3)) > 0
    return 1 - ((2 * inter + eps) / (denominator + eps))[present].mean()
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "check_soft_dice", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check_soft_dice(soft_dice)

# %% [markdown]
# Your loss at work: the share of the gradient that lands on each class's pixels, for one batch of
# scenes and a freshly initialised UNet, with cross-entropy and with your soft Dice. The left
# quarter of every label map is marked `255` (not scored), so both losses must leave it out:
# cross-entropy with `ignore_index=255`, your soft Dice with its mask.

# %% nbgrader={"grade": false, "grade_id": "gradient_shares", "locked": true, "schema_version": 3, "solution": false, "task": false}
batch = data.road_scenes(16, size=32, seed=7)
x = torch.tensor(batch.images).permute(0, 3, 1, 2)
y = torch.tensor(batch.labels).long()
y[:, :, :8] = 255                                       # the left quarter: not scored
scored = y[y != 255].numpy()
torch.manual_seed(0)
logits = models.TinyUNet(3, 5, width=8)(x).detach().requires_grad_()
print(f"{'':>20}" + "".join(f"{n:>14}" for n in batch.class_names))
print(f"{'scored pixels':>20}" + "".join(f"{v:14.3f}" for v in np.bincount(scored, minlength=5) / scored.size))
for name, loss_fn in [("cross-entropy", lambda z, t: F.cross_entropy(z, t, ignore_index=255)), ("your soft Dice", soft_dice)]:
    logits.grad = None
    try:
        loss_fn(logits, y).backward()
    except NotImplementedError:
        print(f"{name:>20}   (still a stub: finish exercise 3 first)")
        continue
    g = logits.grad.abs().sum(1)
    share = np.array([float(g[y == c].sum()) for c in range(5)])
    print(f"{name:>20}" + "".join(f"{v:14.3f}" for v in share / share.sum()))
    print(f"{'':>20}   gradient on the unscored pixels: {float(g[y == 255].sum()):.3g}")

# %% [markdown]
# ## 4 · Write a UNet that concatenates its skips, and train it (4 points)
#
# The lesson's UNet *adds* each skip to the upsampled features and pools three times. Write the
# other classic design, closer to the original UNet, from `nn.Conv2d`, `nn.BatchNorm2d`, `nn.ReLU`,
# `nn.MaxPool2d` and `nn.ConvTranspose2d` (no `segcourse.models`):
#
# - `MyUNet(in_channels, num_classes, width)`, an `nn.Module`, with **two** levels below the input:
#   channels `width`, `2·width`, `4·width` at resolutions 1, 1/2, 1/4;
# - each encoder level: two 3×3 convolutions (padding 1), each followed by batch norm and ReLU;
#   between levels one `nn.MaxPool2d(2)`;
# - each decoder level: a `nn.ConvTranspose2d(kernel_size=2, stride=2)` that halves the channels and
#   doubles the size, then **`torch.cat`** of it with the encoder features of the same level (so
#   the channels double), then two 3×3 conv + batch norm + ReLU back to that level's channels;
# - a 1×1 convolution to `num_classes` logits, same height and width as the input.
#
# The check builds `MyUNet(3, 5, 8)`, checks its output shape on four input sizes, checks that
# each skip carries the encoder features (it changes them where max-pooling cannot see it and
# watches the output move), counts the parameters (25,000 to 35,000), and then trains a fresh
# `MyUNet(3, 2, 8)` once, for 80 steps, to find the one- or two-pixel lane markings of 32×32 road
# scenes (cross-entropy that weighs a lane pixel 20 times a background pixel, plus soft Dice). It
# passes when the held-out mIoU is above 0.90. The course trained its own answer with seeds 0 to 31
# (as the check prints): every run scored above 0.98, while the same network without its skips stayed at or below
# 0.80, so a correct UNet passes with a wide margin (see the hint if yours fails). The check
# prints only pass or fail: the score itself differs in its last digits from one computer to the next.
# Build it from `torch.nn` layers only: the check refuses a UNet that calls `segcourse`.

# %% nbgrader={"grade": false, "grade_id": "unet", "locked": false, "schema_version": 3, "solution": true, "task": false}
class MyUNet(nn.Module):
    def __init__(self, in_channels=3, num_classes=5, width=8):
        super().__init__()
        ### BEGIN SOLUTION
        def double_conv(c_in, c_out):                       # two 3×3 conv + batch norm + ReLU
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                                 nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())

        c0, c1, c2 = width, 2 * width, 4 * width
        self.enc0, self.enc1, self.enc2 = double_conv(in_channels, c0), double_conv(c0, c1), double_conv(c1, c2)
        self.pool = nn.MaxPool2d(2)
        self.up1, self.dec1 = nn.ConvTranspose2d(c2, c1, 2, stride=2), double_conv(2 * c1, c1)
        self.up0, self.dec0 = nn.ConvTranspose2d(c1, c0, 2, stride=2), double_conv(2 * c0, c0)
        self.head = nn.Conv2d(c0, num_classes, 1)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        e0 = self.enc0(x)                                    # (N, w, H, W)
        e1 = self.enc1(self.pool(e0))                        # (N, 2w, H/2, W/2)
        bottom = self.enc2(self.pool(e1))                    # (N, 4w, H/4, W/4)
        d1 = self.dec1(torch.cat([self.up1(bottom), e1], dim=1))
        d0 = self.dec0(torch.cat([self.up0(d1), e0], dim=1))
        return self.head(d0)
        ### END SOLUTION

net = MyUNet(3, 5, 8)
print("output shape:", tuple(net(torch.zeros(1, 3, 32, 32)).shape), "| parameters:", sum(p.numel() for p in net.parameters()))

# %% nbgrader={"grade": true, "grade_id": "check_unet", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
checks.check_unet(MyUNet)

# %% [markdown]
# ## 5 · Why does a UNet need skip connections for thin lanes? (1 point)
#
# In the lesson, storing the road labels at 1/8 resolution (the size of TinyUNet's bottleneck) and
# blowing them back up left the lane markings almost no IoU, while the sky kept most of its own. Which
# statement explains why the decoder needs the encoder's skip connections? Set `skip_choice` to one
# letter.
#
# - **a** · The skips add weights to the decoder, and a thin shape needs more weights to draw
#   than a wide shape does.
# - **b** · The skips let each output pixel take in a wider patch of the scene, which a thin
#   lane needs to be told apart from road.
# - **c** · The skips give the decoder early feature maps, taken before the poolings, in which
#   a thin lane is not yet merged with its neighbours.
# - **d** · The skips give the gradient a short path back to the early layers, which would
#   otherwise stop learning early on.

# %% nbgrader={"grade": false, "grade_id": "skip_choice", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
skip_choice = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "check_skip_choice", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_skip_choice(skip_choice)

# %% [markdown]
# ## 6 · Read the gradient shares (2 points, graded by hand)
#
# Using the table printed under exercise 3, explain in three to five sentences: how much of the
# cross-entropy gradient goes to the lane markings and why, what your soft Dice changes, and what
# this table can *not* tell you about whether to train with Dice alone or with cross-entropy plus
# Dice (what would you have to measure instead?). Quote the numbers you use.

# %% [markdown] nbgrader={"grade": true, "grade_id": "gradient_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Lane markings are 0.021 of the scored pixels and cross-entropy gives them about the same share of
# the gradient (0.017): the loss is an average over pixels, so getting every lane pixel wrong costs
# little and the big classes get almost all of the push. Soft Dice is an average over classes, so
# a badly predicted lane class weighs as much as any other: its share rises to 0.050, about three
# times more, and the cars' from 0.060 to 0.112 (and neither loss sends any gradient to the unscored
# pixels: 0). The table cannot say which loss *trains* better: it is one batch, at initialisation,
# and it shows where the gradient goes, not whether following it reaches a good model. To choose
# between Dice alone and cross-entropy plus Dice I would train both (and cross-entropy alone) from
# the same start on the same batches and compare the held-out lane IoU along the way.
