# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 06 · Clicks to masks
#
# Write the simulated annotator of the original click protocol, count the clicks an annotation
# tool needs when its model proposes a mask first, turn clicks into the model's input channels,
# run the annotator loop from such a proposal, seed a random walker with clicks, and say when a
# click model is worth it; build the click UNet's input batch and train it for one corrective round;
# then measure how large an object must be before a 1-px outline error passes IoU 0.85.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import torch
from scipy import ndimage

from segcourse import checks, interactive

torch.set_num_threads(1)  # the click model is tiny: one thread is fastest (a second one only spins)
images, masks = interactive.nuclei_objects("right")
print(f"{len(images)} test nuclei, crops of {images.shape[1]}×{images.shape[2]} px")

# %% [markdown]
# ## 1 · The next click, as Xu et al. (2016) placed it (3 points)
#
# The lesson's annotator clicks at the error pixel farthest from any pixel outside that kind of
# error. The original
# protocol of Xu et al. first picks the **largest error region by area** — a connected group of
# missed pixels (`target & ~pred`) or of false pixels (`pred & ~target`), 4-connected as
# `ndimage.label` groups them — and then clicks at that region's centre: its pixel farthest from
# any pixel outside the region, the image border counting as outside (pad with `False` before
# `ndimage.distance_transform_edt`). Write `click(pred, target)` returning `(row, col, positive)`:
# `positive` is `True` in a missed region, `False` in a false one. On a tie in area the missed
# region wins; on a tie in distance the first pixel in row-major order (what `np.argmax` gives).

# %% nbgrader={"grade": false, "grade_id": "click", "locked": false, "schema_version": 3, "solution": true, "task": false}
def click(pred, target):
    ### BEGIN SOLUTION
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    best = None
    for positive, error in ((True, target & ~pred), (False, pred & ~target)):
        labels, n = ndimage.label(error)
        if n == 0:
            continue
        areas = np.bincount(labels.ravel())[1:]
        k = int(np.argmax(areas)) + 1
        depth = ndimage.distance_transform_edt(np.pad(labels == k, 1))[1:-1, 1:-1]
        r, c = np.unravel_index(np.argmax(depth), depth.shape)
        if best is None or areas[k - 1] > best[0]:
            best = (areas[k - 1], int(r), int(c), positive)
    return best[1], best[2], best[3]
    ### END SOLUTION


pred = masks[0].copy()
pred[:, 32:] = False  # a prediction that misses the right half of the nucleus
print("next click on nucleus 0:", click(pred, masks[0]))

# %% nbgrader={"grade": true, "grade_id": "check_click", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check_largest_region_click(click)

# %% [markdown]
# ## 2 · NoC and failures when the model proposes first (2 points)
#
# In an annotation loop the model proposes a mask before the annotator clicks, so the tool logs
# `ious[0]`, the proposal's IoU with no click, then `ious[k]` after `k` clicks. Write
# `noc(ious, threshold, max_clicks)` returning two values, `(clicks, reached)`: `clicks` is the
# number of clicks after which IoU first reaches the threshold (at or above it) — **0** when the
# proposal already does — and `max_clicks` when it is not reached within `max_clicks` clicks
# (entries after that do not count); `reached` is `True` when the threshold was reached within
# those clicks and `False` for a **failure** (the objects NoF counts). An object first reached at
# the last allowed click and one never reached both have `clicks == max_clicks`: only `reached`
# tells them apart.

# %% nbgrader={"grade": false, "grade_id": "noc", "locked": false, "schema_version": 3, "solution": true, "task": false}
def noc(ious, threshold=0.85, max_clicks=20):
    ### BEGIN SOLUTION
    reached = np.flatnonzero(np.asarray(ious[: max_clicks + 1], float) >= threshold)
    return (int(reached[0]), True) if reached.size else (max_clicks, False)
    ### END SOLUTION


print("proposal 0.87:", noc([0.87, 0.9], 0.85), "| never:", noc([0.3, 0.5], 0.85),
      "| after 2:", noc([0.3, 0.7, 0.9], 0.85), "| at the cap of 2:", noc([0.3, 0.7, 0.9], 0.85, 2))

