"""Property-based tests (hypothesis) of the metrics: the laws every correct IoU/Dice obeys.

Examples are small and few (max_examples modest, deadline off) so the file runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from segcourse import metrics as M

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def label_pairs(draw, max_k: int = 6, batch: bool | None = None):
    """(pred, target, K): two label maps of one shape, (H, W) or (N, H, W), ids in 0..K-1."""
    k = draw(st.integers(1, max_k))
    nd = draw(st.sampled_from([2, 3])) if batch is None else (3 if batch else 2)
    shape = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=7))
    ids = st.integers(0, k - 1)
    dtype = draw(st.sampled_from([np.uint8, np.int32, np.int64]))
    p = draw(hnp.arrays(dtype, shape, elements=ids))
    t = draw(hnp.arrays(dtype, shape, elements=ids))
    return p, t, k


@st.composite
def binary_pairs(draw):
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=8))
    return draw(hnp.arrays(bool, shape)), draw(hnp.arrays(bool, shape))


@SETTINGS
@given(binary_pairs())
def test_iou_and_dice_lie_in_0_1_or_are_nan_and_are_symmetric(pair):
    p, t = pair
    for f in (M.iou, M.dice):
        v = f(p, t)
        assert np.isnan(v) == (not p.any() and not t.any())
        assert np.isnan(v) or 0 <= v <= 1
        w = f(t, p)
        assert (np.isnan(v) and np.isnan(w)) or v == w


@SETTINGS
@given(binary_pairs())
def test_dice_is_2iou_over_1_plus_iou(pair):
    p, t = pair
    i, d = M.iou(p, t), M.dice(p, t)
    if np.isnan(i):
        assert np.isnan(d)
    else:
        assert d == pytest.approx(2 * i / (1 + i), abs=1e-12)


@SETTINGS
@given(label_pairs())
def test_per_class_scores_in_range_symmetric_and_dice_iou_relation(case):
    p, t, k = case
    iou, dice = M.per_class_iou(p, t, k), M.per_class_dice(p, t, k)
    ok = ~np.isnan(iou)
    assert ((iou[ok] >= 0) & (iou[ok] <= 1)).all()
    np.testing.assert_array_equal(np.isnan(iou), np.isnan(dice))
    np.testing.assert_allclose(dice[ok], 2 * iou[ok] / (1 + iou[ok]), atol=1e-12)
    np.testing.assert_allclose(M.per_class_iou(t, p, k), iou, equal_nan=True)    # symmetric per class
    present = np.isin(np.arange(k), np.concatenate([p.ravel(), t.ravel()]))
    np.testing.assert_array_equal(~np.isnan(iou), present)                       # NaN exactly when absent


@SETTINGS
@given(label_pairs(), st.randoms(use_true_random=False))
def test_invariant_to_relabelling_classes_consistently(case, rnd):
    p, t, k = case
    perm = np.array(rnd.sample(range(k), k))
    iou = M.per_class_iou(p, t, k)
    iou_perm = M.per_class_iou(perm[p], perm[t], k)
    np.testing.assert_allclose(iou_perm[perm], iou, equal_nan=True)
    assert M.mean_iou(perm[p], perm[t], k) == pytest.approx(M.mean_iou(p, t, k), nan_ok=True)
    assert M.pixel_accuracy(perm[p], perm[t], k) == pytest.approx(M.pixel_accuracy(p, t, k), nan_ok=True)


@SETTINGS
@given(label_pairs(), st.data())
def test_ignore_index_equals_removing_those_pixels(case, data):
    p, t, k = case
    ignore = data.draw(st.sampled_from(sorted({0, k - 1, 255})))
    if ignore == 255:  # an out-of-range "unlabelled" value: put it into the target
        t = t.astype(np.int64)
        t[np.asarray(data.draw(hnp.arrays(bool, t.shape)))] = 255
    keep = t != ignore
    pk, tk = p[keep][None], t[keep][None]          # the kept pixels as one (1, m) image
    want = M.confusion_matrix(pk, tk, k)
    np.testing.assert_array_equal(M.confusion_matrix(p, t, k, ignore_index=ignore), want)
    np.testing.assert_allclose(M.per_class_iou(p, t, k, ignore_index=ignore), M.iou_from_confusion(want), equal_nan=True)
    assert M.pixel_accuracy(p, t, k, ignore_index=ignore) == pytest.approx(
        M.pixel_accuracy(pk, tk, k) if keep.any() else np.nan, nan_ok=True)


@SETTINGS
@given(label_pairs(batch=True))
def test_a_batch_is_scored_as_its_pooled_pixels(case):
    p, t, k = case
    pooled_p, pooled_t = p.reshape(1, -1), t.reshape(1, -1)
    np.testing.assert_array_equal(M.confusion_matrix(p, t, k), M.confusion_matrix(pooled_p, pooled_t, k))
    np.testing.assert_array_equal(M.confusion_matrix(p, t, k),
                                  sum(M.confusion_matrix(a, b, k) for a, b in zip(p, t)))
    np.testing.assert_allclose(M.per_class_iou(p, t, k), M.per_class_iou(pooled_p, pooled_t, k), equal_nan=True)


@SETTINGS
@given(label_pairs(), st.sampled_from([None, 0, 255]))
def test_confusion_matrix_total_is_the_number_of_counted_pixels(case, ignore):
    p, t, k = case
    cm = M.confusion_matrix(p, t, k, ignore_index=ignore)
    assert cm.shape == (k, k) and cm.min() >= 0
    assert cm.sum() == (t.size if ignore is None else int(np.count_nonzero(t != ignore)))
    np.testing.assert_array_equal(cm.sum(1), np.bincount(t[t != ignore].ravel() if ignore is not None else t.ravel(),
                                                         minlength=k)[:k])


@SETTINGS
@given(label_pairs(max_k=4))
def test_large_k_counting_path_agrees_with_the_confusion_matrix(case):
    """Per-class scores above K=64 use bincounts instead of a (K, K) matrix: same numbers."""
    p, t, k = case
    big = 300
    iou_big = M.per_class_iou(p, t, big)
    np.testing.assert_allclose(iou_big[:k], M.per_class_iou(p, t, k), equal_nan=True)
    assert np.isnan(iou_big[k:]).all()
