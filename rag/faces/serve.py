"""``rag serve``: one process, one engine, the chat UI at /chat (``/`` redirects there), the API at
/v1 and its OpenAPI docs at /docs.

    serve(Settings(), host="127.0.0.1", port=8000, api_settings=ApiSettings())

What it does not do: answer anything itself (``api.py``) or render the chat (``app.py``, the
Chainlit app, mounted with ``chainlit.utils.mount_chainlit``).
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from rag import Assistant, RagError, Settings

from ..llm.factory import make_llm
from .api import ApiSettings, create_app
from .api_engine import StoppableLLM
from .engines import Engines

log = logging.getLogger("rag.serve")

UI_PATH = "/chat"
_served: dict[str, tuple[FastAPI, Settings]] = {}  # what this process serves, for the chat UI


def is_loopback(host: str) -> bool:
    """"127.0.0.1" -> True, "::1" -> True, "localhost" -> True, "0.0.0.0" -> False"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, api_settings: ApiSettings) -> None:
    """Refuse to listen beyond this machine when no API key protects the API."""
    if not api_settings.api_keys and not is_loopback(host):
        raise RagError(f"refusing to listen on {host} without API keys: anyone who can reach it could use the API; set RAG_API_KEYS=<key>[,<key>] or use --host 127.0.0.1")


def build_app(settings: Settings, api_settings: ApiSettings, ui_target: Path | None = Path("app.py")) -> FastAPI:
    """The API app with the Chainlit UI mounted at /chat when ``ui_target`` exists."""
    app = create_app(lambda: Assistant.from_settings(settings, llm=StoppableLLM(make_llm(settings))), api_settings)
    _served["app"] = (app, settings)  # before mounting: Chainlit imports app.py then
    if ui_target is None or not ui_target.is_file():
        log.warning("no chat UI: %s not found; serving the API only", ui_target)
        return app

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(UI_PATH)

    from chainlit.utils import mount_chainlit  # heavy; only when the UI is served

    mount_chainlit(app=app, target=str(ui_target), path=UI_PATH)
    return app


def served_assistant() -> Assistant | None:
    """The assistant the API of this process answers with (None before it has loaded, or when
    no server runs here), so the chat UI can share it instead of loading a second model."""
    if "app" not in _served:
        return None
    try:
        return _served["app"][0].state.engine.get()
    except (LookupError, RagError):
        return None


def served_engines() -> Engines | None:
    """The chat UI's assistants when this process is ``rag serve``: they answer with the API's
    engine (loaded once, when the server starts) and wait for it while it loads. None otherwise."""
    if "app" not in _served:
        return None
    app, settings = _served["app"]
    return Engines(settings, served=app.state.engine)


def serve(settings: Settings | None = None, host: str = "127.0.0.1", port: int = 8000, api_settings: ApiSettings | None = None) -> None:
    """Serve UI and API until interrupted. Raises RagError (one line) instead of exposing an
    unprotected API on a non-loopback address."""
    import uvicorn

    settings = settings or Settings()
    api_settings = api_settings or ApiSettings()
    check_exposure(host, api_settings)
    app = build_app(settings, api_settings)
    root = f"http://{host}:{port}"
    print(f"rag-news: chat at {root}{UI_PATH}, API at {root}/v1, docs at {root}/docs; the engine loads now (GET /readyz says when it is ready)", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=5, log_level="info")


__all__ = ["build_app", "check_exposure", "is_loopback", "serve", "served_assistant", "served_engines"]
