# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 03 · Instance segmentation
#
# Count objects, score instances with panoptic quality, and choose between semantic and
# instance segmentation.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
from scipy import ndimage
from segcourse import checks, data, instances


# %% [markdown]
# ## 1 · Count the objects in a mask (1 point)
#
# `count_objects(mask)` returns how many 4-connected regions (pixels sharing an edge) a binary
# mask has. Then see how far that count is from the truth on touching cells.

# %% nbgrader={"grade": false, "grade_id": "count_objects", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_objects(mask):
    ### BEGIN SOLUTION
    return int(ndimage.label(np.asarray(mask))[1])
    ### END SOLUTION

cells = data.touching_cells(50, seed=4, overlap=0.1)
counted = np.array([count_objects(m) for m in cells.labels])
true = np.array([inst.max() for inst in cells.instances])
print("mean true count:", true.mean(), "| mean counted:", counted.mean())

# %% nbgrader={"grade": true, "grade_id": "check_count_objects", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_count_objects(count_objects)


# %% [markdown]
# ## 2 · Panoptic quality (3 points)
#
# `panoptic_quality(pred, gt)` returns PQ for two instance maps (0 = background, any positive
# ids): match instances with IoU > 0.5, then PQ = Σ IoU of matches / (TP + ½FP + ½FN); return
# NaN if both maps are empty. You may use `np.unique` and loops over instances (not pixels).

# %% nbgrader={"grade": false, "grade_id": "panoptic_quality", "locked": false, "schema_version": 3, "solution": true, "task": false}
def panoptic_quality(pred, gt):
    ### BEGIN SOLUTION
    pred, gt = np.asarray(pred), np.asarray(gt)
    p_ids = [i for i in np.unique(pred) if i > 0]
    g_ids = [i for i in np.unique(gt) if i > 0]
    matched_iou, matched_p, matched_g = 0.0, set(), set()
    for p in p_ids:
        pm = pred == p
        for g in g_ids:
            gm = gt == g
            inter = np.count_nonzero(pm & gm)
            if inter == 0:
                continue
            iou = inter / np.count_nonzero(pm | gm)
            if iou > 0.5:
                matched_iou += iou
                matched_p.add(p)
                matched_g.add(g)
    tp = len(matched_p)
    fp, fn = len(p_ids) - tp, len(g_ids) - len(matched_g)
    denom = tp + 0.5 * fp + 0.5 * fn
    return matched_iou / denom if denom else float("nan")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_panoptic_quality", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check_panoptic_quality(panoptic_quality)

# %% [markdown]
# ## 3 · Semantic or instance? (2 points)
#
# A coating line wants (a) the total area of paint defects per panel, and (b) for a second
# product, the number of screws lying in a tray, often touching. Which kind of segmentation fits
# each, and why?

# %% [markdown] nbgrader={"grade": true, "grade_id": "choice_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# (a) Semantic segmentation: the area of defects is the number of defect pixels; it does not
# matter how many separate defects there are or whether they touch, and one blob per class is
# enough. (b) Instance segmentation (or a semantic model plus a watershed/boundary step): counting
# needs each screw as its own object, and touching screws would merge into one blob in a semantic
# mask, giving a wrong count.
