"""Lesson 05's own figure colours, held away from the road classes' colours (build QA moved out of the
lesson's gallery cell, review 05s8 W3): a line or a bucket must not be read as a class."""
import pytest

from segcourse import data, palette

#: The colours lesson 05 draws lines and buckets in, besides the palette's outcome and error colours
#: (tests/test_palette.py holds those): §6 gallery buckets, §7 stroke orders, §8 retrain arms.
LESSON05_COLOURS = {
    "class confusion (gallery)": palette.INSTANCE_COLOURS[5],
    "no bucket (gallery), training camera only (section 8's control)": (0, 0, 0),
    "shipped model (section 8)": palette.SERIES[0],
    "largest region first (section 7), new project scenes (section 8)": palette.SERIES[1],
    "largest gain first (section 7), noise augmentation (section 8)": palette.SERIES[2],
    "fail lines": palette.NEUTRAL_COLOURS["TN"],
}


@pytest.mark.parametrize("name", LESSON05_COLOURS)
def test_lesson05_colours_stay_away_from_the_road_classes(name):
    road = data.road_scenes(1, seed=0).palette
    closest = min(palette.delta_e(LESSON05_COLOURS[name], c) for c in road)
    assert closest >= 20, f"{name}: CIEDE2000 {closest:.1f} from a road class colour"


def test_lesson05_gallery_buckets_are_not_the_cards_colours():
    """The gallery's class-confusion colour must not repeat the evidence card's wrong-pixel colours (review
    05s8b F1); its boundary bucket takes the card's cyan itself, so edges have one colour (review 05s13 P3-8)."""
    cyan, magenta = palette.ERROR_COLOURS["boundary error"], palette.ERROR_COLOURS["interior error"]
    for card in (cyan, magenta):
        assert palette.delta_e(LESSON05_COLOURS["class confusion (gallery)"], card) > palette.MIN_DELTA_E


def test_lesson05_curves_use_the_series_colours_only():
    """Curves take palette.SERIES (or black for the control), never an outcome, error or instance colour."""
    curve_keys = [k for k in LESSON05_COLOURS if "section 7" in k or "section 8" in k]
    series = {tuple(int(v) for v in c) for c in palette.SERIES} | {(0, 0, 0)}
    for k in curve_keys:
        assert tuple(int(v) for v in LESSON05_COLOURS[k]) in series, k
