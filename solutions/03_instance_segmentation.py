# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 03 · Instance segmentation
#
# Seven exercises, each a variant of what the lesson printed: count cells, score instances with
# panoptic quality, tune your own watershed on noisy masks, make a signed distance target and
# train a network on it, score ranked objects with COCO's AP, choose semantic or instance
# segmentation, and explain the evidence card's failure. Write them with numpy, `scipy.ndimage`
# and scikit-image: the checks refuse the lesson's `instances` helpers in the functions you
# write (the given cells of exercises 3 and 7 use some, to score and to set up).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.segmentation import watershed
from segcourse import checks, data, instances


# %% [markdown]
# ## 1 · Count the cells in a mask (1 point)
#
# `count_cells(mask, min_size)` returns how many **8-connected** regions (pixels sharing an edge
# *or a corner*) of a binary mask have at least `min_size` pixels; smaller specks are noise, not
# cells. (The lesson used 4-connectivity and kept every region.)

# %% nbgrader={"grade": false, "grade_id": "count_cells", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_cells(mask, min_size):
    ### BEGIN SOLUTION
    labels, _ = ndimage.label(np.asarray(mask), structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())[1:]      # pixels per region, background dropped
    return int(np.sum(sizes >= min_size))
    ### END SOLUTION

demo = data.touching_cells(50, seed=4, overlap=0.1, isolated=0.5)
counted = np.array([count_cells(m, 10) for m in demo.labels])
true = np.array([inst.max() for inst in demo.instances])
print("mean true count:", true.mean(), "| mean counted:", counted.mean())

# %% [markdown]
# The mean count falls short of the mean number of cells (the line above): touching cells form one
# 8-connected region, however well the specks are filtered. Exercise 3 splits them.

# %% nbgrader={"grade": true, "grade_id": "check_count_cells", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_count_cells(count_cells)


# %% [markdown]
# ## 2 · Panoptic quality (3 points)
#
# `panoptic_quality(pred, gt)` returns PQ for two instance maps (0 = background, any positive
# ids): match instances with IoU > 0.5, then PQ = Σ IoU of matches / (TP + ½FP + ½FN). When one
# map is empty and the other is not, PQ is 0; return NaN only if both maps are empty. You may use
# `np.unique` and loops over instances (not pixels).

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
# ## 3 · Your own watershed on a noisy mask (3 points)
#
# `split_cells(mask, min_distance)` takes a binary mask of cells and returns an instance map (0
# background, 1, 2, ... one id per cell). The cells of this exercise are about **three times
# larger** (`radius=(18.0, 26.0)` px instead of the lesson's `(5.0, 9.0)`), and their masks are
# **noisy**, like a threshold of a noisy microscope image: `pinholes` below drops 2% of the
# cell pixels at random and 10% of the pixels on each outline. The same cell counts what that does
# to the markers of the lesson's recipe (distance transform, markers at its peaks at least
# `min_distance` apart within each connected component, `watershed` of the negative distance
# inside the mask).
# Your `split_cells` needs a step the lesson did not write: think about what a one-pixel hole does
# to the distance map, and choose the step (and its size) that undoes it.
#
# Then choose the knob as section 5a of the lesson did: the cell after `split_cells` sweeps
# `min_distance` over a **tuning set** of such images and prints the objects found and the pooled
# PQ for each value. Set `MIN_DISTANCE` to the value with the highest pooled PQ. The check reruns
# that sweep, then scores your choice on held-back images: you pass with a pooled PQ of at least
# 0.85 (the check prints the bar).

# %% nbgrader={"grade": false, "grade_id": "pinholes", "locked": true, "schema_version": 3, "solution": false, "task": false}
def pinholes(masks, seed):
    """The masks as a noisy threshold gives them: 2% of the cell pixels dropped, and 10% of each outline."""
    cells = np.asarray(masks).astype(bool)
    rng = np.random.default_rng(seed)
    outline = cells & ~ndimage.binary_erosion(cells, np.ones((1, 3, 3), bool))
    u = rng.random(cells.shape)
    return (cells & (u >= 0.02) & ~(outline & (u < 0.1))).astype(np.uint8)

