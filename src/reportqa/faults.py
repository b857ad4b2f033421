"""Named fault points: the places where a test may make the code fail on purpose.

The code calls ``fault(point, detail)`` at each point in ``POINTS``. Nothing is armed in
normal use, and then it returns False at the cost of one truth test. A test arms a point
with an action:

- ``"kill"``: the process SIGKILLs itself, after writing ``reportqa: fault <point> fired``
  to stderr (so a parent can tell the fault from any other kill);
- ``"enospc"``: raise ``OSError(ENOSPC)``, as a full disk would;
- ``"skip"``: ``fault()`` returns True, and the code skips an optional step (for
  ``index.exchange``: behave as on a file system without ``renameat2``);
- or any callable, called with (point, detail); ``fault()`` returns True after it.

In process: ``with armed("index.write", "enospc", detail="embeddings.npy") as f: …``,
then ``assert f.fired``. In a child process, before it imports reportqa:
``REPORTQA_FAULTS="index.exchange=skip;index.set-aside=kill"`` (``point[@detail]=action``,
separated by ``;``); ``armed_points()`` returns them for a check that they fired. Arming
a point that is not in ``POINTS`` is an error, so a misspelt or removed point cannot pass
a test silently.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

ENV = "REPORTQA_FAULTS"

POINTS = {
    "index.write": "a build is about to write one file into its temp folder (detail: the file name)",
    "index.swap": "a build has written and synced its temp folder and is about to swap it in",
    "index.exchange": "the atomic exchange of the temp folder and the index is about to run",
    "index.set-aside": "the two-rename swap has renamed the old index aside; the new one is not in place yet",
    "index.swapped": "the new index is in place; the previous one is not removed yet",
    "store.batch": "a Milvus build has upserted one batch of a file's passages (detail: the file name)",
}

Action = str | Callable[[str, str | None], object]


@dataclass
class Fault:
    point: str
    action: Action
    detail: str | None = None  # None: fire whatever the detail
    fired: int = 0  # how many times it has fired


_armed: list[Fault] = []


def fault(point: str, detail: str | None = None) -> bool:
    """A fault point: run the action armed here, if any. True when an armed action ran and returned."""
    if not _armed:
        return False
    for f in _armed:
        if f.point == point and f.detail in (None, detail):
            f.fired += 1
            return _run(f, detail)
    return False


def arm(point: str, action: Action, *, detail: str | None = None) -> Fault:
    """Arm a fault point until disarm(); returns the Fault, whose ``fired`` counts its firings."""
    if point not in POINTS:
        raise ValueError(f"no fault point {point!r}; the points are {', '.join(POINTS)}")
    if isinstance(action, str) and action not in ("kill", "enospc", "skip"):
        raise ValueError(f"no fault action {action!r}; the actions are kill, enospc, skip")
    f = Fault(point, action, detail)
    _armed.append(f)
    return f


def disarm(f: Fault | None = None) -> None:
    """Disarm one fault, or all of them."""
    if f is None:
        _armed.clear()
    elif f in _armed:
        _armed.remove(f)


@contextlib.contextmanager
def armed(point: str, action: Action, *, detail: str | None = None) -> Iterator[Fault]:
    f = arm(point, action, detail=detail)
    try:
        yield f
    finally:
        disarm(f)


def armed_points() -> list[Fault]:
    """The faults armed now (including those armed from the environment)."""
    return list(_armed)


def _run(f: Fault, detail: str | None) -> bool:
    if f.action == "kill":
        sys.stderr.write(f"reportqa: fault {f.point} fired\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if f.action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), detail or f.point)
    if callable(f.action):
        f.action(f.point, detail)
    return True


def _arm_from_environment(spec: str) -> None:
    for item in filter(None, (s.strip() for s in spec.split(";"))):
        where, sep, action = item.partition("=")
        if not sep:
            raise ValueError(f"${ENV}: {item!r} is not point[@detail]=action")
        point, _, detail = where.partition("@")
        arm(point.strip(), action.strip(), detail=detail.strip() or None)


_arm_from_environment(os.environ.get(ENV, ""))
