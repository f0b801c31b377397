# %% [markdown]
# # 00 · Masks and IoU
#
# A vision model can answer very different questions about the same picture, and the answer takes
# a different shape each time. **Segmentation** answers the finest one: for every single pixel,
# *which class (or which object) does this pixel belong to?* Its answer is a **mask**, and almost
# everything in this course is a question about masks: how to store them, how to compare two of
# them, and how to tell *why* two of them disagree.
#
# **After this lesson you can**
#
# 1. say which visual output each vision task produces, and where segmentation sits among them;
# 2. tell apart the three ways a mask is stored — binary mask, label map, one-hot stack;
# 3. compute the IoU of two masks by hand, with numpy, and with `segcourse.metrics`, and name
#    every pixel TP, FP or FN;
# 4. say how Dice relates to IoU, and what score two *empty* masks should get;
# 5. read per-class IoU off a confusion matrix and explain why a missing class is not a zero;
# 6. draw the boundary band that boundary IoU compares, and a mask over its image.
#
# **Map of the lesson:** 0 · tasks and their outputs → 1 · three kinds of mask → 2 · the 3×3 IoU
# check by hand → 3 · the same in numpy → 4 · Dice → 5 · empty masks → 6 · several classes →
# 7 · boundaries → 8 · an overlay → evidence card and pass check.
#
# Everything runs on a laptop CPU in a few seconds; no data is downloaded.

# %%
import numpy as np
import matplotlib.pyplot as plt
from scipy import ndimage

from segcourse import data, masks, metrics, viz

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 0 · Vision tasks and the shape of their answers
#
# | task | the question | the visual output |
# |---|---|---|
# | image classification | what is in this image? | one **class label** for the whole image |
# | object detection | where is each object? | one **box** (+ label, + score) per object |
# | semantic segmentation | which class is each pixel? | a **label map**: one class id per pixel |
# | instance segmentation | which object is each pixel? | one **mask** per object (+ label) |
# | text recognition (OCR) | what does the text say? | **text strings**, usually with a box each |
# | image embedding (retrieval, clustering) | what is this image like? | a **vector** of numbers per image |
# | video event detection | what happens, and when? | **events**: a label with a start and end time |
#
# The first four form a ladder of detail on the same picture: a label says *that* there are cars,
# boxes say *roughly where*, masks say *exactly which pixels*. Segmentation is the densest output
# — one answer per pixel — which is why it is the tool when the shape itself matters (how much
# road is free, where a crack runs, how big a tumour is) and why it costs the most to annotate.
# The last three produce other kinds of answer (text, vectors, time intervals) and are not
# covered here. Here are the first four outputs for one toy street scene (the scenes of lesson 01):

# %%
scene = data.road_scenes(1, seed=3)
image, label_map = scene.images[0], scene.labels[0]
cars, n_cars = ndimage.label(label_map == 4)           # connected car pixels = one car each
boxes = ndimage.find_objects(cars)
print("class label   :", "contains a car" if n_cars else "no car")
print("boxes (y0, y1, x0, x1):", [(b[0].start, b[0].stop, b[1].start, b[1].stop) for b in boxes])
print("label map     :", label_map.shape, "class ids", np.unique(label_map).tolist())
print("instance masks:", n_cars, "cars, sizes", np.bincount(cars.ravel())[1:].tolist(), "pixels")

fig, axes = plt.subplots(1, 4, figsize=(11, 3.2))
axes[0].imshow(image)
axes[0].set_title("class label:\n'contains a car'")
axes[1].imshow(image)
for b in boxes:
    y0, y1, x0, x1 = b[0].start, b[0].stop, b[1].start, b[1].stop
    axes[1].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color="yellow", lw=1.5))
axes[1].set_title(f"detection:\n{n_cars} boxes")
viz.show_mask(axes[2], label_map, scene.palette, title="semantic segmentation:\none class per pixel")
viz.instance_overlay(image, cars, ax=axes[3], alpha=0.8, title="instance segmentation:\none mask per car")
for ax in axes:
    ax.set_axis_off()
fig.legend(handles=viz.legend_handles(scene.class_names, scene.palette), loc="lower center", ncol=5, frameon=False)
fig.tight_layout(rect=(0, 0.08, 1, 1))

