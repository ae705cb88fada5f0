"""Recurring events: a question about one edition is answered from that edition's report.

A small corpus of made-up yearly reports that share almost every word but the year, the names and
the figures (the shape of the multi-edition eval corpus, written anew here).
"""

from __future__ import annotations

import pytest

from rag.answer.news import SentenceVectors, build_context
from rag.text.words import numbers

REPORTS = {
    "2019": ("2019-06-10", "Ottilie Brande won the 2019 Fenwick Regatta single sculls final by two lengths. "
             "Twenty-two crews entered. The winner's purse was 4,000 marks. Brande trains at the Weir Club."),
    "2020": ("2020-06-15", "Held without spectators because of health rules, the 2020 Fenwick Regatta ended with "
             "victory for Casimir Loft in the single sculls final. Only 14 crews were allowed on the water. "
             "The winner's purse was cut to 2,500 marks. Loft dedicated the win to his sister. "
             "Umpire Greta Holm started the final an hour late because of wind."),
    "2021": ("2021-06-14", "Ottilie Brande won the 2021 Fenwick Regatta single sculls final, her second title. "
             "Thirty crews entered as the event returned to full size. The winner's purse was 5,000 marks. "
             "Brande said she would retire after the next season."),
}


@pytest.fixture(scope="module")
def editions(tmp_path_factory, embedder):
    from rag import Settings
    from rag.ingest.run import ingest

    folder = tmp_path_factory.mktemp("editions")
    for year, (day, text) in REPORTS.items():
        (folder / f"regatta_{year}.txt").write_text(f" date {day} FENWICK — {text}\n", encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("editions-index")
    ingest([folder], Settings(index_dir=index_dir), embedder)
    return index_dir


def _assistant(index_dir, embedder, replies):
    from rag import Assistant, Settings
    from rag.llm.fake import FakeLLM

    llm = FakeLLM(replies)
    return Assistant.from_settings(Settings(index_dir=index_dir, llm_backend="fake"), embedder=embedder, llm=llm), llm


def test_the_prompt_shows_the_asked_edition_only(editions, embedder):
    assistant, llm = _assistant(editions, embedder, ["The winner's purse was cut to 2,500 marks [1]."])
    answer = assistant.ask("How much was the winner's purse at the 2020 Fenwick Regatta?")
    prompt = llm.prompts[0][-1]["content"]
    assert "2,500 marks" in prompt  # the asked edition's figure, not only its lead sentence
    assert "4,000" not in prompt and "5,000" not in prompt and "2019" not in prompt and "2021" not in prompt
    assert not answer.refused and {c.source for c in answer.citations} == {"regatta_2020.txt"}


def test_without_a_stated_number_every_edition_may_be_shown(editions, embedder):
    assistant, llm = _assistant(editions, embedder, ["The articles don't say."])
    assistant.ask("How much was the winner's purse at the Fenwick Regatta?")
    prompt = llm.prompts[0][-1]["content"]
    assert sum(year in prompt for year in ("2019-06-10", "2020-06-15", "2021-06-14")) >= 2


def test_two_editions_alike_but_for_their_figures_are_not_one_reprint(editions, embedder):
    from rag import Settings

    assistant, _ = _assistant(editions, embedder, [])
    found = assistant.retriever.retrieve("Who won the Fenwick Regatta single sculls final?", 3)
    context = build_context(found, 3, SentenceVectors(embedder), reprint_similarity=Settings().reprint_similarity)
    assert all(len({c.source for c in context.members.get(p.id, (p,))}) == 1 for p in context.chunks)


@pytest.mark.parametrize("text, value", [
    ("its Q2 2024 results", {"q2", "2024"}),
    ("second-quarter 2024 revenue of $263 million", {"q2", "2024", "263"}),
    ("in the 3rd quarter", {"q3"}),
    ("a Q7 and a 1,090 km stage", {"7", "1090"}),
])
def test_a_quarter_is_one_value_however_written(text, value):
    assert numbers(text) == value

