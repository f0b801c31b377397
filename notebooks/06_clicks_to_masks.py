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
# 6. read a measured annotation loop: uncertainty sampling against random choice, over seeds.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import ndimage

from segcourse import experiments, interactive, palette, viz

torch.set_num_threads(1)  # a network this small runs fastest on one thread
np.set_printoptions(precision=3, suppress=True)
GREEN, RED, BLUE = (palette.rgb(palette.OUTCOME_COLOURS[k]) for k in ("TP", "FP", "FN"))
# a method's mask: orange (not yet compared with the truth)
PRED = palette.rgb(palette.INSTANCE_COLOURS[0])
# curves: no outcome colour
METHOD_COLOURS = {"random walker": palette.rgb(palette.SERIES[0]),
                  "marker watershed": palette.rgb(palette.SERIES[1]),
                  "click UNet, synthetic only": palette.rgb(palette.SERIES[2]),
                  "click UNet, fine-tuned": palette.rgb(palette.INSTANCE_COLOURS[3])}
print(f"cap: {interactive.MAX_CLICKS} clicks; thresholds IoU 0.85 and 0.90 (NoC@85, NoC@90)")

# %% [markdown]
# ## 1 · The task: one object, a few clicks
#
# Each object gets a 64×64 crop, centred where the image allows (the next cell counts the
# off-centre ones). The objects are the nuclei of lesson 04's image: the **left half** trains,
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
centres = np.array([ndimage.center_of_mass(m) for m in test_masks])
off_centre = np.hypot(*(centres - 32).T)                    # object centre to crop centre, px
print(f"test crops whose object's centre lies more than 8 px from the crop's centre: "
      f"{(off_centre > 8).sum()} of {len(test_masks)} (more than 16 px: {(off_centre > 16).sum()}; "
      f"farthest: nucleus {np.argmax(off_centre)}, {off_centre.max():.1f} px)")

# %%
k = 3
image, target = test_images[k], test_masks[k]
fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
lo, hi = np.percentile(image, (1, 99))  # 1-99 % stretch, as in every later picture of a nucleus
for ax in axes:
    ax.imshow(image, cmap="gray", vmin=lo, vmax=hi)
axes[0].set_title(f"test nucleus {k}: the image (grey {lo:.2f} to {hi:.2f})", fontsize=10)
axes[1].contour(target, levels=[0.5], colors=["white"], linewidths=2)
axes[1].set_title("the object to select", fontsize=10)
axes[1].legend(handles=[Line2D([], [], color="white", lw=2, label="target outline")],
               loc="lower right", fontsize=8, facecolor="0.6")
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()

# %% [markdown]
# ## 2 · The simulated annotator, by hand
#
# Papers since Xu et al. (2016), RITM (Sofiiuk et al. 2022) and SAM's evaluation among them
# replace the person by a rule. A prediction has **missed** pixels (`target & ~pred`) and
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
fig, ax = plt.subplots(figsize=(6.4, 3.6))
shown = np.zeros((64, 64, 3)) + palette.rgb(palette.NEUTRAL_COLOURS["TN"])  # the TN grey of §7
shown[missed] = BLUE
shown[false] = RED
shown[target & pred] = GREEN
ax.imshow(shown)
ax.plot(click[1], click[0], marker="P" if positive else "X", ms=13, mfc=GREEN if positive else RED,
        mec="black", mew=0.8)
ax.set_title("a guess's errors and the next click"); ax.set_axis_off()
CLICK_HANDLES = [Line2D([], [], marker=m, ls="", mfc=colour, mec="black", ms=9, label=kind)
                 for m, colour, kind in (("P", GREEN, "positive click"),
                                         ("X", RED, "negative click"))]
