"""Text primitives: sentence boundaries and the terms that lexical search sees."""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from types import EllipsisType

# --- sentences -------------------------------------------------------------

# Words that end in a full stop without ending a sentence. Lower-case, no dot.
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft rev gen col capt lt sgt cpl supt insp det cst pc dc di ds
    gov sen rep pres hon esq inc ltd co corp plc bros dept univ assn est approx
    vs etc al cf ie eg viz ca fig figs no nos vol vols ch chap sec pp ed eds
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    a.m p.m e.g i.e u.s u.k u.n d.c
    """.split()
)

_CLOSERS = "\"'”’)]»"
_OPENERS = "\"'“‘([«"
# A candidate end: terminal punctuation, any closing quotes/brackets, then space.
_END = re.compile(r"[.!?…]+[" + re.escape(_CLOSERS) + r"]*(?=\s)")
_LIST_MARKER = re.compile(r"\s*(?:[-*+•]\s|#{1,6}\s|\d{1,3}[.)]\s|>\s)")


# Markdown lines that are structure rather than prose: a heading or a rule (---, ***,
# ___ or a setext ===) labels what follows; a table row or a code fence is structure too.
_HEADING_OR_RULE = r"#{1,6}(?:\s|$)|(?:[-*_=][ \t]*){3,}$"
_LABEL = re.compile(rf"\s*(?:{_HEADING_OR_RULE})")
_STRUCTURAL = re.compile(rf"\s*(?:{_HEADING_OR_RULE}|\||```|~~~)")
_TABLE_ROW = re.compile(r"[ \t]*\|")
_ROW_LINE = re.compile(r"^[ \t]*\|[^\r\n]*", re.MULTILINE)
_HEADING_LINE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t][^\r\n]*", re.MULTILINE)  # one label: "## 3. Actions"
# A fence line: up to three spaces, then ``` or ~~~ (or longer runs).
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\r\n]*(?=\r\n|\r|\n|\Z)", re.MULTILINE)


def fenced_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each fenced code block, fences included, as CommonMark reads them.

    A block is closed by a fence of the same character at least as long with nothing
    after it; an unclosed block runs to the end of the text.
    """
    blocks = []
    opener = None
    for m in _FENCE_LINE.finditer(text):
        fence = m.group(1)
        if opener is None:
            opener = (m.start(), fence)
        elif fence[0] == opener[1][0] and len(fence) >= len(opener[1]) and not m.group().strip()[len(fence):].strip():
            blocks.append((opener[0], m.end()))
            opener = None
    if opener is not None:
        blocks.append((opener[0], len(text.rstrip())))
    return blocks


def is_structural(sentence: str) -> bool:
    """Is this sentence a Markdown heading, table row, code fence or rule?"""
    return _STRUCTURAL.match(sentence) is not None


def is_heading(sentence: str) -> bool:
    """Is this sentence a Markdown heading or rule, a label that answers nothing on its own?"""
    return _LABEL.match(sentence) is not None


def opens_code_block(sentence: str) -> bool:
    """Does the sentence open with a code fence ("```sh", "~~~")? A fenced block is one sentence."""
    return _FENCE_LINE.match(sentence) is not None


def is_question(sentence: str) -> bool:
    """Does the sentence end in a question mark (before any closing quotes or brackets)?"""
    return sentence.rstrip().rstrip(_CLOSERS).endswith("?")


_BULLET = re.compile(r"\s*[-*+•]\s")
_TERMINAL = ".!?:;,…"
# What may follow a sentence's last word or full stop: closing quotes and brackets, emphasis, a
# footnote or reference mark ("…years.”", "…before.[^1]", "…Galilee.[citation needed]").
_TRAILING_MARKS = re.compile(r"(?:[\s" + re.escape(_CLOSERS) + r"*_`]|\[[^\[\]\n]{1,30}\])+\Z")


def is_label(sentence: str) -> bool:
    """Does the sentence end on a word or a figure, with no punctuation after it? Prose does not; a
    label does: a byline ("By Priya Natarajan, Health Correspondent"), a date line, a caption."""
    tail = sentence[-200:]
    m = _TRAILING_MARKS.search(tail)
    return tail[: m.start() if m else len(tail)][-1:].isalnum()


