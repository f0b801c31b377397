"""segcourse.instances: hand-built cases, and randomized comparison against pycocotools
(mask IoU, COCOeval AP) and torchmetrics PanopticQuality."""

import numpy as np
import pytest
import torch

from segcourse import data, instances as I
from segcourse import instances


def _touching_squares():
    m = np.zeros((10, 20), int)
    m[2:8, 2:8] = 1
    m[2:8, 8:14] = 2  # shares an edge with object 1
    return m


def test_touching_squares_merge_as_components():
    gt = _touching_squares()
    comps = I.label_components(gt > 0)
    assert comps.max() == 1
    assert I.count_error(comps, gt) == -1


def test_watershed_splits_touching_cells():
    d = data.touching_cells(30, seed=0, overlap=0.15)
    naive = [I.count_error(I.label_components(m), g) for m, g in zip(d.labels, d.instances)]
    split = [I.count_error(I.separate_touching(m, min_distance=4), g) for m, g in zip(d.labels, d.instances)]
    assert np.mean(np.abs(split)) < 0.5 * np.mean(np.abs(naive))
    pq_naive = np.nanmean([I.panoptic_quality(I.label_components(m), g)["pq"] for m, g in zip(d.labels, d.instances)])
    pq_split = np.nanmean([I.panoptic_quality(I.separate_touching(m), g)["pq"] for m, g in zip(d.labels, d.instances)])
    assert pq_split > pq_naive + 0.2


def test_nested_and_non_contiguous_ids():
    gt = np.zeros((8, 8), int); gt[1:4, 1:4] = 7; gt[5:8, 5:8] = 300
    pred = np.zeros((8, 8), int); pred[1:4, 1:4] = 2; pred[5:8, 5:7] = 9; pred[0, 7] = 11
    r = I.match_instances(pred, gt)
    assert (r.tp, r.fp, r.fn) == (2, 1, 0)
    assert sorted((p, g) for p, g, _ in r.pairs) == [(2, 7), (9, 300)]
    assert r.unmatched_pred == [11] and r["unmatched_gt"] == []
    assert I.count_error(pred, gt) == 1


def test_empty_maps():
    z = np.zeros((5, 5), int)
    pq = I.panoptic_quality(z, z)
    assert np.isnan(pq["pq"]) and np.isnan(pq["sq"]) and np.isnan(pq["rq"])
    one = z.copy(); one[1, 1] = 1
    assert I.panoptic_quality(z, one)["pq"] == 0.0 and I.panoptic_quality(one, z)["fp"] == 1
    assert np.isnan(I.average_precision(z, {}, z)["ap"])
    assert I.average_precision(z, {}, one)["ap"] == 0.0


def test_iou_exactly_one_half_is_not_a_match():
    gt = np.array([[1, 1, 0, 0]])
    pred = np.array([[1, 0, 0, 0]])  # IoU 1/2 exactly
    assert I.match_instances(pred, gt).tp == 0
    assert I.panoptic_quality(pred, gt)["tp"] == 0
    assert I.match_instances(pred, gt, iou_threshold=0.49).tp == 1


def test_low_threshold_assignment_is_one_to_one():
    gt = np.array([[1, 1, 1, 2, 2, 2]])
    pred = np.array([[5, 5, 5, 5, 0, 0]])  # overlaps both; only one may match
    r = I.match_instances(pred, gt, iou_threshold=0.1)
    assert r.tp == 1 and r.fn == 1 and r.pairs[0][1] == 1


