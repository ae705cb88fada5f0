"""The project's one word list and the word-level features every stage compares text by.

* ``STOP``: English stop words; ``MONTH_NAMES``, ``MONTH_ABBREVIATIONS``, ``MONTHS`` (name or
  abbreviation -> month number), ``WEEKDAYS`` (name -> 0 for Monday).
* ``content_words("Xi signed 20 agreements")`` -> ``{"xi", "sign", "agreement"}`` (lower case,
  no stop words or digits, crude suffix stemming, "Sept." read as "september").
* ``names("Xi met Putin in May")`` -> ``{"xi", "putin", "may"}``: capitalised words, "May" the
  month included.
* ``numbers("1,200 and 3.0")`` -> ``{"1200", "3"}``; ``word_forms(text)``: every normalised
  word, for look-ups of names; ``strip_markers("It rose [1].")`` -> ``"It rose."``.

Pure functions of text: nothing here knows about chunks, dates in context or the index.
"""

from __future__ import annotations

import functools
import os
import re

MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
MONTH_ABBREVIATIONS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
    "aug": "august", "sept": "september", "sep": "september", "oct": "october", "nov": "november", "dec": "december",
}
MONTHS = {name: i for i, name in enumerate(MONTH_NAMES, start=1)} | {
    short: MONTH_NAMES.index(full) + 1 for short, full in MONTH_ABBREVIATIONS.items()
}
WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
STOP = set(
    """a an the and or but if then than that this these those there their they them he she his her its it we
    our you your i me my is are was were be been being am do does did done has have had having of in on at
    to for from by with about as into onto over under after before between during through against without
    within also too very more most less least such so not no nor only own same other some any each both all
    few many much can could will would shall should may might must what which who whom whose when where why
    how said says say according while because although though however just again further once here up down
    out off above below above per via new one two three several including include includes included""".split()
)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
CAPITALISED = re.compile(r"\b[A-Z][A-Za-z’'\-]*")
WORDS = re.compile(r"[a-z0-9]+")
MARKER = re.compile(r"\s*\[\d+\]")
# Markers that open a piece of a draft ("[1] Its main …"): they belong to the sentence before.
LEAD_MARKERS = re.compile(r"(?:\s*\[[^\]]*\]\s*)+")
QUARTER = re.compile(r"\bQ(?P<q>[1-4])\b|\b(?P<nth>first|second|third|fourth|1st|2nd|3rd|4th)[\s-]+quarter\b", re.IGNORECASE)
QUARTER_NUMBERS = {"1": 1, "2": 2, "3": 3, "4": 4, "first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}


def norm_word(word: str) -> str:
    """``"Putin’s"`` -> ``"putin"``, ``"Sept."`` -> ``"september"``, ``"'HACKED'"`` -> ``"hacked"``
    (quotation marks are not part of a word)."""
    word = word.lower().replace("’", "'")
    word = re.sub(r"'s$", "", word).strip("'")
    return MONTH_ABBREVIATIONS.get(word.rstrip("."), word)


@functools.cache
def _snowball():  # noqa: ANN202
    from nltk.stem.snowball import SnowballStemmer  # the Snowball (Porter 2) English stemmer

    return SnowballStemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A word's stem, so that its forms match: ``"agreements"`` -> ``"agreement"``, ``"signed"``
    -> ``"sign"``, and ``"announced"``, ``"announces"``, ``"announce"`` -> ``"announc"``
    (a hand-written suffix list left "announce" and "announced" apart). Irregular forms
    ("met", "won") stay apart."""
    return _snowball().stem(word)


def numbers(text: str) -> set[str]:
    """Every figure of a text, normalised (``"1,090"`` -> ``"1090"``, ``"21.0"`` -> ``"21"``); a
    quarter of a year is one value however written (``"Q2"``, ``"second-quarter"``, ``"2nd
    quarter"`` -> ``"q2"``), so "Q2" is not the figure 2 and a second-quarter report gives it."""
    found = {f"q{QUARTER_NUMBERS[(m['q'] or m['nth']).lower()]}" for m in QUARTER.finditer(text)}
    for raw in NUMBER.findall(QUARTER.sub(" ", text)):
        value = re.sub(r",(?=\d{3}\b)", "", raw).rstrip(".,")
        found.add(value[:-2] if value.endswith(".0") else value)
    return found


def names(text: str) -> set[str]:
    out = set()
    for token in CAPITALISED.findall(text):
        for part in token.split("-"):
            word = norm_word(part)
            # "May" the month is a name to check, "may" the verb a stop word.
            if word and (word not in STOP or part == "May") and not word.isdigit():
                out.add(word)
    return out


def content_words(text: str) -> set[str]:
    words = (norm_word(w) for w in WORDS.findall(text.lower().replace("’", "'")))
    return {stem(w) for w in words if w not in STOP and not w.isdigit() and len(w) > 1}


def word_forms(text: str) -> set[str]:
    """Every normalised word of a text, for name look-ups."""
    return {norm_word(w) for w in re.findall(r"[A-Za-z’']+", text)}


def strip_markers(text: str) -> str:
    """The text without its ``[n]`` citation markers (and the space before each)."""
    return MARKER.sub("", text).strip()


# Verbs that attribute words or a stance to someone: "Xi said", "Modi wrote", "he stressed".
SPEECH_VERBS = frozenset(
    """say says said tell tells told write writes wrote describe describes described call calls called
    stress stresses stressed highlight highlights highlighted emphasize emphasizes emphasized emphasise
    emphasises emphasised note notes noted recall recalls recalled accuse accuses accused urge urges urged
    claim claims claimed warn warns warned add adds added state states stated declare declares declared
    announce announces announced insist insists insisted argue argues argued praise praises praised
    welcome welcomes welcomed reiterate reiterates reiterated repeat repeats repeated
    characterise characterises characterised characterize characterizes characterized""".split()
)
PRONOUNS = frozenset("he she they".split())
# The capitalised words (a name with its titles, "A and B") right before a speech verb.
_SPEAKER_RUN = re.compile(r"((?:[A-Z][\w’'\-.]*\s+(?:and\s+)?){1,6})$")
_SUBJECT_RUN = re.compile(r"^\W*((?:[A-Z][\w’'\-.]*\s+(?:and\s+)?)+)")


# "According to Putin, …", "In the words of Xi, …": the words are credited to whoever is named.
_ATTRIBUTED = re.compile(r"\b(?i:according\s+to|in\s+the\s+words\s+of)\s+((?:[A-Z][\w’'\-.]*\s*)+)")


def _names_in(run: str) -> set[str]:
    return {norm_word(w) for w in re.findall(r"[A-Za-z’'\-]+", run) if w[:1].isupper() and norm_word(w) not in STOP}


def speakers(text: str, before: str = "") -> set[str]:
    """Names of whoever the text has saying something: the capitalised words right before a
    (lower-case) speech verb; a pronoun there stands for the subject opening ``before``.

    >>> sorted(speakers("Modi wrote on X that it was a delight."))
    ['modi']
    >>> sorted(speakers("He stressed that both countries should cooperate.", before="President Xi met Putin."))
    ['president', 'xi']
    >>> sorted(speakers('"... as you conspire against The United States of America," Trump wrote.'))
    ['trump']
    >>> sorted(speakers("According to Putin, ties have reached a historic high."))
    ['putin']
    >>> sorted(speakers("According to the report, ties have reached a historic high."))
    []
    """
    out: set[str] = set()
    for m in _ATTRIBUTED.finditer(text):
        out |= _names_in(m.group(1))
    for m in re.finditer(r"\b[a-z]+\b", text):
        if m.group(0) not in SPEECH_VERBS:
            continue
        head = text[: m.start()]
        run = _SPEAKER_RUN.search(head)
        if run and (named := _names_in(run.group(1))):
            out |= named
        elif re.search(r"\b(?:" + "|".join(PRONOUNS) + r")\s+$", head, re.IGNORECASE) and before:
            # "He said …": whoever the sentence before has speaking, else its opening subject
            earlier = speakers(before)
            if earlier:
                out |= earlier
            elif subject := _SUBJECT_RUN.match(before):
                out |= _names_in(subject.group(1))
    return out


NUMBER_WORDS = {
    w: str(i) for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}


def counts(text: str) -> dict[str, str]:
    """What the text counts: each of the two content words after a number, mapped to the number.

    >>> counts("He emphasized five guiding principles.")
    {'guid': '5', 'principl': '5'}
    """
    tokens = re.findall(r"[A-Za-z’']+|\d+(?:[.,]\d+)*", text)
    out: dict[str, str] = {}
    for i, token in enumerate(tokens):
        value = NUMBER_WORDS.get(token.lower()) or (token.replace(",", "") if token[0].isdigit() else None)
        if value is None:
            continue
        following = [stem(norm_word(t)) for t in tokens[i + 1 : i + 4] if not t[0].isdigit() and norm_word(t) not in STOP][:2]
        for word in following:
            out.setdefault(word, value)
    return out


def counted(text: str) -> dict[str, set[str]]:
    """Each number of the text -> the words it counts (``counts`` the other way round):
    ``counted("nine books, nine years")`` -> ``{"9": {"book", "year"}}``."""
    out: dict[str, set[str]] = {}
    for word, value in counts(text).items():
        out.setdefault(value, set()).add(word)
    return out


def initialisms(text: str) -> set[str]:
    """``"U.S."`` -> ``"us"``; ``"GGI"`` -> ``"ggi"``: abbreviations as one lower-case word."""
    return {re.sub(r"[^a-z]", "", t.lower()) for t in re.findall(r"\b(?:[A-Z]\.){2,}|\b[A-Z]{2,6}\b", text)}


def _runs(text: str) -> list[list[str]]:
    """The text's runs of two or more capitalised words ("Shanghai Cooperation Organization
    Summit"; "of", "for", "and", "the" may join them), as lists of words."""
    runs = re.findall(r"(?:\b[A-Z][A-Za-z]+(?:\s+(?:of|for|and|the)\s+|\s+)?){2,}", text)
    return [words for run in runs if len(words := re.findall(r"[A-Z][A-Za-z]+", run)) >= 2]


def _initials(words: list[str]) -> dict[str, list[str]]:
    """Initials of every stretch of two or more of ``words`` -> the words they stand for."""
    return {"".join(w[0] for w in words[i:j]).lower(): words[i:j] for i in range(len(words)) for j in range(i + 2, len(words) + 1)}


def spelled_out(text: str, named: set[str]) -> set[str]:
    """The text's capitalised runs (or stretches of them) whose initials are in ``named``
    ("Global Governance Initiative" when ``named`` has "ggi" from "GGI"), as the names they cover."""
    covered: set[str] = set()
    for words in _runs(text):
        for initials, stretch in _initials(words).items():
            if initials in named:
                covered |= {w.lower() for w in stretch}
    return covered


def _same_name(a: str, b: str) -> bool:
    """One name in two forms: "russia"/"russian", "china"/"chinese", "iran"/"iranian" (a shared
    start of at least four letters, all but the shorter word's last letter), not
    "austria"/"australia" or "iran"/"iraq"."""
    shared = len(os.path.commonprefix([a, b]))
    return shared >= max(4, min(len(a), len(b)) - 1)


def run_initials(text: str) -> set[str]:
    """The initials of the text's capitalised runs and their stretches: "Shanghai Cooperation
    Organization Summit" -> "sco", "scos", "co", ..."""
    return {initials for words in _runs(text) for initials in _initials(words)}


_ORDINAL_NUMERALS = {"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
                     "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th"}
# "I" is left out as first's Roman numeral: in a text it is far more often the pronoun.
_ORDINAL_ROMANS = {"second": "ii", "third": "iii", "fourth": "iv", "fifth": "v", "sixth": "vi", "seventh": "vii",
                   "eighth": "viii", "ninth": "ix", "tenth": "x"}
_ROMAN_ORDINALS = {roman: word for word, roman in _ORDINAL_ROMANS.items()}


def _ordinal_given(name: str, words: set[str], text: str) -> bool:
    """An ordinal name in another of its forms: "Second" (World War) as "II" or "2nd", and back."""
    if name in _ORDINAL_NUMERALS:
        return _ORDINAL_ROMANS.get(name) in words or re.search(rf"\b{_ORDINAL_NUMERALS[name]}\b", text.lower()) is not None
    return _ROMAN_ORDINALS.get(name) in words


_NAME_RUN = re.compile(r"\b[A-Z][\w’'\-]*(?:\s+[A-Z][\w’'\-]*)+")


def _name_runs(text: str) -> list[set[str]]:
    """Runs of adjacent capitalised words (no "and" or "of" inside: those join two names), as
    sets of their name words: "Kim Jong Un met Xi" -> [{"kim", "jong", "un"}]."""
    return [run for m in _NAME_RUN.finditer(text) if len(run := names(m.group(0))) >= 2]


def named_in_part(text: str, evidence: str) -> set[str]:
    """Words of the text's multi-word names that the evidence names by a part: "Kim Jong Un" when
    the evidence says "Kim", "Vladimir Putin" when it says "Putin". Not when the evidence's own
    name around that part has a word the text's name lacks ("Donald Tusk" against "Donald Trump"),
    in any form ("North Korean leader" names "North Korea")."""
    given, runs = names(evidence), _name_runs(evidence)
    covered: set[str] = set()
    for run in _name_runs(text):
        shared = run & given
        if shared and not any(other & shared and any(not any(_same_name(w, r) for r in run) for w in other - run) for other in runs):
            covered |= run
    return covered


def unmatched_names(text: str, evidence: str) -> set[str]:
    """The text's names that ``evidence`` does not give in any form: as the word, as another
    form of it ("Russian" for "Russia"), as an initialism of them ("U.S." for "United States"),
    spelled out ("Shanghai Cooperation Organization" for "SCO"), an ordinal as a numeral
    ("Second World War", "World War II") or a full name by one part ("Kim" for "Kim Jong Un")."""
    words, capitalised = word_forms(evidence), names(evidence)
    spelled = spelled_out(text, words | initialisms(evidence))
    runs = run_initials(evidence)
    missing = {n for n in names(text) - words
               if n not in spelled and n not in runs and not any(_same_name(n, w) for w in capitalised) and not _ordinal_given(n, words, evidence)}
    return missing - named_in_part(text, evidence) if missing else missing


def number_words(text: str) -> set[str]:
    """Values of the counts a text spells out from three to twenty ("ten straight years" -> "10");
    "one" and "two" are left out: they are as often no count at all ("one of", "the two leaders")."""
    return {NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in NUMBER_WORDS and int(NUMBER_WORDS[w]) >= 3}


# A question answered yes or no ("Did …", "Was …"): its answer may restate it and add only "no".
YES_NO = re.compile(r"^\W*(?:is|was|were|are|did|does|do|has|had|have|can|could|will|would)\b", re.IGNORECASE)
