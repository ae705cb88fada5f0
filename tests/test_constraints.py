"""Questions that pin a year or number rank the passage about that edition first, and an answer
from another edition is not accepted (rag/answer/constraints.py, the verifier's question rule)."""

from __future__ import annotations

from dataclasses import replace

from rag.answer.constraints import combine, constraint_boost, constraints_of, date_numbers
from rag.answer.verify import Verifier
from rag.index.embed import make_embedder
from rag.settings import Settings
from rag.types import Chunk, Sentence


def chunk(cid: str, text: str, published: str | None = None) -> Chunk:
    return Chunk(cid, f"{cid}.txt", 0, len(text), text, (Sentence(text, 0, len(text)),), published)


EDITION_2019 = chunk("a", "Lena Park won the Harrow Open in 2019, beating Tom Reyes in the final.")
EDITION_2021 = chunk("b", "Tom Reyes won the Harrow Open in 2021 after a five-set final.")


def test_constraints_are_the_stated_numbers_and_names():
    c = constraints_of("Who won the Harrow Open in 2021?")
    assert c.numbers == {"2021"} and {"harrow", "open"} <= c.names


def test_the_asked_edition_outranks_another_edition():
    boost = constraint_boost("Who won the Harrow Open in 2021?", factor=2.0)
    assert boost(EDITION_2021) >= 4 * boost(EDITION_2019)


def test_an_article_date_counts_as_carrying_its_year():
    undated_text = chunk("c", "The final went to five sets.", published="2021-06-30")
    assert constraint_boost("What happened in 2021?", 2.0)(undated_text) > 1.0
    assert date_numbers("2025-09-03") == {"2025", "9", "3"}


def test_a_name_in_the_articles_title_counts_as_carried_by_its_passages():
    # a report names its people up top and then says "the two leaders": its later passages must
    # not rank below a passage of another article that names them and answers nothing
    later = replace(chunk("d", "The two leaders signed agreements on energy and space."), title="Lena Park and Tom Reyes meet in Harrow")
    untitled = chunk("e", "The two leaders signed agreements on energy and space.")
    boost = constraint_boost("What did Lena Park and Tom Reyes sign?", 2.0)
    assert boost(later) == 1.0 * boost(chunk("f", "Lena Park and Tom Reyes met.")) > boost(untitled)


def test_no_constraint_means_no_boost_and_combine_multiplies():
    assert constraint_boost("who won the final?", 2.0) is None
    double = combine(lambda c: 2.0, None, lambda c: 3.0)
    assert double(EDITION_2019) == 6.0 and combine(None) is None


def test_an_answer_from_another_edition_is_not_supported():
    settings = Settings(embed_backend="fake")
    verifier = Verifier(make_embedder(settings), min_overlap=0.5, min_similarity=0.62)
    docs = {c.source: c.text for c in (EDITION_2019, EDITION_2021)}
    wrong = verifier.verify("Lena Park won the Harrow Open [1].", [EDITION_2019], "Who won the Harrow Open in 2022?", docs)
    assert not wrong.supported
    right = verifier.verify("Tom Reyes won the Harrow Open in 2021 [1].", [EDITION_2021], "Who won the Harrow Open in 2021?", docs)
    assert right.supported


class _Scorer:
    """A judge that always answers yes with probability ``p``, recording what it was asked."""

    def __init__(self, p: float) -> None:
        self.p, self.asked = p, []

    def score(self, conversations, words, *, timeout):  # noqa: ANN001, ANN201
        self.asked += conversations
        return [[self.p, 1 - self.p] for _ in conversations]


def test_the_judge_decides_an_answer_that_only_lacks_the_questions_own_words():
    from rag.answer.judge import SupportJudge

    trade = chunk("t", "Bilateral trade between Arland and Beland rose to $12.5 billion in 2024.")
    docs = {trade.source: trade.text}
    question = "What was the value of trade between Arland and Beland in 2024?"
    draft = "The value of trade between Arland and Beland in 2024 was $12.5 billion [1]."
    verifier = Verifier(make_embedder(Settings(embed_backend="fake")), min_overlap=0.5, min_similarity=0.62)
    assert not verifier.verify(draft, [trade], question, docs).supported  # no judge: the lexical rule stands
    yes, no = _Scorer(0.9), _Scorer(0.1)
    judged = verifier.verify(draft, [trade], question, docs, judge=SupportJudge(yes, supported_at=0.5, timeout=5))
    assert judged.supported and judged.citations[0].quote == trade.text and len(yes.asked) == 1
    assert not verifier.verify(draft, [trade], question, docs, judge=SupportJudge(no, supported_at=0.5, timeout=5)).supported
    # A number the passage lacks is still a veto the judge never sees.
    wrong = verifier.verify("The value of trade was $13 billion [1].", [trade], question, docs, judge=SupportJudge(yes, supported_at=0.5, timeout=5))
    assert not wrong.supported and len(yes.asked) == 1


def test_a_name_the_question_supplied_is_no_licence_for_the_judge():
    from rag.answer.judge import SupportJudge

    trade = chunk("t", "Bilateral trade between Arland and Beland rose to $12.5 billion in 2024.")
    other = chunk("o", "Arland and Corvia signed a tariff pact.")
    docs = {c.source: c.text for c in (trade, other)}
    question = "What was the value of trade between Arland and Corvia in 2024?"
    draft = "The value of trade between Arland and Corvia in 2024 was $12.5 billion [1]."
    verifier = Verifier(make_embedder(Settings(embed_backend="fake")), min_overlap=0.5, min_similarity=0.62)
    yes = _Scorer(0.99)
    judged = verifier.verify(draft, [trade, other], question, docs, judge=SupportJudge(yes, supported_at=0.5, timeout=5))
    assert not judged.supported and yes.asked == []  # 'Corvia' is not in the trade passage: never asked


