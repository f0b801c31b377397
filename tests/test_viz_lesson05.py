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
