"""segcourse.metrics: seed numbers, references (scikit-learn, torchmetrics, a literal Boundary IoU),
edge cases and every bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import jaccard_score

from segcourse import metrics as M

TRUTH = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]  # roadmap seed (000)
PRED = [[1, 0, 0], [1, 1, 0], [0, 0, 0]]


# --------------------------------------------------------------------------- seed numbers
def test_seed_mask_iou_is_one_half():
    assert M.iou(PRED, TRUTH) == 0.5
    assert round(M.iou(PRED, TRUTH), 3) == 0.5


def test_seed_practice_per_sample_ious():
    # practice text (001): two 3x3 samples, IoU of class 1 is 0.8 for both
    pred_masks = [[[0, 0, 1], [0, 1, 1], [0, 0, 1]], [[1, 1, 0], [1, 0, 0], [1, 0, 0]]]
    gt_masks = [[[0, 0, 1], [0, 1, 1], [0, 1, 1]], [[1, 1, 0], [1, 1, 0], [1, 0, 0]]]
    ious = [M.iou(p, g) for p, g in zip(pred_masks, gt_masks)]
    assert [round(x, 4) for x in ious] == [0.8, 0.8]
    assert round(sum(ious) / len(ious), 4) == 0.8


def test_dice_iou_relation():
    rng = np.random.default_rng(1)
    for _ in range(50):
        p = rng.random((9, 11)) < 0.4
        t = rng.random((9, 11)) < 0.4
        j, d = M.iou(p, t), M.dice(p, t)
        assert d == pytest.approx(2 * j / (1 + j))


# --------------------------------------------------------------------------- references
@pytest.mark.filterwarnings("ignore:A single label was found")
@pytest.mark.parametrize("seed", range(30))
def test_confusion_matrix_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 21))
    shape = tuple(rng.integers(1, 20, size=int(rng.integers(2, 4))))
    t = rng.integers(0, k, shape).astype(rng.choice([np.uint8, np.int32, np.int64]))
    p = rng.integers(0, k, shape).astype(t.dtype)
    ours = M.confusion_matrix(p, t, k)
    ref = sk_confusion_matrix(t.ravel(), p.ravel(), labels=np.arange(k))
    assert ours.dtype == np.int64 and ours.shape == (k, k)
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("seed", range(30))
def test_per_class_iou_matches_sklearn_jaccard(seed):
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(2, 8))
    t = rng.integers(0, k, (3, 16, 16), dtype=np.uint8)
    p = np.where(rng.random(t.shape) < 0.7, t, rng.integers(0, k, t.shape)).astype(np.uint8)
    present = np.union1d(np.unique(t), np.unique(p))
    ours = M.per_class_iou(p, t, k)
    ref = jaccard_score(t.ravel(), p.ravel(), labels=present, average=None)
    np.testing.assert_allclose(ours[present], ref)
    assert np.isnan(np.delete(ours, present)).all()
    assert M.mean_iou(p, t, k) == pytest.approx(ref.mean())


@pytest.mark.parametrize("seed", range(10))
def test_ignore_index_matches_sklearn_on_kept_pixels(seed):
    rng = np.random.default_rng(200 + seed)
    k = 4
    t = rng.integers(0, k, (20, 20)).astype(np.uint8)
    p = rng.integers(0, k, (20, 20)).astype(np.uint8)
    t[rng.random(t.shape) < 0.3] = 255
    keep = t != 255
    ref = sk_confusion_matrix(t[keep], p[keep], labels=np.arange(k))
    np.testing.assert_array_equal(M.confusion_matrix(p, t, k, ignore_index=255), ref)
    assert M.pixel_accuracy(p, t, k, ignore_index=255) == pytest.approx(np.trace(ref) / ref.sum())


def test_per_class_iou_matches_torchmetrics():
    tm = pytest.importorskip("torchmetrics.functional.classification")
    rng = np.random.default_rng(7)
    t = rng.integers(0, 5, (4, 32, 32))
    p = np.where(rng.random(t.shape) < 0.6, t, rng.integers(0, 5, t.shape))
    ref = tm.multiclass_jaccard_index(torch.from_numpy(p), torch.from_numpy(t), num_classes=5, average=None)
    np.testing.assert_allclose(M.per_class_iou(p, t, 5), ref.numpy(), rtol=1e-6)


def _literal_boundary_iou(pred, target, dilation_ratio=0.02):
    """Boundary IoU exactly as the paper's reference code describes it, one image at a time."""
    def band(m):
        h, w = m.shape
        d = max(1, int(round(dilation_ratio * np.sqrt(h * h + w * w))))
        eroded = ndimage.binary_erosion(m, structure=np.ones((3, 3)), iterations=d, border_value=0)
        return m & ~eroded
    bp, bt = band(pred.astype(bool)), band(target.astype(bool))
    return (bp & bt).sum() / (bp | bt).sum()


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("ratio", [0.0, 0.02, 0.05, 0.1])
def test_boundary_iou_matches_literal_definition(seed, ratio):
    rng = np.random.default_rng(300 + seed)
    h, w = rng.integers(8, 70, size=2)
    t = ndimage.binary_opening(rng.random((h, w)) < 0.6, iterations=1)
    p = ndimage.binary_dilation(t, iterations=int(rng.integers(0, 3)))
    if not (t.any() or p.any()):
        return
    assert M.boundary_iou(p, t, ratio) == pytest.approx(_literal_boundary_iou(p, t, ratio))


