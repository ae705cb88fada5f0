"""What the chat UI shows, as plain strings: escaping, answer text, cited passages, errors.

Nothing here imports Chainlit, so every function is testable on its own; ``app.py`` only
wires these strings into messages and side elements. Chainlit renders message and element
text as Markdown, so all text that comes from articles or from the model passes through
``escape_markdown`` (HTML and Markdown both shown as literal text). The one exception is
the ``[n]`` citation markers of a verified answer: they stay bare because Chainlit turns any
text equal to an element's name into a link to that element.
The per-process cache of assistants is ``engines.py``.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from ..errors import IndexMismatchError, IndexNotFoundError, LLMError, LLMTimeoutError, QuestionError, RagError
from ..settings import setting_problem
from ..text.dates import date_label
from ..text.words import strip_markers
from ..types import Answer, Citation, ClaimCheck, Hit, IngestReport

MARKER = re.compile(r"\[\d+\]")
# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all
# that Markdown, GFM (tables, strikethrough, autolinks) or KaTeX could act on is simplest.
_ACTIVE = set("\\`*_{}[]()#+-.!|~:$")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
CONTEXT_CHARS = 500  # at most this much article text shown on each side of a quote


def escape_markdown(text: str) -> str:
    """Text that Chainlit's Markdown renderer shows literally: no HTML, links, emphasis or lists."""
    out = []
    for ch in text:
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _ACTIVE:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def escape_keeping_markers(text: str) -> str:
    """Escape ``text`` but leave ``[n]`` markers bare so they link to their elements."""
    pieces = MARKER.split(text)
    markers = MARKER.findall(text)
    out = [escape_markdown(pieces[0])]
    for marker, piece in zip(markers, pieces[1:]):
        out.append(marker + escape_markdown(piece))
    return "".join(out)


# -- names of side elements ---------------------------------------------------------------
def citation_element_name(citation: Citation) -> str:
    """The element for citation n is named exactly like its marker, so ``[n]`` links to it."""
    return f"[{citation.n}]"


def passage_element_name(i: int) -> str:
    return f"Passage {i}"


def source_label(source: str, published: str | None, inferred: bool = False) -> str:
    return f"{source} ({date_label(published, inferred)})" if published else source


# -- a quote inside its paragraph ---------------------------------------------------------
def paragraph_bounds(text: str, start: int, end: int, limit: int = CONTEXT_CHARS) -> tuple[int, int]:
    """The paragraph(s) around ``text[start:end]`` (blank lines separate paragraphs), cut to at
    most ``limit`` characters on each side at a line or sentence boundary."""
    breaks = [m for m in re.finditer(r"\n[ \t]*\n", text)]
    lo = max((m.end() for m in breaks if m.end() <= start), default=0)
    hi = min((m.start() for m in breaks if m.start() >= end), default=len(text))
    if start - lo > limit:
        cut = text.rfind("\n", start - limit, start)
        if cut == -1:
            found = [m.end() for m in re.finditer(r"[.!?][\"'”’)]*\s+", text[start - limit : start])]
            cut = start - limit + found[0] if found else start - limit
        lo = cut
    if hi - end > limit:
        cut = text.find("\n", end, end + limit)
        if cut == -1:
            found = [m.start() + 1 for m in re.finditer(r"[.!?]\s", text[end : end + limit])]
            cut = end + found[-1] if found else end + limit
        hi = cut
    return lo, hi


def _bold(fragment: str) -> str:
    """Bold each line of an (escaped) fragment; emphasis cannot span paragraph breaks."""
    lines = []
    for line in fragment.split("\n"):
        core = line.strip()
        lines.append(line.replace(core, f"**{escape_markdown(core)}**", 1) if core else line)
    return "\n".join(lines)


def _plain(fragment: str) -> str:
    return "\n".join(escape_markdown(line) for line in fragment.split("\n"))


