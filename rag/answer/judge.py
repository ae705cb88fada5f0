"""The semantic support check: does this evidence state this claim, contradict it, or neither?

A claim built from a passage's own words in the wrong relation ("Putin said …" of Xi's words,
the 2024 figure given for 2019) passes a lexical check. This judge asks a language model one
yes/no question per (claim, evidence) pair and reads the answer from the probabilities of its
first reply token — one forward pass, no sampling, nothing to parse:

    judge = SupportJudge(llm, supported_at=0.5, contradicted_at=0.5, timeout=60)
    judge.support(["Xi visited Moscow in May."], ["… Xi made a state visit to Russia in May …"])
    -> [0.93]

``support`` gives P(yes) normalised over yes/no; ``judge`` adds a second question (does the
evidence make the claim false?) for a three-way verdict. Backends: any LLM with a ``score``
method (the local worker reads llama.cpp's logits; the API backend reads logprobs, or a
constrained one-word reply). The lexical checks stay in ``verify.py``; this module only asks.
What it does not do: retrieve evidence or choose thresholds (settings do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

from .prompt import fence, render

Messages = list[dict[str, str]]
Label = Literal["supported", "contradicted", "not_found"]


class Scorer(Protocol):
    name: str

    def score(self, conversations: list[Messages], words: list[str], *, timeout: float) -> list[list[float]]: ...


@dataclass(frozen=True)
class Judgement:
    """A verdict with the two probabilities it was read from."""

    label: Label
    p_supported: float
    p_contradicted: float | None = None

    def to_dict(self) -> dict:
        return {"label": self.label, "p_supported": round(self.p_supported, 4), "p_contradicted": None if self.p_contradicted is None else round(self.p_contradicted, 4)}


def _conversation(template: str, evidence: str, **asked: str) -> Messages:
    # Evidence first: claims judged against the same evidence share the prompt prefix, which
    # the local worker keeps in llama.cpp's cache. ``asked``: the claim, or the question.
    return [
        {"role": "system", "content": render("judge_system").strip()},
        {"role": "user", "content": render(template, evidence=fence(evidence), **{k: v.strip() for k, v in asked.items()}).strip()},
    ]


def _yes_share(probs: Sequence[float]) -> float:
    yes, no = probs
    return yes / (yes + no) if yes + no > 0 else 0.5


class SupportJudge:
    """Asks ``scorer`` whether evidence states (or contradicts) a claim; see the module doc."""

    def __init__(self, scorer: Scorer, *, supported_at: float, contradicted_at: float, timeout: float) -> None:
        self.scorer = scorer
        self.supported_at = supported_at
        self.contradicted_at = contradicted_at
        self.timeout = timeout

    def support(self, claims: Sequence[str], evidence: Sequence[str]) -> list[float]:
        """P(the evidence states the claim) for each pair, normalised over yes/no."""
        if not claims:
            return []
        conversations = [_conversation("judge", e, claim=c) for c, e in zip(claims, evidence, strict=True)]
        return [_yes_share(p) for p in self.scorer.score(conversations, ["yes", "no"], timeout=self.timeout)]

    def answers(self, questions: Sequence[str], evidence: Sequence[str]) -> list[float]:
        """P(the evidence answers the question) for each pair (``prompts/judge_answers.txt``)."""
        if not questions:
            return []
        conversations = [_conversation("judge_answers", e, question=q) for q, e in zip(questions, evidence, strict=True)]
        return [_yes_share(p) for p in self.scorer.score(conversations, ["yes", "no"], timeout=self.timeout)]

    def contradiction(self, claims: Sequence[str], evidence: Sequence[str]) -> list[float]:
        """P(the evidence makes the claim false) for each pair."""
        if not claims:
            return []
        conversations = [_conversation("judge_contradiction", e, claim=c) for c, e in zip(claims, evidence, strict=True)]
        return [_yes_share(p) for p in self.scorer.score(conversations, ["yes", "no"], timeout=self.timeout)]

    def judge(self, claim: str, evidence: str) -> Judgement:
        """Three-way verdict for one claim against its best evidence."""
        (p_yes,) = self.support([claim], [evidence])
        if p_yes >= self.supported_at:
            return Judgement("supported", p_yes)
        (p_false,) = self.contradiction([claim], [evidence])
        return Judgement("contradicted" if p_false >= self.contradicted_at else "not_found", p_yes, p_false)