ax.legend(handles=[Patch(color=GREEN, label="correct object pixels"),
                   Patch(color=RED, label="false (pred only)"),
                   Patch(color=BLUE, label="missed (target only)"),
                   Patch(color=palette.rgb(palette.NEUTRAL_COLOURS["TN"]), label="neither (TN)"),
                   *CLICK_HANDLES], loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
fig.tight_layout()

# %% [markdown]
# The thin false ring (red) is shallower than the missed part (blue), so the click goes into the
# missed part.
#
# Two details of RITM's annotator (`isegm/inference/clicker.py`) complete the rule. A tie in depth
# gives a *negative* click. And no pixel is clicked twice: clicked pixels get distance 0 before
# the maximum, or a method that ignores a click would get it again and again. Say the annotator
# had clicked there already:

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
# **NoF@85** (*number of failures*) counts the objects that never reach 0.85. (RITM's NoF counts
# the objects with NoC = 20, which includes an object first reached at click 20.)

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
from skimage.filters import sobel
from skimage.segmentation import random_walker, watershed

first, _ = interactive.next_click(np.zeros_like(target), target)
seeds = np.zeros((64, 64), np.int32)
seeds[[0, -1], :] = seeds[:, [0, -1]] = 2                      # the crop's border: background
r0, c0 = first
seeds[r0 - 1:r0 + 2, c0] = seeds[r0, c0 - 1:c0 + 2] = 1         # the click (a plus): object
rw = random_walker(image, seeds, beta=130, mode="cg_j", tol=1e-3) == 1
ws = watershed(sobel(image), seeds) == 1
iou = lambda a, b: (a & b).sum() / (a | b).sum()  # noqa: E731
print(f"one click at {first}: random walker IoU {iou(rw, target):.3f}, "
      f"marker watershed IoU {iou(ws, target):.3f}")
print(f"seeds: {(seeds == 1).sum()} object px (the plus), {(seeds == 2).sum()} background px (the "
      "border)")

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
for name, r in runs.items():
    print(f"{name:17s} IoU after clicks 1-5: {np.round(r['ious'][:5], 3)} -> "
          f"NoC@85 {interactive.number_of_clicks(r['ious'], 0.85)}")
print("the random walker's first 5 IoUs by hand equal the helper's:",
      ious_by_hand == runs["random walker"]["ious"][:5])


# %%
def show_clicks(ax, image, target, run, n, title):
    """The mask after the first n clicks of a simulated run, with those clicks and the outline."""
    mask = run["masks"][n - 1]
    ax.imshow(image, cmap="gray", vmin=np.percentile(image, 1), vmax=np.percentile(image, 99))
    ax.imshow(np.where(mask[..., None], np.array(PRED), np.nan * np.ones(3)), alpha=0.45)
    ax.contour(mask, levels=[0.5], colors=[PRED], linewidths=1.2)
    ax.contour(target, levels=[0.5], colors=["white"], linewidths=1)
    for (r, c), is_pos in run["clicks"][:n]:
        ax.plot(c, r, "P" if is_pos else "X", ms=10, mfc=GREEN if is_pos else RED, mec="black")
    ax.set_title(f"{title}\n{n} click{'s' * (n > 1)}: IoU {run['ious'][n - 1]:.2f}", fontsize=9)
    ax.set_axis_off()


# %%
# a preview of §5: the shipped click UNet, fine-tuned on nuclei
shipped = interactive.load_click_model()
ft_live = interactive.click_predictor(shipped)
unet_run = interactive.simulate_clicks(ft_live, image, target, max_clicks=5, keep_masks=True)
fig, axes = plt.subplots(3, 3, figsize=(8.4, 9.6))
for row, (name, r) in zip(axes, [*runs.items(), ("click UNet (§5)", unet_run)]):
    for ax, n in zip(row, (1, 3, 5)):
        show_clicks(ax, image, target, r, n, name)
fig.legend(handles=[Patch(facecolor=PRED, alpha=0.6, edgecolor=PRED, label="predicted mask"),
                    Line2D([], [], color="white", label="target outline"), *CLICK_HANDLES],
           loc="lower center", ncol=4, fontsize=8, facecolor="0.6")
fig.tight_layout(rect=(0, 0.04, 1, 1), h_pad=1.5)
for name, r in [*runs.items(), ("click UNet (§5)", unet_run)]:
    signs = "".join("+" if p else "-" for _, p in r["clicks"][:5])
    print(f"{name:17s} clicks 1-5: {signs}; IoU {np.round(r['ious'][:5], 3)}")

# %% [markdown]
# One click gives the random walker a small blob (IoU 0.188: a 5-pixel plus against 252 border
# pixels); three clicks reach 0.855, and the fourth, negative, drops to 0.786. The watershed
# reaches 0.875 with one click; the click UNet of §5 (third row) 0.915.
#
# **Reading NoC off one curve.** Nucleus 3's IoU after each of the 20 clicks. The triangles mark
# where a curve first reaches the solid line (NoC@85, filled) or the dashed one (NoC@90, open).

# %%
curve_runs = {**runs, "click UNet, fine-tuned": interactive.simulate_clicks(ft_live, image, target)}
fig = viz.click_curves_figure({n: r["ious"] for n, r in curve_runs.items()}, METHOD_COLOURS,
                              f"test nucleus {k}: IoU after each click")
rows = {name: {"NoC@85": interactive.number_of_clicks(r["ious"], 0.85),
               "NoC@90": interactive.number_of_clicks(r["ious"], 0.90),
               "best IoU": max(r["ious"]), "IoU after click 20": r["ious"][-1]}
        for name, r in curve_runs.items()}
print(viz.text_table(rows, {"best IoU": ".3f", "IoU after click 20": ".3f"},
                     f"nucleus {k}, 20 clicks"))

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
fig, axes = plt.subplots(1, 4, figsize=(11, 3.2))
pos_k = [str(k + 1) for k, (_, p) in enumerate(clicks5) if p]
neg_k = [str(k + 1) for k, (_, p) in enumerate(clicks5) if not p]
titles = [f"grey image\n(values {image.min():.2f} to {image.max():.2f})",
          f"positive click{'s' * (len(pos_k) > 1)} {', '.join(pos_k)}",
          f"negative click{'s' * (len(neg_k) > 1)} {', '.join(neg_k)}",
          "previous mask\n(its own, after click 4)"]
for ax, channel, name in zip(axes, model_inputs, titles):
    im = ax.imshow(channel, cmap="gray", vmin=0, vmax=1); ax.set_title(name); ax.set_axis_off()
fig.colorbar(im, ax=axes, fraction=0.02, pad=0.03, label="input value")
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
step_model.train()
logits = step_model(x)                                 # (8, 2, 64, 64)
loss = torch.nn.functional.cross_entropy(logits, y)
optimiser.zero_grad()
loss.backward()                                        # gradients of every weight
optimiser.step()                                       # one Adam update
with torch.no_grad():
    loss_after = torch.nn.functional.cross_entropy(step_model(x), y)
print(f"input {tuple(x.shape)} -> logits {tuple(logits.shape)}")
print(f"loss on this batch: {loss.item():.3f} before the step, {loss_after.item():.3f} after it")

# %% [markdown]
# `interactive.train_click_model` repeats this step with random clicks, flips, quarter turns and
# corrective rounds: 20 steps on your machine, then the run recorded when the course was built.

# %% tags=["nbval-ignore-output"]
live_model = interactive.click_model(width=4, seed=0)
live_history = interactive.train_click_model(live_model, train_images, train_masks, steps=20,
                                             batch_size=16, lr=3e-3, seed=0)
print(f"your run: loss {live_history['loss'][0]:.3f} -> {np.mean(live_history['loss'][-5:]):.3f} "
      f"(mean of the last 5 of {len(live_history['loss'])} steps) in "
      f"{live_history['train_seconds']:.1f} s")

# %%
recorded = experiments.recorded_run("06_small_click_model", live_model, live_history)
small_history = recorded["history"]
print(f"recorded run: loss {small_history['loss'][0]:.3f} -> "
      f"{np.mean(small_history['loss'][-5:]):.3f} "
      f"(mean of the last 5 of {len(small_history['loss'])} steps) | torch "
      f"{recorded['card']['torch']}, {recorded['card']['threads']} threads")

# %% [markdown]
# The shipped click model (width 8) was trained first on synthetic touching cells, then
# fine-tuned on the training nuclei with synthetic objects still in each batch (against
# *catastrophic forgetting*). Both stages ship. **Class imbalance:** the next cell counts the
# object's share of a crop; a weighted cross-entropy or a Dice loss are the usual remedies, not
# tried here.

# %%
recipe = shipped.card["recipe"]
print(f"shipped click model: {shipped.card['parameters']} parameters, "
      f"{shipped.card['training']['cpu_seconds']:.0f} s of CPU time, batch {recipe['batch_size']}")
print(f"  {recipe['steps']} steps on {recipe['synthetic_n']} synthetic objects, then "
      f"{recipe['finetune_steps']} fine-tuning steps on {len(train_images)} training nuclei mixed "
      f"with synthetic objects ({recipe['finetune_mix']:.0%} of each batch, on average)")
share = train_masks.mean(axis=(1, 2))
print(f"object pixels in the training crops: {train_masks.mean():.1%} (from {share.min():.1%} to "
      f"{share.max():.1%} per crop); the loss is plain, unweighted cross-entropy")

# %% [markdown]
# ## 6 · The table: synthetic objects, real nuclei, coins
#
# **Takeaway: on the real nuclei the fine-tuned click UNet needs the fewest clicks of the four
# methods; on the sharp-edged coins one click of the marker watershed is enough.**
#
# The two classical methods and the shipped fine-tuned model run the full protocol on the test
# nuclei: every 12th nucleus live, checked against the runs on all of them recorded when the
# course was built. `FULL = True` runs all live; add your own predictor
# (`predict(image, positive, negative, previous_mask) -> mask`) to `live_methods` to score it too.

# %%
import time

FULL = False  # True: every test nucleus live (the next cell prints how long the sample took)
live_methods = {"random walker": methods["random walker"],
                "marker watershed": methods["marker watershed"],
                "click UNet, fine-tuned": ft_live}                 # add your own predictor here
sample = np.arange(len(test_images)) if FULL else np.arange(0, len(test_images), 12)
started = time.perf_counter()
live = interactive.evaluate_methods(live_methods,
                                    {"nuclei": (test_images[sample], test_masks[sample])},
                                    progress=True, keep_runs=True)["nuclei"]
live_seconds = time.perf_counter() - started

# %%
nuclei_runs = interactive.recorded_click_runs("06_nuclei_runs", live_methods,
                                              {NUC: (test_images, test_masks)})[NUC]  # all 47
for name, v in live.items():
    if name in nuclei_runs:  # your own method has no recording to compare with
        same_runs = all(a["ious"] == b["ious"] and a["clicks"] == b["clicks"]
                        and np.array_equal(a["masks"], b["masks"])
                        for a, b in zip(v["runs"], [nuclei_runs[name]["runs"][i] for i in sample]))
        print(f"{name:24s} live on {len(sample)} nuclei: clicks, IoUs and masks equal the recorded "
              f"runs: {same_runs}")
print(f"\n{len(test_images)} test nuclei, {'live' if FULL else 'the recorded runs'}:")
print(viz.noc_table(live if FULL else nuclei_runs))

# %% tags=["nbval-ignore-output"]
print(f"live: {len(sample)} nuclei × {len(live_methods)} methods in {live_seconds:.0f} s on this "
      f"machine; all {len(test_images)} at that pace: about "
      f"{live_seconds / len(sample) * len(test_images) / 60:.0f} min")

# %% [markdown]
# Two more sets: 100 **synthetic** touching cells (the first training data) and the 24 **coins**
# of lesson 04's photo with its coin masks. Those masks come from a marker watershed, so the cell
# checks them against an independent method (Otsu's threshold and hole filling).

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
fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
examples = (("synthetic object 0", syn_images[0], syn_masks[0]), ("test nucleus 3", image, target),
            ("coin 20", coin_images[20], coin_masks[20]))
for ax, (name, im, m) in zip(axes, examples):
    ax.imshow(im, cmap="gray", vmin=np.percentile(im, 1), vmax=np.percentile(im, 99))  # 1-99 %
    ax.contour(m, levels=[0.5], colors=["white"], linewidths=1.5)
    ax.set_title(name, fontsize=10); ax.set_axis_off()
fig.legend(handles=[Line2D([], [], color="white", lw=1.5, label="the object to select (outline)")],
           loc="lower center", fontsize=9, facecolor="0.6")
fig.tight_layout(rect=(0, 0.08, 1, 1))

# %% [markdown]
# (A coin crop past the photo's edge repeats the edge pixels: the stripes.) The full protocol on
# these sets ran once (`python -m segcourse.interactive evaluate`); the model's card holds it.

# %%
evaluation = shipped.card["evaluation"]["results"]
for set_name, results in evaluation.items():
    print(f"--- {set_name}\n{viz.noc_table(results)}")
card_nuclei = evaluation[NUC]
same = all(card_nuclei[m]["noc85"]["per_object"] == nuclei_runs[m]["noc85"]["per_object"]
           for m in nuclei_runs if m in card_nuclei)
print("card's nuclei rows equal the recorded runs' rows:", same)
ws3 = [interactive.simulate_clicks(methods["marker watershed"], im, m, max_clicks=3)["ious"]
       for im, m in zip(coin_images, coin_masks)]  # 2 s, live
drop = np.array([v[0] - v[2] for v in ws3])  # IoU after click 1 minus after click 3
print(f"coins, marker watershed: IoU lower after click 3 than click 1 on {(drop > 0).sum()} of"
      f" {len(drop)}; by less than 0.02 on {(np.abs(drop) < 0.02).sum()}, by "
      f"{drop[drop >= 0.02].min():.2f} to {drop.max():.2f} on {(drop >= 0.02).sum()}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
STYLES = {"random walker": "--", "marker watershed": ":", "click UNet, synthetic only": "-.",
          "click UNet, fine-tuned": "-"}
for ax, (set_name, results) in zip(axes, evaluation.items()):
    for name, v in results.items():
        ax.plot(np.arange(1, interactive.MAX_CLICKS + 1), v["mean_curve"],
                color=METHOD_COLOURS[name], ls=STYLES[name], lw=2, label=name)
    ax.axhline(0.85, color="black", lw=0.8); ax.axhline(0.90, color="black", lw=0.8, ls="--")
    ax.set_title(set_name); ax.set_xlabel("clicks"); ax.set_xticks([1, 5, 10, 15, 20])
axes[0].set_ylabel("mean IoU after k clicks")
thresholds = [Line2D([], [], color="black", lw=0.8, ls=ls, label=f"IoU {t:.2f}")
              for ls, t in (("-", 0.85), ("--", 0.90))]
axes[-1].legend(handles=axes[-1].get_legend_handles_labels()[0] + thresholds,
                loc="lower right", fontsize=8)
fig.tight_layout()

# %% [markdown]
# **Real nuclei.** The fine-tuned click UNet reaches IoU 0.85 after 3.55 clicks on average, the
# marker watershed after 7.19 and the random walker after 7.79 (NoF@85 3, 10 and 7 of the 47).
# Before fine-tuning the same network needs 11.60. Fine-tuning added 300 steps as well as the 59
# nuclei; this lesson does not separate the two.
#
# **Synthetic objects.** The synthetic-only model is best after one and three clicks (mean IoU
# 0.838 and 0.895); the fine-tuned model stays close (0.805 and 0.883).
#
# **Coins.** One click of the marker watershed reaches IoU 0.85 on every coin (NoC@85 1.00); the
# click UNet needs 2.54. Otsu agrees with the coin masks at IoU 0.963 (median; lowest 0.941). The Extra section counts how much sharper the coins' edges are.
# Its curve falls after click 1 (0.964, then 0.876 at click 3): a later click costs 4 coins 0.15
# to 0.89 of IoU (the other 20: less than 0.02). NoC@85 counts only the first click at 0.85.
#
# **Does a method obey its clicks?** The next cell counts the clicks the next mask contradicts:
# positive ones outside it, negative ones inside.

# %%
contradicted = interactive.contradicted  # per click: + outside the next mask, - inside it
rows = {}
for name, v in nuclei_runs.items():
    flags = [contradicted(r) for r in v["runs"]]
    share = lambda fs: sum(map(sum, fs)) / sum(map(len, fs))  # noqa: E731  contradicted / clicks
    rows[name] = {"contradicted": sum(map(sum, flags)), "of clicks": sum(map(len, flags)),
                  "positive": sum(f for fl, r in zip(flags, v["runs"])
                                  for f, (_, p) in zip(fl, r["clicks"]) if p),
                  "on nuclei": sum(any(f) for f in flags), "share": share(flags),
                  "clicks 1-5": share([f[:5] for f in flags]),
                  "clicks 6-20": share([f[5:] for f in flags])}
print(viz.text_table(rows, {"share": ".0%", "clicks 1-5": ".0%", "clicks 6-20": ".0%"},
                     f"{len(test_images)} test nuclei"))

# %% [markdown]
# The seeded methods keep a positive click inside the object by construction (0 positive clicks
# contradicted); the click UNet only *reads* its clicks, and the mask after a click contradicts it
# on 26% of them, on 46 of the 47 nuclei, more often among late clicks (29%) than among the first
# five (17%).
#
# **Forcing the clicks into the answer.** The simplest tool pastes the clicks into the output
# mask. What should it paste: the clicked pixels, or the radius-3 disks the model reads as input?
# The next cell reads both from recorded runs (`interactive.pasted_predictor`) and reruns the
# nucleus where the disks cost the most clicks.

# %%
disk_radius = interactive.CLICK_RADIUS
forced = {"clicked pixels pasted": interactive.pasted_predictor(ft_live, radius=0),
          "click disks pasted": interactive.pasted_predictor(ft_live, radius=disk_radius)}
pasted = interactive.recorded_click_runs("06_pasted_runs", forced,
                                         {NUC: (test_images, test_masks)})[NUC]
compared = {"nothing pasted": nuclei_runs["click UNet, fine-tuned"], **pasted}
as_trained = np.array(compared["nothing pasted"]["noc85"]["per_object"])
rows = {}
for name, v in compared.items():
    n85 = np.array(v["noc85"]["per_object"])
    rows[name] = {"NoC@85": v["noc85"]["mean"], "NoF@85": v["noc85"]["nof"],
                  "NoC@90": v["noc90"]["mean"], "NoF@90": v["noc90"]["nof"],
                  "more clicks on": int((n85 > as_trained).sum()),
                  "fewer on": int((n85 < as_trained).sum())}
print(viz.text_table(rows, {"NoC@85": ".2f", "NoC@90": ".2f"}, "click UNet, fine-tuned"))

# %%
disk_px = int(interactive.click_maps([(10, 10)], [], (21, 21))[0].sum())
print(f"one pasted disk: {disk_px} px; one pasted pixel: 1 px")
j = int(np.argmax(np.array(pasted["click disks pasted"]["noc85"]["per_object"]) - as_trained))
same = all(interactive.simulate_clicks(f, test_images[j], test_masks[j])["ious"]
           == pasted[name]["runs"][j]["ious"] for name, f in forced.items())
disk_noc = pasted["click disks pasted"]["noc85"]["per_object"][j]
print(f"nucleus {j} (disks: {disk_noc} clicks, nothing pasted: {as_trained[j]}) run live, "
      f"both pastings: IoUs equal the recorded runs: {same}")
spill = []  # per late click: disk px on the wrong side of the true outline
for r, t in zip(pasted["click disks pasted"]["runs"], test_masks):
    for rc, positive in r["clicks"][5:]:
        d = interactive.click_maps([rc], [], t.shape)[0] > 0
        spill.append(int((d & ~t).sum() if positive else (d & t).sum()))
print(f"clicks 6-20 with disks pasted: a median of {np.median(spill):.0f} of a disk's {disk_px} px "
      f"lie on the wrong side of the true outline ({len(spill)} clicks)")

# %% [markdown]
# Pasting the clicked pixels helps a little (NoC@85 3.47 instead of 3.55, NoF@85 2 instead of 3).
# Pasting the whole disks hurts (NoC@85 6.09, NoF@85 12, more clicks on 9 nuclei, fewer on none):
# from click 6 on, a median of 8 of a disk's 29 px lie on the wrong side of the true outline. BRS
# (Jang & Kim 2019) and f-BRS (Sofiiuk et al. 2020) instead optimise the input at test time until
# the prediction obeys every click.
#
# **What does the previous-mask input do?** The same weights run once more on every test nucleus
# with the fourth channel set to zeros at every click.

# %%
no_previous = lambda img, pos, neg, prev: ft_live(img, pos, neg, None)  # noqa: E731  4th channel: 0
# each run stops once IoU reaches 0.90: NoC@85 and NoC@90 are known by then, and it saves time
zeroed = [interactive.simulate_clicks(no_previous, im, m, stop_at=0.90)["ious"]
          for im, m in zip(test_images, test_masks)]
given = [r["ious"] for r in nuclei_runs["click UNet, fine-tuned"]["runs"]]
summaries = {"previous mask given": interactive.noc_summary(given),
             "previous mask zeroed": interactive.noc_summary(zeroed)}
rows = {name: {**{f"{k}@{t}": v[f"noc{t}"][m] for t in (85, 90)
                  for k, m in (("NoC", "mean"), ("NoF", "nof"))}, "IoU@1": v["iou_at"]["1"]}
        for name, v in summaries.items()}
print(viz.text_table(rows, {"NoC@85": ".2f", "NoC@90": ".2f", "IoU@1": ".3f"},
                     "click UNet, fine-tuned"))
full_noc, zeroed_noc = (np.array(v["noc85"]["per_object"]) for v in summaries.values())
print(f"NoC@85 per nucleus, previous mask zeroed vs given: more clicks on "
      f"{(zeroed_noc > full_noc).sum()}, as many on {(zeroed_noc == full_noc).sum()}, fewer on "
      f"{(zeroed_noc < full_noc).sum()} of {len(full_noc)}")
print(f"in training (§5, the card's recipe): click 1 with a zero previous mask, then 0 to "
      f"{recipe['max_corrections']} corrective clicks, each with the model's own last prediction "
      f"as the previous mask: at most {1 + recipe['max_corrections']} clicks per sample")

# %% [markdown]
# Zeroed, the same weights need 5.21 clicks instead of 3.55 (more on 12 of the 47 nuclei, fewer
# on 1): the trained model **depends on the channel**. It never saw zeros there after click 1 in
# training, so this does not say what a model *trained* without it would need.

# %% [markdown]
# ## 7 · Per object
#
# **Takeaway: object by object the click UNet saves clicks on most nuclei. Its three failures are
# three of the four smallest nuclei (34 to 148 px). Two miss on the boundary; on the smallest, a
# sliver cut by the image's edge, the model's masks contradict most of the clicks.**
#
# A mean hides who wins where. For every test nucleus: did the fine-tuned click UNet need fewer
# clicks than the best classical method, as many, or more?

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
            "random walker": rw[sel].mean(), "UNet fewer on": (a[sel] < b[sel]).sum()}
        for g, sel in groups.items()}
