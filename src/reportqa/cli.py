"""Command line: argument parsing, and the one place that turns errors into exit codes.

Exit status: 0 success (including "not in the report"), 1 a problem with the
source, index or model (one line on stderr that says what to do), 2 a usage
error. Command bodies import the assistant lazily so that ``--help`` and the
REPL's first prompt never wait for numpy or the model.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import __version__, render
from .errors import QuestionError, ReportQAError, SourceError

if TYPE_CHECKING:  # pragma: no cover
    from .assistant import Assistant

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130

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


class UsageError(Exception):
    """Bad arguments found after parsing; exits with status 2."""


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


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


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
    k_option = argparse.ArgumentParser(add_help=False)
    k_option.add_argument(
        "-k", type=positive_int, default=3, metavar="N", help="passages to cite (default: 3)"
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    chat = commands.add_parser(
        "chat",
        parents=[where, k_option],
        help="chat about the report (the default)",
        description="Chat about the report: ask questions, get quoted answers with citations.",
        epilog=CHAT_EPILOG,
        formatter_class=formatter,
    )
    chat.add_argument("--json", action="store_true", help="answer in JSON (toggle with /json)")

    ask = commands.add_parser(
        "ask",
        parents=[where, k_option],
        help="answer one question and exit",
        description="Answer one question with a quote from the report and its citations.",
        epilog=ASK_EPILOG,
        formatter_class=formatter,
    )
    ask.add_argument(
        "question", nargs="+", metavar="QUESTION", help='the question, or "-" for stdin'
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object")

    index = commands.add_parser(
        "index",
        parents=[where],
        help="build or refresh the index of a report",
        description="Build or refresh the index of a report.",
        epilog=INDEX_EPILOG,
        formatter_class=formatter,
    )
    index.add_argument("--force", action="store_true", help="rebuild even if the index is fresh")

    evaluate = commands.add_parser(
        "eval",
        parents=[where],
        help="score answers against a file of questions",
        description="Score the assistant on a question file and list the misses.",
        epilog=EVAL_EPILOG,
        formatter_class=formatter,
    )
    evaluate.add_argument(
        "questions", type=Path, metavar="QUESTIONS.jsonl", help="the question file"
    )
    evaluate.add_argument(
        "--json", action="store_true", help="print the figures and misses as JSON"
    )
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


def _refuse_chat_options_before(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`reportqa --json ask …`: the option belongs after the command; say so (exit 2)."""
    for action in parser._actions:
        if action.dest.startswith("chat_") and getattr(args, action.dest) is not None:
            option = action.option_strings[-1]
            parser.error(f"{option} goes after the command: reportqa {args.command} {option} …")


# -- the assistant, created lazily ------------------------------------------------


def make_assistant(args: argparse.Namespace, notify: Callable[[str], None]) -> Assistant:
    """The one place the heavy core is imported (tests replace this function)."""
    from .assistant import Assistant

    return Assistant(args.source, args.index_dir, notify=notify)


class BackgroundAssistant:
    """Creates and loads the assistant in a thread, so the prompt appears at once.

    A load that failed is reported to the next caller and then retried, so a
    problem fixed in another terminal does not need a restart.
    """

    def __init__(self, factory: Callable[[], Assistant]):
        self._factory = factory
        self._done = threading.Event()
        self._assistant: Assistant | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        self._done.clear()
        threading.Thread(target=self._load, name="reportqa-load", daemon=True).start()

    def _load(self) -> None:
        try:
            assistant = self._factory()
            assistant.load()
            self._assistant = assistant
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by get()
            self._error = exc
        finally:
            self._done.set()

    def ready(self) -> bool:
        """True once the load has finished, well or badly (get() then raises the error)."""
        return self._done.is_set()

    def get(self) -> Assistant:
        self._done.wait()
        if self._error is not None:
            error, self._error = self._error, None
            self.start()
            raise error
        assert self._assistant is not None
        return self._assistant


# -- commands -------------------------------------------------------------------


def _stderr_notice(message: str) -> None:
    print(
        render.notice_text(message, render.Style.for_stream(sys.stderr)),
        file=sys.stderr,
    )


def read_question(words: list[str], stdin: TextIO) -> str:
    if words == ["-"]:
        return stdin.read()
    return " ".join(words)


def cmd_ask(args: argparse.Namespace) -> int:
    question = read_question(args.question, sys.stdin)
    if not question.strip():
        raise UsageError("the question is empty: ask something about the report.")
    assistant = make_assistant(args, _stderr_notice)
    answer = assistant.answer(question.strip(), k=args.k)
    if answer.notice:
        _stderr_notice(answer.notice)
    if args.json:
        print(render.answer_json(answer, indent=2))
    else:
        print(render.answer_text(answer, render.Style.for_stream(sys.stdout)))
    return EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    if sys.stdin.isatty() and sys.stdout.isatty():
        return chat_terminal(args)
    assistant = make_assistant(args, _stderr_notice)
    return answer_lines(assistant, sys.stdin, sys.stdout, k=args.k, json_mode=args.json)


