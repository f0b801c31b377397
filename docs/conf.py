"""Sphinx configuration for the segcourse website (the Jupyter Book 1 stack: myst-nb + sphinx-book-theme).

Build with ``python tools/website.py`` (see the README's "Publishing the website" section). The source
directory is the repository root, so the site renders the committed, executed notebooks in place:
nothing is executed at build time (nbval already checks those outputs), nothing is copied by hand,
and nothing is fetched from the network (MathJax is served from the site itself).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]

project = "segcourse"
author = "the segcourse authors"
copyright = "segcourse authors, MIT licence"

extensions = ["myst_nb"]
root_doc = "README"  # the landing page is the README itself (its links work on GitHub and here)
# Only the landing page, the lessons and the learners' exercises are pages; solutions never are.
include_patterns = ["README.md", "notebooks/*.ipynb", "exercises/*.ipynb"]
exclude_patterns = [".venv", ".git", "build", "solutions", "tools", "segcourse", "tests", "**/.ipynb_checkpoints",
                    "**/reports"]

# The notebooks are committed executed; the site shows exactly those outputs.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
# Widget views (never committed: tools/course.py drops them) cannot be drawn here; the MaskEditor's and the
# ClickSegmenter's outputs also hold a picture of their state saying "Interactive in JupyterLab: run this
# cell there to paint / to click" (segcourse.widgets.STATIC_NOTE / CLICK_STATIC_NOTE): their pages show that.
suppress_warnings = ["mystnb.unknown_mime_type"]

# MathJax 3.2 (SVG output: glyphs are drawn from JavaScript, so nothing else is loaded — web fonts
# opened from file:// would be blocked by the browser) from the `sphinx-mathjax-offline` wheel, a dev
# dependency. Only its tex-svg.js (2.1 MB) is copied into the site's _static/mathjax: math is
# typeset offline, from the site itself, on disk or on any web server.
_MATHJAX_SRC = Path(importlib.util.find_spec("sphinx-mathjax-offline").origin).parent / "static" / "mathjax"
_STATIC = ROOT / "build" / "site-static"


def _stage_mathjax() -> None:
    dest = _STATIC / "mathjax"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_MATHJAX_SRC / "tex-svg.js", dest / "tex-svg.js")


_stage_mathjax()
html_static_path = [str(_STATIC)]
mathjax_path = "mathjax/tex-svg.js"

# Where the course is published (Binder and JupyterHub links are built from it): SEGCOURSE_REPO_URL, else
# this checkout's git remote "origin" (https or GitHub/GitLab ssh form). With neither, the pages get no
# launch buttons and no repository link -- never a button that opens a placeholder (tools/website.py).
_spec = importlib.util.spec_from_file_location("segcourse_website", ROOT / "tools" / "website.py")
_website = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_website)
repository_url, _repository_source = _website.repository_url()
repository_branch = os.environ.get("SEGCOURSE_BRANCH", "main")
jupyterhub_url = os.environ.get("SEGCOURSE_HUB_URL", "")  # e.g. https://hub.your-school.edu
if repository_url:
    logger.info(f"segcourse: launch buttons open {repository_url} ({_repository_source})")
else:
    logger.info(f"segcourse: no launch buttons (Binder, JupyterHub) and no repository link: {_repository_source}")

html_theme = "sphinx_book_theme"
html_title = "segcourse: image segmentation, hands on"
html_theme_options = _website.theme_options(repository_url, repository_branch, jupyterhub_url)
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_copy_source = False


# The README is the landing page; on the site it also carries the navigation (a hidden toctree,
# added here so the README stays plain Markdown on GitHub). Lessons and exercises in path order.
_NAV = """

```{toctree}
:hidden:
:caption: Lessons
:glob:

/notebooks/*
```

```{toctree}
:hidden:
:caption: Exercises (no solutions)
:glob:

/exercises/*
```
"""


def _add_navigation(app, docname, source):
    if docname == "README":
        source[0] += _NAV


def setup(app):
    app.connect("source-read", _add_navigation)
