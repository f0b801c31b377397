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
# 4. match predicted to true instances and score a data set with panoptic quality (PQ), average
#    precision (AP) and count error;
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
from tqdm.auto import tqdm

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1 · Touching cells
#
# `data.touching_cells` draws cells that touch and overlap (here `overlap=0.1`: by up to a tenth
# of their diameters; the knob dials it up). It returns both views of the same
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
# The touching cells merge into one component, so the count is wrong. This is the limitation of
# semantic segmentation in one line: *a single blob per class cannot separate touching instances,
# so it is not suitable for counting*.
#
# ## 3 · The distance transform: where the centres are
#
# For every pixel inside the mask, how far is the nearest background pixel? Centres of cells are
# far from the background; the "neck" where two cells touch is close to it. That single map
# turns a merged blob into hills, one per cell. To see a neck, read the map along a line from
# the centre of one cell to the centre of a cell it touches — a line that never leaves the blob:

# %%
mask = cells.labels[i].astype(bool)
dist = ndimage.distance_transform_edt(mask)
ids = np.unique(cells.instances[i])[1:]
centres = ndimage.center_of_mass(mask, cells.instances[i], ids)

def profile(a, b):
    """The distance map sampled along the straight line from point a to point b."""
    n = 2 * int(np.hypot(b[0] - a[0], b[1] - a[1])) + 1
    rr, cc = np.linspace(a[0], b[0], n), np.linspace(a[1], b[1], n)
    return rr, cc, ndimage.map_coordinates(dist, [rr, cc], order=1)

lines = [profile(centres[x], centres[y]) for x in range(len(ids)) for y in range(x + 1, len(ids))]
inside = [line for line in lines if line[2].min() >= 1]     # never crosses the background
rr, cc, prof = min(inside, key=lambda line: line[2].min() / min(line[2][0], line[2][-1]))  # deepest neck
along = np.hypot(rr - rr[0], cc - cc[0])

fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
im = axes[0].imshow(dist, cmap="magma"); axes[0].set_title("distance to background"); axes[0].set_axis_off()
axes[0].plot(cc, rr, color="cyan", lw=1.5)
fig.colorbar(im, ax=axes[0], fraction=0.046, label="distance to background (px)")
axes[1].plot(along, prof, color="black")
axes[1].set(title="along the cyan line", xlabel="position along the line (px)", ylabel="distance to background (px)",
            ylim=(0, None))
fig.tight_layout()
print(f"at the two cell centres: {prof[0]:.1f} px and {prof[-1]:.1f} px from the background; "
      f"at the neck between them: {prof.min():.1f} px")

# %% [markdown]
# The cyan line runs from one cell centre to the next without touching the background (the
# profile never reaches 0). It starts on a hill, dips at the neck where the two cells touch, and
# climbs the second hill: one peak per cell, a valley between them.
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
split_colours, truth_colours = viz.matched_instance_colours(split, cells.instances[i])   # a match shares its colour
fig, axes = plt.subplots(1, 3, figsize=(10, 4))
viz.instance_overlay(cells.images[i], naive, ax=axes[0], title=f"components: {naive.max()}",
                     colours=viz.matched_instance_colours(naive, cells.instances[i])[0])
viz.instance_overlay(cells.images[i], split, ax=axes[1], title=f"watershed: {split.max()}", colours=split_colours)
viz.instance_overlay(cells.images[i], cells.instances[i], ax=axes[2], title=f"truth: {cells.instances[i].max()}",
                     colours=truth_colours)
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
# * **PQ** (panoptic quality, Kirillov et al. 2019) = SQ × RQ = Σ IoU of the pairs / (TP + ½FP + ½FN).
#
# The library computes them exactly as `torchmetrics` (PQ) and `pycocotools` (mask IoU and COCO AP)
# define them.

# %%
m = instances.match_instances(split, cells.instances[i])
print("TP, FP, FN:", m.tp, m.fp, m.fn)
print("pairs (pred id, true id, IoU):", [(p, g, round(v, 3)) for p, g, v in m.pairs])
print({k: round(v, 3) for k, v in instances.panoptic_quality(split, cells.instances[i]).items()})

