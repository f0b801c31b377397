# %% [markdown]
# # 05 · Segmentation practice: running a project, not just a model
#
# A real segmentation project rarely fails because of the network's name. It fails on
# **annotation quality**, **class imbalance**, and **an evaluation that hides the bad cases**.
# This lesson runs a small project end to end on road scenes, in the order that makes problems
# visible early: define the classes, check the masks, build a baseline, evaluate once and the same
# way for everything, look at samples one by one, sort the failures, and write it up.
#
# **After this lesson you can**
#
# 1. report per-sample IoU next to the mean, and explain what the mean hides;
# 2. sort failure samples into boundary errors, missed small regions and class confusion — each
#    with a measured number;
# 3. run annotation QC and show how label noise caps the IoU you can *measure*;
# 4. use the project checklist to decide the next step;
# 5. produce a self-contained portfolio report.
#
# **Map:** 1 · per-sample IoU, by hand → 2 · define the classes → 3 · check the masks →
# 4 · baseline and one unified evaluation → 5 · failure buckets → 6 · the checklist →
# 7 · annotation noise vs the IoU ceiling → 8 · the portfolio report → evidence card and pass check.

# %%
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

from segcourse import data, failures, metrics, models, report, train, viz

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1 · Per-sample IoU, and why the mean is not enough
#
# Two 3×3 predictions and their ground truths, scored for class 1. First with a plain loop, so
# every count is visible:

# %%
pred_masks = [
    [[0, 0, 1], [0, 1, 1], [0, 0, 1]],
    [[1, 1, 0], [1, 0, 0], [1, 0, 0]],
]
gt_masks = [
    [[0, 0, 1], [0, 1, 1], [0, 1, 1]],
    [[1, 1, 0], [1, 1, 0], [1, 0, 0]],
]

def iou_by_hand(mask_a, mask_b, target=1):
    inter = union = 0
    for row_a, row_b in zip(mask_a, mask_b):
        for a, b in zip(row_a, row_b):
            inter += a == target and b == target
            union += a == target or b == target
    return inter / union if union else 0.0

ious = [iou_by_hand(p, g) for p, g in zip(pred_masks, gt_masks)]
mean_iou = sum(ious) / len(ious)
print("ious:", [round(x, 4) for x in ious])
print("mean_iou:", round(mean_iou, 4))

# %%
lib_ious = [metrics.iou(p, g) for p, g in zip(pred_masks, gt_masks)]
assert lib_ious == ious and round(float(np.mean(lib_ious)), 4) == 0.8
print("segcourse agrees:", lib_ious)

# %% [markdown]
# Each prediction misses one pixel of a five-pixel object: 4 / 5 = 0.8, twice. Here the mean
# tells the truth because the samples are alike. Change one sample and watch what the mean does —
# the practice text's first exercise:

# %%
worse = [row[:] for row in pred_masks[1]]
worse[0] = [0, 0, 0]                       # the second prediction now misses the top row
ious_b = [metrics.iou(pred_masks[0], gt_masks[0]), metrics.iou(worse, gt_masks[1])]
print("ious:", [round(x, 4) for x in ious_b], "mean_iou:", round(float(np.mean(ious_b)), 4))

# %% [markdown]
# The mean (0.6) is a number no sample has: one sample is still fine (0.8), the other lost
# most of its object (0.4). A report that keeps only the mean cannot tell these two projects
# apart. **Keep the per-sample values.**
#
# ## 2 · Define the classes
#
# Few classes, clear boundaries, failures easy to see: the road-scene task fits. Its class
# definitions travel with the data; writing them down (with how many pixels each class owns)
# is the first checklist item.

# %%
project = data.road_scenes(300, seed=31, sidewalk_gap=0.04, noise=0.06, lighting=0.25)
share = np.bincount(project.labels.ravel(), minlength=project.num_classes) / project.labels.size
for cid, (name, s) in enumerate(zip(project.class_names, share)):
    print(f"{cid}  {name:<13} {s:6.2%} of pixels")

# %% [markdown]
# ## 3 · Check the masks before trusting them
#
# Annotation QC looks for what annotators get wrong: unlabeled gaps, ids outside the class list,
# one-pixel specks, suspiciously thin regions, ids that only one image uses. To see it work we
# plant a few defects in a copy of the labels — and tell QC that lane markings are *meant* to be
# thin.

# %%
labels_to_check = project.labels.astype(np.int32).copy()
labels_to_check[4, 30:33, 10:14] = 255     # an unlabeled gap
labels_to_check[9, 5, 5] = 4               # a one-pixel "car" in the sky
labels_to_check[17, 40, :] = 0             # a 1-px-thin stripe of "sky" across the road
labels_to_check[23, :3, :3] = 9            # an id no one else uses

