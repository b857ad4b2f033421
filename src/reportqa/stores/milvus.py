"""The Milvus store: passages in one collection, searched by the engine (dense ANN and BM25, fused there).

    <name>          one row per passage (stores/rows.py): offsets, text, its stemmed terms with
                    the engine's BM25 function over them, the passage vector (HNSW, inner
                    product), and what the retriever and reader need besides
    <name>_files    one row per source file: its SHA-256 and passage count, written only once
                    all of its passages are in, so an interrupted build redoes that file alone

The manifest (format, model id and fingerprint, chunking) is a property of the passage
collection. Milvus Lite (``milvus:PATH.db``) and a Milvus server speak the same API; only
the URI differs. pymilvus is imported here only, so the default install does without it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from ..chunking import CHUNKING, Chunk
from ..embed import Encoder
from ..errors import StoreError
from ..index import Index
from .rows import MAX_TEXT, PIECE_FIELDS, READ_FIELDS, rows_index
from .uri import TOKEN_VARIABLE, StoreURI

STORE_FORMAT = 1
MANIFEST_KEY = "reportqa.manifest"
PAGE = 4096  # rows a query iterator fetches at a time (Milvus caps one query's result at 16,384)
CONNECT_TIMEOUT = 10.0  # seconds to reach a server before saying it is down
INSTALL = "pip install 'reportqa[milvus]'"


def import_pymilvus():
    """pymilvus, or a StoreError that says what to install."""
    # gRPC's C core logs to stderr on its own (a keepalive ping refused by Milvus Lite's
    # server, say); reportqa reports failures itself, as one line.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        import pymilvus
    except ImportError:
        raise StoreError(f"--store milvus… needs pymilvus and Milvus Lite, which are not installed: {INSTALL}") from None
    return pymilvus


@contextmanager
def strings_unwalked() -> Iterator[None]:
    """pymilvus 3's row upsert hands each VARCHAR value to a check written for a list of
    strings, so it walks one string a character at a time in Python, checking that each
    character is a string no longer than the field: a check that cannot fail, and about
    20 ms for one of reportqa's 48 KB rows, 13 times the rest of an upsert (docs/speed.md).
    ``pack_row`` has already checked every field's length in bytes, and the engine checks
    it again, so that walk is switched off while reportqa upserts (and only then)."""
    try:
        from pymilvus.client import entity_helper
    except ImportError:  # another layout of pymilvus: nothing to switch off
        yield
        return
    before = getattr(entity_helper, "CHECK_STR_ARRAY", None)
    if before is None:
        yield
        return
    entity_helper.CHECK_STR_ARRAY = False
    try:
        yield
    finally:
        entity_helper.CHECK_STR_ARRAY = before


def expected_manifest(encoder: Encoder) -> dict:
    """What a collection for this model must declare (the files it holds are in <name>_files)."""
    return {
        "format": STORE_FORMAT,
        "model": {"id": encoder.model_id, "fingerprint": encoder.fingerprint, "dim": encoder.dim, "max_tokens": encoder.max_tokens},
        "chunking": dict(CHUNKING, max_tokens=encoder.max_tokens),
    }


def manifest_mismatch(manifest: dict, expected: dict) -> str | None:
    """Why a collection's manifest does not fit this reportqa and model, or None."""
    if manifest.get("format") != expected["format"]:
        return f"store format {manifest.get('format')!r}, this reportqa reads {expected['format']}"
    model = manifest.get("model") or {}
    if any(model.get(k) != expected["model"][k] for k in ("id", "fingerprint", "dim")):
        return f"it was built with another embedding model ({model.get('id')!r})"
    if manifest.get("chunking") != expected["chunking"]:
        return "it was built with other chunking settings"
    return None


def literal(text: str) -> str:
    """A string as a quoted literal of a Milvus filter expression."""
    for a, b in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = text.replace(a, b)
    return f'"{text}"'


def _short(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "message", "") or exc).split())
    return text[:200] or type(exc).__name__


