"""segcourse.models and segcourse.train: architecture, deterministic CPU training, shipped weights."""

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

from segcourse import data, models, train


def test_tiny_unet_size_and_shapes():
    m = models.TinyUNet(3, 5)
    assert 100_000 <= models.count_parameters(m) <= 500_000
    assert m(torch.zeros(1, 3, 32, 48)).shape == (1, 5, 32, 48)
    assert models.TinyUNet(1, 2, width=8, depth=2)(torch.zeros(2, 1, 12, 12)).shape == (2, 2, 12, 12)
    with pytest.raises(ValueError, match="divisible by 8"):
        m(torch.zeros(1, 3, 60, 64))
    with pytest.raises(ValueError, match="num_classes"):
        models.TinyUNet(3, 0)


def test_dice_loss_perfect_and_wrong():
    y = torch.randint(0, 3, (2, 8, 8))
    perfect = torch.nn.functional.one_hot(y, 3).permute(0, 3, 1, 2).float() * 40
    assert float(train.dice_loss(perfect, y)) < 1e-3
    assert float(train.dice_loss(-perfect, y)) > 0.9


def test_fit_is_deterministic_on_cpu_and_learns():
    tr, va = data.road_scenes(64, seed=1), data.road_scenes(16, seed=2)
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # fit must not depend on the global state either
        m = models.TinyUNet(3, 5, width=8)
        h = train.fit(m, tr, va, epochs=2, lr=1e-2, device="cpu", seed=0, progress=False, batch_size=16, eval_every=4)
        runs.append(h)
    assert runs[0]["step_loss"] == runs[1]["step_loss"]
    assert runs[0]["step_loss"][-1] < runs[0]["step_loss"][0]
    assert runs[0]["images_seen"] == 128 and runs[0]["device"] == "cpu"
    ev = runs[0]["eval"][-1]
    assert set(ev) == {"step", "images", "seconds", "train_seconds", "miou", "per_class_iou"} and len(ev["per_class_iou"]) == 5
    assert len(runs[0]["step_seconds"]) == len(runs[0]["step_loss"]) == 8
    assert 0 < ev["train_seconds"] <= ev["seconds"] and runs[0]["train_seconds"] <= runs[0]["seconds"]


def test_fit_target_miou_stops_early_and_bad_args():
    tr, va = data.road_scenes(64, seed=1), data.road_scenes(16, seed=2)
    m = models.TinyUNet(3, 5, width=8)
    h = train.fit(m, tr, va, epochs=3, device="cpu", progress=False, batch_size=16, eval_every=2, target_miou=0.0)
    assert h["images_seen"] == 32  # stopped at the first evaluation
    with pytest.raises(ValueError, match="loss"):
        train.fit(m, tr, va, loss="focal", progress=False)
    with pytest.raises(ValueError, match="class_weights"):
        train.fit(m, tr, va, class_weights=[1, 2], progress=False, device="cpu")
    with pytest.raises(TypeError):
        train.fit(m, "data", va, progress=False, device="cpu")


def test_predict_and_evaluate_use_segcourse_metrics():
    m = models.TinyUNet(3, 5, width=8)
    d = data.road_scenes(3, seed=0)
    labels, probs = train.predict(m, d.images, device="cpu")
    assert labels.dtype == np.uint8 and probs.shape == (3, 5, 64, 64)
    res = train.evaluate(m, d, device="cpu")
    from segcourse import metrics
    np.testing.assert_allclose(res["per_class_iou"], metrics.per_class_iou(labels, d.labels, 5))


def test_pick_device():
    assert train.pick_device("cpu").type == "cpu"
    assert train.pick_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            train.pick_device("cuda")


@pytest.mark.parametrize("name", ["roads", "cells"])
def test_shipped_model_reproduces_its_card_on_cpu(name):
    model = models.pretrained(name)
    card = model.card
    for key in ("dataset", "training", "heldout", "model", "parameters"):
        assert key in card
    for key in ("seed", "epochs", "images_seen", "device", "device_name", "torch", "wall_seconds"):
        assert key in card["training"]
    test = train.heldout_data(card)
    res = train.evaluate(model, test, device="cpu")
    assert res["miou"] == pytest.approx(card["heldout"]["miou"], abs=0.01)
    np.testing.assert_allclose(res["per_class_iou"], list(card["heldout"]["per_class_iou"].values()), atol=0.01)


