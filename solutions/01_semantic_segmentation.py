# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Exercises 01 · Semantic segmentation
#
# Six exercises on lesson 01: class weights by another recipe, a weighted loss that ignores
# unlabelled pixels, a crop and resize that keeps image and mask aligned, a camera with half the
# resolution, which the lesson did not test, a reading of seeds paired by seed, and the training
# loop itself. The first two are variants of what the lesson showed, not copies. Write exercises 1
# to 4 in numpy, exercise 6 in torch. The checks compare your numbers with `segcourse` and torch,
# so an answer that calls `segcourse` (or, in exercise 2, torch's `cross_entropy`) is refused even
# when its numbers are right.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import torch
from segcourse import checks, data, metrics, models, train

torch.set_num_threads(2)  # the course is sized for a 2-core laptop


# %% [markdown]
# ## 1 · Median frequency weights, with an ignore label (1 point)
#
# Lesson 01 §2 derived class weights from inverse frequency. Another common recipe is **median
# frequency balancing** (Eigen & Fergus, 2015): a class's weight is the median class frequency
# divided by its own frequency, so a class of median frequency gets weight 1, rarer classes more,
# commoner ones less. Write `median_frequency_weights(label_maps, num_classes, ignore_index=255)`:
#
# * a class's frequency is its share of the pixels that are **not** `ignore_index` (unlabelled
#   pixels belong to no class), counted over the whole batch;
# * the median is taken over the classes that occur (frequency > 0);
# * a class with no pixels gets weight 0 (there is nothing to up-weight);
# * return two arrays of `num_classes` numbers: `(frequencies, weights)`. The frequencies let the
#   check see what you divided by: `median(f) / f` does not change when every frequency is scaled
#   by the same factor, so the weights alone cannot show it.
#
# (The original paper counts a class's frequency only over the images that contain it; the simpler
# whole-batch version here is what many code bases use.)

# %% nbgrader={"grade": false, "grade_id": "median_frequency_weights", "locked": false, "schema_version": 3, "solution": true, "task": false}
def median_frequency_weights(label_maps, num_classes, ignore_index=255):
    ### BEGIN SOLUTION
    lm = np.asarray(label_maps).ravel()
    lm = lm[lm != ignore_index].astype(np.int64)
    counts = np.bincount(lm, minlength=num_classes)
    freq = counts / counts.sum()
    present = freq > 0
    weights = np.zeros(num_classes)
    weights[present] = np.median(freq[present]) / freq[present]
    return freq, weights
    ### END SOLUTION

roads = data.road_scenes(200, seed=5)
freq, weights = median_frequency_weights(roads.labels, 5)
print("frequencies:", dict(zip(roads.class_names, np.round(freq, 4).tolist())))
print("weights    :", dict(zip(roads.class_names, np.round(weights, 3).tolist())))

# %% nbgrader={"grade": true, "grade_id": "check_median_frequency_weights", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_median_frequency_weights(median_frequency_weights)


# %% [markdown]
# ## 2 · Weighted cross-entropy that ignores unlabelled pixels (2 points)
#
# Lesson 01 §5 passed `ignore_index=255` and class weights to torch's cross-entropy. Write the same
# loss in numpy: `weighted_cross_entropy(logits, target, class_weights, ignore_index=255)` with
# `logits` of shape `(N, K, H, W)` and `target` `(N, H, W)`. For every pixel whose target is not
# `ignore_index`, its loss is `-log softmax(logits)[true class]` (softmax over the class axis 1);
# return the weighted mean of those losses, each weighted by its true class's weight — which means
# dividing by the **sum of the weights**, as torch does. It must stay finite for very large logits
# (a true class 1000 below the largest logit included).
# Write it in numpy: the `log_softmax`, `softmax` and `logsumexp` of torch and of `scipy.special`
# are refused, as the stable log-softmax is half of the exercise.

# %% nbgrader={"grade": false, "grade_id": "weighted_cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def weighted_cross_entropy(logits, target, class_weights, ignore_index=255):
    ### BEGIN SOLUTION
    z = np.asarray(logits, dtype=float)
    z = z - z.max(axis=1, keepdims=True)                       # log-sum-exp: nothing overflows
    log_prob = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    target = np.asarray(target)
    keep = target != ignore_index
    t = np.where(keep, target, 0).astype(np.int64)
    nll = -np.take_along_axis(log_prob, t[:, None], axis=1)[:, 0]
    w = np.asarray(class_weights, dtype=float)[t]
    return float((w * nll)[keep].sum() / w[keep].sum())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_weighted_cross_entropy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_weighted_cross_entropy(weighted_cross_entropy)


