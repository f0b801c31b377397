"""The lesson-04 checks pass correct answers and fail the typical mistakes with a teaching hint."""

import re

import numpy as np
import pytest
import torch

from skimage.transform import rescale, resize

from segcourse import checks, data, instances, train


def test_percentile_normalize_accepts_a_plain_numpy_answer(capsys):
    def mine(stack, low, high):
        out = np.empty(np.shape(stack), float)
        for c in range(np.shape(stack)[-1]):
            lo, hi = np.percentile(stack[..., c], [low, high])
            out[..., c] = np.clip((np.asarray(stack[..., c], float) - lo) / (hi - lo), 0, 1)
        return out

    checks.check_percentile_normalize(mine)
    assert "all cases pass" in capsys.readouterr().out


def _wrong_axis(im, lo, hi, axis, keepdims=True):
    im = np.asarray(im, np.float32)
    a, b = np.percentile(im, [lo, hi], axis=axis, keepdims=keepdims)
    return np.clip((im - a) / (b - a + 1e-9), 0, 1)


def _per_channel(im, lo, hi, method="linear", clip=True):
    im = np.asarray(im, float)
    a, b = np.percentile(im, [lo, hi], axis=(0, 1), method=method)
    out = (im - a) / (b - a)
    return np.clip(out, 0, 1) if clip else out


@pytest.mark.parametrize("wrong, hint", [
    (lambda im, lo, hi: np.asarray(im, float) / np.max(im), "min-max"),
    (lambda im, lo, hi: _per_channel(im, lo, hi, clip=False), "clip"),
    (lambda im, lo, hi: np.clip(np.asarray(im) // 2, 0, 1), "floats"),
    (lambda im, lo, hi: np.clip(np.asarray(im, float) / 255, 0, 1), "percentile"),
    (lambda im, lo, hi: np.clip((np.asarray(im, float) - lo) / (hi - lo), 0, 1), "ramp|percentiles"),
    (lambda im, lo, hi: np.zeros(3), "shape"),
    (lambda im, lo, hi: np.clip((np.asarray(im) - np.uint16(np.percentile(im, lo))) / (np.percentile(im, hi) - np.percentile(im, lo)), 0, 1),
     "wraps around"),
    (lambda im, lo, hi: data.normalize_percentile(im, lo, hi), "one pair of percentiles for the whole stack"),
    (lambda im, lo, hi: np.stack([data.normalize_percentile(im[..., c], lo, hi) for c in range(im.shape[-1])], axis=-1),
     "calls data.normalize_percentile \\(channel by channel\\)"),
    (lambda im, lo, hi: _per_channel(im, lo, hi, method="nearest"), "method='linear'"),
    (lambda im, lo, hi: _wrong_axis(im, lo, hi, 0), "(?s)axis=0 .*height and width together"),
    (lambda im, lo, hi: _wrong_axis(im, lo, hi, -1), "(?s)axis=-1 .*height and width together"),
    (lambda im, lo, hi: _wrong_axis(im, lo, hi, -1, keepdims=False), "(?s)broadcast.*height\\s+and\\s+width\\s+together"),
    (checks.lesson04._reference_normalize, r"reference\s+answer"),
    (lambda im, lo, hi: np.minimum(_per_channel(im, lo, hi, clip=False), 1), "came out\\snegative"),
    (lambda im, lo, hi: _per_channel(im, 1, 99.8), "not fixed numbers"),
    (lambda im, lo, hi: _per_channel(im, lo, hi).astype(np.float16), "(?s)float16.*return float64"),   # review 04s12 P3-4
])
def test_percentile_normalize_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_percentile_normalize(wrong)


def test_percentile_normalize_reports_a_stub_and_a_crash():
    def stub(image, low, high):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="NotImplementedError"):
        checks.check_percentile_normalize(stub)
    with pytest.raises(AssertionError, match="crashed"):
        checks.check_percentile_normalize(lambda image, low, high: image.nope)


def _ap(pred, scores, gt, threshold=0.5):
    ious, pred_ids, gt_ids = instances.iou_matrix(pred, gt)
    if len(gt_ids) == 0:
        return float("nan")
    taken, hits, total = set(), 0, 0.0
    for rank, i in enumerate(sorted(range(len(pred_ids)), key=lambda i: -scores[int(pred_ids[i])]), 1):
        free = [j for j in range(len(gt_ids)) if j not in taken and ious[i, j] >= threshold]
        if free:
            taken.add(max(free, key=lambda j: ious[i, j]))
            hits, total = hits + 1, total + (hits + 1) / rank
    return total / len(gt_ids)


def _ap_variant(order_key=None, divide_by_preds=False, divide_by_hits=False, strict=False, reuse=False, empty_nan=True, first_free=False,
                best_only=False):
    def ap(pred, scores, gt, threshold=0.5):
        ious, pred_ids, gt_ids = instances.iou_matrix(pred, gt)
        if len(gt_ids) == 0:
            return float("nan") if empty_nan else 0.0
        key = order_key or (lambda i: -scores[int(pred_ids[i])])
        taken, hits, total = set(), 0, 0.0
        for rank, i in enumerate(sorted(range(len(pred_ids)), key=key), 1):
            ok = (ious[i] > threshold) if strict else (ious[i] >= threshold)
            free = [j for j in range(len(gt_ids)) if (reuse or j not in taken) and ok[j]]
            if best_only:   # only the object it overlaps most, no fall-back to another free one
                free = [j for j in free if j == int(np.argmax(ious[i]))]
            if free:
                taken.add(free[0] if first_free else max(free, key=lambda j: ious[i, j]))
                hits, total = hits + 1, total + (hits + 1) / rank
        if divide_by_preds:
            return total / len(pred_ids) if len(pred_ids) else 0.0
        return total / (hits if divide_by_hits else len(gt_ids)) if (hits or not divide_by_hits) else 0.0
    return ap


def test_ap_at_accepts_a_correct_answer(capsys):
    checks.check_ap_at(_ap)
    assert "all cases pass" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (_ap_variant(order_key=lambda i: i), "ignores the scores"),
    (_ap_variant(divide_by_hits=True), "number of hits"),
    (_ap_variant(strict=True), "IoU exactly 0.5"),
    (_ap_variant(reuse=True), "found only once"),
    (_ap_variant(empty_nan=False), "NaN"),
    (_ap_variant(first_free=True), "overlaps most"),
    (_ap_variant(best_only=True), "fall back to the free object"),
    (lambda p, s, g, t: instances.average_precision(p, s, g, iou_thresholds=[t])["ap"], "interpolated"),
    (_ap_variant(divide_by_preds=True), "number of predictions"),
    (lambda p, s, g, t: checks.lesson04._reference_ap(p, s, g, t), "reference answer"),
    (lambda p, s, g, t: min(1.0, _ap_variant(reuse=True)(p, s, g, t)), "found twice"),
])
def test_ap_at_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_ap_at(wrong)


