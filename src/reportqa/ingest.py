"""Source files -> documents: which files count, strict UTF-8, and their hashes."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import SourceError

SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Document:
    name: str  # path relative to the source folder, with '/' separators
    path: Path
    text: str  # as read with open(path, encoding="utf-8", newline="")
    sha256: str


# --- reading -----------------------------------------------------------------


def source_files(source: Path) -> list[tuple[str, Path]]:
    """(name, path) of every .txt/.md file under source, sorted; hidden files and symlinks skipped."""
    source = Path(source)
    if not source.exists():
        raise SourceError(f"Source {source} does not exist: pass a .txt/.md file or a folder of them.")
    if source.is_file():
        if source.suffix.lower() not in SUFFIXES:
            raise SourceError(f"Source {source} is not a .txt or .md file.")
        return [(source.name, source)]
    found = []
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not Path(root, d).is_symlink())
        for name in sorted(files):
            path = Path(root, name)
            if name.startswith(".") or path.is_symlink() or path.suffix.lower() not in SUFFIXES:
                continue
            found.append((path.relative_to(source).as_posix(), path))
    if not found:
        raise SourceError(f"No .txt or .md files in {source}: add the report there or pass --source.")
    return found


def decode(data: bytes, name: str) -> str:
    """Strict UTF-8, with an error that names the file and the byte position."""
    if b"\x00" in data[:8192] or b"\x00" in data[-8192:]:
        raise SourceError(f"{name} looks like a binary file (it has NUL bytes): remove it or pass --source.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name} is not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r}): "
            "convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8`."
        ) from None


def read_documents(source: Path) -> list[Document]:
    """Every usable document under source. Empty files are an error: they are surely a mistake."""
    docs = []
    for name, path in source_files(source):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        text = decode(data, name)
        if not text.strip():
            raise SourceError(f"{name} is empty: add text to it or remove it from {source}.")
        docs.append(Document(name, path, text, hashlib.sha256(data).hexdigest()))
    return docs


def source_hashes(source: Path) -> dict[str, str]:
    """SHA-256 of each source file by name, without decoding: the staleness check."""
    out = {}
    for name, path in source_files(source):
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        out[name] = digest.hexdigest()
    return out
