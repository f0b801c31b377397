"""Lesson 00's checks name the cause of the typical mistakes of reviews 00s9 (P2-6, P2-7, P3-14) and 00s11
(exercises 11 and 12: the overlay and failure note, the boundary flag).

Each wrong answer below is a student answer of that review; each test runs in well under a second.
"""

import numpy as np
import pytest
from scipy import ndimage

from segcourse import checks, metrics


from _hints import fails as _fails  # noqa: E402  (tests/ is on sys.path, as for _lab)


# ------------------------------------------------------------------------------------ exercise 1
def test_dice_bitwise_and_on_raw_values_is_caught():
    def bitwise(p, t):  # & on the stored values: 1 & 2 is 0
        p, t = np.asarray(p), np.asarray(t)
        s = np.count_nonzero(p, axis=(1, 2)) + np.count_nonzero(t, axis=(1, 2))
        with np.errstate(invalid="ignore"):
            return 2 * np.count_nonzero(p & t, axis=(1, 2)) / s
    _fails(checks.check_dice_per_image, bitwise, "pred holds 1 and target holds 2", "bitwise, 1 & 2 is 0", "mask != 0")


def test_sklearn_and_scipy_are_not_called_the_function_the_check_compares_with():
    from scipy.spatial import distance
    def one_minus_dice(p, t):
        p, t = np.asarray(p) != 0, np.asarray(t) != 0
        return np.array([1 - distance.dice(a.ravel(), b.ravel()) if (a | b).any() else np.nan for a, b in zip(p, t)])
    text = _fails(checks.check_dice_per_image, one_minus_dice, "calls scipy.spatial.distance.dice",
                  "computes the score for you")
    assert "compares with" not in text


# ------------------------------------------------------------------------------------ exercise 2
def _sigmoid_mask(z, th):
    return 1 / (1 + np.exp(-np.asarray(z, float))) > th


def test_threshold_dice_and_pixel_accuracy_are_named():
    def dice(z, t, th):
        p, t = _sigmoid_mask(z, th), np.asarray(t) != 0
        s = p.sum() + t.sum()
        return 2 * (p & t).sum() / s if s else np.nan
    _fails(checks.check_iou_at_threshold, dice, "is the Dice of the mask", "union")
    _fails(checks.check_iou_at_threshold, lambda z, t, th: (_sigmoid_mask(z, th) == (np.asarray(t) != 0)).mean(),
           "pixel accuracy", "no TN term")


# ------------------------------------------------------------------------------------ exercise 4
def _cells(p, t, k):
    m = np.full((len(p), k), np.nan)
    for n, (a, b) in enumerate(zip(np.asarray(p), np.asarray(t))):
        for c in range(k):
            u = ((a == c) | (b == c)).sum()
            if u:
                m[n, c] = ((a == c) & (b == c)).sum() / u
    return m


def test_image_mean_iou_averaging_mistakes_and_dice_are_named():
    _fails(checks.check_image_mean_iou, lambda p, t, k: float(np.nanmean(np.nanmean(_cells(p, t, k), 0))),
           "class first", "each image weighs the same")
    _fails(checks.check_image_mean_iou, lambda p, t, k: float(np.nanmean(_cells(p, t, k))),
           "all image × class cells")
    def dice(p, t, k):
        m = np.full((len(p), k), np.nan)
        for n, (a, b) in enumerate(zip(np.asarray(p), np.asarray(t))):
            for c in range(k):
                s = (a == c).sum() + (b == c).sum()
                if s:
                    m[n, c] = 2 * ((a == c) & (b == c)).sum() / s
        return float(np.mean(np.nanmean(m, 1)))
    _fails(checks.check_image_mean_iou, dice, "mean Dice per image")


# ------------------------------------------------------------------------------------ exercise 6
def _means(i, u):
    i, u = np.asarray(i, float), np.asarray(u, float)
    iou = np.divide(i, u, out=np.zeros_like(u), where=u > 0)
    skipped = iou[u > 0].mean() if (u > 0).any() else np.nan
    return iou.mean(), np.where(u > 0, iou, 1.0).mean(), skipped


