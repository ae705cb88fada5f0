"""`rag eval` on a claims file scores `rag check`; here with the fake backend's lexical judge, so
only the harness is under test (the real judge's figures are in evals/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys

from rag.eval.claims import is_claims_file, load_claims

from .conftest import ROOT


def test_the_claim_sets_load_and_are_recognised():
    for name in ("claims.jsonl", "claims_holdout.jsonl"):
        path = ROOT / "evals" / name
        cases = load_claims(path)
        assert is_claims_file(path) and len(cases) >= 30
        assert {c.verdict for c in cases} == {"supported", "contradicted", "not_found"}
    assert not is_claims_file(ROOT / "evals" / "golden.jsonl")


def test_rag_eval_on_claims_prints_the_scores(seed_index):
    out = subprocess.run(
        [sys.executable, "-m", "rag.faces.cli", "eval", "evals/claims.jsonl", "--index", str(seed_index), "--backend", "fake", "--limit", "6", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    assert data["overall"]["cases"] == 6 and 0.0 <= data["overall"]["accuracy"] <= 1.0
    assert [p["threshold"] for p in data["overall"]["support_curve"]][:2] == [0.3, 0.4]
    for case in data["cases"]:
        assert case["verdict"] in ("supported", "contradicted", "not_found")
        for c in case["evidence"]:
            text = (ROOT / "seeds" / c["source"]).read_text(encoding="utf-8")
            assert text[c["start"] : c["end"]] == c["quote"]


def test_the_question_sets_over_the_seeds_load_and_their_answers_are_in_their_sources():
    from rag.eval.golden import load_golden

    for name in ("golden.jsonl", "holdout.jsonl", "holdout_fresh.jsonl"):
        cases = load_golden(ROOT / "evals" / name)
        assert len({c.id for c in cases}) == len(cases) and any(not c.answerable for c in cases)
        for case in cases:
            if not case.answerable or case.category in ("article_list", "article_summary", "timeline"):
                continue
            texts = " ".join(" ".join((ROOT / "seeds" / s).read_text(encoding="utf-8").split()) for s in case.sources).lower()
            for group in case.must_include:
                assert any(option.lower() in texts for option in group), f"{name}:{case.id}: none of {group} is in {case.sources}"