tuning = data.touching_cells(40, size=128, seed=7, overlap=0.2, isolated=0.5, radius=(18.0, 26.0), num_cells=(2, 5))
noisy = pinholes(tuning.labels, seed=7)
print(f"tuning set: {sum(int(t.max()) for t in tuning.instances)} cells in {len(tuning.labels)} images; "
      f"{np.count_nonzero(tuning.labels & ~noisy)} of {np.count_nonzero(tuning.labels)} cell pixels dropped")
for name, masks in (("clean", tuning.labels), ("noisy", noisy)):   # the lesson's markers, 10 px apart for these cells
    peaks = sum(len(peak_local_max(ndimage.distance_transform_edt(m), min_distance=10, labels=ndimage.label(m)[0],
                                   exclude_border=False)) for m in masks)
    print(f"{name} masks: {peaks} peaks of the distance map (min_distance=10) for "
          f"{sum(int(t.max()) for t in tuning.instances)} cells")

# %% nbgrader={"grade": false, "grade_id": "split_cells", "locked": false, "schema_version": 3, "solution": true, "task": false}
def split_cells(mask, min_distance):
    ### BEGIN SOLUTION
    # A pinhole is a 0 inside a cell: around it the distance drops to 1 px, so a cell grows many peaks.
    # A 3×3 closing (dilate, then erode) fills one-pixel holes and notches before the distance is taken.
    mask = ndimage.binary_closing(np.asarray(mask).astype(bool), np.ones((3, 3)))
    dist = ndimage.distance_transform_edt(mask)
    regions = ndimage.label(mask)[0]
    peaks = peak_local_max(dist, min_distance=min_distance, labels=regions, exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-dist, markers, mask=mask)
    ### END SOLUTION

print(f"{'min_distance':>12} | objects | pooled PQ")
sweep = {}
for md in (2, 4, 6, 8, 12):
    found = [split_cells(m, md) for m in noisy]
    sweep[md] = instances.dataset_panoptic_quality(found, tuning.instances)["pq"]
    print(f"{md:>12} | {sum(len(np.unique(f)) - 1 for f in found):7d} | {sweep[md]:.3f}")

# %% nbgrader={"grade": false, "grade_id": "min_distance", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
MIN_DISTANCE = max(sweep, key=sweep.get)     # the highest pooled PQ on the tuning set
### END SOLUTION
print("MIN_DISTANCE =", MIN_DISTANCE)

# %% nbgrader={"grade": true, "grade_id": "check_split_cells", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check_split_cells(split_cells, MIN_DISTANCE)

# %% [markdown]
# ## 4 · A signed distance target (2 points)
#
# The lesson's target (section 7) is 0 on all of the background: a network learns nothing there
# about how far the next cell is. A target used in the field fixes that (DL@MBL's instance
# segmentation exercise trains on one like it). The **signed distance** of a pixel is
#
# * inside a cell: its distance to the nearest pixel **outside that cell** (background, another
#   cell, or the image edge), as in the lesson: a cell's border pixel is at 1;
# * on background: **minus** its distance to the nearest cell pixel: a pixel next to a cell is at -1.
#
# Then it is squashed, `np.tanh(d / scale)`: tanh keeps it in (-1, 1), about linear for |d| below
# `scale` pixels and flattened beyond. A larger cell still tends to peak higher (the example prints
# the range of the peaks, and its smallest and largest cell). Its sign says inside or outside, so
# `target > 0` is the mask, and touching cells still dip between them.
#
# Write `signed_distance(inst, scale)` (instance map: 0 background, any positive ids; every map
# the check passes holds at least one cell) with numpy and `scipy.ndimage`.

# %% nbgrader={"grade": false, "grade_id": "signed_distance", "locked": false, "schema_version": 3, "solution": true, "task": false}
def signed_distance(inst, scale):
    ### BEGIN SOLUTION
    inst = np.asarray(inst)
    d = -ndimage.distance_transform_edt(inst == 0)          # background: minus the distance to the nearest cell pixel
    for cell in np.unique(inst[inst > 0]):
        inside = inst == cell
        own = ndimage.distance_transform_edt(np.pad(inside, 1))[1:-1, 1:-1]   # padded: the image edge is outside
        d[inside] = own[inside]
    return np.tanh(d / scale)
    ### END SOLUTION

