# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 00 · Masks and IoU
#
# Write each function in the cell marked for your answer, then run the check cell under it. A
# check runs your code on many cases — the 3×3 masks of lesson 00, empty masks, batches, random masks
# compared with `segcourse.metrics` — and, when something is off, tells you *what* and gives a
# hint. Each exercise is a variant of what the lesson showed, not a copy: use numpy. The checks
# compare your numbers with `segcourse.metrics`, so an answer that calls `segcourse` is refused
# even when its numbers are right.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
from segcourse import checks
from segcourse.widgets import MaskEditor


# %% [markdown]
# ## 1 · Dice for every image of a batch (2 points)
#
# The lesson scored one pair of masks at a time. A data set is a batch: `dice_per_image(pred,
# target)` takes two stacks of shape `(N, H, W)` and returns an array of `N` Dice scores,
# 2 |P ∩ T| / (|P| + |T|) per image, and `np.nan` for an image whose two masks are both empty.
# Any nonzero value is "object": masks saved as 8-bit images often hold 0 and 255.

# %% nbgrader={"grade": false, "grade_id": "dice_per_image", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dice_per_image(pred, target):
    ### BEGIN SOLUTION
    p = np.asarray(pred) != 0
    t = np.asarray(target) != 0
    inter = np.count_nonzero(p & t, axis=(1, 2))
    total = np.count_nonzero(p, axis=(1, 2)) + np.count_nonzero(t, axis=(1, 2))
    out = np.full(len(p), np.nan)
    np.divide(2.0 * inter, total, out=out, where=total > 0)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_dice_per_image", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_dice_per_image(dice_per_image)


# %% [markdown]
# ## 2 · A mask from logits: sigmoid and threshold (1 point)
#
# A binary model outputs one logit per pixel. `iou_at_threshold(logits, target, threshold)` turns
# the logits into probabilities with the sigmoid, keeps the pixels whose probability is above
# `threshold` as the predicted mask, and returns its IoU with `target` (`np.nan` when both masks
# are empty). Careful: the threshold is a probability, not a logit.

# %% nbgrader={"grade": false, "grade_id": "iou_at_threshold", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iou_at_threshold(logits, target, threshold):
    ### BEGIN SOLUTION
    z = np.asarray(logits, dtype=float)
    with np.errstate(over="ignore"):
        prob = 1.0 / (1.0 + np.exp(-z))
    p = prob > threshold
    t = np.asarray(target) != 0
    union = np.count_nonzero(p | t)
    return np.count_nonzero(p & t) / union if union else float("nan")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_iou_at_threshold", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_iou_at_threshold(iou_at_threshold)


# %% [markdown]
# ## 3 · A confusion matrix from class scores (2 points)
#
# A model for K classes outputs scores of shape `(N, K, H, W)` (K per pixel, as the one-hot stack of
# lesson 00 §1, but any real numbers). `confusion_from_scores(scores, target)` turns them into label
# maps (the class with the highest score) and returns the `(K, K)` integer confusion matrix against
# `target` `(N, H, W)`: `cm[i, j]` counts pixels of true class `i` predicted as `j`, with K read from
# the scores, so a class that never occurs still has its row. Target pixels of 255 are void
# (lesson 00 §1b): leave them out of the matrix. No Python loop over pixels: the check counts your
# function's Python steps on small and on large images, and refuses a count that grows with the
# pixels. Careful with uint8 targets.

# %% nbgrader={"grade": false, "grade_id": "confusion_from_scores", "locked": false, "schema_version": 3, "solution": true, "task": false}
def confusion_from_scores(scores, target):
    ### BEGIN SOLUTION
    scores = np.asarray(scores)
    k = scores.shape[1]
    pred = scores.argmax(axis=1).astype(np.int64).ravel()
    target = np.asarray(target).astype(np.int64).ravel()
    keep = target != 255                                   # void pixels are not counted
    index = k * target[keep] + pred[keep]
    return np.bincount(index, minlength=k * k).reshape(k, k)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_confusion_from_scores", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_confusion_from_scores(confusion_from_scores)