def highlight(text: str, start: int, end: int, limit: int = CONTEXT_CHARS) -> str:
    """Markdown of the paragraph around ``text[start:end]`` with that span in bold, all escaped."""
    lo, hi = paragraph_bounds(text, start, end, limit)
    before, quote, after = text[lo:start], text[start:end], text[end:hi]
    # Markdown only closes ``**`` next to punctuation when a space or punctuation follows it.
    if before and quote and before[-1].isalnum() and not quote[0].isalnum():
        before += " "
    if after and quote and after[0].isalnum() and not quote[-1].isalnum():
        after = " " + after
    body = _plain(before) + _bold(quote) + _plain(after)
    # Leading spaces would turn lines into code blocks; hard-wrapped lines read fine joined.
    body = "\n".join(line.lstrip() for line in body.split("\n")).strip()
    prefix = "… " if lo > 0 else ""
    suffix = " …" if hi < len(text) else ""
    return prefix + body + suffix


def link_markdown(url: str | None) -> str:
    """A web address as a Markdown link, only for http(s) addresses (never ``javascript:``);
    the text shown is escaped, the target percent-encodes what could end the link."""
    if not url or not re.match(r"https?://[^\s]+$", url, re.IGNORECASE):
        return ""
    target = url.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    return f"[{escape_markdown(url)}]({target})"


def citation_markdown(citation: Citation, article: str | None, title: str | None = None) -> str:
    """Side-element text for one citation: source, title, site, author, date and link, then the
    quote in its paragraph."""
    head = f"**{escape_markdown(citation_element_name(citation))} {escape_markdown(citation.source)}**"
    meta = [f"published {escape_markdown(date_label(citation.published, citation.published_inferred))}" if citation.published else "publication date unknown"]
    title = title or citation.title
    if title:
        meta.insert(0, f"*{escape_markdown(title)}*")
    for part in (citation.site, citation.author):
        if part:
            meta.insert(len(meta) - 1, escape_markdown(part))
    if link := link_markdown(citation.url):
        meta.append(link)
    if article is None or article[citation.start : citation.end] != citation.quote:
        body = _bold(citation.quote)  # the index changed under us: show the quote alone
    else:
        body = highlight(article, citation.start, citation.end)
    return f"{head}\n\n{' · '.join(meta)}\n\n{body}"


def passage_markdown(i: int, hit: Hit, article: str | None) -> str:
    head = f"**{escape_markdown(passage_element_name(i))}: {escape_markdown(hit.source)}**"
    meta = f"published {escape_markdown(date_label(hit.published, hit.published_inferred))}" if hit.published else "publication date unknown"
    if article is None or article[hit.start : hit.end] != hit.text:
        body = _plain(hit.text)
    else:
        body = highlight(article, hit.start, hit.end)
    return f"{head}\n\n{meta} · similarity {hit.score:.2f}\n\n{body}"


# -- the message text -----------------------------------------------------------------------
def removed_markdown(answer: Answer) -> str:
    """The model's sentences that failed the support check, visibly struck out."""
    removed = [s for s in answer.sentences if not s.supported]
    if not removed:
        return ""
    lines = ["**⚠ Removed: not supported by the cited articles (unverified, do not rely on it):**"]
    lines += [f"- ~~{escape_markdown(strip_markers(s.text))}~~" for s in removed]
    return "\n".join(lines)


def answer_markdown(answer: Answer, show_sources: bool = True) -> str:
    """Final message text: verified answer with linkable markers, sources, removed sentences."""
    parts: list[str] = []
    if answer.refused:
        parts.append("**No supported answer.** " + escape_markdown(answer.answer))
        if show_sources and answer.closest:
            listed = ", ".join(
                f"{passage_element_name(i)} ({escape_markdown(source_label(h.source, h.published, h.published_inferred))})"
                for i, h in enumerate(answer.closest, start=1)
            )
            parts.append(f"Closest passages: {listed}")
    else:
        parts.append(escape_keeping_markers(answer.answer) if show_sources else escape_markdown(strip_markers(answer.answer)))
        if show_sources and answer.citations:
            listed = "\n".join(f"- {citation_element_name(c)} {_cited(c)}" for c in answer.citations)
            parts.append(f"**Sources** (click a number to read the quote in its article):\n{listed}")
    removed = removed_markdown(answer)
    if removed:
        parts.append(removed)
    if answer.filter:
        parts.append(filter_markdown(answer.filter))
    return "\n\n".join(parts)


