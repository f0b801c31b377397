# %% [markdown]
# # 00 · Masks and IoU
#
# Detection draws a box around an object. **Segmentation** is finer: it answers, for every
# single pixel, *which class (or which object) does this pixel belong to?* The answer is a
# **mask**, and almost everything in this course is a question about masks: how to store them,
# how to compare two of them, and how to tell *why* two of them disagree.
#
# **After this lesson you can**
#
# 1. tell apart the three ways a mask is stored — binary mask, label map, one-hot stack;
# 2. compute the IoU of two masks by hand, with numpy, and with `segcourse.metrics`;
# 3. say how Dice relates to IoU, and what score two *empty* masks should get;
# 4. read per-class IoU off a confusion matrix and explain why a missing class is not a zero;
# 5. draw a mask over an image so a reader can check it.
#
# **Map of the lesson:** 1 · three kinds of mask → 2 · the 3×3 IoU check by hand →
# 3 · the same in numpy → 4 · Dice → 5 · empty masks → 6 · several classes →
# 7 · boundaries → 8 · an overlay → evidence card and pass check.
#
# Everything runs on a laptop CPU in a few seconds; no data is downloaded.

# %%
import numpy as np
import matplotlib.pyplot as plt

from segcourse import masks, metrics

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1 · Three ways to store a mask
#
# Take a tiny 3×3 image with one object in its top-left corner.
#
# * A **binary mask** has one number per pixel: 1 = "object", 0 = "not object".
# * A **label map** (or class map) stores one *class id* per pixel: 0 = background, 1 = road,
#   2 = car, … It is what a semantic segmentation model outputs.
# * A **one-hot** stack stores one binary mask *per class*, shape `(K, H, W)`; exactly one of
#   the K layers is 1 at every pixel. Models produce scores in this layout, and losses read it.
#
# Here are the ground truth and a prediction from the roadmap's first exercise, as plain lists:

# %%
truth = [
    [1, 1, 0],
    [1, 0, 0],
    [0, 0, 0],
]
pred = [
    [1, 0, 0],
    [1, 1, 0],
    [0, 0, 0],
]

# %% [markdown]
# ## 2 · The IoU check, by hand
#
# **Intersection over union** (IoU, also called the Jaccard index) asks: of all pixels that
# *either* mask calls "object", what fraction do *both* call "object"?
#
# $$\mathrm{IoU}(P, T) = \frac{|P \cap T|}{|P \cup T|}$$
#
# Count it the slow way first, one pixel at a time, so nothing is hidden:

# %%
intersection = 0
union = 0
for y in range(3):
    for x in range(3):
        both = truth[y][x] == 1 and pred[y][x] == 1
        either = truth[y][x] == 1 or pred[y][x] == 1
        intersection += both
        union += either

print("intersection:", intersection, "union:", union)
print("mask_iou:", round(intersection / union, 3))

# %% [markdown]
# Two pixels are in both masks (top-left and the one below it); four pixels are in at least
# one. IoU = 2 / 4 = **0.5**. The prediction got half the object right *and* added a pixel that
# is not there: IoU punishes both mistakes, misses and false alarms alike.
#
# ## 3 · The same in numpy
#
# Loops over pixels are fine for 9 pixels and hopeless for a batch of 512×512 images. With
# numpy the whole mask is compared at once: `&` is the pixel-wise AND (intersection), `|` the
# OR (union), and `.sum()` counts the `True` pixels.

# %%
T = np.array(truth, dtype=bool)
P = np.array(pred, dtype=bool)

print("P & T =\n", (P & T).astype(int))
print("P | T =\n", (P | T).astype(int))
print("mask_iou:", (P & T).sum() / (P | T).sum())

# %% [markdown]
# `segcourse.metrics.iou` does exactly this, plus the checks a real project needs (same shape,
# truly binary values, torch tensors accepted, a clear error otherwise):

# %%
print("mask_iou:", round(metrics.iou(pred, truth), 3))
assert metrics.iou(pred, truth) == 0.5

# %% [markdown]
# ### Paint it yourself
#
# The `MaskEditor` below opens on an empty 3×3 grid and scores it against the same `truth`.
# **Click and drag** to paint (keys `0`/`1` pick background/object, `b` toggles a 3×3 brush,
# Ctrl+Z undoes). Paint the prediction above — top-left, the cell below it, and the centre — and
# the readout says IoU 0.500; then move the centre pixel to the top row and it reaches 1.000. "show
# target" draws the target's outline and colours true positives, false positives and false
# negatives. The cell below does the same strokes from Python, so this page shows the result even
# where widgets cannot run.

