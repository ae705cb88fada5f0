"""Recurring events: a question about one edition is answered from that edition's report.

A small corpus of made-up yearly reports that share almost every word but the year, the names and
the figures (the shape of the multi-edition eval corpus, written anew here).
"""

from __future__ import annotations

import pytest

from rag.answer.news import SentenceVectors, build_context
from rag.answer.verify import Focus, article_heading
from rag.text.words import numbers

REPORTS = {
    "2019": ("2019-06-10", "Ottilie Brande won the 2019 Fenwick Regatta single sculls final by two lengths. "
             "Twenty-two crews entered. The winner's purse was 4,000 marks. Brande trains at the Weir Club."),
    "2020": ("2020-06-15", "Held without spectators because of health rules, the 2020 Fenwick Regatta ended with "
             "victory for Casimir Loft in the single sculls final. Only 14 crews were allowed on the water. "
             "The winner's purse was cut to 2,500 marks. Loft dedicated the win to his sister. "
             "Umpire Greta Holm started the final an hour late because of wind. "
             "Loft had trained nine years for the title."),
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


def test_the_judge_reads_the_sentence_with_the_answers_name_under_the_articles_title(editions, embedder):
    claim = "Greta Holm was the umpire of the 2020 Fenwick Regatta final [1]."
    assistant, llm = _assistant(editions, embedder, [claim] * 2)
    assistant.ask("Who was the umpire of the 2020 Fenwick Regatta final?")
    judged = [m[-1]["content"] for m in llm.judged]
    # the quote is the sentence naming Holm (not the lead sharing "2020 Fenwick Regatta"), read
    # under the article's title, which says which edition it reports
    assert any("Umpire Greta Holm started the final" in j and "the 2020 Fenwick Regatta ended" in j for j in judged), judged


def test_a_count_is_quoted_from_a_sentence_counting_the_same_thing(editions, embedder):
    # False (14 crews): "nine" must not send the claim to "trained nine years", where a small
    # judge reads the figure as given.
    claim = "Nine crews raced in the 2020 Fenwick Regatta [1]."
    assistant, llm = _assistant(editions, embedder, [claim] * 2)
    assistant.ask("How many crews raced in the 2020 Fenwick Regatta?")
    judged = [m[-1]["content"] for m in llm.judged]
    assert judged and not any("nine years" in j for j in judged), "\n\n".join(judged)


def test_the_title_never_lends_the_answers_own_names_or_numbers():
    from rag.types import Chunk, Sentence

    lead = "The 2020 Fenwick Regatta ended with victory for Casimir Loft."
    chunk = Chunk("a:0-1", "a", 0, 1, "x", (Sentence("x", 0, 1),), title=lead)
    asked = Focus({"fenwick", "regatta"}, {"umpire", "fenwick", "regatta"}, set(), frozenset({"2020"}))
    quote = "Umpire Greta Holm started the final an hour late."
    assert article_heading("Greta Holm was the umpire of the 2020 Fenwick Regatta.", chunk, quote, asked).startswith(lead)
    assert article_heading("Casimir Loft was the umpire of the 2020 Fenwick Regatta.", chunk, quote, asked) == ""  # Loft: title only
    assert article_heading("Greta Holm was the umpire of the 2021 Fenwick Regatta.", chunk, quote, asked) == ""  # 2021: not asked
    assert article_heading("Greta Holm was the umpire.", chunk, lead + " " + quote, asked) == ""  # the title is already there
    assert article_heading("Greta Holm was the umpire.", chunk, quote, asked) == ""  # it lends nothing the claim needs


@pytest.mark.parametrize("text, value", [
    ("its Q2 2024 results", {"q2", "2024"}),
    ("second-quarter 2024 revenue of $263 million", {"q2", "2024", "263"}),
    ("in the 3rd quarter", {"q3"}),
    ("a Q7 and a 1,090 km stage", {"7", "1090"}),
])
def test_a_quarter_is_one_value_however_written(text, value):
    assert numbers(text) == value


def test_a_disagreement_is_stated_only_between_reports_of_the_asked_edition():
    from rag.answer.news import relevant_conflicts
    from rag.types import Chunk, Conflict, Sentence

    def side(text: str, published: str) -> tuple[Sentence, Chunk]:
        sentence = Sentence(text, 0, len(text))
        return sentence, Chunk(f"{published}:0", f"{published}.txt", 0, len(text), text, (sentence,), published=published)

    days = Conflict("date", "date", ("2020-09-15", "2018-03-06"),
                    side("The team shipped version 3.0 of the database on September 15.", "2020-09-16"),
                    side("The project released version 2.0 of its database on Tuesday.", "2018-03-07"))
    assert relevant_conflicts((days,), "When was version 3.0 released?") == []  # 2.0's day disputes nothing about 3.0
    assert relevant_conflicts((days,), "When was the database released?") == [days]  # no edition asked: both stand


def test_a_disputed_place_is_stated_only_when_the_question_asks_about_the_place():
    from rag.answer.news import relevant_conflicts
    from rag.types import Chunk, Conflict, Sentence

    def side(text: str, source: str) -> tuple[Sentence, Chunk]:
        sentence = Sentence(text, 0, len(text))
        return sentence, Chunk(f"{source}:0", source, 0, len(text), text, (sentence,))

    place = Conflict("place", "forum", ("Lyon", "Nantes"), side("The forum opened in Lyon on May 2.", "a.txt"),
                     side("The talks took place at the forum in Nantes.", "b.txt"))
    asked = ["Where was the forum held?", "What city hosted the forum?", "Which city was host to the forum?",
             "Was the forum held in Lyon or in Nantes?", "Was the forum in Lyon?"]
    assert [relevant_conflicts((place,), q) for q in asked] == [[place]] * len(asked)
    beside = ["How many guests was the town preparing to host for the forum in Lyon?", "When did the mayor open the forum in Lyon?", "How large was the Lyon forum?",
              "Apart from the mayor, who spoke at the forum in Nantes?", "What did the forum decide?"]
    assert [relevant_conflicts((place,), q) for q in beside] == [[]] * len(beside)
