# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 02 · Inside a segmentation network
#
# Nine exercises on lesson 02: the padding that makes a transposed convolution upsample exactly,
# the dilation a layer needs to see a whole scene, a soft Dice loss that skips unlabelled pixels,
# a UNet you write and train yourself, what max-pooling keeps of a thin lane, a class weight
# that makes cross-entropy act like your Dice, where the shipped model's unsure pixels lie,
# batch-norm statistics from batches of unequal size, and a `Dataset` that crops and flips image
# and labels together. The cell after each exercise checks it automatically; exercise 6 also has a
# written answer, graded by hand. **18 points**: 17 checked automatically, 1 by hand.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segcourse import checks, data, models

torch.set_num_threads(1)

# %% [markdown]
# ## 1 · Padding for an exact upsampling (2 points)
#
# A decoder that upsamples by `stride` wants an output exactly `stride` times the input, for
# every input size (8 → 16 → 32 in TinyUNet). TinyUNet's 2×2 kernel with stride 2 gets it with no
# padding at all; a larger kernel, or a dilated one, stamps past that size, and `padding` (cropped
# from *each* side of the stamped image) and `output_padding` (added back on *one* side) must
# make up for it. Write `exact_upsampling(kernel, stride, dilation=1)` that returns the pair
# `(padding, output_padding)` of ints, with the **smallest padding**, for which
# `nn.ConvTranspose2d(c, c, kernel, stride, padding=padding, output_padding=output_padding,
# dilation=dilation)` turns every input of side `n` into an output of side `stride·n`; or `None`
# when no pair works. PyTorch accepts `padding >= 0` and `0 <= output_padding < max(stride,
# dilation)`.
#
# Start from the output-size formula of the lesson's section 3. It has no dilation: how wide is
# one stamp of a dilated kernel (section 2 measured what one covers)? Then solve for the padding
# instead of evaluating the size. The check compares your pairs with the right ones (each
# confirmed with `nn.ConvTranspose2d` when the course was built); it refuses an answer that runs a
# transposed convolution to measure sizes, and one of its cases has a dilation of `2**40`, which
# no tensor can hold and the formula answers at once.

