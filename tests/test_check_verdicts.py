"""`rag check`'s decision from the judge's three-way answer (true / false / unknown), with a
scripted judge on the seed index: what each answer leads to, and the names a quote may spell
another way."""

from __future__ import annotations

import re

import pytest

from rag.answer.judge import VERDICT_WORDS, JudgeVerdict
from rag.text.words import initialisms, spelled_out


class ThreeWay:
    """Answers the three-way question with ``probs`` for a passage containing ``marker`` and
    "unknown" for every other; records what it was asked."""

    name = "scripted"

    def __init__(self, marker: str, probs: tuple[float, float, float]) -> None:
        self.marker, self.probs, self.asked = marker, probs, []

    def score(self, conversations, words, *, timeout):  # noqa: ANN001, ANN201
        assert tuple(words) == VERDICT_WORDS
        out = []
        for messages in conversations:
            passage = re.search(r"<<<\n(.*?)\n>>>", messages[-1]["content"], re.DOTALL).group(1)
            self.asked.append(passage)
            out.append(list(self.probs) if self.marker in passage else [0.05, 0.05, 0.9])
        return out


@pytest.fixture
def checking(seed_index, embedder):
    from rag import Assistant, Settings
    from rag.llm.fake import FakeLLM

    def build(marker: str, probs: tuple[float, float, float]) -> Assistant:
        settings = Settings(index_dir=seed_index, llm_backend="fake")
        return Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM(), judge_scorer=ThreeWay(marker, probs))

    return build


ROLE_SWAP = "Beijing has accused Kyiv of supporting Moscow's war effort through supplies of dual-use goods."


def test_a_sentence_the_judge_calls_false_contradicts_the_claim_and_is_quoted(checking):
    # Same names and words as the article's sentence, the roles reversed: no lexical rule sees it.
    result = checking("dual-use goods", (0.1, 0.8, 0.1)).check(ROLE_SWAP)
    assert result.verdict == "contradicted", result.explanation
    assert "dual-use goods" in result.evidence[0].quote and result.score == pytest.approx(0.8)


def test_false_that_does_not_outweigh_unknown_is_not_a_contradiction(checking):
    result = checking("dual-use goods", (0.1, 0.4, 0.5)).check(ROLE_SWAP)
    assert result.verdict == "not_found" and not result.evidence


def test_true_above_the_threshold_supports_the_claim(checking):
    claim = "Kyiv has accused Beijing of supporting Moscow's war effort through supplies of dual-use goods."
    result = checking("dual-use goods", (0.9, 0.05, 0.05)).check(claim)
    assert result.verdict == "supported" and "dual-use goods" in result.evidence[0].quote


def test_a_name_the_quote_gives_as_an_initialism_neither_vetoes_support_nor_conflicts(checking):
    # The article writes "U.S. hegemony"; the claim spells it out. Read as a missing name, it was
    # a veto on support and a one-changed-name contradiction.
    claim = "Both leaders emphasized the need for a multipolar world, positioning their nations as alternatives to United States hegemony."
    result = checking("alternatives to U.S. hegemony", (0.9, 0.05, 0.05)).check(claim)
    assert result.verdict == "supported", result.explanation
    assert "U.S. hegemony" in result.evidence[0].quote
    assert spelled_out("They conspired against the United States.", initialisms("the U.S. said")) == {"united", "states"}


def test_verdict_probabilities_are_normalised_over_the_three_words():
    v = JudgeVerdict.of([0.2, 0.1, 0.1])
    assert (v.true, v.false, v.unknown) == pytest.approx((0.5, 0.25, 0.25))
    assert JudgeVerdict.of([0.0, 0.0, 0.0]).true == pytest.approx(1 / 3)


def test_the_articles_title_says_who_the_leaders_of_a_sentence_are(checking):
    # "The two leaders signed …": neither the sentence nor the one before names Xi or Putin; the
    # article's title does. Without it the name veto blocked the judge's "true".
    claim = "Xi and Putin signed more than 20 bilateral cooperation agreements."
    result = checking("more than 20 bilateral cooperation agreements", (0.9, 0.05, 0.05)).check(claim)
    assert result.verdict == "supported", result.explanation
    assert "The two leaders signed" in result.evidence[0].quote


def test_the_articles_lead_sentence_says_where_the_leaders_met(checking):
    # "Both leaders emphasized the need for a multipolar world" (article 002) names no place; the
    # article's first sentence puts the meeting in Moscow. A place the article never gives stays vetoed.
    judged = checking("multipolar world", (0.9, 0.05, 0.05))
    result = judged.check("In Moscow, Putin and Xi emphasized the need for a multipolar world.")
    assert result.verdict == "supported", result.explanation
    assert "multipolar world" in result.evidence[0].quote
    assert judged.check("In Helsinki, Putin and Xi emphasized the need for a multipolar world.").verdict != "supported"


