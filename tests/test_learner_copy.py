"""A learner's run never changes the course: ``segcourse lab`` works in a git-ignored copy.

Unit tests of :mod:`segcourse.workspace`, then the whole path in a real browser: a fresh clone,
``segcourse lab`` (the README's second command) starting JupyterLab on the learner's copy, a lesson
run with Run All and saved, and ``git status`` of the clone still clean.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _lab import running_lab
from segcourse import workspace

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))}


def test_copy_adds_missing_keeps_learner_files_and_never_touches_the_course(tmp_path):
    before = {f: _digest(ROOT / f) for f in ("notebooks", "exercises")}
    first = workspace.make_copy(ROOT, tmp_path)
    n = len(before["notebooks"]) + len(before["exercises"])
    assert len(first["copied"]) == n and first["kept"] == [] and first["moved"] == []
    mine = tmp_path / "lessons" / "00_masks_and_iou.ipynb"
    mine.write_text("my work")
    (tmp_path / "exercises" / "01_semantic_segmentation.ipynb").unlink()
    second = workspace.make_copy(ROOT, tmp_path)
    assert second["copied"] == ["exercises/01_semantic_segmentation.ipynb"]
    assert "lessons/00_masks_and_iou.ipynb" in second["kept"] and mine.read_text() == "my work"
    third = workspace.make_copy(ROOT, tmp_path, fresh=["00_masks_and_iou.ipynb"])
    # a bare name means the lesson and its exercise
    assert third["moved"] == ["lessons/00_masks_and_iou.ipynb.bak-1", "exercises/00_masks_and_iou.ipynb.bak-1"]
    assert (tmp_path / "lessons" / "00_masks_and_iou.ipynb.bak-1").read_text() == "my work"
    assert mine.read_bytes() == (ROOT / "notebooks" / "00_masks_and_iou.ipynb").read_bytes()
    assert {f: _digest(ROOT / f) for f in before} == before


def test_copy_refuses_unknown_names_and_a_folder_without_a_course(tmp_path):
    with pytest.raises(ValueError, match="fresh names notebooks the course does not have: \\['99_x.ipynb'\\]"):
        workspace.make_copy(ROOT, tmp_path, fresh=["99_x.ipynb"])
    with pytest.raises(TypeError, match="fresh must be a list"):
        workspace.make_copy(ROOT, tmp_path, fresh="00_masks_and_iou.ipynb")
    assert workspace.course_root(ROOT / "segcourse") == ROOT


def test_the_default_copy_is_git_ignored():
    out = subprocess.run(["git", "check-ignore", "-q", f"{workspace.WORK_DIR}/lessons/00_masks_and_iou.ipynb"], cwd=ROOT)
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert out.returncode == 0, f"{workspace.WORK_DIR}/ must be listed in .gitignore"


def test_the_cli_only_copies_with_no_launch(tmp_path):
    out = subprocess.run([sys.executable, "-m", "segcourse.workspace", "lab", "--no-launch", "--dir", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert f"your copy of the course: {tmp_path}" in out.stdout
    assert (tmp_path / "lessons" / "05_segmentation_practice.ipynb").is_file()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (Debian package 'chromium')")
@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs a git checkout to clone")
def test_run_all_and_save_in_jupyterlab_leaves_the_clone_clean(tmp_path):
    from playwright.sync_api import sync_playwright

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    lesson = "00_masks_and_iou.ipynb"
    copy = clone / workspace.WORK_DIR / "lessons" / lesson
    # the README's second command; the server options a test needs go after "--"
    with running_lab(tmp_path, [sys.executable, "-m", "segcourse.workspace", "lab", "--"], cwd=clone) as lab:
        url, token = lab["url"], lab["token"]
        assert copy.is_file()
        copied = copy.read_bytes()
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
                args=["--disable-gpu", "--disable-quic"], viewport={"width": 1400, "height": 1000})
            try:
                page = ctx.new_page()
                page.goto(f"{url}/lab/workspaces/t{secrets.token_hex(4)}/tree/lessons/{lesson}?token={token}")
                page.wait_for_selector(".jp-Notebook", timeout=60_000)
                page.wait_for_selector("text=/\\|\\s*Idle/", timeout=60_000)
                page.locator(".jp-Notebook").first.click()
                page.locator("li.lm-MenuBar-item", has_text="Run").first.click()
                page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
                # every code cell ran: no "[*]" prompt left and the last one has an execution count
                page.wait_for_function(
                    """() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent);
                               return p.length > 0 && p.every(t => /\\[\\d+\\]/.test(t)); }""", timeout=120_000)
                page.keyboard.press("Control+s")
                page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=30_000)
                time.sleep(1)
            finally:
                ctx.close()
    # `segcourse lab` became the server (execv): stopping it leaves no JupyterLab serving the copy behind
    time.sleep(1)
    marker = f"root_dir={clone / workspace.WORK_DIR}".encode()
    left = [p.name for p in Path("/proc").glob("[0-9]*") if _cmdline(p).find(marker) >= 0]
    assert not left, f"a JupyterLab process outlived segcourse lab: pids {left}"
    saved = json.loads(copy.read_text())
    assert copy.read_bytes() != copied, "the learner's copy was not saved"
    assert all(c.get("execution_count") for c in saved["cells"] if c["cell_type"] == "code")
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                            capture_output=True, text=True, check=True).stdout
    assert status == "", f"the learner's run changed the repository:\n{status}"


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


def _website():
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_website_dirty", ROOT / "tools" / "website.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_site_refuses_a_lesson_that_differs_from_the_last_commit(tmp_path, monkeypatch):
    site = _website()
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "notebooks" / "00_a.ipynb").write_text("{}")
    (repo / "README.md").write_text("# x\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(git + ["init", "-q"], cwd=repo, check=True)
    subprocess.run(git + ["add", "."], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-qm", "x"], cwd=repo, check=True)
    assert site.uncommitted(repo) == []
    (repo / "notebooks" / "00_a.ipynb").write_text('{"run": "half"}')
    (repo / "notebooks" / "scratch.ipynb").write_text("{}")
    assert site.uncommitted(repo) == ["notebooks/00_a.ipynb", "notebooks/scratch.ipynb"]
    monkeypatch.setattr(site, "uncommitted", lambda root=ROOT: ["notebooks/00_a.ipynb"])
    with pytest.raises(SystemExit, match="committed lessons only(.|\n)*notebooks/00_a.ipynb"):
        site.build(tmp_path / "site")
