"""train.fit's ``callback``: called after each evaluation, and it changes nothing in the run."""

import copy

import pytest
import torch

from segcourse import data, models, train


def _run(callback=None):
    d = data.road_scenes(24, size=16, seed=0)
    torch.manual_seed(0)
    model = models.TinyUNet(3, 5, width=4)
    h = train.fit(model, d[:16], d[16:], epochs=2, batch_size=8, eval_every=3, device="cpu", progress=False,
                  callback=callback)
    return model, h


def test_callback_sees_every_evaluation_and_leaves_the_run_unchanged():
    kept = {}
    model, h = _run(lambda step, m: kept.update({step: (m.training, copy.deepcopy(m.state_dict()))}))
    plain_model, plain = _run()
    assert sorted(kept) == [e["step"] for e in h["eval"]] == [3, 4]
    assert all(training for training, _ in kept.values())
    assert [e["miou"] for e in h["eval"]] == [e["miou"] for e in plain["eval"]]
    assert h["step_loss"] == plain["step_loss"]
    for name, value in plain_model.state_dict().items():
        assert torch.equal(value, model.state_dict()[name])
        assert torch.equal(value, kept[4][1][name])          # the last call sees the final weights


def test_callback_must_be_callable():
    d = data.road_scenes(4, size=16, seed=0)
    with pytest.raises(TypeError, match="callback"):
        train.fit(models.TinyUNet(3, 5, width=4), d, d, device="cpu", progress=False, callback=3)
