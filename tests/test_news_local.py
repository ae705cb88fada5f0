"""News features end to end with the real local LLM (Qwen2.5-Coder-1.5B via llama.cpp)."""

import pytest

pytestmark = pytest.mark.llm

A001, A003 = "001_794c705cbf82de55.txt", "003_688ff7a65efc7fda.txt"


def _check_quotes(assistant, answer):
    for c in answer.citations:
        assert c.quote == assistant.index.documents[c.source].text[c.start : c.end]


def test_summit_place_disagreement_cites_both_articles(local_assistant):
    answer = local_assistant.ask("Where was the Shanghai Cooperation Organization summit 2025 held?")
    assert not answer.refused, answer
    assert "The articles disagree:" in answer.answer
    assert "Beijing" in answer.answer and "Tianjin" in answer.answer
    sources = {c.source: c.quote for c in answer.citations}
    assert "Beijing" in sources[A001] and "Tianjin" in sources[A003]
    _check_quotes(local_assistant, answer)


def test_date_question_is_answered_from_the_article_of_that_day(local_assistant):
    answer = local_assistant.ask("What did Putin say on September 1?")
    assert not answer.refused, answer
    assert any(c.source == A003 and c.published == "2025-09-01" for c in answer.citations)
    assert "NATO" in answer.answer or "coup" in answer.answer or "Ukraine" in answer.answer
    _check_quotes(local_assistant, answer)
