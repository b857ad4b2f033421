"""The answer to "what does X stand for?" where the report defines X, and X read as its long form.

Such a question has one right answer, the long form, and a report that defines the abbreviation
says it in so many words: "the Independent Office for Police Conduct (IOPC)". ``spelled_out``
finds that definition among the report's passages (the text rules are in ``abbreviations.py``);
``decide`` then quotes the definition itself, verbatim, with the long form as the answer span,
instead of the reader's choice (the sentence it stands in may run to hundreds of characters;
the cited passage shows it). Its confidence is how often a definition gave a right long form
on the SQuAD training set's questions of this kind ("What does ASCII stand for?"), each asked
of its whole article (``benchmarks/abbreviations.py``): 192 times in 194, given as
(right + 1) / (found + 2).

A report may use a long form and never its abbreviation ("key performance indicators", asked
as "KPIs"). That the initials spell it is an inference, not something the report says (SQuAD's
annotators call "What does CSA stand for?" unanswerable where an article has "Combined
Statistical Area" and "CSA" apart), so it is no answer on its own: ``expanded`` reads the long
form into the question (in the abbreviation's place, or beside it where the report uses the
abbreviation undefined), and the reader answers that, at its own confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models.encoder import known_words
from ..text import terms
from . import abbreviations
from .candidate import Candidate
from .context import Query
from .typos import added, left_out, swapped

# (right, found) on those questions; tests/quality/test_abbreviation_confidence.py measures them again.
DEFINED_COUNTS = (192, 194)
DEFINED_P = round((DEFINED_COUNTS[0] + 1) / (DEFINED_COUNTS[1] + 2), 3)  # 0.985
# The same for "what is X?" where the article defines X (``abbreviations.asked_what_is``).
WHAT_IS_COUNTS = (29, 33)
WHAT_IS_P = round((WHAT_IS_COUNTS[0] + 1) / (WHAT_IS_COUNTS[1] + 2), 3)  # 0.857
MAX_SCAN = 2000  # passages searched for initials, in the ranking's order (all of a report's)


@dataclass(frozen=True)
class SpelledOut:
    """An abbreviation the report defines: the definition to quote and the long form's file offsets."""

    short: str  # as asked
    candidate: Candidate  # the definition, "long form (SF)", in the sentence(s) of its rows
    start: int  # the long form's character offsets in the source file
    end: int
    p: float  # P(the long form is the answer), measured (above)
    asked: str = "stands for"  # how the question asked: "stands for" or "what is"


def spelled_out(query: Query) -> SpelledOut | None:
    """The long form the question asks for, where the report defines it, or None (the reader answers)."""
    asked = query.abbreviation_asked
    found = query.definitions(abbreviations.key(asked[0])) if asked is not None else []
    if not found:
        return None  # the reader answers (expanded() may have read a long form into the question)
    i, d = found[0]  # where the report first defines it
    return _answer(query, asked, i, d)


def by_initials(query: Query, short: str) -> tuple[int, int, int] | None:
    """(chunk id, start, end in its text) of the first run of words whose initials spell ``short``,
    if every such run in the report is that one long form; else None."""
    chunks = query.index.chunks
    runs = []
    for i in (int(i) for i in query.ranking.order[:MAX_SCAN]):
        runs += [(i, a, b) for a, b in abbreviations.initials(chunks[i].text, short)]

    def text(run: tuple[int, int, int]) -> str:
        return chunks[run[0]].text[run[1] : run[2]]

    if not runs or not all(abbreviations.same_phrase(text(runs[0]), text(r)) for r in runs):
        return None
    return min(runs, key=lambda r: chunks[r[0]].start + r[1])  # the first in the file


_TOKEN = re.compile(r"[^\W_][\w/&.\-]*[^\W_]")


def _mistyped(token: str, *vocabularies) -> bool:
    """Whether token is a word of one of the vocabularies with two neighbouring letters swapped, one
    letter left out or one letter too many, the commonest typos: "aws" and "wsa" for "was", "svyp"
    for the report's "syp", "hgs" for "has"; such a token is no abbreviation to look up."""
    near = swapped(token) | added(token)
    if len(token) > 3:  # "ab" from "abc": chance
        near |= left_out(token)
    return any(w in vocabulary for w in near for vocabulary in vocabularies)


