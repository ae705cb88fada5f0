"""The eval suite checks itself: known-bad answers must score as failures and good ones as
passes, the golden file is validated, ``rag eval --corpus`` works on a corpus that is not the
seeds, and (marked ``llm``) the real local model stays above evals/thresholds.toml."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rag.faces.cli import main
from rag.eval.report import format_html, format_table
from rag.errors import GoldenError
from rag.eval.golden import GoldenCase, load_golden
from rag.eval.metrics import alce_scores, check_thresholds, load_thresholds, must_include_coverage, paraphrase_agreement, retrieval_scores, score_case
from rag.eval.run import llm_judge, run_eval
from rag.types import Answer, AnswerSentence, Citation

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "evals" / "golden.jsonl"
WIRES, XINHUA, MOSCOW = "000_93be851f2084c326.txt", "001_794c705cbf82de55.txt", "002_ed8ed3a4a9ec07fd.txt"
TRADE_QUOTE = "Trade between China and Russia reached 244.8 billion U.S. dollars in 2024, making China Russia’s largest trading partner for 15 consecutive years."
PARADE_QUOTE = "As part of a state visit, Xi is set to participate in a military parade in Red Square."
TRADE = GoldenCase(id="trade", question="What was the value of trade between China and Russia in 2024?",
                   must_include=(("244.8",),), sources=(WIRES, XINHUA), category="two_articles")
UNANSWERABLE = GoldenCase(id="trade-2023", question="What was the value of trade between China and Russia in 2023?",
                          sources=(WIRES, XINHUA), answerable=False, category="unanswerable")


def answer(question: str, sentences: list[tuple[str, tuple[int, ...], bool]], citations: list[tuple[str, str]], refused: bool = False) -> Answer:
    """An Answer built by hand: ``sentences`` as (text, cited numbers, supported), ``citations`` as (source, quote)."""
    shown = [f"{t} {''.join(f'[{n}]' for n in c)}" for t, c, ok in sentences if ok]
    return Answer(
        question=question,
        answer="The articles don't say." if refused else " ".join(shown),
        refused=refused,
        citations=tuple(Citation(n=i, source=s, start=0, end=len(q), quote=q) for i, (s, q) in enumerate(citations, start=1)),
        sentences=tuple(AnswerSentence(t, c, ok) for t, c, ok in sentences),
    )


@pytest.fixture
def verifier(make_assistant):
    return make_assistant()[0].verifier


def score(case: GoldenCase, given: Answer, verifier, retrieved=(XINHUA, WIRES)):
    return score_case(case, given, retrieved=list(retrieved), verifier=verifier, latency_s=1.0)


# -- the metrics can fail -------------------------------------------------------------------------

def test_good_answer_passes_every_check(verifier):
    good = answer(TRADE.question, [("Trade between China and Russia reached 244.8 billion U.S. dollars in 2024.", (1,), True)], [(XINHUA, TRADE_QUOTE)])
    result = score(TRADE, good, verifier)
    assert result.passed, result.failures
    assert result.metrics["correctness"] == 1.0
    assert result.metrics["citation_precision"] == 1.0
    assert result.metrics["alce_citation_recall"] == 1.0 and result.metrics["alce_citation_precision"] == 1.0
    assert result.metrics["faithfulness"] == 1.0 and result.metrics["refusal_accuracy"] == 1.0


def test_invented_number_fails_correctness_and_citation_recall(verifier):
    # Marked supported on purpose: the eval must re-check the quote rather than trust the flag.
    bad = answer(TRADE.question, [("Trade between China and Russia reached 312.5 billion U.S. dollars in 2024.", (1,), True)], [(XINHUA, TRADE_QUOTE)])
    result = score(TRADE, bad, verifier)
    assert not result.passed
    assert result.metrics["correctness"] == 0.0
    assert result.metrics["alce_citation_recall"] == 0.0
    assert any("244.8" in f for f in result.failures)


def test_invented_number_through_the_engine_is_removed_and_scored_unfaithful(make_assistant):
    # The engine asks again after a draft whose every claim was removed; the retry invents too.
    invented = "Trade between China and Russia reached $312.5 billion in 2024 [1]."
    assistant, llm = make_assistant([invented, invented])
    given = assistant.ask(TRADE.question)
    assert "312.5" not in given.answer and not llm.replies
    result = score(TRADE, given, assistant.verifier)
    assert not result.passed
    assert result.metrics["correctness"] == 0.0
    assert result.metrics["faithfulness"] == 0.0


def test_citation_to_the_wrong_file_fails_citation_precision(verifier):
    wrong = answer(TRADE.question, [("Trade between China and Russia reached 244.8 billion U.S. dollars in 2024.", (1,), True)], [(MOSCOW, TRADE_QUOTE)])
    result = score(TRADE, wrong, verifier)
    assert result.metrics["citation_precision"] == 0.0
    assert any(MOSCOW in f for f in result.failures)


def test_irrelevant_extra_citation_fails_alce_precision(verifier):
    padded = answer(TRADE.question, [("Trade between China and Russia reached 244.8 billion U.S. dollars in 2024.", (1, 2), True)],
                    [(XINHUA, TRADE_QUOTE), (MOSCOW, PARADE_QUOTE)])
    recall, precision, unsupported, irrelevant = alce_scores(padded, verifier, TRADE.question)
    assert recall == 1.0 and precision == 0.5 and (unsupported, irrelevant) == (0, 1)


def test_answering_an_unanswerable_question_fails_refusal(verifier):
    invented = answer(UNANSWERABLE.question, [("Trade between China and Russia reached 190 billion U.S. dollars in 2023.", (1,), True)], [(XINHUA, TRADE_QUOTE)])
    result = score(UNANSWERABLE, invented, verifier)
    assert result.metrics["refusal_accuracy"] == 0.0
    assert not result.passed
    refused = score(UNANSWERABLE, answer(UNANSWERABLE.question, [], [], refused=True), verifier)
    assert refused.metrics["refusal_accuracy"] == 1.0 and refused.passed


def test_refusing_an_answerable_question_fails(verifier):
    result = score(TRADE, answer(TRADE.question, [], [], refused=True), verifier)
    assert result.metrics["refusal_accuracy"] == 0.0 and result.metrics["correctness"] == 0.0


def test_removed_sentence_lowers_faithfulness(verifier):
    mixed = answer(TRADE.question, [("Trade between China and Russia reached 244.8 billion U.S. dollars in 2024.", (1,), True),
                                    ("It doubled since 2019.", (), False)], [(XINHUA, TRADE_QUOTE)])
    result = score(TRADE, mixed, verifier)
    assert result.metrics["faithfulness"] == 0.5
    assert result.passed and result.notes  # the user never saw it: a note, not a failure


def test_llm_judge_reads_the_verdict(make_assistant):
    case = GoldenCase(**{**TRADE.__dict__, "answer": "$244.8 billion."})
    given = answer(TRADE.question, [("Trade reached 244.8 billion U.S. dollars in 2024.", (1,), True)], [(XINHUA, TRADE_QUOTE)])
    assistant, llm = make_assistant(["INCORRECT", "CORRECT.", "maybe"])
    assert [llm_judge(assistant, case, given) for _ in range(3)] == [False, True, None]
    assert "$244.8 billion." in llm.prompts[0][0]["content"]


def test_retrieval_and_must_include_helpers():
    assert retrieval_scores(["a", "b", "c"], ["b"]) == (1.0, 0.5)
    assert retrieval_scores(["a", "c"], ["b"]) == (0.0, 0.0)
    assert must_include_coverage("They signed more than Twenty [1] deals.", [["20", "twenty"]]) == (1.0, [])
    assert must_include_coverage("Xi’s initiative", [["Xi's"], ["GGI"]]) == (0.5, [["GGI"]])


# -- the golden file ------------------------------------------------------------------------------

def test_seed_golden_file_is_valid_and_broad():
    cases = load_golden(GOLDEN)
    seeds = {p.name for p in (ROOT / "seeds").iterdir()}
    assert len(cases) >= 40
    assert sum(not c.answerable for c in cases) >= 8
    assert {"single_fact", "list", "two_articles", "date", "conflict", "follow_up", "unanswerable"} <= {c.category for c in cases}
    assert all(set(c.sources) <= seeds for c in cases)
    assert any(c.history for c in cases)


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not valid JSON"),
        ('{"id": "a", "must_include": [["x"]], "sources": ["f"]}', "'question'"),
        ('{"id": "a", "question": "q?", "must_include": ["244.8"], "sources": ["f"]}', "'must_include'"),
        ('{"id": "a", "question": "q?", "must_include": [["x"]], "sources": []}', "'sources'"),
        ('{"id": "a", "question": "q?", "must_include": [["x"]], "sources": ["f"], "answerable": "yes"}', "'answerable'"),
        ('{"id": "a", "question": "q?", "must_include": [["x"]], "sources": ["f"], "history": [["only one"]]}', "'history'"),
        ('{"id": "a", "question": "q?", "must_inclde": [["x"]], "sources": ["f"]}', "unknown field"),
    ],
)
def test_bad_golden_lines_are_reported_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "golden.jsonl"
    path.write_text('{"id": "ok", "question": "q?", "must_include": [["x"]], "sources": ["f"]}\n' + line + "\n")
    with pytest.raises(GoldenError, match=f"golden.jsonl:2: .*{message}"):
        load_golden(path)


def test_duplicate_ids_and_cli_error_line(tmp_path, capsys):
    path = tmp_path / "golden.jsonl"
    path.write_text('{"id": "a", "question": "q?", "answerable": false}\n' * 2)
    assert main(["eval", str(path), "--backend", "fake"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "golden.jsonl:2: duplicate id 'a'" in err and "\n" not in err


def test_thresholds_file_is_valid_and_gate_flags_low_values():
    thresholds = load_thresholds(ROOT / "evals" / "thresholds.toml")
    assert thresholds["min"]["refusal_accuracy"] > 0
    low = {"correctness": 0.1, "refusal_accuracy": 0.1, "latency_p95_s": 10_000.0}
    problems = check_thresholds(low, thresholds)
    assert any(p.startswith("correctness") for p in problems) and any(p.startswith("refusal_accuracy") for p in problems)


# -- a corpus someone else wrote, end to end through the CLI ----------------------------------------

ARTICLES = {
    "harbour.txt": "date 2024-03-04 The Lakeside town council approved a harbour budget of 4.2 million euros on Monday. "
                   "The money will repair the old pier and dredge the marina. Mayor Ines Okafor said work starts in June.",
    "festival.md": "date 2024-05-11 The Lakeside jazz festival sold 12,000 tickets this year, a record. "
                   "Organisers moved the main stage to the northern meadow after complaints about noise.",
}
CASES = [
    {"id": "budget", "question": "How large a harbour budget did the Lakeside council approve?", "must_include": [["4.2"]], "sources": ["harbour.txt"], "category": "fact"},
    {"id": "tickets", "question": "How many tickets did the Lakeside jazz festival sell?", "must_include": [["12,000", "12000"]], "sources": ["festival.md"], "category": "fact"},
    {"id": "population", "question": "What is the population of Lakeside town?", "sources": ["harbour.txt"], "answerable": False, "category": "unanswerable"},
]


def tiny_corpus(tmp_path: Path) -> tuple[Path, Path]:
    """ARTICLES as a corpus folder and CASES as a golden file under ``tmp_path``."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text)
    golden = tmp_path / "golden.jsonl"
    golden.write_text("".join(json.dumps(c) + "\n" for c in CASES))
    return corpus, golden