def test_boundary_iou_batch_erodes_each_image_alone():
    t = np.zeros((2, 30, 30), bool)
    t[0, 20:, :] = True  # touches the bottom: must not leak into image 1
    t[1, :10, :] = True
    p = np.roll(t, 1, axis=-1)
    band = M.boundary_band(t)
    np.testing.assert_array_equal(band[0], M.boundary_band(t[0]))
    np.testing.assert_array_equal(band[1], M.boundary_band(t[1]))
    b0, b1 = M.boundary_band(p[0]) , M.boundary_band(p[1])
    inter = (band[0] & b0).sum() + (band[1] & b1).sum()
    union = (band[0] | b0).sum() + (band[1] | b1).sum()
    assert M.boundary_iou(p, t) == pytest.approx(inter / union)


def test_boundary_iou_punishes_a_shift_more_than_iou():
    t = np.zeros((64, 64), bool)
    t[16:48, 16:48] = True
    p = np.roll(t, 2, axis=0)
    assert M.boundary_iou(p, t) < M.iou(p, t)
    assert M.boundary_iou(t, t) == 1.0


# --------------------------------------------------------------------------- edge cases
def test_empty_masks_use_zero_division():
    z = np.zeros((4, 4), bool)
    assert np.isnan(M.iou(z, z)) and np.isnan(M.dice(z, z)) and np.isnan(M.boundary_iou(z, z))
    assert M.iou(z, z, zero_division=1.0) == 1.0
    assert M.dice(z, z, zero_division=0.0) == 0.0
    one = z.copy(); one[0, 0] = True
    assert M.iou(one, z) == 0.0 and M.dice(z, one) == 0.0


def test_all_one_and_single_pixel():
    o = np.ones((5, 5), np.uint8)
    assert M.iou(o, o) == 1.0 and M.dice(o, o) == 1.0
    s = np.zeros((5, 5), np.uint8); s[2, 2] = 1
    assert M.iou(s, s) == 1.0
    assert M.boundary_iou(s, s) == 1.0  # a 1-pixel object is all boundary


def test_single_class_k1():
    t = np.zeros((3, 3), int)
    np.testing.assert_array_equal(M.confusion_matrix(t, t, 1), [[9]])
    np.testing.assert_array_equal(M.per_class_iou(t, t, 1), [1.0])
    assert M.mean_iou(t, t, 1) == 1.0 and M.pixel_accuracy(t, t, 1) == 1.0


def test_absent_classes_are_nan_and_skipped_in_mean():
    t = np.array([[0, 0], [1, 1]])
    p = np.array([[0, 1], [1, 1]])
    ious = M.per_class_iou(p, t, 4)
    assert np.isnan(ious[2:]).all()
    assert M.mean_iou(p, t, 4) == pytest.approx((0.5 + 2 / 3) / 2)
    dices = M.per_class_dice(p, t, 4)
    assert np.isnan(dices[2:]).all() and dices[0] == pytest.approx(2 / 3)


def test_all_pixels_ignored_gives_nan():
    t = np.full((3, 3), 255, np.uint8)
    p = np.zeros((3, 3), np.uint8)
    assert M.confusion_matrix(p, t, 2, ignore_index=255).sum() == 0
    assert np.isnan(M.mean_iou(p, t, 2, ignore_index=255))
    assert np.isnan(M.pixel_accuracy(p, t, 2, ignore_index=255))


def test_uint8_inputs_do_not_overflow():
    # 19 classes: K*t + p reaches 360, beyond uint8; and >255 pixels per cell
    t = np.full((40, 40), 18, np.uint8)
    p = np.full((40, 40), 18, np.uint8)
    cm = M.confusion_matrix(p, t, 19)
    assert cm[18, 18] == 1600 and cm.sum() == 1600


