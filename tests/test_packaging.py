"""The project's own files: layout, dependency lists in sync, CI script, README commands."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_layout_matches_the_design():
    for path in ["README.md", "environment.yml", "pyproject.toml", "notebooks", "segcourse",
                 "exercises", "solutions", "tests", ".ci/run"]:
        assert (ROOT / path).exists(), path


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]} | {
        _name(r) for r in project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda, pip = set(), []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep["pip"]
        else:
            conda.add(CONDA_TO_PIP.get(_name(dep), _name(dep)))
    assert "python" in conda and "pip" in conda
    assert any(d.startswith("python=3.11") for d in env["dependencies"] if isinstance(d, str))
    # a package conda-forge does not carry is listed under pip:, by its PyPI name
    pip_names = {_name(p) for p in pip if p != "-e ."}
    assert (conda - {"python", "pip"}) | pip_names == wanted, ((conda | pip_names) ^ wanted)
    assert not (conda & pip_names), "a package is listed for both conda and pip"
    assert "-e ." in pip


def test_ci_installs_the_pinned_cpu_torch_first_then_runs_the_readme_command():
    ci = (ROOT / ".ci/run").read_text()
    readme = (ROOT / "README.md").read_text()
    torch_at = ci.index("torch==2.13.0")
    install = 'python -m pip install -e ".[dev]"'
    assert install in readme and install in ci
    assert torch_at < ci.index(install)
    assert re.search(r"^\s*pytest --full\s*$", ci, re.M), "CI must run `pytest --full`, the README's full command"
    assert "```bash\npytest\n```" in readme and "```bash\npytest --full\n```" in readme
    assert re.search(r"^segcourse lab$", readme, re.M), "set-up opens JupyterLab on the learner's copy (segcourse lab)"


def test_every_tools_script_the_project_files_name_exists():
    """environment.yml once named the website builder by its old name after it had become tools/website.py."""
    files = ["README.md", "environment.yml", "pyproject.toml", ".ci/run", "conftest.py", "docs/conf.py"]
    files += [str(p.relative_to(ROOT)) for p in [*(ROOT / "tools").glob("*.py"), *(ROOT / "tests").glob("*.py"),
                                                 *(ROOT / "segcourse").glob("*.py")]]
    named = {(f, m) for f in files for m in re.findall(r"\btools/[\w-]+\.py\b", (ROOT / f).read_text(encoding="utf-8"))}
    assert named, "the check found no tools/*.py to check"
    missing = sorted(f"{f} names {m}" for f, m in named if not (ROOT / m).is_file())
    assert not missing, missing


def test_readme_setup_gives_the_cpu_torch_step_before_the_install_command():
    """A CPU-only learner copying the set-up commands in order must meet the CPU torch step first,
    not after the install command has pulled pip's multi-GB CUDA build."""
    readme = (ROOT / "README.md").read_text()
    setup = readme[readme.index("## Set up"):readme.index("\n## ", readme.index("## Set up") + 1)]
    commands = [line for block in re.findall(r"```bash\n(.*?)```", setup, re.S) for line in block.splitlines()]
    cpu = "python -m pip install torch --index-url https://download.pytorch.org/whl/cpu"
    install = 'python -m pip install -e ".[dev]"'
    assert commands.index(cpu) < commands.index(install) < commands.index("segcourse lab"), commands
    # the condition is said before the command it applies to, and the CPU line is not in the block everyone runs
    assert setup.index("No NVIDIA GPU") < setup.index(cpu) < setup.index(install)
    assert not any(cpu in block and install in block for block in re.findall(r"```bash\n(.*?)```", setup, re.S))


def _root_conftest():
    import importlib.util

    spec = importlib.util.spec_from_file_location("segcourse_root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("full", "source", "kept"),
    [
        (False, "TESTPATHS", ["tests/test_metrics.py", "segcourse/metrics.py", "tools/course.py"]),
        (True, "TESTPATHS", None),
        (False, "ARGS", None),
    ],
    ids=["plain pytest", "pytest --full", "pytest PATH"],
)
def test_plain_pytest_leaves_out_exactly_the_course_tier(full, source, kept):
    """Plain `pytest` drops the notebook-executing tests; `--full` and named paths keep everything."""
    from types import SimpleNamespace

    conftest = _root_conftest()
    paths = ["tests/test_metrics.py", "segcourse/metrics.py", "tools/course.py",
             "notebooks/01_semantic_segmentation.ipynb", "solutions/03_instance_segmentation.ipynb",
             *conftest.COURSE_TIER[2:]]
    items = [SimpleNamespace(path=ROOT / p) for p in paths]
    dropped = []
    config = SimpleNamespace(
        getoption=lambda name: full,
        args_source=getattr(pytest.Config.ArgsSource, source),
        hook=SimpleNamespace(pytest_deselected=lambda items: dropped.extend(items)),
    )
    conftest._deselect_course_tier(config, items)
    assert [str(i.path.relative_to(ROOT)) for i in items] == (kept or paths)
    assert len(dropped) == len(paths) - len(kept or paths)
    for tier_file in conftest.COURSE_TIER:
        assert (ROOT / tier_file).exists(), f"{tier_file} is in the course tier but does not exist"
