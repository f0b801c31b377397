"""Regression tests for issues 13 and 25: no silent wrong answer, no raw error, no silent overwrite,
no memory blow-up.

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


# ----------------------------------------------------------------------------- issue 25: bad inputs
# Each case was accepted silently (a wrong picture or number) or failed with a raw numpy/torch
# error; now it raises ValueError/TypeError naming the argument, the value and what was expected.
def _img(n=4):
    return np.zeros((n, n, 3))


def _zeros(n=4):
    return np.zeros((n, n), int)


@pytest.mark.parametrize("call, exc, words", [
    # accepted silently before
    (lambda: masks.to_rgb([[0, 1]], colors=[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), ValueError,
     r"colors is a float palette with every value in \[0, 1\].*0\.\.255 integers"),
    (lambda: instances.instances_from_boundary_classes([[-1, 1], [1, 2]]), ValueError,
     r"label_map contains negative class ids \[-1\]"),
    (lambda: data.road_scenes(4, seed=0)[np.array([[0, 1], [2, 3]])], ValueError, r"index has shape \(2, 2\) \(2-D\)"),
    (lambda: data.road_scenes(4, seed=0)[0, 1], TypeError, r"index \(0, 1\) indexes several axes"),
    (lambda: data.road_scenes(4, seed=0)[True], TypeError, "index is True"),
    (lambda: MaskEditor(shape=(3, 3)).paint(0, 0, True), TypeError, r"cls must be an integer, got True \(bool\)"),
    (lambda: viz.triplet(_img(4), _zeros(5), _zeros(6)), ValueError,
     r"image has height x width \(4, 4\) but target has \(5, 5\) and pred has \(6, 6\)"),
    (lambda: viz.boundary_error_map(_zeros(2), _zeros(2), [[0, 2], [0, 0]]), ValueError,
     r"boundary is not a binary mask: it holds the values \[0, 2\]"),
    (lambda: viz.boundary_error_map(_zeros(2), _zeros(2), [[0, 0.5], [0, 0]]), ValueError,
     "boundary holds non-integer values"),
    (lambda: viz.instance_overlay(_img(2), [[-1, 0], [1, 2]]), ValueError, r"labels contains negative instance ids \[-1\]"),
    # raw or misleading errors before
    (lambda: viz.legend_handles([str(i) for i in range(17)]), ValueError,
     "class_names has 17 classes but the palette has only 16 colours; pass palette="),
    (lambda: viz.triplet(_img(), _zeros(), _zeros(), [str(i) for i in range(17)]), ValueError,
     "class_names has 17 classes but the palette has only 16 colours"),
    (lambda: viz.triplet(_img(), _zeros(), _zeros(), scores={"mIoU": "0.9"}), TypeError,
     r"scores\['mIoU'\] must be a number such as 0.91 .*got '0.9' \(str\)"),
    (lambda: viz.evidence_card(_img(), _zeros(), _zeros(), ["a", "b"], {"iou": None}), TypeError,
     r"scores\['iou'\] must be a number .*got None"),
    (lambda: viz.show_mask(np.array([1, 2]), _zeros()), TypeError, "ax must be a matplotlib Axes.*axes\\[0\\]"),
    (lambda: masks.mask_from_list([[0, None], [1, 0]]), TypeError, r"rows\[0\]\[1\] is None \(NoneType\); every pixel"),
    (lambda: masks.mask_from_list([[0, 10**30], [1, 0]]), ValueError, r"rows\[0\]\[1\] is 10{30}, too large"),
    (lambda: masks.mask_from_list([[0, 1], [1]]), ValueError, "rows of different lengths"),
    (lambda: data.road_scenes(2, seed=None), TypeError, r"seed must be an integer >= 0 such as seed=0.*got None"),
    (lambda: data.split_indices(10, seed=np.random.default_rng(0)), TypeError,
     r"seed must be an integer >= 0 such as seed=0.*got a Generator"),
    (lambda: data.annotation_noise(_zeros(), seed=-1), ValueError, "seed must be an integer >= 0 such as seed=0, got -1"),
])
def test_issue25_bad_inputs_raise_a_clear_error(call, exc, words):
    import matplotlib.pyplot as plt

    with pytest.raises(exc, match=words):
        call()
    plt.close("all")


def test_issue25_negative_brush_is_refused_and_records_no_undo_step():
    ed = MaskEditor(shape=(3, 3))
    for bad, exc, words in ((-1, ValueError, "brush must be at least 1, got -1"),
                            (2, ValueError, "brush must be an odd side length")):
        with pytest.raises(exc, match=words):
            ed.brush = bad
    assert ed.brush == 1
    ed.paint(0, 0, 1)
    assert ed.mask[0, 0] == 1 and len(ed._undo) == 1


def test_issue25_images_without_pixels_are_not_failures():
    """Regression: an image with no pixel of any class (mIoU NaN) was counted as a failing sample."""
    t = np.zeros((3, 0, 0), int)
    res = failures.bucket_failures(t, t, 2)
    assert res["failing"] == 0 and res["samples"] == [] and res["empty"] == [0, 1, 2] and res["total"] == 3
    t = np.zeros((2, 8, 8), int)
    p = t.copy(); p[1, :4] = 1
    res = failures.bucket_failures(p, t, 2)
    assert res["empty"] == [] and res["failing"] == 1


def test_issue25_show_mask_without_axes_draws_on_the_current_axes():
    import matplotlib.pyplot as plt

    plt.close("all")
    viz.show_mask(None, [[0, 1], [1, 0]], title="m")
    assert plt.gca().get_title() == "m" and len(plt.gca().images) == 1
    plt.close("all")


def test_issue25_tiny_unet_input_checks_and_numpy_integer_arguments():
    from segcourse.models import TinyUNet

    m = TinyUNet(num_classes=np.int64(3), width=np.int32(4), depth=1)
    assert m.config == {"in_channels": 3, "num_classes": 3, "width": 4, "depth": 1}
    assert all(type(v) is int for v in m.config.values())   # the config goes into a JSON card
    with pytest.raises(TypeError, match=r"num_classes must be an integer, got 3.0"):
        TinyUNet(num_classes=3.0)
    x = torch.zeros(1, 3, 8, 8)
    for bad, exc, words in (
        (torch.zeros(1, 1, 8, 8), ValueError, r"x has 1 channel\(s\) .*in_channels=3; for grayscale"),
        (torch.zeros(1, 4, 8, 8), ValueError, r"x has 4 channel\(s\) .*x\[:, :3\]"),
        (np.zeros((1, 3, 8, 8), np.float32), TypeError, "x must be a torch tensor .*got ndarray"),
        (x.to(torch.uint8), TypeError, r"x has dtype uint8; .*x.float\(\) / 255"),
        (x.double(), TypeError, r"x has dtype float64 but the model's weights are float32; call model.double\(\)"),
        (x.bfloat16(), TypeError, r"x has dtype bfloat16 but the model's weights are float32"),
    ):
        with pytest.raises(exc, match=words):
            m(bad)
    assert m.double()(x.double()).dtype == torch.float64            # float64 works once the model is float64
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert m.float()(x).shape == (1, 3, 8, 8)                   # autocast still works


@pytest.mark.parametrize("logits, target, exc, words", [
    (torch.zeros(2, 3, 4, 4), torch.full((2, 4, 4), 3), ValueError, r"target contains class id\(s\) \[3\], but logits has K=3"),
    (torch.zeros(2, 3, 4, 4), torch.full((2, 4, 4), 255), ValueError, "255 is often an 'ignore' label"),
    (torch.zeros(2, 3, 4, 4), torch.full((2, 4, 4), -1), ValueError, r"class id\(s\) \[-1\]"),
    (torch.zeros(2, 3, 4, 4), torch.zeros(2, 4, 4), TypeError, r"target has dtype float32; .*target.long\(\)"),
    (torch.zeros(2, 3, 4, 4), torch.zeros(2, 1, 4, 4, dtype=torch.long), ValueError, r"target\[:, 0\]"),
    (torch.zeros(3, 4, 4), torch.zeros(4, 4, dtype=torch.long), ValueError, r"logits has shape \(3, 4, 4\).*logits\[None\]"),
    (np.zeros((2, 3, 4, 4)), torch.zeros(2, 4, 4, dtype=torch.long), TypeError, "logits must be a torch tensor"),
])
def test_issue25_dice_loss_names_bad_targets(logits, target, exc, words):
    from segcourse.train import dice_loss

    with pytest.raises(exc, match=words):
        dice_loss(logits, target)


def test_issue25_dice_loss_takes_any_integer_target_dtype():
    from segcourse.train import dice_loss

    logits = torch.randn(2, 3, 4, 4)
    target = torch.randint(0, 3, (2, 4, 4))
    assert torch.equal(dice_loss(logits, target.to(torch.uint8)), dice_loss(logits, target))


def test_issue25_fit_names_what_seed_to_pass():
    from segcourse import train
    from segcourse.models import TinyUNet

    d = data.road_scenes(4, size=16, seed=0)
    with pytest.raises(TypeError, match="seed must be an integer >= 0 such as seed=0.*got None"):
        train.fit(TinyUNet(3, 5, width=4, depth=1), d, d, device="cpu", progress=False, seed=None)


def test_issue25_corrupted_model_cards_name_the_file(tmp_path, monkeypatch):
    import json
    import shutil

    from segcourse import models

    src = models.WEIGHTS_DIR
    shutil.copy(src / "roads.pt", tmp_path / "roads.pt")
    good = json.loads((src / "roads.json").read_text())
    monkeypatch.setattr(models, "WEIGHTS_DIR", tmp_path)
    card = tmp_path / "roads.json"
    cases = [
        ("{not json", r"roads.json is corrupted \(not valid JSON"),
        ("", r"roads.json is corrupted \(not valid JSON"),
        ("[1, 2]", "roads.json holds a JSON list, not an object"),
        (json.dumps({k: v for k, v in good.items() if k != "weights"}), "roads.json has no key 'weights'"),
        (json.dumps({k: v for k, v in good.items() if k != "model"}), "roads.json has no key 'model'"),
        (json.dumps({**good, "model": [3, 5]}), r"roads.json has 'model': \[3, 5\], expected the TinyUNet arguments"),
        (json.dumps({**good, "model": {**good["model"], "num_classes": "5"}}), r"'model'\['num_classes'\] in the model card .*roads.json"),
        (json.dumps({**good, "model": {**good["model"], "colour": 1}}), "roads.json has an unknown model argument 'colour'"),
        (json.dumps({**good, "weights": 7}), "roads.json has 'weights': 7, expected a file name"),
        (json.dumps({**good, "weights": "../cells.pt"}), "must be a plain file name"),
    ]
    for text, words in cases:
        card.write_text(text)
        for call in (lambda: models.load_card("roads"), lambda: models.pretrained("roads")):
            with pytest.raises(ValueError, match=words):
                call()
    card.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="roads.json is corrupted"):
        models.load_card("roads")
    card.write_text(json.dumps(good))
    assert models.pretrained("roads").card["name"] == "roads"


def test_issue25_mask_editor_load_refuses_empty_truncated_and_pickled_files(tmp_path):
    import pickle

    np.save(tmp_path / "ok.npy", np.eye(3, dtype=np.uint8))
    raw = (tmp_path / "ok.npy").read_bytes()
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "trunc.npy").write_bytes(raw[:-4])
    (tmp_path / "header.npy").write_bytes(raw[:20])
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "pickle.npy").write_bytes(pickle.dumps([[0, 1]]))
    (tmp_path / "text.npy").write_text("hello")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    for name, words in (("empty.npy", "empty.npy is not a readable mask: the file is empty"),
                        ("trunc.npy", r"trunc.npy is not a readable mask \(truncated or damaged"),
                        ("header.npy", "header.npy is not a readable mask"),
                        ("objects.npy", "objects.npy holds pickled Python objects, which are never loaded"),
                        ("pickle.npy", "pickle.npy holds pickled Python objects"),
                        ("text.npy", r"text.npy holds no numpy header \(it is not a .npy file\)"),
                        ("bad.png", "bad.png is not a readable mask")):
        with pytest.raises(ValueError, match=words):
            MaskEditor.load(tmp_path / name)
    assert (MaskEditor.load(tmp_path / "ok.npy").mask == np.eye(3)).all()


def _sample(**over):
    s = {"sample": 3, "miou": 0.7, "evidence": {"boundary": {"fraction_in_band": 0.8, "wrong_pixels": 40}}}
    s.update(over)
    return s


@pytest.mark.parametrize("sample, exc, words", [
    ({"sample": 3, "evidence": {}}, ValueError, r"sample has no key 'miou' \(it has \['evidence', 'sample'\]\); pass one entry"),
    (_sample(miou=None), TypeError, r"sample\['miou'\] must be a number such as 0.91 .*got None"),
    (_sample(miou="0.7"), TypeError, r"sample\['miou'\] must be a number .*got '0.7' \(str\)"),
    (_sample(evidence={"boundary": {"wrong_pixels": 40}}), ValueError,
     r"sample\['evidence'\]\['boundary'\] has no key 'fraction_in_band'"),
    (_sample(evidence={"boundary": {"fraction_in_band": None, "wrong_pixels": 40}}), TypeError,
     r"sample\['evidence'\]\['boundary'\]\['fraction_in_band'\] must be a number"),
    (_sample(per_class_iou={"bg": None}), TypeError, r"sample\['per_class_iou'\]\['bg'\] must be a number"),
    (_sample(evidence=None), TypeError, r"sample\['evidence'\] must be a dict"),
    ([1, 2], TypeError, "sample must be a dict"),
])
def test_issue25_explain_names_the_missing_key_or_bad_score(sample, exc, words):
    from segcourse.report import explain

    with pytest.raises(exc, match=words):
        explain(sample)


def test_issue25_write_report_refuses_none_scores_and_incomplete_buckets(tmp_path):
    from segcourse.report import write_report

    d = data.road_scenes(2, size=16, seed=0)
    args = (d.images, d.labels, d.labels, list(d.class_names))
    with pytest.raises(TypeError, match=r"per_sample_miou\[1\] must be a number .*got None"):
        write_report(tmp_path / "a.html", *args, [1.0] * 5, [1.0, None], {})
    with pytest.raises(TypeError, match=r"per_class_iou\[0\] must be a number .*got 'x'"):
        write_report(tmp_path / "a.html", *args, ["x"] * 5, [1.0, 1.0], {})
    with pytest.raises(ValueError, match="buckets has no key 'counts'"):
        write_report(tmp_path / "a.html", *args, [1.0] * 5, [1.0, 1.0], {"worst": {"boundary": [0]}, "samples": []})
    with pytest.raises(ValueError, match=r"buckets\['worst'\]\['boundary'\] lists sample\(s\) \[0\]"):
        write_report(tmp_path / "a.html", *args, [1.0] * 5, [1.0, 1.0],
                     {"worst": {"boundary": [0]}, "samples": [], "counts": {"boundary": 1}})
    with pytest.raises(ValueError, match=r"buckets\['counts'\] has unknown bucket\(s\) \['speed'\]"):
        write_report(tmp_path / "a.html", *args, [1.0] * 5, [1.0, 1.0], {"counts": {"speed": 1}})
    assert not (tmp_path / "a.html").exists()
    assert write_report(tmp_path / "a.html", *args, [1.0, float("nan"), 1.0, 1.0, 1.0], [1.0, float("nan")], {}).exists()


def test_issue25_segdata_still_takes_every_one_axis_index():
    d = data.road_scenes(4, seed=0)
    for idx, n in ((np.int64(1), 1), (slice(1, 3), 2), ([0, 3], 2), (np.array([2]), 1), (torch.tensor([0, 1]), 2),
                   (range(3), 3), ([], 0), (np.array([True, False, True, False]), 2)):
        sub = d[idx]
        assert len(sub) == n and sub.labels.ndim == 3 and sub.images.ndim == 4
    with pytest.raises(ValueError, match="bool mask of length 2 but there are 4 samples"):
        d[np.array([True, False])]
    with pytest.raises(TypeError, match="index has dtype float64; sample indices are integers"):
        d[np.array([0.5])]
