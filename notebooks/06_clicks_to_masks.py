# %% [markdown]
# # 06 · Clicks to masks: interactive segmentation, measured
#
# Promptable tools (SAM, micro-sam, the assistants in CVAT and MONAI Label) turn a few clicks into
# a mask that a person corrects. A **positive** click says "this pixel belongs to my object", a
# **negative** click "this one does not". We build that loop from readable parts and ask: **how
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
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from scipy import ndimage

from segcourse import experiments, interactive, palette, viz

torch.set_num_threads(1)  # a network this small runs fastest on one thread (and 2 threads spin on a busy machine)
np.set_printoptions(precision=3, suppress=True)
GREEN, RED, BLUE = (palette.rgb(palette.OUTCOME_COLOURS[k]) for k in ("TP", "FP", "FN"))
PRED = palette.rgb(palette.INSTANCE_COLOURS[0])  # a method's mask: orange, no outcome colour (not yet compared with the truth)
METHOD_COLOURS = {"random walker": palette.rgb(palette.SERIES[0]), "marker watershed": palette.rgb(palette.SERIES[1]),
                  "click UNet, synthetic only": palette.rgb(palette.SERIES[2]),
                  "click UNet, fine-tuned": palette.rgb(palette.INSTANCE_COLOURS[3])}  # curves: no outcome colour
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
print(f"test nuclei (right half): {len(test_images)}, training nuclei (left half): {len(train_images)}")
print(f"test nucleus area: median {np.median(areas):.0f} px, from {areas.min()} to {areas.max()} px")
off_centre = np.hypot(*(np.array([ndimage.center_of_mass(m) for m in test_masks]) - 32).T)  # object centre to crop centre
print(f"test crops whose object's centre lies more than 8 px from the crop's centre: {(off_centre > 8).sum()} of "
      f"{len(test_masks)} (more than 16 px: {(off_centre > 16).sum()}; farthest: nucleus {np.argmax(off_centre)}, "
      f"{off_centre.max():.1f} px)")

# %%
k = 3
image, target = test_images[k], test_masks[k]
fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
lo, hi = np.percentile(image, (1, 99))  # 1-99 % stretch, as in every later picture of a nucleus
axes[0].imshow(image, cmap="gray", vmin=lo, vmax=hi); axes[0].set_title(f"test nucleus {k}: the image (grey {lo:.2f} to {hi:.2f})", fontsize=10)
axes[1].imshow(image, cmap="gray", vmin=lo, vmax=hi)
axes[1].contour(target, levels=[0.5], colors=["white"], linewidths=2); axes[1].set_title("the object to select", fontsize=10)
axes[1].legend(handles=[Line2D([], [], color="white", lw=2, label="target outline")], loc="lower right", fontsize=8, facecolor="0.6")
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
pred = ndimage.binary_dilation(target, iterations=3) & (np.arange(64)[None, :] < 34)  # too fat, and cut on the right
missed, false = target & ~pred, pred & ~target
d_missed = ndimage.distance_transform_edt(np.pad(missed, 1))[1:-1, 1:-1]
d_false = ndimage.distance_transform_edt(np.pad(false, 1))[1:-1, 1:-1]
positive = d_missed.max() > d_false.max()  # positive only if the missed error is strictly deeper (RITM's rule)
d = d_missed if positive else d_false
click = np.unravel_index(np.argmax(d), d.shape)
print(f"missed {missed.sum()} px (deepest {d_missed.max():.2f} px from a correct pixel), "
      f"false {false.sum()} px (deepest {d_false.max():.2f} px)")