# %% nbgrader={"grade": true, "grade_id": "check_noc", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_noc_with_proposal(noc)

# %% [markdown]
# ## 3 · Clicks as input channels (2 points)
#
# The click UNet of §5 does not see click coordinates: it sees two extra image channels, a disk
# of 1s around every positive click and one around every negative click. A tool logs the clicks
# as `(row, col, positive)` triples. Write `click_maps(clicks, shape, radius=3)` with numpy that
# returns a **float32** array of shape `(2, H, W)` for `shape = (H, W)`: channel 0 is 1.0 at every
# pixel `(i, j)` within `radius` px of a positive click, `(i - row)² + (j - col)² <= radius²`
# (the boundary included), channel 1 the same for the negative clicks, 0.0 elsewhere. A disk near
# the image edge keeps only its part inside the image; with no clicks both maps are all 0.0.

# %% nbgrader={"grade": false, "grade_id": "click_maps", "locked": false, "schema_version": 3, "solution": true, "task": false}
def click_maps(clicks, shape, radius=3):
    ### BEGIN SOLUTION
    rows, cols = np.indices(shape)
    maps = np.zeros((2, *shape), np.float32)
    for row, col, positive in clicks:
        maps[0 if positive else 1][(rows - row) ** 2 + (cols - col) ** 2 <= radius ** 2] = 1.0
    return maps
    ### END SOLUTION


demo = click_maps([(2, 2, True), (5, 6, False)], (8, 9), radius=2)
print("shape", demo.shape, demo.dtype, "| positive disk:", int(demo[0].sum()),
      "px | negative disk:", int(demo[1].sum()), "px")
print(demo[0].astype(int))

# %% nbgrader={"grade": true, "grade_id": "check_click_maps", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_click_maps(click_maps)

# %% [markdown]
# ## 4 · The annotator loop when the model proposes first (2 points)
#
# §4 of the lesson wrote the annotator loop by hand for a method that starts from nothing. In an
# annotation tool the model proposes a mask before any click (the `ious[0]` of exercise 2). For
# the lesson's click UNet that proposal is an input it never saw in training: every training
# sample had at least one positive click, never zero clicks. Write
# `simulate(predict, image, target, max_clicks=20, stop_at=0.85)` returning `(ious, clicks)`:
#
# * the proposal is `predict(image, [], [], None)`, and `ious[0]` its IoU with `target`;
# * while the last IoU is below `stop_at` (reaching it means at or above) and fewer than
#   `max_clicks` clicks were made: place the next click with `interactive.next_click(pred, target,
#   clicked=...)` on the **last** mask, passing every pixel clicked so far (so that none is clicked
#   twice); add it to the positive or the negative clicks; call `predict(image, positive, negative,
#   previous)` with **all** clicks so far and the last mask as `previous` (for click 1, the
#   proposal); append the new mask's IoU;
# * when no error pixel is left that was not clicked before (`next_click` then raises `ValueError`),
#   the annotator stops clicking: return the IoUs and clicks so far, as `interactive.simulate_clicks`
#   does;
# * `clicks` lists the clicks in order as `(row, col, positive)`.
#
# `interactive.next_click` is yours to use; `interactive.simulate_clicks` is not (it starts from
# nothing, without a proposal).

# %% nbgrader={"grade": false, "grade_id": "simulate", "locked": false, "schema_version": 3, "solution": true, "task": false}
def simulate(predict, image, target, max_clicks=20, stop_at=0.85):
    ### BEGIN SOLUTION
    target = np.asarray(target, bool)
    iou = lambda a, b: float((a & b).sum() / (a | b).sum())  # noqa: E731
    pred = np.asarray(predict(image, [], [], None), bool)  # the proposal, before any click
    ious, clicks, positive, negative = [iou(pred, target)], [], [], []
    while ious[-1] < stop_at and len(clicks) < max_clicks:
        try:
            done = [(r, c) for r, c, _ in clicks]
            (r, c), is_positive = interactive.next_click(pred, target, clicked=done)
        except ValueError:  # every error pixel has been clicked already: nothing new to click
            break
        (positive if is_positive else negative).append((r, c))
        clicks.append((r, c, is_positive))
        # the last mask is `previous`
        pred = np.asarray(predict(image, list(positive), list(negative), pred), bool)
        ious.append(iou(pred, target))
    return ious, clicks
    ### END SOLUTION


