"""Regression tests for issue 13: no silent wrong answer, no silent overwrite, no memory blow-up.

Each test pins one case that the old code got wrong (silently) and checks the reference answer or
a clear error that names the argument.
"""

from __future__ import annotations

import contextlib
import os
import tracemalloc

import numpy as np
import pytest
import torch

from segcourse import data, failures, instances, masks, metrics, viz
from segcourse.widgets import MaskEditor


# ----------------------------------------------------------------------------- ignore_index
@pytest.mark.parametrize("ignore", [0, 1, 2, 255, -1])
@pytest.mark.parametrize("seed", range(4))
def test_ignore_index_in_and_out_of_range_matches_torchmetrics(ignore, seed):
    """Regression: ignore_index inside 0..K-1 (e.g. 0, "ignore background") was not ignored."""
    from torchmetrics.functional.classification import multiclass_accuracy, multiclass_confusion_matrix

    k = 3
    rng = np.random.default_rng(seed)
    t = rng.integers(0, k, (2, 9, 11))
    p = rng.integers(0, k, t.shape)
    if ignore not in range(k):
        t[rng.random(t.shape) < 0.2] = ignore
    tp, tt = torch.as_tensor(p).flatten(), torch.as_tensor(t).flatten()
    want = multiclass_confusion_matrix(tp, tt, k, ignore_index=ignore).numpy()
    np.testing.assert_array_equal(metrics.confusion_matrix(p, t, k, ignore_index=ignore), want)
    np.testing.assert_allclose(metrics.per_class_iou(p, t, k, ignore_index=ignore), metrics.iou_from_confusion(want))
    acc = multiclass_accuracy(tp, tt, k, average="micro", ignore_index=ignore).item()
    assert metrics.pixel_accuracy(p, t, k, ignore_index=ignore) == pytest.approx(acc)
    assert metrics.pixel_accuracy(p, t, ignore_index=ignore) == pytest.approx(acc)


def test_ignore_background_drops_target_pixels_but_counts_predictions_of_it():
    t = np.array([[0, 0, 1, 1]])
    p = np.array([[1, 1, 0, 1]])
    cm = metrics.confusion_matrix(p, t, 2, ignore_index=0)
    np.testing.assert_array_equal(cm, [[0, 0], [1, 1]])       # row 0 gone; the prediction 0 on a 1 still counts
    assert metrics.pixel_accuracy(p, t, 2, ignore_index=0) == 0.5
    assert metrics.mean_iou(p, t, 2, ignore_index=0) == pytest.approx(0.25)   # class 0: 0/1, class 1: 1/2


# ----------------------------------------------------------------------------- memory
@contextlib.contextmanager
def _peak_memory():
    """Peak bytes numpy allocated inside the block (tracemalloc sees numpy's buffers)."""
    tracemalloc.start()
    result = {}
    try:
        yield lambda: result["peak"]
    finally:
        result["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def test_huge_num_classes_is_refused_or_counted_in_linear_memory():
    """Regression: confusion_matrix(num_classes=50_000) tried to allocate 18.6 GiB."""
    p = t = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError, match="num_classes=50000.*GiB"):
        metrics.confusion_matrix(p, t, 50_000)
    iou = metrics.per_class_iou(p, t, 50_000)
    assert iou.shape == (50_000,) and iou[0] == 1 and np.isnan(iou[1:]).all()
    assert metrics.mean_iou(p, t, 50_000) == 1.0
    with pytest.raises(ValueError, match="num_classes"):
        metrics.per_class_iou(p, t, 10**12)


def test_pixel_accuracy_with_one_stray_id_needs_no_matrix():
    """Regression: pixel_accuracy(num_classes=None) with one id 40,000 tried to allocate 11.9 GiB."""
    t = np.zeros((8, 8), np.int64)
    p = t.copy(); p[0, 0] = 40_000
    with _peak_memory() as peak:
        assert metrics.pixel_accuracy(p, t) == 63 / 64
        assert np.isnan(metrics.per_class_iou(p, t, 40_001)[1])
    assert peak() < 10 * 2**20      # (np.zeros of 12 GiB is lazy on Linux: measure what is allocated)


def test_instance_overlay_relabels_huge_ids_first():
    """Regression: one id 2**31-1 made instance_overlay allocate 24 GiB."""
    lab = np.zeros((6, 6), np.int64); lab[1:3, 1:3] = 2**31 - 1; lab[4:, 4:] = 5
    small = np.where(lab == 2**31 - 1, 2, np.where(lab == 5, 1, 0))
    with _peak_memory() as peak:
        out = viz.instance_overlay(np.zeros((6, 6, 3)), lab)
    assert peak() < 10 * 2**20
    np.testing.assert_allclose(out, viz.instance_overlay(np.zeros((6, 6, 3)), small))
    import matplotlib.pyplot as plt
    plt.close("all")


