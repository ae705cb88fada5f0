"""The semantic support check: does this evidence state this claim, contradict it, or neither?

A claim built from a passage's own words in the wrong relation ("Putin said …" of Xi's words,
the 2024 figure given for 2019) passes a lexical check. This judge asks a language model one
yes/no question per (claim, evidence) pair and reads the answer from the probabilities of its
first reply token — one forward pass, no sampling, nothing to parse:

    judge = SupportJudge(llm, supported_at=0.5, timeout=60)
    judge.support(["Xi visited Moscow in May."], ["… Xi made a state visit to Russia in May …"])
    -> [0.93]

``support`` gives P(yes) normalised over yes/no (the answer check); ``verdicts`` asks one
question with three answers — the evidence states the claim, makes it false, or does not say —
for ``rag check``. Backends: any LLM with a ``score``
method (the local worker reads llama.cpp's logits; the API backend reads logprobs, or a
constrained one-word reply). The lexical checks stay in ``verify.py``; this module only asks.
What it does not do: retrieve evidence or choose thresholds (settings do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from .prompt import fence, render

Messages = list[dict[str, str]]


class Scorer(Protocol):
    name: str

    def score(self, conversations: list[Messages], words: list[str], *, timeout: float) -> list[list[float]]: ...


VERDICT_WORDS = ("true", "false", "unknown")


@dataclass(frozen=True)
class JudgeVerdict:
    """The three-way question's answer: P(states it), P(makes it false), P(does not say).
    (Not ``verify.Verdict``, the answer check's lexical verdict on one sentence.)"""

    true: float
    false: float
    unknown: float

    @classmethod
    def of(cls, probs: Sequence[float]) -> JudgeVerdict:
        total = sum(probs)
        return cls(*(p / total for p in probs)) if total > 0 else cls(1 / 3, 1 / 3, 1 / 3)


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

    def __init__(self, scorer: Scorer, *, supported_at: float, timeout: float) -> None:
        self.scorer = scorer
        self.supported_at = supported_at  # for ``support``, as the answer check reads it
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

    def verdicts(self, claims: Sequence[str], evidence: Sequence[str]) -> list[JudgeVerdict]:
        """For each pair, one question with three answers (``prompts/judge_verdict.txt``): does
        the evidence state the claim, make it false, or not say? Read as probabilities
        normalised over the three words. A small model answers a lone yes/no question about
        falsity "yes" nearly as readily as the question about support; offered "unknown" beside
        "false", it keeps "false" for evidence that does gainsay the claim."""
        if not claims:
            return []
        conversations = [_conversation("judge_verdict", e, claim=c) for c, e in zip(claims, evidence, strict=True)]
        return [JudgeVerdict.of(p) for p in self.scorer.score(conversations, list(VERDICT_WORDS), timeout=self.timeout)]
