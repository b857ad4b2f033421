"""Follow-up questions in a chat: "What about in the later years?" read with the previous turn.

``Assistant.answer()`` is stateless. A ``Conversation`` (``Assistant.chat()``) keeps
the previous turn, and a short or anaphoric question is answered as itself
followed by the question(s) it follows up:

    "What about in the later years? How did the watchdog rate the force's overall response?"

The current question comes first, so its own wording decides the kind of answer
sought (a "when" or yes/no question is recognised by how the question opens), and the
previous question adds the topic its pronouns and ellipses leave out. The answer's
``question`` stays what was typed; ``followup_to`` names the question(s) added.

Only the standard library (and ``text``'s lazy stemmer) is imported here.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Callable

from .settings import DEFAULT_K
from .text import terms, words

if TYPE_CHECKING:  # pragma: no cover
    from .results import Answer

# Third-person and demonstrative pronouns that point back at something said before.
# "that" is left out: it is far more often a conjunction ("said that ...").
PRONOUNS = frozenset(
    "it its itself they them their theirs themselves he him his himself she her hers herself "
    "this these those".split()
)
# Openings that continue the previous question rather than start a new one.
OPENINGS = (("what", "about"), ("how", "so"), ("and",), ("why",))
# A pronoun or an opening marks a follow-up only in a question this short (content words):
# a longer one names its own subject ("On what date did the IOPC release its full finding?").
MAX_TERMS = 3


def is_followup(question: str, max_terms: int | None = MAX_TERMS) -> bool:
    """Does this question lean on the one before it?

    Yes when it has at most one content word ("When?", "Rotherham?"), or holds a
    pronoun ("When did it happen?") or opens with "what about", "and", "why" or
    "how so", and has at most ``max_terms`` content words (None: any number).
    """
    tokens = words(question)
    if not tokens:
        return False
    count = len(terms(question))
    if count <= 1:
        return True
    if max_terms is not None and count > max_terms:
        return False
    if any(tuple(tokens[: len(opening)]) == opening for opening in OPENINGS):
        return True
    return any(token in PRONOUNS for token in tokens)


class Conversation:
    """A chat with memory of the previous turn; ``ask()`` returns an ``Answer``.

    A follow-up is answered with the previous question appended. In a thread of
    follow-ups the context is the previous question and the standalone question
    that opened the thread, so it never grows beyond two questions. ``new()``
    forgets the context.
    """

    def __init__(self, answer: Callable[..., Answer], detect: Callable[[str], bool] = is_followup):
        self._answer = answer
        self._detect = detect
        self._lock = threading.Lock()
        self._root = ""  # the last standalone question
        self._last = ""  # the last question asked, standalone or not

    def context(self, question: str) -> list[str]:
        """The earlier question(s) this one would be read with, most recent first; [] if standalone."""
        with self._lock:
            if not self._last or not self._detect(question):
                return []
            return [self._last] if self._last == self._root else [self._last, self._root]

    def ask(self, question: str, k: int = DEFAULT_K) -> Answer:
        earlier = self.context(question)
        asked = " ".join([question.strip(), *earlier]) if earlier else question
        answer = self._answer(asked, k=k)
        with self._lock:
            if not earlier:
                self._root = question.strip()
            self._last = question.strip()
        if earlier:
            answer = dataclasses.replace(answer, question=question, followup_to=tuple(earlier))
        return answer

    def new(self) -> None:
        """Forget the previous turns: the next question is read on its own."""
        with self._lock:
            self._root = self._last = ""
