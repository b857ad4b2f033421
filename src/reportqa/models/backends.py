"""The encoder backends by name, and the one shared encoder per process.

Three backends compute all-MiniLM-L6-v2 from the same weights file and agree
with each other to 1e-5, so an index built with one is valid for all (the
index records the weights fingerprint, not the backend):

* ``"onnx"`` (``onnx_encoder.py``, the default) runs a graph built once from
  ``model.safetensors`` into the user's cache on ONNX Runtime: about 2-3 ms per
  question on two cores, so a warm ``answer()`` stays under 5 ms.
* ``"numpy"`` (``numpy_bert.py``) runs the BERT forward pass in numpy straight
  from the memory-mapped weights; ``"auto"`` falls back to it, with a one-line
  notice, when ONNX Runtime or the cached model cannot be used.
* ``"sentence-transformers"`` (``reference.py``) is the reference on torch.

Each backend's module is imported only when it is chosen.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from ..console import stderr_notice
from ..errors import ModelError
from .encoder import Encoder

Notify = Callable[[str], None]


def _onnx(notify: Notify) -> Encoder:
    from .onnx_encoder import OnnxEncoder

    return OnnxEncoder(notify=notify)


def _numpy(notify: Notify) -> Encoder:
    from .numpy_bert import NumpyEncoder

    return NumpyEncoder()


def _sentence_transformers(notify: Notify) -> Encoder:
    from .reference import SentenceTransformerEncoder

    return SentenceTransformerEncoder()


def _auto(notify: Notify) -> Encoder:
    try:
        return _onnx(notify)
    except Exception as exc:  # noqa: BLE001 - any ONNX failure leaves the numpy path, which is exact
        notify(f"reportqa: the ONNX model is unavailable ({exc}); using the slower numpy encoder.")
        return _numpy(notify)


# name -> factory(notify); REPORTQA_BACKEND picks one.
REGISTRY: dict[str, Callable[[Notify], Encoder]] = {
    "auto": _auto,
    "onnx": _onnx,
    "numpy": _numpy,
    "sentence-transformers": _sentence_transformers,
}
ALIASES = {"torch": "sentence-transformers", "st": "sentence-transformers"}
BACKENDS = tuple(REGISTRY)

_ENCODERS: dict[str, Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def make_encoder(backend: str = "auto", notify: Notify | None = None) -> Encoder:
    """A new encoder; "auto" is ONNX Runtime, falling back to numpy with a notice."""
    factory = REGISTRY.get(ALIASES.get(backend, backend))
    if factory is None:
        raise ModelError(f"Unknown REPORTQA_BACKEND={backend!r}: use one of {', '.join(BACKENDS)}.")
    return factory(notify or stderr_notice)


def default_encoder(notify: Notify | None = None) -> Encoder:
    """One shared encoder per process; the backend comes from REPORTQA_BACKEND (default auto).

    notify receives the one-line notices of the first call (a one-time export,
    a rebuilt cache, a fallback); they go to stderr when it is None.
    """
    backend = os.environ.get("REPORTQA_BACKEND", "auto").strip().lower() or "auto"
    with _ENCODERS_LOCK:
        if backend not in _ENCODERS:
            _ENCODERS[backend] = make_encoder(backend, notify)
        return _ENCODERS[backend]
