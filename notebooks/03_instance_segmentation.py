# %% [markdown]
# # 03 · Instance segmentation: from blobs to countable objects
#
# Semantic segmentation paints every cell pixel "cell". When two cells touch, their pixels form
# **one blob**: the label map cannot say there were two, cannot count them, cannot measure each
# one. *Instance* segmentation gives every object its own id. This lesson shows the difference on
# real arrays and measures it.
#
# **After this lesson you can**
#
# 1. explain, with a picture, why one blob per class cannot count touching objects;
# 2. turn a mask into instances with connected components, and say when that fails;
# 3. split touching objects with a distance transform and a watershed;
# 4. match predicted to true instances and score them with panoptic quality (PQ) and count error;
# 5. decide between semantic and instance segmentation for a task.
#
# **Map:** 1 · touching cells → 2 · connected components, by hand and with scipy → 3 · the
# distance transform → 4 · watershed → 5 · matching, PQ, count error over a data set →
# 6 · a boundary class instead of a watershed → 7 · semantic or instance? → evidence card and pass check.

# %%
import numpy as np
import matplotlib.pyplot as plt
from scipy import ndimage

from segcourse import data, instances, viz

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1 · Touching cells
#
# `data.touching_cells` draws cells that touch and overlap (here by up to 10 % of their
# diameters; the `overlap` knob dials it up). It returns both views of the same
# images: `instances` (0 = background, 1..k = one id per cell) and `labels`, the semantic mask a
# semantic model would be trained on — every cell merged into class 1.

# %%
cells = data.touching_cells(200, seed=0, overlap=0.1)
i = 3
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
axes[0].imshow(cells.images[i]); axes[0].set_title("image"); axes[0].set_axis_off()
viz.show_mask(axes[1], cells.labels[i], cells.palette, "semantic mask: one blob")
viz.instance_overlay(cells.images[i], cells.instances[i], ax=axes[2], title=f"instances: {cells.instances[i].max()} cells")
fig.tight_layout()

# %% [markdown]
# Middle: what semantic segmentation gives — a single green region. Right: the truth the
# lesson is about — several cells, each with its own colour and outline.
#
# ## 2 · Connected components
#
# The naive way to get "objects" from a mask: call every connected region one object. scipy
# does it in one call (`ndimage.label`); on a tiny mask you can check it by eye. Note how the
# answer depends on whether diagonal neighbours count as connected:

# %%
tiny = np.array([[1, 1, 0, 0, 1],
                 [1, 1, 0, 0, 1],
                 [0, 0, 1, 0, 0],
                 [0, 0, 0, 1, 1]])
print("4-connectivity (edges only):\n", instances.label_components(tiny, connectivity=1))
print("8-connectivity (edges and corners):\n", instances.label_components(tiny, connectivity=2))

# %%
naive = instances.label_components(cells.labels[i])
print("true number of cells :", len(np.unique(cells.instances[i])) - 1)
print("connected components :", naive.max())
print("count error          :", instances.count_error(naive, cells.instances[i]))

# %% [markdown]
# The touching cells merge into one component, so the count is wrong. This is exactly the
# limitation of semantic segmentation in the platform text: *single blob per class, cannot
# separate touching instances, not suitable for counting*.
#
# ## 3 · The distance transform: where the centres are
#
# For every pixel inside the mask, how far is the nearest background pixel? Centres of cells are
# far from the background; the "neck" where two cells touch is close to it. That single map
# turns a merged blob into hills, one per cell.

# %%
mask = cells.labels[i].astype(bool)
dist = ndimage.distance_transform_edt(mask)
fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4))
im = axes[0].imshow(dist, cmap="magma"); axes[0].set_title("distance to background"); axes[0].set_axis_off()
fig.colorbar(im, ax=axes[0], fraction=0.046)
row = int(np.argmax(dist.max(1)))
axes[1].plot(dist[row]); axes[1].set(title=f"profile along row {row}", xlabel="column", ylabel="distance")
fig.tight_layout()

# %% [markdown]
# Along the profile you can see separate peaks with dips between them: one peak per cell.
#
# ## 4 · Watershed: flood from the peaks
#
# Put one marker on each peak (at least `min_distance` pixels apart; our cells are small, so 2)
# and flood the *negative*
# distance map from the markers; where floods from two markers meet is the border between two
# cells. This is the marker-based watershed from scikit-image, wrapped in
# `instances.separate_touching`:

# %%
split = instances.separate_touching(cells.labels[i], min_distance=2)
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
viz.instance_overlay(cells.images[i], naive, ax=axes[0], title=f"components: {naive.max()}")
viz.instance_overlay(cells.images[i], split, ax=axes[1], title=f"watershed: {split.max()}")
viz.instance_overlay(cells.images[i], cells.instances[i], ax=axes[2], title=f"truth: {cells.instances[i].max()}")
fig.tight_layout()

