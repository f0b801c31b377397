"""segcourse.interactive (clicks to masks) and the lesson-06 checks: protocol, baselines, shipped model, hints."""

import json

import numpy as np
import pytest
import torch
from scipy import ndimage

from segcourse import checks, interactive
from segcourse.checks.lesson06 import _largest_region_click


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The click models here are tiny: a second thread only spins (and costs CPU time in the suite)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _disk(shape=(32, 32), centre=(16, 16), r=8):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= r * r


# ------------------------------------------------------------------------------------- protocol
def test_next_click_goes_to_the_deepest_error_pixel_with_its_sign():
    t = _disk()
    assert interactive.next_click(np.zeros_like(t), t) == ((16, 16), True)
    p = t | _disk(centre=(16, 28), r=3)   # a false blob outside the object
    (r, c), positive = interactive.next_click(p, t)
    assert not positive and t[r, c] == 0 and p[r, c]
    p = t & ~_disk(centre=(16, 16), r=4)  # a hole in the middle: missed
    assert interactive.next_click(p, t) == ((16, 16), True)


def test_next_click_counts_the_image_border_as_a_region_edge():
    t = np.zeros((10, 10), bool)
    t[:, :4] = True                       # a missed strip along the left edge
    (r, c), positive = interactive.next_click(np.zeros_like(t), t)
    assert positive and c == 1 or c == 2  # the middle of columns 0-3, not column 0


def test_next_click_never_lands_on_an_already_clicked_pixel():
    t = _disk()
    first = interactive.next_click(np.zeros_like(t), t)[0]
    second, positive = interactive.next_click(np.zeros_like(t), t, clicked=[first])
    assert positive and second != first and t[second]
    done = np.zeros_like(t)
    done[first] = True                    # a boolean map works as well as a list of clicks
    assert interactive.next_click(np.zeros_like(t), t, clicked=done)[0] == second
    # a predictor that ignores the clicks: the annotator walks on, never clicking a pixel twice
    run = interactive.simulate_clicks(lambda im, p, n, prev: np.zeros_like(t), np.zeros(t.shape), t, max_clicks=20)
    where = [c for c, _ in run["clicks"]]
    assert len(where) == 20 and len(set(where)) == 20 and all(t[c] for c in where)
    one = np.zeros((5, 5), bool)
    one[2, 2] = True                      # the only error pixel was clicked: nothing new to click
    with pytest.raises(ValueError, match="clicked already"):
        interactive.next_click(np.zeros_like(one), one, clicked=[(2, 2)])
    stuck = interactive.simulate_clicks(lambda im, p, n, prev: np.zeros_like(one), np.zeros(one.shape), one, max_clicks=3)
    assert stuck["ious"] == [0.0] * 3 and len(stuck["clicks"]) == 1   # the annotator stops, the mask is kept


def test_next_click_tie_goes_to_a_negative_click_as_in_ritm():
    t = np.zeros((9, 20), bool)
    t[2:7, 2:7] = True                    # missed 5×5 square: depth 3
    p = np.zeros_like(t)
    p[2:7, 12:17] = True                  # false 5×5 square: depth 3 too
    assert interactive.next_click(p, t) == ((4, 14), False)    # equal depths: negative (RITM: fn > fp for positive)
    t[2:7, 7] = True                      # the missed region gets wider (5×6): still depth 3, still a tie
    assert interactive.next_click(p, t)[1] is False
    t[1:8, 1:8] = True                    # missed 7×7: depth 4 beats 3, positive
    assert interactive.next_click(p, t) == ((4, 4), True)


def test_next_click_refuses_a_perfect_mask_and_bad_inputs():
    t = _disk()
    with pytest.raises(ValueError, match="no error"):
        interactive.next_click(t, t)
    with pytest.raises(ValueError, match="same shape"):
        interactive.next_click(t[:5], t)


@pytest.mark.parametrize("ious, threshold, cap, want", [
    ([0.9], 0.85, 20, 1), ([0.5, 0.85], 0.85, 20, 2), ([0.5, 0.84], 0.85, 20, 20), ([0.5, 0.6, 0.9], 0.85, 2, 2),
    ([0.86, 0.89, 0.95], 0.90, 20, 3),
])
def test_number_of_clicks_edge_cases(ious, threshold, cap, want):
    assert interactive.number_of_clicks(ious, threshold, cap) == want


def test_number_of_clicks_refuses_nan_and_bad_thresholds():
    with pytest.raises(ValueError, match="NaN"):
        interactive.number_of_clicks([0.5, float("nan")])
    with pytest.raises(ValueError, match="threshold"):
        interactive.number_of_clicks([0.5], 85)


