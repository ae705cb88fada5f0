"""Questions about articles rather than facts, and the corpus listing.

* list:     "Which articles mention North Korea?"  -> one line per article that does, with the
            first sentence that mentions it, quoted and cited.
* timeline: "What happened on September 1?", "What happened before the parade?" -> the sentences
            dated then (dates resolved by ``text/dates.py``), in date order, each quoted and cited.
* summary:  "Summarise the article about the Moscow meeting" -> the LLM summarises the best
            matching article from its own passages; the summary is verified like any answer.
            When no sentence survives, the article's opening sentences are quoted instead.

Every line is an article sentence passed through the verifier, so each citation is an exact
span of its file. ``sources`` lists the corpus for ``rag sources``. The engine hands these
answers their ``Collaborators`` (index, retriever, verifier, a ``generate`` callable ...), not
itself. Nothing here parses arguments or renders Markdown; prompts come from ``prompt.py``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Callable, Generator, Iterator

from ..index.retrieve import Retriever
from ..index.store import IndexData
from ..llm.base import Messages
from ..settings import Settings
from ..text.dates import TimeQuery, date_label, mentions
from ..text.words import content_words
from ..types import Answer, Chunk, Hit, Sentence
from .judge import SupportJudge
from .prompt import chat_messages, format_passages
from .result import NO_ARTICLE, build_answer, refusal_text
from .verify import VerifiedAnswer, Verifier

LIST = re.compile(
    r"^\s*(?:(?:which|what)\s+(?:of\s+the\s+)?(?:articles?|stories|sources|reports|files)|list\s+(?:all\s+)?the\s+articles(?:\s+that)?"
    r"|(?:do|does)\s+any\s+(?:of\s+the\s+)?(?:articles?|stories|sources|reports|files))\s+"
    r"(?:mention|mentions|mentioned|talk about|talks about|discuss|discusses|cover|covers|are about|is about|refer to|report on|reports on|about)\s+"
    r"(?P<topic>.+?)\s*[?.!]*\s*$"
    # the passive: "In which articles is North Korea mentioned?"
    r"|^\s*in\s+(?:which|what)\s+(?:articles?|stories|sources|reports|files)\s+(?:is|are|was|were|does|do)\s+(?P<passive>.+?)\s+"
    r"(?:mentioned|named|discussed|covered|reported|referred to|cited|featured|appear|appears)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
SUMMARY = re.compile(
    r"^\s*(?:please\s+)?(?:summari[sz]e|sum up|give (?:me )?a summary of|what is the gist of)\s+(?:the\s+)?"
    r"(?:article|story|report|piece)\s+(?:about|on|covering|that mentions|describing)\s+(?P<topic>.+?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
TIMELINE = re.compile(
    r"^\s*(?:what|which)(?:\s+(?:events?|things?|news))?\s+(?:happened|took place|occurred|was reported|were reported)\s+"
    r"(?P<when>(?:on|in|before|after|ahead of|prior to|following|during|since|until|by)\b.+?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Collaborators:
    """What article answers use, given by the engine: ``generate`` streams the model's tokens
    for a chat, ``search`` is ``Assistant.search``, ``time_query`` reads a question's time."""

    settings: Settings
    index: IndexData
    retriever: Retriever
    verifier: Verifier
    documents: dict[str, str]  # source -> original text, for quotes
    generate: Callable[[Messages], Iterator[str]]
    search: Callable[[str], list[Hit]]
    time_query: Callable[[str], TimeQuery | None]
    judge: Callable[[], SupportJudge | None] = lambda: None  # the semantic check, built on first use


@dataclass(frozen=True)
class ArticleQuestion:
    kind: str  # "list", "summary" or "timeline"
    topic: str


@dataclass(frozen=True)
class SourceInfo:
    """One article of the corpus as ``rag sources`` shows it."""

    source: str
    title: str | None
    published: str | None
    published_inferred: bool
    size: int  # bytes of the original file
    chunks: int
    url: str | None = None
    author: str | None = None
    site: str | None = None
    file: str | None = None  # the file it came from (a feed or export holds several articles)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def classify(question: str) -> ArticleQuestion | None:
    """The article-level kind of a question, or None for a fact question."""
    for kind, pattern in (("list", LIST), ("summary", SUMMARY), ("timeline", TIMELINE)):
        m = pattern.match(question)
        if m:
            found = m.groupdict()
            return ArticleQuestion(kind, (found.get("topic") or found.get("passive") or found.get("when") or "").strip())
    return None


def sources(index: IndexData) -> list[SourceInfo]:
    return [
        SourceInfo(d.source, d.title, d.published, d.published_inferred, len(d.text.encode("utf-8")), d.chunks, d.url, d.author, d.site, d.origin)
        for d in sorted(index.documents.values(), key=lambda d: d.source)
    ]


def _sentences(tools: Collaborators) -> list[tuple[Sentence, Chunk]]:
    """Every sentence of the corpus once, with a chunk that holds it, in file order."""
    seen: dict[tuple[str, int, int], tuple[Sentence, Chunk]] = {}
    for chunk in tools.index.chunks:
        for s in chunk.sentences:
            seen.setdefault((chunk.source, s.start, s.end), (s, chunk))
    return [seen[k] for k in sorted(seen)]


def _word_match(topic_words: set[str], sentence: str) -> bool:
    """All topic words in the sentence; "korea" matches "korean" (a shared prefix of 4+ letters)."""
    words = content_words(sentence)
    return all(any(w == t or (min(len(w), len(t)) >= 4 and (w.startswith(t) or t.startswith(w))) for w in words) for t in topic_words)


