# %% [markdown]
# # 06 · Clicks to masks: interactive segmentation, measured
#
# Promptable tools (SAM, micro-sam, the assistants in CVAT and MONAI Label) turn a few clicks into
# a mask that a person corrects. A **positive** click says "this pixel belongs to my object", a
# **negative** click "this one does not". We build that loop and ask: **how
# many clicks does each method need, on which objects?**
#
# **After this lesson you can**
#
# 1. simulate an annotator the way papers do: each click at the deepest error pixel not clicked before;
# 2. compute NoC@85 / NoC@90 (clicks to reach IoU 0.85 / 0.90, capped at 20), NoF (objects that never
#    get there) and an IoU-vs-clicks curve;
# 3. seed classical methods (random walker, marker watershed) with clicks and measure them;
# 4. build a click-conditioned UNet (image + click maps + previous mask) and write its training step by hand;
# 5. compare methods per object, look at the failures, and say what NoC@90 on small nuclei really measures;
# 6. (Extra) read a measured annotation loop: uncertainty sampling against random choice.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy import ndimage
from skimage.filters import sobel
from skimage.segmentation import random_walker, watershed

from segcourse import experiments, interactive, palette, viz

torch.set_num_threads(1)  # a network this small runs fastest on one thread
np.set_printoptions(precision=3, suppress=True)
METHOD_COLOURS = {"random walker": palette.rgb(palette.SERIES[0]),
                  "marker watershed": palette.rgb(palette.SERIES[1]),
                  "click UNet, synthetic only": palette.rgb(palette.SERIES[2]),
                  "click UNet, fine-tuned": palette.rgb(palette.INSTANCE_COLOURS[3])}

# %% [markdown]
# ## 1 · The task: one object, a few clicks
#
# Each object gets a 64×64 crop, centred where the image allows. The objects are the nuclei of lesson 04's image: the **left half** trains,
# the **right half** tests. The target is one nucleus; its touching neighbours are background.

# %%
test_images, test_masks = interactive.nuclei_objects("right")
train_images, train_masks = interactive.nuclei_objects("left")
areas = test_masks.sum(axis=(1, 2))
NUC = "nuclei (test half)"  # the data set's key in the recorded runs and the model card
print(f"test nuclei (right half): {len(test_images)}, training nuclei (left half): "
      f"{len(train_images)}")
print(f"test nucleus area: median {np.median(areas):.0f} px, "
      f"from {areas.min()} to {areas.max()} px")

# %%
k = 3
image, target = test_images[k], test_masks[k]
fig = viz.outlined_crops([(f"test nucleus {k}: the image", image, None),
                          ("the object to select", image, target)])  # 1-99 % grey stretch

# %% [markdown]
# ## 2 · The simulated annotator, by hand
#
# Papers (Xu et al. 2016, RITM, SAM's evaluation) replace the person by a rule. A prediction has **missed** pixels (`target & ~pred`) and
# **false** pixels (`pred & ~target`). The annotator clicks at the error pixel farthest from any
# pixel outside that kind of error (a distance transform; padding with `False` makes the image
# border an edge): positive on a missed pixel, negative on a false one. Xu et al. click in the
# biggest error region instead (exercise 1). Click 1, with nothing predicted, lands on the
# object's deepest pixel.

# %%
pred = ndimage.binary_dilation(target, iterations=3) & (np.arange(64)[None, :] < 34)  # too fat, cut
missed, false = target & ~pred, pred & ~target
d_missed = ndimage.distance_transform_edt(np.pad(missed, 1))[1:-1, 1:-1]
d_false = ndimage.distance_transform_edt(np.pad(false, 1))[1:-1, 1:-1]
# positive only if the missed error is strictly deeper (RITM's rule)
positive = d_missed.max() > d_false.max()
d = d_missed if positive else d_false
click = np.unravel_index(np.argmax(d), d.shape)
print(f"missed {missed.sum()} px (deepest {d_missed.max():.2f} px from a correct pixel), "
      f"false {false.sum()} px (deepest {d_false.max():.2f} px)")
print(f"next click by hand: {tuple(int(v) for v in click)}, "
      f"{'positive' if positive else 'negative'}")
print(f"the helper:         {interactive.next_click(pred, target)}")

# %%
fig = viz.click_errors_figure(target, pred, (click, positive), "a guess's errors, the next click")

# %% [markdown]
# The thin false ring (red) is shallower than the missed part (blue): the click goes there.
#
# RITM's annotator (`isegm/inference/clicker.py`) adds two details: a tie in depth gives a
# *negative* click, and no pixel is clicked twice (clicked pixels get distance 0), or a method
# that ignores a click would get it again and again. Say the annotator had clicked there already:

# %%
clicked = np.zeros((64, 64), bool)
clicked[click] = True                                   # the pixels clicked so far
# a clicked pixel is never the deepest one again
d_missed_new = np.where(clicked, 0, d_missed)
d_false_new = np.where(clicked, 0, d_false)
positive_new = d_missed_new.max() > d_false_new.max()
click_new = np.unravel_index(np.argmax(d_missed_new if positive_new else d_false_new), d.shape)
print(f"with {tuple(int(v) for v in click)} clicked already, the next click by hand: "
      f"{tuple(int(v) for v in click_new)}, {'positive' if positive_new else 'negative'}, "
      f"depth {d[click_new]:.2f} px (the clicked pixel's: {d[click]:.2f} px)")
print(f"the helper:         {interactive.next_click(pred, target, clicked=[click])}")

# %% [markdown]
# The next click moves to the neighbouring pixel (29, 40), exactly as deep (6.71 px).
# `interactive.simulate_clicks` passes every click so far to `next_click`, so none repeats.
#
# ## 3 · NoC and NoF: clicks to a good mask, and the objects that never get there
#
# The IoU after each click gives an **IoU-vs-clicks curve**. **NoC@85** is the click after which
# IoU first reaches 0.85; an object that never does within the cap counts 20 (NoC@90 likewise).
# **NoF@85** (*number of failures*) counts the objects that never reach 0.85.

# %%
ious = [0.42, 0.71, 0.86, 0.84, 0.91]  # an example curve: IoU after clicks 1..5
reached85 = np.flatnonzero(np.array(ious) >= 0.85)
by_hand = int(reached85[0]) + 1 if reached85.size else interactive.MAX_CLICKS
helper = ", ".join(f"NoC@{t} {interactive.number_of_clicks(ious, t / 100)}" for t in (85, 90, 95))
print(f"NoC@85 by hand: {by_hand}; helper: {helper} (95 never: the cap)")
three = [ious + [0.9] * 15, [0.3] * 19 + [0.86], [0.5] * 20]    # three objects, 20 clicks each
nof85 = sum(not (np.array(c) >= 0.85).any() for c in three)
print(f"three objects: NoC@85 {[interactive.number_of_clicks(c, 0.85) for c in three]}, "
      f"NoF@85 {nof85} by hand, {interactive.noc_summary(three)['noc85']['nof']} by the helper")

