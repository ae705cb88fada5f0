"""Clean a raw article into sentences that remember where they came from.

Handles what real news dumps look like: a leading ``date YYYY-MM-DD`` prefix (becomes
``published``), hard-wrapped lines, line-end hyphenation, a sentence broken by a blank line,
markdown emphasis, HTML tags and entities, and titles or paragraphs repeated within a file
(kept once). Every character of the cleaned text maps back to an offset in the ORIGINAL file,
so any span of cleaned text can be quoted exactly from the source.

It does not chunk (see ``chunk.py``) and does not read files (see ``files.py``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from ..text.sentences import cap_length, split_sentences
from ..types import Sentence

DATE_PREFIX = re.compile(r"\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*", re.IGNORECASE)
TERMINAL = re.compile(r"[.!?:;][\"'”’)\]]*$")
WORD = re.compile(r"[A-Za-z0-9]+")
CONTINUES, PARAGRAPH, GAP = 0, 1, 2


@dataclass(frozen=True)
class CleanArticle:
    """An article reduced to its unique sentences, each with its span in the original text."""

    sentences: tuple[Sentence, ...]
    # breaks[i]: how sentence i follows sentence i-1 in the original: CONTINUES, PARAGRAPH (a new
    # paragraph) or GAP (a repeated passage was dropped in between; chunks must cut there).
    breaks: tuple[int, ...]
    published: str | None
    title: str | None
    dropped: int


class _Stream:
    """Characters with their original offsets; the unit every cleaning step works on."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.offsets: list[int] = []

    def add(self, ch: str, offset: int) -> None:
        self.chars.append(ch)
        self.offsets.append(offset)