shipped_predict = interactive.click_predictor(interactive.load_click_model())
ious, clicks = simulate(shipped_predict, images[3], masks[3])
print("test nucleus 3, the shipped click model: IoU", [round(v, 3) for v in ious],
      "| clicks", clicks)

# %% nbgrader={"grade": true, "grade_id": "check_simulate", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_simulate(simulate)

# %% [markdown]
# ## 5 · Seeds for the random walker (2 points)
#
# §4 of the lesson seeded `random_walker` with the crop's border (background) and a plus around
# one click (object). A tool logs the clicks as `(row, col, positive)` triples, and an annotator
# may click over an earlier click to correct it. Write `seeds(clicks, shape, radius=2)` with numpy
# that returns an **integer** array (e.g. int32) of shape `shape`: 2 (background) on the outermost rows and
# columns; then, click by click **in order**, every pixel `(i, j)` with
# `(i - row)² + (j - col)² <= radius²` becomes 1 for a positive click and 2 for a negative one, so
# that a later click overrides an earlier one (and the border) where they overlap; 0 everywhere
# else, the pixels the random walker decides.
#
# This rule deliberately differs from the lesson's `interactive.random_walker_predictor`: a
# predictor gets the positive and the negative clicks as two separate lists, without their order,
# so it draws every negative disk first and every positive one after them (a positive click wins
# where disks overlap). A tool that logs the clicks in order can let the annotator's latest
# correction win. Where no disks overlap, the two give the same seeds: the cell below seeds §4's
# five clicks on nucleus 3 with §4's plus (`radius=1`) and compares with the lesson's predictor.

# %% nbgrader={"grade": false, "grade_id": "seeds", "locked": false, "schema_version": 3, "solution": true, "task": false}
def seeds(clicks, shape, radius=2):
    ### BEGIN SOLUTION
    rows, cols = np.indices(shape)
    out = np.zeros(shape, np.int32)
    out[[0, -1], :] = 2
    out[:, [0, -1]] = 2
    for row, col, positive in clicks:
        out[(rows - row) ** 2 + (cols - col) ** 2 <= radius ** 2] = 1 if positive else 2
    return out
    ### END SOLUTION


from skimage.segmentation import random_walker

clicks5 = [(32, 32, True), (26, 41, True), (34, 21, True), (30, 17, False), (26, 22, True)]
s = seeds(clicks5, images[3].shape, radius=1)  # §4's plus: radius 1
walked = random_walker(images[3], s, beta=130, mode="cg_j", tol=1e-3) == 1
pos5, neg5 = ([(r, c) for r, c, p in clicks5 if p == want] for want in (True, False))
lesson = interactive.random_walker_predictor(beta=130)(images[3], pos5, neg5, None)
iou_seeds = round(float((walked & masks[3]).sum() / (walked | masks[3]).sum()), 3)
iou_lesson = round(float((lesson & masks[3]).sum() / (lesson | masks[3]).sum()), 3)
print("seed pixels per label:", {int(k): int(n) for k, n in zip(*np.unique(s, return_counts=True))},
      "| random walker on nucleus 3, IoU", iou_seeds)
print("§4's random walker after the same 5 clicks, IoU", iou_lesson, "| the same mask:",
      bool((walked == lesson).all()))

# %% nbgrader={"grade": true, "grade_id": "check_seeds", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_seeds(seeds)

