"""Follow-up questions in a chat, for benchmarks/quality.py (``--followups``): pairs asked with and
without the previous question, and what reading a chat does to standalone questions."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.tables import macro, summary, table
from benchmarks.variants import BUNDLED_QUESTIONS, reader_for
from reportqa import Assistant
from reportqa.evaluate import evaluate, load_questions
from reportqa.reader.cross import shipped_cross_params
from reportqa.settings import DEFAULT_K, Settings
from training import fit_data, fitting

ROOT = Path(__file__).resolve().parents[1]
FOLLOWUP_QUESTIONS = ROOT / "tests" / "data" / "followups.jsonl"
NOT_FOLLOWUPS = ROOT / "tests" / "data" / "not_followups.jsonl"  # complete questions and greetings


class Chat:
    """evaluate() adapter: questions asked in a chat (``Assistant.chat()``) instead of alone.

    ``previous`` maps a question to the one asked just before it (a follow-up pair);
    without it, the questions are one chat in the order evaluate() asks them (a file's
    standalone questions, each after the one before it). ``mode``: "alone" (no context),
    "chat" (the shipped Conversation: question, then the earlier one), "previous first"
    (the earlier question, then this one) or "any length" (a pronoun or an opening
    marks a follow-up however many content words the question has).
    """

    def __init__(self, a: Assistant, mode: str = "chat", previous: dict[str, str] | None = None, fired: list | None = None):
        self.a, self.mode, self.previous = a, mode, previous
        self.conversation = a.chat()
        if mode == "any length":
            from reportqa.conversation import Conversation, is_followup

            self.conversation = Conversation(a.answer, lambda q: is_followup(q, max_terms=None))
        self.fired = fired if fired is not None else []  # shared with with_settings() twins

    @property
    def settings(self) -> Settings:
        return self.a.settings

    @property
    def abstain_threshold(self) -> float:
        return self.a.abstain_threshold

    def with_settings(self, settings: Settings) -> "Chat":
        return Chat(self.a.with_settings(settings), self.mode, self.previous, self.fired)

    def answer(self, question: str, k: int = DEFAULT_K):
        if self.mode == "alone":
            return self.a.answer(question, k=k)
        if self.previous is not None:
            self.conversation.new()
            self.conversation.ask(self.previous[question], k=k)
        if self.mode == "previous first":
            earlier = self.conversation.context(question)
            self.conversation.ask(question, k=k)  # keeps the thread as the chat would
            if earlier:
                self.fired.append(question)
                return self.a.answer(" ".join([*reversed(earlier), question]), k=k)
            return self.a.answer(question, k=k)
        answer = self.conversation.ask(question, k=k)
        if answer.followup_to:
            self.fired.append(question)
        return answer


def chat_score(a: Assistant, questions: list[dict], mode: str, pairs: bool) -> dict:
    """evaluate() through a Chat; the summary gains "fired" (questions read as follow-ups)."""
    previous = {q["q"]: q["previous"] for q in questions} if pairs else None
    if previous is not None:
        assert len(previous) == len(questions), "follow-up questions must be distinct"
    chat = Chat(a, mode, previous)
    s = summary(evaluate(chat, questions))
    s["fired"], s["n"] = len(chat.fired), len(questions)
    return s


FOLLOWUP_COLUMNS = [("hit@1", "hit@1"), ("hit@3", "hit@3"), ("MRR@10", "mrr@10"), ("contains", "contains_all"),
                    ("contains (abst.)", "contains"), ("chars", "answer_chars"), ("answered", "answered_rate"),
                    ("abstained", "abstain_rate"), ("read as follow-ups", "fired")]


def followup_table(title: str, rows: dict[str, dict]) -> str:
    return table(title, rows, FOLLOWUP_COLUMNS)


def run_followups(encoder, squad: bool = True, sets: dict | None = None, fitted: dict | None = None) -> str:
    """Follow-up pairs with and without the previous question, and what a chat does to standalone questions."""
    bundled = Assistant(encoder=encoder, notify=lambda m: None)
    bundled.load()
    fqs = load_questions(FOLLOWUP_QUESTIONS)
    out = [followup_table(
        f"Follow-up pairs ({len(fqs)} questions, each asked right after its previous question)",
        {
            "without context (the question alone)": chat_score(bundled, fqs, "alone", True),
            "with context (shipped: question + previous question)": chat_score(bundled, fqs, "chat", True),
            "with context, previous question first": chat_score(bundled, fqs, "previous first", True),
            "with context, detector without the length cap": chat_score(bundled, fqs, "any length", True),
        },
    )]
    bqs = load_questions(BUNDLED_QUESTIONS)
    rows = {
        "bundled set, each question alone": chat_score(bundled, bqs, "alone", False),
        "bundled set, one chat in file order": chat_score(bundled, bqs, "chat", False),
        "bundled set, one chat, detector without the length cap": chat_score(bundled, bqs, "any length", False),
    }
    if squad and fit_data.SHARED.is_dir():
        if sets is None or fitted is None:  # the shipped reader, refitted leaving each article out
            sets = fit_data.assistants(encoder)
            names = fit_data.cross_features(reader_for(shipped_cross_params()).model, reader_for(shipped_cross_params()).candidates)
            items = fit_data.collect(sets, names=names, absent=True)
            fitted = {held: fitting.fitted_params(sets, items, exclude=held, names=names) for held in fit_data.ARTICLES}
        for mode, label in (
            ("alone", "each question alone"),
            ("chat", "one chat per article in file order"),
            ("any length", "one chat per article, detector without the length cap"),
        ):
            per = [chat_score(a.with_settings(a.settings, reader=reader_for(fitted[slug])), qs, mode, False) for slug, (a, qs) in sets.items()]
            row = macro(per)
            row["fired"], row["n"] = sum(p["fired"] for p in per), sum(p["n"] for p in per)
            rows[f"SQuAD macro (LOAO), {label}"] = row
    out.append(followup_table("Standalone questions in a chat", rows))
    out.append(not_followups_line())
    return "\n\n".join(out)


def not_followups_line() -> str:
    """How many complete questions (holding they, it or any) and greetings the detector reads as follow-ups."""
    from reportqa.conversation import is_followup

    rows = [json.loads(line) for line in NOT_FOLLOWUPS.read_text(encoding="utf-8").splitlines()]
    fired = {kind: sum(is_followup(r["q"]) for r in rows if r["kind"] == kind) for kind in ("complete", "greeting")}
    counts = {kind: sum(r["kind"] == kind for r in rows) for kind in fired}
    return (f"Read as follow-ups right after another question ({NOT_FOLLOWUPS.name}): "
            f"{fired['complete']} of {counts['complete']} complete questions, {fired['greeting']} of {counts['greeting']} greetings")
