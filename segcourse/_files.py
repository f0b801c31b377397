"""Safe file writing shared by every function that saves something (reports, masks, weights).

One rule everywhere: never replace an existing file unless asked (``overwrite=True``), and write
atomically -- into a temporary file in the target's folder, then ``os.replace`` -- so an
interrupted run leaves either the old file or the new one, never a truncated one, and no
temporary file is left behind on failure.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["check_target", "atomic_write"]


def check_target(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse a directory, and an existing file unless ``overwrite``; return ``path`` as a Path.

    >>> check_target(".", overwrite=True)
    Traceback (most recent call last):
    ...
    IsADirectoryError: . is a folder; give a file name inside it
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name inside it")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], overwrite: bool = False) -> Path:
    """Call ``write(tmp_path)`` then move the result onto ``path`` in one step.

    The temporary file lies in the target's folder (``os.replace`` is atomic only within one
    file system) and is removed whatever happens.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(d / "a.txt", lambda tmp: pathlib.Path(tmp).write_text("hi")).read_text()
    'hi'
    >>> atomic_write(d / "a.txt", lambda tmp: None)
    Traceback (most recent call last):
    ...
    FileExistsError: ... already exists; pass overwrite=True to replace it
    """
    path = check_target(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        check_target(path, overwrite)  # appeared meanwhile: never clobber
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