# %% [markdown]
# NoC counts the *first* time the threshold is reached (click 3 here, though click 4 falls back to
# 0.84): an annotator stops there. The second and third objects both count 20, but only the third
# is a failure: NoC alone cannot tell them apart.
#
# ## 4 · Classical methods, seeded by the clicks
#
# Two scikit-image methods use clicks as **seeds** (positive: object; negative and the crop's
# border: background):
#
# * the **random walker** (Grady 2006): each pixel takes the label of the seeds a random walk from
#   it most likely reaches first; steps across a strong edge are unlikely (`beta=130`);
# * the **marker watershed**: the seeds flood the gradient magnitude (Sobel); basins meet on the edges.

# %%
def iou(a, b):
    return (a & b).sum() / (a | b).sum()


first, _ = interactive.next_click(np.zeros_like(target), target)
seeds = np.zeros((64, 64), np.int32)
seeds[[0, -1], :] = seeds[:, [0, -1]] = 2                      # the crop's border: background
r0, c0 = first
seeds[r0 - 1:r0 + 2, c0] = seeds[r0, c0 - 1:c0 + 2] = 1         # the click (a plus): object
rw = random_walker(image, seeds, beta=130, mode="cg_j", tol=1e-3) == 1
ws = watershed(sobel(image), seeds) == 1
print(f"click {first}: random walker IoU {iou(rw, target):.3f}, marker watershed IoU "
      f"{iou(ws, target):.3f}; seeds: {(seeds == 1).sum()} (plus), {(seeds == 2).sum()} (border)")
dist = np.hypot(*np.ogrid[-r0:64 - r0, -c0:64 - c0])      # distance to the click, px
disks = {rad: np.where(dist <= rad, 1, seeds) for rad in (3, 5)}
print("the click as a disk instead, random walker IoU: " + ", ".join(
    f"radius {rad} {iou(random_walker(image, s, beta=130, mode='cg_j', tol=1e-3) == 1, target):.3f}"
    for rad, s in disks.items()))

# %% [markdown]
# The annotator loop by hand: click at the deepest error, give the method all clicks and its last
# mask, score, repeat. Five clicks of the random walker:

# %%
rw_predict = interactive.random_walker_predictor(beta=130)
pos, neg, clicked = [], [], []                     # positive, negative, every pixel clicked so far
pred, prev, ious_by_hand = np.zeros_like(target), None, []
for _ in range(5):
    # deepest, not clicked yet
    (r, c), positive = interactive.next_click(pred, target, clicked=clicked)
    clicked.append((r, c))
    (pos if positive else neg).append((r, c))
    pred = rw_predict(image, pos, neg, prev)       # the method's mask for all clicks so far
    prev = pred                                    # the last mask: the next call's previous mask
    ious_by_hand.append(iou(pred, target))
print(f"random walker by hand, IoU after clicks 1 to 5: {np.round(ious_by_hand, 3)}")
print(f"clicks {pos} positive, {neg} negative")

# %% [markdown]
# `interactive.simulate_clicks` is this loop, up to the cap of 20 clicks:

# %%
methods = {"random walker": interactive.random_walker_predictor(beta=130),
           "marker watershed": interactive.watershed_predictor()}
runs = {name: interactive.simulate_clicks(p, image, target, keep_masks=True)
        for name, p in methods.items()}
assert ious_by_hand == runs["random walker"]["ious"][:5]  # the loop by hand = the helper

# %%
# a preview of §5: the shipped click UNet, fine-tuned on nuclei
shipped = interactive.load_click_model()
ft_live = interactive.click_predictor(shipped)
unet_run = interactive.simulate_clicks(ft_live, image, target, max_clicks=5, keep_masks=True)
shown = {**runs, "click UNet (§5)": unet_run}
fig = viz.click_runs_grid(image, target, shown, (1, 3, 5))  # mask: not yet compared
for name, r in shown.items():
    signs = "".join("+" if p else "-" for _, p in r["clicks"][:5])
    print(f"{name:17s} clicks 1-5: {signs}; IoU {np.round(r['ious'][:5], 3)}")

# %% [markdown]
# One click gives the random walker a small blob: its seed is a 5-pixel plus against the border's
# 252 (a bigger disk does better: §4's first cell). The watershed and the click UNet of §5 (third
# row) pass IoU 0.85 with one click.
#
# **Reading NoC off one curve** (nucleus 3, 20 clicks). The triangles mark where a curve first reaches the solid line (NoC@85, filled) or the dashed one (NoC@90, open).

# %%
curve_runs = {**runs, "click UNet, fine-tuned": interactive.simulate_clicks(ft_live, image, target)}
fig = viz.click_curves_figure({n: r["ious"] for n, r in curve_runs.items()}, METHOD_COLOURS,
                              f"test nucleus {k}: IoU after each click")

# %% [markdown]
# ## 5 · A click UNet
#
# A classical method knows only intensity edges; a network can learn what *one object* looks
# like. The course's TinyUNet gets four input channels, as in RITM: the grey image; a **positive
# click map** (1 in a disk of radius 3 px around each positive click); a **negative click map**;
# the **previous mask**, its own last answer (zeros before click 1). It outputs one object's mask.

# %%
clicks5 = unet_run["clicks"][:5]  # the inputs at the 5th click of §4's click UNet run (third row)
click_channels = interactive.click_maps([c for c, p in clicks5 if p],
                                        [c for c, p in clicks5 if not p],
                                        image.shape)
model_inputs = np.stack([image, *click_channels, unet_run["masks"][3]])
fig = viz.click_inputs_figure(model_inputs, [p for _, p in clicks5])
print("input channels:", model_inputs.shape, "| clicks:",
      [("+" if p else "-") + str(c) for c, p in clicks5])

# %% [markdown]
# **Training with simulated clicks.** Each sample gets a first positive click in its object's
# inner half, then 0 to 3 **corrective rounds**: the model predicts (no gradients), the annotator
# clicks where it is wrong, and the prediction becomes the previous mask. The loss scores the
# answer to the last clicks. One round, for the synthetic-only model on training nucleus 20:

# %%
synthetic_only = interactive.load_click_model(stage="synthetic only")
t = train_masks[20]
click1 = interactive.next_click(np.zeros_like(t), t)[0]  # the deepest pixel
one = interactive.corrective_sample(synthetic_only, train_images[20], t, click1)
fig = viz.corrective_sample_figure(train_images[20], t, click1, one)
(r, c), positive = one["click"]
print(f"click 1 {click1}; click 2 {'+' if positive else '-'}({r}, {c}), on a missed pixel: "
      f"{bool(t[r, c] and not one['first_pred'][r, c])}; the sample's loss {one['loss']:.3f}")
for name, m in (("click 1", one["first_pred"]), ("clicks 1 and 2", one["pred"])):
    print(f"answer to {name}: IoU {iou(m, t):.3f}, missed {(t & ~m).sum()} of {t.sum()} px, "
          f"false {(m & ~t).sum()} px")