def _in_capitals(query: Query, token: str) -> bool:
    """Whether the report writes ``token`` in capitals, as an abbreviation ("cse" as "CSE")."""
    if not any(query.bm25.df.get(t) for t in terms(token)):
        return False  # not in the report at all: no passage to read
    pattern = re.compile(rf"(?<!\w){re.escape(token.upper())}(?!\w)")
    return any(pattern.search(c.text) for c in query.index.chunks)


def _could_be(key: str) -> bool:
    """Whether a short form's letters could be initials looked for: 3 to 6 letters."""
    return 3 <= len(key) <= 6 and key.isalpha()


def expanded(query: Query) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The question with an abbreviation's long form read into it, where the report spells that
    out in one way only, and the (short, long) pairs read. An abbreviation counts if it is typed in
    capitals, is the one the question asks the long form of, or is typed in lower case and is no
    word the model knows (``known_words``) nor a typo of one or of the report's (``_mistyped``):
    people type "kpi" as often as "KPI", while "era" or "thing" is a word and "aws" a typo of one,
    and their initials would match by chance.

    One the report never uses is replaced ("were KPIs a priority" → "were key performance
    indicators a priority"), so search and reader read the report's words. One it uses but never
    defines, asked about ("what does SYP stand for", or only "what is SYP?"), keeps its place with
    the long form after it in parentheses, and the reader decides whether the report answers that.
    A bare "what is x?" in lower case asks about x only where x is no word (as above) or the report
    writes it in capitals ("cse" is "case" short of a letter, and the report's "CSE")."""
    text = query.text
    asked = query.abbreviation
    if asked is not None and query.definitions(abbreviations.key(asked)):
        return text, ()  # spelled_out answers it
    if asked is None:  # "what is SYP?" of one the report uses undefined asks what "stand for" asks
        asked = abbreviations.asked_what_is(text, lambda key: True)
    added = []
    known = known_words()
    for m in reversed(list(_TOKEN.finditer(text))):
        token = m.group()
        capitals = sum(ch.isupper() for ch in token) >= 2
        coined = token.islower() and token not in known and not _mistyped(token, known, query.bm25.df)
        # "KPIs": the plural of "KPI"; in lower case "kpis" may be either, the plural tried first
        shorts = [token[:-1]] if capitals and token.endswith("s") else [token]
        if coined and token.endswith("s"):
            shorts.insert(0, token[:-1])
        stems = terms(token)
        is_asked = asked is not None and abbreviations.key(asked) in {abbreviations.key(short) for short in shorts}
        if is_asked and query.abbreviation is None:  # "what is cost?" asks no long form: only an abbreviation's
            is_asked = capitals or coined or _in_capitals(query, token)
        if not (is_asked or capitals or coined) or not stems:
            continue
        used = any(query.bm25.df.get(t) for t in stems)
        if used and not is_asked:
            continue  # the report's own abbreviation: search finds it as it is
        runs = (by_initials(query, short) for short in shorts if _could_be(abbreviations.key(short)))
        run = next((r for r in runs if r is not None), None)
        if run is not None:
            i, a, b = run
            long = query.index.chunks[i].text[a:b]
            text = f"{text[: m.end()]} ({long}){text[m.end():]}" if used else f"{text[: m.start()]}{long}{text[m.end():]}"
            added.append((token, long))
    return text, tuple(reversed(added))


def _answer(query: Query, asked: tuple[str, str], chunk_id: int, found: abbreviations.Definition) -> SpelledOut:
    """The definition itself as the candidate to quote ("Independent Office for Police Conduct (IOPC)"):
    the shortest verbatim text that answers, with the sentence it stands in as its context, at the
    confidence measured for the way it was asked."""
    short, how = asked
    chunk = query.index.chunks[chunk_id]
    start, end = chunk.start + found.start, chunk.start + found.end
    rows = [j for j, (a, b) in enumerate(chunk.sentences) if a < end and start < b]
    first = int(query.table.starts[chunk_id])
    order = [int(i) for i in query.ranking.order]
    rank = order.index(chunk_id) if chunk_id in order else len(order)
    candidate = Candidate(chunk_id, start, end, range(first + rows[0], first + rows[-1] + 1), rank)
    p = WHAT_IS_P if how == "what is" else DEFINED_P
    return SpelledOut(short, candidate, chunk.start + found.long_start, chunk.start + found.long_end, p, how)
