"""Abbreviations a report spells out, and questions that ask what one stands for.

Texts define an abbreviation the way Schwartz and Hearst found (*A simple algorithm for
identifying abbreviation definitions in biomedical text*, PSB 2003): "long form (SF)", or
less often "SF (long form)", in one sentence. Their matcher is used as published: the short
form's letters are found in the words before the parenthesis from right to left, its first
letter at the start of a word, and the long form is the shortest run of words that holds
them all. It is what a reader does too: "the Independent Office for Police Conduct (IOPC)".

A question asks what an abbreviation stands for ("what does iopc stand for", "what is CSE/A
short for", "what does KPI mean"), or, of one the report defines, what it is ("what is cse/a?").
Where the report spells that abbreviation out, the answer is its long form, quoted in the
sentence that defines it. Where the report uses the long form without defining it ("key
performance indicators", asked as "kpi"), ``initials`` finds it by its words' first letters.
Where neither is found, the report does not say what it stands for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Quotation marks a long form may stand in: "SF ("long form")".
_QUOTES = "\"'“”‘’"
# A parenthesis: its inside, 1-80 characters without another parenthesis.
_PAREN = re.compile(r"\(([^()\n]{1,80})\)")
_WORD = re.compile(r"[^\W_](?:[\w'’&.\-/]*[^\W_])?")
_PART = re.compile(r"[^\W_](?:[\w'’]*[^\W_])?|&")
# Small words a long form may hold that its short form skips ("Office for Police Conduct");
# they may give a letter too ("Bank for International Settlements"), but not start or end one.
MINOR = frozenset("a an and at by de del der des di du en et for in la le of on or per the to und with &".split())
# Words no long form is made of: a run of initials through one of them is chance ("are firmly established").
FUNCTION = frozenset(
    "am are as be been being but can could did do does from had has have he her his i if is it its may might "
    "must not our she should so than that their them then there these they this those was we were what when "
    "where which who whom whose will would you your "
    # conjunctions and adverbs that join clauses, not words of a term ("assessing whether surveillance")
    "although because either however how neither nor such though thus unless until whereas whether while whilst why yet"
    .split()
)

# What a question that asks for an abbreviation's long form looks like. The short form is a
# single token: letters, digits and the joiners of "CSE/A", "A&E", "U.S." or "D-VHS".
_SF = r"[\"'“‘]?(?P<sf>[^\W_][\w/&.\-]{0,11}?)[\"'”’]?"
_THE = r"(?:the\s+)?(?:(?:acronym|abbreviation|initialism|initials|letters|term)\s+)?"
_ASKS = [
    # "what does X stand for", "what did the acronym X originally stand for", "wat dos X stand for"
    re.compile(rf"\b(?:what|wat|wht|was)(?:'s|’s|\s+\w+)?\s+{_THE}{_SF}\s+(?:\w+ly\s+)?(?:stands?|stood)\s+for\b", re.I),
    re.compile(rf"{_SF}\s+(?:stands?|stood)\s+for\s+(?:what|wat)\b", re.I),
    re.compile(rf"\bwhat(?:'s|’s|\s+is|\s+was)\s+{_THE}{_SF}\s+(?:short|an?\s+(?:abbreviation|acronym|initialism)|abbreviated)\s+(?:for|of)\b", re.I),
    re.compile(rf"\bwhat(?:'s|’s|\s+is|\s+was)\s+the\s+(?:full\s+(?:form|name)|long\s+form|expansion|acronym|abbreviation)\s+(?:of|for)\s+{_THE}{_SF}(?:\s*[?.!]|\s*$)", re.I),
]
# Looser: "what does the SAW in M249 SAW stand for", "what does CSE/A mean": the word before
# "stand for" or "mean" is a short form only if it looks like one (two capitals, as asked) or
# the report defines it, so "what does the report mean by …" stays an ordinary question.
_LOOSE = [
    re.compile(rf"\b(?:what|wat|wht)\b.*?\s{_SF}\s+(?:\w+ly\s+)?(?:stands?|stood)\s+for\b", re.I),
    # "mean" ends the question: "what does the IOPC mean by …" asks something else.
    re.compile(rf"\bwhat(?:'s|’s|\s+does|\s+do|\s+is)\s+{_THE}{_SF}\s+(?:mean|means|meaning)\s*[?.!]*\s*$", re.I),
]
# "What is CSE/A?", "what's the IOPC", "What are CDPs?": the whole question is "what is X", and X
# counts only where the report defines it. The definition answers it less surely than "stand for"
# (benchmarks/abbreviations.py: 29 of 33 such questions on SQuAD's training set, where the gold
# answer is sometimes what X is or does: "an alliance of broadcasters…"), so it has its own confidence.
_WHAT_IS = re.compile(rf"^\s*(?:what|wat|wht)(?:'s|’s|s|\s+is|\s+are|\s+was|\s+were)\s+(?:the\s+|an?\s+)?{_SF}\s*[?.!]*\s*$", re.I)


@dataclass(frozen=True)
class Definition:
    """An abbreviation spelled out in a text: the long form's and the short form's character offsets,
    and the whole definition's ("Independent Office for Police Conduct (IOPC)", parentheses included)."""

    short: str
    long: str
    long_start: int
    long_end: int
    short_start: int
    short_end: int
    start: int
    end: int