# %% [markdown]
# The answer to click 1 misses 340 of the nucleus's 569 px; click 2 lands on a missed pixel, and
# the answer to both clicks misses 158. Exercise 7 writes such a round. The step with no
# corrective round, in plain torch:

# %% tags=["nbval-ignore-output"]
step_model = interactive.click_model(width=4, seed=0)
optimiser = torch.optim.Adam(step_model.parameters(), lr=3e-3)
imgs, truth = train_images[:8], train_masks[:8]
firsts = [interactive.next_click(np.zeros_like(t), t)[0] for t in truth]  # the deepest pixels
maps = np.stack([interactive.click_maps([c], [], t.shape) for c, t in zip(firsts, truth)])
x = np.stack([imgs, maps[:, 0], maps[:, 1], np.zeros_like(imgs)], axis=1)  # image, +, -, previous
x = torch.from_numpy(x.astype(np.float32))
y = torch.from_numpy(truth.astype(np.int64))           # 1 = the selected object
logits = step_model(x)                                 # (8, 2, 64, 64); a new model: train mode
loss = torch.nn.functional.cross_entropy(logits, y)
optimiser.zero_grad()
loss.backward()                                        # gradients of every weight
optimiser.step()                                       # one Adam update
loss_after = torch.nn.functional.cross_entropy(step_model(x).detach(), y)
print(f"loss {loss.item():.3f} before the step, {loss_after.item():.3f} after it")

# %% [markdown]
# `interactive.train_click_model` repeats this step with random clicks, flips, quarter turns and
# corrective rounds. The shipped model (width 8) was trained with it on synthetic touching cells,
# then fine-tuned on the training nuclei with synthetic objects mixed in (against *catastrophic
# forgetting*). **Class imbalance:** the next cell counts the object's share of a crop; a weighted
# cross-entropy or a Dice loss would be the usual remedies.

# %%
recipe = shipped.card["recipe"]
print(f"shipped click model: {shipped.card['parameters']} parameters; {recipe['steps']} steps on "
      f"{recipe['synthetic_n']} synthetic objects, then "
      f"{recipe['finetune_steps']} fine-tuning steps on {len(train_images)} training nuclei mixed "
      f"with synthetic objects ({recipe['finetune_mix']:.0%} of each batch, on average)")
share = train_masks.mean(axis=(1, 2))
print(f"object pixels in the training crops: {train_masks.mean():.1%} (from {share.min():.1%} to "
      f"{share.max():.1%} per crop); the loss is plain, unweighted cross-entropy")

# %% [markdown]
# SAM takes the same prompts under other names (`SamPredictor.predict`):
#
# | here | SAM |
# |---|---|
# | positive / negative clicks | `point_coords`, `(x, y) = (col, row)`, with `point_labels` 1 / 0 |
# | previous mask | `mask_input`: SAM's low-resolution logits `(1, 256, 256)` from its last call |
# | (no channel here) | `box = (x0, y0, x1, y1)`; `multimask_output=True`: 3 masks for one click |

# %% [markdown]
# ## 6 · The table: synthetic objects, real nuclei, coins
#
# **Takeaway: on the real nuclei the fine-tuned click UNet needs the fewest clicks of the four
# methods; on the sharp-edged coins one click of the marker watershed is enough.**
#
# The two classical methods and the fine-tuned model run the full protocol live on every 12th
# test nucleus, checked against runs on all of them recorded when the course was built. `FULL =
# True` runs all live (the cell prints how long that takes); add your own `predict(image,
# positive, negative, previous_mask) -> mask` to `live_methods` to score it.

# %% tags=["nbval-ignore-output"]
FULL = False  # True: every test nucleus live (this cell prints how long the sample took)
live_methods = {"random walker": methods["random walker"],
                "marker watershed": methods["marker watershed"],
                "click UNet, fine-tuned": ft_live}                 # add your own predictor here
sample = np.arange(len(test_images)) if FULL else np.arange(0, len(test_images), 12)
t0 = time.perf_counter()
live = interactive.evaluate_methods(live_methods,
                                    {"nuclei": (test_images[sample], test_masks[sample])},
                                    progress=True, keep_runs=True)["nuclei"]
dt = time.perf_counter() - t0
print(f"{len(sample)} nuclei live in {dt:.0f} s on this machine; all {len(test_images)}: "
      f"about {dt * len(test_images) / len(sample):.0f} s")

# %%
nuclei_runs = interactive.recorded_click_runs("06_nuclei_runs", live_methods,
                                              {NUC: (test_images, test_masks)})[NUC]  # all 47
assert all(a["ious"] == b["ious"] and a["clicks"] == b["clicks"]  # live = recorded
           and np.array_equal(a["masks"], b["masks"])
           for name, v in live.items() if name in nuclei_runs  # yours: no recording
           for a, b in zip(v["runs"], [nuclei_runs[name]["runs"][i] for i in sample]))
print(f"{len(test_images)} test nuclei, {'live' if FULL else 'the recorded runs'}:")
print(viz.noc_table(live if FULL else nuclei_runs))

# %% [markdown]
# Two more sets: 100 **synthetic** touching cells and the 24 **coins** of lesson 04's photo. The
# coin masks come from Sobel edges and a marker watershed, the kind of method scored here, which
# favours it; the cell checks them with a different method, Otsu's threshold and hole filling.

# %%
from skimage.filters import threshold_otsu

syn_images, syn_masks = interactive.synthetic_objects()
coin_images, coin_masks = interactive.coins_objects()
otsu_iou = []
for im, m in zip(coin_images, coin_masks):
    lab, _ = ndimage.label(ndimage.binary_fill_holes(im > threshold_otsu(im)))
    otsu_iou.append(iou(lab == np.bincount(lab[m]).argmax(), m))  # its region covering most of m
print("coins: Otsu + hole filling against lesson 04's masks, IoU median "
      f"{np.median(otsu_iou):.3f}, lowest {min(otsu_iou):.3f} ({len(otsu_iou)} coins)")

# %%
fig = viz.outlined_crops([("synthetic object 0", syn_images[0], syn_masks[0]), ("test nucleus 3",
                          image, target), ("coin 20", coin_images[20], coin_masks[20])])

# %% [markdown]
# (A coin crop past the photo's edge repeats the edge pixels: the stripes.) The full protocol on
# these sets ran once (`python -m segcourse.interactive evaluate`); the model's card holds it.

# %%
evaluation = shipped.card["evaluation"]["results"]
for set_name, results in evaluation.items():
    print(f"--- {set_name}\n{viz.noc_table(results)}")
ws3 = [interactive.simulate_clicks(methods["marker watershed"], im, m, max_clicks=3,
                                   keep_masks=True) for im, m in zip(coin_images, coin_masks)]  # 2 s
