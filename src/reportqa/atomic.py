"""Writing files so that a crash or a full disk never leaves half of one where a whole one was.

- ``write_durable``: write a file and fsync it, for files inside a folder that is itself
  swapped in atomically (the index's temp folder).
- ``write_atomic``: replace a file in place: the data goes to a temp file beside it, is
  fsynced, then ``os.replace``s the old file; on any failure the temp file is removed
  and the old file is unchanged (the checksum store).
- ``replace_durably``: the last step of ``write_atomic`` for a file that was written some
  other way (e.g. by a library that only takes a path): fsync it, move it over the target,
  fsync the folder.
- ``fsync_dir``: make a rename or a new file in a folder durable (where the system allows).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

Data = bytes | Callable[[BinaryIO], None]  # the bytes, or a function that writes them to a binary file


def write_durable(path: Path, data: Data) -> None:
    """Write data to path (created or truncated) and fsync it before returning."""
    with open(path, "wb") as fh:
        _write(fh, data)


def write_atomic(path: Path, data: Data) -> None:
    """Replace path with data atomically: a reader sees the old file or the new one, never part of one.

    The temp file is made with ``tempfile.mkstemp`` beside path (mode 0600). Raises OSError
    with path unchanged and no temp file left behind.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(fh, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def replace_durably(src: Path, dst: Path) -> None:
    """Move the already written file src over dst: src is fsynced first, the folder after."""
    _fsync(src, os.O_RDONLY)
    os.replace(src, dst)
    fsync_dir(Path(dst).parent)


def fsync_dir(path: Path) -> None:
    """fsync a folder, so the names in it survive a crash; silently skipped where unsupported."""
    with contextlib.suppress(OSError):
        _fsync(path, os.O_RDONLY | os.O_DIRECTORY)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(fh: BinaryIO, data: Data) -> None:
    if callable(data):
        data(fh)
    else:
        fh.write(data)
    fh.flush()
    os.fsync(fh.fileno())
