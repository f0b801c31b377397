"""The learner's own copy of the course: ``segcourse lab`` (the README's second command).

The lessons in ``notebooks/`` and the exercises in ``exercises/`` are the course as published:
nbval compares every run against them and the website shows them. A learner who opened them in
JupyterLab and pressed Run All would overwrite them on the next autosave. So a learner works in a
copy: ``segcourse lab`` copies the lessons and exercises into ``my-course/`` at the repository root
(listed in ``.gitignore``), then starts JupyterLab there. Nothing tracked by git is ever written.

``segcourse lab``                 copy what is missing, then ``jupyter lab`` in the copy
``segcourse lab --dir PATH``      the copy somewhere else
``segcourse lab --no-launch``     only copy (e.g. to look before starting)
``segcourse lab -- --no-browser`` everything after ``--`` goes to ``jupyter lab``

A file the learner already has is never replaced: running the command again only adds lessons that
are new in the course (``--fresh NAME`` moves the learner's copy of one notebook aside, to
``NAME.ipynb.bak-N``, and copies the course's version again).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["course_root", "make_copy", "main"]

WORK_DIR = "my-course"
# (folder in the repository, folder in the learner's copy)
FOLDERS = (("notebooks", "lessons"), ("exercises", "exercises"))


def course_root(start: str | os.PathLike | None = None) -> Path:
    """The repository folder that holds ``notebooks/`` and ``exercises/``.

    Looks in ``start`` (default: the working directory) and its parents, then next to the installed
    package (an editable install from a clone).

    >>> (course_root() / "notebooks").is_dir()
    True
    """
    here = Path(start if start is not None else os.getcwd()).resolve()
    package_parent = Path(__file__).resolve().parents[1]
    for folder in (here, *here.parents, package_parent):
        if all((folder / src).is_dir() for src, _ in FOLDERS):
            return folder
    raise FileNotFoundError(f"no course found: neither {here} (nor a folder above it) nor {package_parent} holds "
                            "notebooks/ and exercises/; run this inside a clone of the segcourse repository")


def make_copy(root: str | os.PathLike | None = None, dest: str | os.PathLike | None = None,
              fresh: Sequence[str] = ()) -> dict[str, list[str]]:
    """Copy the lessons and exercises into the learner's folder; never replace a learner's file.

    Parameters
    ----------
    root : the repository (default: :func:`course_root`).
    dest : the learner's folder (default: ``my-course`` in the repository).
    fresh : notebook names (e.g. ``"01_semantic_segmentation.ipynb"``) whose learner copies (the
        lesson and its exercise) are moved aside to ``NAME.bak-N`` and copied again from the course.

    Returns
    -------
    dict with ``copied`` (new files), ``kept`` (the learner's files left as they were) and
    ``moved`` (the backups ``fresh`` made); paths relative to ``dest``.

    >>> import tempfile
    >>> out = make_copy(dest=tempfile.mkdtemp())
    >>> "lessons/00_masks_and_iou.ipynb" in out["copied"], out["kept"]
    (True, [])
    """
    root = course_root() if root is None else Path(root)
    dest = root / WORK_DIR if dest is None else Path(dest)
    if isinstance(fresh, str):
        raise TypeError(f"fresh must be a list of notebook names, got the string {fresh!r}")
    wanted = {Path(f).name for f in fresh}
    known = {p.name for src, _ in FOLDERS for p in (root / src).glob("*.ipynb")}
    unknown = sorted(wanted - known)
    if unknown:
        raise ValueError(f"fresh names notebooks the course does not have: {unknown}; expected some of {sorted(known)}")
    out: dict[str, list[str]] = {"copied": [], "kept": [], "moved": []}
    for src, name in FOLDERS:
        (dest / name).mkdir(parents=True, exist_ok=True)
        for nb in sorted((root / src).glob("[0-9][0-9]_*.ipynb")):
            target = dest / name / nb.name
            rel = f"{name}/{nb.name}"
            if target.exists() and nb.name in wanted:
                n = 1
                while target.with_name(f"{nb.name}.bak-{n}").exists():
                    n += 1
                backup = target.with_name(f"{nb.name}.bak-{n}")
                target.rename(backup)
                out["moved"].append(f"{name}/{backup.name}")
            if target.exists():
                out["kept"].append(rel)
                continue
            shutil.copyfile(nb, target)
            out["copied"].append(rel)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``segcourse lab``: make (or top up) the learner's copy, then start JupyterLab in it."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    ap = argparse.ArgumentParser(prog="segcourse", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    lab = sub.add_parser("lab", help="copy the lessons and exercises into my-course/ and open JupyterLab there")
    lab.add_argument("--dir", type=Path, default=None, help=f"the learner's folder (default: {WORK_DIR}/ in the repository)")
    lab.add_argument("--no-launch", action="store_true", help="only make the copy")
    lab.add_argument("--fresh", nargs="+", default=(), metavar="NAME",
                     help="move your copy of these notebooks aside (NAME.bak-N) and copy the course's again")
    args = ap.parse_args(argv)
    root = course_root()
    dest = (args.dir if args.dir is not None else root / WORK_DIR).resolve()
    out = make_copy(root, dest, fresh=args.fresh)
    print(f"your copy of the course: {dest}")
    print(f"  {len(out['copied'])} notebook(s) copied, {len(out['kept'])} of yours kept as they are"
          + (f", {len(out['moved'])} moved aside: {', '.join(out['moved'])}" if out["moved"] else ""))
    print("  lessons/ and exercises/ there are yours to run and edit; the course's own notebooks stay unchanged")
    if args.no_launch:
        return 0
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={dest}", *extra]
    print("starting:", " ".join(cmd), flush=True)
    if os.name == "posix":  # become JupyterLab: Ctrl+C and kill reach the server itself, nothing is left running
        os.execv(sys.executable, cmd)
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
