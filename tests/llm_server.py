"""A real OpenAI-compatible chat server on 127.0.0.1 that misbehaves on purpose, for tests.

The behaviour is chosen by the first path segment of the base URL, so one server serves all
cases: ``http://127.0.0.1:PORT/<mode>/v1``. Modes:

    ok            a streamed reply (SSE) ending with finish_reason "stop" and [DONE]
    slow          waits ``slow_s`` seconds before answering
    429-then-ok   HTTP 429 for the first ``fail_first`` requests, then ``ok``
    429           always HTTP 429
    500           always HTTP 500
    401-echo      HTTP 401 whose body repeats the API key it was sent (as some servers do)
    bad-sse       HTTP 200 event stream whose data lines are not JSON
    bad-json      HTTP 200 application/json body that is not JSON
    cut           two chunks of a streamed reply, then the connection closes (no finish, no [DONE])
    keep-alive    one chunk, then only SSE ``: keep-alive`` comments every ``comment_s`` seconds,
                  until the client hangs up or the server stops (never a finish)
    keep-alive-0  the same without the chunk: comments only

``requests`` records (mode, monotonic time, Authorization header) for every request;
``hangups`` records (mode, monotonic time) for every response the client closed before its end.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = "China-Russia trade reached 244.8 billion U.S. dollars in 2024 [1]."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {"role": "assistant", "content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class MisbehavingServer:
    def __init__(self, *, slow_s: float = 10.0, fail_first: int = 2, reply: str = REPLY, comment_s: float = 0.2) -> None:
        self.slow_s = slow_s
        self.fail_first = fail_first
        self.reply = reply
        self.comment_s = comment_s
        self.requests: list[tuple[str, float, str]] = []
        self.hangups: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the connection closing ends a response

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                mode = self.path.strip("/").split("/")[0]
                with owner._lock:
                    owner.requests.append((mode, time.monotonic(), self.headers.get("Authorization", "")))
                    count = sum(1 for m, _, _ in owner.requests if m == mode)
                try:
                    owner._serve(self, mode, count)
                except (BrokenPipeError, ConnectionResetError):
                    with owner._lock:  # the client gave up (timeouts are what these tests are about)
                        owner.hangups.append((mode, time.monotonic()))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/v1"

    def count(self, mode: str) -> int:
        return sum(1 for m, _, _ in self.requests if m == mode)

    def __enter__(self) -> MisbehavingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- responses ------------------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json", headers: dict | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _error(self, h: BaseHTTPRequestHandler, status: int, message: str) -> None:
        self._send(h, status, json.dumps({"error": {"message": message, "type": "test", "code": status}}).encode())

    def _stream(self, h: BaseHTTPRequestHandler, cut: bool = False) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        words = self.reply.split(" ")
        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        for i, piece in enumerate(pieces):
            if cut and i == 2:
                h.wfile.flush()
                return  # the handler returns and the connection closes mid-answer
            h.wfile.write(_chunk(piece))
            h.wfile.flush()
        h.wfile.write(_chunk(None, "stop"))
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()

    def _keep_alive(self, h: BaseHTTPRequestHandler, chunks: int) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        for piece in self.reply.split(" ")[:chunks]:
            h.wfile.write(_chunk(piece + " "))
        h.wfile.flush()
        while not self._stop.wait(self.comment_s):  # ends when the test's server stops...
            h.wfile.write(b": keep-alive\n\n")  # ...or raises once the client has hung up
            h.wfile.flush()

    def _serve(self, h: BaseHTTPRequestHandler, mode: str, count: int) -> None:
        match mode:
            case "ok":
                self._stream(h)
            case "slow":
                self._stop.wait(self.slow_s)
                self._stream(h)
            case "429-then-ok" if count <= self.fail_first:
                self._error(h, 429, "Rate limit reached, slow down")
            case "429-then-ok":
                self._stream(h)
            case "429":
                self._error(h, 429, "Rate limit reached, slow down")
            case "500":
                self._error(h, 500, "The server had an error while processing your request")
            case "401-echo":
                key = h.headers.get("Authorization", "").removeprefix("Bearer ")
                self._error(h, 401, f"Incorrect API key provided: {key}. You can find your API key at https://example.test")
            case "bad-sse":
                self._send(h, 200, b"data: {this is not json\n\ndata: [DONE]\n\n", "text/event-stream")
            case "bad-json":
                self._send(h, 200, b"{oops, not json", "application/json")
            case "cut":
                self._stream(h, cut=True)
            case "keep-alive":
                self._keep_alive(h, chunks=1)
            case "keep-alive-0":
                self._keep_alive(h, chunks=0)
            case _:
                self._error(h, 404, f"unknown mode {mode}")
