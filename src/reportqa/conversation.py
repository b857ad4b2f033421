"""Follow-up questions in a chat: "What about in the later years?" read with the previous turn.

``Assistant.answer()`` is stateless. A ``Conversation`` (``Assistant.chat()``) keeps
the previous turn, and a short or anaphoric question that the report does not answer on its
own is answered as itself followed by the question(s) it follows up:

    "What about in the later years? How did the watchdog rate the force's overall response?"

Such a question is asked on its own first: people type "how heavy is it?" of a product's FAQ, or
"reserves" of an annual review, one after another, meaning the report's subject and not the
previous question's. Where that reading is answered it is kept, and the question opens a new
thread; only where it is declined is the question read with the earlier one(s).

The current question comes first, so its own wording decides the kind of answer
sought (a "when" or yes/no question is recognised by how the question opens), and the
previous question adds the topic its pronouns and ellipses leave out. The answer's
``question`` stays what was typed; ``followup_to`` names the question(s) added. Its notice
keeps only the words read in the follow-up itself (a typo of the earlier question was noted
with that question's answer).

Only the standard library (and ``text``'s lazy stemmer, ``results``' dataclasses) is imported here; the model's
vocabulary is read only when a one-word "what is X?" is asked (``names_its_subject``).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import TYPE_CHECKING, Callable

from .results import readings_notice
from .settings import DEFAULT_K
from .text import STOPWORDS, terms, words

if TYPE_CHECKING:  # pragma: no cover
    from .results import Answer

# Third-person and demonstrative pronouns that point back at something said before.
# "that" is left out: it is far more often a conjunction ("said that ...").
PRONOUNS = frozenset(
    "it its itself they them their theirs themselves he him his himself she her hers herself "
    "this these those".split()
)
# Of those, the ones that can be the subject of a clause inside the question, and so refer
# to a noun said before them in it: "Did SYP admit they had failed?" ("them", "him" and
# "her" are objects, and an object cannot refer to the subject of its own clause).
SUBJECTS = frozenset("it they he she".split())
# Possessive and reflexive pronouns may refer to any noun before them in the question
# ("When did SYP publish its apology?").
OWN = frozenset("its itself their theirs themselves his himself hers herself".split())
# Words after which a new clause begins, whose subject a pronoun may be.
CLAUSE_OPENERS = frozenset(
    "that if whether because when where while after before since until although though once as".split()
)
AUXILIARIES = frozenset(
    "is are was were am be been do does did has have had can could will would shall should may might must".split()
)
# A question opening with an auxiliary and one of these names its own subject, however
# short it is: "Are there any convictions?", "Was anyone charged?".
OWN_SUBJECTS = frozenset(
    "there anyone anybody anything someone somebody something everyone everybody everything nobody nothing".split()
)
# What people say that is not a question at all: a message made only of these (and
# stopwords) is read on its own ("hi", "thanks", "thank you very much", "ok").
SOCIAL = frozenset(
    "hi hello hey hiya thanks thank thx ty ok okay cheers bye goodbye great cool nice good morning afternoon evening please".split()
)
# A question opening with one of these, an auxiliary verb and one content word is whole when
# that word is not a definite reference back ("How many convictions were there?", "Who was
# convicted?"; not "What was the outcome?").
WH = frozenset("what which who whom whose when where why how".split())
DEFINITE = frozenset("the this that these those".split())
# "that" points back as a determiner after one of these ("When was that operation launched?",
# "What happened in that year?"); after a verb it opens a clause ("Did SYP say that it failed?").
BEFORE_DEMONSTRATIVE = AUXILIARIES | frozenset("in on at of for from with by about during after before since".split())
# Openings that continue the previous question rather than start a new one.
OPENINGS = (("what", "about"), ("how", "about"), ("how", "so"), ("and",))
# "What is the IOPC?", "whats cse/a", "Who is Jayne?": one content word, but the question is whole.
WHAT_IS = re.compile(r"^(?:what|who)(?:'s|’s|s|\s+is|\s+are|\s+was|\s+were)\s+(?:the\s+|an?\s+)?(?P<x>\S+?)\s*[?.!]*$", re.I)
# "this" is the report itself, not something said before, when it names the document ("this
# report", "these minutes") or is what was written or published ("who wrote this?", "when was
# this published?", "what is this about?").
DOCUMENT = frozenset("report reports article document review paper piece story text file page minutes".split())
AUTHORING = frozenset("wrote write writes written author authored publish published publishes release released "
                      "issue issued produce produced".split())
# A pronoun or an opening marks a follow-up only in a question this short (content words):
# a longer one names its own subject ("On what date did the IOPC release its full finding?").
MAX_TERMS = 3


def is_followup(question: str, max_terms: int | None = MAX_TERMS) -> bool:
    """Does this question lean on the one before it, so that it cannot stand alone?

    Yes when it has at most one content word ("When?", "Rotherham?") and does not name
    its own subject ("Are there any convictions?" and "How many convictions were there?"
    do); or when it has at most ``max_terms`` content words (None: any number) and opens
    with "what about", "how about", "how so" or "and", or holds a pronoun that points
    outside it (below) or a "that" that does ("When was that operation launched?").
    Greetings and thanks are never follow-ups.

    A pronoun points outside the question unless the question gives it something to
    refer to: a possessive or reflexive after a content word ("When did SYP publish its
    apology?"); a subject pronoun that opens a clause after a content word ("Did SYP admit
    they had failed?", "Does the report say when it was published?"); or the "it" of "Is
    it true that …". "this", "these" and "those" always point outside.
    """
    tokens = words(question)
    if not tokens or (any(t in SOCIAL for t in tokens) and all(t in SOCIAL or t in STOPWORDS for t in tokens)):
        return False
    report = [i for i in range(len(tokens)) if _is_the_report(tokens, i)]
    if report:  # read as naming the report
        tokens = ["report" if i in report else t for i, t in enumerate(tokens)]
        tokens = ["what", "is", *tokens[1:]] if tokens[0] == "whats" else tokens
        question = " ".join(tokens)
    count = len(terms(question))
    if count <= 1 and not (tokens[0] in AUXILIARIES and tokens[1:2] and tokens[1] in OWN_SUBJECTS):
        return not (names_its_subject(question) or _asks_its_own(tokens))
    if max_terms is not None and count > max_terms:
        return False
    if _opens_as_followup(tokens):
        return True
    if any(t == "that" and 0 < i < len(tokens) - 1 and tokens[i - 1] in BEFORE_DEMONSTRATIVE
           and tokens[i + 1] not in STOPWORDS for i, t in enumerate(tokens)):
        return True  # "that operation": something said before
    return any(_points_outside(tokens, i) for i, token in enumerate(tokens) if token in PRONOUNS)


def names_its_subject(question: str) -> bool:
    """Whether a question is "what is X?" or "who is X?" of a name: X typed with a capital, or no
    word the model knows ("whats the iopc", "what is cse/a"). Such a question stands alone; "What
    was the outcome?" asks about something said before."""
    m = WHAT_IS.match(question.strip())
    if m is None or m.group("x").lower() in PRONOUNS:
        return False
    x = m.group("x")
    if any(ch.isupper() for ch in x):
        return True
    from .models.encoder import known_words  # the tokenizer's vocabulary (a file read once)

    return x.lower() not in known_words()


def _opens_as_followup(tokens: list[str]) -> bool:
    """Whether the question opens with "what about", "how about", "how so" or "and"."""
    return any(tuple(tokens[: len(opening)]) == opening for opening in OPENINGS)


def _asks_its_own(tokens: list[str]) -> bool:
    """Whether a question of one content word is whole: a wh-question with an auxiliary verb, no
    pronoun and no opening of a follow-up, whose content word is no definite reference back ("How
    many convictions were there?", "Who was convicted?", "Who is the secretary?"; not "What was the
    outcome?", "Which one?", "What did she do?")."""
    if tokens[0] not in WH or any(t in PRONOUNS for t in tokens) or not any(t in AUXILIARIES for t in tokens[1:]):
        return False
    if _opens_as_followup(tokens):
        return False
    content = [i for i, t in enumerate(tokens) if t not in STOPWORDS]
    before = tokens[content[0] - 1] if content else ""
    # "Who is the secretary?" asks who holds a role, and stands alone: "the" before a role is
    # no reference back, as it is before "outcome" in "What was the outcome?".
    return len(content) == 1 and (before not in DEFINITE or before == "the" and tokens[0] == "who")


def _is_the_report(tokens: list[str], i: int) -> bool:
    """Is tokens[i] a "this" or "these" that stands for the report itself (``DOCUMENT``, ``AUTHORING``)?"""
    if tokens[i] not in ("this", "these"):
        return False
    before, after = tokens[:i], tokens[i + 1 :]
    return bool(after and after[0] in DOCUMENT or tokens[i] == "this" and (
        not after and before and before[-1] in AUTHORING
        or after and after[0] in AUTHORING
        or after == ["about"] and before and (before[0] in WH or before[0] == "whats")))


def _points_outside(tokens: list[str], i: int) -> bool:
    """Does the pronoun tokens[i] need an earlier question to refer to?"""
    pronoun, before, after = tokens[i], tokens[:i], tokens[i + 1 :]
    named = any(t not in STOPWORDS for t in before)  # a content word it may refer to
    if pronoun in OWN:
        return not named
    if pronoun == "it" and before and before[-1] in AUXILIARIES and ("that" in after or "whether" in after):
        return False  # "Is it true that SYP apologised?": "it" stands for the clause that follows
    if pronoun in SUBJECTS and named and after and (before[-1] in CLAUSE_OPENERS or before[-1] not in STOPWORDS):
        return False  # the subject of a clause of the question's own: "say they", "when it"
    return True


class Conversation:
    """A chat with memory of the previous turn; ``ask()`` returns an ``Answer``.

    A follow-up that the report does not answer on its own is answered with the previous
    question appended. In a thread of follow-ups the context is the previous question and
    the standalone question that opened the thread, so it never grows beyond two questions.
    ``new()`` forgets the context.
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
        answer = self._answer(question, k=k)
        if earlier and answer.answered:
            earlier = []  # the report answers it as typed: read on its own, it opens a new thread
        elif earlier:
            answer = self._answer(" ".join([question.strip(), *earlier]), k=k)
        with self._lock:
            if not earlier:
                self._root = question.strip()
            self._last = question.strip()
        if earlier:
            answer = dataclasses.replace(answer, question=question, followup_to=tuple(earlier),
                                         **_own_readings(answer, question))
        return answer

    def new(self) -> None:
        """Forget the previous turns: the next question is read on its own."""
        with self._lock:
            self._root = self._last = ""


def _own_readings(answer: Answer, question: str) -> dict:
    """A follow-up's notice and readings without the words read in the earlier question, whose
    answer said so already ("Read "decison" as …" again after "and in 2021?" is noise)."""
    own = tuple(r for r in answer.readings if re.search(rf"(?<!\w){re.escape(r.typed)}(?!\w)", question))
    if own == answer.readings:
        return {}
    kept = answer.notice.removesuffix(readings_notice(answer.readings)).rstrip()
    return {"notice": " ".join(n for n in (kept, readings_notice(own)) if n), "readings": own}