drop = np.array([r["ious"][0] - r["ious"][2] for r in ws3])  # IoU after click 1 minus click 3
print(f"coins, marker watershed: IoU lower after click 3 than click 1 on {(drop > 0).sum()} of"
      f" {len(drop)}; by less than 0.02 on {(np.abs(drop) < 0.02).sum()}, by "
      f"{drop[drop >= 0.02].min():.2f} to {drop.max():.2f} on {(drop >= 0.02).sum()}")
for j in np.flatnonzero(drop >= 0.02):  # clicks 2-3: sign, distance (px) to the coin's outline
    m = coin_masks[j]
    to_outline = ndimage.distance_transform_edt(~(m & ~ndimage.binary_erosion(m)))
    print(f"coin {j}: IoU {np.round(ws3[j]['ious'], 3)}, mask px "
          f"{[int(x.sum()) for x in ws3[j]['masks']]}; clicks 2-3: " + ", ".join(
              f"{'+' if p else '-'}{c} ({to_outline[c]:.0f} px)" for c, p in ws3[j]["clicks"][1:]))
ft_ious = np.array([r["ious"] for r in nuclei_runs["click UNet, fine-tuned"]["runs"]])
reached = ft_ious.max(1) >= 0.85
fell = reached & (ft_ious[:, -1] < 0.85)
fell_contra = [sum(interactive.contradicted(r)[int(np.argmax(ious >= 0.85)) + 1:]) > 0
               for r, ious, f in zip(nuclei_runs["click UNet, fine-tuned"]["runs"], ft_ious, fell)
               if f]
print(f"fine-tuned click UNet on the nuclei: {reached.sum()} reach 0.85, {fell.sum()} of them end "
      f"below it at click 20; on {sum(fell_contra)} of those a later mask contradicts a click")

# %%
fig = viz.mean_click_curves({s: {m: v["mean_curve"] for m, v in r.items()}
                             for s, r in evaluation.items()}, METHOD_COLOURS)

# %%
fig = viz.click_runs_grid(coin_images[20], coin_masks[20], {"coin 20, marker watershed": ws3[20]},
                          (1, 2, 3))  # the worst of the 4 drops: clicks 2 and 3 are negative

# %% [markdown]
# **Real nuclei.** The fine-tuned click UNet needs the fewest clicks (NoC@85 3.55; the watershed
# 7.19); before fine-tuning the same network needs 11.60. Fine-tuning added steps as well as real
# nuclei; this lesson does not separate the two. Its mean curve falls after click 8, below the
# watershed's at click 20: 18 of the 44 nuclei it brings to 0.85 end below it, and on 17 of those
# a later mask *contradicts* a click, leaving a positive click outside it or a negative one inside
# (`interactive.contradicted`; the cell under the tables).
#
# **Synthetic objects.** The synthetic-only model is best there after one and after three clicks;
# the fine-tuned one stays close (the table above).
#
# **Coins.** One watershed click reaches IoU 0.85 on every coin. The masks come from the same kind
# of method, which favours it; but Otsu, a different method, agrees with them (median IoU 0.963):
# the coins are easy, not only circular. Later clicks can hurt: on 4 coins clicks 2 and 3 are
# negative, 1 px outside the outline; seeded on the edge ridge, the background floods the coin
# (coin 20 above: 0.972 → 0.08, its mask 502 → 40 px), so the mean curve falls. NoC counts only
# the first click that reaches 0.85.

# %% [markdown]
# ## 7 · Per object
#
# **Takeaway: object by object the click UNet saves clicks on most nuclei. Its three failures are
# three of the four smallest nuclei. Two miss on the boundary; on the smallest, a sliver cut by
# the image's edge, the model's masks contradict most of the clicks.**
#
# A mean hides who wins where: per test nucleus, does the click UNet need fewer clicks than the
# best classical method?

# %%
nuc = evaluation[NUC]
best_classical = min(["random walker", "marker watershed"], key=lambda m: nuc[m]["noc85"]["mean"])
a = np.array(nuc["click UNet, fine-tuned"]["noc85"]["per_object"])
b = np.array(nuc[best_classical]["noc85"]["per_object"])
print(f"NoC@85 per nucleus, click UNet (fine-tuned) against {best_classical}: fewer clicks on "
      f"{(a < b).sum()}, as many on {(a == b).sum()}, more on {(a > b).sum()} of {len(a)}; "
      f"median difference {np.median(a - b):+.0f}")

# %%
info = interactive.nuclei_object_info("right")
small = areas < np.median(areas)
groups = {"touching a neighbour": info["touching"], "isolated": ~info["touching"],
          f"small (< {np.median(areas):.0f} px)": small, "large": ~small}
rw = np.array(nuc["random walker"]["noc85"]["per_object"])
rows = {g: {"nuclei": sel.sum(), "click UNet": a[sel].mean(), best_classical: b[sel].mean(),
            "random walker": rw[sel].mean(), "UNet fewer on": (a[sel] < b[sel]).sum(),
            "share": (a[sel] < b[sel]).mean(),  # fewer clicks than the watershed, per nucleus
            "saved": min(b[sel].mean(), rw[sel].mean()) - a[sel].mean()}  # vs the better one
        for g, sel in groups.items()}
print(viz.text_table(rows, {**dict.fromkeys(list(rows["large"])[1:4], ".2f"), "share": ".0%",
                            "saved": ".2f"}, "mean NoC@85"))

# %%
never_ft = [i for i, r in enumerate(nuclei_runs["click UNet, fine-tuned"]["runs"])
            if max(r["ious"]) < 0.85]
fig = viz.noc_scatter(b, a, areas, never_ft, f"NoC@85, {best_classical} (20: never reached)",
                      "NoC@85, click UNet, fine-tuned", name="nucleus")
print(f"never reached by the UNet (circled): nuclei {never_ft}, {areas[never_ft].tolist()} px")

# %% [markdown]
# The click UNet needs fewer clicks than the marker watershed on 32 of the 47 nuclei (below the
# diagonal). In the table, "UNet fewer on" and "share" compare with the marker watershed, "saved"
# with each group's better classical method. It wins on 9 of the 10 nuclei touching a neighbour,
# its highest share (90%). In clicks saved, the small nuclei gain most (4.22: 5.83 against the
# random walker's 10.04). Its own cost depends on size (the table above); its
# three failures are small (the circled points).
#
# ### The failures
#
# The three nuclei the model never gets to IoU 0.85, with the annotator's 20 clicks and the last
# mask. Wrong pixels are counted in the **1-px-shift band**, the pixels a 1-px move of the true
# outline can flip: `binary_dilation(t) & ~binary_erosion(t)`.

# %%
ft_runs = nuclei_runs["click UNet, fine-tuned"]["runs"]
failure_runs = {i: run for i, run in enumerate(ft_runs) if max(run["ious"]) < 0.85}  # NoF@85
border = interactive.border_cut_nuclei("right")
cut_by_border = border["cut"]  # test nuclei the image's border cuts off
cut_edge = {n["nucleus"]: n["edge"] for n in border["near"] if n["cut"]}
shift_band = interactive.shift_band  # binary_dilation(t) & ~binary_erosion(t)
print(f"the smallest training nucleus: {train_masks.sum(axis=(1, 2)).min()} px")

