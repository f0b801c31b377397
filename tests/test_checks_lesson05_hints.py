"""Lesson 05's checks: hints added after review 05s14 (items 6 and 7)."""

import pytest

from segcourse import checks
from segcourse.checks import lesson05


def test_practice_masks_of_mixed_sizes_are_named():
    """A set of 3×3 and 4×4 masks is refused with the sizes named, not 'rows of different lengths'."""
    small = [[0, 1, 1], [0, 1, 1], [0, 0, 0]]
    large = [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    empty = [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    with pytest.raises(AssertionError) as info:
        checks.check_practice_masks([small, large, empty], [small, large, empty], lambda p, g: None)
    text = " ".join(str(info.value).split())
    assert "the same size" in text and "3×3 and 4×4" in text, text
    assert all(len(line) <= checks.HINT_WIDTH for line in str(info.value).splitlines())


@pytest.mark.parametrize("text", [
    "so next I would apply a minimum region size.",
    "next I would remove small regions below 6 px.",
])
def test_minimum_region_size_must_name_its_class(text):
    with pytest.raises(AssertionError, match="name the stray class"):
        lesson05._check_min_size_scope(text)


@pytest.mark.parametrize("text", [
    "so next I would apply a minimum region size to the predicted cars.",
    "I would relabel the stray car regions of 5 px or less, not every class.",
])
def test_minimum_region_size_with_its_class_passes(text):
    lesson05._check_min_size_scope(text)
