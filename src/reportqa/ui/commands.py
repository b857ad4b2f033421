"""The chat's slash commands: the one list of them (``COMMANDS``, read by /help, Tab
completion and dispatch) and their bodies. A body is ``cmd_NAME(chat, arg)``: it gets the
session it runs in explicitly, as a ``Chat``, the little of ``session.Session`` a command
may use, so this module imports nothing of the session's (the session imports it).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .. import render
from ..settings import MAX_K

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Answer, Citation

# name -> (argument, description); the order is the order of /help. The one list of
# commands: /help, Tab completion and dispatch (to cmd_NAME below) all read it.
COMMANDS: dict[str, tuple[str, str]] = {
    "/help": ("", "list these commands and keys"),
    "/sources": ("", "the files, index and model in use"),
    "/show": ("N", "citation N in full, with the passages around it"),
    "/k": ("N", "show N passages per answer (now {k})"),
    "/json": ("", "toggle JSON output of the last and next answers"),
    "/why": ("", "why the last answer was given or declined, and how its passages ranked"),
    "/new": ("", "forget the previous question: the next one is read on its own"),
    "/quit": ("", "leave (Ctrl-D does the same)"),
}
# /clear and /reset: what other chat tools call forgetting the conversation.
ALIASES = {"/exit": "/quit", "/q": "/quit", "/?": "/help", "/h": "/help", "/clear": "/new", "/reset": "/new"}
KEYS = (
    "Keys: Up and Down recall earlier questions, Right accepts the grey suggestion, "
    "Ctrl-R searches the history, Tab completes commands, Ctrl-C clears the line, Ctrl-D quits."
)


class Chat(Protocol):
    """What a command body may use of the session it runs in (``session.Session``)."""

    k: int  # passages per answer
    json_mode: bool
    last: Answer | None  # the previous answer, for /show, /why and /json

    @property
    def style(self) -> render.Style: ...

    def say(self, text: str) -> None:
        """Human text: the terminal, or in JSON Lines stderr (the session's one rule)."""

    def error(self, message: str) -> None: ...

    def show_json(self, answer: Answer) -> None:
        """An answer as JSON, as the session writes answers in JSON mode."""

    def sources(self) -> dict:
        """``Assistant.sources_info()``, once loading has finished."""

    def surroundings(self, citation: Citation, paragraphs: int) -> list[Citation]: ...

    def new(self) -> None:
        """Forget the previous question (the follow-up context)."""


def parse(text: str) -> tuple[str, str]:
    """"/K 5" -> ("/k", "5"): the command's name, aliases resolved, and its argument."""
    name, _, arg = text.partition(" ")
    name = name.lower()
    return ALIASES.get(name, name), arg.strip()


def body(name: str) -> Callable[[Chat, str], None] | None:
    """The body of a command named in COMMANDS (None for /quit, which the session handles)."""
    return BODIES.get(name)


def unknown(name: str) -> str:
    """The one-line error for an unknown command, with the nearest one when it is close."""
    close = difflib.get_close_matches(name, list(COMMANDS) + list(ALIASES), n=1, cutoff=0.5)
    hint = f" Did you mean {ALIASES.get(close[0], close[0])}?" if close else ""
    return f"unknown command {name}.{hint} Type /help to list the commands."


def describe(name: str, k: int) -> str:
    return COMMANDS[name][1].format(k=k)


def cmd_help(chat: Chat, arg: str) -> None:
    rows = [(f"{name} {a}".strip(), describe(name, chat.k)) for name, (a, _) in COMMANDS.items()]
    width = max(len(r[0]) for r in rows)
    style = chat.style
    lines = ["Type a question to get an answer quoted from the report, or a command:"]
    lines += [f"  {style.paint(c.ljust(width), render.NUMBER)}  {d}" for c, d in rows]
    chat.say("\n".join(lines) + "\n" + render.paragraph(KEYS, style) + "\n")


def cmd_sources(chat: Chat, arg: str) -> None:
    info = chat.sources()
    chat.say(render.sources_text(info, chat.style) + "\n")


def cmd_show(chat: Chat, arg: str) -> None:
    last = chat.last
    if last is None or not last.citations:
        chat.error("nothing to show yet: ask a question first, then /show 1.")
        return
    count = len(last.citations)
    try:
        number = int(arg)
    except ValueError:
        number = 0
    if not 1 <= number <= count:
        choices = "1" if count == 1 else f"from 1 to {count}"
        chat.error(f"/show needs a citation number {choices}, for example /show 1.")
        return
    cited = last.citations[number - 1]
    passages = chat.surroundings(cited, 1)
    quote = last.quote if number == 1 else None
    chat.say(render.show_text(number, cited, passages, chat.style, quote=quote) + "\n")


def cmd_k(chat: Chat, arg: str) -> None:
    if not arg:
        shown = f"{chat.k} passage{'s' if chat.k != 1 else ''}"
        chat.say(f"Showing {shown} per answer. Change it with /k N (1 to {MAX_K}).")
        return
    try:
        k = int(arg)
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_K:
        chat.error(f"/k needs a whole number from 1 to {MAX_K}, for example /k 5.")
        return
    chat.k = k
    chat.say(f"Showing {k} passage{'s' if k != 1 else ''} per answer from now on.")


def cmd_json(chat: Chat, arg: str) -> None:
    chat.json_mode = not chat.json_mode
    if not chat.json_mode:
        chat.say("JSON output off.")
        return
    chat.say("JSON output on.")
    if chat.last is not None:
        chat.show_json(chat.last)


def cmd_why(chat: Chat, arg: str) -> None:
    if chat.last is None:
        chat.error("nothing to explain yet: ask a question first, then /why.")
        return
    chat.say(render.why_text(chat.last, chat.style) + "\n")


def cmd_new(chat: Chat, arg: str) -> None:
    chat.new()
    chat.say("New conversation: the next question is read on its own.")


BODIES: dict[str, Callable[[Chat, str], None]] = {
    name: globals()["cmd_" + name[1:]] for name in COMMANDS if name != "/quit"
}