example = data.touching_cells(1, seed=3, overlap=0.1).instances[0]
target = signed_distance(example, 5.0)
ids = np.unique(example[example > 0])
peak, area = ndimage.maximum(target, example, ids), ndimage.sum(example > 0, example, ids)
print(f"cells: {len(ids)} | target from {target.min():.3f} to {target.max():.3f} | "
      f"target > 0 is the cell mask: {np.array_equal(target > 0, example > 0)}")
print(f"each cell's peak: {min(peak):.2f} to {max(peak):.2f}; the smallest cell ({min(area):.0f} px) peaks at "
      f"{peak[np.argmin(area)]:.2f}, the largest ({max(area):.0f} px) at {peak[np.argmax(area)]:.2f}")

# %% nbgrader={"grade": true, "grade_id": "check_signed_distance", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_signed_distance(signed_distance)

# %% [markdown]
# ## 4b · Train a network on your target (3 points)
#
# Now learn the target from the image, as section 7 of the lesson did for its distance map. The
# cell below draws training images of smaller cells (48 × 48 px, 2 to 5 cells each).
#
# 1. Write `train_step(model, optimiser, images, targets)`: one step of gradient descent on the
#    mean squared error between `model(images)` and `targets`; return the loss as a number.
# 2. Turn each instance map of `train_set.instances` into **your** `signed_distance` target
#    (exercise 4, `SCALE = 5`), a tensor of shape (300, 1, 48, 48) like `model(images)`.
# 3. Train `model = models.TinyUNet(3, 1, width=8)` (after `torch.manual_seed(0)`) with the
#    lesson's recipe in fewer steps: Adam and `OneCycleLR` with `max_lr=1e-2`, `STEPS` steps,
#    each on a new random batch of `BATCH` images (drawn with a seeded `torch.Generator`).
#
# The check first runs your `train_step` on a one-layer model and compares the weights it
# leaves with one right step. Then it **seeds a watershed from your model's prediction** on 40
# images it never shows. It blurs the prediction with a Gaussian of σ = 1 px (a briefly trained
# map has small bumps), puts markers at the peaks at least 2 px apart and floods
# inside `prediction > 0` (`instances.watershed_from_distance(pred, pred > 0)`). You pass with a
# pooled PQ of at least 0.80. It also compares your `targets` with the
# signed distance (shape and values). The loop takes seconds to tens of seconds on a CPU.

# %% nbgrader={"grade": false, "grade_id": "train_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
from segcourse import models

SCALE, STEPS, BATCH = 5.0, 80, 10
train_set = data.touching_cells(300, size=48, seed=100, overlap=0.1, isolated=0.5, num_cells=(2, 5))
images = torch.from_numpy(train_set.images).permute(0, 3, 1, 2).contiguous()      # (300, 3, 48, 48)
print(f"{len(images)} training images of {images.shape[2]} × {images.shape[3]} px, "
      f"{sum(int(t.max()) for t in train_set.instances)} cells")

# %% nbgrader={"grade": false, "grade_id": "train_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_step(model, optimiser, images, targets):
    ### BEGIN SOLUTION
    loss = torch.nn.functional.mse_loss(model(images), targets)
    optimiser.zero_grad()                      # backward() adds to the gradients: clear last step's first
    loss.backward()
    optimiser.step()
    return loss.item()
    ### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "train_loop", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
targets = torch.from_numpy(np.stack([signed_distance(t, SCALE) for t in train_set.instances])).float()[:, None]
torch.manual_seed(0)
model = models.TinyUNet(3, 1, width=8)
optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=1e-2, total_steps=STEPS)
gen = torch.Generator().manual_seed(0)
model.train()
losses = []
for step in range(STEPS):
    idx = torch.randint(0, len(images), (BATCH,), generator=gen)   # a new random batch each step
    losses.append(train_step(model, optimiser, images[idx], targets[idx]))
    sched.step()
