"""Prompt templates, read from the ``prompts/`` folder (shipped inside the package too).

Templates use ``$name`` placeholders; a missing variable is an error, never an empty string.
"""

from __future__ import annotations

import string
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .errors import PromptError


def _prompt_dirs() -> list[Path]:
    packaged = Path(str(resources.files("rag"))) / "prompts"
    repo = Path(__file__).resolve().parent.parent / "prompts"
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
