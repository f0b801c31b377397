"""segcourse.experiments: the shipped results are complete, documented and reproduce; augment respects road scenes."""

import json
import os

import numpy as np
import pytest

from segcourse import data, experiments


@pytest.mark.parametrize("name, settings, min_seeds", [("ablation", experiments.LOSSES, 3), ("shift", experiments.AUGMENTATIONS, 3)])
def test_shipped_results_are_complete_and_documented(name, settings, min_seeds):
    res = experiments.load(name)
    assert res["command"].startswith(f"python -m segcourse.experiments {name}")
    assert res["torch"] and res["device"] == "cpu" and "CPU" in res["device_name"] and res["threads"] >= 1
    assert len(res["seeds"]) >= min_seeds and list(res["configs"]) == list(settings)
    key = "config" if name == "ablation" else "augmentation"
    got = [(r[key], r["seed"]) for r in res["rows"]]
    assert got == [(s, seed) for s in settings for seed in res["seeds"]]  # every setting on every seed, once
    for r in res["rows"]:
        scores = [r] if name == "ablation" else [r["clean"], r["shifted"]]
        for sc in scores:
            assert len(sc["per_class_iou"]) == 5 and 0 <= sc["miou"] <= 1
            assert sc["miou"] == pytest.approx(np.mean(sc["per_class_iou"]), abs=1e-3)


def test_first_ablation_row_reproduces():
    """The lesson re-runs this row live; a change to data, model or fit that moves it must show up here."""
    shipped = experiments.load("ablation")["rows"][0]
    run = experiments.ablation_run(shipped["config"], shipped["seed"])
    assert run["row"]["images_seen"] == shipped["images_seen"]
    # CPU numerics differ in the last digits between torch versions and CPUs: 0.6215 vs 0.6217 measured
    assert run["row"]["miou"] == pytest.approx(shipped["miou"], abs=0.01)
    np.testing.assert_allclose(run["row"]["per_class_iou"], shipped["per_class_iou"], atol=0.03)


def test_summarise_spread():
    rows = experiments.load("ablation")["rows"]
    s = experiments.summarise(rows, "config")
    assert list(s) == list(experiments.LOSSES)
    ce = [r["miou"] for r in rows if r["config"] == "CE"]
    assert s["CE"]["n"] == len(ce) and s["CE"]["miou"]["mean"] == pytest.approx(np.mean(ce))
    assert s["CE"]["miou"]["std"] == pytest.approx(np.std(ce, ddof=1))
    assert s["CE"]["miou"]["min"] <= s["CE"]["miou"]["mean"] <= s["CE"]["miou"]["max"]
    shifted = experiments.summarise(experiments.load("shift")["rows"], "augmentation", "shifted")
    assert list(shifted) == list(experiments.AUGMENTATIONS)


def test_bad_names():
    with pytest.raises(ValueError, match="config"):
        experiments.ablation_run("focal", 0)
    with pytest.raises(ValueError, match="augmentation"):
        experiments.shift_run("mixup", 0)
    with pytest.raises(ValueError, match="no shipped results"):
        experiments.load("nothing")


def test_jittered_copies_change_images_only():
    d = data.road_scenes(3, seed=5)
    j = experiments.jittered(d, 2, seed=0, brightness=0.3, noise=0.05)
    assert j.images.shape == (6, 64, 64, 3) and j.images.dtype == np.float32
    assert (j.labels == np.concatenate([d.labels] * 2)).all()
    assert not np.allclose(j.images[:3], d.images) and not np.allclose(j.images[:3], j.images[3:])  # a fresh draw each copy
    assert j.images.min() >= 0 and j.images.max() <= 1
    plain = experiments.jittered(d, 2, seed=0)
    assert (plain.images[3:] == d.images).all()


def test_augment_defaults_keep_the_sky_on_top():
    d = data.road_scenes(8, seed=11)
    rng = np.random.default_rng(0)
    rows = np.arange(64)[:, None]
    for img, lm in zip(d.images, d.labels):
        for _ in range(4):
            _, out = data.augment(img, lm, rng)
            sky, ground = (out == 0), (out != 0)
            assert (rows * sky).sum() / sky.sum() < (rows * ground).sum() / ground.sum()
    # rot90 on, some draw puts the sky beside or below the road
    turned = [data.augment(d.images[0], d.labels[0], np.random.default_rng(s), rot90=True, crop_scale=None)[1] for s in range(8)]
    assert any((t[0] != 0).all() for t in turned)