def test_empty_conventions_check_passes_the_right_answer_and_names_each_mistake():
    checks.check_empty_conventions(_means)
    checks.check_empty_conventions(lambda i, u: tuple(np.float32(v) if not np.isnan(v) else v for v in _means(i, u)))
    _fails(checks.check_empty_conventions, lambda i, u: _means(i, u)[::-1], "another order")
    def raw_nan(i, u):
        with np.errstate(invalid="ignore"):
            iou = np.asarray(i) / np.asarray(u)
        return np.mean(iou), 1.0, np.nanmean(iou)
    _fails(checks.check_empty_conventions, raw_nan, "as_zero is nan", "convention's number")
    _fails(checks.check_empty_conventions, lambda i, u: (*_means(i, u)[:2], np.nan), "skipped is nan", "np.nanmean")
    _fails(checks.check_empty_conventions, lambda i, u: (*_means(i, u)[:2], _means(i, u)[0]), "car-free ones too")
    def drops_misses(i, u):
        i, u = np.asarray(i), np.asarray(u)
        return (*_means(i, u)[:2], float((i[i > 0] / u[i > 0]).mean()))
    _fails(checks.check_empty_conventions, drops_misses, "is a real 0", "Skip only union 0")
    _fails(checks.check_empty_conventions, lambda i, u: (*_means(i, u)[:2], np.sum(i) / np.sum(u)), "pooled")
    _fails(checks.check_empty_conventions, lambda i, u: _means(i, u)[0], "return three numbers")
    def all_empty_zero(i, u):
        a, b, c = _means(i, u)
        return a, b, 0.0 if np.isnan(c) else c
    _fails(checks.check_empty_conventions, all_empty_zero, "nothing to average, so it is NaN")
    def library(i, u):
        metrics.iou(np.ones((1, 1)), np.ones((1, 1)))
        return _means(i, u)
    _fails(checks.check_empty_conventions, library, "calls segcourse.metrics.iou")


# ------------------------------------------------------------------------------------ exercise 7
def test_boundary_band_euclidean_distance_is_named():
    def edt(m, d):
        m = np.asarray(m) != 0
        return m & (ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1] <= d)
    _fails(checks.check_boundary_band, edt, "Euclidean", "distance_transform_edt", "chessboard", "corner")
    def edt_unpadded(m, d):
        m = np.asarray(m) != 0
        return m & (ndimage.distance_transform_edt(m) <= d)
    _fails(checks.check_boundary_band, edt_unpadded, "Euclidean")


# ------------------------------------------------------------------------------------ exercise 8
def test_confused_pair_mentions_the_lesson_only_for_the_lessons_pair():
    names = ["sky", "road", "sidewalk", "lane marking", "car"]
    cm = np.array([[900, 0, 2, 0, 5], [0, 1500, 22, 5, 25], [3, 19, 400, 0, 4], [0, 30, 0, 60, 0],
                   [6, 20, 3, 0, 110]])
    with pytest.raises(AssertionError) as info:
        checks.check_confused_pair(("road", "sidewalk"), cm, names)
    assert "the lesson's" in " ".join(str(info.value).split())
    with pytest.raises(AssertionError) as info:
        checks.check_confused_pair(("sky", "car"), cm, names)
    assert "lesson" not in str(info.value)



def test_empty_conventions_plain_list_crash_is_named_review_00s10():
    def plain(i, u):                     # Python lists: 0 / 0 raises, and so does a mean over no image
        ious = [a / b for a, b in zip(i, u) if b]
        n = len(u)
        return sum(ious) / n, (sum(ious) + n - len(ious)) / n, sum(ious) / len(ious)
    _fails(checks.check_empty_conventions, plain, "raised ZeroDivisionError", "no image to average", "NaN")

# ------------------------------------------- review 00s9b: exercise 9 (colours to ids), 3 (void), 4 (NaN)
def _rgb_ids(rgb, table, every=True, keep_void=True, keys=True):
    rgb = np.asarray(rgb)
    k = np.array(list(table)) if keys else np.arange(len(table))
    same = rgb[..., None, :] == np.array(list(table.values()))
    same = same.all(-1) if every else same.any(-1)
    return np.where(same.any(-1), k[same.argmax(-1)], 255) if keep_void else k[same.argmax(-1)]


def test_rgb_to_ids_right_answers_pass():
    checks.check_rgb_to_ids(_rgb_ids)

    def per_class(rgb, table):
        out = np.full(np.shape(rgb)[:-1], 255, np.uint8)
        for k, colour in table.items():
            out[(np.asarray(rgb) == colour).all(-1)] = k
        return out
    checks.check_rgb_to_ids(per_class)


def test_rgb_to_ids_typical_mistakes_are_named():
    _fails(checks.check_rgb_to_ids, lambda r, t: _rgb_ids(r, t, keep_void=False), "should be 255 (void)",
           "argmax of a row of all False")
    _fails(checks.check_rgb_to_ids, lambda r, t: _rgb_ids(r, t, every=False), "ANY channel", ".all(axis=-1)")
    _fails(checks.check_rgb_to_ids, lambda r, t: _rgb_ids(r, t, keys=False), "ROW of the table", "[7, 8, 23, 26]")
    _fails(checks.check_rgb_to_ids, lambda r, t: _rgb_ids(r, t).astype(np.int8), "int8 cannot hold 255")
    _fails(checks.check_rgb_to_ids, lambda r, t: _rgb_ids(r, t).astype(float), "dtype float64")


def test_rgb_to_ids_channel_sum_is_named_review_00s10():
    def channel_sum(rgb, table):
        s = np.asarray(rgb).astype(np.int64).sum(-1)
        out = np.full(s.shape, 255, np.uint8)
        for k, colour in table.items():
            out[s == sum(colour)] = k
        return out
    _fails(checks.check_rgb_to_ids, channel_sum, "SUM of the three channels", "both sum to 128")