def _factor(labels, d):
    labels = np.asarray(labels)
    areas = np.bincount(labels.ravel())
    areas[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = 0
    areas = areas[1:][areas[1:] > 0]
    return float(d / np.median(2 * np.sqrt(areas / np.pi))) if len(areas) else float("nan")


def test_rescale_factor_accepts_a_correct_answer(capsys):
    checks.check_rescale_factor(_factor)
    assert "all cases pass" in capsys.readouterr().out


def _areas(labels, border=False):
    labels = np.asarray(labels)
    a = np.bincount(labels.ravel())
    if not border:
        a[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = 0
    a = a[1:]
    return a[a > 0]


def _first_sides_only(labels, d):   # looks for cut objects on the first row and column only
    labels = np.asarray(labels)
    a = np.bincount(labels.ravel())
    a[np.unique(np.concatenate([labels[0], labels[:, 0]]))] = 0
    a = a[a > 0]
    return float(d / np.median(2 * np.sqrt(a / np.pi))) if a.size else float("nan")


def _radii(labels):   # the lesson's helper: every instance, cut by the border or not
    areas = np.bincount(labels.ravel())[1:]
    return np.sqrt(areas[areas > 0] / np.pi)


@pytest.mark.parametrize("wrong, hint", [
    (lambda lab, d: float(np.median(2 * np.sqrt(_areas(lab) / np.pi)) / d), "upside down"),
    (lambda lab, d: float(d / np.median(np.sqrt(_areas(lab) / np.pi))), "factor 2"),
    (lambda lab, d: float(d / np.mean(2 * np.sqrt(_areas(lab) / np.pi))), "median"),
    (lambda lab, d: float(d / np.median(2 * np.sqrt(np.bincount(np.ravel(lab)) / np.pi))), "background"),
    (lambda lab, d: float(d / np.median(2 * np.sqrt(_areas(lab) / np.pi))) if _areas(lab).size else 1.0, "NaN"),
    (lambda lab, d: float(d / (2 * np.median(_radii(lab)))) if _radii(lab).size else float("nan"), "cut by the image's border"),
    (lambda lab, d: float(d / (2 * np.sqrt(np.median(_areas(lab)) / np.pi))) if _areas(lab).size else float("nan"),
     "median of the areas"),
    (checks.lesson04._reference_factor, "reference answer"),
    (lambda lab, d: _first_sides_only(lab, d), "last row and the last column"),
])
def test_rescale_factor_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_rescale_factor(wrong)


def test_budget_fine_tune_rejects_no_training_and_an_over_budget_run():
    with pytest.raises(AssertionError, match="no training pixels"):
        checks.check_budget_fine_tune(lambda model, image, labels: model)

    from segcourse import models

    def over_budget(model, image, labels):   # 330 crops (over 320) through a fresh copy in training mode: counted too
        other = models.pretrained("cells").train()
        with torch.no_grad():
            other(torch.zeros(330, 3, 64, 64))
        _touch(model)
        return model

    with pytest.raises(AssertionError, match="over the budget"):
        checks.check_budget_fine_tune(over_budget)

    def bypass(model, image, labels):   # eval mode, model.forward called directly: the first conv still counts
        model.eval()
        model.forward(torch.zeros(330, 3, 64, 64)).sum().backward()
        return model

    with pytest.raises(AssertionError, match="over the budget"):
        checks.check_budget_fine_tune(bypass)


def test_budget_fine_tune_refuses_weights_loaded_from_elsewhere():   # a copy's training: counted, see above
    from segcourse import models

    shipped = models.pretrained("cells").state_dict()
    before = {k: v + 0.01 if v.is_floating_point() else v for k, v in shipped.items()}   # "trained before the check"

    def trained_before(model, image, labels):   # weights trained outside the count, then one counted step
        model.load_state_dict(before)
        return _one_step(model, image, labels)

    with pytest.raises(AssertionError, match="weight tensors of the returned model"):
        checks.check_budget_fine_tune(trained_before)


def _one_step(model, image, labels):
    small = rescale(image, 0.5, order=1, anti_aliasing=True).astype(np.float32)
    target = instances.boundary_class_map(resize(labels, small.shape, order=0, preserve_range=True,
                                                 anti_aliasing=False).astype(np.int32))
    imgs = np.stack([small[y:y + 64, 0:64] for y in (0, 64)])[..., None] * np.array([0.55, 1.0, 0.6], np.float32)
    tgts = np.stack([target[y:y + 64, 0:64] for y in (0, 64)]).astype(np.uint8)
    train.fit(model, (imgs, tgts), (imgs, tgts), epochs=1, lr=3e-3, batch_size=2, max_steps=1, device="cpu",
              seed=0, progress=False, eval_every=10**6)
    return model


def test_budget_fine_tune_refuses_the_test_half_before_training():
    def loads_the_whole_image(model, image, labels):   # trains on the right half: the test region
        img, tr = data.nuclei_image()
        return _fine_tune(model, data.normalize_percentile(img)[:, 256:], tr[:, 256:])

    with pytest.raises(AssertionError, match="data.nuclei_image"):
        checks.check_budget_fine_tune(loads_the_whole_image)

    whole, truth = data.nuclei_image()
    scope = {"truth": truth, "np": np}
    exec("def reads_a_global(model, image, labels):\n    return truth[:, 256:]\n", scope)   # a notebook global
    with pytest.raises(AssertionError, match="reads the global truth"):
        checks.check_budget_fine_tune(scope["reads_a_global"])


def test_budget_fine_tune_refuses_the_test_half_under_other_names_before_training():
    from segcourse.data import nuclei_image as load_all   # the loader under another name

    def alias(model, image, labels):
        img, tr = load_all()
        return _fine_tune(model, data.normalize_percentile(img)[:, 256:], tr[:, 256:])

    with pytest.raises(AssertionError, match="data.nuclei_image"):
        checks.check_budget_fine_tune(alias)

    whole, truth = data.nuclei_image()
    grey = data.normalize_percentile(whole, 1, 99.8)
    scope = {"TEST_IMG": grey[:, 256:], "TEST_LAB": truth[:, 256:], "_fine_tune": _fine_tune}
    exec("def test_globals(model, image, labels):\n    return _fine_tune(model, TEST_IMG, TEST_LAB)\n", scope)
    with pytest.raises(AssertionError, match="reads the global TEST_IMG"):
        checks.check_budget_fine_tune(scope["test_globals"])

    def default(model, image, labels, more=(grey[100:300, 200:400], truth[100:300, 200:400])):
        return _fine_tune(model, *more)

    with pytest.raises(AssertionError, match="reads the default of more"):
        checks.check_budget_fine_tune(default)

    crop = truth[:, 300:]

    def closure(model, image, labels):
        return _fine_tune(model, image, crop)

    with pytest.raises(AssertionError, match="reads the enclosing function's crop"):
        checks.check_budget_fine_tune(closure)


def test_budget_fine_tune_refuses_targets_without_the_boundary_class():
    def binary_target(model, image, labels):   # background / nucleus only: instances cannot be split
        small = rescale(image, 0.5, order=1, anti_aliasing=True).astype(np.float32)
        target = resize(labels, small.shape, order=0, preserve_range=True, anti_aliasing=False) > 0
        imgs = np.stack([small[y:y + 64, 0:64] for y in (0, 64, 128, 192)])[..., None] * np.array([0.55, 1.0, 0.6], np.float32)
        tgts = np.stack([target[y:y + 64, 0:64] for y in (0, 64, 128, 192)]).astype(np.uint8)
        train.fit(model, (imgs, tgts), (imgs, tgts), epochs=1, lr=3e-3, batch_size=4, max_steps=1, device="cpu",
                  seed=0, progress=False, eval_every=10**6)
        return model

    with pytest.raises(AssertionError, match="never 2, the boundary class"):
        checks.check_budget_fine_tune(binary_target)


def _touch(model):
    model.train()
    with torch.no_grad():
        model(torch.zeros(1, 3, 64, 64))


def test_budget_fine_tune_refuses_the_recorded_weights_and_a_fresh_model():
    from segcourse import experiments, models

    def recorded(model, image, labels):
        _touch(model)
        return experiments.recorded_run("04_fine_tuned", model)["model"]

    with pytest.raises(AssertionError, match="recorded fine-tuned weights"):
        checks.check_budget_fine_tune(recorded)

    def fresh(model, image, labels):
        _touch(model)
        return models.pretrained("cells")

    with pytest.raises(AssertionError, match="other than the one it was given"):
        checks.check_budget_fine_tune(fresh)


def test_budget_fine_tune_names_the_budget_before_the_recorded_weights():   # review 04s9c P3-11
    from segcourse import experiments

    def too_long(model, image, labels):   # like the lesson's cell copied: it trains, on 640 crops, over the budget
        first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))   # counted there; cheap to run
        model.train()
        with torch.no_grad():
            first(torch.zeros(330, 3, 64, 64))
        return experiments.recorded_run("04_fine_tuned", model)["model"]

    with pytest.raises(AssertionError, match="over the budget"):
        checks.check_budget_fine_tune(too_long)