def test_augment_photometric_options_touch_the_image_only():
    d = data.road_scenes(1, seed=2)
    img, lm = d.images[0], d.labels[0]
    bright, lm_b = data.augment(img, lm, np.random.default_rng(1), hflip=False, crop_scale=None, color_jitter=0, brightness=0.3)
    assert (lm_b == lm).all()
    ratio = bright[img > 0.05] / img[img > 0.05]
    unclipped = bright[img > 0.05] < 1
    assert np.ptp(ratio[unclipped]) < 1e-5 and abs(ratio[unclipped][0] - 1) <= 0.3  # one gain for every pixel
    noisy, lm_n = data.augment(img, lm, np.random.default_rng(1), hflip=False, crop_scale=None, color_jitter=0, noise=0.05)
    assert (lm_n == lm).all() and 0 < np.abs(noisy - img).mean() < 0.05
    same, _ = data.augment(img, lm, np.random.default_rng(1), hflip=False, crop_scale=None, color_jitter=0)
    assert np.array_equal(same, img)


# ------------------------------------------------------------------------- recorded runs (same numbers on every CPU)
import hashlib
import re
from pathlib import Path

import torch

from segcourse.models import TinyUNet

ROOT = Path(__file__).resolve().parents[1]
RUN_CALL = re.compile(r"""recorded_run\(\s*["']([0-9]{2}_[a-z0-9_]+)["']""")


def _lesson_run_names() -> set[str]:
    """Every run name a lesson or solution passes to recorded_run (or recorded_or_run, recorded_seeds, train_or_load,
    recorded_arms, recorded_models, recorded_click_runs), literally or through a dict of names."""
    names = set()
    for src in [*(ROOT / "notebooks").glob("*.py"), *(ROOT / "solutions").glob("*.py")]:
        text = src.read_text()
        if not re.search(r"(recorded_(run|or_run|seeds|arms|models|click_runs)|train_or_load)\(", text):
            continue
        names |= set(RUN_CALL.findall(text))
        names |= {n for n in re.findall(r"""["']([0-9]{2}_[a-z0-9_]+)["']""", text) if n[:2] == src.stem[:2]}
    return names


def test_every_run_a_lesson_reads_is_shipped_with_a_card_and_loads():
    names = _lesson_run_names()
    assert {"01_short_ce", "01_short_ce_dice_weights", "02_train_loop", "04_fine_tuned"} <= names
    shipped = {p.stem for p in experiments.RUNS_DIR.glob("*.json")}
    assert names == shipped, f"runs the lessons read but not shipped: {sorted(names - shipped)}; shipped but unread: {sorted(shipped - names)}"
    for name in sorted(names):
        card_path = experiments.RUNS_DIR / f"{name}.json"
        card = json.loads(card_path.read_text())
        assert card["name"] == name and card["command"] == f"python tools/course.py build {name[:2]} --record"
        assert card["torch"] and card["cpu_capability"] and card["threads"] >= 1 and "history" in card
        if "weights" in card:
            assert hashlib.sha256((experiments.RUNS_DIR / card["weights"]).read_bytes()).hexdigest() == card["sha256"]


def test_recorded_run_round_trip_keeps_arrays_and_weights(tmp_path, monkeypatch):
    torch.manual_seed(0)
    live = TinyUNet(3, 2, width=4)
    hist = [{"step": 1, "val IoU": np.array([0.25, np.nan]), "loss": np.float32(0.5)}, {"per_class": [0.1, 0.2]}]
    monkeypatch.setenv(experiments.RECORD_ENV, "1")
    experiments.recorded_run("09_round_trip", live, hist, tmp_path)
    monkeypatch.delenv(experiments.RECORD_ENV)
    with torch.no_grad():
        for p in live.parameters():
            p.add_(1.0)  # the live model moves on; the recorded one must not
    run = experiments.recorded_run("09_round_trip", live, directory=tmp_path)
    assert run["model"] is not live and not run["model"].training
    got = run["history"]
    assert got[0]["val IoU"].dtype == np.float64 and np.isnan(got[0]["val IoU"][1]) and got[0]["val IoU"][0] == 0.25
    assert got[0]["loss"] == 0.5 and got[1] == {"per_class": [0.1, 0.2]}
    x = torch.rand(1, 3, 16, 16)
    torch.manual_seed(0)
    fresh = TinyUNet(3, 2, width=4).eval()
    with torch.no_grad():
        assert torch.equal(run["model"](x), fresh(x))


