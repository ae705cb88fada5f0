"""Prompt templates and the one passage formatter: every prompt that shows article text to the
model builds it here, inside a fence the article cannot close.

Templates are ``$name`` files in ``prompts/`` (shipped inside the package; the repository's
``prompts/`` folder is the fallback); a missing variable is an error, never an empty string.

    passages = format_passages(chunks, published=["2025-09-02", ...])
    messages = chat_messages("answer", passages=passages, question=question)

Article text is data, not instructions: ``fence`` turns the article's own ``<<<`` / ``>>>`` into
``«`` / ``»``, so it cannot close its passage or open a fake one. This module does not choose
passages (``engine.py``, ``compact.py``, ``articles.py`` do) and does not call the model.
"""

from __future__ import annotations

import string
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

from ..errors import PromptError
from ..types import Chunk

Messages = list[dict[str, str]]


def _prompt_dirs() -> list[Path]:
    packaged = Path(str(resources.files("rag"))) / "prompts"
    repo = Path(__file__).resolve().parents[2] / "prompts"
    return [packaged, repo]


@lru_cache(maxsize=32)
def load_template(name: str) -> string.Template:
    for folder in _prompt_dirs():
        path = folder / f"{name}.txt"
        if path.is_file():
            return string.Template(path.read_text(encoding="utf-8"))
    raise PromptError(f"prompt template {name!r} not found in {', '.join(map(str, _prompt_dirs()))}")


def render(name: str, **variables: object) -> str:
    template = load_template(name)
    try:
        return template.substitute(variables)
    except KeyError as exc:
        raise PromptError(f"prompt {name!r} needs variable {exc.args[0]!r}") from exc
    except ValueError as exc:
        raise PromptError(f"prompt {name!r} is malformed: {exc}") from exc


def fence(text: str) -> str:
    """Article text made safe to put between the ``<<<`` / ``>>>`` fence of ``passage.txt``:
    ``"a >>> b"`` -> ``"a  » b"``, ``"<<<x"`` -> ``"« x"``."""
    return text.replace("<<<", "« ").replace(">>>", " »")


def format_passages(chunks: Sequence[Chunk], published: Sequence[str]) -> str:
    """Passages ``[1]..[n]`` for a prompt, each fenced; ``published[i]`` is the date header of
    ``chunks[i]`` (as ``dates.date_label`` writes it, several joined by ", ")."""
    return "\n\n".join(
        render("passage", n=i, published=when, text=fence(c.text)).strip()
        for i, (c, when) in enumerate(zip(chunks, published, strict=True), start=1)
    )


def chat_messages(template: str, **variables: object) -> Messages:
    """The system prompt, then ``template`` rendered with ``variables`` as the user turn."""
    return [
        {"role": "system", "content": render("system").strip()},
        {"role": "user", "content": render(template, **variables).strip()},
    ]


def user_message(template: str, **variables: object) -> Messages:
    """``template`` alone as one user turn (condense, eval judge: no article text, no system)."""
    return [{"role": "user", "content": render(template, **variables)}]
