"""``--store URI``: which store holds the passages (stdlib only, so argument parsing stays fast).

    files                     the index folder (the default)
    milvus:PATH.db            Milvus Lite, embedded: a local data folder, no server
    milvus://HOST:PORT        a Milvus server (Standalone, Distributed, or `milvus-lite server`)
    http(s)://HOST:PORT/…     the same, as pymilvus spells it

Any of the Milvus forms may end in ``#NAME`` to use the collection NAME (default ``reportqa``).
A server's token, if it needs one, comes from ``REPORTQA_MILVUS_TOKEN``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import StoreError

FILES = "files"
DEFAULT_COLLECTION = "reportqa"
TOKEN_VARIABLE = "REPORTQA_MILVUS_TOKEN"
_COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")


@dataclass(frozen=True)
class StoreURI:
    kind: str  # "files" or "milvus"
    uri: str = ""  # what pymilvus connects to: a .db path, or http(s)://host:port
    collection: str = DEFAULT_COLLECTION
    embedded: bool = False  # Milvus Lite in this process

    @property
    def label(self) -> str:
        """How messages name the store."""
        return FILES if self.kind == FILES else f"{self.uri}#{self.collection}"

    @property
    def token(self) -> str:
        return "" if self.embedded else os.environ.get(TOKEN_VARIABLE, "")


def parse_store(text: str) -> StoreURI:
    """The store named by text; StoreError says what forms are accepted."""
    text = (text or "").strip()
    if text in ("", FILES):
        return StoreURI(FILES)
    where, _, collection = text.partition("#")
    collection = collection or DEFAULT_COLLECTION
    if not _COLLECTION.fullmatch(collection):
        raise StoreError(f"{collection!r} is not a Milvus collection name: use letters, digits and _, not starting with a digit.")
    if where.startswith("milvus://"):
        host = where[len("milvus://"):].rstrip("/")
        if not host:
            raise StoreError("--store milvus:// needs a host and port, e.g. milvus://localhost:19530.")
        return StoreURI("milvus", f"http://{host}", collection)
    if where.startswith(("http://", "https://")):
        return StoreURI("milvus", where.rstrip("/"), collection)
    if where.startswith("milvus:"):
        path = where[len("milvus:"):]
        if not path.endswith(".db") or path == ".db":
            raise StoreError(f"--store {text}: Milvus Lite needs a path ending in .db, e.g. milvus:./reports.db.")
        return StoreURI("milvus", os.path.abspath(os.path.expanduser(path)), collection, embedded=True)
    raise StoreError(
        f"--store {text!r} is not a store: use `files` (the default), `milvus:PATH.db` (Milvus Lite), "
        "or `milvus://HOST:PORT` (a Milvus server)."
    )