def key(short: str) -> str:
    """A short form as compared: its letters and digits, lower-cased ("CSE/A" and "cse/a" → "csea")."""
    return "".join(ch for ch in short.lower() if ch.isalnum())


def keys(short: str) -> set[str]:
    """The keys a short form as written answers to: its own, and its singular's for a plural ("MARs": "mars", "mar")."""
    return {key(short), key(singular(short))}


def singular(short: str) -> str:
    """A short form without a plural "s" ("MARs" → "MAR", "DNAs" → "DNA"); others as they are ("NHS", "LoC")."""
    if len(short) > 2 and short.endswith("s") and not any(ch.islower() for ch in short[:-1]):
        return short[:-1]
    return short


def _is_short_form(text: str) -> bool:
    """A plausible short form: one or two words, 2-10 characters, starts with a letter or digit, holds a
    letter, and at least two capitals ("IOPC", "CSE/A", "LoC", "LEDs"), so "(Burke)" or "(see above)" is not."""
    return (2 <= len(text) <= 10 and len(text.split()) <= 2 and text[0].isalnum()
            and any(ch.isalpha() for ch in text) and sum(ch.isupper() for ch in text) >= 2)


def best_long_form(short: str, before: str) -> int | None:
    """Where in ``before`` the long form of ``short`` starts (Schwartz and Hearst's matcher), or None."""
    s, i = len(short) - 1, len(before) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        # The short form's first character must start a word of the long form.
        while i >= 0 and (before[i].lower() != c or (s == 0 and i > 0 and before[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    return before.rfind(" ", 0, i + 1) + 1


def definitions(text: str) -> list[Definition]:
    """Every abbreviation the text spells out as "long form (SF)" or "SF (long form)", in order."""
    found = []
    for m in _PAREN.finditer(text):
        inside = m.group(1).strip()
        inner = m.start(1) + m.group(1).index(inside)
        # The words before the parenthesis, back to the start of the clause.
        head = max(text.rfind(stop, 0, m.start()) for stop in (". ", "\n", "; ", ": ", "(", ")")) + 1
        before = text[head : m.start()].rstrip()
        if _is_short_form(inside):
            words = _WORD.findall(before)
            limit = min(len(key(inside)) + 5, 2 * len(key(inside)))
            # Only the last `limit` words can be the long form.
            cut = before
            for w in words[: max(0, len(words) - limit)]:
                cut = cut[cut.index(w) + len(w):]
            start = best_long_form(singular(inside), cut)  # "records (MARs)": the letters of "MAR"
            if start is None:
                continue
            long = cut[start:].strip(" ,\"'“”‘’")
            if len(long) <= len(inside) or not long or long.split()[0].lower() in MINOR - {"a"}:
                continue
            long_start = head + before.rindex(long)
            found.append(Definition(inside, long, long_start, long_start + len(long), inner, inner + len(inside),
                                    long_start, m.end()))
        elif len(inside.split()) > 2:
            sf = re.search(r"(\S+)\s*$", before)
            if sf and _is_short_form(sf.group(1)) and len(sf.group(1).split()) == 1:
                short = sf.group(1)
                long = inside.strip(_QUOTES)  # DNAs ("did not attend")
                start = best_long_form(singular(short), long)
                if start is None or start != 0 or not long:
                    continue  # the inside must be the long form from its first word
                at, inner = head + sf.start(1), inner + inside.index(long)
                found.append(Definition(short, long, inner, inner + len(long), at, at + len(short), at, m.end()))
    return found


def asked(question: str, defined: Callable[[str], bool] = lambda k: False) -> str | None:
    """The short form a question asks the long form of, or None.

    Where the question is less plain ("what does X mean"), X counts only if it is asked in
    capitals or ``defined(key(X))`` says the report spells it out. The asking must open the
    text or a clause of it ("In computer terms, what does PC stand for?") and come before any
    other question: a chat reads a follow-up with the question before it appended ("and what
    about IOPC what does CSE/A stand for?"), and then the follow-up is what is asked."""
    for patterns, plain in ((_ASKS, True), (_LOOSE, False)):
        for pattern in patterns:
            m = pattern.search(question)
            if not m or not key(m.group("sf")) or not _opens(question, m.start()):
                continue
            sf = m.group("sf")
            if plain or sum(ch.isupper() for ch in sf) >= 2 or defined(key(sf)):
                return sf
    return None


def asked_what_is(question: str, defined: Callable[[str], bool]) -> str | None:
    """The short form of a question that is only "what is X?", where ``defined(key(X))`` says the
    report spells X out; else None. (``asked`` is tried first: "what is X short for?" is its.)"""
    m = _WHAT_IS.match(question)
    if m is None or not key(m.group("sf")) or not defined(key(m.group("sf"))):
        return None
    return m.group("sf")


def _opens(text: str, at: int) -> bool:
    """Whether ``text[at:]`` opens the text or a clause of it, with no question before it."""
    before = text[:at].rstrip()
    return not before or ("?" not in before and before[-1] in ",;:.!")


def initials(text: str, short: str) -> list[tuple[int, int]]:
    """Runs of words in ``text`` whose first letters spell ``short`` ("key performance indicators"
    for "KPI"), small words ("of", "for") free to be skipped; their character offsets, in order.

    A run is written as a name or a term is: its words all capitalised or all in lower case (the
    first may be capitalised to open a sentence), and a capitalised run is a whole name, not part
    of a longer one: "metropolitan area and San" and "Maria and San Luis" (of "Santa Maria and San
    Luis Obispo") are chance."""
    want = key(short)
    if len(want) < 3 or not want.isalpha():
        return []  # two letters match too much by chance
    # A hyphenated word gives each part's initial ("read-only memory" for "ROM").
    words = [(m.start(), m.end(), m.group().lower()) for m in _PART.finditer(text)]

    def capital(j: int) -> bool:
        return text[words[j][0]].isupper()

    def name_word(j: int) -> bool:
        """A capitalised word that is not a small one ("The", "Of" do not make a name longer)."""
        return capital(j) and words[j][2] not in MINOR and words[j][2] not in FUNCTION

    def joined(j: int, k: int) -> bool:
        """Words j and k (= j + 1) are in one phrase: only spaces or a hyphen between them."""
        return 0 <= j and k < len(words) and not text[words[j][1] : words[k][0]].strip(" -")

    found = []
    for i, (a, _, w) in enumerate(words):
        if w[0] != want[0] or w in MINOR or w in FUNCTION:
            continue
        k, j, cases = 1, i + 1, set()
        while k < len(want) and joined(j - 1, j):
            wj = words[j][2]
            if wj in FUNCTION:
                break
            if wj[0] == want[k] and wj not in MINOR:
                k += 1
            elif wj not in MINOR:
                break
            if wj not in MINOR and "-" not in text[words[j - 1][1] : words[j][0]]:  # a part after a hyphen keeps its word's case
                cases.add(capital(j))
            j += 1
        last = j - 1
        if k < len(want) or words[last][2] in MINOR:
            continue
        opens = i == 0 or not joined(i - 1, i) and text[words[i - 1][1] : a].strip(" \"'“‘(")[-1:] in {".", "!", "?", ":", "\n", ""}
        if not opens:
            cases.add(capital(i))
        if len(cases) > 1:
            continue
        if cases == {True} and ((joined(i - 1, i) and name_word(i - 1)) or (joined(last, last + 1) and name_word(last + 1))):
            continue  # part of a longer name
        found.append((a, words[last][1]))
    return found


def same_phrase(a: str, b: str) -> bool:
    """Two runs of words are one long form, written with other capitals or in the plural."""
    def norm(s: str) -> list[str]:
        return [w.lower().removesuffix("s") for w in _PART.findall(s)]
    return norm(a) == norm(b)
