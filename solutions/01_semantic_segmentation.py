# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 01 · Semantic segmentation
#
# Four exercises on lesson 01: class weights by another recipe, a weighted loss that ignores
# unlabelled pixels, an augmentation that keeps image and mask aligned, and reading a confusion
# matrix in words. The first two are variants of what the lesson showed, not copies: write them in
# numpy. The checks compare your numbers with `segcourse` and torch, so an answer that calls
# `segcourse` or torch's `cross_entropy` is refused even when its numbers are right.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
from segcourse import checks, data, metrics, models, train


# %% [markdown]
# ## 1 · Median frequency weights, with an ignore label (1 point)
#
# Lesson 01 §2 derived class weights from inverse frequency. Another common recipe is **median
# frequency balancing** (Eigen & Fergus, 2015): a class's weight is the median class frequency
# divided by its own frequency, so a class of median frequency gets weight 1, rarer classes more,
# commoner ones less. Write `median_frequency_weights(label_maps, num_classes, ignore_index=255)`:
#
# * a class's frequency is its share of the pixels that are **not** `ignore_index` (unlabelled
#   pixels belong to no class), counted over the whole batch;
# * the median is taken over the classes that occur (frequency > 0);
# * a class with no pixels gets weight 0 (there is nothing to up-weight);
# * return two arrays of `num_classes` numbers: `(frequencies, weights)`. The frequencies let the
#   check see what you divided by: `median(f) / f` does not change when every frequency is scaled
#   by the same factor, so the weights alone cannot show it.
#
# (The original paper counts a class's frequency only over the images that contain it; the simpler
# whole-batch version here is what many code bases use.)

# %% nbgrader={"grade": false, "grade_id": "median_frequency_weights", "locked": false, "schema_version": 3, "solution": true, "task": false}
def median_frequency_weights(label_maps, num_classes, ignore_index=255):
    ### BEGIN SOLUTION
    lm = np.asarray(label_maps).ravel()
    lm = lm[lm != ignore_index].astype(np.int64)
    counts = np.bincount(lm, minlength=num_classes)
    freq = counts / counts.sum()
    present = freq > 0
    weights = np.zeros(num_classes)
    weights[present] = np.median(freq[present]) / freq[present]
    return freq, weights
    ### END SOLUTION

roads = data.road_scenes(200, seed=5)
freq, weights = median_frequency_weights(roads.labels, 5)
print("frequencies:", dict(zip(roads.class_names, np.round(freq, 4).tolist())))
print("weights    :", dict(zip(roads.class_names, np.round(weights, 3).tolist())))

# %% nbgrader={"grade": true, "grade_id": "check_median_frequency_weights", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_median_frequency_weights(median_frequency_weights)


# %% [markdown]
# ## 2 · Weighted cross-entropy that ignores unlabelled pixels (2 points)
#
# Lesson 01 §5 passed `ignore_index=255` and class weights to torch's cross-entropy. Write the same
# loss in numpy: `weighted_cross_entropy(logits, target, class_weights, ignore_index=255)` with
# `logits` of shape `(N, K, H, W)` and `target` `(N, H, W)`. For every pixel whose target is not
# `ignore_index`, its loss is `-log softmax(logits)[true class]` (softmax over the class axis 1);
# return the weighted mean of those losses, each weighted by its true class's weight — which means
# dividing by the **sum of the weights**, as torch does. It must stay finite for very large logits.

# %% nbgrader={"grade": false, "grade_id": "weighted_cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def weighted_cross_entropy(logits, target, class_weights, ignore_index=255):
    ### BEGIN SOLUTION
    z = np.asarray(logits, dtype=float)
    z = z - z.max(axis=1, keepdims=True)                       # log-sum-exp: nothing overflows
    log_prob = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    target = np.asarray(target)
    keep = target != ignore_index
    t = np.where(keep, target, 0).astype(np.int64)
    nll = -np.take_along_axis(log_prob, t[:, None], axis=1)[:, 0]
    w = np.asarray(class_weights, dtype=float)[t]
    return float((w * nll)[keep].sum() / w[keep].sum())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_weighted_cross_entropy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_weighted_cross_entropy(weighted_cross_entropy)


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
model = models.pretrained("roads")
knobs = {"lighting": 0.3, "noise": 0.06, "sidewalk_gap": 0.03}
shifted = data.road_scenes(100, seed=77, **knobs)
res = train.evaluate(model, shifted, device="cpu")
cm = metrics.confusion_matrix(res["pred"], shifted.labels, 5)
print("rows = truth, columns = prediction, each row as shares:")
print((cm / cm.sum(1, keepdims=True)).round(3))

print(f"\n{'one knob at a time':>22} |   mIoU | road IoU | sidewalk IoU | car IoU | sidewalk → road")
for label, kw in [("as trained", {})] + [(f"{k} {v} only", {k: v}) for k, v in knobs.items()] + [("all three", knobs)]:
    scenes = shifted if kw == knobs else data.road_scenes(100, seed=77, **kw)
    r = res if kw == knobs else train.evaluate(model, scenes, device="cpu")   # all three: the run above
    c = metrics.confusion_matrix(r["pred"], scenes.labels, 5)
    iou = r["per_class_iou"]
    print(f"{label:>22} | {r['miou']:.3f} | {iou[1]:8.3f} | {iou[2]:12.3f} | {iou[4]:7.3f} | {c[2, 1] / c[2].sum():15.3f}")

# %% [markdown] nbgrader={"grade": true, "grade_id": "cm_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The sidewalk row leaks most: 0.079 of the true sidewalk pixels are predicted as road (0.916 stay
# sidewalk). The road row loses 0.017 to sidewalk and 0.01 to car; sky, lane and car keep at least
# 0.991 on the diagonal. So road and sidewalk are confused, mostly in one direction. One knob at a
# time shows where it comes from: lighting alone costs almost nothing (mIoU 0.997 → 0.996), noise
# alone hurts the cars (car IoU 0.989 → 0.920) and the sidewalk colour alone (`sidewalk_gap`) blurs
# road and sidewalk (0.999 → 0.977 and 0.981); only all three together send 0.079 of the sidewalk
# to road (mIoU 0.908), far more than the single rows add up to: the knobs compound, and one knob
# at a time from the trained camera says which knob hurts on its own, not which ones matter
# together. So change the data for the whole shift: train with pixel-noise augmentation together
# with colour and brightness jitter, which lesson 01 measured as the fix for this camera, and then
# add images where sidewalk and road are this close in colour. A bigger model trained on the same data would learn the same shortcut.
