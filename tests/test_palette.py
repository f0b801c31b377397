"""segcourse.palette: error and outcome colours never look like a class; outcomes differ from each other."""

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest

from segcourse import data, masks, palette, train, viz
from segcourse.palette import (BACKGROUND_NEUTRALS, CLASS_PALETTES, ERROR_COLOURS, INSTANCE_COLOURS, MIN_DELTA_E,
                               NEUTRAL_COLOURS, OUTCOME_COLOURS, delta_e)

ALARMS = {**{f"outcome {k}": v for k, v in OUTCOME_COLOURS.items()}, **{f"error {k}": v for k, v in ERROR_COLOURS.items()}}
CLASS_COLOURS = [(name, i, tuple(int(v) for v in c)) for name, pal in CLASS_PALETTES.items() for i, c in enumerate(pal)]


def teardown_function():
    plt.close("all")


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_no_alarm_colour_looks_like_a_class(alarm):
    colour = ALARMS[alarm]
    close = [(name, i, c, round(delta_e(colour, c), 1)) for name, i, c in CLASS_COLOURS if delta_e(colour, c) <= MIN_DELTA_E]
    assert not close, f"{alarm} {colour} is within CIEDE2000 {MIN_DELTA_E} of class colours {close}"


@pytest.mark.parametrize("neutral", sorted(set(NEUTRAL_COLOURS) - BACKGROUND_NEUTRALS))
def test_no_neutral_drawn_beside_classes_looks_like_a_class(neutral):
    """'ignored' and 'correct' stand next to class colours: neither may read as a class of any data set."""
    colour = NEUTRAL_COLOURS[neutral]
    close = [(name, i, c, round(delta_e(colour, c), 1)) for name, i, c in CLASS_COLOURS if delta_e(colour, c) <= MIN_DELTA_E]
    assert not close, f"neutral {neutral} {colour} is within CIEDE2000 {MIN_DELTA_E} of class colours {close}"


def test_neutrals_differ_from_each_other_and_the_exempt_ones_are_named():
    for (a, ca), (b, cb) in itertools.combinations(NEUTRAL_COLOURS.items(), 2):
        assert delta_e(ca, cb) > 5, (a, b)
    assert delta_e(NEUTRAL_COLOURS["ignored"], NEUTRAL_COLOURS["correct"]) > MIN_DELTA_E
    assert BACKGROUND_NEUTRALS <= set(NEUTRAL_COLOURS) and "ignored" not in BACKGROUND_NEUTRALS
    assert viz.ERROR_COLOURS["ignored"] == NEUTRAL_COLOURS["ignored"]


def test_every_data_set_palette_is_checked():
    """The data sets' own palettes are the ones in CLASS_PALETTES (a new data set must be added there)."""
    registered = {tuple(map(tuple, p.tolist())) for p in CLASS_PALETTES.values()}
    for made in (data.road_scenes(1, seed=0), data.surface_defects(1, seed=0), data.touching_cells(1, seed=0),
                 train.cells_boundary(1)):
        assert tuple(map(tuple, made.palette.tolist())) in registered, made
    assert masks.PALETTE is palette.PALETTE and data.ROAD_PALETTE is palette.ROAD_PALETTE


def test_outcome_colours_differ_from_each_other():
    for (a, ca), (b, cb) in itertools.combinations(OUTCOME_COLOURS.items(), 2):
        assert delta_e(ca, cb) > 2 * MIN_DELTA_E, (a, b)


# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
_CVD = {"protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
        "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
        "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]}


def _simulate(colour, kind):
    c = np.asarray(colour, float) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out = np.clip(np.array(_CVD[kind]) @ lin, 0, 1)
    return np.round(255 * np.where(out <= 0.0031308, 12.92 * out, 1.055 * out ** (1 / 2.4) - 0.055))


@pytest.mark.parametrize("kind", sorted(_CVD))
def test_outcome_colours_stay_apart_for_colour_blind_readers(kind):
    for (a, ca), (b, cb) in itertools.combinations(OUTCOME_COLOURS.items(), 2):
        assert delta_e(_simulate(ca, kind), _simulate(cb, kind)) > MIN_DELTA_E, (kind, a, b)


def test_instance_colours_are_not_outcome_colours():
    for c in INSTANCE_COLOURS:
        for name, o in OUTCOME_COLOURS.items():
            assert delta_e(c, o) > MIN_DELTA_E, (tuple(c), name)
    assert len(np.unique(INSTANCE_COLOURS, axis=0)) == len(INSTANCE_COLOURS)


def test_viz_draws_with_the_palette():
    for k in ("TP", "FP", "FN"):
        assert viz.ERROR_COLOURS[k] == OUTCOME_COLOURS[k]
    assert viz.ERROR_COLOURS["wrong class"] == ERROR_COLOURS["wrong"]
    assert viz.ERROR_COLOURS["boundary error"] == ERROR_COLOURS["boundary error"]


def test_swatch_figure_and_min_delta_e():
    d, mine, theirs = palette.min_delta_e({**OUTCOME_COLOURS, **ERROR_COLOURS})
    assert d > MIN_DELTA_E
    fig = palette.swatch_figure()
    assert f"{d:.1f}" in fig.axes[0].get_title()


def test_series_colours_are_far_from_every_class_and_alarm_colour():
    assert palette.SERIES.dtype == np.uint8 and palette.SERIES.shape[1] == 3
    for s in palette.SERIES:
        close = [(name, i, c) for name, i, c in CLASS_COLOURS if delta_e(s, c) <= MIN_DELTA_E]
        assert not close, f"series colour {tuple(s)} is within CIEDE2000 {MIN_DELTA_E} of class colours {close}"
        for name, a in ALARMS.items():
            assert delta_e(s, a) > MIN_DELTA_E, (tuple(s), name)
    for a, b in itertools.combinations(palette.SERIES, 2):
        assert delta_e(a, b) > MIN_DELTA_E, (tuple(a), tuple(b))


def test_lesson00_cars_take_the_palette_instance_colours():
    """Lesson 00 §0 hand-picks no car colours: its cars take palette.INSTANCE_COLOURS (over a grey label map),
    whose distance from the outcome colours test_instance_colours_are_not_outcome_colours checks."""
    import pathlib

    source = (pathlib.Path(__file__).parents[1] / "notebooks" / "00_masks_and_iou.py").read_text(encoding="utf-8")
    assert "viz.class_task_outputs(" in source and "colours=" not in source.split("viz.class_task_outputs(")[1].split(")")[0]
