"""Plain result types. Frozen dataclasses that serialise to the JSON the CLI prints.

Offsets (``start``/``end``) are character offsets into the text the index stores for a document:
the ORIGINAL file for .txt/.md, the extracted article for a news page, feed entry or JSONL line,
so ``stored_text[start:end]`` is exactly the ``text`` or ``quote`` shown. ``title``, ``url``,
``author`` and ``site`` are the article's metadata where known (None otherwise); ``file`` is the
file a document came from (a feed or JSONL export holds several documents).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: cleaned text for models, original span for quoting."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A stored passage: cleaned text to embed and show the model, span into the original file."""

    id: str
    source: str
    start: int
    end: int
    text: str
    sentences: tuple[Sentence, ...]
    published: str | None = None
    title: str | None = None
    published_inferred: bool = False  # the date was read from the dateline, not given
    url: str | None = None
    author: str | None = None
    site: str | None = None
    file: str | None = None  # the file it came from (None: ``source`` itself)

    def to_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies recursively and took ~1 s per 10k chunks.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["sentences"] = [{"text": s.text, "start": s.start, "end": s.end} for s in self.sentences]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        sentences = tuple(Sentence(**s) for s in data["sentences"])
        return cls(**{**data, "sentences": sentences})


@dataclass(frozen=True)
class Conflict:
    """Two sentences of different articles that give a different ``kind`` of value (``place``,
    ``number`` or ``date``) for what ``topic`` names."""

    kind: str
    topic: str
    values: tuple[str, str]
    first: tuple[Sentence, Chunk]
    second: tuple[Sentence, Chunk]


@dataclass(frozen=True)
class Hit:
    """A retrieved passage. ``text`` equals the original file's characters ``[start:end]``."""

    source: str
    start: int
    end: int
    text: str
    score: float
    published: str | None = None
    chunk_id: str = field(default="", compare=False)
    published_inferred: bool = False
    title: str | None = None
    url: str | None = None
    author: str | None = None
    site: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": round(self.score, 6),
            "published": self.published,
            "published_inferred": self.published_inferred,
            "title": self.title,
            "url": self.url,
            "author": self.author,
            "site": self.site,
        }


@dataclass(frozen=True)
class Citation:
    """A verified citation: the sentence(s) of a source file that support a claim."""

    n: int
    source: str
    start: int
    end: int
    quote: str
    published: str | None = None
    published_inferred: bool = False  # ``published`` was inferred from the dateline
    title: str | None = None
    url: str | None = None
    author: str | None = None
    site: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the model's answer and the verdict of the support check."""

    text: str
    citations: tuple[int, ...]
    supported: bool

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citations": list(self.citations), "supported": self.supported}


@dataclass(frozen=True)
class Answer:
    """A checked answer. ``answer`` holds only supported sentences, with ``[n]`` markers that
    index ``citations``; ``sentences`` keeps every sentence the model wrote with its verdict."""

    question: str
    answer: str
    refused: bool
    citations: tuple[Citation, ...]
    sentences: tuple[AnswerSentence, ...]
    closest: tuple[Hit, ...] = ()
    standalone_question: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # With a date/source filter: {"since", "until", "source", "articles"} (articles it left);
    # None without one, and then absent from the JSON.
    filter: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        extra = {"filter": self.filter} if self.filter is not None else {}
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [s.to_dict() for s in self.sentences],
            "closest": [h.to_dict() for h in self.closest],
            "standalone_question": self.standalone_question,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            **extra,
        }


@dataclass(frozen=True)
class IngestReport:
    """What an ingest run did. ``added``/``updated``/``removed`` name documents (a feed entry is
    ``feed.rss#<id>``, a JSONL line ``export.jsonl:3``), ``unchanged`` names files; ``skipped``
    maps a file, line or entry to the one-line reason it was skipped."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # read with a caveat (e.g. "…:3": unreadable date)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClaimCheck:
    """The verdict on a claim, the quotes it rests on, and one line saying why."""

    claim: str
    verdict: str  # "supported" | "contradicted" | "not_found"
    evidence: tuple[Citation, ...]
    explanation: str
    score: float = 0.0  # the judge's probability behind the verdict

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "verdict": self.verdict,
            "evidence": [c.to_dict() for c in self.evidence],
            "explanation": self.explanation,
            "score": round(self.score, 4),
        }