def test_click_maps_draw_disks_and_refuse_clicks_outside():
    m = interactive.click_maps([(0, 0)], [(9, 9)], (10, 10), radius=2)
    assert m.shape == (2, 10, 10) and m[0, 0, 0] == 1 and m[1, 9, 9] == 1 and m[0, 9, 9] == 0
    assert m[0].sum() == 6  # a quarter disk of radius 2 in the corner: (0,0),(0,1),(0,2),(1,0),(1,1),(2,0)
    with pytest.raises(ValueError, match="outside"):
        interactive.click_maps([(10, 0)], [], (10, 10))


def test_simulate_clicks_with_a_perfect_and_a_bad_method():
    t = _disk()
    run = interactive.simulate_clicks(lambda im, p, n, prev: t, np.zeros(t.shape), t, max_clicks=5)
    assert run["ious"] == [1.0] * 5 and len(run["clicks"]) == 1
    never = interactive.simulate_clicks(lambda im, p, n, prev: np.zeros_like(t), np.zeros(t.shape), t, max_clicks=4)
    assert never["ious"] == [0.0] * 4 and interactive.number_of_clicks(never["ious"], 0.85, 4) == 4
    with pytest.raises(ValueError, match="empty"):
        interactive.simulate_clicks(lambda *a: t, np.zeros(t.shape), np.zeros_like(t))


def test_noc_summary_counts_never_and_the_cap():
    s = interactive.noc_summary([[0.9] * 3, [0.1, 0.2, 0.3]], max_clicks=3)
    assert s["noc85"]["per_object"] == [1, 3] and s["noc85"]["never"] == 0.5 and s["iou_at"]["1"] == 0.5


# ------------------------------------------------------------------------------------ baselines
@pytest.mark.parametrize("make", [interactive.random_walker_predictor, interactive.watershed_predictor])
def test_click_seeded_baselines_find_a_bright_disk_and_obey_negative_clicks(make):
    img = np.where(_disk(), 0.9, 0.1).astype(np.float32)
    predict = make()
    mask = predict(img, [(16, 16)], [], None)
    assert mask.dtype == bool and interactive._iou(mask, _disk()) > 0.9
    assert not predict(img, [], [(3, 3)], None).any()  # no positive click: nothing selected
    two = _disk(r=6) | _disk(centre=(16, 27), r=4)
    img2 = np.where(two, 0.9, 0.1).astype(np.float32)
    assert not predict(img2, [(16, 16)], [(16, 28)], None)[16, 28]


def test_random_walker_refuses_a_non_positive_beta():
    with pytest.raises(ValueError, match="beta"):
        interactive.random_walker_predictor(beta=0)


# ------------------------------------------------------------------------------ data and models
def test_object_sets_stay_on_their_side_of_the_image():
    left, right = interactive.nuclei_objects("left"), interactive.nuclei_objects("right")
    assert left[0].shape[1:] == right[0].shape[1:] == (64, 64)
    assert all(m.any() for m in right[1]) and len(right[0]) >= 40 and len(left[0]) >= 40
    with pytest.raises(ValueError, match="region"):
        interactive.nuclei_objects("middle")
    imgs, masks = interactive.coins_objects()
    assert len(imgs) == 24 and imgs.min() >= 0 and imgs.max() <= 1


def test_click_predictor_pads_odd_sizes_and_refuses_non_models():
    predict = interactive.click_predictor(interactive.click_model(width=4))
    assert predict(np.zeros((21, 30)), [(3, 3)], [(10, 10)], np.zeros((21, 30), bool)).shape == (21, 30)
    with pytest.raises(TypeError, match="torch module"):
        interactive.click_predictor("clicks")


def test_training_with_simulated_clicks_lowers_the_loss():
    imgs, masks = interactive.synthetic_objects(16, seed=3)
    model = interactive.click_model(width=4, seed=0)
    hist = interactive.train_click_model(model, imgs, masks, steps=8, batch_size=4, lr=1e-2, seed=0, progress=False)
    assert np.mean(hist["loss"][-3:]) < np.mean(hist["loss"][:3]) - 0.05 and not model.training


def test_shipped_click_model_loads_both_stages_and_its_card_holds_the_evaluation():
    fine, synth = interactive.load_click_model(), interactive.load_click_model("synthetic only")
    diff = [not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(fine.state_dict().values(), synth.state_dict().values())]
    assert any(diff)
    card = fine.card
    assert card["command"].startswith("python -m segcourse.interactive train") and card["model"]["in_channels"] == 4
    res = card["evaluation"]["results"]
    assert set(res) == {"synthetic", "nuclei (test half)", "coins"}
    for rows in res.values():
        for v in rows.values():
            assert v["noc85"]["mean"] <= v["noc90"]["mean"] and len(v["mean_curve"]) == interactive.MAX_CLICKS
    with pytest.raises(ValueError, match="stage"):
        interactive.load_click_model("half")