print(viz.text_table(rows, dict.fromkeys(list(rows["large"])[1:4], ".2f"), "mean NoC@85"))

# %%
never_ft = [i for i, r in enumerate(nuclei_runs["click UNet, fine-tuned"]["runs"])
            if max(r["ious"]) < 0.85]
never_cl = [i for i, r in enumerate(nuclei_runs[best_classical]["runs"]) if max(r["ious"]) < 0.85]
fig = viz.noc_scatter(b, a, areas, never_ft, f"NoC@85, {best_classical} (20: never reached)",
                      "NoC@85, click UNet, fine-tuned", name="nucleus")
print(f"below the diagonal (the UNet needs fewer): {(a < b).sum()}; never reached by the UNet: "
      f"{never_ft}, by the {best_classical}: {len(never_cl)} nuclei; UNet failures' areas: "
      f"{areas[never_ft].tolist()} px")
print(f"nucleus areas: {areas.min()} to {areas.max()} px (the colour bar's range)")

# %% [markdown]
# The click UNet needs fewer clicks than the marker watershed on 32 of the 47 nuclei (below the
# diagonal), as many on 12, more on 3. It gains most on the 10 nuclei touching a neighbour (4.10
# clicks against 10.10; the random walker, better there, needs 8.00). Its own cost depends on size: 5.83 clicks on the smaller half, 1.38 on
# the larger; its three failures are small (the circled points, from 34 to 148 px).
#
# ### The failures
#
# The three nuclei the model never gets to IoU 0.85, with the annotator's 20 clicks and the last
# mask. Their wrong pixels are counted in the **1-px-shift band**, the pixels a 1-px move of the
# true outline can flip: `binary_dilation(t) & ~binary_erosion(t)` (§8 scores with it).

