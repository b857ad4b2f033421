"""The chat's slash commands: the one list of them (``COMMANDS``, read by /help, Tab
completion and dispatch), their completion, and their bodies (``SlashCommands``, which
``repl.Repl`` takes on: each ``/name`` runs ``cmd_name``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING

from prompt_toolkit.completion import Completer, Completion

from . import render
from .errors import ReportQAError
from .settings import MAX_K

if TYPE_CHECKING:  # pragma: no cover
    from .repl import Backend
    from .results import Answer

# name -> (argument, description); the order is the order of /help. The one list of
# commands: /help, Tab completion and dispatch (to SlashCommands.cmd_NAME) all read it.
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


class SlashCommands:
    """The commands' bodies, for the chat (``repl.Repl``): they talk through its say and error."""

    backend: Backend
    k: int
    json_mode: bool
    piped: bool  # answering lines from a pipe, not a person at the prompt
    last: Answer | None

    def confirm(self, text: str) -> None:
        """A command's one-line confirmation. Into JSON Lines (piped, with --json or /json on)
        only answers go: there it goes to stderr, where the errors go."""
        if self.json_mode and self.piped:
            self.notice_on_stderr(text)
        else:
            self.say(text)

    def command(self, text: str) -> bool:
        name, _, arg = text.partition(" ")
        name = ALIASES.get(name.lower(), name.lower())
        arg = arg.strip()
        if name == "/quit":
            return False
        handler = getattr(self, "cmd_" + name[1:]) if name in COMMANDS else None
        if handler is None:
            close = difflib.get_close_matches(name, list(COMMANDS) + list(ALIASES), n=1, cutoff=0.5)
            hint = f" Did you mean {ALIASES.get(close[0], close[0])}?" if close else ""
            self.error(f"unknown command {name}.{hint} Type /help to list the commands.")
            return True
        try:
            handler(arg)
            self.flush_notices()
        except ReportQAError as exc:
            self.error(str(exc))
        except KeyboardInterrupt:
            self.say("Interrupted.")
        except Exception as exc:  # noqa: BLE001 - as above
            self.unexpected(exc)
        return True

    def describe(self, name: str) -> str:
        return COMMANDS[name][1].format(k=self.k)

    def cmd_help(self, arg: str) -> None:
        rows = [(f"{name} {a}".strip(), self.describe(name)) for name, (a, _) in COMMANDS.items()]
        width = max(len(r[0]) for r in rows)
        lines = ["Type a question to get an answer quoted from the report, or a command:"]
        lines += [f"  {self.style.paint(c.ljust(width), render.NUMBER)}  {d}" for c, d in rows]
        self.say("\n".join(lines) + "\n" + render.paragraph(KEYS, self.style) + "\n")

    def cmd_sources(self, arg: str) -> None:
        self.wait_until_ready()
        self.say(render.sources_text(self.backend.sources(), self.style) + "\n")

    def cmd_show(self, arg: str) -> None:
        if self.last is None or not self.last.citations:
            self.error("nothing to show yet: ask a question first, then /show 1.")
            return
        count = len(self.last.citations)
        try:
            number = int(arg)
        except ValueError:
            number = 0
        if not 1 <= number <= count:
            choices = "1" if count == 1 else f"from 1 to {count}"
            self.error(f"/show needs a citation number {choices}, for example /show 1.")
            return
        cited = self.last.citations[number - 1]
        passages = self.backend.surroundings(cited, 1)
        quote = self.last.quote if number == 1 else None
        self.say(render.show_text(number, cited, passages, self.style, quote=quote) + "\n")

    def cmd_k(self, arg: str) -> None:
        if not arg:
            shown = f"{self.k} passage{'s' if self.k != 1 else ''}"
            self.say(f"Showing {shown} per answer. Change it with /k N (1 to {MAX_K}).")
            return
        try:
            k = int(arg)
        except ValueError:
            k = 0
        if not 1 <= k <= MAX_K:
            self.error(f"/k needs a whole number from 1 to {MAX_K}, for example /k 5.")
            return
        self.k = k
        self.say(f"Showing {k} passage{'s' if k != 1 else ''} per answer from now on.")

    def cmd_json(self, arg: str) -> None:
        self.json_mode = not self.json_mode
        if not self.json_mode:
            self.say("JSON output off.")
            return
        self.say("JSON output on.")
        if self.last is not None:
            self.say(render.answer_json(self.last, indent=2) + "\n")

    def cmd_why(self, arg: str) -> None:
        if self.last is None:
            self.error("nothing to explain yet: ask a question first, then /why.")
            return
        self.say(render.why_text(self.last, self.style) + "\n")

    def cmd_new(self, arg: str) -> None:
        self.backend.new()
        self.confirm("New conversation: the next question is read on its own.")
