"""A throwaway JupyterLab for the real-browser tests (shared by test_widget_browser and test_learner_copy).

Recipe and traps: fresh JUPYTER_* and IPython folders per run, the news toast silenced, the kernel
pinned to this environment's python, 127.0.0.1 on a free port with a token, ``--allow-root`` as root.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_env(root: Path) -> dict[str, str]:
    """Environment with throwaway Jupyter folders under ``root`` and this python as the kernel."""
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        (root / name).mkdir(parents=True, exist_ok=True)
        env[name] = str(root / name)
    settings = root / "JUPYTER_CONFIG_DIR" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    kernels = root / "JUPYTER_DATA_DIR" / "kernels" / "python3"
    kernels.mkdir(parents=True, exist_ok=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python"}))
    return env


@contextmanager
def running_lab(root: Path, launcher: Sequence[str], cwd: Path | None = None) -> Iterator[dict]:
    """Start ``launcher + server options`` (e.g. ``python -m jupyterlab``), wait for it, stop it after.

    Yields ``{"url", "token", "root"}``.
    """
    port, token = free_port(), secrets.token_hex(16)
    cmd = [*launcher, "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = root / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=cwd, env=lab_env(root), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"{' '.join(launcher)} exited early:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield {"url": url, "token": token, "root": root}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