# %% [markdown]
# ## 6 · When is a click model worth it? (2 points)
#
# From the lesson's NoC table (§6) and its per-object split (§7, printed again by the cell below):
# on which objects does the click UNet save clicks over the best click-seeded classical method,
# and on which does a classical method do as well or better? Name what about the objects decides
# it, and what you would do before annotating a new kind of object with a click model.

# %% nbgrader={"grade": false, "grade_id": "click_model_numbers", "locked": true, "schema_version": 3, "solution": false, "task": false}
from segcourse import viz

evaluation = interactive.load_click_model().card["evaluation"]["results"]  # the lesson's §6 table
nuclei, coins = evaluation["nuclei (test half)"], evaluation["coins"]
touching = interactive.nuclei_object_info("right")["touching"]  # the lesson's §7 split
areas = masks.sum(axis=(1, 2))
small = areas < np.median(areas)
columns = {"random walker": "random walker", "marker watershed": "watershed",
           "click UNet, synthetic only": "UNet, synthetic", "click UNet, fine-tuned": "UNet, tuned"}
groups = {"coins": (coins, None), "nuclei, all": (nuclei, None),
          "nuclei touching": (nuclei, touching), "nuclei isolated": (nuclei, ~touching),
          f"nuclei small (< {np.median(areas):.0f} px)": (nuclei, small),
          "nuclei large": (nuclei, ~small)}
rows = {}
for group, (results, sel) in groups.items():
    row = {}
    for method, label in columns.items():
        noc = np.array(results[method]["noc85"]["per_object"])
        row[label] = noc.mean() if sel is None else noc[sel].mean()
    row["saving"] = min(row["random walker"], row["watershed"]) - row["UNet, tuned"]
    rows[group] = row
print("mean NoC@85 (the lesson's recorded evaluation); saving: the better classical method's")
print("NoC@85 minus the fine-tuned click UNet's (negative: a classical method needs fewer)")
print(viz.text_table(rows, {k: ".2f" for k in rows["coins"]}, "objects"))

# %% [markdown] nbgrader={"grade": true, "grade_id": "click_model_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# A classical click-seeded method only follows intensity edges from the seeds: where the object
# has a clear edge against a plain background (the coins) one click already gives a good mask and
# a trained model has little to add (the watershed needs 1.00 click, the model 2.54). On the
# nuclei the model saves clicks in every group of the per-object split (§7). Against the better
# classical method of each group the biggest saving is on the small nuclei (4.22 clicks: 5.83
# against 10.04), then on the nuclei that touch a neighbour (3.90: 4.10 against the random
# walker's 8.00, about half; the watershed needs 10.10 there, more than twice the model's); the
# least is on the large nuclei (2.88). Small and touching nuclei are where the edge alone is
# ambiguous, and a model that has learnt what one object looks like can need fewer clicks. The
# lesson shows that only for the fine-tuned model: trained on synthetic objects alone, the same
# network needs more clicks on the nuclei (11.60) than either classical method.
# Fine-tuning added 300 steps as well as the real nuclei, and the lesson does not separate the two,
# so I cannot say which of them closed the gap. Before annotating a new kind of object I would
# annotate a few dozen by hand, fine-tune, and measure NoC of the model against the best classical
# method on held-out objects of that kind, then pick the one with fewer clicks.
#
# *Rubric (for the grader).* A full answer cites these three facts of the lesson (§6's table,
# §7's per-object split; the cell above prints them), one point lost per missing fact or per fact
# used for the wrong conclusion:
#
# 1. coins, sharp edges: the marker watershed's NoC@85 is 1.00, the fine-tuned click UNet's 2.54
#    (a classical method is enough);
# 2. where the model gains most over the better classical method: the small nuclei (5.83 against
#    10.04, a saving of 4.22), as the lesson's §7 also says. Accept the nuclei touching a neighbour
#    (4.10 against 8.00 for the random walker, a saving of 3.90) only when argued by the share of
#    nuclei the model wins there (§7's table: its highest), not by clicks saved; if compared with
#    the watershed's 10.10, note in the feedback that the random walker is the better classical
#    method there;
# 3. the same click UNet trained on synthetic objects only needs 11.60 clicks on the nuclei,
#    against 3.55 after fine-tuning. Accept "after fine-tuning (more steps and the nuclei,
#    confounded)" or "once it has seen that kind of object"; an answer that credits the nuclei
#    alone, without noting the extra steps, states more than the lesson measured (no point lost
#    for that alone, but say so in the feedback).