# %% [markdown]
# ## 3 · Crop and resize, image and mask together (1 point)
#
# Lesson 01 §8 gave the rule for a crop that is resized back to the model's input size: **bilinear**
# interpolation for the image, **nearest neighbour** for the mask, because interpolating class ids
# 1 (road) and 3 (lane marking) would invent a 2 (sidewalk). Write
# `crop_resize_pair(image, label_map, box)` in numpy: `image` is `(H, W, 3)`, `label_map` `(H, W)`,
# `box = (top, left, height, width)`. Cut the box out of both, then resize both back to `(H, W)`:
#
# * output row `i` samples the crop at `y = (i + 0.5) * height / H - 0.5` (pixel centres, as
#   torch's `align_corners=False`), clipped to `[0, height - 1]`; columns likewise with `width / W`;
# * the **image** mixes the four crop pixels around `(y, x)` (rows `floor(y)` and the next one, clipped
#   to the crop; columns likewise). Derive their weights: linear in y and in x, a pixel weighs more
#   the nearer `(y, x)` lies to it, and the four weights sum to 1. Mind the image's channel axis;
# * the **mask** copies one crop pixel, the nearest: index `floor(y + 0.5)` (and `floor(x + 0.5)`),
#   as lesson 01 §8 does.
#
# The check crops a scene with a road column next to a lane column. One-call resizes
# (`skimage.transform.resize`, `scipy.ndimage.zoom`, torch's `interpolate`, `segcourse.data.augment`)
# are refused: the point is to see where the two rules differ.

# %% nbgrader={"grade": false, "grade_id": "crop_resize_pair", "locked": false, "schema_version": 3, "solution": true, "task": false}
def crop_resize_pair(image, label_map, box):
    ### BEGIN SOLUTION
    top, left, height, width = box
    big_h, big_w = np.shape(label_map)
    crop = np.asarray(image, dtype=float)[top:top + height, left:left + width]
    crop_lm = np.asarray(label_map)[top:top + height, left:left + width]
    y = np.clip((np.arange(big_h) + 0.5) * height / big_h - 0.5, 0, height - 1)   # where each output row samples
    x = np.clip((np.arange(big_w) + 0.5) * width / big_w - 0.5, 0, width - 1)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
    dy, dx = (y - y0)[:, None, None], (x - x0)[None, :, None]
    resized = (crop[y0][:, x0] * (1 - dy) * (1 - dx) + crop[y0][:, x1] * (1 - dy) * dx
               + crop[y1][:, x0] * dy * (1 - dx) + crop[y1][:, x1] * dy * dx)
    nearest_rows, nearest_cols = np.floor(y + 0.5).astype(int), np.floor(x + 0.5).astype(int)
    return resized, crop_lm[nearest_rows][:, nearest_cols]
    ### END SOLUTION

scene = data.road_scenes(1, seed=3)
crop_img, crop_lm = crop_resize_pair(scene.images[0], scene.labels[0], (20, 8, 40, 48))
print("shapes:", crop_img.shape, crop_lm.shape, "| class ids in the mask:", np.unique(crop_lm).tolist())


# %% nbgrader={"grade": true, "grade_id": "check_crop_resize_pair", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_crop_resize_pair(crop_resize_pair)

# %% [markdown]
# ## 4 · A camera with half the resolution (2 points + 1 by hand)
#
# Lesson 01 §7 counted the errors of one shifted camera for you (its `error_table`). Here is another: a cheaper
# camera with 32×32 pixels instead of 64×64. Each of its pixels collects the light that falls on
# the area of four pixels of the 64×64 camera, so it records their **mean** colour. The model was
# trained on 64×64 inputs, so each camera pixel is shown to it as a 2×2 block.
#
# Write `block_mean_camera(images, factor=2)`: `images` is `(N, H, W, 3)`, with H and W multiples
# of `factor`. Return an array of the same shape in which every `factor × factor` block of
# neighbouring pixels holds the block's mean colour, each channel on its own. Use whole-array
# numpy, without a Python loop over the blocks. Functions that return block means in one call are
# refused (`skimage.transform.downscale_local_mean`, `skimage.measure.block_reduce`, torch's
# pooling and `interpolate`). A moving average (`scipy.ndimage.uniform_filter`) is accepted if you
# read it at the right pixels: then its numbers are the block means.

