"""Build the course website from the committed, executed notebooks (nothing is executed, nothing fetched).

    python tools/website.py            # -> build/site/README.html (open it in a browser)
    python tools/website.py --out DIR  # elsewhere

Sphinx + myst-nb + sphinx-book-theme (the Jupyter Book 1 stack), configured in docs/conf.py; warnings
are errors, so a broken link, a missing image or a malformed notebook stops the build.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(out: Path, quiet: bool = True) -> Path:
    """Build the site into ``out`` (HTML, warnings as errors) and return the landing page's path."""
    from sphinx.cmd.build import build_main

    args = ["-W", "--keep-going", "-b", "html", "-c", str(ROOT / "docs"), "-d", str(out / ".doctrees"),
            *(["-q"] if quiet else []), str(ROOT), str(out)]
    rc = build_main(args)
    if rc:
        raise SystemExit(f"sphinx-build failed (exit {rc}); see the warnings above")
    return out / "README.html"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python tools/website.py", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    a = p.parse_args(argv)
    start = time.perf_counter()
    index = build(a.out.resolve())
    size = sum(f.stat().st_size for f in a.out.rglob("*") if f.is_file() and ".doctrees" not in f.parts)
    print(f"site built in {time.perf_counter() - start:.1f} s, {size / 1e6:.1f} MB: {index}")


if __name__ == "__main__":
    sys.exit(main())
