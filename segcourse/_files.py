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

import numpy as np

__all__ = ["check_target", "atomic_write", "load_mask_file"]


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


def load_mask_file(path: str | os.PathLike, name: str = "path") -> np.ndarray:
    """Read a mask saved as ``.npy`` or ``.png``, never unpickling anything.

    A missing file raises ``FileNotFoundError``; an empty, truncated, pickled or otherwise
    unreadable file raises a ``ValueError`` that names the file and says what was expected.

    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "mask.npy"
    >>> _ = bad.write_bytes(b"")
    >>> load_mask_file(bad)
    Traceback (most recent call last):
    ...
    ValueError: path ... is not a readable mask: the file is empty; expected a .npy file written by numpy.save (or MaskEditor.save)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or pathlib.Path), got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".png"):
        raise ValueError(f"{name} must be a .npy or .png file, got {path.name!r}")
    if not path.is_file():
        raise FileNotFoundError(f"{name} {path} does not exist (or is a folder)")
    kind = ".npy file written by numpy.save (or MaskEditor.save)" if suffix == ".npy" else "PNG image of class ids"
    if path.stat().st_size == 0:
        raise ValueError(f"{name} {path} is not a readable mask: the file is empty; expected a {kind}")
    if suffix == ".npy":
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic != b"\x93NUMPY":
            what = "pickled Python objects, which are never loaded (unpickling can run code)" \
                if magic[:1] == b"\x80" else "no numpy header (it is not a .npy file)"
            raise ValueError(f"{name} {path} holds {what}; expected a {kind}, e.g. np.save(path, mask.astype(np.uint8))")
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            from PIL import Image

            with Image.open(path) as im:
                arr = np.array(im)
    except ValueError as exc:
        text = str(exc)
        if "pickle" in text or "Object arrays" in text:
            raise ValueError(f"{name} {path} holds pickled Python objects, which are never loaded (unpickling can "
                             f"run code); expected a {kind}, e.g. np.save(path, mask.astype(np.uint8))") from None
        raise ValueError(f"{name} {path} is not a readable mask (truncated or damaged: {text}); expected a {kind}") from None
    except (OSError, EOFError) as exc:  # PIL's UnidentifiedImageError is an OSError
        raise ValueError(f"{name} {path} is not a readable mask ({type(exc).__name__}: {exc}); expected a {kind}") from None
    return arr
