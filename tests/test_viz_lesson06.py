"""The lesson-06 figure helper of segcourse.viz: the click evidence card."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from segcourse import palette, viz  # noqa: E402


def _case():
    t = np.zeros((20, 20), bool)
    t[5:11, 5:11] = True
    p = t.copy()
    p[5, 5:9] = False                # 4 missed
    p[11, 5:7] = True                # 2 false
    return np.linspace(0, 1, 400).reshape(20, 20), t, p


def test_click_evidence_card_counts_outcomes_and_draws_the_clicks_on_the_image():
    img, t, p = _case()
    fig = viz.click_evidence_card(img, t, p, [((7, 7), True), ((11, 5), False)], {"m": [0.5, 0.8, 0.88]}, "text",
                                  colours={"m": (0.1, 0.2, 0.3)}, title="card")
    ax_img, ax_err, ax_curve, ax_text = fig.axes
    assert ax_err.get_title().endswith("32 found, 2 false, 4 missed pixels")
    markers = [ln for ln in ax_img.get_lines() if ln.get_marker() in ("P", "X")]
    assert [m.get_marker() for m in markers] == ["P", "X"] and not ax_err.get_lines()   # clicks on the image only
    assert markers[0].get_markerfacecolor()[:3] == pytest.approx(palette.rgb(palette.OUTCOME_COLOURS["TP"]))
    assert ax_curve.get_lines()[0].get_color() == (0.1, 0.2, 0.3)
    assert "text" in ax_text.texts[0].get_text() and fig.texts[0].get_text() == "card"
    assert fig.legends                                              # outcome and click legend
    plt.close(fig)


def test_click_evidence_card_zooms_on_the_object_inside_the_crop():
    img, t, p = _case()
    fig = viz.click_evidence_card(img, t, p, [], {"m": [0.9]}, "", margin=2)
    x0, x1 = fig.axes[0].get_xlim()
    assert (x0, x1) == (2.5, 12.5)                                   # 6 px object + 2 px either side
    plt.close(fig)


@pytest.mark.parametrize("target, pred, match", [
    (np.zeros((20, 20), bool), np.zeros((20, 20), bool), "empty"),
    (np.ones((20, 20), bool), np.ones((19, 20), bool), "height x width"),
    (np.full((20, 20), 2), np.ones((20, 20), bool), "binary"),
])
def test_click_evidence_card_refuses_bad_masks(target, pred, match):
    with pytest.raises(ValueError, match=match):
        viz.click_evidence_card(np.zeros((20, 20)), target, pred, [], {}, "")


def test_noc_scatter_colour_bar_reads_plain_ticks():
    """Review 06s12 P3: the area colour bar is labelled 50, 100, 200, 400, 700, not 4x10^1 ... 6x10^2."""
    fig = viz.noc_scatter([1, 5, 20, 3], [1, 2, 20, 3], [34, 300, 90, 751], [2], "x", "y", name="nucleus")
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert labels == ["50", "100", "200", "400", "700"], labels
    assert fig.axes[0].texts[0].get_text() == "nucleus 2 (90 px)"
    plt.close(fig)


def test_shift_band_figure_says_correct_not_right():
    """Review 06s12 P3: 'right' in the legend collided with the right-half test split."""
    img, t, p = _case()
    fig = viz.shift_band_figure(img, t, p, ("a", "b"))
    texts = [x.get_text() for x in fig.legends[0].get_texts()]
    assert "background, correct" in texts and "found (predicted, true)" in texts
    assert not any("right" in x for x in texts)
    plt.close(fig)


def test_shift_band_figure_draws_found_pixels_in_the_tp_colour():
    """Review 06s12b N5: correct object pixels are green (TP) here as in every other figure."""
    img, t, p = _case()
    fig = viz.shift_band_figure(img, t, p, ("a", "b"))
    shown = fig.axes[1].images[0].get_array()
    green = palette.rgb(palette.OUTCOME_COLOURS["TP"])
    assert any(np.allclose(px, green) for px in shown.reshape(-1, 3)), "no TP-green pixel"
    plt.close(fig)


def test_noc_table_and_zoom_window_refuse_bad_input():
    with pytest.raises(ValueError, match="at least one method"):
        viz.noc_table({})
    with pytest.raises(TypeError, match="noc_summary"):
        viz.noc_table({"m": {"noc85": {}}})
    with pytest.raises(ValueError, match="empty"):
        viz.zoom_window(np.zeros((5, 5), bool))