def is_title_line(paragraph: str) -> bool:
    """Is this paragraph a plain-text heading ("3. Finances", "LOOKING AHEAD")? One short line (under
    60 characters, as ``sentence_spans`` reads a title) with a letter, no closing punctuation, no
    bullet, table row or fence: a label of what follows, which answers nothing on its own."""
    line = paragraph.strip()
    if not line or "\n" in line or "\r" in line or len(line) >= 60 or not any(ch.isalpha() for ch in line):
        return False
    if _BULLET.match(line) or _STRUCTURAL.match(line):
        return False
    return line.rstrip(_CLOSERS)[-1] not in _TERMINAL


# A table's delimiter row: | --- | :---: | (GFM), which makes the row above it the header.
_DELIMITER = re.compile(r"\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")


def is_table_row(sentence: str) -> bool:
    """Is this sentence a Markdown table row (header, delimiter or data)?"""
    return _TABLE_ROW.match(sentence) is not None


def is_table_delimiter(sentence: str) -> bool:
    """Is this sentence a table's delimiter row ("|---|:--:|")?"""
    return is_table_row(sentence) and "-" in sentence and _DELIMITER.match(sentence) is not None


def joins(first: str, second: str, broken: bool = False) -> bool:
    """Can two adjacent sentences stand together as one answer?

    Not when either is a heading, table row, code block or rule ("Staff rose to 58." and
    "## Findings" are not one thought), nor when the second starts a new list item: two
    bullets are two points, nor when the second is a question: a question is answered by
    what follows it ("Q: How much is a permit? A: £95"), never by what comes before, nor
    when a label (``is_label``: a byline, a date line) comes before prose: it is not the
    start of the next paragraph's thought, though a label beside a label in its paragraph
    is one block ("title: …" / "author: …"; not when ``broken``, a blank line between them:
    a headline and the byline under it). Each may still be an answer on its own. The two
    exceptions are a code block after the line that introduces it ("To run the tests:") and
    a heading that asks a question with the sentence that starts to answer it ("## What
    happens if I park without a permit?" / "A penalty charge of £70 applies.", an FAQ).
    """
    if first.rstrip().endswith(":") and opens_code_block(second) and not is_structural(first):
        return True
    asks = is_question(second)
    if is_heading(first) and first.rstrip().endswith("?") and not (is_structural(second) or _LIST_MARKER.match(second) or asks):
        return True
    return not (is_structural(first) or is_structural(second) or _LIST_MARKER.match(second) or asks
                or is_label(first) and (broken or not is_label(second)))


def _is_abbreviation(text: str, dot: int) -> bool:
    """Is the '.' at text[dot] part of an abbreviation or an initial?"""
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    if not word:
        return False
    if start > 0 and not (text[start - 1].isspace() or text[start - 1] in _OPENERS):
        return False  # the tail of a longer token: "CSE/A.", "2000s."
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
        return True
    return word in ABBREVIATIONS or word.rstrip(".") in ABBREVIATIONS or (
        "." in word and all(len(p) <= 2 for p in word.split("."))  # "U.S.A" style
    )


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) spans sorted, with those that overlap (a table row inside a code block) made one."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _inside(spans: list[tuple[int, int]], at: int) -> bool:
    """Whether ``at`` lies strictly inside one of the sorted, disjoint (start, end) spans."""
    i = bisect.bisect_left(spans, (at,))  # the first span starting at or after ``at``
    return i > 0 and spans[i - 1][0] < at < spans[i - 1][1]


# YAML front matter: a block that opens the file between two "---" lines (the second may be
# "..."), of "key: value" lines (title, author, date). Each of its lines is a sentence of its own
# ("author: Dr Amara Okoye" answers "who wrote it?"), and its fences are rules, labels that answer
# nothing. Bounded, so a file that opens with a rule and never closes it costs one short scan.
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n((?:[^\r\n]*\r?\n){1,100}?)(?:---|\.\.\.)[ \t]*(?=\r?\n|\Z)")
_YAML_KEY = re.compile(r"^[A-Za-z_][\w-]*[ \t]*:(?:[ \t]|$)", re.MULTILINE)


