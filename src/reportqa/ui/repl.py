"""The chat at a terminal: the prompt_toolkit loop (the prompt, Tab completion of the
commands, the history file, Ctrl-C and Ctrl-D) around a ``session.Session``, which
answers each line.

Nothing here imports numpy or the assistant; the session is driven by a ``Backend`` of
plain callables, so tests run it with a fake through ``create_pipe_input()`` and
``DummyOutput()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session, get_app
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.styles import Style as PromptStyle

from .. import render
from ..console import is_terminal, isatty
from ..paths import history_path
from .commands import COMMANDS
from .session import Session

PROMPT = "reportqa> "


class CommandCompleter(Completer):
    """Tab completion for slash commands, with their descriptions."""

    def __init__(self, describe: Callable[[str], str]):
        self.describe = describe

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        if not text.startswith("/") or " " in text:
            return
        for name in COMMANDS:
            if name.startswith(text):
                yield Completion(name, start_position=-len(text), display_meta=self.describe(name))


def open_history(path: Path | None = None) -> tuple[History, str]:
    """A file history, or an in-memory one plus a one-line notice when the file is unusable."""
    path = path or history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return (
            InMemoryHistory(),
            f"History is not saved this session: cannot write {path} ({reason}).",
        )
    return FileHistory(str(path)), ""


class Repl(Session):
    """The chat at a terminal: a ``session.Session`` read from a prompt_toolkit prompt."""

    # -- the loop -----------------------------------------------------------
    def session(self, history: History | None = None, **kwargs: Any) -> PromptSession:
        if "output" not in kwargs and isatty(self.out) and not is_terminal(self.out):
            # TERM=dumb. Made under an app session whose output writes no cursor codes: the
            # session keeps that output and still uses prompt_toolkit's plain prompt for dumb
            # terminals, which an explicit ``output=`` would turn off.
            with create_app_session(output=_DumbOutput.from_pty(self.out, term="dumb")):
                return self._session(history, **kwargs)
        return self._session(history, **kwargs)

    def _session(self, history: History | None, **kwargs: Any) -> PromptSession:
        return PromptSession(
            history=history if history is not None else InMemoryHistory(),
            auto_suggest=AutoSuggestFromHistory(),
            completer=CommandCompleter(self.describe),
            complete_while_typing=True,
            placeholder=_placeholder,
            style=PromptStyle.from_dict({"prompt": "bold", "placeholder": "#888888"}),
            enable_suspend=True,
            **kwargs,
        )

    def run(self, session: PromptSession, *, on_start: Callable[[], None] | None = None) -> int:
        """Prompt until Ctrl-D or /quit; Ctrl-C clears the line. Returns the exit status."""
        started = hinted = loading = False

        def start_loading() -> None:
            nonlocal loading
            if on_start is not None and not loading:
                loading = True
                on_start()

        while True:
            try:
                if not started and on_start is not None:
                    # Queued on the prompt's event loop, so it runs once the first prompt
                    # has been drawn: heavy work never delays it.
                    line = session.prompt(
                        PROMPT, pre_run=lambda: asyncio.get_running_loop().call_soon(start_loading)
                    )
                else:
                    line = session.prompt(PROMPT)
                started = True
                start_loading()  # prompt_toolkit's fallback for TERM=dumb never calls pre_run
            except KeyboardInterrupt:
                started = True
                start_loading()
                if not session.default_buffer.text and not hinted:
                    # Ctrl-C on an empty line: people often expect it to quit.
                    hinted = True
                    self.say(self.style.paint("(Ctrl-D or /quit leaves the chat)", render.DIM))
                continue
            except EOFError:
                return 0
            if not self.handle(line):
                return 0


class _DumbOutput(Vt100_Output):
    """prompt_toolkit's output for TERM=dumb (an Emacs shell buffer, say). Its plain prompt for
    such terminals writes only text, but creating the session still shows the cursor with
    escape codes, which a dumb terminal prints as junk; here they are not written."""

    def show_cursor(self) -> None:
        pass

    def hide_cursor(self) -> None:
        pass

    def reset_cursor_shape(self) -> None:
        pass


def _placeholder() -> FormattedText:
    # Hidden once the prompt is done, so Ctrl-D does not leave the hint in the scrollback.
    if get_app().is_done:
        return FormattedText([])
    return FormattedText([("class:placeholder", "ask about the report, or /help")])