def test_recorded_seeds_trains_only_when_recording(tmp_path, monkeypatch):
    """Review 05s10 P2-3: lesson 05's seed runs move their recording branch into a helper."""
    calls = []
    def run_one(seed):
        calls.append(seed)
        return {"miou": 0.5 + seed / 10, "per_class_iou": [1.0, 0.25]}
    monkeypatch.setenv(experiments.RECORD_ENV, "1")
    made = experiments.recorded_seeds("09_seeds_demo", run_one, seeds=(3, 4), directory=tmp_path)
    monkeypatch.delenv(experiments.RECORD_ENV)
    assert calls == [3, 4] and [r["seed"] for r in made] == [3, 4] and list(made[0]) == ["seed", "miou", "per_class_iou"]
    again = experiments.recorded_seeds("09_seeds_demo", run_one, directory=tmp_path)
    assert calls == [3, 4] and again == made


def test_recorded_run_refuses_bad_names_missing_runs_and_replaced_weights(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="name must look like '01_short_ce'"):
        experiments.recorded_run("../evil", directory=tmp_path)
    with pytest.raises(ValueError, match="no recorded run named '09_missing'.*build 09 --record"):
        experiments.recorded_run("09_missing", directory=tmp_path)
    with pytest.raises(TypeError, match="model must be a torch module"):
        experiments.recorded_run("09_x", model="not a model", directory=tmp_path)
    monkeypatch.setenv(experiments.RECORD_ENV, "1")
    experiments.recorded_run("09_w", TinyUNet(3, 2, width=4), {"a": 1}, tmp_path)
    experiments.recorded_run("09_h", None, {"a": 1}, tmp_path)
    monkeypatch.delenv(experiments.RECORD_ENV)
    with pytest.raises(ValueError, match="has no weights"):
        experiments.recorded_run("09_h", TinyUNet(3, 2, width=4), directory=tmp_path)
    (tmp_path / "09_w.pt").write_bytes(b"replaced")
    with pytest.raises(ValueError, match="are missing or were replaced: sha256"):
        experiments.recorded_run("09_w", TinyUNet(3, 2, width=4), directory=tmp_path)
    (tmp_path / "09_h.json").write_text("{not json")
    with pytest.raises(ValueError, match="is corrupted"):
        experiments.recorded_run("09_h", directory=tmp_path)


def test_lessons_load_recorded_runs_unless_the_build_records(monkeypatch):
    """Only `python tools/course.py build NN --record` writes runs: a learner's kernel never does."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import course

    monkeypatch.setenv(experiments.RECORD_ENV, "1")  # inherited from a shell must not leak into a build kernel
    with course.kernel_env():
        assert experiments.RECORD_ENV not in os.environ
    with course.kernel_env(record=True):
        assert os.environ[experiments.RECORD_ENV] == "1"


def test_recorded_or_run_trains_only_when_recording(tmp_path, monkeypatch):
    """`recorded_or_run` calls its function only under --record, and otherwise reads the recorded history."""
    calls = []
    monkeypatch.setenv(experiments.RECORD_ENV, "1")
    assert experiments.recorded_or_run("09_once", lambda: calls.append(1) or {"a": 1}, tmp_path) == {"a": 1}
    monkeypatch.delenv(experiments.RECORD_ENV)
    assert experiments.recorded_or_run("09_once", lambda: calls.append(2), tmp_path) == {"a": 1}
    assert calls == [1]
    with pytest.raises(ValueError, match="no recorded run named '09_never'"):
        experiments.recorded_or_run("09_never", lambda: {"a": 2}, tmp_path)
