"""Lesson 05's own figure colours, held away from the road classes' colours (build QA moved out of the
lesson's gallery cell, review 05s8 W3): a line or a bucket must not be read as a class."""
import pytest

from segcourse import data, palette

#: The colours lesson 05 draws lines and buckets in, besides the palette's outcome and error colours
#: (tests/test_palette.py holds those): §6 gallery buckets, §7 stroke orders, §8 retrain arms.
LESSON05_COLOURS = {
    "class confusion (gallery), largest gain first (section 7)": palette.INSTANCE_COLOURS[5],
    "no bucket (gallery), training camera only (section 8's control)": (0, 0, 0),
    "new project scenes (section 8)": palette.INSTANCE_COLOURS[4],
    "noise augmentation (section 8)": palette.INSTANCE_COLOURS[6],
    "shipped model (section 8), largest region first (section 7)": palette.NEUTRAL_COLOURS["correct"],
    "fail lines": palette.NEUTRAL_COLOURS["TN"],
}


@pytest.mark.parametrize("name", LESSON05_COLOURS)
def test_lesson05_colours_stay_away_from_the_road_classes(name):
    road = data.road_scenes(1, seed=0).palette
    closest = min(palette.delta_e(LESSON05_COLOURS[name], c) for c in road)
    assert closest >= 20, f"{name}: CIEDE2000 {closest:.1f} from a road class colour"