# %%
from segcourse.widgets import MaskEditor

editor = MaskEditor(shape=(3, 3), target=truth)
for row, col in [(0, 0), (1, 0), (1, 1)]:     # the roadmap's prediction
    editor.paint(row, col, 1)
print(editor.readout)
editor

# %%
editor.undo()                # take back the false positive in the centre...
editor.paint(0, 1, 1)        # ...and paint the missed pixel instead
print(editor.readout)
print(editor.mask)

# %% [markdown]
# ## 4 · Dice, IoU's sibling
#
# The **Dice coefficient** (the F1 score of pixels) counts the overlap twice and divides by the
# two mask sizes:
#
# $$\mathrm{Dice}(P, T) = \frac{2\,|P \cap T|}{|P| + |T|}$$
#
# It is popular in medical imaging and as a *loss*. Dice and IoU are two readings of the same
# quantity — one is a fixed function of the other, $\mathrm{Dice} = 2\,\mathrm{IoU} / (1 +
# \mathrm{IoU})$ — so they always rank predictions in the same order. Dice is simply the more
# generous number: IoU 0.5 is Dice 0.667.

# %%
d = metrics.dice(pred, truth)
j = metrics.iou(pred, truth)
print(f"dice = {d:.4f}   2*iou/(1+iou) = {2 * j / (1 + j):.4f}")

iou_grid = np.linspace(0, 1, 101)
fig, ax = plt.subplots(figsize=(4, 3.2))
ax.plot(iou_grid, 2 * iou_grid / (1 + iou_grid), label="Dice")
ax.plot(iou_grid, iou_grid, "--", color="grey", label="IoU (identity)")
ax.plot([j], [d], "o", color="C3")
ax.annotate("our 3×3 example", (j, d), xytext=(0.55, 0.35), arrowprops=dict(arrowstyle="->"))
ax.set(xlabel="IoU", ylabel="score", title="Dice is a monotone function of IoU")
ax.legend(loc="lower right")
fig.tight_layout()

# %% [markdown]
# The curve never crosses the diagonal: Dice ≥ IoU, with equality only at 0 and 1. When you
# compare papers, check which of the two they report.
#
# ## 5 · Two empty masks: what is the score?
#
# An image with no car, and a model that (correctly) predicts no car. Both masks are empty, so
# IoU = 0 / 0. Any number we return is a **convention**, and the choice matters when we
# average over a data set:
#
# | convention | effect on the average |
# |---|---|
# | 0 | punishes a *correct* prediction; the mean drops for every image without the object |
# | 1 | rewards a correct "nothing here", but inflates the mean with trivially easy images |
# | NaN (skip) | the image says nothing about this class, so it is left out of the mean |
#
# `segcourse` returns **NaN by default** (`zero_division=np.nan`) and lets you choose:

# %%
empty = np.zeros((3, 3), dtype=bool)
print("iou(empty, empty)                    =", metrics.iou(empty, empty))
print("iou(empty, empty, zero_division=1.0) =", metrics.iou(empty, empty, zero_division=1.0))
print("iou(empty, truth)                    =", metrics.iou(empty, truth), " <- a real miss is a real 0")

per_image = [metrics.iou(pred, truth), metrics.iou(empty, empty), metrics.iou(truth, truth)]
print("per-image IoU:", per_image, "-> nan-mean:", np.nanmean(per_image))

# %% [markdown]
# ## 6 · Several classes: per-class IoU and the confusion matrix
#
# A label map holds more than one class. Small masks are easiest to write as text, one
# character per pixel (`segcourse.masks.mask_from_string`): here 0 = background, 1 = road,
# 2 = sidewalk.

# %%
target = masks.mask_from_string('''
    0000
    1122
    1122
    1112
''')
pred = masks.mask_from_string('''
    0000
    1112
    1112
    1122
''')
K = 4  # background, road, sidewalk, car -- and there is no car in this picture
print(target)

# %% [markdown]
# Every score for several classes can be read off one table, the **confusion matrix**:
# `cm[i, j]` counts the pixels whose true class is *i* and predicted class is *j* (rows = truth,
# columns = prediction). Counting all pairs at once is one `bincount` over the combined index
# `K * true + predicted`:

# %%
cm = np.bincount((K * target + pred).ravel(), minlength=K * K).reshape(K, K)
print(cm)