def front_matter(text: str) -> tuple[int, int] | None:
    """(start, end) of the YAML front matter that opens text, fences included, or None."""
    if not text.startswith(("---", "\ufeff---")):
        return None
    m = _FRONT_MATTER.match(text)
    return (m.start(), m.end()) if m is not None and _YAML_KEY.search(m.group(1)) else None


_NEXT_WORD = re.compile(r"[ \t]*(\S+)")
_ITEM_NUMBER = re.compile(r"[ \t]*\d{1,3}")


def _wrapped(line: str, text: str, at: int, end: int, width: int) -> bool:
    """Whether the line ends where hard-wrapped prose would: its next line's first word (at
    ``text[at:]``) would not have fitted on it within ``width``, its paragraph's longest line."""
    m = _NEXT_WORD.match(text, at, end)
    return m is not None and len(line) + 1 + len(m.group(1)) > width


def sentence_spans(
    text: str, start: int = 0, end: int | None = None, code: list[tuple[int, int]] | None = None,
    front: tuple[int, int] | None | EllipsisType = ...,
) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets inside text[start:end], trimmed of white space.

    Splits after . ! ? … (with any closing quotes) when the next word starts a
    sentence, and at line breaks that begin a list item, heading or table row, or
    follow a table row or a line with no terminal punctuation that is short like a
    heading; each line of a YAML front matter block (``front``: front_matter(text), else found
    here) is a sentence. A fenced code block (``code``: fenced_blocks(text), else found here)
    is one sentence, never cut inside: "python3 -m venv .venv && . .venv/bin/activate" is one command; so is a
    table row ("| 2024/101 | Keep alarms on. Always. |").
    """
    end = len(text) if end is None else end
    if is_title_line(text[start:end]):  # "3. Finances" is one label, not "3." and "Finances"
        s = start + len(text[start:end]) - len(text[start:end].lstrip())
        return [(s, s + len(text[start:end].strip()))]
    if code is None:
        code = fenced_blocks(text)
    blocks = []  # the code blocks that overlap text[start:end], clipped to it
    i = bisect.bisect_right(code, start, key=lambda block: block[1])
    while i < len(code) and code[i][0] < end:
        blocks.append((max(code[i][0], start), min(code[i][1], end)))
        i += 1
    cuts: list[int] = [edge for block in blocks for edge in block]
    for m in _END.finditer(text, start, end):
        stop = m.end()
        punct = text[m.start()]
        if punct == "." and _ITEM_NUMBER.fullmatch(text, max(text.rfind("\n", start, m.start()) + 1, start), m.start()):
            continue  # the number of a numbered item or heading ("1. First…"), not a sentence
        nxt = stop
        while nxt < end and text[nxt].isspace():
            nxt += 1
        if nxt >= end:
            continue
        follower = text[nxt]
        if punct == "." and m.end() - m.start() == 1 and _is_abbreviation(text, m.start()):
            continue
        if follower.islower():
            continue  # "e.g. this", "2.5 in." or a decimal mid-sentence
        if follower.isdigit() and punct == "." and text[m.start() - 1 : m.start()].isdigit():
            continue  # "section 3. 4 more" is rare; numbers run on far more often
        if not (follower.isupper() or follower.isdigit() or follower in _OPENERS or not follower.isalnum()):
            continue
        cuts.append(stop)
    # Line breaks inside a paragraph: split before list items and headings,
    # and after a short line with no closing punctuation (a title or label).
    pos = text.find("\n", start, end)
    # Hard-wrapped prose breaks a line where the next word would not fit: such a break is no
    # title's end, however short the line ("…the Independent Office for Police\nConduct (IOPC)…").
    # A paragraph with no full stop, that ends on a word or a figure, is no prose but a block of
    # labels (a byline and a date line, an address): each line is one, however long (a headline).
    width = max((len(line.rstrip()) for line in text[start:end].splitlines()), default=0)
    prose = _END.search(text, start, end) is not None or not is_label(text[start:end])
    while pos != -1:
        line_start = text.rfind("\n", start, pos) + 1
        line_start = max(line_start, start)
        prev_line = text[line_start:pos].strip()
        if _TABLE_ROW.match(text, pos + 1, end) is not None or prev_line and (
            _LIST_MARKER.match(text, pos + 1, end) is not None
            or prev_line.startswith(("#", "|"))  # each table row is a sentence, however wide
            or not prose
            or (len(prev_line) < 60 and (prev_line[-1] not in ".,;:!?-–—" + _CLOSERS or is_label(prev_line))
                and not _wrapped(text[line_start:pos].rstrip(), text, pos + 1, end, width))
        ):
            cuts.append(pos + 1)
        pos = text.find("\n", pos + 1, end)
    if front is ...:
        front = front_matter(text)
    if front is not None and front[0] < end and start < front[1]:  # each line of it is a sentence
        cuts.extend(i + 1 for i in range(max(start, front[0]), min(end, front[1])) if text[i] == "\n")
        cuts.append(min(end, front[1]))
    # a table row is one sentence, and so is a Markdown heading
    rows = [(m.start(), m.end()) for line in (_ROW_LINE, _HEADING_LINE) for m in line.finditer(text, start, end)]
    if blocks or rows:
        whole = _merged(blocks + rows)  # a cut strictly inside one of these is dropped
        cuts = [c for c in cuts if not _inside(whole, c)]
    spans = []
    last = start
    for cut in sorted(set(cuts)) + [end]:
        s, e = last, cut
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        last = cut
    return spans


# --- terms -----------------------------------------------------------------

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been before
    being below between both but by can cannot could couldn't did didn't do does doesn't doing don't
    down during each few for from further had hadn't has hasn't have haven't having he he'd he'll
    he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is
    isn't it it's its itself let's me more most mustn't my myself no nor not of off on once only or
    other ought our ours ourselves out over own same shan't she she'd she'll she's should shouldn't
    so some such than that that's the their theirs them themselves then there there's these they
    they'd they'll they're they've this those through to too under until up very was wasn't we we'd
    we'll we're we've were weren't what what's when when's where where's which while who who's whom
    why why's with won't would wouldn't you you'd you'll you're you've your yours yourself
    yourselves s t d ll m re ve y many much will shall may might must also just
    """.replace("'", "").split()
)

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def words(text: str) -> list[str]:
    """Lower-case word tokens; apostrophes are dropped ("SYP’s" -> "syps")."""
    return [m.group().replace("'", "").replace("’", "") for m in _TOKEN.finditer(text.lower())]