@pytest.mark.parametrize("call, words", [
    (lambda: I.label_components([[0, 2]]), "not a binary mask"),
    (lambda: I.label_components([[0, 1]], connectivity=3), "connectivity"),
    (lambda: I.match_instances([[1, -1]], [[1, 0]]), "negative"),
    (lambda: I.match_instances([[1, 0]], [[1, 0, 0]]), "must match"),
    (lambda: I.match_instances([[1]], [[1]], iou_threshold=1.5), "iou_threshold"),
    (lambda: I.average_precision([[1, 2]], {1: 0.5}, [[1, 1]]), "no confidence"),
    (lambda: I.separate_touching([[1]], min_distance=0), "min_distance"),
])
def test_bad_inputs(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def _random_instances(rng, h=32, w=32, k=6):
    lab = np.zeros((h, w), np.int32)
    for i in range(1, k + 1):
        y, x = rng.integers(0, h - 6), rng.integers(0, w - 6)
        hh, ww = rng.integers(3, 10, 2)
        lab[y:y + hh, x:x + ww] = i
    return lab


def _jitter(rng, lab):
    out = np.roll(lab, tuple(rng.integers(-2, 3, 2)), axis=(0, 1))
    out[rng.random(out.shape) < 0.05] = 0
    return out


@pytest.mark.parametrize("seed", range(10))
def test_iou_matrix_matches_pycocotools(seed):
    mask_utils = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(seed)
    gt = _random_instances(rng)
    pred = _jitter(rng, gt)
    ious, pids, gids = I.iou_matrix(pred, gt)
    enc = lambda lab, ids: mask_utils.encode(np.asfortranarray(np.stack([lab == i for i in ids], -1).astype(np.uint8)))
    if len(pids) and len(gids):
        ref = mask_utils.iou(enc(pred, pids), enc(gt, gids), [0] * len(gids))
        np.testing.assert_allclose(ious, ref, atol=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_average_precision_matches_cocoeval(seed):
    pytest.importorskip("pycocotools")
    import contextlib, io
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(50 + seed)
    gt = _random_instances(rng, 48, 48, 8)
    pred = _jitter(rng, gt)
    pred[rng.random(pred.shape) < 0.002] = 99  # a few spurious specks: false positives
    pids = np.unique(pred[pred > 0])
    scores = {int(i): float(s) for i, s in zip(pids, rng.random(len(pids)))}
    ours = I.average_precision(pred, scores, gt)

    def rle(m):
        r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        r["counts"] = r["counts"].decode()
        return r
    gids = np.unique(gt[gt > 0])
    coco = COCO()
    coco.dataset = {"images": [{"id": 1, "height": 48, "width": 48}], "categories": [{"id": 1, "name": "obj"}],
                    "annotations": [{"id": int(i), "image_id": 1, "category_id": 1, "segmentation": rle(gt == i),
                                     "area": float((gt == i).sum()), "bbox": [0, 0, 1, 1], "iscrowd": 0} for i in gids]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        dets = coco.loadRes([{"image_id": 1, "category_id": 1, "segmentation": rle(pred == i), "score": scores[int(i)]} for i in pids])
        ev = COCOeval(coco, dets, "segm")
        ev.evaluate(); ev.accumulate(); ev.summarize()
    assert ours["ap"] == pytest.approx(ev.stats[0], abs=1e-6)
    assert ours["ap_per_threshold"][0.5] == pytest.approx(ev.stats[1], abs=1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_panoptic_quality_matches_torchmetrics(seed):
    tm = pytest.importorskip("torchmetrics.functional.detection")
    rng = np.random.default_rng(80 + seed)
    gt = _random_instances(rng)
    pred = _jitter(rng, gt)
    ours = I.panoptic_quality(pred, gt)

    def panoptic(lab):  # (category, instance) per pixel; background is the "stuff" class 0
        return torch.from_numpy(np.stack([(lab > 0).astype(np.int64), lab.astype(np.int64)], -1))[None]
    ref = tm.panoptic_quality(panoptic(pred), panoptic(gt), things={1}, stuffs={0}, return_per_class=True)
    thing_pq = float(ref.reshape(-1)[0])  # per-class order: things first, then stuffs
    assert ours["pq"] == pytest.approx(thing_pq, abs=1e-5)


def test_boundary_classes_recipe_separates_touching_cells():
    d = data.touching_cells(10, seed=3)
    from skimage.segmentation import find_boundaries
    for inst in d.instances:
        lm = np.where(inst > 0, 1, 0)
        lm[find_boundaries(inst, mode="inner") & (inst > 0)] = 2
        rebuilt = I.instances_from_boundary_classes(lm)
        assert I.count_error(rebuilt, inst) <= 0
        assert I.panoptic_quality(rebuilt, inst)["pq"] > 0.7


# ------------------------------------------------------------------ instance-aware distance and seeding
def test_instance_distance_map_has_a_valley_where_cells_touch():
    from scipy import ndimage
    inst = np.zeros((7, 13), int)
    inst[1:6, 1:6] = 4
    inst[1:6, 6:11] = 9
    d = instances.instance_distance_map(inst)
    assert d[3, 5] == d[3, 6] == 1 and d[3, 3] == d[3, 8] == 3
    assert (d[inst == 0] == 0).all()
    mask_d = ndimage.distance_transform_edt(inst > 0)
    assert mask_d[3, 5] == 3                       # the merged mask has no valley there
    # each instance on its own: the same as the distance transform of that instance alone
    for i in (4, 9):
        alone = ndimage.distance_transform_edt(np.pad(inst == i, 1))[1:-1, 1:-1]
        np.testing.assert_array_equal(d[inst == i], alone[inst == i])
    assert instances.instance_distance_map(np.zeros((3, 3), int)).sum() == 0
    with pytest.raises(ValueError, match="negative"):
        instances.instance_distance_map([[-1, 0]])


def test_watershed_from_distance_splits_what_the_mask_distance_merges():
    from segcourse import data
    d = data.touching_cells(30, seed=3, overlap=0.2)
    found = [instances.watershed_from_distance(instances.instance_distance_map(t), min_distance=2, threshold=0.5)
             for t in d.instances]
    assert instances.dataset_panoptic_quality(found, d.instances)["pq"] > 0.85
    # with the mask's own distance transform it reproduces separate_touching
    for m in d.labels[:10]:
        from scipy import ndimage
        np.testing.assert_array_equal(
            instances.watershed_from_distance(ndimage.distance_transform_edt(m), m, min_distance=2),
            instances.separate_touching(m, min_distance=2))
    labels, markers = instances.watershed_from_distance(np.zeros((4, 4)), np.zeros((4, 4), bool), return_markers=True)
    assert labels.max() == 0 and markers.max() == 0
    with pytest.raises(ValueError, match="2-D"):
        instances.watershed_from_distance(np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        instances.watershed_from_distance(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="min_distance"):
        instances.watershed_from_distance(np.ones((3, 3)), min_distance=0)
    with pytest.raises(ValueError, match="shape"):
        instances.watershed_from_distance(np.ones((3, 3)), np.ones((3, 4), bool))


def test_tile_bootstrap_pairs_the_draws_and_matches_panoptic_quality():   # review 04s10 P2-3
    gt = np.zeros((16, 16), int)
    for k, (r, c) in enumerate([(1, 1), (1, 9), (9, 1), (9, 9), (5, 5)], start=1):
        gt[r:r + 3, c:c + 3] = k
    pred = gt.copy()
    pred[pred == 2] = 0                                   # one missed
    pred[13:15, 13:15] = 7                                # one false
    out = instances.tile_bootstrap({"pred": pred, "truth": gt}, gt, tile=8, n_resamples=50, seed=1)
    assert out["n_tiles"] == 4
    assert out["pq"]["pred"] == pytest.approx(instances.panoptic_quality(pred, gt)["pq"])
    assert np.all(out["resamples"]["truth"] == 1.0)
    assert out["resamples"]["pred"].shape == (50,) and np.all(out["resamples"]["pred"] <= 1.0)
    again = instances.tile_bootstrap({"pred": pred}, gt, tile=8, n_resamples=50, seed=1)
    np.testing.assert_array_equal(again["resamples"]["pred"], out["resamples"]["pred"])   # same seed, same draws
    with pytest.raises(ValueError, match="multiples"):
        instances.tile_outcomes(pred, gt, tile=5)


def test_lesson04_helpers_rim_split_and_distance():                       # review 04s10b P2-1
    gt = np.zeros((40, 40), int)
    gt[4:12, 4:12], gt[20:30, 20:36] = 1, 2
    pred = gt.copy()
    pred[20:30, 28:36] = 9                                # object 2 cut into two halves
    assert instances.split_objects(pred, gt).tolist() == [2]
    box, b = instances.rim_iou(pred, gt, 1, 1)
    assert b == 1.0 and gt[box].shape == (32, 32)         # near the corner the crop moves inside the map
    shifted = np.roll(gt, 2, axis=1)
    assert instances.rim_iou(shifted, gt, 1, 1)[1] < 1.0
    yy, xx = np.mgrid[:40, :40]
    dist = np.exp(-((yy - 8) ** 2 + (xx - 8) ** 2) / 20) + np.exp(-((yy - 25) ** 2 + (xx - 28) ** 2) / 20)   # two hills
    lab = instances.distance_instances(dist, 0.05, 0.3, 3)
    assert lab.max() == 2 and lab.dtype == np.int32
    assert instances.distance_instances(dist, 0.05, 0.3, 3, out_shape=(80, 80)).shape == (80, 80)
    net = torch.nn.Conv2d(3, 1, 1)
    torch.nn.init.zeros_(net.weight), torch.nn.init.zeros_(net.bias)
    assert np.allclose(instances.predicted_distance(net, np.ones((6, 6), np.float32), (0.5, 1, 0.5)), 0.5)