def test_threshold_ignored_is_named_review_00s10():
    _fails(checks.check_iou_at_threshold, lambda z, t, th: _sigmoid_mask(z, 0.5).sum() and metrics.iou(
        _sigmoid_mask(z, 0.5), np.asarray(t) != 0), "does not use the threshold argument")

    def nearest(rgb, table):
        d = ((np.asarray(rgb, int)[..., None, :] - np.array(list(table.values()))) ** 2).sum(-1)
        return np.array(list(table))[d.argmin(-1)]
    _fails(checks.check_rgb_to_ids, nearest, "NEAREST colour")

    def lesson_cell(rgb, table):   # lesson 00 §1b's cell with the table's keys: one image only
        keys, table = np.array(list(table)), np.array(list(table.values()))
        same = (rgb[:, :, None, :] == table[None, None, :, :]).all(axis=-1)
        return np.where(same.any(axis=-1), keys[same.argmax(axis=-1)], 255)
    _fails(checks.check_rgb_to_ids, lesson_cell, "batch", "LAST axis", "rgb[..., None, :]")


def test_confusion_from_scores_void_pixels_are_left_out():
    def counts_void(scores, target):       # lesson 00 §6's bincount on everything
        k = np.shape(scores)[1]
        index = k * np.asarray(target).astype(np.int64).ravel() + np.argmax(scores, 1).ravel()
        return np.bincount(index, minlength=k * k).reshape(k, k)
    _fails(checks.check_confusion_from_scores, counts_void, "2 void pixels (255)", "crashed", "target != 255")

    def clipped(scores, target):
        k = np.shape(scores)[1]
        t = np.minimum(np.asarray(target).astype(np.int64), k - 1)
        return np.bincount((k * t + np.argmax(scores, 1)).ravel(), minlength=k * k).reshape(k, k)
    _fails(checks.check_confusion_from_scores, clipped, "yours counts 6", "target != 255")


def test_image_mean_iou_np_mean_over_nan_is_named():
    def plain_mean(pred, target, k):
        out = []
        for p, t in zip(np.asarray(pred), np.asarray(target)):
            cm = np.bincount(k * t.ravel() + p.ravel(), minlength=k * k).reshape(k, k)
            tp = np.diag(cm)
            with np.errstate(invalid="ignore"):
                out.append(np.mean(tp / (cm.sum(0) + cm.sum(1) - tp)))
        return float(np.mean(out))
    _fails(checks.check_image_mean_iou, plain_mean, "yours is nan", "class 3 is in neither mask", "np.nanmean")


def test_image_mean_iou_prediction_only_classes_are_caught():
    def pred_only(pred, target, k):  # review 00s9c P1-1: averages the prediction's classes only
        out = []
        for p, t in zip(np.asarray(pred), np.asarray(target)):
            out.append(np.mean([((p == c) & (t == c)).sum() / ((p == c) | (t == c)).sum() for c in np.unique(p)]))
        return float(np.mean(out))
    text = _fails(checks.check_image_mean_iou, pred_only, "should be 0.5833", "yours is 0.875",
                  "the prediction's classes", "misses entirely has IoU 0 and stays in the mean")
    assert "num_classes=3" in text

    def tp_only(pred, target, k):    # keeps the classes with TP > 0
        out = []
        for p, t in zip(np.asarray(pred), np.asarray(target)):
            ious = [((p == c) & (t == c)).sum() / ((p == c) | (t == c)).sum() for c in range(k)]
            out.append(np.mean([v for v in ious if v > 0]))
        return float(np.mean(out))
    _fails(checks.check_image_mean_iou, tp_only, "classes with TP > 0", "stays in the mean")

    def target_only(pred, target, k):  # passes the missed class, fails the invented one
        out = []
        for p, t in zip(np.asarray(pred), np.asarray(target)):
            out.append(np.mean([((p == c) & (t == c)).sum() / ((p == c) | (t == c)).sum() for c in np.unique(t)]))
        return float(np.mean(out))
    _fails(checks.check_image_mean_iou, target_only, "only the classes of the target", "false alarm")



def test_image_mean_iou_batch_classes_scored_0_is_named_review_00s10():
    def batch_classes(pred, target, k):
        p, t = np.asarray(pred), np.asarray(target)
        classes = np.union1d(np.unique(p), np.unique(t))
        return float(np.mean([np.mean([((a == c) & (b == c)).sum() / max(((a == c) | (b == c)).sum(), 1)
                                       for c in classes]) for a, b in zip(p, t)]))
    text = _fails(checks.check_image_mean_iou, batch_classes, "classes of the whole batch", "no IoU there")
    assert "class first" not in text

# ------------------------------------------------------------------------- exercise 7 (review 00s9c P2-4)
def _boundary_iou(pred, target, ratio, rnd=round, at_least_1=True, structure=np.ones((3, 3)), border=0):
    p, t = np.asarray(pred) != 0, np.asarray(target) != 0
    d = int(rnd(ratio * np.hypot(*t.shape)))
    d = max(1, d) if at_least_1 else d
    bp, bt = ((m & ~ndimage.binary_erosion(m, structure, iterations=d, border_value=border)) if d else m & ~m
              for m in (p, t))
    union = np.count_nonzero(bp | bt)
    return np.count_nonzero(bp & bt) / union if union else float("nan")