# %% [markdown]
# The box of a car also contains road; the label map says exactly which pixels are car; the
# instance masks add *which* car (one colour each). This course is about the third and fourth
# panels.
#
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
# Here are a ground truth and a prediction, as plain lists:

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
# Every pixel falls in one of four cases. A **true positive** (TP) is object in both masks, a
# **false positive** (FP) is object only in the prediction (a false alarm), a **false negative**
# (FN) is object only in the truth (a miss), and a **true negative** (TN) is background in both.
# Intersection = TP and union = TP + FP + FN, so IoU = TP / (TP + FP + FN). Here is every pixel
# of the example named:

# %%
codes, names = viz.error_codes(truth, pred)
counts = {name: int((codes == c).sum()) for c, name in enumerate(names[:4])}
print(counts, "-> IoU = TP / (TP + FP + FN) =", counts["TP"], "/", counts["TP"] + counts["FP"] + counts["FN"])

fig, axes = plt.subplots(1, 3, figsize=(8, 3))
axes[0].imshow(truth, cmap="gray_r", vmin=0, vmax=1.6)
axes[0].set_title("truth")
axes[1].imshow(pred, cmap="gray_r", vmin=0, vmax=1.6)
axes[1].set_title("prediction")
viz.error_map(truth, pred, ax=axes[2], title="each pixel named")
for (y, x), c in np.ndenumerate(codes):
    axes[2].text(x, y, names[c], ha="center", va="center", fontsize=11, color="white" if names[c] in ("TN", "FN") else "black")
for ax in axes[:2]:
    ax.set_xticks([]); ax.set_yticks([])
fig.tight_layout()

# %% [markdown]
# The truth has 3 object pixels. The prediction **found 2 of the 3** (the two TPs on the left),
# **missed 1** (the FN in the top row) and **added 1** that is not there (the FP in the centre).
# IoU = 2 / (2 + 1 + 1) = **0.5**: it punishes both mistakes, misses and false alarms alike.
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
for row, col in [(0, 0), (1, 0), (1, 1)]:     # the prediction above
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
# It is popular in medical imaging and as a *loss*. For one pair of masks, Dice is a fixed,
# increasing function of IoU, $\mathrm{Dice} = 2\,\mathrm{IoU} / (1 + \mathrm{IoU})$, so on any
# single pair the two agree on which prediction is better. Dice is simply the more generous
# number: IoU 0.5 is Dice 0.6667.

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
# **The agreement stops at averages.** A data set's score is a *mean* over images, and the mean
# of a curved function is not the function of the mean. Two models, two images, each target a
# 20-pixel object; model A is excellent on the first image and poor on the second, model B is
# middling on both:

# %%
obj = np.zeros((4, 5), bool)
obj[:, :] = True                          # a 20-pixel object filling a 4x5 image crop


def found(k):
    """A prediction that finds the first k of the 20 object pixels and nothing else."""
    p = np.zeros(20, bool)
    p[:k] = True
    return p.reshape(4, 5)


models_found = {"A": (19, 2), "B": (10, 10)}     # object pixels found on image 1 and image 2
for name, ks in models_found.items():
    ious = [metrics.iou(found(k), obj) for k in ks]
    dices = [metrics.dice(found(k), obj) for k in ks]
    print(f"model {name}: IoU per image {np.round(ious, 3)}, mean {np.mean(ious):.3f} | "
          f"Dice per image {np.round(dices, 3)}, mean {np.mean(dices):.3f}")

# %% [markdown]
# By mean IoU model A wins (0.525 against 0.500); by mean Dice model B wins (0.667 against
# 0.578). Same masks, opposite ranking: on a data set, IoU and Dice can disagree, because Dice
# rewards middling predictions more than IoU does. Decide which score you report *before* you
# compare models.
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
# `segcourse` returns **NaN by default** (`zero_division=np.nan`), everywhere in the course, and
# lets you choose:

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
print("mean IoU if the absent car counted as 0:", round(float(np.nan_to_num(ious).mean()), 4))

# %% [markdown]
# Car is `nan`, not 0: there is no car in the truth *and* none in the prediction, so there is
# nothing to score. `mean_iou` averages only the classes that occur — (1 + 0.667 + 0.5) / 3 =
# 0.7222. Had we counted the absent car as 0, the mean would drop to 0.5417 for a mistake the
# model never made.
#
# ## 7 · A first look at boundaries
#
# IoU counts pixels, and a big object has most of its pixels in its interior. A prediction
# that is **one pixel off everywhere along the edge** can still score a high IoU. *Boundary
# IoU* (Cheng et al., 2021) only compares a thin **band** along each mask's outline, so a ragged
# or shifted edge shows up:

