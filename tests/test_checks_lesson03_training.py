"""Exercise 03.4b, training on the signed distance: train_step's slips and the model's are named (no training here)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from segcourse import checks, data
from segcourse.checks import lesson03


def _step(zero=True, step=True, loss_fn=torch.nn.functional.mse_loss):
    def train_step(model, optimiser, images, targets):
        loss = loss_fn(model(images), targets)
        if zero:
            optimiser.zero_grad()
        loss.backward()
        if step:
            optimiser.step()
        return loss.item()
    return train_step


class _Fixed(torch.nn.Module):
    """A 'trained' model that returns a fixed map for the check's held-back images (no training in a test)."""

    def __init__(self, maps):
        super().__init__()
        self.maps = torch.as_tensor(np.asarray(maps), dtype=torch.float32)[:, None]
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.maps[: len(x)] + 0 * self.dummy


def _held():
    return data.touching_cells(**lesson03.TRAIN_HELD_BACK)


def _target(inst):
    return lesson03._signed_distance_reference(inst, 5.0)


@functools.lru_cache(maxsize=1)
def _right_targets():
    """The exercise's training targets, right (the check compares them with the reference since review 03s13)."""
    train = data.touching_cells(**lesson03.TRAIN_SET)
    return torch.from_numpy(np.stack([_target(t) for t in train.instances])).float()[:, None]


def _fails(train_step, model, *words):
    with pytest.raises(AssertionError) as info:
        checks.check_distance_training(train_step, model)
    text = " ".join(str(info.value).split())
    for w in words:
        assert w in text, str(info.value)


def test_right_step_and_target_pass(capsys):
    checks.check_distance_training(_step(), _Fixed([_target(t) for t in _held().instances]))
    assert "pooled PQ" in capsys.readouterr().out


@pytest.mark.parametrize("step, words", [
    (_step(zero=False), ("zero_grad", "sum of both batches")),
    (_step(step=False), ("left the weights as they were",)),
    (_step(loss_fn=torch.nn.functional.l1_loss), ("mean absolute error",)),
])
def test_train_step_slips_get_their_hint(step, words):
    _fails(step, _Fixed([_target(t) for t in _held().instances]), *words)


def test_untrained_and_wrong_target_models_fail():
    held = _held()
    _fails(_step(), _Fixed(np.full((len(held.images), 48, 48), 0.1)), "hardly varies", "untrained")
    _fails(_step(), _Fixed(held.labels.astype(float)), "0 on background", "signed_distance")
    _fails(_step(), "model", "pass the model you trained")


def test_nhw_targets_are_named_before_scoring():
    """Review 03s10b P1-1: (N, H, W) targets broadcast in mse_loss; the check names the shape."""
    held = _held()
    model = _Fixed([_target(t) for t in held.instances])
    with pytest.raises(AssertionError) as info:
        checks.check_distance_training(_step(), model, torch.zeros(300, 48, 48))
    text = " ".join(str(info.value).split())
    assert "(300, 48, 48)" in text and "(N, 1, H, W) like model(images)" in text and "broadcasts" in text
    checks.check_distance_training(_step(), model, _right_targets())


def test_batch_average_model_gets_the_shape_hint_without_targets_and_training_hint_with_them():
    """A model below 0 on the cells: the shape is the likely cause unless the targets show the right shape."""
    held = _held()
    rng = np.random.default_rng(0)
    flat = -0.6 + 0.2 * rng.standard_normal((len(held.images), 48, 48))
    _fails(_step(), _Fixed(flat), "(N, 1, H, W) like model(images)", "broadcasts")
    with pytest.raises(AssertionError) as info:
        checks.check_distance_training(_step(), _Fixed(flat), _right_targets())
    text = " ".join(str(info.value).split())
    assert "trained too little" in text and "new random batch" not in text and "broadcasts" not in text


def test_merged_mask_targets_are_refused_by_name():
    """Review 03s13 P2: a net trained on the merged mask's signed distance passed the PQ bar (0.88)."""
    from scipy import ndimage

    train = data.touching_cells(**lesson03.TRAIN_SET)
    model = _Fixed([_target(t) for t in _held().instances])

    def mask_distance(inst):
        d = ndimage.distance_transform_edt(inst > 0) - ndimage.distance_transform_edt(inst == 0)
        return np.tanh(d / 5.0)

    right = _right_targets()
    checks.check_distance_training(_step(), model, right)
    for wrong, words in ((np.stack([mask_distance(t) for t in train.instances]), "do not dip where cells touch"),
                         (right[:, 0].numpy() * 1.1, "are not signed_distance")):
        with pytest.raises(AssertionError) as info:
            checks.check_distance_training(_step(), model, torch.from_numpy(np.asarray(wrong)).float().reshape(right.shape))
        assert words in " ".join(str(info.value).split()), str(info.value)
