"""Loopback proxies: one cuts TCP connections at chosen byte counts, one forges answers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass
class Cut:
    """Cut one connection after ``after`` bytes flowing ``direction``.

    ``"up"`` is client → hub (the request is cut mid-way: the hub stores nothing);
    ``"down"`` is hub → client (the hub has committed, the answer is lost).
    """

    direction: str
    after: int
    once_up: int = 0  # count only bytes flowing after this many request bytes went up


@dataclass
class CuttingProxy:
    """Forward 127.0.0.1:port → upstream; the n-th connection obeys ``cuts[n]``."""

    upstream: int
    cuts: list[Cut]
    port: int = 0
    connections: int = 0
    done_cuts: int = 0
    _sock: socket.socket = field(init=False)
    _threads: list[threading.Thread] = field(default_factory=list)
    _open: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> CuttingProxy:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            cut = self.cuts[self.connections] if self.connections < len(self.cuts) else None
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            self._open += [client, upstream]
            sent = {"up": 0, "down": 0}
            for src, dst, direction in ((client, upstream, "up"), (upstream, client, "down")):
                mine = cut if cut is not None and cut.direction == direction else None
                t = threading.Thread(
                    target=self._pump,
                    args=(src, dst, direction, mine, sent, client, upstream),
                    daemon=True,
                )
                t.start()
                self._threads.append(t)

    def _pump(
        self,
        src: socket.socket,
        dst: socket.socket,
        direction: str,
        cut: Cut | None,
        sent: dict[str, int],
        a: socket.socket,
        b: socket.socket,
    ) -> None:
        counted = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if cut is not None and sent["up"] >= cut.once_up:
                    if counted + len(data) >= cut.after:
                        dst.sendall(data[: cut.after - counted])
                        self.done_cuts += 1
                        break
                    counted += len(data)
                dst.sendall(data)
                sent[direction] += len(data)
        except OSError:
            pass
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        for s in self._open:
            with contextlib.suppress(OSError):
                s.close()


Tamper = Callable[["Exchange"], "Exchange | None"]


@dataclass
class Exchange:
    """One request through :class:`ForgingProxy` and the answer going back."""

    method: str
    path: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class ForgingProxy:
    """An HTTP man in the middle on loopback: forwards to the hub, then lets a test
    rewrite the answer (or answer itself without asking the hub).

    ``answer_itself(exchange)`` runs first: when it returns an Exchange, that is the
    answer and the hub never sees the request. Otherwise the request goes to the hub
    and ``tamper(exchange)`` may rewrite the answer. Every exchange is kept in
    ``seen`` (as the van saw it).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.answer_itself: Tamper = lambda ex: None
        self.tamper: Tamper = lambda ex: None
        self.seen: list[Exchange] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                ex = Exchange(self.command, self.path, dict(self.headers.items()), body)
                forged = proxy.answer_itself(ex)
                if forged is None:
                    skip = {"host", "content-length", "connection", "accept-encoding"}
                    headers = {k: v for k, v in ex.request_headers.items() if k.lower() not in skip}
                    resp = httpx.request(
                        ex.method, proxy.upstream + ex.path, content=body, headers=headers
                    )
                    ex.status, ex.body = resp.status_code, resp.content
                    ex.headers = {
                        k: v
                        for k, v in resp.headers.items()
                        if k.lower() not in ("content-length", "connection", "content-encoding")
                    }
                    forged = proxy.tamper(ex) or ex
                proxy.seen.append(forged)
                self.send_response(forged.status)
                for k, v in forged.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(forged.body)))
                self.end_headers()
                self.wfile.write(forged.body)

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ForgingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
