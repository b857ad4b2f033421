"""ONNX Runtime, set up the same way for every model: quiet, on the CPU."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError


def import_onnxruntime():
    """The onnxruntime module, or a ModelError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError("onnxruntime is not installed: run `pip install onnxruntime`.") from exc
    return onnxruntime


def session(path: str | Path, ort=None, *, spin: bool = True):
    """An inference session for the graph at path (warnings and info not logged).

    ``spin=False`` stops the session's worker threads from busy-waiting for more work
    after each run. The encoder runs just before the reader on every question; its
    threads spinning on the machine's 2 cores meanwhile slowed the reader's call from
    about 73 ms to 135 ms (benchmarks/speed.py, docs/speed.md), so the encoder does
    not spin. The passage reader (models.spanreader) does not spin either: it runs just before
    the cross-encoder in the span+cross and gated readers, and its spinning threads added about
    50 ms a question there (gated, 1 passage, warm p50 in benchmarks/reader_speed.py: 163 ms
    against cross alone's 85 before, 115 against 86 after). The cross-encoder keeps spinning,
    which its own parallel sections gain from."""
    ort = ort or import_onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def reader_session(path: Path, what: str, format_key: str, fmt: int, *, spin: bool = True):
    """(session, metadata) of a shipped reader graph, checked to be of format ``fmt`` under
    ``format_key``; a ModelError names the reader (``what``) and says what to do."""
    try:
        import onnxruntime as ort
        import tokenizers  # noqa: F401 - checked here, used by the reader's tokenizer
    except ImportError as exc:
        raise ModelError(f"The {what} needs {exc.name}: run `pip install -e .`.") from exc
    try:
        loaded = session(path, ort, spin=spin)
    except Exception as exc:  # noqa: BLE001 - ORT raises its own types for unreadable models
        raise ModelError(f"ONNX Runtime cannot load the {what} {path} ({type(exc).__name__}): reinstall reportqa.") from None
    meta = dict(loaded.get_modelmeta().custom_metadata_map)
    if meta.get(format_key) != str(fmt):
        raise ModelError(f"{path} is not a reportqa {what} of format {fmt}: reinstall reportqa.")
    return loaded, meta