# %% [markdown]
# ## 7 · One corrective training round of the click UNet (2 points)
#
# The click UNet of §5 takes a batch of shape `(B, 4, H, W)`: the grey image, the positive click
# map, the negative click map and the previous mask. A tool stores its images as **uint8** (0 to
# 255), while the model was trained on grey values from 0 to 1. Write
# `click_batch(images, pos_maps, neg_maps, prev_masks)` with numpy and torch: `images` is uint8 of
# shape `(B, H, W)`, the two maps float32 `(B, H, W)`, `prev_masks` bool `(B, H, W)`; return a
# **float32 torch tensor** `(B, 4, H, W)` with the image divided by 255 in channel 0 (the same
# scale for every image: a dark image must stay dark), the positive map in 1, the negative map in
# 2 and the previous mask (0.0 / 1.0) in 3.
#
# §5 wrote only the step for click 1. §5's text describes how the model learns from its own
# mistakes, a **corrective round**; write it as `train_step(model, optimiser, images, targets,
# firsts)`. `images` is uint8 `(B, H, W)`, `targets` bool `(B, H, W)` (the objects), `firsts` a
# list of each object's first positive click `(row, col)`. One round:
#
# 1. a batch of the first clicks: their positive maps (radius 3, e.g. `interactive.click_maps`),
#    empty negative maps, empty previous masks;
# 2. the model **predicts** on it without gradients and in eval mode (`model.eval()`,
#    `torch.no_grad()`): the object where logit 1 > logit 0;
# 3. the simulated annotator adds a **second click** per image where that prediction is wrong:
#    `interactive.next_click(prediction, target, clicked=[first])`;
# 4. a new batch: both clicks, each in the map of its kind, and the prediction as the previous mask;
# 5. **one graded step** on it: `model.train()`, the two-class logits, their cross-entropy against
#    the targets (int64), the gradients, one optimiser update.
#
# Return `(loss, second_clicks)`: the loss of step 5 as a float (computed before the update) and
# the second clicks as a list of `(row, col, positive)`, one per image.

# %% nbgrader={"grade": false, "grade_id": "click_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def click_batch(images, pos_maps, neg_maps, prev_masks):
    ### BEGIN SOLUTION
    grey = np.asarray(images, np.float32) / 255.0
    channels = [grey, *(np.asarray(a, np.float32) for a in (pos_maps, neg_maps, prev_masks))]
    return torch.from_numpy(np.stack(channels, axis=1))
    ### END SOLUTION


def train_step(model, optimiser, images, targets, firsts):
    ### BEGIN SOLUTION
    shape = targets.shape[1:]
    maps = np.stack([interactive.click_maps([first], [], shape) for first in firsts])
    x = click_batch(images, maps[:, 0], maps[:, 1], np.zeros(targets.shape, bool))
    model.eval()
    with torch.no_grad():
        logits = model(x)
    pred = (logits[:, 1] > logits[:, 0]).numpy()
    seconds, maps = [], []
    for first, p, t in zip(firsts, pred, targets):
        (r, c), positive = interactive.next_click(p, t, clicked=[first])
        seconds.append((r, c, positive))
        pos, neg = ([first, (r, c)], []) if positive else ([first], [(r, c)])
        maps.append(interactive.click_maps(pos, neg, shape))
    maps = np.stack(maps)
    x = click_batch(images, maps[:, 0], maps[:, 1], pred)
    model.train()
    loss = torch.nn.functional.cross_entropy(model(x), torch.from_numpy(targets.astype(np.int64)))
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return float(loss.item()), seconds
    ### END SOLUTION