def test_eval_cli_on_a_tiny_corpus_with_the_fake_backend(tmp_path, capsys):
    corpus, golden = tiny_corpus(tmp_path)
    report = tmp_path / "report"
    assert main(["eval", str(golden), "--corpus", str(corpus), "--backend", "fake", "--json", "--report", str(report)]) == 0
    data = json.loads(capsys.readouterr().out)
    by_id = {c["id"]: c for c in data["cases"]}
    assert set(by_id) == {"budget", "tickets", "population"}
    for case_id in ("budget", "tickets"):  # the fake LLM echoes passage [1]'s first sentence, which holds the fact
        assert by_id[case_id]["passed"], by_id[case_id]["failures"]
        assert by_id[case_id]["metrics"]["hit_at_k"] == 1.0
    # ... and so it also "answers" the unanswerable question: the eval must catch that.
    assert by_id["population"]["metrics"]["refusal_accuracy"] == 0.0 and not by_id["population"]["passed"]
    assert data["overall"]["cases"] == 3 and data["overall"]["refusal_accuracy"] == pytest.approx(2 / 3)
    assert set(data["by_category"]) == {"fact", "unanswerable"}
    page = (report / "report.html").read_text()
    assert "<svg" in page and "<script" not in page and "http" not in page.lower().replace("http-equiv", "")
    assert "population" in page and (report / "summary.md").is_file()


