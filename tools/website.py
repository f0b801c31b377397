"""Build the course website from the committed, executed notebooks (nothing is executed, nothing fetched).

    python tools/website.py            # -> build/site/README.html (open it in a browser)
    python tools/website.py --out DIR  # elsewhere

Sphinx + myst-nb + sphinx-book-theme (the Jupyter Book 1 stack), configured in docs/conf.py; warnings
are errors, so a broken link, a missing image or a malformed notebook stops the build.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parents[1]

#: Hosts whose ssh address ``git@HOST:owner/name`` has the web address ``https://HOST/owner/name``.
KNOWN_HOSTS = ("github.com", "gitlab.com")


def web_url(remote: str | None) -> str | None:
    """The https address of a repository, from a git remote address; None where there is none to publish.

    Accepts https (any host; user names and tokens are dropped, never published), and the ssh forms
    ``git@github.com:owner/name.git`` and ``ssh://git@github.com/owner/name.git`` for GitHub and
    GitLab (where the https form is known to be the same repository). A local path, ``file://``
    address or ssh address of another host gives None: a launch button built from it would be dead.

    Parameters
    ----------
    remote : the remote's address, e.g. the output of ``git config remote.origin.url``.

    Returns
    -------
    str or None
        ``https://host/owner/name`` (no ``.git``, no trailing slash), or None.

    Examples
    --------
    >>> web_url("https://github.com/ada/segcourse.git")
    'https://github.com/ada/segcourse'
    >>> web_url("git@github.com:ada/segcourse.git")
    'https://github.com/ada/segcourse'
    >>> web_url("ssh://git@github.com/ada/segcourse")
    'https://github.com/ada/segcourse'
    >>> web_url("https://ada:ghp_secret@github.com/ada/segcourse/")
    'https://github.com/ada/segcourse'
    >>> print(web_url("/home/ada/segcourse"), web_url(""), web_url(None))
    None None None
    """
    remote = (remote or "").strip()
    m = re.fullmatch(r"https?://(?:[^@/]+@)?([^/@:]+(?::\d+)?)/([^?#]+?)(?:\.git)?/?", remote)
    if m:
        host, path = m.groups()
        return f"https://{host}/{path}" if "/" in path else None
    m = (re.fullmatch(r"(?:[\w.-]+@)?([\w.-]+):(?!/)([\w.-]+/[\w./-]+?)(?:\.git)?/?", remote)
         or re.fullmatch(r"ssh://(?:[\w.-]+@)?([\w.-]+)(?::\d+)?/([\w.-]+/[\w./-]+?)(?:\.git)?/?", remote))
    if m and m.group(1).lower() in KNOWN_HOSTS:
        return f"https://{m.group(1).lower()}/{m.group(2)}"
    return None


def origin_url(root: Path = ROOT) -> str | None:
    """``git config remote.origin.url`` of the checkout at ``root``; None without git, a repository or an origin.

    Examples
    --------
    >>> import tempfile
    >>> print(origin_url(Path(tempfile.gettempdir()) / "not-a-repository"))
    None
    """
    try:
        out = subprocess.run(["git", "-C", str(root), "config", "--get", "remote.origin.url"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def repository_url(environ: Mapping[str, str] | None = None, root: Path = ROOT) -> tuple[str | None, str]:
    """The repository the site's Binder / JupyterHub buttons open, and where that address came from.

    ``SEGCOURSE_REPO_URL`` if it is set (https or ssh form; set it empty for no buttons), else the
    checkout's ``origin`` remote. Returns ``(None, why)`` when neither gives an address that can be
    published: the site then has no launch buttons rather than dead ones.

    Parameters
    ----------
    environ : the environment to read (default ``os.environ``).
    root : the checkout whose ``origin`` remote is read.

    Returns
    -------
    tuple
        ``(url or None, a sentence saying where it came from or why there is none)``.

    Examples
    --------
    >>> repository_url({"SEGCOURSE_REPO_URL": "git@github.com:ada/segcourse.git"})
    ('https://github.com/ada/segcourse', 'from SEGCOURSE_REPO_URL')
    >>> repository_url({"SEGCOURSE_REPO_URL": ""})[0] is None
    True
    """
    environ = os.environ if environ is None else environ
    if "SEGCOURSE_REPO_URL" in environ:
        given = environ["SEGCOURSE_REPO_URL"]
        url = web_url(given)
        if url:
            return url, "from SEGCOURSE_REPO_URL"
        return None, (f"SEGCOURSE_REPO_URL={given!r} is not an https or GitHub/GitLab ssh address of a repository"
                      if given.strip() else "SEGCOURSE_REPO_URL is set empty")
    remote = origin_url(root)
    url = web_url(remote)
    if url:
        return url, "from the git remote 'origin'"
    if remote is None:
        return None, "this checkout has no git remote 'origin' and SEGCOURSE_REPO_URL is not set"
    return None, f"the git remote 'origin' ({remote!r}) is not an address a browser can open; set SEGCOURSE_REPO_URL"


def theme_options(repo_url: str | None, branch: str = "main", hub_url: str = "") -> dict[str, Any]:
    """sphinx-book-theme options: repository link and launch buttons only where there is a repository.

    Parameters
    ----------
    repo_url : the repository's https address, or None (no repository button, no launch buttons).
    branch : the branch the launch buttons open.
    hub_url : a JupyterHub's address for the JupyterHub button (empty: no such button).

    Returns
    -------
    dict
        For ``html_theme_options``.

    Examples
    --------
    >>> theme_options("https://github.com/ada/segcourse")["launch_buttons"]["binderhub_url"]
    'https://mybinder.org'
    >>> opts = theme_options(None, hub_url="https://hub.example.edu")
    >>> "repository_url" in opts, opts["use_repository_button"], opts["launch_buttons"]
    (False, False, {})
    """
    options: dict[str, Any] = {"path_to_docs": "", "show_toc_level": 2, "use_repository_button": False,
                               "launch_buttons": {}}
    if repo_url:
        options.update(repository_url=repo_url, repository_branch=branch, use_repository_button=True,
                       launch_buttons={"binderhub_url": "https://mybinder.org", "jupyterhub_url": hub_url,
                                       "notebook_interface": "jupyterlab"})
    return options


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
    url, why = repository_url()
    print(f"launch buttons open {url} ({why})" if url else
          f"no launch buttons (Binder, JupyterHub) and no repository link: {why}")
    start = time.perf_counter()
    index = build(a.out.resolve(), allow_uncommitted=a.allow_uncommitted)
    size = sum(f.stat().st_size for f in a.out.rglob("*") if f.is_file() and ".doctrees" not in f.parts)
    print(f"site built in {time.perf_counter() - start:.1f} s, {size / 1e6:.1f} MB: {index}")


if __name__ == "__main__":
    sys.exit(main())
