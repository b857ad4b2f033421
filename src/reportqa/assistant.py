"""Answer questions about a report: retrieve passages, pick a sentence, cite it, or abstain."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .embed import Encoder, default_encoder, stderr_notice
from .errors import ModelError, ReaderError
from .index import BuildSummary, Index, ensure_index
from .ingest import check_source, source_files
from .paths import bundled_root, cache_dir
from .pipeline import MAX_QUESTION_CHARS, IndexSearcher, Pipeline, StoreSearcher, clean_question, threshold_of  # noqa: F401 - clean_question, MAX_QUESTION_CHARS: public here too
from .pipeline import citation as cite
from .reader import Query, Reader, SentenceTable, make_reader
from .results import Answer, Citation
from .retrieve import Ranking, Retriever
from .settings import DEFAULT, DEFAULT_K, Settings, check_k
from .stores import FILES, parse_store

if TYPE_CHECKING:  # pragma: no cover
    from .conversation import Conversation
    from .stores.milvus import MilvusStore

ROOT = bundled_root()  # the repository's top level, or the installed package's _bundled/
BUNDLED_SOURCE = ROOT / "source_text"
BUNDLED_INDEX = ROOT / "index"


def default_index_dir(source: Path) -> Path:
    source = Path(source).resolve()
    if source == BUNDLED_SOURCE.resolve():
        return BUNDLED_INDEX
    key = hashlib.sha256(str(source).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return cache_dir() / "indexes" / f"{source.stem or 'source'}-{key}"


class Assistant:
    """Question answering over one source (a .txt/.md file or a folder of them)."""

    def __init__(
        self,
        source: str | os.PathLike | None = None,
        index_dir: str | os.PathLike | None = None,
        *,
        encoder: Encoder | None = None,
        reader: Reader | str | None = None,
        settings: Settings | None = None,
        notify: Callable[[str], None] | None = None,
    ):
        self.source = Path(source) if source is not None else BUNDLED_SOURCE
        check_source(self.source)  # a missing or unreadable source fails now, not at the first answer
        self.index_dir = Path(index_dir) if index_dir is not None else default_index_dir(self.source)
        self.settings = settings or DEFAULT
        self.notify = notify or stderr_notice
        self._encoder = encoder
        # the reader picks the answer and decides whether to answer (reader.Reader); by default
        # the one named by settings.reading.reader, made on first use
        self._reader = make_reader(reader) if isinstance(reader, str) else reader
        self._index: Index | None = None
        self._retriever: Retriever | None = None
        self._sentences: SentenceTable | None = None
        self._pipeline: Pipeline | None = None
        self._lock = threading.RLock()
        self.store = parse_store(self.settings.retrieval.store)  # FILES: the index folder; else a Milvus collection
        self._store: MilvusStore | None = None
        self._store_manifest: dict | None = None

    # --- loading ---------------------------------------------------------------

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = default_encoder(notify=self.notify)
        return self._encoder

    @property
    def reader(self) -> Reader:
        with self._lock:
            if self._reader is None:
                name = self.settings.reading.reader
                try:
                    self._reader = make_reader(name)
                except ModelError as exc:
                    if isinstance(exc, ReaderError) or name == "linear":
                        raise  # an unknown reader or bad fitted numbers: a mistake to report, not to hide
                    # The trained reader cannot run here (its weights or ONNX Runtime are broken):
                    # answer as before it existed, and say so once.
                    self.notify(f"reportqa: {exc} Answering without the {name} reader.")
                    self._reader = make_reader("linear")
            return self._reader

    @property
    def abstain_threshold(self) -> float:
        """Answer when P(answerable) is at least this: the setting abstain_threshold, else the reader's own."""
        return threshold_of(self.settings, self.reader)

    @property
    def retriever(self) -> Retriever:
        self.load()
        assert self._retriever is not None
        return self._retriever

    @property
    def index(self) -> Index:
        self.load()
        assert self._index is not None
        return self._index

    def load(self) -> None:
        """Load the model and a fresh index, rebuilding a stale one (with a notice)."""
        with self._lock:
            if self.store.kind != FILES:
                if self._store_manifest is None:  # connect and check the manifest once, not per question
                    self._store_manifest = self._open_store().check(self.encoder)
                    self._pipeline = None
            elif self._index is None:
                self.build()
            self.reader  # noqa: B018 - the reader's model loads now too, not on the first question

    def build(self, force: bool = False, progress: Callable[[int, int], None] | None = None) -> BuildSummary:
        """Build or refresh the index; a fresh one is kept unless force."""
        with self._lock:
            source_files(self.source)  # a missing or empty source fails before the model loads
            if self.store.kind != FILES:
                from .stores.build import sync_store

                summary = sync_store(self._open_store(), self.source, self.encoder, force=force, progress=progress, notify=self.notify)
                self._store_manifest = self._pipeline = None  # checked again on the next load
                return summary
            index, summary = ensure_index(
                self.source, self.index_dir, self.encoder, force=force, progress=progress, notify=self.notify
            )
            self.use_index(index)
            if summary is None:
                m = index.manifest.get("counts", {})
                summary = BuildSummary(m.get("files", 0), len(index.chunks), len(index.sentence_chunk), 0.0, False)
            return summary

    def with_settings(self, settings: Settings, *, reader: Reader | None = None) -> "Assistant":
        """A twin with other settings (and reader) that shares this one's model and loaded index.

        Without a reader it keeps this one's, unless the settings name another."""
        self.load()
        if reader is None and settings.reading.reader == self.settings.reading.reader:
            reader = self._reader
        twin = Assistant(self.source, self.index_dir, encoder=self.encoder, reader=reader, settings=settings, notify=self.notify)
        if twin.store == self.store and self._store is not None:
            twin._store, twin._store_manifest = self._store, self._store_manifest
        elif self.store.kind == FILES:
            twin.use_index(self.index)
        return twin

    def _open_store(self) -> MilvusStore:
        """The Milvus store named by settings.retrieval.store, connected once."""
        with self._lock:
            if self._store is None:
                from .stores.milvus import MilvusStore

                self._store = MilvusStore(self.store)
            return self._store

    @property
    def location(self) -> str:
        """Where the passages are: the index folder, or the Milvus store."""
        return str(self.index_dir) if self.store.kind == FILES else self.store.label

    def use_index(self, index: Index) -> None:
        """Answer from this index, already loaded (``index.read_index``), as it is: unchecked against the source."""
        with self._lock:
            self._index = index
            self._retriever = Retriever(index, self.settings.retrieval, self.encoder)
            self._retriever.bm25  # noqa: B018 - build lexical statistics now, not on the first question
            self._sentences = SentenceTable(index)
            self._pipeline = None

    @property
    def pipeline(self) -> Pipeline:
        """The answer path over this source (loaded first): its searcher, the reader and the settings."""
        with self._lock:
            self.load()
            if self._pipeline is None:
                if self._store is not None and self._store_manifest is not None:
                    # A Milvus store: retrieval and reading run over the passages the engine returns.
                    searcher = StoreSearcher(self._store, self._store_manifest, self.encoder, self.settings.retrieval)
                else:
                    assert self._retriever is not None and self._sentences is not None
                    searcher = IndexSearcher(self._retriever, self._sentences)
                self._pipeline = Pipeline(searcher, self.reader, self.settings)
            return self._pipeline

    # --- answering -------------------------------------------------------------

    def answer(self, question: str, k: int = DEFAULT_K) -> Answer:
        """The best extractive answer with up to k cited passages (1 to settings.MAX_K), or an abstention."""
        if self._pipeline is None:  # a bad k or an empty question is refused before anything loads
            check_k(k)
            clean_question(question)
        return self.pipeline.answer(question, k)

    def query(self, question: str) -> Query:
        """The question as the reader sees it: its terms, the retriever's Ranking and the index's sentences.

        The question is used as given; answer() passes it through clean_question first.
        """
        return self.pipeline.query(question)

    def rank(self, question: str) -> Ranking:
        """Every passage scored for a question (the question used as given, as in query())."""
        return self.query(question).ranking

    def chat(self) -> "Conversation":
        """A conversation: its ``.ask(question, k)`` reads a follow-up ("What about 2008?")
        with the previous question; ``.new()`` forgets it. ``answer()`` stays stateless."""
        from .conversation import Conversation

        return Conversation(self.answer)

    def surroundings(self, citation: Citation, paragraphs: int = 1) -> list[Citation]:
        """The cited passage with up to `paragraphs` neighbouring passages on each side, in file order."""
        chunks = self._open_store().passages_of(citation.source) if self.store.kind != FILES else self.index.chunks
        here = next((c for c in chunks if c.source == citation.source and c.start <= citation.start < c.end), None)
        if here is None:
            return [citation]
        same = [c for c in chunks if c.source == here.source]
        pos = same.index(here)
        window = same[max(0, pos - paragraphs) : pos + paragraphs + 1]
        return [citation if c is here else cite(c, 0.0) for c in window]

    def sources_info(self) -> dict:
        chunks_per_file: dict[str, int] = {}
        if self.store.kind != FILES:  # the counts the store recorded for each file
            self.load()
            chunks_per_file = {name: int(r["chunks"]) for name, r in self._open_store().files().items()}
            manifest = self._store_manifest or {}
        else:
            manifest = self.index.manifest
            for c in self.index.chunks:
                chunks_per_file[c.source] = chunks_per_file.get(c.source, 0) + 1
        files = []
        local = dict(source_files(self.source))
        for name in local if self.store.kind == FILES else sorted(chunks_per_file):  # a store lists what it holds
            try:
                chars = len(local[name].read_text(encoding="utf-8", errors="replace")) if name in local else 0
            except OSError:
                chars = 0
            files.append({"name": name, "chars": chars, "chunks": chunks_per_file.get(name, 0)})
        return {
            "source": str(self.source),
            "index": self.location,
            "files": files,
            "chunks": sum(chunks_per_file.values()),
            "model": manifest.get("model", {}).get("id", ""),
            "backend": type(self.encoder).__name__,
        }


_DEFAULT: Assistant | None = None
_DEFAULT_LOCK = threading.Lock()


def answer(question: str, *, k: int = DEFAULT_K) -> Answer:
    """Answer a question about the bundled report."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Assistant()
    return _DEFAULT.answer(question, k=k)
