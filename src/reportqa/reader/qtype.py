"""Question typing: what kind of answer a question asks for, and its names and numbers."""

from __future__ import annotations

import re

from ..text import STOPWORDS, stem, words


def key_terms(question: str) -> set[str]:
    """Stems of the question's names and numbers: capitalised words not at the start, and digits."""
    out = set()
    tokens = question.split()
    for i, tok in enumerate(tokens):
        for w in words(tok):
            if w in STOPWORDS:
                continue
            if any(ch.isdigit() for ch in w) or (i > 0 and tok.lstrip("\"'“‘(")[:1].isupper()):
                out.add(stem(w))
    return out


# --- answer type: what kind of token the question asks for ---------------------------

_PREP = r"^\W*(?:(?:in|on|at|by|since|until|from|during|for|of|to|with)\s+)?"
_NUMBER_Q = re.compile(
    _PREP + r"(?:how (?:many|much|long|old|far|large|big|high|tall|often)|(?:what|which) (?:number|percentage|proportion|amount|share|size))\b",
    re.I,
)
_TIME_Q = re.compile(_PREP + r"(?:when|(?:what|which) (?:year|date|month|day|decade|century|period|time))\b", re.I)
_PERSON_Q = re.compile(_PREP + r"(?:who|whom|whose)\b", re.I)
_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
_TIME_WORDS = re.compile(r"\b(?:year|years|date|dates|decade|when)\b", re.I)


def answer_type(question: str) -> str | None:
    """"number", "time" or "person" when the question asks for one, else None.

    Only the question's opening wh-phrase counts ("When did…", "In what year…",
    "How many…", "Who…"), so a "when" or "whose" inside a clause does not; a
    keyword query with no wh-word ("operation forced year") is "time" when it
    names a year or date.
    """
    if _NUMBER_Q.search(question):
        return "number"
    if _TIME_Q.search(question):
        return "time"
    if _PERSON_Q.search(question):
        return "person"
    if not _WH.search(question) and _TIME_WORDS.search(question):
        return "time"
    return None


AUXILIARIES = frozenset(
    "did does do is was were are has have had can could will would should shall may might must "
    "didnt doesnt dont isnt wasnt werent arent hasnt havent hadnt cant couldnt wont wouldnt shouldnt".split()
)


def is_yes_no(question: str) -> bool:
    """A polar question: it opens with an auxiliary verb and offers no alternatives ("… X or Y?")."""
    w = words(question)
    return bool(w) and w[0] in AUXILIARIES and "or" not in w