# %% [markdown]
# ## 4 · Mean IoU per image, then over images (2 points)
#
# The lesson scored one image. With several, `metrics.mean_iou` pools all their pixels into one
# confusion matrix before scoring; many papers instead score each image on its own and average
# the images. `image_mean_iou(pred, target, num_classes)` takes label maps `(N, H, W)`; for
# each image, compute every class's IoU from that image's pixels and average the classes that occur
# in the image's prediction *or* target; return the mean of those `N` numbers as a float.

# %% nbgrader={"grade": false, "grade_id": "image_mean_iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def image_mean_iou(pred, target, num_classes):
    ### BEGIN SOLUTION
    k = num_classes
    scores = []
    for p, t in zip(np.asarray(pred), np.asarray(target)):
        index = k * t.astype(np.int64).ravel() + p.astype(np.int64).ravel()
        cm = np.bincount(index, minlength=k * k).reshape(k, k)
        tp = np.diag(cm).astype(float)
        union = cm.sum(0) + cm.sum(1) - tp
        occurs = union > 0
        scores.append(np.mean(tp[occurs] / union[occurs]))
    return float(np.mean(scores))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_image_mean_iou", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_image_mean_iou(image_mean_iou)

# %% [markdown]
# ## 5 · Paint a mask that scores exactly IoU 0.5 (1 point)
#
# Run the next cell: it shows an editor that scores your painting against a 4×4 target (the
# *show target* button reveals it). Paint with the mouse until the readout says **IoU 0.500**
# with **at least one false positive and at least one false negative** (a painted pixel outside
# the target, and a target pixel left unpainted); there are several answers.
#
# Grading re-runs your notebook from the top in a fresh kernel, where mouse strokes do not exist,
# so your answer is the mask written *as text*. Run the cell under the editor: it prints your
# painting as rows of `.` (background) and `#` (painted). Paste those rows into the answer cell as
# `painted = """` … `"""`, then run the check.

# %% nbgrader={"grade": false, "grade_id": "paint_editor", "locked": true, "schema_version": 3, "solution": false, "task": false}
target = np.array([[0, 0, 0, 0],
                   [0, 1, 1, 0],
                   [0, 1, 1, 0],
                   [0, 0, 0, 0]])
editor = MaskEditor(shape=(4, 4), target=target, class_names=["background", "object"],
                    hide_target=True)
editor

# %% nbgrader={"grade": false, "grade_id": "paint_as_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
print("\n".join("".join("#" if v else "." for v in row) for row in editor.mask))

# %% nbgrader={"grade": false, "grade_id": "paint", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
# three of the four target pixels (1 FN) and two pixels above the target (2 FP): IoU 3 / (3 + 2 + 1)
painted = """
.##.
.##.
.#..
....
"""
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "check_paint", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_painted_mask(painted, target, goal=0.5, editor=editor, min_fp=1, min_fn=1)

# %% [markdown]
# ## 6 · Empty masks in a mean (2 points)
#
# A car model is scored on eight road images. For each image you get the car pixels that both
# masks share (`intersection`) and the car pixels that either mask has (`union`). An image with
# no car in the truth *and* none predicted has union 0: two empty masks, IoU 0 / 0.
# `car_means(intersection, union)` returns the mean car IoU over the images three times, as
# `(as_zero, as_one, skipped)`: with each 0 / 0 image scored 0, scored 1, and left out of the mean
# (NaN, as the course does). Any other image keeps its IoU, a real 0 included. When your answer
# passes, the check prints the three means of its first case: eight images, four of them car-free.

# %% nbgrader={"grade": false, "grade_id": "car_means", "locked": false, "schema_version": 3, "solution": true, "task": false}
def car_means(intersection, union):
    ### BEGIN SOLUTION
    inter = np.asarray(intersection, dtype=float)
    union = np.asarray(union, dtype=float)
    empty = union == 0
    iou = np.divide(inter, union, out=np.zeros_like(union), where=~empty)
    skipped = iou[~empty].mean() if (~empty).any() else float("nan")
    return float(iou.mean()), float(np.where(empty, 1.0, iou).mean()), float(skipped)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_car_means", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_empty_conventions(car_means)


