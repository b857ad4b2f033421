"""Source files -> documents: which files count, strict UTF-8, and their hashes."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .checksums import file_sha256
from .errors import SourceError

SUFFIXES = (".txt", ".md")

_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


@dataclass(frozen=True)
class Document:
    name: str  # path relative to the source folder, with '/' separators
    path: Path
    text: str  # as read with open(path, encoding="utf-8", newline="")
    sha256: str


# --- reading -----------------------------------------------------------------


def _is_regular(path: Path) -> bool:
    """A plain file: not a symlink, FIFO or device (reading a FIFO would hang)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def check_source(source: Path) -> None:
    """The checks that cost nothing, made when an Assistant is created: the path exists,
    is a .txt/.md file or a folder, and can be opened. Raises the SourceError that
    reading it would raise later."""
    source = Path(source)
    if not source.exists():
        raise SourceError(f"Source {source} does not exist: pass a .txt/.md file or a folder of them.")
    if not source.is_dir():
        if source.suffix.lower() not in SUFFIXES:
            raise SourceError(f"Source {source} is not a .txt or .md file.")
        if not source.resolve().is_file() or not _is_regular(source.resolve()):
            raise SourceError(f"Source {source} is not a regular file: pass a .txt/.md file or a folder of them.")
    try:
        if source.is_dir():
            with os.scandir(source):
                pass
        else:
            os.close(os.open(source, os.O_RDONLY))
    except OSError as exc:
        raise SourceError(f"Cannot read {source}: {exc.strerror or exc}.") from None


def source_files(source: Path) -> list[tuple[str, Path]]:
    """(name, path) of every .txt/.md file under source, sorted; hidden files and symlinks skipped."""
    source = Path(source)
    check_source(source)
    if not source.is_dir():
        return [(source.name, source)]
    found = []
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not Path(root, d).is_symlink())
        for name in sorted(files):
            path = Path(root, name)
            if name.startswith(".") or path.suffix.lower() not in SUFFIXES or not _is_regular(path):
                continue
            rel = path.relative_to(source).as_posix()
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                # Names go into the manifest and citations as UTF-8 text.
                raise SourceError(
                    f"The file name {os.fsencode(rel)!r} in {source} is not valid UTF-8: rename it."
                ) from None
            found.append((rel, path))
    if not found:
        raise SourceError(f"No .txt or .md files in {source}: add the report there or pass --source.")
    return found


def decode(data: bytes, name: str, in_folder: bool = True) -> str:
    """Strict UTF-8, with an error that names the file and the byte position.

    ``in_folder``: the file is one of a source folder's, not a file given as the source itself.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise SourceError(
                f"{name} is {encoding}, not UTF-8: convert it, e.g. `iconv -f {encoding} -t UTF-8`."
            )
    nul = data.find(b"\x00")
    if nul != -1:
        remedy = "remove it from the source folder" if in_folder else "pass a .txt or .md file of text as the source"
        raise SourceError(f"{name} looks like a binary file (NUL byte at byte {nul}): {remedy}.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            f"{name} is not valid UTF-8 (byte {exc.start}, line {line}: {data[exc.start:exc.start + 1]!r}): "
            "convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8`."
        ) from None


def read_documents(source: Path, notify: Callable[[str], None] | None = None) -> list[Document]:
    """Every document under source.

    An empty (or white-space only) file among others is kept with no text and
    reported through notify, so one placeholder does not block a folder of
    reports; its hash still goes into the manifest, so adding text to it later
    makes the index stale. A source with no text at all is an error.
    """
    docs = []
    in_folder = Path(source).is_dir()
    for name, path in source_files(source):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        text = decode(data, name if in_folder else str(source), in_folder)
        docs.append(Document(name, path, text, hashlib.sha256(data).hexdigest()))
    empty = [d.name for d in docs if not d.text.strip()]
    if len(empty) == len(docs) == 1:
        raise SourceError(f"{empty[0]} is empty: add the report's text to it, or pass another --source.")
    if len(empty) == len(docs):
        names = ", ".join(empty[:3]) + (" …" if len(empty) > 3 else "")
        raise SourceError(f"Every file in {source} is empty ({names}): add the report's text, or pass another --source.")
    if empty and notify:
        for name in empty:
            notify(f"reportqa: skipping {name}: it is empty.")
    return docs


def source_hashes(source: Path) -> dict[str, str]:
    """SHA-256 of each source file by name, without decoding: the staleness check."""
    out = {}
    for name, path in source_files(source):
        try:
            out[name] = file_sha256(path)
        except OSError as exc:
            raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return out
