"""bucket_failures diagnoses correctly: false-positive class, scraps, base rates, overlaps, gains."""

import numpy as np
import pytest

from segcourse import data, failures as F, metrics, report

NAMES = list(data.ROAD_CLASSES)
CAR = NAMES.index("car")


@pytest.fixture(scope="module")
def scenes():
    return data.road_scenes(12, seed=5, max_cars=3)


def _no_car_scene():
    lm = data.road_scenes(40, seed=3, max_cars=3).labels
    i = next(j for j, m in enumerate(lm) if not (m == CAR).any())
    return lm[i:i + 1].copy()


def test_a_stray_pixel_of_an_absent_class_is_a_false_positive_class():
    t = _no_car_scene()
    p = t.copy()
    road = np.argwhere(t[0] == 1)
    p[0][tuple(road[len(road) // 2])] = CAR                   # one car pixel on the road
    res = F.bucket_failures(p, t, 5, NAMES)
    s = res["samples"][0]
    # the per-image mean counts car (IoU 0) as a whole failed class: 4 classes at ~1 and one at 0
    assert s["miou"] == pytest.approx(metrics.mean_iou(p[0], t[0], 5)) and s["miou"] < 0.81
    ev = s["evidence"]["false_positive_class"]
    assert ev["classes"] == [{"class": "car", "pixels": 1, "regions": 1, "absent_from_target": True}]
    present = metrics.per_class_iou(p[0], t[0], 5)[np.unique(t[0])]
    assert ev["miou_without"] == pytest.approx(present.mean()) and ev["miou_without"] > 0.99
    assert s["buckets"] == ["false_positive_class"] and s["primary"] == "false_positive_class"
    assert s["per_class_iou"]["car"] == 0.0
    line = report.explain(s)
    assert "where the target has no car" in line and "car 0.000" in line and "per-class IoU" in line


def test_hallucinated_regions_beside_real_ones_need_min_pixels(scenes):
    t = scenes.labels[:1].copy()
    assert (t[0] == CAR).any()
    sky_rows = np.nonzero((t[0] == 0).all(1))[0]
    p = t.copy()
    p[0, sky_rows[1], 5:8] = CAR                              # a 3-px car in the sky, far from every car
    res = F.bucket_failures(p, t, 5, NAMES, fail_below=1.0, min_confused_pixels=20)
    assert "false_positive_class" not in res["samples"][0]["buckets"]
    p[0, sky_rows[1]:sky_rows[1] + 4, 5:12] = CAR             # 28 px: more than the minimum
    res = F.bucket_failures(p, t, 5, NAMES, fail_below=1.0, min_confused_pixels=20)
    ev = res["samples"][0]["evidence"]["false_positive_class"]
    assert ev["pixels"] == 28 and ev["classes"][0]["absent_from_target"] is False


def test_one_pixel_scraps_do_not_fill_the_small_region_bucket():
    t = np.zeros((1, 30, 30), int)
    t[0, 2, 2] = 1                                            # a 1-px scrap of class 1
    t[0, 10:13, 10:13] = 1                                    # a 9-px object of class 1
    t[0, 20:28, 2:28] = 2                                     # a large class-2 region, found
    p = np.where(t == 1, 0, t)                                # both class-1 regions missed
    res = F.bucket_failures(p, t, 3, fail_below=1.0, small_area=40, min_area=4)
    ev = res["samples"][0]["evidence"]["small_region"]
    assert [m["area"] for m in ev["missed"]] == [9] and ev["scraps_missed"] == 1
    p2 = p.copy(); p2[0, 10:13, 10:13] = 1                    # now only the scrap is missed
    res2 = F.bucket_failures(p2, t, 3, fail_below=1.0, min_area=4)
    assert res2["buckets"]["small_region"] == []


def test_boundary_rule_compares_with_the_band_share(scenes):
    t = scenes.labels
    shifted = F.bucket_failures(np.roll(t, 1, axis=2), t, 5, NAMES, fail_below=1.0)
    for s in shifted["samples"]:
        b = s["evidence"].get("boundary")
        if b:
            band = F.label_boundary_band(t[s["sample"]])
            assert b["band_share"] == pytest.approx(band.mean())
            assert b["enrichment"] == pytest.approx(b["fraction_in_band"] / b["band_share"]) and b["enrichment"] >= 2
    assert len(shifted["buckets"]["boundary"]) >= 0.8 * len(t)
    # the same number of wrong pixels scattered at random: about band_share of them land in the band
    rng = np.random.default_rng(0)
    noisy = t.copy()
    flip = rng.random(t.shape) < 0.05
    noisy[flip] = (t[flip] + 1) % 5
    scattered = F.bucket_failures(noisy, t, 5, NAMES, fail_below=1.0, min_confused_pixels=10**6)
    assert scattered["buckets"]["boundary"] == []
    fr = [F.label_boundary_band(t[i])[flip[i]].mean() / F.label_boundary_band(t[i]).mean() for i in range(len(t))]
    assert 0.7 < np.mean(fr) < 1.3                            # enrichment of random errors is about 1


def test_overlaps_primaries_and_gains_are_consistent():
    proj = data.road_scenes(30, seed=2, max_cars=3)
    t = proj.labels
    p = np.roll(t, 1, axis=2)
    p[::3, 0, 0] = CAR                                        # a stray car pixel in the sky of every third image
    res = F.bucket_failures(p, t, 5, NAMES, fail_below=0.99)
    assert sum(res["overlaps"].values()) == res["failing"]
    assert sum(res["primary_counts"].values()) == res["failing"]
    assert sum(res["counts"].values()) == sum(len(k) * v for k, v in res["overlaps"].items())
    for s in res["samples"]:
        if s["buckets"]:
            assert s["primary"] == max(s["buckets"], key=lambda b: s["evidence"][b]["miou_gain"])
        for b in s["buckets"]:
            assert s["evidence"][b]["miou_gain"] > 0
    for b, ids in res["worst"].items():
        gains = [next(s for s in res["samples"] if s["sample"] == j)["evidence"][b]["miou_gain"] for j in ids]
        assert gains == sorted(gains, reverse=True)


def test_class_confusion_counts_pixels_away_from_the_edges(scenes):
    t = scenes.labels[:1]
    p = t.copy()
    band = F.label_boundary_band(t[0])
    edge_only = (t[0] == 2) & band
    p[0][edge_only] = 1                                       # sidewalk edge painted as road: not a confusion
    res = F.bucket_failures(p, t, 5, NAMES, fail_below=1.0)
    assert res["buckets"]["class_confusion"] == [] and res["buckets"]["boundary"] == [0]


def test_every_bucket_has_an_improvement_and_explain_reads_all(tmp_path, scenes):
    assert set(report.IMPROVEMENTS) == set(F.BUCKETS)
    t = scenes.labels
    p = np.roll(t, 1, axis=2)
    p[:, 0, 0] = CAR
    buckets = F.bucket_failures(p, t, 5, NAMES, fail_below=0.99)
    assert buckets["counts"]["false_positive_class"] > 0
    per_sample = np.array([metrics.mean_iou(a, b, 5) for a, b in zip(p, t)])
    out = report.write_report(tmp_path / "r.html", scenes.images, t, p, NAMES, metrics.per_class_iou(p, t, 5),
                              per_sample, buckets)
    assert "false positive class" in out.read_text()


@pytest.mark.parametrize("kwargs, words", [
    ({"boundary_enrichment": -1}, "boundary_enrichment"),
    ({"boundary_enrichment": float("nan")}, "boundary_enrichment"),
    ({"min_area": 0}, "min_area"),
])
def test_new_knobs_are_validated(kwargs, words):
    lm = np.zeros((1, 8, 8), int)
    with pytest.raises((ValueError, TypeError), match=words):
        F.bucket_failures(lm, lm, 2, **kwargs)


def _count_validation(monkeypatch):
    """Wrap the label/mask validators wherever a segcourse module bound them; record each call."""
    import sys

    from segcourse import _validate

    calls: list[tuple[str, str]] = []
    for fname in ("as_label_array", "as_binary", "check_label_range", "to_numpy"):
        real = getattr(_validate, fname)

        def counting(x, name, *args, _real=real, _fname=fname, **kwargs):
            calls.append((_fname, name))
            return _real(x, name, *args, **kwargs)

        for mod in [m for n, m in list(sys.modules.items()) if n == "segcourse" or n.startswith("segcourse.")]:
            if getattr(mod, fname, None) is real:
                monkeypatch.setattr(mod, fname, counting)
    return calls


def test_one_bucket_failures_call_validates_each_input_once(monkeypatch):
    """Validation happens at the public boundary only: the per-sample confusion matrices, boundary
    bands and mIoU gains use metrics' private helpers, which take the already-checked arrays (it
    used to be about six conversions and range scans per failing sample)."""
    t = data.road_scenes(6, seed=5, max_cars=3).labels
    p = np.roll(t, 1, axis=2)                                 # boundary errors everywhere
    p[0, 40:, :30] = 2                                        # class confusion (road -> sidewalk)
    p[1][p[1] == CAR] = 1                                     # missed cars: small regions
    p[2, 0, 0] = CAR                                          # a car pixel in the sky: false-positive class
    calls = _count_validation(monkeypatch)
    res = F.bucket_failures(p, t, 5, NAMES)
    assert res["failing"] == 6 and all(res["counts"].values()), res["counts"]  # every code path ran
    assert [c for c in calls if c[0] == "as_label_array"] == [("as_label_array", "preds"), ("as_label_array", "targets")]
    assert {c[0] for c in calls} <= {"as_label_array", "to_numpy"}, calls    # no range scan, no as_binary again
    assert len(calls) == 4, calls                             # each input: as_label_array -> to_numpy, once
    calls.clear()
    F.per_sample_report(p, t, 5, NAMES)
    F.agreement(p, t, 5)
    assert [c for c in calls if c[0] == "as_label_array"] == [("as_label_array", n) for n in ("preds", "targets", "pred", "target")]
    calls.clear()
    metrics.boundary_iou(p[0] == 1, t[0] == 1)                # public metrics still check their inputs, once each
    assert [c for c in calls if c[0] == "as_binary"] == [("as_binary", "pred"), ("as_binary", "target")]


def test_the_dense_confusion_matrix_cap_still_applies_once_checked_up_front():
    """The per-sample confusion matrices no longer go through metrics.confusion_matrix, which caps K
    at MAX_CM_CLASSES; the batch check applies the same cap, before any (K, K) matrix is built."""
    z = np.zeros((1, 4, 4), int)
    with pytest.raises(ValueError, match="dense"):
        F.bucket_failures(z, z, metrics.MAX_CM_CLASSES + 1)
    with pytest.raises(ValueError, match="dense"):
        F.per_sample_report(z, z, metrics.MAX_CM_CLASSES + 1)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64])
def test_class_confusion_is_the_same_for_uint8_labels_and_many_classes(dtype):
    """K*t + p overflowed uint8 once K*K > 256: with K=17 class 16 read as 16*17+15 = 287 -> 31,
    i.e. 'true 1 predicted as 14', with a fraction of 300.0 of the true class."""
    k = 17
    t = np.zeros((1, 40, 40), dtype); t[0, :, 20:] = 16; t[0, :, 36:] = 15
    p = t.copy(); p[0, 5:35, 25:36] = 15                      # 330 px of class 16 called 15
    ev = F.bucket_failures(p, t, k)["samples"][0]["evidence"]["class_confusion"]
    assert (ev["true"], ev["predicted"], ev["pixels"]) == ("16", "15", 300)
    assert ev["fraction_of_true_class"] == pytest.approx(300 / 640) and ev["pixels_with_band"] == 330


def test_bucket_pixels_partition_the_wrong_pixels_by_the_sample_buckets(scenes):
    """bucket_pixels (the gallery's colours) uses bucket_failures' rules: the same member buckets,
    every wrong pixel exactly once, and the false-positive pixels are the stray regions' pixels."""
    targets = scenes.labels.astype(np.int64)
    preds = np.roll(targets, 1, axis=2)                          # every edge one pixel off
    preds[:, 40:46, 8:14] = 2                                    # and a blob of sidewalk in each scene
    res = F.bucket_failures(preds, targets, 5)
    assert res["failing"] >= 3
    for s in res["samples"][:6]:
        i = s["sample"]
        parts = F.bucket_pixels(preds[i], targets[i], 5)
        assert [b for b in parts if b != "no bucket"] == s["buckets"]
        stack = np.stack(list(parts.values()))
        assert (stack.sum(0) == (preds[i] != targets[i])).all()          # each wrong pixel once, nothing else
        if "false_positive_class" in parts:
            assert parts["false_positive_class"].sum() == s["evidence"]["false_positive_class"]["pixels"]
    with pytest.raises(ValueError, match="one sample"):
        F.bucket_pixels(preds[:2], targets[:2], 5)
    with pytest.raises(ValueError, match="small_recall"):
        F.bucket_pixels(preds[0], targets[0], 5, small_recall=2.0)