def test_budget_fine_tune_refuses_crops_at_full_size():
    def full_size(model, image, labels):
        target = instances.boundary_class_map(labels)
        imgs = np.stack([image[y:y + 64, 64:128] for y in (0, 128, 256, 384)])[..., None] * np.array([0.55, 1.0, 0.6], np.float32)
        tgts = np.stack([target[y:y + 64, 64:128] for y in (0, 128, 256, 384)]).astype(np.uint8)
        train.fit(model, (imgs, tgts), (imgs, tgts), epochs=1, lr=3e-3, batch_size=4, max_steps=1, device="cpu",
                  seed=0, progress=False, eval_every=10**6)
        return model

    with pytest.raises(AssertionError, match="full size"):
        checks.check_budget_fine_tune(full_size)


def _fine_tune(model, image, labels, lr=3e-3):
    small = rescale(image, 0.5, order=1, anti_aliasing=True).astype(np.float32)
    target = instances.boundary_class_map(resize(labels, small.shape, order=0, preserve_range=True,
                                                 anti_aliasing=False).astype(np.int32))
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, small.shape[0] - 63, 320), rng.integers(0, small.shape[1] - 63, 320)
    imgs = np.stack([small[y:y + 64, x:x + 64] for y, x in zip(ys, xs)])[..., None] * np.array([0.55, 1.0, 0.6], np.float32)
    tgts = np.stack([target[y:y + 64, x:x + 64] for y, x in zip(ys, xs)]).astype(np.uint8)
    train.fit(model, (imgs, tgts), (imgs[:8], tgts[:8]), epochs=1, lr=lr, batch_size=16, max_steps=20, device="cpu",
              seed=0, progress=False, eval_every=10**6)
    return model