def test_paraphrases_are_scored_with_the_questions_they_reword(tmp_path, capsys):
    corpus, golden = tiny_corpus(tmp_path)
    reworded = [
        {**CASES[0], "id": "budget-p1", "paraphrase_of": "budget", "question": "What harbour budget was approved by the council of Lakeside?"},
        {**CASES[1], "id": "tickets-p1", "paraphrase_of": "tickets", "question": "Tickets sold by the Lakeside jazz festival: how many?"},
    ]
    paraphrases = tmp_path / "paraphrases.jsonl"
    paraphrases.write_text("".join(json.dumps(c) + "\n" for c in reworded))
    report = tmp_path / "report"
    assert main(["eval", str(paraphrases), "--originals", str(golden), "--corpus", str(corpus), "--backend", "fake", "--json", "--report", str(report)]) == 0
    data = json.loads(capsys.readouterr().out)
    for page in ("report.html", "summary.md"):
        assert "questions agree across their wordings" in (report / page).read_text()
    # only the reworded questions are asked again, not the rest of the originals file
    assert [c["id"] for c in data["cases"]] == ["budget", "tickets", "budget-p1", "tickets-p1"]
    p = data["paraphrases"]
    assert p["groups"] == 2 and p["with_original"] == 2
    right = {c["id"] for c in data["cases"] if c["metrics"]["correctness"] == 1.0}
    agreeing = {"budget", "tickets"} - set(p["disagreeing"])
    assert agreeing == {root for root in ("budget", "tickets") if {root, root + "-p1"} <= right}
    assert p["agreement"] == len(agreeing) / 2
    bad = tmp_path / "orphans.jsonl"
    bad.write_text(json.dumps({**CASES[0], "id": "x-p1", "paraphrase_of": "nowhere"}) + "\n")
    assert main(["eval", str(bad), "--originals", str(golden), "--corpus", str(corpus), "--backend", "fake"]) == 2
    assert "no case 'nowhere'" in capsys.readouterr().err


