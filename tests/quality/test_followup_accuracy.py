"""Follow-ups with the real model: on tests/data/followups.jsonl (each pair written from what a reader
would ask, before measuring) the chat finds the gold passage first far more often with the previous
question than without it."""

from __future__ import annotations

import json

from conftest import DATA

FOLLOWUPS = [json.loads(line) for line in (DATA / "followups.jsonl").read_text(encoding="utf-8").splitlines()]


def test_follow_ups_score_better_with_the_previous_question(bundled):
    """The real model on the follow-up set: the gold passage is found first far more often."""
    from reportqa.evaluate import evaluate

    class Chat:
        def __init__(self, a, context: bool):
            self.a, self.context, self.settings = a, context, a.settings
            self.abstain_threshold = a.abstain_threshold

        def with_settings(self, s):
            return Chat(self.a.with_settings(s), self.context)

        def answer(self, question, k=3):
            if not self.context:
                return self.a.answer(question, k=k)
            chat = self.a.chat()
            chat.ask(previous[question], k=k)
            return chat.ask(question, k=k)

    previous = {q["q"]: q["previous"] for q in FOLLOWUPS}
    alone = evaluate(Chat(bundled, False), FOLLOWUPS)["summary"]
    chained = evaluate(Chat(bundled, True), FOLLOWUPS)["summary"]
    assert chained["hit@1"] >= alone["hit@1"] + 0.2
    assert chained["contains_all"] > alone["contains_all"]
    assert chained["abstain_rate"] == 1.0  # the unanswerable follow-ups are still declined