CHECK_PREFIX = re.compile(r"^\s*(?:check|fact[- ]?check)\s*:\s*", re.IGNORECASE)
VERDICT_WORDS = {
    "supported": "**Supported.** The articles state it.",
    "contradicted": "**Contradicted.** The articles say otherwise.",
    "not_found": "**Not found.** No passage in the articles states or contradicts it.",
}


def claim_to_check(message: str) -> str | None:
    """``"Check: Xi visited Moscow"`` -> ``"Xi visited Moscow"``; None for an ordinary question."""
    m = CHECK_PREFIX.match(message)
    return message[m.end() :].strip() or None if m else None


def check_markdown(check: ClaimCheck) -> str:
    """A fact-check verdict for the chat: the verdict in words, then each quote it rests on."""
    parts = [VERDICT_WORDS.get(check.verdict, escape_markdown(check.verdict)) + f" *Claim:* {escape_markdown(check.claim)}"]
    for c in check.evidence:
        parts.append(f"- {citation_element_name(c)} {_cited(c)}: “{escape_markdown(' '.join(c.quote.split()))}”")
    return "\n\n".join(parts)


def filter_markdown(summary: dict) -> str:
    """``{"since": "2026-03-14", "articles": 2, ...}`` -> ``*Filter: since 2026-03-14 (2 articles).*``"""
    said = ", ".join(f"{k} {escape_markdown(str(summary[k]))}" for k in ("since", "until", "source") if summary.get(k))
    n = summary.get("articles", 0)
    return f"*Filter: {said} ({n} article{'' if n == 1 else 's'}).*"


def _cited(c: Citation) -> str:
    """One line for a cited article: its title (else the file), site, date, and its link."""
    label = escape_markdown(source_label(c.title or c.source, c.published, c.published_inferred))
    site = f" — {escape_markdown(c.site)}" if c.site else ""
    link = link_markdown(c.url)
    return label + site + (f" · {link}" if link else "")


def _code(name: str) -> str:
    """A name as a code span: shown literally (Markdown escapes would show their backslashes)."""
    return "`" + name.replace("`", "'").replace("\n", " ") + "`"


def attachments_markdown(report: IngestReport | None, refused: dict[str, str]) -> str:
    """What became of files attached in the chat: articles added or updated, and every file,
    line or entry left out with why."""
    lines: list[str] = []
    if report is not None:
        for verb, names in (("Added", report.added), ("Updated", report.updated), ("Already indexed", report.unchanged)):
            if names:
                lines.append(f"**{verb}:** " + ", ".join(_code(n) for n in names))
    skipped = {**refused, **(report.skipped if report is not None else {})}
    if skipped:
        lines.append("**Skipped:**")
        lines += [f"- {_code(name)}: {escape_markdown(reason)}" for name, reason in sorted(skipped.items())]
    for name, reason in sorted((report.notes if report is not None else {}).items()):
        lines.append(f"- note {_code(name)}: {escape_markdown(reason)}")
    if report is not None and (report.added or report.updated):
        lines.append("\nAsk about them now; answers cite them with their title, link and date.")
    return "\n".join(lines) or "Nothing was added."


def error_message(exc: Exception, index_dir: object = "index") -> str:
    """One line for the chat instead of a traceback."""
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    match exc:
        case IndexNotFoundError():
            return f"⚠ No index yet in `{index_dir}`. Build it with `rag ingest` (for example `rag ingest seeds --index {index_dir}`), then reload this page."
        case IndexMismatchError():
            return f"⚠ The index cannot be used: {escape_markdown(detail)}"
        case QuestionError():
            return f"⚠ {escape_markdown(detail[:1].upper() + detail[1:])}."
        case LLMTimeoutError():
            return f"⚠ The language model timed out: {escape_markdown(detail)}. Try again, or pick another LLM backend in the chat settings."
        case LLMError():
            return f"⚠ The language model backend is unavailable: {escape_markdown(detail)}. Pick another LLM backend in the chat settings."
        case RagError():
            return f"⚠ {escape_markdown(detail)}"
        case ValidationError():  # a RAG_* environment variable or .env line the settings cannot read
            return f"⚠ The server's {escape_markdown(setting_problem(exc))}. Fix it and restart the chat."
    return f"⚠ Something went wrong ({type(exc).__name__}); the details are in the server log."
