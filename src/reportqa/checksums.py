"""SHA-256 of large files, remembered across runs while the file is unchanged.

Every start checks the model against its checksums: the 90 MB weights (their
fingerprint is in each index manifest) and the cached ONNX model. Reading about
180 MB to hash it was a quarter of a cold ``reportqa ask``. As git does for its
index, a file whose (device, inode, size, mtime, ctime) is the same as when it
was hashed is taken to be the same file: any write, truncation, replacement or
``touch`` changes that signature, and ctime cannot be set back by user tools.

Two guards keep the shortcut honest:
- a file changed in the last ``SETTLE_SECONDS`` is hashed but not remembered,
  because a write in the same clock tick as the hash could leave its signature
  unchanged ("racy git");
- the store is a small JSON file in the user cache, replaced atomically; when it
  is unreadable or cannot be written, files are simply hashed each time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

from .atomic import write_atomic
from .paths import cache_dir

STORE = "checksums.json"
SETTLE_SECONDS = 2.0
FORMAT = 1


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _signature(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _load(store: Path) -> dict[str, dict]:
    try:
        data = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
        return {}
    return data["files"]


def _save(store: Path, files: dict[str, dict]) -> None:
    """Replace the store atomically; on any failure leave it as it was."""
    data = json.dumps({"format": FORMAT, "files": files}, indent=1, sort_keys=True).encode("utf-8")
    with contextlib.suppress(OSError):
        store.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(store, data)


# This process's checksums, by path and signature, so that a store that cannot be
# written still costs one read per process rather than one per call.
_MEMO: dict[tuple[str, tuple[int, ...]], str] = {}


def forget() -> None:
    """Forget the checksums this process remembers (the store on disk is kept), as a new process would."""
    _MEMO.clear()


def sha256(path: Path) -> str:
    """SHA-256 of a file, read from the store when the file is unchanged since it was hashed."""
    path = Path(path).resolve()
    before = os.stat(path)
    key = (str(path), tuple(_signature(before)))
    if key in _MEMO:
        return _MEMO[key]
    store = cache_dir() / STORE
    files = _load(store)
    entry = files.get(str(path))
    if isinstance(entry, dict) and entry.get("stat") == _signature(before) and isinstance(entry.get("sha256"), str):
        _MEMO[key] = entry["sha256"]
        return entry["sha256"]
    digest = file_sha256(path)
    after = os.stat(path)
    settled = time.time_ns() - max(after.st_mtime_ns, after.st_ctime_ns) >= SETTLE_SECONDS * 1e9
    if _signature(after) == _signature(before) and settled:
        _MEMO[key] = digest
        # Forget files that are gone, so the store stays as small as what is in use.
        files = {p: e for p, e in files.items() if os.path.exists(p)}
        files[str(path)] = {"stat": _signature(after), "sha256": digest}
        _save(store, files)
    return digest