def test_budget_fine_tune_passes_a_plain_fine_tune(capsys):
    checks.check_budget_fine_tune(_fine_tune)
    assert "passes" in capsys.readouterr().out


def test_new_checks_are_exported():
    assert {"check_percentile_normalize", "check_ap_at", "check_rescale_factor", "check_budget_fine_tune",
            "check_shared_nuclei", "check_min_gap", "check_choose_min_distance"} <= set(checks.__all__)


def test_budget_fine_tune_fails_a_learning_rate_that_overwrites_the_model():   # moved from tests/test_classroom.py
    with pytest.raises(AssertionError, match=r"(?s)not above.*overwrites"):
        checks.check_budget_fine_tune(lambda model, image, labels: _fine_tune(model, image, labels, lr=0.1))


@pytest.mark.parametrize("half_scale", ["rescale", "every second pixel"])
def test_budget_fine_tune_finds_crops_of_the_test_half_by_their_content(half_scale):
    whole, truth = data.nuclei_image()
    grey = data.normalize_percentile(whole, 1, 99.8)
    if half_scale == "rescale":
        everything = rescale(grey, 0.5, order=1, anti_aliasing=True).astype(np.float32)
    else:   # x_full[::2, ::2]: no anti-aliasing, passed the unsmoothed comparison (review 04s7c, W1)
        everything = grey[::2, ::2].astype(np.float32)
    target = instances.boundary_class_map(resize(truth, everything.shape, order=0, preserve_range=True,
                                                 anti_aliasing=False).astype(np.int32))
    namespace = type("Lesson", (), {"small": everything, "target": target})   # past the scan of globals

    def whole_image_crops(model, image, labels):   # the lesson's globals, without [:, :128]: crops reach the test half
        imgs = np.stack([np.rot90(namespace.small[y:y + 64, 150:214]) for y in (0, 64)])[..., None] * np.array(
            [0.55, 1.0, 0.6], np.float32)
        tgts = np.stack([np.rot90(namespace.target[y:y + 64, 150:214]) for y in (0, 64)]).astype(np.uint8)
        train.fit(model, (imgs, tgts), (imgs, tgts), epochs=1, lr=3e-3, batch_size=2, max_steps=1, device="cpu",
                  seed=0, progress=False, eval_every=10**6)
        return model

    with pytest.raises(AssertionError, match="cut from the right half"):
        checks.check_budget_fine_tune(whole_image_crops)


def _shared(labels, train, test):
    labels = np.asarray(labels)
    return int(np.count_nonzero(np.intersect1d(np.unique(labels[train]), np.unique(labels[test]))))


def test_shared_nuclei_accepts_a_correct_answer(capsys):
    checks.check_shared_nuclei(_shared)
    assert "all cases pass" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda lab, tr, te: len(np.intersect1d(np.unique(lab[tr]), np.unique(lab[te]))), "id 0 is the background"),
    (lambda lab, tr, te: _shared(lab, tr, ~tr), "outside the training set as test"),
    (lambda lab, tr, te: _shared(lab, ~te, te), "outside the test set as training"),
    (lambda lab, tr, te: len(np.unique(lab[te][lab[te] > 0])), "objects in the test set"),
    (lambda lab, tr, te: len(np.unique(lab[tr | te])) - 1, "objects in either set"),
    (lambda lab, tr, te: int(np.isin(lab[te], np.unique(lab[tr][lab[tr] > 0])).sum()), "a number of pixels"),
    (lambda lab, tr, te: set(np.unique(lab[tr])) & set(np.unique(lab[te])) - {0}, "returned a set"),
    (checks.lesson04._reference_shared, "reference answer"),
])
def test_shared_nuclei_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_shared_nuclei(wrong)