print(f"next click by hand: {tuple(int(v) for v in click)}, {'positive' if positive else 'negative'}")
print(f"the helper:         {interactive.next_click(pred, target)}")

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.6))
shown = np.zeros((64, 64, 3)) + palette.rgb(palette.NEUTRAL_COLOURS["TN"])  # background: the TN grey of §7
shown[missed] = BLUE
shown[false] = RED
shown[target & pred] = GREEN
ax.imshow(shown)
ax.plot(click[1], click[0], marker="P" if positive else "X", ms=13, mfc=GREEN if positive else RED, mec="black", mew=0.8)
ax.set_title("a guess's errors and the next click"); ax.set_axis_off()
ax.legend(handles=[Patch(color=GREEN, label="correct object pixels"), Patch(color=RED, label="false (pred only)"),
                   Patch(color=BLUE, label="missed (target only)"),
                   Patch(color=palette.rgb(palette.NEUTRAL_COLOURS["TN"]), label="neither (TN)"),
                   Line2D([], [], marker="P", ls="", mfc=GREEN, mec="black", ms=10, label="positive click"),
                   Line2D([], [], marker="X", ls="", mfc=RED, mec="black", ms=10, label="negative click")],
          loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
fig.tight_layout()

# %% [markdown]
# The thin false ring (red) is shallower than the missed part (blue), so the click goes there.
#
# Two details of RITM's annotator (`isegm/inference/clicker.py`) complete the rule. A tie in depth
# gives a *negative* click. And no pixel is clicked twice: clicked pixels get distance 0 before
# the maximum, or a method that ignores a click would get it again and again. Say the annotator
# had clicked there already:

# %%
clicked = np.zeros((64, 64), bool)
clicked[click] = True                                   # the pixels clicked so far
d_missed_new = np.where(clicked, 0, d_missed)           # a clicked pixel is never the deepest one again
d_false_new = np.where(clicked, 0, d_false)
positive_new = d_missed_new.max() > d_false_new.max()
click_new = np.unravel_index(np.argmax(d_missed_new if positive_new else d_false_new), d.shape)
print(f"with {tuple(int(v) for v in click)} clicked already, the next click by hand: {tuple(int(v) for v in click_new)}, "
      f"{'positive' if positive_new else 'negative'}, depth {d[click_new]:.2f} px (the clicked pixel's: {d[click]:.2f} px)")
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
print(f"NoC@85 by hand: {by_hand}; helper: NoC@85 {interactive.number_of_clicks(ious, 0.85)}, "
      f"NoC@90 {interactive.number_of_clicks(ious, 0.90)}, NoC@95 {interactive.number_of_clicks(ious, 0.95)} (never: the cap)")
three = [ious + [0.9] * 15, [0.3] * 19 + [0.86], [0.5] * 20]    # three objects, 20 clicks each
nof85 = sum(not (np.array(c) >= 0.85).any() for c in three)
print(f"three objects: NoC@85 {[interactive.number_of_clicks(c, 0.85) for c in three]}, NoF@85 {nof85} by hand, "
      f"{interactive.noc_summary(three)['noc85']['nof']} by the helper")

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
# * the **random walker** (Grady 2006): each pixel takes the seed a random walk from it most
#   likely reaches first; steps across a strong edge are unlikely (`beta=130`);
# * the **marker watershed**: the seeds flood the gradient magnitude (Sobel); basins meet on the edges.

# %%
from skimage.filters import sobel
from skimage.segmentation import random_walker, watershed

first, _ = interactive.next_click(np.zeros_like(target), target)
seeds = np.zeros((64, 64), np.int32)
seeds[[0, -1], :] = seeds[:, [0, -1]] = 2                      # the crop's border: background
seeds[first[0] - 1:first[0] + 2, first[1]] = seeds[first[0], first[1] - 1:first[1] + 2] = 1  # the click (a plus): object
rw = random_walker(image, seeds, beta=130, mode="cg_j", tol=1e-3) == 1
ws = watershed(sobel(image), seeds) == 1
iou = lambda a, b: (a & b).sum() / (a | b).sum()  # noqa: E731
print(f"one click at {first}: random walker IoU {iou(rw, target):.3f}, marker watershed IoU {iou(ws, target):.3f}; "
      f"seeds: {(seeds == 1).sum()} object px (the plus), {(seeds == 2).sum()} background px (the border)")

# %% [markdown]
# The annotator loop by hand: click at the deepest error, give the method all clicks and its last
# mask, score, repeat. Five clicks of the random walker:

# %%
rw_predict = interactive.random_walker_predictor(beta=130)
pos, neg, clicked = [], [], []                     # positive clicks, negative clicks, every pixel clicked so far
pred, prev, ious_by_hand = np.zeros_like(target), None, []
for _ in range(5):
    (r, c), positive = interactive.next_click(pred, target, clicked=clicked)   # the deepest error pixel not clicked yet
    clicked.append((r, c))
    (pos if positive else neg).append((r, c))
    pred = rw_predict(image, pos, neg, prev)       # the method's mask for all clicks so far
    prev = pred                                    # the last mask: the next call's previous mask
    ious_by_hand.append(iou(pred, target))
print(f"random walker by hand, IoU after clicks 1 to 5: {np.round(ious_by_hand, 3)}; clicks {pos} positive, {neg} negative")

# %% [markdown]
# `interactive.simulate_clicks` is this loop, up to the cap of 20 clicks:

# %%
methods = {"random walker": interactive.random_walker_predictor(beta=130),
           "marker watershed": interactive.watershed_predictor()}
runs = {name: interactive.simulate_clicks(p, image, target, keep_masks=True) for name, p in methods.items()}
for name, r in runs.items():
    change = max(abs(v - r["ious"][0]) for v in r["ious"][1:5])
    print(f"{name:17s} IoU after clicks 1-5: {np.round(r['ious'][:5], 3)} -> NoC@85 {interactive.number_of_clicks(r['ious'], 0.85)}; "
          f"largest change from click 1 by click 5: {change:.3f}{' (< 0.01)' if change < 0.01 else ''}")
print("the random walker's first 5 IoUs by hand equal the helper's:", ious_by_hand == runs["random walker"]["ious"][:5])


# %%
def show_clicks(ax, image, target, run, n, title):
    """The mask after the first n clicks of a simulated run, with those clicks and the target outline."""
    mask = run["masks"][n - 1]
    ax.imshow(image, cmap="gray", vmin=np.percentile(image, 1), vmax=np.percentile(image, 99))  # 1-99 % stretch
    ax.imshow(np.where(mask[..., None], np.array(PRED), np.nan * np.ones(3)), alpha=0.45)
    ax.contour(mask, levels=[0.5], colors=[PRED], linewidths=1.2)
    ax.contour(target, levels=[0.5], colors=["white"], linewidths=1)
    for (r, c), is_pos in run["clicks"][:n]:
        ax.plot(c, r, "P" if is_pos else "X", ms=10, mfc=GREEN if is_pos else RED, mec="black")
    ax.set_title(f"{title}\n{n} click{'s' * (n > 1)}: IoU {run['ious'][n - 1]:.2f}", fontsize=9)
    ax.set_axis_off()


# %%
shipped = interactive.load_click_model()  # a preview of §5: the shipped click UNet, fine-tuned on nuclei
unet_run = interactive.simulate_clicks(interactive.click_predictor(shipped), image, target, max_clicks=5, keep_masks=True)
fig, axes = plt.subplots(3, 3, figsize=(8.4, 9.6))
for row, (name, r) in zip(axes, [*runs.items(), ("click UNet (§5)", unet_run)]):
    for ax, n in zip(row, (1, 3, 5)):
        show_clicks(ax, image, target, r, n, name)
fig.legend(handles=[Patch(facecolor=PRED, alpha=0.6, edgecolor=PRED, label="predicted mask"), Line2D([], [], color="white", label="target outline"),
                    Line2D([], [], marker="P", ls="", mfc=GREEN, mec="black", ms=9, label="positive click"),
                    Line2D([], [], marker="X", ls="", mfc=RED, mec="black", ms=9, label="negative click")],
           loc="lower center", ncol=4, fontsize=8, facecolor="0.6")
fig.tight_layout(rect=(0, 0.04, 1, 1), h_pad=1.5)
for name, r in [*runs.items(), ("click UNet (§5)", unet_run)]:
    print(f"{name:17s} clicks 1-5: {[('+' if p else '-') for _, p in r['clicks'][:5]]}; IoU {np.round(r['ious'][:5], 3)}")

# %% [markdown]
# One click gives the random walker a small blob (IoU 0.188: a 5-pixel plus against 252 border
# pixels); three clicks reach 0.855, and the fourth, negative, drops to 0.786. The watershed
# reaches 0.875 with one click; the click UNet of §5 (third row) 0.915.
#
# **Reading NoC off one curve.** Nucleus 3's IoU after each of the 20 clicks. The triangles mark
# where a curve first reaches the solid line (NoC@85, filled) or the dashed one (NoC@90, open).

# %%
curve_runs = {**runs, "click UNet, fine-tuned": interactive.simulate_clicks(interactive.click_predictor(shipped), image, target)}
fig, ax = plt.subplots(figsize=(6.4, 3.4))
for name, r in curve_runs.items():
    colour = METHOD_COLOURS[name]
    ks = np.arange(1, len(r["ious"]) + 1)
    ax.plot(ks, r["ious"], "o-", color=colour, ms=4, label=name)
    for t, fill, dx in ((0.85, colour, 0), (0.90, "white", 0.35)):   # NoC@90 nudged right: both may mark one click
        n = interactive.number_of_clicks(r["ious"], t)
        if max(r["ious"]) >= t:
            ax.plot(n + dx, r["ious"][n - 1], "^", color=colour, mfc=fill, mec="black", ms=10, zorder=3)
    print(f"{name:17s} {len(r['ious'])} clicks: NoC@85 {interactive.number_of_clicks(r['ious'], 0.85)}, "
          f"NoC@90 {interactive.number_of_clicks(r['ious'], 0.90)}; best IoU {max(r['ious']):.3f}, after click 20 {r['ious'][-1]:.3f}")
ax.axhline(0.85, color="black", lw=0.8); ax.axhline(0.90, color="black", lw=0.8, ls="--")
ax.set_xlim(0.5, interactive.MAX_CLICKS + 0.5); ax.set_ylim(0.1, 1); ax.set_xticks([1, 5, 10, 15, 20])
ax.set_xlabel("clicks"); ax.set_ylabel("IoU with the target"); ax.set_title(f"test nucleus {k}: IoU after each click")
reach90 = [max(r["ious"]) >= 0.90 for r in curve_runs.values()]
ax.legend(handles=ax.get_legend_handles_labels()[0] + [
    Line2D([], [], color="black", lw=0.8, label="IoU 0.85"), Line2D([], [], color="black", lw=0.8, ls="--", label="IoU 0.90"),
    Line2D([], [], marker="^", ls="", color="0.3", ms=8, label="NoC@85 (filled)")]
    + [Line2D([], [], marker="^", ls="", color="0.3", mfc="white", ms=8, label="NoC@90 (open)")] * any(reach90),
    loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## 5 · A click UNet
#
# A classical method knows only intensity edges; a network can learn what *one object* looks
# like. The course's TinyUNet gets four input channels, as in RITM: the grey image; a **positive
# click map** (1 in a disk of radius 3 px around each positive click); a **negative click map**;
# the **previous mask**, its own last answer (zeros before click 1). It outputs one object's mask.

# %%
clicks5 = unet_run["clicks"][:5]  # the inputs the click UNet got at the 5th click of its run in §4 (third row)
model_inputs = np.stack([image, *interactive.click_maps([c for c, p in clicks5 if p], [c for c, p in clicks5 if not p], image.shape),
                         unet_run["masks"][3]])
fig, axes = plt.subplots(1, 4, figsize=(11, 3.2))
pos_k = [str(k + 1) for k, (_, p) in enumerate(clicks5) if p]
neg_k = [str(k + 1) for k, (_, p) in enumerate(clicks5) if not p]
titles = ["grey image", f"positive click{'s' * (len(pos_k) > 1)} {', '.join(pos_k)}",
          f"negative click{'s' * (len(neg_k) > 1)} {', '.join(neg_k)}", "previous mask\n(its own, after click 4)"]
for ax, channel, name in zip(axes, model_inputs, titles):
    im = ax.imshow(channel, cmap="gray", vmin=0, vmax=1); ax.set_title(name); ax.set_axis_off()
fig.colorbar(im, ax=axes, fraction=0.02, pad=0.03, label="input value")
print("input channels:", model_inputs.shape, "| clicks:", [("+" if p else "-") + str(c) for c, p in clicks5])

# %% [markdown]
# **Training with simulated clicks.** Each sample gets a first positive click in its object's
# inner half, then 0 to 3 **corrective rounds**: the model predicts (no gradients), the annotator
# clicks where it is wrong, and the prediction becomes the previous mask. The loss scores the
# answer to the last clicks (exercise 7 writes one round). The step with no corrective round, in
# plain torch:

# %% tags=["nbval-ignore-output"]
step_model = interactive.click_model(width=4, seed=0)
optimiser = torch.optim.Adam(step_model.parameters(), lr=3e-3)
imgs, truth = train_images[:8], train_masks[:8]
firsts = [interactive.next_click(np.zeros_like(t), t)[0] for t in truth]                     # click 1: the deepest pixel
maps = np.stack([interactive.click_maps([c], [], t.shape) for c, t in zip(firsts, truth)])    # (8, 2, 64, 64): +, - maps
x = torch.from_numpy(np.stack([imgs, maps[:, 0], maps[:, 1], np.zeros_like(imgs)], axis=1).astype(np.float32))
y = torch.from_numpy(truth.astype(np.int64))                                                  # 1 = the selected object
step_model.train()
logits = step_model(x)                                                                        # (8, 2, 64, 64)
loss = torch.nn.functional.cross_entropy(logits, y)
optimiser.zero_grad()
loss.backward()                                                                               # gradients of every weight
optimiser.step()                                                                              # one Adam update
with torch.no_grad():
    loss_after = torch.nn.functional.cross_entropy(step_model(x), y)
print(f"input {tuple(x.shape)} -> logits {tuple(logits.shape)}; loss on this batch {loss.item():.3f} before the step, "
      f"{loss_after.item():.3f} after it")

# %% [markdown]
# `interactive.train_click_model` repeats this step with random clicks, flips, quarter turns and
# corrective rounds: 20 steps on your machine, then the run recorded when the course was built.

# %% tags=["nbval-ignore-output"]
live_model = interactive.click_model(width=4, seed=0)
live_history = interactive.train_click_model(live_model, train_images, train_masks, steps=20, batch_size=16, lr=3e-3, seed=0)
print(f"your run: loss {live_history['loss'][0]:.3f} -> {np.mean(live_history['loss'][-5:]):.3f} (mean of the last 5 of "
      f"{len(live_history['loss'])} steps) in {live_history['train_seconds']:.1f} s")

# %%
recorded = experiments.recorded_run("06_small_click_model", live_model, live_history)
small_history = recorded["history"]
print(f"recorded run: loss {small_history['loss'][0]:.3f} -> {np.mean(small_history['loss'][-5:]):.3f} "
      f"(mean of the last 5 of {len(small_history['loss'])} steps) | torch {recorded['card']['torch']}, "
      f"{recorded['card']['threads']} threads")

# %% [markdown]
# The shipped click model (width 8) was trained first on synthetic touching cells, then
# fine-tuned on the training nuclei with synthetic objects still in each batch (against
# *catastrophic forgetting*). Both stages ship. **Class imbalance:** the next cell counts the
# object's share of a crop; a weighted cross-entropy or a Dice loss are the usual remedies, not
# tried here.

# %%
synthetic_only = interactive.load_click_model(stage="synthetic only")
recipe = shipped.card["recipe"]
print(f"shipped click model: {shipped.card['parameters']} parameters; {recipe['steps']} steps on "
      f"{recipe['synthetic_n']} synthetic objects, then {recipe['finetune_steps']} fine-tuning steps on {len(train_images)} "
      f"training nuclei mixed with the synthetic objects ({recipe['finetune_mix']:.0%} of each batch synthetic, on average; "
      f"batch {recipe['batch_size']}); {shipped.card['training']['cpu_seconds']:.0f} s of CPU time")
print(f"object pixels in the training crops: {train_masks.mean():.1%} (from {train_masks.mean(axis=(1, 2)).min():.1%} "
      f"to {train_masks.mean(axis=(1, 2)).max():.1%} per crop); the loss is plain, unweighted cross-entropy")

# %% [markdown]
# ## 6 · The table: synthetic objects, real nuclei, coins
#
# **Takeaway: on the real nuclei the fine-tuned click UNet needs the fewest clicks of the four
# methods; on the sharp-edged coins one click of the marker watershed is enough.**
#
# The two classical methods and the shipped fine-tuned model run the full protocol on the test
# nuclei. By default every 12th nucleus runs live and the runs on all of them, recorded when the
# course was built (`python tools/course.py build 06 --record`), are read back; the cell checks
# that the live runs equal the recorded ones. Set `FULL = True` to run all of them live, and add
# your own predictor (`predict(image, positive, negative, previous_mask) -> mask`) to `live_methods`
# to score it the same way.

# %%
def table(results):
    """One row per method: NoC@85 (mean, median), NoF@85, NoC@90, NoF@90 and the mean IoU after 1 / 3 / 5 / 20 clicks."""
    n = next(iter(results.values()))["n"]
    print(f"{f'(n = {n} objects)':28s} {'NoC@85':>6s} {'median':>6s} {'NoF@85':>6s}   {'NoC@90':>6s} {'NoF@90':>6s}"
          "   IoU after 1 / 3 / 5 / 20 clicks")
    for name, v in results.items():
        print(f"{name:28s} {v['noc85']['mean']:6.2f} {v['noc85']['median']:6.0f} {v['noc85']['nof']:6d}   "
              f"{v['noc90']['mean']:6.2f} {v['noc90']['nof']:6d}   "
              f"{v['iou_at']['1']:.3f} / {v['iou_at']['3']:.3f} / {v['iou_at']['5']:.3f} / {v['iou_at']['20']:.3f}")


# %%
import time

FULL = False  # True: every test nucleus live (the cell after this one prints how long the sample took on your machine)
live_methods = {"random walker": methods["random walker"], "marker watershed": methods["marker watershed"],
                "click UNet, fine-tuned": interactive.click_predictor(shipped)}   # add your own predictor here
sample = np.arange(len(test_images)) if FULL else np.arange(0, len(test_images), 12)
started = time.perf_counter()
live = interactive.evaluate_methods(live_methods, {"nuclei (test half)": (test_images[sample], test_masks[sample])},
                                   progress=True, keep_runs=True)
live_seconds = time.perf_counter() - started
nuclei_runs = interactive.runs_from_history(experiments.recorded_or_run(  # every test nucleus, as recorded (masks included)
    "06_nuclei_runs", lambda: interactive.runs_to_history(interactive.evaluate_methods(
        live_methods, {"nuclei (test half)": (test_images, test_masks)}, keep_runs=True))))
for name, v in live["nuclei (test half)"].items():
    if name in nuclei_runs["nuclei (test half)"]:                 # your own method has no recording to compare with
        recorded_runs = [nuclei_runs["nuclei (test half)"][name]["runs"][i] for i in sample]
        same_runs = all(a["ious"] == b["ious"] and a["clicks"] == b["clicks"] and np.array_equal(a["masks"], b["masks"])
                        for a, b in zip(v["runs"], recorded_runs))
        print(f"{name:24s} live on {len(sample)} nuclei: NoC@85 {v['noc85']['per_object'][:8]}; clicks, IoUs and masks "
              f"equal the recorded runs: {same_runs}")
print(f"\n{len(test_images)} test nuclei, {'live' if FULL else 'the recorded runs'}:")
table(live["nuclei (test half)"] if FULL else nuclei_runs["nuclei (test half)"])

# %% tags=["nbval-ignore-output"]
print(f"live: {len(sample)} nuclei × {len(live_methods)} methods in {live_seconds:.0f} s on this machine; all "
      f"{len(test_images)} at that pace: about {live_seconds / len(sample) * len(test_images) / 60:.0f} min")

# %% [markdown]
# **What does the previous-mask input do?** The same weights run once more on every test nucleus
# with the fourth channel set to zeros at every click.

# %%
ft_live = interactive.click_predictor(shipped)
no_previous = lambda img, pos, neg, prev: ft_live(img, pos, neg, None)  # noqa: E731  the 4th channel: zeros
# each run stops once IoU reaches 0.90: NoC@85 and NoC@90 are known by then, and it saves time
zeroed = [interactive.simulate_clicks(no_previous, im, m, stop_at=0.90)["ious"] for im, m in zip(test_images, test_masks)]
given = [r["ious"] for r in nuclei_runs["nuclei (test half)"]["click UNet, fine-tuned"]["runs"]]
for name, curves in (("click UNet, fine-tuned", given), ("click UNet, no previous mask", zeroed)):
    print(f"{name:28s} " + " | ".join(
        f"NoC@{round(t * 100)} {np.mean([interactive.number_of_clicks(c, t) for c in curves]):5.2f}, "
        f"NoF@{round(t * 100)} {sum(max(c) < t for c in curves):2d}" for t in (0.85, 0.90))
        + f" | IoU after 1 click {np.mean([c[0] for c in curves]):.3f}")
full_noc = np.array([interactive.number_of_clicks(c, 0.85) for c in given])
zeroed_noc = np.array([interactive.number_of_clicks(c, 0.85) for c in zeroed])
print(f"NoC@85 per nucleus, previous mask zeroed vs given: more clicks on {(zeroed_noc > full_noc).sum()}, "
      f"as many on {(zeroed_noc == full_noc).sum()}, fewer on {(zeroed_noc < full_noc).sum()} of {len(full_noc)}")
print(f"in training (§5, the card's recipe): click 1 with a zero previous mask, then 0 to {recipe['max_corrections']} "
      f"corrective clicks, each with the model's own last prediction as the previous mask: at most "
      f"{1 + recipe['max_corrections']} clicks per sample")

# %% [markdown]
# Zeroed, the same weights need 5.21 clicks instead of 3.55 (more on 12 of the 47 nuclei, fewer
# on 1): the trained model **depends on the channel**. It never saw zeros there after click 1 in
# training, so this does not say what a model *trained* without it would need.
#
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
    otsu_iou.append(iou(lab == np.bincount(lab[m]).argmax(), m))     # the Otsu region that covers most of the coin
print(f"coins: Otsu + hole filling against lesson 04's masks, IoU median {np.median(otsu_iou):.3f}, "
      f"lowest {min(otsu_iou):.3f} ({len(otsu_iou)} coins)")
fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
for ax, (name, im, m) in zip(axes, (("synthetic object 0", syn_images[0], syn_masks[0]), ("test nucleus 3", image, target),
                                    ("coin 20", coin_images[20], coin_masks[20]))):
    ax.imshow(im, cmap="gray", vmin=np.percentile(im, 1), vmax=np.percentile(im, 99))  # 1-99 % stretch
    ax.contour(m, levels=[0.5], colors=["white"], linewidths=1.5)
    ax.set_title(name, fontsize=10); ax.set_axis_off()
fig.legend(handles=[Line2D([], [], color="white", lw=1.5, label="the object to select (outline)")], loc="lower center",
           fontsize=9, facecolor="0.6")
fig.tight_layout(rect=(0, 0.08, 1, 1))

# %% [markdown]
# (A coin crop past the photo's edge repeats the edge pixels: the stripes.) The full protocol on
# these sets ran once (`python -m segcourse.interactive evaluate`); the model's card holds it.

# %%
evaluation = shipped.card["evaluation"]["results"]
for set_name, results in evaluation.items():
    print(f"--- {set_name}")
    table(results)
same = all(evaluation["nuclei (test half)"][m]["noc85"]["per_object"] == nuclei_runs["nuclei (test half)"][m]["noc85"]["per_object"]
           for m in nuclei_runs["nuclei (test half)"] if m in evaluation["nuclei (test half)"])
print("card's nuclei rows equal the recorded runs' rows:", same)

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
styles = {"random walker": (METHOD_COLOURS["random walker"], "--"), "marker watershed": (METHOD_COLOURS["marker watershed"], ":"),
          "click UNet, synthetic only": (METHOD_COLOURS["click UNet, synthetic only"], "-."),
          "click UNet, fine-tuned": (METHOD_COLOURS["click UNet, fine-tuned"], "-")}
clicks_axis = np.arange(1, interactive.MAX_CLICKS + 1)
for ax, (set_name, results) in zip(axes, evaluation.items()):
    for name, v in results.items():
        colour, ls = styles[name]
        ax.plot(clicks_axis, v["mean_curve"], color=colour, ls=ls, lw=2, label=name)
    ax.axhline(0.85, color="black", lw=0.8); ax.axhline(0.90, color="black", lw=0.8, ls="--")
    ax.set_title(set_name); ax.set_xlabel("clicks"); ax.set_xticks([1, 5, 10, 15, 20])
axes[0].set_ylabel("mean IoU after k clicks")
handles = axes[-1].get_legend_handles_labels()[0] + [Line2D([], [], color="black", lw=0.8, label="IoU 0.85"),
                                                   Line2D([], [], color="black", lw=0.8, ls="--", label="IoU 0.90")]
axes[-1].legend(handles=handles, loc="lower right", fontsize=8)
fig.tight_layout()

# %% [markdown]
# **Real nuclei.** The fine-tuned click UNet reaches IoU 0.85 after 3.55 clicks on average, the
# marker watershed after 7.19 and the random walker after 7.79 (NoF@85 3, 10 and 7 of the 47).
# Before fine-tuning the same network needs 11.60. Fine-tuning added 300 steps as well as the 59
# nuclei; this lesson does not separate the two.
#
# **Synthetic objects.** The synthetic-only model is best after one and three clicks (mean IoU
# 0.838 and 0.895); the fine-tuned model stays close (0.805 and 0.883). (The classical curves'
# dips there are counted in the Extra section.)
#
# **Coins.** One click of the marker watershed reaches IoU 0.85 on every coin (NoC@85 1.00); the
# click UNet needs 2.54. The masks are not the watershed's private answer: Otsu agrees with them
# at IoU 0.963 (median; lowest 0.941). The Extra section counts how much sharper the coins' edges are.
#
# **Does a method obey its clicks?** A positive click says "this pixel is object". The next cell
# counts, on the recorded runs, how often the mask right after a click contradicts it: a positive
# click outside the mask, a negative one inside.

# %%
def contradicted(run):
    """For each click of a run: does the mask right after it contradict it (positive outside, negative inside)?"""
    return [bool(mask[rc]) != positive for (rc, positive), mask in zip(run["clicks"], run["masks"])]


for name, v in nuclei_runs["nuclei (test half)"].items():
    flags = [contradicted(r) for r in v["runs"]]
    on_pos = sum(f for fl, r in zip(flags, v["runs"]) for f, (_, p) in zip(fl, r["clicks"]) if p)
    early, late = sum(sum(f[:5]) for f in flags), sum(sum(f[5:]) for f in flags)
    print(f"{name:24s} contradicted: {sum(map(sum, flags)):3d} of {sum(map(len, flags))} clicks "
          f"({sum(map(sum, flags)) / sum(map(len, flags)):.0%}; {on_pos} of them positive), on {sum(any(f) for f in flags)} "
          f"of {len(flags)} nuclei | clicks 1-5: {early / sum(len(f[:5]) for f in flags):.0%}, "
          f"clicks 6-20: {late / sum(len(f[5:]) for f in flags):.0%}")

# %% [markdown]
# The seeded methods keep a positive click inside the object by construction (0 positive clicks
# contradicted); the click UNet only *reads* its clicks, and the mask after a click contradicts it
# on 26% of them, on 46 of the 47 nuclei, more often among late clicks (29%) than among the first
# five (17%). Tools force the clicks into the answer: the simplest pastes the click disks into the
# output mask; BRS (Jang & Kim 2019) and f-BRS (Sofiiuk et al. 2020) instead optimise the input or
# a few inner features at test time until the prediction agrees with every click.

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
nuc = evaluation["nuclei (test half)"]
best_classical = min(["random walker", "marker watershed"], key=lambda m: nuc[m]["noc85"]["mean"])
a = np.array(nuc["click UNet, fine-tuned"]["noc85"]["per_object"])
b = np.array(nuc[best_classical]["noc85"]["per_object"])
print(f"best classical method on nuclei (mean NoC@85): {best_classical}")
print(f"fine-tuned click UNet vs {best_classical}, NoC@85 per nucleus: fewer clicks on {(a < b).sum()}, "
      f"as many on {(a == b).sum()}, more on {(a > b).sum()} of {len(a)}; median difference {np.median(a - b):+.0f}")
ties = a[a == b]
print(f"ties: {(ties == 1).sum()} at 1 click, {(ties == interactive.MAX_CLICKS).sum()} never reached by either, "
      f"{((ties > 1) & (ties < interactive.MAX_CLICKS)).sum()} other")
s_only = np.array(nuc["click UNet, synthetic only"]["noc85"]["per_object"])
print(f"fine-tuning vs synthetic only: fewer clicks on {(a < s_only).sum()}, more on {(a > s_only).sum()} of {len(a)}")
info = interactive.nuclei_object_info("right")
small = areas < np.median(areas)
for group, sel in (("touching a neighbour", info["touching"]), ("isolated", ~info["touching"]),
                   (f"small (< {np.median(areas):.0f} px)", small), ("large", ~small)):
    print(f"{group:22s} {sel.sum():2d} nuclei: mean NoC@85 click UNet {a[sel].mean():5.2f}, {best_classical} {b[sel].mean():5.2f}; "
          f"UNet fewer clicks on {(a[sel] < b[sel]).sum()}, more on {(a[sel] > b[sel]).sum()}")

# %%
fig, ax = plt.subplots(figsize=(6.4, 5))
jitter = np.random.default_rng(0).uniform(-0.3, 0.3, (2, len(a)))    # ties would hide each other: spread them a little
never_ft = [i for i in range(len(a)) if max(nuclei_runs["nuclei (test half)"]["click UNet, fine-tuned"]["runs"][i]["ious"]) < 0.85]
never_cl = [i for i in range(len(a)) if max(nuclei_runs["nuclei (test half)"][best_classical]["runs"][i]["ious"]) < 0.85]
sc = ax.scatter(b + jitter[0], a + jitter[1], c=areas, cmap=palette.LOG_CMAP, norm=LogNorm(), s=36, edgecolors="black", linewidths=0.5)
ax.plot([0, 21], [0, 21], color="0.4", lw=1, ls="--", zorder=0)
ax.scatter(b[never_ft] + jitter[0, never_ft], a[never_ft] + jitter[1, never_ft], s=160, facecolors="none",
           edgecolors="black", linewidths=1.8)
for k, i in enumerate(never_ft):   # labels stacked below the corner, a line to each point
    ax.annotate(f"nucleus {i} ({areas[i]} px)", (b[i] + jitter[0, i], a[i] + jitter[1, i]), xytext=(-115, -20 - 19 * k),
                textcoords="offset points", fontsize=8, arrowprops={"arrowstyle": "-", "color": "0.3", "lw": 0.6})
ax.set_xlim(0, 21); ax.set_ylim(0, 21); ax.set_xticks([1, 5, 10, 15, 20]); ax.set_yticks([1, 5, 10, 15, 20])
ax.set_xlabel(f"NoC@85, {best_classical} (20: never reached)"); ax.set_ylabel("NoC@85, click UNet, fine-tuned")
ax.set_title("one point per test nucleus (spread by up to 0.3 click)", fontsize=10)
fig.colorbar(sc, ax=ax, label="nucleus area (px, log scale)")
ax.legend(handles=[Line2D([], [], color="0.4", ls="--", label="as many clicks"),
                   Line2D([], [], marker="o", ls="", mfc="none", mec="black", mew=1.8, ms=12, label="click UNet never reaches 0.85")],
          loc="upper left", fontsize=8)
fig.tight_layout()
print(f"below the diagonal (the UNet needs fewer): {(a < b).sum()}; never reached by the UNet: {never_ft}, by the "
      f"{best_classical}: {len(never_cl)} nuclei; UNet failures' areas: {areas[never_ft].tolist()} px")

# %% [markdown]
# The click UNet needs fewer clicks than the marker watershed on 32 of the 47 nuclei (below the
# diagonal), as many on 12, more on 3. It gains most on the 10 nuclei touching a neighbour (4.10
# clicks against 10.10). Its own cost depends on size: 5.83 clicks on the smaller half, 1.38 on
# the larger; its three failures are small (the circled points, from 34 to 148 px).
#
# ### The failures
#
# The three nuclei the model never gets to IoU 0.85, with the annotator's 20 clicks and the last
# mask. Their wrong pixels are counted in the **1-px-shift band**, the pixels a 1-px move of the
# true outline can flip: `binary_dilation(t) & ~binary_erosion(t)` (§8 scores with it).

# %%
ft_runs = nuclei_runs["nuclei (test half)"]["click UNet, fine-tuned"]["runs"]
failure_runs = {i: run for i, run in enumerate(ft_runs) if max(run["ious"]) < 0.85}  # never reached in 20 clicks
border = interactive.border_cut_nuclei("right")
cut_by_border = border["cut"]                                          # test nuclei the image's border cuts off
cut_edge = {n["nucleus"]: n["edge"] for n in border["near"] if n["cut"]}  # ... and which edge of the image


def shift_band(t):
    """The 1-px-shift band: the pixels a 1-px shift of the outline of ``t``, out or in, can flip."""
    return ndimage.binary_dilation(t) & ~ndimage.binary_erosion(t)


# %%
print(f"fine-tuned click UNet, NoF@85 on the test nuclei: {len(failure_runs)} of {len(test_images)}: nuclei "
      f"{list(failure_runs)}; the smallest training nucleus: {train_masks.sum(axis=(1, 2)).min()} px")
near_edge = {}                                                # nucleus -> (wrong px, of them in the band, own px share)
ordinal = lambda n: f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n, 'th')}"  # noqa: E731  1st, 2nd, 3rd, 4th (up to 20th)
for i, run in failure_runs.items():
    band = shift_band(test_masks[i])
    wrong = run["pred"] ^ test_masks[i]
    near_edge[i] = (int(wrong.sum()), int((wrong & band).sum()), (test_masks[i] & band).sum() / areas[i])
    rows, cols = np.nonzero(test_masks[i])
    print(f"  nucleus {i:2d}: {areas[i]} px ({ordinal((areas < areas[i]).sum() + 1)} smallest), box {np.ptp(rows) + 1}×"
          f"{np.ptp(cols) + 1} px{', cut by the image border' if i in cut_by_border else ''}; predicted px after clicks 1 "
          f"and 2: {run['masks'][0].sum()}, {run['masks'][1].sum()}; IoU best {max(run['ious']):.3f}, after click 20 "
          f"{run['ious'][-1]:.3f}, missing {(test_masks[i] & ~run['pred']).sum() / areas[i]:.0%} of the nucleus\n"
          f"      wrong px after click 20: {near_edge[i][0]} (IoU 0.85 allows at most {areas[i] * (1 / 0.85 - 1):.0f}), "
          f"{near_edge[i][1]} of them within the 1-px-shift band; baseline: {near_edge[i][2]:.0%} of the nucleus's "
          f"own px lie in it\n      clicks contradicted by the mask after them: {sum(contradicted(run))} of "
          f"{len(run['clicks'])} ({sum(p for _, p in run['clicks'])} positive clicks); largest mask "
          f"{max(int(m.sum()) for m in run['masks'])} px")