# %% [markdown]
# ## 5 · Scoring instances: matching, PQ, count error
#
# To score instances we first **match** them: a predicted cell and a true cell are a pair when
# their IoU is above 0.5 (at most one partner each, so the matching is unique). Then
#
# * **TP** = matched pairs, **FP** = predicted cells with no partner, **FN** = true cells missed;
# * **SQ** (segmentation quality) = mean IoU of the matched pairs — how good the masks are;
# * **RQ** (recognition quality) = TP / (TP + ½FP + ½FN) — an F1 score of finding the cells;
# * **PQ** (panoptic quality, Kirillov et al. 2019) = SQ × RQ.
#
# The library's numbers are checked in the test suite against `torchmetrics` (PQ) and
# `pycocotools` (mask IoU and COCO AP).

# %%
m = instances.match_instances(split, cells.instances[i])
print("TP, FP, FN:", m.tp, m.fp, m.fn)
print("pairs (pred id, true id, IoU):", [(p, g, round(v, 3)) for p, g, v in m.pairs])
print({k: round(v, 3) for k, v in instances.panoptic_quality(split, cells.instances[i]).items()})

# %% [markdown]
# One image proves little. Score both methods on all 200 images:

# %%
rows = {"connected components": [], "watershed": []}
for sem, truth in zip(cells.labels, cells.instances):
    for name, pred in [("connected components", instances.label_components(sem)),
                       ("watershed", instances.separate_touching(sem, min_distance=2))]:
        pq = instances.panoptic_quality(pred, truth)
        rows[name].append((pq["pq"], pq["sq"], pq["rq"], instances.count_error(pred, truth)))

print(f"{'method':>22} | {'PQ':>5} | {'SQ':>5} | {'RQ':>5} | mean |count error| | images counted right")
for name, r in rows.items():
    r = np.array(r)
    print(f"{name:>22} | {r[:, 0].mean():.3f} | {r[:, 1].mean():.3f} | {r[:, 2].mean():.3f} | "
          f"{np.abs(r[:, 3]).mean():19.2f} | {np.mean(r[:, 3] == 0):.0%}")

# %% [markdown]
# Connected components score a PQ near 0: in almost every image the cells form one cluster, so
# at most one "object" can match a cell with IoU above 0.5. The watershed lifts PQ to about 0.7 and
# cuts the mean count error from almost 5 cells to about 1.3. Its SQ — the mask quality of the
# cells it does separate — is high; what still costs points is RQ: cells that overlap so much
# that their distance map has a single peak are merged (under-counting), and a few elongated
# shapes get two peaks (over-counting). The worst image shows the typical failure: a tight
# cluster comes out as a few large objects, none of which covers any single true cell well enough
# (IoU > 0.5) to count as a match — so every prediction is a FP and every cell a FN:

# %%
i_bad = int(np.argmin([r[0] for r in rows["watershed"]]))
pred = instances.separate_touching(cells.labels[i_bad], min_distance=2)
m = instances.match_instances(pred, cells.instances[i_bad])
status = np.zeros(pred.shape, np.uint8)                       # 0 background
status[np.isin(pred, [p for p, _, _ in m.pairs])] = 1         # 1 matched prediction (TP)
status[np.isin(pred, m.unmatched_pred)] = 2                   # 2 unmatched prediction (FP)
missed = np.isin(cells.instances[i_bad], m.unmatched_gt) & (status == 0)
status[missed] = 3                                            # 3 missed true cell (FN, not covered)
colours = np.array([[30, 30, 30], [0, 158, 115], [230, 159, 0], [213, 94, 0]], np.uint8)
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
viz.instance_overlay(cells.images[i_bad], cells.instances[i_bad], ax=axes[0], title="truth")
viz.instance_overlay(cells.images[i_bad], pred, ax=axes[1], title="watershed")
axes[2].imshow(colours[status]); axes[2].set_axis_off()
axes[2].set_title(f"TP {m.tp} (green)  FP {m.fp} (orange)  FN {m.fn}")
fig.tight_layout()

# %% [markdown]
# ## 6 · Another route: predict the boundary as a class
#
# Instead of post-processing a blob, a model can be trained on **three** classes — background,
# cell interior, cell boundary. The boundary class separates touching cells by construction:
# interior pixels split into one component per cell, and each component is grown back over its
# boundary pixels (`instances.instances_from_boundary_classes`). The training target is made from
# the instance maps with `instances.boundary_class_map`:

