"""The ``"numpy"`` backend: all-MiniLM-L6-v2's forward pass in plain numpy.

It runs straight from the memory-mapped ``model.safetensors``, needs no export
step or cache, and is the reference the ONNX export's probe is checked against.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from .encoder import BatchedEncoder
from .tokens import pad_batch, unit_rows
from .weights import read_safetensors


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


def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' mean pooling over real tokens, then unit length."""
    mask = mask.astype(np.float32)
    pooled = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
    return unit_rows(pooled)


class NumpyEncoder(BatchedEncoder):
    """all-MiniLM-L6-v2 (BERT, mean pooling, L2 normalisation) in plain numpy."""

    def __init__(self, path: Path | None = None):
        super().__init__(path)
        config = json.loads((self.path / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.w = read_safetensors(self.path / "model.safetensors")
        self._lock = threading.Lock()
        self._layers: list | None = None

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
