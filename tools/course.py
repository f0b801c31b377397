"""Rebuild and check the course notebooks: ``python tools/course.py build|check [NAME ...]``.

Every lesson ``NN_name`` has a text source paired with its executed notebook (jupytext py:percent,
configured in ``jupytext.toml``): ``notebooks/NN_name.py`` <-> ``notebooks/NN_name.ipynb`` and the
nbgrader source ``solutions/NN_name.py`` <-> ``solutions/NN_name.ipynb``; ``exercises/NN_name.ipynb``
is nbgrader's release of the solution. Lessons are discovered from the files (any ``NN_*.py`` or
``NN_*.ipynb`` in ``notebooks/`` or ``solutions/``): a new lesson needs no registration here.

``build [NAME ...] [--record]`` (all lessons when no NAME; NAME may be ``03``, ``03_instance_segmentation`` or a
path), for each lesson:

1. ``jupytext --sync``: the newer of the two files gives the inputs (a missing one is created);
2. execute the notebook in place with nbclient, a fresh ``python3`` kernel whose working directory
   is the notebook's folder and which imports *this* checkout's ``segcourse``;
3. strip saved widget state, widget views (their random ids; the text form stays) and timing
   metadata, merge consecutive stream outputs (as JupyterLab does when it loads a notebook),
   write it in nbformat's canonical layout, rewrite the paired ``.py``, and save the pair once
   through jupytext's contents manager, exactly as JupyterLab saves it;
4. regenerate ``exercises/NN_name.ipynb`` with nbgrader's ``generate_assignment``.

With ``--record`` the lesson's kernel saves each run it trains live and hands to
``segcourse.experiments.recorded_run`` (weights, history, a card with the CPU and torch version)
into ``segcourse/results/runs/``: the runs whose numbers the lesson's prose reads, the same on
every CPU once shipped. Without it, the lesson loads the runs already there.

``density`` prints each lesson's main-body words and code lines against its budget
(``tools/density.py``; ``tests/test_density.py`` enforces it).

``points`` prints the table of exercise points per lesson (automatic / by hand) that the README
embeds, read from the solutions' nbgrader metadata (``--update-readme`` writes it there).

``check`` fails (exit 1) if anything is stale: a pair out of sync, a notebook not in canonical
layout, a code cell not executed top to bottom, saved widget state, a lesson without its solution
or exercise, or an exercise that differs from nbgrader's release (``--fast`` skips that last one).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import jupytext.cli
import jupytext.config
import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("notebooks", "solutions")  # folders of paired .py/.ipynb
EXERCISES = "exercises"
TEXT_FORMAT = "py:percent"
LESSON = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


# --------------------------------------------------------------------------------------------- names
def lesson_names(root: Path = ROOT) -> list[str]:
    """Every lesson stem found in ``notebooks/`` or ``solutions/`` (``.py`` or ``.ipynb``), sorted."""
    names = {p.stem for folder in SOURCES for p in (root / folder).glob("[0-9][0-9]_*.*")
             if p.suffix in (".py", ".ipynb") and LESSON.match(p.stem)}
    return sorted(names)


def resolve(names: list[str], root: Path = ROOT) -> list[str]:
    """Map command-line names (``03``, ``03_instance_segmentation``, a path) to lesson stems."""
    known = lesson_names(root)
    if not names:
        return known
    out = []
    for name in names:
        stem = Path(name).stem
        hits = [k for k in known if k == stem or k.split("_", 1)[0] == stem]
        if len(hits) != 1:
            raise SystemExit(f"unknown lesson {name!r}; known: {', '.join(known)}")
        out.append(hits[0])
    return out


def pairs(name: str, root: Path = ROOT) -> list[Path]:
    """The ``.ipynb`` paths of lesson ``name`` in notebooks/ and solutions/ that have a source."""
    return [root / folder / f"{name}.ipynb" for folder in SOURCES
            if (root / folder / f"{name}.ipynb").exists() or (root / folder / f"{name}.py").exists()]


# ------------------------------------------------------------------------------------------- layout
def canonical(nb: nbformat.NotebookNode) -> str:
    """The exact text JupyterLab writes when it saves ``nb`` (nbformat's defaults)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    nbformat.validate(nb)
    path.write_text(canonical(nb), encoding="utf-8")


def text_source(nb: nbformat.NotebookNode, path: Path) -> str:
    """The paired ``.py`` text of notebook ``nb`` stored at ``path`` (jupytext, with jupytext.toml)."""
    config = jupytext.config.load_jupytext_config(str(path))
    return jupytext.writes(nb, fmt=TEXT_FORMAT, config=config)


# -------------------------------------------------------------------------------------------- build
def sync(ipynb: Path) -> None:
    """``jupytext --sync``: the most recently modified of the pair gives the inputs."""
    source = ipynb if ipynb.exists() else ipynb.with_suffix(".py")
    status = jupytext.cli.jupytext(["--sync", "--quiet", str(source)])
    if status:
        raise RuntimeError(f"jupytext --sync failed on {source}")


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


TQDM_BAR = re.compile(r"( *)(\d+)%\|[^|\n]*\|\s*(\d+)/(\d+)(\s*\[[^\]\n]*\])?")


def _finished_progress_bar(out: dict) -> bool:
    """Give a tqdm.auto widget output the text of its finished bar; True if it was one.

    The text form of a tqdm widget is the bar as first drawn, at 0 %, which would read as a run that
    never started. The bar is drawn finished instead (``100%|██████████| 70/70``); nbval's
    sanitizer (.ci/nbval_sanitize.cfg) reads every bar as ``PROGRESS BAR``, so a re-run compares.
    """
    data = out.get("data", {})
    text = data.get("text/plain")
    if WIDGET_VIEW not in data or text is None:
        return False
    text = "".join(text) if isinstance(text, list) else str(text)
    if not TQDM_BAR.search(text):
        return False
    # tqdm right-aligns the percentage in 3 characters: "  0%" becomes "100%" in the same width
    data["text/plain"] = TQDM_BAR.sub(lambda m: f"{'100':>{len(m[1]) + len(m[2])}}%|{'█' * 10}| {m[4]}/{m[4]}", text)
    return True


def tidy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop noise: saved widget state, timings; merge consecutive streams as JupyterLab does.

    Without saved state a widget view cannot be drawn (JupyterLab shows "model not found") and
    its random ``model_id`` would change on every build, so the view is dropped and the output
    keeps its ``text/plain`` form (e.g. ``MaskEditor(...)``) and, for a MaskEditor, the picture of
    its state (``image/png``); running the cell draws the widget. A tqdm progress bar keeps the text
    of its finished bar (``_finished_progress_bar``).
    """
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    nb.metadata.pop("widgets", None)
    nb.metadata.setdefault("kernelspec", dict(KERNELSPEC))
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            _finished_progress_bar(out)
            if WIDGET_VIEW in out.get("data", {}) and "text/plain" in out["data"]:
                del out["data"][WIDGET_VIEW]
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    return nb


@contextlib.contextmanager
def kernel_env(root: Path = ROOT, record: bool = False):
    """Kernels import this checkout's ``segcourse`` and draw inline (no inherited MPLBACKEND).

    ``record``: the kernel saves every run a lesson hands to ``experiments.recorded_run``
    (``segcourse/results/runs/``) before loading it back; otherwise it only loads them.
    """
    saved = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in saved.get("PYTHONPATH", "").split(os.pathsep) if p])
    os.environ.pop("MPLBACKEND", None)
    os.environ.pop("SEGCOURSE_RECORD_RUNS", None)
    if record:
        os.environ["SEGCOURSE_RECORD_RUNS"] = "1"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute(ipynb: Path, timeout: int = 1200, record: bool = False) -> float:
    """Run the notebook top to bottom in a fresh kernel, in its own folder; write it canonically."""
    from nbclient import NotebookClient

    nb = nbformat.read(ipynb, as_version=4)
    start = time.perf_counter()
    with kernel_env(record=record):
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(ipynb.parent)}}).execute()
    seconds = time.perf_counter() - start
    finish(nb, ipynb)
    return seconds


def finish(nb: nbformat.NotebookNode, ipynb: Path) -> None:
    """Write the pair, then open and save it as JupyterLab does (jupytext's contents manager).

    That save records jupytext.toml's metadata filters in the notebook's metadata; doing it here
    means a teacher's later save in JupyterLab changes no byte of either file.
    """
    from jupytext import TextFileContentsManager

    tidy(nb)
    write_notebook(nb, ipynb)
    ipynb.with_suffix(".py").write_text(text_source(nb, ipynb), encoding="utf-8")
    logging.getLogger("traitlets").setLevel(logging.ERROR)  # "not trusted", "stripping metadata"
    manager = TextFileContentsManager(root_dir=str(ipynb.parents[1]))
    rel = f"{ipynb.parent.name}/{ipynb.name}"
    manager.save(manager.get(rel), rel)


@contextlib.contextmanager
def nbgrader_course(names: list[str], root: Path = ROOT):
    """A throwaway nbgrader course: ``source/<name>/<name>.ipynb`` copied from ``solutions/``.

    Yields ``(api, course_dir)``; ``api.generate_assignment(name)`` writes ``release/<name>/``.
    """
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="segcourse-nbgrader-") as tmp:
        course = Path(tmp)
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\nc.CourseDirectory.course_id = 'segcourse'\nc.CourseDirectory.root = "
            f"{str(course)!r}\n")
        for name in names:
            (course / "source" / name).mkdir(parents=True)
            shutil.copyfile(root / "solutions" / f"{name}.ipynb", course / "source" / name / f"{name}.ipynb")
        config = Config()
        config.CourseDirectory.course_id = "segcourse"
        config.CourseDirectory.root = str(course)
        config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
        logging.getLogger("traitlets").setLevel(logging.WARNING)
        # nbgrader's Gradebook shells out to `alembic` by name: find this interpreter's copy even when
        # its environment is not activated (`.venv/bin/pytest` run directly)
        scripts = str(Path(sys.executable).parent)
        old_path = os.environ.get("PATH", "")
        os.environ["PATH"] = scripts + os.pathsep + old_path
        try:
            yield NbGraderAPI(config=config), course
        finally:
            os.environ["PATH"] = old_path


def release(names: list[str], root: Path = ROOT) -> dict[str, str]:
    """nbgrader's ``generate_assignment`` of each ``solutions/<name>.ipynb``: name -> notebook text."""
    out = {}
    with nbgrader_course(names, root) as (api, course):
        for name in names:
            result = api.generate_assignment(name, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{result.get('error') or result.get('log')}")
            out[name] = (course / "release" / name / f"{name}.ipynb").read_text(encoding="utf-8")
    return out


def build(names: list[str], run: bool = True, timeout: int = 1200, root: Path = ROOT, record: bool = False) -> None:
    for name in names:
        for ipynb in pairs(name, root):
            sync(ipynb)
            rel = ipynb.relative_to(root)
            if run:
                # only the lesson records its runs; its solution (same folder layout) just loads them
                rec = record and ipynb.parent.name == "notebooks"
                print(f"{rel}: executed in {execute(ipynb, timeout, record=rec):.1f} s"
                      + (" (runs recorded)" if rec else ""), flush=True)
            else:
                finish(nbformat.read(ipynb, as_version=4), ipynb)
                print(f"{rel}: synced (not executed)", flush=True)
    graded = [n for n in names if (root / "solutions" / f"{n}.ipynb").exists()]
    for name, text in release(graded, root).items():
        (root / EXERCISES / f"{name}.ipynb").write_text(text, encoding="utf-8")
        print(f"{EXERCISES}/{name}.ipynb: nbgrader release of solutions/{name}.ipynb", flush=True)


def timings(names: list[str], folder: str = "notebooks", slow: float = 5.0, root: Path = ROOT) -> list[dict]:
    """Run each lesson in a scratch copy (never in place) and time every code cell.

    A cell slower than ``slow`` seconds must show a progress bar (a tqdm bar in its output, as text
    or as a widget); ``timings`` returns one row per lesson and prints the table.
    """
    from nbclient import NotebookClient

    rows = []
    for name in names:
        src = root / folder / f"{name}.ipynb"
        if not src.exists():
            continue
        nb = nbformat.read(src, as_version=4)
        with tempfile.TemporaryDirectory() as tmp, kernel_env(root):
            start = time.perf_counter()
            NotebookClient(nb, timeout=1200, kernel_name="python3", record_timing=True,
                           resources={"metadata": {"path": tmp}}).execute()
            total = time.perf_counter() - start
        slow_cells, unbarred = [], []
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            t = cell.metadata.get("execution", {})
            if "iopub.execute_input" not in t or "shell.execute_reply" not in t:
                continue
            secs = (datetime.datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
                    - datetime.datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))).total_seconds()
            if secs > slow:
                slow_cells.append((i, secs))
                text = " ".join(str(o.get("text", "")) + str(o.get("data", {})) for o in cell.get("outputs", []))
                if not TQDM_BAR.search(text):  # no tqdm bar, as text or as a widget's text form
                    unbarred.append(i)
        rows.append({"lesson": f"{folder}/{name}", "seconds": total, "slow": slow_cells, "no_bar": unbarred})
        print(f"| {folder}/{name} | {total:.1f} | " + (", ".join(f"#{i} {s:.1f} s" for i, s in slow_cells) or "-")
              + f" | {', '.join(f'#{i}' for i in unbarred) or 'none'} |", flush=True)
    return rows


def cells_allowed_to_raise(nb: nbformat.NotebookNode) -> set[int]:
    """Code-cell numbers (as nbval counts them) that may raise in an *exercise* notebook.

    Read from nbgrader's metadata: every solution code cell (the released stub raises
    ``NotImplementedError``) and every grade cell after the first of them (it checks a stub).

    >>> cell = nbformat.v4.new_code_cell
    >>> nb = nbformat.v4.new_notebook(cells=[cell("import numpy"),
    ...     cell("raise NotImplementedError()", metadata={"nbgrader": {"solution": True}}),
    ...     cell("check(f)", metadata={"nbgrader": {"grade": True, "solution": False}})])
    >>> sorted(cells_allowed_to_raise(nb))
    [1, 2]
    """
    allowed, seen_stub = set(), False
    code = [c for c in nb.cells if c.cell_type == "code"]
    for number, cell in enumerate(code):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            seen_stub = True
            allowed.add(number)
        elif meta.get("grade") and seen_stub:
            allowed.add(number)
    return allowed


# -------------------------------------------------------------------------------------------- check
def problems(names: list[str], fast: bool = False, root: Path = ROOT) -> list[str]:
    """Everything stale about these lessons, one line each (empty list: all fresh)."""
    found = []
    for name in names:
        for folder in SOURCES + (EXERCISES,):
            if not (root / folder / f"{name}.ipynb").exists():
                found.append(f"{folder}/{name}.ipynb is missing (every lesson has a lesson, a solution and an exercise)")
        for ipynb in pairs(name, root):
            rel = ipynb.relative_to(root)
            py = ipynb.with_suffix(".py")
            if not ipynb.exists() or not py.exists():
                found.append(f"{rel.with_suffix('')}: one of .py/.ipynb is missing (run build)")
                continue
            found += [f"{rel}: {msg}" for msg in notebook_problems(ipynb, executed=True)]
            nb = nbformat.read(ipynb, as_version=4)
            if py.read_text(encoding="utf-8") != text_source(nb, ipynb):
                found.append(f"{rel.with_suffix('.py')}: not in sync with {rel.name} (run build)")
        ex = root / EXERCISES / f"{name}.ipynb"
        if ex.exists():
            found += [f"{ex.relative_to(root)}: {msg}" for msg in notebook_problems(ex, executed=False)]
    if not fast:
        graded = [n for n in names if (root / "solutions" / f"{n}.ipynb").exists()]
        for name, text in release(graded, root).items():
            ex = root / EXERCISES / f"{name}.ipynb"
            if ex.exists() and ex.read_text(encoding="utf-8") != text:
                found.append(f"{ex.relative_to(root)}: differs from nbgrader's release of solutions/{name}.ipynb (run build)")
    return found


def notebook_problems(path: Path, executed: bool) -> list[str]:
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    found = []
    if canonical(nb) != text:
        found.append("not in nbformat's canonical layout (JupyterLab would rewrite it)")
    if "widgets" in nb.metadata:
        found.append("holds saved widget state")
    if any(WIDGET_VIEW in out.get("data", {}) for c in nb.cells for out in c.get("outputs", [])):
        found.append("holds a widget view (random model id, no saved state; run build)")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if executed and [c.execution_count for c in code] != list(range(1, len(code) + 1)):
        found.append("code cells were not executed once, top to bottom, in a fresh kernel (run build)")
    if any("execution" in c.metadata for c in nb.cells):
        found.append("holds execution timing metadata")
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="sync, execute, write canonically, regenerate exercises")
    b.add_argument("names", nargs="*", help="lessons (default: all), e.g. 03 or 03_instance_segmentation")
    b.add_argument("--timeout", type=int, default=1200, help="seconds per cell (default 1200: a shared CPU is slow)")
    b.add_argument("--no-execute", action="store_true",
                   help="sync and rewrite without running (only for edits that change no output)")
    b.add_argument("--record", action="store_true",
                   help="the lesson saves the runs it trains live as its recorded runs (segcourse/results/runs/), "
                        "which the strictly compared cells then read")
    c = sub.add_parser("check", help="exit 1 if anything is stale")
    c.add_argument("names", nargs="*")
    c.add_argument("--fast", action="store_true", help="skip the nbgrader release comparison")
    t = sub.add_parser("timings", help="time every cell in a scratch copy; cells over 5 s must show a progress bar")
    t.add_argument("names", nargs="*")
    t.add_argument("--folder", default="notebooks", choices=SOURCES)
    pal = sub.add_parser("palette", help="draw the colour palette (segcourse.palette.swatch_figure) to docs/palette.png")
    pal.add_argument("--out", default=str(ROOT / "docs" / "palette.png"))
    pts = sub.add_parser("points", help="print the README's points table (from the solutions' nbgrader metadata)")
    pts.add_argument("--update-readme", action="store_true", help="write the table into README.md")
    sub.add_parser("density", help="print each lesson's main-body words and code lines against its budget")
    args = ap.parse_args(argv)
    if args.command == "palette":
        import matplotlib

        matplotlib.use("Agg")
        from segcourse.palette import swatch_figure

        fig = swatch_figure()
        fig.savefig(args.out, dpi=90, metadata={"Software": None})
        print("wrote", args.out)
        return 0
    if args.command == "points":
        import points  # tools/points.py

        if args.update_readme:
            print("README.md " + ("updated" if points.update_readme() else "already up to date"))
        else:
            print(points.points_table(), end="")
        return 0
    if args.command == "density":
        import density  # tools/density.py

        print(density.density_table(), end="")
        return 0
    names = resolve(args.names)
    if args.command == "timings":
        print(f"| lesson | seconds | cells over 5 s | of those, without a progress bar |\n|---|---|---|---|")
        rows = timings(names, folder=args.folder)
        return 1 if any(r["no_bar"] for r in rows) else 0
    if args.command == "build":
        start = time.perf_counter()
        build(names, run=not args.no_execute, timeout=args.timeout, record=args.record)
        print(f"built {len(names)} lesson(s) in {time.perf_counter() - start:.0f} s")
        return 0
    found = problems(names, fast=args.fast)
    for line in found:
        print("stale:", line)
    print(f"{len(names)} lesson(s): " + ("up to date" if not found else f"{len(found)} problem(s)"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