# %%
def zoom(mask, margin=6, size=64):
    """A square window around the object plus ``margin`` px, inside the crop: (slice, imshow extent)."""
    rr, cc = np.nonzero(mask)
    side = min(size, max(np.ptp(rr), np.ptp(cc)) + 1 + 2 * margin)
    r0, c0 = (int(np.clip((v.min() + v.max() + 1) // 2 - side // 2, 0, size - side)) for v in (rr, cc))
    return np.s_[r0:r0 + side, c0:c0 + side], (c0 - 0.5, c0 + side - 0.5, r0 + side - 0.5, r0 - 0.5)


def plot_clicks(ax, clicks, ms=9):
    """The lesson's click style: a green plus for a positive click, a red cross for a negative one."""
    for (r, c), is_pos in clicks:
        ax.plot(c, r, "P" if is_pos else "X", ms=ms, mfc=GREEN if is_pos else RED, mec="black", mew=0.8)


TN, EDGE_C = palette.rgb(palette.NEUTRAL_COLOURS["TN"]), palette.rgb(palette.INSTANCE_COLOURS[9])  # edge: pale yellow, no orange
CLICK_HANDLES = [Line2D([], [], marker="P", ls="", mfc=GREEN, mec="black", ms=9, label="positive click"),
                 Line2D([], [], marker="X", ls="", mfc=RED, mec="black", ms=9, label="negative click")]


# %%
def draw_failure(row, i, run):
    """One failure: the image with the clicks, the last mask's outcome, and the IoU after each click."""
    truth_i, pred_i = test_masks[i], run["pred"]
    window, extent = zoom(truth_i)
    lo, hi = np.percentile(test_images[i][window], (1, 99))           # stretch: faint nuclei stay visible
    row[0].imshow(test_images[i][window], cmap="gray", vmin=lo, vmax=hi, extent=extent)
    row[0].contour(truth_i, levels=[0.5], colors=["white"], linewidths=1.5)
    plot_clicks(row[0], run["clicks"], ms=6)                          # the clicks on the image, the errors uncovered
    row[0].set_title(f"nucleus {i} ({areas[i]} px), grey {lo:.2f} to {hi:.2f}{'; cut by the image edge' * (i in cut_by_border)}",
                     fontsize=8)
    outcome = np.zeros((64, 64, 3)) + TN
    outcome[truth_i & pred_i], outcome[pred_i & ~truth_i], outcome[truth_i & ~pred_i] = GREEN, RED, BLUE
    row[1].imshow(outcome[window], extent=extent)
    row[1].set_title(f"after {len(run['ious'])} clicks: IoU {run['ious'][-1]:.2f}\n{(pred_i & ~truth_i).sum()} false, "
                     f"{(truth_i & ~pred_i).sum()} missed px", fontsize=8)
    for ax in row[:2]:
        ax.set_xlim(extent[:2]); ax.set_ylim(extent[2:]); ax.set_xticks([]); ax.set_yticks([])
        if i in cut_edge:   # the crop's side is the image's edge here: the nucleus goes on beyond it, unseen
            at = -0.5 if cut_edge[i] in ("left", "top") else 63.5
            (ax.axvline if cut_edge[i] in ("left", "right") else ax.axhline)(at, color=EDGE_C, lw=4, clip_on=False)
    ks, bad = np.arange(1, len(run["ious"]) + 1), np.flatnonzero(contradicted(run))
    row[2].plot(ks, run["ious"], "o-", color=METHOD_COLOURS["click UNet, fine-tuned"], ms=3)
    row[2].plot(bad + 1, np.array(run["ious"])[bad], "o", ms=8, mfc="none", mec="black")
    row[2].axhline(0.85, color="black", lw=0.8); row[2].set_ylim(0, 1); row[2].set_xticks([1, 5, 10, 15, 20])
    row[2].set_title(f"IoU after each click; {len(bad)} of {len(run['clicks'])}\nclicks contradicted", fontsize=8)


# %%
fig, axes = plt.subplots(len(failure_runs), 3, figsize=(9.6, 3.1 * len(failure_runs)), squeeze=False)
for row, (i, run) in zip(axes, failure_runs.items()):
    draw_failure(row, i, run)
axes[-1, 2].set_xlabel("clicks")
fig.legend(handles=[Line2D([], [], color="white", lw=1.5, label="truth outline"),
                    Line2D([], [], color=EDGE_C, lw=4, label="image edge"),
                    Patch(color=GREEN, label="found (predicted, true)"), Patch(color=RED, label="false (predicted only)"),
                    Patch(color=BLUE, label="missed (true only)"), Patch(color=TN, label="neither (TN)"), *CLICK_HANDLES,
                    Line2D([], [], color=METHOD_COLOURS["click UNet, fine-tuned"], marker="o", ms=3, label="IoU (click UNet)"),
                    Line2D([], [], color="black", lw=0.8, label="IoU 0.85"),
                    Line2D([], [], marker="o", ls="", mfc="none", mec="black", ms=8, label="click contradicted by the mask")],
           loc="lower center", ncol=4, fontsize=8, facecolor="0.6")
fig.tight_layout(rect=(0, 0.1, 1, 1))

# %%
from segcourse import data

_, full_labels = data.nuclei_image(normalize=True)                    # the labels of the whole 512×512 image of lesson 04
contrast = np.array([im[m].mean() - im[ndimage.binary_dilation(m, iterations=3) & ~m].mean()
                     for im, m in zip(test_images, test_masks)])             # mean inside minus a 3-px ring outside
print(f"contrast (mean inside minus a 3-px ring outside), median over the test nuclei: {np.median(contrast):.3f}")
for i in failure_runs:
    (r0, c0), negatives = info["corner"][i], [rc for rc, positive in failure_runs[i]["clicks"] if not positive]
    crop_labels = full_labels[r0:r0 + 64, c0:c0 + 64]                     # the crop's instance labels
    own = np.bincount(crop_labels[test_masks[i]]).argmax()
    on_other = sum(0 < crop_labels[r, c] != own for r, c in negatives)
    print(f"  nucleus {i:2d}: contrast {contrast[i]:.3f}{' (the lowest)' if i == np.argmin(contrast) else ''}; touches a "
          f"neighbour: {'yes' if info['touching'][i] else 'no'}; negative clicks on another nucleus: {on_other} of {len(negatives)}")

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
worst = max(failure_runs, key=lambda i: areas[i])            # the largest failure
ft_row, ws_row = nuclei_runs["nuclei (test half)"]["click UNet, fine-tuned"], nuclei_runs["nuclei (test half)"][best_classical]
worst_run, worst_ws = failure_runs[worst], ws_row["runs"][worst]
worst_pred, worst_truth = worst_run["pred"], test_masks[worst]
dice = lambda p, t: 2 * (p & t).sum() / (p.sum() + t.sum())  # noqa: E731
per_class = [iou(worst_pred == c, worst_truth == c) for c in (False, True)]   # background, nucleus: over the whole crop
summary = "\n".join([
    f"{len(test_images)} test nuclei (right half); the model saw only the {len(train_images)} of the left half",
    f"NoC@85 mean {ft_row['noc85']['mean']:.2f} ({best_classical}: {ws_row['noc85']['mean']:.2f})",
    f"NoF@85 {ft_row['noc85']['nof']} ({best_classical}: {ws_row['noc85']['nof']}); NoF@90 {ft_row['noc90']['nof']}",
    f"fewer clicks than the {best_classical} on {(a < b).sum()} nuclei, more on {(a > b).sum()}",
    f"mean Dice after 20 clicks: {np.mean([dice(r['pred'], m) for r, m in zip(ft_row['runs'], test_masks)]):.3f}",
    "",
    f"nucleus {worst} ({areas[worst]} px{', touching a neighbour' if info['touching'][worst] else ''}), after 20 clicks:",
    f"  IoU {worst_run['ious'][-1]:.3f} (best {max(worst_run['ious']):.3f}), Dice {dice(worst_pred, worst_truth):.3f}",
    f"  per-class IoU: nucleus {per_class[1]:.3f}, background {per_class[0]:.3f} (the crop is "
    f"{1 - areas[worst] / worst_truth.size:.0%} background)",
    f"  failure: a small object, the {ordinal((areas < areas[worst]).sum() + 1)} smallest of {len(areas)}: "
    f"{near_edge[worst][0]} wrong px of {areas[worst]}; IoU 0.85 allows at most {areas[worst] * (1 / 0.85 - 1):.0f}",
    f"  {near_edge[worst][1]} of them within the 1-px-shift band (as are {near_edge[worst][2]:.0%} of its own px)"])
fig = viz.click_evidence_card(test_images[worst], worst_truth, worst_pred, worst_run["clicks"],
                              {"click UNet, fine-tuned": worst_run["ious"], best_classical: worst_ws["ious"]}, summary,
                              colours=METHOD_COLOURS, title=f"Evidence card: the fine-tuned click UNet on the test "
                              f"nuclei; nucleus {worst}")
print(summary)

# %% [markdown]
# **Your turn: beat the annotator** on the evidence card's failure (its best in 20 clicks is
# printed below). Left-click: positive; right-click or `n`: negative; undo takes a click back.
# The cell replays the annotator's first click.

# %%
from segcourse.widgets import ClickSegmenter

annotator = failure_runs[worst]
seg = ClickSegmenter(test_images[worst], interactive.click_predictor(shipped), target=test_masks[worst],
                     clicks=annotator["clicks"][:1],
                     display_range=np.percentile(test_images[worst], (1, 99)))   # drawn with the 1-99 % stretch
(r, c), positive = annotator["clicks"][0]
print(f"test nucleus {worst}; replayed click: {'+' if positive else '-'}({r}, {c}), IoU {seg.ious[-1]:.3f}; the annotator's best in 20 clicks: "
      f"{max(annotator['ious']):.3f} (after click {int(np.argmax(annotator['ious'])) + 1})")
seg

# %% [markdown]
# ## 8 · What NoC@90 measures on small nuclei
#
# **Takeaway: on nuclei this small, moving the outline by 1 px fails IoU 0.90 everywhere and 0.85
# often. Both thresholds hinge on the boundary: report NoC@85 (the looser one) with NoF@85, and a
# score that forgives exactly a 1-px shift of the outline.**

# %%
perimeter = np.array([(m & ~ndimage.binary_erosion(m)).sum() for m in test_masks])
allowed = 0.10 * areas / perimeter  # IoU 0.9 allows wrong pixels of about 10 % of the object (a little more of the union)
print(f"test nuclei: median area {np.median(areas):.0f} px, median boundary {np.median(perimeter):.0f} px; IoU 0.90 allows "
      f"about {np.median(allowed):.2f} px of boundary error per boundary pixel (median nucleus)")
out1 = [iou(ndimage.binary_dilation(m), m) for m in test_masks]
in1 = [iou(ndimage.binary_erosion(m), m) for m in test_masks]
print(f"the true outline moved 1 px out all round: IoU {np.median(out1):.3f}; 1 px in: {np.median(in1):.3f} (medians); "
      f"nuclei where either reaches 0.90: {sum(max(a, b) >= 0.9 for a, b in zip(out1, in1))} of {len(test_masks)}")
print(f"nuclei below 0.85 with the outline moved 1 px out: {sum(v < 0.85 for v in out1)}, 1 px in: "
      f"{sum(v < 0.85 for v in in1)} of {len(test_masks)}")
for name, v in nuclei_runs["nuclei (test half)"].items():  # where the wrong pixels lie after click 20, on the NoF@90 nuclei
    never = [i for i, r in enumerate(v["runs"]) if max(r["ious"]) < 0.90]
    wrong = [v["runs"][i]["pred"] ^ test_masks[i] for i in never]
    close, total = sum((w & shift_band(test_masks[i])).sum() for w, i in zip(wrong, never)), sum(w.sum() for w in wrong)
    print(f"{name:22s} never reaches 0.90: {v['noc90']['never']:.0%} (0.85: {v['noc85']['never']:.0%}); on those "
          f"{len(never)} nuclei {close:,} of {total:,} wrong px after click 20 ({close / total:.0%}) lie within the 1-px-shift band")

# %% [markdown]
# IoU 0.90 is out of reach for 68% of the test nuclei with either classical method and 32% with
# the click UNet; on those nuclei most wrong pixels after click 20 lie in the 1-px-shift band
# (70% for the watershed, 77% for the click UNet).
#
# IoU 0.90 leaves about 0.64 px of error per boundary pixel of a median nucleus. Moving the true
# outline 1 px gives a median IoU of 0.858 (out) or 0.843 (in): 0.90 on none of the 47 nuclei,
# and below 0.85 on 16 (out) and 28 (in). Two annotators one pixel apart disagree that much
# (lesson 05). A **boundary-tolerant IoU** asks instead: was the object found? It leaves out the
# 1-px-shift band (ndimage's default cross, as the shifts use; PASCAL VOC's "void" border is
# about 5 px wide, and lesson 00's Boundary IoU scores *only* a band).

# %%
def tolerant_iou(pred, truth):
    """IoU without the pixels a 1-px shift of the true outline (out or in, 4-connected cross) can flip."""
    keep = ~shift_band(truth)                                     # everything outside §7's 1-px-shift band
    union = ((pred | truth) & keep).sum()
    return ((pred & truth) & keep).sum() / union if union else np.nan


tol_out = np.array([tolerant_iou(ndimage.binary_dilation(m), m) for m in test_masks])
tol_in = np.array([tolerant_iou(ndimage.binary_erosion(m), m) for m in test_masks])
in2 = [ndimage.binary_erosion(m, iterations=2) for m in test_masks]      # the outline moved 2 px in
tol_in2 = np.array([tolerant_iou(e, m) for e, m in zip(in2, test_masks)])
print(f"outline moved 1 px out: tolerant IoU 1.000 on {(tol_out == 1).sum()} of {len(test_masks)}; 1 px in: on "
      f"{(tol_in == 1).sum()}; 2 px in: median {np.nanmedian(tol_in2):.3f} (plain IoU {np.median([iou(e, m) for e, m in zip(in2, test_masks)]):.3f}), "
      f"1.000 on {(tol_in2 == 1).sum()}, at least 0.90 on {(tol_in2 >= 0.9).sum()}")
for name, v in nuclei_runs["nuclei (test half)"].items():  # the NoF@90 nuclei of the first cell of this section
    never = [i for i, r in enumerate(v["runs"]) if max(r["ious"]) < 0.90]
    tol = np.array([tolerant_iou(v["runs"][i]["pred"], test_masks[i]) for i in never])
    print(f"{name:22s} tolerant IoU after click 20 on its {len(never)} NoF@90 nuclei: median {np.nanmedian(tol):.3f}; "
          f"at least 0.90 on {(tol >= 0.9).sum()}")
for i, r in failure_runs.items():  # §7's three failures
    print(f"  nucleus {i}: IoU after click 20 {r['ious'][-1]:.3f}; tolerant IoU {tolerant_iou(r['pred'], test_masks[i]):.3f}")

# %%
t, p = test_masks[worst], failure_runs[worst]["pred"]
band = shift_band(t)
window, extent = zoom(t)
OUT_C, IN_C = palette.rgb(palette.INSTANCE_COLOURS[7]), palette.rgb(palette.INSTANCE_COLOURS[1])  # no orange: that is a prediction
BAND_HATCH = palette.rgb(palette.NEUTRAL_COLOURS["ignored"])  # the hatch lines mark the band
shown = np.zeros((64, 64, 3)) + palette.rgb(palette.NEUTRAL_COLOURS["TN"])
shown[t] = palette.rgb(palette.NEUTRAL_COLOURS["correct"])
shown[p & ~t], shown[t & ~p] = RED, BLUE                        # false and missed, as in every outcome map
TN_GREY, OBJ_GREY = (palette.rgb(palette.NEUTRAL_COLOURS[k]) for k in ("TN", "correct"))

# %%
fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.6))
lo, hi = np.percentile(test_images[worst][window], (1, 99))
axes[0].imshow(test_images[worst][window], cmap="gray", vmin=lo, vmax=hi, extent=extent)
for m, colour, ls in ((t, "white", "-"), (ndimage.binary_dilation(t), OUT_C, "--"), (ndimage.binary_erosion(t), IN_C, ":")):
    axes[0].contour(m, levels=[0.5], colors=[colour], linewidths=1.8, linestyles=ls)
axes[0].set_title(f"nucleus {worst}, its outline moved 1 px\nout: IoU {out1[worst]:.2f}, tolerant {tol_out[worst]:.2f}; "
                  f"in: IoU {in1[worst]:.2f}, tolerant {tol_in[worst]:.2f}", fontsize=9)
axes[1].imshow(shown[window], extent=extent)
for r, c in zip(*np.nonzero(band)):                # hatch the band, the pixels the tolerant IoU ignores
    axes[1].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor=BAND_HATCH, lw=0))
