# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 01 · Semantic segmentation
#
# Four exercises on lesson 01: class imbalance in numbers, IoU from a confusion matrix, an
# augmentation that keeps image and mask aligned, and reading a confusion matrix in words.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
from segcourse import checks, data, metrics, models, train


# %% [markdown]
# ## 1 · How imbalanced are the classes? (1 point)
#
# `pixel_shares(label_maps, num_classes)` returns, for each class, the fraction of all pixels
# (over the whole batch) that belong to it — an array of `num_classes` shares summing to 1.

# %% nbgrader={"grade": false, "grade_id": "pixel_shares", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pixel_shares(label_maps, num_classes):
    ### BEGIN SOLUTION
    counts = np.bincount(np.asarray(label_maps).ravel(), minlength=num_classes)
    return counts / counts.sum()
    ### END SOLUTION

roads = data.road_scenes(200, seed=5)
print(dict(zip(roads.class_names, np.round(pixel_shares(roads.labels, 5), 4).tolist())))

# %% nbgrader={"grade": true, "grade_id": "check_pixel_shares", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_pixel_shares(pixel_shares)


# %% [markdown]
# ## 2 · Per-class IoU from a confusion matrix (2 points)
#
# `iou_from_confusion(cm)`: with rows = truth and columns = prediction, return each class's
# TP / (TP + FP + FN) — NaN for a class with no pixels in either.

# %% nbgrader={"grade": false, "grade_id": "iou_from_confusion", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iou_from_confusion(cm):
    ### BEGIN SOLUTION
    cm = np.asarray(cm, dtype=float)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    return np.divide(tp, denom, out=np.full(len(tp), np.nan), where=denom > 0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_iou_from_confusion", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_iou_from_confusion(iou_from_confusion)


# %% [markdown]
# ## 3 · A flip that keeps the mask aligned (1 point)
#
# `flip_pair(image, label_map)` takes an `(H, W, 3)` image and its `(H, W)` label map and returns
# both flipped left-right.

# %% nbgrader={"grade": false, "grade_id": "flip_pair", "locked": false, "schema_version": 3, "solution": true, "task": false}
def flip_pair(image, label_map):
    ### BEGIN SOLUTION
    return image[:, ::-1], label_map[:, ::-1]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_flip_pair", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_aligned_flip(flip_pair)

# %% [markdown]
# ## 4 · Read a confusion matrix (2 points)
#
# The shipped model meets scenes from a shifted camera, as in lesson 01 §7: more sensor noise,
# stronger lighting changes and a sidewalk colour close to the road's. Which classes does it
# confuse, in which direction, and what share? The second table changes one knob at a time on the
# same scenes. What would you change first, and why not the model size?

# %% nbgrader={"grade": false, "grade_id": "shifted_cm", "locked": true, "schema_version": 3, "solution": false, "task": false}
shifted = data.road_scenes(100, seed=77, sidewalk_gap=0.03, noise=0.06, lighting=0.3)
res = train.evaluate(models.pretrained("roads"), shifted, device="cpu")
cm = metrics.confusion_matrix(res["pred"], shifted.labels, 5)
print("rows = truth, columns = prediction, each row as shares:")
print((cm / cm.sum(1, keepdims=True)).round(3))

knobs = {"lighting": 0.3, "noise": 0.06, "sidewalk_gap": 0.03}
print(f"\n{'one knob at a time':>22} |   mIoU | road IoU | sidewalk IoU | car IoU | sidewalk → road")
for label, kw in [("as trained", {})] + [(f"{k} {v} only", {k: v}) for k, v in knobs.items()] + [("all three", knobs)]:
    scenes = data.road_scenes(100, seed=77, **kw)
    r = train.evaluate(models.pretrained("roads"), scenes, device="cpu")
    c = metrics.confusion_matrix(r["pred"], scenes.labels, 5)
    iou = r["per_class_iou"]
    print(f"{label:>22} | {r['miou']:.3f} | {iou[1]:8.3f} | {iou[2]:12.3f} | {iou[4]:7.3f} | {c[2, 1] / c[2].sum():15.3f}")

# %% [markdown] nbgrader={"grade": true, "grade_id": "cm_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The sidewalk row leaks most: 0.079 of the true sidewalk pixels are predicted as road (0.916 stay
# sidewalk). The road row loses 0.017 to sidewalk and 0.01 to car; sky, lane and car keep at least
# 0.991 on the diagonal. So road and sidewalk are confused, mostly in one direction. One knob at a
# time shows where it comes from: lighting alone costs almost nothing (mIoU 0.997 → 0.996), noise
# alone hurts the cars (car IoU 0.989 → 0.92) and the sidewalk colour alone (`sidewalk_gap`) blurs
# road and sidewalk (0.999 → 0.977 and 0.981); only all three together send 0.079 of the sidewalk
# to road (mIoU 0.908), far more than the single rows add up to: the knobs compound, and one knob
# at a time from the trained camera says which knob hurts on its own, not which ones matter
# together. So change the data for the whole shift: train with pixel-noise augmentation together
# with colour and brightness jitter, which lesson 01 measured as the fix for this camera, and then
# add images where sidewalk and road are this close in colour. A bigger model trained on the same data would learn the same shortcut.
