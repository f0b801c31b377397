# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 02 · Inside a segmentation network
#
# Four exercises on lesson 02: the output size of a transposed convolution, the receptive field of a
# stack of layers, the soft Dice loss written by hand, and why a UNet needs its skip connections.
# Each code exercise is checked automatically by the cell after it; the written answer at the end
# is graded by hand. **10 points**: 8 checked automatically, 2 by hand.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import torch
import torch.nn.functional as F

from segcourse import checks, data, models

torch.set_num_threads(1)

# %% [markdown]
# ## 1 · How big is the output of a transposed convolution? (2 points)
#
# A transposed convolution stamps its `kernel`×`kernel` kernel once per input pixel, `stride`
# pixels apart; `padding` then crops that many rows and columns from *each* side of the result,
# and `output_padding` adds that many back on one side. Write
# `transposed_output_size(size, kernel, stride, padding=0, output_padding=0)`, the side of the
# output for a square input of side `size`, as an `int`.

# %% nbgrader={"grade": false, "grade_id": "transposed_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def transposed_output_size(size, kernel, stride, padding=0, output_padding=0):
    ### BEGIN SOLUTION
    return (size - 1) * stride - 2 * padding + kernel + output_padding
    ### END SOLUTION

print("TinyUNet's decoder, 2×2 kernel, stride 2:", [transposed_output_size(n, 2, 2) for n in (8, 16, 32)])
print("3×3 kernel, stride 2, padding 1, output_padding 1 on 8 pixels:", transposed_output_size(8, 3, 2, 1, 1))

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
# ## 3 · Soft Dice loss (3 points)
#
# `soft_dice(logits, target, eps=1.0)` takes `logits` of shape `(N, K, H, W)` and a `target` label
# map `(N, H, W)` of class ids (a `torch.long` tensor). For each class `c`, with `p` the softmax
# probabilities and `t` the one-hot target, **summed over every pixel of the batch**:
#
# $$D_c = \frac{2\sum p_c t_c + \varepsilon}{\sum p_c + \sum t_c + \varepsilon}$$
#
# Return `1 - ` the mean of `D_c` over the classes **present in the target**, as a torch tensor that
# keeps its gradient (no `.item()`, no numpy, no argmax). `F.one_hot(target, K)` gives `(N, H, W, K)`.

# %% nbgrader={"grade": false, "grade_id": "soft_dice", "locked": false, "schema_version": 3, "solution": true, "task": false}
def soft_dice(logits, target, eps=1.0):
    ### BEGIN SOLUTION
    k = logits.shape[1]
    prob = logits.softmax(1)
    one_hot = F.one_hot(target, k).permute(0, 3, 1, 2).float()
    inter = (prob * one_hot).sum((0, 2, 3))
    total = prob.sum((0, 2, 3)) + one_hot.sum((0, 2, 3))
    present = one_hot.sum((0, 2, 3)) > 0
    return 1 - ((2 * inter + eps) / (total + eps))[present].mean()
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "check_soft_dice", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check_soft_dice(soft_dice)

# %% [markdown]
# Your loss at work: the share of the gradient that lands on each class's pixels, for one batch of
# scenes and a freshly initialised UNet, with cross-entropy and with your soft Dice.

# %% nbgrader={"grade": false, "grade_id": "gradient_shares", "locked": true, "schema_version": 3, "solution": false, "task": false}
batch = data.road_scenes(16, size=32, seed=7)
x = torch.tensor(batch.images).permute(0, 3, 1, 2)
y = torch.tensor(batch.labels).long()
torch.manual_seed(0)
logits = models.TinyUNet(3, 5, width=8)(x).detach().requires_grad_()
print(f"{'':>20}" + "".join(f"{n:>14}" for n in batch.class_names))
print(f"{'pixels':>20}" + "".join(f"{v:14.3f}" for v in np.bincount(batch.labels.ravel(), minlength=5) / batch.labels.size))
for name, loss_fn in [("cross-entropy", F.cross_entropy), ("your soft Dice", soft_dice)]:
    logits.grad = None
    try:
        loss_fn(logits, y).backward()
    except NotImplementedError:
        print(f"{name:>20}   (still a stub: finish exercise 3 first)")
        continue
    g = logits.grad.abs().sum(1)
    share = np.array([float(g[y == c].sum()) for c in range(5)])
    print(f"{name:>20}" + "".join(f"{v:14.3f}" for v in share / share.sum()))

# %% [markdown]
# ## 4 · Why does a UNet need skip connections for thin lanes? (1 point)
#
# In the lesson, storing the road labels at 1/8 resolution (the size of TinyUNet's bottleneck) and
# blowing them back up left the lane markings almost no IoU, while the sky kept most of its own. Which
# statement explains why the decoder needs the encoder's skip connections? Set `skip_choice` to one
# letter.
#
# - **a** · The skips add parameters, which makes the decoder expressive enough for thin shapes.
# - **b** · The skips enlarge the receptive field, so each output pixel sees more context.
# - **c** · The skips hand the decoder full-resolution features that still know *where* each
#   pixel is, which three poolings down to 1/8 had thrown away.
# - **d** · The skips mainly exist to stop the gradient from vanishing in the backward pass.

# %% nbgrader={"grade": false, "grade_id": "skip_choice", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
skip_choice = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "check_skip_choice", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_skip_choice(skip_choice)

# %% [markdown]
# ## 5 · Read the gradient shares (2 points, graded by hand)
#
# Using the table printed under exercise 3, explain in three to five sentences: why does a model
# trained with cross-entropy alone learn the lane markings last, what does your soft Dice change,
# and why is Dice usually *added* to cross-entropy rather than used alone? Quote the numbers you use.

# %% [markdown] nbgrader={"grade": true, "grade_id": "gradient_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Lane markings own 0.016 of the pixels and cross-entropy gives them about the same share of the
# gradient (0.013): the loss is an average over pixels, so getting every lane pixel wrong costs little
# and the model learns sky, road and sidewalk first. Soft Dice is an average over classes, so a lane
# class that is badly predicted drags the loss as much as any other class: its share of the gradient
# rises to 0.042, about three times more, and the cars' from 0.052 to 0.103. Dice alone has poorly
# behaved gradients when a class is nearly empty or nearly perfect (a ratio of small sums), while
# cross-entropy gives every pixel a steady, well-scaled signal; adding the two keeps the steady
# per-pixel learning and the push on the small classes.
