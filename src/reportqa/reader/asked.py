"""What a question asks for, when it names the kind exactly, and whether a quote holds one.

"How many passengers…" asks for a count, "How much did it cost?" for an amount of money,
"How old…" for an age, "In what year…" for a year, "What was the name of…" for a name, "What
time…" for a time and "How long…" for a length of time or a distance. A quote that holds nothing
of that kind does not answer the question, however well its words match it: "How many men were
convicted?" is not answered by "They were convicted in 2016, 14 years later." (a year and a
length of time, no count), nor "What time did the grounding happen?" by a sentence that gives no
time at all.

Only the question's opening wh-phrase counts, as in ``qtype.answer_type``, and only phrasings
whose answers are nearly always written with such a token: on the SQuAD training set, the gold
answer's sentence holds one for 99.4% of the count questions, 99.8% of the year questions, 99%
of the "how long" questions, 98% of the name questions, 97% of the money and age questions and
96% of the few "what time did…" ones (``benchmarks/asked_kinds.py``; docs/quality.md, "What the
question asks for"). "When…" and "Who…" are not checked: their answers are as often an event or
an organisation ("during the war", "the council") as a date or a name.

An amount of money is no count unless the question is about money ("How many members does the
society have?" is not answered by "The society holds reserves of £12,600."; on the training set
this declines 2 more of the 4,117 right sentences).

Tokens the question itself holds do not count ("How many strands were there in 2022?" is not
answered by the year it names).
"""

from __future__ import annotations

import re

from ..text import MONTHS, NAME_STRIP, NUMBER_WORDS, STOPWORDS

# "And how many…" (a follow-up), "In what year…".
_PREP = r"^\W*(?:(?:and|but|so|then)\s+)?(?:(?:in|on|at|by|since|until|from|during|for|of|to|with|after|before)\s+)?"

# Words that, after a figure, make it a length of time or a date rather than a count.
TIME_UNITS = frozenset(
    "year years month months week weeks day days hour hours minute minutes second seconds decade decades "
    "century centuries fortnight fortnights night nights later ago earlier old".split()
)
# A count may be written without a figure: "no locks", "all of the highways", "a second card".
QUANTIFIERS = frozenset(
    "all none no never every both neither each some most majority minority several few many numerous single couple "
    "dozen dozens multiple twice thrice once double triple treble handful number".split()
)
ORDINALS = frozenset(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth twentieth hundredth".split()
)
WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
DAY_TIMES = frozenset(
    "morning afternoon evening night midnight noon midday dawn dusk daybreak sunrise sunset nightfall overnight "
    "tonight today yesterday tomorrow".split()
)
SEASONS = frozenset("spring summer autumn fall winter".split())