# %% nbgrader={"grade": false, "grade_id": "block_mean_camera", "locked": false, "schema_version": 3, "solution": true, "task": false}
def block_mean_camera(images, factor=2):
    ### BEGIN SOLUTION
    x = np.asarray(images, dtype=float)
    n, h, w, c = x.shape
    blocks = x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))   # (N, H/f, W/f, 3)
    return blocks.repeat(factor, axis=1).repeat(factor, axis=2)                            # each as f×f
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_block_mean_camera", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_block_mean_camera(block_mean_camera)

# %% [markdown]
# The cell below scores the shipped model on 100 scenes as they are and as your camera sees them,
# and prints the camera's confusion matrix in pixels (rows = truth, columns = prediction).

# %% nbgrader={"grade": false, "grade_id": "low_res_cm", "locked": true, "schema_version": 3, "solution": false, "task": false}
model = models.pretrained("roads")
scenes = data.road_scenes(100, seed=77)
try:
    low_res = np.asarray(block_mean_camera(scenes.images, 2), dtype=np.float32)   # 32×32 pixels, each as 2×2
except NotImplementedError:
    low_res = None
    print("block_mean_camera is still a stub: write it first, then run this cell again")
if low_res is not None:
    as_is = train.evaluate(model, scenes, device="cpu")
    res = train.evaluate(model, (low_res, scenes.labels), device="cpu")
    print(f"{'per-class IoU':>16} | " + " | ".join(f"{n:>12}" for n in scenes.class_names) + " |  mIoU")
    for label, r in (("64×64 camera", as_is), ("32×32 camera", res)):
        print(f"{label:>16} | " + " | ".join(f"{v:12.3f}" for v in r["per_class_iou"]) + f" | {r['miou']:.3f}")
    cm = metrics.confusion_matrix(res["pred"], scenes.labels, 5)
    print("\n32×32 camera, rows = truth, columns = prediction, in pixels:")
    print(cm)

# %% [markdown]
# **By hand (1 point).** First count, in the cell below, from `cm`, `scenes` and `low_res`:
#
# * the three largest confusion **rates** off the diagonal (`cm[i, j] / cm[i].sum()`, the share of
#   class `i`'s pixels called `j`);
# * the lane marking's IoU from its three parts: pixels right, missed (its row) and false (its
#   column);
# * how many pixels of other classes are called road, and how many road pixels something else;
# * how many lane pixels share their 2×2 block with another class (your `block_mean_camera` of the
#   lane mask can tell), and their mean brightness before and after the camera.
#
# Then answer: which class does the 32×32 camera cost most, and why that class? The road loses few
# of its own pixels, yet its IoU falls too: which cells of the matrix cost it? How does this
# failure differ from the one of lesson 01 §7's camera, and what would you change first?

# %% nbgrader={"grade": false, "grade_id": "low_res_numbers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
rates = cm / cm.sum(axis=1, keepdims=True)
off = np.where(np.eye(5, dtype=bool), -1.0, rates)                 # the diagonal is no confusion
for flat in np.argsort(-off, axis=None)[:3]:
    i, j = np.unravel_index(flat, off.shape)
    print(f"{scenes.class_names[i]:>12} -> {scenes.class_names[j]:<12} {rates[i, j]:.3f} ({cm[i, j]:,} of {cm[i].sum():,})")
tp, missed, false = cm[3, 3], cm[3].sum() - cm[3, 3], cm[:, 3].sum() - cm[3, 3]
print(f"lane marking: {tp:,} right, {missed:,} missed, {false:,} false ({cm[1, 3]:,} of them road) "
      f"-> IoU {tp / (tp + missed + false):.3f}")
print(f"road: {cm[:, 1].sum() - cm[1, 1]:,} pixels of other classes called road, "
      f"{cm[1].sum() - cm[1, 1]:,} road pixels called something else")
lane = scenes.labels == 3
lane_share = block_mean_camera(np.repeat(lane[..., None], 3, axis=-1).astype(float), 2)[..., 0]   # lane share of its block
mixed = lane & (lane_share < 1)
print(f"lane pixels: {lane.sum():,}, sharing their 2×2 block with another class: {mixed.sum():,}; their mean brightness "
      f"{scenes.images[mixed].mean():.3f} before the camera, {low_res[mixed].mean():.3f} after "
      f"(road pixels: {scenes.images[scenes.labels == 1].mean():.3f})")
