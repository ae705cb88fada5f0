"""Read news as it comes (saved pages, RSS/Atom feeds, JSON Lines exports) into articles.

One input file gives one or more ``ExtractedArticle`` records: the article's plain text (the
text the index stores and quotes, so a citation's ``quote == article.text[start:end]``) and its
title, URL, author, site and publication date. The field's own libraries do the work:

- ``.html``/``.htm``: trafilatura keeps the main text and drops navigation, ads, related links,
  comments and cookie banners; title, author, site, URL and date come from the page's metadata
  (JSON-LD, meta tags, ``<time>``, the URL). When the markup has no date, htmldate searches the
  page's text for one (``published_source == "htmldate"``: a guess, like an inferred dateline).
- ``.xml``/``.rss``/``.atom``: feedparser; each entry with full content (else its summary) is an
  article keyed ``FILE#<entry id>`` (``FILE#<n>`` without a usable id), HTML turned into text.
- ``.jsonl``: one article per line, keyed ``FILE:LINE``; which fields hold the text, date, etc.
  is set with ``JsonFields``. A malformed line or one without text is skipped and reported as
  ``FILE:LINE: what is wrong``; the other lines are still read.

Paragraphs in ``text`` are separated by a blank line, whitespace inside them collapsed.
Dates are ISO ``YYYY-MM-DD`` in the article's own time zone.

It does not read .txt/.md (``clean.py`` keeps offsets into those files), does not chunk, embed
or store, does not fetch anything from the network, and does not merge duplicate stories across
files (reprint merging works on the extracted texts later). trafilatura, htmldate and feedparser
are imported inside the readers, so importing this module costs nothing.
"""

from __future__ import annotations

import email.utils
import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import IngestError


class FormatError(IngestError):
    """A news file could not be read as its format (one line, without the file name)."""


@dataclass(frozen=True)
class ExtractedArticle:
    """One article read from a news file. ``text`` is what gets indexed and quoted."""

    key: str  # stable name: "page.html", "feed.rss#<entry id>", "export.jsonl:12"
    file: str  # the input file it came from (several articles can share it)
    text: str
    title: str | None = None
    url: str | None = None
    author: str | None = None
    site: str | None = None  # publication name: page's site name, feed title, JSONL "source"
    published: str | None = None  # YYYY-MM-DD
    # where the date came from: "metadata" (page markup), "htmldate" (found in the page's text,
    # a guess), "feed:published", "feed:updated", "field:<name>" (JSONL); None without a date
    published_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReadProblem:
    """A part of a file that was skipped (or read with a caveat), and why."""

    key: str  # "export.jsonl:3", "feed.rss#7"
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


@dataclass(frozen=True)
class ReadResult:
    articles: tuple[ExtractedArticle, ...]
    problems: tuple[ReadProblem, ...] = ()


