# %% [markdown]
# # 01 · Semantic segmentation: one class for every pixel
#
# A semantic segmentation model looks at an image and returns a **label map**: one class id per
# pixel. It does not know about *objects* — two cars side by side are simply "car pixels"
# (lesson 03 fixes that). In this lesson we build the whole loop on toy road scenes: data,
# a plain-numpy baseline, a tiny UNet, and the pictures and numbers that tell us where it fails.
#
# **After this lesson you can**
#
# 1. describe a label map, a palette and class names, and why the palette is fixed;
# 2. read per-class IoU and a confusion matrix and name the classes being confused;
# 3. train a small UNet (or load the course's shipped weights) and inspect its triplets, error
#    map and confidence map;
# 4. explain what thin lane markings and small cars do to per-class IoU, and how Dice loss
#    helps;
# 5. augment an image and its mask together without breaking their alignment.
#
# **Map:** 1 · road scenes → 2 · class imbalance → 3 · a numpy baseline → 4 · train a tiny UNet
# → 5 · the shipped model → 6 · triplets, errors, confidence → 7 · when colours lie (class
# confusion) → 8 · augmentation that keeps masks aligned → evidence card and pass check.

# %%
import numpy as np
import matplotlib.pyplot as plt
import torch

from segcourse import data, metrics, models, train, viz

np.set_printoptions(precision=3, suppress=True)
torch.set_num_threads(2)  # the course is sized for a 2-core laptop

# %% [markdown]
# ## 1 · Road scenes
#
# `segcourse.data.road_scenes` draws toy street images from a seed: sky, road, sidewalk (its
# colour is close to the road's — on purpose), dashed lane markings one or two pixels wide, and
# small cars. Nothing is downloaded, and the same seed always gives the same pictures. The class
# names and the palette travel with the data.

# %%
train_set = data.road_scenes(1500, seed=1000)
val_set = data.road_scenes(64, seed=2000)
print(train_set)
print("image:", train_set.images.shape, train_set.images.dtype, "| label map:", train_set.labels.shape, train_set.labels.dtype)

fig, axes = plt.subplots(2, 4, figsize=(10, 5))
for i in range(4):
    axes[0, i].imshow(train_set.images[i]); axes[0, i].set_axis_off()
    viz.show_mask(axes[1, i], train_set.labels[i], train_set.palette)
fig.legend(handles=viz.legend_handles(train_set.class_names, train_set.palette), loc="lower center", ncol=5, frameon=False)
fig.tight_layout(rect=(0, 0.06, 1, 1))

# %% [markdown]
# Top: what the model sees. Bottom: what it must output — every pixel painted with its class.
# Lane markings are a few pixels wide; cars are small blobs. Both will matter.
#
# ## 2 · Class imbalance: count the pixels
#
# Before any model, count how many pixels each class owns. This is one `bincount`:

# %%
counts = np.bincount(train_set.labels.ravel(), minlength=5)
share = counts / counts.sum()
for name, s in zip(train_set.class_names, share):
    print(f"{name:>13}: {s:6.2%}")

# %% [markdown]
# Sky, road and sidewalk own over 95 % of the pixels; lane markings and cars a few percent
# together. A loss that averages over pixels (cross-entropy) barely notices them: a model can get
# ~97 % of pixels right while never predicting a single lane marking. That is why we report
# **per-class** IoU, and why the training below adds a Dice term, which weighs every class the
# same whatever its area.
#
# ## 3 · A baseline in plain numpy: nearest mean colour
#
# The simplest honest baseline classifies each pixel by its colour alone: compute the mean
# colour of each class on the training images, then give every pixel the class whose mean colour
# is nearest. No learning beyond averaging, a dozen lines of numpy — and a number to beat.

# %%
X = train_set.images.reshape(-1, 3)
y = train_set.labels.ravel()
class_means = np.stack([X[y == c].mean(0) for c in range(5)])      # (5, 3) mean RGB per class

