# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 00 · Masks and IoU
#
# Write each function in the cell marked for your answer, then run the check cell under it. A
# check runs your code on many cases — the 3×3 masks of lesson 00, empty masks, batches, random masks
# compared with `segcourse.metrics` — and, when something is off, tells you *what* and gives a
# hint. Use numpy; do not call `segcourse.metrics` in your answers (that is the reference).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
from segcourse import checks
from segcourse.widgets import MaskEditor


# %% [markdown]
# ## 1 · IoU of two binary masks (2 points)
#
# `iou(pred, target)` takes two masks of the same shape, `(H, W)` or a batch `(N, H, W)`, of bool
# or 0/1 values, and returns |P ∩ T| / |P ∪ T| as a float — and `np.nan` when both masks are empty.

# %% nbgrader={"grade": false, "grade_id": "iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iou(pred, target):
    ### BEGIN SOLUTION
    p = np.asarray(pred).astype(bool)
    t = np.asarray(target).astype(bool)
    union = np.count_nonzero(p | t)
    if union == 0:
        return float("nan")
    return np.count_nonzero(p & t) / union
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_iou", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_iou(iou)


# %% [markdown]
# ## 2 · Dice (1 point)
#
# `dice(pred, target)` = 2 |P ∩ T| / (|P| + |T|), `np.nan` when both are empty.

# %% nbgrader={"grade": false, "grade_id": "dice", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dice(pred, target):
    ### BEGIN SOLUTION
    p = np.asarray(pred).astype(bool)
    t = np.asarray(target).astype(bool)
    total = np.count_nonzero(p) + np.count_nonzero(t)
    if total == 0:
        return float("nan")
    return 2 * np.count_nonzero(p & t) / total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_dice", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_dice(dice)


# %% [markdown]
# ## 3 · The confusion matrix (2 points)
#
# `confusion_matrix(pred, target, num_classes)` returns a `(K, K)` integer array whose entry
# `[i, j]` counts pixels of true class `i` predicted as class `j`. One `np.bincount` over a combined
# index does it without any Python loop over pixels. Careful with uint8 inputs.

# %% nbgrader={"grade": false, "grade_id": "confusion_matrix", "locked": false, "schema_version": 3, "solution": true, "task": false}
def confusion_matrix(pred, target, num_classes):
    ### BEGIN SOLUTION
    k = num_classes
    index = k * np.asarray(target).astype(np.int64).ravel() + np.asarray(pred).astype(np.int64).ravel()
    return np.bincount(index, minlength=k * k).reshape(k, k)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_confusion_matrix", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_confusion_matrix(confusion_matrix)


# %% [markdown]
# ## 4 · Mean IoU over classes (2 points)
#
# `mean_iou(pred, target, num_classes)`: per-class IoU from your confusion matrix, then the mean
# over the classes that occur (a class absent from both masks is NaN and is skipped).

# %% nbgrader={"grade": false, "grade_id": "mean_iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mean_iou(pred, target, num_classes):
    ### BEGIN SOLUTION
    cm = confusion_matrix(pred, target, num_classes)
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1) - tp
    per_class = np.divide(tp, denom, out=np.full(len(tp), np.nan), where=denom > 0)
    return float(np.nanmean(per_class))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_mean_iou", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_mean_iou(mean_iou)

# %% [markdown]
# ## 5 · Paint a mask that scores exactly IoU 0.5 (1 point)
#
# Run the next cell: it shows an editor that scores your painting against a 4×4 target (the
# *show target* button reveals it). Paint with the mouse until the readout says **IoU 0.500**;
# there are many answers.
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
editor = MaskEditor(shape=(4, 4), target=target)
editor

# %% nbgrader={"grade": false, "grade_id": "paint_as_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
print("\n".join("".join("#" if v else "." for v in row) for row in editor.mask))

# %% nbgrader={"grade": false, "grade_id": "paint", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
painted = """
....
.##.
....
....
"""  # two of the four target pixels and nothing else: IoU 2 / 4
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "check_paint", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_painted_mask(painted, target, goal=0.5, editor=editor)

# %% [markdown]
# ## 6 · In your own words (2 points)
#
# An image contains no car and the model predicts no car. Why does the course return NaN for the
# car IoU of this image instead of 0 or 1, and what would each alternative do to a mean IoU over
# a data set where most images have no car?

# %% [markdown] nbgrader={"grade": true, "grade_id": "empty_masks_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# 0/0 has no value: the image says nothing about how well cars are segmented. Returning 0 would
# punish a correct "no car" and drag the mean down for every car-free image; returning 1 would
# reward it and inflate the mean with trivially easy images, hiding how badly the real cars are
# segmented. NaN lets the average skip the image, so the car score comes only from images that
# contain a car or a predicted car.
