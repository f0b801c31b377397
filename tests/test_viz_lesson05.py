"""viz helpers lesson 05 draws with: legend words and the bucket gallery (review 05s10 P2-3)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from segcourse import viz  # noqa: E402


def test_legend_words_renames_axes_and_figure_legends():
    fig, ax = plt.subplots()
    ax.plot([0, 1], label="band")
    ax.legend()
    fig.legend(handles=ax.get_legend_handles_labels()[0], labels=["band"])
    assert viz.legend_words(fig, {"band": "boundary band, correct", "absent": "x"}) == 2
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["boundary band, correct"]
    plt.close(fig)


def test_bucket_gallery_colours_each_bucket_and_orders_rows():
    t = np.zeros((3, 8, 8), int)
    t[:, 3:6, 3:6] = 1
    p = t.copy()
    p[1, 0, 0] = 1
    p[2, 3, 3] = 0
    parts = [{}, {"false_positive_class": p[1] != t[1]}, {"boundary": p[2] != t[2]}]
    colours = {"false_positive_class": (200, 0, 0), "boundary": (0, 110, 110)}
    fig = viz.bucket_gallery(np.zeros((3, 8, 8)), t, p, [1.0, 0.6, 0.8], parts, colours, ["bg", "obj"], ids=[4, 5, 6])
    assert [a.get_title() for a in fig.axes[::4]] == ["#5: mIoU 0.600", "#6: mIoU 0.800", "#4: mIoU 1.000"]
    first = fig.axes[3].images[0].get_array()
    assert tuple(first[0, 0]) == (200, 0, 0) and tuple(first[4, 4]) != (200, 0, 0)
    assert [x.get_text() for x in fig.legends[1].get_texts()] == ["false positive class", "boundary", "correct"]
    plt.close(fig)
    with pytest.raises(ValueError, match="one dict per sample"):
        viz.bucket_gallery(np.zeros((3, 8, 8)), t, p, [1.0, 0.6, 0.8], parts[:2], colours, ["bg", "obj"])


def test_confusion_by_column_divides_each_column_and_refuses_bad_counts():
    """Review 05s12 P1-2: the precision view of #254 (99 predicted car pixels for 28 true ones)."""
    cm = np.array([[10, 0, 5], [0, 4, 0], [2, 0, 28]])
    shares = viz.confusion_by_column(cm, ["road", "sidewalk", "car"])
    assert np.allclose(shares.sum(0), 1) and shares[2, 2] == pytest.approx(28 / 33)
    with pytest.raises(ValueError, match="negative count"):
        viz.confusion_by_column(-cm, ["road", "sidewalk", "car"])
    plt.close("all")


def test_evidence_card_zoomed_picks_the_window_most_wrong_in_the_band_and_names_black():
    """Review 05s12 P2-7, P3 (a): the card's zoom search as one call; black pixels in the zoom's legend."""
    t = np.zeros((32, 32), int)
    t[16:] = 1
    p = t.copy()
    p[15, 24:28] = 1                                        # wrong pixels on the edge, right half
    band = np.zeros_like(t, bool)
    band[14:18] = True
    fig, _, (r0, c0) = viz.evidence_card_zoomed(np.zeros((32, 32)), t, p, ["sky", "road"], {"mIoU": 0.9}, band,
                                                size=8, step=4)
    assert r0 <= 15 < r0 + 8 and c0 <= 24 and 27 < c0 + 8
    zoom = next(a for a in fig.axes if a.get_title().startswith("boundary zoom"))
    assert "correct, off the band" in [x.get_text() for x in zoom.get_legend().get_texts()]
    with pytest.raises(ValueError, match="step"):
        viz.evidence_card_zoomed(np.zeros((32, 32)), t, p, ["sky", "road"], {"mIoU": 0.9}, band, step=0)
    plt.close("all")