def test_shipped_model_reproduces_its_card_on_a_few_test_nuclei():
    """Inference of fixed weights: the card's per-object NoC@85 holds on this CPU."""
    model = interactive.load_click_model()
    imgs, masks = interactive.nuclei_objects("right")
    want = model.card["evaluation"]["results"]["nuclei (test half)"]["click UNet, fine-tuned"]["noc85"]["per_object"]
    predict = interactive.click_predictor(model)
    got = [interactive.number_of_clicks(interactive.simulate_clicks(predict, im, m, stop_at=0.85)["ious"], 0.85)
           for im, m in zip(imgs[:6], masks[:6])]
    assert got == want[:6]


# ------------------------------------------------------------------------------- lesson-06 checks
def _right_click(pred, target):  # the solution's answer, in numpy and scipy
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    best = None
    for positive, error in ((True, target & ~pred), (False, pred & ~target)):
        labels, n = ndimage.label(error)
        if n:
            areas = np.bincount(labels.ravel())[1:]
            k = int(np.argmax(areas)) + 1
            depth = ndimage.distance_transform_edt(np.pad(labels == k, 1))[1:-1, 1:-1]
            r, c = np.unravel_index(np.argmax(depth), depth.shape)
            if best is None or areas[k - 1] > best[0]:
                best = (areas[k - 1], int(r), int(c), positive)
    return best[1], best[2], best[3]


def test_largest_region_click_accepts_a_correct_answer(capsys):
    checks.check_largest_region_click(_right_click)
    assert "all cases pass" in capsys.readouterr().out


def test_largest_region_click_reference_agrees_with_the_answer_and_is_refused():
    rng = np.random.default_rng(1)
    for _ in range(10):
        t = ndimage.binary_opening(rng.random((20, 20)) < 0.6)
        p = np.roll(t, 2, axis=1)
        if (p != t).any():
            assert _largest_region_click(p, t) == _right_click(p, t)
    from segcourse.checks.lesson06 import _largest_region_click as imported
    with pytest.raises(AssertionError, match="check's own reference"):
        checks.check_largest_region_click(imported)
    with pytest.raises(AssertionError, match="calls segcourse"):
        checks.check_noc_with_proposal(lambda ious, t, cap: interactive.noc_summary([[0.5]]) and _noc(ious, t, cap))


def _deepest(pred, target):  # the lesson's rule: deepest pixel, not largest area
    (r, c), positive = interactive.next_click(pred, target)
    return r, c, positive


def _no_pad(pred, target):  # the border of the image is not treated as outside
    p, t = np.asarray(pred, bool), np.asarray(target, bool)
    best = None
    for positive, err in ((True, t & ~p), (False, p & ~t)):
        lab, n = ndimage.label(err)
        if n:
            a = np.bincount(lab.ravel())[1:]
            k = int(np.argmax(a)) + 1
            d = ndimage.distance_transform_edt(lab == k)
            r, c = np.unravel_index(int(np.argmax(d)), d.shape)
            if best is None or a[k - 1] > best[0]:
                best = (a[k - 1], int(r), int(c), positive)
    return best[1:]


@pytest.mark.parametrize("wrong, hint", [
    (_deepest, "AREA"),
    (_no_pad, "pad the error mask"),
    (lambda p, t: (*_right_click(p, t)[:2], not _right_click(p, t)[2]), "positive"),
    (lambda p, t: _right_click(p, t)[:2], "three values"),
    (lambda p, t: (_right_click(p, t)[1], _right_click(p, t)[0], _right_click(p, t)[2]), "swapped"),
    (lambda p, t: (*np.argwhere(np.asarray(t) != np.asarray(p))[0], bool(np.asarray(t)[tuple(np.argwhere(np.asarray(t) != np.asarray(p))[0])])),
     "centre"),
    (lambda p, t: checks.lesson06._region_click(p, t, eight=True), "8-connected"),            # ndimage.label with a 3×3 structure
    (lambda p, t: checks.lesson06._region_click(p, t, false_first=True), "MISSED region wins"),  # the false region wins the tie
    (lambda p, t: checks.lesson06._region_click(p, t, centroid=True), "centroid rounded"),     # the centroid, not the deepest pixel
    (lambda p, t: checks.lesson06._region_click(p, t, total=True), r"TOTAL\s+area"),           # the kind by its total area
    (lambda p, t: checks.lesson06._region_click(p, t, unlabelled=True), r"label\s+them\s+first"),  # no ndimage.label at all
    (lambda p, t: checks.lesson06._region_click(p, t, zero=True), r"label\s+0\s+is\s+not\s+a\s+region"), # bincount's [0] kept
])
def test_largest_region_click_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_largest_region_click(wrong)


def _noc(ious, threshold=0.85, max_clicks=20):
    hits = np.flatnonzero(np.asarray(ious[: max_clicks + 1], float) >= threshold)
    return (int(hits[0]), True) if hits.size else (max_clicks, False)


def test_noc_with_proposal_accepts_a_correct_answer(capsys):
    checks.check_noc_with_proposal(_noc)
    assert "all cases pass" in capsys.readouterr().out