# %% [markdown]
# One image proves little. Over a data set, PQ is defined the way Kirillov et al. define it:
# **pool** TP, FP, FN and the IoUs of all pairs over all images first, then take the ratio
# (`instances.dataset_panoptic_quality`). Pooled, PQ = SQ × RQ holds exactly, and an image with
# many cells weighs more than one with few. First by hand, for the watershed on all 200 images:

# %%
preds = {"connected components": [instances.label_components(s) for s in cells.labels],
         "watershed": [instances.separate_touching(s, min_distance=2) for s in cells.labels]}

tp = fp = fn = 0
iou_sum = 0.0
for pred, truth in zip(preds["watershed"], cells.instances):
    m = instances.match_instances(pred, truth)
    tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
    iou_sum += sum(v for _, _, v in m.pairs)
sq, rq = iou_sum / tp, tp / (tp + fp / 2 + fn / 2)
print(f"pooled over 200 images: TP {tp}, FP {fp}, FN {fn} | SQ {sq:.3f} × RQ {rq:.3f} = PQ {sq * rq:.3f}")
print("instances.dataset_panoptic_quality:", {k: round(v, 3) for k, v in
                                               instances.dataset_panoptic_quality(preds["watershed"], cells.instances).items()})

# %% [markdown]
# Now both methods, with the per-image PQ beside the pooled one (its median and quartiles show how
# much images differ) and the count error of every image:

# %%
per_image = {}
print(f"{'method':>22} | pooled PQ = SQ × RQ   | per-image PQ: median [quartiles] | mean |count error| | counted right")
for name, pred in preds.items():
    pooled = instances.dataset_panoptic_quality(pred, cells.instances)
    per_image[name] = np.array([instances.panoptic_quality(p, t)["pq"] for p, t in zip(pred, cells.instances)])
    err = np.array([instances.count_error(p, t) for p, t in zip(pred, cells.instances)])
    q1, med, q3 = np.percentile(per_image[name], [25, 50, 75])
    print(f"{name:>22} | {pooled['pq']:.3f} = {pooled['sq']:.3f} × {pooled['rq']:.3f} | "
          f"{med:.3f} [{q1:.3f}, {q3:.3f}]{'':>12} | {np.abs(err).mean():18.2f} | {np.mean(err == 0):.0%}")

# %% [markdown]
# Connected components score a PQ near 0 (per-image PQ is 0 in at least three images out of four, and
# no image is counted right): touching cells merge into one component, and one big component cannot
# match any single cell with IoU above 0.5. The watershed lifts the pooled PQ to
# 0.664 and cuts the mean count error from 4.72 cells to 1.29. Its SQ — the mask quality of the
# cells it does separate — is high (0.866); what costs points is RQ (0.768): cells that overlap
# so much that their distance map has a single peak are merged (under-counting), and some single
# cells get two peaks and are split. Which of the two makes the false positives? Sort every
# unmatched prediction by what it covers: a **merge** covers at least a tenth of two or more true
# cells; a **split piece** covers one true cell that another prediction already matches; anything
# else (one unmatched cell, or background) is **other**:

# %%
fp_kinds = {"merge": 0, "split piece": 0, "other": 0}
for pred, truth in zip(preds["watershed"], cells.instances):
    m = instances.match_instances(pred, truth)
    matched_truth = {g for _, g, _ in m.pairs}
    cell_size = np.bincount(truth.ravel())
    for p in m.unmatched_pred:
        ids, overlap = np.unique(truth[pred == p], return_counts=True)
        covered = [g for g, n in zip(ids, overlap) if g != 0 and n >= 0.1 * cell_size[g]]
        kind = "merge" if len(covered) >= 2 else "split piece" if covered and covered[0] in matched_truth else "other"
        fp_kinds[kind] += 1
print(f"watershed false positives: {sum(fp_kinds.values())} |", fp_kinds)