### END SOLUTION
print(f"targets of shape {tuple(targets.shape)} (model(images) is (N, 1, H, W)), from {float(targets.min()):.2f} to "
      f"{float(targets.max()):.2f}; the mean loss of the last 5 steps is below a tenth of the first 5: "
      f"{np.mean(losses[-5:]) < np.mean(losses[:5]) / 10}")

# %% nbgrader={"grade": true, "grade_id": "check_distance_training", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check_distance_training(train_step, model, targets)

# %% [markdown]
# ## 5 · COCO's AP of a data set, from instance maps (2 points)
#
# The lesson ranked six objects whose hits were given, and left the matching to
# `instances.dataset_average_precision`. Write both steps. `coco_ap(pred_maps, confidences,
# truth_maps, t)` returns COCO's AP at one IoU threshold `t`: `pred_maps[i]` and `truth_maps[i]` are
# the instance maps of image `i` (0 = background, any positive ids), and `confidences[i]` maps each
# predicted id of image `i` to its confidence.
#
# 1. **Match, image by image, in confidence order.** Take the objects of an image from the most
#    confident down. Each takes the true cell, not yet taken by a more confident object, that it
#    overlaps most, if that IoU is at least `t` (a hit); otherwise it is a false positive. Below
#    0.5 one object can overlap two cells by `t`, and two objects one cell: the order decides.
# 2. **Rank every object of every image in one list** by confidence, highest first (objects with
#    equal confidences may come in any order), and do what section 5b of the lesson did by hand:
#    precision and recall (hits so far / the true cells of *all* images) after each object, the
#    envelope, and its mean at the 101 recall levels (0 at a level never reached).
#
# Write it with numpy; the lesson's `instances` AP helpers are refused.

# %% nbgrader={"grade": false, "grade_id": "coco_ap", "locked": false, "schema_version": 3, "solution": true, "task": false}
def coco_ap(pred_maps, confidences, truth_maps, t):
    ### BEGIN SOLUTION
    scores, hits, n_true = [], [], 0
    for pred, conf, truth in zip(pred_maps, confidences, truth_maps):
        pred, truth = np.asarray(pred), np.asarray(truth)
        cells = [g for g in np.unique(truth) if g > 0]
        n_true += len(cells)                                    # every true cell, found or not
        taken = set()
        for p in sorted((p for p in np.unique(pred) if p > 0), key=lambda p: -conf[p]):   # most confident first
            obj = pred == p
            best, best_iou = None, t
            for g in cells:
                if g in taken:
                    continue                                    # a cell is matched once
                cell = truth == g
                iou = np.count_nonzero(obj & cell) / np.count_nonzero(obj | cell)
                if iou >= best_iou and (best is None or iou > best_iou):
                    best, best_iou = g, iou                     # the free cell it overlaps most
            if best is not None:
                taken.add(best)
            scores.append(conf[p])
            hits.append(best is not None)
    ranked = np.asarray(hits, float)[np.argsort(-np.asarray(scores, float), kind="stable")]   # one list, all images
    if ranked.sum() == 0:
        return 0.0
    found = np.cumsum(ranked)
    precision, recall = found / np.arange(1, len(ranked) + 1), found / n_true
    best_after = np.maximum.accumulate(precision[::-1])[::-1]   # COCO's envelope
    first = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
    return float(np.where(first < len(ranked), best_after[np.minimum(first, len(ranked) - 1)], 0.0).mean())
    ### END SOLUTION

toy_truth, toy_pred = np.zeros((4, 28), int), np.zeros((4, 28), int)     # the lesson's toy: 5 true squares,
for c in range(5):                                                          # 4 found exactly, 2 objects on background
    toy_truth[:2, 4 * c:4 * c + 2] = c + 1
for rank, (c, h) in enumerate(zip([0, 1, 5, 2, 6, 3], [1, 1, 0, 1, 0, 1])):
    toy_pred[2 * (1 - h):2 * (1 - h) + 2, 4 * c:4 * c + 2] = rank + 1
