"""The semantic support check with the real local model as judge: a fake LLM writes a wrong
claim built from a passage's own words, and verification must remove it; `rag check` gives the
right verdict with the right quote. One test per misattribution class seen in the issues."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def judged(seed_index, embedder, local_assistant):
    """Assistant whose answers come from a scripted fake LLM, judged by the real local model."""
    from rag import Assistant, Settings
    from rag.llm.fake import FakeLLM

    def build(reply: str):
        settings = Settings(index_dir=seed_index, llm_backend="fake")
        return Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM([reply] * 3), judge_scorer=local_assistant.llm)

    return build


@pytest.mark.parametrize(
    "kind, question, wrong",
    [
        ("speaker swap", "How did Putin describe the China-Russia relationship?",
         "Putin said the China-Russia relationship is built on permanent good-neighborly friendship [1]."),
        ("words put in another's mouth", "What did Kim Jong Un say about Xi and Putin?",
         "Kim Jong Un said Xi and Putin were conspiring against the United States of America [1]."),
        ("quote credited to the wrong leader", "What did Putin write on X about Modi?",
         "Putin wrote on X that it is always a delight to meet Modi [1]."),
        ("wrong year for a figure", "How much was trade between China and Russia in 2019?",
         "Trade between China and Russia reached 244.8 billion U.S. dollars in 2019 [1]."),
    ],
)
def test_a_wrong_relation_is_removed(judged, kind, question, wrong):
    answer = judged(wrong).ask(question)
    assert answer.refused or wrong.split(" [")[0] not in answer.answer, (kind, answer.answer)


def test_a_right_paraphrase_is_kept(judged):
    answer = judged("Xi said that the relationship between China and Russia rests on permanent good-neighborly friendship [1].").ask(
        "How did Xi describe the China-Russia relationship?"
    )
    assert not answer.refused and "friendship" in answer.answer


def test_check_supports_a_stated_claim_with_its_quote(local_assistant):
    check = local_assistant.check("Xi made a state visit to Moscow in May")
    assert check.verdict == "supported", check.to_dict()
    assert "Moscow in May" in check.evidence[0].quote


def test_check_contradicts_a_wrong_count_with_the_quote_that_says_otherwise(local_assistant):
    check = local_assistant.check("The Global Governance Initiative has seven guiding principles")
    assert check.verdict == "contradicted", check.to_dict()
    assert "five guiding principles" in check.evidence[0].quote


def test_check_finds_nothing_for_a_claim_the_articles_never_make(local_assistant):
    check = local_assistant.check("Russia's GDP grew by 4 percent in 2024")
    assert check.verdict == "not_found", check.to_dict()
