"""A mistyped question word read as the report's word it is one typo from ("decison" → "decision").

People type questions fast: "who was the complaint agaisnt", "what did syp say about the decison".
A mistyped word is lost to search (BM25 matches whole terms) and blurred for the models (its
wordpieces are not the word's), so a question can miss a passage that answers it, or be declined.
Crowd workers writing SQuAD's questions made the same slips ("Who ultimatly drove the
Byzantines out of Europe?"): this reads 31 of the 950 questions of the three SQuAD articles in
../shared/benchmarks differently (docs/quality.md, "Mistyped words").

``corrected`` reads such a word as the report's word, as a search engine's "showing results for"
does, and the pipeline says so in the answer's notice; the quote is still the report's own text.
A word is read as another only when all of these hold, so that a word the report simply does
not use stays as typed (it is the reader's job to decline such a question, not ours to make it
answerable):

* it has ``MIN_LETTERS`` letters or more, and is no word the model knows (the whole words of
  its wordpiece vocabulary, ``known_words``) and none the report uses, in any inflection (its
  stem is no term of the report);
* exactly one word of the report's best-ranked passages is one typo from it: two neighbouring
  letters swapped, one left out, one too many or one changed, but not the first one (people
  rarely mistype a word's first letter; "Herve" is not "serve"); accents do not count ("Herve"
  is "Hervé");
* a word typed with a capital inside the question (a name) is read only as a name: a word the
  report writes with a capital inside a sentence at least once.

``shorthand`` reads chat shorthand for one word ("ppl", "govt", "yrs") as that word, where the
report uses the word and not the shorthand itself ("how many ppl live there" searches "people").

Abbreviations are read first (``spelled.expanded``, by the pipeline), so a lower-case one whose
initials the report spells out ("kpis": "key performance indicators") is no typo of a word one
letter from it ("kips"); two capitals or more make an abbreviation, never a typo.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict

from ..models.encoder import known_words
from ..text import terms
from .context import Query

# Chat shorthand that stands for one word only. Not "bc" (BC), "ur" (Ur), "no" (a word), "ref"
# (referee or reference), nor shorthand for a stopword ("abt", "thru", "pls"): the search skips those.
SHORTHAND = {
    "ppl": "people", "govt": "government", "dept": "department", "depts": "departments", "mgr": "manager",
    "mgrs": "managers", "mgmt": "management", "yr": "year", "yrs": "years", "hr": "hour", "hrs": "hours",
    "mins": "minutes", "wk": "week", "wks": "weeks", "mth": "month", "mths": "months", "info": "information",
    "approx": "approximately", "avg": "average", "amt": "amount", "qty": "quantity",
    "asap": "as soon as possible", "tmrw": "tomorrow", "yday": "yesterday",
}
MIN_LETTERS = 4  # "teh" or "nad" are left alone: at three letters too many words are one typo apart
MAX_SCAN = 200  # passages whose words a mistyped one may be read as, in the ranking's order (all of a report's)

_WORD = re.compile(r"[^\W\d_]+")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def fold(word: str) -> str:
    """Lower case without accents: "Hervé" → "herve"."""
    if word.isascii():
        return word.lower()
    return "".join(ch for ch in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(ch))


def swapped(word: str) -> set[str]:
    """word with two neighbouring letters swapped, each way."""
    return {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}


def left_out(word: str) -> set[str]:
    """word with one letter left out, each way."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def added(word: str) -> set[str]:
    """word with one letter too many, each way."""
    return {word[:i] + ch + word[i:] for i in range(len(word) + 1) for ch in _LETTERS}


def changed(word: str) -> set[str]:
    """word with one letter other than the first changed, each way."""
    return {word[:i] + ch + word[i + 1 :] for i in range(1, len(word)) for ch in _LETTERS}


def one_typo(word: str) -> set[str]:
    """Every string one typo from word (folded): two neighbouring letters swapped, one left out,
    one too many, or one changed other than the first."""
    return (swapped(word) | left_out(word) | added(word) | changed(word)) - {word}


class ReportWords:
    """The words of a report's passages, by folded form: how each is written, and which are written as names."""

    def __init__(self, texts):
        self.written: dict[str, Counter] = defaultdict(Counter)
        self.names: set[str] = set()  # written with a capital inside a sentence at least once
        for text in texts:
            for m in _WORD.finditer(text):
                word = m.group()
                self.written[fold(word)][word] += 1
                if word[:1].isupper() and _inside_sentence(text, m.start()):
                    self.names.add(fold(word))

    def __contains__(self, folded: str) -> bool:
        return folded in self.written

    def spelling(self, folded: str) -> str:
        """The report's commonest spelling of a word, in lower case ("hervé")."""
        return self.written[folded].most_common(1)[0][0].lower()

    def is_name(self, folded: str) -> bool:
        """Whether the report writes this word with a capital inside a sentence ("Jayne Senior", not
        "Senior officers were…")."""
        return folded in self.names


def _inside_sentence(text: str, start: int) -> bool:
    """Whether the word at start follows a word of its sentence (not a full stop, a paragraph or a quote mark's opening)."""
    before = text[max(0, start - 8) : start].rstrip(" \t\"“‘'(")
    return bool(before) and (before[-1].isalnum() or before[-1] in ",;:")


def _report_words(query: Query) -> ReportWords:
    chunks = query.index.chunks
    return ReportWords(chunks[int(i)].text for i in query.ranking.order[:MAX_SCAN])


def shorthand(query: Query) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The question with each word of chat shorthand (``SHORTHAND``, typed in lower case or with a
    capital first) read as its word, where the report uses that word (in some inflection) and not
    the shorthand; and the (typed, read) pairs."""
    text = query.text
    df = query.bm25.df
    read = []
    for m in reversed(list(_WORD.finditer(text))):
        token = m.group()
        word = SHORTHAND.get(token.lower()) if not any(ch.isupper() for ch in token[1:]) else None
        if word is None or any(df.get(t) for t in terms(token)) or not all(df.get(t) for t in terms(word)):
            continue
        spelling = word[:1].upper() + word[1:] if token[:1].isupper() else word
        text = text[: m.start()] + spelling + text[m.end() :]
        read.append((token, spelling))
    return text, tuple(reversed(read))


def corrected(query: Query) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The question with each mistyped word read as the report's word (see the module's rules),
    and the (typed, read) pairs."""
    text = query.text
    known = known_words()
    report: ReportWords | None = None  # read only when a word is suspect: most questions have none
    read = []
    for m in reversed(list(_WORD.finditer(text))):
        token = m.group()
        word = token.lower()
        if len(token) < MIN_LETTERS or word in known or sum(ch.isupper() for ch in token) > 1:
            continue  # short, a word the model knows, or an abbreviation ("SYP", "KPIs": spelled.py's)
        stems = terms(word)
        if not stems or all(query.bm25.df.get(t) for t in stems):
            continue  # a stopword, or a word the report uses (in some inflection)
        if report is None:
            report = _report_words(query)
        folded = fold(token)
        if folded in report:  # the report's word without its accents
            found = [folded]
        else:
            found = [w for w in one_typo(folded) if w in report]
        name = token[:1].isupper() and _inside_sentence(text, m.start())
        if name:
            found = [w for w in found if report.is_name(w)]
        if len(found) != 1:
            continue  # none, or more than one: which was meant is a guess
        spelling = report.spelling(found[0])
        if token[:1].isupper():
            spelling = spelling[:1].upper() + spelling[1:]
        text = text[: m.start()] + spelling + text[m.end() :]
        read.append((token, spelling))
    return text, tuple(reversed(read))