toy_conf = {r: 1 - r / 10 for r in range(1, 7)}
print("AP of the lesson's toy maps at IoU 0.5:", round(coco_ap([toy_pred], [toy_conf], [toy_truth], 0.5), 4))
halves_truth, halves_pred = np.zeros((4, 10), int), np.zeros((4, 10), int)
halves_truth[:, :4], halves_truth[:, 6:] = 1, 2                           # two 4×4 cells
halves_pred[:2, :4], halves_pred[2:, :4], halves_pred[:, 6:] = 1, 2, 3    # two halves of cell 1, and cell 2
print("two halves of one cell, at IoU 0.3:", round(coco_ap([halves_pred], [{1: 0.7, 2: 0.8, 3: 0.6}], [halves_truth], 0.3), 4))

# %% nbgrader={"grade": true, "grade_id": "check_coco_ap", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_coco_ap(coco_ap)

# %% [markdown]
# ## 6 · Semantic or instance? (2 points)
#
# A coating line wants (a) the total area of paint defects per panel; (b) for a second product,
# the number of screws lying in a tray, often touching; (c) the number of paint defects per panel,
# where defects are small and never touch. Which kind of segmentation fits each, and why?

# %% [markdown] nbgrader={"grade": true, "grade_id": "choice_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# (a) Semantic segmentation: the defect area is the number of defect pixels; how many defects
# there are, or whether they touch, does not matter. (b) Instance segmentation (or a semantic
# model plus a watershed or boundary step): touching screws merge into one blob in a semantic
# mask, so each screw needs its own object to be counted. (c) Semantic segmentation plus connected components: defects that
# never touch are one blob each, so the components of the defect mask count them.
#
# *Rubric (for the grader).* Two thirds of a point per part, for the choice with its reason: area
# is a pixel count (a); touching screws merge into one blob (b); defects that never touch are one
# blob each, so components count them (c).


# %% [markdown]
# ## 7 · Explain the evidence card's failure (3 points)
#
# The lesson's evidence card shows image 156, the boundary-class recipe's worst image. The cell
# below rebuilds it (`pred_classes`, `objects`, `truth`): the shipped model's predicted classes
# (0 background, 1 interior, 2 boundary), the recipe's objects and the truth. It also builds
# image 84, the recipe's second-worst image, which the lesson never prints (`pred_classes_2`,
# `objects_2`, `truth_2`).
#
# 1. Write `missed_kinds(objects, truth)`. It returns `{true id: kind}` for each true cell that no
#    object matches (IoU > 0.5). The kind follows `instances.fp_fn_kinds`:
#    * **inside a merge**: an unmatched object covers a tenth or more of two or more cells, this
#      one among them;
#    * **covered by a match**: else, an object matched to *another* cell covers at least half of
#      this cell's pixels;
#    * **other**: anything else.
# 2. Does image 84 fail for the card's reason? Count the evidence on **image 84** in a dict
#    `EVIDENCE` with three numbers:
#    * `"seeds"`: the recipe's seeds on this image, the connected components of the predicted
#      interior (4-connected, as `ndimage.label` gives them);
#    * `"interior_iou"`: the IoU of the predicted interior (class 1) with the target's interior
#      (`instances.boundary_class_map(truth_2) == 1`): were many interior pixels wrong?
#    * `"false_positives"`: the objects matched to no true cell: was a cell split in pieces?
#
# 3. In the answer cell under the check, explain in two or three sentences: does image 84 fail for
#    the card's reason? Which causes do your three numbers rule out, and which one remains?
#
# The check grades `missed_kinds` on toy maps and on image 156, and the three numbers on image 84
# (2 points), then prints the numbers; your explanation is graded by hand (1 point). It refuses the
# lesson's `instances` helpers inside `missed_kinds`.

# %% nbgrader={"grade": false, "grade_id": "card_image", "locked": true, "schema_version": 3, "solution": false, "task": false}
from segcourse import models, train      # imported here too: this cell runs without exercise 4b's cells

W, W2 = 156, 84                          # the card's image (the recipe's worst) and its second-worst
cells = data.touching_cells(200, seed=0, overlap=0.1, isolated=0.5)     # the lesson's 200 images
pred_classes, pred_classes_2 = train.predict(models.pretrained("cells"), cells.images[[W, W2]], device="cpu")[0]
objects, truth = instances.instances_from_boundary_classes(pred_classes), cells.instances[W]
objects_2, truth_2 = instances.instances_from_boundary_classes(pred_classes_2), cells.instances[W2]
print(f"image {W}: {int(truth.max())} true cells, {len(np.unique(objects)) - 1} objects; "
      f"PQ {instances.panoptic_quality(objects, truth)['pq']:.3f}")
