"""News formats through ingest, the index, search and answers: each page, feed entry and JSONL
line is its own document whose stored text is the extracted article; citations quote that text
and carry title, URL, author, site and date; date and source filters narrow what is retrieved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag import Assistant, Settings
from rag.errors import QuestionError
from rag.index.store import FORMAT_VERSION, load_index, expected_manifest
from rag.ingest.run import ingest
from rag.llm.fake import FakeLLM

NEWS = Path(__file__).resolve().parent / "fixtures" / "news"
PAGE, RSS, ATOM, JSONL = "valmora-strike.html", "northbridge-daily.rss", "lakeshore-science.atom", "newswire-export.jsonl"
RSS_STRIKE = "northbridge-daily.rss#nbd-2026-0314-valmora"
COMET = "lakeshore-science.atom#tag:lakeshoreherald.example,2026:science/comet-halvard-3"


@pytest.fixture(scope="module")
def news_index(tmp_path_factory, embedder) -> Path:
    corpus = tmp_path_factory.mktemp("news")
    for p in NEWS.iterdir():
        shutil.copy(p, corpus / p.name)
    index_dir = tmp_path_factory.mktemp("news-index")
    ingest([corpus], Settings(index_dir=index_dir), embedder)
    return index_dir


def _assistant(index_dir, embedder, replies=None) -> tuple[Assistant, FakeLLM]:
    llm = FakeLLM(replies)
    return Assistant.from_settings(Settings(index_dir=index_dir, llm_backend="fake"), embedder=embedder, llm=llm), llm


def _index(index_dir, embedder):
    settings = Settings(index_dir=index_dir)
    return load_index(index_dir, expected_manifest(settings, embedder))


def test_each_article_of_a_news_file_is_its_own_document_with_metadata(news_index, embedder):
    index = _index(news_index, embedder)
    assert index.manifest["format_version"] == FORMAT_VERSION == 3
    docs = index.documents
    assert {PAGE, RSS_STRIKE, COMET, f"{JSONL}:1", f"{JSONL}:2"} <= set(docs)
    assert sum(d.origin == RSS for d in docs.values()) == 3 and sum(d.origin == JSONL for d in docs.values()) == 3
    page = docs[PAGE]
    assert "Dockworkers at the Port of Valmora voted on Friday" in page.text
    assert "We use cookies" not in page.text and "Most read" not in page.text and "<p>" not in page.text
    assert (page.title, page.author, page.site, page.published) == (
        "Valmora dockworkers end 11-day strike after 6.5% pay deal", "Anika Sorensen", "The Coastal Courier", "2026-03-14")
    assert page.url == "https://www.coastalcourier.example/business/2026/03/14/valmora-dockworkers-end-strike"
    assert not page.published_inferred
    entry = docs[RSS_STRIKE]
    assert entry.site == "Northbridge Daily" and entry.url == "https://northbridgedaily.example/2026/03/14/valmora-strike-ends"
    assert entry.file == RSS and entry.published == "2026-03-14"
    export = docs[f"{JSONL}:1"]
    assert export.site == "Harbor Business Review" and export.author == "Dana Whitcombe" and export.published == "2026-03-15"
    chunk = next(c for c in index.chunks if c.source == f"{JSONL}:1")
    assert (chunk.title, chunk.url, chunk.site, chunk.file) == (export.title, export.url, export.site, JSONL)


def test_bad_lines_are_skipped_by_line_and_unchanged_files_keep_all_their_articles(tmp_path, embedder):
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name in (RSS, JSONL):
        shutil.copy(NEWS / name, corpus / name)
    settings = Settings(index_dir=tmp_path / "idx")
    first = ingest([corpus], settings, embedder)
    assert set(first.skipped) == {f"{JSONL}:3", f"{JSONL}:4"}
    assert "malformed JSON" in first.skipped[f"{JSONL}:3"] and "no article text" in first.skipped[f"{JSONL}:4"]
    assert len(first.added) == 6
    again = ingest([corpus], settings, embedder)
    assert again.embedded == 0 and set(again.unchanged) == {RSS, JSONL} and not again.removed

    # A feed that lost an entry and changed another: the lost one is removed, the other updated.
    feed = (corpus / RSS).read_text(encoding="utf-8")
    start = feed.index("<item>", feed.index("nbd-2026-0314-valmora"))
    end = feed.index("</item>", start) + len("</item>")
    dropped = feed[start:end]
    feed = feed.replace(dropped, "").replace("voted on Friday", "voted late on Friday")
    (corpus / RSS).write_text(feed, encoding="utf-8")
    third = ingest([corpus], settings, embedder)
    # The file changed, so its remaining entries are read again (replaced); the lost one is gone.
    assert set(third.updated) == {RSS_STRIKE, f"{RSS}#nbd-2026-0312-frost"} and not third.added
    assert third.removed == (f"{RSS}#https://northbridgedaily.example/2026/03/13/river-tram-approved",)
    index = _index(settings.index_dir, embedder)
    assert "voted late on Friday" in index.documents[RSS_STRIKE].text
    # Removing the export removes every one of its articles.
    (corpus / JSONL).unlink()
    fourth = ingest([corpus], settings, embedder)
    assert sorted(fourth.removed) == [f"{JSONL}:1", f"{JSONL}:2", f"{JSONL}:6"]


def test_an_old_format_index_asks_for_a_rebuild(tmp_path, embedder):
    from rag import IndexMismatchError

    settings = Settings(index_dir=tmp_path / "idx")
    corpus = tmp_path / "c"
    corpus.mkdir()
    shutil.copy(NEWS / JSONL, corpus / JSONL)
    ingest([corpus], settings, embedder)
    manifest_path = next((settings.index_dir / "versions").iterdir()) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 2
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="rag ingest --rebuild"):
        _index(settings.index_dir, embedder)


@pytest.mark.parametrize("question, source", [
    ("How much did the Valmora strike cost shippers?", f"{JSONL}:1"),
    ("What raise did the Valmora dockworkers accept?", RSS_STRIKE),
    ("When was comet Halvard 3 seen?", COMET),
    ("What did the union say about the Valmora strike agreement?", PAGE),
])
def test_citations_quote_the_stored_article_text_and_carry_metadata(news_index, embedder, question, source):
    assistant, _ = _assistant(news_index, embedder)
    hits = assistant.search(question, k=8)
    hit = next(h for h in hits if h.source == source)
    doc = assistant.index.documents[source]
    assert hit.text == doc.text[hit.start : hit.end]
    assert (hit.title, hit.url, hit.site) == (doc.title, doc.url, doc.site)
    # The fake model cites passage 1 with its first sentence; the verifier keeps it.
    chunk = next(c for c in assistant.index.chunks if c.id == hit.chunk_id)
    sentence = chunk.sentences[0].text
    assistant, _ = _assistant(news_index, embedder, replies=[f"{sentence} [1]"])
    answer = assistant.filtered(source=source).ask(question)
    assert answer.citations, answer
    for c in answer.citations:
        stored = assistant.index.documents[c.source]
        assert c.quote == stored.text[c.start : c.end]
        assert (c.title, c.url, c.author, c.site, c.published) == (stored.title, stored.url, stored.author, stored.site, stored.published)
    data = answer.to_dict()
    assert data["citations"][0]["url"] == assistant.index.documents[answer.citations[0].source].url
    assert data["filter"] == {"since": None, "until": None, "source": source, "articles": 1}


def test_date_filter_narrows_search_to_articles_published_then(news_index, embedder):
    assistant, _ = _assistant(news_index, embedder)
    question = "Valmora port strike"
    everything = {h.source for h in assistant.search(question, k=10)}
    assert {RSS_STRIKE, f"{JSONL}:1"} <= everything
    late = assistant.filtered(since="2026-03-15")
    sources = {h.source for h in late.search(question, k=10)}
    assert sources and all(late.index.documents[s].published >= "2026-03-15" for s in sources)
    assert f"{JSONL}:1" in sources and RSS_STRIKE not in sources
    march_14 = assistant.filtered(since="2026-03-14", until="2026-03-14")
    assert {h.source for h in march_14.search(question, k=10)} <= {PAGE, RSS_STRIKE}
    # The filter masks candidates before fusion: k results even when the unfiltered top k has none.
    assert len(march_14.search(question, k=3)) == 3


def test_source_filter_takes_a_file_a_site_or_a_feed_title(news_index, embedder):
    assistant, _ = _assistant(news_index, embedder)
    by_file = {h.source for h in assistant.filtered(source=RSS).search("port strike", k=10)}
    by_title = {h.source for h in assistant.filtered(source="northbridge daily").search("port strike", k=10)}
    assert by_file and by_file == by_title and all(s.startswith(f"{RSS}#") for s in by_file)
    site = {h.source for h in assistant.filtered(source="The Coastal Courier").search("port strike", k=10)}
    assert site == {PAGE}


def test_a_filter_that_leaves_nothing_refuses_and_says_so(news_index, embedder):
    assistant, llm = _assistant(news_index, embedder, replies=["The strike ended [1]."])
    answer = assistant.filtered(until="2020").ask("How did the Valmora strike end?")
    assert answer.refused and not answer.citations
    assert answer.filter == {"since": None, "until": "2020-12-31", "source": None, "articles": 0}
    assert not llm.prompts  # nothing to show the model
    assert "filter" not in assistant.ask("How did the Valmora strike end?").to_dict()  # no filter, no field


def test_unreadable_filter_dates_are_one_line_errors(news_index, embedder):
    assistant, _ = _assistant(news_index, embedder)
    with pytest.raises(QuestionError, match="YYYY-MM-DD"):
        assistant.filtered(since="last week")
    with pytest.raises(QuestionError, match="after"):
        assistant.filtered(since="2026-03-15", until="2026-03-01")
    assert assistant.filtered() is assistant


def test_the_same_wire_story_on_a_page_and_in_a_feed_is_merged_and_cites_both(news_index, embedder):
    replies = ["Dockworkers at the Port of Valmora voted on Friday to end an 11-day strike [1]."]
    assistant, llm = _assistant(news_index, embedder, replies)
    question = "How did the Valmora dockworkers strike end?"
    context = assistant.context(question)
    merged = [m for m in context.members.values() if {c.source for c in m} >= {PAGE, RSS_STRIKE}]
    assert merged  # one passage stands for the story in both places
    prompt = llm.prompts  # nothing asked yet
    assert not prompt
    answer = assistant.ask(question)
    cited = {c.source: c for c in answer.citations}
    assert {PAGE, RSS_STRIKE} <= set(cited) and answer.answer.count("[") >= 2
    assert (cited[PAGE].site, cited[RSS_STRIKE].site) == ("The Coastal Courier", "Northbridge Daily")
    for c in answer.citations:
        assert c.quote == assistant.index.documents[c.source].text[c.start : c.end]
    # The model was shown the story once, not once per copy.
    shown = llm.prompts[0][-1]["content"]
    assert shown.count("voted on Friday to end an 11-day strike") == 1


def test_cli_search_ask_and_sources_show_metadata_and_apply_filters(news_index, capsys):
    from rag.faces.cli import main

    assert main(["search", "Valmora port strike", "--index", str(news_index), "--since", "2026-03-15", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hits"] and all(h["published"] >= "2026-03-15" for h in data["hits"])
    assert data["filter"]["articles"] == 1  # only the export line of March 15
    assert main(["search", "Valmora port strike", "--index", str(news_index), "--source", "Northbridge Daily", "-k", "2"]) == 0
    captured = capsys.readouterr()
    assert "filter source Northbridge Daily: 3 of 9 articles" in captured.err  # 1 page, 3 + 2 entries, 3 lines
    assert "“Port of Valmora strike ends as dockworkers accept 6.5% raise” — Northbridge Daily" in captured.out
    assert "<https://northbridgedaily.example/2026/03/14/valmora-strike-ends>" in captured.out
    assert main(["sources", "--index", str(news_index)]) == 0
    out = capsys.readouterr().out
    assert "valmora-strike.html  2026-03-14" in out and "The Coastal Courier, Anika Sorensen <https://www.coastalcourier.example/" in out
    assert main(["ask", "How did the Valmora strike end?", "--index", str(news_index), "--backend", "fake", "--until", "2020"]) == 0
    assert "The articles don't say" in capsys.readouterr().out


def test_a_date_htmldate_found_in_the_page_text_is_marked_inferred(tmp_path, embedder):
    body = " ".join(f"Paragraph {n} of the council report says the harbour budget grew by {n} percent this year." for n in range(1, 9))
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "budget.html").write_text(
        "<html><head><title>Harbour budget grows</title></head><body><article><h1>Harbour budget grows</h1>"
        f"<p>Posted on 3 March 2026</p><p>{body}</p></article></body></html>",
        encoding="utf-8",
    )
    settings = Settings(index_dir=tmp_path / "idx")
    ingest([corpus], settings, embedder)
    doc = _index(settings.index_dir, embedder).documents["budget.html"]
    assert (doc.published, doc.published_inferred) == ("2026-03-03", True)
    assistant = Assistant.from_settings(Settings(index_dir=settings.index_dir, llm_backend="fake"), embedder=embedder, llm=FakeLLM())
    (hit,) = assistant.filtered(since="2026-03-03", until="2026-03-03").search("harbour budget", k=1)  # inferred dates count
    assert hit.source == "budget.html" and hit.published_inferred
