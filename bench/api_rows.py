"""The HTTP server's own overhead: requests/s and p50/p95 latency of POST /v1/search with 20
concurrent clients, and of chat completions with the fake LLM (answers queue one at a time, as
with the local model), against a real uvicorn on a loopback port.

    .venv/bin/python -m bench.api_rows [--embedder minilm|fake] [--requests 200]

Builds a temporary index of seeds/. Prints a JSON object; does not touch BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

from rag import Assistant, Settings
from rag.faces.api import ApiSettings, create_app

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
QUERIES = ["China Russia trade 2024", "SCO summit Tianjin", "Trump tariffs India", "Beijing military parade", "Power of Siberia 2 pipeline"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load(url: str, path: str, bodies: list[dict], clients: int, requests: int) -> dict:
    """``requests`` POSTs spread over ``clients`` threads; latency of each, throughput overall."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            for j in range(i, requests, clients):
                began = time.perf_counter()
                response = client.post(path, json=bodies[j % len(bodies)])
                response.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.perf_counter() - began
    return {
        "clients": clients,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * _percentile(latencies, 0.95), 1),
    }


def measure(embedder: str, requests: int) -> dict:
    try:  # the ingest entry point; its module moves during the subpackage restructure
        from rag.ingest.run import ingest
    except ImportError:
        from rag.ingest import ingest
    from rag.index.embed import make_embedder

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp), llm_backend="fake", embed_backend=embedder)
        ingest([SEEDS], settings, make_embedder(settings))
        api = ApiSettings(_env_file=None, queue_depth=100)
        app = create_app(lambda: Assistant.from_settings(settings), api)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        try:
            searches = [{"query": q, "k": 4} for q in QUERIES]
            chats = [{"model": "rag-news", "messages": [{"role": "user", "content": f"What about {q}?"}]} for q in QUERIES]
            load(url, "/v1/search", searches, 4, 20)  # warm-up
            return {
                "embedder": embedder,
                "search": load(url, "/v1/search", searches, 20, requests),
                "chat_fake_llm": load(url, "/v1/chat/completions", chats, 20, requests // 2),
            }
        finally:
            server.should_exit = True
            thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", choices=["minilm", "fake"], default="minilm")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(measure(args.embedder, args.requests), indent=2))


if __name__ == "__main__":
    main()
