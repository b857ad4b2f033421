"""One chat session, the same for the terminal (``repl.Repl``) and a pipe (``cli.answer_lines``):
a line comes in (a question, a ``/command`` or a word that leaves) and what it gives goes out.

The session keeps what the commands share: the ``Backend`` (the assistant as plain
callables), k, JSON mode and the previous answer. Nothing here imports numpy, the
assistant or prompt_toolkit, so tests drive it with a fake.

Piped (``piped=True``): each answer in text starts with a ``Q:`` line and blocks are set apart
by one blank line; an answer's notice and a refused question go to stderr, and a problem
with the source, the index or the model ends the run (the command line's exit status).
The one rule of JSON Lines (piped, with --json or /json on): stdout carries only answers,
one JSON object a line; whatever else the session says goes to stderr.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from .. import render
from ..console import is_terminal, isatty
from ..errors import QuestionError, ReportQAError
from ..settings import DEFAULT_K
from . import commands

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Answer, Citation


@dataclass
class Backend:
    """What a session needs from the assistant, as plain callables."""

    ask: Callable[[str, int], Answer]
    sources: Callable[[], dict]
    surroundings: Callable[[Citation, int], list[Citation]]
    ready: Callable[[], bool] = lambda: True  # False while a background load is running
    new: Callable[[], None] = lambda: None  # forget the previous turn (follow-up context)


def is_leave_word(text: str) -> bool:
    """A bare "quit" or "exit" ends the chat, typed or piped, as in most REPLs."""
    return text.strip().lower() in ("quit", "exit")


class Session:
    """A chat: questions are answered through the backend, ``/commands`` run (``commands.py``)."""

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
        self._tail = _Tail(out if out is not None else sys.stdout) if piped else None
        self._out = self._tail if self._tail is not None else out  # None: sys.stdout when writing
        self._err = err  # where errors go; None: the same as out
        self._style = style
        self.k = k
        self.json_mode = json_mode
        self.piped = piped  # answering lines from a pipe, not a person at the prompt
        self.last: Answer | None = None
        self._notices: list[str] = []
        self._lock = threading.Lock()

    # -- output -------------------------------------------------------------
    @property
    def out(self) -> TextIO:
        return self._out if self._out is not None else sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err if self._err is not None else sys.stderr

    @property
    def style(self) -> render.Style:
        # Asked each time so the text follows a resized terminal.
        return self._style if self._style is not None else render.Style.for_stream(sys.__stdout__)

    @property
    def json_lines(self) -> bool:
        """Is stdout JSON Lines now? Then it carries nothing but answers."""
        return self.piped and self.json_mode

    def say(self, text: str) -> None:
        """What the session says besides answers; in JSON Lines it goes to stderr."""
        stream = self.err if self.json_lines else self.out
        stream.write(text + "\n")
        stream.flush()

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
        out = self.out
        live = isatty(out)
        dumb = live and not is_terminal(out)  # TERM=dumb: no "erase line" escape, overwrite with spaces
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
                out.write(erase(shown) + self.style.paint(text, render.DIM))
            else:
                out.write("\r" + self.style.paint(text, render.DIM) + "\x1b[K")
            out.flush()
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
                        out.write(erase(shown))
                    self.flush_notices()
                    if live:
                        draw(shown)
                seconds = int(time.monotonic() - started)
                if live and seconds >= 2 and shown != f"loading… {seconds} s":
                    draw(f"loading… {seconds} s")
                time.sleep(0.05)
        finally:
            if live:
                out.write(erase(shown))
                out.flush()

    def error(self, message: str) -> None:
        if self._err is None:
            self.say(render.error_text(message, self.style))
        else:
            self._err.write(render.error_text(message, self.style) + "\n")
            self._err.flush()

    def unexpected(self, exc: BaseException) -> None:
        self.error(f"unexpected {type(exc).__name__}: {exc} (set REPORTQA_DEBUG=1 for details)")
        if os.environ.get("REPORTQA_DEBUG"):
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)

    def show_answer(self, answer: Answer) -> None:
        if self.piped:
            if answer.notice:
                self.err.write(render.notice_text(answer.notice, render.Style.for_stream(self.err)) + "\n")
                self.err.flush()
            if self.json_mode:
                self.show_json(answer)
                return
            self._gap()
            self.out.write(render.paragraph("Q: " + render.printable(answer.question), self.style) + "\n")
            self.out.write(render.answer_text(answer, self.style) + "\n")
            self.out.flush()
            return
        if answer.notice:
            self.say(render.notice_text(answer.notice, self.style))
        if answer.followup_to and not self.json_mode:
            self.say(render.followup_text(answer.followup_to, self.style))
        if self.json_mode:
            self.show_json(answer)
        else:
            self.say(render.answer_text(answer, self.style) + "\n")

    def show_json(self, answer: Answer) -> None:
        """An answer as JSON: one line of JSON Lines when piped, indented for a person."""
        if self.piped:
            self.out.write(render.answer_json(answer) + "\n")
            self.out.flush()
        else:
            self.say(render.answer_json(answer, indent=2) + "\n")

    def _gap(self) -> None:
        if self._tail is not None:
            self._tail.gap()

    # -- what the commands ask of the backend (commands.Chat) ---------------------
    def sources(self) -> dict:
        self.wait_until_ready()
        return self.backend.sources()

    def surroundings(self, citation: Citation, paragraphs: int) -> list[Citation]:
        return self.backend.surroundings(citation, paragraphs)

    def new(self) -> None:
        self.backend.new()

    def describe(self, name: str) -> str:
        return commands.describe(name, self.k)

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
        except QuestionError as exc:  # what was asked cannot be: say it, go on
            self.refused(text, exc)
            return
        except ReportQAError as exc:  # the source, index or model: a person can fix it and ask again
            if self.piped:
                raise  # a pipe stops: the command line's one-line error and exit status 1
            self.error(str(exc))
            return
        except KeyboardInterrupt:
            if self.piped:
                raise
            self.say("Interrupted.")
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not end the chat: one line
            if self.piped:
                raise
            self.unexpected(exc)
            return
        finally:
            self.flush_notices()
        self.last = answer
        self.show_answer(answer)

    def refused(self, text: str, exc: QuestionError) -> None:
        if not self.piped:
            self.error(str(exc))
            return
        # Which line it was, since the other lines are still answered.
        question = render.printable(text)[:80]
        self.err.write(f"reportqa: {render.printable(str(exc))} (question: {question})\n")
        self.err.flush()

    def command(self, text: str) -> bool:
        """Run a ``/command``; False for /quit."""
        name, arg = commands.parse(text)
        if name == "/quit":
            return False
        if not self.json_mode:
            self._gap()
        body = commands.body(name)
        if body is None:
            self.error(commands.unknown(name))
            return True
        try:
            body(self, arg)
            self.flush_notices()
        except ReportQAError as exc:
            self.error(str(exc))
        except KeyboardInterrupt:
            self.say("Interrupted.")
        except Exception as exc:  # noqa: BLE001 - as above
            self.unexpected(exc)
        return True


class _Tail:
    """A text stream that remembers how its output ends, to put one blank line between blocks."""

    def __init__(self, stream: TextIO):
        self.stream, self.tail, self.pending = stream, "", False

    def write(self, text: str) -> int:
        if self.pending and text:
            self.pending = False
            if self.tail and self.tail != "\n\n":
                self.write("\n")
        self.tail = (self.tail + text)[-2:]
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    def gap(self) -> None:
        """A blank line before what is written next, unless it is the first output or follows one."""
        self.pending = True