def terms(text: str) -> list[str]:
    """Stemmed content words: what lexical search matches on."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]



# --- typed tokens: what a when / how-many / who question asks for ------------------------

MONTHS = frozenset("january february march april may june july august september october november december".split())
NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion "
    "trillion dozen dozens hundreds thousands millions billions half quarter percent".split()
)
_YEAR = re.compile(r"^(?:1[0-9]{3}|20[0-9]{2})(?:s|/\d{2,4})?$")
NAME_STRIP = "\"'“”‘’()[],.;:!?"  # what wraps a name in running text: quotes, brackets, punctuation


def typed_tokens(text: str, kind: str) -> set[str]:
    """Lower-cased tokens of one kind: "time" (years, months), "number" (digits, number words)
    or "person" (capitalised words not at the start, not stopwords or months)."""
    out = set()
    if kind == "person":
        for i, tok in enumerate(text.split()):
            core = tok.strip(NAME_STRIP)
            low = core.lower()
            if i > 0 and core[:1].isupper() and core.isalpha() and low not in STOPWORDS and low not in MONTHS:
                out.add(low)
        return out
    for tok in re.findall(r"[\w/]+", text):
        low = tok.lower()
        if kind == "time" and (_YEAR.match(low) or low in MONTHS or low in ("century", "centuries")):
            out.add(low)
        elif kind == "number" and (any(ch.isdigit() for ch in low) or low in NUMBER_WORDS):
            out.add(low)
    return out