class MilvusStore:
    """One collection of passages on a Milvus Lite file or a Milvus server."""

    def __init__(self, spec: StoreURI):
        self.spec = spec
        self.pymilvus = import_pymilvus()
        for name in ("pymilvus", "milvus_lite"):  # their errors reach the user as one StoreError line
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        self.name, self.files_name = spec.collection, f"{spec.collection}_files"
        try:
            if spec.embedded:
                import milvus_lite  # noqa: F401 - pymilvus needs it for a .db URI
            self.client = self.pymilvus.MilvusClient(uri=spec.uri, token=spec.token, timeout=CONNECT_TIMEOUT)
        except ImportError:
            raise StoreError(f"--store {spec.label} needs Milvus Lite, which is not installed: {INSTALL}") from None
        except Exception as exc:  # noqa: BLE001 - pymilvus raises several kinds for an unreachable server
            if spec.embedded:
                raise StoreError(
                    f"Cannot open the Milvus Lite store {spec.uri} ({_short(exc)}): Milvus Lite embedded serves one process "
                    "at a time, so another may have it open; for several, run `milvus-lite server --data-dir PATH` "
                    "and pass --store milvus://HOST:PORT."
                ) from None
            hint = f", and {TOKEN_VARIABLE} if it needs a token"
            raise StoreError(f"Cannot reach the Milvus store at {spec.uri} ({_short(exc)}): start it, or check --store{hint}.") from None

    def call(self, what: str, fn: Callable, *args, **kwargs):
        """A client call, its failures as StoreError (a server that went away mid-session, say)."""
        try:
            return fn(*args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"The Milvus store at {self.spec.uri} failed to {what} ({_short(exc)}).") from None

    # --- the collections ---------------------------------------------------------

    def exists(self) -> bool:
        return bool(self.call("list collections", self.client.has_collection, self.name))

    def manifest(self) -> dict | None:
        """The collection's manifest, None when there is no collection."""
        if not self.exists():
            return None
        props = self.call("describe the collection", self.client.describe_collection, self.name).get("properties") or {}
        try:
            manifest = json.loads(props.get(MANIFEST_KEY, ""))
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict):
            raise StoreError(f"The collection {self.name} at {self.spec.uri} is not a reportqa index: pass another #collection in --store.")
        return manifest

    def check(self, encoder: Encoder) -> dict:
        """The manifest of a collection fit to query with this encoder, else a StoreError saying what to run."""
        manifest = self.manifest()
        run = f"run `reportqa index --source DIR --store {self.spec.label}`"
        if manifest is None:
            raise StoreError(f"No index in the Milvus store {self.spec.label}: {run}.")
        reason = manifest_mismatch(manifest, expected_manifest(encoder))
        if reason:
            raise StoreError(f"The index in the Milvus store {self.spec.label} cannot be used: {reason}; {run} --force.")
        self.load()
        return manifest

    def load(self) -> None:
        """Load both collections for search (a server keeps them released until asked)."""
        for name in (self.name, self.files_name):
            if self.call("list collections", self.client.has_collection, name):
                self.call("load a collection", self.client.load_collection, name)

    def drop(self) -> None:
        for name in (self.name, self.files_name):
            if self.call("list collections", self.client.has_collection, name):
                self.call("drop a collection", self.client.drop_collection, name)

    def create(self, manifest: dict) -> None:
        """The two collections, empty, with their indexes; the manifest on the passages."""
        DataType, Function, FunctionType = self.pymilvus.DataType, self.pymilvus.Function, self.pymilvus.FunctionType
        dim = int(manifest["model"]["dim"])
        s = self.client.create_schema(auto_id=False)
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        s.add_field("source", DataType.VARCHAR, max_length=4096)
        s.add_field("sha", DataType.VARCHAR, max_length=64)
        for name in ("start", "end", "line", "paragraph"):
            s.add_field(name, DataType.INT64)
        s.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT)
        s.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True, analyzer_params={"tokenizer": "standard"})
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        s.add_field("sentences", DataType.VARCHAR, max_length=MAX_TEXT)
        for name in ("sentence_vectors", *PIECE_FIELDS):
            s.add_field(name, DataType.VARCHAR, max_length=MAX_TEXT)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]))
        ip = self.client.prepare_index_params()
        ip.add_index(field_name="dense", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})
        ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self.call("create a collection", self.client.create_collection, self.name, schema=s, index_params=ip,
                  properties={MANIFEST_KEY: json.dumps(manifest, sort_keys=True)})
        f = self.client.create_schema(auto_id=False)
        f.add_field("source", DataType.VARCHAR, is_primary=True, max_length=4096)
        f.add_field("sha", DataType.VARCHAR, max_length=64)
        f.add_field("chunks", DataType.INT64)
        f.add_field("sentences", DataType.INT64)
        f.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # a collection needs one vector field
        fp = self.client.prepare_index_params()
        fp.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
        self.call("create a collection", self.client.create_collection, self.files_name, schema=f, index_params=fp)

    # --- rows ----------------------------------------------------------------------

    def files(self) -> dict[str, dict]:
        """Each indexed file's row (sha, chunks, sentences), by name."""
        if not self.call("list collections", self.client.has_collection, self.files_name):
            return {}
        rows = self.query_all("read the files", self.files_name, 'source != ""', ["source", "sha", "chunks", "sentences"])
        return {r["source"]: r for r in rows}

    def query_all(self, what: str, collection: str, expr: str, fields: list[str]) -> list[dict]:
        """Every row that matches, a page at a time: one query returns at most 16,384 rows, so a
        store with more files, or a file with more passages, is read with a query iterator."""

        def read() -> list[dict]:
            pages = self.client.query_iterator(collection, batch_size=PAGE, filter=expr, output_fields=fields)
            out: list[dict] = []
            try:
                while page := pages.next():
                    out.extend(page)
            finally:
                pages.close()
            return out

        return self.call(what, read)

    def upsert(self, rows: list[dict]) -> None:
        if rows:
            with strings_unwalked():
                self.call("store passages", self.client.upsert, self.name, rows)

    def finish_file(self, name: str, sha256: str, chunks: int, sentences: int) -> None:
        """The file's passages are all in: drop its older versions' rows, then record it as done."""
        self.call("delete old passages", self.client.delete, self.name,
                  filter=f"source == {literal(name)} and sha != {literal(sha256)}")
        self.call("record a file", self.client.upsert, self.files_name,
                  [{"source": name, "sha": sha256, "chunks": chunks, "sentences": sentences, "unused": [0.0, 0.0]}])

    def remove_file(self, name: str) -> None:
        self.call("delete passages", self.client.delete, self.name, filter=f"source == {literal(name)}")
        self.call("delete a file", self.client.delete, self.files_name, filter=f"source == {literal(name)}")

    def set_manifest(self, manifest: dict) -> None:
        self.call("write the manifest", self.client.alter_collection_properties, self.name,
                  properties={MANIFEST_KEY: json.dumps(manifest, sort_keys=True)})

    # --- questions -------------------------------------------------------------------

    def search(self, query_terms: list[str], query_vec: np.ndarray, limit: int) -> list[dict]:
        """The top passages for a question: dense ANN and BM25 in the engine, fused there by RRF."""
        pm = self.pymilvus
        dense = pm.AnnSearchRequest(data=[np.asarray(query_vec, dtype=np.float32).tolist()], anns_field="dense",
                                    param={"metric_type": "IP", "params": {"ef": max(64, limit)}}, limit=limit)
        requests = [dense]
        if query_terms:
            requests.append(pm.AnnSearchRequest(data=[" ".join(query_terms)], anns_field="sparse",
                                                param={"metric_type": "BM25"}, limit=limit))
        if len(requests) == 1:
            hits = self.call("search", self.client.search, self.name, data=dense.data, anns_field="dense",
                             search_params=dense.param, limit=limit, output_fields=list(READ_FIELDS))
        else:
            hits = self.call("search", self.client.hybrid_search, self.name, requests, ranker=pm.RRFRanker(60),
                             limit=limit, output_fields=list(READ_FIELDS))
        return [dict(h["entity"]) for h in hits[0]] if hits else []

    def candidates(self, query_terms: list[str], query_vec: np.ndarray, limit: int, manifest: dict) -> Index:
        """The question's top passages as a small in-memory Index."""
        rows = self.search(query_terms, query_vec, limit)
        if not rows:
            raise StoreError(f"The Milvus store {self.spec.label} holds no passages: run `reportqa index --source DIR --store {self.spec.label}`.")
        return rows_index(rows, int(manifest["model"]["dim"]), manifest, self.spec.label)

    def passages_of(self, source: str) -> list[Chunk]:
        """Every passage of one file, in order (for the chat's /show)."""
        rows = self.query_all("read passages", self.name, f"source == {literal(source)}",
                              ["source", "start", "end", "line", "paragraph", "text", "sentences"])
        rows = sorted(rows, key=lambda r: int(r["start"]))
        return [Chunk(i, r["source"], int(r["start"]), int(r["end"]), int(r["line"]), int(r["paragraph"]), r["text"],
                      tuple((int(a), int(b)) for a, b in json.loads(r["sentences"]))) for i, r in enumerate(rows)]

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing a client to a server that is gone
            pass
