"""News features on the seeds with the real MiniLM embedder and a scripted fake LLM: publication
dates (given and inferred), time expressions in ranking, reprints merged, disagreements stated
with both quotes, article-level list/summary/timeline answers and ``rag sources``."""

import json

import pytest

from rag.faces.cli import format_answer, main
from rag.text.dates import date_label, infer_published, mentions, parse_time_query
from rag.answer.news import build_context, groups_for

from .conftest import SEEDS

A000, A001, A002, A003 = "000_93be851f2084c326.txt", "001_794c705cbf82de55.txt", "002_ed8ed3a4a9ec07fd.txt", "003_688ff7a65efc7fda.txt"


def _check_quotes(assistant, answer):
    assert answer.citations
    for c in answer.citations:
        assert c.quote == assistant.index.documents[c.source].text[c.start : c.end]


# -- dates ------------------------------------------------------------------------------------

def test_dateline_and_weekday_give_the_inferred_date():
    text = (SEEDS / A001).read_text(encoding="utf-8")
    assert infer_published(text) == "2025-09-02"  # "Beijing, September 2 — ... on Tuesday"; 2025-09-02 is a Tuesday
    # the same dateline with a weekday that fits no year the article names is not trusted
    assert infer_published(text.replace("Tuesday", "Friday")) is None
    assert infer_published((SEEDS / A002).read_text(encoding="utf-8")) is None  # no dateline at all
    assert infer_published("PARIS, March 3, 2024 — Ministers met.") == "2024-03-03"


def test_mentions_resolve_against_the_publication_date():
    found = {m.iso() for m in mentions("Xi opened it on Sept. 1. Trump met Putin on Aug. 15. He visited in May. They met on Tuesday.", "2025-09-02")}
    assert found == {"2025-09-01", "2025-08-15", "2025-05", "2025-09-02"}


@pytest.mark.parametrize(
    "question, relation, month, day",
    [("What happened on September 1?", "on", 9, 1), ("Who visited Moscow in May?", "on", 5, None),
     ("What did Putin say after Sept. 1?", "after", 9, 1), ("What may happen next?", None, None, None),
     ("What happened ahead of Sept. 3?", "before", 9, 3), ("What changed following August 15?", "after", 8, 15)],
)
def test_time_expressions_in_questions(question, relation, month, day):
    query = parse_time_query(question)
    assert (query.relation, query.month, query.day) == (relation, month, day) if relation else query is None


@pytest.mark.parametrize(
    "question, kind, topic",
    [("Which articles mention North Korea?", "list", "North Korea"), ("In which articles is North Korea mentioned?", "list", "North Korea"),
     ("In what stories are the tariffs discussed?", "list", "the tariffs"), ("Which of the articles mention North Korea?", "list", "North Korea"),
     ("Do any of the reports mention the tariffs?", "list", "the tariffs"), ("Which of the leaders spoke first?", None, None), ("What happened before the parade?", "timeline", "before the parade"),
     ("Which events took place ahead of the parade?", "timeline", "ahead of the parade"), ("What occurred on May 9?", "timeline", "on May 9"),
     ("What things happened following the summit?", "timeline", "following the summit"), ("What did Xi say in Tianjin?", None, None)],
)
def test_article_questions_are_told_in_their_common_wordings(question, kind, topic):
    from rag.answer.articles import classify
    from rag.text.dates import event_phrase

    plan = classify(question)
    assert (plan.kind, plan.topic) == (kind, topic) if kind else plan is None
    if kind == "timeline" and "parade" in question:
        assert event_phrase(question) == ("before", "parade")


def test_ingest_stores_given_and_inferred_dates(make_assistant):
    assistant, _ = make_assistant()
    docs = assistant.index.documents
    assert (docs[A000].published, docs[A000].published_inferred) == ("2025-09-03", False)
    assert (docs[A001].published, docs[A001].published_inferred) == ("2025-09-02", True)
    assert docs[A002].published is None
    assert all(c.published_inferred for c in assistant.index.chunks if c.source == A001)


def test_citation_shows_an_inferred_date(make_assistant, capsys):
    assistant, _ = make_assistant(["Xi recalled his state visit to Moscow in May [1]."])
    answer = assistant.ask("In which month did Xi make his state visit to Moscow?")
    cite = next(c for c in answer.citations if c.source == A001)
    assert (cite.published, cite.published_inferred) == ("2025-09-02", True)
    print(format_answer(answer))
    assert f"{A001} (2025-09-02 (inferred))" in capsys.readouterr().out