tp = np.diag(cm)              # right class
fp = cm.sum(axis=0) - tp      # predicted as this class, but it is something else
fn = cm.sum(axis=1) - tp      # this class, but predicted as something else
with np.errstate(invalid="ignore"):
    print("per-class IoU by hand:", tp / (tp + fp + fn))

# %% [markdown]
# The diagonal is what the model got right; the off-diagonal cells say *what was confused with
# what*: here 2 sidewalk pixels were called road and 1 road pixel was called sidewalk. The
# library does the same with input checks and a fast path for big batches:

# %%
print(metrics.confusion_matrix(pred, target, num_classes=K))
ious = metrics.per_class_iou(pred, target, num_classes=K)
for name, value in zip(["background", "road", "sidewalk", "car"], ious):
    print(f"{name:>10}: {value:.3f}")
print("mean IoU:", round(metrics.mean_iou(pred, target, num_classes=K), 4))

# %% [markdown]
# Car is `nan`, not 0: there is no car in the truth *and* none in the prediction, so there is
# nothing to score. `mean_iou` averages only the classes that occur — (1 + 0.667 + 0.5) / 3 =
# 0.7222. Had we counted the absent car as 0, the mean would drop to 0.54 for a mistake the
# model never made.
#
# ## 7 · A first look at boundaries
#
# IoU counts pixels, and a big object has most of its pixels in its interior. A prediction
# that is **one pixel off everywhere along the edge** can still score a high IoU. *Boundary
# IoU* (Cheng et al., 2021) only compares a thin band along each mask's outline, so a ragged
# or shifted edge shows up. Lesson 05 uses it to sort failures.

# %%
square = np.zeros((20, 20), dtype=bool)
square[5:15, 5:15] = True
shifted = np.roll(square, 1, axis=1)  # the same square, one pixel to the right

print("mask IoU     :", round(metrics.iou(shifted, square), 3))
print("boundary IoU :", round(metrics.boundary_iou(shifted, square), 3))

# %% [markdown]
# ## 8 · An overlay: showing a mask on its image
#
# A mask is only convincing next to the image it describes. We paint each class id with a
# fixed colour from the course palette (`masks.to_rgb`) and blend it over the image. The
# palette never changes, so road is the same colour in every figure of the course.

# %%
rng = np.random.default_rng(0)
H = W = 32
yy, xx = np.mgrid[:H, :W]
image = np.full((H, W, 3), 0.55) + 0.04 * rng.standard_normal((H, W, 3))  # grey "asphalt"
blob = (yy - 14) ** 2 / 60 + (xx - 18) ** 2 / 110 < 1                     # a dark stain
image[blob] -= 0.25
image = image.clip(0, 1)

label_map = blob.astype(np.uint8)           # 0 = background, 1 = defect
colours = masks.to_rgb(label_map) / 255.0
alpha = 0.45
overlay = np.where(label_map[..., None] > 0, (1 - alpha) * image + alpha * colours, image)

fig, axes = plt.subplots(1, 3, figsize=(8, 2.9))
for ax, img, title in zip(axes, [image, colours, overlay], ["image", "mask (label map)", "overlay"]):
    ax.imshow(img, interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
axes[2].contour(label_map, levels=[0.5], colors="white", linewidths=0.8)
fig.tight_layout()

# %% [markdown]
# The white contour matters as much as the colour: a reader can check the edge against the
# image. Lesson 01 moves this into `segcourse.viz.overlay` together with a legend.
#
# ## Evidence card
#
# | item | this lesson |
# |---|---|
# | input image | the 3×3 truth mask (also painted in the `MaskEditor`); the 32×32 stain image |
# | prediction | the 3×3 prediction; the 4×4 road/sidewalk prediction |
# | metric | IoU 0.5 and Dice 0.667 (3×3); per-class IoU and mIoU 0.7222 (4×4); boundary IoU 0.333 vs IoU 0.818 |
# | failure check | the sidewalk ↔ road confusion in the confusion matrix; the one-pixel shift that only boundary IoU exposes |
# | expected output | `mask_iou: 0.5` and the overlay above |
#
# ## Pass check
#
# You pass this lesson when you can, without looking back:
#
# * create a small mask (by hand or with `mask_from_string`) and compute its IoU with another
#   one — in a loop, in numpy, and with `metrics.iou`;
# * explain why `iou(empty, empty)` is not 0, and why an absent class is NaN in `per_class_iou`;
# * point at one class confusion in a confusion matrix and one boundary error that IoU hides.
#
# The exercises in `exercises/00_masks_and_iou.ipynb` check each of these automatically.