# %%
rows, near_edge = {}, {}  # near_edge: nucleus -> (wrong px, in the band, own px share)
for i, run in failure_runs.items():
    band, wrong = shift_band(test_masks[i]), run["pred"] ^ test_masks[i]
    near_edge[i] = (int(wrong.sum()), int((wrong & band).sum()),
                    (test_masks[i] & band).sum() / areas[i])
    rows[f"nucleus {i}"] = {
        "px": areas[i], "size rank": (areas < areas[i]).sum() + 1,  # 1: the smallest
        "wrong px / allowed": f"{near_edge[i][0]} / {areas[i] * (1 / 0.85 - 1):.0f} / "
                              f"{areas[i] * 0.15:.0f}",
        "in band": near_edge[i][1],
        "contradicted": f"{sum(interactive.contradicted(run))} / {len(run['clicks'])} clicks"}
print(viz.text_table(rows, None, "after 20 clicks"))
print("allowed: the most wrong px IoU 0.85 allows if all are false / all missed; in band: wrong "
      "px in the 1-px-shift band")

# %%
titles = {i: f"nucleus {i} ({areas[i]} px){'; cut by the image edge' * (i in cut_by_border)}"
          for i in failure_runs}
fig = viz.click_failures_figure(test_images, test_masks, failure_runs, titles, edges=cut_edge,
                                colour=METHOD_COLOURS["click UNet, fine-tuned"],
                                label="IoU (click UNet)")

# %% [markdown]
# **The failures are small objects.** Nuclei 21, 43 and 16 are the 1st, 3rd and 4th smallest of
# the 47 test nuclei; IoU 0.85 leaves them room for only a few wrong pixels (the table above).
#
# **Nuclei 43 and 16 fail on the boundary:** nearly all their wrong pixels lie in the band.
# **Nucleus 21 is not obeyed:** a sliver cut off by the image's edge, smaller than any training
# nucleus, whose masks contradict 15 of the 20 clicks (right-hand panel).

# %% [markdown]
# ### Evidence card
#
# The click model's result on one page: the set's numbers; the largest failure with its IoU,
# Dice (2·TP / (2·TP + FP + FN)), failure mode and IoU curves.

# %%
ft_row, ws_row = nuclei_runs["click UNet, fine-tuned"], nuclei_runs[best_classical]
def dice(p, t):
    return 2 * (p & t).sum() / (p.sum() + t.sum())


stops = [interactive.number_of_clicks(r["ious"], 0.85) for r in ft_row["runs"]]  # 20: never
dice_stop = np.mean([dice(r["masks"][n - 1], m)
                     for r, n, m in zip(ft_row["runs"], stops, test_masks)])
mean_dice = np.mean([dice(r["pred"], m) for r, m in zip(ft_row["runs"], test_masks)])
set_lines = [
    f"{len(test_images)} test nuclei (right half); the model saw only the {len(train_images)} of "
    "the left half",
    f"NoC@85 mean {ft_row['noc85']['mean']:.2f} ({best_classical}: {ws_row['noc85']['mean']:.2f})",
    f"NoF@85 {ft_row['noc85']['nof']} ({best_classical}: {ws_row['noc85']['nof']}); "
    f"NoF@90 {ft_row['noc90']['nof']}",
    f"fewer clicks than the {best_classical} on {(a < b).sum()} nuclei, more on {(a > b).sum()}",
    f"mean Dice at the NoC@85 stop: {dice_stop:.3f}; after 20 clicks: {mean_dice:.3f}"]
print("\n".join(set_lines))

# %%
worst = max(failure_runs, key=lambda i: areas[i])  # the largest failure
worst_run, worst_truth = failure_runs[worst], test_masks[worst]
worst_pred = worst_run["pred"]
per_class = [iou(worst_pred == c, worst_truth == c) for c in (False, True)]  # background, nucleus
wrong, in_band, _ = near_edge[worst]
touching = ", touching a neighbour" * bool(info["touching"][worst])
worst_lines = [
    f"nucleus {worst} ({areas[worst]} px{touching}), after 20 clicks:",
    f"  IoU {worst_run['ious'][-1]:.3f}, Dice {dice(worst_pred, worst_truth):.3f}; per-class IoU: "
    f"nucleus {per_class[1]:.3f}, background {per_class[0]:.3f}",
    f"  failure: a small object, size rank {(areas < areas[worst]).sum() + 1} of {len(areas)} "
    f"(1: smallest); IoU 0.85 allows {areas[worst] * (1 / 0.85 - 1):.0f} false or "
    f"{areas[worst] * 0.15:.0f} missed px,",
    f"  it has {wrong} wrong px, "
    f"{in_band} of them in the 1-px-shift band"]
print("\n".join(worst_lines))

# %%
summary = "\n".join(set_lines + [""] + worst_lines)
fig = viz.click_evidence_card(
    test_images[worst], worst_truth, worst_pred, worst_run["clicks"],
    {"click UNet, fine-tuned": worst_run["ious"], best_classical: ws_row["runs"][worst]["ious"]},
    summary, colours=METHOD_COLOURS,
    title=f"Evidence card: the fine-tuned click UNet on the test nuclei; nucleus {worst}")
_ = fig.axes[2].set_xticks([1, 5, 10, 15, 20])  # the IoU-vs-clicks panel

# %% [markdown]
# **Your turn: beat the annotator** on the evidence card's failure. Left-click: positive;
# right-click or `n`: negative; undo takes a click back. The cell replays the annotator's first
# click.

# %%
from segcourse.widgets import ClickSegmenter

annotator = failure_runs[worst]
seg = ClickSegmenter(test_images[worst], ft_live, target=test_masks[worst],
                     clicks=annotator["clicks"][:1],
                     display_range=np.percentile(test_images[worst], (1, 99)))  # 1-99 % stretch
(r, c), positive = annotator["clicks"][0]
print(f"test nucleus {worst}; replayed click: {'+' if positive else '-'}({r}, {c}), IoU "
      f"{seg.ious[-1]:.3f}; the annotator's best in 20 clicks: {max(annotator['ious']):.3f} "
      f"(after click {int(np.argmax(annotator['ious'])) + 1})")
seg

# %% [markdown]
# ## 8 · What NoC@90 measures on small nuclei
#
# **Takeaway: on nuclei this small, moving the outline by 1 px fails IoU 0.90 everywhere and 0.85
# often. Both thresholds hinge on the boundary: report NoC@85 (the looser one) with NoF@85, and a
# score that forgives exactly a 1-px shift of the outline.**

# %%
out1 = [iou(ndimage.binary_dilation(m), m) for m in test_masks]  # the true outline moved 1 px out
in1 = [iou(ndimage.binary_erosion(m), m) for m in test_masks]    # ... and 1 px in
print(f"the true outline moved 1 px out all round: IoU {np.median(out1):.3f}; 1 px in: "
      f"{np.median(in1):.3f} (medians); nuclei where either reaches 0.90: "
      f"{sum(max(a, b) >= 0.9 for a, b in zip(out1, in1))} of {len(test_masks)}")