# Figures whole ("1.42", "19,000", "11th", "1990s"), words, and each punctuation mark on its own
# ("at 17, Victoria": the figure is followed by a comma, not by a word naming what it counts).
_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)*(?:st|nd|rd|th|s)?|[^\W\d_]+(?:['’][^\W\d_]+)*|[^\w\s]")
_FOUR = re.compile(r"^(?:1[0-9]{3}|20[0-9]{2})$")  # a figure that may be a year: 1066, 2016
_YEAR = re.compile(r"^(?:[1-9][0-9]{2,3})s?$")  # what a year question accepts: 911, 1066, 2016, 1990s
_DECADE = re.compile(r"^'?[0-9]0s$")  # '90s, 90s
_ORDINAL = re.compile(r"^[0-9]+(?:st|nd|rd|th)$")  # 11th (century), 74th (birthday)
_ERA = frozenset("bc bce ad ce".split())
DECADE_WORDS = frozenset("teens twenties thirties forties fifties sixties seventies eighties nineties".split())
# 23:31, 4.15 am, 9pm, ten o'clock ("46.41%" is no time: a point needs am / pm after it).
_CLOCK = re.compile(r"\b[0-9]{1,2}:[0-9]{2}\b|\b[0-9]{1,2}(?:[.:][0-9]{2})?\s?(?:am|pm|a\.m\.|p\.m\.)|\bo['’]clock\b", re.I)
_MONEY = re.compile(
    r"[$£€¥¢%]|\b(?:dollars?|pounds?|euros?|pence|cents?|yen|yuan|rupees?|francs?|marks|shillings?|"
    r"per ?cent|percent|free|usd|gbp|eur)\b",
    re.I,
)
# An age in words: "aged 14", "a 14-year-old", "900 years old", "in her teens".
_AGE = re.compile(
    r"\b(?:aged?|ages)\s+(?:of\s+)?(?:about\s+|around\s+|over\s+|under\s+)?(?:[0-9]|[a-z]+teen|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)|"
    r"[-\s](?:years?|months?|weeks?|days?|century|centuries)[-\s]old\b|\bof age\b|"
    r"\b(?:teens?|teenagers?|teenage|infants?|babies|baby|toddlers?|newborns?)\b",
    re.I,
)
_BEGUN = re.compile(
    r"\b(?:born|built|founded|established|opened|constructed|launched|dating|dates|dated|since|erected|made)\b", re.I)
# A name: a capitalised word inside the sentence, or opening it if it is no stopword ("Steel is…",
# not "The…"), a short quoted phrase, or a word that introduces one ("known as the semi-state apartments").
_QUOTED = re.compile(  # of one to five words: a name, not a quoted sentence
    r"“[^”\s]+(?:\s+[^”\s]+){0,4}”|‘[^’\s]+(?:\s+[^’\s]+){0,4}’|\"[^\"\s]+(?:\s+[^\"\s]+){0,4}\"|"
    r"(?<!\w)'[^'\s]+(?:\s+[^'\s]+){0,4}'(?!\w)")
_NAMING = re.compile(r"\b(?:called|named|known as|termed|dubbed|titled|entitled|nicknamed)\b", re.I)
# An amount of money ("£12,600", "$5.2 billion", "40 euros") is no count of what "How many members…"
# asks for, unless the question itself is about money ("How many pounds did it cost?").
_AMOUNT = re.compile(
    r"[$£€¥]\s?[0-9][0-9.,]*(?:\s?(?:thousand|million|billion|trillion|bn|m|k)\b)?|"
    r"\b[0-9][0-9.,]*\s?(?:(?:thousand|million|billion|trillion)\s)?(?:dollars?|pounds?|euros?|pence|cents?|yen|yuan|"
    r"rupees?|francs?)\b",
    re.I,
)
_OF_MONEY = re.compile(
    r"[$£€¥]|\b(?:dollars?|pounds?|euros?|pence|cents?|yen|yuan|rupees?|francs?|money|cost|costs|price|prices|"
    r"pay|paid|spend|spent|worth)\b", re.I)
# What a "what time" question accepts besides a clock time: SQuAD's use it for an age or a period too.
TIME_WORDS = frozenset(
    "century centuries millennium millennia era age period reign daytime nighttime sundown sunup twilight holiday "
    "holidays hour hours year years during war rule".split()
)
# What a "how long" question accepts (``_has_length``): a unit of time or of length ("two and a half
# years", "47 minutes", "6,650 km", "140 pages") or a word that bounds a stretch of time; besides
# these, a year, a month or season, or two clock times.
LENGTH_WORDS = TIME_UNITS | frozenset(
    "km kilometres kilometers kilometre kilometer miles mile metres meters metre meter ft feet foot inches inch cm "
    "centimetres centimeters millimetres millimeters mm yards yard mi leagues pages page lifetime lifetimes generation "
    "generations season seasons term terms semester semesters period periods moment moments while millennia millennium "
    "reign lived m ma wavelengths wavelength since until till throughout time".split()
)
# kind -> the question's opening phrase. "How many <unit of time>" asks for a length of time, not a count.
_ASKS = (
    ("count", re.compile(_PREP + r"how many\s+(?!(?:" + "|".join(sorted(TIME_UNITS)) + r")\b)", re.I)),
    ("money", re.compile(  # "how much" and, within six words, a word of paying
        _PREP + r"how much\b(?!\s+(?:time|longer|more|of)\b)(?:\W+\w+){0,6}?\W+"
        r"(?:cost|costs|costing|spend|spends|spent|pay|pays|paid|price|priced|worth|budget|budgeted|fund|funded|"
        r"funding|charge|charged|fine|fined|compensation|earn|earned|earns|owe|owed|raise|raised|award|awarded)\b",
        re.I,
    )),
    ("age", re.compile(_PREP + r"how old\b", re.I)),
    ("year", re.compile(_PREP + r"(?:what|which) year\b", re.I)),
    ("name", re.compile(_PREP + r"(?:what|which|whats)(?:\s+|['’]s\s+)(?:(?:is|was|are|were)\s+)?the\s+names?\s+of\b", re.I)),
    ("time", re.compile(
        _PREP + r"what time\s+(?:did|does|do|will|would|is|was|were|are|has|had|can|could|should)\b", re.I)),
    ("length", re.compile(_PREP + r"how long\b", re.I)),
)

# How the decline message and /why name what was missing.
DESCRIBED = {
    "count": "a number (a year, a length of time or an amount of money is not a count)",
    "money": "an amount of money",
    "age": "an age",
    "year": "a year",
    "name": "a name",
    "time": "a time of day or a date",
    "length": "a length of time or a distance",
}


def asked_kind(question: str) -> str | None:
    """"count", "money", "age", "year", "name", "time" or "length" when the question's opening phrase asks for exactly that."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return None


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _year_like(tokens: list[str], i: int) -> bool:
    """Whether tokens[i], a figure, reads as a year: 1000–2099 not followed by a content word ("in 2016,"
    is a year, "2000 species" a count), the end of a range of years ("2018-19"), or any figure
    followed by BC / AD."""
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    if after in _ERA:
        return True
    if i >= 2 and tokens[i - 1] in ("-", "–", "/") and _FOUR.match(tokens[i - 2]):
        return True  # "2018-19", "2001/2002"
    after = after.replace("'", "").replace("’", "")  # "2000 men's"
    return bool(_FOUR.match(tokens[i])) and (not after.isalpha() or after in STOPWORDS or after in MONTHS)


_SHARES = frozenset(("half", "quarter", "percent"))  # a share of something, no age


def _has_count(tokens: list[str], own: set[str], age: bool = False) -> bool:
    """A count: a figure that is not a year nor followed by a unit of time, a quantifier ("no", "all",
    "several"; not the superlative "the most") or an ordinal that is not followed by a unit of time
    ("the 89th minute" is a point in time). For an age, a figure may be followed by a unit of time and "old" or "ago"
    but by no other word that names what it counts ("nine libraries"), and a share or a quantifier is none."""
    spans = ("old", "ago") if age else ()
    for i, w in enumerate(tokens):
        if w in own or (age and w in _SHARES):
            continue
        if _ORDINAL.match(w) or (w in ORDINALS and not age):  # "74th birthday"; "first" is no age
            if not age and i + 1 < len(tokens) and tokens[i + 1] in TIME_UNITS:
                continue  # "in the 89th minute", "the 19th century": a point in time, no count
            return True
        if any(ch.isdigit() for ch in w) or w in NUMBER_WORDS or w in DECADE_WORDS:
            after = tokens[i + 1] if i + 1 < len(tokens) else ""
            then = tokens[i + 2] if i + 2 < len(tokens) else ""
            if _year_like(tokens, i) or (after in TIME_UNITS and then not in spans):
                continue
            if age and after not in TIME_UNITS and after.isalpha() and after not in STOPWORDS:
                continue  # "nine libraries" counts something else
            if age and (after in ("%", "per", "percent") or tokens[i - 1: i] == ["^"]):
                continue  # "up 6%", a footnote's "[^1]"
            return True
        if w in QUANTIFIERS and not age and not (w == "most" and tokens[i - 1: i] == ["the"]):
            return True  # "most members", not "the most likely": a superlative
    return False


def _has_time(tokens: list[str], own: set[str]) -> bool:
    return any(
        w not in own and (_YEAR.match(w) or _DECADE.match(w) or _ORDINAL.match(w) or w in MONTHS or w in WEEKDAYS
                          or w in DAY_TIMES or w in SEASONS or w in TIME_WORDS)
        for w in tokens
    )


def _has_year(tokens: list[str], own: set[str]) -> bool:
    for i, w in enumerate(tokens):
        if w in own:
            continue
        if _YEAR.match(w) or _DECADE.match(w) or (w.isdigit() and (i + 1 < len(tokens) and tokens[i + 1] in _ERA
                                                                   or i > 0 and tokens[i - 1] in _ERA | {"year"})):
            return True
    return False


def _name_core(word: str) -> str:
    return re.sub(r"['’]s$", "", word.strip(NAME_STRIP))  # "IOPC’s" is the question's "IOPC"


def _has_name(question: str, text: str) -> bool:
    own = {_name_core(w).lower() for w in question.split()}
    for i, word in enumerate(text.split()):
        core = _name_core(word)
        if core[:1].isupper() and core != "I" and core.lower() not in own and (i > 0 or core.lower() not in STOPWORDS):
            return True
    return bool(_QUOTED.search(text) or _NAMING.search(text))


def _has_length(tokens: list[str], i: int, own: set[str]) -> bool:
    """Whether tokens[i] gives a length of time or a distance: a unit, a bound ("since", "until"), a
    year, month or season. The question's own unit counts after a figure ("How long is it in yards?"
    is answered by "55 yards")."""
    w = tokens[i]
    figure = i > 0 and (tokens[i - 1][:1].isdigit() or tokens[i - 1] in NUMBER_WORDS)
    if w in own and not (figure and w in LENGTH_WORDS):
        return False
    # a year of four figures, or a decade: "from 1293 to 1500", "the 1933 election", "since the 1880s", not "from 400 to 40"
    return w in LENGTH_WORDS or w in MONTHS or w in SEASONS or bool(_FOUR.match(w.removesuffix("s")) or _DECADE.match(w))


def holds(kind: str, question: str, text: str) -> bool:
    """Whether text holds something of the kind asked for that the question does not already say."""
    own = set(_tokens(question))
    if kind == "count" and not _OF_MONEY.search(question):
        text = _AMOUNT.sub(" ", text)
    tokens = _tokens(_CLOCK.sub(" ", text)) if kind in ("count", "age") else _tokens(text)
    if kind == "count":
        return _has_count(tokens, own)
    if kind == "money":
        return bool(_MONEY.search(text))
    if kind == "age":
        began = bool(_BEGUN.search(text)) and any(_YEAR.match(w) or _ORDINAL.match(w) for w in tokens if w not in own)
        return began or bool(_AGE.search(text)) or _has_count(tokens, own, age=True)
    if kind == "year":
        return _has_year(tokens, own)
    if kind == "name":
        return _has_name(question, text)
    if kind == "time":  # "what time" also asks which time: "local time", "at the time of the settlement"
        return bool(_CLOCK.search(text)) or _has_time(tokens, own) or "time" in tokens
    if kind == "length":  # "for two years", "6,650 km", "from 1293 to 1500", "from 14:06 to 16:20" (one time is no length)
        return len(_CLOCK.findall(text)) >= 2 or any(_has_length(tokens, i, own) for i in range(len(tokens)))
    raise ValueError(kind)


def missing(question: str, text: str) -> str | None:
    """The kind the question asks for when text holds none of it, else None."""
    kind = asked_kind(question)
    return kind if kind is not None and not holds(kind, question, text) else None