step_images, step_masks = interactive.nuclei_objects("left")
step_images, step_masks = (step_images[:4] * 255).astype(np.uint8), step_masks[:4]
firsts = [interactive.next_click(np.zeros_like(m), m)[0] for m in step_masks]  # deepest pixels
pos_maps = np.stack([interactive.click_maps([f], [], m.shape)[0]
                     for f, m in zip(firsts, step_masks)])
x = click_batch(step_images, pos_maps, np.zeros_like(pos_maps), np.zeros_like(step_masks))
print("batch", tuple(x.shape), x.dtype, "| largest value per channel:",
      [float(v) for v in x.amax(dim=(0, 2, 3))])
step_model = interactive.load_click_model()  # a fresh copy, changed only in this notebook's memory
optimiser = torch.optim.Adam(step_model.parameters(), lr=1e-3)
loss, seconds = train_step(step_model, optimiser, step_images, step_masks, firsts)
print(f"one corrective round of the shipped model on 4 training nuclei: second clicks {seconds}; "
      f"loss {loss:.2f}")

# %% nbgrader={"grade": true, "grade_id": "check_click_step", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_click_step(click_batch, train_step)

# %% [markdown]
# ## 8 · How large must an object be for IoU 0.85? (2 points)
#
# §8 of the lesson moved each nucleus's outline by one pixel and scored the result. Do the same
# on disks, where only the size changes. Write `shift_ious(radius)` with numpy and
# `scipy.ndimage`. It returns `(iou_out, iou_in)`:
#
# * the disk: every pixel `(i, j)` with `(i - c)² + (j - c)² <= radius²`, around the centre `c` of
#   a square image with room for a dilation (side `2 * radius + 3` or more);
# * `iou_out`: the disk's IoU with its 1-px dilation (`ndimage.binary_dilation`, default cross);
# * `iou_in`: its IoU with its 1-px erosion (`ndimage.binary_erosion`).
#
# Then write `smallest_radius(threshold, radii=range(3, 16), shift=shift_ious)`. It returns the
# smallest radius in `radii` at which **both** values of `shift(radius)` reach the threshold (at
# or above it), or `None` if none does. That is the smallest disk on which an outline one pixel
# off, either way, still scores the threshold. Call `shift`, not `shift_ious`: the check also
# passes a made-up `shift` whose two values differ from a disk's.
#
# For scale, the cell below prints each disk's area, about π·radius² px. The lesson's test nuclei
# have a median of 454 px and at most 751 px (its §1): compare the radius your function returns
# for 0.85, and for 0.90, with those sizes.

# %% nbgrader={"grade": false, "grade_id": "shift_ious", "locked": false, "schema_version": 3, "solution": true, "task": false}
def shift_ious(radius):
    ### BEGIN SOLUTION
    side = 2 * radius + 3
    rows, cols = np.indices((side, side))
    disk = (rows - side // 2) ** 2 + (cols - side // 2) ** 2 <= radius ** 2
    iou = lambda a, b: float((a & b).sum() / (a | b).sum())  # noqa: E731
    return iou(ndimage.binary_dilation(disk), disk), iou(ndimage.binary_erosion(disk), disk)
    ### END SOLUTION


def smallest_radius(threshold, radii=range(3, 16), shift=shift_ious):
    ### BEGIN SOLUTION
    for radius in radii:
        if min(shift(radius)) >= threshold:
            return radius
    return None
    ### END SOLUTION


for radius in (3, 6, 9, 12, 15, 18):
    out_iou, in_iou = shift_ious(radius)
    print(f"radius {radius:2d} (about {np.pi * radius ** 2:4.0f} px): IoU 1 px out {out_iou:.3f}, "
          f"1 px in {in_iou:.3f}")
print("smallest radius for 0.85:", smallest_radius(0.85), "| for 0.90:", smallest_radius(0.90),
      "| for 0.90 among radii 16 to 40:", smallest_radius(0.90, range(16, 41)))

# %% nbgrader={"grade": true, "grade_id": "check_shift_ious", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_shift_ious(shift_ious, smallest_radius)