def _first(ious, t, cap, keep=lambda v, t: v >= t):
    k = next((k for k, v in enumerate(ious) if keep(v, t)), None)
    return (k, True) if k is not None else (cap, False)


@pytest.mark.parametrize("wrong, hint", [
    (lambda ious, t, cap: (interactive.number_of_clicks(ious, t, cap), True), "0 clicks"),
    (lambda ious, t, cap: _first(ious, t, len(ious)), "not the length"),
    (lambda ious, t, cap: _first(ious, t, cap, lambda v, t: v > t), ">="),
    (lambda ious, t, cap: _first(ious, t, cap), "only the proposal and the first 3"),
    (lambda ious, t, cap: _first(ious[:cap], t, cap), r"ious\[:max_clicks \+ 1\]"),   # off by one: the last click is dropped
    (lambda ious, t, cap: _first(ious[:cap + 1], 0.85, cap), "0.90"),
    (lambda ious, t, cap: _first(ious[:cap + 1], t, cap)[0], "two values"),
    (lambda ious, t, cap: (_first(ious[:cap + 1], t, cap)[0], "yes"), "True or False"),
    (lambda ious, t, cap: (lambda k: (k, k < cap))(_first(ious[:cap + 1], t, cap)[0]), "RITM"),
    (lambda ious, t, cap: (lambda h: (int(h[-1]), True) if h.size else (cap, False))(
        np.flatnonzero(np.asarray(ious[:cap + 1]) >= t)), "FIRST"),
])
def test_noc_with_proposal_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_noc_with_proposal(wrong)


def test_card_is_valid_json_with_sha256_of_both_weights():
    import hashlib

    card = json.loads((interactive.WEIGHTS_DIR / "clicks.json").read_text())
    for key in (card, card["synthetic_only"]):
        assert key["sha256"] == hashlib.sha256((interactive.WEIGHTS_DIR / key["weights"]).read_bytes()).hexdigest()