# %%
ft_runs = nuclei_runs["click UNet, fine-tuned"]["runs"]
failure_runs = {i: run for i, run in enumerate(ft_runs) if max(run["ious"]) < 0.85}  # NoF@85
border = interactive.border_cut_nuclei("right")
cut_by_border = border["cut"]  # test nuclei the image's border cuts off
cut_edge = {n["nucleus"]: n["edge"] for n in border["near"] if n["cut"]}
shift_band = interactive.shift_band  # binary_dilation(t) & ~binary_erosion(t)
print(f"fine-tuned click UNet, NoF@85 on the test nuclei: {len(failure_runs)} of "
      f"{len(test_images)}: nuclei {list(failure_runs)}; the smallest training nucleus: "
      f"{train_masks.sum(axis=(1, 2)).min()} px")

# %%
ordinal = lambda n: f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n, 'th')}"  # noqa: E731  1st, 2nd, ...
rows, near_edge = {}, {}  # near_edge: nucleus -> (wrong px, in the band, own px share)
for i, run in failure_runs.items():
    band, wrong = shift_band(test_masks[i]), run["pred"] ^ test_masks[i]
    near_edge[i] = (int(wrong.sum()), int((wrong & band).sum()),
                    (test_masks[i] & band).sum() / areas[i])
    rows[f"nucleus {i}"] = {
        "px": areas[i], "size rank": ordinal((areas < areas[i]).sum() + 1),
        "cut": i in cut_by_border, "missed": (test_masks[i] & ~run["pred"]).sum() / areas[i],
        "wrong px": near_edge[i][0], "allowed": areas[i] * (1 / 0.85 - 1),
        "in band": near_edge[i][1], "own in band": near_edge[i][2],
        "contradicted": f"{sum(contradicted(run))}/{len(run['clicks'])}",
        "positive": sum(p for _, p in run["clicks"]),
        "largest mask": max(int(m.sum()) for m in run["masks"])}