### END SOLUTION

# %% [markdown] nbgrader={"grade": true, "grade_id": "cm_answer", "locked": false, "points": 1, "schema_version": 3, "solution": true, "task": false}
# The lane markings: their IoU falls from 0.999 to 0.383, and the worst confusion is lane marking →
# road (0.493 of the lane pixels). A lane is one or two pixels wide, so 3,104 of its 3,864 pixels
# share their 2×2 block with another class: the block mean mixes their colour with the
# neighbours', and their mean brightness falls from 0.915 to 0.629, towards the road's 0.379. The
# near-white colour that found them is gone before the model sees them. The lane's IoU also pays
# for 1,170 false pixels, 1,158 of them road. The road loses only 3,008 of its own pixels, but
# 3,731 pixels of other classes are called road (its column): false positives cost IoU as misses
# do, and the road's falls to 0.943. §7's camera lost the sidewalk to the road (a colour failure:
# region errors on a large class); this camera loses the thin classes (a resolution failure). What
# to change first is not measured here; two **untested** candidates: train with the block-mean
# camera as an augmentation, or keep the full resolution where thin classes matter.

# %% [markdown] nbgrader={"grade": false, "grade_id": "effect_summary_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · Paired by seed: did the change help? (1 point)
#
# Lesson 01 §4 compared losses over five seeds, paired by seed, with a **tolerance** of 0.01 mIoU
# (what two machines may differ by). Here you write that reading as a function, then apply it to
# §8's augmentations, on both cameras. Write `effect_summary(before, after, tolerance=0.01)`:
# `before` and `after` map a seed to a score (`{0: 0.62, 1: 0.58, ...}`).
#
# * Pair the runs **by seed**: the change of seed `s` is `after[s] - before[s]`. The two dicts may
#   list their seeds in different orders, and a seed present in only one of them (a crashed run)
#   is skipped.
# * Return `(mean, median, improved, clear)`: the changes' mean and median; `improved`, how many
#   seeds improved by **more than** `tolerance` (§4's definition of "improved"); and
#   `clear`, True when every paired seed did.

# %% nbgrader={"grade": false, "grade_id": "effect_summary", "locked": false, "schema_version": 3, "solution": true, "task": false}
def effect_summary(before, after, tolerance=0.01):
    ### BEGIN SOLUTION
    changes = np.array([after[s] - before[s] for s in before if s in after], dtype=float)
    improved = int((changes > tolerance).sum())
    return float(changes.mean()), float(np.median(changes)), improved, improved == len(changes)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_effect_summary", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
checks.check_effect_summary(effect_summary)

# %% [markdown]
# The cell below applies your function to lesson 01 §8's retraining (`segcourse/results/shift.json`,
# three seeds per augmentation; "+ colour" adds colour jitter and brightness to the flips, "+ noise"
# adds pixel noise to those), on the shifted camera and on the clean one. Read each line: which
# step of augmentation improved every seed by more than the tolerance? And the small price on
# clean scenes that §8 mentions: is it larger than the tolerance, in any seed?

# %% nbgrader={"grade": false, "grade_id": "effect_table", "locked": true, "schema_version": 3, "solution": false, "task": false}
from segcourse import experiments

shift_rows = experiments.load("shift")["rows"]
steps = {"none": "flips only", "colour jitter + brightness": "+ colour", "colour jitter + brightness + noise": "+ noise"}
try:
    for camera in ("shifted", "clean"):
        miou = {a: {r["seed"]: r[camera]["miou"] for r in shift_rows if r["augmentation"] == a} for a in steps}
        for before, after in zip(list(steps), list(steps)[1:]):
            mean, median, improved, clear = effect_summary(miou[before], miou[after])
            worsened = sum(miou[after][s] - miou[before][s] < -0.01 for s in miou[before])
            print(f"{camera:>7}, {steps[before]:>10} -> {steps[after]:<8}: "
                  f"mean {mean:+.4f}, median {median:+.4f}, improved by more than 0.01 in {improved} of 3 seeds, "
                  f"worse by more than 0.01 in {worsened}, clear: {clear}")