def test_agreement_needs_every_wording_right_or_every_wording_refused(verifier):
    good = answer(TRADE.question, [("Trade between China and Russia reached 244.8 billion U.S. dollars in 2024.", (1,), True)], [(XINHUA, TRADE_QUOTE)])
    refused = answer(TRADE.question, [], [], refused=True)
    wrong = answer(TRADE.question, [("Trade between China and Russia reached 200 billion U.S. dollars in 2024.", (1,), True)], [(XINHUA, TRADE_QUOTE)])

    def reword(case: GoldenCase, n: int) -> GoldenCase:
        return replace(case, id=f"{case.id}-p{n}", paraphrase_of=case.id)

    def run(*given: tuple[GoldenCase, Answer]):
        return paraphrase_agreement([score(case, a, verifier) for case, a in given])

    t1, t2 = reword(TRADE, 1), reword(TRADE, 2)
    assert run((TRADE, good), (t1, good), (t2, good)) | {"disagreeing": {}} == {
        "groups": 1, "with_original": 1, "agreement": 1.0, "all_right": 1.0, "disagreeing": {}}
    assert run((TRADE, refused), (t1, refused))["agreement"] == 1.0  # consistent, though not right
    assert run((TRADE, refused), (t1, refused))["all_right"] == 0.0
    mixed = run((TRADE, good), (t1, refused), (t2, wrong))
    assert mixed["agreement"] == 0.0 and mixed["disagreeing"] == {"trade": {"trade": "right", "trade-p1": "refused", "trade-p2": "wrong"}}
    assert run((TRADE, good), (t1, wrong))["agreement"] == 0.0  # the same wrong-or-right mix never agrees
    assert run((TRADE, good), (UNANSWERABLE, refused)) is None  # no rewording in the run


def test_index_and_corpus_together_are_refused(tmp_path, capsys):
    assert main(["eval", str(GOLDEN), "--index", "index", "--corpus", str(tmp_path)]) == 2
    assert "either --index or --corpus" in capsys.readouterr().err


# -- the CI gate: the real local model on the seeds golden set --------------------------------------