formats = {"missed": ".0%", "allowed": ".0f", "own in band": ".0%"}
for columns in (list(rows[f"nucleus {i}"])[:7], list(rows[f"nucleus {i}"])[7:]):
    print(viz.text_table({n: {c: row[c] for c in columns} for n, row in rows.items()}, formats,
                         "after 20 clicks"))
print("cut: by the image border; missed: share of the nucleus; allowed: the most wrong px "
      "IoU 0.85\nallows; own in band: share of the nucleus's px in the 1-px-shift band; "
      "largest mask: px")

# %%
titles = {i: f"nucleus {i} ({areas[i]} px){'; cut by the image edge' * (i in cut_by_border)}"
          for i in failure_runs}
fig = viz.click_failures_figure(test_images, test_masks, failure_runs, titles, edges=cut_edge,
                                colour=METHOD_COLOURS["click UNet, fine-tuned"],
                                label="IoU (click UNet)")

# %%
from segcourse import data

_, full_labels = data.nuclei_image(normalize=True)  # the labels of lesson 04's whole image
rings = [ndimage.binary_dilation(m, iterations=3) & ~m for m in test_masks]  # 3 px outside
contrast = np.array([im[m].mean() - im[ring].mean()  # mean inside minus mean of the ring
                     for im, m, ring in zip(test_images, test_masks, rings)])
print("contrast (mean inside minus a 3-px ring outside), median over the test nuclei: "
      f"{np.median(contrast):.3f}")
for i in failure_runs:
    (r0, c0) = info["corner"][i]
    negatives = [rc for rc, positive in failure_runs[i]["clicks"] if not positive]
    crop_labels = full_labels[r0:r0 + 64, c0:c0 + 64]           # the crop's instance labels
    own = np.bincount(crop_labels[test_masks[i]]).argmax()
    on_other = sum(0 < crop_labels[r, c] != own for r, c in negatives)
    print(f"  nucleus {i:2d}: contrast "
          f"{contrast[i]:.3f}{' (the lowest)' if i == np.argmin(contrast) else ''}; "
          f"touches a neighbour: {'yes' if info['touching'][i] else 'no'}; negative clicks on "
          f"another nucleus: {on_other} of {len(negatives)}")

# %% [markdown]
# **The failures are small objects.** Nuclei 21, 43 and 16 are the 1st, 3rd and 4th smallest of
# the 47 test nuclei (34, 90 and 148 px; the median is 454). IoU 0.85 leaves them room for at most
# 6, 16 and 26 wrong pixels.
#
# **Nucleus 21: the clicks are not obeyed.** It is a sliver 3 px wide, cut off by the image's
# right edge, with the lowest contrast; the smallest training nucleus has 144 px. The annotator
# gives it 19 positive clicks, yet the mask never grows past 36 px and contradicts 15 of the 20
# clicks (right-hand panel); after click 20 it still misses 62% of the sliver. Its band count
# (16 of 21 wrong pixels) shows nothing here: 71% of its own pixels lie in the band.
#
# **Nuclei 43 and 16 fail on the boundary.** 27 of 28 and 26 of 30 wrong pixels lie in the band,
# which holds only 34% and 26% of their own pixels; 4 of nucleus 16's 19 negative clicks land on
# another nucleus.

# %% [markdown]
# ### Evidence card
#
# The click model's result on one page: the set's numbers, the largest failure, its IoU curves,
# IoU and Dice (2·TP / (2·TP + FP + FN)) and the failure mode.

