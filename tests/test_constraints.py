"""Questions that pin a year or number rank the passage about that edition first, and an answer
from another edition is not accepted (rag/answer/constraints.py, the verifier's question rule)."""

from __future__ import annotations

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
