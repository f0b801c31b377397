"""Lesson 06's checks: hints that name the cause (review 06s11)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from segcourse import checks


def _per_image_max(images, pos_maps, neg_maps, prev_masks):
    """Exercise 7's batch with each image divided by its own maximum: a dark image becomes bright."""
    grey = np.asarray(images, np.float32)
    grey = grey / grey.max(axis=(1, 2), keepdims=True)
    return torch.from_numpy(np.stack([grey, np.asarray(pos_maps, np.float32), np.asarray(neg_maps, np.float32),
                                      np.asarray(prev_masks, np.float32)], axis=1))


def _unused_step(model, optimiser, images, targets, firsts):
    raise NotImplementedError


def test_click_step_names_per_image_max():
    with pytest.raises(AssertionError) as err:
        checks.check_click_step(_per_image_max, _unused_step)
    message = str(err.value)
    assert "each image's own maximum" in message and "Divide by 255" in message, message