print(f"nuclei below 0.85 with the outline moved 1 px out: {sum(v < 0.85 for v in out1)}, 1 px in: "
      f"{sum(v < 0.85 for v in in1)} of {len(test_masks)}")

# %% [markdown]
# Moving the true outline by 1 px (like lesson 05's annotator jitter, but uniform) reaches IoU
# 0.90 on none of the 47 nuclei (medians 0.858 out, 0.843 in). Where do the methods' wrong pixels lie?

# %%
rows = {}  # where the wrong pixels lie after click 20, on the NoF@90 nuclei
for name, v in nuclei_runs.items():
    never = [i for i, r in enumerate(v["runs"]) if max(r["ious"]) < 0.90]
    wrong = [v["runs"][i]["pred"] ^ test_masks[i] for i in never]
    close = sum((w & shift_band(test_masks[i])).sum() for w, i in zip(wrong, never))
    total = sum(w.sum() for w in wrong)
    rows[name] = {"never 0.90": v["noc90"]["never"], "NoF@90": len(never), "their wrong px": total,
                  "in the band": close, "share": close / total}
print(viz.text_table(rows, {"never 0.90": ".0%", "their wrong px": ",", "in the band": ",",
                           "share": ".0%"}, "after click 20"))

# %% [markdown]
# IoU 0.90 is out of reach for 68% of the test nuclei with either classical method and 32% with
# the click UNet; on those nuclei most wrong pixels lie in the 1-px-shift band (the table above).
# A **boundary-tolerant IoU** asks instead: was the object found? It leaves out the band (lesson 00's
# Boundary IoU scores *only* a band).

# %%
tolerant_iou = interactive.tolerant_iou  # IoU outside §7's 1-px-shift band of the truth
tol_out = np.array([tolerant_iou(ndimage.binary_dilation(m), m) for m in test_masks])
tol_in = np.array([tolerant_iou(ndimage.binary_erosion(m), m) for m in test_masks])
in2 = [ndimage.binary_erosion(m, iterations=2) for m in test_masks]  # the outline moved 2 px in
print(f"outline moved 1 px out: tolerant IoU 1.000 on {(tol_out == 1).sum()} of "
      f"{len(test_masks)}; 1 px in: on {(tol_in == 1).sum()}; 2 px in: tolerant IoU median "
      f"{np.nanmedian([tolerant_iou(e, m) for e, m in zip(in2, test_masks)]):.3f} "
      f"(plain IoU {np.median([iou(e, m) for e, m in zip(in2, test_masks)]):.3f})")

# %% [markdown]
# Both 1-px shifts score 1.000 on all 47 nuclei, by construction; 2 px in still costs (median
# 0.829). On the largest failure the hatched band holds most of the wrong pixels:

# %%
t, p = test_masks[worst], failure_runs[worst]["pred"]
band = shift_band(t)
fig = viz.shift_band_figure(test_images[worst], t, p, (
    f"nucleus {worst}, its outline moved 1 px\nout: IoU {out1[worst]:.2f}, tolerant "
    f"{tol_out[worst]:.2f}; in: IoU {in1[worst]:.2f}, tolerant {tol_in[worst]:.2f}",
    f"the click UNet after click 20: IoU {failure_runs[worst]['ious'][-1]:.2f}, tolerant "
    f"{tolerant_iou(p, t):.2f}\nwrong px: {((p ^ t) & band).sum()} in the band, "
    f"{((p ^ t) & ~band).sum()} outside it"))
print(f"nucleus {worst} after click 20: IoU {iou(p, t):.3f}, tolerant IoU {tolerant_iou(p, t):.3f}")

# %% [markdown]
# Nucleus 16 rises from 0.811 to 0.964. On all nuclei:

# %%
rows, tol_curves = {}, {}
for name, v in nuclei_runs.items():
    tol_curves[name] = [np.array([tolerant_iou(m, t) for m in r["masks"]])  # at every click
                        for r, t in zip(v["runs"], test_masks)]
    tolerant = interactive.noc_summary(tol_curves[name])
    rows[name] = {f"{k}@{t}": tolerant[f"noc{t}"][m] for t in (85, 90)
                  for k, m in (("NoC", "mean"), ("NoF", "nof"))}
print(viz.text_table(rows, {"NoC@85": ".2f", "NoC@90": ".2f"}, "tolerant IoU"))

# %% [markdown]
# Scored with the tolerant IoU, every nucleus reaches 0.90 with every method (tolerant NoF@90 0;
# the table above). It measures whether the interior was found, not the outline, and says little
# on an object with almost no interior (nucleus 21: 10 of its 34 px lie outside the band; Extra).

# %% [markdown]
# ## Summary
#
# * A click is a label. Papers simulate the annotator: a click at the deepest error, never twice
#   on one pixel; NoC@85 with NoF@85 counts the clicks (§2, §3).
# * Click-seeded classical methods need no training; on sharp-edged coins one watershed click is
#   enough (§6).
# * The click UNet needs fewer clicks than both on the held-out nuclei only after fine-tuning on
#   real nuclei (§6); it depends on its previous-mask input (Extra).
# * It reads its clicks but does not always obey them: the next mask contradicts 26%. Pasting the
#   clicked pixels into its mask helps a little; pasting the whole click disks costs clicks (Extra).
# * Its failures are three of the four smallest nuclei, where a 1-px outline shift already misses
#   IoU 0.85; a boundary-tolerant score tells a missed outline
#   from a missed object, on objects with an interior (§7, §8).
# * Which objects to label next is measurable: here uncertainty sampling did not beat random (Extra).
#
# ## Pass check
#
# You pass this lesson when you can:
#
# * place the simulated annotator's next click by hand, positive or negative, and say why it never
#   repeats a pixel;
# * compute NoC@85 / NoC@90 and NoF from IoU-vs-clicks curves, including the cap;
# * seed a random walker and a marker watershed with clicks;
# * say what each input of a click UNet is for, and write one training step with simulated clicks;
# * read a NoC table per data set and per object, and say what NoC@85 and NoC@90 measure on small
#   objects.

# %% [markdown]
# ## Extra · zoom-in, obeyed clicks, the previous mask, a tiny interior, the annotation loop
#
# Not needed for the pass check. The click UNet only *reads* its clicks: its next mask
# contradicts 26% of them. Pasting the clicked pixels into its answer helps a little; pasting
# whole click disks costs clicks. With the previous-mask channel zeroed it needs 5.21 clicks
# instead of 3.55: it depends on that input.
#
# **An attempted fix: zoom in.** RITM's answer to small objects: crop around the object, enlarge,
# predict, shrink back. A naive version: a 32×32 window centred on click 1, enlarged ×2, for the 13
# test nuclei whose box fits in 24 px (the three failures among them).

