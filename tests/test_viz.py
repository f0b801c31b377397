"""segcourse.viz: pixel-level checks of overlays and error maps, structure of figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from segcourse import data, masks, metrics, viz


def teardown_function():
    plt.close("all")


def test_overlay_pixels():
    img = np.full((2, 2, 3), 0.5, np.float32)
    out = viz.overlay(img, [[0, 1], [2, 0]], alpha=1.0)
    np.testing.assert_allclose(out[0, 0], 0.5)                      # background untouched
    np.testing.assert_allclose(out[0, 1], masks.PALETTE[1] / 255)  # alpha 1: pure palette colour
    np.testing.assert_allclose(out[1, 0], masks.PALETTE[2] / 255)
    with pytest.raises(ValueError, match="same height"):
        viz.overlay(img, np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="alpha"):
        viz.overlay(img, np.zeros((2, 2), int), alpha=2)


def test_error_map_colours_known_pixels():
    target = np.array([[1, 1, 0, 0]])
    pred = np.array([[1, 0, 1, 0]])
    rgb = viz.error_map(target, pred)
    for x, name in enumerate(["TP", "FN", "FP", "TN"]):
        assert tuple(rgb[0, x]) == viz.ERROR_COLOURS[name], name
    multi = viz.error_map(np.array([[0, 2]]), np.array([[0, 1]]))
    assert tuple(multi[0, 0]) == viz.ERROR_COLOURS["correct"]
    assert tuple(multi[0, 1]) == viz.ERROR_COLOURS["wrong class"]
    legend = plt.gca().get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["correct", "wrong class"]


def test_boundary_error_map_splits_errors():
    t = np.zeros((20, 20), int); t[5:15, 5:15] = 1
    p = np.roll(t, 1, axis=1); p[9, 9] = 0  # an edge shift plus one interior hole
    band = metrics.boundary_band(t) | metrics.boundary_band(p)
    rgb = viz.boundary_error_map(t, p, band)
    assert tuple(rgb[9, 9]) == viz.ERROR_COLOURS["interior error"]
    assert tuple(rgb[5, 5]) == viz.ERROR_COLOURS["boundary error"]


def test_triplet_and_evidence_card_structure():
    d = data.road_scenes(1, seed=0)
    fig = viz.triplet(d.images[0], d.labels[0], d.labels[0], d.class_names, d.palette, scores={"mIoU": 1.0})
    assert [a.get_title() for a in fig.axes] == ["image", "ground truth", "prediction"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [f"{i} {n}" for i, n in enumerate(d.class_names)]
    ious = metrics.per_class_iou(d.labels[0], d.labels[0], 5)
    fig, text = viz.evidence_card(d.images[0], d.labels[0], d.labels[0], d.class_names,
                                  {"mIoU": 1.0, "per_class": ious}, notes=["no failure"])
    for item in ("Metric", "mIoU: 1.000", "Failure notes", "no failure"):
        assert item in text
    titles = [a.get_title() for a in fig.axes]
    for t in ("input image", "target", "prediction", "true outlines and errors", "errors", "per-class IoU"):
        assert t in titles


def test_evidence_card_summary_text_unchanged_and_specks_ringed():
    """The summary is printed by lessons (nbval compares it); a lone wrong pixel gets a ring in both error panels."""
    d = data.road_scenes(1, seed=0)
    t = d.labels[0]
    p = t.copy()
    p[40, 5] = (t[40, 5] + 1) % 5                                       # one wrong pixel, alone
    scores = {"mIoU (scene)": 0.998, "lane IoU": 1.0, "per_class": metrics.per_class_iou(p, t, 5)}
    fig, text = viz.evidence_card(d.images[0], t, p, d.class_names, scores, notes=["a", "b c"], palette=d.palette)
    assert text == "Metric\nmIoU (scene): 0.998\nlane IoU: 1.000\n\nFailure notes\n- a\n- b c"
    panels = {a.get_title(): a for a in fig.axes}
    for name in ("true outlines and errors", "errors"):
        rings = [c for c in panels[name].collections if len(c.get_offsets())]
        assert rings and all(np.allclose(c.get_offsets(), [[5, 40]]) for c in rings), name
        labels = [x.get_text() for x in panels[name].get_legend().get_texts()]
        assert any(lab.startswith("ring:") for lab in labels), labels
    over = panels["true outlines and errors"].get_images()[0].get_array()
    assert np.allclose(over[40, 5], np.array(viz.ERROR_COLOURS["interior error" if t[39:42, 4:7].min() == t[39:42, 4:7].max()
                                                              else "boundary error"]) / 255)


def test_errors_over_image_splits_by_band_and_validates():
    t = np.zeros((8, 8), int); t[:, 4:] = 1
    p = t.copy(); p[0, 4] = 0; p[6, 1] = 1                             # an edge error, an interior error
    out = viz.errors_over_image(np.zeros((8, 8)), t, p)
    assert tuple(np.round(out[0, 4] * 255).astype(int)) == viz.ERROR_COLOURS["boundary error"]
    assert tuple(np.round(out[6, 1] * 255).astype(int)) == viz.ERROR_COLOURS["interior error"]
    band = np.zeros((8, 8), bool)                                       # with an empty band every error is interior
    out = viz.errors_over_image(np.zeros((8, 8)), t, p, boundary=band)
    assert tuple(np.round(out[0, 4] * 255).astype(int)) == viz.ERROR_COLOURS["interior error"]
    with pytest.raises(ValueError, match="boundary"):
        viz.errors_over_image(np.zeros((8, 8)), t, p, boundary=t * 2)
    with pytest.raises(ValueError):
        viz.errors_over_image(np.zeros((8, 8)), t, p[:4])


def test_confidence_map_and_bars():
    p = np.stack([np.full((3, 3), 0.5), np.full((3, 3), 0.5)])
    assert np.allclose(viz.confidence_map(p, "entropy"), np.log(2))
    with pytest.raises(ValueError):
        viz.confidence_map(p, "other")
    ax = viz.per_class_bar([0.5, np.nan], ["a", "b"])
    assert [t.get_text() for t in ax.texts] == ["0.50", "n/a"]
    ax = viz.per_sample_strip([0.9, 0.2, 0.8, 0.95], worst=1)
    assert [t.get_text() for t in ax.texts] == ["#1"]
    d = data.road_scenes(5, seed=0)
    fig = viz.failure_gallery(d.images, d.labels, d.labels, [0.9, 0.1, 0.5, 0.7, 0.3], k=2)
    assert fig.axes[0].get_title().startswith("#1")


def test_matched_overlay_keeps_fp_and_fn_distinct_from_instance_colours_over_white():
    from segcourse import palette, viz

    lab = np.zeros((8, 8), int)
    lab[1:4, 1:4], lab[5:8, 5:8] = 1, 2
    colours = {1: palette.OUTCOME_COLOURS["FP"], 2: palette.OUTCOME_COLOURS["FN"]}
    out = viz.matched_overlay(np.ones((8, 8)), lab, colours)
    drawn = {k: tuple(int(round(v * 255)) for v in out[c]) for k, c in (("FP", (2, 2)), ("FN", (6, 6)))}
    assert drawn == {k: tuple(palette.OUTCOME_COLOURS[k]) for k in ("FP", "FN")}
    for k in ("FP", "FN"):   # the palette's rule, after drawing: at least 20 from every instance colour
        assert min(palette.delta_e(drawn[k], c) for c in palette.INSTANCE_COLOURS) >= 20
    default = viz.instance_overlay(np.ones((8, 8)), lab, colours=colours)   # unchanged for the other lessons
    assert not np.allclose(default[2, 2], out[2, 2])
    plt.close("all")


def test_matched_legend_swatch_is_striped_in_instance_colours():
    """A "matched" swatch is stripes of several instance colours, not one (grey) colour (review 03s8 W8)."""
    from segcourse import palette

    lab = np.zeros((8, 8), int)
    lab[1:4, 1:4], lab[5:8, 5:8] = 1, 2
    fig, ax = plt.subplots()
    viz.instance_overlay(np.zeros((8, 8)), lab, ax=ax, colours={1: (255, 127, 14), 2: palette.OUTCOME_COLOURS["FP"]})
    leg = ax.get_legend()
    assert [t.get_text() for t in leg.get_texts()][0].startswith("matched")
    fig.canvas.draw()
    drawn = [a for a in leg.get_children()[0].findobj(lambda a: hasattr(a, "get_facecolor") and a is not leg.legendPatch)]
    colours = {tuple(np.round(np.array(a.get_facecolor()[:3]) * 255).astype(int)) for a in drawn
               if a.get_facecolor()[3] > 0}
    assert {tuple(c) for c in palette.INSTANCE_COLOURS[:4].tolist()} <= colours
    with pytest.raises(ValueError, match="n_colours"):
        viz.matched_handle(n_colours=1)


def test_instance_figure_helpers_legend_below_cluster_box_zoom_and_mark_box():
    """The plotting helpers lesson 03 used to define in its first cell (review 03s8b W1)."""
    from matplotlib.patches import Patch, Rectangle

    from segcourse import palette

    inst = np.zeros((12, 14), int)
    inst[1:3, 1:3] = 1
    inst[5:9, 3:7], inst[5:9, 7:11] = 2, 3          # two touching cells: the cluster
    box = viz.cluster_box(inst > 0, inst, margin=2)
    assert box == (slice(3, 11), slice(1, 13))
    assert viz.cluster_box(inst > 0, inst, margin=9) == (slice(0, 12), slice(0, 14))   # clipped at the edge
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        ax.imshow(inst)
    viz.zoom(axes[1], box)
    assert [float(v) for v in (*axes[1].get_xlim(), *axes[1].get_ylim())] == [0.5, 12.5, 10.5, 2.5]
    rect = viz.mark_box(axes[0], box)
    assert isinstance(rect, Rectangle) and rect in axes[0].patches and rect.get_linestyle() == "--"
    swatch = viz.matched_swatch("matched by the recipe")
    assert isinstance(swatch, viz.Swatch) and swatch.label == "matched by the recipe"
    assert [tuple(np.round(np.array(p.get_facecolor()[:3]) * 255).astype(int)) for p in swatch] == \
        [tuple(c) for c in palette.INSTANCE_COLOURS[:4].tolist()]
    leg = viz.legend_below(axes[1], [swatch, Patch(facecolor="red", label="FP")], ncol=2)
    assert [t.get_text() for t in leg.get_texts()] == ["matched by the recipe", "FP"]
    fig.canvas.draw()
    assert leg.get_window_extent().y1 <= axes[1].get_window_extent().y0 + 1    # under the panel, on no pixel
    with pytest.raises(ValueError, match="same shape"):
        viz.cluster_box(inst[:, :-1] > 0, inst)
    with pytest.raises(ValueError, match="no blob"):
        viz.cluster_box(np.zeros((4, 4), int), np.zeros((4, 4), int))
    with pytest.raises(ValueError, match="margin"):
        viz.cluster_box(inst > 0, inst, margin=-1)
    with pytest.raises(TypeError, match="box must be"):
        viz.zoom(axes[1], [slice(0, 2), slice(0, 2)])
    with pytest.raises(TypeError, match="Axes"):
        viz.mark_box(axes, box)
    with pytest.raises(ValueError, match="n_colours"):
        viz.matched_swatch(n_colours=1)