axes[1].set_title(f"the click UNet after click 20: IoU {failure_runs[worst]['ious'][-1]:.2f}, tolerant "
                  f"{tolerant_iou(p, t):.2f}\nwrong px: {((p ^ t) & band).sum()} in the band, {((p ^ t) & ~band).sum()} outside it",
                  fontsize=9)
for ax in axes:
    ax.set_xlim(extent[:2]); ax.set_ylim(extent[2:]); ax.set_xticks([]); ax.set_yticks([])
fig.legend(handles=[Line2D([], [], color="white", lw=1.8, label="true outline"),
                    Line2D([], [], color=OUT_C, lw=1.8, ls="--", label="outline 1 px out"),
                    Line2D([], [], color=IN_C, lw=1.8, ls=":", label="outline 1 px in"),
                    Patch(color=TN_GREY, label="background, right"), Patch(color=OBJ_GREY, label="object, right"),
                    Patch(facecolor="0.5", edgecolor=BAND_HATCH, lw=0, hatch="///", label="1-px-shift band (ignored)"),
                    Patch(color=RED, label="false (predicted only)"), Patch(color=BLUE, label="missed (true only)")],
           loc="lower center", ncol=3, fontsize=8, facecolor="0.6")
fig.tight_layout(rect=(0, 0.14, 1, 1))
print(f"nucleus {worst} after click 20: {((p ^ t) & band).sum()} of its {(p ^ t).sum()} wrong px lie in the band")

