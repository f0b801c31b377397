"""Lesson 01's checks name the cause of the typical mistakes of review 01s11 (P1: exercise 2's clamp answer).

Each wrong answer below is a student answer of that review; each test runs in well under a second.
"""

import numpy as np

from segcourse import checks

from _hints import fails as _fails  # noqa: E402  (tests/ is on sys.path, as for _lab)


def _logp(z):
    z = np.asarray(z, float)
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def test_clamp_answer_is_told_that_a_negative_ignore_label_indexes_from_the_end():
    def clamped(z, t, w, ignore_index=255):  # the lesson's old trick: clamp, index, then drop the ignored pixels
        t = np.asarray(t)
        keep = t != ignore_index
        tt = np.minimum(t, np.asarray(z).shape[1] - 1)        # -100 stays -100
        nll = -np.take_along_axis(_logp(z), tt[:, None], 1)[:, 0]
        ww = np.asarray(w, float)[tt]
        return float((ww * nll)[keep].sum() / ww[keep].sum())
    text = _fails(checks.check_weighted_cross_entropy, clamped, "ignore_index=-100", "negative ignore label",
                  "from the END", "np.where(keep, target, 0)")
    assert "hard-coded 255" not in text


def test_hard_coded_255_is_still_named():
    def hard_coded(z, t, w, ignore_index=255):
        t = np.asarray(t)
        keep = t != 255
        tt = np.where(keep, t, 0)
        nll = -np.take_along_axis(_logp(z), tt[:, None], 1)[:, 0]
        ww = np.asarray(w, float)[tt]
        return float((ww * nll)[keep].sum() / ww[keep].sum())
    text = _fails(checks.check_weighted_cross_entropy, hard_coded, "hard-coded 255")
    assert "negative ignore label" not in text


def _ex5_unpaired(before, after, tolerance=0.01):   # review 01s13 P3: an exact permutation p that ignores the seeds
    import itertools
    seeds = [s for s in before if s in after]
    b, a = np.array([before[s] for s in seeds]), np.array([after[s] for s in seeds])
    d, values, n = a - b, np.concatenate([a, b]), len(seeds)
    hits = [abs(values[list(g)].mean() - np.delete(values, list(g)).mean()) >= abs(d.mean()) - 1e-12
            for g in itertools.combinations(range(2 * n), n)]
    return d.mean(), np.median(d), int((d > tolerance).sum()), bool((d > tolerance).all()), float(np.mean(hits))


def test_effect_summary_names_an_unpaired_p_and_a_key_error():
    text = _fails(checks.check_effect_summary, _ex5_unpaired, "UNPAIRED", "by seed")
    assert "random ones" not in text

    def every_seed(before, after, tolerance=0.01):        # a seed without its pair: KeyError
        d = np.array([after[s] - before[s] for s in before])
        return d.mean(), np.median(d), int((d > tolerance).sum()), bool((d > tolerance).all()), 1.0
    text = _fails(checks.check_effect_summary, every_seed, "KeyError", "skip it")
    assert "got None" not in text
