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


def test_click_step_per_image_stretch_says_each_image():
    """Review 06s12 P3: a per-image stretch depends on each image, not on the batch."""
    with pytest.raises(AssertionError) as err:
        checks.check_click_step(_per_image_max, _unused_step)
    assert "depends on each image" in str(err.value), str(err.value)


def test_click_maps_names_overlapping_disks_added():
    """Review 06s12 P3: disks added with += (values 2, 3 where they overlap) get their own hint."""
    def added(clicks, shape, radius=3):
        rows, cols = np.indices(shape)
        maps = np.zeros((2, *shape), np.float32)
        for row, col, positive in clicks:
            maps[0 if positive else 1][(rows - row) ** 2 + (cols - col) ** 2 <= radius ** 2] += 1.0
        return maps

    with pytest.raises(AssertionError) as err:
        checks.check_click_maps(added)
    assert "overlapping disks were added" in str(err.value) and "not +=" in str(err.value), str(err.value)


def _disk_maps(value: float, add: bool):
    """A click-map answer that writes ``value`` inside each disk, with ``+=`` when ``add``."""
    def maps_of(clicks, shape, radius=3):
        rows, cols = np.indices(shape)
        maps = np.zeros((2, *shape), np.float32)
        for row, col, positive in clicks:
            disk = (rows - row) ** 2 + (cols - col) ** 2 <= radius ** 2
            if add:
                maps[0 if positive else 1][disk] += value
            else:
                maps[0 if positive else 1][disk] = value
        return maps
    return maps_of


def test_click_maps_0_255_gets_its_own_hint():
    """Review 06s12b N4: a 0/255 map is not blamed on +=; it is told that a disk holds 1.0."""
    with pytest.raises(AssertionError) as err:
        checks.check_click_maps(_disk_maps(255.0, add=False))
    message = str(err.value)
    assert "inside a disk a map is 1.0, not 255" in message, message
    assert "+=" not in message, message


def test_click_maps_added_ones_still_get_the_plus_equals_hint():
    """Review 06s12b N4: the += hint fires when 1.0 is among the values and overlaps exceed it."""
    with pytest.raises(AssertionError) as err:
        checks.check_click_maps(_disk_maps(1.0, add=True))
    assert "overlapping disks were added" in str(err.value), str(err.value)


def _batch(images, pos_maps, neg_maps, prev_masks):
    grey = np.asarray(images, np.float32) / 255.0
    return torch.from_numpy(np.stack([grey, *(np.asarray(a, np.float32) for a in (pos_maps, neg_maps, prev_masks))], 1))


def _round(rule, prev_from_rule=True):
    """Exercise 7's corrective round with the prediction made by ``rule(logits)``; with ``prev_from_rule``
    False only the second clicks use it (the previous mask is the right prediction)."""
    from segcourse import interactive

    def train_step(model, optimiser, images, targets, firsts):
        shape = targets.shape[1:]
        maps = np.stack([interactive.click_maps([f], [], shape) for f in firsts])
        x = _batch(images, maps[:, 0], maps[:, 1], np.zeros(targets.shape, bool))
        model.eval()
        with torch.no_grad():
            logits = model(x)
        right, pred = (logits[:, 1] > logits[:, 0]).numpy(), rule(logits).numpy()
        seconds, maps = [], []
        for first, p, t in zip(firsts, pred, targets):
            (r, c), positive = interactive.next_click(p, t, clicked=[first])
            seconds.append((r, c, positive))
            maps.append(interactive.click_maps([first, (r, c)] if positive else [first], [] if positive else [(r, c)],
                                               shape))
        maps = np.stack(maps)
        x = _batch(images, maps[:, 0], maps[:, 1], pred if prev_from_rule else right)
        model.train()
        loss = torch.nn.functional.cross_entropy(model(x), torch.from_numpy(targets.astype(np.int64)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        return float(loss.item()), seconds
    return train_step


@pytest.mark.parametrize("rule", [lambda z: z[:, 1] > 0, lambda z: torch.sigmoid(z[:, 1]) > 0.5],
                         ids=["logit1>0", "sigmoid>0.5"])
def test_click_step_refuses_logit1_above_zero(rule):
    """Review 06s13 P1-2: the spy net's biases are not opposite, so logit 1 > 0 is not logit 1 > logit 0."""
    with pytest.raises(AssertionError) as err:
        checks.check_click_step(_batch, _round(rule))
    message = " ".join(str(err.value).split())
    assert "compare logit 1 with logit 0, not with 0" in message, message


def test_click_step_logit1_above_zero_changes_a_second_click():
    """The same rule used only for the second clicks moves one: the clicks' own hint names it."""
    with pytest.raises(AssertionError) as err:
        checks.check_click_step(_batch, _round(lambda z: z[:, 1] > 0, prev_from_rule=False))
    message = " ".join(str(err.value).split())
    assert "second clicks" in message and "compare logit 1 with logit 0" in message, message


def test_click_step_passes_the_argmax_rule():
    checks.check_click_step(_batch, _round(lambda z: z.argmax(1) == 1))


def test_click_step_names_a_batch_stretched_to_its_min_max():
    """The wrong answer tests/test_classroom.py graded before dee's entry became the logit 1 > 0 rule."""
    def stretched(images, pos_maps, neg_maps, prev_masks):
        grey = np.asarray(images, np.float32)
        return _batch((grey - grey.min()) / (grey.max() - grey.min()) * 255, pos_maps, neg_maps, prev_masks)

    with pytest.raises(AssertionError) as err:
        checks.check_click_step(stretched, _unused_step)
    message = " ".join(str(err.value).split())
    assert "the batch's own min..max" in message, message
