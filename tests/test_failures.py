"""segcourse.failures and segcourse.report: buckets on constructed cases, checklist, QC, report."""

import re

import numpy as np
import pytest
from scipy import ndimage

from segcourse import data, failures as F, metrics, report

NAMES = list(data.ROAD_CLASSES)


@pytest.fixture(scope="module")
def scenes():
    return data.road_scenes(12, seed=5, max_cars=3)


def test_per_sample_report_rows(scenes):
    t = scenes.labels
    rows = F.per_sample_report(t, t, 5, NAMES)
    assert len(rows) == len(t)
    assert all(r["miou"] == 1.0 and r["dice"] == 1.0 and r["boundary_iou"] == 1.0 for r in rows)
    assert rows[0]["area_road"] == int((t[0] == 1).sum())
    p = t.copy(); p[0][p[0] == 2] = 1
    row = F.per_sample_report(p, t, 5, NAMES)[0]
    assert row["iou_road"] == pytest.approx(metrics.per_class_iou(p[0], t[0], 5)[1])
    with pytest.raises(ValueError, match="class names"):
        F.per_sample_report(t, t, 5, ["a"])


def test_shifted_prediction_is_a_boundary_error(scenes):
    t = scenes.labels
    p = np.roll(t, 1, axis=2)
    res = F.bucket_failures(p, t, 5, NAMES, fail_below=1.0)
    boundary = set(res["buckets"]["boundary"])
    assert len(boundary) >= 0.8 * len(t)
    for s in res["samples"]:
        if "boundary" in s["evidence"]:
            assert s["evidence"]["boundary"]["fraction_in_band"] >= 0.5


def test_deleted_small_car_is_a_missed_small_region(scenes):
    t = scenes.labels[:1].copy()
    comps, n = ndimage.label(t[0] == 4)
    assert n >= 1
    areas = np.bincount(comps.ravel())[1:]
    smallest = int(np.argmin(areas)) + 1
    p = t.copy()
    p[0][comps == smallest] = 1  # the car is painted as road
    res = F.bucket_failures(p, t, 5, NAMES, fail_below=1.0, small_area=60)
    assert res["buckets"]["small_region"] == [0]
    missed = res["samples"][0]["evidence"]["small_region"]["missed"]
    assert missed[0]["class"] == "car" and missed[0]["area"] == areas[smallest - 1] and missed[0]["recall"] == 0
    assert "boundary" not in res["samples"][0]["buckets"]


def test_sidewalk_painted_as_road_is_class_confusion(scenes):
    t = scenes.labels[:1]
    p = np.where(t == 2, 1, t)
    res = F.bucket_failures(p, t, 5, NAMES)
    ev = res["samples"][0]["evidence"]["class_confusion"]
    assert (ev["true"], ev["predicted"]) == ("sidewalk", "road")
    side = t[0] == 2
    away = side & ~F.label_boundary_band(t[0])          # the rule counts pixels away from any edge
    assert ev["fraction_of_true_class"] == pytest.approx(away.sum() / side.sum())
    assert ev["pixels"] == away.sum() and ev["pixels_with_band"] == side.sum()
    assert res["buckets"]["class_confusion"] == [0] and res["buckets"]["boundary"] == []


def test_good_samples_are_not_failures(scenes):
    res = F.bucket_failures(scenes.labels, scenes.labels, 5)
    assert res["failing"] == 0 and res["counts"] == {"boundary": 0, "small_region": 0, "class_confusion": 0,
                                                      "false_positive_class": 0}


@pytest.mark.parametrize("done, expected", [
    (0, "First narrow down the class definitions."),
    (1, "First sample-check the mask annotation quality."),
    (2, "First build a minimal baseline."),
    (3, "First bucket the failure samples."),
    (4, "You can continue with targeted optimization."),
])
def test_checklist_every_state(done, expected):
    keys = ["classes_defined", "mask_quality_checked", "baseline_ready", "failure_buckets_defined"]
    assert F.next_step({k: i < done for i, k in enumerate(keys)}) == expected


def test_checklist_bad_input():
    with pytest.raises(ValueError, match="missing"):
        F.next_step({"classes_defined": True})
    with pytest.raises(TypeError):
        F.next_step(["classes_defined"])


def test_qc_catches_each_planted_defect():
    lm = data.road_scenes(12, seed=0).labels.astype(np.int32)
    lm[0, 30:33, 10:13] = 255          # an unlabeled gap
    lm[1, 5, 5] = 4                    # a one-pixel speck of car in the sky
    lm[2, 40, :] = 0                   # a 1-px-thin stripe of sky across the road
    lm[3, 0:4, 0:4] = 7                # an id nobody else uses
    found = F.check_annotations(lm, num_classes=5, thin_ok=(3,))
    kinds = {(f["kind"], f["sample"]) for f in found}
    assert ("unlabeled_gap", 0) in kinds
    assert ("speck", 1) in kinds
    assert ("thin", 2) in kinds
    assert ("out_of_range", 3) in kinds
    assert any(f["kind"] == "inconsistent_id" and f["class"] == 7 for f in found)
    clean = F.check_annotations(data.road_scenes(12, seed=0).labels, 5, thin_ok=(3,), speck_area=1)
    assert not [f for f in clean if f["kind"] in ("unlabeled_gap", "out_of_range", "inconsistent_id")]


def test_agreement_falls_with_annotation_noise():
    lm = data.road_scenes(20, seed=1).labels
    scores = [F.agreement(data.annotation_noise(lm, boundary_jitter=j, seed=2), lm, 5)["miou"] for j in (0, 1, 2.5)]
    assert scores[0] == 1.0 and scores[0] > scores[1] > scores[2]


def test_report_has_every_section_and_no_external_files(tmp_path, scenes):
    t = scenes.labels
    p = np.roll(t, 1, axis=2)
    p[3] = np.where(t[3] == 2, 1, t[3])
    per_sample = np.array([metrics.mean_iou(a, b, 5) for a, b in zip(p, t)])
    buckets = F.bucket_failures(p, t, 5, NAMES, fail_below=0.97)
    out = report.write_report(tmp_path / "report.html", scenes.images, t, p, NAMES,
                              metrics.per_class_iou(p, t, 5), per_sample, buckets, palette=scenes.palette)
    page = out.read_text()
    for section in ("Triplets: image / ground truth / prediction", "Per-class IoU", "Failure samples by bucket",
                    "What I would improve next", "boundary error", "class confusion"):
        assert section in page, section
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http" not in page.replace("http-equiv", "")
    with pytest.raises(FileExistsError):
        report.write_report(out, scenes.images, t, p, NAMES, metrics.per_class_iou(p, t, 5), per_sample, buckets)
    assert out.read_text() == page  # untouched
    report.write_report(out, scenes.images, t, p, NAMES, metrics.per_class_iou(p, t, 5), per_sample, buckets, overwrite=True)
    with pytest.raises(ValueError, match=".html"):
        report.write_report(tmp_path / "r.txt", scenes.images, t, p, NAMES, [1] * 5, per_sample, buckets)
