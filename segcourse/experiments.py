"""The experiments behind lesson 01's tables: too slow for a lesson, so they ship as JSON.

A lesson must run on a laptop CPU in under a minute, but a claim like "the Dice term is what
lifts the lane markings" needs several seeds and every combination of the remedies. These runs
take minutes, so they are computed once with a documented command and their results ship inside
the package (``segcourse/results/*.json``) together with that command, the seeds, the torch
version and the device. The lesson prints the table from the JSON *and* re-runs one row live to
show that it reproduces; ``tests/test_experiments.py`` does the same.

``python -m segcourse.experiments ablation``
    cross-entropy (CE), CE + class weights, CE + Dice, CE + Dice + class weights, five seeds each,
    with the short recipe lesson 01 trains live (width 8, 70 steps): 20 runs of about 7 s each on
    2 CPU threads (an idle machine); ``--jobs 8`` ran them in 31 s on a 16-core CPU.
``python -m segcourse.experiments shift``
    the shipped model's recipe (width 16, 3,000 scenes, 4 epochs) retrained without and with
    photometric augmentation (colour jitter + brightness, and with pixel noise added), three
    seeds each, scored on clean and on shifted test scenes: 9 runs of 60-80 s each on 2 CPU
    threads; ``--jobs 9`` ran them in 94 s on a 16-core CPU.

Every run is seeded and trains on the CPU, so the same torch version on the same kind of CPU
gives the same numbers; another torch version or CPU moves them in the last digits (the shipped
first row, re-run with torch 2.13 on another CPU: mIoU 0.6215 against 0.6217).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import os
import re
import platform
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from . import data as sdata
from .models import TinyUNet
from .train import CLASS_WEIGHTS, evaluate, fit

__all__ = ["ABLATION", "LOSSES", "SHIFT", "AUGMENTATIONS", "ablation_run", "shift_run", "jittered", "load", "summarise",
           "recorded_run", "recorded_or_run", "RECORD_ENV"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RUNS_DIR = RESULTS_DIR / "runs"
# set to "1" in the kernel that builds a lesson (``python tools/course.py build NN --record``): every
# ``recorded_run`` call then saves the live run it is given before loading it back
RECORD_ENV = "SEGCOURSE_RECORD_RUNS"
_RUN_NAME = re.compile(r"^[0-9]{2}_[a-z0-9_]+$")

# the short recipe lesson 01 trains live: data, model size and budget
ABLATION: dict[str, Any] = dict(n_train=1500, train_seed=1000, n_val=64, val_seed=2000, n_test=200, test_seed=4242,
                                width=8, max_steps=70, epochs=2, lr=1e-2, batch_size=32, eval_every=10)
# the four loss settings, one remedy at a time and both together (class weights: lane and car x5)
LOSSES: dict[str, dict[str, Any]] = {
    "CE": dict(loss="ce"),
    "CE + weights": dict(loss="ce", class_weights=(1, 1, 1, 5, 5)),
    "CE + Dice": dict(loss="ce+dice"),
    "CE + Dice + weights": dict(loss="ce+dice", class_weights=(1, 1, 1, 5, 5)),
}

# the shipped model's recipe, and the shifted camera of lesson 01 §7
SHIFT: dict[str, Any] = dict(n_train=3000, train_base_seed=1000, n_val=200, val_base_seed=2000, n_test=200, test_seed=4242,
                             width=16, epochs=4, lr=1e-2, batch_size=32,
                             shift={"sidewalk_gap": 0.03, "noise": 0.06, "lighting": 0.3})
# photometric augmentation, image only (segcourse.data.augment); geometry is left to fit's flips
AUGMENTATIONS: dict[str, dict[str, float] | None] = {
    "none": None,
    "colour jitter + brightness": dict(color_jitter=0.1, brightness=0.3),
    "colour jitter + brightness + noise": dict(color_jitter=0.1, brightness=0.3, noise=0.06),
}


def _cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _env(threads: int) -> dict[str, Any]:
    return {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(), "device": "cpu",
            "device_name": f"CPU ({_cpu_name()}, {threads} threads per run)", "threads": threads}


def ablation_run(config: str, seed: int, train_set: sdata.SegData | None = None, val_set: sdata.SegData | None = None,
                 test_set: sdata.SegData | None = None) -> dict[str, Any]:
    """Train the short recipe with one loss setting of :data:`LOSSES` and score it on the test scenes.

    Pass the data sets if you already made them (they must be the ones :data:`ABLATION` names);
    the seed fixes the initial weights and the batch order. Returns ``model``, ``history`` (from
    ``fit``), ``test`` (from ``evaluate``) and the row stored in the JSON (``row``).

    >>> sorted(LOSSES)
    ['CE', 'CE + Dice', 'CE + Dice + weights', 'CE + weights']
    """
    if config not in LOSSES:
        raise ValueError(f"config must be one of {sorted(LOSSES)}, got {config!r}")
    a = ABLATION
    train_set = train_set if train_set is not None else sdata.road_scenes(a["n_train"], seed=a["train_seed"])
    val_set = val_set if val_set is not None else sdata.road_scenes(a["n_val"], seed=a["val_seed"])
    test_set = test_set if test_set is not None else sdata.road_scenes(a["n_test"], seed=a["test_seed"])
    torch.manual_seed(seed)
    model = TinyUNet(3, 5, width=a["width"])
    hist = fit(model, train_set, val_set, epochs=a["epochs"], lr=a["lr"], batch_size=a["batch_size"], device="cpu",
               seed=seed, max_steps=a["max_steps"], eval_every=a["eval_every"], progress=False, **LOSSES[config])
    res = evaluate(model, test_set, device="cpu")
    row = {"config": config, "seed": seed, "miou": round(res["miou"], 4),
           "per_class_iou": np.round(res["per_class_iou"], 4).tolist(), "images_seen": hist["images_seen"],
           "train_seconds": round(hist["train_seconds"], 1)}
    return {"model": model, "history": hist, "test": res, "row": row}


def jittered(d: sdata.SegData, copies: int, seed: int, **options: float) -> sdata.SegData:
    """``copies`` photometrically augmented copies of every image (labels repeated), one fresh draw each.

    Training one epoch on 4 copies sees every scene 4 times with a different colour, brightness
    and noise each time, as 4 epochs with on-the-fly augmentation would.

    >>> d = sdata.road_scenes(2, seed=0)
    >>> j = jittered(d, 3, seed=0, brightness=0.3)
    >>> j.images.shape, bool((j.labels[2:4] == d.labels).all()), bool((j.images[:2] != d.images).any())
    ((6, 64, 64, 3), True, True)
    """
    rng = np.random.default_rng(seed)
    images = np.concatenate([d.images] * copies)
    labels = np.concatenate([d.labels] * copies)
    if options:
        images = np.stack([sdata.augment(img, lm, rng, hflip=False, crop_scale=None, **{"color_jitter": 0.0, **options})[0]
                           for img, lm in zip(images, labels)])
    return sdata.SegData(images, labels, d.class_names, d.palette, params={**d.params, "copies": copies, **options})


def shift_run(augmentation: str, seed: int) -> dict[str, Any]:
    """Retrain the shipped recipe with one setting of :data:`AUGMENTATIONS`; score on clean and shifted scenes."""
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"augmentation must be one of {sorted(AUGMENTATIONS)}, got {augmentation!r}")
    s = SHIFT
    base = sdata.road_scenes(s["n_train"], seed=s["train_base_seed"] + seed)
    train_set = jittered(base, s["epochs"], seed=seed, **(AUGMENTATIONS[augmentation] or {}))
    val_set = sdata.road_scenes(s["n_val"], seed=s["val_base_seed"] + seed)
    torch.manual_seed(seed)
    model = TinyUNet(3, 5, width=s["width"])
    steps = s["epochs"] * (s["n_train"] // s["batch_size"])  # the same number of steps as 4 epochs of 3,000
    hist = fit(model, train_set, val_set, epochs=1, lr=s["lr"], batch_size=s["batch_size"], device="cpu", seed=seed,
               max_steps=steps, eval_every=steps, progress=False, class_weights=CLASS_WEIGHTS["roads"])
    row = {"augmentation": augmentation, "seed": seed, "images_seen": hist["images_seen"],
           "train_seconds": round(hist["train_seconds"], 1)}
    for split, knobs in [("clean", {}), ("shifted", s["shift"])]:
        res = evaluate(model, sdata.road_scenes(s["n_test"], seed=s["test_seed"], **knobs), device="cpu")
        row[split] = {"miou": round(res["miou"], 4), "per_class_iou": np.round(res["per_class_iou"], 4).tolist()}
    return {"model": model, "history": hist, "row": row}


def load(name: str) -> dict[str, Any]:
    """The shipped results of one experiment (``"ablation"`` or ``"shift"``).

    >>> res = load("ablation")
    >>> sorted(res)[:3], res["class_names"][3]
    (['class_names', 'command', 'configs'], 'lane marking')
    """
    path = RESULTS_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"no shipped results named {name!r}; expected one of {sorted(p.stem for p in RESULTS_DIR.glob('*.json'))}")
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------------ recorded runs
def _to_json(obj: Any) -> Any:
    """History values as JSON: arrays keep their dtype, numpy scalars become Python numbers."""
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, torch.Tensor):
        return _to_json(obj.detach().cpu().numpy())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, dict):
        return {str(k): _to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"history holds a {type(obj).__name__}, which a recorded run cannot store; "
                    "expected numbers, strings, lists, dicts and numpy arrays")


def _from_json(obj: dict[str, Any]) -> Any:
    if set(obj) == {"__ndarray__", "dtype"}:
        return np.array(obj["__ndarray__"], dtype=obj["dtype"])
    return obj


def _run_paths(name: str, directory: Path | None) -> tuple[Path, Path]:
    if not isinstance(name, str) or not _RUN_NAME.match(name):
        raise ValueError(f"name must look like '01_short_ce' (the lesson's number, then lower-case words), got {name!r}")
    folder = Path(directory) if directory is not None else RUNS_DIR
    return folder / f"{name}.json", folder / f"{name}.pt"


def _record(name: str, model: torch.nn.Module | None, history: Any, directory: Path | None) -> None:
    card_path, weights_path = _run_paths(name, directory)
    card_path.parent.mkdir(parents=True, exist_ok=True)
    card: dict[str, Any] = {
        "name": name,
        "recorded": datetime.date.today().isoformat(),
        "command": f"python tools/course.py build {name[:2]} --record",
        "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "cpu": _cpu_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "history": _to_json(history),
    }
    if model is not None:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        tmp = weights_path.with_suffix(".pt.tmp")
        torch.save(state, tmp)
        os.replace(tmp, weights_path)
        card["weights"] = weights_path.name
        card["sha256"] = hashlib.sha256(weights_path.read_bytes()).hexdigest()
    elif weights_path.exists():
        weights_path.unlink()
    tmp = card_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=1) + "\n")
    os.replace(tmp, card_path)


def recorded_run(name: str, model: torch.nn.Module | None = None, history: Any = None,
                 directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """The run ``name`` as it was recorded when the course was built: the same numbers on every CPU.

    A lesson trains its models live, but training is chaotic: the last bits of a float32 sum
    depend on the CPU's vector instructions (and even ``torch.nn.init`` rounds differently with
    and without FMA), and a few dozen optimiser steps grow those bits into the third decimal. So
    what a lesson's prose reads comes from a run trained once, by the lesson's own code, and
    shipped in ``segcourse/results/runs/`` (``NAME.json``: card and history; ``NAME.pt``: weights,
    checked against the card's sha256). The learner's live run is printed beside it.

    Parameters
    ----------
    name : ``"NN_words"``, e.g. ``"01_short_ce"``.
    model : the live model. Its recorded weights are loaded into a copy of it (the live model is
        left as it is); pass ``None`` for a run whose history is all the lesson reads.
    history : the live history (any mix of dicts, lists, numbers and numpy arrays).
    directory : where the runs lie (default: the package's ``results/runs``).

    When the environment variable ``SEGCOURSE_RECORD_RUNS`` is ``"1"`` (``python tools/course.py
    build NN --record``), ``model`` and ``history`` are first saved under ``name``.

    Returns
    -------
    dict with ``model`` (a copy of ``model`` holding the recorded weights, in eval mode, or
    ``None``), ``history`` and ``card`` (torch version, CPU and command of the recording).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.environ[RECORD_ENV] = "1"
    >>> run = recorded_run("09_demo", TinyUNet(3, 2, width=4), {"miou": np.array([0.5, 0.75])}, folder)
    >>> del os.environ[RECORD_ENV]
    >>> run = recorded_run("09_demo", TinyUNet(3, 2, width=4), directory=folder)
    >>> run["history"]["miou"], run["card"]["command"], run["model"].training
    (array([0.5 , 0.75]), 'python tools/course.py build 09 --record', False)
    """
    card_path, weights_path = _run_paths(name, directory)
    if model is not None and not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch module (the live model) or None, got {type(model).__name__}")
    if os.environ.get(RECORD_ENV) == "1":
        _record(name, model, history, card_path.parent)
    if not card_path.is_file():
        raise ValueError(f"no recorded run named {name!r} in {card_path.parent}; record it with "
                         f"`python tools/course.py build {name[:2]} --record`")
    try:
        card = json.loads(card_path.read_text(), object_hook=_from_json)
        history_out = card.pop("history")
    except (json.JSONDecodeError, KeyError) as err:
        raise ValueError(f"the recorded run {card_path} is corrupted ({err}); record it again") from None
    out: dict[str, Any] = {"model": None, "history": history_out, "card": card}
    if model is not None:
        if "weights" not in card:
            raise ValueError(f"the recorded run {name!r} has no weights (it was recorded with model=None)")
        got = hashlib.sha256(weights_path.read_bytes()).hexdigest() if weights_path.is_file() else "missing"
        if got != card.get("sha256"):
            raise ValueError(f"the weights {weights_path} of the recorded run {name!r} are missing or were replaced: "
                             f"sha256 {got}, the card says {card.get('sha256')}")
        twin = copy.deepcopy(model)
        twin.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        out["model"] = twin.eval()
    return out


def summarise(rows: Sequence[dict[str, Any]], key: str, value: Any = None) -> dict[str, dict[str, float]]:
    """Mean, standard deviation (n - 1), min and max over seeds of mIoU and each class's IoU.

    ``rows`` are the JSON rows; ``key`` names the setting they are grouped by (``"config"`` or
    ``"augmentation"``); ``value`` picks a sub-dict (``"shifted"``) when scores are nested.

    >>> rows = [{"config": "CE", "miou": 0.5, "per_class_iou": [1, 0]}, {"config": "CE", "miou": 0.7, "per_class_iou": [1, 0.4]}]
    >>> s = summarise(rows, "config")["CE"]
    >>> round(s["miou"]["mean"], 3), round(s["miou"]["std"], 3), s["per_class_iou"]["max"]
    (0.6, 0.141, [1.0, 0.4])
    """
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r[key] for r in rows):
        group = [r if value is None else r[value] for r in rows if r[key] == name]
        m = np.array([g["miou"] for g in group], float)
        pc = np.array([g["per_class_iou"] for g in group], float)
        stats = lambda v: {"mean": v.mean(0), "std": v.std(0, ddof=1) if len(v) > 1 else 0 * v.mean(0),  # noqa: E731
                           "min": v.min(0), "max": v.max(0)}
        out[name] = {"n": len(group), "miou": {k: float(x) for k, x in stats(m).items()},
                     "per_class_iou": {k: np.round(x, 4).tolist() for k, x in stats(pc).items()}}
    return out


_SETS: dict[str, sdata.SegData] = {}


def _task(task: tuple[str, str, int, int]) -> dict[str, Any]:
    """One run of ``main`` (also in a worker process): returns its JSON row and prints it."""
    experiment, setting, seed, threads = task
    torch.set_num_threads(threads)
    if experiment == "ablation":
        if not _SETS:  # the data of the short recipe, made once per process
            _SETS.update({k: sdata.road_scenes(ABLATION[f"n_{k}"], seed=ABLATION[f"{k}_seed"]) for k in ("train", "val", "test")})
        row = ablation_run(setting, seed, _SETS["train"], _SETS["val"], _SETS["test"])["row"]
    else:
        row = shift_run(setting, seed)["row"]
    print(json.dumps(row), flush=True)
    return row


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m segcourse.experiments", description=__doc__.split("\n\n")[0])
    p.add_argument("experiment", choices=["ablation", "shift"])
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 1 2 3 4 (ablation), 0 1 2 (shift)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads per run (the lessons use 2)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel processes (each with --threads threads)")
    p.add_argument("--out", type=Path, default=None, help="JSON file to write (default: the package's results/)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    seeds = a.seeds if a.seeds is not None else ([0, 1, 2, 3, 4] if a.experiment == "ablation" else [0, 1, 2])
    start = time.perf_counter()
    if a.experiment == "ablation":
        tasks = [(a.experiment, config, seed, a.threads) for config in LOSSES for seed in seeds]
        setup = {"recipe": ABLATION, "configs": {k: {kk: list(v) if isinstance(v, tuple) else v for kk, v in kw.items()}
                                                   for k, kw in LOSSES.items()}}
    else:
        tasks = [(a.experiment, aug, seed, a.threads) for aug in AUGMENTATIONS for seed in seeds]
        setup = {"recipe": {**SHIFT, "class_weights": list(CLASS_WEIGHTS["roads"])}, "configs": AUGMENTATIONS}
    if a.jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(a.jobs) as pool:
            rows = pool.map(_task, tasks, chunksize=1)
    else:
        rows = [_task(t) for t in tasks]
    args = list(argv) if argv is not None else __import__("sys").argv[1:]
    if "--out" in args:  # where the JSON was written is no part of how it was made
        del args[args.index("--out"):args.index("--out") + 2]
    argv_text = " ".join(args)
    result = {"experiment": a.experiment, "command": f"python -m segcourse.experiments {argv_text}".strip(),
              "seeds": seeds, **setup, "class_names": list(sdata.ROAD_CLASSES), **_env(a.threads),
              "wall_seconds": round(time.perf_counter() - start, 1), "rows": rows}
    result["jobs"] = a.jobs
    out = a.out or RESULTS_DIR / f"{a.experiment}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} in {result['wall_seconds']:.0f} s")


def recorded_or_run(name: str, fn: Callable[[], Any], directory: str | os.PathLike | None = None) -> Any:
    """The history of the recorded run ``name``; ``fn()`` trains it only when the course is built.

    A run too slow for the lesson's minute is trained only by ``python tools/course.py build NN
    --record`` (environment variable ``SEGCOURSE_RECORD_RUNS`` set to ``"1"``): then ``fn()`` is
    called and its result saved under ``name``. Otherwise ``fn`` is not called and the shipped
    history is returned. Same as ``recorded_run(name, history=fn() if recording else None)["history"]``.

    Parameters
    ----------
    name : ``"NN_words"``, e.g. ``"02_batch_size"``.
    fn : a function of no arguments that trains the run and returns its history.
    directory : where the runs lie (default: the package's ``results/runs``).

    Returns
    -------
    The recorded history.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.environ[RECORD_ENV] = "1"
    >>> recorded_or_run("09_slow", lambda: {"miou": 0.5}, folder)
    {'miou': 0.5}
    >>> del os.environ[RECORD_ENV]
    >>> recorded_or_run("09_slow", lambda: 1 / 0, folder)      # not called: the recorded history
    {'miou': 0.5}
    """
    live = fn() if os.environ.get(RECORD_ENV) == "1" else None
    return recorded_run(name, history=live, directory=directory)["history"]



def recorded_seeds(name: str, run_one: Any, seeds: Sequence[int] = (1, 2, 3, 4),
                   directory: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """One arm of a lesson's experiment over several seeds, as recorded when the course was built.

    Training is chaotic (see :func:`recorded_run`), and several seeds of several arms are too slow for
    a lesson's live run, so the seeds are trained only by ``python tools/course.py build NN --record``
    and read back otherwise.

    Parameters
    ----------
    name : the run's name, ``"NN_words"`` (as for :func:`recorded_run`).
    run_one : ``run_one(seed)`` -> dict of plain numbers and lists: trains and scores one copy. It is
        called, once per seed, only when the environment variable ``SEGCOURSE_RECORD_RUNS`` is ``"1"``.
    seeds : the seeds to train.
    directory : where the runs lie (default: the package's ``results/runs``).

    Returns
    -------
    list of dicts, one per seed: ``{"seed": seed}`` and what ``run_one`` returned, as recorded.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.environ[RECORD_ENV] = "1"
    >>> recorded_seeds("09_demo_seeds", lambda s: {"failing": 10 * s}, seeds=(1, 2), directory=folder)
    [{'seed': 1, 'failing': 10}, {'seed': 2, 'failing': 20}]
    >>> del os.environ[RECORD_ENV]
    >>> recorded_seeds("09_demo_seeds", lambda s: 1 / 0, directory=folder)     # not trained: read back
    [{'seed': 1, 'failing': 10}, {'seed': 2, 'failing': 20}]
    """
    live = [{"seed": seed} | dict(run_one(seed)) for seed in seeds] if os.environ.get(RECORD_ENV) == "1" else None
    return recorded_run(name, history=live, directory=directory)["history"]


__all__ += ["recorded_seeds"]


def recorded_arms(runs: dict[str, str], train_arm: Callable[[str], Any], live: dict[str, Any] | None = None,
                  directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """Every arm of a lesson's experiment, as recorded when the course was built (one call, no plumbing).

    Each arm is read with :func:`recorded_run`. Only when the course is built with ``--record``
    (environment variable ``SEGCOURSE_RECORD_RUNS`` is ``"1"``) is an arm trained first: its
    history is ``live[arm]`` if the lesson already trained it live, else ``train_arm(arm)``.

    Parameters
    ----------
    runs : arm name -> recorded run name (``"NN_words"``).
    train_arm : ``train_arm(arm)`` -> the arm's history; called only when recording.
    live : histories the lesson trained live, by arm name (recorded as they are).
    directory : where the runs lie (default: the package's ``results/runs``).

    Returns
    -------
    dict: arm name -> its recorded history.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.environ[RECORD_ENV] = "1"
    >>> recorded_arms({"a": "09_arm_a", "b": "09_arm_b"}, lambda arm: {"miou": 0.5}, {"b": {"miou": 0.75}}, folder)
    {'a': {'miou': 0.5}, 'b': {'miou': 0.75}}
    >>> del os.environ[RECORD_ENV]
    >>> recorded_arms({"a": "09_arm_a", "b": "09_arm_b"}, lambda arm: 1 / 0, directory=folder)   # read back
    {'a': {'miou': 0.5}, 'b': {'miou': 0.75}}
    """
    recording = os.environ.get(RECORD_ENV) == "1"
    live = live or {}
    out = {}
    for arm, run in runs.items():
        history = (live[arm] if arm in live else train_arm(arm)) if recording else None
        out[arm] = recorded_run(run, history=history, directory=directory)["history"]
    return out


__all__ += ["recorded_arms"]


def train_or_load(name: str, model: torch.nn.Module, fit: Callable[[torch.nn.Module], Any], live: bool = True,
                  directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """Train ``model`` live (if ``live``) and return the run ``name`` as recorded, with the live history beside it.

    The switch a lesson's training cell would otherwise show: ``fit(model)`` trains the live model
    when ``live`` is true or the course is being recorded (``SEGCOURSE_RECORD_RUNS`` is ``"1"``);
    then :func:`recorded_run` saves (when recording) and loads the recorded weights and history.

    Parameters
    ----------
    name : the recorded run, ``"NN_words"``.
    model : the live model; ``fit`` trains it in place.
    fit : ``fit(model)`` -> the training history.
    live : train it now (False: only when recording, e.g. a second run the lesson only reads).
    directory : where the runs lie (default: the package's ``results/runs``).

    Returns
    -------
    dict: :func:`recorded_run`'s ``model``, ``history`` and ``card``, plus ``live_history``
    (``fit``'s result, or ``None`` when it was not trained).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.environ[RECORD_ENV] = "1"
    >>> run = train_or_load("09_demo_fit", TinyUNet(3, 2, width=4), lambda m: {"steps": 3}, False, folder)
    >>> del os.environ[RECORD_ENV]
    >>> run = train_or_load("09_demo_fit", TinyUNet(3, 2, width=4), lambda m: 1 / 0, False, folder)
    >>> run["history"], run["live_history"]                  # not trained: the recorded run only
    ({'steps': 3}, None)
    """
    trained = fit(model) if live or os.environ.get(RECORD_ENV) == "1" else None
    out = recorded_run(name, model, trained, directory)
    out["live_history"] = trained
    return out


__all__ += ["train_or_load"]


def keep_copies(store: dict, key: Any = None) -> Callable[[int, torch.nn.Module], None]:
    """A training callback that keeps a copy of the model at every evaluation.

    ``callback(step, model)`` of a training loop (``train.fit``, lesson 02's ``train_loop``) hands over
    the live model, which goes on training; this callback stores a deep copy, so the checkpoint stays
    as it was at that step.

    Parameters
    ----------
    store : the dict the copies go into: ``store[step]``, or ``store[key, step]`` when ``key`` is given.
    key : a label for the run (e.g. the loss's name), to keep several runs' copies in one dict.

    Returns
    -------
    callable ``(step, model) -> None``.

    Examples
    --------
    >>> kept = {}
    >>> net = torch.nn.Linear(1, 1)
    >>> callback = keep_copies(kept, "ce")
    >>> callback(40, net)
    >>> with torch.no_grad():
    ...     _ = net.weight.add_(1.0)                       # the live model moves on
    >>> sorted(kept), kept["ce", 40] is net, bool(kept["ce", 40].weight != net.weight)
    ([('ce', 40)], False, True)
    """
    if not isinstance(store, dict):
        raise TypeError(f"store must be a dict to keep the copies in, got {type(store).__name__}")

    def callback(step: int, model: torch.nn.Module) -> None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch module, got {type(model).__name__}")
        store[step if key is None else (key, step)] = copy.deepcopy(model)

    return callback


def recorded_label_maps(name: str, predict: Callable[[], dict[str, Any]], shape: tuple[int, int],
                        directory: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Label maps as recorded when the course was built, e.g. several checkpoints' predictions of one scene.

    ``predict()`` (called only by ``python tools/course.py build NN --record``, like
    :func:`recorded_or_run`) returns label maps of class ids 0 to 9; each is stored as one string
    of digits (a 32×32 map: 1,024 characters, a small record), and read back as an integer array.

    Parameters
    ----------
    name : the recorded run, ``"NN_words"``.
    predict : ``predict()`` -> dict of label maps (numpy arrays or tensors of ``shape``, ids 0 to 9).
    shape : (height, width) of every map.
    directory : where the runs lie (default: the package's ``results/runs``).

    Returns
    -------
    dict: the same keys -> (height, width) int arrays, as recorded.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.environ[RECORD_ENV] = "1"
    >>> maps = recorded_label_maps("09_maps", lambda: {"ce 40": np.array([[0, 3], [4, 1]])}, (2, 2), folder)
    >>> del os.environ[RECORD_ENV]
    >>> recorded_label_maps("09_maps", lambda: 1 / 0, (2, 2), folder)["ce 40"]      # read back, not predicted
    array([[0, 3],
           [4, 1]])
    """
    if len(tuple(shape)) != 2 or not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
        raise ValueError(f"shape must be (height, width), two positive integers, got {shape!r}")

    def as_digits() -> dict[str, str]:
        out = {}
        for key, labels in predict().items():
            labels = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels)
            if labels.shape != tuple(shape) or labels.min() < 0 or labels.max() > 9:
                raise ValueError(f"label map {key!r} must be {tuple(shape)} with class ids 0 to 9, got shape "
                                 f"{labels.shape}, ids {labels.min()} to {labels.max()}")
            out[str(key)] = "".join(map(str, labels.astype(int).ravel()))
        return out

    digits = recorded_or_run(name, as_digits, directory)
    return {key: np.array(list(d), int).reshape(shape) for key, d in digits.items()}


__all__ += ["keep_copies", "recorded_label_maps"]


def arms_over_recorded_seeds(fine_tune: Callable[..., dict[str, Any]], runs: dict[str, tuple[str, str]],
                             live: dict[str, Any] | None = None, seeds: Sequence[int] = (1, 2, 3, 4),
                             fail_below: float = 0.9, directory: str | os.PathLike | None = None
                             ) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """Every arm of a retrain experiment, seed 0 in full and the failing count of every seed, as recorded.

    One call for what :func:`recorded_arms` and :func:`recorded_seeds` do together: seed 0 of each arm
    is read (or, when recording, trained) in full; the other seeds only keep their scores. Nothing is
    trained unless the course is built with ``--record`` (``SEGCOURSE_RECORD_RUNS`` is ``"1"``).

    Parameters
    ----------
    fine_tune : ``fine_tune(arm, seed)`` -> dict with ``"miou"``, ``"per_class_iou"`` and
        ``"per_sample_miou"``; called only when recording (``fine_tune(arm)`` for seed 0).
    runs : arm name -> (its seed-0 run, its other seeds' run), both ``"NN_words"``.
    live : seed-0 results the lesson trained live, by arm name (recorded as they are).
    seeds : the seeds after seed 0.
    fail_below : a sample fails when its mIoU is below this.
    directory : where the runs lie (default: the package's ``results/runs``).

    Returns
    -------
    (retrained, by_seed): arm name -> its seed-0 result; arm name -> failing samples per seed, seed 0 first.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> def tune(arm, seed=0):
    ...     return {"miou": 0.9, "per_class_iou": [0.9], "per_sample_miou": [0.5, 0.8 + 0.1 * seed]}
    >>> os.environ[RECORD_ENV] = "1"
    >>> _, by_seed = arms_over_recorded_seeds(tune, {"a": ("09_a", "09_a_seeds")}, seeds=(1, 2), directory=folder)
    >>> del os.environ[RECORD_ENV]
    >>> by_seed
    {'a': [2, 1, 1]}
    >>> arms_over_recorded_seeds(lambda arm, seed=0: 1 / 0, {"a": ("09_a", "09_a_seeds")}, directory=folder)[1]
    {'a': [2, 1, 1]}
    """
    if not isinstance(runs, dict) or not runs:
        raise TypeError(f"runs must be a non-empty dict arm -> (run, seeds run), got {runs!r}")
    for arm, pair in runs.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(n, str) for n in pair)):
            raise ValueError(f"runs[{arm!r}] must be a pair of run names (seed 0, other seeds), got {pair!r}")
    if not 0 < fail_below <= 1:
        raise ValueError(f"fail_below must lie in (0, 1], got {fail_below!r}")

    def failing(result: dict[str, Any]) -> int:
        return int((np.asarray(result["per_sample_miou"]) < fail_below).sum())

    retrained = recorded_arms({arm: pair[0] for arm, pair in runs.items()}, fine_tune, live, directory)
    by_seed = {}
    for arm, (_, seeds_run) in runs.items():
        def one_seed(seed: int, arm: str = arm) -> dict[str, Any]:
            r = fine_tune(arm, seed)
            return {"miou": round(float(r["miou"]), 4), "failing": failing(r),
                    "per_class_iou": [round(float(v), 4) for v in r["per_class_iou"]]}
        rows = recorded_seeds(seeds_run, one_seed, seeds, directory)
        by_seed[arm] = [failing(retrained[arm])] + [int(r["failing"]) for r in rows]
    return retrained, by_seed


__all__ += ["arms_over_recorded_seeds"]


def scoring_clicks(pool: int, rounds: int, per_round: int) -> dict[str, Any]:
    """The clicks uncertainty sampling spends scoring its unlabelled pool (lesson 06, §9).

    Before each round every object still unlabelled gets one click, to score it; the ``per_round``
    objects chosen are then labelled, and their scoring click is their click 1, counted with their
    annotation. The scoring clicks of the objects not chosen are spent on top of it.

    Parameters
    ----------
    pool : objects unlabelled before round 1.
    rounds : rounds of the loop.
    per_round : objects labelled per round.

    Returns
    -------
    dict
        ``per_round`` (list: objects scored before each round), ``total`` (their sum), ``labelled``
        (the clicks that are a labelled object's click 1), ``uncounted`` (``total - labelled``) and
        ``uncounted_by_round`` (list: the uncounted clicks spent by the end of each round).

    Examples
    --------
    >>> cost = scoring_clicks(59, 4, 8)
    >>> cost["per_round"], cost["total"], cost["labelled"], cost["uncounted"]
    ([59, 51, 43, 35], 188, 32, 156)
    >>> cost["uncounted_by_round"]
    [51, 94, 129, 156]
    >>> scoring_clicks(20, 3, 8)
    Traceback (most recent call last):
    ...
    ValueError: rounds * per_round must not exceed pool: 3 rounds of 8 objects need 24, got pool=20
    """
    for name, value in (("pool", pool), ("rounds", rounds), ("per_round", per_round)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {name}={value}")
    if rounds * per_round > pool:
        raise ValueError(f"rounds * per_round must not exceed pool: {rounds} rounds of {per_round} objects need "
                         f"{rounds * per_round}, got pool={pool}")
    scored = [int(pool - r * per_round) for r in range(rounds)]
    total, labelled = sum(scored), int(rounds * per_round)
    return {"per_round": scored, "total": total, "labelled": labelled, "uncounted": total - labelled,
            "uncounted_by_round": [int(v) for v in np.cumsum([n - per_round for n in scored])]}


__all__ += ["scoring_clicks"]


def recorded_models(runs: dict[str, str], template: torch.nn.Module,
                    train_arm: Callable[[str], tuple[torch.nn.Module, Any]],
                    live: dict[str, tuple[torch.nn.Module, Any]] | None = None,
                    directory: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """Every arm of a lesson's experiment as recorded, weights included (one call, no plumbing).

    Like :func:`recorded_arms`, but each arm's recorded weights are loaded too (into a copy of
    ``template``). Only when the course is built with ``--record`` (environment variable
    ``SEGCOURSE_RECORD_RUNS`` is ``"1"``) is an arm trained first: ``live[arm]`` if the lesson
    already trained it live, else ``train_arm(arm)``.

    Parameters
    ----------
    runs : arm name -> recorded run name (``"NN_words"``).
    template : a model of the recorded architecture; it is not changed.
    train_arm : ``train_arm(arm)`` -> ``(model, history)``; called only when recording.
    live : ``(model, history)`` the lesson trained live, by arm name (recorded as they are).
    directory : where the runs lie (default: the package's ``results/runs``).

    Returns
    -------
    dict: arm name -> :func:`recorded_run`'s ``model``, ``history`` and ``card``.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.environ[RECORD_ENV] = "1"
    >>> _ = recorded_models({"a": "09_model_a"}, TinyUNet(3, 2, width=4),
    ...                     lambda arm: (TinyUNet(3, 2, width=4), {"miou": 0.5}), directory=folder)
    >>> del os.environ[RECORD_ENV]
    >>> runs = recorded_models({"a": "09_model_a"}, TinyUNet(3, 2, width=4), lambda arm: 1 / 0, directory=folder)
    >>> runs["a"]["history"], runs["a"]["model"].training
    ({'miou': 0.5}, False)
    >>> recorded_models({"a": "09_model_a"}, None, lambda arm: 1 / 0)
    Traceback (most recent call last):
    ...
    TypeError: template must be a torch module (a model of the recorded architecture), got NoneType
    """
    if not isinstance(template, torch.nn.Module):
        raise TypeError("template must be a torch module (a model of the recorded architecture), "
                        f"got {type(template).__name__}")
    if not isinstance(runs, dict) or not runs:
        raise ValueError(f"runs must be a non-empty dict of arm name -> recorded run name, got runs={runs!r}")
    recording = os.environ.get(RECORD_ENV) == "1"
    live = live or {}
    out = {}
    for arm, run in runs.items():
        model, history = (live[arm] if arm in live else train_arm(arm)) if recording else (template, None)
        out[arm] = recorded_run(run, model, history, directory)
    return out


__all__ += ["recorded_models"]


if __name__ == "__main__":
    main()