def _min_gap(labels, first_test_col):
    labels = np.asarray(labels)
    reaching = np.setdiff1d(np.unique(labels[:, first_test_col:]), [0])
    cols = np.nonzero(np.isin(labels, reaching))[1]
    return int(max(0, first_test_col - cols.min())) if len(cols) else 0


def _widest(labels, first_test_col):
    from scipy import ndimage
    return max([s[1].stop - s[1].start for s in ndimage.find_objects(np.asarray(labels)) if s is not None] or [0])


def _rows_crossing(labels, first_test_col):   # only the rows that cross the line
    best = 0
    for row in np.asarray(labels):
        j = first_test_col
        while row[first_test_col] and j > 0 and row[j - 1] == row[first_test_col]:
            j -= 1
        best = max(best, first_test_col - j)
    return best


def _steps_of_8(labels, first_test_col):      # the exercise's loop over gaps, in steps of 8
    labels = np.asarray(labels)
    cols = np.broadcast_to(np.arange(labels.shape[1]), labels.shape)
    return next(g for g in range(0, first_test_col + 8, 8)
                if _shared(labels, cols < first_test_col - g, cols >= first_test_col) == 0)


def test_min_gap_accepts_a_correct_answer(capsys):
    checks.check_min_gap(_min_gap)
    assert "all cases pass" in capsys.readouterr().out
    assert _min_gap(data.nuclei_image()[1], 256) == 17    # the answer on the lesson's image (review 04s7c)


@pytest.mark.parametrize("wrong, hint", [
    (_widest, "width of the widest object"),
    (lambda lab, f: _min_gap(lab, f) + 1, "one too many"),
    (lambda lab, f: max(0, _min_gap(lab, f) - 1), "one too few"),
    (lambda lab, f: int(f - np.nonzero(np.isin(lab, np.unique(np.asarray(lab)[:, f:])))[1].min()), "background"),
    (_rows_crossing, "leftmost pixel in any row"),
    (_steps_of_8, "wider than needed"),
    (lambda lab, f: _shared(lab, np.arange(np.shape(lab)[1]) < f + np.zeros(np.shape(lab), bool),
                            np.arange(np.shape(lab)[1]) >= f + np.zeros(np.shape(lab), bool)), "number of objects"),
    (lambda lab, f: [_min_gap(lab, f)], "returned a list"),
    (checks.lesson04._reference_min_gap, "reference answer"),
])
def test_min_gap_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_min_gap(wrong)


def test_budget_fine_tune_fails_a_model_that_learned_nothing():   # review 04s8b #2: lr 1e-9, only batch norm moved
    with pytest.raises(AssertionError, match=r"(?s)batch-norm\s+adaptation\s+alone.*learning\s+rate\s+peaked"):
        checks.check_budget_fine_tune(lambda model, image, labels: _fine_tune(model, image, labels, lr=1e-9))


@pytest.mark.parametrize("pq, lr, seen, hint", [
    (0.30, 9.9e-3, checks.lesson04.FINE_TUNE_BUDGET, r"(?s)below the model before fine-tuning.*default.*Lower the learning rate"),
    (0.0, 0.1, checks.lesson04.FINE_TUNE_BUDGET, r"(?s)below the model before fine-tuning.*overwrites"),
    (0.62, 0.03, checks.lesson04.FINE_TUNE_BUDGET, r"reached 3\.0e-02: that overwrites"),
    (0.62, 3e-3, 64 * 64 * 40, r"saw 40 crops"),
    (0.62, 3e-3, checks.lesson04.FINE_TUNE_BUDGET, r"setup looks right"),
])
def test_budget_fine_tune_hint_for_a_low_pq_names_the_cause(pq, lr, seen, hint):   # review 04s9 P1-3, no training
    text = checks.lesson04._low_pq_hint(pq, lr, seen)
    assert re.search(hint, text)
    assert "batch_size=16" not in text and "max_steps=20" not in text and "another seed" not in text or pq >= 0.58


def _choose(score="pq", crop_labels=True, whole=False, tie=lambda k, p: (abs(k[1] - p), k[1], k[0]), greedy=False):
    def answer(segment, labels, region, fgs, min_distances, prior):
        pqs = {}
        for fg in fgs:
            for md in min_distances:
                pred = segment(md, fg)
                pqs[(fg, md)] = instances.panoptic_quality(pred if whole else pred[region], labels if whole else (
                    labels[region] if crop_labels else labels))[score]
        if greedy:                  # one knob at a time: min_distance at the first fg, then fg at that min_distance
            start = {"max": max(fgs), "min": min(fgs)}.get(greedy, fgs[0])
            md = min(min_distances, key=lambda m: (-pqs[(start, m)], abs(m - prior), m))
            return (min(fgs, key=lambda f: (-pqs[(f, md)], f)), md), pqs
        top = max(pqs.values())
        return min((k for k in pqs if pqs[k] >= top - 1e-9), key=lambda k: tie(k, prior)), pqs
    return answer