# %% [markdown]
# Both 1-px shifts score 1.000 on all 47 nuclei; 2 px in scores a median of 0.829 (plain 0.700).
# On the NoF@90 nuclei the tolerant IoU after click 20 reaches 0.90 on 27 of 32 (random walker),
# 29 of 32 (watershed) and 14 of 15 (click UNet). Nucleus 16 rises from 0.811 to 0.964; nucleus
# 21 scores only 0.500: part of it was never found.
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
from scipy.stats import spearmanr

deepest = [interactive.next_click(np.zeros_like(m), m)[0] for m in train_masks]  # click 1: each nucleus's deepest pixel
maps = np.stack([interactive.click_maps([c], [], m.shape) for c, m in zip(deepest, train_masks)])
pool_x = torch.from_numpy(np.stack([train_images, maps[:, 0], maps[:, 1], np.zeros_like(train_images)], 1).astype(np.float32))
synthetic_only.eval()
with torch.no_grad():
    prob = torch.softmax(synthetic_only(pool_x), 1)[:, 1].numpy()           # (59, 64, 64): p(object) per pixel
prob = np.clip(prob, 1e-6, 1 - 1e-6)
entropy = -(prob * np.log2(prob) + (1 - prob) * np.log2(1 - prob)).mean(axis=(1, 2))   # bits, one per nucleus
chosen = np.argsort(-entropy, kind="stable")[:shipped.card["annotation_loop"]["setup"]["per_round"]]
print(f"{len(entropy)} pool nuclei: mean entropy from {entropy.min():.3f} to {entropy.max():.3f} bits; round 1 labels "
      f"the {len(chosen)} highest: nuclei {sorted(chosen.tolist())}")