def test_corrupted_or_mismatched_weights_give_clear_errors(tmp_path, monkeypatch):
    src = models.WEIGHTS_DIR
    shutil.copy(src / "roads.json", tmp_path / "roads.json")
    (tmp_path / "roads.pt").write_bytes(b"not a torch file")
    monkeypatch.setattr(models, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(ValueError, match="corrupted"):
        models.pretrained("roads")
    torch.save(models.TinyUNet(3, 5, width=8).state_dict(), tmp_path / "roads.pt")
    with pytest.raises(ValueError, match="corrupted or was replaced"):   # the card's sha256 no longer matches
        models.pretrained("roads")
    _refresh_sha(tmp_path / "roads.json")
    with pytest.raises(ValueError, match="do not fit"):
        models.pretrained("roads")
    (tmp_path / "roads.pt").unlink()
    with pytest.raises(ValueError, match="missing"):
        models.pretrained("roads")
    with pytest.raises(ValueError, match="no shipped model"):
        models.pretrained("nope")


def _refresh_sha(card_path):
    card = json.loads(card_path.read_text())
    card["sha256"] = hashlib.sha256((card_path.parent / card["weights"]).read_bytes()).hexdigest()
    card_path.write_text(json.dumps(card))


def test_shipped_cards_record_the_sha256_of_their_weights():
    for card_path in models.WEIGHTS_DIR.glob("*.json"):
        card = json.loads(card_path.read_text())
        assert card["sha256"] == hashlib.sha256((models.WEIGHTS_DIR / card["weights"]).read_bytes()).hexdigest()


def test_pretrained_rejects_flipped_bytes_nan_weights_and_a_card_without_sha(tmp_path, monkeypatch):
    """Regression: a few flipped bytes loaded silently (held-out mIoU 0.997 -> 0.29), so did NaN weights."""
    src = models.WEIGHTS_DIR
    shutil.copy(src / "roads.json", tmp_path / "roads.json")
    raw = bytearray((src / "roads.pt").read_bytes())
    for i in range(len(raw) - 5000, len(raw) - 4990):
        raw[i] ^= 0x5A
    (tmp_path / "roads.pt").write_bytes(bytes(raw))
    monkeypatch.setattr(models, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(ValueError, match="roads.pt.*corrupted or was replaced"):
        models.pretrained("roads")
    state = torch.load(src / "roads.pt", weights_only=True)
    state["head.bias"][0] = float("nan")
    torch.save(state, tmp_path / "roads.pt")
    _refresh_sha(tmp_path / "roads.json")
    with pytest.raises(ValueError, match="NaN or infinite.*head.bias"):
        models.pretrained("roads")
    card = json.loads((tmp_path / "roads.json").read_text())
    del card["sha256"]
    (tmp_path / "roads.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="no valid 'sha256'"):
        models.pretrained("roads")


def _tiny_training(monkeypatch):
    """Make train_shipped_model train on 8 images for one step (the logic under test is the file handling)."""
    small = lambda key, n, seed, size=64, **k: train.DATASETS[key](min(n, 8), size=size, seed=seed, **k)  # noqa: E731
    monkeypatch.setattr(train, "_data_for", small)


def test_train_shipped_model_writes_to_the_working_directory_atomically_and_never_overwrites(tmp_path, monkeypatch):
    """Regression: it wrote into the installed package, overwrote without asking, and name='../x' escaped."""
    _tiny_training(monkeypatch)
    monkeypatch.chdir(tmp_path)
    before = {p.name: p.read_bytes() for p in models.WEIGHTS_DIR.iterdir()}
    card = train.train_shipped_model("roads", epochs=1, batch_size=8, device="cpu", width=4)
    out = tmp_path / "segcourse_models"
    assert sorted(p.name for p in out.iterdir()) == ["roads.json", "roads.pt"]   # no temp files left
    assert card["sha256"] == hashlib.sha256((out / "roads.pt").read_bytes()).hexdigest()
    assert {p.name: p.read_bytes() for p in models.WEIGHTS_DIR.iterdir()} == before
    stamp = (out / "roads.pt").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        train.train_shipped_model("roads", epochs=1, batch_size=8, device="cpu", width=4)
    assert (out / "roads.pt").read_bytes() == stamp
    train.train_shipped_model("roads", epochs=1, batch_size=8, device="cpu", width=4, seed=1, overwrite=True)
    assert (out / "roads.pt").read_bytes() != stamp
    for bad in ("../x", "a/b", "", ".hidden", ".."):
        with pytest.raises(ValueError, match="plain file name"):
            train.train_shipped_model("roads", name=bad, epochs=1, device="cpu")
    with pytest.raises(SystemExit):
        train.main(["--dataset", "roads", "--epochs", "1", "--batch-size", "8", "--width", "4", "--device", "cpu",
                    "--threads", "1"])   # exists already: the CLI refuses too (argparse error, exit 2)
    train.main(["--dataset", "roads", "--epochs", "1", "--batch-size", "8", "--width", "4", "--device", "cpu",
                "--threads", "1", "--overwrite", "--name", "r2"])
    assert (out / "r2.pt").exists() and json.loads((out / "r2.json").read_text())["name"] == "r2"


def test_atomic_write_cleans_up_when_writing_fails_or_the_target_is_a_folder(tmp_path):
    from segcourse._files import atomic_write

    def boom(tmp):
        open(tmp, "w").write("half")
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "w.pt", boom)
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path / "folder", lambda tmp: None, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


@pytest.mark.parametrize("images, words", [
    (np.full((4, 64, 64, 3), 200.0, np.float32), "values up to 200"),          # 0..255 floats
    (np.zeros((4, 3, 64, 64), np.float32), "channel-first"),
    (np.zeros((4, 64, 64), np.float32), "grayscale"),
    (np.full((4, 64, 64, 3), np.nan, np.float32), "NaN"),
])
def test_model_path_rejects_images_outside_the_convention(images, words):
    """Regression: 0..255 float images gave 99 % sky; NaN images trained to NaN losses."""
    m = models.TinyUNet(3, 5, width=4)
    labels = np.zeros((4, 64, 64), np.uint8)
    with pytest.raises(ValueError, match=words):
        train.predict(m, images, device="cpu")
    with pytest.raises(ValueError, match=words):
        train.fit(m, (images, labels), (images, labels), device="cpu", progress=False)


def test_uint8_images_are_converted_like_float_ones():
    m = models.TinyUNet(3, 5, width=4)
    d = data.road_scenes(2, seed=0)
    as_uint8 = np.round(d.images * 255).astype(np.uint8)
    _, p8 = train.predict(m, as_uint8, device="cpu")
    _, pf = train.predict(m, as_uint8 / np.float32(255), device="cpu")
    np.testing.assert_allclose(p8, pf, atol=1e-6)


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": -4}, ValueError, "batch_size"),
    ({"eval_every": 0}, ValueError, "eval_every"),
    ({"warmup": 1.5}, ValueError, "warmup"),
    ({"seed": "0"}, TypeError, "seed"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"lr": float("nan")}, ValueError, "lr"),
    ({"class_weights": [1, 1, np.nan, 1, 1]}, ValueError, "class_weights"),
    ({"class_weights": [1, -1, 1, 1, 1]}, ValueError, "class_weights"),
    ({"augment": "no"}, TypeError, "augment"),
])
def test_fit_names_the_bad_argument(kwargs, exc, words):
    d = data.road_scenes(4, seed=0)
    with pytest.raises(exc, match=words):
        train.fit(models.TinyUNet(3, 5, width=4), d, d, device="cpu", progress=False, **kwargs)


