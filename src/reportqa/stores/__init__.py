"""Where the passages live: the index folder (``files``, the default) or a Milvus collection.

    uri.py      parse_store: ``--store`` / ``Settings.store`` → a ``StoreURI`` (stdlib only)
    milvus.py   MilvusStore: the collection (schema, manifest, build and update, hybrid search)
    rows.py     the stored rows → an in-memory ``Index`` of the passages a question reached

The files store is the ``index/`` subpackage itself; this package adds the other
engine behind the same ``Index`` the retriever and the reader read.
"""

from .uri import FILES, StoreURI, parse_store

__all__ = ["FILES", "StoreURI", "parse_store"]