print("the same scores as the loop's own (interactive.annotation_loop):",
      np.allclose(entropy, interactive.proposal_entropy(synthetic_only, train_images, train_masks), atol=1e-5))
iou1_pool = np.array([iou(pr > 0.5, m) for pr, m in zip(prob, train_masks)])  # the mask after that click: p(object) > 0.5
rho, p_value = spearmanr(entropy, iou1_pool)                                   # rank correlation: does a high score mean a poor mask?
print(f"IoU after that click: median {np.median(iou1_pool):.3f} over the pool, {np.median(iou1_pool[chosen]):.3f} over the "
      f"{len(chosen)} chosen; Spearman correlation of mean entropy with it: {rho:+.2f} (p = {p_value:.2f})")

# %% [markdown]
# A high score does not single out poor masks: Spearman correlation +0.10 (p = 0.43), and the
# chosen nuclei have a higher median IoU (0.564) than the pool (0.501).

# %%
pixel_entropy = -(prob * np.log2(prob) + (1 - prob) * np.log2(1 - prob))      # (59, 64, 64): bits per pixel
fig, axes = plt.subplots(2, 2, figsize=(7.4, 6.8))
for row, j, which in zip(axes, (np.argmax(entropy), np.argmin(entropy)), ("highest", "lowest")):
    for ax, values, cmap, label in ((row[0], prob[j], palette.CONFIDENCE_CMAP, "p(object)"),
                                    (row[1], pixel_entropy[j], palette.LOG_CMAP, "entropy (bits)")):
        im = ax.imshow(values, cmap=cmap, vmin=0, vmax=1)
        ax.contour(train_masks[j], levels=[0.5], colors=["white"], linewidths=1)
        ax.plot(deepest[j][1], deepest[j][0], "P", ms=10, mfc=GREEN, mec="black")
        ax.set_title(f"pool nucleus {j}: {label}\n({which} mean entropy, {entropy[j]:.3f} bits)", fontsize=9)
        ax.set_axis_off()
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label=label)
fig.legend(handles=[Line2D([], [], color="white", lw=1, label="true outline"), CLICK_HANDLES[0]], loc="lower center",
           ncol=2, fontsize=8, facecolor="0.6")
