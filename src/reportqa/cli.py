"""Command line: the command bodies, and the one place that turns errors into exit codes.

Exit status: 0 success (including "not in the report"), 1 a problem with the
source, index or model (one line on stderr that says what to do), 2 a usage
error. The arguments are parsed by ``cli_parser.py``. Command bodies import the
assistant lazily so that ``--help`` and the REPL's first prompt never wait for
numpy or the model.
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
from .cli_parser import build_parser, refuse_chat_options_before
from .console import isatty, stderr_notice
from .errors import IndexError_, QuestionError, ReportQAError, SettingsError, SourceError  # noqa: F401 - SourceError: tests name cli.SourceError

if TYPE_CHECKING:  # pragma: no cover
    from .assistant import Assistant

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad arguments found after parsing; exits with status 2."""


# -- the assistant, created lazily ------------------------------------------------


def check_index_option(index_dir: Path | None) -> None:
    """``--index DIR`` may be a new folder, but in one that exists: a mistyped path must
    not quietly become a tree of new folders."""
    if index_dir is not None and not index_dir.parent.is_dir():
        raise IndexError_(
            f"There is no folder {index_dir.parent} to hold the index {index_dir.name}: "
            "create it first, or pass --index with a folder inside an existing one."
        )


def make_assistant(args: argparse.Namespace, notify: Callable[[str], None]) -> Assistant:
    """The one place the heavy core is imported (tests replace this function)."""
    from .assistant import Assistant

    store = getattr(args, "store", None)
    if store:  # --store: the passages live in a Milvus collection (stores/)
        from .settings import DEFAULT

        return Assistant(args.source, args.index_dir, notify=notify, settings=DEFAULT.with_(store=store))
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


def read_question(words: list[str], stdin: TextIO) -> str:
    if words == ["-"]:
        return stdin.read()
    return " ".join(words)


def cmd_ask(args: argparse.Namespace) -> int:
    question = read_question(args.question, sys.stdin)
    if not question.strip():
        raise UsageError("the question is empty: ask something about the report.")
    assistant = make_assistant(args, stderr_notice)
    answer = assistant.answer(question.strip(), k=args.k)
    if answer.notice:
        stderr_notice(answer.notice)
    if args.json:
        print(render.answer_json(answer, indent=2))
    else:
        print(render.answer_text(answer, render.Style.for_stream(sys.stdout)))
    return EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    if isatty(sys.stdin) and isatty(sys.stdout):
        return chat_terminal(args)
    assistant = make_assistant(args, stderr_notice)
    return answer_lines(assistant, sys.stdin, sys.stdout, k=args.k, json_mode=args.json)


def answer_lines(
    assistant: Any, lines: Iterable[str], out: TextIO, *, k: int, json_mode: bool
) -> int:
    """Non-terminal input: answer each non-empty line, plain text or JSON Lines.

    The chat's own session runs each line (``ui/session.py``): a line that starts with "/"
    is a chat command (/k and /json change what follows, /quit stops), and a bare "quit"
    or "exit" stops too. Each line is read on its own (no follow-ups), and errors go to stderr.
    """
    from .ui.session import Backend, Session

    backend = Backend(
        ask=lambda question, n: assistant.answer(question, k=n),
        sources=assistant.sources_info,
        surroundings=assistant.surroundings,
    )
    style = render.Style(color=False, width=render.terminal_width(out))
    session = Session(backend, out=out, err=sys.stderr, style=style, k=k, json_mode=json_mode, piped=True)
    for line in lines:
        if not session.handle(line):
            break
    return EXIT_OK


def chat_terminal(args: argparse.Namespace) -> int:
    from .conversation import Conversation
    from .ui.repl import Repl, open_history
    from .ui.session import Backend

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
    assistant = make_assistant(args, stderr_notice)
    bar = ProgressBar(sys.stderr) if isatty(sys.stderr) else None
    try:
        summary = assistant.build(force=args.force, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    files = f"{summary.files} file{'s' if summary.files != 1 else ''}"
    chunks = f"{summary.chunks} chunk{'s' if summary.chunks != 1 else ''}"
    if summary.rebuilt:
        print(f"Indexed {files}, {chunks} in {summary.seconds:.1f} s -> {assistant.location}")
    else:
        print(
            f"Index is up to date: {files}, {chunks} in {assistant.location} (--force rebuilds it)"
        )
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    if not args.questions.is_file():
        raise UsageError(f"no question file at {args.questions}: give the path of a .jsonl file.")
    from .evaluate import evaluate, format_report, load_questions

    questions = load_questions(args.questions)
    assistant = make_assistant(args, stderr_notice)
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
            refuse_chat_options_before(parser, args)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        check_index_option(args.index_dir)
        return COMMAND_BODIES[args.command](args)
    except UsageError as exc:
        print(f"reportqa {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (QuestionError, SettingsError) as exc:  # what was asked for, not the files: a usage error
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
