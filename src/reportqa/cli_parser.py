"""The command line's arguments: the parser, its help texts, and the checks argparse
does not make (a question typed where a command belongs, an option before its command,
the nearest option to a mistyped one). ``cli.py`` runs the commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .settings import DEFAULT_K, MAX_K

DESCRIPTION = """\
Ask questions about a report. Every answer is a sentence quoted word for word
from the report, with a numbered citation: file, line and paragraph.
Runs offline. With no command, reportqa starts the chat."""

MAIN_EPILOG = """\
examples:
  reportqa                       chat about the bundled report
  reportqa ask When did the IOPC publish the full findings of Operation Amazon?
  reportqa ask --json "Who made the complaint?" | jq .text
  echo "Who made the complaint?" | reportqa
  reportqa index --source ~/reports --index ~/reports-index
  reportqa chat --source ~/reports --index ~/reports-index

exit status:
  0  success, including "not in the report"
  1  a problem with the source, the index or the model (the message says what to do)
  2  a usage error

Run `reportqa COMMAND --help` for the options of each command."""

CHAT_EPILOG = """\
In a terminal this opens the chat: type a question, or /help for the commands.
Ctrl-C clears the line, Ctrl-D quits. History is kept in $REPORTQA_HISTORY, else
$XDG_STATE_HOME/reportqa/history (~/.local/state/reportqa/history).

When stdin or stdout is not a terminal, each non-empty input line is answered
in turn, without prompts or colour; with --json, one JSON object per line.
A line that starts with / is a command, as in the chat (/quit stops reading).

examples:
  reportqa chat
  reportqa chat --source notes.md --index /tmp/notes-index
  reportqa chat < questions.txt
  reportqa chat --json < questions.txt > answers.jsonl"""

ASK_EPILOG = """\
The question may be given as several words; quoting it is optional. Use "-" to
read the question from stdin. With --json, one JSON object is printed with the
keys question, answered, text, confidence, citations (each with source, start,
end, line, paragraph, text, score), quote and notice.

examples:
  reportqa ask "When did the IOPC publish the full findings of Operation Amazon?"
  reportqa ask who made the complaint
  reportqa ask -k 5 --json "What did SYP disagree with?"
  echo "Who is Jayne Senior?" | reportqa ask -
  reportqa ask --source ~/reports --index ~/reports-index "What changed in 2021?"

exit status: 0 answered or "not in the report", 1 source/index problem, 2 usage error."""

INDEX_EPILOG = """\
Builds the index (chunks, their embeddings and a manifest) for a source, or
leaves a fresh one alone. A stale index is also rebuilt automatically when it
is used. Progress is shown on stderr when it is a terminal.

examples:
  reportqa index
  reportqa index --force
  reportqa index --source ~/reports --index ~/reports-index"""

EVAL_EPILOG = """\
QUESTIONS.jsonl holds one question per line, as in ../shared/benchmarks:
  {"id": "q1", "q": "...", "answers": ["..."], "spans": [[start, end], ...]}
  {"id": "q2", "q": "...", "answerable": false}
Prints hit@1, hit@3, MRR@10, answer-contains, mean answer length and the
abstention figures, then a table of the questions that were missed.

examples:
  reportqa eval tests/data/questions.jsonl
  reportqa eval ../shared/benchmarks/squad2-articles/normans.questions.jsonl \\
      --source ../shared/benchmarks/squad2-articles/normans.txt --index /tmp/normans-index
  reportqa eval questions.jsonl --json > scores.json"""


class Parser(argparse.ArgumentParser):
    """argparse, with a hint when a question is typed where a command belongs."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}  # name -> its parser, set on the top one
        self.argv: list[str] = []  # what parse_args was given

    def error(self, message: str):  # type: ignore[override]
        if "invalid choice" in message and self.prog == "reportqa":
            # `reportqa --sorce notes.md`: the unknown option, not its value, is the mistake.
            options = [o for action in self._actions for o in action.option_strings]
            unknown = [
                a for a in self.argv
                if a.startswith("-") and a != "-" and not any(o.startswith(a.split("=", 1)[0]) for o in options)
            ]
            if unknown:
                message = unrecognized(self, unknown)
            else:
                message += '\nTo ask one question: reportqa ask "YOUR QUESTION"; to chat: reportqa'
        super().error(message)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """As argparse, but an unknown option is reported by the command it was given to,
        with that command's usage and the nearest option it has ("--index-dir": --index)."""
        self.argv = list(sys.argv[1:] if args is None else args)
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self.commands.get(getattr(namespace, "command", None) or "", self)
            command.error(unrecognized(command, extras))
        return namespace


def unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """"unrecognized arguments: …", with the nearest option the parser has to the first unknown one."""
    import difflib

    options = [o for action in parser._actions for o in action.option_strings]
    unknown = [e.split("=", 1)[0] for e in extras if e.startswith("-") and e != "-"]
    near = difflib.get_close_matches(unknown[0], options, n=1) if unknown else []
    return f"unrecognized arguments: {' '.join(extras)}" + (f" (did you mean {near[0]}?)" if near else "")


def k_value(text: str) -> int:
    """-k N: a whole number from 1 to MAX_K, as the chat's /k takes."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    if value > MAX_K:
        raise argparse.ArgumentTypeError(f"must be {MAX_K} or less (the most passages an answer cites), got {value}")
    return value


def store_uri(text: str) -> str:
    """--store: checked now, so a typo is a usage error (exit 2)."""
    from .errors import StoreError
    from .stores.uri import parse_store

    try:
        parse_store(text)
    except StoreError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog="reportqa", description=DESCRIPTION, epilog=MAIN_EPILOG, formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"reportqa {__version__}")

    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--source",
        metavar="PATH",
        type=Path,
        help="a .txt/.md file or a folder of them (default: the bundled report)",
    )
    where.add_argument(
        "--index",
        metavar="DIR",
        type=Path,
        dest="index_dir",
        help="the index folder for that source (default: chosen for the source)",
    )
    where.add_argument(
        "--store",
        metavar="URI",
        type=store_uri,
        help="where the passages live: files (the index folder, the default), milvus:PATH.db "
        "(Milvus Lite) or milvus://HOST:PORT (a Milvus server; token from REPORTQA_MILVUS_TOKEN)",
    )
    k_option = argparse.ArgumentParser(add_help=False)
    k_option.add_argument(
        "-k", type=k_value, default=DEFAULT_K, metavar="N", help=f"passages to cite, 1 to {MAX_K} (default: {DEFAULT_K})"
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    def command(name: str, parents: list, summary: str, description: str, epilog: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=parents, help=summary, description=description,
                                   epilog=epilog, formatter_class=formatter)

    chat = command("chat", [where, k_option], "chat about the report (the default)",
                   "Chat about the report: ask questions, get quoted answers with citations.", CHAT_EPILOG)
    chat.add_argument("--json", action="store_true", help="answer in JSON (toggle with /json)")

    ask = command("ask", [where, k_option], "answer one question and exit",
                  "Answer one question with a quote from the report and its citations.", ASK_EPILOG)
    ask.add_argument("question", nargs="+", metavar="QUESTION", help='the question, or "-" for stdin')
    ask.add_argument("--json", action="store_true", help="print one JSON object")

    index = command("index", [where], "build or refresh the index of a report",
                    "Build or refresh the index of a report.", INDEX_EPILOG)
    index.add_argument("--force", action="store_true", help="rebuild even if the index is fresh")

    evaluate = command("eval", [where], "score answers against a file of questions",
                       "Score the assistant on a question file and list the misses.", EVAL_EPILOG)
    evaluate.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl", help="the question file")
    evaluate.add_argument("--json", action="store_true", help="print the figures and misses as JSON")
    parser.commands = dict(commands.choices)
    # `reportqa` alone is `reportqa chat`, so it takes the chat's options too:
    # `reportqa --source notes.md`. They are parsed again by `chat` (see main).
    alone = parser.add_argument_group("options of the chat (reportqa with no command)")
    for action in chat._actions:
        if action.option_strings and action.dest != "help":
            _copy_option(alone, action)
    return parser


def _copy_option(group: Any, action: argparse.Action) -> None:
    """Add a chat option to the top-level parser, under a dest of its own (chat_...)."""
    kwargs: dict[str, Any] = {"dest": f"chat_{action.dest}", "default": None, "help": action.help}
    if isinstance(action, argparse._StoreTrueAction):
        kwargs["action"] = "store_true"
    else:
        kwargs.update(metavar=action.metavar, type=action.type)
    group.add_argument(*action.option_strings, **kwargs)


def refuse_chat_options_before(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`reportqa --json ask …`: the option belongs after the command; say so (exit 2)."""
    for action in parser._actions:
        if action.dest.startswith("chat_") and getattr(args, action.dest) is not None:
            option = action.option_strings[-1]
            parser.error(f"{option} goes after the command: reportqa {args.command} {option} …")