def _verified(tools: Collaborators, items: list[tuple[Sentence, Chunk]], question: str) -> VerifiedAnswer:
    """The sentences themselves as a cited answer, through the verifier."""
    text = " ".join(f"{s.text.rstrip().rstrip('.')} [{i}]." for i, (s, _) in enumerate(items, 1))
    return tools.verifier.verify(text, [c for _, c in items], question, tools.documents)


def _line_answers(tools: Collaborators, question: str, heading: str, labels: list[str],
                  items: list[tuple[Sentence, Chunk]]) -> tuple[str, VerifiedAnswer]:
    checked = _verified(tools, items, question)
    lines = [heading]
    for label, sentence in zip(labels, checked.sentences):
        if sentence.supported:
            marks = "".join(f"[{n}]" for n in sentence.citations)
            lines.append(f"- {label}: “{sentence.text.rstrip('.')}” {marks}")
    return "\n".join(lines), checked


def answer(tools: Collaborators, plan: ArticleQuestion, question: str, standalone: str | None,
           timings: dict[str, float], began: float) -> Generator[str, None, Answer]:
    """Generator like ``Assistant._run``: yields model tokens (summaries only) and returns the Answer."""
    if plan.kind == "summary":
        return (yield from _summary(tools, plan.topic, question, standalone, timings, began))
    limit = tools.settings.article_lines
    if plan.kind == "list":
        topic_words = content_words(plan.topic)
        first: dict[str, tuple[Sentence, Chunk]] = {}
        for s, c in _sentences(tools):
            if topic_words and c.source not in first and _word_match(topic_words, s.text):
                first[c.source] = (s, c)
        items = list(first.values())[:limit]
        total = len(tools.index.documents)
        heading = f"{len(first)} of {total} articles mention {plan.topic}:"
        labels = [f"{c.source}, {date_label(c.published, c.published_inferred)}" for _, c in items]
    else:
        when = tools.time_query(f"what happened {plan.topic}")
        items, labels = _timeline(tools, when, limit) if when else ([], [])
        heading = f"What the articles date {plan.topic}:"
    if not items:
        what = f"mention {plan.topic}" if plan.kind == "list" else f"date anything {plan.topic}"
        text = refusal_text(f"None of the {len(tools.index.documents)} articles {what}")
        closest = tools.search(plan.topic)[:3] if plan.topic else []
        return build_answer(question, standalone, text, timings, began, refused=True, closest=closest)
    yield ""  # nothing to stream: the lines are the articles' own sentences
    text, checked = _line_answers(tools, question, heading, labels, items)
    return build_answer(question, standalone, text, timings, began, checked=checked, refused=not checked.supported)


def _timeline(tools: Collaborators, when: TimeQuery, limit: int) -> tuple[list[tuple[Sentence, Chunk]], list[str]]:
    dated = []
    for s, c in _sentences(tools):
        hits = [m for m in mentions(s.text, c.published) if when.matches(m)]
        if hits:
            dated.append((hits[0].iso(), c.source, s.start, s, c))
    dated.sort(key=lambda t: t[:3])
    dated = dated[:limit]
    return [(s, c) for *_, s, c in dated], [f"{iso} ({c.source})" for iso, _, _, _, c in dated]


def _summary(tools: Collaborators, topic: str, question: str, standalone: str | None,
             timings: dict[str, float], began: float) -> Generator[str, None, Answer]:
    found = tools.retriever.retrieve(topic or question, tools.settings.candidate_k)
    if not found.chunks or found.best_similarity < tools.settings.min_dense_score:
        return build_answer(question, standalone, NO_ARTICLE, timings, began, refused=True, closest=found.hits[:3])
    # The article with most sentences naming every topic word ("meeting in Moscow"), then the
    # one whose passages rank best for the topic.
    words = content_words(topic)
    named: dict[str, int] = {}
    for s, c in _sentences(tools):
        named[c.source] = named.get(c.source, 0) + (bool(words) and _word_match(words, s.text))
    score: dict[str, float] = {}
    for hit in found.hits:
        score[hit.source] = score.get(hit.source, 0.0) + hit.score
    source = max(score, key=lambda s: (named.get(s, 0), score[s], s))
    chunks = [c for c in tools.index.chunks if c.source == source][: tools.settings.top_k]
    doc = tools.index.documents[source]
    # The same fenced passages as every prompt: the article cannot close its fence here either.
    passages = format_passages(chunks, [date_label(c.published, c.published_inferred) for c in chunks])
    pieces: list[str] = []
    for token in tools.generate(chat_messages("summary", passages=passages, topic=topic)):
        pieces.append(token)
        yield token
    # A summary paraphrases: each sentence the lexical checks pass must also be stated by its quote.
    checked = tools.verifier.verify("".join(pieces), chunks, topic or question, tools.documents, judge=tools.judge())
    heading = f"Summary of {source} ({date_label(doc.published, doc.published_inferred)}):"
    if checked.supported:
        return build_answer(question, standalone, f"{heading} {checked.render()}", timings, began, checked=checked)
    # The model's summary did not survive the check: quote the article's opening instead.
    lead = [(s, c) for c in chunks[:1] for s in c.sentences[:2]]
    checked = _verified(tools, lead, topic or question)
    return build_answer(question, standalone, f"{heading} (opening sentences) {checked.render()}", timings, began,
                        checked=checked, refused=not checked.supported)
