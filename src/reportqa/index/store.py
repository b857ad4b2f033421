"""Where builds happen beside the index, and how one is swapped in.

A build writes a sibling temp folder under a lock file and swaps it in with one
atomic exchange (renameat2 RENAME_EXCHANGE on Linux; elsewhere two renames, with
recovery of a build killed between them), so a reader sees the old index or the
new one, never a mix, and a killed build leaves the previous index in place. This
module owns the lock, the swap, and the clean-up and recovery of what a killed
build left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ..atomic import fsync_dir
from ..errors import IndexError_
from ..faults import fault
from .format import FILES

LOCK_TIMEOUT = 120.0  # seconds; $REPORTQA_LOCK_TIMEOUT overrides it


def sibling(index_dir: Path, kind: str) -> Path:
    return index_dir.parent / f".{index_dir.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def lock_path(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.lock"


@contextlib.contextmanager
def build_lock(index_dir: Path, timeout: float | None = None, notify: Callable[[str], None] | None = None):
    """An exclusive flock beside the index folder; waits up to timeout seconds.

    If there is no index folder when it is released (the first build of a source
    failed, say because a file is not UTF-8), the lock file is removed too, so a
    source that could not be read leaves nothing behind. A process that was
    waiting on the removed file sees that it is no longer the one at the path
    and locks the new one instead.
    """
    import fcntl

    if timeout is None:
        timeout = lock_timeout()
    path = lock_path(index_dir)
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            # Its folder was removed with a failed first build's lock file: make it again.
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise IndexError_(f"Cannot create the lock file {path}: {exc.strerror}.") from None
        except OSError as exc:
            raise IndexError_(f"Cannot create the lock file {path}: {exc.strerror}.") from None
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise IndexError_(
                            f"Another reportqa process has been building {index_dir} for over {timeout:g} s: "
                            f"wait for it, or remove {path} if no build is running."
                        ) from None
                    if not told and notify:
                        notify(f"reportqa: waiting for another process that is building {index_dir} …")
                        told = True
                    time.sleep(0.1)
            try:
                current = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)  # the holder removed this file on release: lock the one at the path now
    try:
        yield
    finally:
        try:
            if not os.path.lexists(index_dir):
                with contextlib.suppress(OSError):
                    os.unlink(path)  # still holding the lock, so no one else is using this file
        finally:
            os.close(fd)


def lock_timeout() -> float:
    try:
        return float(os.environ.get("REPORTQA_LOCK_TIMEOUT", LOCK_TIMEOUT))
    except ValueError:
        return LOCK_TIMEOUT


def recover(index_dir: Path) -> None:
    """Put back an index left aside by a build killed between its two renames (hold the lock)."""
    if index_dir.exists():
        return
    olds = sorted(index_dir.parent.glob(f".{index_dir.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        with contextlib.suppress(OSError):
            os.rename(olds[-1], index_dir)


def clean_leftovers(index_dir: Path) -> None:
    """Remove temp folders of builds that were killed (we hold the lock)."""
    for kind in ("tmp", "old"):
        for p in index_dir.parent.glob(f".{index_dir.name}.{kind}-*"):
            shutil.rmtree(p, ignore_errors=True)


def looks_like_index(index_dir: Path) -> bool:
    """Is index_dir missing, empty, or one of ours? Anything else must never be replaced."""
    if not index_dir.exists():
        return True
    if not index_dir.is_dir():
        return False
    try:
        names = set(os.listdir(index_dir))
    except OSError:
        return False
    return not names or bool(names & set(FILES))


def writable(index_dir: Path) -> bool:
    """Can we create the sibling temp folder and rename it over index_dir?"""
    parent = index_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # mkdir(parents=True) will create the rest
    return os.access(parent, os.W_OK | os.X_OK) and (not index_dir.exists() or os.access(index_dir, os.W_OK))



_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux renameat2); False where that is unsupported."""
    if fault("index.exchange"):
        return False  # armed with "skip": as on a system without renameat2
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(tmp: Path, index_dir: Path) -> None:
    """Put the built folder tmp in index_dir's place, in one step where the system allows."""
    fault("index.swap")
    if index_dir.exists() and exchange(tmp, index_dir):
        # tmp now holds the previous index; a reader never sees index_dir missing.
        fsync_dir(index_dir.parent)
        fault("index.swapped")
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = None
    if index_dir.exists():
        old = sibling(index_dir, "old")
        os.rename(index_dir, old)
        fault("index.set-aside")
    try:
        os.rename(tmp, index_dir)
    except BaseException:
        if old is not None:
            os.rename(old, index_dir)
        raise
    fsync_dir(index_dir.parent)
    if old is not None:
        fault("index.swapped")
        shutil.rmtree(old, ignore_errors=True)


def missing_folders(folder: Path) -> list[Path]:
    """The folders from the first missing ancestor of folder down to folder itself."""
    missing = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def clean_if_unlocked(index_dir: Path) -> None:
    """Remove what a killed build left beside a fresh index, unless a build is running now."""
    if any(index_dir.parent.glob(f".{index_dir.name}.tmp-*")) or any(index_dir.parent.glob(f".{index_dir.name}.old-*")):
        with contextlib.suppress(IndexError_, OSError):
            with build_lock(index_dir, timeout=0):
                clean_leftovers(index_dir)


def recover_if_unlocked(index_dir: Path, timeout: float = 5) -> None:
    """Recover a build killed between its renames, unless a build is running now."""
    if not index_dir.exists() and any(index_dir.parent.glob(f".{index_dir.name}.old-*")):
        with contextlib.suppress(IndexError_, OSError):
            with build_lock(index_dir, timeout=timeout):
                recover(index_dir)
