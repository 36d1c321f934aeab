"""File-system helpers: atomic writes (temp file, then rename) and up-front path checks."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xdancer.errors import InputError


def check_input_file(path: str | Path, what: str = "file") -> Path:
    """Fail with a clear message if ``path`` is missing, a folder, or empty."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    if p.is_dir():
        raise InputError(f"{what} is a folder, expected a file: {p}")
    if p.stat().st_size == 0:
        raise InputError(f"{what} is empty (0 bytes): {p}")
    return p


def check_output_path(path: str | Path, suffixes: tuple[str, ...] | None = None) -> Path:
    """Fail early if ``path`` cannot be written (before any expensive work starts)."""
    p = Path(path).expanduser()
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise InputError(f"output {p.name!r} must end in one of {', '.join(suffixes)}")
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise InputError(f"output path is a folder: {p}")
    if not parent.exists():
        raise InputError(f"output folder does not exist: {parent}")
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"output file exists and is not writable: {p}")
    check_writable_folder(parent)
    return p


def check_writable_folder(folder: str | Path) -> Path:
    """Create and delete a scratch file in ``folder``: permission bits say nothing to root, nor
    about read-only or special file systems (/proc), so only a real write tells."""
    folder = Path(folder)
    try:
        fd, probe = tempfile.mkstemp(prefix=".xdancer-write-check.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"output folder is not writable: {folder} ({e.strerror})") from None
    return folder


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    A failure (or Ctrl-C) leaves no partial output: the temporary file is removed.
    The temporary name keeps the suffix so tools that pick a format by extension still work.
    """
    path = check_output_path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise RuntimeError(f"nothing was written for {path}")
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
