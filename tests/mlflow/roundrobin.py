"""A round-robin HTTP load balancer on loopback, for the replica runs of the suite.

Each request goes to the next upstream in turn, so consecutive calls of one test (create a
run, log to it, read it back) land on different server processes: whatever one replica
kept in memory instead of the database shows up as a failure. Bodies are buffered whole
(the suite's uploads are small); the answer goes back with its own status, headers and
bytes (chunked answers are re-sent with a Content-Length).
"""

from __future__ import annotations

import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own, never forwarded.
HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


class RoundRobin:
    """Listens on 127.0.0.1:<free port>; `url` is its base URL, `counts` requests per upstream."""

    def __init__(self, upstreams: list[str]):
        self.upstreams = [urlsplit(u) for u in upstreams]
        self.counts = [0] * len(upstreams)
        self._next = itertools.cycle(range(len(upstreams)))
        self._lock = threading.Lock()
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: pytest shows failures, not traffic
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = self._read_chunked()
                with balancer._lock:
                    index = next(balancer._next)
                    balancer.counts[index] += 1
                up = balancer.upstreams[index]
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP and k.lower() not in ("host", "content-length")}
                headers["Host"] = up.netloc
                headers["X-Forwarded-For"] = self.client_address[0]
                if body is not None:
                    headers["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
                try:
                    try:
                        conn.request(self.command, self.path, body=body, headers=headers)
                    except (BrokenPipeError, ConnectionResetError):
                        # The server answered early (e.g. 413 for an oversized body) and closed
                        # its end before reading all of it: relay that answer, as balancers do.
                        pass
                    resp = conn.getresponse()
                    data = resp.read()
                except OSError as err:
                    self.send_error(502, f"upstream {up.netloc}: {err}")
                    return
                finally:
                    conn.close()
                self.send_response_only(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                else:
                    length = resp.getheader("Content-Length")
                    if length is not None:
                        self.send_header("Content-Length", length)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _read_chunked(self) -> bytes:
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