# %% [markdown]
# Of the 115 false positives, 93 are merges and only 18 are split pieces (4 other): the
# watershed's false positives come mostly from **merging**, not from splitting. A merged blob
# that matches none of its cells (none reaches IoU above 0.5 with it) costs one FP and leaves its
# cells as FNs; one that still matches one of its cells costs no FP at all, only FNs for the
# others, so this count understates merging (the "tenth of a cell" that defines a merge is a choice). Images differ a lot: the middle half of them
# score between 0.532 and 0.874, and none of that spread shows in one pooled number. The worst
# image shows the failure at its extreme: a tight cluster comes out as a few large objects, none of
# which covers any single true cell well enough (IoU > 0.5) to count as a match — so every
# prediction is a FP and every cell a FN. Truth and prediction share a colour where they match
# (none do here, so the predictions are all in the false-positive red and the cells in the
# missed blue); the right panel fills each prediction by its fate and outlines, in blue, every
# true cell that nothing matched:

# %%
i_bad = int(np.argmin(per_image["watershed"]))
pred = preds["watershed"][i_bad]
m = instances.match_instances(pred, cells.instances[i_bad])
pred_colours, truth_colours = viz.matched_instance_colours(pred, cells.instances[i_bad], m)
fig, axes = plt.subplots(1, 3, figsize=(10, 4.4))
viz.instance_overlay(cells.images[i_bad], cells.instances[i_bad], ax=axes[0], title=f"truth: {m.tp + m.fn} cells",
                     colours=truth_colours)
viz.instance_overlay(cells.images[i_bad], pred, ax=axes[1], title=f"watershed: {m.tp + m.fp} objects", colours=pred_colours)
viz.instance_match_map(cells.images[i_bad], pred, cells.instances[i_bad], m, ax=axes[2])
fig.tight_layout()
print(f"image {i_bad}: TP {m.tp}, FP {m.fp}, FN {m.fn}, PQ {per_image['watershed'][i_bad]:.3f}")

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
# The course ships a `TinyUNet` trained on exactly this target; its card, printed below, says on
# which device and how many training images it saw (repeats over epochs included; the README has the
# command). We run it on our 200 images and compare the three ways of getting instances, all from the *model's*
# output.
#
# A model also says how sure it is, which lets us score it the way COCO does: **average
# precision (AP)**. Give each predicted object a confidence (here the mean probability, over its
# pixels, that a pixel is cell), rank all objects of all images by it, and walk down the list:
# precision and recall after every object trace a curve, and AP is the area under it, averaged
# over ten IoU thresholds of a match, from 0.50 to 0.95 (AP50: the first one alone). PQ scores
# one fixed set of objects; AP rewards a model whose confident objects are the right ones
# (`instances.dataset_average_precision`, COCO's definition as in `pycocotools`).

# %%
from segcourse import models, train

cell_model = models.pretrained("cells")
print("card:", cell_model.card["training"]["device_name"], "|", cell_model.card["training"]["images_seen"], "training images |",
      "held-out per-class IoU", cell_model.card["heldout"]["per_class_iou"])
three_pred, three_prob = train.predict(cell_model, cells.images, device="cpu")
cell_prob = 1 - three_prob[:, 0]                        # probability that a pixel is cell (interior or boundary)

methods = {
    "components of predicted mask": lambda p: instances.label_components(p > 0),
    "watershed on predicted mask": lambda p: instances.separate_touching(p > 0, min_distance=2),
    "boundary-class recipe": lambda p: instances.instances_from_boundary_classes(p),
}
print(f"{'method':>29} | pooled PQ |  AP   | AP50  | mean |count error| | counted right")
for name, make in tqdm(methods.items(), desc="scoring the methods", total=len(methods)):
    objects = [make(p) for p in three_pred]
    confidence = [dict(zip(np.unique(o)[1:].tolist(), ndimage.mean(pr, o, np.unique(o)[1:])))
                  for o, pr in zip(objects, cell_prob)]
    pq = instances.dataset_panoptic_quality(objects, cells.instances)["pq"]
    ap = instances.dataset_average_precision(objects, confidence, cells.instances)
    err = np.array([instances.count_error(o, t) for o, t in zip(objects, cells.instances)])
    print(f"{name:>29} | {pq:9.3f} | {ap['ap']:.3f} | {ap['ap_per_threshold'][0.5]:.3f} | "
          f"{np.abs(err).mean():18.2f} | {np.mean(err == 0):.0%}")