def test_boundary_iou_right_answer_passes_and_d_mistakes_are_named():
    checks.check_boundary_iou(_boundary_iou)
    _fails(checks.check_boundary_iou, lambda p, t, r: _boundary_iou(p, t, r, rnd=int), "3 px wide", "rounds 3.75 down")
    _fails(checks.check_boundary_iou, lambda p, t, r: _boundary_iou(p, t, r, rnd=np.ceil), "rounds 2.20 up")
    _fails(checks.check_boundary_iou, lambda p, t, r: _boundary_iou(p, t, r, at_least_1=False), "gives d = 0",
           "max(1, round(")
    _fails(checks.check_boundary_iou, lambda p, t, r: _boundary_iou(p, t, r, structure=None), "a cross")
    _fails(checks.check_boundary_iou, lambda p, t, r: _boundary_iou(p, t, r, border=1), "along the image edge")
    _fails(checks.check_boundary_iou, lambda p, t, r: metrics.iou(np.asarray(p) != 0, np.asarray(t) != 0),
           "that is the mask IoU")
    _fails(checks.check_boundary_iou, lambda p, t, r: metrics.boundary_iou(np.asarray(p) != 0, np.asarray(t) != 0, r),
           "calls segcourse.metrics.boundary_iou")



def _band_answer(d_of, band):
    """A boundary IoU with its own rule for d (from dilation_ratio and the shape) and for the band."""
    def answer(pred, target, ratio):
        p, t = np.asarray(pred) != 0, np.asarray(target) != 0
        d = d_of(ratio, t.shape)
        bp, bt = band(p, d), band(t, d)
        union = np.count_nonzero(bp | bt)
        return np.count_nonzero(bp & bt) / union if union else float("nan")
    return answer


_SQUARE_BAND = lambda m, d: m & ~ndimage.binary_erosion(m, np.ones((3, 3)), iterations=d)   # noqa: E731


def test_boundary_iou_d_0_with_scipys_iterations_0_is_named_review_00s10():
    # review 00s10 P2-1: iterations=0 erodes until nothing changes, so the band is the whole mask
    _fails(checks.check_boundary_iou, _band_answer(lambda r, s: round(r * np.hypot(*s)), _SQUARE_BAND),
           "rounds to d = 0", "iterations=0", "erodes until nothing changes", "the whole mask", "max(1, round(")


def test_boundary_iou_longer_side_is_not_told_int_review_00s10():
    text = _fails(checks.check_boundary_iou, _band_answer(lambda r, s: max(1, round(r * max(s))), _SQUARE_BAND),
                  "the longer side, 40 px", "not by the diagonal")
    assert "int()" not in text


def test_boundary_iou_euclidean_band_is_named_review_00s10():
    def edt(m, d):
        return m & (ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1] <= d)
    text = _fails(checks.check_boundary_iou, _band_answer(lambda r, s: max(1, round(r * np.hypot(*s))), edt),
                  "your band is round", "Euclidean", "chessboard")
    assert "int()" not in text

# ------------------------------------------------------------------------- exercise 9, the way back
def _ids_to_rgb(ids, table):
    lut = np.zeros((256, 3), np.uint8)
    lut[list(table)] = list(table.values())
    lut[255] = (224, 224, 192)
    return lut[np.asarray(ids)]


def test_ids_to_rgb_round_trip_and_its_mistakes():
    checks.check_rgb_to_ids(_rgb_ids, _ids_to_rgb)
    _fails(lambda f: checks.check_rgb_to_ids(_rgb_ids, f),
           lambda ids, table: np.array(list(table.values()), np.uint8)[np.asarray(ids)], "not row numbers",
           "a row for every possible id")

    def black_void(ids, table):
        out = _ids_to_rgb(ids, table)
        out[np.asarray(ids) == 255] = 0
        return out
    _fails(lambda f: checks.check_rgb_to_ids(_rgb_ids, f), black_void, "void pixels (255)", "(224, 224, 192)")
    _fails(lambda f: checks.check_rgb_to_ids(_rgb_ids, f), lambda i, t: _ids_to_rgb(i, t).astype(np.int64),
           "dtype int64", "uint8")
    _fails(lambda f: checks.check_rgb_to_ids(_rgb_ids, f), lambda i, t: np.moveaxis(_ids_to_rgb(i, t), -1, 0),
           "colour last")