# %%
ft_row, ws_row = nuclei_runs["click UNet, fine-tuned"], nuclei_runs[best_classical]
dice = lambda p, t: 2 * (p & t).sum() / (p.sum() + t.sum())  # noqa: E731
mean_dice = np.mean([dice(r["pred"], m) for r, m in zip(ft_row["runs"], test_masks)])
set_lines = [
    f"{len(test_images)} test nuclei (right half); the model saw only the {len(train_images)} of "
    "the left half",
    f"NoC@85 mean {ft_row['noc85']['mean']:.2f} ({best_classical}: {ws_row['noc85']['mean']:.2f})",
    f"NoF@85 {ft_row['noc85']['nof']} ({best_classical}: {ws_row['noc85']['nof']}); "
    f"NoF@90 {ft_row['noc90']['nof']}",
    f"fewer clicks than the {best_classical} on {(a < b).sum()} nuclei, more on {(a > b).sum()}",
    f"mean Dice after 20 clicks: {mean_dice:.3f}"]
print("\n".join(set_lines))

# %%
worst = max(failure_runs, key=lambda i: areas[i])  # the largest failure
worst_run, worst_truth = failure_runs[worst], test_masks[worst]
worst_pred = worst_run["pred"]
per_class = [iou(worst_pred == c, worst_truth == c) for c in (False, True)]  # background, nucleus
wrong, in_band, own_share = near_edge[worst]
worst_lines = [
    f"nucleus {worst} ({areas[worst]} "
    f"px{', touching a neighbour' * bool(info['touching'][worst])}), after 20 clicks:",
    f"  IoU {worst_run['ious'][-1]:.3f} (best {max(worst_run['ious']):.3f}), "
    f"Dice {dice(worst_pred, worst_truth):.3f}",
    f"  per-class IoU: nucleus {per_class[1]:.3f}, background {per_class[0]:.3f} (the crop is "
    f"{1 - areas[worst] / worst_truth.size:.0%} background)",
    f"  failure: a small object, the {ordinal((areas < areas[worst]).sum() + 1)} smallest of "
    f"{len(areas)}: {wrong} wrong px of {areas[worst]}; IoU 0.85 allows at most "
    f"{areas[worst] * (1 / 0.85 - 1):.0f}",
    f"  {in_band} of them within the 1-px-shift band (as are {own_share:.0%} of its own px)"]
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
# **Your turn: beat the annotator** on the evidence card's failure (its best in 20 clicks is
# printed below). Left-click: positive; right-click or `n`: negative; undo takes a click back.
# The cell replays the annotator's first click.

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
perimeter = np.array([(m & ~ndimage.binary_erosion(m)).sum() for m in test_masks])
# IoU 0.9 allows wrong px of exactly 10 % of the union: 10 to 11 % of the object
allowed = 0.10 * areas / perimeter
print(f"test nuclei: median area {np.median(areas):.0f} px, median boundary "
      f"{np.median(perimeter):.0f} px; "
      f"IoU 0.90 allows about {np.median(allowed):.2f} px of boundary error per boundary pixel "
      "(median nucleus)")
out1 = [iou(ndimage.binary_dilation(m), m) for m in test_masks]
in1 = [iou(ndimage.binary_erosion(m), m) for m in test_masks]
print(f"the true outline moved 1 px out all round: IoU {np.median(out1):.3f}; 1 px in: "
      f"{np.median(in1):.3f} (medians); nuclei where either reaches 0.90: "
      f"{sum(max(a, b) >= 0.9 for a, b in zip(out1, in1))} of {len(test_masks)}")
print(f"nuclei below 0.85 with the outline moved 1 px out: {sum(v < 0.85 for v in out1)}, 1 px in: "
      f"{sum(v < 0.85 for v in in1)} of {len(test_masks)}")

# %% [markdown]
# IoU 0.90 leaves about 0.64 px of error per boundary pixel of a median nucleus. Moving the true
# outline 1 px (lesson 05's simulated annotator jitter) gives a median IoU of 0.858 (out) or 0.843
# (in): 0.90 on none of the 47 nuclei, and below 0.85 on 16 (out) and 28 (in). Where do the
# methods' wrong pixels lie?

# %%
rows = {}  # where the wrong pixels lie after click 20, on the NoF@90 nuclei
for name, v in nuclei_runs.items():
    never = [i for i, r in enumerate(v["runs"]) if max(r["ious"]) < 0.90]
    wrong = [v["runs"][i]["pred"] ^ test_masks[i] for i in never]
    close = sum((w & shift_band(test_masks[i])).sum() for w, i in zip(wrong, never))
    total = sum(w.sum() for w in wrong)
    rows[name] = {"never 0.90": v["noc90"]["never"], "never 0.85": v["noc85"]["never"],
                  "NoF@90": len(never), "their wrong px": f"{total:,}",
                  "in the band": f"{close:,}", "share": close / total}
print(viz.text_table(rows, {"never 0.90": ".0%", "never 0.85": ".0%", "share": ".0%"},
                     "after click 20"))

# %% [markdown]
# IoU 0.90 is out of reach for 68% of the test nuclei with either classical method and 32% with
# the click UNet; on those nuclei most wrong pixels after click 20 lie in the 1-px-shift band
# (70% for the watershed, 77% for the click UNet). A **boundary-tolerant IoU** asks instead: was
# the object found? It leaves out the band (PASCAL VOC's "void" border is about 5 px wide; lesson
# 00's Boundary IoU scores *only* a band).

# %%
tolerant_iou = interactive.tolerant_iou  # IoU outside §7's 1-px-shift band of the truth
tol_out = np.array([tolerant_iou(ndimage.binary_dilation(m), m) for m in test_masks])
tol_in = np.array([tolerant_iou(ndimage.binary_erosion(m), m) for m in test_masks])
in2 = [ndimage.binary_erosion(m, iterations=2) for m in test_masks]  # the outline moved 2 px in
tol_in2 = np.array([tolerant_iou(e, m) for e, m in zip(in2, test_masks)])
plain_in2 = np.median([iou(e, m) for e, m in zip(in2, test_masks)])
print(f"outline moved 1 px out: tolerant IoU 1.000 on {(tol_out == 1).sum()} of "
      f"{len(test_masks)}; 1 px in: on {(tol_in == 1).sum()}")
print(f"outline moved 2 px in: tolerant IoU median {np.nanmedian(tol_in2):.3f} "
      f"(plain IoU {plain_in2:.3f}), 1.000 on {(tol_in2 == 1).sum()}, "
      f"at least 0.90 on {(tol_in2 >= 0.9).sum()}")

# %% [markdown]
# Both 1-px shifts score 1.000 on all 47 nuclei, by construction: the band holds every pixel a
# 1-px shift flips; 2 px in scores a median of 0.829 (plain 0.700). On the largest failure the
# hatched band holds most of the wrong pixels:

