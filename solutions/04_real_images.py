# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 04 · Real images
#
# Prepare a real microscope image for a model trained elsewhere, score instances with a
# matching-based F1, and explain how to split one image without leaking.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from segcourse import checks, data, instances

image, truth = data.nuclei_image()
print("raw image:", image.dtype, image.min(), "to", image.max(), "| nuclei:", len(np.unique(truth)) - 1)

# %% [markdown]
# ## 1 · Normalise an image for a model trained elsewhere (2 points)
#
# A model trained on images with values in [0, 1] gets raw 16-bit counts from a microscope.
# Write `normalize(image, low, high)`: map the `low`-th percentile of the image to 0 and the
# `high`-th percentile to 1, clip the result to [0, 1], and return floats. Percentiles rather
# than the minimum and maximum, so that a few saturated pixels cannot squash everything else.

# %% nbgrader={"grade": false, "grade_id": "normalize", "locked": false, "schema_version": 3, "solution": true, "task": false}
def normalize(image, low=1.0, high=99.8):
    ### BEGIN SOLUTION
    img = np.asarray(image, dtype=np.float32)
    lo, hi = np.percentile(img, [low, high])
    return np.clip((img - lo) / (hi - lo), 0, 1)
    ### END SOLUTION


x = normalize(image, 1, 99.8)
print(f"normalised: {x.dtype}, {x.min():.1f} to {x.max():.1f}; "
      f"median of the nuclei {np.median(x[truth > 0]):.2f}, of the background {np.median(x[truth == 0]):.2f}")

# %% nbgrader={"grade": true, "grade_id": "check_normalize", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_percentile_normalize(normalize)

# %% [markdown]
# ## 2 · Matching-based F1 at IoU 0.5 (2 points)
#
# Write `f1_at_50(pred, gt)` for two instance maps (0 = background, any positive ids): match
# predicted and true instances one-to-one where their IoU is **above** 0.5, then
# F1 = 2·TP / (2·TP + FP + FN); return NaN when neither map has an instance. You may use
# `instances.iou_matrix` (the IoU of every pair) — but not `match_instances`. Then score a
# watershed baseline on the right half of the image.

# %% nbgrader={"grade": false, "grade_id": "f1_at_50", "locked": false, "schema_version": 3, "solution": true, "task": false}
def f1_at_50(pred, gt):
    ### BEGIN SOLUTION
    ious, pred_ids, gt_ids = instances.iou_matrix(pred, gt)
    tp = int(np.count_nonzero(ious > 0.5))  # above 0.5 each instance has at most one partner
    fp, fn = len(pred_ids) - tp, len(gt_ids) - tp
    total = 2 * tp + fp + fn
    return 2 * tp / total if total else float("nan")
    ### END SOLUTION


from scipy import ndimage
from skimage.filters import threshold_otsu

smooth = ndimage.gaussian_filter(data.normalize_percentile(image), 1.0)
baseline = instances.separate_touching(smooth > threshold_otsu(smooth), min_distance=3, smooth=1)
print(f"watershed baseline, right half: F1 at IoU 0.5 = {f1_at_50(baseline[:, 256:], truth[:, 256:]):.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_f1_at_50", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_matching_f1(f1_at_50)

# %% [markdown]
# ## 3 · A split that does not leak (2 points)
#
# You have one annotated image and want to fine-tune a model on part of it and test on the rest.
# Why would choosing 20 % of the *pixels* at random as the test set give a misleadingly good
# score? What would you do instead, and what does your choice still *not* tell you?

# %% [markdown] nbgrader={"grade": true, "grade_id": "split_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Neighbouring pixels are nearly identical (they belong to the same nucleus, with almost the same
# value), so with a random pixel split every test pixel has training pixels right next to it and
# every test nucleus is also a training nucleus: the score measures memory of these nuclei, not
# how the model does on new ones. Instead split into regions that do not overlap (e.g. left half
# for training, right half for testing; nuclei cut by the line are the only shared ones, and a
# gap between the regions removes even those). It still uses one image from one microscope and
# one preparation: it says nothing about transfer to another lab, stain or instrument — that
# needs test images from there.
