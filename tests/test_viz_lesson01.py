"""Lesson 01's evidence card: the opt-in prediction overlay in place of the second error panel."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from segcourse import viz  # noqa: E402


def _card(**kw):
    t = np.zeros((8, 8), int)
    t[4:, :] = 1
    p = t.copy()
    p[6, 6] = 0
    img = np.full((8, 8, 3), 0.5)
    return viz.evidence_card(img, t, p, ["sky", "road"], {"mIoU": 0.98, "per_class": [0.97, 0.98]}, **kw), img, p


def test_evidence_card_draws_the_prediction_overlay_when_asked():
    (fig, _), img, p = _card(prediction_overlay=True)
    titles = [ax.get_title() for ax in fig.axes]
    assert "prediction over the image" in titles and "errors" not in titles
    panel = fig.axes[titles.index("prediction over the image")]
    shown = panel.get_images()[0].get_array()
    assert np.allclose(shown, viz.overlay(img, p, alpha=0.6, skip_background=False))
    assert panel.get_legend() is None             # the figure's class legend explains its colours
    plt.close(fig)


def test_evidence_card_keeps_its_error_map_by_default():
    (fig, _), _, _ = _card()
    titles = [ax.get_title() for ax in fig.axes]
    assert "errors" in titles and "prediction over the image" not in titles
    plt.close(fig)