# %% nbgrader={"grade": false, "grade_id": "exact_upsampling", "locked": false, "schema_version": 3, "solution": true, "task": false}
def exact_upsampling(kernel, stride, dilation=1):
    ### BEGIN SOLUTION
    # output side: (n - 1)·stride - 2·padding + dilation·(kernel - 1) + 1 + output_padding = stride·n
    excess = dilation * (kernel - 1) + 1 - stride      # how far one stamp reaches past its stride-wide slot
    padding = max(0, -(-excess // 2))                   # the smallest padding >= 0 with 2·padding >= excess
    output_padding = 2 * padding - excess               # 0, or 1 when excess is odd (more when excess < 0)
    if output_padding >= max(stride, dilation):
        return None                                     # PyTorch refuses it, and more padding only adds to it
    return padding, output_padding
    ### END SOLUTION

print("kernel 3, stride 2, dilation 2**40:", exact_upsampling(3, 2, 2**40))   # the formula answers at once
for k, s, d in [(2, 2, 1), (3, 2, 1), (3, 2, 2), (2, 1, 1)]:
    pair = exact_upsampling(k, s, d)
    if pair is None:
        print(f"kernel {k}, stride {s}, dilation {d}: no pair works")
        continue
    layer = nn.ConvTranspose2d(1, 1, k, s, padding=pair[0], output_padding=pair[1], dilation=d)
    print(f"kernel {k}, stride {s}, dilation {d}: (padding, output_padding) = {pair}; "
          f"8 -> {layer(torch.zeros(1, 1, 8, 8)).shape[-1]}, 16 -> {layer(torch.zeros(1, 1, 16, 16)).shape[-1]}")

# %% nbgrader={"grade": true, "grade_id": "check_exact_upsampling", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_exact_upsampling(exact_upsampling)

# %% [markdown]
# ## 2 · How dilated must a layer be to see the whole scene? (2 points)
#
# Put one more `kernel`×`kernel` convolution with stride 1 on top of a stack of layers. How large
# must its dilation be for an output pixel to see at least `size` input pixels? Write
# `dilation_to_see(layers, size, kernel=3)`: `layers` is a list of `(kernel, stride, dilation)`
# tuples from the input up (a 2×2 max-pooling is `(2, 2, 1)`); return the smallest dilation, an
# `int` of at least 1. You need two things the lesson's `receptive_field` cell does not give you:
# the receptive field of a stack whose layers are dilated, and how far apart, in input pixels,
# the taps of the new layer land once the layers below have strided.

# %% nbgrader={"grade": false, "grade_id": "dilation_to_see", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dilation_to_see(layers, size, kernel=3):
    ### BEGIN SOLUTION
    r, jump = 1, 1
    for k, s, d in layers:
        r += d * (k - 1) * jump         # a dilated layer spans d·(k - 1) + 1 features, each jump pixels apart
        jump *= s
    # the new layer adds dilation·(kernel - 1)·jump: the smallest whole dilation with r + that >= size
    return max(1, -(-(size - r) // ((kernel - 1) * jump)))
    ### END SOLUTION

two_convs = [(3, 1, 1), (3, 1, 1)]
encoder = two_convs + ([(2, 2, 1)] + two_convs) * 3
print("on top of the TinyUNet encoder, to see 128 pixels:", dilation_to_see(encoder, 128))
print("on top of two 3×3 convs, to see 64 pixels:", dilation_to_see(two_convs, 64))

# %% nbgrader={"grade": true, "grade_id": "check_dilation_to_see", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_dilation_to_see(dilation_to_see)

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
# The lesson's UNet *adds* each skip and follows it with one convolution. The original UNet
# (Ronneberger et al., 2015) *concatenates* each skip with the upsampled features and follows it
# with two convolutions (it also starts at 64 channels, pools four times, has no batch norm and
# uses unpadded convolutions). Write a UNet with the original UNet's decoder, pooling twice, from
# `nn.Conv2d`, `nn.BatchNorm2d`, `nn.ReLU`, `nn.MaxPool2d` and `nn.ConvTranspose2d`:
#
# - `MyUNet(in_channels, num_classes, width)`: channels `width`, `2·width`, `4·width` at
#   resolutions 1, 1/2, 1/4;
# - each encoder level: two (3×3 conv, padding 1 → batch norm → ReLU); `nn.MaxPool2d(2)` between;
# - each decoder level: `nn.ConvTranspose2d(kernel_size=2, stride=2)` to half the channels,
#   **`torch.cat`** with the encoder features of that level, then two (3×3 conv → batch norm →
#   ReLU) back to that level's channels;
# - a 1×1 convolution to `num_classes` logits, at the input's height and width.
#
# The check builds `MyUNet(3, 5, 8)` and checks its shapes, its skips, a ReLU after each decoder
# convolution and its parameter count (25,000 to 35,000); then it trains `MyUNet(3, 2, 8)` for 80
# steps to find the lane markings of 32×32 scenes and passes above a held-out mIoU of 0.90 (as the
# check prints, the course's answer scored above 0.98 on seeds 0 to 31, a UNet without skips at
# most 0.80). It prints only pass or fail, and refuses a UNet that calls `segcourse`.

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
# ## 5 · What does max-pooling keep of a lane? (1 point)
#
# Section 1 of the lesson kept one pixel of each block and scored the round trip at 1/2, 1/4 and
# 1/8 (its table: the lanes fall to almost no IoU at 1/8, TinyUNet's bottleneck). Max-pooling keeps
# the *largest* value of each block instead, so a lane anywhere in the block survives. On section
# 1's reference scenes (`ref = data.road_scenes(200, seed=4242)`, lanes are class 3), for each
# factor f in 2, 4 and 8: call an f×f block lane if any of its pixels is, blow the grid back up to
# 64×64, and score the IoU of that coarse lane mask with the true one, as one IoU over the pixels of
# all 200 scenes (not a mean of per-scene IoUs), unrounded. Put the three in a dict `pooled`
# (`{2: ..., 4: ..., 8: ...}`) and set `pooled_lane_iou = pooled[8]`: the check reads that one. The
# cell prints yours beside section 1's one-pixel values.

# %% nbgrader={"grade": false, "grade_id": "pooled_lane_iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
ref = data.road_scenes(200, seed=4242)
### BEGIN SOLUTION
lane = ref.labels == 3                                             # (200, 64, 64)
pooled = {}
for f in (2, 4, 8):
    blocks = lane.reshape(200, 64 // f, f, 64 // f, f).any((2, 4))  # is any pixel of the block lane?
    up = blocks.repeat(f, 1).repeat(f, 2)                          # back to (200, 64, 64)
    pooled[f] = (up & lane).sum() / (up | lane).sum()
pooled_lane_iou = pooled[8]
### END SOLUTION
true_lane = ref.labels == 3
for f, iou in pooled.items():                 # section 1: the block's top-left pixel, blown back up
    kept = ref.labels[:, ::f, ::f].repeat(f, 1).repeat(f, 2) == 3
    one_pixel = (kept & true_lane).sum() / (kept | true_lane).sum()
    print(f"lane IoU at 1/{f}: max-pooled {iou:.3f} | one pixel per block (section 1) {one_pixel:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_pooled_lane_iou", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_pooled_lane_iou(pooled_lane_iou)

# %% [markdown]
# ## 6 · A lane weight that makes cross-entropy act like your Dice (2 points: 1 checked, 1 graded by hand)
#
# Weighting the classes of cross-entropy (lesson 02, section 6) is the other common remedy for
# small classes. In the cell below, on the batch of exercise 3 (`logits` and `y`, with the
# unscored left quarter):
#
# 1. find the lane weight `lane_weight` (every other class keeps weight 1) at which weighted
#    cross-entropy, `F.cross_entropy(logits, y, weight=..., ignore_index=255)`, gives the lane
#    markings the same share of the gradient as your soft Dice, to within 0.001 (reuse the share
#    computation of the table under exercise 3). The lanes' share grows with their weight, so
#    **bisect**: halve an interval of weights, say 1 to 1000, until it is narrow enough;
# 2. print the shares of all five classes under that weighted cross-entropy;
# 3. print the lanes' **median-frequency weight** on the scored pixels of this batch (lesson,
#    section 6: the median of the five class frequencies divided by the lane frequency).
#
# The check cell below compares `lane_weight` with your soft Dice's lane share (1 point). Then
# explain, in the answer cell under it, in three to five sentences and quoting the numbers your cell prints: how strong
# a lane weight your Dice amounts to on this batch, compared with the median-frequency weight;
# and whether that one weight makes cross-entropy act like your Dice for the cars too.

# %% nbgrader={"grade": false, "grade_id": "matching_weight", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
def class_shares(loss_fn, z=logits, t=y):
    """Share of the gradient on each class's scored pixels (as in the table under exercise 3)."""
    z.grad = None
    loss_fn(z, t).backward()
    size = z.grad.abs().sum(1)                              # (N, H, W): gradient size per pixel
    per_class = np.array([float(size[t == c].sum()) for c in range(5)])
    return per_class / per_class.sum()


def weighted_ce(lane_weight):
    w = torch.ones(5)
    w[3] = lane_weight
    return lambda z, t: F.cross_entropy(z, t, weight=w, ignore_index=255)


dice_share = class_shares(soft_dice)
low, high = 1.0, 1000.0                      # the lanes' share grows with their weight: bisect
while high - low > 0.01:
    mid = (low + high) / 2
    low, high = (mid, high) if class_shares(weighted_ce(mid))[3] < dice_share[3] else (low, mid)
lane_weight = low
ce_share = class_shares(weighted_ce(lane_weight))
frequency = np.bincount(scored, minlength=5) / scored.size
print(f"lane weight at which weighted cross-entropy matches your Dice's lane share ({dice_share[3]:.3f}): {lane_weight:.1f}")
print(f"{'':>24}" + "".join(f"{n:>14}" for n in batch.class_names))
for name, share in [("weighted CE, that weight", ce_share), ("your soft Dice", dice_share)]:
    print(f"{name:>24}" + "".join(f"{v:14.3f}" for v in share))
median_weight = np.median(frequency) / frequency[3]
print(f"median-frequency weight of the lanes: {np.median(frequency):.3f} / {frequency[3]:.3f} = {median_weight:.1f}")
print(f"lanes' share of the weighted cross-entropy's gradient at that weight: {class_shares(weighted_ce(median_weight))[3]:.3f}")
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "check_matching_weight", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_matching_weight(lane_weight, soft_dice)

# %% [markdown] nbgrader={"grade": true, "grade_id": "gradient_answer", "locked": false, "points": 1, "schema_version": 3, "solution": true, "task": false}
# On this batch my soft Dice gives the lane markings 0.050 of the gradient, and weighted
# cross-entropy gives them the same share with a lane weight of 3.1. That is a mild weight: the
# median-frequency weight of the lanes is 12.7 (0.265 / 0.021), which would give the lanes 0.177
# of the gradient: at initialisation Dice pushes the lanes less than a third as hard as
# median-frequency weighting would. The one weight does not make
# cross-entropy act like Dice for the cars: they keep 0.058 of the weighted cross-entropy's gradient
# against 0.112 under my Dice, while the sky keeps 0.379 against 0.286. Matching Dice for every
# class would take a weight per class, and this is one batch at initialisation: it says nothing
# about the weights that would match later in training.

# %% [markdown]
# ## 7 · Where are the shipped model's unsure pixels? (1 point)
#
# Section 5 of the lesson counted, on one scene, the pixels the shipped model gives a confidence
# below 0.99 and how many of them lie on a class boundary. Do it for many scenes at once: write
# `unsure_on_boundary(confidence, labels, level=0.99)` for one scene `(H, W)` or a batch
# `(N, H, W)` of scenes: return the pair `(n_unsure, n_on_boundary)`, the number
# of pixels with confidence **below** `level`, and how many of them lie on a class boundary. A pixel
# is on a boundary when one of its 4 neighbours (up, down, left, right) *inside the same scene* has
# another true class; pixels on the image border simply have fewer neighbours. The cell under it runs
# your function on the shipped model's confidences for 50 of the lesson's reference scenes.

# %% nbgrader={"grade": false, "grade_id": "unsure_on_boundary", "locked": false, "schema_version": 3, "solution": true, "task": false}
def unsure_on_boundary(confidence, labels, level=0.99):
    ### BEGIN SOLUTION
    labels = np.asarray(labels)
    differs_down = labels[..., 1:, :] != labels[..., :-1, :]      # each pixel against the one below it
    differs_right = labels[..., :, 1:] != labels[..., :, :-1]     # and against the one to its right
    band = np.zeros(labels.shape, bool)
    band[..., 1:, :] |= differs_down                              # both pixels of a differing pair
    band[..., :-1, :] |= differs_down
    band[..., :, 1:] |= differs_right
    band[..., :, :-1] |= differs_right
    unsure = np.asarray(confidence) < level
    return int(unsure.sum()), int((unsure & band).sum())
    ### END SOLUTION

shipped = models.pretrained("roads").eval()
with torch.no_grad():
    probs = shipped(torch.tensor(ref.images[:50]).permute(0, 3, 1, 2)).softmax(1)
shipped_confidence = probs.max(1).values.numpy()                  # (50, 64, 64)
for level in (0.9, 0.99):
    counts = unsure_on_boundary(shipped_confidence, ref.labels[:50], level)
    print(f"50 scenes, confidence below {level}: {counts[0]} pixels, {counts[1]} of them on a class boundary "
          f"({counts[1] / max(counts[0], 1):.1%})")

# %% nbgrader={"grade": true, "grade_id": "check_unsure_on_boundary", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_unsure_on_boundary(unsure_on_boundary)

# %% [markdown]
# ## 8 · Batch-norm statistics from batches of unequal size (1 point)
#
# The lesson's appendix ("`fit` and batch-norm statistics", `recalibrate_bn`) re-estimated the
# batch-norm running statistics with `momentum=None`: an equal average over the batches. When the batches differ in size (the last batch of an epoch is
# often smaller), that gives a batch of 2 images as much say as a batch of 16. Write
# `weighted_bn_statistics(model, batches)`: `batches` is a list of image tensors `(n, C, H, W)`
# with different `n`; return a **copy** of `model`, in eval mode, whose every `nn.BatchNorm2d` holds
# as running mean and running variance the average of the statistics batch norm computes on each
# batch in training mode, **each batch weighted by its number of images**. Leave `model` itself and
# its weights unchanged.
#
# A batch-norm layer updates `running = (1 - momentum) · running + momentum · batch statistic`, and
# you may set `layer.momentum` before every batch. Which momentum, for a batch of `n` images after
# `seen` images, keeps `running` the weighted average of everything seen so far?

# %% nbgrader={"grade": false, "grade_id": "weighted_bn_statistics", "locked": false, "schema_version": 3, "solution": true, "task": false}
import copy


def weighted_bn_statistics(model, batches):
    ### BEGIN SOLUTION
    model = copy.deepcopy(model)                                   # the caller keeps the original
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    model.train()                                                  # train mode: batch norm updates its averages
    seen = 0
    with torch.no_grad():                                          # no gradients: only the averages change
        for batch in batches:
            n = batch.shape[0]
            for layer in layers:
                layer.momentum = n / (seen + n)                    # 1 for the first batch: the old values go
            model(batch)
            seen += n
    for layer in layers:
        layer.momentum = 0.1                                       # back to the default for any later training
    return model.eval()
    ### END SOLUTION

images = torch.tensor(ref.images[:48]).permute(0, 3, 1, 2)
uneven = weighted_bn_statistics(shipped, [images[:40], images[40:]])     # batches of 40 and 8 images
one_pass = weighted_bn_statistics(shipped, [images])                     # all 48 images in one batch
first = lambda m: next(layer for layer in m.modules() if isinstance(layer, nn.BatchNorm2d))  # noqa: E731
a, b = first(uneven), first(one_pass)        # batches of 40 and 8 vs one pass over all 48 images
rel = ((a.running_var - b.running_var) / b.running_var).abs().max()
print("first batch-norm layer: running_mean equal within 1e-4:",
      bool((a.running_mean - b.running_mean).abs().max() < 1e-4),
      f"| running_var differs by up to {float(rel):.2%}")

# %% nbgrader={"grade": true, "grade_id": "check_weighted_bn_statistics", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_weighted_bn_statistics(weighted_bn_statistics)

# %% [markdown]
# ## 9 · A `Dataset` that crops and flips image and labels together (2 points)
#
# The lesson's `RoadPairs` (section 7) turns all scenes into tensors once, in `__init__`. This
# `RoadPairs` keeps the scenes as stored, to save memory: `self.images` `(N, H, W, 3)` float32 and
# `self.labels` `(N, H, W)` uint8, numpy arrays; it always crops (`self.crop`) and always may flip.
# Write its `__getitem__`, adapting the lesson's: `dataset[i]` returns scene `i` as a pair of torch
# tensors, the image `(3, crop, crop)` float32 and the label map `(crop, crop)` int64. Cut a
# `crop × crop` window at a random offset; every offset from 0 to `H - crop` (and `W - crop`) must
# be possible. Flip the window left-right half of the time. Draw the random numbers with torch
# (`torch.randint`, `torch.rand`), so that `torch.manual_seed` repeats them.
#
# The check builds scenes whose pixels say where they came from, calls `dataset[0]` 300 times,
# and finds each window's offset and flip in the image and in the labels. Mind the axes: the
# stored image is channels last.

# %% nbgrader={"grade": false, "grade_id": "paired_crops", "locked": false, "schema_version": 3, "solution": true, "task": false}
from torch.utils.data import Dataset


class RoadPairs(Dataset):
    def __init__(self, images, labels, crop):
        self.images, self.labels, self.crop = images, labels, crop

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        ### BEGIN SOLUTION
        x = torch.from_numpy(self.images[i]).permute(2, 0, 1)      # (3, H, W): channels first
        y = torch.from_numpy(self.labels[i]).long()                # class ids as int64
        h, w = y.shape
        r = int(torch.randint(h - self.crop + 1, ()))              # one offset for the pair, 0 to h - crop
        c = int(torch.randint(w - self.crop + 1, ()))
        x, y = x[:, r:r + self.crop, c:c + self.crop], y[r:r + self.crop, c:c + self.crop]
        if torch.rand(()) < 0.5:                                   # one coin for the pair
            x, y = x.flip(-1), y.flip(-1)                          # left-right: the columns
        return x, y
        ### END SOLUTION

scenes = data.road_scenes(4, size=32, seed=3)
torch.manual_seed(0)
xc, yc = RoadPairs(scenes.images, scenes.labels, crop=24)[1]
print(f"one crop of scene 1: image {tuple(xc.shape)} {xc.dtype}, labels {tuple(yc.shape)} {yc.dtype}")

# %% nbgrader={"grade": true, "grade_id": "check_paired_crops", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_paired_crops(RoadPairs)