# %%
box = np.array([max(np.ptp(np.nonzero(m)[0]), np.ptp(np.nonzero(m)[1])) + 1 for m in test_masks])
small_box = np.flatnonzero(box <= 24)
plain = a[small_box]  # NoC@85 of the fine-tuned click UNet, from the table
c1s = [interactive.next_click(np.zeros_like(test_masks[i]), test_masks[i])[0] for i in small_box]
at_click1 = [np.pad([[True]], ((r, 63 - r), (c, 63 - c))) for r, c in c1s]  # a tool's centre
zoom_runs = [interactive.simulate_clicks(interactive.zoomed(ft_live, m), test_images[i],
                                         test_masks[i], stop_at=0.85)
             for m, i in zip(at_click1, small_box)]
zoom_noc = np.array([interactive.number_of_clicks(r["ious"], 0.85) for r in zoom_runs])
print(f"{len(small_box)} nuclei with a box of at most 24 px: mean NoC@85 {plain.mean():.2f} "
      f"without zoom, {zoom_noc.mean():.2f} with it; fewer clicks on {(zoom_noc < plain).sum()}, "
      f"more on {(zoom_noc > plain).sum()}")
print("NoC@85 without -> with zoom: "
      + ", ".join(f"nucleus {i} {p} -> {z}" for i, p, z in zip(small_box, plain, zoom_noc)))

# %% [markdown]
# Zoom-in rescues two failures (nucleus 43: 2 clicks; 16: 14 instead of 20); nucleus 21 still
# never gets there. It costs clicks on 5 of the 13, and nucleus 9 goes from 1 click to 11; the
# mean falls from 8.46 to 6.31. (RITM zooms to the box of the current mask.)
#
# **Does the click UNet obey its clicks?** The next cell counts the clicks the next mask
# contradicts: positive ones outside it, negative ones inside.

# %%
rows = {}
for name, v in nuclei_runs.items():
    flags = [interactive.contradicted(r) for r in v["runs"]]  # per click: + outside, - inside
    n_bad, n_clicks = sum(map(sum, flags)), sum(map(len, flags))
    rows[name] = {"contradicted": n_bad, "of clicks": n_clicks, "share": n_bad / n_clicks,
                  "positive": sum(f for fl, r in zip(flags, v["runs"])
                                  for f, (_, p) in zip(fl, r["clicks"]) if p)}
print(viz.text_table(rows, {"share": ".0%"}, f"{len(test_images)} test nuclei"))

# %% [markdown]
# The seeded methods keep a positive click inside the object by construction (0 positive ones
# contradicted); the click UNet's next mask contradicts 26% of its clicks. **Forcing the clicks
# into the answer:** paste the clicked pixels, or the radius-3 disks the model reads, into its output
# (recorded runs, `interactive.pasted_predictor`).

# %%
radius = interactive.CLICK_RADIUS  # of the click disks the model reads
forced = {"clicked pixels pasted": interactive.pasted_predictor(ft_live, radius=0),
          "click disks pasted": interactive.pasted_predictor(ft_live, radius=radius)}
pasted = interactive.recorded_click_runs("06_pasted_runs", forced,
                                         {NUC: (test_images, test_masks)})[NUC]
compared = {"nothing pasted": nuclei_runs["click UNet, fine-tuned"], **pasted}
as_trained = np.array(compared["nothing pasted"]["noc85"]["per_object"])
rows = {}
for name, v in compared.items():
    n85 = np.array(v["noc85"]["per_object"])
    rows[name] = {"NoC@85": v["noc85"]["mean"], "NoF@85": v["noc85"]["nof"],
                  "NoC@90": v["noc90"]["mean"], "more clicks on": int((n85 > as_trained).sum()),
                  "fewer on": int((n85 < as_trained).sum())}
print(viz.text_table(rows, {"NoC@85": ".2f", "NoC@90": ".2f"}, "click UNet, fine-tuned"))

# %%
disk_px = int(interactive.click_maps([(10, 10)], [], (21, 21))[0].sum())
spill = [int(((interactive.click_maps([rc], [], t.shape)[0] > 0) & (~t if positive else t)).sum())
         for r, t in zip(pasted["click disks pasted"]["runs"], test_masks)
         for rc, positive in r["clicks"][5:]]  # clicks 6-20: disk px on the wrong side
print(f"clicks 6-20 with disks pasted: a median of {np.median(spill):.0f} of a disk's {disk_px} px "
      f"lie on the wrong side of the true outline ({len(spill)} clicks)")

# %% [markdown]
# Pasting the clicked pixels helps a little (NoC@85 3.47); pasting whole disks costs clicks
# (6.09): late disks spill across the outline. BRS (Jang & Kim 2019) and f-BRS (Sofiiuk et al.
# 2020) instead optimise the input at test time. **The previous mask:** the same weights, with
# the fourth channel zeroed at every click.

# %%
def no_previous(img, pos, neg, prev):  # the 4th channel: 0
    return ft_live(img, pos, neg, None)


zeroed = [interactive.simulate_clicks(no_previous, im, m, stop_at=0.90)["ious"]  # stop: saves time
          for im, m in zip(test_images, test_masks)]
given = [r["ious"] for r in nuclei_runs["click UNet, fine-tuned"]["runs"]]
summaries = {"previous mask given": interactive.noc_summary(given),
             "previous mask zeroed": interactive.noc_summary(zeroed)}
rows = {name: {"NoC@85": v["noc85"]["mean"], "NoF@85": v["noc85"]["nof"],
               "NoC@90": v["noc90"]["mean"], "IoU@1": v["iou_at"]["1"]}
        for name, v in summaries.items()}
print(viz.text_table(rows, {"NoC@85": ".2f", "NoC@90": ".2f", "IoU@1": ".3f"}, "click UNet"))
full_noc, zeroed_noc = (np.array(v["noc85"]["per_object"]) for v in summaries.values())
print(f"zeroed vs given, NoC@85 per nucleus: more clicks on {(zeroed_noc > full_noc).sum()}, "
      f"fewer on {(zeroed_noc < full_noc).sum()} of {len(full_noc)}; in training, a zero previous "
      f"mask only at click 1 (then 0 to {recipe['max_corrections']} corrective clicks)")

# %% [markdown]
# Zeroed, the same weights need 5.21 clicks instead of 3.55 (more on 12 nuclei, fewer on 1). It
# never saw zeros there after click 1 in training, so this does not say what a model *trained*
# without the channel would need.
#
# **The tolerant IoU on a tiny interior.** §8's tolerant IoU scores only the pixels outside the
# 1-px-shift band; the next cell counts them per nucleus.

# %%
interior = np.array([(m & ~shift_band(m)).sum() for m in test_masks])  # the px it scores
i, ft_tol = int(np.argmin(interior)), tol_curves["click UNet, fine-tuned"]
print(f"interior px (what the tolerant IoU scores): median {np.median(interior):.0f}; under 50 px: "
      f"nuclei {np.flatnonzero(interior < 50).tolist()}; nucleus {i}: {interior[i]} of {areas[i]}, "
      f"click UNet's tolerant IoU first >= 0.90 at click {int(np.argmax(ft_tol[i] >= 0.9)) + 1}, "
      f"{ft_tol[i][-1]:.3f} at click 20")