def nearest_colour(images):
    d = ((images[..., None, :] - class_means) ** 2).sum(-1)         # (N, H, W, 5) squared distances
    return d.argmin(-1).astype(np.uint8)

baseline_pred = nearest_colour(val_set.images)
baseline_iou = metrics.per_class_iou(baseline_pred, val_set.labels, num_classes=5)
for name, v in zip(val_set.class_names, baseline_iou):
    print(f"{name:>13}: {v:.3f}")
print("mIoU:", round(float(np.nanmean(baseline_iou)), 3))

# %% [markdown]
# The confusion matrix says *why* (rows = truth, columns = prediction, each row normalised to 1):

# %%
cm = metrics.confusion_matrix(baseline_pred, val_set.labels, num_classes=5)
rates = cm / cm.sum(1, keepdims=True)
fig, ax = plt.subplots(figsize=(4.6, 4))
ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
ax.set_xticks(range(5), val_set.class_names, rotation=35, ha="right")
ax.set_yticks(range(5), val_set.class_names)
for i in range(5):
    for j in range(5):
        ax.text(j, i, f"{rates[i, j]:.2f}", ha="center", va="center", color="white" if rates[i, j] > 0.5 else "black", fontsize=8)
ax.set(xlabel="predicted", ylabel="true", title="nearest-colour baseline")
fig.tight_layout()

# %% [markdown]
# Road and sidewalk bleed into each other (their colours overlap under noise and lighting), and
# dark cars are taken for road. Colour alone cannot separate classes that look alike; a model must
# use *context* — shape, position, neighbours. That is what convolutions provide.
#
# ## 4 · Training a tiny UNet, briefly, on the CPU
#
# `segcourse.models.TinyUNet` is a UNet you can read in one sitting (open `segcourse/models.py`):
# an encoder that halves the resolution three times, a decoder that brings it back, and skip
# connections that carry fine detail across. `segcourse.train.fit` is one plain loop: Adam with a
# one-cycle learning rate, cross-entropy + Dice loss, an evaluation on held-out images every few
# steps. `device="auto"` uses a GPU when there is one.
#
# To show the **class imbalance lesson** we train the same small model (width 8) twice for the
# same 70 steps (2,240 images, about 15 s each on a laptop CPU): once with plain cross-entropy, and
# once with the two remedies for imbalance — a Dice term, and cross-entropy weights that count a
# lane or car pixel five times. (Timings and the last digits of these numbers vary from machine to
# machine, so this cell's output is not compared by the tests.)

# %% tags=["nbval-ignore-output"]
runs = {}
settings = {"cross-entropy": dict(loss="ce"),
            "CE + Dice, rare classes x5": dict(loss="ce+dice", class_weights=[1, 1, 1, 5, 5])}
for label, kw in settings.items():
    torch.manual_seed(0)  # same initial weights for both runs: only the loss differs
    model = models.TinyUNet(in_channels=3, num_classes=5, width=8)
    runs[label] = train.fit(model, train_set, val_set, epochs=2, lr=1e-2, device="auto", seed=0,
                            max_steps=70, eval_every=10, progress=False, **kw)
    last = runs[label]["eval"][-1]
    print(f"{label:>27}: {runs[label]['images_seen']} images in {runs[label]['seconds']:.0f} s on {runs[label]['device']}, "
          f"mIoU {last['miou']:.2f}, lane {last['per_class_iou'][3]:.2f}, car {last['per_class_iou'][4]:.2f}")

# %% tags=["nbval-ignore-output"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, (label, hist) in zip(axes, runs.items()):
    steps = [e["images"] for e in hist["eval"]]
    for c, name in enumerate(val_set.class_names):
        ax.plot(steps, [e["per_class_iou"][c] for e in hist["eval"]], "o-", color=val_set.palette[c] / 255, label=name)
    ax.set(title=label, xlabel="training images seen", ylim=(0, 1))
axes[0].set_ylabel("held-out IoU")
axes[1].legend(fontsize=8, loc="lower right")
fig.tight_layout()