def test_choose_min_distance_accepts_a_correct_answer(capsys):   # review 04s9 #10, 04s11 #4: two knobs jointly
    checks.check_choose_min_distance(_choose())
    assert "all cases pass" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (_choose(whole=True), r"outside\s+the\s+region"),
    (_choose(score="rq"), r"recognition\s+quality\s+RQ"),
    (_choose(score="sq"), r"segmentation\s+quality\s+SQ"),                  # review 04s9c P3-8
    (_choose(crop_labels=False), r"crop\s+both"),
    (_choose(tie=lambda k, p: 0), r"order\s+of\s+the\s+list"),                  # the first of the tied pairs
    (_choose(tie=lambda k, p: (-k[1], -k[0])), r"closest\s+to\s+the\s+prior"),  # the last (largest) of them
    (_choose(tie=lambda k, p: abs(k[1] - p)), r"take\s+the\s+smaller\s+one"),
    (_choose(tie=lambda k, p: (abs(k[1] - p), k[1], -k[0])), r"smaller\s+fg"),   # review 04s11 #4: the second knob
    (_choose(greedy=True), r"one\s+knob\s+at\s+a\s+time"),                      # review 04s11 #4: not jointly
    (_choose(greedy="min"), r"one\s+knob\s+at\s+a\s+time"),
    (_choose(greedy="max"), r"(?s)middle\s+fg.*one\s+knob\s+at\s+a\s+time"),      # review 04s13 P1-1: from the largest fg
    (lambda s, l, r, f, m, p: _choose()(s, l, r, f[:1], m, p), r"every\s+fg\s+with\s+every\s+min_distance"),
    (lambda s, l, r, f, m, p: (min(((a, b) for a in f for b in m), key=lambda k: abs(k[1] - p)),
                               _choose()(s, l, r, f, m, p)[1]), r"only\s+breaks\s+ties"),
    (lambda s, l, r, f, m, p: _choose()(s, l, r, f, m, p)[0], r"return\s+two\s+things"),
    (lambda s, l, r, f, m, p: (lambda b: (b[0][::-1], b[1]))(_choose()(s, l, r, f, m, p)), r"\(fg,\s+min_distance\)"),
    (lambda s, l, r, f, m, p: _choose()(lambda md, fg: s(fg, md), l, r, f, m, p), r"segment\(min_distance,\s+fg\)"),
    (checks.lesson04._reference_choose, "reference answer"),
])
def test_choose_min_distance_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_choose_min_distance(wrong)


def _note_scene():
    """7 true 6×6 squares; a prediction cuts 6 of them in two halves (split) and misses the 7th."""
    gt, pred = np.zeros((6, 49), int), np.zeros((6, 49), int)
    for k in range(7):
        gt[:, 7 * k:7 * k + 6] = k + 1
        if k < 6:
            pred[:3, 7 * k:7 * k + 6], pred[3:, 7 * k:7 * k + 6] = 10 + 2 * k, 11 + 2 * k
    return pred, gt


_NOTE = "Most missed nuclei are split: 6 of the 7 are cut into two or more pieces. Seeds 3 px apart are too close."


@pytest.mark.parametrize("bucket", ["split", "Split", " split ", "splits"])
def test_failure_note_grades_the_named_bucket_and_its_count(bucket, capsys):        # review 04s12 P1-2
    checks.check_failure_note(bucket, 6, 5, *_note_scene(), note=_NOTE)
    assert "split, 6 missed nuclei" in capsys.readouterr().out


@pytest.mark.parametrize("note", [                                    # review 04s12 P1-2: refused by the old parser
    "Seeds 3 px apart are too close for these nuclei: six missed nuclei were cut apart into pieces.",
    "6 of the 7 missed nuclei are split, the majority, because the seeds stand too close together.",
    "Merged nuclei are rarer than split ones: most missed nuclei are split, 6 of them, so raise min_distance.",
])
def test_failure_note_leaves_the_words_to_the_teacher(note, capsys):
    checks.check_failure_note("split", 6, 5, *_note_scene(), note=note)
    assert "is for your teacher" in capsys.readouterr().out