def test_a_title_lends_names_but_never_numbers():
    from rag.answer.check import lexical_veto

    sentence = "The two ministers agreed on a 12 percent cut."
    assert lexical_veto("Ruiz and Okafor agreed on a 12 percent cut.", sentence) is not None
    assert lexical_veto("Ruiz and Okafor agreed on a 12 percent cut.", sentence, "Ruiz and Okafor meet in Lagos") is None
    assert lexical_veto("Ruiz and Okafor agreed on a 15 percent cut.", sentence, "Ruiz and Okafor agree a 15 percent cut") is not None


def test_another_speaker_in_a_sentence_about_something_else_contradicts_nothing(checking):
    # The closest sentence has its own speaker but shares little else with the claim: the claim
    # is about a matter the articles never mention, not a quote given to the wrong person.
    result = checking("no passage has this", (0.9, 0.05, 0.05)).check("Trump said tariffs on Brazil would rise next month.")
    assert result.verdict == "not_found", result.explanation


def test_a_changed_value_contradicts_only_within_one_sentence(checking):
    # The closest sentences are about the Moscow visit, but the one "differing" only in a name
    # is another sentence: its neighbour shares the claim's words, not the sentence itself.
    result = checking("no sentence", (0.05, 0.05, 0.9)).check("Xi's state visit to Moscow in May lasted four days.")
    assert result.verdict == "not_found", result.explanation
    # A real one-value change inside one sentence still contradicts.
    swapped = checking("no sentence", (0.05, 0.05, 0.9)).check("Trump met Putin in Helsinki on Aug. 15 as part of U.S. efforts to broker peace.")
    assert swapped.verdict == "contradicted" and "Anchorage" in swapped.evidence[0].quote, swapped.explanation


class ByClaim:
    """Answers the three-way question with ``probs[key]`` for the claim containing ``key``."""

    name = "scripted"

    def __init__(self, probs: dict[str, tuple[float, float, float]]) -> None:
        self.probs = probs

    def score(self, conversations, words, *, timeout):  # noqa: ANN001, ANN201
        out = []
        for messages in conversations:
            claim = messages[-1]["content"].split("Statement:")[1].splitlines()[0]
            out.append(list(next((p for k, p in self.probs.items() if k in claim), (0.05, 0.05, 0.9))))
        return out


def test_a_claim_the_judge_reads_better_the_other_way_round_is_contradicted(seed_index, embedder):
    from rag import Assistant, Settings
    from rag.llm.fake import FakeLLM

    def check(probs):
        settings = Settings(index_dir=seed_index, llm_backend="fake")
        return Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM(), judge_scorer=ByClaim(probs)).check(ROLE_SWAP)

    # The small judge calls the role swap true (0.78), and the article's own reading truer (0.9).
    result = check({"Beijing has accused Kyiv": (0.78, 0.1, 0.12), "Kyiv has accused Beijing": (0.9, 0.05, 0.05)})
    assert result.verdict == "contradicted" and "other way round" in result.explanation
    assert "dual-use goods" in result.evidence[0].quote
    # Rated about the same both ways (a relation that reads both ways): the claim stands.
    assert check({"Beijing has accused Kyiv": (0.88, 0.05, 0.07), "Kyiv has accused Beijing": (0.9, 0.05, 0.05)}).verdict == "supported"


def test_one_name_changed_is_a_contradiction_when_the_judge_reads_the_articles_name_better(seed_index, embedder):
    from rag import Assistant, Settings
    from rag.llm.fake import FakeLLM

    claim = "As part of a state visit, Putin was set to take part in a military parade in Red Square."

    def check(probs):
        settings = Settings(index_dir=seed_index, llm_backend="fake")
        return Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM(), judge_scorer=ByClaim(probs)).check(claim)

    # The small judge calls the substitution more likely true than not (0.6), and the article's own
    # name truer still (0.92): not another way of naming, a changed name.
    result = check({"Putin was set": (0.6, 0.2, 0.2), "Xi was set": (0.92, 0.04, 0.04)})
    assert result.verdict == "contradicted" and "Red Square" in result.evidence[0].quote
    # Even above the support threshold (the title, which names Putin, lets his name through the veto).
    assert check({"Putin was set": (0.75, 0.1, 0.15), "Xi was set": (0.92, 0.04, 0.04)}).verdict == "contradicted"
    # Read about as well both ways (as "Beijing" for China): left to the rest of the rules.
    assert check({"Putin was set": (0.6, 0.2, 0.2), "Xi was set": (0.62, 0.2, 0.18)}).verdict == "not_found"


@pytest.mark.parametrize("claim", [
    "Xi and Putin signed 20 cooperation agreements.",  # the articles' "over 20" dropped
    "Xi and Putin signed fewer than 20 cooperation agreements.",  # bounded the other way
])
def test_a_figure_bounded_otherwise_than_the_articles_is_contradicted_even_when_the_judge_passes_it(checking, claim):
    result = checking("cooperation agreements", (0.9, 0.05, 0.05)).check(claim)
    assert result.verdict == "contradicted", result.explanation
    assert re.search(r"(?:more than|over) 20", result.evidence[0].quote) and "not “" in result.explanation


def test_the_articles_bound_in_other_words_is_supported(checking):
    result = checking("cooperation agreements", (0.9, 0.05, 0.05)).check("Xi and Putin signed more than twenty cooperation agreements.")
    assert result.verdict == "supported", result.explanation