# ----------------------------------------------------------------------------- smaller wrong answers
@pytest.mark.parametrize("call, exc, words", [
    (lambda: metrics.iou_from_confusion([[3, -1], [0, 4]]), ValueError, "negative counts"),
    (lambda: metrics.iou_from_confusion([[3, np.nan], [0, 4]]), ValueError, "NaN"),
    (lambda: masks.mask_from_list([[0, 2**40]]), ValueError, "beyond int32"),
    (lambda: masks.from_one_hot(np.eye(3)[np.array([[0, 1], [2, 1], [0, 0], [1, 1]])]), ValueError, "channel-last"),
    (lambda: masks.from_one_hot(np.full((2, 3, 3), np.nan)), ValueError, "NaN"),
    (lambda: masks.to_rgb([[0, 1]], colors=[[0.2, 0.4, 0.6], [1.0, 0.0, 0.0]]), ValueError, "0..255"),
    (lambda: masks.to_rgb([[0, 1]], colors=[[10, 10, 10], [10, 10, 10]]), ValueError, "duplicate"),
    (lambda: masks.from_rgb(np.zeros((2, 2, 3), np.uint8),
                            colors=np.stack(np.unravel_index(np.arange(300), (256, 256, 256)), -1)), ValueError, "256"),
    (lambda: instances.average_precision([[1, 2]], [0.9, np.nan], [[1, 2]]), ValueError, "NaN"),
    (lambda: instances.average_precision([[1, 2]], [0.9, 0.8], [[1, 2]], iou_thresholds=[0.5, 1.5]), ValueError, "iou_thresholds"),
    (lambda: instances.boundary_class_map([[1, 1, 2, 2]], boundary=1), ValueError, "collides"),
    (lambda: instances.boundary_class_map([[1, 1, 2, 2]], boundary=0), ValueError, "collides"),
    (lambda: failures.next_step({"classes_defined": "no", "mask_quality_checked": True, "baseline_ready": True,
                                 "failure_buckets_defined": True}), TypeError, "classes_defined"),
    (lambda: viz.confidence_map(np.full((4, 5, 3), 1 / 3)), ValueError, "channel-last"),
    (lambda: viz.confidence_map(np.random.default_rng(0).normal(size=(3, 4, 4)) * 5), ValueError, "softmax"),
    (lambda: viz.overlay(np.zeros((2, 2, 3)), [[0, 16], [1, 2]]), ValueError, "mask contains class id"),
    (lambda: viz.triplet(np.zeros((2, 2, 3)), [[0, 20], [0, 0]], [[0, 0], [0, 0]]), ValueError, "class id"),
    (lambda: viz.overlay(np.full((2, 2, 3), 200.0), [[0, 1], [1, 0]]), ValueError, "values up to 200"),
])
def test_small_cases_raise_a_clear_error(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


@pytest.mark.parametrize("kwargs, words", [
    ({"fail_below": float("nan")}, "fail_below"),
    ({"small_area": 0}, "small_area"),
    ({"worst_k": -1}, "worst_k"),
    ({"confusion_fraction": 2}, "confusion_fraction"),
])
def test_bucket_failures_names_bad_knobs(kwargs, words):
    lm = np.zeros((1, 8, 8), int)
    with pytest.raises((ValueError, TypeError), match=words):
        failures.bucket_failures(lm, lm, 2, **kwargs)


def test_check_annotations_reports_no_thin_region_on_a_one_class_image():
    """Regression: an image of one class was reported as a 'thin' region."""
    lm = np.ones((3, 16, 16), int)
    assert [f for f in failures.check_annotations(lm, 2) if f["kind"] == "thin"] == []
    lm[1, 5, :] = 0      # a real one-pixel line still is thin
    assert any(f["kind"] == "thin" and f["sample"] == 1 for f in failures.check_annotations(lm, 2))


def test_torch_counting_path_takes_big_endian_and_bf16_inputs():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 5, (2, 200, 200))
    p = rng.integers(0, 5, t.shape)
    want = metrics.confusion_matrix(p, t, 5)
    np.testing.assert_array_equal(metrics.confusion_matrix(p.astype(">i4"), t.astype(">i4"), 5), want)
    np.testing.assert_array_equal(metrics.confusion_matrix(torch.as_tensor(p).bfloat16(), torch.as_tensor(t), 5), want)