def test_time_expression_ranks_passages_of_that_date_higher(make_assistant):
    question = "What happened on September 1?"
    plain, _ = make_assistant(time_boost=1.0, constraint_boost=1.0)  # the time boost alone
    boosted, _ = make_assistant()
    before = [h.source for h in plain.context(question).hits]
    after = [h.source for h in boosted.context(question).hits]
    assert before[0] != A003  # without the boost, "September 2" in 001 wins on words
    assert after[0] == A003 and after.count(A003) > before.count(A003)


# -- reprints ---------------------------------------------------------------------------------

def test_reprinted_wire_sentences_are_shown_once_and_cite_both_files(make_assistant):
    assistant, llm = make_assistant(["Trade between China and Russia reached 244.8 billion dollars in 2024 [1]."])
    context = assistant.context("How much was China-Russia trade in 2024?")
    merged = [g for g in groups_for(context) if {c.source for c in g} >= {A000, A001}]
    assert merged, "the trade passage should stand for both 000 and 001"
    answer = assistant.ask("How much was China-Russia trade in 2024?")
    prompt = llm.prompts[0][-1]["content"]
    assert prompt.count("244.8") == 1  # the reprint is not spent twice
    docs = assistant.index.documents  # the merged passage's header dates both articles
    header = next(line for line in prompt.splitlines() if line.startswith("[") and "," in line)
    assert all(date_label(docs[a].published, docs[a].published_inferred) in header for a in (A000, A001))
    assert {c.source for c in answer.citations} == {A000, A001}
    assert all("244.8" in c.quote for c in answer.citations)
    _check_quotes(assistant, answer)


def test_a_fuller_reprint_wording_is_kept(make_assistant, embedder):
    assistant, _ = make_assistant()
    found = assistant.retriever.retrieve("What fields do the cooperation agreements between Xi and Putin cover?", 8)
    from rag.answer.news import SentenceVectors

    context = build_context(found, 4, SentenceVectors(embedder), reprint_similarity=0.8)
    text = " ".join(c.text for c in context.chunks)
    # 001's wording lists more fields (media, scientific research); it is the one shown
    assert "scientific research" in text and text.count("cooperation agreements") == 1


# -- disagreement -----------------------------------------------------------------------------

def test_disagreement_is_stated_with_both_sides_quoted(make_assistant):
    question = "Where was the Shanghai Cooperation Organization summit 2025 held?"
    probe, _ = make_assistant()
    shown = probe.compact(question, probe.context(question)).prompt.chunks
    # the model names the city of one side, citing the passage that says so (whichever is shown)
    n, city = next((i, city) for city in ("Tianjin", "Beijing") for i, c in enumerate(shown, start=1) if f"in {city}" in c.text)
    assistant, _ = make_assistant([f"The summit was in {city} [{n}]."])
    answer = assistant.ask(question)
    assert not answer.refused
    assert "The articles disagree:" in answer.answer
    assert "Beijing" in answer.answer and "Tianjin" in answer.answer
    by_source = {c.source: c.quote for c in answer.citations}
    assert "Beijing" in by_source[A001] and "Tianjin" in by_source[A003]
    stated = [s for s in answer.sentences if s.supported and s.citations]
    assert any("Beijing" in s.text for s in stated) and any("Tianjin" in s.text for s in stated)
    _check_quotes(assistant, answer)


def test_a_question_about_the_disputed_fact_is_answered_with_the_disagreement_when_the_model_has_no_answer(make_assistant):
    assistant, _ = make_assistant(["The articles don't say.", "The articles don't say."])
    answer = assistant.ask("Was the 2025 SCO summit held in Beijing or in Tianjin?")
    assert not answer.refused and answer.answer.startswith("The articles disagree:")
    assert {c.source for c in answer.citations} == {A001, A003}
    assert all(s.supported for s in answer.sentences)
    _check_quotes(assistant, answer)
    other, _ = make_assistant(["The articles don't say.", "The articles don't say."])
    assert other.ask("When did Xi open the SCO summit in Tianjin?").refused  # the place is not what it asks
    third, _ = make_assistant(["The articles don't say.", "The articles don't say."])
    assert third.ask("Where was the SCO summit in Tianjin held?").refused  # one side named: no answer to give instead