# %% [markdown]
# ## 7 · Boundary IoU, from the image size (2 points)
#
# Lesson 00 §7 drew the band that boundary IoU compares and took the score from `metrics`. Write
# the whole score: `boundary_iou(pred, target, dilation_ratio)` returns the IoU of the two masks'
# bands, and `np.nan` when both bands are empty. Three steps:
#
# 1. the band width `d = max(1, round(dilation_ratio × diagonal))`, the diagonal of the image
#    being `sqrt(H² + W²)`;
# 2. each mask's band: the mask minus its erosion by a 3×3 square applied `d` times; a pixel
#    outside the image counts as background, so a mask touching the image edge has a band there;
# 3. the IoU of the two bands.
#
# Any nonzero value is "object". Use numpy and `scipy.ndimage` (`binary_erosion` or
# `minimum_filter`); the check compares your score with `metrics.boundary_iou` on images of several
# sizes and ratios, where rounding `d` down or up, or a band of the wrong shape, gives another number.

# %% nbgrader={"grade": false, "grade_id": "boundary_iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
from scipy import ndimage


def boundary_iou(pred, target, dilation_ratio):
    ### BEGIN SOLUTION
    p = np.asarray(pred) != 0
    t = np.asarray(target) != 0
    d = max(1, int(round(dilation_ratio * np.hypot(*t.shape))))
    size = 2 * d + 1                     # d erosions by a 3×3 square = one by a (2d+1)-square
    bp = p & ~ndimage.minimum_filter(p, size=size, mode="constant", cval=False)
    bt = t & ~ndimage.minimum_filter(t, size=size, mode="constant", cval=False)
    union = np.count_nonzero(bp | bt)
    return np.count_nonzero(bp & bt) / union if union else float("nan")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_boundary_iou", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_boundary_iou(boundary_iou)

# %% [markdown]
# ## 8 · Which classes does this model confuse? (1 point)
#
# A road-scene model's confusion matrix over a validation set (rows = true class, columns =
# predicted class, in the order of `names`). Which *pair* of classes does it mix up most? Count
# both directions: the pixels of class *i* called *j* and those of *j* called *i*. Answer with the
# two names, in any order, as `confused = ("...", "...")`.

# %% nbgrader={"grade": false, "grade_id": "confusion_given", "locked": true, "schema_version": 3, "solution": false, "task": false}
names = ["sky", "road", "sidewalk", "lane marking", "car"]
cm = np.array([[900,    0,   2,  0,   5],
               [  0, 1500,  22,  5,  25],
               [  3,   19, 400,  0,   4],
               [  0,   30,   0, 60,   0],
               [  6,   20,   3,  0, 110]])

# %% nbgrader={"grade": false, "grade_id": "confused", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
# 25 + 20 = 45: the largest cm[i, j] + cm[j, i] off the diagonal (road/sidewalk 41,
# road/lane marking 35 with the largest single cell, 30)
confused = ("road", "car")
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "check_confused", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_confused_pair(confused, cm, names)


# %% [markdown]
# ## 9 · Class ids from a colour-coded mask, and back (2 points)
#
# Some data sets store a mask as an RGB picture, and a palette PNG read as RGB is one too (lesson
# 00 §1b and Appendix F). `table` is a dict `{class id: (r, g, b)}` whose ids need not be 0, 1, 2, ...: Cityscapes
# calls road 7 and car 26.
#
# * `rgb_to_ids(rgb, table)`: `rgb` is uint8 of shape `(H, W, 3)` or, for a batch,
#   `(N, H, W, 3)`. Return an integer array of shape `rgb.shape[:-1]`: at each pixel the id whose
#   colour equals the pixel's in all three channels, and 255 (void) where no colour of the table
#   does, as on VOC's light border (224, 224, 192) or a blended edge pixel.
# * `ids_to_rgb(ids, table)`, the way back: a uint8 picture of shape `ids.shape + (3,)`, each
#   pixel in its id's colour and the void id 255 in VOC's void colour (224, 224, 192).
#
# The check also runs round trips ids → RGB → ids, which must give the ids back.