print(f"image {W2}: {int(truth_2.max())} true cells; PQ {instances.panoptic_quality(objects_2, truth_2)['pq']:.3f}")

# %% nbgrader={"grade": false, "grade_id": "missed_kinds", "locked": false, "schema_version": 3, "solution": true, "task": false}
def missed_kinds(objects, truth):
    ### BEGIN SOLUTION
    objects, truth = np.asarray(objects), np.asarray(truth)
    p_ids = [int(p) for p in np.unique(objects) if p > 0]
    g_ids = [int(g) for g in np.unique(truth) if g > 0]
    matched_p, matched_g = set(), set()
    for p in p_ids:
        for g in g_ids:
            iou = np.count_nonzero((objects == p) & (truth == g)) / np.count_nonzero((objects == p) | (truth == g))
            if iou > 0.5:
                matched_p.add(p)
                matched_g.add(g)
    in_merge = set()
    for p in set(p_ids) - matched_p:                   # unmatched objects first: which of them merge cells?
        covered = [g for g in g_ids
                   if np.count_nonzero((objects == p) & (truth == g)) >= 0.1 * np.count_nonzero(truth == g)]
        if len(covered) >= 2:
            in_merge |= set(covered)
    kinds = {}
    for g in set(g_ids) - matched_g:
        on_cell = objects[truth == g]                  # the object ids on this cell's pixels
        if g in in_merge:
            kinds[g] = "inside a merge"
        elif any(p in matched_p and np.mean(on_cell == p) >= 0.5 for p in np.unique(on_cell)):
            kinds[g] = "covered by a match"
        else:
            kinds[g] = "other"
    return kinds
    ### END SOLUTION

print("missed cells of image", W, ":", missed_kinds(objects, truth))
print("missed cells of image", W2, ":", missed_kinds(objects_2, truth_2))   # for your answer below

# %% nbgrader={"grade": false, "grade_id": "evidence", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
target = instances.boundary_class_map(truth_2)
inside, true_inside = pred_classes_2 == 1, target == 1
EVIDENCE = {"seeds": ndimage.label(inside)[1],
            "interior_iou": np.sum(inside & true_inside) / np.sum(inside | true_inside),
            "false_positives": instances.match_instances(objects_2, truth_2).fp}
### END SOLUTION
print(f"image {W2}: {EVIDENCE['seeds']} seeds for {int(truth_2.max())} cells | interior IoU {EVIDENCE['interior_iou']:.3f} | "
      f"false positives {EVIDENCE['false_positives']}")

# %% nbgrader={"grade": true, "grade_id": "check_failure_explained", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_failure_explained(missed_kinds, EVIDENCE)

# %% [markdown] nbgrader={"grade": true, "grade_id": "cause_answer", "locked": false, "points": 1, "schema_version": 3, "solution": true, "task": false}
# Yes, image 84 fails for the card's reason. Its interior IoU is 0.922, so the interior class is
# nearly right pixel by pixel: wrong interior pixels are not the cause. It has 0 false positives,
# so no cell was split into pieces. What remains is the seeds: 5 for 7 cells, so at most 5 objects,
# and at least two cells must share an object with a neighbour. The predicted boundary has gaps
# that join touching interiors into one seed, and the recipe adds no distance peaks to separate
# them; on image 156 both missed cells are "covered by a match" for the same reason (printed above).
#
# *Rubric (for the grader).* The point needs all three facts, each tied to what it rules out (the
# check's line above prints the numbers); half a point for two of them, none for one or fewer:
#
# 1. interior IoU 0.922: the interior class is nearly right, which rules out wrong interior pixels;
# 2. 0 false positives: no cell was cut into pieces, which rules out a split;
# 3. 5 seeds for 7 cells: gaps in the predicted boundary join touching interiors into one seed, so
#    at least two cells share an object (the card's cause, "covered by a match").
#
# An answer that blames the interior pixels or a split, against 1 or 2, gets no point.