# %% [markdown]
# With plain cross-entropy the big classes are learned, but the thin lane markings stay at an
# IoU near 0 for the whole run and cars arrive late and low: the loss is an average over pixels, and
# 97 % of the pixels are not lane or car, so ignoring them is cheap. With the Dice term (an average
# over *classes*, so a missed lane costs as much as a missed sky) and the rare classes up-weighted,
# lanes and cars rise within the same 2,240 images and the mIoU jumps with them. Same model, same data, same number of steps: only the
# loss changed. Seventy steps is still short of convergence — for the rest of the lesson we use a
# model trained to the end.
#
# ## 5 · The shipped model
#
# The course ships weights for the same UNet (width 16) inside the package, with a **model card**
# that records how they were made. Loading them needs no download and no GPU:

# %%
model = models.pretrained("roads")
card = model.card
print("trained on      :", card["training"]["device_name"], f"({card['training']['wall_seconds']:.0f} s, torch {card['training']['torch']})")
print("training images :", card["training"]["images_seen"], "seen over", card["training"]["epochs"], "epochs")
print("parameters      :", f"{card['parameters']:,}")
print("held-out mIoU   :", card["heldout"]["miou"], "on", card["dataset"]["n_test"], "scenes (seed", card["dataset"]["test_seed"], ")")

# %% [markdown]
# These weights were trained on a CPU with the command any learner can run:
# `python -m segcourse.train --dataset roads --device cpu --n-train 3000 --epochs 4`
# (on a GPU, `--device cuda`). Let's check the card's claim on fresh scenes it never saw:

# %%
test_set = data.road_scenes(200, seed=4242)
result = train.evaluate(model, test_set, device="cpu")
pred = result["pred"]
for name, v in zip(test_set.class_names, result["per_class_iou"]):
    print(f"{name:>13}: {v:.3f}")
print("mIoU:", round(result["miou"], 3))

# %% [markdown]
# ## 6 · Look at it: triplet, error map, confidence
#
# A high mIoU is a claim; pictures are the evidence. The **triplet** puts image, ground truth and
# prediction side by side. We pick the test scene with the *lowest* mIoU — the interesting one.

# %%
worst = int(np.argmin(result["per_sample_miou"]))
fig = viz.triplet(test_set.images[worst], test_set.labels[worst], pred[worst], test_set.class_names,
                  test_set.palette, title=f"worst test scene #{worst}", scores={"mIoU": result["per_sample_miou"][worst]})

# %%
labels, probs = train.predict(model, test_set.images[worst:worst + 1], device="cpu")
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
viz.error_map(test_set.labels[worst], pred[worst], ax=axes[0])
viz.confidence_map(probs[0], kind="max", ax=axes[1])
viz.confidence_map(probs[0], kind="entropy", ax=axes[2])
fig.tight_layout()

# %% [markdown]
# The few wrong pixels sit on **edges** — around cars and at the ends of lane dashes — and the
# confidence maps agree: the model is unsure exactly there. Low confidence along boundaries is
# normal; low confidence in the middle of a region is a warning sign.
#
# ## 7 · When colours lie: the same model under a lighting shift
#
# The shipped model was trained on one "camera". Make the sidewalk colour almost equal to the road's
# and add noise and stronger lighting changes, and the same model meets the classic failure:
# class confusion. The confusion matrix names the pair for us — we print its largest off-diagonal
# cells.

# %%
shifted = data.road_scenes(200, seed=4242, sidewalk_gap=0.03, noise=0.06, lighting=0.3)
shifted_result = train.evaluate(model, shifted, device="cpu")
for name, before, after in zip(shifted.class_names, result["per_class_iou"], shifted_result["per_class_iou"]):
    print(f"{name:>13}: {before:.3f} -> {after:.3f}")