fig.tight_layout(rect=(0, 0.05, 1, 1))
print(f"pixels with p(object) between 0.1 and 0.9: nucleus {np.argmax(entropy)} {((prob[np.argmax(entropy)] > 0.1) & (prob[np.argmax(entropy)] < 0.9)).sum()}, "
      f"nucleus {np.argmin(entropy)} {((prob[np.argmin(entropy)] > 0.1) & (prob[np.argmin(entropy)] < 0.9)).sum()}")

# %% [markdown]
# p(object) lies between 0.1 and 0.9 on 719 pixels of the uncertain nucleus, 243 of the sure one.
# Each round rescores the unlabelled pool, clicks on top of the annotation. The loop itself
# (`python -m segcourse.interactive loop`) is stored in the card.

# %%
loop = shipped.card["annotation_loop"]
setup = loop["setup"]
print(f"{setup['rounds']} rounds of {setup['per_round']} objects, {setup['steps']} fine-tuning steps per round, "
      f"seeds {setup['seeds']}")
scoring = sum(len(train_images) - r * setup["per_round"] for r in range(setup["rounds"]))  # pool objects scored per round
labelled = setup["rounds"] * setup["per_round"]
print(f"uncertainty sampling's scoring clicks: {scoring} per seed "
      f"({' + '.join(str(len(train_images) - r * setup['per_round']) for r in range(setup['rounds']))}); "
      f"{labelled} of them coincide with the click 1 of a labelled object, so {scoring - labelled} are not in the counts below")
scored_before = np.cumsum([len(train_images) - r * setup["per_round"] - setup["per_round"] for r in range(setup["rounds"])])
print("uncounted scoring clicks spent by the end of rounds 1 to 4:", scored_before.tolist())

# %%
curves = {}
for strategy in ("uncertainty", "random"):
    rows = [r["rows"] for r in loop["runs"] if r["strategy"] == strategy]
    clicks = np.array([[x["clicks"] for x in rr] for rr in rows])
    iou1 = np.array([[x["iou_1"] for x in rr] for rr in rows])
    noc = np.array([[x["noc85"] for x in rr] for rr in rows])
    curves[strategy] = (clicks, iou1)
    print(f"--- {strategy} ({len(rows)} seeds): per round, clicks spent / held-out IoU after 1 click / held-out NoC@85 "
          "(mean, min to max over seeds)")
    for r in range(clicks.shape[1]):
        print(f"  round {r}: {clicks[:, r].mean():6.1f} clicks ({clicks[:, r].min()} to {clicks[:, r].max()})"
              + (f", {clicks[:, r].mean() + np.r_[0, scored_before][r]:.1f} with the scoring clicks" if strategy == "uncertainty" else "")
              + f" | IoU@1 {iou1[:, r].mean():.3f} "
              f"({iou1[:, r].min():.3f} to {iou1[:, r].max():.3f}) | NoC@85 {noc[:, r].mean():5.2f} "
              f"({noc[:, r].min():.2f} to {noc[:, r].max():.2f})")