def test_no_disagreement_for_a_question_it_does_not_touch(make_assistant):
    assistant, _ = make_assistant(["Trump slapped 50% tariffs on India [1]."])
    answer = assistant.ask("What tariffs did Trump put on India?")
    assert "disagree" not in answer.answer


# -- article-level questions ------------------------------------------------------------------

def test_which_articles_mention_lists_each_with_a_quote(make_assistant):
    assistant, llm = make_assistant()
    answer = assistant.ask("Which articles mention North Korea?")
    assert not answer.refused and not llm.prompts  # extractive: the LLM is not needed
    assert answer.answer.startswith("1 of 4 articles mention North Korea:")
    assert [c.source for c in answer.citations] == [A000]
    assert "North Korea" in answer.citations[0].quote
    _check_quotes(assistant, answer)
    gg = assistant.ask("Which articles mention the GGI?")
    assert {c.source for c in gg.citations} == {A000, A001} and gg.answer.count("\n- ") == 2


def test_which_articles_mention_nothing_is_a_refusal(make_assistant):
    assistant, _ = make_assistant()
    answer = assistant.ask("Which articles mention Atlantis?")
    assert answer.refused and answer.citations == () and "None of the 4 articles" in answer.answer


def test_timeline_of_a_day_lists_the_sentences_dated_then(make_assistant):
    assistant, _ = make_assistant()
    answer = assistant.ask("What happened on September 1?")
    assert not answer.refused
    lines = answer.answer.splitlines()[1:]
    assert lines and all(line.startswith("- 2025-09-01") for line in lines)
    assert any("Tianjin" in c.quote for c in answer.citations) and all("Sept. 1" in c.quote for c in answer.citations)
    _check_quotes(assistant, answer)


def test_timeline_before_an_event_uses_the_event_date(make_assistant):
    assistant, _ = make_assistant()
    answer = assistant.ask("What happened before the parade?")
    dates = [line[2:12] for line in answer.answer.splitlines()[1:]]
    assert dates and all(d < "2025-09-03" for d in dates) and dates == sorted(dates)
    assert any("Aug. 15" in c.quote for c in answer.citations)


def test_summary_of_the_article_about_a_topic_uses_that_article_only(make_assistant):
    assistant, llm = make_assistant(["Putin and Xi met in Moscow and presented a unified front [2]. Xi is set to attend a military parade in Red Square [3]."])
    answer = assistant.ask("Summarise the article about the Moscow meeting")
    assert answer.answer.startswith(f"Summary of {A002} (date unknown):")
    prompt = llm.prompts[0][-1]["content"]
    assert "Red Square" in prompt and "Tianjin" not in prompt
    assert {c.source for c in answer.citations} == {A002}
    _check_quotes(assistant, answer)
    # A paraphrasing summary sentence is put to the semantic judge, as answer sentences are.
    judged = [m[-1]["content"] for m in llm.judged]
    assert any("Statement: Putin and Xi met in Moscow and presented a unified front." in j for j in judged)


def test_summary_the_model_gets_wrong_falls_back_to_quoted_opening(make_assistant):
    assistant, _ = make_assistant(["Putin and Xi signed 90 treaties in Moscow [1]."])
    answer = assistant.ask("Summarise the article about the Moscow meeting")
    assert "(opening sentences)" in answer.answer and "90" not in answer.answer.split(":", 1)[1]
    assert {c.source for c in answer.citations} == {A002}
    _check_quotes(assistant, answer)


def test_rag_sources_lists_the_corpus(seed_index, capsys):
    assert main(["sources", "--index", str(seed_index), "--json"]) == 0
    rows = {r["source"]: r for r in json.loads(capsys.readouterr().out)}
    assert sorted(rows) == [A000, A001, A002, A003]
    assert rows[A001]["published"] == "2025-09-02" and rows[A001]["published_inferred"] is True
    assert rows[A002]["published"] is None and rows[A002]["title"] == "Putin and Xi Forge Alliances Amid Global Uncertainties"
    assert rows[A000]["size"] == len((SEEDS / A000).read_bytes())
    assert main(["sources", "--index", str(seed_index)]) == 0
    assert "2025-09-02 (inferred)" in capsys.readouterr().out