def _names(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class JsonFields:
    """Which JSON fields hold what, each a name or names tried in order (first non-empty wins).

    ``JsonFields(text="body", published="firstPublished")`` reads an export whose text is in
    ``body``; the defaults fit NewsAPI-style exports and flat dumps.
    """

    text: tuple[str, ...] = ("content", "text", "body", "description")
    published: tuple[str, ...] = ("published", "publishedAt", "published_at", "date", "pubDate")
    title: tuple[str, ...] = ("title", "headline")
    url: tuple[str, ...] = ("url", "link")
    author: tuple[str, ...] = ("author", "byline", "creator")
    source: tuple[str, ...] = ("source", "site", "site_name")

    def __post_init__(self) -> None:
        for name in ("text", "published", "title", "url", "author", "source"):
            names = _names(getattr(self, name))
            if not names or not all(isinstance(n, str) and n for n in names):
                raise ValueError(f"JsonFields.{name} needs at least one field name")
            object.__setattr__(self, name, names)


Reader = Callable[[bytes, str, JsonFields], ReadResult]


def read_news_file(path: Path, *, fields: JsonFields | None = None, name: str | None = None) -> ReadResult:
    """Articles of the news file at ``path``; ``name`` (default: the file name) prefixes keys."""
    name = name or path.name
    reader = _reader_for(name)
    return reader(path.read_bytes(), name, fields or JsonFields())


def read_news(data: bytes, name: str, *, fields: JsonFields | None = None) -> ReadResult:
    """Articles of a news file given as bytes (an upload, a chat attachment), typed by ``name``."""
    return _reader_for(name)(data, name, fields or JsonFields())


def is_news_file(name: str) -> bool:
    """True for the suffixes this module reads: ``is_news_file("a.rss") -> True``."""
    return _suffix(name) in READERS


def _suffix(name: str) -> str:
    return Path(name).suffix.lower()


def _reader_for(name: str) -> Reader:
    suffix = _suffix(name)
    if suffix not in READERS:
        raise FormatError(f"unsupported news format {suffix or '(no extension)'}; expected one of {', '.join(sorted(READERS))}")
    return READERS[suffix]


# --- HTML pages ----------------------------------------------------------------------------

# With no article on a page, trafilatura's fallback returns whatever text is left (a menu
# label, a cookie notice); less than a sentence of it is not an article.
MIN_PAGE_TEXT_CHARS = 40


def _read_html(data: bytes, name: str, _fields: JsonFields) -> ReadResult:
    import trafilatura

    # Markup dates only (JSON-LD, meta, <time>, URL); the text search is htmldate's job below.
    doc = trafilatura.bare_extraction(
        data,
        with_metadata=True,
        include_comments=False,
        include_links=False,
        include_images=False,
        favor_precision=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = _paragraphs((doc.text or "").split("\n")) if doc is not None else ""
    if len(text) < MIN_PAGE_TEXT_CHARS:
        raise FormatError(f"no article text found in the page ({len(text)} characters of text)")
    published, published_source = _iso_date(doc.date), "metadata"
    if published is None:
        import htmldate

        published = _iso_date(htmldate.find_date(data, extensive_search=True, original_date=True))
        published_source = "htmldate"
    article = ExtractedArticle(
        key=name,
        file=name,
        text=text,
        title=_clean(doc.title),
        url=_clean(doc.url),
        author=_clean(doc.author),
        site=_clean(doc.sitename),
        published=published,
        published_source=published_source if published else None,
    )
    return ReadResult((article,))


# --- RSS / Atom feeds ----------------------------------------------------------------------

def _read_feed(data: bytes, name: str, _fields: JsonFields) -> ReadResult:
    import feedparser

    feed = feedparser.parse(io.BytesIO(data))  # a file object: feedparser never fetches it
    if not feed.entries:
        if feed.get("bozo"):
            raise FormatError(f"not a readable RSS or Atom feed ({_one_line(feed.get('bozo_exception'))})")
        raise FormatError("no feed entries found (an empty feed, or XML that is not RSS or Atom)")
    site = _clean(feed.feed.get("title"))
    articles, problems, used = [], [], set()
    for n, entry in enumerate(feed.entries, start=1):
        entry_id = " ".join(str(entry.get("id") or "").split())
        key = f"{name}#{entry_id}" if entry_id and entry_id not in used else f"{name}#{n}"
        used.add(entry_id)
        contents = [c.get("value") or "" for c in entry.get("content", [])]
        body = max(contents, key=len, default="") or entry.get("summary") or ""
        text = _markup_to_text(body)
        if not text:
            problems.append(ReadProblem(key, "entry has no content or summary; skipped"))
            continue
        published, published_source = None, None
        for stamp in ("published", "updated"):
            published = _iso_date(entry.get(stamp)) or _struct_date(entry.get(f"{stamp}_parsed"))
            if published:
                published_source = f"feed:{stamp}"
                break
        author_detail = entry.get("author_detail") or {}
        articles.append(
            ExtractedArticle(
                key=key,
                file=name,
                text=text,
                title=_clean(entry.get("title")),
                url=_clean(entry.get("link")),
                author=_clean(author_detail.get("name") or entry.get("author")),
                site=_clean((entry.get("source") or {}).get("title")) or site,
                published=published,
                published_source=published_source,
            )
        )
    return ReadResult(tuple(articles), tuple(problems))


# --- JSON Lines exports --------------------------------------------------------------------

TRUNCATION_MARK = re.compile(r"\s*(?:…|\.\.\.)?\s*\[\+\d+ chars\]\s*$")  # NewsAPI's cut "content"


def _read_jsonl(data: bytes, name: str, fields: JsonFields) -> ReadResult:
    articles, problems = [], []
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        key = f"{name}:{lineno}"
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError:
            problems.append(ReadProblem(key, "line is not UTF-8 text; skipped"))
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(ReadProblem(key, f"malformed JSON: {exc.msg} (column {exc.colno}); skipped"))
            continue
        if not isinstance(record, dict):
            problems.append(ReadProblem(key, f"expected a JSON object, got {type(record).__name__}; skipped"))
            continue
        text = next((t for t in (record.get(f) for f in fields.text) if isinstance(t, str) and t.strip()), "")
        text = _markup_to_text(TRUNCATION_MARK.sub("", text))
        if not text:
            problems.append(ReadProblem(key, f"no article text (none of the fields {', '.join(fields.text)} holds text); skipped"))
            continue
        date_field, raw_date = _first(record, fields.published)
        published = _iso_date(raw_date)
        if raw_date and not published:
            problems.append(ReadProblem(key, f"unreadable date {raw_date!r} in {date_field!r}; article kept without a date"))
        articles.append(
            ExtractedArticle(
                key=key,
                file=name,
                text=text,
                title=_first(record, fields.title)[1],
                url=_first(record, fields.url)[1],
                author=_first(record, fields.author)[1],
                site=_first(record, fields.source)[1],
                published=published,
                published_source=f"field:{date_field}" if published else None,
            )
        )
    return ReadResult(tuple(articles), tuple(problems))


def _first(record: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(field, value as text) of the first field holding something: a string, a number, a
    ``{"name": ...}`` object (NewsAPI's ``source``) or a list of those (several authors)."""
    for name in names:
        value = _as_text(record.get(name))
        if value:
            return name, value
    return None, None


def _as_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, list):
        value = ", ".join(t for t in (_as_text(v) for v in value) if t)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return _clean(value) if isinstance(value, str) else None


# --- shared helpers ------------------------------------------------------------------------

TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
BLOCK_TAGS = (
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "tr", "table", "section", "article", "header", "footer", "figure", "figcaption", "hr",
)


def _markup_to_text(markup: str) -> str:
    """Plain text of an HTML fragment (or of plain text), one blank line between paragraphs:
    ``"<p>A &amp; B</p><p>C</p>" -> "A & B\\n\\nC"``."""
    if not TAG.search(markup):
        return _paragraphs(re.split(r"\n\s*\n", markup))
    from lxml import etree, html as lxml_html

    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return _paragraphs(re.split(r"\n\s*\n", html.unescape(TAG.sub(" ", markup))))
    for element in root.xpath("//script | //style | //noscript | //template"):
        element.drop_tree()
    for element in root.iter("br"):
        element.tail = "\n" + (element.tail or "")
    for element in root.iter(*BLOCK_TAGS):
        element.text = "\n\n" + (element.text or "")
        element.tail = "\n\n" + (element.tail or "")
    return _paragraphs(re.split(r"\n[^\S\n]*\n", root.text_content()))


def _paragraphs(parts: list[str]) -> str:
    return "\n\n".join(p for p in (" ".join(part.split()) for part in parts) if p)


def _clean(value: Any) -> str | None:
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())[:160]


def _iso_date(value: Any) -> str | None:
    """ISO date of a date string as the source wrote it, in its own time zone:
    ``"2026-03-10T21:40:00-05:00" -> "2026-03-10"``, ``"Sat, 14 Mar 2026 09:05:00 +0100" ->
    "2026-03-14"``; None for anything unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        return datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _struct_date(value: Any) -> str | None:
    """feedparser's parsed (UTC) date, for date formats ``_iso_date`` does not read."""
    try:
        return date(value.tm_year, value.tm_mon, value.tm_mday).isoformat() if value else None
    except (AttributeError, ValueError):
        return None


# The one table of formats: suffix -> reader. Plain .txt/.md are not here (see clean.py).
READERS: dict[str, Reader] = {
    ".html": _read_html,
    ".htm": _read_html,
    ".xml": _read_feed,
    ".rss": _read_feed,
    ".atom": _read_feed,
    ".jsonl": _read_jsonl,
}