class _ByStatement:
    """A judge whose P(yes) depends on the statement asked about: ``p`` for the statement
    containing each key, ``default`` otherwise."""

    def __init__(self, p: dict[str, float], default: float = 0.1) -> None:
        self.p, self.default, self.asked = p, default, []

    def score(self, conversations, words, *, timeout):  # noqa: ANN001, ANN201
        out = []
        for messages in conversations:
            statement = messages[-1]["content"].split("Statement:")[1].splitlines()[0]
            self.asked.append(statement.strip())
            p = next((v for k, v in self.p.items() if k in statement), self.default)
            out.append([p, 1 - p])
        return out


ELECTION = chunk("e", "Helga Tamsin was elected mayor with 51.4 percent. Her main rival, Rupert Oyelaran, received 44.1 percent.")


def test_a_claim_the_judge_reads_better_with_its_two_parties_exchanged_is_not_stated():
    from rag.answer.judge import SupportJudge

    docs = {ELECTION.source: ELECTION.text}
    question = "Whom did Helga Tamsin defeat?"
    verifier = Verifier(make_embedder(Settings(embed_backend="fake")), min_overlap=0.5, min_similarity=0.62, exchange_margin=0.05)
    # The small judge passes both readings, the true one higher: the reversed claim is held back ...
    judge = _ByStatement({"Rupert Oyelaran defeated Helga Tamsin": 0.76, "Helga Tamsin defeated Rupert Oyelaran": 0.88})
    reversed_ = verifier.verify("Rupert Oyelaran defeated Helga Tamsin [1].", [ELECTION], question, docs, judge=SupportJudge(judge, supported_at=0.5, timeout=5))
    assert not reversed_.supported
    assert judge.asked == ["Rupert Oyelaran defeated Helga Tamsin.", "Helga Tamsin defeated Rupert Oyelaran."]
    right = verifier.verify("Helga Tamsin defeated Rupert Oyelaran [1].", [ELECTION], question, docs, judge=SupportJudge(judge, supported_at=0.5, timeout=5))
    assert right.supported
    # ... and a symmetric relation the judge rates about the same both ways stands.
    even = _ByStatement({"Rupert Oyelaran": 0.8}, default=0.82)
    assert verifier.verify("Helga Tamsin defeated Rupert Oyelaran [1].", [ELECTION], question, docs, judge=SupportJudge(even, supported_at=0.5, timeout=5)).supported


def test_a_count_is_quoted_from_the_sentence_that_gives_it_even_unnamed():
    from rag.text.sentences import split_sentences

    text = "Ana Brisk won the 2023 Fenwold Prize for fiction. The novel was picked from a shortlist of six. Brisk wrote it over nine years."
    prize = Chunk("p", "p.txt", 0, len(text), text, tuple(Sentence(text[s:e], s, e) for s, e in split_sentences(text)))
    verifier = Verifier(make_embedder(Settings(embed_backend="fake")), min_overlap=0.5, min_similarity=0.62)
    from rag.answer.judge import SupportJudge

    yes = SupportJudge(_Scorer(0.9), supported_at=0.5, timeout=5)  # "books" is the question's word the passage lacks: the judge decides
    checked = verifier.verify("There were six books on the 2023 Fenwold Prize shortlist [1].", [prize], "How many books were on the 2023 Fenwold Prize shortlist?", {"p.txt": text}, judge=yes)
    # "a shortlist of six" counts nothing named, so it may carry "six books"; "nine years" may not.
    assert checked.supported and "shortlist of six" in checked.citations[0].quote
    assert "nine years" not in checked.citations[0].quote


def test_the_questions_month_and_day_may_stand_in_the_articles_date():
    pact = chunk("d", "Arland signed a tariff pact with Beland on Wednesday.", published="2025-09-03")
    verifier = Verifier(make_embedder(Settings(embed_backend="fake")), min_overlap=0.5, min_similarity=0.62)
    docs = {pact.source: pact.text}
    draft = "On September 3, Arland signed a tariff pact with Beland [1]."
    assert verifier.verify(draft, [pact], "What did Arland sign on September 3?", docs).supported
    # Not a month the question did not state, nor another month than the article's.
    assert not verifier.verify(draft, [pact], "What did Arland sign?", docs).supported
    assert not verifier.verify("On October 3, Arland signed a tariff pact with Beland [1].", [pact], "What did Arland sign on October 3?", docs).supported


def test_a_claim_the_judge_reads_better_with_its_relation_reversed_is_not_stated():
    from rag.answer.judge import SupportJudge

    visit = chunk("v", "Xi arrived in Moscow on May 7, a day before the Victory Day parade.")
    docs = {visit.source: visit.text}
    verifier = Verifier(make_embedder(Settings(embed_backend="fake")), min_overlap=0.5, min_similarity=0.62, exchange_margin=0.05)
    judge = _ByStatement({"a day after": 0.78, "a day before": 0.9})
    wrong = verifier.verify("Xi arrived in Moscow a day after the Victory Day parade [1].", [visit], "When did Xi arrive in Moscow?", docs, judge=SupportJudge(judge, supported_at=0.5, timeout=5))
    assert not wrong.supported and "Xi arrived in Moscow a day before the Victory Day parade." in judge.asked
    right = verifier.verify("Xi arrived in Moscow a day before the Victory Day parade [1].", [visit], "When did Xi arrive in Moscow?", docs, judge=SupportJudge(judge, supported_at=0.5, timeout=5))
    assert right.supported