cm = metrics.confusion_matrix(shifted_result["pred"], shifted.labels, num_classes=5)
rates = cm / cm.sum(1, keepdims=True)
np.fill_diagonal(rates, 0)
for flat in np.argsort(rates, axis=None)[::-1][:3]:
    t, p = np.unravel_index(flat, rates.shape)
    print(f"{rates[t, p]:.1%} of true {shifted.class_names[t]} pixels predicted as {shifted.class_names[p]}")
car = 4
print(f"car: recall {cm[car, car] / cm[car].sum():.2f}, precision {cm[car, car] / cm[:, car].sum():.2f}, "
      f"{cm[1, car]:,} road pixels called car vs {cm[car].sum():,} true car pixels")

# %%
i = int(np.argmin(shifted_result["per_sample_miou"]))
fig = viz.triplet(shifted.images[i], shifted.labels[i], shifted_result["pred"][i], shifted.class_names, shifted.palette,
                  title="after the shift: road taken for sidewalk and car", scores={"mIoU": shifted_result["per_sample_miou"][i]})

# %% [markdown]
# Per-class IoU and the confusion matrix name the problem precisely: it is not "the model got
# worse", it is "road is taken for sidewalk (7.6 % of road pixels) and, more rarely, for car
# (1.5 %)". That small share is why *car* IoU falls from 0.99 to 0.76 although the cars themselves
# are still found (recall 0.99): 1.5 % of the huge road class is more than a quarter as many pixels
# as all the cars together, every one of them a false positive for car. A rare class is fragile
# because of its small denominator. The fix follows from the name — training data with that
# lighting, colour augmentation — not a bigger model.
#
# ## 8 · Augmentation that keeps image and mask aligned
#
# Flips, rotations and crops must move the image **and** its mask together; a crop resized back
# up must use *nearest-neighbour* for the mask (interpolating class ids 1 and 3 would invent a
# class 2), while colour jitter touches the image only. `segcourse.data.augment` does all of it:

# %%
rng = np.random.default_rng(3)
fig, axes = plt.subplots(2, 4, figsize=(10, 5))
img0, lm0 = test_set.images[0], test_set.labels[0]
for col in range(4):
    img, lm = (img0, lm0) if col == 0 else data.augment(img0, lm0, rng, hflip=True, rot90=True, crop_scale=(0.6, 0.9))
    axes[0, col].imshow(img); axes[0, col].set_axis_off()
    axes[1, col].imshow(viz.overlay(img, lm, palette=test_set.palette, alpha=0.6)); axes[1, col].set_axis_off()
    axes[0, col].set_title("original" if col == 0 else f"augmented {col}")
    assert set(np.unique(lm)) <= set(np.unique(lm0))  # nearest neighbour: no invented classes
fig.tight_layout()

# %% [markdown]
# In every column the coloured overlay still sits exactly on the road, the cars and the lanes:
# image and mask moved together.
#
# ## Evidence card

# %%
ious = metrics.per_class_iou(pred[worst], test_set.labels[worst], 5)
fig, summary = viz.evidence_card(
    test_set.images[worst], test_set.labels[worst], pred[worst], test_set.class_names,
    scores={"mIoU (scene)": float(np.nanmean(ious)), "mIoU (200 scenes)": result["miou"],
            "car IoU (200 scenes)": float(result["per_class_iou"][4]), "per_class": ious},
    notes=["errors sit on car outlines and lane-dash ends (boundary)",
           "under a lighting shift, road is predicted as sidewalk and car (class confusion)"],
    palette=test_set.palette)
print(summary)

# %% [markdown]
# ## Pass check
#
# You pass this lesson when you can:
#
# * explain why per-pixel accuracy is a poor score for road scenes, using the pixel shares of §2;
# * read the confusion matrix of §7 and name the pair of classes being confused and the share;
# * say which pixels the error and confidence maps point at, and why boundaries are hard;
# * describe what Dice loss changes for thin lanes and small cars;
# * augment an image-mask pair and show that they are still aligned.
#
# Next: lesson 02 opens up the network trained here; lesson 03 asks what a label map cannot tell
# you — how many objects there are.
