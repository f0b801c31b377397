"""The website's launch buttons: the repository address comes from SEGCOURSE_REPO_URL or the clone's
``origin`` remote, and without one the pages get no buttons (never a dead placeholder link)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _website():
    spec = importlib.util.spec_from_file_location("course_website_urls", ROOT / "tools" / "website.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


website = _website()
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.mark.parametrize("remote, url", [
    ("https://github.com/ada/segcourse.git", "https://github.com/ada/segcourse"),
    ("https://github.com/ada/segcourse", "https://github.com/ada/segcourse"),
    ("https://github.com/ada/segcourse/", "https://github.com/ada/segcourse"),
    ("https://x-access-token:ghp_SECRET@github.com/ada/segcourse.git", "https://github.com/ada/segcourse"),
    ("http://gitlab.example.org:8080/group/sub/segcourse.git", "https://gitlab.example.org:8080/group/sub/segcourse"),
    ("git@github.com:ada/segcourse.git", "https://github.com/ada/segcourse"),
    ("git@github.com:ada/segcourse", "https://github.com/ada/segcourse"),
    ("ssh://git@github.com/ada/segcourse.git", "https://github.com/ada/segcourse"),
    ("ssh://git@github.com:22/ada/seg.course.git", "https://github.com/ada/seg.course"),
    ("git@gitlab.com:group/segcourse.git", "https://gitlab.com/group/segcourse"),
    # nothing a browser (or Binder) could open: no button
    ("git@git.internal.example:ada/segcourse.git", None),
    ("/home/ada/segcourse", None),
    ("../segcourse", None),
    ("file:///home/ada/segcourse", None),
    ("https://github.com/", None),
    ("", None),
    (None, None),
])
def test_web_url_from_remote_forms(remote, url):
    assert website.web_url(remote) == url
    assert url is None or "SECRET" not in url


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@needs_git
@pytest.mark.parametrize("remote, url", [
    ("https://github.com/ada/segcourse.git", "https://github.com/ada/segcourse"),
    ("git@github.com:ada/segcourse.git", "https://github.com/ada/segcourse"),
    (None, None),
])
def test_repository_url_from_the_clones_origin(tmp_path, remote, url):
    _git("init", "-q", cwd=tmp_path)
    if remote:
        _git("remote", "add", "origin", remote, cwd=tmp_path)
    got, why = website.repository_url({}, root=tmp_path)
    assert got == url
    assert ("origin" in why) if url else ("no git remote 'origin'" in why)
    # the environment variable wins over the remote; set empty, it means "no buttons"
    assert website.repository_url({"SEGCOURSE_REPO_URL": "git@github.com:bob/fork.git"}, root=tmp_path)[0] == \
        "https://github.com/bob/fork"
    assert website.repository_url({"SEGCOURSE_REPO_URL": ""}, root=tmp_path)[0] is None


def test_repository_url_outside_a_repository_and_with_a_local_origin(tmp_path):
    assert website.repository_url({}, root=tmp_path / "nowhere")[0] is None
    if shutil.which("git"):
        _git("init", "-q", cwd=tmp_path)
        _git("remote", "add", "origin", "/srv/git/segcourse.git", cwd=tmp_path)
        url, why = website.repository_url({}, root=tmp_path)
        assert url is None and "SEGCOURSE_REPO_URL" in why


def test_theme_options_have_launch_buttons_only_with_a_repository():
    with_repo = website.theme_options("https://github.com/ada/segcourse", "main", "https://hub.example.edu")
    assert with_repo["repository_url"] == "https://github.com/ada/segcourse" and with_repo["use_repository_button"]
    assert with_repo["launch_buttons"] == {"binderhub_url": "https://mybinder.org",
                                           "jupyterhub_url": "https://hub.example.edu", "notebook_interface": "jupyterlab"}
    without = website.theme_options(None, "main", "https://hub.example.edu")
    assert "repository_url" not in without and not without["use_repository_button"]
    assert not any(without["launch_buttons"].values())


def test_docs_conf_takes_the_address_from_the_environment_or_leaves_the_buttons_out(monkeypatch):
    """docs/conf.py as Sphinx reads it: no placeholder address is left in it."""
    pytest.importorskip("myst_nb")  # the site's dev dependencies (conf.py finds its MathJax copy among them)
    assert "github.com/segcourse/segcourse" not in (ROOT / "docs" / "conf.py").read_text()

    def conf() -> dict:
        ns = {"__file__": str(ROOT / "docs" / "conf.py")}
        exec(compile((ROOT / "docs" / "conf.py").read_text(), "conf.py", "exec"), ns)
        return ns

    monkeypatch.setenv("SEGCOURSE_REPO_URL", "git@github.com:ada/segcourse.git")
    ns = conf()
    assert ns["html_theme_options"]["repository_url"] == "https://github.com/ada/segcourse"
    assert ns["html_theme_options"]["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    monkeypatch.setenv("SEGCOURSE_REPO_URL", "")
    ns = conf()
    assert "repository_url" not in ns["html_theme_options"]
    assert not any(ns["html_theme_options"]["launch_buttons"].values())
