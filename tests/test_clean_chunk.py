"""Cleaning keeps a way back to the original file; chunking respects the embedder's size."""

from rag.ingest.chunk import chunk_article, estimate_tokens
from rag.ingest.clean import clean
from rag.text.sentences import split_sentences

from .conftest import SEEDS


def _seed(name_prefix: str) -> str:
    path = next(SEEDS.glob(f"{name_prefix}*"))
    return path.read_text(encoding="utf-8")


def test_date_prefix_becomes_published_and_is_not_text():
    article = clean(_seed("000"))
    assert article.published == "2025-09-03"
    assert not article.sentences[0].text.startswith("date")
    assert clean(_seed("001")).published is None


def test_every_sentence_maps_back_to_the_original_characters():
    for path in sorted(SEEDS.iterdir()):
        raw = path.read_text(encoding="utf-8")
        for s in clean(raw).sentences:
            original = " ".join(raw[s.start : s.end].replace("*", "").split())
            # cleaning only joins wraps and undoes hyphenation: the words are the same
            assert original.replace("- ", "-") == s.text.replace("- ", "-"), (path.name, s)


def test_hard_wraps_and_hyphenation_are_undone():
    text = " ".join(s.text for s in clean(_seed("001")).sentences)
    assert "good-neighborly" in text
    assert "good- neighborly" not in text
    assert "\n" not in text


def test_sentence_split_by_blank_line_is_rejoined():
    sentences = [s.text for s in clean(_seed("000")).sentences]
    assert any("North Korea in opposition to American influence." in s for s in sentences)


def test_repeated_title_and_paragraphs_are_kept_once():
    article = clean(_seed("002"))
    texts = [s.text for s in article.sentences]
    assert texts.count("Putin and Xi Forge Alliances Amid Global Uncertainties") == 1
    assert sum("military parade in Red Square" in t for t in texts) == 1
    assert article.dropped >= 5
    assert article.title == "Putin and Xi Forge Alliances Amid Global Uncertainties"


def test_html_tags_are_stripped_and_offsets_point_into_the_html():
    raw = "<html><head><title>x</title><script>alert(1)</script></head><body><p>Trade rose to 5 billion &amp; more.</p><p>Second one here.</p></body></html>"
    article = clean(raw, is_html=True)
    assert [s.text for s in article.sentences] == ["Trade rose to 5 billion & more.", "Second one here."]
    first = article.sentences[0]
    assert raw[first.start : first.end] == "Trade rose to 5 billion &amp; more."


def test_abbreviations_do_not_end_sentences():
    text = "Trump met Putin on Aug. 15 in the U.S. state of Alaska. Then he left."
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Trump met Putin on Aug. 15 in the U.S. state of Alaska.", "Then he left."]


def test_chunks_fit_the_embedder_and_overlap():
    article = clean(_seed("001"))
    chunks = chunk_article(article, "001.txt", max_tokens=120, overlap=1)
    assert len(chunks) > 2
    assert all(estimate_tokens(c.text) <= 120 or len(c.sentences) == 1 for c in chunks)
    assert chunks[0].sentences[-1] == chunks[1].sentences[0]
    raw = _seed("001")
    assert all(c.start == c.sentences[0].start and c.end == c.sentences[-1].end <= len(raw) for c in chunks)


def test_chunks_never_span_a_dropped_repeat():
    raw = _seed("002")
    article = clean(raw)
    for c in chunk_article(article, "002.txt", max_tokens=250, overlap=1):
        span = raw[c.start : c.end]
        assert span.count("Putin and Xi Forge Alliances") <= 1
        assert span.count("military parade in Red Square") <= 1


def test_text_without_sentence_ends_still_makes_embedder_sized_chunks():
    raw = "Market prices today " + ", ".join(f"item {i} costs {i * 3} yuan" for i in range(400)) + "\n"
    article = clean(raw)
    chunks = chunk_article(article, "prices.txt", max_tokens=160, overlap=1)
    assert len(chunks) > 5
    assert max(estimate_tokens(c.text) for c in chunks) <= 200  # the embedder reads 256 tokens
    for s in article.sentences:  # every piece is still an exact span of the file
        assert " ".join(raw[s.start : s.end].split()) == " ".join(s.text.split())
    covered = "".join(raw[s.start : s.end] for s in article.sentences)
    assert covered.replace(" ", "") == raw.strip().replace(" ", "")  # nothing lost between pieces