GATE_EVERY = 3  # the gate answers every third golden case: on the AVX2-only CI machine a local
# answer with the judge takes ~40 s, and all 68 would take most of CI's 90 minutes. The full set is
# `rag eval` (evals/README.md); the thresholds were measured on this same subset.


@pytest.mark.llm
def test_local_model_meets_thresholds(local_assistant):
    run = run_eval(local_assistant, load_golden(GOLDEN)[::GATE_EVERY])
    run.thresholds = load_thresholds(ROOT / "evals" / "thresholds.toml")
    assert not run.gate_failures, format_table(run)
    assert "<svg" in format_html(run)


class _YesNo:
    """A judge that answers yes with probability ``p``."""

    def __init__(self, p: float) -> None:
        self.p = p

    def score(self, conversations, words, *, timeout):  # noqa: ANN001, ANN201
        return [[self.p, 1 - self.p] for _ in conversations]


def test_alce_rechecks_with_the_engines_judge_when_given(verifier):
    from rag.answer.judge import SupportJudge
    from rag.eval.metrics import quotes_support

    claim = "The value of trade between Arland and Beland in 2024 was $12.5 billion."
    quote = "Bilateral trade between Arland and Beland rose to $12.5 billion in 2024."
    question = "What was the value of trade between Arland and Beland in 2024?"
    assert not quotes_support(verifier, claim, [quote], question)  # lexical alone: 'value' is not in the quote
    yes = SupportJudge(_YesNo(0.9), supported_at=0.5, timeout=5)
    no = SupportJudge(_YesNo(0.1), supported_at=0.5, timeout=5)
    assert quotes_support(verifier, claim, [quote], question, judge=yes)
    assert not quotes_support(verifier, claim, [quote], question, judge=no)


def test_alce_reads_a_quote_with_its_articles_date(seed_index, embedder):
    # the engine let the claim repeat the question's year because the cited article is dated in
    # it; the ALCE re-check of that quote must see the same date, or it calls the claim unsupported
    from rag import Assistant, Settings
    from rag.eval.metrics import quotes_support

    assistant = Assistant.from_settings(Settings(index_dir=seed_index, llm_backend="fake"), embedder=embedder)
    quote = "Chinese President Xi Jinping opened the SCO summit in Tianjin, China, on Sept. 1."
    claim = "Chinese President Xi Jinping opened the SCO summit in Tianjin in 2025."
    question = "Who opened the SCO summit in Tianjin in 2025?"
    assert not quotes_support(assistant.verifier, claim, [quote], question)
    assert quotes_support(assistant.verifier, claim, [quote], question, published="2025-09-01")
    assert not quotes_support(assistant.verifier, claim, [quote], question, published="2024-09-01")


def test_alce_reads_a_quote_under_its_articles_title(seed_index, embedder):
    # the engine's judge read the quote under its article's title, which names the asked event;
    # the ALCE re-check of that quote asks the same judge the same question
    from rag import Assistant, Settings
    from rag.eval.metrics import quotes_support

    assistant = Assistant.from_settings(Settings(index_dir=seed_index, llm_backend="fake"), embedder=embedder)
    judge = assistant.judge  # the fake judge: P(yes) is the share of the claim's words the passage holds
    title = "The 2020 Fenwick Regatta ended with victory for Casimir Loft"
    quote = "Umpire Greta Holm started the final an hour late."
    claim = "Greta Holm was the umpire of the 2020 Fenwick Regatta final."
    question = "Who was the umpire of the 2020 Fenwick Regatta final?"
    from rag.types import Chunk, Sentence

    lead = Chunk("r:0-60", "regatta_2020.txt", 0, 60, title + ".", (Sentence(title + ".", 0, 60),), published="2020-06-15")  # retrieved
    before = len(assistant.llm.judged)
    quotes_support(assistant.verifier, claim, [quote], question, [lead], judge=judge, published="2020-06-15", title=title)
    assert any(title in m[-1]["content"] for m in assistant.llm.judged[before:])
    before = len(assistant.llm.judged)
    quotes_support(assistant.verifier, claim, [quote], question, [lead], judge=judge, published="2020-06-15")
    assert assistant.llm.judged[before:] and not any(title in m[-1]["content"] for m in assistant.llm.judged[before:])