def _maps(clicks, shape, radius=3):  # a right answer, by hand
    rows, cols = np.indices(shape)
    out = np.zeros((2, *shape), np.float32)
    for r, c, positive in clicks:
        out[0 if positive else 1][(rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2] = 1
    return out


def test_click_maps_check_accepts_a_correct_answer_and_matches_the_lesson_encoding(capsys):
    from segcourse.checks.lesson06 import _click_maps

    checks.check_click_maps(_maps)
    assert "all cases pass" in capsys.readouterr().out
    clicks = [(0, 0, True), (5, 9, False), (7, 3, True), (11, 11, False)]
    want = interactive.click_maps([(r, c) for r, c, p in clicks if p], [(r, c) for r, c, p in clicks if not p], (12, 12), 3)
    assert np.array_equal(_click_maps(clicks, (12, 12), 3), want) and _click_maps(clicks, (12, 12), 3).dtype == np.float32
    with pytest.raises(AssertionError, match="calls segcourse.interactive.click_maps"):
        checks.check_click_maps(lambda cl, shape, radius: interactive.click_maps(
            [(r, c) for r, c, p in cl if p], [(r, c) for r, c, p in cl if not p], shape, radius))
    with pytest.raises(AssertionError, match="check's own reference"):
        checks.check_click_maps(_click_maps)


def _lt(clicks, shape, radius):  # < radius instead of <= radius
    rows, cols = np.indices(shape)
    out = np.zeros((2, *shape), np.float32)
    for r, c, p in clicks:
        out[0 if p else 1][(rows - r) ** 2 + (cols - c) ** 2 < radius ** 2] = 1
    return out


@pytest.mark.parametrize("wrong, hint", [
    (lambda cl, s, r: _maps([(c, rr, p) for rr, c, p in cl], s, r), "disks sit at"),                 # row and col swapped
    (lambda cl, s, r: _maps(cl, s, max(r - 1, 0)), "have radius 1,"),                                 # radius off by one
    (lambda cl, s, r: _maps(cl, s, r + 1), "have radius 3,"),
    (_lt, "not < radius"),
    (lambda cl, s, r: _maps(cl, s, r).max(0), "in one channel"),                                      # one (H, W) map
    (lambda cl, s, r: np.stack([_maps(cl, s, r).max(0), np.zeros(s, np.float32)]), "landed in one channel"),
    (lambda cl, s, r: (lambda m: np.stack([m[0] - m[1], 0 * m[1]]))(_maps(cl, s, r)), "not -1"),     # -1 for negatives
    (lambda cl, s, r: _maps(cl, s, r).astype(bool), "are bool"),                                      # float vs bool
    (lambda cl, s, r: _maps(cl, s, r).astype(np.uint8), "are uint8"),
    (lambda cl, s, r: _maps(cl, s, r).astype(np.float64), "are float64"),
    (lambda cl, s, r: _maps(cl, s, r)[::-1], "channels are swapped"),
    (lambda cl, s, r: _maps(cl, s, r).tolist(), "numpy array"),
    (lambda cl, s, r: _maps(cl, (s[1], s[0]), r), "return shape"),
    (lambda cl, s, r: checks.lesson06._square_maps(cl, s, r), "squares"),
    (lambda cl, s, r: _maps(cl[:1], s, r), "pixels of the expected disks are 0"),                   # only the first click
])
def test_click_maps_check_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_click_maps(wrong)


def _loop(proposal=True, clicked=True, previous=True, swap=False, only_last=False, stop=True, strict=False,
          stuck=True, on_proposal=False):
    """The annotator loop of exercise 4, right by default; each flag makes one typical mistake."""
    def simulate(predict, image, target, max_clicks=20, stop_at=0.85):
        target = np.asarray(target, bool)
        iou = lambda a, b: float((a & b).sum() / (a | b).sum())  # noqa: E731
        pred = np.asarray(predict(image, [], [], None), bool) if proposal else np.zeros_like(target)
        ious, clicks, pos, neg = ([iou(pred, target)] if proposal else []), [], [], []
        prev = first = pred if proposal else None
        reached = lambda: ious and (ious[-1] > stop_at if strict else ious[-1] >= stop_at)  # noqa: E731
        while len(clicks) < max_clicks and not (stop and reached()):
            try:
                (r, c), positive = interactive.next_click(first if on_proposal else pred, target,
                                                          clicked=[(r, c) for r, c, _ in clicks] if clicked else None)
            except ValueError:  # every error pixel clicked already
                if not stuck:
                    raise
                break
            (pos if positive else neg).append((r, c))
            clicks.append((r, c, positive))
            p, n = ([(r, c)], []) if only_last and positive else ([], [(r, c)]) if only_last else (pos, neg)
            pred = np.asarray(predict(image, *((n, p) if swap else (p, n)), prev), bool)
            prev = pred if previous else None
            ious.append(iou(pred, target))
        return ious, clicks
    return simulate


def test_simulate_check_accepts_a_correct_answer_and_refuses_the_helpers(capsys):
    checks.check_simulate(_loop())
    assert "all cases pass" in capsys.readouterr().out
    from segcourse.checks.lesson06 import _simulate

    with pytest.raises(AssertionError, match="check's own reference"):
        checks.check_simulate(_simulate)


@pytest.mark.parametrize("wrong, hint", [
    (_loop(proposal=False), r"predict\(image, \[\], \[\], None\) first"),   # the lesson's loop: no proposal
    (_loop(clicked=False), "twice"),                                         # a pixel clicked again
    (_loop(previous=False), "previous=None"),
    (_loop(swap=True), "third argument"),
    (_loop(only_last=True), r"ALL clicks\s+so far"),
    (_loop(stop=False), "stops there"),
    (_loop(strict=True), ">=, not >"),
    (_loop(stuck=False), "raises ValueError"),                              # crashes once every error pixel is clicked
    (_loop(on_proposal=True), "errors of the PROPOSAL"),                    # every click on the proposal's errors
    (lambda predict, image, target, max_clicks, stop_at: (lambda p, r: (                # simulate_clicks after the proposal
        [float((p & target).sum() / (p | target).sum())] + r["ious"], [(a, b, q) for (a, b), q in r["clicks"]]))(
        np.asarray(predict(image, [], [], None), bool), interactive.simulate_clicks(predict, image, target, max_clicks,
                                                                                    stop_at=stop_at)),
     r"as if nothing\s+were\s+predicted"),
    (lambda predict, image, target, max_clicks, stop_at: _loop()(predict, image, target, max_clicks, stop_at)[0], "two values"),
    (lambda predict, image, target, max_clicks, stop_at: (lambda r: ([0.0] + r["ious"], [(a, b, p) for (a, b), p in r["clicks"]]))(
        interactive.simulate_clicks(predict, image, target, max_clicks, stop_at=stop_at)), "first"),
])
def test_simulate_check_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_simulate(wrong)


def _seeds_by_hand(clicks, shape, radius=2):  # a right answer
    rows, cols = np.indices(shape)
    out = np.zeros(shape, np.int32)
    out[[0, -1], :] = 2
    out[:, [0, -1]] = 2
    for r, c, p in clicks:
        out[(rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2] = 1 if p else 2
    return out


def test_seeds_check_accepts_a_correct_answer_and_refuses_the_helpers(capsys):
    from segcourse.checks.lesson06 import _seeds

    checks.check_seeds(_seeds_by_hand)
    assert "all cases pass" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="check's own reference"):
        checks.check_seeds(_seeds)


@pytest.mark.parametrize("wrong, hint", [
    (lambda cl, s, r: np.pad(_seeds_by_hand(cl, s, r)[1:-1, 1:-1], 1), "outermost rows"),               # no border
    (lambda cl, s, r: (3 - _seeds_by_hand(cl, s, r)) % 3, "labels are swapped"),                        # 1 <-> 2
    (lambda cl, s, r: np.where(_seeds_by_hand(cl, s, r) == 2, -1, _seeds_by_hand(cl, s, r)), "not -1"),
    (lambda cl, s, r: _seeds_by_hand(cl, s, r).astype(float), "integer labels"),
    (lambda cl, s, r: _seeds_by_hand([(c, rr, p) for rr, c, p in cl], s, r), r"\(col,\s+row\)"),
    (lambda cl, s, r: checks.lesson06._seeds(cl, s, r, positive_wins=True), "LATER click wins"),       # negatives first
    (lambda cl, s, r: checks.lesson06._seeds(cl, s, r, border_last=True), "border first"),
    (lambda cl, s, r: checks.lesson06._seeds([(a, b, not p) for a, b, p in cl], s, r), r"click\s+labels\s+are\s+swapped"),
    (lambda cl, s, r: checks.lesson06._seeds(cl, s, r, border="rows"), r"miss\s+the\s+first\s+and\s+last\s+columns"),
    (lambda cl, s, r: checks.lesson06._seeds(cl, s, r, border="cols"), r"miss\s+the\s+first\s+and\s+last\s+rows"),
    (lambda cl, s, r: _seeds_by_hand(cl, s, max(r - 1, 0)), r"have radius 1,\s+not 2"),
    (lambda cl, s, r: checks.lesson06._seeds(cl, s, r, strict=True), r"not <\s+radius"),                # < instead of <=
    (lambda cl, s, r: interactive._markers(s, [(a, b) for a, b, p in cl if p], [(a, b) for a, b, p in cl if not p], r),
     "LATER click wins"),                                                                                # the lesson's helper
])
def test_seeds_check_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_seeds(wrong)


def test_in_largest_error_region_compares_the_click_with_the_largest_region_by_area():
    t = np.zeros((12, 12), bool)
    t[1:3, 1:11] = True                                   # a thin missed strip of 20 px ...
    t[5:10, 5:10] = True                                  # ... and a 5×5 missed square of 25 px
    before = np.zeros_like(t)
    run = {"clicks": [((0, 0), True), ((7, 7), True), ((1, 5), True)], "masks": [before, before, before]}
    assert interactive.in_largest_error_region(run, t) == [True, False]   # the square is the larger region
    with pytest.raises(ValueError, match="keep_masks=True"):
        interactive.in_largest_error_region({"clicks": []}, t)


# ------------------------------------------------------------------ exercise 7: the batch and one corrective round
def _batch(images, pos_maps, neg_maps, prev_masks, scale=lambda g: g / 255.0):  # a right click_batch (scale: a variant)
    grey = scale(np.asarray(images, np.float32))
    return torch.from_numpy(np.stack([grey, pos_maps, neg_maps, np.asarray(prev_masks, np.float32)], 1).astype(np.float32))


def _round(*, no_grad=True, eval_=True, prev="pred", clicked=True, on="pred", only_second=False, swap=False,
           order=("zero_grad", "backward", "step"), loss_of="second", softmax=False, reduction="mean", copy5=False,
           returns=2, after=""):
    """A corrective round written by hand; each keyword is one typical mistake (``after``: a no-grad loss
    after the update as in §5, ``"print"`` only computed, ``"return"`` returned instead of the graded loss)."""
    import contextlib

    def train_step(model, optimiser, images, targets, firsts):
        shape = targets.shape[1:]
        y = torch.from_numpy(targets.astype(np.int64))
        maps = np.stack([interactive.click_maps([f], [], shape) for f in firsts])
        x1 = _batch(images, maps[:, 0], maps[:, 1], np.zeros(targets.shape, bool))
        if copy5:                                       # §5's cell: the click-1 step, no corrective round
            loss = torch.nn.functional.cross_entropy(model(x1), y)
            optimiser.zero_grad(); loss.backward(); optimiser.step()
            if copy5 == "after":                        # cell 24 verbatim: the loss after the step, no gradients
                with torch.no_grad():
                    torch.nn.functional.cross_entropy(model(x1), y)
            return float(loss.item()), []
        model.eval() if eval_ else model.train()
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            logits = model(x1)
        pred = (logits[:, 1] > logits[:, 0]).numpy()
        seconds, pos, neg = [], [], []
        for f, p, t in zip(firsts, pred, targets):
            (r, c), positive = interactive.next_click(p if on == "pred" else np.zeros_like(t), t,
                                                      clicked=[f] if clicked else None)
            seconds.append((r, c, positive))
            pos.append(([] if only_second else [f]) + [(r, c)] * positive)
            neg.append([(r, c)] * (not positive))
        maps = np.stack([interactive.click_maps(p, n, shape) for p, n in zip(pos, neg)])
        if swap:
            maps = maps[:, ::-1]
        prev_mask = {"pred": pred, "zeros": np.zeros_like(pred), "target": targets}[prev]
        x2 = _batch(images, maps[:, 0], maps[:, 1], prev_mask)
        model.train()
        out = model(x2) if loss_of == "second" else model(x1)
        if softmax:
            out = torch.softmax(out, 1)
        loss = torch.nn.functional.cross_entropy(out, y, reduction=reduction)
        for what in order:
            {"zero_grad": optimiser.zero_grad, "backward": loss.backward, "step": optimiser.step}[what]()
        if after:                                       # §5's cell 24: the loss after the step, without gradients
            with torch.no_grad():
                loss_after = torch.nn.functional.cross_entropy(model(x2), y)
            if after == "return":
                loss = loss_after
        return (float(loss.item()), seconds) if returns == 2 else float(loss.item())
    return train_step


def test_click_step_check_accepts_a_corrective_round_and_refuses_the_reference(capsys):
    checks.check_click_step(_batch, _round())
    assert "all cases pass" in capsys.readouterr().out
    checks.check_click_step(_batch, _round(after="print"))   # a no-grad loss after step(), as in §5: still right
    assert "all cases pass" in capsys.readouterr().out
    from segcourse.checks.lesson06 import _corrective_step

    with pytest.raises(AssertionError, match="check.s own reference"):
        checks.check_click_step(_batch, _corrective_step)


@pytest.mark.parametrize("batch, hint", [
    (lambda i, p, n, m: _batch(i, p, n, m, scale=lambda g: (g - g.min()) / (g.max() - g.min())), "batch's own min"),
    (lambda i, p, n, m: _batch(i, p, n, m, scale=lambda g: (g - g.mean()) / g.std()), "z-scored"),
    (lambda i, p, n, m: _batch(i, p, n, m, scale=lambda g: (g - g.min((1, 2), keepdims=True))
                               / (g.max((1, 2), keepdims=True) - g.min((1, 2), keepdims=True))), "each image's own"),
    (lambda i, p, n, m: _batch(i, p, n, m, scale=lambda g: g // 255), "integer division"),
    (lambda i, p, n, m: _batch(i, n, p, m), "swapped"),
])
def test_click_batch_check_names_the_normalisation_and_the_maps(batch, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_click_step(batch, _round())


@pytest.mark.parametrize("kwargs, hint", [
    (dict(copy5=True), "called the model once: that is §5's click-1 step"),
    (dict(copy5="after"), "(?s)the loss after the update.*§5.s click-1 step"),
    (dict(no_grad=False), "ran with gradients on"),
    (dict(eval_=False), "model.eval"),
    (dict(prev="zeros"), "channel 3 of your graded batch is all zeros"),
    (dict(prev="target"), "TRUE masks"),
    (dict(on="empty"), "EMPTY mask"),
    (dict(clicked=False), "clicked=\\[first\\]"),
    (dict(only_second=True), "only the second click"),
    (dict(swap=True), "click maps are swapped"),
    (dict(order=("backward", "zero_grad", "step")), "AFTER loss.backward\\(\\): it wipes"),
    (dict(order=("backward", "step")), "no optimiser.zero_grad\\(\\) before"),
    (dict(order=("zero_grad", "step", "backward")), "step\\(\\) ran before"),
    (dict(order=("zero_grad", "backward")), "did not update the weights"),
    (dict(loss_of="first"), "reused the prediction.s batch"),
    (dict(softmax=True), "softmax before cross_entropy"),
    (dict(reduction="sum"), "SUM over pixels"),
    (dict(returns=1), "two values"),
    (dict(after="return"), "returned the loss after the update"),
])
def test_click_step_check_names_each_mistake_of_a_corrective_round(kwargs, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_click_step(_batch, _round(**kwargs))


def test_proposal_entropy_is_public_and_the_old_name_still_works():
    assert interactive._proposal_entropy is interactive.proposal_entropy
    assert "proposal_entropy" in interactive.__all__


# ------------------------------------------------------------------ exercise 8: a disk's 1-px shifts
def _shift_ious(radius, square=False, strict=False, side=None, dice=False, swap=False):
    """A right shift_ious written by hand; each keyword is one typical mistake."""
    from scipy import ndimage

    n = side(radius) if side else 2 * radius + 3
    i, j = np.indices((n, n))
    d = (i - n // 2) ** 2 + (j - n // 2) ** 2
    disk = d < radius ** 2 if strict else d <= radius ** 2
    st = np.ones((3, 3), bool) if square else None
    score = (lambda a, b: 2 * (a & b).sum() / (a.sum() + b.sum())) if dice else (lambda a, b: (a & b).sum() / (a | b).sum())
    pair = score(ndimage.binary_dilation(disk, st), disk), score(ndimage.binary_erosion(disk, st), disk)
    return pair[::-1] if swap else pair


def _smallest(how="both", radii_fixed=False, none_as_last=False, returns_iou=False, strict=False, own_shift=False):
    def smallest_radius(threshold, radii=range(3, 16), shift=_shift_ious):
        for r in (range(3, 16) if radii_fixed else radii):
            a, b = (_shift_ious if own_shift else shift)(r)
            value = {"both": min(a, b), "either": max(a, b), "mean": (a + b) / 2, "in": b}[how]
            if (value > threshold) if strict else (value >= threshold):
                return min(a, b) if returns_iou else r
        return list(radii)[-1] if none_as_last else None
    return smallest_radius


def test_shift_ious_check_accepts_a_correct_answer_and_refuses_the_helpers(capsys):
    checks.check_shift_ious(_shift_ious, _smallest())
    assert "all cases pass" in capsys.readouterr().out
    from segcourse.checks.lesson06 import _disk_shift_ious

    with pytest.raises(AssertionError, match="check.s own reference"):
        checks.check_shift_ious(_disk_shift_ious, _smallest())
    assert _disk_shift_ious(12)[1] >= 0.85 > _disk_shift_ious(11)[1] and max(_disk_shift_ious(15)) < 0.90


@pytest.mark.parametrize("shift, smallest, hint", [
    (lambda r: _shift_ious(r, swap=True), _smallest(), "swapped"),
    (lambda r: _shift_ious(r, square=True), _smallest(), "8-connected"),
    (lambda r: _shift_ious(r, strict=True), _smallest(), "skimage.draw.disk"),
    (lambda r: _shift_ious(r, dice=True), _smallest(), "Dice"),
    (lambda r: _shift_ious(r, side=lambda r: 2 * r + 1), _smallest(), "margin"),
    (_shift_ious, _smallest(how="either"), "(?s)BOTH.iou_out and iou_in"),
    (_shift_ious, _smallest(none_as_last=True), "answer is None"),
    (_shift_ious, _smallest(radii_fixed=True), "(?s)use the radii you are.given"),
    (_shift_ious, _smallest(returns_iou=True), "looks like an IoU"),
    (_shift_ious, _smallest(how="mean"), "(?s)the MEAN of iou_out.and iou_in"),
    (_shift_ious, _smallest(strict=True), "(?s)use >=, not >"),
    (_shift_ious, _smallest(how="in"), "(?s)testing only iou_in"),
    (_shift_ious, _smallest(own_shift=True), "ignores its shift argument"),
    (_shift_ious, lambda threshold, radii=range(3, 16): _smallest()(threshold, radii), "third argument, shift"),
])
def test_shift_ious_check_names_each_mistake(shift, smallest, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_shift_ious(shift, smallest)


# ------------------------------------------------------------------------- recorded runs (lesson 06, §6)
def test_runs_round_trip_through_a_recorded_history_exactly():
    rng = np.random.default_rng(0)
    masks = [rng.random((20, 13, 11)) > 0.5 for _ in range(2)]
    runs = [{"ious": list(rng.random(20)), "clicks": [((1, 2), True), ((3, 4), False)], "masks": list(m)} for m in masks]
    res = {"set": {"m": interactive.noc_summary([r["ious"] for r in runs]) | {"runs": runs}}}
    hist = json.loads(json.dumps(interactive.runs_to_history(res)))        # as a recorded run stores it
    back = interactive.runs_from_history(hist)["set"]["m"]
    assert back["noc85"] == res["set"]["m"]["noc85"] and back["iou_at"] == res["set"]["m"]["iou_at"]
    for a, b in zip(back["runs"], runs):
        assert a["ious"] == b["ious"] and a["clicks"] == b["clicks"]
        assert a["positive"] == [(1, 2)] and a["negative"] == [(3, 4)]
        assert np.array_equal(a["masks"], b["masks"]) and np.array_equal(a["pred"], b["masks"][-1])
    with pytest.raises(ValueError, match="keep_runs"):
        interactive.runs_to_history({"set": {"m": interactive.noc_summary([r["ious"] for r in runs])}})


def test_recorded_nuclei_runs_agree_with_the_shipped_models_card():
    from segcourse import experiments

    recorded = interactive.runs_from_history(experiments.recorded_run("06_nuclei_runs")["history"])["nuclei (test half)"]
    card = interactive.load_click_model().card["evaluation"]["results"]["nuclei (test half)"]
    assert set(recorded) == {"random walker", "marker watershed", "click UNet, fine-tuned"}
    for name, v in recorded.items():
        assert len(v["runs"]) == 47 and all(len(r["masks"]) == interactive.MAX_CLICKS for r in v["runs"])
        assert v["noc85"]["per_object"] == card[name]["noc85"]["per_object"]
        assert v["noc90"]["per_object"] == card[name]["noc90"]["per_object"]
