"""What a question pins down — the years, numbers and names it states — and a retrieval boost that
ranks passages carrying them above passages about other editions of the same event.

"Who won the Ardenne Cup in 2021?" pins 2021 and Ardenne: a passage about the 2019 edition shares
every other word with the question and a dense retriever ranks it as high; it must not outrank
the 2021 passage, and when no passage carries 2021, the verifier refuses (a number the question
asks about must be in the evidence). Works for any corpus: nothing here knows the seeds.

    boost = constraint_boost("Who won in 2021?", factor=2.0)
    boost(chunk_about_2021) -> 2.0;  boost(chunk_about_2019) -> 0.5

What it does not do: parse relative times ("last year", "before the parade": see
``text/dates.py``) or decide anything about the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..text.words import names, numbers, word_forms
from ..types import Chunk


@dataclass(frozen=True)
class Constraints:
    numbers: frozenset[str]
    names: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.numbers or self.names)


def constraints_of(question: str) -> Constraints:
    """``"Who won the 2021 Ardenne Cup?"`` -> numbers {"2021"}, names {"ardenne", "cup"}."""
    return Constraints(frozenset(numbers(question)), frozenset(names(question)))


def date_numbers(published: str | None) -> set[str]:
    """``"2025-09-03"`` -> ``{"2025", "9", "3"}``: a passage is 'about 2025' when its article is dated then."""
    if not published:
        return set()
    return {str(int(p)) for p in published.split("-") if p.isdigit()}


def carried_numbers(chunk: Chunk) -> set[str]:
    """The numbers a chunk carries: in its text, or in its article's date."""
    return numbers(chunk.text) | date_numbers(chunk.published)


def constraint_boost(question: str, factor: float) -> Callable[[Chunk], float] | None:
    """A multiplier for fused retrieval scores: ``factor`` per stated number the passage (or its
    article's date) carries, ``1/factor`` per stated number it lacks; names count half as much,
    and a name counts as carried when the passage's article names it in its title (for an
    untitled article, the start of its lead): a report names its people and places up top and then
    says "the two leaders", "the Chinese leader", so the passage with the answer often lacks them.
    None when the question states nothing, or ``factor`` is 1."""
    wanted = constraints_of(question)
    if not wanted or factor == 1.0:
        return None

    def boost(chunk: Chunk) -> float:
        have_numbers = carried_numbers(chunk)
        have_words = word_forms(chunk.text) | word_forms(chunk.title or "")
        exponent = sum(1 if n in have_numbers else -1 for n in wanted.numbers)
        exponent += 0.5 * sum(1 if n in have_words else -1 for n in wanted.names)
        return factor**exponent

    return boost


def carries_numbers(wanted: set[str], chunks: tuple[Chunk, ...] | list[Chunk]) -> bool:
    """Whether the chunks (a passage and its reprints) carry every number in ``wanted`` (those a
    question states), in their text or their article's date: the verifier accepts no claim from a
    passage that lacks one ("the question's numbers are not in passage")."""
    return wanted <= set().union(*(carried_numbers(c) for c in chunks))


def combine(*boosts: Callable[[Chunk], float] | None) -> Callable[[Chunk], float] | None:
    """The product of the given boosts (None ones left out); None when none is given."""
    active = [b for b in boosts if b is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]

    def product(chunk: Chunk) -> float:
        value = 1.0
        for b in active:
            value *= b(chunk)
        return value

    return product