class _HTMLText(HTMLParser):
    """Visible text of an HTML page with offsets; drops script/style content."""

    SKIP = {"script", "style", "head", "title", "noscript", "template"}
    BLOCK = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "article", "section", "header", "footer", "blockquote"}

    def __init__(self, raw: str, base: int) -> None:
        super().__init__(convert_charrefs=False)
        self.raw = raw
        self.base = base
        self.stream = _Stream()
        self.skip_depth = 0
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", raw)]

    def _pos(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def handle_starttag(self, tag, attrs):  # noqa: ANN001 - HTMLParser signature
        if tag in self.SKIP:
            self.skip_depth += 1
        elif tag in self.BLOCK:
            self.stream.add("\n", self.base + self._pos())
            self.stream.add("\n", self.base + self._pos())

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag in self.SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in self.BLOCK:
            self.stream.add("\n", self.base + self._pos())
            self.stream.add("\n", self.base + self._pos())

    def handle_data(self, data):  # noqa: ANN001
        if self.skip_depth:
            return
        start = self._pos()
        for i, ch in enumerate(data):
            self.stream.add(ch, self.base + start + i)

    def _entity(self, text: str) -> None:
        if not self.skip_depth:
            at = self.base + self._pos()
            for ch in html.unescape(text):
                self.stream.add(ch, at)

    def handle_entityref(self, name):  # noqa: ANN001
        self._entity(f"&{name};")

    def handle_charref(self, name):  # noqa: ANN001
        self._entity(f"&#{name};")


def _to_stream(raw: str, start: int, is_html: bool) -> _Stream:
    if is_html:
        parser = _HTMLText(raw[start:], start)
        parser.feed(raw[start:])
        parser.close()
        return parser.stream
    stream = _Stream()
    for i in range(start, len(raw)):
        stream.add(raw[i], i)
    return stream


Line = list[tuple[str, int]]


def _lines(stream: _Stream) -> list[Line]:
    """Split into lines with whitespace collapsed and emphasis markers removed."""
    lines: list[Line] = [[]]
    for ch, off in zip(stream.chars, stream.offsets):
        if ch == "\n":
            lines.append([])
        else:
            lines[-1].append((ch, off))
    out = []
    for line in lines:
        text = "".join(c for c, _ in line)
        keep = [True] * len(line)
        for m in re.finditer(r"\*{2,}|_{2,}|^#{1,6}(?=\s)", text):
            for i in range(m.start(), m.end()):
                keep[i] = False
        collapsed: Line = []
        for (c, off), k in zip(line, keep):
            if not k:
                continue
            if c.isspace():
                if collapsed and collapsed[-1][0] != " ":
                    collapsed.append((" ", off))
            else:
                collapsed.append((c, off))
        while collapsed and collapsed[-1][0] == " ":
            collapsed.pop()
        out.append(collapsed)
    return out


def _text(line: Line) -> str:
    return "".join(c for c, _ in line)


def _is_heading(raw_line: str, line: Line, nxt: Line | None) -> bool:
    stripped = raw_line.strip()
    if stripped.startswith("#") or (stripped.startswith("**") and stripped.endswith("**")):
        return True
    text = _text(line)
    return bool(
        nxt and len(text) < 60 and not TERMINAL.search(text) and _text(nxt)[:1].isupper()
        and not text.endswith(",")
    )


def _paragraphs(stream: _Stream, full_text: str) -> list[Line]:
    """Join hard-wrapped lines and blank-line-broken sentences into paragraphs."""
    raw_lines = "".join(stream.chars).split("\n")
    lines = _lines(stream)
    paragraphs: list[Line] = []
    current: Line = []
    pending_blank = False
    for i, line in enumerate(lines):
        if not line:
            pending_blank = bool(current) or pending_blank
            continue
        if not current:
            current = list(line)
        else:
            prev_text = _text(current)
            first = line[0][0]
            if pending_blank:
                joined = not TERMINAL.search(prev_text) and first.islower()
            else:
                nxt = lines[i + 1] if i + 1 < len(lines) else None
                joined = not (
                    _is_heading(raw_lines[i - 1], lines[i - 1], line) or _is_heading(raw_lines[i], line, nxt)
                )
            if not joined:
                paragraphs.append(current)
                current = list(line)
            elif prev_text.endswith("-") and len(prev_text) > 1 and prev_text[-2].isalpha() and first.isalpha():
                head = re.search(r"[A-Za-z]+-$", prev_text)
                tail = re.match(r"[A-Za-z]+", _text(line))
                merged = (head.group(0)[:-1] + tail.group(0)).lower() if head and tail else ""
                # Keep real compounds ("good-neighborly"); undo a break only when the file itself
                # spells the word whole elsewhere.
                if merged and re.search(rf"\b{merged}\b", full_text, re.IGNORECASE):
                    current.pop()
                current.extend(line)
            else:
                current.append((" ", line[0][1]))
                current.extend(line)
        pending_blank = False
    if current:
        paragraphs.append(current)
    return paragraphs


def _key(text: str) -> str:
    return " ".join(WORD.findall(text.lower()))


def clean(raw: str, *, is_html: bool = False) -> CleanArticle:
    """Clean ``raw`` (the whole file) into unique sentences with original offsets."""
    published = None
    start = 0
    m = DATE_PREFIX.match(raw)
    if m:
        published, start = m.group(1), m.end()
    stream = _to_stream(raw, start, is_html)
    sentences: list[Sentence] = []
    breaks: list[int] = []
    seen: set[str] = set()
    dropped = 0
    title = None
    brk = PARAGRAPH
    for p_index, para in enumerate(_paragraphs(stream, raw)):
        text = _text(para)
        offsets = [off for _, off in para]
        if title is None and p_index < 3 and len(text) < 120 and not TERMINAL.search(text):
            title = text
        brk = max(brk, PARAGRAPH)
        for s, e in cap_length(text, split_sentences(text)):
            key = _key(text[s:e])
            if len(key.split()) >= 3 and key in seen:
                dropped += 1
                brk = GAP
                continue
            seen.add(key)
            sentences.append(Sentence(text=text[s:e], start=offsets[s], end=offsets[e - 1] + 1))
            breaks.append(brk)
            brk = CONTINUES
    if title is None and sentences:
        first = sentences[0].text
        title = first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "…"
    return CleanArticle(tuple(sentences), tuple(breaks), published, title, dropped)
