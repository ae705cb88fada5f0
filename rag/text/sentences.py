"""Sentence boundaries in plain text, as character spans.

    split_sentences("Mr. Xi arrived. He spoke.")  ->  [(0, 15), (16, 25)]

A sentence ends at . ! ? before a capital or digit, except after an abbreviation ("Mr.",
"Sept.", "U.S.") or an initial. ``cap_length`` cuts run-on spans that no embedder reads whole.
Used by cleaning (article text), the verifier (model answers) and the eval (reference answers).
It does not clean text or keep offsets into files; ``ingest/clean.py`` does that.
"""

from __future__ import annotations

import re

from .words import MONTH_ABBREVIATIONS

ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "gen", "gov", "sen", "rep", "jr", "sr", "prof", "lt", "col",
    "capt", "sgt", "no", "vs", "etc", "inc", "corp", "ltd", "co", *MONTH_ABBREVIATIONS, "u.s", "u.k", "u.n", "e.g", "i.e",
    "a.m", "p.m", "approx", "est", "dept", "fig", "v",
}
SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of sentences in ``text``: ends at . ! ? before a capital, except after abbreviations."""
    spans = []
    start = 0
    for m in SENTENCE_END.finditer(text):
        word = re.search(r"([A-Za-z.]+)\.?[\"'”’)\]]*$", text[start : m.end()])
        token = word.group(1).lower().rstrip(".") if word else ""
        if text[m.start()] == "." and (token in ABBREVIATIONS or (len(token) == 1 and token.isalpha())):
            continue
        spans.append((start, m.end()))
        start = m.end()
        while start < len(text) and text[start].isspace():
            start += 1
    if start < len(text):
        spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


MAX_SENTENCE_CHARS = 600  # ~120 words: a "sentence" longer than a chunk is cut into pieces


def cap_length(text: str, spans: list[tuple[int, int]], limit: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """Cut spans longer than ``limit`` characters, after a ";" or "," or else at a space in
    their second half, so text without sentence ends (lists, tables, run-on dumps) still makes
    chunks the 256-token embedder reads whole instead of one giant chunk."""
    out = []
    for s, e in spans:
        while e - s > limit:
            window = text[s + limit // 2 : s + limit]
            cut = max(window.rfind("; "), window.rfind(", "))
            cut = cut + 1 if cut >= 0 else window.rfind(" ")
            cut = s + limit // 2 + cut if cut > 0 else s + limit  # no space at all: a hard cut
            out.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if s < e:
            out.append((s, e))
    return out


def lead(article: str, title: str | None = None, sentences: int = 2, window: int = 1200) -> str:
    """The first ``sentences`` sentences of an article's body, its lead, whitespace folded: in
    news they say who and where the report is about. Text up to the title's last appearance in
    the opening ``window`` characters is skipped (a page that prints its headline, or prints it
    twice, under a standfirst). A title cut short ("…", made from the first sentence) is not
    skipped: it is the lead's own start.

    >>> lead("Harbour pact signed. Harbour pact signed. In Lisbon, Okafor and Reyes met. They signed. It rains.", "Harbour pact signed.")
    'In Lisbon, Okafor and Reyes met. They signed.'
    """
    opening = " ".join(article[:window].split())
    heading = " ".join((title or "").split())
    if len(heading) >= 12 and not heading.endswith(("…", "...")) and (at := opening.rfind(heading)) >= 0:
        opening = opening[at + len(heading) :].lstrip(" *#:-—.")
    spans = split_sentences(opening)[:sentences]
    return opening[spans[0][0] : spans[-1][1]] if spans else ""