# %%
square = np.zeros((20, 20), dtype=bool)
square[5:15, 5:15] = True
shifted = np.roll(square, 1, axis=1)  # the same square, one pixel to the right

print("mask IoU     :", round(metrics.iou(shifted, square), 3), "| pixels in both squares:", (shifted & square).sum(),
      "of", (shifted | square).sum())
print("boundary IoU :", round(metrics.boundary_iou(shifted, square), 3))

# %% [markdown]
# What is the band? Erode the mask by `d` pixels (peel `d` layers off its outline) and keep what
# was peeled off: the band is every mask pixel within `d` pixels of the outline. `d` is a fraction
# of the image diagonal, `d = max(1, round(dilation_ratio × diagonal))`, with `dilation_ratio =
# 0.02` by default (Cheng et al.'s choice), so the band is equally thin, relative to the image, at
# any resolution. Boundary IoU is then the ordinary IoU of the two bands:

# %%
dilation_ratio = 0.02
d = max(1, round(dilation_ratio * np.hypot(*square.shape)))
band_t = metrics.boundary_band(square, dilation_ratio)
band_p = metrics.boundary_band(shifted, dilation_ratio)
print(f"diagonal {np.hypot(*square.shape):.1f} px x {dilation_ratio} -> d = {d} px")
print("band pixels: target", band_t.sum(), "| prediction", band_p.sum(),
      "| both", (band_t & band_p).sum(), "| either", (band_t | band_p).sum(),
      "-> boundary IoU", round((band_t & band_p).sum() / (band_t | band_p).sum(), 3))

fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
axes[0].imshow(square, cmap="gray_r", vmin=0, vmax=2)
axes[0].imshow(np.ma.masked_where(~band_t, band_t), cmap="autumn", alpha=0.9)
axes[0].set_title(f"target and its band (d = {d} px)")
axes[1].imshow(shifted, cmap="gray_r", vmin=0, vmax=2)
axes[1].imshow(np.ma.masked_where(~band_p, band_p), cmap="winter", alpha=0.9)
axes[1].set_title("prediction (1 px right) and its band")
viz.error_map(band_t, band_p, ax=axes[2], title="band vs band: TP / FP / FN")
for ax in axes[:2]:
    ax.set_xticks([]); ax.set_yticks([])
fig.tight_layout()

# %% [markdown]
# Left and middle: each band is the one-pixel ring just inside its square's outline. Right: the
# two rings agree only on their top and bottom rows (TP); the left and right sides miss each
# other by one pixel (FP and FN columns). Mask IoU hides that behind the 90 pixels that both
# squares share (0.818); boundary IoU, counting only the rings, falls to 0.333. Lesson 05 uses it
# to sort failures.
#
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
# image. Lesson 01 uses `segcourse.viz.overlay` for this, and adds a class legend to its figures.
#
# ## Evidence card
#
# | item | this lesson |
# |---|---|
# | input image | the 3×3 truth mask (also painted in the `MaskEditor`); the 20×20 square; the 32×32 stain image |
# | prediction | the 3×3 prediction (2 TP, 1 FP, 1 FN); the 4×4 road/sidewalk prediction; the square shifted by 1 px |
# | metric | IoU 0.5 and Dice 0.6667 (3×3); per-class IoU and mIoU 0.7222 (4×4); boundary IoU 0.333 vs IoU 0.818 |
# | failure check | the sidewalk ↔ road confusion in the confusion matrix; the one-pixel shift that only boundary IoU exposes |
# | what you should see | the printed `mask_iou: 0.5`, the TP/FP/FN picture and the overlay above |
#
# ## Pass check
#
# You pass this lesson when you can, without looking back:
#
# * name the output of classification, detection, semantic and instance segmentation, OCR,
#   embeddings and video event detection, and say what segmentation adds over a box;
# * create a small mask (by hand or with `mask_from_string`) and compute its IoU with another
#   one — in a loop, in numpy, and with `metrics.iou` — and label its pixels TP, FP, FN;
# * explain why `iou(empty, empty)` is NaN, not 0, and why an absent class is NaN in `per_class_iou`;
# * say why IoU and Dice rank one pair of masks the same way but can rank two models differently;
# * point at one class confusion in a confusion matrix and one boundary error that IoU hides.
#
# The exercises in `exercises/00_masks_and_iou.ipynb` check the IoU, Dice, empty-mask and confusion-matrix items automatically.
