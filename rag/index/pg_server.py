"""Where the PostgreSQL store connects: ``settings.database_url``, or an embedded server.

The embedded server is the ``pgserver`` package's PostgreSQL 16 with pgvector 0.6, its data in
``<index_dir>/postgres``, listening on a Unix socket only (no TCP port at all). pgserver shares one
server between the processes that open the same folder (it keeps their pids in the folder) and
stops it when the last of them exits normally. A process killed with -9 never says it left, which
would keep the server running for ever after; the pids of dead processes are dropped here before
joining, so the next clean exit stops it.

Nothing here knows the schema (``pg.py``) or the pool; it answers "which URL".
"""

from __future__ import annotations

import json
import threading
import warnings
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ..errors import IndexNotFoundError, RagError
from ..settings import Settings

DATABASE = "rag"  # the embedded server's database for the corpus
_lock = threading.Lock()
_urls: dict[Path, str] = {}
_servers: dict[Path, object] = {}  # the pgserver handles this process holds


def embedded_dir(index_dir: Path) -> Path:
    return Path(index_dir).expanduser().resolve() / "postgres"


def describe(settings: Settings) -> str:
    """Where the store is, for messages; never the password: ``postgres at index/postgres``,
    ``postgresql://db.example:5432/news``."""
    if not settings.database_url:
        return f"the embedded PostgreSQL in {embedded_dir(settings.index_dir)}"
    parts = urlsplit(settings.database_url)
    host = parts.hostname or dict(parse_qsl(parts.query)).get("host") or "localhost"  # ?host=/socket/dir
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def database_url(settings: Settings, *, create: bool) -> str:
    """The URL to connect to. With no ``database_url``, start (or join) the embedded server;
    ``create=False`` (readers) raises IndexNotFoundError instead of creating an empty one."""
    if settings.database_url:
        return settings.database_url
    data = embedded_dir(settings.index_dir)
    if not create and not (data / "PG_VERSION").is_file():
        raise IndexNotFoundError(f"no index in {settings.index_dir}; build it with: RAG_STORE=postgres rag ingest --index {settings.index_dir}")
    with _lock:
        if data not in _urls:
            _servers[data], _urls[data] = _start(data)
        return _urls[data]


def release() -> None:
    """Leave the embedded servers this process joined; the last process to leave stops each.

    pgserver does this at interpreter exit, but a server killed by a signal never gets there
    (uvicorn re-raises SIGTERM after its graceful shutdown), so faces that own a process's
    lifetime call this when they shut down."""
    with _lock:
        for data, server in list(_servers.items()):
            try:
                server.cleanup()
            except Exception:  # noqa: BLE001 - best effort at shutdown; the next start forgets us
                pass
            _servers.pop(data)
            _urls.pop(data, None)


def _start(data: Path) -> tuple[object, str]:
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            import pgserver
            from pgserver.postgres_server import PostgresServer
    except ImportError as exc:
        raise RagError(f"the embedded PostgreSQL is not installed ({exc.name}); run: pip install -e .") from exc
    import psycopg

    try:
        data.parent.mkdir(parents=True, exist_ok=True)
        with PostgresServer._lock:  # the lock pgserver itself takes around its pid list
            _forget_dead_processes(data / ".handle_pids.json")
        server = pgserver.get_server(data, cleanup_mode="stop")
        base = server.get_uri("postgres")
        with psycopg.connect(base, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                try:
                    conn.execute(f"CREATE DATABASE {DATABASE}")
                except psycopg.errors.DuplicateDatabase:
                    pass  # another process created it meanwhile
        return server, server.get_uri(DATABASE)
    except Exception as exc:  # noqa: BLE001 - pgserver raises subprocess, assert and OS errors alike
        reason = " ".join(str(exc).split())[-200:] or type(exc).__name__
        raise RagError(f"the embedded PostgreSQL in {data} did not start ({reason}); its log is {data / 'log'}") from exc


def _forget_dead_processes(pids_file: Path) -> None:
    import psutil

    try:
        pids = json.loads(pids_file.read_text())
    except (OSError, ValueError):
        return
    alive = [p for p in pids if isinstance(p, int) and psutil.pid_exists(p)]
    if alive != pids:
        pids_file.write_text(json.dumps(alive))
