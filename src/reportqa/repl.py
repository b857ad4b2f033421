"""The chat REPL: a prompt_toolkit loop around callbacks that know the model.

Nothing here imports numpy or the assistant; the loop is driven by a
``Backend`` of plain callables, so tests run it with a fake through
``create_pipe_input()`` and ``DummyOutput()``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session, get_app
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.styles import Style as PromptStyle

from . import render
from .commands import ALIASES, COMMANDS, KEYS, MAX_K, CommandCompleter, SlashCommands  # noqa: F401 - re-exported
from .console import is_terminal, isatty
from .errors import ReportQAError
from .paths import history_path
from .settings import DEFAULT_K

if TYPE_CHECKING:  # pragma: no cover
    from .results import Answer, Citation

PROMPT = "reportqa> "

@dataclass
class Backend:
    """What the REPL needs from the assistant, as plain callables."""

    ask: Callable[[str, int], Answer]
    sources: Callable[[], dict]
    surroundings: Callable[[Citation, int], list[Citation]]
    ready: Callable[[], bool] = lambda: True  # False while a background load is running
    new: Callable[[], None] = lambda: None  # forget the previous turn (follow-up context)


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


class Repl(SlashCommands):
    """One chat session: questions are answered, ``/commands`` are run (``commands.py``)."""

    def __init__(
        self,
        backend: Backend,
        *,
        out: TextIO | None = None,
        style: render.Style | None = None,
        k: int = DEFAULT_K,
        json_mode: bool = False,
        err: TextIO | None = None,
        piped: bool = False,
    ):
        self.backend = backend
        self._out = out  # None: whatever sys.stdout is when writing
        self._err = err  # where error() writes; None: the same as out
        self._style = style
        self.k = k
        self.json_mode = json_mode
        self.piped = piped  # cli.answer_lines: JSON Lines carry only answers (SlashCommands.confirm)
        self.last: Answer | None = None
        self._notices: list[str] = []
        self._lock = threading.Lock()

    # -- output -------------------------------------------------------------
    @property
    def out(self) -> TextIO:
        return self._out if self._out is not None else sys.stdout

    @property
    def style(self) -> render.Style:
        # Asked each time so the text follows a resized terminal.
        return self._style if self._style is not None else render.Style.for_stream(sys.__stdout__)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def notify(self, message: str) -> None:
        """One-line notices from the core (stale index rebuilt and so on); any thread.

        They are queued and shown between prompts: writing while prompt_toolkit
        owns the terminal would garble the prompt or lose keystrokes.
        """
        with self._lock:
            self._notices.append(message)

    def flush_notices(self) -> None:
        with self._lock:
            notices, self._notices = self._notices, []
        for message in notices:
            self.say(render.notice_text(message, self.style))

    def wait_until_ready(self) -> None:
        """Say "loading…" and wait for the background load, showing its notices as they come.

        On a terminal the line counts the seconds, so a long rebuild never looks frozen.
        """
        if self.backend.ready():
            return
        live = isatty(self.out)
        dumb = live and not is_terminal(self.out)  # TERM=dumb: no "erase line" escape, overwrite with spaces
        started = time.monotonic()
        shown = ""

        def erase(text: str) -> str:
            """What takes the cursor back to the start of a line showing text, and blanks it."""
            if not dumb:
                return "\r\x1b[K"
            return "\r" + " " * render.cell_width(text) + "\r" if text else "\r"

        def draw(text: str) -> None:
            nonlocal shown
            if dumb:
                self.out.write(erase(shown) + self.style.paint(text, render.DIM))
            else:
                self.out.write("\r" + self.style.paint(text, render.DIM) + "\x1b[K")
            self.out.flush()
            shown = text

        if live:
            draw("loading…")
        else:
            self.say(self.style.paint("loading…", render.DIM))
        try:
            while not self.backend.ready():
                with self._lock:
                    pending = bool(self._notices)
                if pending:
                    if live:
                        self.out.write(erase(shown))
                    self.flush_notices()
                    if live:
                        draw(shown)
                seconds = int(time.monotonic() - started)
                if live and seconds >= 2 and shown != f"loading… {seconds} s":
                    draw(f"loading… {seconds} s")
                time.sleep(0.05)
        finally:
            if live:
                self.out.write(erase(shown))
                self.out.flush()

    def notice_on_stderr(self, message: str) -> None:
        stream = self._err if self._err is not None else sys.stderr
        stream.write(message + "\n")
        stream.flush()

    def error(self, message: str) -> None:
        if self._err is None:
            self.say(render.error_text(message, self.style))
        else:
            self._err.write(render.error_text(message, self.style) + "\n")
            self._err.flush()

    # -- input --------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Act on one line of input; False means the session should end."""
        text = line.strip()
        if not text:
            return True
        if is_leave_word(text):
            return False
        if text.startswith("/"):
            return self.command(text)
        self.question(text)
        return True

    def question(self, text: str) -> None:
        try:
            self.wait_until_ready()
            answer = self.backend.ask(text, self.k)
        except ReportQAError as exc:  # includes QuestionError: say it, keep the session
            self.error(str(exc))
            return
        except KeyboardInterrupt:
            self.say("Interrupted.")
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not end the session: one line
            self.unexpected(exc)
            return
        finally:
            self.flush_notices()
        self.last = answer
        self.show_answer(answer)

    def show_answer(self, answer: Answer) -> None:
        if answer.notice:
            self.say(render.notice_text(answer.notice, self.style))
        if answer.followup_to and not self.json_mode:
            self.say(render.followup_text(answer.followup_to, self.style))
        if self.json_mode:
            self.say(render.answer_json(answer, indent=2) + "\n")
        else:
            self.say(render.answer_text(answer, self.style) + "\n")

    def unexpected(self, exc: BaseException) -> None:
        self.error(f"unexpected {type(exc).__name__}: {exc} (set REPORTQA_DEBUG=1 for details)")
        if os.environ.get("REPORTQA_DEBUG"):
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)

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


def is_leave_word(text: str) -> bool:
    """A bare "quit" or "exit" ends the chat, typed or piped, as in most REPLs."""
    return text.strip().lower() in ("quit", "exit")


def _placeholder() -> FormattedText:
    # Hidden once the prompt is done, so Ctrl-D does not leave the hint in the scrollback.
    if get_app().is_done:
        return FormattedText([])
    return FormattedText([("class:placeholder", "ask about the report, or /help")])