except NotImplementedError:
    print("effect_summary is still a stub: write it first, then run this cell again")

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_steps_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6 · The training loop, by hand (2 points)
#
# Lesson 01 §4 took one training step by hand, and `train.fit` repeats it. Write the loop yourself:
# `train_steps(model, batches, class_weights, lr)`.
#
# * Build **one** Adam optimizer over `model.parameters()` with learning rate `lr`, and put the
#   model in training mode (`model.train()`: BatchNorm then uses each batch's own statistics).
# * For each `(images, labels)` in `batches` (tensors `(N, 3, H, W)` float32 and `(N, H, W)`
#   int64): zero the gradients, compute the logits, then the cross-entropy weighted by
#   `class_weights`, ignoring the pixels labelled 255. Backpropagate and take one optimizer step.
# * `class_weights` is a numpy array (exercise 1 returns one): make it a float32 tensor.
# * Return the list of the losses, one float per batch, each taken before its step (`loss.item()`).
#
# Here torch's `cross_entropy` is allowed (exercise 2 wrote it); `segcourse.train` is refused. The
# check runs your loop and its own on identical copies of a tiny network (seeded, so on the CPU
# both give the same numbers) and compares the losses step by step.

# %% nbgrader={"grade": false, "grade_id": "train_steps", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_steps(model, batches, class_weights, lr):
    ### BEGIN SOLUTION
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)          # once: Adam keeps running averages
    weight = torch.as_tensor(class_weights, dtype=torch.float32)
    model.train()
    losses = []
    for images, labels in batches:
        optimizer.zero_grad()                                          # backward() adds to .grad
        loss = torch.nn.functional.cross_entropy(model(images), labels, weight=weight, ignore_index=255)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_train_steps", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check_train_steps(train_steps)

# %% [markdown]
# The cell below trains a narrow UNet (width 4) for 30 steps of 8 of the lesson's training scenes,
# twice from the same initial weights on the same batches: with your median frequency weights of
# exercise 1, and with every weight 1 (plain cross-entropy). It draws both loss curves and the
# per-class IoU on 100 of the lesson's test scenes. Which classes does the weighting buy, and at
# what price? One seed: what would you run before you believe it? (The figure's exact values
# change from one CPU to another, as 30 training steps amplify rounding differences; the printed
# lines do not.)

# %% nbgrader={"grade": false, "grade_id": "train_steps_run", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt

scenes6 = data.road_scenes(240, seed=1000)                            # the lesson's first 240 training scenes
x6 = torch.as_tensor(scenes6.images).permute(0, 3, 1, 2)
y6 = torch.as_tensor(scenes6.labels).long()
batches6 = [(x6[i:i + 8], y6[i:i + 8]) for i in range(0, 240, 8)]   # 30 steps of 8 scenes
test6 = data.road_scenes(100, seed=4242)                              # the lesson's first 100 test scenes
try:
    runs6 = {}
    for label, w in (("median frequency weights (ex. 1)", weights), ("all weights 1 (plain CE)", np.ones(5))):
        torch.manual_seed(0)                                          # the same initial weights for both runs
        net = models.TinyUNet(in_channels=3, num_classes=5, width=4)
        runs6[label] = (train_steps(net, batches6, w, 1e-2), train.evaluate(net, test6, device="cpu")["per_class_iou"])
        iou6 = runs6[label][1]
        print(f"{label:>32}: lanes found (lane IoU > 0.5): {iou6[3] > 0.5}; any car pixel found: {iou6[4] > 0}")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for (label, (losses, iou6)), style in zip(runs6.items(), ("-", "--")):
        axes[0].plot(range(1, 31), losses, style, color="black", label=label)
    axes[0].set(xlabel="training step", ylabel="cross-entropy (each run's weights)", title="loss of each batch")
    axes[0].legend(frameon=False, fontsize=8)
    for k, (label, (losses, iou6)) in enumerate(runs6.items()):
        axes[1].bar(np.arange(5) + (k - 0.5) * 0.4, iou6, width=0.4, color=test6.palette / 255, edgecolor="black",
                    hatch="//" if k else None, label=label)
    axes[1].set_xticks(range(5), test6.class_names, rotation=20)
    axes[1].set(ylabel="test IoU (100 scenes)", ylim=(0, 1), title="per-class test IoU (hatched: all weights 1)")
    axes[1].legend(handles=[plt.matplotlib.patches.Patch(facecolor="white", edgecolor="black", hatch="//" if k else None,
                                                         label=label) for k, label in enumerate(runs6)],
                   frameon=False, fontsize=8, loc="upper right")
    fig.tight_layout()
except (NameError, NotImplementedError):
    print("write median_frequency_weights (exercise 1) and train_steps first, then run this cell again")