# %%
t, p = test_masks[worst], failure_runs[worst]["pred"]
band = shift_band(t)
fig = viz.shift_band_figure(test_images[worst], t, p, (
    f"nucleus {worst}, its outline moved 1 px\nout: IoU {out1[worst]:.2f}, tolerant "
    f"{tol_out[worst]:.2f}; in: IoU {in1[worst]:.2f}, tolerant {tol_in[worst]:.2f}",
    f"the click UNet after click 20: IoU {failure_runs[worst]['ious'][-1]:.2f}, tolerant "
    f"{tolerant_iou(p, t):.2f}\nwrong px: {((p ^ t) & band).sum()} in the band, "
    f"{((p ^ t) & ~band).sum()} outside it"))
print(f"nucleus {worst} after click 20: IoU {iou(p, t):.3f}, tolerant IoU "
      f"{tolerant_iou(p, t):.3f}; {((p ^ t) & band).sum()} of its {(p ^ t).sum()} wrong px lie in "
      "the band")

# %% [markdown]
# Nucleus 16 rises from 0.811 to 0.964. On all nuclei, plain against tolerant:

# %%
plain_rows, tol_rows, tol_curves = {}, {}, {}
for name, v in nuclei_runs.items():
    never = [i for i, r in enumerate(v["runs"]) if max(r["ious"]) < 0.90]  # NoF@90 above
    at20 = np.array([tolerant_iou(v["runs"][i]["pred"], test_masks[i]) for i in never])
    tol_curves[name] = [np.array([tolerant_iou(m, t) for m in r["masks"]])  # at every click
                        for r, t in zip(v["runs"], test_masks)]
    tolerant = interactive.noc_summary(tol_curves[name])
    plain_rows[name] = {"NoC@85": v["noc85"]["mean"], "NoF@85": v["noc85"]["nof"],
                        "NoC@90": v["noc90"]["mean"], "NoF@90": v["noc90"]["nof"]}
    tol_rows[name] = {"NoC@85": tolerant["noc85"]["mean"], "NoF@85": tolerant["noc85"]["nof"],
                      "NoC@90": tolerant["noc90"]["mean"], "NoF@90": tolerant["noc90"]["nof"],
                      "NoF@90 above, >= 0.90 at 20": f"{(at20 >= 0.9).sum()} of {len(never)}"}
fmt = {k: ".2f" for k in ("NoC@85", "NoC@90")}
print(viz.text_table(plain_rows, fmt, "plain IoU"))
print(viz.text_table(tol_rows, fmt, "tolerant IoU"))

# %% [markdown]
# Scored with the tolerant IoU, every nucleus reaches 0.90 with every method (tolerant NoF@90 0),
# after 1.89 clicks for the click UNet, 2.36 for the watershed and 3.89 for the random walker. A
# caveat: the interior each nucleus keeps.

# %%
interior = np.array([(m & ~shift_band(m)).sum() for m in test_masks])  # the px it scores
slivers = np.flatnonzero(interior < 50)
print(f"interior px (what the tolerant IoU scores): median {np.median(interior):.0f}; "
      f"the four fewest {np.sort(interior)[:4].tolist()}; under 50 px: nuclei {slivers.tolist()}")
for i in slivers:
    print(f"  nucleus {i}: {interior[i]} of its {areas[i]} px are interior")
    for name, curves in tol_curves.items():
        first = int(np.argmax(curves[i] >= 0.9)) + 1 if (curves[i] >= 0.9).any() else None
        print(f"    {name}: tolerant IoU first >= 0.90 at click {first}, "
              f"{curves[i][-1]:.3f} at click 20")
for i, r in failure_runs.items():  # §7's three failures
    print(f"  nucleus {i} ({interior[i]} of {areas[i]} px interior): outline moved 1 px out IoU "
          f"{out1[i]:.3f}, in {in1[i]:.3f}; the click UNet after click 20: "
          f"IoU {r['ious'][-1]:.3f}, tolerant IoU {tolerant_iou(r['pred'], test_masks[i]):.3f}")

# %% [markdown]
# The tolerant IoU measures whether the object's interior was found. It does not measure the
# outline, nor an object with almost no interior: nucleus 21 keeps 10 of its 34 px outside the
# band (the next fewest keep 53 and 59). The click UNet covers them at click 6, so the nucleus
# counts as reached, though it scores 0.500 at click 20. Report the tolerant IoU only for objects
# with at least 50 interior px (here: all but nucleus 21).
#
# ## 9 · The annotation loop, measured
#
# **Takeaway: on this pool, choosing the most uncertain objects to label did not beat choosing at
# random.**
#
# The loop: the annotator corrects a batch of proposals with clicks (until IoU 0.85; after 20
# clicks it draws the object, the 20 clicks counted), and the model, starting from the
# synthetic-only one, is fine-tuned on every label so far. The next batch is the most
# **uncertain** proposals or a **random** one; the pool is the 59 training nuclei, the score is
# measured on the test nuclei. The uncertainty score: the per-pixel entropy of p(object) after
# one click at the deepest pixel (0 bits where sure, 1 at p = 0.5), averaged over the crop.

# %%
deepest = [interactive.next_click(np.zeros_like(m), m)[0] for m in train_masks]
maps = np.stack([interactive.click_maps([c], [], m.shape) for c, m in zip(deepest, train_masks)])
pool_x = np.stack([train_images, maps[:, 0], maps[:, 1], np.zeros_like(train_images)], 1)
synthetic_only.eval()
with torch.no_grad():
    logits = synthetic_only(torch.from_numpy(pool_x.astype(np.float32)))
    prob = torch.softmax(logits, 1)[:, 1].numpy()  # (59, 64, 64): p(object)
prob = np.clip(prob, 1e-6, 1 - 1e-6)
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
fig, axes = plt.subplots(2, 2, figsize=(7.4, 6.8))  # the two extremes of the score
extremes = {"highest": int(np.argmax(entropy)), "lowest": int(np.argmin(entropy))}
for row, (which, j) in zip(axes, extremes.items()):
    panels = ((row[0], prob[j], palette.CONFIDENCE_CMAP, "p(object)"),
              (row[1], pixel_entropy[j], "cividis", "entropy (bits)"))  # both maps linear
    for ax, values, cmap, label in panels:
        im = ax.imshow(values, cmap=cmap, vmin=0, vmax=1)
        ax.contour(train_masks[j], levels=[0.5], colors=["white"], linewidths=1)
        ax.plot(deepest[j][1], deepest[j][0], "P", ms=10, mfc=GREEN, mec="black")
        ax.set_title(f"pool nucleus {j}: {label}\n({which} mean entropy, {entropy[j]:.3f} bits)",
                     fontsize=9)
        ax.set_axis_off()
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label=label)
fig.legend(handles=[Line2D([], [], color="white", lw=1, label="true outline"), CLICK_HANDLES[0]],
           loc="lower center", ncol=2, fontsize=8, facecolor="0.6")