def test_fit_rejects_empty_sets_and_bad_labels_and_predict_bad_batch_size():
    m = models.TinyUNet(3, 5, width=4)
    d = data.road_scenes(4, seed=0)
    with pytest.raises(ValueError, match="train_data is empty"):
        train.fit(m, d[:0], d, device="cpu", progress=False)
    with pytest.raises(ValueError, match="non-integer"):
        train.fit(m, (d.images, d.labels + 0.5), d, device="cpu", progress=False)
    lab = d.labels.copy(); lab[0, 0, 0] = 255
    with pytest.raises(ValueError, match="class id 255.*num_classes=5"):
        train.fit(m, (d.images, lab), d, device="cpu", progress=False)
    with pytest.raises(ValueError, match="class id 255"):
        train.evaluate(m, (d.images, lab), device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        train.predict(m, d.images, batch_size=-1, device="cpu")


def test_pick_device_refuses_unusable_devices():
    with pytest.raises(ValueError, match="device must be"):
        train.pick_device("gpu")
    with pytest.raises(TypeError):
        train.pick_device(0)
    if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        with pytest.raises(ValueError, match="MPS"):
            train.pick_device("mps")


def test_bench_data_prints_a_row_per_generator(capsys):
    from segcourse import bench

    bench.bench_data(n=10)
    out = capsys.readouterr().out
    for name in ("road_scenes", "surface_defects", "touching_cells"):
        assert f"| {name} | 10 | 64×64 |" in out


def test_fast_fit_matches_the_readable_loop_where_defined():
    """fast=True (CPU: the same step as on the GPU, without the graph) keeps fit's history layout,
    and its first two steps equal fit's (same batches, flips, loss, one-cycle lr; Adam's first
    update does not depend on beta1, which only the readable loop cycles); it learns and is
    deterministic."""
    tr, va = data.road_scenes(64, seed=1), data.road_scenes(16, seed=2)
    runs = {}
    for fast in (False, True, True):
        torch.manual_seed(5)
        m = models.TinyUNet(3, 5, width=8)
        h = train.fit(m, tr, va, epochs=1, device="cpu", seed=0, progress=False, batch_size=16, eval_every=2,
                      class_weights=[1, 1, 1, 3, 3], fast=fast)
        if fast in runs:
            assert h["step_loss"] == runs[fast]["step_loss"]  # deterministic on the CPU
        runs[fast] = h
    slow, fast = runs[False], runs[True]
    assert sorted(fast) == sorted(slow) and fast["device"] == "cpu" and fast["images_seen"] == 64
    assert len(fast["step_loss"]) == len(fast["step_seconds"]) == len(slow["step_loss"]) == 4
    assert [e["step"] for e in fast["eval"]] == [2, 4] and set(fast["eval"][0]) == set(slow["eval"][0])
    np.testing.assert_allclose(fast["step_loss"][:2], slow["step_loss"][:2], rtol=1e-5)
    assert fast["step_loss"][-1] < fast["step_loss"][0]
    assert abs(fast["eval"][-1]["miou"] - slow["eval"][-1]["miou"]) < 0.05


def test_fast_fit_stops_at_target_and_rejects_bad_values():
    tr, va = data.road_scenes(32, seed=1), data.road_scenes(8, seed=2)
    m = models.TinyUNet(3, 5, width=8)
    h = train.fit(m, tr, va, epochs=2, device="cpu", progress=False, batch_size=16, eval_every=1, target_miou=0.0, fast=True)
    assert h["images_seen"] == 16 and len(h["step_loss"]) == 1 and len(h["eval"]) == 1
    with pytest.raises(ValueError, match="fast"):
        train.fit(m, tr, va, device="cpu", progress=False, fast="turbo")
    with pytest.raises(ValueError, match="batch_size=64"):
        train.fit(m, tr, va, device="cpu", progress=False, batch_size=64, fast=True)


def test_graph_safe_dice_and_lr_schedule_match_the_readable_ones():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 8, 8, generator=g) * 3
    target = torch.randint(0, 3, (3, 8, 8), generator=g)  # classes 3 and 4 absent
    assert float(train._one_hot_dice_loss(logits, target)) == pytest.approx(float(train.dice_loss(logits, target)), rel=1e-6)
    m = models.TinyUNet(3, 2, width=4, depth=1)
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=40, pct_start=0.15)
    expected = []
    for _ in range(40):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert train.one_cycle_lrs(0.01, 40, 0.15) == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the graph-captured path of fit(fast=True))")
