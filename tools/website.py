"""Build the course website from the committed, executed notebooks (nothing is executed, nothing fetched).

    python tools/website.py            # -> build/site/README.html (open it in a browser)
    python tools/website.py --out DIR  # elsewhere

Sphinx + myst-nb + sphinx-book-theme (the Jupyter Book 1 stack), configured in docs/conf.py; warnings
are errors, so a broken link, a missing image or a malformed notebook stops the build.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


PAGES = ("README.md", "notebooks", "exercises")  # what the site renders (docs/conf.py: include_patterns)


def uncommitted(root: Path = ROOT) -> list[str]:
    """The site's pages that differ from the last commit (modified, staged or untracked); [] outside git.

    A lesson someone ran and saved in place would otherwise be published half-run.

    >>> uncommitted(Path("/")) == []
    True
    """
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", *PAGES], cwd=root,
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:  # not a git checkout (e.g. an unpacked archive): nothing to compare with
        return []
    return [line[3:] for line in out.stdout.splitlines() if line.strip()]


def build(out: Path, quiet: bool = True, allow_uncommitted: bool = False) -> Path:
    """Build the site into ``out`` (HTML, warnings as errors) and return the landing page's path.

    Refuses (``SystemExit``) when a page differs from the last commit, unless ``allow_uncommitted``.
    """
    from sphinx.cmd.build import build_main

    dirty = uncommitted()
    if dirty and not allow_uncommitted:
        raise SystemExit("the site shows the committed lessons only, and these differ from the last commit:\n  "
                         + "\n  ".join(dirty) + "\ncommit them (after `python tools/course.py build`), or restore them "
                         "with `git checkout -- FILE`; learners work in their own copy (`segcourse lab`). "
                         "`--allow-uncommitted` builds anyway (a preview, not for publishing).")

    args = ["-W", "--keep-going", "-b", "html", "-c", str(ROOT / "docs"), "-d", str(out / ".doctrees"),
            *(["-q"] if quiet else []), str(ROOT), str(out)]
    rc = build_main(args)
    if rc:
        raise SystemExit(f"sphinx-build failed (exit {rc}); see the warnings above")
    return out / "README.html"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python tools/website.py", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    p.add_argument("--allow-uncommitted", action="store_true",
                   help="build even if a lesson, exercise or the README differs from the last commit (a preview)")
    a = p.parse_args(argv)
    start = time.perf_counter()
    index = build(a.out.resolve(), allow_uncommitted=a.allow_uncommitted)
    size = sum(f.stat().st_size for f in a.out.rglob("*") if f.is_file() and ".doctrees" not in f.parts)
    print(f"site built in {time.perf_counter() - start:.1f} s, {size / 1e6:.1f} MB: {index}")


if __name__ == "__main__":
    sys.exit(main())