# ----------------------------------------------------------------------------- generators
@pytest.mark.parametrize("call, words", [
    (lambda: data.road_scenes(2, noise=float("nan")), "noise"),
    (lambda: data.road_scenes(2, noise=-0.1), "noise"),
    (lambda: data.road_scenes(2, lighting=2.0), "lighting"),
    (lambda: data.road_scenes(2, sidewalk_gap=float("inf")), "sidewalk_gap"),
    (lambda: data.road_scenes(2, lane_width=(0, 2)), "lane_width"),
    (lambda: data.road_scenes(2, lane_width=(3, 1)), "lane_width"),
    (lambda: data.road_scenes(2, max_cars=-1), "max_cars"),
    (lambda: data.road_scenes(2, seed=1.5), "seed"),
    (lambda: data.surface_defects(2, contrast=float("nan")), "contrast"),
    (lambda: data.surface_defects(2, kinds="spot"), "kinds"),
    (lambda: data.touching_cells(2, radius=(-3, 5)), "radius"),
    (lambda: data.touching_cells(2, radius=(5, 80)), "radius"),
    (lambda: data.touching_cells(2, overlap=1.5), "overlap"),
    (lambda: data.touching_cells(2, num_cells=(0, 3)), "num_cells"),
    (lambda: data.annotation_noise(np.zeros((8, 8), int), boundary_jitter=float("inf")), "boundary_jitter"),
    (lambda: data.annotation_noise(np.zeros((8, 8), int), miss_small=float("nan")), "miss_small"),
    (lambda: data.split_indices(-5), "n"),
    (lambda: data.split_indices(10, fractions=(0.5, np.nan, 0.5)), "fractions"),
])
def test_generator_knobs_are_validated_and_named(call, words):
    with pytest.raises((ValueError, TypeError), match=words):
        call()


def test_surface_defects_of_zero_samples():
    d = data.surface_defects(0)
    assert d.images.shape == (0, 64, 64, 3) and d.labels.shape == (0, 64, 64)


def test_augment_and_dataset_enforce_the_image_convention():
    """Regression: augment turned 0..255 float images white; the dataset accepted channel-first arrays."""
    d = data.road_scenes(2, seed=0)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="values up to"):
        data.augment(d.images[0] * 255, d.labels[0], rng)
    with pytest.raises(ValueError, match="grayscale"):
        data.augment(d.images[0, ..., 0], d.labels[0], rng)
    img8, _ = data.augment((d.images[0] * 255).round().astype(np.uint8), d.labels[0], np.random.default_rng(1))
    imgf, _ = data.augment(d.images[0], d.labels[0], np.random.default_rng(1))
    assert np.abs(img8 - imgf).max() < 0.01                 # uint8 is converted, not whitened
    with pytest.raises(ValueError, match="channel-first"):
        data.SegmentationDataset(np.moveaxis(d.images, -1, 1), d.labels)
    with pytest.raises(ValueError, match="grayscale"):
        data.SegmentationDataset(d.images[..., 0], d.labels)
    with pytest.raises(ValueError, match="non-integer"):
        data.SegmentationDataset(d.images, d.labels + 0.5)


# ----------------------------------------------------------------------------- files
def test_report_and_mask_save_refuse_a_folder_and_leave_no_temp_file(tmp_path):
    """Regression: a folder as the target left a temporary file behind."""
    from segcourse.report import write_report

    target = tmp_path / "page.html"
    target.mkdir()
    with pytest.raises(IsADirectoryError):
        write_report(target, [], [], [], ["a"], [1.0], [], {}, overwrite=True)
    (tmp_path / "m.png").mkdir()
    ed = MaskEditor(shape=(3, 3))
    with pytest.raises(IsADirectoryError):
        ed.save(tmp_path / "m.png", overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["m.png", "page.html"]
    assert os.listdir(target) == [] and os.listdir(tmp_path / "m.png") == []


def test_png_save_refuses_ids_that_do_not_fit_8_bits(tmp_path):
    """Regression: class 300 was saved to PNG as 44."""
    pal = np.stack(np.unravel_index(np.arange(301) * 97, (256, 256, 256)), -1).astype(np.uint8)
    ed = MaskEditor(shape=(2, 2), num_classes=301, palette=pal, class_names=[str(i) for i in range(301)])
    ed.paint(0, 0, 300)
    with pytest.raises(ValueError, match="8-bit"):
        ed.save(tmp_path / "m.png")
    assert MaskEditor.load(ed.save(tmp_path / "m.npy"), num_classes=301, palette=pal,
                           class_names=[str(i) for i in range(301)]).mask[0, 0] == 300