def answer_lines(
    assistant: Any, lines: Iterable[str], out: TextIO, *, k: int, json_mode: bool
) -> int:
    """Non-terminal input: answer each non-empty line, plain text or JSON Lines.

    A line that starts with "/" is a chat command, run by the chat's own code
    (/k and /json change what follows, /quit stops); its errors go to stderr.
    """
    from .repl import Backend, Repl

    style = render.Style(color=False, width=render.terminal_width(out))
    out = _Tail(out)
    backend = Backend(
        ask=lambda question, n: assistant.answer(question, k=n),
        sources=assistant.sources_info,
        surroundings=assistant.surroundings,
    )
    repl = Repl(backend, out=out, err=sys.stderr, style=style, k=k, json_mode=json_mode)
    for line in lines:
        question = line.strip()
        if not question:
            continue
        if question.startswith("/"):
            if not repl.json_mode:
                out.gap()
            if not repl.command(question):
                break
            continue
        try:
            answer = assistant.answer(question, k=repl.k)
        except QuestionError as exc:
            print(
                f"reportqa: {render.printable(str(exc))} (question: {render.printable(question)[:80]})",
                file=sys.stderr,
            )
            continue
        repl.last = answer
        if answer.notice:
            _stderr_notice(answer.notice)
        if repl.json_mode:
            out.write(render.answer_json(answer) + "\n")
        else:
            out.gap()
            out.write(render.paragraph("Q: " + render.printable(question), style) + "\n")
            out.write(render.answer_text(answer, style) + "\n")
        out.flush()
    return EXIT_OK


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


def chat_terminal(args: argparse.Namespace) -> int:
    from .conversation import Conversation
    from .repl import Backend, Repl, open_history

    if args.source is not None:
        from .ingest import check_source

        # Cheap to check now; otherwise the chat would open only to fail on every question.
        check_source(args.source)
    # The loader's notices go through the REPL, which is created just below.
    loader = BackgroundAssistant(lambda: make_assistant(args, lambda message: repl.notify(message)))
    # The chat remembers the previous question, for follow-ups; /new forgets it.
    conversation = Conversation(lambda question, k: loader.get().answer(question, k=k))
    backend = Backend(
        ask=conversation.ask,
        sources=lambda: loader.get().sources_info(),
        surroundings=lambda citation, n: loader.get().surroundings(citation, n),
        ready=loader.ready,
        new=conversation.new,
    )
    repl = Repl(backend, k=args.k, json_mode=args.json)
    history, problem = open_history()
    session = repl.session(history)
    style = repl.style
    about = "the report" if args.source is None else render.printable(Path(args.source).name)
    repl.say(
        style.paint(f"reportqa {__version__}", render.BOLD)
        + f" · ask a question about {about} · /help for commands · Ctrl-D to quit"
    )
    if problem:
        repl.notify(problem)
    return repl.run(session, on_start=loader.start)


class ProgressBar:
    """``Embedding [#####-----]  30% 120/400  ETA 0:04`` on a terminal; nothing elsewhere.

    The counts are the texts being embedded: passages, and the sentences within them.
    """

    def __init__(self, stream: TextIO, label: str = "Embedding"):
        self.stream, self.label = stream, label
        self.started = time.monotonic()
        self.drawn = 0.0
        self.visible = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.drawn < 0.1:
            return
        self.drawn = now
        elapsed = now - self.started
        eta = "--:--" if done == 0 else _clock(elapsed / done * (total - done))
        percent = 100 * done // total if total else 100
        text = f" {percent:3d}% {done}/{total}  ETA {eta}"
        columns = render.terminal_width(self.stream) or 80
        width = max(10, min(40, columns - len(self.label) - len(text) - 3))
        filled = width * done // total if total else width
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}]{text}\x1b[K")
        self.stream.flush()
        self.visible = True

    def close(self) -> None:
        if self.visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def cmd_index(args: argparse.Namespace) -> int:
    assistant = make_assistant(args, _stderr_notice)
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        summary = assistant.build(force=args.force, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    files = f"{summary.files} file{'s' if summary.files != 1 else ''}"
    chunks = f"{summary.chunks} chunk{'s' if summary.chunks != 1 else ''}"
    if summary.rebuilt:
        print(f"Indexed {files}, {chunks} in {summary.seconds:.1f} s -> {assistant.index_dir}")
    else:
        print(
            f"Index is up to date: {files}, {chunks} in {assistant.index_dir} (--force rebuilds it)"
        )
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    if not args.questions.is_file():
        raise UsageError(f"no question file at {args.questions}: give the path of a .jsonl file.")
    from .evaluate import evaluate, format_report, load_questions

    questions = load_questions(args.questions)
    assistant = make_assistant(args, _stderr_notice)
    result = evaluate(assistant, questions)
    print(render.dumps(result, indent=2) if args.json else format_report(result))
    return EXIT_OK


COMMAND_BODIES = {"chat": cmd_chat, "ask": cmd_ask, "index": cmd_index, "eval": cmd_eval}


# -- entry point ------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (also for --help and usage errors)."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:  # a report or question the terminal cannot encode must not crash the output
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            # `reportqa [--source PATH] [--index DIR] [-k N] [--json]` is the chat.
            args = parser.parse_args(["chat", *argv])
        else:
            _refuse_chat_options_before(parser, args)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return COMMAND_BODIES[args.command](args)
    except UsageError as exc:
        print(f"reportqa {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except QuestionError as exc:
        print(f"reportqa {args.command}: error: {render.printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except ReportQAError as exc:
        print(f"reportqa: error: {render.printable(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`reportqa ask ... | head -1`); silence the final flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except OSError as exc:  # a file the core or the evaluator could not read or write
        print(f"reportqa: error: {render.printable(str(exc))}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