# %% nbgrader={"grade": false, "grade_id": "rgb_to_ids", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rgb_to_ids(rgb, table):
    ### BEGIN SOLUTION
    rgb = np.asarray(rgb)
    keys = np.array(list(table))
    colours = np.array(list(table.values()))
    same = (rgb[..., None, :] == colours).all(axis=-1)       # (..., C): pixel colour == row c's?
    return np.where(same.any(axis=-1), keys[same.argmax(axis=-1)], 255)
    ### END SOLUTION


def ids_to_rgb(ids, table):
    ### BEGIN SOLUTION
    lut = np.zeros((256, 3), np.uint8)                       # one row per possible id
    lut[list(table)] = list(table.values())
    lut[255] = (224, 224, 192)                               # void
    return lut[np.asarray(ids)]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_rgb_to_ids", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_rgb_to_ids(rgb_to_ids, ids_to_rgb)


# %% [markdown]
# ## 10 · One-hot and back, on a batch (1 point)
#
# Lesson 00 §1 turned one 3×3 label map into a one-hot stack `(K, H, W)` and back. A model is
# trained on batches, and its targets hold void pixels:
#
# * `to_one_hot(labels, num_classes)`: `labels` has shape `(N, H, W)`. Return 0/1 of shape
#   `(N, K, H, W)`, `K = num_classes`: channel `c` of image `n` is 1 where `labels[n] == c`. A void
#   pixel (255) is no class: all `K` of its channels are 0.
# * `from_one_hot(one_hot)`, the way back: integer ids of shape `(N, H, W)`, and 255 where no
#   channel is 1.

# %% nbgrader={"grade": false, "grade_id": "one_hot_batch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def to_one_hot(labels, num_classes):
    ### BEGIN SOLUTION
    labels = np.asarray(labels)
    classes = np.arange(num_classes)[:, None, None]           # (K, 1, 1), against (N, 1, H, W)
    return (labels[:, None] == classes).astype(np.uint8)      # 255 equals no class: all 0
    ### END SOLUTION


def from_one_hot(one_hot):
    ### BEGIN SOLUTION
    hot = np.asarray(one_hot) != 0
    return np.where(hot.any(axis=1), hot.argmax(axis=1), 255)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_one_hot_batch", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_one_hot_batch(to_one_hot, from_one_hot)


# %% [markdown]
# ## 11 · Draw an overlay, and write a failure note (2 points)
#
# Lesson 00 §8 blended a mask over its image. Now you draw the practice output yourself, on a
# new stain image (`stain_image`, float RGB from 0 to 1, and its true mask `stain_truth`):
#
# 1. `overlay(image, mask, colour, alpha)` returns a new `(H, W, 3)` float picture:
#    `(1 - alpha) * image + alpha * colour / 255` where `mask` is nonzero, and the image unchanged
#    elsewhere. `colour` is `(r, g, b)` from 0 to 255; any nonzero mask value is "object".
# 2. Plant **one** fault in a copy of the truth, as a model might make it: shift the mask by 1 to
#    3 pixels, cut a part off, or add pixels. Call it `faulty`.
# 3. Write `note`, one line that names the fault and says how many pixels are wrong (FP + FN:
#    count them with numpy). Name the fault with one of these words (or a longer form of it, such
#    as *shifted*): a shift — *shift*, *moved*, *offset*, *displaced*, *translated*; a missing
#    part — *missing*, *cut*, *lost*, *hole*, *dropped*, *removed*; extra pixels — *extra*,
#    *added*, *spill*, *leak*, *grown*. Name one kind only (a shift's note may also say which side
#    is missing and which is extra).
#
# The cell after your answer draws your overlay next to the image. The check compares your
# `overlay` pixel by pixel with the blend on several images and masks, then reads your note
# against the fault in `faulty`.

# %% nbgrader={"grade": false, "grade_id": "overlay_given", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt
from segcourse import palette, viz

rng = np.random.default_rng(5)
yy, xx = np.mgrid[:32, :32]
stain_truth = (yy - 15) ** 2 / 50 + (xx - 16) ** 2 / 90 < 1           # an ellipse of 'defect'
stain_image = np.full((32, 32, 3), 0.55) + 0.04 * rng.standard_normal((32, 32, 3))
stain_image[stain_truth] -= 0.25                                       # the stain is darker
stain_image = stain_image.clip(0, 1)
print("image", stain_image.shape, "| true stain pixels:", stain_truth.sum())

