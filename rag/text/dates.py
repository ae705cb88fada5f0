"""Dates in news text: an article's publication date, dates mentioned in sentences, and the
time expression of a question.

* ``infer_published`` finds a date for an article that has no ``date YYYY-MM-DD`` prefix: from a
  dateline at the top ("Beijing, September 2 — …") whose year is taken from the article's other
  dates and checked against a weekday the text gives ("… on Tuesday"). It returns ``None`` rather
  than guess when nothing fits.
* ``mentions`` lists the dates a sentence names ("Sept. 1", "Wednesday, Sept. 3, 2025", "in May",
  "on Tuesday" relative to the publication date), resolved to a day or a month.
* ``parse_time_query`` reads "on September 1", "in May", "in 2024", "before/after Sept. 3" from a
  question. ``event_anchor`` returns the event of "before the parade" for the caller to date.

Only English month names and the usual news abbreviations; no relative phrases like "last week".
This module knows nothing about chunks, retrieval or the index.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .words import MONTH_ABBREVIATIONS, MONTH_NAMES, MONTHS, WEEKDAYS

# "January|...|December|Jan|...|Sept|Sep|...|Dec": full names first, "Sept" before "Sep"
_MONTH = rf"(?P<month>{'|'.join(m.capitalize() for m in (*MONTH_NAMES, *MONTH_ABBREVIATIONS))})\.?"
# "Sept. 3, 2025", "September 2", "3 September 2025"
DAY_MONTH = re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?!\d)(?:st|nd|rd|th)?(?:,?\s+(?P<year>(?:19|20)\d\d)\b)?", re.IGNORECASE)
MONTH_DAY = re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+(?P<year>(?:19|20)\d\d)\b)?", re.IGNORECASE)
# "in May", "in late August", "in May 2025": a month without a day
IN_MONTH = re.compile(rf"\b(?:in|during|since|until|by)\s+(?:(?:early|mid|late)[\s-]+)?{_MONTH}(?:\s+(?P<year>(?:19|20)\d\d))?(?!\s*\d)", re.IGNORECASE)
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
WEEKDAY = re.compile(rf"\b(?:on\s+)?(?P<weekday>{'|'.join(d.capitalize() for d in WEEKDAYS)})\b", re.IGNORECASE)
DATELINE = re.compile(rf"^\W*[A-Z][A-Za-z .'-]{{1,40}},\s+{_MONTH}\s+(?P<day>\d{{1,2}})(?:,?\s+(?P<year>(?:19|20)\d\d))?\s*[—–-]")
ISO = re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>\d\d)-(?P<day>\d\d)\b")


@dataclass(frozen=True)
class DateMention:
    """A date named in text. ``day`` is None for a month ("in May"); ``year`` None when the text
    gives none and no reference date was known."""

    start: int
    end: int
    year: int | None
    month: int
    day: int | None

    def iso(self) -> str:
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}" if self.year else f"--{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}" if self.year else f"--{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True)
class TimeQuery:
    """The time a question asks about. ``relation`` is ``on`` (that day or month, or year),
    ``before`` or ``after``. ``year``/``month``/``day`` may be None (unspecified)."""

    relation: str
    year: int | None
    month: int | None
    day: int | None
    text: str

    def matches(self, mention: DateMention) -> bool:
        if self.relation == "on":
            if self.month is None:
                return mention.year == self.year
            if mention.month != self.month or (self.year and mention.year and mention.year != self.year):
                return False
            return self.day is None or mention.day == self.day
        key = _order_key(mention.year or self.year, mention.month, mention.day)
        ref = _order_key(self.year or mention.year, self.month or 1, self.day)
        if key is None or ref is None:
            return False
        return key < ref if self.relation == "before" else key > ref


def _order_key(year: int | None, month: int | None, day: int | None) -> tuple[int, int, int] | None:
    if year is None or month is None:
        return None
    return (year, month, day or 15)


def _valid(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_iso(text: str | None) -> dt.date | None:
    m = ISO.fullmatch(text or "")
    return _valid(int(m["year"]), int(m["month"]), int(m["day"])) if m else None


def infer_published(text: str) -> str | None:
    """ISO date of an undated article from its dateline, or None. The year comes from the
    article's other dates; a weekday named in the text decides between candidate years, and a
    dateline that contradicts every weekday named is not trusted."""
    head = text.lstrip()[:200]
    m = DATELINE.match(head)
    if not m:
        return None
    month, day = MONTHS[m["month"].lower().rstrip(".")], int(m["day"])
    if m["year"]:
        found = _valid(int(m["year"]), month, day)
        return found.isoformat() if found else None
    years = sorted({int(y) for y in YEAR.findall(text)}, reverse=True)
    candidates = [d for y in years if (d := _valid(y, month, day))]
    weekdays = {WEEKDAYS[w.lower()] for w in WEEKDAY.findall(text[:600])}
    if weekdays:
        candidates = [d for d in candidates if d.weekday() in weekdays]
    # Without a weekday to check, an article naming several years is ambiguous: the latest year
    # named is usually the story's own ("Summit 2025", "trade in 2024"), but we do not guess.
    if not candidates or (not weekdays and len(years) > 1):
        return None
    return candidates[0].isoformat()


def mentions(text: str, published: str | None = None) -> list[DateMention]:
    """Dates named in ``text``; years and weekdays resolved against ``published``."""
    ref = parse_iso(published)
    out: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for pattern in (DAY_MONTH, MONTH_DAY):
        for m in pattern.finditer(text):
            if not free(m.start(), m.end()):
                continue
            month, day = MONTHS[m["month"].lower().rstrip(".")], int(m["day"])
            if not 1 <= day <= 31:
                continue
            year = int(m["year"]) if m["year"] else _nearest_year(month, day, ref)
            out.append(DateMention(m.start(), m.end(), year, month, day))
            taken.append((m.start(), m.end()))
    for m in IN_MONTH.finditer(text):
        if free(m.start(), m.end()):
            month = MONTHS[m["month"].lower().rstrip(".")]
            year = int(m["year"]) if m["year"] else (_nearest_year(month, 1, ref) if ref else None)
            out.append(DateMention(m.start(), m.end(), year, month, None))
            taken.append((m.start(), m.end()))
    if ref:
        for m in WEEKDAY.finditer(text):
            if free(m.start(), m.end()):
                # A weekday in a news story is the most recent such day up to publication.
                back = (ref.weekday() - WEEKDAYS[m["weekday"].lower()]) % 7
                day = ref - dt.timedelta(days=back)
                out.append(DateMention(m.start(), m.end(), day.year, day.month, day.day))
    return sorted(out, key=lambda d: d.start)


def _nearest_year(month: int, day: int, ref: dt.date | None) -> int | None:
    """A date without a year in a story published on ``ref``: the year that puts it closest."""
    if ref is None:
        return None
    options = [d for y in (ref.year - 1, ref.year, ref.year + 1) if (d := _valid(y, month, min(day, 28)))]
    return min(options, key=lambda d: abs((d - ref).days)).year


_Q_DAY = re.compile(rf"\b(?P<rel>on|before|after|ahead of|prior to|following|by|since|until)\s+(?:the\s+)?(?:{_MONTH}\s+(?P<day>\d{{1,2}})|(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month2>[A-Za-z]+)\.?)(?:,?\s+(?P<year>(?:19|20)\d\d))?", re.IGNORECASE)
_Q_MONTH = re.compile(rf"\b(?P<rel>in|during|before|after|since|until|by)\s+(?:(?:early|mid|late)[\s-]+)?{_MONTH}(?:\s+(?P<year>(?:19|20)\d\d))?(?!\s*\d)", re.IGNORECASE)
_Q_YEAR = re.compile(r"\b(?P<rel>in|during|before|after|since|until)\s+(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE)
_Q_EVENT = re.compile(r"\b(?P<rel>before|after|ahead of|prior to|following)\s+(?:the\s+)?(?P<event>[a-z][a-z\s'-]{2,40}?)(?=[?.,!]|$)", re.IGNORECASE)
_RELATION = {"on": "on", "in": "on", "during": "on", "before": "before", "until": "before", "by": "before", "after": "after", "since": "after",
             "ahead of": "before", "prior to": "before", "following": "after"}


def parse_time_query(question: str) -> TimeQuery | None:
    """The first explicit time expression of a question, or None."""
    m = _Q_DAY.search(question)
    if m:
        month_word = (m["month"] or m["month2"] or "").lower().rstrip(".")
        if month_word in MONTHS:
            day = int(m["day"] or m["day2"])
            return TimeQuery(_RELATION[m["rel"].lower()], int(m["year"]) if m["year"] else None, MONTHS[month_word], day, m.group(0))
    m = _Q_MONTH.search(question)
    # "in May" is a time; "May" alone could be the verb, so a month needs its preposition.
    if m:
        return TimeQuery(_RELATION[m["rel"].lower()], int(m["year"]) if m["year"] else None, MONTHS[m["month"].lower().rstrip(".")], None, m.group(0))
    m = _Q_YEAR.search(question)
    if m:
        return TimeQuery(_RELATION[m["rel"].lower()], int(m["year"]), None, None, m.group(0))
    return None


def event_anchor(question: str) -> tuple[str, str] | None:
    """("before", "the parade") for "What happened before the parade?"; None when the question
    has an explicit date instead."""
    if parse_time_query(question):
        return None
    return event_phrase(question)


def event_phrase(question: str) -> tuple[str, str] | None:
    """The "before/after <event>" of a question, without looking for an explicit date first
    (for a caller that already knows there is none)."""
    m = _Q_EVENT.search(question)
    return (_RELATION[m["rel"].lower()], m["event"].strip()) if m else None


def date_label(published: str | None, inferred: bool = False) -> str:
    """How a publication date is shown: ``2025-09-02``, ``2025-09-02 (inferred)`` or ``date unknown``."""
    if not published:
        return "date unknown"
    return f"{published} (inferred)" if inferred else published