def test_fast_fit_on_cuda_replays_a_graph_and_learns():
    tr, va = data.road_scenes(256, seed=1), data.road_scenes(32, seed=2)
    hists = {}
    for fast in (False, True):
        torch.manual_seed(0)
        m = models.TinyUNet(3, 5, width=8)
        hists[fast] = train.fit(m, tr, va, epochs=4, batch_size=32, device="cuda", progress=False, eval_every=8,
                                class_weights=[1, 1, 1, 3, 3], fast=fast)
    h, slow = hists[True], hists[False]
    assert sorted(h) == sorted(slow) and h["device"].startswith("cuda") and h["images_seen"] == 1024
    assert len(h["step_loss"]) == len(h["step_seconds"]) == 32 and [e["step"] for e in h["eval"]] == [8, 16, 24, 32]
    assert np.isfinite(h["step_loss"]).all() and np.mean(h["step_loss"][-4:]) < 0.7 * np.mean(h["step_loss"][:4])
    assert len(set(h["step_seconds"][8:16])) == 1  # no per-step wait for the GPU: one mean per stretch
    assert h["eval"][-1]["miou"] > slow["eval"][-1]["miou"] - 0.15
    res = train.evaluate(m.cpu(), va, device="cpu")  # the trained model leaves the GPU intact
    assert abs(res["miou"] - h["eval"][-1]["miou"]) < 0.02


def test_each_loss_name_trains_with_exactly_that_loss():
    """loss="dice" must not add cross-entropy ("dice" contains the letters "ce"): the fast path's batch loss
    equals the named loss, computed here from the same logits."""
    torch.manual_seed(0)
    m = models.TinyUNet(3, 4, width=4, depth=2)
    xb, yb = torch.rand(2, 8, 8, 3), torch.randint(0, 4, (2, 8, 8))
    with torch.no_grad():
        logits = m(xb.permute(0, 3, 1, 2)).float()
        ce = float(torch.nn.functional.cross_entropy(logits, yb))
        got = {name: float(train._batch_loss(m, xb, yb, None, None, name, False)) for name in ("ce", "dice", "ce+dice")}
    assert got["ce"] == pytest.approx(ce, rel=1e-5)
    assert got["ce+dice"] == pytest.approx(got["ce"] + got["dice"], rel=1e-5)
    assert got["dice"] < ce                      # Dice alone, no cross-entropy added (a Dice loss is at most 1)
