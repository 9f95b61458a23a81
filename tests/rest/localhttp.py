"""A tiny real HTTP server in a thread, for tests that need a server to
misbehave on purpose (503 once, a slow answer, a cloudQuery endpoint) or a
proxy in front of the test Parse Server. No mocking library: real sockets."""
from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, List, Optional, Tuple
from urllib.parse import urlsplit

# answer(request) -> (status, headers, body bytes), None to forward to the upstream,
# or DROP to close the connection without answering (a lost answer)
Answer = Optional[Tuple[int, dict, bytes]]
DROP = (0, {}, b"")


class Request:
    def __init__(self, method: str, path: str, headers: dict, body: bytes):
        self.method, self.path, self.headers, self.body = method, path, headers, body

    def json(self):
        return json.loads(self.body or b"null")


class LocalServer:
    """``with LocalServer(answer, upstream="http://127.0.0.1:1337") as srv:``;
    ``srv.url`` is its root, ``srv.requests`` what it received."""

    def __init__(self, answer: Callable[[Request], Answer], upstream: Optional[str] = None):
        self.answer = answer
        self.upstream = urlsplit(upstream) if upstream else None
        self.requests: List[Request] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, dict(self.headers), body)
                owner.requests.append(req)
                out = owner.answer(req)
                if out is None:
                    out = owner._forward(req)
                if out is DROP:
                    self.close_connection = True  # no answer at all: the client sees the connection close
                    return
                status, headers, data = out
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def _forward(self, req: Request) -> Tuple[int, dict, bytes]:
        assert self.upstream is not None, "no upstream to forward to"
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        headers = {k: v for k, v in req.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(req.method, req.path, body=req.body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, {"Content-Type": resp.getheader("Content-Type", "application/json")}, data

    def __enter__(self) -> "LocalServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def json_answer(status: int, body) -> Tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()
