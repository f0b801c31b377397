"""A tiny, readable UNet, and the weights that ship with the course.

Read it top to bottom: a UNet is an encoder that halves the resolution and doubles the channels
``depth`` times, a decoder that undoes it, and *skip connections* that hand the encoder's
fine-grained features to the decoder at each resolution, so boundaries stay sharp.
"""

from __future__ import annotations

import hashlib
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._validate import check_int, check_model_input, check_plain_name, get_key

__all__ = ["TinyUNet", "count_parameters", "pretrained", "load_card", "WEIGHTS_DIR"]

WEIGHTS_DIR = Path(str(resources.files("segcourse") / "weights"))


def conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    """A 3x3 convolution, batch norm and ReLU: the unit every block is made of."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3x3 convolutions, each followed by batch norm and ReLU (an encoder step)."""
    return nn.Sequential(conv_bn_relu(c_in, c_out), conv_bn_relu(c_out, c_out))


class TinyUNet(nn.Module):
    """UNet with ``depth`` down/up steps and ``width`` channels at full resolution.

    Input ``(N, in_channels, H, W)`` with H and W divisible by ``2**depth``; output
    ``(N, num_classes, H, W)`` logits (apply softmax for probabilities, argmax for a label map).

    Encoder: two conv-BN-ReLU at each resolution, then 2x2 max-pooling (channels double).
    Decoder: a 2x2 transposed convolution doubles the resolution and halves the channels, the
    encoder's features at that resolution are **added** (the skip connection), and one conv-BN-ReLU
    mixes them. The original UNet *concatenates* the skip and convolves twice; adding and
    convolving once keeps the decoder at about a third of the parameters.

    >>> model = TinyUNet(in_channels=3, num_classes=5)
    >>> count_parameters(model)
    385813
    >>> model(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 5, 64, 64])

    The input must be a float tensor of the weights' dtype (float32 unless the model was
    converted, e.g. with ``model.double()``) with ``in_channels`` channels; a numpy array, another
    channel count or an integer/float64/bfloat16 tensor raises a message that says what to pass
    (under ``torch.autocast`` any float dtype is accepted).

    >>> model(torch.zeros(2, 64, 64, 3))
    Traceback (most recent call last):
    ...
    ValueError: x has 64 channel(s) (shape (2, 64, 64, 3)) but the model takes in_channels=3; it looks channel-last (N, H, W, C): use x.permute(0, 3, 1, 2)
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 2, width: int = 16, depth: int = 3) -> None:
        super().__init__()
        in_channels, num_classes, width, depth = (check_int(v, name, minimum=1) for name, v in (
            ("in_channels", in_channels), ("num_classes", num_classes), ("width", width), ("depth", depth)))
        self.config = dict(in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        self.depth = depth
        chans = [width * 2**i for i in range(depth + 1)]            # e.g. 16, 32, 64, 128
        self.down = nn.ModuleList([conv_block(in_channels, chans[0])])
        self.down.extend(conv_block(chans[i], chans[i + 1]) for i in range(depth))
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.ModuleList(nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth)))
        self.up = nn.ModuleList(conv_bn_relu(chans[i], chans[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_model_input(x, self.config["in_channels"], self.head.weight.dtype)
        h, w = x.shape[-2:]
        step = 2**self.depth
        if x.ndim != 4 or h % step or w % step:
            raise ValueError(
                f"TinyUNet(depth={self.depth}) needs input (N, C, H, W) with H and W divisible by "
                f"{step}; got shape {tuple(x.shape)}. Crop or pad the image to a multiple of {step}."
            )
        skips = []
        x = self.down[0](x)
        for block in self.down[1:]:          # encoder: keep each resolution's features
            skips.append(x)
            x = block(self.pool(x))
        for upsample, block in zip(self.upsample, self.up):  # decoder: upsample, add the skip, convolve
            x = block(upsample(x) + skips.pop())
        return self.head(x)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


_CARD_FIX = "reinstall segcourse (pip install --force-reinstall segcourse, or git checkout the file)"


def load_card(name: str) -> dict[str, Any]:
    """The JSON model card of a shipped model (training data, seed, device, held-out scores).

    A card that is not valid JSON, not a JSON object, or lacks ``"weights"`` (a file name) or
    ``"model"`` (the ``TinyUNet`` arguments, positive integers) raises a ``ValueError`` that names
    the card's file and says to reinstall.

    >>> load_card("roads")["model"]["num_classes"]
    5
    >>> load_card("nope")
    Traceback (most recent call last):
    ...
    ValueError: no shipped model named 'nope'; available: ['cells', 'clicks', 'roads']
    """
    check_plain_name(name, "name")
    path = WEIGHTS_DIR / f"{name}.json"
    if not path.exists():
        available = sorted(p.stem for p in WEIGHTS_DIR.glob("*.json"))
        raise ValueError(f"no shipped model named {name!r}; available: {available}")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"the model card {path} is corrupted (not valid JSON: {exc}); {_CARD_FIX}") from None
    hint = f"the model card {path} is damaged; {_CARD_FIX}"
    if not isinstance(card, dict):
        raise ValueError(f"the model card {path} holds a JSON {type(card).__name__}, not an object; {_CARD_FIX}")
    weights = get_key(card, "weights", f"the model card {path.name}", hint)
    if not isinstance(weights, str):
        raise ValueError(f"the model card {path} has 'weights': {weights!r}, expected a file name; {_CARD_FIX}")
    check_plain_name(weights, f"'weights' in the model card {path}")
    cfg = get_key(card, "model", f"the model card {path.name}", hint)
    if not isinstance(cfg, dict):
        raise ValueError(f"the model card {path} has 'model': {cfg!r}, expected the TinyUNet arguments "
                         f"(a JSON object); {_CARD_FIX}")
    allowed = ("in_channels", "num_classes", "width", "depth")
    for key, value in cfg.items():
        if key not in allowed:
            raise ValueError(f"the model card {path} has an unknown model argument {key!r} (allowed: "
                             f"{list(allowed)}); {_CARD_FIX}")
        try:
            check_int(value, f"'model'['{key}'] in the model card {path}", minimum=1)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{exc}; {_CARD_FIX}") from None
    return card


def pretrained(name: str = "roads", map_location: str | torch.device = "cpu") -> TinyUNet:
    """Load a model whose weights ship inside the package (no download), in eval mode.

    The card travels with it as ``model.card``. Before loading, the file's sha256 is compared
    with the card's ``"sha256"`` field, and after loading every parameter must be finite: a
    corrupted, truncated, replaced or NaN-filled file raises a ``ValueError`` that names the file
    and says what to do (reinstall segcourse, or retrain with ``python -m segcourse.train``).

    >>> model = pretrained("roads")
    >>> model.card["dataset"]["name"], model.training
    ('road_scenes', False)
    """
    card = load_card(name)
    path = WEIGHTS_DIR / card["weights"]
    model = TinyUNet(**card["model"])
    fix = _CARD_FIX
    if not path.exists():
        raise ValueError(f"the weights file {path} of model {name!r} is missing; {fix}")
    want = card.get("sha256")
    if not isinstance(want, str) or len(want) != 64:
        raise ValueError(f"the card {name}.json has no valid 'sha256' of {path.name}; the file cannot be "
                         f"verified. {fix}, or retrain it with python -m segcourse.train")
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if got != want:
        raise ValueError(f"the weights file {path} of model {name!r} is corrupted or was replaced: its sha256 is "
                         f"{got[:12]}..., the card says {want[:12]}...; {fix}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"the weights file {path.name} of model {name!r} is missing; reinstall segcourse") from None
    except Exception as exc:  # pickle errors, truncated zip, ...
        raise ValueError(f"the weights file {path.name} of model {name!r} is corrupted or not a torch state dict ({exc})") from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ValueError(f"the weights in {path.name} do not fit TinyUNet{card['model']} ({str(exc).splitlines()[0]})") from None
    bad = [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"the weights file {path} of model {name!r} holds NaN or infinite values (in {bad[0]}); {fix}")
    model.card = card
    return model.eval()
