"""reportqa: offline, extractive question answering over a report, with exact citations."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Answer", "Assistant", "Citation", "Quote", "ReportQAError", "answer", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .assistant import Assistant, answer
    from .errors import ReportQAError
    from .results import Answer, Citation, Quote


def __getattr__(name: str):
    # Imported on first use so that `reportqa --help` and the REPL's first
    # prompt never wait for numpy, the tokenizer or the model.
    if name in ("Assistant", "answer"):
        from . import assistant as _assistant

        return getattr(_assistant, name)
    if name in ("Answer", "Citation", "Quote"):
        from . import results

        return getattr(results, name)
    if name == "ReportQAError":
        from .errors import ReportQAError

        return ReportQAError
    raise AttributeError(f"module 'reportqa' has no attribute {name!r}")