def test_torch_tensors_and_batches_and_float_labels():
    rng = np.random.default_rng(3)
    t = rng.integers(0, 3, (2, 8, 8))
    p = rng.integers(0, 3, (2, 8, 8))
    ref = M.per_class_iou(p, t, 3)
    np.testing.assert_allclose(M.per_class_iou(torch.from_numpy(p), torch.from_numpy(t), 3), ref)
    np.testing.assert_allclose(M.per_class_iou(p.astype(np.float32), t.astype(float), 3), ref)
    # a batch scores as pooled pixels
    cm = M.confusion_matrix(p[0], t[0], 3) + M.confusion_matrix(p[1], t[1], 3)
    np.testing.assert_array_equal(M.confusion_matrix(p, t, 3), cm)
    assert M.iou(torch.tensor(PRED), torch.tensor(TRUTH, dtype=torch.bool)) == 0.5


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: M.iou(np.zeros((3, 3)), np.zeros((3, 4))), ValueError, "must match pixel for pixel"),
        (lambda: M.iou(np.zeros((1, 3)), np.zeros((3, 3))), ValueError, "never broadcasts"),
        (lambda: M.iou([[0, 2]], [[0, 1]]), ValueError, "not a binary mask"),
        (lambda: M.iou([[0.5, 1]], [[0, 1]]), ValueError, "non-integer"),
        (lambda: M.iou("mask", [[0, 1]]), TypeError, "numpy array"),
        (lambda: M.iou(3, [[0, 1]]), TypeError, "single number"),
        (lambda: M.iou([1, 0], [1, 0]), ValueError, "2-D"),
        (lambda: M.iou([[0, 1], [1]], [[0, 1], [1, 0]]), ValueError, "different lengths"),
        (lambda: M.confusion_matrix([[0, 3]], [[0, 1]], 3), ValueError, "allows only 0..2"),
        (lambda: M.confusion_matrix([[0, 1]], [[-1, 1]], 3), ValueError, "[-1]"),
        (lambda: M.confusion_matrix([[0, 1]], [[0, 1]], 0), ValueError, "at least 1"),
        (lambda: M.confusion_matrix([[0, 1]], [[0, 1]], 2.0), TypeError, "integer"),
        (lambda: M.confusion_matrix([[0, 1]], [[0, 255]], 2), ValueError, "255"),
        (lambda: M.confusion_matrix([[7, 0]], [[0, 255]], 2, ignore_index=255), ValueError, "[7]"),
        (lambda: M.per_class_iou([[0, np.nan]], [[0, 1]], 2), ValueError, "NaN"),
        (lambda: M.boundary_iou([[0, 1]], [[0, 1]], dilation_ratio=-1), ValueError, "dilation_ratio"),
        (lambda: M.iou_from_confusion(np.ones((2, 3))), ValueError, "square"),
    ],
)
def test_bad_input_messages(call, exc, words):
    with pytest.raises(exc, match=None) as info:
        call()
    assert words in str(info.value)


def test_ignore_index_allows_ignored_pred_only_where_target_is_ignored():
    t = np.array([[0, 255]], np.uint8)
    p = np.array([[0, 255]], np.uint8)
    np.testing.assert_array_equal(M.confusion_matrix(p, t, 2, ignore_index=255), [[1, 0], [0, 0]])
    with pytest.raises(ValueError):
        M.confusion_matrix(np.array([[255, 0]]), t, 2, ignore_index=255)


@pytest.mark.parametrize("k, dtype", [(5, np.uint8), (19, np.uint8), (19, np.uint16), (7, np.int32), (200, np.int64)])
def test_large_inputs_take_the_fast_path_and_still_match_sklearn(k, dtype):
    rng = np.random.default_rng(k)
    t = rng.integers(0, k, (3, 200, 200)).astype(dtype)  # 120k pixels: above the torch threshold
    p = rng.integers(0, k, (3, 200, 200)).astype(dtype)
    ref = sk_confusion_matrix(t.ravel(), p.ravel(), labels=np.arange(k))
    np.testing.assert_array_equal(M.confusion_matrix(p, t, k), ref)


def test_phantom_blobs_and_drop_small_blobs():
    """Review 01s10b P2 3: lesson 01 §7's helpers, moved into metrics."""
    t = np.zeros((6, 8), int); t[1:3, 1:4] = 4
    p = t.copy(); p[5, 0] = 4; p[4:6, 6:8] = 4; p[0, 7] = 2
    n, sizes = M.phantom_blobs(p, t, 4)
    assert n == 3 and sorted(sizes.tolist()) == [1, 4]
    out = M.drop_small_blobs(p, 4, 2)
    assert out[5, 0] == 0 and (out[4:6, 6:8] == 4).all() and (out[1:3, 1:4] == 4).all() and out[0, 7] == 2
    assert (M.drop_small_blobs(p, 4, 1) == p).all()