fig.tight_layout(rect=(0, 0.05, 1, 1))
unsure = {which: ((prob[j] > 0.1) & (prob[j] < 0.9)).sum() for which, j in extremes.items()}
print(f"pixels with p(object) between 0.1 and 0.9: nucleus {extremes['highest']} "
      f"{unsure['highest']}, nucleus {extremes['lowest']} {unsure['lowest']}")

# %% [markdown]
# p(object) lies between 0.1 and 0.9 on 719 pixels of the uncertain nucleus, 243 of the sure one.
# Each round rescores the unlabelled pool, clicks on top of the annotation. The loop itself
# (`python -m segcourse.interactive loop`) is stored in the card.

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
spread = lambda v, f: f"{v.mean():{f}} [{v.min():{f}}, {v.max():{f}}]"  # noqa: E731  over seeds
curves = {}
for strategy in ("uncertainty", "random"):
    runs_s = [r["rows"] for r in loop["runs"] if r["strategy"] == strategy]
    clicks, iou1, noc = (np.array([[x[key] for x in rr] for rr in runs_s])
                         for key in ("clicks", "iou_1", "noc85"))
    curves[strategy] = (clicks, iou1)
    rows = {f"round {r}": {"clicks": spread(clicks[:, r], ".0f"),
                           "IoU@1": spread(iou1[:, r], ".3f"), "NoC@85": spread(noc[:, r], ".2f")}
            for r in range(clicks.shape[1])}
    if strategy == "uncertainty":
        for r, row in enumerate(rows.values()):
            row["+ scoring clicks"] = clicks[:, r].mean() + np.r_[0, cost["uncounted_by_round"]][r]
    print(f"--- {strategy}: mean [min, max] over {len(runs_s)} seeds; held-out IoU@1 and NoC@85")
    print(viz.text_table(rows, {"+ scoring clicks": ".0f"}, strategy))
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
ax.set_xlabel("clicks spent on annotation (mean over seeds)")
ax.set_ylabel("held-out IoU after 1 click")
ax.legend(fontsize=8, loc="lower right"); ax.set_title("annotation loop on the nuclei")
fig.tight_layout()

# %% [markdown]
# From the same start (held-out IoU after one click 0.507), after 32 labelled nuclei uncertainty
# sampling reaches 0.769 and random choice 0.805; random is ahead in every round, before counting
# uncertainty's 156 scoring clicks per seed (dashed). Three seeds on 59 nuclei is a small experiment.
#
# ## Summary
#
# * A click is a label. Papers simulate the annotator: a click at the deepest error, never twice
#   on one pixel; NoC@85 with NoF@85 counts the clicks (§2, §3).
# * Click-seeded classical methods need no training; on sharp-edged coins one watershed click is
#   enough (§6).
# * The click UNet needs fewer clicks than both on the held-out nuclei only after fine-tuning on
#   real nuclei; it depends on its previous-mask input (§6).
# * It reads its clicks but does not always obey them: the next mask contradicts 26%. Pasting the
#   clicked pixels into its mask helps a little; pasting the whole click disks costs clicks (§6).
# * Its failures are three of the four smallest nuclei, where a 1-px outline shift already misses
#   IoU 0.85 (0.90 it misses on every nucleus); a boundary-tolerant score tells a missed outline
#   from a missed object, on objects with at least 50 interior px (§7, §8).
# * Which objects to label next is measurable: here uncertainty sampling did not beat random (§9).
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
# ## Extra · zoom-in, and two side checks
#
# Not needed for the pass check.
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
# **Side check: late clicks.** The click UNet's mean curve on the nuclei ends (0.845) below its
# value after 5 clicks (0.876). Do late clicks go to the outline, and are they obeyed (§6's count)?

# %%
outline_dist = [ndimage.distance_transform_edt(~(m ^ ndimage.binary_erosion(m)))
                for m in test_masks]
rows = {}
for name, v in nuclei_runs.items():
    worse = np.array([r["ious"][19] < r["ious"][4] for r in v["runs"]])
    # per click 6-20: within 2 px of the outline?
    late = [d[c] <= 2 for r, d in zip(v["runs"], outline_dist) for c, _ in r["clicks"][5:]]
    late_bad = np.array([sum(contradicted(r)[5:]) for r in v["runs"]])  # contradicted, 6-20
    rows[name] = {"IoU@20 < IoU@5 on": worse.sum(),
                  "clicks 6-20 within 2 px of the outline": sum(late),
                  "of": len(late), "contradicted 6-20, where IoU fell": late_bad[worse].mean(),
                  "elsewhere": late_bad[~worse].mean()}
print(viz.text_table(rows, {"contradicted 6-20, where IoU fell": ".2f", "elsewhere": ".2f"},
                     f"{len(test_masks)} test nuclei"))
ft_curve = evaluation[NUC]["click UNet, fine-tuned"]["mean_curve"]
peak = int(np.argmax(ft_curve)) + 1
print(f"training: at most {1 + recipe['max_corrections']} clicks per sample; the fine-tuned "
      f"model's mean IoU on the nuclei peaks after click {peak} ({max(ft_curve):.3f}) and "
      f"ends at {ft_curve[-1]:.3f}")

# %% [markdown]
# The UNet ends below its 5-click IoU on 36 of the 47 nuclei (random walker 11, watershed 19);
# all three put nearly every late click within 2 px of the outline (703 of the UNet's 705). The
# nuclei where the UNet's IoU fell do not have more contradicted late clicks (4.06 against 5.45
# elsewhere), so disobeyed clicks do not explain the drop. Its mean curve peaks after click 8,
# twice the most clicks it was trained with.
#
# **Side check: how much sharper are the coins' edges (§6)?** Contrast: mean inside minus a 3-px
# ring outside; gradient (Sobel) on the outline over the background's.

# %%
rows = {}
for set_name, (ims, ms) in (("coins", (coin_images, coin_masks)),
                            ("nuclei (test half)", (test_images, test_masks))):
    edge_contrast = [im[m].mean() - im[ndimage.binary_dilation(m, iterations=3) & ~m].mean()
                     for im, m in zip(ims, ms)]
    ratio = np.array([sobel(im)[m & ~ndimage.binary_erosion(m)].mean()
                      / sobel(im)[~ndimage.binary_dilation(m, iterations=3)].mean()
                      for im, m in zip(ims, ms)])
    rows[set_name] = {"objects": len(ms), "contrast (median)": np.median(edge_contrast),
                      "outline / background gradient (median)": np.median(ratio),
                      "above 3": (ratio > 3).sum()}
print(viz.text_table(rows, {"contrast (median)": ".3f",
                            "outline / background gradient (median)": ".2f"}, "set"))

# %% [markdown]
# Contrast 0.395 on the coins against 0.111 on the nuclei; outline gradient 5.81 times the
# background's against 1.85.
