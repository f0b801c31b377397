# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 05 · Segmentation practice
#
# Six exercises on lesson 05, the project loop: per-sample IoU, its mean and the pooled IoU, why
# small regions are fragile, explaining a failure from its evidence, a portfolio page that says in
# your own words what went wrong, whether a failing sample is the per-image trap, and whether a
# failure is a boundary error. Answer in the marked cells; free-text answers are read by your
# teacher.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

from segcourse import checks, data, failures, metrics, models, report, train, viz

# %% [markdown]
# ## 1 · Build your own masks and watch `mean_iou` change (2 points)
#
# Make a new `pred_masks` / `gt_masks` pair of 0/1 masks, every mask the same size (a stack of,
# say, 3×3 masks): at least two samples that are **not**
# alike (their IoUs differ: if every sample scores the same, the mean equals each of them and hides
# nothing), plus one where *both* masks are empty. Then write `set_scores(pred_masks, gt_masks)`,
# which returns three things for class 1: the per-sample IoUs `ious` (lesson 00's convention: NaN,
# `float("nan")`, when both masks are empty, because 0/0 has no value), their mean `mean_iou`,
# skipping the NaN sample (`np.nanmean`), and the **pooled** IoU of the whole set, `pooled_iou`:
# every sample's overlap summed, divided by every sample's union summed (lesson 05 §2 and §4 print
# a pooled mIoU). Build your set so that the mean and the pooled IoU differ
# (by more than 0.02): make one object larger than the other, so its union weighs more in the
# pooled IoU.
#
# **Rule for exercises 1, 2, 5 and 6:** plain Python or numpy only: no `segcourse` function (not
# even `metrics.iou`: on a stack of masks it returns the pooled IoU), no `sklearn.metrics`
# `jaccard_score` or `confusion_matrix`, no `torchmetrics`. The check watches what your function
# calls, and runs it on its own sets of masks as well as on yours.

