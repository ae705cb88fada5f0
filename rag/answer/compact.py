"""Passage compaction: a shorter prompt with the same evidence, so the local model starts sooner.

The local model reads the prompt at ~135 tokens/s on 2 cores, so every passage sentence costs
time to first token. ``compact`` keeps, within a token budget, only the sentences of each
retrieved passage that support the question (MiniLM similarity to the question plus the share of
the question's content words, numbers and names they contain), and fewer passages when the top
one is decisive. It is a pure function of its inputs; it does not build prompts, call the LLM or
verify anything.

The result keeps the original passages beside the trimmed ones, in the same order, so the
``[n]`` the model writes for trimmed passage ``n`` is checked against the full original chunk:

    compacted = compact(query, found, embedder, ContextBudget.from_settings(settings))
    messages = assistant.build_messages(query, compacted.prompt)   # prompt.format_passages
    checked = verifier.verify(reply, list(compacted.originals.chunks), query, documents)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..index.embed import Embedder
from ..index.retrieve import Retrieved
from ..ingest.chunk import estimate_tokens
from ..settings import Settings
from ..text.words import content_words, names, numbers
from ..types import Chunk, Sentence
from .constraints import carries_numbers
from .expects import asked_kind, holds_kind


@dataclass(frozen=True)
class ContextBudget:
    """Knobs of ``compact`` (Settings fields ``context_*``)."""

    budget_tokens: int = 175
    passage_overhead_tokens: int = 22
    max_sentences_per_passage: int = 3
    min_sentence_score: float = 0.3
    decisive_score: float = 0.75
    decisive_margin: float = 0.15
    decisive_keep: int = 2
    lexical_weight: float = 0.5
    kind_weight: float = 0.5
    fill: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> ContextBudget:
        return cls(
            budget_tokens=settings.context_budget_tokens,
            passage_overhead_tokens=settings.context_passage_overhead_tokens,
            max_sentences_per_passage=settings.context_max_sentences_per_passage,
            min_sentence_score=settings.context_min_sentence_score,
            decisive_score=settings.context_decisive_score,
            decisive_margin=settings.context_decisive_margin,
            decisive_keep=settings.context_decisive_keep,
            lexical_weight=settings.context_lexical_weight,
            kind_weight=settings.context_kind_weight,
            fill=settings.context_fill,
        )


@dataclass(frozen=True)
class Compacted:
    """``prompt``: trimmed passages to show the model, numbered 1..n in this order.
    ``originals``: the same passages untrimmed, same order; verify the answer against these."""

    prompt: Retrieved
    originals: Retrieved
    scores: tuple[tuple[float, ...], ...]  # per kept passage, the score of each original sentence


def _units(chunk: Chunk) -> tuple[Sentence, ...]:
    return chunk.sentences or (Sentence(chunk.text, chunk.start, chunk.end),)


def lexical_share(question: str, sentence: str) -> float:
    """Share of the question's content words, numbers and names that the sentence contains."""
    wanted = content_words(question) | numbers(question) | names(question)
    if not wanted:
        return 0.0
    have = content_words(sentence) | numbers(sentence) | names(sentence)
    return len(wanted & have) / len(wanted)


QUOTE_MARKS = ("\"", "“", "‘", "'")


def _with_speaker(units: tuple[Sentence, ...], j: int) -> list[int]:
    """Sentence ``j``, and the one after it when ``j`` is a bare quotation: the next sentence
    usually says who spoke ("... !" Modi wrote on X.), and a quote shown without its speaker
    invites the model to credit it to whoever the question names."""
    if units[j].text.lstrip().startswith(QUOTE_MARKS) and j + 1 < len(units):
        return [j, j + 1]
    return [j]


def _key(chunk: Chunk, sentence: Sentence) -> tuple[str, int, int]:
    """Where a sentence lies in its article: overlapping passages share sentences."""
    return (chunk.source, sentence.start, sentence.end)


def score_sentences(question: str, chunks: list[Chunk], embedder: Embedder, lexical_weight: float, kind_weight: float = 0.0) -> list[np.ndarray]:
    """Per chunk, one support score per sentence: cosine similarity to the question, plus
    ``lexical_weight`` times the lexical share, plus ``kind_weight`` when the sentence holds the
    kind of thing the question asks for and does not give (``expects``: a person for "Who …?", a
    figure for "How many …?"). One encoder call for all sentences."""
    units = [_units(c) for c in chunks]
    flat = [s.text for group in units for s in group]
    vectors = embedder.encode([question] + flat)
    sims = vectors[1:] @ vectors[0]
    kind = asked_kind(question) if kind_weight else None
    out, at = [], 0
    for group in units:
        lex = np.array([lexical_share(question, s.text) for s in group], dtype=np.float32)
        held = np.array([holds_kind(question, kind, s.text) for s in group], dtype=np.float32)
        out.append(sims[at : at + len(group)] + lexical_weight * lex + kind_weight * held)
        at += len(group)
    return out


