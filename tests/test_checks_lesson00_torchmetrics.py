"""Lesson 00's checks of exercises 1 to 4 refuse torchmetrics (review 00s8c #5), whose functions give the right numbers."""

import numpy as np
import pytest

from segcourse import checks

torch = pytest.importorskip("torch")
F = pytest.importorskip("torchmetrics.functional.classification")


def _dice_tm(pred, target):           # binary F1 is Dice; NaN when both masks are empty
    p, t = torch.as_tensor(np.asarray(pred) != 0), torch.as_tensor(np.asarray(target) != 0)
    return np.array([F.binary_f1_score(a.flatten().int(), b.flatten().int()).item() if (a | b).any() else np.nan
                     for a, b in zip(p, t)])


def _iou_tm(logits, target, threshold):
    prob = torch.sigmoid(torch.as_tensor(np.asarray(logits, float)))
    t = torch.as_tensor(np.asarray(target) != 0).int()
    if not ((prob > threshold) | (t != 0)).any():
        return float("nan")                 # two empty masks
    # torchmetrics thresholds with >=, the check's tie case wants >: nudge the threshold up
    return F.binary_jaccard_index(prob.flatten(), t.flatten(), threshold=float(np.nextafter(threshold, 1))).item()


def _cm_tm(scores, target):
    s = torch.as_tensor(np.asarray(scores, float))
    k = s.shape[1]
    return F.multiclass_confusion_matrix(s.argmax(1).flatten(), torch.as_tensor(np.asarray(target)).long().flatten(),
                                         num_classes=k).numpy()


def _miou_tm(pred, target, num_classes):
    from torchmetrics.functional.segmentation import mean_iou
    p, t = torch.as_tensor(np.asarray(pred)).long(), torch.as_tensor(np.asarray(target)).long()
    per_image = mean_iou(p, t, num_classes=num_classes, input_format="index", per_class=True)
    present = np.stack([[((a == c) | (b == c)).any().item() for c in range(num_classes)] for a, b in zip(p, t)])
    return float(np.mean([row[keep].mean() for row, keep in zip(per_image.numpy(), present)]))


@pytest.mark.parametrize("check, answer, what", [
    (checks.check_dice_per_image, _dice_tm, "dice_per_image"),
    (checks.check_iou_at_threshold, _iou_tm, "iou_at_threshold"),
    (checks.check_confusion_from_scores, _cm_tm, "confusion_from_scores"),
    (checks.check_image_mean_iou, _miou_tm, "image_mean_iou"),
])
def test_torchmetrics_refused(check, answer, what):
    with pytest.raises(AssertionError) as info:
        check(answer)
    text = " ".join(str(info.value).split())
    assert f"your {what} calls torchmetrics" in text and "write it yourself" in text, text
    assert all(len(line) <= checks.HINT_WIDTH for line in str(info.value).splitlines()), str(info.value)
