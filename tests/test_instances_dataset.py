"""Data-set scores for instances: PQ pooled as Kirillov et al. define it, AP ranked over all images.

References: torchmetrics' PanopticQuality over a batch, and pycocotools' COCOeval over several images.
"""

import contextlib
import io

import numpy as np
import pytest
import torch

from segcourse import instances as I
from test_instances import _jitter, _random_instances as _random_instances_32  # the instance tests' helpers


def _random_instances(rng, h=40, w=40, k=6):
    return _random_instances_32(rng, h=h, w=w, k=k)


def _batch(seed, n=5):
    rng = np.random.default_rng(seed)
    gts = [_random_instances(rng, k=int(rng.integers(1, 9))) for _ in range(n)]
    preds = [_jitter(rng, g) for g in gts]
    return rng, preds, gts


@pytest.mark.parametrize("seed", range(6))
def test_pooled_pq_is_sq_times_rq_and_pools_counts(seed):
    _, preds, gts = _batch(200 + seed)
    res = I.dataset_panoptic_quality(preds, gts)
    per = [I.panoptic_quality(p, g) for p, g in zip(preds, gts)]
    assert (res["tp"], res["fp"], res["fn"]) == tuple(sum(r[k] for r in per) for k in ("tp", "fp", "fn"))
    assert res["pq"] == pytest.approx(res["sq"] * res["rq"])
    iou_sum = sum(r["sq"] * r["tp"] for r in per)
    assert res["pq"] == pytest.approx(iou_sum / (res["tp"] + 0.5 * res["fp"] + 0.5 * res["fn"]))


@pytest.mark.parametrize("seed", range(6))
def test_pooled_pq_matches_torchmetrics_over_a_batch(seed):
    tm = pytest.importorskip("torchmetrics.functional.detection")
    _, preds, gts = _batch(300 + seed)

    def panoptic(labs):  # (category, instance) per pixel; background is the "stuff" class 0
        return torch.from_numpy(np.stack([np.stack([(l > 0).astype(np.int64), l.astype(np.int64)], -1)
                                          for l in labs]))
    ref = tm.panoptic_quality(panoptic(preds), panoptic(gts), things={1}, stuffs={0}, return_per_class=True)
    assert I.dataset_panoptic_quality(preds, gts)["pq"] == pytest.approx(float(ref.reshape(-1)[0]), abs=1e-5)


def test_pooled_pq_differs_from_the_mean_of_per_image_pq():
    gts = [np.array([[1, 1, 0, 2, 2, 0, 3, 3]]), np.array([[1, 1, 0, 0, 0, 0, 0, 0]])]
    preds = [gts[0].copy(), np.array([[0, 0, 0, 0, 0, 0, 4, 4]])]   # 3 of 3 found; 0 of 1 found
    mean_pq = np.mean([I.panoptic_quality(p, g)["pq"] for p, g in zip(preds, gts)])
    pooled = I.dataset_panoptic_quality(preds, gts)
    assert mean_pq == pytest.approx(0.5) and pooled["pq"] == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="one per image"):
        I.dataset_panoptic_quality(preds, gts[:1])


@pytest.mark.parametrize("seed", range(5))
def test_dataset_ap_matches_cocoeval_over_several_images(seed):
    pytest.importorskip("pycocotools")
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng, preds, gts = _batch(400 + seed, n=4)
    for p in preds:
        p[rng.random(p.shape) < 0.002] = 99  # spurious specks: false positives
    scores = [{int(i): float(rng.random()) for i in np.unique(p[p > 0])} for p in preds]
    ours = I.dataset_average_precision(preds, scores, gts)

    def rle(m):
        r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        r["counts"] = r["counts"].decode()
        return r
    h, w = gts[0].shape
    anns, dets = [], []
    for img, (p, g, sc) in enumerate(zip(preds, gts, scores), start=1):
        anns += [{"id": len(anns) + k, "image_id": img, "category_id": 1, "segmentation": rle(g == i),
                  "area": float((g == i).sum()), "bbox": [0, 0, 1, 1], "iscrowd": 0}
                 for k, i in enumerate(np.unique(g[g > 0]), start=1)]
        dets += [{"image_id": img, "category_id": 1, "segmentation": rle(p == i), "score": sc[i]} for i in sc]
    coco = COCO()
    coco.dataset = {"images": [{"id": i, "height": h, "width": w} for i in range(1, len(gts) + 1)],
                    "categories": [{"id": 1, "name": "obj"}], "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(dets), "segm")
        ev.evaluate(); ev.accumulate(); ev.summarize()
    assert ours["ap"] == pytest.approx(ev.stats[0], abs=1e-6)
    assert ours["ap_per_threshold"][0.5] == pytest.approx(ev.stats[1], abs=1e-6)


def test_dataset_ap_checks_its_inputs():
    gts = [np.array([[1, 1, 0, 2]])]
    preds = [np.array([[1, 1, 0, 0]])]
    with pytest.raises(ValueError, match="one entry per image"):
        I.dataset_average_precision(preds, [], gts)
    with pytest.raises(ValueError, match="no confidence"):
        I.dataset_average_precision(preds, [{}], gts)
    with pytest.raises(ValueError, match="iou_thresholds"):
        I.dataset_average_precision(preds, [{1: 0.9}], gts, iou_thresholds=[1.5])
    with pytest.raises(ValueError, match="NaN"):
        I.dataset_average_precision(preds, [{1: float("nan")}], gts)