# %% [markdown]
# Nucleus 21 keeps 10 of its 34 px outside the band; the click UNet covers them at click 6, so it
# counts as reached though it scores 0.500 at click 20. Report the tolerant IoU only for objects
# with at least 50 interior px (a rule drawn from this one nucleus).

# %% [markdown]
# ## Extra · The annotation loop, measured
#
# **Takeaway: on this pool, choosing the most uncertain objects to label did not beat choosing at
# random.**
#
# The loop: the annotator corrects a batch of proposals with clicks (until IoU 0.85; after 20
# clicks it draws the object), and the model, starting from the synthetic-only one, is fine-tuned
# on every label so far. The next batch is the most **uncertain** proposals or a **random** one,
# from the 59 training nuclei; the score is measured on the test nuclei. Uncertainty: the mean
# per-pixel entropy of p(object) after one click at the deepest pixel (0 bits where sure, 1 at
# p = 0.5).

# %%
deepest = [interactive.next_click(np.zeros_like(m), m)[0] for m in train_masks]
maps = np.stack([interactive.click_maps([c], [], m.shape) for c, m in zip(deepest, train_masks)])
pool_x = np.stack([train_images, maps[:, 0], maps[:, 1], np.zeros_like(train_images)], 1)
synthetic_only.eval()
with torch.no_grad():
    logits = synthetic_only(torch.from_numpy(pool_x.astype(np.float32)))
    prob = np.clip(torch.softmax(logits, 1)[:, 1].numpy(), 1e-6, 1 - 1e-6)  # (59, 64, 64) p(obj)
pixel_entropy = -(prob * np.log2(prob) + (1 - prob) * np.log2(1 - prob))      # bits per pixel
entropy = pixel_entropy.mean(axis=(1, 2))  # bits, one per nucleus
chosen = np.argsort(-entropy, kind="stable")[:shipped.card["annotation_loop"]["setup"]["per_round"]]
print(f"{len(entropy)} pool nuclei: mean entropy from {entropy.min():.3f} to {entropy.max():.3f} "
      f"bits; round 1 labels the {len(chosen)} highest: nuclei {sorted(chosen.tolist())}")
print("the same scores as the loop's own (interactive.annotation_loop):",
      np.allclose(entropy, interactive.proposal_entropy(synthetic_only, train_images, train_masks),
                  atol=1e-5))

# %%
from scipy.stats import spearmanr

iou1_pool = np.array([iou(pr > 0.5, m) for pr, m in zip(prob, train_masks)])  # after that click
rho, p_value = spearmanr(entropy, iou1_pool)              # rank correlation: high score, poor mask?
print(f"IoU after that click: median {np.median(iou1_pool):.3f} over the pool, "
      f"{np.median(iou1_pool[chosen]):.3f} over the {len(chosen)} chosen; Spearman correlation of "
      f"mean entropy with it: {rho:+.2f} (p = {p_value:.2f})")

# %% [markdown]
# A high score does not single out poor masks: Spearman correlation +0.10 (p = 0.43), and the
# chosen nuclei have a higher median IoU (0.564) than the pool (0.501).

# %%
extremes = {"highest": int(np.argmax(entropy)), "lowest": int(np.argmin(entropy))}
fig = viz.entropy_extremes_figure(prob, pixel_entropy, train_masks, deepest, extremes)

# %% [markdown]
# Each round rescores the unlabelled pool, at a cost in clicks; the loop (`python -m
# segcourse.interactive loop`) is stored in the card.

# %%
loop = shipped.card["annotation_loop"]
setup = loop["setup"]
print(f"{setup['rounds']} rounds of {setup['per_round']} objects, {setup['steps']} fine-tuning "
      f"steps per round, seeds {setup['seeds']}")
cost = experiments.scoring_clicks(len(train_images), setup["rounds"], setup["per_round"])
print(f"uncertainty sampling's scoring clicks: {cost['total']} per seed "
      f"({' + '.join(map(str, cost['per_round']))}); {cost['labelled']} of them coincide with the "
      f"click 1 of a labelled object, so {cost['uncounted']} are not in the counts below")
print("uncounted scoring clicks spent by the end of rounds 1 to 4:", cost["uncounted_by_round"])

# %%
def spread(v, f):  # over seeds
    return f"{v.mean():{f}} [{v.min():{f}}, {v.max():{f}}]"


curves = {}
for strategy in ("uncertainty", "random"):
    runs_s = [r["rows"] for r in loop["runs"] if r["strategy"] == strategy]
    clicks, iou1, noc = (np.array([[x[key] for x in rr] for rr in runs_s])
                         for key in ("clicks", "iou_1", "noc85"))
    curves[strategy] = (clicks, iou1)
    rows = {f"round {r}": {"clicks": spread(clicks[:, r], ".0f"),
                           "IoU@1": spread(iou1[:, r], ".3f"), "NoC@85": spread(noc[:, r], ".2f")}
            for r in range(clicks.shape[1])}
    print(f"--- {strategy}: mean [min, max] over {len(runs_s)} seeds; held-out IoU@1 and NoC@85")
    print(viz.text_table(rows, None, strategy))
ahead = curves["random"][1].mean(0)[1:] > curves["uncertainty"][1].mean(0)[1:]
print(f"rounds 1 to {setup['rounds']} in which random choice has the higher mean held-out IoU@1: "
      f"{ahead.sum()} of {len(ahead)}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
STRATEGY_COLOURS = {"uncertainty": palette.rgb(palette.INSTANCE_COLOURS[6]),   # not method colours
                    "random": palette.rgb(palette.INSTANCE_COLOURS[2])}
for strategy, colour in STRATEGY_COLOURS.items():
    clicks, iou1 = curves[strategy]
    ax.plot(clicks.mean(0), iou1.mean(0), "o-", color=colour, label=f"{strategy}: mean over seeds")
    ax.fill_between(clicks.mean(0), iou1.min(0), iou1.max(0), color=colour, alpha=0.2,
                    label=f"{strategy}: min-max over seeds")
clicks, iou1 = curves["uncertainty"]
ax.plot(clicks.mean(0) + np.r_[0, cost["uncounted_by_round"]], iou1.mean(0), "o--", mfc="none",
        color=STRATEGY_COLOURS["uncertainty"],
        label=f"uncertainty: with its {cost['uncounted']} scoring clicks")
ax.set(xlabel="clicks spent on annotation (mean over seeds)", ylabel="held-out IoU after 1 click",
       title="annotation loop on the nuclei"); ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()

# %% [markdown]
# From the same start (held-out IoU after one click 0.507), after 32 labelled nuclei uncertainty
# sampling reaches 0.769 and random choice 0.805; random is ahead in every round, before counting
# uncertainty's 156 scoring clicks per seed (dashed). Three seeds on 59 nuclei is a small experiment.