def on_the_asked_edition(question: str, found: Retrieved) -> Retrieved:
    """``found`` without the passages that lack a number the question states (a year, an edition,
    a quarter), when some passage carries them all: "Who won the 2020 Classic?" is answered from
    the 2020 report, not from the 2022 and 2023 reports that share every other word. Those
    passages cannot support a claim (the verifier wants the question's numbers in the evidence);
    shown, they take the budget of the asked edition's sentences and lead the model to the wrong
    edition. Unchanged when the question states no number or no passage carries them all."""
    wanted = numbers(question)
    if not wanted:
        return found
    keep = [i for i, c in enumerate(found.chunks) if carries_numbers(wanted, found.members.get(c.id, (c,)))]
    if not keep or len(keep) == len(found.chunks):
        return found
    return _select(found, keep)


def _select(found: Retrieved, order: list[int], chunks: tuple[Chunk, ...] | None = None) -> Retrieved:
    """``found`` with its passages ``order`` (indices, in that order), their hits with them;
    ``chunks``: what to show for them instead (trimmed passages)."""
    hits = tuple(found.hits[i] for i in order) if len(found.hits) == len(found.chunks) else found.hits
    return replace(found, hits=hits, chunks=chunks if chunks is not None else tuple(found.chunks[i] for i in order))


def compact(question: str, found: Retrieved, embedder: Embedder, budget: ContextBudget) -> Compacted:
    """Trim ``found`` to the supporting sentences within ``budget`` (see the module docstring),
    after leaving out passages about another edition than the asked one (``on_the_asked_edition``)."""
    found = on_the_asked_edition(question, found)
    chunks = list(found.chunks)
    if not chunks:
        return Compacted(found, found, ())
    scores = score_sentences(question, chunks, embedder, budget.lexical_weight, budget.kind_weight)
    best = [float(s.max()) for s in scores]
    by_score = sorted(range(len(chunks)), key=lambda i: (-best[i], i))
    limit = len(chunks)
    if len(by_score) > 1:
        top, second = best[by_score[0]], best[by_score[1]]
        if top >= budget.decisive_score and top - second >= budget.decisive_margin:
            limit = max(1, budget.decisive_keep)

    chosen: dict[int, set[int]] = {}
    shown: set[tuple[str, int, int]] = set()  # a sentence shown in an overlapping passage is not shown again
    used = 0
    # One pass over every sentence of every passage, best first: a passage's second sentence may
    # beat another passage's best one (the answer often follows the sentence that echoes the
    # question). A passage costs its header the first time one of its sentences is taken.
    rank = {i: r for r, i in enumerate(by_score)}
    ranked = sorted(((float(scores[i][j]), rank[i], j, i) for i in range(len(chunks)) for j in range(len(scores[i]))), key=lambda t: (-t[0], t[1], t[2]))
    for score, _, j, i in ranked:
        units = _units(chunks[i])
        group = [g for g in _with_speaker(units, j) if g not in chosen.get(i, ()) and _key(chunks[i], units[g]) not in shown]
        if j not in group:
            continue
        if chosen and score < budget.min_sentence_score:
            break
        if i not in chosen and len(chosen) >= limit:
            continue
        if i in chosen and len(chosen[i]) + len(group) > budget.max_sentences_per_passage:
            continue
        cost = (0 if i in chosen else budget.passage_overhead_tokens) + sum(estimate_tokens(units[g].text) for g in group)
        if chosen and used + cost > budget.budget_tokens:
            continue
        chosen.setdefault(i, set()).update(group)
        shown.update(_key(chunks[i], units[g]) for g in group)
        used += cost

    # Best-supported passage first: the small model leans on passage [1].
    kept = sorted(chosen, key=lambda i: (-best[i], i))
    if budget.fill:
        # Then the budget left fills the kept passages, best passage first, with their other
        # sentences, best first, whatever they score: an answer sentence shares little with the
        # question (it holds what the question lacks: "… moved to a new venue, the Lantern
        # Exchange" for "Where was the 2022 Classic played?"), so the score cut leaves it out.
        for i in kept:
            units = _units(chunks[i])
            for j in sorted(range(len(units)), key=lambda j: (-float(scores[i][j]), j)):
                if j in chosen[i] or _key(chunks[i], units[j]) in shown:
                    continue
                cost = estimate_tokens(units[j].text)
                if used + cost <= budget.budget_tokens:
                    chosen[i].add(j)
                    shown.add(_key(chunks[i], units[j]))
                    used += cost
    trimmed = []
    for i in kept:
        sentences = tuple(s for j, s in enumerate(_units(chunks[i])) if j in chosen[i])
        trimmed.append(replace(chunks[i], text=" ".join(s.text for s in sentences), sentences=sentences))
    return Compacted(_select(found, kept, tuple(trimmed)), _select(found, kept), tuple(tuple(float(x) for x in scores[i]) for i in kept))
