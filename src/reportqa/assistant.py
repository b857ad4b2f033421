"""Answer questions about a report: retrieve passages, pick a sentence, cite it, or abstain."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .embed import Encoder, default_encoder, stderr_notice
from .errors import ModelError, QuestionError, ReaderError
from .index import BuildSummary, Index, ensure_index
from .ingest import check_source, source_files
from .paths import bundled_root, cache_dir
from .reader import Decision, Query, Reader, SentenceTable, decide, make_reader
from .results import Answer, Citation, Considered, Quote, Signals, SpanFound
from .retrieve import Ranking, Retriever
from .settings import DEFAULT, DEFAULT_K, Settings, check_k
from .stores import FILES, parse_store
from .text import terms

if TYPE_CHECKING:  # pragma: no cover
    from .conversation import Conversation
    from .stores.milvus import MilvusStore

ROOT = bundled_root()  # the repository's top level, or the installed package's _bundled/
BUNDLED_SOURCE = ROOT / "source_text"
BUNDLED_INDEX = ROOT / "index"
MAX_QUESTION_CHARS = 2000
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def default_index_dir(source: Path) -> Path:
    source = Path(source).resolve()
    if source == BUNDLED_SOURCE.resolve():
        return BUNDLED_INDEX
    key = hashlib.sha256(str(source).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return cache_dir() / "indexes" / f"{source.stem or 'source'}-{key}"


def clean_question(question: str) -> tuple[str, str]:
    """The question without control characters or lone surrogates, and a notice if it was cut.

    Only what can be used is scanned, so a 1 MB paste costs no more than a
    normal question (plus one pass over leading white space).
    """
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, not {type(question).__name__}")
    asked = len(question)
    if "\x1b" in question:
        question = _ANSI_ESCAPE.sub(" ", question)  # colour codes pasted from a terminal
    chars: list[str] = []
    kept = 0  # characters kept that are not white space
    cut = False
    for ch in question:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            ch = "\ufffd"
        elif code < 0x20 or 0x7F <= code < 0xA0:
            ch = " "  # control characters (NUL, escape) separate words
        elif code >= 0xA0 and unicodedata.category(ch) == "Cf":
            continue  # format characters (zero-width joiners, bidi marks) do not
        if not ch.isspace():
            kept += 1
            if kept > MAX_QUESTION_CHARS:
                cut = True
                break
        chars.append(ch)
    text = " ".join("".join(chars).split())
    if not text:
        raise QuestionError("The question is empty: type a question about the report.")
    if not any(ch.isalnum() for ch in text):
        # Only punctuation or emoji: nothing to search for, and any quote would be a guess.
        raise QuestionError("The question has no words in it: type a question about the report.")
    notice = ""
    if cut or len(text) > MAX_QUESTION_CHARS:
        space = text.rfind(" ", 0, MAX_QUESTION_CHARS + 1)
        text = text[: space if space > MAX_QUESTION_CHARS // 2 else MAX_QUESTION_CHARS]
        notice = (
            f"The question was {asked:,} characters long; "
            f"only its first {len(text):,} were used."
        )
    return text, notice


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
        # the one named by settings.reader, made on first use
        self._reader = make_reader(reader) if isinstance(reader, str) else reader
        self._index: Index | None = None
        self._retriever: Retriever | None = None
        self._sentences: SentenceTable | None = None
        self._lock = threading.RLock()
        self.store = parse_store(self.settings.store)  # FILES: the index folder; else a Milvus collection
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
                try:
                    self._reader = make_reader(self.settings.reader)
                except ModelError as exc:
                    if isinstance(exc, ReaderError) or self.settings.reader == "linear":
                        raise  # an unknown reader or bad fitted numbers: a mistake to report, not to hide
                    # The trained reader cannot run here (its weights or ONNX Runtime are broken):
                    # answer as before it existed, and say so once.
                    self.notify(f"reportqa: {exc} Answering without the {self.settings.reader} reader.")
                    self._reader = make_reader("linear")
            return self._reader

    @property
    def abstain_threshold(self) -> float:
        """Answer when P(answerable) is at least this: settings.abstain_threshold, else the reader's own."""
        t = self.settings.abstain_threshold
        return self.reader.threshold if t is None else t

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
                self._store_manifest = None  # checked again on the next load
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
        if reader is None and settings.reader == self.settings.reader:
            reader = self._reader
        twin = Assistant(self.source, self.index_dir, encoder=self.encoder, reader=reader, settings=settings, notify=self.notify)
        if twin.store == self.store and self._store is not None:
            twin._store, twin._store_manifest = self._store, self._store_manifest
        elif self.store.kind == FILES:
            twin.use_index(self.index)
        return twin

    def _open_store(self) -> MilvusStore:
        """The Milvus store named by settings.store, connected once."""
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
        self._index = index
        self._retriever = Retriever(index, self.settings)
        self._retriever.bm25  # noqa: B018 - build lexical statistics now, not on the first question
        self._sentences = SentenceTable(index)

    # --- answering -------------------------------------------------------------

    def answer(self, question: str, k: int = DEFAULT_K) -> Answer:
        """The best extractive answer with up to k cited passages (1 to settings.MAX_K), or an abstention."""
        check_k(k)
        text, notice = clean_question(question)
        if len(question) > MAX_QUESTION_CHARS:
            question = text  # what was asked of the report, cut (the notice says so), not a megabyte echoed back
        query = self.query(text)
        index, ranking = query.index, query.ranking
        decision = decide(self.reader, query)
        best, p = decision.best, decision.p
        answered = best is not None and p >= self.abstain_threshold

        order = [int(i) for i in ranking.order[: max(k, 1)]]
        if answered and best is not None and best.chunk_id in order:
            order.remove(best.chunk_id)
            order.insert(0, best.chunk_id)
        elif answered and best is not None:
            order = [best.chunk_id] + order[: k - 1]
        order = order[:k]
        citations = tuple(self._citation(index.chunks[i], float(ranking.fused[i])) for i in order)
        span = None
        if decision.span is not None:  # a passage reader's answer span, inside the chosen candidate
            where, said = self._quote(index, (decision.choice_chunk, decision.span.start, decision.span.end))
            span = SpanFound(where, said, round(decision.span.score, 4), round(decision.span.null, 4))
        why = {
            "signals": tuple(self._signals(ranking, i) for i in order),
            "considered": self._considered(index, decision),
            "threshold": self.abstain_threshold,
            "span_found": span,
        }
        if not answered or best is None:
            return Answer(question, False, "", round(p, 4), citations, None, notice=notice, **why)
        quote, text = self._quote(index, best.span)
        return Answer(question, True, text, round(p, 4), citations, quote, notice=notice,
                      span=span.quote if span is not None else None, **why)

    def query(self, question: str) -> Query:
        """The question as the reader sees it: its terms, the retriever's Ranking and the index's sentences.

        The question is used as given; answer() passes it through clean_question first.
        """
        self.load()
        q_terms = terms(question)
        q_vecs, q_tokens = self.encoder.encode_tokens([question])
        if self._store is not None and self._store_manifest is not None:
            # A Milvus store: retrieval and reading run over the passages the engine returned.
            index = self._store.candidates(q_terms, q_vecs[0], self.settings.store_passages, self._store_manifest)
            retriever, sentences = Retriever(index, self.settings), SentenceTable(index)
        else:
            retriever, sentences = self._retriever, self._sentences
        assert retriever is not None and sentences is not None
        ranking = retriever.rank(q_terms, q_vecs[0], question, q_tokens[0])
        return Query(question, q_terms, ranking, sentences, retriever.bm25, self.settings)

    def rank(self, question: str) -> Ranking:
        """Every passage scored for a question (the question used as given, as in query())."""
        return self.query(question).ranking

    def chat(self) -> "Conversation":
        """A conversation: its ``.ask(question, k)`` reads a follow-up ("What about 2008?")
        with the previous question; ``.new()`` forgets it. ``answer()`` stays stateless."""
        from .conversation import Conversation

        return Conversation(self.answer)

    # --- citations -------------------------------------------------------------

    def _citation(self, chunk, score: float) -> Citation:
        return Citation(chunk.source, chunk.start, chunk.end, chunk.line, chunk.paragraph, chunk.text, round(score, 4))

    @staticmethod
    def _quote(index: Index, span: tuple[int, int, int]) -> tuple[Quote, str]:
        """A candidate span (chunk id, start, end) as a Quote, and its text."""
        chunk_id, start, end = span
        chunk = index.chunks[chunk_id]
        return Quote(chunk.source, start, end, *chunk.locate(start)), chunk.text[start - chunk.start : end - chunk.start]

    def _considered(self, index: Index, decision: Decision, n: int = 3) -> tuple[Considered, ...]:
        """The n best candidate quotes by the reader's answer score, best first, none overlapping a better one."""
        values = decision.scores.values
        kept: list[int] = []
        for i in sorted(range(len(values)), key=lambda i: -float(values[i])):
            c = decision.candidates[i]
            if not any(o.chunk_id == c.chunk_id and o.start < c.end and c.start < o.end for o in (decision.candidates[j] for j in kept)):
                kept.append(i)
            if len(kept) == n:
                break
        return tuple(Considered(*self._quote(index, decision.candidates[i].span), round(float(values[i]), 4)) for i in kept)

    @staticmethod
    def _signals(ranking: Ranking, i: int) -> Signals:
        return Signals(
            lexical_rank=ranking.rank_of(ranking.lexical, i),
            lexical_score=round(float(ranking.lexical[i]), 4),
            dense_rank=ranking.rank_of(ranking.dense, i),
            dense_score=round(float(ranking.dense[i]), 4),
            sentence_score=round(float(ranking.sentence[i]), 4),
            late_score=round(float(ranking.passage_late[i]), 4),
            fused_score=round(float(ranking.fused[i]), 4),
        )

    def surroundings(self, citation: Citation, paragraphs: int = 1) -> list[Citation]:
        """The cited passage with up to `paragraphs` neighbouring passages on each side, in file order."""
        chunks = self._open_store().passages_of(citation.source) if self.store.kind != FILES else self.index.chunks
        here = next((c for c in chunks if c.source == citation.source and c.start <= citation.start < c.end), None)
        if here is None:
            return [citation]
        same = [c for c in chunks if c.source == here.source]
        pos = same.index(here)
        window = same[max(0, pos - paragraphs) : pos + paragraphs + 1]
        return [citation if c is here else self._citation(c, 0.0) for c in window]

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