# %% nbgrader={"grade": false, "grade_id": "practice_masks", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
pred_masks = np.array([
    [[0, 0, 1], [0, 1, 1], [0, 0, 1]],
    [[1, 1, 1], [0, 0, 0], [0, 0, 0]],   # finds the top row of a large object
    [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
])
gt_masks = np.array([
    [[0, 0, 1], [0, 1, 1], [0, 1, 1]],
    [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
    [[0, 0, 0], [0, 0, 0], [0, 0, 0]],   # no object in either mask
])
### END SOLUTION


def set_scores(pred_masks, gt_masks):
    """Per-sample IoUs of class 1, their mean without the NaN samples, and the pooled IoU."""
    ### BEGIN SOLUTION
    in_pred, in_gt = np.asarray(pred_masks) == 1, np.asarray(gt_masks) == 1
    overlap = (in_pred & in_gt).sum(axis=(1, 2))          # one count per sample
    union = (in_pred | in_gt).sum(axis=(1, 2))
    # both empty: 0/0 has no value
    ious = [o / u if u else float("nan") for o, u in zip(overlap, union)]
    # a large union weighs more in the pooled IoU: the big, badly found object
    return ious, float(np.nanmean(ious)), float(overlap.sum() / union.sum())
    ### END SOLUTION


ious, mean_iou, pooled_iou = set_scores(pred_masks, gt_masks)
print("ious:", [round(float(x), 4) for x in ious])
print("mean_iou:", round(mean_iou, 4), "| pooled_iou:", round(pooled_iou, 4))

# %% nbgrader={"grade": true, "grade_id": "check_practice_masks", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_practice_masks(pred_masks, gt_masks, set_scores)


# %% [markdown]
# ## 2 · How much does a one-pixel shift cost a small region? (2 points)
#
# Write `shifted_iou(mask, shift)`: the IoU of a 0/1 (or bool) mask with a copy of itself moved
# `shift` pixels to the right (a negative `shift` moves it left). What moves past the image's edge
# is lost, and the columns the mask leaves behind are background, as when an annotator's outline
# sits a pixel off near the border (`np.roll` would wrap those pixels back in on the other side).
# An empty mask has no IoU: return NaN. Count the overlap and the union yourself, with plain
# Python or numpy (`scipy.ndimage.shift` may move the mask): the rule of exercise 1, and the check
# watches for it. The check tries squares, a rectangle, lines one pixel wide, masks
# that touch the image's edge, random masks, no shift, shifts of several pixels both ways, and an
# empty mask; the printout shows what a one-pixel error costs objects of different sizes, and a
# lane marking one pixel wide.

# %% nbgrader={"grade": false, "grade_id": "shifted_iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def shifted_iou(mask, shift):
    ### BEGIN SOLUTION
    mask = np.asarray(mask) != 0
    moved = np.zeros_like(mask)  # what leaves the image is lost, what it leaves is 0
    if shift >= 0:
        moved[:, shift:] = mask[:, :mask.shape[1] - shift]
    else:
        moved[:, :shift] = mask[:, -shift:]
    union = np.count_nonzero(mask | moved)
    return np.count_nonzero(mask & moved) / union if union else float("nan")
    ### END SOLUTION

for side in (2, 4, 8, 16, 32):
    square = np.zeros((side + 4, side + 4), bool)
    square[2:2 + side, 2:2 + side] = True
    print(f"{side:>2}×{side:<2} square moved by 1 px: IoU {shifted_iou(square, 1):.3f}")
lane = np.zeros((16, 8), bool)
lane[2:14, 3] = True                              # a lane marking one pixel wide
print(f"1-px-wide line moved by 1 px: IoU {shifted_iou(lane, 1):.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_shifted_iou", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_small_region_sensitivity(shifted_iou)

# %% [markdown]
# ## 3 · Explain a failure from its error map (2 points)
#
# The shipped model meets road scenes from a shifted camera: more sensor noise, stronger lighting
# changes and a sidewalk almost as bright as the road (`sidewalk_gap`). Look at the worst sample's
# triplet and error maps, then explain in the answer cell which failure bucket it belongs to and
# which number shows it. The table below the matrix changes the camera knobs on the same scenes.

# %% nbgrader={"grade": false, "grade_id": "failure_figure", "locked": true, "schema_version": 3, "solution": false, "task": false}
scenes = data.road_scenes(60, seed=8, sidewalk_gap=0.03, noise=0.06, lighting=0.3)
roads = models.pretrained("roads")
result = train.evaluate(roads, scenes, device="cpu")
w = int(np.argmin(result["per_sample_miou"]))
fig = viz.triplet(scenes.images[w], scenes.labels[w], result["pred"][w], scenes.class_names,
                  scenes.palette,
                  title=f"worst sample #{w}: mIoU {result['per_sample_miou'][w]:.3f}")
fig, axes = plt.subplots(1, 2, figsize=(7, 4.2))
band_w = failures.label_boundary_band(scenes.labels[w])
viz.errors_over_image(scenes.images[w], scenes.labels[w], result["pred"][w], band_w, ax=axes[0],
                      palette=scenes.palette)
viz.boundary_error_map(scenes.labels[w], result["pred"][w], band_w, ax=axes[1])
same_words = {"boundary error": "wrong, on a boundary band",
              "interior error": "wrong, inside a region", "band": "boundary band, correct"}
viz.legend_words(fig, same_words)               # the right panel in the left panel's words
viz.add_off_band_entry(fig)                     # and its black pixels: right, away from the band
fig.tight_layout()
cm = metrics.confusion_matrix(result["pred"][w], scenes.labels[w], 5)
print("confusion matrix (rows = truth):\n", cm)
print("true pixels per class:", dict(zip(scenes.class_names, cm.sum(1).tolist())),
      f"| predicted car on other classes: {cm[:4, 4].sum()}")
wrong_w = scenes.labels[w] != result["pred"][w]
print(f"wrong pixels: {wrong_w.sum()}, outside the boundary band: {(wrong_w & ~band_w).sum()}")

knobs = {"lighting": 0.3, "noise": 0.06, "sidewalk_gap": 0.03}
settings = [("as trained", {})]
settings += [(f"{k} {v} only", {k: v}) for k, v in knobs.items()]
settings += [("all three", knobs)]
settings += [(f"all but {k} (put back)", {j: u for j, u in knobs.items() if j != k}) for k in knobs]
print(f"\n{'knobs changed':>31} |   mIoU | road IoU | sidewalk IoU | car IoU | failing samples")
for label, kw in settings:
    if kw == knobs:
        r = result                              # all three: the scenes above
    else:
        r = train.evaluate(roads, data.road_scenes(60, seed=8, **kw), device="cpu")
    # failing: per-sample mIoU below 0.9, as bucket_failures counts
    failing = int((r["per_sample_miou"] < 0.9).sum())
    iou = r["per_class_iou"]
    print(f"{label:>31} | {r['miou']:.3f} | {iou[1]:8.3f} | {iou[2]:12.3f} | {iou[4]:7.3f} | "
          f"{failing:15d}")

# %% [markdown] nbgrader={"grade": true, "grade_id": "failure_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# A false-positive class, with blurred edges on top. In the worst sample's confusion matrix, 134
# road and 129 sidewalk pixels are predicted as car (263 in all), where the target holds 15 car
# pixels: the model paints car patches where the target has almost no car. The other large error
# is road painted over sidewalk: 376 of the 1375 true sidewalk pixels are predicted as road (road
# is a real class in this scene, with 1273 pixels in the target). The error maps show them as
# patches inside the road and the sidewalk: 394 of the 658 wrong pixels lie outside the boundary
# band, so this is not only an edge problem. One knob at a time on the same scenes: lighting alone
# leaves mIoU at 0.997 and no failing sample; the low road-sidewalk contrast alone (`sidewalk_gap`)
# blurs road and sidewalk (road IoU 0.979) but fails no sample; noise alone drops car IoU to 0.920 and
# fails 3 samples; all three fail 12, four times as many as any knob alone: the knobs compound.
# Putting one knob back from all three: with the training noise 2 samples still fail, with the
# training lighting 4, with the training contrast 6. Noise cuts the failing samples most, and no
# single knob brings them to 0. So the first change is free augmentation that matches two of the
# three knobs: pixel noise and brightness, not colour jitter (lesson 05 section 8 tested no colour
# jitter). Section 8 measured it on the lesson's camera: over 5 seeds, noise + brightness took the
# held-out failures from 28 to 0 to 14, noise alone to 12 to 19. No augmentation brings back the
# road-sidewalk contrast: if failures remain, annotate scenes from this camera (0 failing for every
# seed in section 8).

# %% [markdown]
# **Check yourself** after answering: the lesson's bucket rules on this sample.

# %% nbgrader={"grade": false, "grade_id": "failure_reveal", "locked": true, "schema_version": 3, "solution": false, "task": false}
verdict = failures.bucket_failures(result["pred"], scenes.labels, 5, scenes.class_names)
print(report.explain({fs["sample"]: fs for fs in verdict["samples"]}[w]))

# %% [markdown]
# ## 4 · Turn the project into a portfolio page (2 points)
#
# Bucket the failures of the scenes above (`failures.bucket_failures`) and print
# `buckets["primary_counts"]`. Then write **your own** `explanation`, 12 words or more: which
# bucket is primary for most failing samples, its count, and the change you would make next
# (lesson 05 section 8 pairs each bucket with its changes; for the false-positive bucket say which
# data or augmentation, or a minimum region size and the stray class it prunes: a bare "more data" or
# "augmentation" is refused, since it does not say what the scenes lack). Pass it to
# `report.write_report(Path("reports") / "portfolio.html", ..., notes=explanation,
# overwrite=True)`; keep the returned path in `path`.
# The check reads this run's page and tests your words against the data.

# %% nbgrader={"grade": false, "grade_id": "portfolio", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
buckets = failures.bucket_failures(result["pred"], scenes.labels, 5, scenes.class_names)
primary = {b: n for b, n in buckets["primary_counts"].items() if b is not None}
print(f"{buckets['failing']} of {buckets['total']} samples fail | primary bucket:", primary,
      "| in each bucket (overlapping):", buckets["counts"])
explanation = (
    "The false-positive class is the primary bucket of all 12 failing samples (of 60), "
    "and 11 of them sit in the boundary bucket too: on the shifted camera the model paints "
    "cars on road and sidewalk and calls sidewalk road. Alone only the noise fails samples (3), "
    "but the three knobs together fail 12. Next I would retrain with noise and brightness "
    "augmentation, not colour jitter: lesson 05 section 8 measured it (failing held-out "
    "scenes from 28 to 0 to 14 over 5 seeds, noise alone 12 to 19). "
    "Then I would check whether the false-positive bucket shrinks."
)
path = report.write_report(Path("reports") / "portfolio.html", scenes.images, scenes.labels,
                           result["pred"], scenes.class_names, result["per_class_iou"],
                           result["per_sample_miou"], buckets, palette=scenes.palette,
                           notes=explanation, overwrite=True)
### END SOLUTION
print("written:", path)

# %% nbgrader={"grade": true, "grade_id": "check_portfolio", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_report(path, explanation, result["pred"], scenes.labels)

# %% [markdown]
# ## 5 · Is a failing sample the per-image trap? (2 points)
#
# Lesson 05 section 5: a per-image mIoU averages the IoU over every class in the target *or* the
# prediction, so a few stray pixels of a class the image does not have add a class scored 0 and
# drag the sample below the fail line, though the classes that are really there are fine. Write
# `trap_score(pred, target)` for two label maps of one sample. It returns three things:
#
# * `per_image`: the mean IoU over the classes in the target or the prediction (a class in
#   neither has no IoU and is skipped, not counted as 0);
# * `over_target`: the mean IoU over the classes the **target** has (a target class the model
#   missed counts, with IoU 0);
# * `is_trap`: `True` when the sample fails the line per image (`per_image < 0.9`) but passes over
#   its target's classes (`over_target >= 0.9`).
#
# Plain Python or numpy only, no `segcourse` function (the rule of exercises 1 and 2; the check
# watches for it). The check tries small label maps of its own: a trap, a missed class, a sample
# that fails either way, a perfect one and a target of two classes. Then score exercise 3's worst
# sample, count the trap samples among the scenes above (none of the 60 is one), and score lesson
# 05's samples #158 (section 5's trap) and #254 (a real failure).

# %% nbgrader={"grade": false, "grade_id": "trap_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def trap_score(pred, target):
    ### BEGIN SOLUTION
    pred, target = np.asarray(pred), np.asarray(target)
    # classes in the target or the prediction
    present = np.union1d(np.unique(pred), np.unique(target))
    class_iou = np.array([np.count_nonzero((pred == c) & (target == c))
                          / np.count_nonzero((pred == c) | (target == c)) for c in present])
    per_image = float(class_iou.mean())
    over_target = float(class_iou[np.isin(present, np.unique(target))].mean())
    return per_image, over_target, bool(per_image < 0.9 <= over_target)
    ### END SOLUTION


scored = [trap_score(p, t) for p, t in zip(result["pred"], scenes.labels)]
print(f"worst sample #{w}: per image {scored[w][0]:.3f} | "
      f"over its target's classes {scored[w][1]:.3f} | the trap: {scored[w][2]}")
print(f"fail line 0.9 | failing per image: {sum(s[0] < 0.9 for s in scored)} of {len(scored)} | "
      f"of them the trap: {sum(s[2] for s in scored)}")
# lesson 05's scenes
project = data.road_scenes(300, seed=31, sidewalk_gap=0.04, noise=0.06, lighting=0.25)
picked = [158, 254]
lesson = data.SegData(project.images[picked], project.labels[picked], project.class_names,
                      project.palette, params=project.params)
lesson_pred = train.evaluate(roads, lesson, device="cpu")["pred"]
for i, p, t in zip(picked, lesson_pred, lesson.labels):
    per_image, over_target, is_trap = trap_score(p, t)
    print(f"lesson 05's #{i}: per image {per_image:.3f} | "
          f"over its target's classes {over_target:.3f} | the trap: {is_trap}")

# %% nbgrader={"grade": true, "grade_id": "check_trap_score", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_trap_score(trap_score)

# %% [markdown]
# ## 6 · Is a failure a boundary error? (2 points)
#
# Lesson 05's evidence card says of sample #254 that most of its *other* wrong pixels lie in the
# boundary band. Other than what? The buckets explain each wrong pixel once, in order (section 6):
# the false-positive bucket takes its stray regions first, and the boundary rule reads only the
# wrong pixels left. Write `boundary_enrichment(pred, target, band)` for one sample:
#
# 1. remove the stray regions as the false-positive bucket does (section 6): label each predicted
#    class's regions (8-connected, `scipy.ndimage.label` may do it); a region that holds no true
#    pixel of its class is stray. Remove all stray regions when one of them has a class the target
#    lacks, or when they hold 20 px or more in all; otherwise (under 20 px, all of classes the
#    target has) the bucket does not take them, and they stay among the wrong pixels;
# 2. of the wrong pixels left (`pred != target`), `fraction_in_band`: the share that lies in `band`;
# 3. `band_share`: the band's share of the image, where errors at random would land;
# 4. `enrichment`: `fraction_in_band / band_share`.
#
# Return the last three; with no wrong pixel left, NaN for the first and the last (0/0). Plain
# numpy otherwise (the rule of exercise 1); the check tries its own maps, then #254 against
# `failures.bucket_failures`. (#254 misses no small region, so only the strays are removed.)
# Then print whether #254 meets the bucket's rule, an enrichment of 2 or more, and what the
# enrichment would be with the strays kept.

# %% nbgrader={"grade": false, "grade_id": "boundary_sample", "locked": true, "schema_version": 3, "solution": false, "task": false}
from scipy import ndimage

# lesson 05's scenes
project = data.road_scenes(300, seed=31, sidewalk_gap=0.04, noise=0.06, lighting=0.25)
one = data.SegData(project.images[254:255], project.labels[254:255], project.class_names,
                   project.palette, params=project.params)
pred254, target254 = train.evaluate(roads, one, device="cpu")["pred"][0], project.labels[254]
# the band: pixels within 2 px of a change of class
band254 = failures.label_boundary_band(target254)
print(f"#254: {(pred254 != target254).sum()} wrong pixels, "
      f"band {band254.sum()} of {band254.size} pixels")

# %% nbgrader={"grade": false, "grade_id": "boundary_enrichment", "locked": false, "schema_version": 3, "solution": true, "task": false}
def boundary_enrichment(pred, target, band):
    ### BEGIN SOLUTION
    pred, target, band = np.asarray(pred), np.asarray(target), np.asarray(band, bool)
    wrong = pred != target
    eight = ndimage.generate_binary_structure(2, 2)     # joined by an edge or a corner
    stray = np.zeros(target.shape, bool)
    for c in np.unique(pred):
        regions, n = ndimage.label(pred == c, eight)
        for r in range(1, n + 1):
            if not (target[regions == r] == c).any():   # a stray region
                stray |= regions == r
    absent = not set(np.unique(pred[stray])) <= set(np.unique(target))   # a class the target lacks
    if absent or stray.sum() >= 20:                     # the false-positive bucket takes them
        wrong &= ~stray
    band_share = float(band.mean())                     # random errors land in the band this often
    if not wrong.any():
        return float("nan"), band_share, float("nan")
    fraction_in_band = float((wrong & band).sum() / wrong.sum())
    return fraction_in_band, band_share, fraction_in_band / band_share
    ### END SOLUTION


fraction_in_band, band_share, enrichment = boundary_enrichment(pred254, target254, band254)
kept = (pred254 != target254)[band254].sum() / (pred254 != target254).sum() / band_share
print(f"#254: {fraction_in_band:.0%} of its wrong pixels outside the stray regions",
      f"lie in the band, which covers {band_share:.0%} of the image")
print(f"{enrichment:.2f} × its share (random errors: 1)",
      f"| boundary bucket (2 or more): {enrichment >= 2} | with the strays kept: {kept:.2f},",
      "the same verdict" if (kept >= 2) == (enrichment >= 2) else "another verdict")

# %% nbgrader={"grade": true, "grade_id": "check_boundary_enrichment", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_boundary_enrichment(boundary_enrichment, pred254, target254)