# %%
three = instances.boundary_class_map(cells.instances[i])
rebuilt = instances.instances_from_boundary_classes(three)
print("cells in the truth:", cells.instances[i].max(), "| rebuilt from the 3-class target:", rebuilt.max(),
      "| PQ:", round(instances.panoptic_quality(rebuilt, cells.instances[i])["pq"], 3))

# %% [markdown]
# The course ships a `TinyUNet` trained on exactly this target (on a CPU, with
# `python -m segcourse.train --dataset cells --device cpu --n-train 2000 --epochs 5`); its card
# says how. We run it on our 200 images — which it never saw — and compare the three ways of
# getting instances, all from the *model's* output:

# %%
from segcourse import models, train

cell_model = models.pretrained("cells")
print("card:", cell_model.card["training"]["device_name"], "|", cell_model.card["training"]["images_seen"], "training images |",
      "held-out per-class IoU", cell_model.card["heldout"]["per_class_iou"])
three_pred, _ = train.predict(cell_model, cells.images, device="cpu")

methods = {
    "components of predicted mask": lambda p: instances.label_components(p > 0),
    "watershed on predicted mask": lambda p: instances.separate_touching(p > 0, min_distance=2),
    "boundary-class recipe": lambda p: instances.instances_from_boundary_classes(p),
}
print(f"{'method':>29} | {'PQ':>5} | mean |count error| | images counted right")
for name, make in methods.items():
    scores = [(instances.panoptic_quality(make(p), t)["pq"], instances.count_error(make(p), t))
              for p, t in zip(three_pred, cells.instances)]
    s = np.array(scores)
    print(f"{name:>29} | {s[:, 0].mean():.3f} | {np.abs(s[:, 1]).mean():19.2f} | {np.mean(s[:, 1] == 0):.0%}")

# %%
j = 3
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
three_classes = train.cells_boundary(1)                 # carries the 3-class names and palette
viz.show_mask(axes[0], three_pred[j], three_classes.palette, "predicted: interior / boundary")
viz.instance_overlay(cells.images[j], instances.instances_from_boundary_classes(three_pred[j]), ax=axes[1], title="recipe")
viz.instance_overlay(cells.images[j], cells.instances[j], ax=axes[2], title="truth")
fig.tight_layout()

# %% [markdown]
# Compare the rows: from the same model output, the boundary-class recipe reaches a PQ of about
# 0.84 where the watershed on the predicted mask gets 0.68 and plain components almost 0, and it
# miscounts by 0.9 cells on average instead of 1.3. The learned boundary sits where the *image*
# shows two cells meeting (a dimmer seam between two domes), a cue the watershed on a binary mask
# never sees. That is the general
# lesson — when objects touch, give the model a way to say where one ends.

# %% [markdown]
# ## 7 · Semantic or instance?
#
# | choose **semantic** segmentation when… | choose **instance** segmentation when… |
# |---|---|
# | you only need *where* a kind of thing is (a defect area, the road, a coating zone) | you must **count** objects |
# | objects do not touch or overlap | objects touch or overlap (cells, parts in a bin, crowds) |
# | several regions of one class can be one blob | each object needs its own mask or measurement |
# | slightly faster inference matters | per-object boundaries matter |
#
# A common middle road is the one of this lesson: a semantic model plus a post-processing step
# (watershed or a boundary class) that recovers instances.
#
# ## Evidence card

# %%
fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
axes[0].imshow(cells.images[i]); axes[0].set_title("input image"); axes[0].set_axis_off()
viz.show_mask(axes[1], cells.labels[i], cells.palette, "semantic target: one blob")
viz.instance_overlay(cells.images[i], split, ax=axes[2], title=f"prediction: {split.max()} instances")
viz.instance_overlay(cells.images[i], cells.instances[i], ax=axes[3], title=f"truth: {cells.instances[i].max()} instances")
fig.tight_layout()
r = np.array(rows["watershed"])
print(f"metric      : PQ {r[:, 0].mean():.3f}, SQ {r[:, 1].mean():.3f}, RQ {r[:, 2].mean():.3f} over 200 images (watershed)")
print(f"failure note: components merge touching cells (mean |count error| {np.abs(np.array(rows['connected components'])[:, 3]).mean():.2f});"
      f" watershed: heavily overlapping cells still merge (mean |count error| {np.abs(r[:, 3]).mean():.2f})")

# %% [markdown]
# ## Pass check
#
# You pass this lesson when you can:
#
# * show a mask where connected components under-count, and say why;
# * explain what the distance transform and the watershed markers are;
# * compute TP/FP/FN, SQ, RQ and PQ for a pair of instance maps and say which failure each
#   number exposes;
# * pick semantic or instance segmentation for a task and justify it with the table above.
