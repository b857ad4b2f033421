"""The embedding model behind one small protocol: texts -> unit float32 vectors.

This is the public face of the encoder for the rest of reportqa; the code lives in
``reportqa.models`` (one runtime for every model):

* ``models/encoder.py``: the ``Encoder`` protocol, ``Tokens``, the bundled model's
  folder and fingerprint, and the batching the numpy and ONNX backends share;
* ``models/backends.py``: the backends by name (``make_encoder``, ``default_encoder``):
  ``"onnx"`` (``models/onnx_encoder.py``, the default), ``"numpy"``
  (``models/numpy_bert.py``, the exact fallback) and ``"sentence-transformers"``
  (``models/reference.py``, the reference; nothing else imports torch).

All three compute all-MiniLM-L6-v2 from the same weights file and agree to 1e-5,
so an index built with one is valid for all.
"""

from __future__ import annotations

from .console import stderr_notice
from .models.backends import BACKENDS, default_encoder, make_encoder
from .models.encoder import (
    DIM,
    MAX_BATCH_TOKENS,
    MAX_TOKENS,
    MODEL_ID,
    BatchedEncoder,
    Encoder,
    Tokens,
    model_path,
    weights_fingerprint,
)
from .models.numpy_bert import NumpyEncoder
from .models.reference import SentenceTransformerEncoder
from .models.tokens import pad_batch, unit_rows
from .models.weights import read_safetensors

__all__ = [
    "BACKENDS", "DIM", "MAX_BATCH_TOKENS", "MAX_TOKENS", "MODEL_ID", "BatchedEncoder", "Encoder",
    "NumpyEncoder", "SentenceTransformerEncoder", "Tokens", "default_encoder", "make_encoder",
    "model_path", "pad_batch", "read_safetensors", "stderr_notice", "unit_rows", "weights_fingerprint",
]
