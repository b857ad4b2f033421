"""Where reportqa keeps what it makes outside the project: indexes of other reports, the ONNX
model, the chat history."""

from __future__ import annotations

import os
from pathlib import Path


def _user_dir(variable: str, default: str) -> Path:
    """``$variable/reportqa``, else ``~/<default>/reportqa`` (the XDG base directories)."""
    return Path(os.environ.get(variable) or Path.home() / default) / "reportqa"


def cache_dir() -> Path:
    """$REPORTQA_CACHE_DIR, else $XDG_CACHE_HOME/reportqa, else ~/.cache/reportqa."""
    if os.environ.get("REPORTQA_CACHE_DIR"):
        return Path(os.environ["REPORTQA_CACHE_DIR"])
    return _user_dir("XDG_CACHE_HOME", ".cache")


def history_path() -> Path:
    """``$REPORTQA_HISTORY``, else ``$XDG_STATE_HOME/reportqa/history`` (``~/.local/state``)."""
    override = os.environ.get("REPORTQA_HISTORY")
    if override:
        return Path(override).expanduser()
    return _user_dir("XDG_STATE_HOME", ".local/state").expanduser() / "history"


def bundled_root() -> Path:
    """The folder that holds the bundled report (source_text/) and its index (index/).

    In an installed wheel they are package data, reportqa/_bundled/; in a source
    checkout or an editable install they are the repository's top-level folders.
    """
    package = Path(__file__).resolve().parent
    installed = package / "_bundled"
    if (installed / "source_text").is_dir():
        return installed
    return package.parents[1]