# ------------------------------------------- review 00s10b P3-5, P3-6: hints that gave only numbers
def _dice_like(num, den):
    def answer(pred, target):
        p, t = np.asarray(pred) != 0, np.asarray(target) != 0
        i = np.count_nonzero(p & t, axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            return num * i / den(p, t)
    return answer


def test_dice_without_the_2_and_over_the_union_are_named_review_00s10b():
    both = lambda p, t: np.count_nonzero(p, axis=(1, 2)) + np.count_nonzero(t, axis=(1, 2))   # noqa: E731
    union = lambda p, t: np.count_nonzero(p | t, axis=(1, 2))                                   # noqa: E731
    _fails(checks.check_dice_per_image, _dice_like(1, both), "half of it", "forgot the 2")
    _fails(checks.check_dice_per_image, _dice_like(2, union), "by the union", "Dice divides by |P| + |T|")


def test_threshold_tanh_and_sum_of_sizes_are_named_review_00s10b():
    def tanh(z, t, th):
        p, t = np.tanh(np.asarray(z, float)) > th, np.asarray(t) != 0
        u = np.count_nonzero(p | t)
        return np.count_nonzero(p & t) / u if u else np.nan
    text = _fails(checks.check_iou_at_threshold, tanh, "tanh(z) > 0.5", "no probability", "1 / (1 + exp(-z))")
    assert "logits > 0.5" not in text

    def sizes(z, t, th):
        p, t = _sigmoid_mask(z, th), np.asarray(t) != 0
        return np.count_nonzero(p & t) / (np.count_nonzero(p) + np.count_nonzero(t))
    _fails(checks.check_iou_at_threshold, sizes, "|P ∩ T| / (|P| + |T|)", "counts each overlapping pixel twice",
           "|P| + |T| - |P ∩ T|")


def test_confusion_matrix_of_floats_is_refused_review_00s10b():
    def histogram(scores, target):
        k = np.shape(scores)[1]
        t, p = np.asarray(target).ravel(), np.argmax(scores, 1).ravel()
        keep = t != 255
        return np.histogram2d(t[keep], p[keep], bins=k, range=[[0, k], [0, k]])[0]
    _fails(checks.check_confusion_from_scores, histogram, "dtype float64", "np.histogram2d", ".astype(np.int64)")


def test_image_mean_iou_frequency_weighted_is_named_review_00s10b():
    def weighted(pred, target, k):
        out = []
        for p, t in zip(np.asarray(pred), np.asarray(target)):
            cm = np.bincount(k * t.ravel() + p.ravel(), minlength=k * k).reshape(k, k)
            out.append(np.trace(cm) / (cm.sum(0) + cm.sum(1) - np.diag(cm)).sum())
        return float(np.mean(out))
    _fails(checks.check_image_mean_iou, weighted, "ΣTP / ΣU", "same weight")


def test_boundary_iou_one_pixel_band_and_area_side_are_named_review_00s10b():
    ok = lambda r, s: max(1, round(r * np.hypot(*s)))                     # noqa: E731
    _fails(checks.check_boundary_iou, _band_answer(lambda r, s: 1, _SQUARE_BAND), "1 px wide at every",
           "here d = 2", "iterations=d")
    _fails(checks.check_boundary_iou, _band_answer(ok, lambda m, d: _SQUARE_BAND(m, 1)), "eroded once")
    cross = ndimage.generate_binary_structure(2, 1)
    find_boundaries = lambda m, d: m & ~ndimage.binary_erosion(m, cross, border_value=1)     # noqa: E731
    _fails(checks.check_boundary_iou, _band_answer(ok, find_boundaries), "find_boundaries", "has no width")
    _fails(checks.check_boundary_iou, _band_answer(lambda r, s: max(1, round(r * np.sqrt(s[0] * s[1]))),
                                                   _SQUARE_BAND), "sqrt(H · W)", "not by the diagonal")


def test_rgb_to_ids_any_channel_with_last_match_is_named_review_00s10b():
    def any_loop(rgb, table):
        out = np.full(np.shape(rgb)[:-1], 255)
        for k, colour in table.items():
            out[(np.asarray(rgb) == np.array(colour)).any(-1)] = k
        return out
    _fails(checks.check_rgb_to_ids, any_loop, "ANY channel", ".all(axis=-1)")


# ------------------------------------------- review 00s10b P3-7: exercise 10, one-hot and back on a batch
def _to_one_hot(labels, k):
    labels = np.asarray(labels)
    return (labels[:, None] == np.arange(k)[:, None, None]).astype(np.uint8)


def _from_one_hot(one_hot):
    one_hot = np.asarray(one_hot) != 0
    return np.where(one_hot.any(1), one_hot.argmax(1), 255)


def test_one_hot_batch_right_answer_passes_and_mistakes_are_named():
    checks.check_one_hot_batch(_to_one_hot, _from_one_hot)
    ok = _from_one_hot
    _fails(lambda f: checks.check_one_hot_batch(f, ok), lambda l, k: np.eye(k, dtype=np.uint8)[l].transpose(2, 0, 1),
           "IndexError", "255 is void")
    _fails(lambda f: checks.check_one_hot_batch(f, ok),
           lambda l, k: np.moveaxis(np.eye(k)[np.clip(np.asarray(l).astype(int), 0, k - 1)], -1, 1),
           "void pixel (255) has channel 3 set")
    _fails(lambda f: checks.check_one_hot_batch(f, ok), lambda l, k: np.moveaxis(_to_one_hot(l, k), 1, -1),
           "class axis last", "np.moveaxis(..., -1, 1)")
    _fails(lambda f: checks.check_one_hot_batch(f, ok), lambda l, k: np.moveaxis(_to_one_hot(l, k), 1, 0),
           "before the batch axis")
    _fails(lambda f: checks.check_one_hot_batch(f, ok), lambda l, k: _to_one_hot(l, int(np.max(l)) + 1),
           "256 channels", "num_classes is 4")
    _fails(lambda f: checks.check_one_hot_batch(_to_one_hot, f), lambda o: np.asarray(o).argmax(1),
           "void pixels id 0, not 255", "np.where(one_hot.any(1)")
    _fails(lambda f: checks.check_one_hot_batch(_to_one_hot, f), lambda o: np.asarray(o).argmax(0),
           "argmax over axis 0")
    _fails(lambda f: checks.check_one_hot_batch(_to_one_hot, f), lambda o: _from_one_hot(o).astype(float),
           "dtype float64")


# ------------------------------------------------------------------------------- exercise 11
def _blend(image, mask, colour, alpha):
    image = np.asarray(image, dtype=float)
    return np.where(np.asarray(mask)[..., None] != 0, (1 - alpha) * image + alpha * np.asarray(colour) / 255, image)


def _stain():
    yy, xx = np.mgrid[:32, :32]
    truth = (yy - 15) ** 2 / 50 + (xx - 16) ** 2 / 90 < 1
    return np.full((32, 32, 3), 0.5), truth


def test_overlay_note_right_answers_pass_for_each_kind_of_fault():
    image, truth = _stain()
    shifted = np.roll(truth, 2, axis=1)
    checks.check_overlay_note(_blend, image, truth, shifted, f"shifted 2 px right: {(shifted != truth).sum()} wrong")
    bite = truth & (np.arange(32) < 20)
    checks.check_overlay_note(_blend, image, truth, bite, f"the right end is missing: {(bite != truth).sum()} px")
    grown = ndimage.binary_dilation(truth)
    checks.check_overlay_note(_blend, image, truth, grown, f"{(grown != truth).sum()} extra pixels all round")


def test_overlay_mistakes_are_named():
    image, truth = _stain()
    shifted = np.roll(truth, 1, axis=1)
    note = f"shifted 1 px: {(shifted != truth).sum()} pixels wrong"

    def check(f):
        return checks.check_overlay_note(f, image, truth, shifted, note)
    _fails(check, lambda im, m, c, a: (1 - a) * np.asarray(im) + a * np.asarray(c) / 255, "whole image",
           "mask[..., None] != 0")
    _fails(check, lambda im, m, c, a: _blend(im, m, np.asarray(c) * 255, a), "divide the colour by 255")
    _fails(check, lambda im, m, c, a: _blend(im, m, c, 1 - a), "alpha is on the wrong side")
    _fails(check, lambda im, m, c, a: _blend(im, np.asarray(m) == 1, c, a), "mask == 1", "mask != 0")
    _fails(check, lambda im, m, c, a: _blend(im, m, c, a)[..., 0], "shape")


def test_failure_note_mistakes_are_named():
    image, truth = _stain()
    shifted = np.roll(truth, 1, axis=1)
    wrong = (shifted != truth).sum()
    _fails(lambda n: checks.check_overlay_note(_blend, image, truth, shifted, n), f"a part is missing: {wrong} px",
           "your faulty mask is a shift", "names a missing")
    _fails(lambda n: checks.check_overlay_note(_blend, image, truth, shifted, n), "shifted, IoU 0.9",
           "how many pixels are wrong", "(faulty != truth).sum()")
    _fails(lambda n: checks.check_overlay_note(_blend, image, truth, shifted, n), f"shifted\n{wrong} wrong",
           "one line")
    _fails(lambda f: checks.check_overlay_note(_blend, image, truth, f, "shifted: 0"), truth.copy(),
           "faulty equals truth")
    mixed = truth.copy()
    mixed[0, 0], mixed[15, 16] = True, False
    _fails(lambda f: checks.check_overlay_note(_blend, image, truth, f, "2 wrong"), mixed, "plant one fault only")


def _bite_case():
    image, truth = _stain()
    bite = truth & (np.arange(32) >= 12)                      # the left part of the stain cut off
    return image, truth, bite, int((bite != truth).sum())


def test_overlay_note_whole_word_stems_accept_the_right_notes_review_00s11b():
    image, truth, bite, wrong = _bite_case()
    for note in (f"left part of the stain removed: {wrong} pixels wrong",      # "moved" is inside "removed"
                 f"the left end was dropped: {wrong} px", f"{wrong} pixels lost on the left"):
        checks.check_overlay_note(_blend, image, truth, bite, note)
    shifted = np.roll(truth, 2, axis=1)
    n = int((shifted != truth).sum())
    checks.check_overlay_note(_blend, image, truth, shifted, f"translated 2 px right: {n} pixels wrong")
    checks.check_overlay_note(_blend, image, truth, shifted, f"moved right: {n} wrong, missing left, extra right")


def test_overlay_note_substrings_no_longer_accept_wrong_notes_review_00s11b():
    image, truth, bite, wrong = _bite_case()
    grown = ndimage.binary_dilation(truth)
    g = int((grown != truth).sum())
    _fails(lambda n: checks.check_overlay_note(_blend, image, truth, grown, n),
           f"in the overlay a part is missing: {g} pixels", "an extra-pixels fault", "names a missing-part fault")
    _fails(lambda n: checks.check_overlay_note(_blend, image, truth, bite, n),
           f"the whole mask looks off: {wrong} pixels wrong", "a missing-part fault", "names none")
    _fails(lambda n: checks.check_overlay_note(_blend, image, truth, bite, n),
           f"extra pixels, hard to understand: {wrong}", "names an extra-pixels fault")


def test_overlay_note_naming_two_kinds_of_fault_fails_review_00s11b():
    image, truth, bite, wrong = _bite_case()
    _fails(lambda n: checks.check_overlay_note(_blend, image, truth, bite, n),
           f"missing or extra: {wrong} pixels", "also an extra-pixels fault", "name that one kind")
    _fails(lambda n: checks.check_overlay_note(_blend, image, truth, bite, n),
           f"cut off, or shifted: {wrong} pixels", "also a shift")


# ------------------------------------------------------------------------------- exercise 12
def _flag_case():
    gy, gx = np.mgrid[:40, :40]
    truth = (gy - 20) ** 2 + (gx - 19) ** 2 <= 81
    return {"A": truth & ~((gy - 13) ** 2 + (gx - 26) ** 2 <= 36), "B": np.roll(truth, 1, axis=1)}, truth


def _band(m):
    return m & ~ndimage.binary_erosion(m, np.ones((3, 3)))


def _band_iou(p, t):
    return (_band(p) & _band(t)).sum() / (_band(p) | _band(t)).sum()


def test_boundary_flag_right_answer_passes_and_mistakes_are_named():
    preds, truth = _flag_case()
    assert metrics.iou(preds["A"], truth) < metrics.iou(preds["B"], truth)      # the trap: A has the lower IoU
    check = checks.check_boundary_flag
    check(("B", "its outline moved 1 px"), preds, truth)
    check(["b", "shifted"], preds, truth)
    check(("B", "its outline is shifted 1 px, so its band misses the truth's band"), preds, truth)
    _fails(lambda a: check(a, preds, truth), ("A", "a bite is missing"), "A has the lower mask IoU",
           "0.663", "0.333", "exercise 7")
    _fails(lambda a: check(a, preds, truth), ("B", "it is worse"), "B is right", "say why")
    _fails(lambda a: check(a, preds, truth), "B", "a name and a reason")
    _fails(lambda a: check(a, preds, truth), ("C", "shifted"), "not one of the predictions")


def test_boundary_flag_circular_and_bite_reasons_fail_review_00s11b():
    preds, truth = _flag_case()
    _fails(lambda a: checks.check_boundary_flag(a, preds, truth), ("B", "its boundary IoU is lower"),
           "not which score is lower")
    _fails(lambda a: checks.check_boundary_flag(a, preds, truth),
           ("B", "it has a bite missing on the edge"), "describes a bite", "other prediction")


def test_boundary_flag_grades_the_answer_only_the_numbers_are_exercise_7s_review_00s12():
    """Exercise 12 reads the learner's own exercise-7 boundary_iou (d = 1 on its 40×40 image): the check
    grades the answer, and the old call with a band function first is told the new form."""
    import importlib.util
    import pathlib
    import re

    preds, truth = _flag_case()
    assert max(1, round(0.02 * np.hypot(40, 40))) == 1
    _fails(lambda f: checks.check_boundary_flag(f, preds, truth), lambda p, t: 0.5, "pass only your answer")
    source = (pathlib.Path(__file__).parents[1] / "solutions" / "00_masks_and_iou.py").read_text(encoding="utf-8")
    ex12 = source[source.index("## 12 ·"):]
    assert "boundary_iou(" in ex12 and "binary_erosion" not in ex12 and "def band_iou" not in ex12
    assert re.search(r"check_boundary_flag\(flagged, predictions, round_truth\)", ex12)
    assert importlib.util.find_spec("scipy")


def test_boundary_flag_outline_alone_fails_and_shift_with_missing_side_passes_review_00s12b():
    """Review 00s12b P1-a: "outline"/"contour" alone is no reason; a shift described with its missing and
    extra sides, or as the object that "went" 1 px, is one (bite words are read only without a shift word)."""
    preds, truth = _flag_case()
    check = checks.check_boundary_flag
    _fails(lambda a: check(a, preds, truth), ("B", "its outline scores lower"), "B is right", "say why")
    _fails(lambda a: check(a, preds, truth), ("B", "contour"), "B is right", "say why")
    check(("B", "moved 1 px right, so its left edge is missing and its right edge extra"), preds, truth)
    check(("B", "the whole object went 1 px right"), preds, truth)
    check(("B", "its outline is off by one pixel all the way round"), preds, truth)
    _fails(lambda a: check(a, preds, truth), ("B", "its outline has a bite cut out"), "describes a bite")


# ---------------------------------------------------------------------- review 00s12: named hints
def test_overlay_that_edits_the_image_in_place_is_refused_review_00s12():
    image, truth = _stain()
    shifted = np.roll(truth, 1, axis=1)
    note = f"shifted 1 px: {(shifted != truth).sum()} pixels wrong"

    def in_place(image, mask, colour, alpha):       # right numbers, but the learner's image is changed
        inside = np.asarray(mask) != 0
        image[inside] = (1 - alpha) * image[inside] + alpha * np.asarray(colour) / 255
        return image
    _fails(lambda f: checks.check_overlay_note(f, image, truth, shifted, note), in_place, "in place",
           "image.copy()")
    checks.check_overlay_note(_blend, image, truth, shifted, note)


def test_confusion_from_scores_max_instead_of_argmax_is_named_review_00s12():
    def largest_score(scores, target):               # the highest score, not its class
        k = np.shape(scores)[1]
        pred = np.asarray(scores).max(axis=1).astype(np.int64).ravel()
        index = k * np.asarray(target).astype(np.int64).ravel() + pred
        return np.bincount(index, minlength=k * k)[:k * k].reshape(k, k)

    def largest_score_np(scores, target):
        k = np.shape(scores)[1]
        pred = np.clip(np.round(np.max(scores, axis=1)), 0, k - 1).astype(np.int64).ravel()
        return np.bincount(k * np.asarray(target).astype(np.int64).ravel() + pred, minlength=k * k).reshape(k, k)
    for f in (largest_score, largest_score_np):
        _fails(checks.check_confusion_from_scores, f, "largest score (max)", "argmax(axis=1)")


def test_empty_conventions_one_for_real_misses_is_named_review_00s12():
    def one_for_misses(i, u):                         # every IoU of 0 scored 1, real misses included
        i, u = np.asarray(i, float), np.asarray(u, float)
        iou = np.divide(i, u, out=np.zeros_like(u), where=u > 0)
        return (*_means(i, u)[:1], float(np.where(iou == 0, 1.0, iou).mean()), _means(i, u)[2])
    _fails(checks.check_empty_conventions, one_for_misses, "as_one also scores 1", "real 0", "union == 0")


def test_overlay_uint8_return_and_a_count_not_next_to_pixels_are_named_review_00s12b():
    """Review 00s12b P3-f: a 0-255 return is told so; "shifted by 60 px: 7 pixels wrong" names 7, not 60."""
    image, truth = _stain()
    shifted = np.roll(truth, 2, axis=1)
    wrong = int((shifted != truth).sum())

    def as_uint8(im, m, c, a):
        return np.round(255 * _blend(im, m, c, a)).astype(np.uint8)

    _fails(lambda o: checks.check_overlay_note(o, image, truth, shifted, f"shifted: {wrong} pixels wrong"),
           as_uint8, "0 to 255", "floats in 0..1")
    _fails(lambda n: checks.check_overlay_note(_blend, image, truth, shifted, n),
           f"shifted by {wrong} px: 7 pixels wrong", "how many pixels are wrong")
    checks.check_overlay_note(_blend, image, truth, shifted, f"shifted 2 px right: {wrong} pixels wrong")


def test_boundary_iou_copy_of_lesson_cell_44_fails_review_00s12b():
    """Review 00s12b P2-c: the lesson's band cell now peels one layer (d = 1 on its 20×20 image), so pasting it
    into a function is not exercise 7: the check names the fixed width."""
    import pathlib

    lesson = (pathlib.Path(__file__).parents[1] / "notebooks" / "00_masks_and_iou.py").read_text(encoding="utf-8")
    assert "iterations=d" not in lesson and "np.hypot(*square.shape)" not in lesson

    def pasted(pred, target, dilation_ratio):
        square, shifted = np.asarray(target) != 0, np.asarray(pred) != 0
        band_t = square & ~ndimage.binary_erosion(square, np.ones((3, 3)))
        band_p = shifted & ~ndimage.binary_erosion(shifted, np.ones((3, 3)))
        union = (band_t | band_p).sum()
        return (band_t & band_p).sum() / union if union else float("nan")

    _fails(checks.check_boundary_iou, pasted, "1 px wide at every dilation_ratio", "fixed d")


def test_boundary_flag_hint_does_not_hand_over_the_keyword():
    """Review 00s14 P3-i: a right pick with a reason that only quotes the score must be told to look at the
    picture, not given the word ('shifted', 'moved') that passes."""
    t = np.zeros((40, 40), bool)
    t[10:30, 10:30] = True
    cut = t.copy()
    cut[10:16, 10:22] = False
    preds = {"A": cut, "B": np.roll(t, 1, axis=1)}
    with pytest.raises(AssertionError) as err:
        checks.check_boundary_flag(("B", "its boundary IoU is the lowest"), preds, t)
    message = str(err.value).lower()
    assert "picture" in message
    assert not any(word in message for word in ("shift", "moved", "offset", "displaced", "translated"))
