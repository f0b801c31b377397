"""The real images that ship with the package are exactly what their data card says."""

import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pytest

from segcourse import data

ROOT = Path(__file__).resolve().parents[1]


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def card():
    return data.realdata_card("nuclei_dsb2018")


def test_card_names_source_licence_citation_and_steps(card):
    assert "BBBC038" in card["source"]["dataset"] and "stardist" in card["source"]["taken_from"]
    assert card["licence"]["data"].startswith("CC0") and card["licence"]["data_evidence"]
    assert "BSD-3-Clause" in card["licence"]["packaging_code"]
    assert "Caicedo" in card["citation"] and "10.1038/s41592-019-0612-7" in card["citation"]
    assert len(card["extraction"]) >= 3


def test_file_checksum_matches_card(card):
    path = data.REALDATA_DIR / card["file"]
    blob = path.read_bytes()
    assert len(blob) == card["file_bytes"]
    assert hashlib.sha256(blob).hexdigest() == card["file_sha256"]


def test_loader_returns_what_the_card_says(card):
    image, labels = data.nuclei_image()
    for arr, spec in ((image, card["arrays"]["image"]), (labels, card["arrays"]["labels"])):
        assert list(arr.shape) == spec["shape"]
        assert arr.dtype == np.dtype(spec["dtype"])
        assert _sha(arr) == spec["sha256"]
    assert int(image.min()) == card["arrays"]["image"]["min"] and int(image.max()) == card["arrays"]["image"]["max"]
    ids = np.unique(labels)
    assert len(ids) - 1 == card["arrays"]["labels"]["instances"] == 125
    np.testing.assert_array_equal(ids, np.arange(126))  # renumbered 1..125, 0 = background


def test_loader_returns_copies_and_normalises():
    image, labels = data.nuclei_image()
    image[:] = 0
    labels[:] = 0
    again, lab = data.nuclei_image()
    assert again.max() == 235 and lab.max() == 125
    norm, _ = data.nuclei_image(normalize=True)
    assert norm.dtype == np.float32 and norm.min() == 0.0 and norm.max() == 1.0
    lo, hi = np.percentile(again.astype(np.float32), [1, 99.8])
    np.testing.assert_allclose(norm, np.clip((again - lo) / (hi - lo), 0, 1), atol=1e-6)


def test_every_nucleus_is_one_connected_region():
    from scipy import ndimage

    _, labels = data.nuclei_image()
    pieces = [ndimage.label(labels == i)[1] for i in range(1, 126)]
    assert max(pieces) <= 2  # annotations may have a stray pixel; no id is reused for far-apart nuclei
    assert sum(p == 1 for p in pieces) >= 120


def test_normalize_percentile_validates_and_clips():
    x = np.arange(101, dtype=np.uint16)
    out = data.normalize_percentile(x, 10, 90)
    assert out[10] == 0 and out[90] == 1 and out[50] == pytest.approx(0.5)
    assert out.min() == 0 and out.max() == 1
    assert data.normalize_percentile(x, 10, 90, clip=False).min() < 0
    with pytest.raises(ValueError, match="low"):
        data.normalize_percentile(x, 90, 10)
    with pytest.raises(ValueError, match="empty"):
        data.normalize_percentile(np.zeros(0), 1, 99)


def test_coins_load_offline_from_the_scikit_image_wheel():
    import skimage

    assert (Path(skimage.__file__).parent / "data" / "coins.png").exists()  # bundled, not fetched by pooch
    img = data.coins_image()
    assert img.shape == (303, 384) and img.dtype == np.uint8
    assert data.COINS_TRUE_COUNT == 24


def test_unknown_card_name_lists_the_available_ones():
    with pytest.raises(ValueError, match="nuclei_dsb2018"):
        data.realdata_card("nope")


def test_realdata_ships_as_package_data():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = cfg["tool"]["setuptools"]["package-data"]["segcourse"]
    assert "realdata/*.npz" in patterns and "realdata/*.json" in patterns