print("AP averages over the IoU thresholds", list(ap["ap_per_threshold"]))

# %%
j = 3
fig, axes = plt.subplots(1, 3, figsize=(10, 4))
three_classes = train.cells_boundary(1)                 # carries the 3-class names and palette
viz.show_mask(axes[0], three_pred[j], three_classes.palette, "predicted: interior / boundary")
axes[0].legend(handles=viz.legend_handles(three_classes.class_names, three_classes.palette), loc="upper center",
               bbox_to_anchor=(0.5, -0.02), ncol=1, frameon=False, fontsize=8)
recipe = instances.instances_from_boundary_classes(three_pred[j])
recipe_colours, truth_colours = viz.matched_instance_colours(recipe, cells.instances[j])
viz.instance_overlay(cells.images[j], recipe, ax=axes[1], title="recipe", colours=recipe_colours)
viz.instance_overlay(cells.images[j], cells.instances[j], ax=axes[2], title="truth", colours=truth_colours)
fig.tight_layout()

# %% [markdown]
# Compare the rows: from the same model output, the boundary-class recipe reaches a pooled PQ of
# 0.835 where the watershed on the predicted mask gets 0.664 and plain components almost 0; AP
# ranks them the same way (0.712 against 0.457; AP50 0.828 against 0.651), and the recipe
# miscounts by 0.84 cells on average instead of 1.29. The mask itself is not the difference (the
# watershed row on the predicted mask matches the watershed on the true mask in section 5): the gain
# comes from the predicted boundary class, which separates cells whose distance map has only one
# peak. That is the general
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
fig, axes = plt.subplots(1, 4, figsize=(12, 3.8))
axes[0].imshow(cells.images[i]); axes[0].set_title("input image"); axes[0].set_axis_off()
viz.show_mask(axes[1], cells.labels[i], cells.palette, "semantic target: one blob")
axes[1].legend(handles=viz.legend_handles(cells.class_names, cells.palette), loc="upper center",
               bbox_to_anchor=(0.5, -0.02), ncol=2, frameon=False, fontsize=8)
split_colours, truth_colours = viz.matched_instance_colours(split, cells.instances[i])
viz.instance_overlay(cells.images[i], split, ax=axes[2], title=f"prediction: {split.max()} instances", colours=split_colours)
viz.instance_overlay(cells.images[i], cells.instances[i], ax=axes[3], title=f"truth: {cells.instances[i].max()} instances",
                     colours=truth_colours)
fig.tight_layout()
pooled = {name: instances.dataset_panoptic_quality(pred, cells.instances) for name, pred in preds.items()}
errors = {name: np.mean([abs(instances.count_error(p, t)) for p, t in zip(pred, cells.instances)])
          for name, pred in preds.items()}
w = pooled["watershed"]
print(f"metric      : pooled PQ {w['pq']:.3f} = SQ {w['sq']:.3f} × RQ {w['rq']:.3f} over 200 images (watershed)")
print(f"failure note: components merge touching cells (mean |count error| {errors['connected components']:.2f});"
      f" watershed: heavily overlapping cells still merge (mean |count error| {errors['watershed']:.2f})")

# %% [markdown]
# ## Pass check
#
# You pass this lesson when you can:
#
# * show a mask where connected components under-count, and say why;
# * explain what the distance transform and the watershed markers are;
# * compute TP/FP/FN, SQ, RQ and PQ for a pair of instance maps and say which failure each
#   number exposes; pool them over a data set so that PQ = SQ × RQ;
# * say what AP adds to PQ (a ranking by confidence) and read AP50 next to AP;
# * pick semantic or instance segmentation for a task and justify it with the table above.