# %% nbgrader={"grade": false, "grade_id": "overlay_note", "locked": false, "schema_version": 3, "solution": true, "task": false}
def overlay(image, mask, colour, alpha):
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype=float)
    paint = np.asarray(colour, dtype=float) / 255.0
    inside = np.asarray(mask)[..., None] != 0             # (H, W, 1): broadcasts over r, g, b
    return np.where(inside, (1 - alpha) * image + alpha * paint, image)
    ### END SOLUTION


### BEGIN SOLUTION
faulty = np.roll(stain_truth, 2, axis=1)                  # the fault: the stain 2 px to the right
wrong = int((faulty != stain_truth).sum())                # FP + FN
print("FP:", (faulty & ~stain_truth).sum(), "FN:", (stain_truth & ~faulty).sum(), "wrong:", wrong)
note = f"the stain is shifted 2 px right: {wrong} pixels wrong, on its left and right edges"
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "overlay_figure", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:                         # your overlay; until it runs, this cell still runs
    drawn = overlay(stain_image.copy(), faulty, palette.DEFECT_PALETTE[1], 0.45)
    title = "faulty over the image"
except Exception as err:                 # noqa: BLE001
    drawn, title = stain_image, f"not yet ({type(err).__name__} above)"
handles = viz.legend_handles(["surface", "defect (faulty)"], palette.DEFECT_PALETTE)[1:]
fig = viz.overlay_figure({"image": stain_image, title: drawn}, stain_truth, handles,
                         outline_label="true outline (white)", figsize=(6, 3.2))

# %% nbgrader={"grade": true, "grade_id": "check_overlay_note", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_overlay_note(overlay, stain_image, stain_truth, faulty, note)


# %% [markdown]
# ## 12 · Which prediction does boundary IoU flag? (1 point)
#
# Two predictions, `A` and `B`, of one round object score almost the same mask IoU. The cell below
# draws each one against the truth and prints its mask IoU. On this 40×40 image,
# `dilation_ratio = 0.02` gives bands 1 pixel wide.
#
# *Predict from the pictures, before any boundary IoU is printed:* which prediction's band overlaps
# the truth's band least, so boundary IoU gives it the lower score, and why? Answer with its name
# and a short reason that describes what happened to its outline in the picture (not which score
# is lower), as `flagged = ("...", "...")`. The cell after your answer prints both boundary IoUs
# from **your** `boundary_iou` of exercise 7 (fix exercise 7 first if it does not pass). Only this
# answer is graded here.

# %% nbgrader={"grade": false, "grade_id": "flag_given", "locked": true, "schema_version": 3, "solution": false, "task": false}
gy, gx = np.mgrid[:40, :40]
round_truth = (gy - 20) ** 2 + (gx - 19) ** 2 <= 81                    # a disc of radius 9
predictions = {"A": round_truth & ~((gy - 13) ** 2 + (gx - 26) ** 2 <= 36),
               "B": np.roll(round_truth, 1, axis=1)}
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
for ax, (key, p) in zip(axes, predictions.items()):
    viz.error_map(round_truth, p, ax=ax, title=f"prediction {key} against the truth")
    print(f"{key}: mask IoU {(p & round_truth).sum() / (p | round_truth).sum():.3f}")

# %% nbgrader={"grade": false, "grade_id": "boundary_flag", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
flagged = ("B", "its whole outline moved 1 px right, so the bands miss along the left and right sides")
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "flag_boundary_ious", "locked": true, "schema_version": 3, "solution": false, "task": false}
for key, p in predictions.items():          # your exercise 7; until it runs, this cell still runs
    try:
        print(f"{key}: boundary IoU {boundary_iou(p, round_truth, 0.02):.3f} (your exercise 7)")
    except Exception as err:                 # noqa: BLE001
        print(f"{key}: boundary IoU not yet ({type(err).__name__} in exercise 7)")

# %% nbgrader={"grade": true, "grade_id": "check_boundary_flag", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_boundary_flag(flagged, predictions, round_truth)