findings = failures.check_annotations(labels_to_check, num_classes=5, thin_ok=(3,))
kinds, counts = np.unique([f["kind"] for f in findings], return_counts=True)
print("findings by kind:", dict(zip(kinds.tolist(), counts.tolist())))
print("in the samples we tampered with:")
for f in findings:
    if f["sample"] in (4, 9, 17, 23) and f["class"] != 3 or f["sample"] is None:
        print("  ", f)

# %% [markdown]
# Every planted defect is found, with the sample and the size. QC also flags things nobody
# planted: one- to three-pixel scraps of road squeezed between a car and a lane marking, and
# distant cars only one pixel thick. That is what QC is for — a list for a person to review, not a
# verdict. In a real project it goes back to the annotators *before* anything is trained on the
# masks.
#
# ## 4 · A baseline and one unified evaluation
#
# Our baseline is the course's shipped model (trained in lesson 01's setting). The project's
# scenes are a little noisier and the sidewalk a little closer to the road than in training —
# as real projects are. **One** evaluation function scores every sample, and we keep one row
# per sample:

# %%
model = models.pretrained("roads")
result = train.evaluate(model, project, device="cpu")
pred = result["pred"]
rows = failures.per_sample_report(pred, project.labels, 5, project.class_names)
print("first row:", {k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[0].items()})
per_sample = np.array([r["miou"] for r in rows])
print(f"mean mIoU {per_sample.mean():.3f} | median {np.median(per_sample):.3f} | worst {per_sample.min():.3f} | "
      f"samples below 0.9: {(per_sample < 0.9).sum()} of {len(per_sample)}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
viz.per_class_bar(result["per_class_iou"], project.class_names, project.palette, ax=axes[0])
viz.per_sample_strip(per_sample, worst=3, ax=axes[1])
fig.tight_layout()

# %% [markdown]
# Left: the per-class view — cars are the weak class. Right: the per-sample view — most samples
# cluster high, and a tail of bad ones sits far below the mean. Those samples, not the mean,
# say what to fix.
#
# ## 5 · Failure buckets, each backed by a number
#
# `failures.bucket_failures` takes every sample below an mIoU of 0.9 and tests it for the three
# failure types of the practice text:
#
# * **boundary error** — most wrong pixels lie in the boundary band;
# * **missed small region** — a small ground-truth region found at less than 50 % recall;
# * **class confusion** — a large share of one class predicted as one other class.

# %%
buckets = failures.bucket_failures(pred, project.labels, 5, project.class_names, fail_below=0.9)
print("failing samples:", buckets["failing"], "of", buckets["total"])
print("bucket sizes   :", buckets["counts"])
for bucket, ids in buckets["worst"].items():
    for sample in [s for s in buckets["samples"] if s["sample"] in ids][:2]:
        print(f"[{bucket}]", report.explain(sample))

# %%
ids = buckets["worst"]["class_confusion"] or buckets["worst"]["boundary"]
fig = viz.failure_gallery(project.images[ids], project.labels[ids], pred[ids], per_sample[ids],
                          k=len(ids), palette=project.palette, ids=ids)

# %% [markdown]
# The explanation lines are measured, not guessed: which pair of classes, what share, how many
# pixels; which small region, how big, what recall. Now the next change has a clear target — and
# "try a bigger model" is not it.

# %% [markdown]
# ### Hand-correct a bad mask
#
# A bucket also tells an annotator — or you — where to look. Open the worst sample's prediction
# in the `MaskEditor`, cropped to the 32×32 corner where most errors are, scored against the
# ground truth. Paint over the wrong pixels and watch the readout climb; the cell below makes one
# correction from Python: every pixel of the true road painted as road.

# %%
from segcourse.widgets import MaskEditor

worst = int(np.argmin(per_sample))
wrong = pred[worst] != project.labels[worst]
corners = {(r, c): wrong[r:r + 32, c:c + 32].sum() for r in (0, 32) for c in (0, 32)}
r0, c0 = max(corners, key=corners.get)
crop = (slice(r0, r0 + 32), slice(c0, c0 + 32))
fixer = MaskEditor(mask=pred[worst][crop], target=project.labels[worst][crop], num_classes=5,
                   class_names=project.class_names, palette=project.palette)
print("before:", fixer.readout)
for r, c in np.argwhere(project.labels[worst][crop] == 1):
    fixer.paint(int(r), int(c), 1)
print("after :", fixer.readout)
fixer

# %% [markdown]
# ## 6 · The project checklist
#
# Where are we? Classes defined, masks checked, baseline ready — but until a minute ago the
# failures were not bucketed:

# %%
checklist = {
    "classes_defined": True,
    "mask_quality_checked": True,
    "baseline_ready": True,
    "failure_buckets_defined": False,
}
print(failures.next_step(checklist))

# %%
checklist["failure_buckets_defined"] = True   # section 5 did it
print(failures.next_step(checklist))

# %% [markdown]
# ## 7 · Annotation noise caps the IoU you can measure
#
# Suppose the model were *perfect*. It is scored against human masks, and two humans do not draw
# the same boundary. `data.annotation_noise` simulates an annotator whose boundaries wander by
# about `boundary_jitter` pixels. The agreement between the true masks and that annotator's masks
# is the best IoU *any* model can be measured at:

# %%
jitters = [0, 0.5, 1, 1.5, 2, 3]
ceiling = [failures.agreement(data.annotation_noise(project.labels, boundary_jitter=j, seed=1), project.labels, 5)
           for j in jitters]
for j, a in zip(jitters, ceiling):
    print(f"jitter {j:>3} px: mIoU ceiling {a['miou']:.3f} | car {a['per_class_iou'][4]:.3f} | lane {a['per_class_iou'][3]:.3f}")
fig, ax = plt.subplots(figsize=(5, 3))
for c in (1, 3, 4):
    ax.plot(jitters, [a["per_class_iou"][c] for a in ceiling], "o-", color=project.palette[c] / 255, label=project.class_names[c])
ax.plot(jitters, [a["miou"] for a in ceiling], "k--", label="mIoU")
ax.set(xlabel="annotator boundary jitter (px)", ylabel="best measurable IoU", ylim=(0, 1.02))
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# The ceiling falls fastest for **thin and small** classes: a one-pixel shift is a small part of
# the road but most of a lane marking. This is why IoU is so sensitive on small regions (the
# practice text's third exercise), and why inconsistent boundary standards "contaminate both
# training and evaluation": a model can be right and still be measured wrong.

# %% [markdown]
# ### Play annotator
#
# Two people outline the same car. Neither is wrong, yet their masks differ by a pixel here and
# there — and on an object this small that is a big IoU difference. Paint your own version in
# `annotator_b` and compare; the cell below uses two plausible outlines.

# %%
car = np.zeros((10, 14), int)
car[3:7, 2:12] = 1
car[2, 4:10] = 1                              # the roof
annotator_a = MaskEditor(mask=car)
annotator_b = MaskEditor(mask=car, target=car)
for c in range(2, 12):                        # B draws the bottom edge one row lower...
    annotator_b.paint(7, c, 1)
for c in range(4, 10):                        # ...and leaves out the roof
    annotator_b.paint(2, c, 0)
print("B against A:", annotator_b.readout)
agree = failures.agreement(annotator_a.mask, annotator_b.mask, 2)
print("per-class IoU (background, car):", agree["per_class_iou"].round(3))
annotator_b

# %% [markdown]
# Two careful annotators agree at a car IoU well below 1. A model scored against either of
# them cannot be *measured* much above that on small objects, however good it is.
#
# ## 8 · The portfolio report
#
# Instead of one colourful mask, the report shows triplets, per-class IoU, the failure samples of
# each bucket with their one-line explanation, and what to improve next — all numbers computed
# above, all images embedded in one HTML file.

# %%
out = report.write_report(
    Path("reports") / "road_project.html", project.images, project.labels, pred, project.class_names,
    result["per_class_iou"], per_sample, buckets, palette=project.palette,
    title="Road scenes: baseline evaluation", overwrite=True,
    notes="Shipped TinyUNet on 300 noisier road scenes (seed 31).")
print("wrote", out.as_posix(), f"({out.stat().st_size // 1024} KB, no external files)")

# %% [markdown]
# Open `notebooks/reports/road_project.html` in a browser (in JupyterLab: right-click → *Open in
# New Browser Tab*). `write_report` refuses to overwrite an existing report unless you pass
# `overwrite=True`.
#
# ## Evidence card

# %%
w = int(buckets["worst"]["class_confusion"][0] if buckets["worst"]["class_confusion"] else np.argmin(per_sample))
sample = next(s for s in buckets["samples"] if s["sample"] == w)
fig, summary = viz.evidence_card(
    project.images[w], project.labels[w], pred[w], project.class_names,
    scores={"mIoU (sample)": per_sample[w], "mean mIoU (300)": float(per_sample.mean()),
            "per_class": metrics.per_class_iou(pred[w], project.labels[w], 5)},
    boundary=failures.label_boundary_band(project.labels[w]), notes=[report.explain(sample)],
    palette=project.palette)
print(summary)

# %% [markdown]
# ## Pass check
#
# You pass this lesson when you can:
#
# * reproduce `ious: [0.8, 0.8]` and `mean_iou: 0.8`, and build a pair of samples where the mean
#   hides a bad one;
# * name the bucket of a failure sample and quote the number that puts it there;
# * run annotation QC and explain why the IoU ceiling falls fastest for small classes;
# * say what the checklist's next step is, and why it is not "a bigger model";
# * hand someone the HTML report and walk them through it.
