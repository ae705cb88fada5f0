"""One ``Assistant`` shared by many threads: every answer equals the one given when asked alone.

20 concurrent asks with the fake LLM (real index, real MiniLM embedder, real verifier) and 4 with
the real local model (serialised behind its lock). Answers are compared without their timings.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import SEED_QUESTIONS as QUESTIONS


def comparable(answer) -> dict:
    data = answer.to_dict()
    data.pop("timings")
    return data


def ask_together(assistant, jobs: list[tuple[str, list[tuple[str, str]]]]) -> list[dict]:
    """Run every (question, history) at the same moment on its own thread."""
    start = threading.Barrier(len(jobs))

    def one(job):
        question, history = job
        start.wait(timeout=60)
        return comparable(assistant.chat(history, question) if history else assistant.ask(question))

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(one, jobs))


def test_twenty_concurrent_asks_with_the_fake_llm(make_assistant):
    assistant, llm = make_assistant()
    history = [("What was China-Russia trade in 2024?", "Trade reached 244.8 billion U.S. dollars in 2024 [1].")]
    jobs = [(q, []) for q in QUESTIONS] + [("And what about the SCO summit?", history)]
    alone = {q: comparable(assistant.chat(h, q) if h else assistant.ask(q)) for q, h in jobs}
    assert sum(not a["refused"] for a in alone.values()) >= 3  # real answers, not only refusals

    many = [jobs[i % len(jobs)] for i in range(20)]
    answers = ask_together(assistant, many)
    for (question, _), answer in zip(many, answers):
        assert answer == alone[question], question
    # Searches on the same index at the same time agree with a search alone, too.
    expected = [h.to_dict() for h in assistant.search(QUESTIONS[0])]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: [h.to_dict() for h in assistant.search(QUESTIONS[0])], range(16)))
    assert all(r == expected for r in results)


@pytest.mark.llm
def test_four_concurrent_asks_with_the_local_llm(local_assistant):
    """Two questions asked alone, then each twice at once (4 threads on one model). Greedy
    decoding (temperature 0, seed 0) makes an answer reproducible whatever llama.cpp's prompt
    cache held from the previous call, so concurrent answers must equal the lone ones."""
    questions = ["Where did Xi open the SCO summit?", "What was China-Russia trade in 2024?"]
    alone = {q: comparable(local_assistant.ask(q)) for q in questions}
    jobs = [(q, []) for q in questions * 2]
    answers = ask_together(local_assistant, jobs)
    for (question, _), answer in zip(jobs, answers):
        assert answer == alone[question], question
