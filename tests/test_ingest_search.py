"""Ingestion with the real embedder: manifest, incremental updates, atomic versions, search JSON."""

import json
import subprocess
import sys

import pytest

from rag import IndexMismatchError, IndexNotFoundError, Settings
from rag.index.store import expected_manifest
from rag.ingest.run import ingest
from rag.index.store import current_version, load_index, read_manifest

from .conftest import ROOT


def test_manifest_records_model_chunking_and_hashes(seed_index, embedder):
    manifest = read_manifest(seed_index)
    assert manifest["format_version"] == 3
    assert manifest["embedding_model"] == embedder.name and manifest["embedding_dim"] == 384
    assert manifest["chunking"]["chunk_tokens"] == Settings().chunk_tokens
    assert set(manifest["files"]) == {p.name for p in (ROOT / "seeds").iterdir()}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    assert manifest["files"]["000_93be851f2084c326.txt"]["published"] == "2025-09-03"


def test_reingest_embeds_only_changed_files_and_drops_deleted(tmp_path, corpus, embedder):
    settings = Settings(index_dir=tmp_path / "idx")
    first = ingest([corpus], settings, embedder)
    assert len(first.added) == 4 and first.embedded == first.chunks
    again = ingest([corpus], settings, embedder)
    assert again.embedded == 0 and len(again.unchanged) == 4
    version = current_version(settings.index_dir)

    changed = corpus / "003_688ff7a65efc7fda.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA new closing sentence was added today.", encoding="utf-8")
    (corpus / "002_ed8ed3a4a9ec07fd.txt").unlink()
    third = ingest([corpus], settings, embedder)
    assert third.updated == ("003_688ff7a65efc7fda.txt",)
    assert third.removed == ("002_ed8ed3a4a9ec07fd.txt",)
    index = load_index(settings.index_dir, expected_manifest(settings, embedder))
    per_file = {c.source for c in index.chunks}
    assert third.embedded == sum(c.source == "003_688ff7a65efc7fda.txt" for c in index.chunks)
    assert "002_ed8ed3a4a9ec07fd.txt" not in per_file
    assert current_version(settings.index_dir) != version
    assert len(list((settings.index_dir / "versions").iterdir())) == 1


def test_index_built_with_other_model_or_format_is_refused(tmp_path, corpus, embedder):
    from rag.index.embed import FakeEmbedder

    settings = Settings(index_dir=tmp_path / "idx")
    ingest([corpus], settings, embedder)
    with pytest.raises(IndexMismatchError, match="rag ingest --rebuild"):
        load_index(settings.index_dir, expected_manifest(settings, FakeEmbedder()))
    manifest_path = current_version(settings.index_dir) / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["format_version"] = 99
    manifest_path.write_text(json.dumps(data))
    with pytest.raises(IndexMismatchError, match="format 99"):
        load_index(settings.index_dir, expected_manifest(settings, embedder))


def test_missing_index_names_the_command(tmp_path, embedder):
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        load_index(tmp_path / "none", {})


def test_hybrid_search_finds_the_trade_figure(make_assistant):
    assistant, _ = make_assistant()
    hits = assistant.search("China Russia bilateral trade 2024", k=4)
    assert hits and any("244.8" in h.text for h in hits[:2])
    for h in hits:
        assert h.text == assistant.index.documents[h.source].text[h.start : h.end]


def test_search_cli_json_text_equals_original_file_slice(seed_index):
    out = subprocess.run(
        [sys.executable, "-m", "rag.faces.cli", "search", "Where did Xi open the SCO summit?", "-k", "3", "--json", "--index", str(seed_index)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    data = json.loads(out.stdout)
    assert data["query"] == "Where did Xi open the SCO summit?" and len(data["hits"]) == 3
    for hit in data["hits"]:
        assert set(hit) == {"source", "start", "end", "text", "score", "published", "published_inferred", "title", "url", "author", "site"}
        original = (ROOT / "seeds" / hit["source"]).read_text(encoding="utf-8")
        assert hit["text"] == original[hit["start"] : hit["end"]]
    assert any("Tianjin" in h["text"] for h in data["hits"])