@pytest.mark.parametrize("bucket, count, note, hint", [
    ("split", 2, _NOTE, r"main_count is 2"),
    ("split", 7, _NOTE, r"(?s)main_count is 7.*all missed nuclei"),
    ("merge", 6, _NOTE, r"'merge', but it holds 0"),
    ("missed", 1, _NOTE, r"'missed', but it holds 1"),
    ("splitting", 6, _NOTE, r"one of the exercise's buckets"),
    (["split"], 6, _NOTE, r"main_bucket must be the bucket's name"),
    ("split", 6.0, _NOTE, r"main_count must be a whole number"),
    ("split", "6", _NOTE, r"main_count must be a whole number"),
    ("split", 6, None, r"pass your note too"),
    ("split", 6, "split, 6", r"note has 2 words"),
    ("split", 6, "   ", r"note is empty"),
    ("split", 6, 6, r"note must be text"),
])
def test_failure_note_rejects_a_wrong_bucket_count_or_note(bucket, count, note, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_failure_note(bucket, count, 5, *_note_scene(), note=note)


@pytest.mark.parametrize("new, hint", [                           # review 04s10c P1-1: a number, not a phrasing
    (2, r"(?s)wrong way for 'split'.*above 3.*after the choice"),
    (3, r"already uses"),
    (5.5, r"whole number"),
    ("5", r"whole number"),
    (True, r"whole number"),
    (None, r"whole number"),
])
def test_failure_note_refuses_a_new_min_distance_that_cannot_shrink_the_bucket(new, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_failure_note("split", 6, new, *_note_scene(), note=_NOTE)


def test_failure_note_accepts_a_numpy_int(capsys):
    checks.check_failure_note("split", np.int64(6), np.int64(4), *_note_scene(), note=_NOTE)
    assert "new_min_distance 4" in capsys.readouterr().out


def test_failure_note_refuses_raising_min_distance_for_merges():
    gt = np.array([[1, 1, 0, 2, 2, 0, 3, 3, 0, 4, 4]])
    pred = np.array([[1, 1, 1, 1, 1, 0, 5, 5, 0, 6, 6]])                  # 1 and 2 merged
    with pytest.raises(AssertionError, match=r"(?s)wrong way for 'merge'.*below 3"):
        checks.check_failure_note("merge", 2, 6, pred, gt, note=_NOTE)
    with pytest.raises(AssertionError, match=r"(?s)main_count is 1.*number of merging predictions"):
        checks.check_failure_note("merge", 1, 2, pred, gt, note=_NOTE)


def test_failure_note_runs_segment_and_counts_the_bucket_again(capsys):
    pred, gt = _note_scene()
    fixed = np.where(gt > 0, gt + 20, 0)                                   # every nucleus found whole
    padded = lambda g: np.pad(g, ((0, 0), (2, 0)))                         # noqa: E731 (region: columns 2 on)
    checks.check_failure_note("split", 6, 5, pred, gt, segment=lambda md: padded(fixed if md >= 5 else pred),
                              region=np.s_[:, 2:], note=_NOTE)
    assert "segment(5) has 0 in 'split' (segment(3): 6)" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"(?s)segment\(4\) leaves 6 missed nuclei in 'split'.*too small"):
        checks.check_failure_note("split", 6, 4, pred, gt, segment=lambda md: padded(fixed if md >= 5 else pred),
                                  region=np.s_[:, 2:], note=_NOTE)
    pred[:, 42:48] = 30                                                    # the 7th nucleus found: 6 missed, all split
    merged = np.where(gt > 0, 1, 0)                                        # min_distance far too large: one object
    with pytest.raises(AssertionError, match=r"(?s)misses 7 nuclei in all\s+\(segment\(3\): 6\).*too far"):
        checks.check_failure_note("split", 6, 50, pred, gt, segment=lambda md: padded(merged if md > 8 else pred),
                                  region=np.s_[:, 2:], note=_NOTE)


def _ellipse_answer(**kw):
    def answer(mask):                       # the learner's numpy, with one typical mistake switched on by kw
        rows, cols = np.nonzero(mask)
        centre = np.array([rows.mean(), cols.mean()])
        cov = np.cov(np.stack([cols, rows] if kw.get("swap") else [rows, cols]))          # ddof=1: close enough
        rr, cc = np.indices(mask.shape)
        d = np.stack([rr - centre[0], cc - centre[1]] if kw.get("centred", True) else [rr, cc], axis=-1)
        weight = cov if kw.get("plain") else np.linalg.inv(cov)
        return np.einsum("...i,ij,...j->...", d, weight, d) <= kw.get("k", 4)
    return answer


def _cut_scene():
    """7 true 6×6 squares: 4 cut in halves (missed), 2 cut 4 + 2 columns (the larger piece matches), 1 not found."""
    gt, pred = np.zeros((6, 49), int), np.zeros((6, 49), int)
    for k in range(7):
        gt[:, 7 * k:7 * k + 6] = k + 1
        if k < 4:
            pred[:3, 7 * k:7 * k + 6], pred[3:, 7 * k:7 * k + 6] = 10 + 2 * k, 11 + 2 * k
        elif k < 6:
            pred[:, 7 * k:7 * k + 4], pred[:, 7 * k + 4:7 * k + 6] = 10 + 2 * k, 11 + 2 * k
    return pred, gt


def test_failure_note_names_cut_but_matched_nuclei():      # review 04s11 P3: the lesson's count of cut nuclei
    with pytest.raises(AssertionError, match=r"(?s)6 counts every nucleus cut.*only the unmatched ones count"):
        checks.check_failure_note("split", 6, 5, *_cut_scene(), note=_NOTE)
    checks.check_failure_note("split", 4, 5, *_cut_scene(), note=_NOTE)


_NOTE_BUCKETS = {"merge": [], "split": [1, 2, 3, 4, 5, 6], "missed": [7]}     # _note_scene's, sorted by the check


def test_failure_note_accepts_the_learners_buckets(capsys):           # review 04s12b P2-1: the learner sorts them
    checks.check_failure_note("split", 6, 5, *_note_scene(), note=_NOTE, buckets=_NOTE_BUCKETS)
    checks.check_failure_note("split", 6, 5, *_note_scene(), note=_NOTE,
                              buckets={"missed": np.array([7]), "split": {6, 5, 4, 3, 2, 1}, "merge": ()})
    assert capsys.readouterr().out.count("is for your teacher") == 2


@pytest.mark.parametrize("buckets, hint", [
    ({"merge": [], "split": [1, 2, 3, 4, 5], "missed": [6, 7]}, r"nucleus 6 is in 'missed', but it belongs in 'split'"),
    ({"merge": [], "split": [1, 2, 3, 4, 5, 6]}, r"exactly the keys"),
    ({"merge": [], "split": [1, 2, 3, 4, 5, 6], "missed": [7, 8]}, r"holds nucleus 8, which a prediction matches"),
    ({"merge": [], "split": [1, 2, 3, 4, 5, 6], "missed": []}, r"nucleus 7 is missed .* but in no bucket"),
    ({"merge": [1], "split": [1, 2, 3, 4, 5, 6], "missed": [7]}, r"nucleus 1 is in both 'merge' and 'split'"),
    ({"merge": [], "split": 6, "missed": [7]}, r"must be a list of true ids"),
    ([1, 2, 3], r"buckets must be a dict"),
])
def test_failure_note_names_a_wrongly_sorted_nucleus(buckets, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_failure_note("split", 6, 5, *_note_scene(), note=_NOTE, buckets=buckets)


def test_failure_note_refuses_the_lessons_helper_in_the_notebook(monkeypatch):   # review 04s12b P2-1
    import IPython

    shell = type("Shell", (), {"user_ns": {"In": ["", "buckets = instances.failure_buckets(pred3, gt)"]}})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    with pytest.raises(AssertionError, match=r"calls instances.failure_buckets"):
        checks.check_failure_note("split", 6, 5, *_note_scene(), note=_NOTE, buckets=_NOTE_BUCKETS)
    shell.user_ns["In"] = ["", "# not instances.failure_buckets: built by hand\nx = 'failure_buckets'"]
    checks.check_failure_note("split", 6, 5, *_note_scene(), note=_NOTE, buckets=_NOTE_BUCKETS)


def test_failure_note_asks_for_the_test_region(capsys):                       # review 04s12b P3-7
    pred, gt = _note_scene()
    with pytest.raises(AssertionError, match=r"(?s)main_count is 5.*pass the test region \(columns 256 on\)"):
        checks.check_failure_note("split", 5, 5, pred, gt, segment=lambda md: pred, note=_NOTE)


def test_moments_ellipse_accepts_numpy_moments(capsys):             # review 04s10 P2-4: an exercise on section 7
    checks.check_moments_ellipse(_ellipse_answer())
    assert "all cases pass" in capsys.readouterr().out


def _regionprops_answer(mask):
    from skimage.draw import ellipse
    from skimage.measure import regionprops

    p, out = regionprops(mask.astype(int))[0], np.zeros(mask.shape, bool)
    out[ellipse(*p.centroid, p.axis_major_length / 2, p.axis_minor_length / 2, mask.shape, rotation=p.orientation)] = True
    return out


@pytest.mark.parametrize("wrong, hint", [
    (_ellipse_answer(k=1), r"0\.2\d times the area.*one standard deviation"),
    (_ellipse_answer(k=16), r"four standard deviations"),
    (_ellipse_answer(k=2), r"SQUARED distance.*k = 2\^2 = 4"),                               # review 04s10c P3-3
    (_ellipse_answer(k=3.8), r"k is off.*area scales with k"),                                # review 04s11 P3
    (_ellipse_answer(k=4.6), r"k is off.*area scales with k"),
    (_ellipse_answer(centred=False), r"not centred|empty"),
    (_ellipse_answer(plain=True), r"inverse"),
    (_ellipse_answer(swap=True), r"mirrored"),
    (_regionprops_answer, r"calls skimage"),
    (checks.lesson04._reference_ellipse, "reference answer"),
])
def test_moments_ellipse_names_the_cause_of_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=f"(?s){hint}"):
        checks.check_moments_ellipse(wrong)


def _false_areas_answer(mode="right"):
    def answer(pred, reference):              # the learner's numpy, with one typical mistake switched on by mode
        out = []
        for i in np.unique(pred if mode == "background" else pred[pred > 0]):
            obj = pred == i
            best = 0.0
            for j in np.unique(reference[obj & (reference > 0)]):
                ref = reference == j
                inter = np.sum(obj & ref)
                best = max(best, 1.0 if mode == "overlap" else inter / ref.sum() if mode == "ref area" else
                           inter / obj.sum() if mode == "own area" else
                           2 * inter / (obj.sum() + ref.sum()) if mode == "dice" else inter / np.sum(obj | ref))
            if best < 0.5 if mode == "at least" else best <= 0.5:
                out.append(int(i) if mode == "ids" else int(obj.sum()))
        return out[::-1]                       # any order will do
    return answer


def test_false_areas_accepts_numpy_matching(capsys):                  # review 04s10b P2-4: a coins exercise
    checks.check_false_areas(_false_areas_answer())
    assert "right on the scene and on the coins" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda pred, reference: int(pred.max()) - int(reference.max()), r"one number"),           # count only
    (lambda pred, reference: [], r"finds no false object"),
    (_false_areas_answer("overlap"), r"merely overlaps"),
    (_false_areas_answer("ref area"), r"reference object's area"),
    (_false_areas_answer("at least"), r"exactly 0.5"),
    (_false_areas_answer("own area"), r"predicted object's own area"),                     # review 04s10c P2-1
    (_false_areas_answer("dice"), r"by Dice"),
    (_false_areas_answer("ids"), r"returned ids"),
    (_false_areas_answer("background"), r"background \(id 0\)"),
    (lambda pred, reference: _false_areas_answer()(reference, pred), r"\(FN\)"),              # the other way round
    (lambda pred, reference: __import__("segcourse").checks.lesson04._reference_false_areas(pred, reference),
     r"reference answer"),
])
def test_false_areas_names_each_typical_mistake(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_false_areas(wrong)


def test_false_areas_refuses_the_library_matcher():
    def library(pred, reference):
        from segcourse import instances
        m = instances.match_instances(pred, reference)
        return [int((pred == i).sum()) for i in m.unmatched_pred]
    with pytest.raises(AssertionError, match="match_instances"):
        checks.check_false_areas(library)