ahead = curves["random"][1].mean(0)[1:] > curves["uncertainty"][1].mean(0)[1:]
print(f"rounds 1 to {setup['rounds']} in which random choice has the higher mean held-out IoU@1: {ahead.sum()} of {len(ahead)}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
STRATEGY_COLOURS = {"uncertainty": palette.rgb(palette.INSTANCE_COLOURS[6]), "random": palette.rgb(palette.INSTANCE_COLOURS[2])}  # not method colours
for strategy, colour in STRATEGY_COLOURS.items():
    clicks, iou1 = curves[strategy]
    ax.plot(clicks.mean(0), iou1.mean(0), "o-", color=colour, label=f"{strategy}: mean over seeds")
    ax.fill_between(clicks.mean(0), iou1.min(0), iou1.max(0), color=colour, alpha=0.2, label=f"{strategy}: min-max over seeds")
clicks, iou1 = curves["uncertainty"]
ax.plot(clicks.mean(0) + np.r_[0, scored_before], iou1.mean(0), "o--", color=STRATEGY_COLOURS["uncertainty"], mfc="none",
        label=f"uncertainty: with its {scored_before[-1]} scoring clicks")
ax.set_xlabel("clicks spent on annotation (mean over seeds)"); ax.set_ylabel("held-out IoU after 1 click")
ax.legend(fontsize=8, loc="lower right"); ax.set_title("annotation loop on the nuclei")
fig.tight_layout()

# %% [markdown]
# From the same start (held-out IoU after one click 0.507), after 32 labelled nuclei uncertainty
# sampling reaches 0.769 and random choice 0.805; random is ahead in every round, before counting
# uncertainty's 156 scoring clicks per seed (dashed). Three seeds on 59 nuclei is a small experiment.
#
# ## Summary
#
# * A click is a label. Papers replace the person by a simulated annotator who clicks where the
#   error is deepest, never twice on one pixel, and count the clicks: NoC@85 with NoF@85 (§2, §3).
# * Click-seeded classical methods need no training; on sharp-edged coins one watershed click is
#   enough (§6).
# * The click UNet needs fewer clicks than both on the held-out nuclei only after fine-tuning on
#   real nuclei; it depends on its previous-mask input (§6).
# * It reads its clicks but does not always obey them: the next mask contradicts 26%. Tools paste
#   the clicks into the output or use BRS / f-BRS (§6, §7).
# * Its failures are the smallest nuclei, where a 1-px outline shift already misses IoU 0.90; a
#   boundary-tolerant score tells a missed outline from a missed object (§7, §8).
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
# ## Extra · zoom-in, and six side checks
#
# Not needed for the pass check.
#
# **An attempted fix: zoom in.** RITM's answer to small objects: crop around the object, enlarge,
# predict, shrink back. A naive version: a 32×32 window enlarged ×2, for the 13 test nuclei whose
# box fits in 24 px (the three failures among them).

# %%
def zoomed(predict, mask, half=16):
    """``predict`` run on a 2 x enlarged 32x32 window around ``mask``'s object; the mask shrunk back (2x2 majority)."""
    rr, cc = np.nonzero(mask)
    r0, c0 = (int(np.clip(round(v.mean()) - half, 0, 64 - 2 * half)) for v in (rr, cc))
    win = np.s_[r0:r0 + 2 * half, c0:c0 + 2 * half]

    def enlarge(a):                       # the window, each pixel repeated as a 2x2 block
        return np.kron(a[win], np.ones((2, 2), a.dtype))

    def inside(clicks):                   # the clicks inside the window, in the enlarged window's coordinates
        return [(2 * (r - r0), 2 * (c - c0)) for r, c in clicks if 0 <= r - r0 < 2 * half and 0 <= c - c0 < 2 * half]

    def predict_zoomed(img, pos, neg, prev):
        m = predict(enlarge(img), inside(pos), inside(neg), None if prev is None else enlarge(prev))
        out = np.zeros(img.shape, bool)
        out[win] = m.reshape(2 * half, 2, 2 * half, 2).mean((1, 3)) >= 0.5   # each 2x2 block: the majority
        return out
    return predict_zoomed


# %%
box = np.array([max(np.ptp(np.nonzero(m)[0]), np.ptp(np.nonzero(m)[1])) + 1 for m in test_masks])
small_box = np.flatnonzero(box <= 24)
plain = a[small_box]                                   # NoC@85 of the fine-tuned click UNet, from the table
zoom_noc = np.array([interactive.number_of_clicks(interactive.simulate_clicks(
    zoomed(ft_live, test_masks[i]), test_images[i], test_masks[i], stop_at=0.85)["ious"], 0.85) for i in small_box])
print(f"{len(small_box)} nuclei with a box of at most 24 px: mean NoC@85 {plain.mean():.2f} without zoom, "
      f"{zoom_noc.mean():.2f} with it; fewer clicks on {(zoom_noc < plain).sum()}, more on {(zoom_noc > plain).sum()}")
print("NoC@85 without -> with zoom: " + ", ".join(f"nucleus {i} {p} -> {z}" for i, p, z in zip(small_box, plain, zoom_noc)))

# %% [markdown]
# Zoom-in rescues two failures (nucleus 43: 2 clicks; 16: 13 instead of 20); nucleus 21 still
# never gets there. It costs clicks on 5 of the 13, and nucleus 9 goes from 1 click to never; the
# mean falls from 8.46 to 6.69. (RITM zooms to the box of the current mask, not a fixed window.)
#
# **Side checks.** (1) On the coins the watershed's mean curve falls after click 1: where does
# click 2 go? (2) Does the order of the methods change without the two test nuclei cut by the
# image's border? (3) How often does the click land in the largest error region (Xu et al.)?

# %%
coin_runs = [interactive.simulate_clicks(methods["marker watershed"], im, m, max_clicks=2, keep_masks=True)
             for im, m in zip(coin_images, coin_masks)]
depth = lambda e: ndimage.distance_transform_edt(np.pad(e, 1))[1:-1, 1:-1].max()  # noqa: E731  deepest pixel of an error
tie1 = [depth(m & ~r["masks"][0]) == depth(r["masks"][0] & ~m) == 1 for r, m in zip(coin_runs, coin_masks)]
rim = [ndimage.distance_transform_edt(~(m ^ ndimage.binary_erosion(m)))[r["clicks"][1][0]] <= 1 for r, m in zip(coin_runs, coin_masks)]
print(f"(1) coins, marker watershed: click 2 negative on {sum(not r['clicks'][1][1] for r in coin_runs)} of {len(coin_runs)}, "
      f"IoU lower after it on {sum(r['ious'][1] < r['ious'][0] for r in coin_runs)}; after click 1 the deepest missed and "
      f"the deepest false pixel both 1 px deep (a tie, so negative) on {sum(tie1)}; click 2 within 1 px of the outline on {sum(rim)}")
kept_nuclei = np.setdiff1d(np.arange(len(test_masks)), cut_by_border)
print(f"(2) cut by the border: test nuclei {cut_by_border}, training nuclei {interactive.border_cut_nuclei('left')['cut']}; "
      f"NoC@85 without the cut test nuclei ({len(kept_nuclei)}): " + ", ".join(
          f"{name} {interactive.noc_summary([v['runs'][i]['ious'] for i in kept_nuclei])['noc85']['mean']:.2f}"
          for name, v in nuclei_runs["nuclei (test half)"].items()))
for name, v in nuclei_runs["nuclei (test half)"].items():
    hits = [h for run, m in zip(v["runs"], test_masks) for h in interactive.in_largest_error_region(run, m)]
    print(f"(3) {name:24s} clicks after the first inside the largest error region: {sum(hits)} of {len(hits)} "
          f"({sum(hits) / len(hits):.0%})")

# %% [markdown]
# (1) On 23 of the 24 coins the deepest missed and false pixels after click 1 are both 1 px deep;
# the tie gives a negative click 2 within 1 px of the outline (all 24), and the IoU falls on 22.
# (2) The order stays the same. (3) On 23% of the click UNet's clicks, 30% of the watershed's and
# 51% of the random walker's: it depends on the method that made the errors.

# %% [markdown]
# **Side checks of §6.** (4) Why do the classical curves dip on the synthetic objects? The random
# walker's two clicks on each object were recorded when the course was built.

# %%
syn_rw = interactive.runs_from_history(experiments.recorded_or_run(   # 2 clicks on each, recorded when the course was built
    "06_synthetic_rw_runs", lambda: interactive.runs_to_history(interactive.evaluate_methods(
        {"random walker": methods["random walker"]}, {"synthetic": (syn_images, syn_masks)}, max_clicks=2, keep_runs=True))),
    max_clicks=2)["synthetic"]["random walker"]["runs"]
dips = [(r, m) for r, m in zip(syn_rw, syn_masks) if r["ious"][1] < r["ious"][0]]
pos2, neg2 = [(r, m) for r, m in dips if r["clicks"][1][1]], [(r, m) for r, m in dips if not r["clicks"][1][1]]
print(f"(4) synthetic, random walker: IoU lower after click 2 on {len(dips)} of {len(syn_rw)}; of these, click 2 positive on "
      f"{len(pos2)} (more false px after it on {sum((r['masks'][1] & ~m).sum() > (r['masks'][0] & ~m).sum() for r, m in pos2)}), "
      f"negative on {len(neg2)} (fewer object px after it on {sum((r['masks'][1] & m).sum() < (r['masks'][0] & m).sum() for r, m in neg2)})")
syn_ws1 = [methods["marker watershed"](im, [interactive.next_click(np.zeros_like(m), m)[0]], [], None)
           for im, m in zip(syn_images, syn_masks)]
print(f"    synthetic, marker watershed after click 1: mean IoU {np.mean([iou(p, m) for p, m in zip(syn_ws1, syn_masks)]):.3f}; "
      f"false px more than twice the object's own on {sum((p & ~m).sum() > 2 * m.sum() for p, m in zip(syn_ws1, syn_masks))}")

# %% [markdown]
# One click of the watershed floods past the object, more than twice its pixels false on 77 of
# the 100. The random walker's IoU falls after click 2 on 66: a positive click 2 (32) adds false
# pixels, a negative one (34) loses object pixels. (5) How much sharper are the coins' edges?
# Contrast: mean inside minus a 3-px ring outside; gradient (Sobel) on the outline over the background's.

# %%
for set_name, (ims, ms) in (("coins", (coin_images, coin_masks)), ("nuclei (test half)", (test_images, test_masks))):
    rings = [ndimage.binary_dilation(m, iterations=3) & ~m for m in ms]
    edge_contrast = np.array([im[m].mean() - im[rg].mean() for im, m, rg in zip(ims, ms, rings)])
    sobel_ratio = np.array([sobel(im)[m & ~ndimage.binary_erosion(m)].mean() / sobel(im)[~ndimage.binary_dilation(m, iterations=3)].mean()
                            for im, m in zip(ims, ms)])            # gradient on the outline / on the background
    print(f"(5) {set_name:18s} {len(ms):2d} objects: contrast median {np.median(edge_contrast):.3f}; gradient on the outline "
          f"/ on the background, median {np.median(sobel_ratio):.2f} (above 3 for {(sobel_ratio > 3).sum()} of {len(ms)})")

# %% [markdown]
# Contrast 0.395 on the coins against 0.111 on the nuclei; outline gradient 5.81 times the
# background's against 1.85. (6) The click UNet's mean curve on the nuclei ends (0.845) below its
# value after 5 clicks (0.876). Do late clicks go to the outline, and are they obeyed (§6's count)?

# %%
outline_dist = [ndimage.distance_transform_edt(~(m ^ ndimage.binary_erosion(m))) for m in test_masks]  # to the true outline
for name, v in nuclei_runs["nuclei (test half)"].items():
    worse = np.array([r["ious"][19] < r["ious"][4] for r in v["runs"]])
    late = [d[c] <= 2 for r, d in zip(v["runs"], outline_dist) for c, _ in r["clicks"][5:]]
    late_bad = np.array([sum(contradicted(r)[5:]) for r in v["runs"]])   # clicks 6-20 the next mask contradicts
    print(f"(6) {name:24s} IoU after 20 clicks below IoU after 5 on {worse.sum():2d} of {len(worse)}; clicks 6-20 within 2 px "
          f"of the outline: {sum(late)} of {len(late)}; contradicted clicks 6-20 per nucleus, mean: "
          f"{late_bad[worse].mean():.2f} where IoU fell, {late_bad[~worse].mean():.2f} elsewhere")
ft_curve = evaluation["nuclei (test half)"]["click UNet, fine-tuned"]["mean_curve"]
print(f"training: at most {1 + recipe['max_corrections']} clicks per sample; the fine-tuned model's mean IoU on the nuclei "
      f"peaks after click {int(np.argmax(ft_curve)) + 1} ({max(ft_curve):.3f}) and ends at {ft_curve[-1]:.3f}")

# %% [markdown]
# The UNet ends below its 5-click IoU on 36 of the 47 nuclei (random walker 11, watershed 19);
# all three put nearly every late click within 2 px of the outline (703 of the UNet's 705). The
# nuclei where the UNet's IoU fell do not have more contradicted late clicks (4.06 against 5.45
# elsewhere), so disobeyed clicks do not explain the drop. Its mean curve peaks after click 8,
# twice the most clicks it was trained with; a model trained with more corrections would test that.

# %% [markdown]
# **Beyond clicks: what other tools do.**
#
# Named here, not measured:
#
# * **Other prompts.** SAM (Kirillov et al. 2023) also takes a box or a rough mask; GrabCut (Rother
#   et al. 2004) starts from a box, DEXTR (Maninis et al. 2018) from four extreme points.
# * **Several answers per click.** One click is ambiguous (a nucleus, or the cell around it?), so
#   SAM returns three masks for a point, each with a predicted IoU, and the person picks.
# * **Click encoding.** RITM draws each click as a disk, as here; Xu et al. (2016) used truncated
#   distance maps to the nearest click of each kind.
# * **Clicks are not seconds.** A click, a box and a scribble cost a person different time;
#   Papadopoulos et al. (2017) timed box drawing by extreme points against the usual way.
